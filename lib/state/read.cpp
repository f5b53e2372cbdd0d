// How the state room reads its small files: quietly and within bounds.
#include "state/read.hpp"

#include "util/fsutil.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace sms::state {

std::string read_head(const std::string& path, std::size_t max) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd)
        return {};
    std::string s(max, '\0');
    std::size_t have = 0;
    while (have < max) {
        ssize_t n = ::read(fd.get(), s.data() + have, max - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += static_cast<std::size_t>(n);
    }
    s.resize(have);
    return s;
}

} // namespace sms::state
