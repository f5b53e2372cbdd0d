// Tests of lib/commands: fixed replies, built-ins, programs without a shell, time limits, cuts.
#include "router/commands.hpp"
#include "util/utf8.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace sms;

namespace {

CommandsConfig config() {
    CommandsConfig c;
    c.words["HELP"] = "builtin:help";
    c.words["UPTIME"] = "builtin:uptime";
    c.words["ECHO"] = "builtin:echo";
    c.words["HOURS"] = "Open 9-17, Monday to Friday.";
    c.words["ARGS"] = "exec:/bin/echo fixed";
    c.words["FAIL"] = "exec:/bin/false";
    c.words["SLOW"] = "exec:/bin/sleep 30";
    c.words["ENV"] = "exec:/usr/bin/env";
    c.words["MISSING"] = "exec:/nonexistent/program";
    c.timeout = 1;
    return c;
}

} // namespace

TEST(Commands, FixedRepliesAndBuiltins) {
    auto c = config();
    EXPECT_EQ(commands::run(c, "1", "1000", "hours", 670).reply, "Open 9-17, Monday to Friday.");
    auto help = commands::run(c, "1", "1000", "  HELP ", 670).reply;
    EXPECT_EQ(help, "Commands: ARGS, ECHO, ENV, FAIL, HELP, HOURS, MISSING, SLOW, UPTIME.");
    EXPECT_EQ(commands::run(c, "1", "1000", "Echo  hello\nworld ", 670).reply, "hello\nworld");
    EXPECT_TRUE(commands::run(c, "1", "1000", "uptime", 670).reply.starts_with("Up "));
}

TEST(Commands, UnknownAndEmpty) {
    auto c = config();
    auto r = commands::run(c, "1", "1000", "weather", 670);
    EXPECT_EQ(r.reply, "Unknown command.");
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(commands::run(c, "1", "1000", "", 670).reply, "Unknown command.");
}

TEST(Commands, ProgramsGetAnArgvNotAShell) {
    auto c = config();
    // The rest of the message is one argument: no word splitting, no expansion.
    auto r = commands::run(c, "1", "1000", "args $(touch /tmp/sms-pwned) ; rm -rf x", 670);
    EXPECT_EQ(r.reply, "fixed $(touch /tmp/sms-pwned) ; rm -rf x");
    EXPECT_FALSE(std::filesystem::exists("/tmp/sms-pwned"));
    auto env = commands::run(c, "48500", "1000", "env", 4000).reply;
    EXPECT_NE(env.find("SMS_OA=48500"), std::string::npos);
    EXPECT_NE(env.find("SMS_COMMAND=ENV"), std::string::npos);
}

TEST(Commands, FailuresGiveTheErrorReply) {
    auto c = config();
    for (const char* word : {"fail", "missing"}) {
        auto r = commands::run(c, "1", "1000", word, 670);
        EXPECT_FALSE(r.ok) << word;
        EXPECT_EQ(r.reply, "Unable to complete the order. Please try again in a few minutes.");
    }
}

TEST(Commands, TimeLimitKillsTheProgram) {
    auto c = config();
    auto start = std::chrono::steady_clock::now();
    auto r = commands::run(c, "1", "1000", "slow", 670);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("killed"), std::string::npos);
    EXPECT_LT(took, std::chrono::seconds(20)); // not the program's 30 s
}

TEST(Commands, OutputIsCutToFitWithoutSplittingSurrogates) {
    auto c = config();
    c.words["LONG"] = std::string(1000, 'x');
    EXPECT_EQ(commands::run(c, "1", "1000", "long", 153).reply.size(), 153u);
    EXPECT_EQ(commands::cut_to_units("ab\U0001F600", 3), "ab");
    EXPECT_EQ(commands::cut_to_units("ab\U0001F600", 4), "ab\U0001F600");
    EXPECT_EQ(commands::split_argv(" /bin/x  -a\tb "),
              (std::vector<std::string>{"/bin/x", "-a", "b"}));
}

// A program that closes its output (or leaves a child holding none) is still killed at the
// limit, with everything it started.
TEST(Commands, TimeLimitHoldsAfterTheProgramClosedItsOutput) {
    auto c = config();
    c.words["QUIET"] = "exec:/bin/sh -c exec>&-;sleep${IFS}30";
    auto start = std::chrono::steady_clock::now();
    auto r = commands::run(c, "1", "1000", "quiet", 670);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok) << r.detail;
    EXPECT_NE(r.detail.find("killed"), std::string::npos) << r.detail;
    EXPECT_LT(took, std::chrono::seconds(20)); // not the program's 30 s
}
