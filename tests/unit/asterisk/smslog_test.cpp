// smslog: every line of the recorded app_sms logs (tests/data/lasthop, from fixtures/lasthop)
// parsed as the fixtures' README says, and the incremental reader across rotation and truncation.
#include "asterisk/smslog.hpp"
#include "asterisk/spool.hpp"
#include "tempdir.hpp"
#include "util/fsutil.hpp"
#include "util/utf8.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

using namespace sms;
using smslog::Record;

namespace {

std::string data(const std::string& name) {
    return fs::read_file(std::string(SMS_TEST_DATA) + "/lasthop/" + name);
}

// The fixture's queue file as a message: its text as UTF-16 units, and the mr app_sms logs.
struct QueueFile {
    std::string name, queue;
    spool::Message m;
    std::u16string units;
    std::optional<unsigned> mr;
};

std::vector<QueueFile> queue_files() {
    const std::string dir = std::string(SMS_TEST_DATA) + "/lasthop/mttx-before";
    std::vector<QueueFile> out;
    for (const auto& name : fs::list_regular(dir)) {
        QueueFile q;
        q.name = name;
        q.queue = name.substr(0, name.find('.'));
        std::string content = fs::read_file(fs::join(dir, name));
        if (auto at = content.find("mr="); at != std::string::npos)
            q.mr = static_cast<unsigned>(std::atoi(content.c_str() + at + 3)) & 0xFFu;
        std::string without_mr;
        for (std::size_t pos = 0; pos < content.size();) {
            auto nl = content.find('\n', pos);
            std::string l = content.substr(pos, nl - pos + 1);
            pos = nl + 1;
            if (!l.starts_with("mr="))
                without_mr += l;
        }
        if (without_mr.find("scts=") == std::string::npos)
            without_mr += "scts=2026-12-02T17:54:10\n";
        q.m = spool::parse(without_mr, name);
        q.units = utf8::to_utf16(*utf8::decode(q.m.text, true));
        out.push_back(std::move(q));
    }
    return out;
}

// What the suite predicts of its own lines: every recorded queue file's fields and text.
std::vector<smslog::Expected> expected() {
    std::vector<smslog::Expected> e;
    for (const auto& q : queue_files())
        e.push_back(
            {q.queue, q.m.oa, q.m.da, smslog::render(q.units), smslog::cut_by_nul(q.units)});
    return e;
}

std::vector<Record> parse_file(const std::string& name) {
    return smslog::parse(data(name), 0, 0, expected());
}

// "YOS07" and so on: the flags as the log shows them.
std::string flags(const Record& r) {
    std::string f{r.status, r.dir, r.mode};
    if (r.mr) {
        static const char* hexd = "0123456789ABCDEF";
        f += hexd[*r.mr >> 4];
        f += hexd[*r.mr & 15];
    }
    return f;
}

void append(const std::string& path, std::string_view s) {
    fs::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
    ASSERT_TRUE(fd);
    fs::write_all(fd.get(), s, path);
}

std::string line(const std::string& flags, const std::string& text) {
    return "2026-12-02T17:54:10 " + flags + " 48500100250 48500100201 48500100250 " + text + "\n";
}

} // namespace

TEST(SmsLog, MrAndOrderOfOneCall) {
    auto r = parse_file("1a-mr.sms.log");
    ASSERT_EQ(r.size(), 6u);
    std::vector<std::string> want = {"YIM", "YOS", "YIM", "YOS08", "YIM", "YOS07"};
    for (std::size_t k = 0; k < r.size(); ++k) {
        EXPECT_EQ(flags(r[k]), want[k]) << k;
        EXPECT_EQ(r[k].queue, "48500100250");
        EXPECT_EQ(r[k].oa, "48500100201");
        EXPECT_FALSE(r[k].cut);
    }
    EXPECT_EQ(r[0].da, ""); // "-": a phone's received message has no da
    EXPECT_EQ(r[1].da, "48500100250");
    EXPECT_EQ(r[0].time, "2026-12-02T17:54:10");
    EXPECT_EQ(r[5].text, "First message, carries mr=07");
    EXPECT_EQ(r[1].text, "Third message, no mr line");
    EXPECT_FALSE(r[1].udl);
}

TEST(SmsLog, EscapesAndLowBytes) {
    auto r = parse_file("1a2-log-escapes.sms.log");
    ASSERT_EQ(r.size(), 8u);
    EXPECT_EQ(flags(r[1]), "YOS0A"); // mr=10
    EXPECT_EQ(flags(r[3]), "YOSFF"); // mr=255
    EXPECT_EQ(flags(r[5]), "YOS00"); // mr=0A: atoi stops at A
    EXPECT_EQ(flags(r[7]), "YOS00"); // mr=256
    // The low byte of each UCS-2 unit, raw: z-dot (U+017C) -> '|', o-acute -> 0xF3, c-acute ->
    // 0x07.
    auto u = utf8::to_utf16(*utf8::decode("Zażółć gęślą jaźń ΑΒΓ αβγ €"));
    EXPECT_EQ(r[1].text, smslog::render(u));
    EXPECT_EQ(r[1].text.substr(0, 6), "Za|\xF3\x42\x07");
    EXPECT_EQ(r[3].text, "line one\\nline two\\\\back\\\\slash\xBFtab\\rCR end");
    EXPECT_EQ(r[3].text, smslog::render(u"line one\nline two\\back\\slash\ttab\rCR end"));
    EXPECT_EQ(r[0].text, r[1].text);
}

TEST(SmsLog, NulGluesLinesAndRawLineFeedBreaksOne) {
    auto r = parse_file("1a3-log-nul-and-lf.sms.log");
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(flags(r[0]), "YIM");
    EXPECT_EQ(flags(r[1]), "YOS");
    EXPECT_EQ(flags(r[2]), "YIM");
    EXPECT_EQ(flags(r[3]), "YOS");
    // The emoji's second surrogate (U+DE00) writes NUL: the text and the newline end there.
    EXPECT_EQ(r[0].text, "Emoji =");
    EXPECT_TRUE(r[0].cut);
    EXPECT_EQ(r[1].text, "Emoji =");
    EXPECT_TRUE(r[1].cut);
    EXPECT_EQ(r[1].da, "48500100253");
    // U+040A writes a raw LF: the record goes on on the next physical line.
    EXPECT_EQ(r[2].text, "Serbian \n820 then more text");
    EXPECT_FALSE(r[2].cut);
    EXPECT_EQ(r[3].text, "Serbian \n820 then more text");
    EXPECT_EQ(r[3].time, "2026-12-02T17:55:17");
    EXPECT_EQ(smslog::render(utf8::to_utf16(*utf8::decode("Emoji 😀 then more text"))), "Emoji =");
    EXPECT_EQ(smslog::render(utf8::to_utf16(*utf8::decode("Serbian Њива then more text"))),
              "Serbian \n820 then more text");
    for (const auto& rec : r)
        EXPECT_TRUE(rec.anchored && rec.own);
    // Without knowing what was sent, neither can be told from a sender's text: the glued heads
    // are text of the first line, the broken line ends at its raw LF, and the line after the
    // rest of it is not where app_sms surely began one.
    auto plain = smslog::parse(data("1a3-log-nul-and-lf.sms.log"));
    ASSERT_EQ(plain.size(), 2u);
    EXPECT_EQ(flags(plain[0]), "YIM");
    EXPECT_TRUE(plain[0].anchored);
    EXPECT_NE(plain[0].text.find("YOS 48500100253"), std::string::npos);
    EXPECT_FALSE(plain[0].cut);
    EXPECT_EQ(flags(plain[1]), "YOS");
    EXPECT_EQ(plain[1].text, "Serbian ");
    EXPECT_FALSE(plain[1].anchored);
}

TEST(SmsLog, CutCalls) {
    auto r = parse_file("1b-cut-during-data.sms.log");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(flags(r[1]), "YOS13"); // mr=19
    EXPECT_EQ(flags(r[2]), "?OS12"); // mr=18, in flight when the phone hung up
    auto a = parse_file("1b2-cut-during-ack.sms.log");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(flags(a[0]), "YIM");   // the phone has it...
    EXPECT_EQ(flags(a[1]), "?OS28"); // ...and the centre never got the ACK (mr=40)
    auto p = parse_file("product-loss.sms.log");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(flags(p[0]), "?OS");
    EXPECT_EQ(p[0].queue, "48500100280");
}

TEST(SmsLog, NackAndPrivacy) {
    auto n = parse_file("1c-nack.sms.log");
    ASSERT_EQ(n.size(), 2u);
    EXPECT_EQ(flags(n[0]), "NOS");
    EXPECT_EQ(flags(n[1]), "NOS21"); // mr=33
    auto p = parse_file("1d-privacy-n.sms.log");
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(flags(p[0]), "YIM");
    EXPECT_TRUE(p[0].cut); // the phone side has no n: its emoji NUL glues the next line on
    EXPECT_EQ(flags(p[1]), "YOS");
    ASSERT_TRUE(p[1].udl);
    EXPECT_EQ(*p[1].udl, 16u); // the emoji counts 2
    EXPECT_EQ(flags(p[3]), "YOS15");
    ASSERT_TRUE(p[3].udl);
    EXPECT_EQ(*p[3].udl, 29u);
    EXPECT_EQ(p[2].text, "Private text, not for the log");
    EXPECT_FALSE(p[2].udl);
}

// Every queue file of the recordings is found in its log by queue, mr (the hex byte of atoi)
// and its text as app_sms renders it, or its length in the privacy form.
TEST(SmsLog, EveryQueueFileMatchesItsLine) {
    std::map<std::string, std::string> log_of = {{"48500100250", "1a-mr"},
                                                 {"48500100251", "1b-cut-during-data"},
                                                 {"48500100252", "1a2-log-escapes"},
                                                 {"48500100253", "1a3-log-nul-and-lf"},
                                                 {"48500100254", "1d-privacy-n"},
                                                 {"48500100255", "1c-nack"},
                                                 {"48500100256", "1b2-cut-during-ack"}};
    int matched = 0, files = 0;
    for (const auto& q : queue_files()) {
        ++files;
        int found = 0;
        for (const auto& r : parse_file(log_of.at(q.queue) + ".sms.log")) {
            if (r.dir != 'O' || r.queue != q.queue || r.mr != q.mr)
                continue;
            EXPECT_TRUE(r.anchored) << q.name;
            bool same = r.udl ? *r.udl == q.units.size() : r.text == smslog::render(q.units);
            if (same)
                ++found;
        }
        if (q.name == "48500100251.lh-b1-1") {
            EXPECT_EQ(found, 0) << q.name << ": never read, no line";
        } else {
            EXPECT_EQ(found, 1) << q.name;
            matched += found;
        }
    }
    EXPECT_EQ(files, 17);
    EXPECT_EQ(matched, 16);
}

TEST(SmsLog, BrokenAndForeignLines) {
    // A continuation whose record was read earlier, garbage, and a line with no newline yet.
    std::string d = "820 then more text\nnot a record\n" + line("YOS07", "ok") + "2026-12-02T1";
    auto r = smslog::parse(d, 100, 7);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].text, "ok");
    EXPECT_FALSE(r[0].anchored); // after lines that may be the rest of a text
    EXPECT_EQ(r[0].offset, 100u + 32u);
    EXPECT_EQ(r[0].ino, 7u);
    // Fewer than three fields after the head: no line app_sms wrote.
    EXPECT_TRUE(smslog::parse("2026-12-02T17:54:10 YOS07 q a\n").empty());
    EXPECT_TRUE(smslog::parse("").empty());
    EXPECT_TRUE(smslog::parse("2026-12-02T17:54:10 XOS q a b t\n").empty());
}

TEST(SmsLog, CursorRoundTrip) {
    smslog::Cursor c{5, 1234, 99, std::string("a\nb\0c", 5)};
    auto back = smslog::parse_cursor(smslog::format_cursor(c));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->dev, 5u);
    EXPECT_EQ(back->ino, 1234u);
    EXPECT_EQ(back->pos, 99u);
    EXPECT_EQ(back->tail, c.tail);
    EXPECT_FALSE(smslog::parse_cursor("dev=1 ino=2"));
    EXPECT_FALSE(smslog::parse_cursor("garbage"));
}

TEST(SmsLog, ReadsIncrementallyWholeLinesOnly) {
    test::TempDir t;
    std::string path = t.path + "/sms";
    append(path, line("YOS01", "one"));
    auto a = smslog::read_new(path, {});
    ASSERT_TRUE(a.readable);
    ASSERT_EQ(a.records.size(), 1u);
    append(path, line("YOS02", "two") +
                     "2026-12-02T17:54:10 YOS03 48500100250 48500100201"); // half a line
    auto b = smslog::read_new(path, a.next);
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_EQ(b.records[0].text, "two");
    append(path, " 48500100250 three\n");
    auto c = smslog::read_new(path, b.next);
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(c.records[0].text, "three");
    EXPECT_EQ(*c.records[0].mr, 3u);
    auto d = smslog::read_new(path, c.next);
    EXPECT_TRUE(d.records.empty());
    EXPECT_TRUE(d.notes.empty());
    // The last line cut by a NUL (no newline): taken when it is the suite's own text, cut
    // where the suite knows it is; the next line, glued on, then begins where reading goes on.
    append(path, "2026-12-02T17:54:10 YOS04 48500100250 48500100201 48500100250 Emoji =");
    std::vector<smslog::Expected> own = {
        {"48500100250", "48500100201", "48500100250", "Emoji =", true}};
    EXPECT_TRUE(smslog::read_new(path, d.next).records.empty()); // not predicted: left
    auto e = smslog::read_new(path, d.next, own);
    ASSERT_EQ(e.records.size(), 1u);
    EXPECT_EQ(e.records[0].text, "Emoji =");
    EXPECT_TRUE(e.records[0].cut);
    append(path, line("YOS05", "five"));
    auto f = smslog::read_new(path, e.next, own);
    ASSERT_EQ(f.records.size(), 1u);
    EXPECT_EQ(*f.records[0].mr, 5u);
    EXPECT_TRUE(f.records[0].anchored);
}

TEST(SmsLog, RotationByRenameReadsTheRestOfTheOldFile) {
    test::TempDir t;
    std::string path = t.path + "/sms";
    append(path, line("YOS01", "one"));
    auto a = smslog::read_new(path, {});
    append(path, line("YOS02", "two, after the cursor, before the rotation"));
    ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
    append(path, line("YOS03", "three, in the new file"));
    auto b = smslog::read_new(path, a.next);
    ASSERT_EQ(b.records.size(), 2u);
    EXPECT_EQ(*b.records[0].mr, 2u);
    EXPECT_EQ(*b.records[1].mr, 3u);
    EXPECT_EQ(b.notes.size(), 1u);
    // A mark taken before the rotation (in the old file) is before the new file's lines; one
    // taken in the new file is after every line of the old one.
    smslog::Mark old_mark{a.next.ino, a.next.pos};
    EXPECT_TRUE(smslog::after(b.records[0], old_mark, b.current_ino));
    EXPECT_TRUE(smslog::after(b.records[1], old_mark, b.current_ino));
    smslog::Mark new_mark{b.current_ino, 0};
    EXPECT_FALSE(smslog::after(b.records[0], new_mark, b.current_ino));
    EXPECT_TRUE(smslog::after(b.records[1], new_mark, b.current_ino));
    // The old file removed (compressed away) before the next read: said, and the new file read.
    append(path, line("YOS04", "four"));
    ::unlink((path + ".1").c_str());
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    ASSERT_EQ(::rename(path.c_str(), (path + ".0").c_str()), 0);
    // The new file is made while the old one still exists, so that it cannot get the old one's
    // inode number back (tests running beside this one free and reuse inodes).
    append(path, line("YOS05", "five"));
    ::unlink((path + ".0").c_str());
    auto c = smslog::read_new(path, b.next);
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(*c.records[0].mr, 5u);
    ASSERT_EQ(c.notes.size(), 1u);
    EXPECT_NE(c.notes[0].find("lost"), std::string::npos);
}

TEST(SmsLog, TruncatedFileIsReadFromItsStart) {
    test::TempDir t;
    std::string path = t.path + "/sms";
    append(path, line("YOS01", "one") + line("YOS02", "two"));
    auto a = smslog::read_new(path, {});
    ASSERT_EQ(a.records.size(), 2u);
    // copytruncate, then more lines than before: same inode, bigger than the cursor.
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    append(path,
           line("YOS03", "three, a longer line than the first two were") + line("YOS04", "four"));
    auto b = smslog::read_new(path, a.next);
    ASSERT_EQ(b.records.size(), 2u);
    EXPECT_EQ(*b.records[0].mr, 3u);
    EXPECT_EQ(b.notes.size(), 1u);
    // Truncated and smaller.
    ASSERT_EQ(::truncate(path.c_str(), 0), 0);
    append(path, line("YOS05", "5"));
    auto c = smslog::read_new(path, b.next);
    ASSERT_EQ(c.records.size(), 1u);
    EXPECT_EQ(*c.records[0].mr, 5u);
}

TEST(SmsLog, UnreadableLogKeepsTheCursor) {
    test::TempDir t;
    smslog::Cursor c{1, 2, 3, "x"};
    auto missing = smslog::read_new(t.path + "/none", c);
    EXPECT_FALSE(missing.readable);
    EXPECT_NE(missing.error.find("/none"), std::string::npos);
    EXPECT_EQ(missing.next.pos, 3u);
    EXPECT_EQ(missing.next.tail, "x");
    auto dir = smslog::read_new(t.path, c);
    EXPECT_FALSE(dir.readable);
    EXPECT_EQ(smslog::mark_now(t.path + "/none").ino, 0u);
}
