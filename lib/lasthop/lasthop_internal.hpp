// Private to the last hop's store and SMS settling (lasthop*.cpp): the small helpers they share.
#pragma once

#include "core/hex.hpp"
#include "lasthop/lasthop.hpp"

#include <charconv>
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>

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

inline std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        out += u < 0x20 || u == 0x7F ? fmt::format("\\x{:02X}", u) : std::string(1, c);
    }
    return out;
}

// What app_sms's log shows of an SMS with the privacy option: items with the same key are
// told apart only by their text, and not at all in the privacy form.
std::string twin_key(const Item& it);

} // namespace sms::lasthop
