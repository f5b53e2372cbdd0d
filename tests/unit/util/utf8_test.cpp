// Tests of lib/utf8: strict decoding, CESU-8, UTF-16.
#include "util/utf8.hpp"

#include <gtest/gtest.h>

using namespace sms;

TEST(Utf8, DecodesAndEncodes) {
    auto d = utf8::decode("aż€\U0001F600");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, U"aż€\U0001F600");
    EXPECT_EQ(utf8::encode(*d), "aż€\U0001F600");
    EXPECT_EQ(utf8::length("aż€\U0001F600"), 4u);
}

TEST(Utf8, RejectsInvalid) {
    std::size_t at = 99;
    EXPECT_FALSE(utf8::decode("ab\xC3", false, &at));
    EXPECT_EQ(at, 2u);
    EXPECT_FALSE(utf8::decode("\xC0\xAF"));         // overlong
    EXPECT_FALSE(utf8::decode("\xE0\x80\xAF"));     // overlong
    EXPECT_FALSE(utf8::decode("\xF4\x90\x80\x80")); // > U+10FFFF
    EXPECT_FALSE(utf8::decode("\xED\xA0\xBD"));     // surrogate without CESU
    EXPECT_FALSE(utf8::decode("\xFF"));
}

TEST(Utf8, Cesu8PairsOnlyWhenAllowed) {
    std::string cesu = "\xED\xA0\xBD\xED\xB8\x80";
    EXPECT_FALSE(utf8::decode(cesu));
    auto d = utf8::decode(cesu, true);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, U"\U0001F600");
    EXPECT_FALSE(utf8::decode("\xED\xA0\xBD", true)); // lone high
    EXPECT_FALSE(utf8::decode("\xED\xB8\x80", true)); // lone low
}

TEST(Utf16, RoundTripAndLoneSurrogates) {
    std::u32string s = U"Ωa\U0001F600";
    auto u = utf8::to_utf16(s);
    EXPECT_EQ(u.size(), 4u);
    EXPECT_EQ(*utf8::from_utf16(u), s);
    EXPECT_FALSE(utf8::from_utf16(u"\xD83D"));
    EXPECT_FALSE(utf8::from_utf16(u"\xDE00x"));
}

TEST(Utf8, LenientDecodingMarksLoneHalvesAtTheEnds) {
    utf8::LoneHalves h;
    auto d = utf8::decode_lenient("\xED\xB8\x80 mid\xED\xA0\xBDx \xED\xA0\xBD", &h);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, U"\uFFFD mid\uFFFDx \uFFFD");
    EXPECT_EQ(h.first_low, 0xDE00);
    EXPECT_EQ(h.last_high, 0xD83D);
    auto pair = utf8::decode_lenient("\xED\xA0\xBD\xED\xB8\x80", &h);
    EXPECT_EQ(*pair, U"\U0001F600");
    EXPECT_EQ(h, utf8::LoneHalves{});
    EXPECT_FALSE(utf8::decode_lenient("ab\xC3", &h)); // other invalid UTF-8 is still invalid
    auto u = utf8::from_utf16_lenient(u"\xDE00"
                                      u"A\xD83D",
                                      &h);
    EXPECT_EQ(u, U"\uFFFDA\uFFFD");
    EXPECT_EQ(h.first_low, 0xDE00);
    EXPECT_EQ(h.last_high, 0xD83D);
}
