// Hexadecimal digits without a formatting call per byte: the router writes every message's text
// in hex (ud##) and keeps its queue file in hex, so this is on the path of every message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sms::hex {

// Appends the low `digits` hex digits of `value`, most significant first.
inline void append(std::string& out, unsigned value, int digits, bool upper = true) {
    const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(digits));
    for (int i = digits - 1; i >= 0; --i, value >>= 4)
        out[at + static_cast<std::size_t>(i)] = d[value & 0xFu];
}

// Two digits per byte.
inline std::string of(std::string_view bytes, bool upper = true) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes)
        append(out, c, 2, upper);
    return out;
}

// The bytes `digits` stand for (two digits a byte, either case); nullopt when one is not a hex
// digit or one is left over.
inline std::optional<std::string> decode(std::string_view digits) {
    auto value = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    if (digits.size() % 2 != 0)
        return std::nullopt;
    std::string out;
    out.reserve(digits.size() / 2);
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        int hi = value(digits[i]), lo = value(digits[i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

} // namespace sms::hex
