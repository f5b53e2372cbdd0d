// The GSM 03.38 alphabet (3GPP TS 23.038), encoding choice and SMS segmentation (TS 23.040).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sms::gsm {

enum class Encoding { gsm7, ucs2 };

// Capacity of one SMS (140 octets of user data), with and without a concatenation header.
// 7-bit: the 6-octet header (IEI 00) takes 7 septets, the 7-octet one (IEI 08) 8 septets.
inline constexpr int single_septets = 160;
inline constexpr int part_septets_ref8 = 153;
inline constexpr int part_septets_ref16 = 152;
inline constexpr int single_units = 70;
inline constexpr int part_units_ref8 = 67;
inline constexpr int part_units_ref16 = 66;

// The escape to the extension table.
inline constexpr std::uint8_t escape = 0x1B;

// The septet of `c` in the default alphabet, or -1.
int default_code(char32_t c) noexcept;
// The septet of `c` in the extension table (sent after the escape), or -1.
int extension_code(char32_t c) noexcept;
// The character of a default-alphabet septet (0x1B, the escape, gives U+00A0 as many decoders
// do); of an extension septet, or 0 when the extension table has none.
char32_t default_char(std::uint8_t septet) noexcept;
char32_t extension_char(std::uint8_t septet) noexcept;

// What GSM 7-bit costs for `c` under 3GPP: 1, 2 (escape + extension), 0 when it has no code.
int septet_cost(char32_t c) noexcept;

// Whether Asterisk's app_sms sends `c` faithfully in 7 bits. Its packer differs from 3GPP:
// it takes U+00A0 for the escape slot (0x1B), maps 'ç' to 0x09 (which phones show as 'Ç') and
// knows no 'Ç'. Those three therefore force UCS-2; everything else 3GPP has is fine.
bool app_sms_safe(char32_t c) noexcept;

// GSM 7-bit when every character is app_sms-safe, else UCS-2.
Encoding choose_encoding(std::u32string_view text) noexcept;

// Septets of a GSM 7-bit text (escape pairs count two); characters without a code count 0.
int count_septets(std::u32string_view text) noexcept;
// UTF-16 code units (a character outside the BMP counts two).
int count_units(std::u32string_view text) noexcept;
// Cost of the text in its encoding's unit: septets for gsm7, UTF-16 units for ucs2.
int cost(std::u32string_view text, Encoding enc) noexcept;

// One SMS holds `single_capacity`; a concatenated part `part_capacity`.
int single_capacity(Encoding enc) noexcept;
int part_capacity(Encoding enc, bool ref16) noexcept;

// Splits `text` into SMS-sized pieces: one piece when it fits a single SMS, else pieces of at
// most part_capacity (or single_capacity when `concatenated` is false: separate SMS without a
// header), each filled as far as it goes, never cutting an escape pair or a surrogate pair.
// An empty text gives one empty piece. Joining the pieces gives back the text.
std::vector<std::u32string> split(std::u32string_view text, Encoding enc, bool ref16,
                                  bool concatenated = true);

// The unpacked septets of a GSM 7-bit text (escape + code for extension characters). Throws
// Error(dataerr) naming the first character without a code.
std::vector<std::uint8_t> to_septets(std::u32string_view text);
// Back to text; an escape followed by a septet the extension table lacks gives the default
// character of that septet (TS 23.038: show as if the escape were absent).
std::u32string from_septets(std::span<const std::uint8_t> septets);

// Packs septets into octets, LSB first (TS 23.038 6.1.2.1.1), after `fill_bits` zero bits (the
// padding that aligns the text after a user data header).
std::vector<std::uint8_t> pack(std::span<const std::uint8_t> septets, int fill_bits = 0);
// Unpacks `count` septets after `fill_bits`.
std::vector<std::uint8_t> unpack(std::span<const std::uint8_t> octets, std::size_t count,
                                 int fill_bits = 0);

// Uppercase hex of bytes (as app_sms writes udh#).
std::string hex(std::span<const std::uint8_t> bytes);

} // namespace sms::gsm
