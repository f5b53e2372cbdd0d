// Tests of lib/spool: the app_sms message format against real Asterisk files, round trips and
// must-fail inputs.
#include "asterisk/spool.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/utf8.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <random>
#include <sys/stat.h>

using namespace sms;

namespace {

std::string data(const std::string& rel) {
    return std::string(SMS_TEST_DATA) + "/" + rel;
}

spool::Message fixture(const std::string& name) {
    return spool::read(data("app_sms/" + name));
}

using test::TempDir;

} // namespace

TEST(SpoolFixtures, PlainSevenBit) {
    auto m = fixture("morx/48500100200.2026-11-29T22:53:42-0");
    EXPECT_EQ(m.oa, "48500100200");
    EXPECT_EQ(m.da, "48600700800");
    EXPECT_EQ(m.text, "Hello from tester 1");
    EXPECT_EQ(m.scts, "2026-11-29T22:53:42");
    EXPECT_EQ(m.mr, 0);
    EXPECT_FALSE(m.dcs);
    EXPECT_EQ(m.form, spool::UdForm::utf8);
    EXPECT_FALSE(m.concat());
    EXPECT_TRUE(m.unknown_keys.empty());
}

TEST(SpoolFixtures, LongTextCutBySmsq) {
    auto m = fixture("morx/48500100200.2026-11-29T22:53:49-1");
    EXPECT_EQ(utf8::length(m.text), 160u);
    EXPECT_TRUE(m.text.starts_with("L001-abcdefghi L002"));
    EXPECT_TRUE(m.text.ends_with("L011-abcde"));
    EXPECT_EQ(m.mr, 1);
}

TEST(SpoolFixtures, PolishAndGreekAsUtf8WithDcs8) {
    auto m = fixture("morx/48500100200.2026-11-29T22:53:50-2");
    EXPECT_EQ(m.text, "Zażółć gęślą jaźń ΑΒΓ αβγ Ωμέγα");
    EXPECT_EQ(m.dcs, 8);
    EXPECT_EQ(m.mr, 2);
}

TEST(SpoolFixtures, NewlineTextIsTheHexLineNotTheComment) {
    auto m = fixture("morx/48500100200.2026-11-29T22:53:50-3");
    EXPECT_EQ(m.text, "line one\nline two");
    EXPECT_EQ(m.form, spool::UdForm::octets);
    EXPECT_EQ(m.mr, 3);
}

TEST(SpoolFixtures, MtrxHasNoDaAndConcatenationParts) {
    auto plain = fixture("mtrx/48500100200.2026-11-29T22:53:53-4");
    EXPECT_EQ(plain.oa, "48111222333");
    EXPECT_TRUE(plain.da.empty());
    EXPECT_EQ(plain.text, "MT hello from the centre");

    auto two = fixture("mtrx/48500100200.2026-11-29T22:53:56-5");
    auto one = fixture("mtrx/48500100200.2026-11-29T22:53:57-6");
    ASSERT_TRUE(two.concat());
    ASSERT_TRUE(one.concat());
    EXPECT_EQ(*two.concat(), (spool::Concat{0xA7, 2, 2, false}));
    EXPECT_EQ(*one.concat(), (spool::Concat{0xA7, 2, 1, false}));
    EXPECT_EQ(one.text + two.text, "Part one of a concatenated message. Part two.");
    ASSERT_EQ(one.udh.size(), 1u);
    EXPECT_EQ(one.udh[0].id, 0);
    EXPECT_EQ(one.udh[0].data, (std::vector<std::uint8_t>{0xA7, 2, 1}));
}

TEST(SpoolFixtures, SmsqQueueFiles) {
    // smsq writes no oa= or scts=: they are not inbound messages, but the text forms must read.
    auto parse_body = [](const std::string& path) {
        auto content = fs::read_file(path);
        return spool::parse("oa=1\n" + content + "scts=2026-01-01T00:00:00\n", path);
    };
    EXPECT_EQ(parse_body(data("smsq/48500100200.1795992927-24286")).text, "line one\nline two");
    EXPECT_EQ(parse_body(data("smsq/48500100200.1795992928-24306")).text,
              "Zażółć gęślą jaźń ΑΒΓ αβγ Ωμέγα");
}

TEST(SpoolParse, CaseInsensitiveKeysCrlfCommentsBlankLines) {
    auto m =
        spool::parse("; a comment\r\nOA=123\r\n\r\nDa=+456\r\nUD=hi\r\nSCTS=2026-01-02T03:04:05\r\n"
                     "DCS=0\r\nMR=7\r\n");
    EXPECT_EQ(m.oa, "123");
    EXPECT_EQ(m.da, "+456");
    EXPECT_EQ(m.text, "hi");
    EXPECT_EQ(m.dcs, 0);
    EXPECT_EQ(m.mr, 7);
}

TEST(SpoolParse, Ucs2HexWithSurrogatePair) {
    auto m = spool::parse("oa=1\nud##0048D83DDE00\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.text, "H\U0001F600");
    EXPECT_EQ(m.form, spool::UdForm::ucs2);
}

TEST(SpoolParse, Cesu8SurrogatesOnUdLineAreRecombined) {
    // U+1F600 as two 3-byte surrogates, as app_sms writes a non-BMP character on ud=.
    auto m = spool::parse("oa=1\nud=a\xED\xA0\xBD\xED\xB8\x80z\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.text, "a\U0001F600z");
}

TEST(SpoolParse, SixteenBitConcatenationElement) {
    auto m = spool::parse("oa=1\nudh#080412340302\nud=x\nscts=2026-01-01T00:00:00\n");
    ASSERT_TRUE(m.concat());
    EXPECT_EQ(*m.concat(), (spool::Concat{0x1234, 3, 2, true}));
}

TEST(SpoolParse, OtherInformationElementsAreKept) {
    auto m = spool::parse("oa=1\nudh#0A0102\nud=x\nscts=2026-01-01T00:00:00\n");
    ASSERT_EQ(m.udh.size(), 1u);
    EXPECT_EQ(m.udh[0].id, 0x0A);
    EXPECT_FALSE(m.concat());
}

TEST(SpoolParse, EmptySmsHasNoUdLine) {
    auto m = spool::parse("oa=1\nda=2\nscts=2026-01-01T00:00:00\nmr=0\n");
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(m.form, spool::UdForm::none);
}

TEST(SpoolParse, UnknownKeysAreReportedNotFatal) {
    auto m = spool::parse("oa=1\nfoo=bar\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.unknown_keys, std::vector<std::string>{"foo"});
}

// Issue 16: the seven forms app_sms reads, each read with its exact text.

TEST(SpoolLenient, KeysInAnyCaseWithBlanksAroundTheEquals) {
    auto m = spool::parse("  OA = 48500100200 \nDa = 600700800\nUD= two  spaces \n"
                          "SCTS =2026-11-29T22:53:42\nDcs= 0\n MR = 7\n");
    EXPECT_EQ(m.oa, "48500100200");
    EXPECT_EQ(m.da, "600700800");
    EXPECT_EQ(m.text, " two  spaces "); // the ud= value exactly as written
    EXPECT_EQ(m.scts, "2026-11-29T22:53:42");
    EXPECT_EQ(m.dcs, 0);
    EXPECT_EQ(m.mr, 7);
}

TEST(SpoolLenient, UnknownKeysAndLinesWithoutSeparatorAreIgnored) {
    auto m = spool::parse("oa=1\nda=2\nfoo=bar\nx-custom#ABCD\nudhx#00\nhello world\n"
                          "ud=the text\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.text, "the text");
    EXPECT_EQ(m.da, "2");
    EXPECT_FALSE(m.concat());
    EXPECT_EQ(m.unknown_keys.size(), 4u);
    EXPECT_EQ(m.unknown_keys[0], "foo");
}

TEST(SpoolLenient, NoOaIsAMessageFromAnUnknownSender) {
    auto m = spool::parse("da=600700800\nud=who am I\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.oa, "");
    EXPECT_EQ(m.text, "who am I");
    // And it is written back the way app_sms writes it: no oa= line.
    EXPECT_EQ(spool::serialize(m).substr(0, 13), "da=600700800\n");
}

TEST(SpoolLenient, MalformedUserDataHeaderLeavesASingleMessage) {
    // The length octet wrongly included: the element walk runs past the end.
    auto m = spool::parse("oa=1\nda=2\nudh#050003AB0301\nud=the text\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.text, "the text");
    EXPECT_TRUE(m.udh.empty());
    EXPECT_FALSE(m.concat());
    EXPECT_NE(m.udh_error.find("050003AB0301"), std::string::npos) << m.udh_error;
    auto n = spool::parse("oa=1\nudh#zz\nud=x\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(n.text, "x");
    EXPECT_FALSE(n.udh_error.empty());
    EXPECT_TRUE(
        spool::parse("oa=1\nudh#0003AB0201\nud=x\nscts=2026-01-01T00:00:00\n").udh_error.empty());
}

TEST(SpoolLenient, ImpossibleConcatenationElementIsIgnored) {
    for (const char* udh :
         {"0003AB0300", "0003AB0203", "0003AB0101", "0003AB0001", "0804123400", "080412340103"}) {
        auto m =
            spool::parse(std::string("oa=1\nudh#") + udh + "\nud=x\nscts=2026-01-01T00:00:00\n");
        EXPECT_FALSE(m.concat()) << udh;
        EXPECT_EQ(m.text, "x");
    }
    auto ok = spool::parse("oa=1\nudh#0003AB0202\nud=x\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(*ok.concat(), (spool::Concat{0xAB, 2, 2, false}));
}

TEST(SpoolLenient, SurrogatePairSplitAcrossPartsIsRecombined) {
    // U+1F600 = D83D DE00: the high half ends part 1, the low one starts part 2, each written as
    // its own three-byte sequence on ud= (as app_sms writes them).
    auto p1 =
        spool::parse("oa=1\nudh#0003AB0201\nud=smile \xED\xA0\xBD\nscts=2026-01-01T00:00:00\n");
    auto p2 =
        spool::parse("oa=1\nudh#0003AB0202\nud=\xED\xB8\x80 done\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(p1.text, "smile \uFFFD");
    EXPECT_EQ(p1.halves.last_high, 0xD83D);
    EXPECT_EQ(p2.text, "\uFFFD done");
    EXPECT_EQ(p2.halves.first_low, 0xDE00);
    EXPECT_EQ(spool::join_texts({&p1, &p2}), "smile \U0001F600 done");
    // The same in UCS-2 hex.
    auto u1 = spool::parse("oa=1\nud##0041D83D\nscts=2026-01-01T00:00:00\n");
    auto u2 = spool::parse("oa=1\nud##DE000042\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(spool::join_texts({&u1, &u2}), "A\U0001F600B");
    // A half that never finds its partner (the other part missing) stays U+FFFD.
    EXPECT_EQ(spool::join_texts({&p1, nullptr}), "smile \uFFFD[...]");
    EXPECT_EQ(spool::join_texts({nullptr, &p2}), "[...]\uFFFD done");
    // Lone halves inside a text are U+FFFD, the rest kept.
    auto mid = spool::parse("oa=1\nud=a\xED\xA0\xBD"
                            "b\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(mid.text, "a\uFFFDb");
    EXPECT_EQ(mid.halves, utf8::LoneHalves{});
}

TEST(SpoolLenient, EmptyMessageHasNoText) {
    auto m = spool::parse("oa=1\nda=2\nscts=2026-01-01T00:00:00\n");
    EXPECT_EQ(m.text, "");
}

TEST(SpoolLenient, UnfinishedFilesAreTold) {
    for (const char* c : {"", "oa=1\nda=2\nud=cut", "oa=1\nda=2\nud=Hello\n"})
        EXPECT_THROW(spool::parse(c), spool::Incomplete) << c;
    try {
        spool::parse(std::string("oa=1\n\0\n", 7));
        FAIL();
    } catch (const spool::Incomplete&) {
        FAIL() << "binary is not unfinished";
    } catch (const Error&) {
    }
}

struct MustFail {
    const char* name;
    std::string content;
};

class SpoolMustFail : public testing::TestWithParam<MustFail> {};

TEST_P(SpoolMustFail, Rejected) {
    try {
        spool::parse(GetParam().content, "f");
        FAIL() << "accepted: " << GetParam().name;
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
        EXPECT_EQ(e.subject(), "f");
        EXPECT_FALSE(e.reason().empty());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, SpoolMustFail,
    testing::Values(MustFail{"empty", ""},
                    MustFail{"no final newline", "oa=1\nud=cut here\nscts=2026-01-01T00:00:00"},
                    MustFail{"cut before scts", "oa=1\nda=2\nud=Hello\n"},
                    MustFail{"binary",
                             std::string("oa=1\n\0\x01\x02\nscts=2026-01-01T00:00:00\n", 34)},
                    MustFail{"garbage lines only", "hello world\nmore garbage\n"},
                    MustFail{"bad hex", "oa=1\nud#4G\nscts=2026-01-01T00:00:00\n"},
                    MustFail{"odd ucs2", "oa=1\nud##004\nscts=2026-01-01T00:00:00\n"},
                    MustFail{"invalid utf8", "oa=1\nud=\xC3\x28\nscts=2026-01-01T00:00:00\n"},
                    MustFail{"path in oa", "oa=../x\nscts=2026-01-01T00:00:00\n"},
                    MustFail{"bad scts", "oa=1\nscts=yesterday\n"},
                    MustFail{"bad mr", "oa=1\nmr=x\nscts=2026-01-01T00:00:00\n"}),
    [](const auto& param_info) {
        std::string n = param_info.param.name;
        for (char& c : n)
            if (!isalnum(static_cast<unsigned char>(c)))
                c = '_';
        return n;
    });

TEST(SpoolWrite, ControlCharactersGoToHexWithACommentLine) {
    spool::Message m;
    m.oa = "1";
    m.da = "2";
    m.scts = "2026-01-01T00:00:00";
    m.text = "line one\nline two";
    auto s = spool::serialize(m);
    EXPECT_EQ(s, "oa=1\nda=2\n;ud=line one\u00BFline two\nud#6C696E65206F6E650A6C696E652074776F\n"
                 "scts=2026-01-01T00:00:00\n");
    m.text = "Ω\r\n";
    s = spool::serialize(m);
    EXPECT_NE(s.find("ud##03A9000D000A\n"), std::string::npos) << s;
}

TEST(SpoolWrite, Ucs2StyleAlwaysHex) {
    spool::Message m;
    m.oa = "1";
    m.text = "Hi";
    m.dcs = 0;
    auto s = spool::serialize(m, {spool::TextStyle::ucs2, true});
    EXPECT_EQ(s, "oa=1\nud##00480069\ndcs=0\n");
}

TEST(SpoolWrite, RefusesInjectionInNumbers) {
    spool::Message m;
    m.oa = "1\nda=666";
    m.scts = "2026-01-01T00:00:00";
    EXPECT_THROW(spool::serialize(m), Error);
}

TEST(SpoolRoundTrip, RandomTexts) {
    std::mt19937 rng(20261130);
    // Pools: ASCII, controls, Latin-1, Greek/Cyrillic, CJK, non-BMP.
    const std::vector<std::pair<char32_t, char32_t>> pools = {
        {0x20, 0x7E},   {0x00, 0x1F},     {0xA0, 0xFF},       {0x391, 0x3C9},
        {0x410, 0x44F}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x7F, 0x9F}};
    for (int round = 0; round < 2000; ++round) {
        std::u32string text;
        int len = static_cast<int>(rng() % 200);
        for (int i = 0; i < len; ++i) {
            auto [lo, hi] = pools[rng() % pools.size()];
            char32_t c = lo + static_cast<char32_t>(rng() % (hi - lo + 1));
            if (c == 0)
                c = 1;
            text.push_back(c);
        }
        spool::Message m;
        m.oa = "+48500100200";
        m.da = "600700800";
        m.scts = "2026-11-29T22:53:42";
        m.text = utf8::encode(text);
        m.mr = static_cast<int>(rng() % 256);
        if (round % 3 == 0)
            m.udh = {spool::concat_element({static_cast<unsigned>(rng() % 256), 3, 2, false})};
        for (auto style : {spool::TextStyle::automatic, spool::TextStyle::ucs2}) {
            auto s = spool::serialize(m, {style, true});
            // Every line is one of the keys: nothing in the text added a line.
            std::size_t lines = 0;
            for (char c : s)
                lines += c == '\n';
            std::size_t expected = 4 + (m.udh.empty() ? 0 : 1) + (text.empty() ? 0 : 1);
            if (style == spool::TextStyle::automatic && !text.empty() &&
                s.find(";ud=") != std::string::npos)
                ++expected;
            ASSERT_EQ(lines, expected) << s;
            auto back = spool::parse(s);
            ASSERT_EQ(back.text, m.text) << "round " << round;
            EXPECT_EQ(back.oa, m.oa);
            EXPECT_EQ(back.da, m.da);
            EXPECT_EQ(back.mr, m.mr);
            EXPECT_EQ(back.udh, m.udh);
        }
    }
}

TEST(SpoolFiles, WriteIsAtomicAndNeverReplaces) {
    TempDir t;
    spool::Message m;
    m.oa = "1";
    m.scts = "2026-01-01T00:00:00";
    m.text = "first";
    EXPECT_TRUE(spool::write(t.path, "1.2026-01-01T00:00:00-0", m));
    m.text = "second";
    EXPECT_FALSE(spool::write(t.path, "1.2026-01-01T00:00:00-0", m));
    EXPECT_EQ(spool::read(t.path + "/1.2026-01-01T00:00:00-0").text, "first");
    EXPECT_THROW(spool::write(t.path, "../escape", m), Error);
    EXPECT_THROW(spool::write(t.path, ".hidden", m), Error);
    // No temporary left behind.
    int entries = 0;
    for (auto& e : std::filesystem::directory_iterator(t.path)) {
        (void)e;
        ++entries;
    }
    EXPECT_EQ(entries, 1);
}

TEST(SpoolFiles, ListingSkipsDotfilesAndNonRegularFiles) {
    TempDir t;
    fs::write_atomic(t.path, "b", "x");
    fs::write_atomic(t.path, "a", "x");
    fs::write_atomic(t.path, ".being-written", "x");
    std::filesystem::create_directory(t.path + "/bad");
    std::filesystem::create_directory(t.path + "/1.2026-01-01T00:00:00-9");
    std::filesystem::create_symlink("/etc/passwd", t.path + "/link");
    ::mkfifo((t.path + "/fifo").c_str(), 0600);
    EXPECT_EQ(spool::list(t.path), (std::vector<std::string>{"a", "b"}));
}

TEST(SpoolScts, FormatAndParseAgree) {
    auto t = spool::parse_scts("2026-11-29T22:53:42");
    ASSERT_TRUE(t);
    EXPECT_EQ(spool::format_scts(*t), "2026-11-29T22:53:42");
    EXPECT_FALSE(spool::parse_scts("2026-13-01T00:00:00"));
    EXPECT_FALSE(spool::parse_scts("2026-11-29 22:53:42"));
}

// One text limit for the suite: whatever a tool accepted, the router can read back whole.
TEST(SpoolLimits, LongestTextInItsCostliestFormFitsAMessageFile) {
    spool::Message m;
    m.oa = "+48500100200123456789";
    m.da = "+48600700800123456789";
    m.scts = "2026-11-29T22:53:42";
    // A control character and a character past Latin-1 force ";ud=" + ud## (5 bytes a letter).
    m.text = "\n\xC4\x80";
    m.text += std::string(spool::max_text_bytes - m.text.size(), 'a');
    EXPECT_NO_THROW(spool::check_text_length(m.text));
    auto file = spool::serialize(m);
    EXPECT_LE(file.size(), spool::max_file_bytes);
    EXPECT_EQ(spool::parse(file).text, m.text);
    m.text += "a";
    try {
        spool::check_text_length(m.text);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
    }
}
