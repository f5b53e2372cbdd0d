// Tests of lib/util/hash: FNV-1a against the reference test vectors of its authors, so that the
// names and identifiers derived from it stay what they were.
#include "util/hash.hpp"

#include <gtest/gtest.h>
#include <string>

using sms::hash::fnv1a32;
using sms::hash::fnv1a64;

TEST(Hash, Fnv1a32ReferenceVectors) {
    EXPECT_EQ(fnv1a32(""), 0x811c9dc5u);
    EXPECT_EQ(fnv1a32("a"), 0xe40c292cu);
    EXPECT_EQ(fnv1a32("foobar"), 0xbf9cf968u);
}

TEST(Hash, Fnv1a64ReferenceVectors) {
    EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
    EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(Hash, HighBytesMixAsUnsigned) {
    // A signed char would be sign-extended before the xor: 0xff must mix as 255.
    EXPECT_EQ(fnv1a32("\xff"), (0x811c9dc5u ^ 0xffu) * 16777619u);
    EXPECT_EQ(fnv1a64("\xff"), (0xcbf29ce484222325ull ^ 0xffull) * 1099511628211ull);
}

TEST(Hash, ContinuingEqualsHashingTheConcatenation) {
    EXPECT_EQ(fnv1a32("bar", fnv1a32("foo")), fnv1a32("foobar"));
    EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));
    const std::string with_nul("48600\0hello", 11);
    EXPECT_EQ(fnv1a32("hello", fnv1a32(std::string_view("\0", 1), fnv1a32("48600"))),
              fnv1a32(with_nul));
}
