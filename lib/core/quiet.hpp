// Quiet hours (SPEC 2.11, [delivery] quiet_hours): calls that ring a person or a machine are not
// placed at night. Pure time logic over the local time zone; callers set the call file's mtime.
#pragma once

#include "core/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sms::quiet {

// A daily window of local time, [start, end) in minutes after midnight. start > end crosses
// midnight ("21:00-08:00"); start == end is refused (it would mean always or never).
struct Window {
    int start = 0;
    int end = 0;
};

// "HH:MM-HH:MM" (blanks around '-' allowed). nullopt when malformed or start == end.
std::optional<Window> parse(std::string_view s);

using Clock = std::chrono::system_clock;

// When a call due at `t` may start: nullopt when `t` is outside the window, else the window's
// end (the local wall-clock time `end` of the right day, found through mktime, so a
// daylight-saving change that day is honoured; an end that does not exist that day, inside a
// spring-forward gap, becomes the first instant after the gap).
std::optional<Clock::time_point> deferred_until(const Window& w, Clock::time_point t);

// Whether `service` (a letter) is in `services` ("V F": letters, blanks ignored).
bool applies(std::string_view services, char service);

// When a call for `service` due at `t` (epoch seconds) may start under cfg.delivery: `t`, or the
// end of the quiet hours when they apply to the service and `t` falls inside them.
std::int64_t when(const Config& cfg, char service, std::int64_t t);

// "HH:MM" of a window's end, for log lines.
std::string end_text(const Window& w);

} // namespace sms::quiet
