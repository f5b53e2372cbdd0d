// Private to the last hop's store and SMS settling (lasthop*.cpp): the small helpers they share.
#pragma once

#include "lasthop/lasthop.hpp"
#include "util/hex.hpp"

#include <charconv>
#include <cstdint>
#include <fmt/format.h>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sms::lasthop {

inline std::string hex(std::string_view s) {
    return hex::of(s, false);
}

// An item's hex field as bytes (empty when it is not hex).
inline std::string unhex(std::string_view s) {
    return hex::decode(s).value_or(std::string());
}

inline std::int64_t to_int(std::string_view v, std::int64_t dflt) {
    std::int64_t n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    return r.ec == std::errc() && r.ptr == v.data() + v.size() ? n : dflt;
}

inline void append_one_line(std::string& out, std::string_view s) {
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u < 0x20 || u == 0x7F) {
            out.append(s.substr(from, i - from));
            out += "\\x";
            hex::append(out, u, 2);
            from = i + 1;
        }
    }
    out.append(s.substr(from));
}
inline std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    append_one_line(out, s);
    return out;
}

// What app_sms's log shows of an SMS with the privacy option: items with the same key are
// told apart only by their text, and not at all in the privacy form.
std::string twin_key(const Item& it);

// How twins (a shared mr, told apart by their text only) are settled: as their lines say, all
// sent again, or not yet.
enum class Twins { clean, resend, wait };

// What the log's lines say of the items (by index): the line for each, the lines that disagree,
// and the twins' verdicts (by twin_key).
struct Matched {
    std::map<std::size_t, smslog::Record> found;
    std::map<std::size_t, std::string> contradicted;
    std::map<std::string, Twins> verdict;
};

// Each log line to the item it reports, and twins (a shared mr: the same queue, mr, addresses
// and length, a different text) that the log cannot tell apart.
// Lines ignored are said in `notes`.
Matched match(const Config& cfg, const std::vector<Item>& items, const std::vector<bool>& waiting,
              const smslog::ReadResult& rr, std::vector<std::string>& notes);

} // namespace sms::lasthop
