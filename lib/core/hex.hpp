// Hexadecimal digits without a formatting call per byte: the router writes every message's text
// in hex (ud##) and keeps its queue file in hex, so this is on the path of every message.
#pragma once

#include <string>
#include <string_view>

namespace sms::hex {

// Appends the low `digits` hex digits of `value`, most significant first.
inline void append(std::string& out, unsigned value, int digits, bool upper = true) {
    const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i)
        out.push_back(d[(value >> (4 * i)) & 0xFu]);
}

// Two digits per byte.
inline std::string of(std::string_view bytes, bool upper = true) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes)
        append(out, c, 2, upper);
    return out;
}

} // namespace sms::hex
