// UTF-8, CESU-8 and UTF-16 conversions for outside text (app_sms files, AGI, SIP bodies).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sms::utf8 {

// Decodes strict UTF-8. With `allow_cesu`, 3-byte encoded UTF-16 surrogates are accepted and
// pairs recombined (as app_sms writes non-BMP characters on `ud=` lines); a lone surrogate is
// still an error. Returns nullopt on invalid input; `error_at` receives the byte offset.
std::optional<std::u32string> decode(std::string_view s, bool allow_cesu = false,
                                     std::size_t* error_at = nullptr);

bool is_valid(std::string_view s);

void append(std::string& out, char32_t c);
std::string encode(std::u32string_view s);

// UTF-16 units <-> code points. from_utf16 recombines surrogate pairs; a lone surrogate is an
// error (nullopt).
std::u16string to_utf16(std::u32string_view s);
std::optional<std::u32string> from_utf16(std::u16string_view s);

// Surrogate halves a lenient decoding could not pair, at the ends of a text: a message split by
// UTF-16 units into concatenated parts can end one part inside a pair and start the next with
// its second half. 0: none.
struct LoneHalves {
    char16_t first_low = 0; // the text began with this low surrogate (decoded as U+FFFD)
    char16_t last_high = 0; // the text ended with this high surrogate (decoded as U+FFFD)
    bool operator==(const LoneHalves&) const = default;
};

// As decode(s, true), but a surrogate without its partner becomes U+FFFD instead of an error;
// the halves at the very start and end are reported in `halves`. Other invalid UTF-8 is still
// an error (nullopt, `error_at` set).
std::optional<std::u32string> decode_lenient(std::string_view s, LoneHalves* halves,
                                             std::size_t* error_at = nullptr);

// As from_utf16, but a lone surrogate becomes U+FFFD; halves at the ends reported in `halves`.
std::u32string from_utf16_lenient(std::u16string_view s, LoneHalves* halves);

// The code point of a high and a low surrogate.
inline char32_t combine(char16_t high, char16_t low) {
    return 0x10000 + ((char32_t(high) - 0xD800) << 10) + (char32_t(low) - 0xDC00);
}

// Code points in a UTF-8 string (which must be valid).
std::size_t length(std::string_view s);

} // namespace sms::utf8
