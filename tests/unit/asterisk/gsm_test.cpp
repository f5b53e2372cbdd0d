// Tests of the GSM 03.38 alphabet, encoding choice and segmentation against 3GPP TS 23.038/040.
#include "asterisk/gsm.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <gtest/gtest.h>
#include <random>
#include <set>

using namespace sms;
using gsm::Encoding;

namespace {

std::u32string u32(std::string_view utf8) {
    auto d = utf8::decode(utf8);
    EXPECT_TRUE(d.has_value());
    return d.value_or(U"");
}

std::u32string rep(char32_t c, std::size_t n) {
    return std::u32string(n, c);
}

std::vector<int> costs(const std::vector<std::u32string>& parts, Encoding enc) {
    std::vector<int> out;
    for (const auto& p : parts)
        out.push_back(gsm::cost(p, enc));
    return out;
}

std::u32string join(const std::vector<std::u32string>& parts) {
    std::u32string s;
    for (const auto& p : parts)
        s += p;
    return s;
}

} // namespace

TEST(GsmAlphabet, DefaultTableIsABijection) {
    std::set<char32_t> seen;
    for (int s = 0; s < 128; ++s) {
        if (s == gsm::escape)
            continue;
        char32_t c = gsm::default_char(static_cast<std::uint8_t>(s));
        ASSERT_NE(c, 0) << s;
        EXPECT_TRUE(seen.insert(c).second) << "duplicate for septet " << s;
        EXPECT_EQ(gsm::default_code(c), s);
        EXPECT_EQ(gsm::septet_cost(c), 1);
    }
    EXPECT_EQ(seen.size(), 127u);
}

TEST(GsmAlphabet, SpotChecksFrom23038) {
    EXPECT_EQ(gsm::default_code(U'@'), 0x00);
    EXPECT_EQ(gsm::default_code(U'£'), 0x01);
    EXPECT_EQ(gsm::default_code(U'Ç'), 0x09); // 3GPP has the capital at 0x09
    EXPECT_EQ(gsm::default_code(U'\n'), 0x0A);
    EXPECT_EQ(gsm::default_code(U'\r'), 0x0D);
    EXPECT_EQ(gsm::default_code(U'Δ'), 0x10);
    EXPECT_EQ(gsm::default_code(U'_'), 0x11);
    EXPECT_EQ(gsm::default_code(U'É'), 0x1F);
    EXPECT_EQ(gsm::default_code(U'¤'), 0x24);
    EXPECT_EQ(gsm::default_code(U'¡'), 0x40);
    EXPECT_EQ(gsm::default_code(U'§'), 0x5F);
    EXPECT_EQ(gsm::default_code(U'¿'), 0x60);
    EXPECT_EQ(gsm::default_code(U'à'), 0x7F);
    EXPECT_EQ(gsm::default_code(U'`'), -1);
    EXPECT_EQ(gsm::default_code(U'ç'), -1);
    EXPECT_EQ(gsm::extension_code(U'€'), 0x65);
    EXPECT_EQ(gsm::extension_code(U'\f'), 0x0A);
    EXPECT_EQ(gsm::extension_code(U'|'), 0x40);
    for (char32_t c : std::u32string_view(U"^{}\\[~]|€\f"))
        EXPECT_EQ(gsm::septet_cost(c), 2) << static_cast<unsigned>(c);
    EXPECT_EQ(gsm::septet_cost(U'ł'), 0);
}

TEST(GsmAlphabet, AppSmsQuirksForceUcs2) {
    EXPECT_FALSE(gsm::app_sms_safe(U'\u00A0'));
    EXPECT_FALSE(gsm::app_sms_safe(U'ç'));
    EXPECT_FALSE(gsm::app_sms_safe(U'Ç'));
    EXPECT_EQ(gsm::choose_encoding(U"Garçon"), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(U"ÇA"), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(U"a\u00A0b"), Encoding::ucs2);
}

TEST(GsmEncoding, LatinOneInAndOut) {
    EXPECT_EQ(gsm::choose_encoding(u32("é ü ñ Ä Ø å Æ ß ¿¡ £¥§")), Encoding::gsm7);
    EXPECT_EQ(gsm::choose_encoding(u32("crème brûlée")), Encoding::ucs2); // û is not in GSM
    EXPECT_EQ(gsm::choose_encoding(u32("Ê")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(u32("`")), Encoding::ucs2);
}

TEST(GsmEncoding, Languages) {
    EXPECT_EQ(gsm::choose_encoding(u32("Zażółć gęślą jaźń")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(u32("ΔΦΓΛΩΠΨΣΘΞ")), Encoding::gsm7); // Greek capitals in GSM
    EXPECT_EQ(gsm::choose_encoding(u32("Αθήνα")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(u32("Привет")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(u32("你好世界")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(u32("ok 😀")), Encoding::ucs2);
    EXPECT_EQ(gsm::choose_encoding(U""), Encoding::gsm7);
    EXPECT_EQ(gsm::choose_encoding(U"a\r\nb"), Encoding::gsm7);
}

TEST(GsmCount, SeptetsAndUnits) {
    EXPECT_EQ(gsm::count_septets(U"a\r\nb"), 4);
    EXPECT_EQ(gsm::count_septets(U"€5 [x]"), 9);
    EXPECT_EQ(gsm::count_units(u32("😀a")), 3);
    EXPECT_EQ(gsm::count_units(u32("你好")), 2);
}

TEST(GsmSplit, Gsm160And161) {
    auto p160 = gsm::split(rep(U'a', 160), Encoding::gsm7, false);
    ASSERT_EQ(p160.size(), 1u);
    EXPECT_EQ(gsm::count_septets(p160[0]), 160);
    auto p161 = gsm::split(rep(U'a', 161), Encoding::gsm7, false);
    EXPECT_EQ(costs(p161, Encoding::gsm7), (std::vector<int>{153, 8}));
}

TEST(GsmSplit, Gsm153To307) {
    EXPECT_EQ(gsm::split(rep(U'b', 153), Encoding::gsm7, false).size(), 1u);
    EXPECT_EQ(gsm::split(rep(U'b', 154), Encoding::gsm7, false).size(), 1u);
    EXPECT_EQ(costs(gsm::split(rep(U'b', 306), Encoding::gsm7, false), Encoding::gsm7),
              (std::vector<int>{153, 153}));
    EXPECT_EQ(costs(gsm::split(rep(U'b', 307), Encoding::gsm7, false), Encoding::gsm7),
              (std::vector<int>{153, 153, 1}));
    EXPECT_EQ(costs(gsm::split(rep(U'b', 305), Encoding::gsm7, true), Encoding::gsm7),
              (std::vector<int>{152, 152, 1}));
}

TEST(GsmSplit, ExtensionCharacterIsNeverCutAtABoundary) {
    // 152 septets, then a two-septet euro sign: it does not fit in septet 153, so it opens part 2.
    std::u32string t = rep(U'x', 152) + U"€" + rep(U'y', 20);
    auto parts = gsm::split(t, Encoding::gsm7, false);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(gsm::count_septets(parts[0]), 152);
    EXPECT_EQ(parts[1].front(), U'€');
    // 151 + euro fills 153 exactly.
    parts = gsm::split(rep(U'x', 151) + U"€" + rep(U'y', 20), Encoding::gsm7, false);
    EXPECT_EQ(gsm::count_septets(parts[0]), 153);
    EXPECT_EQ(parts[0].back(), U'€');
    // A single SMS: 159 + euro = 161 septets is too long for one SMS.
    EXPECT_EQ(gsm::split(rep(U'x', 158) + U"€", Encoding::gsm7, false).size(), 1u);
    EXPECT_EQ(gsm::split(rep(U'x', 159) + U"€", Encoding::gsm7, false).size(), 2u);
}

TEST(GsmSplit, Ucs2Units70To135) {
    std::u32string c = u32("ж");
    EXPECT_EQ(gsm::split(rep(c[0], 70), Encoding::ucs2, false).size(), 1u);
    EXPECT_EQ(costs(gsm::split(rep(c[0], 71), Encoding::ucs2, false), Encoding::ucs2),
              (std::vector<int>{67, 4}));
    EXPECT_EQ(costs(gsm::split(rep(c[0], 134), Encoding::ucs2, false), Encoding::ucs2),
              (std::vector<int>{67, 67}));
    EXPECT_EQ(costs(gsm::split(rep(c[0], 135), Encoding::ucs2, false), Encoding::ucs2),
              (std::vector<int>{67, 67, 1}));
    EXPECT_EQ(costs(gsm::split(rep(c[0], 135), Encoding::ucs2, true), Encoding::ucs2),
              (std::vector<int>{66, 66, 3}));
}

TEST(GsmSplit, SurrogatePairIsNeverCut) {
    std::u32string t = rep(U'я', 66) + U"😀" + rep(U'я', 10);
    auto parts = gsm::split(t, Encoding::ucs2, false);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(gsm::count_units(parts[0]), 66);
    EXPECT_EQ(parts[1].front(), U'😀');
    // 35 emoji: 70 units fit one SMS; 36 do not.
    EXPECT_EQ(gsm::split(rep(U'😀', 35), Encoding::ucs2, false).size(), 1u);
    auto e36 = gsm::split(rep(U'😀', 36), Encoding::ucs2, false);
    EXPECT_EQ(costs(e36, Encoding::ucs2), (std::vector<int>{66, 6}));
}

TEST(GsmSplit, EmptyTextIsOneEmptySms) {
    auto parts = gsm::split(U"", Encoding::gsm7, false);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_TRUE(parts[0].empty());
}

TEST(GsmSplit, WithoutConcatenationPartsAreWholeSms) {
    EXPECT_EQ(costs(gsm::split(rep(U'a', 321), Encoding::gsm7, false, false), Encoding::gsm7),
              (std::vector<int>{160, 160, 1}));
}

// 3GPP TS 23.040 9.2.3.24: a part's header and text must fit 140 octets.
TEST(GsmSplit, PartsFit140Octets) {
    auto sept = gsm::to_septets(rep(U'z', 153));
    // 6 header octets = 48 bits: 1 fill bit aligns the text to septet 7.
    EXPECT_EQ(6 + gsm::pack(sept, 1).size(), 140u);
    EXPECT_EQ((6 * 8 + 1) / 7 + sept.size(), 160u);
    auto sept16 = gsm::to_septets(rep(U'z', 152));
    EXPECT_EQ(7 + gsm::pack(sept16, 0).size(), 140u);
    EXPECT_EQ(6 + 67 * 2, 140);
    EXPECT_LE(7 + 66 * 2, 140);
    EXPECT_EQ(gsm::pack(gsm::to_septets(rep(U'z', 160))).size(), 140u);
}

TEST(GsmPacking, KnownVector) {
    // The classic example: "hellohello" packs to E8329BFD4697D9EC37.
    auto packed = gsm::pack(gsm::to_septets(U"hellohello"));
    EXPECT_EQ(gsm::hex(packed), "E8329BFD4697D9EC37");
    auto back = gsm::unpack(packed, 10);
    EXPECT_EQ(gsm::from_septets(back), U"hellohello");
}

TEST(GsmPacking, EscapesRoundTrip) {
    std::u32string t = u32("Price: 5€ [ok] {x} ~|^\\ \f end");
    auto s = gsm::to_septets(t);
    EXPECT_EQ(static_cast<int>(s.size()), gsm::count_septets(t));
    for (int fill = 0; fill < 7; ++fill)
        EXPECT_EQ(gsm::from_septets(gsm::unpack(gsm::pack(s, fill), s.size(), fill)), t);
    EXPECT_THROW(gsm::to_septets(U"ł"), Error);
}

// Property: for random texts, joining the parts gives the text back; every part fits; every part
// but the last is as full as it can be (the next character would not fit).
TEST(GsmSplit, SplitThenJoinProperty) {
    const std::u32string pool = u32("aZ09 .,!?\n\r€[]{}~^|\\éüñÄØΔΞ@£$ąłżЖжΩαβ你😀🇵\u00A0ç");
    std::mt19937 rng(20261130);
    for (int round = 0; round < 2000; ++round) {
        std::uniform_int_distribution<std::size_t> len(0, 700);
        std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
        // Half the rounds draw only from the GSM characters, to exercise 7-bit splitting.
        bool gsm_only = round % 2 == 0;
        std::u32string t;
        std::size_t n = len(rng);
        while (t.size() < n) {
            char32_t c = pool[pick(rng)];
            if (gsm_only && !gsm::app_sms_safe(c))
                continue;
            t.push_back(c);
        }
        Encoding enc = gsm::choose_encoding(t);
        if (gsm_only) {
            ASSERT_EQ(enc, Encoding::gsm7);
        }
        bool ref16 = round % 3 == 0;
        auto parts = gsm::split(t, enc, ref16);
        ASSERT_EQ(join(parts), t);
        ASSERT_FALSE(parts.empty());
        if (parts.size() == 1) {
            ASSERT_LE(gsm::cost(t, enc), gsm::single_capacity(enc));
            continue;
        }
        ASSERT_GT(gsm::cost(t, enc), gsm::single_capacity(enc));
        int cap = gsm::part_capacity(enc, ref16);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            ASSERT_FALSE(parts[i].empty());
            ASSERT_LE(gsm::cost(parts[i], enc), cap);
            if (i + 1 < parts.size()) {
                std::u32string next(1, parts[i + 1].front());
                ASSERT_GT(gsm::cost(parts[i], enc) + gsm::cost(next, enc), cap);
            }
        }
    }
}
