// Building Errors from errno.
#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace sms {

void throw_errno(Exit exit, std::string what, int err) {
    if (is_transient_errno(err) && exit != Exit::tempfail)
        exit = Exit::tempfail;
    throw Error(exit, std::move(what), std::strerror(err));
}

bool is_transient_errno(int err) noexcept {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EAGAIN:
    case EINTR:
    case ENFILE:
    case EMFILE:
        return true;
    default:
        return false;
    }
}

} // namespace sms
