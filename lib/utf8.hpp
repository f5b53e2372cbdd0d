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

// Code points in a UTF-8 string (which must be valid).
std::size_t length(std::string_view s);

} // namespace sms::utf8
