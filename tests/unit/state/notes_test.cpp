// Tests of lib/state/notes: the NAME.why note beside a dead letter, written one way (byte for
// byte as the released sms-process writes it) and read back, old writers' notes included.
#include "state/notes.hpp"
#include "tempdir.hpp"
#include "util/fsutil.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace sms;

namespace {

const std::string data = std::string(SMS_TEST_DATA) + "/state/notes/";

std::string bytes(const std::string& path) {
    return fs::read_file(path);
}

} // namespace

TEST(StateNotes, NamesOfNotes) {
    EXPECT_EQ(state::note_name("48500100200.1795992927-24286"), "48500100200.1795992927-24286.why");
    EXPECT_EQ(state::noted_name("a.3.why"), std::optional<std::string_view>("a.3"));
    EXPECT_EQ(state::noted_name("lonely.why.why"), std::optional<std::string_view>("lonely.why"));
    EXPECT_FALSE(state::noted_name(".why"));
    EXPECT_FALSE(state::noted_name("why"));
    EXPECT_FALSE(state::noted_name("a.whyx"));
}

TEST(StateNotes, WrittenAsTheReleasedSuiteWrites) {
    // A reason with a line feed, a tab and a backslash: one line, controls as \xNN.
    EXPECT_EQ(state::note_text("gave up after 86500 s of temporary failures: AMI: Response: "
                               "Error\nMessage: C:\\spool\tfull"),
              bytes(data + "dead-letter.why"));
    EXPECT_EQ(state::note_text("line 3: 'ud=' is not valid UTF-8 (byte 0xFF)\r"),
              bytes(data + "quarantined.why"));
    EXPECT_EQ(state::note_text("given up after 5 attempts: refused by the phone (N)"),
              bytes(data + "lasthop-sms.why"));
    EXPECT_EQ(state::note_text(std::string("a\0b\x7f", 4)), "a\\x00b\\x7F\n");
    EXPECT_EQ(state::note_text(""), "\n");
}

TEST(StateNotes, PlannedBesideItsFile) {
    auto f = state::note("/spool/sms/morx/failed", "m.1", "x\ny");
    EXPECT_EQ(f.dir, "/spool/sms/morx/failed");
    EXPECT_EQ(f.name, "m.1.why");
    EXPECT_EQ(f.content, "x\\x0Ay\n");
    EXPECT_TRUE(f.replace); // a dead letter retried and dead again gets its new reason
}

TEST(StateNotes, ReadsEveryWritersNotes) {
    // The reader returns the line as written: old lower-case escapes and doubled backslashes
    // read as they were shown before.
    EXPECT_EQ(state::read_note(data + "dead-letter"),
              "gave up after 86500 s of temporary failures: AMI: Response: Error\\x0AMessage: "
              "C:\\spool\\x09full");
    EXPECT_EQ(state::read_note(data + "lasthop-sms"),
              "given up after 5 attempts: refused by the phone (N)");
    EXPECT_EQ(state::read_note(data + "lasthop-call-1"),
              "fax to 1000: FAXERROR \\x0awith a \\\\ backslash after 3 attempt(s)");
}

TEST(StateNotes, WrittenThenReadIsOneLine) {
    test::TempDir t;
    const std::string why = "refused\nby\r\nthe far end \x1b[31m";
    ASSERT_TRUE(fs::commit(state::note(t.path, "m", why)));
    std::string line = state::read_note(fs::join(t.path, "m"));
    EXPECT_EQ(line, "refused\\x0Aby\\x0D\\x0Athe far end \\x1B[31m");
    EXPECT_EQ(line.find('\n'), std::string::npos);
    // A second note of the same name replaces the first.
    ASSERT_TRUE(fs::commit(state::note(t.path, "m", "second")));
    EXPECT_EQ(state::read_note(fs::join(t.path, "m")), "second");
}

TEST(StateNotes, ReadQuietlyAndBounded) {
    test::TempDir t;
    const std::string p = fs::join(t.path, "m");
    EXPECT_EQ(state::read_note(p), ""); // none
    std::ofstream(p + ".why") << "first line\nsecond line\n";
    EXPECT_EQ(state::read_note(p), "first line");
    // What is returned holds about its bytes, not the 4 KiB read at most: sms-queue keeps one
    // per dead letter (10,000 of them cost 40 MiB when it did not).
    EXPECT_LT(state::read_note(p).capacity(), 256u);
    // A note of no line feed, longer than 4 KiB: its first 4 KiB.
    std::ofstream(p + ".why", std::ios::trunc) << std::string(10000, 'x');
    EXPECT_EQ(state::read_note(p), std::string(4096, 'x'));
    // A symbolic link is not followed, a FIFO not waited on.
    const std::string q = fs::join(t.path, "q");
    ASSERT_EQ(::symlink((p + ".why").c_str(), (q + ".why").c_str()), 0);
    EXPECT_EQ(state::read_note(q), "");
    const std::string f = fs::join(t.path, "f");
    ASSERT_EQ(::mkfifo((f + ".why").c_str(), 0600), 0);
    EXPECT_EQ(state::read_note(f), "");
}
