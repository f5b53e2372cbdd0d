// Tests of lib/state/retry: the retry record written byte for byte as the released sms-process
// writes it, and read back by its one parser (the router's and sms-queue's).
#include "state/layout.hpp"
#include "state/retry.hpp"
#include "tempdir.hpp"
#include "util/fsutil.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace sms;

namespace {

const std::string released =
    std::string(SMS_TEST_DATA) + "/state/retry/48500100200.1795992927-24286";
// The reason it holds, before escaping: a line feed, a C1 control (U+0085), a backslash.
const std::string reason = "directory: unavailable: database is locked\nagain \xC2\x85 C:\\spool";

} // namespace

TEST(StateRetry, WrittenAsTheReleasedSuiteWrites) {
    EXPECT_EQ(state::format_retry(1795992930, reason), fs::read_file(released));
}

TEST(StateRetry, ReleasedRecordParses) {
    auto r = state::parse_retry(fs::read_file(released));
    EXPECT_EQ(r.first_failure, 1795992930);
    EXPECT_EQ(r.reason, "directory: unavailable: database is locked\\x0aagain \\u0085 C:\\spool");
}

TEST(StateRetry, ParserIsLenient) {
    // Keys in any order, unknown lines skipped, no final line feed.
    auto r = state::parse_retry("reason=AMI down\nnext=7\nfirst_failure=1700000000");
    EXPECT_EQ(r.first_failure, 1700000000);
    EXPECT_EQ(r.reason, "AMI down");
    // What is not a time counts as none: the router starts the clock afresh.
    EXPECT_EQ(state::parse_retry("first_failure=soon\n").first_failure, 0);
    EXPECT_EQ(state::parse_retry("first_failure=-5\n").first_failure, 0);
    EXPECT_EQ(state::parse_retry("first_failure=\n").first_failure, 0);
    EXPECT_EQ(state::parse_retry("").first_failure, 0);
    EXPECT_EQ(state::parse_retry(" first_failure=12\n").first_failure, 0);
    EXPECT_EQ(state::parse_retry("first_failure=12\nreason=\n").reason, "");
}

TEST(StateRetry, ReadFromTheStateFolder) {
    test::TempDir t;
    Config cfg;
    cfg.general.spool_dir = t.path;
    const std::string name = "48500100200.1795992927-24286";
    EXPECT_EQ(state::retry_path(cfg, name), t.path + "/sms/.sms-suite/retry/" + name);
    EXPECT_FALSE(state::read_retry(cfg, name)); // no record
    std::filesystem::create_directories(state::retry_dir(cfg));
    std::filesystem::copy_file(released, state::retry_path(cfg, name));
    auto r = state::read_retry(cfg, name);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first_failure, 1795992930);
    // An empty record is none; a symbolic link is not followed.
    std::ofstream(state::retry_path(cfg, "empty"));
    EXPECT_FALSE(state::read_retry(cfg, "empty"));
    ASSERT_EQ(
        ::symlink(state::retry_path(cfg, name).c_str(), state::retry_path(cfg, "link").c_str()), 0);
    EXPECT_FALSE(state::read_retry(cfg, "link"));
}
