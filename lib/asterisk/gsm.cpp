// The GSM 03.38 alphabet, encoding choice and segmentation of texts into SMS.
#include "asterisk/gsm.hpp"

#include "util/error.hpp"
#include "util/hex.hpp"

#include <array>
#include <fmt/format.h>
#include <iterator>

namespace sms::gsm {

namespace {

// 3GPP TS 23.038 6.2.1: the default alphabet, by septet. 0x1B is the escape (no character).
constexpr std::array<char32_t, 128> default_table = {
    U'@',      U'\u00A3', U'$',      U'\u00A5', U'\u00E8', U'\u00E9', U'\u00F9', U'\u00EC',
    U'\u00F2', U'\u00C7', U'\n',     U'\u00D8', U'\u00F8', U'\r',     U'\u00C5', U'\u00E5',
    U'\u0394', U'_',      U'\u03A6', U'\u0393', U'\u039B', U'\u03A9', U'\u03A0', U'\u03A8',
    U'\u03A3', U'\u0398', U'\u039E', 0,         U'\u00C6', U'\u00E6', U'\u00DF', U'\u00C9',
    U' ',      U'!',      U'"',      U'#',      U'\u00A4', U'%',      U'&',      U'\'',
    U'(',      U')',      U'*',      U'+',      U',',      U'-',      U'.',      U'/',
    U'0',      U'1',      U'2',      U'3',      U'4',      U'5',      U'6',      U'7',
    U'8',      U'9',      U':',      U';',      U'<',      U'=',      U'>',      U'?',
    U'\u00A1', U'A',      U'B',      U'C',      U'D',      U'E',      U'F',      U'G',
    U'H',      U'I',      U'J',      U'K',      U'L',      U'M',      U'N',      U'O',
    U'P',      U'Q',      U'R',      U'S',      U'T',      U'U',      U'V',      U'W',
    U'X',      U'Y',      U'Z',      U'\u00C4', U'\u00D6', U'\u00D1', U'\u00DC', U'\u00A7',
    U'\u00BF', U'a',      U'b',      U'c',      U'd',      U'e',      U'f',      U'g',
    U'h',      U'i',      U'j',      U'k',      U'l',      U'm',      U'n',      U'o',
    U'p',      U'q',      U'r',      U's',      U't',      U'u',      U'v',      U'w',
    U'x',      U'y',      U'z',      U'\u00E4', U'\u00F6', U'\u00F1', U'\u00FC', U'\u00E0',
};

// 6.2.1.1: the extension table (after the escape) in its 3GPP default form.
struct Ext {
    std::uint8_t code;
    char32_t c;
};
constexpr std::array<Ext, 10> extension_table = {{
    {0x0A, U'\f'},
    {0x14, U'^'},
    {0x28, U'{'},
    {0x29, U'}'},
    {0x2F, U'\\'},
    {0x3C, U'['},
    {0x3D, U'~'},
    {0x3E, U']'},
    {0x40, U'|'},
    {0x65, U'\u20AC'},
}};

constexpr bool is_high_surrogate_pair(char32_t c) {
    return c > 0xFFFF;
}

} // namespace

// The code of each Latin-1 character (-1: none), so that the common case needs no search.
constexpr std::array<signed char, 256> latin1_codes = [] {
    std::array<signed char, 256> codes{};
    codes.fill(-1);
    for (std::size_t i = 0; i < default_table.size(); ++i) {
        if (default_table[i] != 0 && default_table[i] < 256 && codes[default_table[i]] < 0) {
            codes[default_table[i]] = static_cast<signed char>(i);
        }
    }
    return codes;
}();

int default_code(char32_t c) noexcept {
    if (c == 0) {
        return -1; // 0 marks the escape slot in the table
    }
    if (c < 256) {
        return latin1_codes[c];
    }
    for (std::size_t i = 0; i < default_table.size(); ++i) {
        if (default_table[i] == c) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

int extension_code(char32_t c) noexcept {
    for (const auto& e : extension_table) {
        if (e.c == c) {
            return e.code;
        }
    }
    return -1;
}

char32_t default_char(std::uint8_t septet) noexcept {
    if (septet >= 128) {
        return 0;
    }
    return septet == escape ? U'\u00A0' : default_table[septet];
}

char32_t extension_char(std::uint8_t septet) noexcept {
    for (const auto& e : extension_table) {
        if (e.code == septet) {
            return e.c;
        }
    }
    return 0;
}

int septet_cost(char32_t c) noexcept {
    if (default_code(c) >= 0) {
        return 1;
    }
    if (extension_code(c) >= 0) {
        return 2;
    }
    return 0;
}

bool app_sms_safe(char32_t c) noexcept {
    // U+00A0 and U+00E7 have no 3GPP code anyway; U+00C7 has one app_sms does not know.
    if (c == U'\u00C7') {
        return false;
    }
    return septet_cost(c) > 0;
}

Encoding choose_encoding(std::u32string_view text) noexcept {
    for (char32_t c : text) {
        if (!app_sms_safe(c)) {
            return Encoding::ucs2;
        }
    }
    return Encoding::gsm7;
}

int count_septets(std::u32string_view text) noexcept {
    int n = 0;
    for (char32_t c : text) {
        n += septet_cost(c);
    }
    return n;
}

int count_units(std::u32string_view text) noexcept {
    int n = 0;
    for (char32_t c : text) {
        n += is_high_surrogate_pair(c) ? 2 : 1;
    }
    return n;
}

int cost(std::u32string_view text, Encoding enc) noexcept {
    return enc == Encoding::gsm7 ? count_septets(text) : count_units(text);
}

int single_capacity(Encoding enc) noexcept {
    return enc == Encoding::gsm7 ? single_septets : single_units;
}

int part_capacity(Encoding enc, bool ref16) noexcept {
    if (enc == Encoding::gsm7) {
        return ref16 ? part_septets_ref16 : part_septets_ref8;
    }
    return ref16 ? part_units_ref16 : part_units_ref8;
}

std::vector<std::u32string> split(std::u32string_view text, Encoding enc, bool ref16,
                                  bool concatenated) {
    const int single = single_capacity(enc);
    if (cost(text, enc) <= single) {
        return {std::u32string(text)};
    }
    const int cap = concatenated ? part_capacity(enc, ref16) : single;
    std::vector<std::u32string> parts;
    std::u32string cur;
    int used = 0;
    for (char32_t c : text) {
        // A character's cost is indivisible: an escape pair or a surrogate pair moves whole.
        int w = enc == Encoding::gsm7 ? septet_cost(c) : (is_high_surrogate_pair(c) ? 2 : 1);
        if (used + w > cap) {
            parts.push_back(std::move(cur));
            cur.clear();
            used = 0;
        }
        cur.push_back(c);
        used += w;
    }
    parts.push_back(std::move(cur));
    return parts;
}

std::vector<std::uint8_t> to_septets(std::u32string_view text) {
    std::vector<std::uint8_t> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char32_t c = text[i];
        if (int d = default_code(c); d >= 0) {
            out.push_back(static_cast<std::uint8_t>(d));
        } else if (int e = extension_code(c); e >= 0) {
            out.push_back(escape);
            out.push_back(static_cast<std::uint8_t>(e));
        } else {
            throw Error(Exit::dataerr, "text",
                        fmt::format("character U+{:04X} at position {} has no GSM 7-bit code",
                                    static_cast<std::uint32_t>(c), i + 1));
        }
    }
    return out;
}

std::u32string from_septets(std::span<const std::uint8_t> septets) {
    std::u32string out;
    for (std::size_t i = 0; i < septets.size(); ++i) {
        std::uint8_t s = septets[i] & 0x7F;
        if (s == escape && i + 1 < septets.size()) {
            std::uint8_t n = septets[++i] & 0x7F;
            char32_t e = extension_char(n);
            out.push_back(e ? e : default_char(n));
        } else {
            out.push_back(default_char(s));
        }
    }
    return out;
}

std::vector<std::uint8_t> pack(std::span<const std::uint8_t> septets, int fill_bits) {
    std::size_t bits = static_cast<std::size_t>(fill_bits) + septets.size() * 7;
    std::vector<std::uint8_t> out((bits + 7) / 8, 0);
    std::size_t pos = static_cast<std::size_t>(fill_bits);
    for (std::uint8_t s : septets) {
        unsigned v = s & 0x7Fu;
        std::size_t byte = pos / 8;
        unsigned shift = static_cast<unsigned>(pos % 8);
        out[byte] = static_cast<std::uint8_t>(out[byte] | ((v << shift) & 0xFFu));
        if (shift > 1) {
            out[byte + 1] = static_cast<std::uint8_t>(out[byte + 1] | (v >> (8 - shift)));
        }
        pos += 7;
    }
    return out;
}

std::vector<std::uint8_t> unpack(std::span<const std::uint8_t> octets, std::size_t count,
                                 int fill_bits) {
    std::vector<std::uint8_t> out;
    out.reserve(count);
    std::size_t pos = static_cast<std::size_t>(fill_bits);
    for (std::size_t k = 0; k < count; ++k) {
        std::size_t byte = pos / 8;
        unsigned shift = static_cast<unsigned>(pos % 8);
        if (byte >= octets.size()) {
            break;
        }
        unsigned v = static_cast<unsigned>(octets[byte]) >> shift;
        if (shift > 1 && byte + 1 < octets.size()) {
            v |= static_cast<unsigned>(octets[byte + 1]) << (8 - shift);
        }
        out.push_back(static_cast<std::uint8_t>(v & 0x7Fu));
        pos += 7;
    }
    return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
    return hex::of({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

} // namespace sms::gsm
