// The last hop of SMS: whether a line of app_sms's log is the record of a pending item.
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_internal.hpp"

#include <cstdio>
#include <ctime>
#include <fmt/format.h>

namespace sms::lasthop {

std::string twin_key(const Item& it) {
    return fmt::format("{}\n{}\n{}\n{}\n{}", it.queue, it.get("mr"), it.get("oa"), it.get("da"),
                       it.get("units"));
}

namespace {

smslog::Mark parse_mark(const std::string& s) {
    auto colon = s.find(':');
    if (colon == std::string::npos)
        return {};
    return {static_cast<std::uint64_t>(to_int(s.substr(0, colon), 0)),
            static_cast<std::uint64_t>(to_int(s.substr(colon + 1), 0))};
}

} // namespace

std::optional<std::int64_t> local_time(const std::string& t) {
    struct tm tm {};
    int n = 0;
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        static_cast<std::size_t>(n) != t.size())
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    const std::time_t e = std::mktime(&tm);
    if (e == static_cast<std::time_t>(-1))
        return std::nullopt;
    return static_cast<std::int64_t>(e);
}

bool matches(const Item& item, const smslog::Record& r, std::uint64_t current_ino, bool privacy) {
    // Only a line app_sms began, a delivery line of the centre (O, mode S) with the mr.
    if (!r.anchored || r.dir != 'O' || r.mode != 'S' || !r.mr || r.queue != item.queue)
        return false;
    if (static_cast<std::int64_t>(*r.mr) != item.get_int("mr", -1))
        return false;
    if (r.oa != item.get("oa") || r.da != item.get("da"))
        return false;
    if (!smslog::after(r, parse_mark(item.get("mark")), current_ino))
        return false;
    // Written after this attempt's queue file (app_sms writes the line when the call ends).
    const auto when = local_time(r.time);
    if (!when || *when < item.get_int("queued", item.first))
        return false;
    // In the form the call used: the length with the privacy option, else the whole text.
    if (privacy)
        return r.udl && static_cast<std::int64_t>(*r.udl) == item.get_int("units", -1);
    return r.text == unhex(item.get("logtext")) && r.cut == (item.get("logcut") == "1");
}

} // namespace sms::lasthop
