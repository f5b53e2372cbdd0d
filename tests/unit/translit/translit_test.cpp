// Tests of transliteration to what a GSM 7-bit phone shows (ICU "Any-Latin; Latin-ASCII").
#include "asterisk/gsm.hpp"
#include "translit/translit.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <gtest/gtest.h>

using namespace sms;

namespace {

bool all_gsm(const std::string& s) {
    auto cps = utf8::decode(s);
    return cps && gsm::choose_encoding(*cps) == gsm::Encoding::gsm7;
}

} // namespace

TEST(Translit, KeepsWhatGsmHas) {
    for (std::string s : {"é ü ñ Ä Ø å Æ ß ¿¡ £¥§ à", "ΔΦΓΛΩΠΨΣΘΞ", "Plain ASCII: 1+1=2 @home",
                          "€ [x] {y} ~ ^ | \\", "line\nbreak\r\n", ""}) {
        EXPECT_EQ(translit::to_gsm(s), s);
    }
}

TEST(Translit, RomanisesTheRest) {
    EXPECT_EQ(translit::to_gsm("Zażółć gęślą jaźń"), "Zazolc gesla jazn");
    EXPECT_EQ(translit::to_gsm("Привет, мир"), "Privet, mir");
    EXPECT_EQ(translit::to_gsm("Ελληνικά"), "Ellenika");
    EXPECT_EQ(translit::to_gsm("你好"), "ni hao");
    EXPECT_EQ(translit::to_gsm("“quoted” — …"), "\"quoted\" - ...");
    // Greek capitals GSM has stay; the others become Latin.
    EXPECT_EQ(translit::to_gsm("ΔΑ"), "ΔA");
}

TEST(Translit, AppSmsQuirks) {
    EXPECT_EQ(translit::to_gsm("Garçon"), "Garcon");
    EXPECT_EQ(translit::to_gsm("ÇA"), "CA");
    EXPECT_EQ(translit::to_gsm("a\u00A0b"), "a b");
    EXPECT_EQ(translit::to_gsm("a\tb"), "a b");
}

TEST(Translit, WhatHasNoLatinFormBecomesQuestionMark) {
    EXPECT_EQ(translit::to_gsm("ok 😀!"), "ok ?!");
    EXPECT_EQ(translit::to_gsm("🇵🇱"), "??");
}

TEST(Translit, ComposesFirst) {
    EXPECT_EQ(translit::to_gsm("e\u0301"), "é"); // NFD é is GSM once composed
    EXPECT_EQ(translit::nfc("e\u0301"), "é");
    EXPECT_EQ(translit::nfc("A\u030A"), "Å");
}

TEST(Translit, OutputIsAlwaysGsm) {
    for (std::string s : {"Zażółć", "Αθήνα αβγ", "日本語テキスト", "ẞ ŉ ǅ ﬁ ẜ", "ŀ ĳ ſ ꝏ",
                          "🙂🙃", "\u200B\u2028x", "Ꮳ ⴰ ꦄ"}) {
        EXPECT_TRUE(all_gsm(translit::to_gsm(s))) << s << " -> " << translit::to_gsm(s);
    }
}

TEST(Translit, InvalidUtf8IsDataError) {
    try {
        translit::to_gsm("ab\xC3");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
    }
}

TEST(Translit, Version) {
    EXPECT_EQ(translit::library_versions().rfind("ICU ", 0), 0u);
}
