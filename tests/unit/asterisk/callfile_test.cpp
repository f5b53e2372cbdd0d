// Tests of call files: rendering, refused injections, atomic queueing, --at, callfile-gen.
#include "asterisk/callfile.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>

using namespace sms;
using callfile::CallFile;

namespace {

using test::TempDir;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The lines of an archived call file up to its first blank line (what the writer wrote).
std::string head_of_fixture(const std::string& name) {
    std::string all = slurp(std::string(SMS_TEST_DATA) + "/callfiles/" + name);
    return all.substr(0, all.find("\n\n") + 1);
}

// What Asterisk's pbx_spool (apply_outgoing) reads from a file: comments cut at '#' (at the
// start or after a blank) and at an unescaped ';', blanks trimmed, "key: value" per line.
std::vector<std::pair<std::string, std::string>> asterisk_read(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(text);
    std::string buf;
    while (std::getline(in, buf)) {
        EXPECT_LE(buf.size() + 1, 255u) << "fgets would split this line";
        for (std::size_t i = 0; (i = buf.find('#', i)) != std::string::npos;) {
            if (i == 0 || buf[i - 1] == ' ' || buf[i - 1] == '\t') {
                buf.resize(i);
                break;
            }
            ++i;
        }
        for (std::size_t i = 0; (i = buf.find(';', i)) != std::string::npos;) {
            if (i > 0 && buf[i - 1] == '\\') {
                buf.erase(i - 1, 1);
                i += 1; // as Asterisk does: memmove, then c++ (skips the character after ';')
            } else {
                buf.resize(i);
                break;
            }
        }
        while (!buf.empty() && (buf.back() == ' ' || buf.back() == '\t'))
            buf.pop_back();
        if (buf.empty())
            continue;
        auto colon = buf.find(':');
        if (colon == std::string::npos)
            continue;
        std::size_t v = colon + 1;
        while (v < buf.size() && (buf[v] == ' ' || buf[v] == '\t'))
            ++v;
        out.emplace_back(buf.substr(0, colon), buf.substr(v));
    }
    return out;
}

CallFile basic() {
    CallFile c;
    c.channel = "PJSIP/1000";
    c.application = "SMS";
    c.data = "1000,s";
    return c;
}

void expect_refused(const CallFile& c, const std::string& field) {
    try {
        callfile::render(c);
        ADD_FAILURE() << "accepted a bad " << field;
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr) << field;
        EXPECT_NE(e.subject().find(field), std::string::npos)
            << "error names '" << e.subject() << "', not " << field;
    }
}

std::chrono::system_clock::time_point local(int y, int mo, int d, int h, int mi, int s = 0) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

} // namespace

TEST(CallFile, RendersAsPbxSpoolArchivedIt) {
    CallFile c;
    c.channel = "Local/1001@callfile-test";
    c.callerid = "\"Future\" <555001>";
    c.max_retries = 0;
    c.wait_time = 10;
    c.archive = true;
    c.application = "Wait";
    c.data = "2";
    EXPECT_EQ(callfile::render(c), head_of_fixture("cf-future.call.done"));

    CallFile f;
    f.channel = "Local/486@callfile-test";
    f.max_retries = 1;
    f.retry_time = 2;
    f.wait_time = 5;
    f.archive = true;
    f.application = "Wait";
    f.data = "1";
    EXPECT_EQ(callfile::render(f), head_of_fixture("cf-fail.call.done"));
}

TEST(CallFile, ContextForm) {
    CallFile c;
    c.channel = "DAHDI/1";
    c.context = "sms-out";
    c.extension = "s";
    c.priority = "2";
    c.setvars = {{"A", "1"}, {"FAXOPT(ecm)", "yes"}};
    EXPECT_EQ(callfile::render(c), "Channel: DAHDI/1\nContext: sms-out\nExtension: s\nPriority: "
                                   "2\nSetVar: A=1\nSetVar: FAXOPT(ecm)=yes\n");
}

TEST(CallFile, InjectionsAreRefusedInEveryField) {
    for (std::string bad : {std::string("x\ny"), std::string("x\ry"), std::string("x\0y", 3),
                            std::string("x\nChannel: Local/666@evil")}) {
        auto c = basic();
        c.channel = "PJSIP/" + bad;
        expect_refused(c, "Channel");
        c = basic();
        c.callerid = bad;
        expect_refused(c, "CallerID");
        c = basic();
        c.application = bad;
        expect_refused(c, "Application");
        c = basic();
        c.data = bad;
        expect_refused(c, "Data");
        c = basic();
        c.setvars = {{"V", bad}};
        expect_refused(c, "SetVar");
        c = basic();
        c.setvars = {{bad, "1"}};
        expect_refused(c, "SetVar");
        CallFile x;
        x.channel = "PJSIP/1";
        x.context = bad;
        x.extension = "1";
        expect_refused(x, "Context");
        x.context = "c";
        x.extension = bad;
        expect_refused(x, "Extension");
        x.extension = "1";
        x.priority = bad;
        expect_refused(x, "Priority");
    }
}

TEST(CallFile, WhatAsteriskWouldChangeIsRefused) {
    auto c = basic();
    c.data = "a #comment";
    expect_refused(c, "Data");
    c = basic();
    c.data = "#x";
    expect_refused(c, "Data");
    c = basic();
    c.callerid = " SMS <9001>";
    expect_refused(c, "CallerID");
    c = basic();
    c.data = std::string(300, 'x');
    expect_refused(c, "Data");
    c = basic();
    c.setvars = {{"A=B", "1"}};
    expect_refused(c, "SetVar");
    c = basic();
    c.setvars = {{"", "1"}};
    expect_refused(c, "SetVar");
}

TEST(CallFile, StructuralErrors) {
    auto c = basic();
    c.channel = "PJSIP1000";
    expect_refused(c, "Channel");
    c.channel = "";
    expect_refused(c, "Channel");
    c = basic();
    c.context = "x";
    c.extension = "1";
    expect_refused(c, "Application/Context");
    c = basic();
    c.application.clear();
    expect_refused(c, "Application/Context");
    CallFile x;
    x.channel = "PJSIP/1";
    x.context = "c";
    expect_refused(x, "Extension");
    x.extension = "1";
    x.priority = "label";
    expect_refused(x, "Priority");
    x.priority = "0";
    expect_refused(x, "Priority");
    c = basic();
    c.max_retries = -1;
    expect_refused(c, "MaxRetries");
    c = basic();
    c.retry_time = 0;
    expect_refused(c, "RetryTime");
    c = basic();
    c.wait_time = 0;
    expect_refused(c, "WaitTime");
}

TEST(CallFile, AsteriskReadsBackEveryValue) {
    CallFile c;
    c.channel = "Local/9000@sms;2";
    c.callerid = "\"A;B\" <9001>";
    c.application = "System";
    c.data = "echo a;b\\;c x#y";
    c.setvars = {{"X", "#1"}, {"Y", "p;q"}};
    auto lines = asterisk_read(callfile::render(c));
    std::map<std::string, std::vector<std::string>> got;
    for (auto& [k, v] : lines)
        got[k].push_back(v);
    EXPECT_EQ(got["Channel"], std::vector<std::string>{c.channel});
    EXPECT_EQ(got["CallerID"], std::vector<std::string>{c.callerid});
    EXPECT_EQ(got["Data"], std::vector<std::string>{c.data});
    EXPECT_EQ(got["SetVar"], (std::vector<std::string>{"X=#1", "Y=p;q"}));
    EXPECT_EQ(lines.size(), 6u);
}

TEST(CallFile, PlanAndQueue) {
    TempDir t;
    auto c = basic();
    c.at = std::chrono::system_clock::from_time_t(std::time(nullptr) + 3600);
    auto p = callfile::plan(t.path, "x.call", c);
    EXPECT_EQ(p.dir, t.path + "/outgoing");
    EXPECT_EQ(p.name, "x.call");
    EXPECT_EQ(p.content, callfile::render(c));
    EXPECT_FALSE(p.replace);
    EXPECT_EQ(p.mtime, c.at);
    EXPECT_THROW(callfile::plan(t.path, ".hidden", c), Error);
    EXPECT_THROW(callfile::plan(t.path, "../x", c), Error);

    auto path = callfile::queue(t.path, "x.call", c);
    ASSERT_TRUE(path);
    EXPECT_EQ(*path, t.path + "/outgoing/x.call");
    EXPECT_EQ(slurp(*path), callfile::render(c));
    struct stat st {};
    ASSERT_EQ(::stat(path->c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, std::chrono::system_clock::to_time_t(*c.at));
    // Nothing but the call file in outgoing/, nothing left in tmp/.
    EXPECT_EQ(fs::list_regular(t.path + "/outgoing"), std::vector<std::string>{"x.call"});
    EXPECT_TRUE(std::filesystem::is_empty(t.path + "/tmp"));
    // Not replaced unless asked.
    auto other = basic();
    other.data = "2000,s";
    EXPECT_FALSE(callfile::queue(t.path, "x.call", other));
    EXPECT_EQ(slurp(*path), callfile::render(c));
    EXPECT_TRUE(callfile::queue(t.path, "x.call", other, true));
    EXPECT_EQ(slurp(*path), callfile::render(other));
    // A refused call file leaves nothing behind.
    auto bad = basic();
    bad.data = "a\nb";
    EXPECT_THROW(callfile::queue(t.path, "bad.call", bad), Error);
    EXPECT_FALSE(fs::exists(t.path + "/outgoing/bad.call"));
}

TEST(CallFile, ParseAt) {
    auto now = local(2026, 6, 15, 12, 0, 30);
    EXPECT_EQ(callfile::parse_at("13:30", now), local(2026, 6, 15, 13, 30));
    EXPECT_EQ(callfile::parse_at("11:00", now), local(2026, 6, 16, 11, 0));
    EXPECT_EQ(callfile::parse_at("12:00", now), local(2026, 6, 16, 12, 0)); // passed a second ago
    EXPECT_EQ(callfile::parse_at("23:59", local(2026, 12, 31, 23, 59, 30)),
              local(2027, 1, 1, 23, 59));
    EXPECT_EQ(callfile::parse_at("2026-12-24 18:00", now), local(2026, 12, 24, 18, 0));
    EXPECT_EQ(callfile::parse_at("2026-12-24T18:00:30", now), local(2026, 12, 24, 18, 0, 30));
    EXPECT_EQ(callfile::parse_at("@1800000000", now),
              std::chrono::system_clock::from_time_t(1800000000));
    for (const char* bad : {"", "25:00", "12:60", "1:30", "12:3", "tomorrow", "2026-02-30 10:00",
                            "2026-13-01 10:00", "2026-12-24 18:00:", "2026-12-24 18:00:61", "@",
                            "@x", "@-5", "12:30 ", "2026-12-24  18:00",
                            // out of range: no 1969 from an overflow, no file time refused
                            "@9223372036854775807", "@4102444800", "@99999999999",
                            "2100-01-01 00:00", "9999-12-31 23:59", "1969-12-31 23:59"}) {
        EXPECT_FALSE(callfile::parse_at(bad, now)) << bad;
    }
}

TEST(CallFile, RunQueuesAndRefusesAnExistingName) {
    TempDir t;
    callfile::Options o;
    o.call = basic();
    o.spool = t.path;
    o.name = "mine.call";
    o.setvars = {"A=1=2"};
    testing::internal::CaptureStdout();
    EXPECT_EQ(callfile::run(t.path + "/unused", o), 0);
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(out, t.path + "/outgoing/mine.call\n");
    EXPECT_NE(slurp(t.path + "/outgoing/mine.call").find("SetVar: A=1=2\n"), std::string::npos);
    try {
        callfile::run(t.path + "/unused", o);
        ADD_FAILURE() << "overwrote a queued call";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::cantcreat);
    }
    o.setvars = {"novalue"};
    o.name = "other.call";
    try {
        callfile::run(t.path + "/unused", o);
        ADD_FAILURE() << "accepted --setvar without '='";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::usage);
    }
    EXPECT_FALSE(fs::exists(t.path + "/outgoing/other.call"));
    // Without --spool, the spool given (the configured one).
    o.setvars = {};
    o.spool.reset();
    o.name = "third.call";
    testing::internal::CaptureStdout();
    EXPECT_EQ(callfile::run(t.path, o), 0);
    EXPECT_EQ(testing::internal::GetCapturedStdout(), t.path + "/outgoing/third.call\n");
    EXPECT_TRUE(fs::exists(t.path + "/outgoing/third.call"));
}

TEST(CallFile, UniqueNames) {
    std::set<std::string> names;
    for (int i = 0; i < 1000; ++i)
        EXPECT_TRUE(names.insert(callfile::unique_name("t")).second);
}
