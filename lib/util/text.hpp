// Small ASCII string helpers shared by the parsers (config, spool, AMI, post-sms, commands).
#pragma once

#include <string>
#include <string_view>

namespace sms::text {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

inline std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_upper(c);
    return out;
}

// `s` without the characters of `blanks` at either end.
constexpr std::string_view trim(std::string_view s, std::string_view blanks = " \t") noexcept {
    while (!s.empty() && blanks.find(s.front()) != std::string_view::npos)
        s.remove_prefix(1);
    while (!s.empty() && blanks.find(s.back()) != std::string_view::npos)
        s.remove_suffix(1);
    return s;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// `s` fit for one line of a log or an error message: C0 controls (CR, LF, ESC, ...), DEL and
// the C1 controls of UTF-8 (U+0080..U+009F, e.g. CSI) written as \xNN or \u00NN, so outside
// input can neither add lines nor move a terminal's cursor. Everything else is kept as it is.
inline std::string escape_controls(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto u = static_cast<unsigned char>(s[i]);
        if (u < 0x20 || u == 0x7F) {
            out += "\\x";
            out += digits[u >> 4];
            out += digits[u & 0xF];
        } else if (u == 0xC2 && i + 1 < s.size() &&
                   (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0x80) {
            auto c = static_cast<unsigned char>(s[++i]);
            out += "\\u00";
            out += digits[c >> 4];
            out += digits[c & 0xF];
        } else {
            out += s[i];
        }
    }
    return out;
}

// Outside input quoted in an error message: escape_controls, at most `max` bytes (then "...").
inline std::string shown(std::string_view s, std::size_t max = 64) {
    std::string out = escape_controls(s.substr(0, max));
    if (s.size() > max)
        out += "...";
    return out;
}

} // namespace sms::text
