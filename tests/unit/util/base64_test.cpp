// Tests of Base64 encoding and strict decoding.
#include "util/base64.hpp"

#include <gtest/gtest.h>

using namespace sms;

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> v[] = {{"", ""},
                                                     {"f", "Zg=="},
                                                     {"fo", "Zm8="},
                                                     {"foo", "Zm9v"},
                                                     {"foob", "Zm9vYg=="},
                                                     {"fooba", "Zm9vYmE="},
                                                     {"foobar", "Zm9vYmFy"}};
    for (auto [plain, coded] : v) {
        EXPECT_EQ(base64::encode(plain), coded);
        EXPECT_EQ(base64::decode(coded), plain) << coded;
    }
}

TEST(Base64, TheFixtureBody) {
    // The Base64Body of the recorded MessageSend.
    EXPECT_EQ(base64::decode("WmHFvMOzxYLEhyBnxJnFm2zEhSBqYcW6xYQsIM6RzpLOky4gVGVzdC4KU2Vjb25kIGxp"
                             "bmU="),
              "Zażółć gęślą jaźń, ΑΒΓ. Test.\nSecond line");
}

TEST(Base64, BinaryRoundTrip) {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    EXPECT_EQ(base64::decode(base64::encode(all)), all);
}

TEST(Base64, MissingPaddingAccepted) {
    EXPECT_EQ(base64::decode("Zg"), "f");
    EXPECT_EQ(base64::decode("Zm8"), "fo");
}

TEST(Base64, InvalidRefused) {
    std::size_t at = 99;
    EXPECT_FALSE(base64::decode("Zm9v!mFy", &at));
    EXPECT_EQ(at, 4u);
    EXPECT_FALSE(base64::decode("Zm9v YmFy")); // whitespace is not skipped
    EXPECT_FALSE(base64::decode("Z"));         // one character holds no byte
    EXPECT_FALSE(base64::decode("Zg=a"));      // padding in the middle
    EXPECT_FALSE(base64::decode("Zg==="));     // too much padding
    EXPECT_FALSE(base64::decode("Zh=="));      // non-zero leftover bits: not from an encoder
    EXPECT_FALSE(base64::decode("Zm8=="));     // padding that the length does not need
}
