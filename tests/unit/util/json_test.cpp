// Tests of lib/json: string literals that are always valid JSON in valid UTF-8.
#include "util/json.hpp"

#include <gtest/gtest.h>

using sms::json::quote;

TEST(Json, EscapesQuotesBackslashesAndControls) {
    EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quote("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
    EXPECT_EQ(quote(std::string("\x1b[2J\x7f\0", 6)), "\"\\u001b[2J\\u007f\\u0000\"");
}

TEST(Json, ValidUtf8IsKept) {
    EXPECT_EQ(quote("Zażółć 東京 😀"), "\"Zażółć 東京 😀\"");
}

TEST(Json, InvalidUtf8BytesAreEscapedOneByOne) {
    // Latin-1 "é", a lone continuation byte, a cut sequence, an overlong '/', a UTF-8 surrogate,
    // and a code point above U+10FFFF: each byte that is not valid UTF-8 is \udcXX.
    EXPECT_EQ(quote("caf\xe9"), "\"caf\\udce9\"");
    EXPECT_EQ(quote("\x80x"), "\"\\udc80x\"");
    EXPECT_EQ(quote("\xe6\x9d"), "\"\\udce6\\udc9d\"");
    EXPECT_EQ(quote("\xc0\xaf"), "\"\\udcc0\\udcaf\"");
    EXPECT_EQ(quote("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");
    EXPECT_EQ(quote("\xf4\x90\x80\x80"), "\"\\udcf4\\udc90\\udc80\\udc80\"");
    // A valid sequence right after an invalid byte is kept.
    EXPECT_EQ(quote("\xff\xc3\xa9"), "\"\\udcff\xc3\xa9\"");
}
