// Transliteration for GSM 7-bit phones: texts a phone can show already pass through here as they
// are; the others go to the sms-translit module (ICU), loaded on first need.
#include "translit/translit.hpp"

#include "asterisk/gsm.hpp"
#include "util/error.hpp"
#include "util/plugin.hpp"
#include "util/utf8.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace sms::translit {

namespace {

using Fn = char* (*)(const char*, std::size_t, std::size_t*, char*, std::size_t);

std::u32string checked(std::string_view utf8) {
    std::size_t at = 0;
    auto cps = utf8::decode(utf8, false, &at);
    if (!cps)
        throw Error(Exit::dataerr, "text", fmt::format("not valid UTF-8 (at byte {})", at));
    return *cps;
}

// Every character as app_sms sends it in GSM 7-bit: then NFC changes nothing (GSM has no
// combining marks) and neither does the romaniser.
bool all_gsm(std::u32string_view s) {
    for (char32_t c : s)
        if (!gsm::app_sms_safe(c))
            return false;
    return true;
}

std::string call(const char* entry, std::string_view utf8) {
    auto fn = reinterpret_cast<Fn>(plugin::symbol("sms-translit", entry));
    std::size_t len = 0;
    char err[512] = "";
    char* out = fn(utf8.data(), utf8.size(), &len, err, sizeof err);
    if (!out)
        throw Error(Exit::software, "transliteration (ICU)", err);
    std::string r(out, len);
    std::free(out);
    return r;
}

} // namespace

std::string to_gsm(std::string_view utf8) {
    if (all_gsm(checked(utf8)))
        return std::string(utf8);
    return call("sms_translit_to_gsm", utf8);
}

std::string nfc(std::string_view utf8) {
    auto cps = checked(utf8);
    bool stable = true; // every code point below U+0300 is NFC-stable
    for (char32_t c : cps)
        stable = stable && c < 0x300;
    if (stable || all_gsm(cps))
        return std::string(utf8);
    return call("sms_translit_nfc", utf8);
}

std::string library_versions() {
    try {
        auto fn = reinterpret_cast<const char* (*)()>(
            plugin::symbol("sms-translit", "sms_translit_version"));
        return fn();
    } catch (const Error&) {
        return "ICU (module sms-translit not found)";
    }
}

} // namespace sms::translit
