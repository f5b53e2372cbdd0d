// Quiet hours: parse "HH:MM-HH:MM" and move a call due inside the window to the window's end.
#include "core/quiet.hpp"

#include <ctime>
#include <fmt/format.h>

namespace sms::quiet {

namespace {

std::optional<int> minutes(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    if (s.size() != 5 || s[2] != ':')
        return std::nullopt;
    for (std::size_t i : {0u, 1u, 3u, 4u})
        if (s[i] < '0' || s[i] > '9')
            return std::nullopt;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return std::nullopt;
    return h * 60 + m;
}

} // namespace

std::optional<Window> parse(std::string_view s) {
    auto dash = s.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    auto a = minutes(s.substr(0, dash));
    auto b = minutes(s.substr(dash + 1));
    if (!a || !b || *a == *b)
        return std::nullopt;
    return Window{*a, *b};
}

std::optional<Clock::time_point> deferred_until(const Window& w, Clock::time_point t) {
    std::time_t tt = Clock::to_time_t(t);
    std::tm local{};
    if (!::localtime_r(&tt, &local))
        return std::nullopt;
    int now = local.tm_hour * 60 + local.tm_min;
    bool inside =
        w.start < w.end ? (now >= w.start && now < w.end) : (now >= w.start || now < w.end);
    if (!inside)
        return std::nullopt;
    std::tm end{};
    end.tm_year = local.tm_year;
    end.tm_mon = local.tm_mon;
    end.tm_mday = local.tm_mday;
    // A window crossing midnight, entered before midnight, ends tomorrow.
    if (w.start > w.end && now >= w.start)
        end.tm_mday += 1;
    end.tm_hour = w.end / 60;
    end.tm_min = w.end % 60;
    end.tm_isdst = -1; // let mktime find the offset of that day
    std::time_t e = std::mktime(&end);
    if (e == static_cast<std::time_t>(-1) || e <= tt)
        return std::nullopt;
    return Clock::from_time_t(e);
}

bool applies(std::string_view services, char service) {
    for (char c : services)
        if (c == service)
            return true;
    return false;
}

std::int64_t when(const Config& cfg, char service, std::int64_t t) {
    if (cfg.delivery.quiet_hours.empty() || !applies(cfg.delivery.quiet_services, service))
        return t;
    auto w = parse(cfg.delivery.quiet_hours);
    if (!w)
        return t;
    auto end = deferred_until(*w, Clock::from_time_t(static_cast<std::time_t>(t)));
    return end ? static_cast<std::int64_t>(Clock::to_time_t(*end)) : t;
}

std::string end_text(const Window& w) {
    return fmt::format("{:02}:{:02}", w.end / 60, w.end % 60);
}

} // namespace sms::quiet
