// lasthop: the store of pending deliveries and the settling of SMS against app_sms's log, in a
// real spool with a real journal; app_sms is played by a few lines that do what the fixtures show.
#include "asterisk/smslog.hpp"
#include "asterisk/spool.hpp"
#include "core/journal.hpp"
#include "lasthop/lasthop.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <ctime>
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
        ::setenv("TZ", "UTC", 1); // app_sms's lines are in local time
        ::tzset();
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
        // Written a second after the queue file: app_sms logs when the call ends.
        const std::time_t when = static_cast<std::time_t>(it.get_int("queued", it.first) + 1);
        char stamp[32];
        struct tm tm {};
        ::gmtime_r(&when, &tm);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        std::string line =
            fmt::format("{} {}OS{:02X} {} {} {} {}{}", stamp, status, *m.mr & 0xFF, "48500100250",
                        m.oa, m.da, text, it.get("logcut") == "1" ? "" : "\n");
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
    // What the router writes for each message queued is that item's file, byte for byte.
    const fs::PlannedFile planned = lasthop::plan_sms(s.cfg, m, "48500100250", "q.s1-1", "PJSIP/1",
                                                      "600", body, smslog::Mark{3, 40}, t0);
    EXPECT_EQ(planned.content, lasthop::plan(s.cfg, it).content);
    EXPECT_EQ(planned.name, lasthop::plan(s.cfg, it).name);
    // A value with control bytes stays on its line, each byte as \xNN.
    auto odd = it;
    odd.fields["notify"] = "a\nb\x7F\x01"
                           "c";
    EXPECT_NE(lasthop::serialize(odd).find(";notify=a\\x0Ab\\x7F\\x01c\n"), std::string::npos);
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

// A batch's counters: values in use by items in place are skipped, values given in the batch
// count as in use (their items are not in place yet), so that past 256 in one batch the twins
// are named apart; the counter goes back to the file only on release, and a queue locked by
// another process is waited for only after the batch's own counters were released.
TEST(LastHopStore, MrCountersOfABatch) {
    Spool s;
    const std::string q = "48500100250";
    // Values 5 and 6 in use (5 by a message and its twin), the counter at 4.
    fs::make_dirs(fs::join(lasthop::dir(s.cfg), "mr"), 0755);
    ASSERT_TRUE(fs::commit(file_in(fs::join(lasthop::dir(s.cfg), "mr"), q, "4\n")));
    ASSERT_TRUE(fs::commit(file_in(lasthop::dir(s.cfg), "S." + q + ".005", "x")));
    ASSERT_TRUE(fs::commit(file_in(lasthop::dir(s.cfg), "S." + q + ".005." + q + ".f-1", "x")));
    ASSERT_TRUE(fs::commit(file_in(lasthop::dir(s.cfg), "S." + q + ".006", "x")));
    const std::string counter = fs::join(fs::join(lasthop::dir(s.cfg), "mr"), q);
    {
        lasthop::MrCounters mr(s.cfg);
        auto [a, id_a] = mr.allocate(q, "f1");
        EXPECT_EQ(a, 7u);
        EXPECT_EQ(id_a, q + ".007");
        EXPECT_EQ(fs::read_file(counter, 64), "4\n"); // held, not yet written
        std::set<unsigned> given{a};
        for (int k = 0; k < 253; ++k)
            given.insert(mr.allocate(q, fmt::format("g{}", k)).first);
        EXPECT_EQ(given.size(), 254u); // every value but 5 and 6
        EXPECT_FALSE(given.count(5) || given.count(6));
        // All 256 in use now: the next is shared, its item named apart.
        auto [twin, id_twin] = mr.allocate(q, "twin-1");
        EXPECT_EQ(twin, 5u); // after the last given, 4
        EXPECT_EQ(id_twin, q + ".005.twin-1");
        // Another queue while this one is held.
        EXPECT_EQ(mr.allocate("other", "o-1").second.substr(0, 6), "other.");
        mr.release();
        EXPECT_EQ(fs::read_file(counter, 64), "5\n");
    }
    // After release a lone allocation continues from the written value (6 is in use).
    EXPECT_EQ(lasthop::allocate_mr(s.cfg, q), 7u);
}

// The items are listed once per run; a counter another run wrote since this run let it go is
// listed again: that run's items (here all the other 255 values) are in use, so the next value
// is shared and named apart instead of taking the name of that run's item.
TEST(LastHopStore, MrCountersSeeAnotherRunsItemsBetweenBatches) {
    Spool s;
    const std::string q = "48500100250";
    lasthop::MrCounters mr(s.cfg);
    auto [a, id_a] = mr.allocate(q, "f1");
    EXPECT_EQ(id_a, fmt::format("{}.{:03}", q, a));
    mr.release();
    ASSERT_TRUE(fs::commit(file_in(lasthop::dir(s.cfg), "S." + id_a, "x")));
    for (int k = 0; k < 255; ++k) { // another run queues 255 messages for the phone
        unsigned v = lasthop::allocate_mr(s.cfg, q);
        ASSERT_NE(v, a);
        ASSERT_TRUE(fs::commit(file_in(lasthop::dir(s.cfg), fmt::format("S.{}.{:03}", q, v), "x")));
    }
    auto [b, id_b] = mr.allocate(q, "f2");
    EXPECT_EQ(id_b, fmt::format("{}.{:03}.f2", q, b));
    mr.release();
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

TEST(LastHopMatch, QueueMrAddressesFormTimeAndMark) {
    Spool s;
    auto it = s.queue("Zażółć €"); // UCS-2 after no transliteration here: 8 units
    const unsigned mr = static_cast<unsigned>(it.get_int("mr"));
    auto rec = [&](std::string flags_text, std::string time = "2026-12-02T17:54:11") {
        auto r = smslog::parse(
            fmt::format("{} YOS{:02X} 48500100250 600 48500100250 {}\n", time, mr, flags_text));
        return r.at(0);
    };
    // The form the call used: the length with the privacy option, the text without.
    EXPECT_TRUE(lasthop::matches(it, rec("udl=8"), 0, true));
    EXPECT_FALSE(lasthop::matches(it, rec("udl=8"), 0, false));
    EXPECT_FALSE(lasthop::matches(it, rec("udl=9"), 0, true));
    EXPECT_TRUE(lasthop::matches(it, rec("Za|\xF3\x42\x07 \xAC"), 0, false));
    EXPECT_FALSE(lasthop::matches(it, rec("Za|\xF3\x42\x07 \xAC"), 0, true));
    EXPECT_FALSE(lasthop::matches(it, rec("Zazolc"), 0, false));
    EXPECT_FALSE(lasthop::matches(it, rec("Za|\xF3"), 0, false)); // a prefix is not the text
    auto other = smslog::parse(
        fmt::format("2026-12-02T17:54:11 YOS{:02X} 48500100250 601 48500100250 udl=8\n", mr));
    EXPECT_FALSE(lasthop::matches(it, other.at(0), 0, true)); // another sender
    auto phone = smslog::parse("2026-12-02T17:54:11 YIM 48500100250 600 - udl=8\n");
    EXPECT_FALSE(lasthop::matches(it, phone.at(0), 0, true));
    auto received = smslog::parse(
        fmt::format("2026-12-02T17:54:11 YIS{:02X} 48500100250 600 48500100250 udl=8\n", mr));
    EXPECT_FALSE(lasthop::matches(it, received.at(0), 0, true)); // not a delivery line
    // Written before the message was queued (17:53:20): not its line, whatever else fits.
    EXPECT_FALSE(lasthop::matches(it, rec("udl=8", "2026-12-02T17:53:19"), 0, true));
    EXPECT_TRUE(lasthop::matches(it, rec("udl=8", "2026-12-02T17:53:20"), 0, true));
    // Not where app_sms begins a line: never.
    auto r0 = rec("udl=8");
    r0.anchored = false;
    EXPECT_FALSE(lasthop::matches(it, r0, 0, true));
    // A line before the item's mark (an older message with the same mr) is not its line.
    lasthop::Item later = it;
    later.fields["mark"] = "42:1000";
    auto r = rec("udl=8");
    r.ino = 42;
    r.offset = 999;
    EXPECT_FALSE(lasthop::matches(later, r, 42, true));
    r.offset = 1000;
    EXPECT_TRUE(lasthop::matches(later, r, 42, true));
}

TEST(LastHopSettle, DeliveredIsForgottenAndReceiptOnlyWhenAsked) {
    Spool s;
    auto a = s.queue("first");
    auto b = s.queue("second, with a status report asked", t0, "600", 1);
    s.take(a, 'Y');
    s.take(b, 'Y');
    auto r = s.settle();
    EXPECT_TRUE(r.log_readable);
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered, O::delivered}));
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
    ASSERT_EQ(s.told.size(), 1u);
    EXPECT_EQ(s.told[0], "600|Delivered to 48500100250 at 17:53.");
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

// ---- Forgery: no text anyone sends settles or unsettles another message ------------------
// The victims are the recorded queue files (tests/data/lasthop/mttx-before), the genuine lines
// the ones Asterisk wrote for them, and the forgeries those same lines put into texts the way
// app_sms writes a received text (smslog::render: raw low bytes, a raw LF for U+xx0A, the line
// ended by a NUL for U+xx00).

namespace {

std::string fixture(const std::string& name) {
    return fs::read_file(std::string(SMS_TEST_DATA) + "/lasthop/" + name);
}

// The recorded line of `log` holding `what`, with its newline.
std::string real_line(const std::string& log, const std::string& what) {
    std::string d = fixture(log);
    auto at = d.find(what);
    EXPECT_NE(at, std::string::npos) << what;
    auto b = d.rfind('\n', at);
    b = b == std::string::npos ? 0 : b + 1;
    return d.substr(b, d.find('\n', at) + 1 - b);
}

struct Forgery : Spool {
    // A recorded queue file queued by the suite: its item and queue file, the fixture's mr.
    lasthop::Item queue_real(const std::string& name, std::int64_t now = t0) {
        std::string body = fixture("mttx-before/" + name);
        if (body.find("scts=") == std::string::npos)
            body += "scts=2026-12-02T17:50:00\n";
        spool::Message m = spool::parse(body, name);
        const std::string q = name.substr(0, name.find('.'));
        if (!m.mr) { // the suite always writes one
            m.mr = static_cast<int>(lasthop::allocate_mr(cfg, q));
            body += fmt::format("mr={}\n", *m.mr);
        }
        auto item = lasthop::sms_item(cfg, m, q, name, "PJSIP/1", "600", body,
                                      smslog::mark_now(cfg.sms.log), now);
        EXPECT_TRUE(fs::commit(lasthop::plan(cfg, item)));
        EXPECT_TRUE(fs::commit(file_in(cfg.mttx_dir(), name, body)));
        return item;
    }
    // app_sms takes the queue file: the call is under way, no line yet.
    void taken(const lasthop::Item& it) {
        ASSERT_EQ(::unlink(fs::join(cfg.mttx_dir(), it.get("file")).c_str()), 0);
    }
    void log(std::string_view bytes) {
        fs::Fd fd(::open(cfg.sms.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644));
        fs::write_all(fd.get(), bytes, cfg.sms.log);
    }
    // A phone sends the centre (SMS(${CALLERID(num)},s), no n) a text: app_sms's YIS line.
    void mo(const std::u16string& text, const std::string& cli = "48500100299",
            unsigned mr = 0x3C) {
        log(fmt::format("2026-12-02T17:55:20 YIS{:02X} {} {} 48500100200 {}{}", mr, cli, cli,
                        smslog::render(text), smslog::cut_by_nul(text) ? "" : "\n"));
    }
};

std::u16string u16(std::string_view bytes) {
    std::u16string out;
    for (char c : bytes)
        out.push_back(static_cast<unsigned char>(c));
    return out;
}

// The recorded line without its newline, as a forger copies it into a text.
std::string bare(std::string l) {
    if (!l.empty() && l.back() == '\n')
        l.pop_back();
    return l;
}

const std::string y_p1 = "2026-12-02T17:55:27 YOS15 48500100254 48500100201 48500100254 udl=29";

} // namespace

// The first example: the genuine Y line of the victim copied into a text, glued in
// mid-line. While the victim's call has no line yet nothing happens; its genuine ? then sends
// it again. Nobody is told it arrived.
TEST(LastHopForgery, GluedHeadInATextSettlesNothing) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1"); // mr=21 -> YOS15, udl=29
    s.taken(v);
    ASSERT_EQ(bare(real_line("1d-privacy-n.sms.log", "YOS15")), y_p1);
    s.mo(u16("see " + y_p1));
    auto r = s.settle();
    EXPECT_TRUE(r.events.empty());
    EXPECT_EQ(lasthop::list(s.cfg).size(), 1u);
    s.log("2026-12-02T17:55:30 ?OS15 48500100254 48500100201 48500100254 udl=29\n");
    EXPECT_EQ(outcomes(s.settle()), (std::vector<O>{O::requeued}));
    EXPECT_TRUE(s.told.empty());
}

// Two forged heads fit in one SMS; 128 texts cover all 256 mrs, of Y, N and ?. None counts:
// the victim waits for its own line, and the genuine Y then settles it once.
TEST(LastHopForgery, AllMrsForgedInTextsSettleNothing) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    for (unsigned mr = 0; mr < 256; mr += 2) {
        const char st = "YN?"[mr % 3];
        s.mo(u16(fmt::format("{0}{1}OS{2:02X} 48500100254 48500100201 48500100254 udl=29 "
                             "2026-12-02T17:55:27 {1}OS{3:02X} 48500100254 48500100201 "
                             "48500100254 udl=29",
                             "2026-12-02T17:55:27 ", st, mr, mr + 1)));
    }
    EXPECT_TRUE(s.settle().events.empty());
    s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
    auto r = s.settle();
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered}));
    EXPECT_TRUE(lasthop::list(s.cfg).empty());
}

// A unit U+xx0A writes a raw LF: the forged head begins a physical line. A line after a text
// (which may go on after a raw LF) is not where app_sms surely began one: a Y, an N or a ?
// there settles nothing, and the genuine line after it still counts.
TEST(LastHopForgery, HeadAfterARawLineFeedSettlesNothing) {
    for (char st : {'Y', 'N', '?'}) {
        Forgery s;
        auto v = s.queue_real("48500100254.lh-p1-1");
        s.taken(v);
        std::u16string text = u"see";
        text.push_back(u'\u040A'); // Serbian Nje: its low byte is a line feed
        text += u16(y_p1);
        text[3 + 1 + 20] = static_cast<char16_t>(st); // the status of the forged head
        s.mo(text);
        std::string logged = fs::read_file(s.cfg.sms.log);
        ASSERT_NE(logged.find("\n2026-12-02T17:55:27 " + std::string(1, st) + "OS15"),
                  std::string::npos)
            << logged; // the forged head really is at the start of a line
        auto r = s.settle();
        EXPECT_TRUE(r.events.empty()) << st;
        // The notes say a line naming the victim was ignored.
        EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) {
            return n.find("ignored") != std::string::npos;
        }));
        s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
        EXPECT_EQ(outcomes(s.settle()), (std::vector<O>{O::delivered})) << st;
        EXPECT_TRUE(s.told.empty());
    }
}

// A forged N before the genuine Y (the duplicate), in a sender's text the suite
// delivered (privacy off): stepped over, the message is delivered once and not queued again.
TEST(LastHopForgery, ForgedNackBeforeTheGenuineLineIsIgnored) {
    Forgery s;
    s.cfg.sms.privacy = false;
    auto v = s.queue_real("48500100250.lh-a1-1"); // mr=07
    s.taken(v);
    std::string forged = bare(real_line("1a-mr.sms.log", "YOS07"));
    forged[20] = 'N';
    spool::Message m;
    m.oa = "48500100266";
    m.da = "48500100253";
    m.scts = "2026-12-02T17:50:00";
    m.mr = 9;
    m.text = "x\xD0\x8A" + forged; // U+040A: a raw LF before the forged head
    spool::WriteStyle st;
    st.text = spool::TextStyle::ucs2;
    const std::string body = spool::serialize(m, st);
    auto mal = lasthop::sms_item(s.cfg, m, "48500100253", "48500100253.mal", "PJSIP/2", "", body,
                                 smslog::mark_now(s.cfg.sms.log), t0);
    ASSERT_TRUE(fs::commit(lasthop::plan(s.cfg, mal)));
    s.log(fmt::format("2026-12-02T17:54:00 YOS09 48500100253 48500100266 48500100253 {}\n",
                      smslog::render(utf8::to_utf16(*utf8::decode(m.text)))));
    s.log(real_line("1a-mr.sms.log", "YOS07"));
    auto r = s.settle();
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered, O::delivered}));
    EXPECT_EQ(s.mttx().size(), 0u); // nothing queued again
}

// The same forged N in a text a phone sent a centre that logs texts: the genuine Y written
// right after that text cannot be told from more of it either. Nothing counts; the message
// goes again after the "taken, no line" pause: a duplicate, never a false failure.
TEST(LastHopForgery, CentreLoggingTextsCostsADuplicateNotALoss) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    std::u16string text = u"x";
    text.push_back(u'\u040A');
    std::string forged = y_p1;
    forged[20] = 'N';
    text += u16(forged);
    s.mo(text);
    s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
    auto r = s.settle();
    EXPECT_TRUE(r.events.empty());
    EXPECT_TRUE(r.received_texts);
    auto later = s.settle(t0 + 5 + 601);
    EXPECT_EQ(outcomes(later), (std::vector<O>{O::requeued}));
    EXPECT_TRUE(s.told.empty());
}

// A text ended by a NUL (U+xx00) glues the next line on. A sender's text is not predicted, so
// the genuine line glued after it cannot be told from text: it is not counted, and the message
// goes again once the "taken, no line" pause is over (a duplicate, never a loss).
TEST(LastHopForgery, LineGluedAfterASendersNulIsNotTrusted) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    s.mo(u"hi \xD83D\xDE00 there"); // the emoji's low surrogate U+DE00 writes the NUL
    s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
    std::string logged = fs::read_file(s.cfg.sms.log);
    ASSERT_NE(logged.find("hi =2026-12-02T17:55:27 YOS15"), std::string::npos) << logged;
    EXPECT_TRUE(s.settle().events.empty());
    EXPECT_EQ(outcomes(s.settle(t0 + 5 + 601)), (std::vector<O>{O::requeued}));
}

// The suite's own text cut by a NUL: predicted, so the genuine line glued after it counts
// (the recorded 1a3 log, privacy off): both messages delivered.
TEST(LastHopForgery, LineGluedAfterTheSuitesOwnNulCounts) {
    Forgery s;
    s.cfg.sms.privacy = false;
    auto a = s.queue_real("48500100253.lh-a3-1"); // "Emoji 😀 then more text"
    auto b = s.queue_real("48500100253.lh-a3-2"); // "Serbian Њива then more text"
    // The recording has no mr; the suite always writes one: the same lines with it.
    std::string d = fixture("1a3-log-nul-and-lf.sms.log");
    auto put_mr = [&](const std::string& after_text, const lasthop::Item& it) {
        auto at = d.find("YOS 48500100253 48500100201 48500100253 " + after_text);
        ASSERT_NE(at, std::string::npos);
        d.replace(at, 4, fmt::format("YOS{:02X} ", it.get_int("mr")));
    };
    put_mr("Emoji", a);
    put_mr("Serbian", b);
    s.taken(a);
    s.taken(b);
    s.log(d);
    auto r = s.settle();
    EXPECT_EQ(outcomes(r), (std::vector<O>{O::delivered, O::delivered}));
}

// Privacy off: the suite's own delivery line carries a text a sender chose. A raw LF in it
// and a forged head for another message: the suite knows its whole text, steps over it, and
// the forged head settles nothing.
TEST(LastHopForgery, PrivacyOffForgeryInsideTheSuitesOwnText) {
    Forgery s;
    s.cfg.sms.privacy = false;
    auto v = s.queue_real("48500100250.lh-a1-1"); // "First message, carries mr=07"
    s.taken(v);
    // Mallory's message to 48500100253: "x", U+040A, then the victim's genuine line.
    spool::Message m;
    m.oa = "48500100266";
    m.da = "48500100253";
    m.scts = "2026-12-02T17:50:00";
    m.dcs = 8;
    m.mr = 9;
    const std::string victim = bare(real_line("1a-mr.sms.log", "YOS07"));
    m.text = "x\xD0\x8A" + victim; // U+040A in UTF-8
    spool::WriteStyle st;
    st.text = spool::TextStyle::ucs2;
    std::string body = spool::serialize(m, st);
    auto mal = lasthop::sms_item(s.cfg, m, "48500100253", "48500100253.mal", "PJSIP/2", "", body,
                                 smslog::mark_now(s.cfg.sms.log), t0);
    ASSERT_TRUE(fs::commit(lasthop::plan(s.cfg, mal)));
    std::string own = fmt::format("2026-12-02T17:55:00 YOS09 48500100253 48500100266 "
                                  "48500100253 {}\n",
                                  smslog::render(utf8::to_utf16(*utf8::decode(m.text))));
    ASSERT_NE(own.find("\n" + victim), std::string::npos); // a line that looks genuine
    s.log(own);
    auto r = s.settle();
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].item, mal.name());
    EXPECT_EQ(r.events[0].outcome, O::delivered);
    EXPECT_EQ(lasthop::list(s.cfg).size(), 1u); // the victim still waits for its own line
    // In the privacy form its line does not count either: the call used the text.
    s.log("2026-12-02T17:55:30 YOS07 48500100250 48500100201 48500100250 udl=28\n");
    EXPECT_TRUE(s.settle().events.empty());
    s.log(real_line("1a-mr.sms.log", "YOS07"));
    EXPECT_EQ(outcomes(s.settle()), (std::vector<O>{O::delivered}));
}

// Lines at the start of a line that are still not the centre's delivery line of the message:
// received (I), phone mode (M), older than the take. None counts.
TEST(LastHopForgery, WrongDirectionModeOrTimeDoNotCount) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1", t0); // queued 17:53:20
    s.taken(v);
    s.log("2026-12-02T17:55:27 YIS15 48500100254 48500100201 48500100254 udl=29\n");
    s.log("2026-12-02T17:55:27 YOM15 48500100254 48500100201 48500100254 udl=29\n");
    s.log("2026-12-02T17:53:19 YOS15 48500100254 48500100201 48500100254 udl=29\n");
    EXPECT_TRUE(s.settle().events.empty());
    s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
    EXPECT_EQ(outcomes(s.settle()), (std::vector<O>{O::delivered}));
}

// Two lines for one message that disagree: one of them is not app_sms's own: sent again.
TEST(LastHopForgery, ContradictingLinesSendAgain) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    s.log(real_line("1d-privacy-n.sms.log", "YOS15"));
    s.log("2026-12-02T17:55:28 NOS15 48500100254 48500100201 48500100254 udl=29\n");
    auto r = s.settle();
    ASSERT_EQ(r.events.size(), 1u);
    EXPECT_EQ(r.events[0].outcome, O::requeued);
    EXPECT_NE(r.events[0].detail.find("disagree"), std::string::npos) << r.events[0].detail;
    EXPECT_TRUE(s.told.empty());
}

// A log that holds received texts is said once per run; one with lengths only is not.
TEST(LastHopForgery, LogHoldingReceivedTextsIsNoticed) {
    Forgery s;
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    s.log("2026-12-02T17:55:20 YIS3C 48500100299 48500100299 48500100200 udl=12\n");
    EXPECT_FALSE(s.settle().received_texts);
    s.mo(u"hello there");
    s.mo(u"and again");
    auto r = s.settle();
    ASSERT_TRUE(r.received_texts);
    EXPECT_NE(r.received_texts->find("48500100299"), std::string::npos);
}

// The fact is remembered in the state folder for sms-queue (which never reads the log): written
// when a run reads a received text, kept while nothing new says otherwise (a dry run and a run
// reading nothing new leave it alone), removed when a received message is logged as its length.
TEST(LastHopForgery, ReceivedTextsAreRememberedForSmsQueue) {
    Forgery s;
    const std::string path = fs::join(lasthop::dir(s.cfg), lasthop::received_texts_file);
    auto v = s.queue_real("48500100254.lh-p1-1");
    s.taken(v);
    s.log("2026-12-02T17:55:20 YIS3C 48500100299 48500100299 48500100200 udl=12\n");
    s.settle();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(lasthop::received_texts(s.cfg));
    s.mo(u"first text", "48500100298");
    s.settle(t0 + 5, true);
    EXPECT_FALSE(fs::exists(path)) << "a dry run writes nothing";
    s.mo(u"second text", "48500100297");
    s.settle();
    auto r = lasthop::received_texts(s.cfg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, "2026-12-02T17:55:20 from 48500100298");
    EXPECT_EQ(r->last, "2026-12-02T17:55:20 from 48500100297");
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const auto ino = st.st_ino;
    s.settle(); // nothing new read: not rewritten
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, ino);
    s.mo(u"third", "48500100296");
    s.settle(); // the first kept, the last moved on
    r = lasthop::received_texts(s.cfg);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, "2026-12-02T17:55:20 from 48500100298");
    EXPECT_EQ(r->last, "2026-12-02T17:55:20 from 48500100296");
    s.log("2026-12-02T17:56:20 YIS3D 48500100299 48500100299 48500100200 udl=12\n");
    s.settle();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(lasthop::received_texts(s.cfg));
}

// The state folder is 0700 (its items are links of queue files), and one made looser is
// tightened by the next message.
TEST(LastHopStore, StateFolderIsPrivate) {
    Spool s;
    s.queue("private");
    struct stat st;
    ASSERT_EQ(::stat(lasthop::dir(s.cfg).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::chmod(lasthop::dir(s.cfg).c_str(), 0755), 0);
    s.queue("again");
    ASSERT_EQ(::stat(lasthop::dir(s.cfg).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// An event's --json line escapes as every --json output of the suite does (util/json): a
// quote, a backslash, a control character, and a byte that is not UTF-8 (a detail quoting a
// line of app_sms's log, whose texts senders chose) as \udcXX, so the line stays valid UTF-8.
TEST(LastHopReport, EventJsonEscapesAsTheSuiteDoes) {
    lasthop::Event e;
    e.item = "m\"1";
    e.file = "m\\1";
    e.queue = "48600700800";
    e.oa = "48500100200";
    e.da = "48600700800";
    e.outcome = O::given_up;
    e.attempts = 3;
    e.detail = "log line \"caf\xe9\"\n\x1b";
    EXPECT_EQ(lasthop::event_json(e),
              "{\"file\":\"m\\\\1\",\"oa\":\"48500100200\",\"da\":\"48600700800\","
              "\"service\":\"S\",\"outcome\":\"given_up\",\"detail\":\"log line "
              "\\\"caf\\udce9\\\"\\n\\u001b\",\"lasthop\":{\"item\":\"m\\\"1\","
              "\"queue\":\"48600700800\",\"attempts\":3}}");
}
