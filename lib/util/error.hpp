// The suite's exit codes (sysexits.h) and the one exception type that carries them.
#pragma once

#include <stdexcept>
#include <string>

namespace sms {

// One table for every tool; documented in each man page's EXIT STATUS.
enum class Exit : int {
    ok = 0,
    failure = 1,      // the tool's own "no" (unknown number, Asterisk said Error)
    usage = 64,       // EX_USAGE: bad command line
    dataerr = 65,     // EX_DATAERR: bad input data
    noinput = 66,     // EX_NOINPUT: an input file is missing or unreadable
    nouser = 67,      // EX_NOUSER: sms-mail-in: unknown recipient number or sender
    unavailable = 69, // EX_UNAVAILABLE: a service (directory, Asterisk) is unavailable
    software = 70,    // EX_SOFTWARE: internal error
    oserr = 71,       // EX_OSERR: a system call failed
    cantcreat = 73,   // EX_CANTCREAT: cannot create an output file
    ioerr = 74,       // EX_IOERR: input/output error
    tempfail = 75,    // EX_TEMPFAIL: temporary failure, try again
    noperm = 77,      // EX_NOPERM: permission denied
    config = 78,      // EX_CONFIG: configuration error
};

constexpr int code(Exit e) noexcept {
    return static_cast<int>(e);
}

// "<what failed>: <why>" plus the exit code it maps to. Thrown by the library, printed by
// cli::run as "<tool>: error: <what>: <why>".
class Error : public std::runtime_error {
public:
    Error(Exit exit, std::string what, std::string why)
        : std::runtime_error(what.empty() ? why : what + ": " + why)
        , exit_(exit)
        , what_(std::move(what))
        , why_(std::move(why)) {}

    Exit exit() const noexcept { return exit_; }
    const std::string& subject() const noexcept { return what_; }
    const std::string& reason() const noexcept { return why_; }

private:
    Exit exit_;
    std::string what_;
    std::string why_;
};

// An Error from the current errno, for the lowest level that sees the failed call.
[[noreturn]] void throw_errno(Exit exit, std::string what, int err);

// Whether an errno value means "try again later" (full disk, quota, out of memory) rather than a
// permanent fault; the router keeps a message through those.
bool is_transient_errno(int err) noexcept;

} // namespace sms
