// Tests of queueing SMS for phones: parts, mttx queue files read back, calls, references.
#include "asterisk/spool.hpp"
#include "messaging/outbox.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace sms;
using outbox::Part;
using outbox::Request;

namespace {

using test::TempDir;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string line_starting(const std::string& content, std::string_view prefix) {
    std::istringstream in(content);
    std::string l;
    while (std::getline(in, l))
        if (l.rfind(prefix, 0) == 0)
            return l;
    return {};
}

Config config(const std::string& spool) {
    Config c;
    c.general.spool_dir = spool;
    return c;
}

Request request(std::string text) {
    Request r;
    r.oa = "48500100200";
    r.da = "48600700800";
    r.channel = "PJSIP/1000";
    r.text = std::move(text);
    return r;
}

std::string rep(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i)
        out += s;
    return out;
}

Exit error_code(const std::function<void()>& f, std::string* why = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (why)
            *why = e.reason();
        return e.exit();
    }
    return Exit::ok;
}

} // namespace

TEST(OutboxSplit, SingleAndConcatenated) {
    Config cfg;
    auto one = outbox::split(cfg, request(rep("a", 160)));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].udh, "");
    EXPECT_EQ(one[0].septets, 160);
    EXPECT_EQ(one[0].units, 160);
    EXPECT_EQ(one[0].dcs, 0);

    auto r = request(rep("a", 161));
    r.ref = 0xA7;
    auto two = outbox::split(cfg, r);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].udh, "0003A70201");
    EXPECT_EQ(two[1].udh, "0003A70202");
    EXPECT_EQ(two[0].septets, 153);
    EXPECT_EQ(two[1].septets, 8);
    EXPECT_EQ(two[0].part, 1);
    EXPECT_EQ(two[1].parts, 2);

    r.ref16 = true;
    r.ref = 0xBEEF;
    r.text = rep("b", 305);
    auto three = outbox::split(cfg, r);
    ASSERT_EQ(three.size(), 3u);
    EXPECT_EQ(three[2].udh, "0804BEEF0303");
    EXPECT_EQ(three[0].septets, 152);
}

TEST(OutboxSplit, UnicodePolicy) {
    Config cfg;
    cfg.general.unicode = UnicodePolicy::transliterate;
    auto t = outbox::split(cfg, request("Zażółć gęślą jaźń"));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].dcs, 0);
    EXPECT_EQ(t[0].text, "Zazolc gesla jazn");

    cfg.general.unicode = UnicodePolicy::ucs2;
    auto u = outbox::split(cfg, request("Zażółć gęślą jaźń"));
    EXPECT_EQ(u[0].dcs, 8);
    EXPECT_EQ(u[0].text, "Zażółć gęślą jaźń");
    EXPECT_EQ(u[0].units, 17);
    EXPECT_EQ(u[0].septets, 0);

    // GSM's own accents stay GSM 7-bit under either policy; app_sms's quirks force UCS-2.
    EXPECT_EQ(outbox::split(cfg, request("Ça va? é ü ñ"))[0].dcs, 8);
    EXPECT_EQ(outbox::split(cfg, request("é ü ñ Ä Ø"))[0].dcs, 0);
    EXPECT_EQ(outbox::split(cfg, request("e\u0301"))[0].text, "é"); // composed first
    EXPECT_EQ(outbox::split(cfg, request("e\u0301"))[0].dcs, 0);
}

TEST(OutboxSplit, Ucs2Boundaries) {
    Config cfg;
    cfg.general.unicode = UnicodePolicy::ucs2;
    EXPECT_EQ(outbox::split(cfg, request(rep("ж", 70))).size(), 1u);
    auto p = outbox::split(cfg, request(rep("ж", 71)));
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0].units, 67);
    EXPECT_EQ(outbox::split(cfg, request(rep("ж", 134))).size(), 2u);
    EXPECT_EQ(outbox::split(cfg, request(rep("ж", 135))).size(), 3u);
    auto e = outbox::split(cfg, request(rep("😀", 36)));
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].units, 66); // the 34th emoji would cut a surrogate pair
    EXPECT_EQ(e[0].text, rep("😀", 33));
}

TEST(OutboxSplit, MaxPartsAndConcatenateNo) {
    Config cfg;
    cfg.general.max_parts = 2;
    std::string why;
    EXPECT_EQ(error_code([&] { outbox::split(cfg, request(rep("a", 307))); }, &why), Exit::dataerr);
    EXPECT_NE(why.find("max_parts = 2"), std::string::npos) << why;
    EXPECT_NE(why.find("needs 3 SMS"), std::string::npos) << why;
    EXPECT_EQ(outbox::split(cfg, request(rep("a", 306))).size(), 2u);

    cfg.general.max_parts = 10;
    cfg.general.concatenate = false;
    auto p = outbox::split(cfg, request(rep("a", 321)));
    ASSERT_EQ(p.size(), 3u);
    for (const auto& part : p)
        EXPECT_EQ(part.udh, "");
    EXPECT_EQ(p[0].septets, 160);
    EXPECT_EQ(p[2].septets, 1);
}

TEST(OutboxSplit, BadInput) {
    Config cfg;
    auto r = request("x");
    r.da = "48 600";
    EXPECT_EQ(error_code([&] { outbox::split(cfg, r); }), Exit::dataerr);
    r = request("x");
    r.oa = "";
    EXPECT_EQ(error_code([&] { outbox::split(cfg, r); }), Exit::dataerr);
    EXPECT_EQ(error_code([&] { outbox::split(cfg, request("bad \xC3(")); }), Exit::dataerr);
}

TEST(OutboxSplit, EmptyAndCrlf) {
    Config cfg;
    auto e = outbox::split(cfg, request(""));
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].septets, 0);
    auto c = outbox::split(cfg, request("a\r\nb"));
    EXPECT_EQ(c[0].dcs, 0);
    EXPECT_EQ(c[0].septets, 4);
    EXPECT_EQ(c[0].text, "a\r\nb");
}

TEST(OutboxPlan, QueueFilesReadBack) {
    TempDir t;
    Config cfg = config(t.path);
    auto r = request(rep("x", 150) + "€€€€ and more");
    r.ref = 0x42;
    r.scts = "2026-11-30T10:00:00";
    auto parts = outbox::split(cfg, r);
    ASSERT_EQ(parts.size(), 2u);
    auto files = outbox::plan(cfg, r, parts, "stem1");
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0].name, "48600700800.stem1-1");
    EXPECT_EQ(files[1].name, "48600700800.stem1-2");
    EXPECT_EQ(files[0].dir, cfg.mttx_dir());
    EXPECT_FALSE(files[0].replace);
    EXPECT_EQ(files[2].dir, cfg.outgoing_dir());
    EXPECT_EQ(files[2].name, "smsq.mttx.48600700800.1");
    EXPECT_EQ(files[2].content, "Channel: PJSIP/1000\nCallerID: SMS <9001>\nMaxRetries: "
                                "100\nRetryTime: 30\nWaitTime: 10\nArchive: yes\nApplication: "
                                "SMS\nData: 48600700800,sn\n");
    // Deterministic for the stem.
    auto again = outbox::plan(cfg, r, parts, "stem1");
    for (std::size_t i = 0; i < files.size(); ++i) {
        EXPECT_EQ(again[i].name, files[i].name);
        EXPECT_EQ(again[i].content, files[i].content);
    }
    std::u32string joined;
    std::string text;
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& f = files[i];
        // ud## only, never ud=, and an explicit dcs.
        EXPECT_NE(line_starting(f.content, "ud##"), "");
        EXPECT_EQ(line_starting(f.content, "ud="), "");
        EXPECT_EQ(line_starting(f.content, "dcs="), "dcs=0");
        EXPECT_EQ(line_starting(f.content, "udh#"), i == 0 ? "udh#0003420201" : "udh#0003420202");
        auto m = spool::parse(f.content, f.name);
        EXPECT_EQ(m.oa, r.oa);
        EXPECT_EQ(m.da, r.da);
        EXPECT_EQ(m.scts, r.scts);
        EXPECT_EQ(m.dcs, 0);
        EXPECT_EQ(m.form, spool::UdForm::ucs2);
        ASSERT_TRUE(m.concat());
        EXPECT_EQ(m.concat()->ref, 0x42u);
        EXPECT_EQ(m.concat()->total, 2u);
        EXPECT_EQ(m.concat()->seq, i + 1);
        EXPECT_EQ(m.text, parts[i].text);
        text += m.text;
    }
    EXPECT_EQ(text, r.text);
    // The euro sign (two septets) did not fit septet 153: part 1 ends before it.
    EXPECT_EQ(parts[0].septets, 152);
}

// A tracked message: each queue file, then its last-hop item with the same content and mode,
// marked as a second link of it (the journal links it instead of writing it again).
TEST(OutboxPlan, TrackedQueueFileCarriesItsItem) {
    TempDir t;
    Config cfg = config(t.path);
    cfg.sms.log = t.path + "/sms.log";
    auto r = request(rep("x", 170) + " and more");
    r.track = true;
    r.notify = r.oa;
    auto files = outbox::plan(cfg, r, outbox::split(cfg, r), "k");
    ASSERT_EQ(files.size(), 5u); // two queue files, two items, the call
    for (std::size_t i = 0; i < 4; i += 2) {
        const auto& q = files[i];
        const auto& item = files[i + 1];
        EXPECT_EQ(q.dir, cfg.mttx_dir());
        EXPECT_EQ(item.same_as, fs::join(q.dir, q.name));
        EXPECT_EQ(item.content, q.content);
        EXPECT_EQ(item.mode, q.mode);
        EXPECT_TRUE(q.content.starts_with(";kind=S\n"));
        auto m = spool::parse(q.content, q.name); // the comment lines are skipped
        EXPECT_EQ(m.da, r.da);
        ASSERT_TRUE(m.mr);
        EXPECT_NE(item.name.find(fmt::format(".{:03}", *m.mr)), std::string::npos) << item.name;
    }
    EXPECT_TRUE(files[4].same_as.empty());
}

TEST(OutboxPlan, MatchesSmsqForUnicode) {
    // smsq wrote this queue file for the same Polish and Greek text (fixtures/smsq).
    std::string fixture = std::string(SMS_TEST_DATA) + "/smsq/48500100200.1795992928-24306";
    std::string theirs = line_starting(slurp(fixture), "ud##");
    ASSERT_NE(theirs, "");
    // Read it with the suite's reader (the fixture has no oa=/scts=: add them to parse it).
    auto m = spool::parse("oa=1\n" + slurp(fixture) + "scts=2026-11-30T10:00:00\n", "fixture");
    TempDir t;
    Config cfg = config(t.path);
    cfg.general.unicode = UnicodePolicy::ucs2;
    auto r = request(m.text);
    auto parts = outbox::split(cfg, r);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].dcs, 8);
    auto files = outbox::plan(cfg, r, parts, "s");
    EXPECT_EQ(line_starting(files[0].content, "ud##"), theirs);
    EXPECT_EQ(line_starting(files[0].content, "dcs="), "dcs=8");
}

TEST(OutboxPlan, PlusNumbersAndCallRules) {
    TempDir t;
    Config cfg = config(t.path);
    EXPECT_EQ(outbox::queue_name("+4860"), "-4860");
    EXPECT_EQ(outbox::call_file_name("-4860"), "smsq.mttx.-4860.1");
    auto r = request("hi");
    r.da = "+4860";
    auto files = outbox::plan(cfg, r, outbox::split(cfg, r), "k");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].name, "-4860.k-1");
    EXPECT_NE(files[1].content.find("Data: -4860,sn\n"), std::string::npos);
    EXPECT_EQ(spool::parse(files[0].content).da, "+4860");

    r.dial = false;
    EXPECT_EQ(outbox::plan(cfg, r, outbox::split(cfg, r), "k").size(), 1u);
    r.dial = true;
    EXPECT_FALSE(outbox::call_pending(cfg, r.da));
    fs::make_dirs(files[1].dir);
    ASSERT_TRUE(fs::commit(files[1]));
    EXPECT_TRUE(outbox::call_pending(cfg, r.da));
    EXPECT_EQ(outbox::plan(cfg, r, outbox::split(cfg, r), "k2").size(), 1u); // no second call
    EXPECT_THROW(outbox::plan(cfg, r, outbox::split(cfg, r), "../x"), Error);
}

TEST(OutboxReference, CountsAndWraps) {
    TempDir t;
    Config cfg = config(t.path);
    unsigned a = outbox::next_reference(cfg, "4860", true);
    unsigned b = outbox::next_reference(cfg, "4860", true);
    EXPECT_EQ(b, (a + 1) & 0xFFFFu);
    unsigned c8 = outbox::next_reference(cfg, "4860", false);
    EXPECT_EQ(c8, (a + 2) & 0xFFu);
    EXPECT_LE(c8, 255u);
    EXPECT_EQ(outbox::peek_reference(cfg, "4860", true), (a + 3) & 0xFFFFu);
    EXPECT_EQ(outbox::peek_reference(cfg, "4860", true), (a + 3) & 0xFFFFu); // not taken
    EXPECT_EQ(outbox::peek_reference(cfg, "4899", true), std::nullopt);
    std::ofstream(t.path + "/sms/.sms-suite/refs/4860") << "65535\n";
    EXPECT_EQ(outbox::next_reference(cfg, "4860", true), 0u);
    // Another phone has its own counter.
    std::ofstream(t.path + "/sms/.sms-suite/refs/4861") << "10\n";
    EXPECT_EQ(outbox::next_reference(cfg, "4861", true), 11u);
}

// A batch (the router's) looks at a phone's delivery call once, and forgets it when closed: a
// call seen pending is not planned again within the batch, and the next batch looks afresh.
// Its mr counters are held until close(), then written back: a message queued alone after it
// continues from the batch's last value.
TEST(OutboxPlan, BatchLooksOnceAndForgetsWhenClosed) {
    TempDir t;
    Config cfg = config(t.path);
    cfg.sms.log = t.path + "/sms.log";
    auto r = request("hi");
    r.track = true;
    outbox::Batch batch(cfg);
    auto first = outbox::plan(cfg, r, outbox::split(cfg, r), "a", &batch);
    ASSERT_EQ(first.size(), 3u); // queue file, item, call
    const fs::PlannedFile call = first[2];
    fs::make_dirs(call.dir);
    ASSERT_TRUE(fs::commit(call)); // the call is now pending on disk
    // Same batch: the call is still planned (the journal writes it once per batch).
    auto second = outbox::plan(cfg, r, outbox::split(cfg, r), "b", &batch);
    ASSERT_EQ(second.size(), 3u);
    EXPECT_EQ(second[2].name, call.name);
    auto mr_of = [](const fs::PlannedFile& f) { return *spool::parse(f.content, f.name).mr; };
    EXPECT_EQ(static_cast<unsigned>(mr_of(second[0])), (mr_of(first[0]) + 1u) & 0xFFu);
    batch.close();
    // The next batch looks again: pending, so no call.
    auto third = outbox::plan(cfg, r, outbox::split(cfg, r), "c", &batch);
    EXPECT_EQ(third.size(), 2u);
    batch.close();
    // Alone (no batch): the counter the batch wrote back.
    auto alone = outbox::plan(cfg, r, outbox::split(cfg, r), "d");
    EXPECT_EQ(alone.size(), 2u);
    EXPECT_EQ(static_cast<unsigned>(mr_of(alone[0])), (mr_of(third[0]) + 1u) & 0xFFu);
}

TEST(OutboxReference, LockedAcrossProcesses) {
    TempDir t;
    Config cfg = config(t.path);
    std::filesystem::create_directories(t.path + "/sms/.sms-suite/refs");
    std::ofstream(t.path + "/sms/.sms-suite/refs/4860") << "1000\n";
    const int children = 4, each = 100;
    std::vector<pid_t> pids;
    for (int i = 0; i < children; ++i) {
        pid_t p = ::fork();
        ASSERT_GE(p, 0);
        if (p == 0) {
            for (int k = 0; k < each; ++k)
                outbox::next_reference(cfg, "4860", true);
            ::_exit(0);
        }
        pids.push_back(p);
    }
    for (pid_t p : pids) {
        int st = 0;
        ::waitpid(p, &st, 0);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    EXPECT_EQ(outbox::next_reference(cfg, "4860", true), 1000u + children * each + 1);
}

TEST(OutboxSend, WritesPartsAndOneCall) {
    TempDir t;
    Config cfg = config(t.path);
    auto parts = outbox::send(cfg, request(rep("y", 200)));
    ASSERT_EQ(parts.size(), 2u);
    auto mttx = fs::list_regular(cfg.mttx_dir());
    ASSERT_EQ(mttx.size(), 2u);
    auto m1 = spool::read(fs::join(cfg.mttx_dir(), mttx[0]));
    auto m2 = spool::read(fs::join(cfg.mttx_dir(), mttx[1]));
    ASSERT_TRUE(m1.concat() && m2.concat());
    EXPECT_EQ(m1.concat()->ref, m2.concat()->ref);
    EXPECT_EQ(m1.text + m2.text, rep("y", 200));
    EXPECT_EQ(fs::list_regular(cfg.outgoing_dir()),
              std::vector<std::string>{"smsq.mttx.48600700800.1"});
    // A second message uses the next reference and finds the call pending.
    auto next = outbox::send(cfg, request(rep("z", 200)));
    EXPECT_NE(next[0].udh, parts[0].udh);
    EXPECT_EQ(fs::list_regular(cfg.outgoing_dir()).size(), 1u);
    EXPECT_EQ(fs::list_regular(cfg.mttx_dir()).size(), 4u);
    // Nothing temporary is left anywhere.
    for (auto& e : std::filesystem::recursive_directory_iterator(t.path))
        EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(OutboxSend, RefusedMessageLeavesNothing) {
    TempDir t;
    Config cfg = config(t.path);
    cfg.general.max_parts = 1;
    EXPECT_EQ(error_code([&] { outbox::send(cfg, request(rep("y", 200))); }), Exit::dataerr);
    auto r = request("x");
    r.channel = "PJSIP/1\nChannel: Local/666@evil";
    EXPECT_EQ(error_code([&] { outbox::send(cfg, r); }), Exit::dataerr);
    EXPECT_TRUE(!fs::exists(cfg.mttx_dir()) || fs::list_regular(cfg.mttx_dir()).empty());
    EXPECT_TRUE(!fs::exists(cfg.outgoing_dir()) || fs::list_regular(cfg.outgoing_dir()).empty());
}

// 1,000 sends into one spool, from four processes at once: no name collides, none is lost.
TEST(OutboxSend, ThousandSendsNoCollision) {
    TempDir t;
    Config cfg = config(t.path);
    const int children = 4, each = 250;
    std::vector<pid_t> pids;
    for (int i = 0; i < children; ++i) {
        pid_t p = ::fork();
        ASSERT_GE(p, 0);
        if (p == 0) {
            int rc = 0;
            try {
                for (int k = 0; k < each; ++k)
                    outbox::send(cfg, request(fmt::format("msg {} {}", i, k)));
            } catch (...) {
                rc = 1;
            }
            ::_exit(rc);
        }
        pids.push_back(p);
    }
    for (pid_t p : pids) {
        int st = 0;
        ::waitpid(p, &st, 0);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    auto names = fs::list_regular(cfg.mttx_dir());
    ASSERT_EQ(names.size(), static_cast<std::size_t>(children * each));
    std::set<std::string> texts;
    for (const auto& n : names)
        texts.insert(spool::read(fs::join(cfg.mttx_dir(), n)).text);
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(children * each));
    EXPECT_EQ(fs::list_regular(cfg.outgoing_dir()).size(), 1u);
}

TEST(OutboxSweep, QueuesWithoutCall) {
    TempDir t;
    Config cfg = config(t.path);
    EXPECT_TRUE(outbox::queues_without_call(cfg).empty()); // no mttx/ at all
    auto a = request("to a");
    a.da = "+4811";
    a.dial = false;
    outbox::send(cfg, a);
    outbox::send(cfg, a);
    auto b = request("to b");
    b.da = "4822";
    outbox::send(cfg, b); // with its call
    auto w = outbox::queues_without_call(cfg);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].queue, "-4811");
    EXPECT_EQ(w[0].da, "+4811");
    auto call = outbox::delivery_call(cfg, w[0].da, "PJSIP/11");
    EXPECT_EQ(call.name, "smsq.mttx.-4811.1");
    EXPECT_NE(call.content.find("Data: -4811,sn\n"), std::string::npos);
    ASSERT_TRUE(fs::commit(call));
    EXPECT_TRUE(outbox::queues_without_call(cfg).empty());
}
