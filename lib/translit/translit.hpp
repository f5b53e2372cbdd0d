// Transliteration of text to what a GSM 7-bit phone can show (unicode = transliterate).
#pragma once

#include <string>
#include <string_view>

namespace sms::translit {

// Keeps every character GSM 03.38 (default alphabet + extension table) has, as app_sms packs it;
// turns the rest into its closest Latin form; what has none becomes '?'. UTF-8 in and out.
std::string to_gsm(std::string_view utf8);

// Unicode normalisation form C (composes "e" + U+0301 into "é", which GSM 7-bit has). Invalid
// UTF-8 is Error(dataerr).
std::string nfc(std::string_view utf8);

// "ICU 72.1" for --version.
std::string library_versions();

} // namespace sms::translit
