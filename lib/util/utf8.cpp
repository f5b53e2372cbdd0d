// UTF-8, CESU-8 and UTF-16 conversions.
#include "util/utf8.hpp"

#include <type_traits>

namespace sms::utf8 {

namespace {

bool is_surrogate(char32_t c) {
    return c >= 0xD800 && c <= 0xDFFF;
}
bool is_high(char32_t c) {
    return c >= 0xD800 && c <= 0xDBFF;
}
bool is_low(char32_t c) {
    return c >= 0xDC00 && c <= 0xDFFF;
}

// One sequence at s[i]; surrogates allowed through (the caller decides). Returns the code point
// and advances i, or nullopt.
std::optional<char32_t> next(std::string_view s, std::size_t& i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len;
    char32_t c;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        c = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        c = b0 & 0x07;
    } else {
        return std::nullopt;
    }
    if (i + static_cast<std::size_t>(len) > s.size())
        return std::nullopt;
    for (int k = 1; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((b & 0xC0) != 0x80)
            return std::nullopt;
        c = (c << 6) | (b & 0x3F);
    }
    // Overlong forms and out-of-range values.
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return std::nullopt;
    i += static_cast<std::size_t>(len);
    return c;
}

// The run of ASCII at s[i], if any, copied to `out` as it is (a code point per byte either way);
// i is moved past it. Returns whether there was one.
template <class C, class Out>
bool copy_ascii(std::basic_string_view<C> s, std::size_t& i, Out& out) {
    std::size_t end = i;
    while (end < s.size() && static_cast<std::make_unsigned_t<C>>(s[end]) < 0x80)
        ++end;
    if (end == i)
        return false;
    out.append(s.begin() + static_cast<std::ptrdiff_t>(i),
               s.begin() + static_cast<std::ptrdiff_t>(end));
    i = end;
    return true;
}

} // namespace

std::optional<std::u32string> decode(std::string_view s, bool allow_cesu, std::size_t* error_at) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    auto fail = [&](std::size_t at) -> std::optional<std::u32string> {
        if (error_at)
            *error_at = at;
        return std::nullopt;
    };
    while (i < s.size()) {
        if (copy_ascii(s, i, out)) // most texts are nothing else
            continue;
        std::size_t start = i;
        auto c = next(s, i);
        if (!c)
            return fail(start);
        if (is_surrogate(*c)) {
            if (!allow_cesu || !is_high(*c) || i >= s.size())
                return fail(start);
            std::size_t j = i;
            auto lo = next(s, j);
            if (!lo || !is_low(*lo))
                return fail(start);
            out.push_back(0x10000 + ((*c - 0xD800) << 10) + (*lo - 0xDC00));
            i = j;
            continue;
        }
        out.push_back(*c);
    }
    return out;
}

std::optional<std::u32string> decode_lenient(std::string_view s, LoneHalves* halves,
                                             std::size_t* error_at) {
    std::u32string out;
    out.reserve(s.size());
    LoneHalves ends;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t start = i;
        auto c = next(s, i);
        if (!c) {
            if (error_at)
                *error_at = start;
            return std::nullopt;
        }
        if (is_surrogate(*c)) {
            if (is_high(*c) && i < s.size()) {
                std::size_t j = i;
                auto lo = next(s, j);
                if (lo && is_low(*lo)) {
                    out.push_back(combine(static_cast<char16_t>(*c), static_cast<char16_t>(*lo)));
                    i = j;
                    continue;
                }
            }
            if (is_low(*c) && start == 0)
                ends.first_low = static_cast<char16_t>(*c);
            if (is_high(*c) && i == s.size())
                ends.last_high = static_cast<char16_t>(*c);
            out.push_back(U'\uFFFD');
            continue;
        }
        out.push_back(*c);
    }
    if (halves)
        *halves = ends;
    return out;
}

std::u32string from_utf16_lenient(std::u16string_view s, LoneHalves* halves) {
    std::u32string out;
    out.reserve(s.size());
    LoneHalves ends;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (is_high(c) && i + 1 < s.size() && is_low(s[i + 1])) {
            out.push_back(combine(s[i], s[i + 1]));
            ++i;
            continue;
        }
        if (is_surrogate(c)) {
            if (is_low(c) && i == 0)
                ends.first_low = s[i];
            if (is_high(c) && i + 1 == s.size())
                ends.last_high = s[i];
            c = U'\uFFFD';
        }
        out.push_back(c);
    }
    if (halves)
        *halves = ends;
    return out;
}

bool is_valid(std::string_view s) {
    return decode(s).has_value();
}

void append(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::string encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (!copy_ascii(s, i, out))
            append(out, s[i++]);
    }
    return out;
}

std::u16string to_utf16(std::u32string_view s) {
    std::u16string out;
    out.reserve(s.size());
    for (char32_t c : s) {
        if (c >= 0x10000) {
            c -= 0x10000;
            out.push_back(static_cast<char16_t>(0xD800 + (c >> 10)));
            out.push_back(static_cast<char16_t>(0xDC00 + (c & 0x3FF)));
        } else {
            out.push_back(static_cast<char16_t>(c));
        }
    }
    return out;
}

std::optional<std::u32string> from_utf16(std::u16string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (is_high(c)) {
            if (i + 1 >= s.size() || !is_low(s[i + 1]))
                return std::nullopt;
            out.push_back(0x10000 + ((c - 0xD800) << 10) + (char32_t(s[i + 1]) - 0xDC00));
            ++i;
        } else if (is_low(c)) {
            return std::nullopt;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::size_t length(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s)
        if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80)
            ++n;
    return n;
}

} // namespace sms::utf8
