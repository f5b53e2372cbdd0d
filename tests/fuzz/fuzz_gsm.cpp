// Fuzzes the GSM splitter and septet codec: split then join gives back the text, every part
// fits, parts are filled greedily; septets and 7-bit packing round-trip.
#include "asterisk/gsm.hpp"
#include "fuzz.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    // The first byte picks the options; the rest is the text.
    const std::uint8_t flags = data[0];
    const bool ref16 = flags & 1;
    const bool concatenated = !(flags & 2);
    const int fill_bits = (flags >> 2) % 7;
    auto decoded = utf8::decode(fuzz::as_text(data + 1, size - 1));
    if (!decoded)
        return 0;
    const std::u32string& text = *decoded;

    const auto enc = gsm::choose_encoding(text);
    const auto pieces = gsm::split(text, enc, ref16, concatenated);
    fuzz::require(!pieces.empty(), "split gave no piece");

    std::u32string joined;
    for (const auto& p : pieces)
        joined += p;
    fuzz::require(joined == text, "split then join did not give back the text");

    const int whole = gsm::cost(text, enc);
    const int capacity = whole <= gsm::single_capacity(enc) || !concatenated
                             ? gsm::single_capacity(enc)
                             : gsm::part_capacity(enc, ref16);
    if (whole <= gsm::single_capacity(enc))
        fuzz::require(pieces.size() == 1, "a text that fits one SMS was split");
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        const int c = gsm::cost(pieces[i], enc);
        fuzz::require(c <= capacity, "a part is over its capacity");
        fuzz::require(!pieces[i].empty() || text.empty(), "an empty part");
        if (i + 1 < pieces.size())
            fuzz::require(c + gsm::cost(std::u32string_view(pieces[i + 1]).substr(0, 1), enc) >
                              capacity,
                          "a part was not filled as far as it goes");
    }

    if (enc == gsm::Encoding::gsm7) {
        std::vector<std::uint8_t> septets;
        try {
            septets = gsm::to_septets(text);
        } catch (const Error&) {
            fuzz::require(false, "to_septets refused a text chosen for GSM 7-bit");
        }
        fuzz::require(septets.size() == static_cast<std::size_t>(gsm::count_septets(text)),
                      "septet count disagrees with to_septets");
        for (auto s : septets)
            fuzz::require(s < 0x80, "a septet over 7 bits");
        fuzz::require(gsm::from_septets(septets) == text, "from_septets(to_septets(t)) != t");
        auto packed = gsm::pack(septets, fill_bits);
        fuzz::require(gsm::unpack(packed, septets.size(), fill_bits) == septets,
                      "unpack(pack(septets)) != septets");
    } else {
        fuzz::require(gsm::count_units(text) == static_cast<int>(utf8::to_utf16(text).size()),
                      "UTF-16 unit count disagrees with to_utf16");
    }
    return 0;
}
