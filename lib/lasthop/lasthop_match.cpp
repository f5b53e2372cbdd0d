// The last hop of SMS: whether a line of app_sms's log is the record of a pending item.
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_internal.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <set>

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

// Each log line to the item it reports, and twins (a shared mr: the same queue, mr, addresses
// and length, a different text) that the log cannot tell apart.
// Lines ignored are said in `notes`.
Matched match(const Config& cfg, const std::vector<Item>& items, const std::vector<bool>& waiting,
              const smslog::ReadResult& rr, std::vector<std::string>& notes) {
    std::multimap<std::pair<std::string, std::string>, std::size_t> by_mr;
    for (std::size_t k = 0; k < items.size(); ++k)
        by_mr.emplace(std::make_pair(items[k].queue, items[k].get("mr")), k);
    Matched m;
    std::map<std::string, std::set<std::size_t>> twins; // key -> every candidate of its lines
    std::set<std::string> ambiguous;
    const bool privacy = cfg.sms.privacy;
    for (const auto& r : rr.records) {
        if (r.dir != 'O' || r.mode != 'S' || !r.mr)
            continue;
        auto [b, e] = by_mr.equal_range({r.queue, std::to_string(*r.mr)});
        if (!r.anchored) {
            // Where app_sms did not begin a line: maybe a sender's text. Never counted.
            if (b != e)
                notes.push_back(fmt::format(
                    "{}: ignored a line at byte {} that names queue {} mr {}: it is not where "
                    "app_sms begins a line (it may be the text of a message)",
                    cfg.sms.log, r.offset, r.queue, *r.mr));
            continue;
        }
        std::vector<std::size_t> cands;
        for (auto i = b; i != e; ++i)
            if (!waiting[i->second] && matches(items[i->second], r, rr.current_ino, privacy))
                cands.push_back(i->second);
        if (cands.empty())
            continue;
        // A second line for a message: when they disagree, one of them is not app_sms's own.
        auto fresh = std::find_if(cands.begin(), cands.end(),
                                  [&](std::size_t c) { return !m.found.count(c); });
        if (fresh == cands.end()) {
            const auto& first = m.found.at(cands.front());
            if (first.status != r.status) {
                auto& why = m.contradicted[cands.front()];
                if (why.empty())
                    why = fmt::format("{} at {}", first.status, first.time);
                why += fmt::format(", {} at {}", r.status, r.time);
            }
            continue;
        }
        m.found.emplace(*fresh, r);
        const std::string key = twin_key(items[*fresh]);
        twins[key].insert(cands.begin(), cands.end());
        for (std::size_t c : cands)
            if (items[c].get("logtext") != items[*fresh].get("logtext"))
                ambiguous.insert(key);
    }
    // Twins are settled together: all acknowledged, or the acknowledged ones sent again (which
    // of them arrived cannot be known); while one has no line yet, none is settled.
    for (const auto& key : ambiguous) {
        Twins v = Twins::clean;
        for (std::size_t k : twins[key]) {
            auto f = m.found.find(k);
            if (f == m.found.end()) {
                v = Twins::wait;
                break;
            }
            if (f->second.status != 'Y')
                v = Twins::resend;
        }
        m.verdict[key] = v;
    }
    return m;
}

} // namespace sms::lasthop
