// Logging to syslog (ident = tool, configured facility) and, when wanted, to stderr.
#include "util/log.hpp"

#include "util/text.hpp"

#include <array>
#include <cstdio>
#include <fmt/format.h>
#include <string>
#include <syslog.h>
#include <unistd.h>
#include <utility>

namespace sms::log {

namespace {

struct State {
    std::string ident = "sms-suite";
    int verbose = 0;
    bool to_stderr = false;
    bool open = false;
    bool syslog_ok = true; // /dev/log was there: without it syslog(3) tries to connect each time
};

State& state() {
    static State s;
    return s;
}

constexpr std::array<std::pair<std::string_view, int>, 15> facilities{{
    {"user", LOG_USER},
    {"daemon", LOG_DAEMON},
    {"mail", LOG_MAIL},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
    {"news", LOG_NEWS},
    {"uucp", LOG_UUCP},
    {"cron", LOG_CRON},
    {"syslog", LOG_SYSLOG},
}};

int facility_code(std::string_view name) {
    for (auto [n, c] : facilities)
        if (n == name)
            return c;
    return LOG_USER;
}

} // namespace

bool valid_facility(std::string_view name) {
    for (auto [n, c] : facilities)
        if (n == name)
            return true;
    return false;
}

void init(std::string_view ident, std::string_view facility, int verbose) {
    auto& s = state();
    s.ident = std::string(ident);
    s.verbose = verbose;
    s.to_stderr = verbose > 0 || ::isatty(STDERR_FILENO);
    if (s.open)
        ::closelog();
    // openlog keeps the pointer: s.ident lives as long as the process.
    ::openlog(s.ident.c_str(), LOG_PID, facility_code(facility));
    s.open = true;
    // No syslog daemon (a container, a rescue shell): nothing would be logged, and each call
    // would try to connect again (a socket and a failed connect per message in a busy run).
    s.syslog_ok = ::access(_PATH_LOG, F_OK) == 0;
}

bool wanted(Level level) {
    const auto& s = state();
    return (s.syslog_ok || s.to_stderr) && (level != Level::debug || s.verbose > 1);
}

void write(Level level, std::string_view raw, bool mirror) {
    auto& s = state();
    // Messages quote outside input (file names, numbers, what a peer sent): one line each.
    std::string escaped = text::escape_controls(raw);
    std::string_view message = escaped;
    static constexpr int priorities[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
    static constexpr const char* names[] = {"error", "warning", "notice", "info", "debug"};
    auto i = static_cast<int>(level);
    if (s.syslog_ok && (level != Level::debug || s.verbose > 1))
        ::syslog(priorities[i], "%.*s", static_cast<int>(message.size()), message.data());
    if (mirror && s.to_stderr && (level != Level::debug || s.verbose > 1)) {
        fmt::print(stderr, "{}: {}: {}\n", s.ident, names[i], message);
    }
}

} // namespace sms::log
