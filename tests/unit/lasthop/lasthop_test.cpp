// lasthop: the store of pending deliveries and the settling of SMS against app_sms's log, in a
// real spool with a real journal; app_sms is played by a few lines that do what the fixtures show.
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/journal.hpp"
#include "core/spool.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/smslog.hpp"
#include "tempdir.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sms;

namespace {

constexpr std::int64_t t0 = 1796234000;

fs::PlannedFile file_in(std::string dir, std::string name, std::string content) {
    fs::PlannedFile f;
    f.dir = std::move(dir);
    f.name = std::move(name);
    f.content = std::move(content);
    return f;
}

struct Spool {
    test::TempDir tmp;
    Config cfg;
    std::vector<std::string> told; // "to|text"
    lasthop::Notify notify = [this](const std::string& from, const std::string& to,
                                    const std::string& text, const std::string& stem,
                                    std::string& detail) {
        told.push_back(to + "|" + text);
        detail += "; told";
        fs::PlannedFile f;
        f.dir = fs::join(cfg.general.spool_dir, "notices");
        f.name = stem;
        f.content = from + ":" + text;
        return std::vector<fs::PlannedFile>{f};
    };
    Spool() {
        cfg.general.spool_dir = tmp.path;
        cfg.sms.log = tmp.path + "/log/sms";
        fs::make_dirs(tmp.path + "/log");
        fs::make_dirs(cfg.mttx_dir());
        fs::make_dirs(cfg.outgoing_dir());
    }
    // What outbox does for one SMS: an mr, the item, then the queue file.
    lasthop::Item queue(const std::string& text, std::int64_t now = t0, std::string who = "600",
                        std::optional<int> srr = std::nullopt, std::string channel = "PJSIP/1") {
        spool::Message m;
        m.oa = "600";
        m.da = "48500100250";
        m.scts = "2026-12-02T17:54:10";
        m.text = text;
        m.dcs = 0;
        m.srr = srr;
        m.mr = static_cast<int>(lasthop::allocate_mr(cfg, "48500100250"));
        spool::WriteStyle st;
        st.text = spool::TextStyle::ucs2;
        std::string body = spool::serialize(m, st);
        std::string file = fmt::format("48500100250.s{}-1", counter++);
        auto item = lasthop::sms_item(cfg, m, "48500100250", file, channel, who, body,
                                      smslog::mark_now(cfg.sms.log), now);
        EXPECT_TRUE(fs::commit(lasthop::plan(cfg, item)));
        fs::PlannedFile q = file_in(cfg.mttx_dir(), file, body);
        EXPECT_TRUE(fs::commit(q));
        return item;
    }
    // app_sms: reads and deletes the queue file, then logs the outcome (centre mode).
    void take(const lasthop::Item& it, char status, bool privacy = true, bool log = true) {
        std::string path = fs::join(cfg.mttx_dir(), it.get("file"));
        spool::Message m = spool::read(path);
        ASSERT_EQ(::unlink(path.c_str()), 0);
        if (!log)
            return;
        std::string text = privacy ? fmt::format("udl={}", it.get("units")) : std::string("<text>");
        if (!privacy) {
            // the text as app_sms renders it
            const std::string hex = it.get("logtext");
            text.clear();
            for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
                text.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
        }
        std::string line = fmt::format("2026-12-02T17:54:11 {}OS{:02X} {} {} {} {}\n", status,
                                       *m.mr & 0xFF, "48500100250", m.oa, m.da, text);
        fs::Fd fd(::open(cfg.sms.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
        fs::write_all(fd.get(), line, cfg.sms.log);
    }
    lasthop::Settled settle(std::int64_t now = t0 + 5, bool dry = false) {
        journal::Journal j(fs::join(tmp.path, "sms/.sms-suite/journal"));
        return lasthop::settle(cfg, dry ? nullptr : &j, notify, now);
    }
    std::vector<std::string> mttx() { return fs::list_regular(cfg.mttx_dir()); }
    int counter = 1;
};

std::vector<lasthop::Outcome> outcomes(const lasthop::Settled& s) {
    std::vector<lasthop::Outcome> o;
    for (const auto& e : s.events)
        o.push_back(e.outcome);
    std::sort(o.begin(), o.end()); // items are settled in name (mr) order
    return o;
}

using O = lasthop::Outcome;

} // namespace

// An SMS item's file is its queue file, the item in comment lines before it: app_sms (and the
// suite's reader) read the message, parse() the item with its body and logged text. A file an
// older build wrote (key=value lines, the body in hex) still reads.
TEST(LastHopStore, SmsItemIsItsQueueFile) {
    Spool s;
    spool::Message m;
    m.oa = "600";
    m.da = "48500100250";
    m.scts = "2026-12-03T07:00:00";
    m.text = "Zażółć gęślą jaźń; ok=1";
    m.dcs = 8;
    m.mr = 7;
    spool::WriteStyle st;
    st.text = spool::TextStyle::ucs2;
    const std::string body = spool::serialize(m, st);
    auto it = lasthop::sms_item(s.cfg, m, "48500100250", "q.s1-1", "PJSIP/1", "600", body,
                                smslog::Mark{3, 40}, t0);
    const std::string text = lasthop::serialize(it);
    EXPECT_TRUE(text.starts_with(";kind=S\n"));
    EXPECT_TRUE(text.ends_with(body));
    EXPECT_EQ(text.find("logtext"), std::string::npos); // computed again from the text
    for (std::size_t at = 0; at < text.size();) {       // every line of the item short for app_sms
        auto nl = text.find('\n', at);
        EXPECT_LT(nl - at, 200u);
        at = nl + 1;
    }
    spool::Message back = spool::parse(text, "q.s1-1");
    EXPECT_EQ(back.text, m.text);
    EXPECT_EQ(back.oa, "600");
    EXPECT_EQ(back.mr, 7);
    auto item = lasthop::parse(text);
    ASSERT_TRUE(item);
    EXPECT_EQ(item->name(), it.name());
    EXPECT_EQ(item->first, t0);
    for (const auto& [k, v] : it.fields)
        EXPECT_EQ(item->get(k), v) << k;
    EXPECT_EQ(item->fields.size(), it.fields.size());
    // The form of earlier builds.
    std::string old = fmt::format("kind=S\nid={}\nqueue=48500100250\nattempts=2\nfirst=1\n"
                                  "next=2\ndeadline=3\nbody={}\nlogtext={}\nmr=7\n",
                                  it.id, it.get("body"), it.get("logtext"));
    auto older = lasthop::parse(old);
    ASSERT_TRUE(older);
    EXPECT_EQ(older->attempts, 2);
    EXPECT_EQ(older->get("body"), it.get("body"));
    EXPECT_EQ(older->get("logtext"), it.get("logtext"));
}

TEST(LastHopStore, ItemRoundTripAndListing) {
    Spool s;
    lasthop::Item it;
    it.kind = 'F';
    it.id = "fax-1";
    it.queue = "q";
    it.attempts = 3;
    it.first = 1;
    it.next = 2;
    it.deadline = 3;
    it.fields["why"] = "line\nbreak"; // never a second line
    auto text = lasthop::serialize(it);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 8);
    auto back = lasthop::parse(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->name(), "F.fax-1");
    EXPECT_EQ(back->attempts, 3);
    EXPECT_EQ(back->deadline, 3);
    EXPECT_EQ(back->get("why"), "line\\x0Abreak");
    EXPECT_FALSE(lasthop::parse("no item here"));
    ASSERT_TRUE(fs::commit(lasthop::plan(s.cfg, it)));
    s.queue("hello");
    fs::PlannedFile junk = file_in(lasthop::dir(s.cfg), "S.junk", "garbage");
    fs::commit(junk);
    fs::PlannedFile cursor = file_in(lasthop::dir(s.cfg), "cursor", "dev=1 ino=1 pos=0 tail=\n");
    fs::commit(cursor);
    auto all = lasthop::list(s.cfg);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].kind, 'F');
    EXPECT_EQ(all[1].kind, 'S');
    EXPECT_EQ(all[1].get("oa"), "600");
    struct stat st;
    ASSERT_EQ(::stat(fs::join(lasthop::dir(s.cfg), all[1].name()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u); // it holds the message
}

TEST(LastHopStore, MrUniqueAmongUnconfirmedThenShared) {
    Spool s;
    std::set<unsigned> mrs;
    for (int k = 0; k < 256; ++k) {
        unsigned mr = lasthop::allocate_mr(s.cfg, "48500100250");
        mrs.insert(mr);
        // the item of an unconfirmed message holds its mr
        fs::Fd fd(
            ::open(fs::join(lasthop::dir(s.cfg), fmt::format("S.48500100250.{:03}", mr)).c_str(),
                   O_WRONLY | O_CREAT, 0600));
    }
    EXPECT_EQ(mrs.size(), 256u);
    // All in use: the next value is shared, its item named apart by its queue file.
    unsigned shared = lasthop::allocate_mr(s.cfg, "48500100250");
    EXPECT_EQ(lasthop::sms_item_id(s.cfg, "48500100250", shared, "48500100250.x-1"),
              fmt::format("48500100250.{:03}.48500100250.x-1", shared));
    EXPECT_EQ(lasthop::allocate_mr(s.cfg, "48500100250"), (shared + 1) & 0xFFu);
    // One confirmed (its item gone): its mr is the one free, and its item has the plain name
    // (a process looks at a full queue again at most once a second).
    ::unlink(fs::join(lasthop::dir(s.cfg), "S.48500100250.077").c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(lasthop::allocate_mr(s.cfg, "48500100250"), 77u);
    EXPECT_EQ(lasthop::sms_item_id(s.cfg, "48500100250", 77, "f"), "48500100250.077");
    unsigned x = lasthop::allocate_mr(s.cfg, "other");
    unsigned y = lasthop::allocate_mr(s.cfg, "other");
    EXPECT_EQ((x + 1) & 0xFFu, y);
}

// The last mr given to a queue is written over the previous one and cut only past its end,
// never truncated to nothing (ext4 writes such a file out when it is closed): the same file,
// always just the number.
TEST(LastHopStore, MrFileWrittenInPlace) {
    Spool s;
    const std::string mdir = fs::join(lasthop::dir(s.cfg), "mr");
    fs::make_dirs(mdir, 0755);
    const std::string path = fs::join(mdir, "600700800");
    fs::PlannedFile old = file_in(mdir, "600700800", "7\n");
    ASSERT_TRUE(fs::commit(old));
    struct stat before;
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    EXPECT_EQ(lasthop::allocate_mr(s.cfg, "600700800"), 8u);
    EXPECT_EQ(fs::read_file(path, 64), "8\n");
    EXPECT_EQ(lasthop::allocate_mr(s.cfg, "600700800"), 9u);
    EXPECT_EQ(fs::read_file(path, 64), "9\n");
    struct stat after;
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino); // the same file, written over
    unsigned last = 0;
    for (int k = 0; k < 300; ++k)
        last = lasthop::allocate_mr(s.cfg, "600700800");
    EXPECT_EQ(fs::read_file(path, 64), fmt::format("{}\n", last)); // shorter after 255 -> 0
    ASSERT_EQ(::stat(path.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino);
}

// 300 messages of the same length for one phone: mrs are shared; each one acknowledged is
// forgotten, exactly once, and twins the log cannot tell apart are settled together.
TEST(LastHopSettle, SharedMrTwinsAllAcknowledgedAreDelivered) {
    Spool s;
    std::vector<lasthop::Item> items;
    for (int k = 0; k < 300; ++k)
        items.push_back(s.queue(fmt::format("text {:03}", k)));
    EXPECT_EQ(lasthop::list(s.cfg).size(), 300u);
    for (const auto& it : items)
        s.take(it, 'Y');
    auto r = s.settle();
    EXPECT_EQ(r.events.size(), 300u);
    for (const auto& e : r.events)
        EXPECT_EQ(e.outcome, O::delivered) << e.item << ": " << e.detail;
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
}

TEST(LastHopSettle, SharedMrTwinsOneCutAreAllSentAgain) {
    Spool s;
    std::vector<lasthop::Item> items;
    for (int k = 0; k < 257; ++k)
        items.push_back(s.queue(fmt::format("text {:03}", k)));
    // items[0] and items[256] share an mr, addresses and length; the log cannot tell them
    // apart. One is cut: both go again (a duplicate rather than a loss).
    ASSERT_EQ(items[0].get("mr"), items[256].get("mr"));
    for (int k = 1; k < 256; ++k)
        s.take(items[k], 'Y');
    s.take(items[0], 'Y');
    s.take(items[256], '?');
    auto r = s.settle();
    int delivered = 0, again = 0;
    for (const auto& e : r.events) {
        if (e.outcome == O::delivered)
            ++delivered;
        else if (e.outcome == O::requeued)
            ++again;
    }
    EXPECT_EQ(delivered, 255);
    EXPECT_EQ(again, 2);
    EXPECT_EQ(s.mttx().size(), 2u);
}

TEST(LastHopSettle, SharedMrTwinWithNoLineYetHoldsItsTwins) {
    Spool s;
    std::vector<lasthop::Item> items;
    for (int k = 0; k < 257; ++k)
        items.push_back(s.queue(fmt::format("text {:03}", k)));
    for (int k = 1; k < 256; ++k)
        s.take(items[k], 'Y');
    s.take(items[0], 'Y');
    s.take(items[256], 'Y', true, false); // taken, its line not written yet
    auto r = s.settle();
    EXPECT_EQ(r.events.size(), 255u); // the twins wait
    EXPECT_EQ(lasthop::list(s.cfg).size(), 2u);
    // Its line comes: both are delivered on the next run (the held lines are read again).
    std::string line = fmt::format("2026-12-02T17:54:12 YOS{:02X} 48500100250 600 48500100250 "
                                   "udl={}\n",
                                   std::stoi(items[256].get("mr")), items[256].get("units"));
    fs::Fd fd(::open(s.cfg.sms.log.c_str(), O_WRONLY | O_APPEND));
    fs::write_all(fd.get(), line, s.cfg.sms.log);
    r = s.settle(t0 + 10);
    EXPECT_EQ(r.events.size(), 2u);
    for (const auto& e : r.events)
        EXPECT_EQ(e.outcome, O::delivered) << e.detail;
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
}

TEST(LastHopStore, PauseGrows) {
    Config cfg;
    EXPECT_EQ(lasthop::pause_after(cfg, 1), 60);
    EXPECT_EQ(lasthop::pause_after(cfg, 2), 120);
    EXPECT_EQ(lasthop::pause_after(cfg, 3), 240);
    EXPECT_EQ(lasthop::pause_after(cfg, 20), 3600);
}

TEST(LastHopMatch, QueueMrAddressesTextOrLengthAndMark) {
    Spool s;
    auto it = s.queue("Zażółć €"); // UCS-2 after no transliteration here: 8 units
    const unsigned mr = static_cast<unsigned>(it.get_int("mr"));
    auto rec = [&](std::string flags_text) {
        auto r = smslog::parse(fmt::format("2026-12-02T17:54:11 YOS{:02X} 48500100250 600 "
                                           "48500100250 {}\n",
                                           mr, flags_text));
        return r.at(0);
    };
    EXPECT_TRUE(lasthop::matches(it, rec("udl=8"), 0));
    EXPECT_FALSE(lasthop::matches(it, rec("udl=9"), 0));
    EXPECT_TRUE(lasthop::matches(it, rec("Za|\xF3\x42\x07 \xAC"), 0));
    EXPECT_FALSE(lasthop::matches(it, rec("Zazolc"), 0));
    auto other = smslog::parse(
        fmt::format("2026-12-02T17:54:11 YOS{:02X} 48500100250 601 48500100250 udl=8\n", mr));
    EXPECT_FALSE(lasthop::matches(it, other.at(0), 0)); // another sender
    auto phone = smslog::parse("2026-12-02T17:54:11 YIM 48500100250 600 - udl=8\n");
    EXPECT_FALSE(lasthop::matches(it, phone.at(0), 0));
    // A line before the item's mark (an older message with the same mr) is not its line.
    lasthop::Item later = it;
    later.fields["mark"] = "42:1000";
    auto r = rec("udl=8");
    r.ino = 42;
    r.offset = 999;
    EXPECT_FALSE(lasthop::matches(later, r, 42));
    r.offset = 1000;
    EXPECT_TRUE(lasthop::matches(later, r, 42));
}

TEST(LastHopSettle, DeliveredIsForgottenAndReceiptOnlyWhenAsked) {
    Spool s;
    auto a = s.queue("first");
    auto b = s.queue("second, with a status report asked", t0, "600", 1);
    s.take(a, 'Y');
    s.take(b, 'Y', false);
    auto r = s.settle();
    EXPECT_TRUE(r.log_readable);
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered, O::delivered}));
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
    ASSERT_EQ(s.told.size(), 1u);
    EXPECT_EQ(s.told[0], "600|Delivered to 48500100250 at 17:54.");
    EXPECT_EQ(fs::list_regular(s.tmp.path + "/notices").size(), 1u);
    // Read again: nothing more happens.
    EXPECT_TRUE(s.settle().events.empty());
    // receipts = always: every delivery; never: none even when asked.
    s.cfg.delivery.receipts = Receipts::always;
    s.take(s.queue("third"), 'Y');
    s.settle();
    EXPECT_EQ(s.told.size(), 2u);
    s.cfg.delivery.receipts = Receipts::never;
    s.take(s.queue("fourth", t0, "600", 1), 'Y');
    s.settle();
    EXPECT_EQ(s.told.size(), 2u);
}

TEST(LastHopSettle, NackAndCutAreQueuedAgainWithANewMrAndAPause) {
    Spool s;
    auto a = s.queue("refused");
    auto b = s.queue("cut");
    s.take(a, 'N');
    s.take(b, '?');
    auto r = s.settle(t0 + 5);
    ASSERT_EQ(outcomes(r), (std::vector<O>{O::requeued, O::requeued}));
    auto items = lasthop::list(s.cfg);
    ASSERT_EQ(items.size(), 2u);
    auto files = s.mttx();
    ASSERT_EQ(files.size(), 2u);
    for (const auto& it : items) {
        EXPECT_EQ(it.attempts, 2);
        EXPECT_NE(it.get("mr"), a.get("mr"));
        EXPECT_NE(it.get("mr"), b.get("mr"));
        EXPECT_EQ(it.next, t0 + 5 + 60);
        auto m = spool::read(fs::join(s.cfg.mttx_dir(), it.get("file")));
        EXPECT_EQ(m.mr, static_cast<int>(it.get_int("mr")));
        EXPECT_TRUE(it.get("file").ends_with(".r2"));
    }
    // The delivery call waits for the pause (its mtime is when Asterisk may dial).
    struct stat st;
    ASSERT_EQ(::stat(fs::join(s.cfg.outgoing_dir(), "smsq.mttx.48500100250.1").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, t0 + 65);
    std::string call = fs::read_file(fs::join(s.cfg.outgoing_dir(), "smsq.mttx.48500100250.1"));
    EXPECT_NE(call.find("Data: 48500100250,sn\n"), std::string::npos);
    EXPECT_NE(call.find("Archive: yes\n"), std::string::npos);
    // Second call: both delivered; the cursor lost (a run killed before it moved on): the old
    // N and ? lines are read again and match nothing now.
    for (const auto& it : items)
        s.take(it, 'Y');
    ::unlink(fs::join(lasthop::dir(s.cfg), "cursor").c_str());
    EXPECT_EQ(outcomes(s.settle(t0 + 100)), (std::vector<O>{O::delivered, O::delivered}));
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
    EXPECT_TRUE(s.told.empty());
}

TEST(LastHopSettle, GivenUpAfterMaxAttemptsDeadLetterAndNotice) {
    Spool s;
    s.cfg.delivery.max_attempts = 2;
    s.take(s.queue("never accepted"), 'N');
    ASSERT_EQ(outcomes(s.settle(t0 + 5)), (std::vector<O>{O::requeued}));
    auto again = lasthop::list(s.cfg).at(0);
    s.take(again, 'N');
    auto r = s.settle(t0 + 100);
    ASSERT_EQ(outcomes(r), (std::vector<O>{O::given_up}));
    EXPECT_NE(r.events[0].detail.find("given up after 2 attempts"), std::string::npos);
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
    auto failed = fs::list_regular(s.cfg.failed_dir());
    ASSERT_EQ(failed.size(), 2u);
    EXPECT_EQ(failed[1], failed[0] + ".why");
    EXPECT_EQ(spool::read(fs::join(s.cfg.failed_dir(), failed[0])).text, "never accepted");
    ASSERT_EQ(s.told.size(), 1u);
    EXPECT_EQ(s.told[0], "600|Cannot deliver SMS to 48500100250. The phone did not accept it.");
    // The suite's own notices tell no one (empty notify), and past the deadline is given up too.
    auto n = s.queue("a notice", t0, "");
    s.take(n, '?');
    s.settle(t0 + s.cfg.delivery.give_up + 1);
    EXPECT_EQ(s.told.size(), 1u);
    EXPECT_EQ(fs::list_regular(s.cfg.failed_dir()).size(), 4u);
}

TEST(LastHopSettle, ExpiredCallIsRedialledThenGivenUp) {
    Spool s;
    s.cfg.delivery.max_attempts = 2;
    auto a = s.queue("nobody answers");
    auto expire = [&](std::int64_t when) {
        std::string done = fs::join(s.tmp.path, "outgoing_done");
        fs::make_dirs(done);
        std::string p = fs::join(done, "smsq.mttx.48500100250.1");
        ::unlink(p.c_str());
        fs::PlannedFile f = file_in(done, "smsq.mttx.48500100250.1",
                                    fs::read_file(std::string(SMS_TEST_DATA) +
                                                  "/lasthop/outgoing_done/lh-cf-noanswer.call"));
        f.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(when));
        ASSERT_TRUE(fs::commit(f));
    };
    // A Completed archive says nothing about the messages still waiting.
    {
        std::string done = fs::join(s.tmp.path, "outgoing_done");
        fs::make_dirs(done);
        fs::PlannedFile f = file_in(done, "smsq.mttx.48500100250.1",
                                    fs::read_file(std::string(SMS_TEST_DATA) +
                                                  "/lasthop/outgoing_done/lh-a1-completed.call"));
        f.mtime = std::chrono::system_clock::time_point(std::chrono::seconds(t0 + 50));
        ASSERT_TRUE(fs::commit(f));
    }
    EXPECT_TRUE(s.settle(t0 + 60).events.empty());
    expire(t0 + 50);
    auto r = s.settle(t0 + 60);
    ASSERT_EQ(outcomes(r), (std::vector<O>{O::redialled}));
    EXPECT_EQ(lasthop::list(s.cfg).at(0).attempts, 2);
    struct stat st;
    ASSERT_EQ(::stat(fs::join(s.cfg.outgoing_dir(), "smsq.mttx.48500100250.1").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, t0 + 120);
    EXPECT_TRUE(s.settle(t0 + 61).events.empty()); // that expiry is handled
    ::unlink(fs::join(s.cfg.outgoing_dir(), "smsq.mttx.48500100250.1").c_str());
    expire(t0 + 200);
    r = s.settle(t0 + 210);
    ASSERT_EQ(outcomes(r), (std::vector<O>{O::given_up}));
    EXPECT_TRUE(s.mttx().empty()); // taken out of app_sms's way
    EXPECT_TRUE(fs::exists(fs::join(s.cfg.failed_dir(), a.get("file"))));
    EXPECT_TRUE(fs::exists(fs::join(s.cfg.failed_dir(), a.get("file") + ".why")));
    ASSERT_EQ(s.told.size(), 1u);
    EXPECT_EQ(s.told[0], "600|Cannot deliver SMS to 48500100250. The phone did not answer.");
}

TEST(LastHopSettle, TakenWithNoLineWaitsThenGoesAgain) {
    Spool s;
    auto a = s.queue("its line was lost");
    s.take(s.queue("a line so the log exists"), 'Y');
    s.take(a, 'Y', true, false);
    auto r = s.settle(t0 + 5);
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered}));
    // A call under way: it waits whatever the time.
    fs::PlannedFile call = file_in(s.cfg.outgoing_dir(), "smsq.mttx.48500100250.1", "Channel: x\n");
    fs::commit(call);
    EXPECT_TRUE(s.settle(t0 + 5000).events.empty());
    ::unlink(fs::join(s.cfg.outgoing_dir(), call.name).c_str());
    // The grace counts from the run that first saw it taken (t0 + 5).
    auto dry = s.settle(t0 + 5 + 599, true);
    EXPECT_EQ(outcomes(dry), (std::vector<O>{O::waiting}));
    EXPECT_EQ(outcomes(s.settle(t0 + 5 + 600)), (std::vector<O>{O::requeued}));
}

TEST(LastHopSettle, UnreadableLogSettlesNothingAndSaysSo) {
    Spool s;
    auto a = s.queue("x");
    s.take(a, 'Y');
    s.cfg.sms.log = s.tmp.path + "/log"; // a folder
    auto r = s.settle(t0 + 100000);
    EXPECT_FALSE(r.log_readable);
    EXPECT_NE(r.log_error.find("not a regular file"), std::string::npos);
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(lasthop::list(s.cfg).size(), 1u);
    s.cfg.sms.log = s.tmp.path + "/log/sms";
    EXPECT_EQ(outcomes(s.settle(t0 + 100001)), (std::vector<O>{O::delivered}));
}

TEST(LastHopSettle, DryRunChangesNothing) {
    Spool s;
    auto a = s.queue("refused");
    auto b = s.queue("waiting");
    s.take(a, 'N');
    auto before = lasthop::list(s.cfg);
    auto r = s.settle(t0 + 5, true);
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::requeued, O::waiting}));
    EXPECT_EQ(lasthop::list(s.cfg).size(), before.size());
    EXPECT_EQ(s.mttx(), std::vector<std::string>{b.get("file")});
    EXPECT_FALSE(fs::exists(fs::join(lasthop::dir(s.cfg), "cursor")));
    EXPECT_EQ(outcomes(s.settle(t0 + 5)), (std::vector<O>{O::requeued}));
}

TEST(LastHopSettle, OtherRunSettlingIsSkipped) {
    Spool s;
    s.take(s.queue("x"), 'Y');
    auto held = fs::Lock::acquire(fs::join(lasthop::dir(s.cfg), "settle.lock"));
    // flock locks belong to the open file: another open of the same file conflicts.
    auto r = s.settle();
    EXPECT_TRUE(r.skipped);
    EXPECT_EQ(lasthop::list(s.cfg).size(), 1u);
}
