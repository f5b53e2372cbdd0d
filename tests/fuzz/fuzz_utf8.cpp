// Fuzzes UTF-8/CESU-8 decoding and the UTF-16 conversions, with their round trips.
#include "fuzz.hpp"
#include "util/utf8.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto s = fuzz::as_text(data, size);

    std::size_t bad = 0;
    auto strict = utf8::decode(s, false, &bad);
    fuzz::require(strict.has_value() == utf8::is_valid(s), "is_valid disagrees with decode");
    if (strict) {
        fuzz::require(utf8::encode(*strict) == s, "encode(decode(s)) != s");
        fuzz::require(utf8::length(s) == strict->size(), "length != decoded size");
        auto back = utf8::from_utf16(utf8::to_utf16(*strict));
        fuzz::require(back && *back == *strict, "UTF-16 round trip changed the text");
    } else {
        fuzz::require(bad < size, "error offset past the end");
    }

    // CESU-8 accepts more (surrogate pairs), never less, and always gives valid code points.
    auto cesu = utf8::decode(s, true, &bad);
    fuzz::require(!strict || (cesu && *cesu == *strict), "CESU-8 decoding refused valid UTF-8");
    if (cesu) {
        for (char32_t c : *cesu)
            fuzz::require(c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF),
                          "decoded a surrogate or an out-of-range code point");
        auto re = utf8::encode(*cesu);
        fuzz::require(utf8::is_valid(re), "re-encoded CESU-8 text is not valid UTF-8");
    }

    // The input read as UTF-16 units (as ud## gives them).
    std::u16string units;
    for (std::size_t i = 0; i + 1 < size; i += 2)
        units.push_back(static_cast<char16_t>(data[i] << 8 | data[i + 1]));
    if (auto cps = utf8::from_utf16(units))
        fuzz::require(utf8::to_utf16(*cps) == units, "from_utf16/to_utf16 round trip");
    return 0;
}
