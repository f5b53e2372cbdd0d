// How the state room reads its small files: quietly and within bounds.
#include "state/read.hpp"

#include "util/fsutil.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace sms::state {

std::string read_head(const std::string& path, std::size_t max) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd)
        return {};
    // Read through a small buffer, so that what is returned (and kept by the caller, one per
    // item of a listing) holds no more memory than its bytes.
    std::string s;
    char buf[1024];
    while (s.size() < max) {
        ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, max - s.size()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        s.append(buf, static_cast<std::size_t>(n));
    }
    return s;
}

} // namespace sms::state
