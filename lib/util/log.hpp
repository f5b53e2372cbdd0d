// Logging: syslog with the configured facility and the tool's name, plus stderr when on a
// terminal or verbose.
#pragma once

#include <fmt/format.h>
#include <string>
#include <string_view>

namespace sms::log {

enum class Level { error, warning, notice, info, debug };

// Opens syslog as `ident` with `facility` ("user", "local0".."local7", "daemon", "mail").
// stderr mirrors the log when it is a terminal or `verbose` > 0; debug lines need verbose > 1.
void init(std::string_view ident, std::string_view facility, int verbose);

// Whether `name` is a facility init() accepts.
bool valid_facility(std::string_view name);

// `mirror`: also to stderr when init() said so (false for lines the caller prints itself).
void write(Level level, std::string_view message, bool mirror = true);
// Whether write(level, ...) goes anywhere (to syslog, or mirrored to stderr): a line built for
// every message need not be built when it does not.
bool wanted(Level level);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::notice, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

} // namespace sms::log
