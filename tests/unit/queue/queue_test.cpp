// Tests of lib/queue (sms-queue): every state read from a real spool in a temporary folder, the
// IDs, filters and formats, and retry/delete under the router's locks.
#include "asterisk/spool.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "queue/queue.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace sms;

namespace {

constexpr std::int64_t now = 1'800'000'000;

void write(const std::string& path, const std::string& text, std::int64_t mtime = now - 60) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
    struct timespec ts[2] = {{static_cast<time_t>(mtime), 0}, {static_cast<time_t>(mtime), 0}};
    ::utimensat(AT_FDCWD, path.c_str(), ts, 0);
}

std::string message(const std::string& oa, const std::string& da, const std::string& text,
                    const std::string& udh = "") {
    return "oa=" + oa + "\nda=" + da + "\n" + (udh.empty() ? "" : "udh#" + udh + "\n") +
           "ud=" + text + "\nscts=2026-11-30T09:00:00\n";
}

class Queue : public ::testing::Test {
protected:
    test::TempDir dir;
    Config cfg;
    std::string morx;
    void SetUp() override {
        cfg.general.spool_dir = dir.path;
        morx = cfg.morx_dir();
        write(morx + "/a.1", message("1", "2", "part one ", "0003070201"), now - 100);
        write(morx + "/a.2", message("1", "3", "waiting"), now - 50);
        write(dir.path + "/sms/.sms-suite/retry/a.2",
              fmt::format("first_failure={}\nreason=directory unavailable\n", now - 5000));
        write(morx + "/failed/a.3", message("1", "4", "dead"), now - 40);
        write(morx + "/failed/a.3.why", "gave up\n");
        write(morx + "/bad/x", "garbage\n", now - 30);
        write(dir.path + "/sms/mttx/5.q-1", message("9001", "5", "queued"), now - 20);
        write(dir.path + "/outgoing/smsq.mttx.5.1", "Channel: PJSIP/5\nApplication: SMS\n");
        write(dir.path + "/outgoing/f.call",
              "Channel: DAHDI/1\nCallerID: \"x\" <9000>\nMaxRetries: 2\nApplication: "
              "SendFax\nData: /f.tiff,F\nStartRetry: 1 1 (1)\nEndRetry: 1 1 (1)\n",
              now + 600);
    }
    const queue::Item& by_state(const std::vector<queue::Item>& items, const std::string& s) {
        for (const auto& it : items)
            if (it.state == s)
                return it;
        throw std::runtime_error("no item in state " + s);
    }
};

TEST_F(Queue, ListsEveryStateInOrder) {
    auto items = queue::list(cfg, now);
    std::vector<std::string> states;
    for (const auto& it : items)
        states.push_back(it.state);
    EXPECT_EQ(states,
              (std::vector<std::string>{"held", "retry", "failed", "bad", "queued", "call"}));

    const auto& held = by_state(items, "held");
    EXPECT_EQ(held.detail, "parts 1 of 2");
    EXPECT_EQ(held.reason, "waiting for part 2");
    EXPECT_EQ(held.next, now - 100 + cfg.general.reassembly_timeout);
    const auto& retry = by_state(items, "retry");
    EXPECT_EQ(retry.since, now - 5000); // the record's first failure, not the mtime
    EXPECT_EQ(retry.reason, "directory unavailable");
    EXPECT_EQ(retry.next, now - 5000 + cfg.general.retry_limit);
    EXPECT_EQ(by_state(items, "failed").reason, "gave up");
    EXPECT_EQ(by_state(items, "bad").reason, ""); // no .why: "-" in the listing
    EXPECT_EQ(by_state(items, "queued").detail, "call pending");
    const auto& call = by_state(items, "call");
    EXPECT_EQ(call.service, 'F');
    EXPECT_EQ(call.from, "9000");
    EXPECT_EQ(call.detail, "1 attempt made, 2 left");
    EXPECT_EQ(call.next, now + 600);

    auto s = queue::summarize(items);
    EXPECT_EQ(queue::format_summary(s).substr(0, 11), "-- 6 items,");
    EXPECT_NE(queue::format_summary_json(s).find("\"held\":1,\"retry\":1,\"failed\":1,\"bad\":1,"
                                                 "\"queued\":1,\"call\":1,\"lasthop\":0"),
              std::string::npos);
    EXPECT_NE(queue::format_line(by_state(items, "bad"), now).find("bad     -"), std::string::npos)
        << queue::format_line(by_state(items, "bad"), now);
}

TEST_F(Queue, AWhyNoteIsNotAnItemButAFileNamedSoIs) {
    write(morx + "/bad/lonely.why", "garbage\n");
    auto bad = queue::filter(queue::list(cfg, now), "bad", "", "");
    ASSERT_EQ(bad.size(), 2u);
    EXPECT_TRUE(bad[0].files[0].ends_with("/bad/x") || bad[1].files[0].ends_with("/bad/x"));
    EXPECT_TRUE(bad[0].files[0].ends_with("lonely.why") || bad[1].files[0].ends_with("lonely.why"));
    EXPECT_EQ(queue::filter(queue::list(cfg, now), "failed", "", "").size(), 1u); // a.3.why hidden
}

TEST_F(Queue, IdsAreStableAndFiltersWork) {
    auto a = queue::list(cfg, now);
    auto b = queue::list(cfg, now + 1000);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(queue::filter(a, "failed", "", "").size(), 1u);
    EXPECT_EQ(queue::filter(a, "", "1", "").size(), 3u);
    EXPECT_EQ(queue::filter(a, "", "", "5").size(), 1u);
    auto found = queue::find(a, a[2].id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->files, a[2].files);
    EXPECT_FALSE(queue::find(a, "0000000000"));
}

TEST_F(Queue, RetryBringsADeadLetterBackWithAFreshClock) {
    auto items = queue::list(cfg, now);
    queue::retry(cfg, by_state(items, "failed"), now);
    struct stat st;
    ASSERT_EQ(::stat((morx + "/a.3").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, now);
    EXPECT_FALSE(fs::exists(morx + "/failed/a.3"));
    EXPECT_FALSE(fs::exists(morx + "/failed/a.3.why"));

    queue::retry(cfg, by_state(items, "held"), now);
    ASSERT_EQ(::stat((morx + "/a.1").c_str(), &st), 0);
    EXPECT_LT(st.st_mtime, now - cfg.general.reassembly_timeout); // released: the router routes it

    queue::retry(cfg, by_state(items, "retry"), now);
    EXPECT_FALSE(fs::exists(dir.path + "/sms/.sms-suite/retry/a.2"));
    EXPECT_THROW(queue::retry(cfg, by_state(items, "queued"), now), Error);
}

TEST_F(Queue, NothingIsTouchedWhileARunHoldsTheFile) {
    auto items = queue::list(cfg, now);
    int fd = ::open((morx + "/failed/a.3").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0); // as sms-process holds a message it works on
    try {
        queue::remove(cfg, by_state(items, "failed"));
        ADD_FAILURE() << "deleted a file a run holds";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::tempfail) << e.what();
    }
    EXPECT_THROW(queue::retry(cfg, by_state(items, "failed"), now), Error);
    EXPECT_TRUE(fs::exists(morx + "/failed/a.3"));
    EXPECT_TRUE(fs::exists(morx + "/failed/a.3.why"));
    ::close(fd);

    // The reassembly lock: a held set is not touched while a run forms sets.
    auto lock = fs::Lock::acquire(dir.path + "/sms/.sms-suite/reassembly.lock");
    EXPECT_THROW(queue::remove(cfg, by_state(items, "held")), Error);
    EXPECT_TRUE(fs::exists(morx + "/a.1"));
}

TEST_F(Queue, DeleteRemovesTheItemAndWhatBelongsToIt) {
    auto items = queue::list(cfg, now);
    queue::remove(cfg, by_state(items, "failed"));
    queue::remove(cfg, by_state(items, "retry"));
    queue::remove(cfg, by_state(items, "held"));
    EXPECT_FALSE(fs::exists(morx + "/failed/a.3.why"));
    EXPECT_FALSE(fs::exists(dir.path + "/sms/.sms-suite/retry/a.2"));
    EXPECT_FALSE(fs::exists(morx + "/a.1"));
    EXPECT_EQ(queue::list(cfg, now).size(), 3u);
}

TEST_F(Queue, ListingAndShowingWriteNothing) {
    auto snapshot = [&] {
        std::string s;
        for (auto& e : std::filesystem::recursive_directory_iterator(dir.path))
            s += e.path().string() + " " +
                 std::to_string(
                     std::filesystem::last_write_time(e.path()).time_since_epoch().count()) +
                 "\n";
        return s;
    };
    std::string before = snapshot();
    auto items = queue::list(cfg, now);
    for (const auto& it : items)
        EXPECT_FALSE(queue::show(cfg, it, now).empty());
    EXPECT_NE(queue::show(cfg, by_state(items, "held"), now).find("text:     part one"),
              std::string::npos);
    EXPECT_EQ(snapshot(), before);
}

// What sms-process remembered of app_sms's log holding received texts: one warning line with
// the fix under the listing, and in the JSON summary; nothing when the file is not there.
TEST_F(Queue, ListSaysTheLogHoldsReceivedTexts) {
    auto listing = [&](bool json) {
        queue::Options o;
        o.json = json;
        std::FILE* f = std::tmpfile();
        EXPECT_EQ(queue::run(cfg, o, f), 0);
        std::rewind(f);
        std::string out;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
            out.append(buf, n);
        std::fclose(f);
        return out;
    };
    EXPECT_EQ(listing(false).find("warning"), std::string::npos);
    EXPECT_EQ(listing(true).find("received_texts"), std::string::npos);
    lasthop::make_dir(cfg);
    write(fs::join(lasthop::dir(cfg), lasthop::received_texts_file),
          "first 2026-12-02T17:55:20 from 48500100298\nlast 2026-12-02T18:00:00 from 4850\n");
    std::string text = listing(false);
    auto w = text.find("\nwarning: app_sms's log holds the texts of received messages (first "
                       "2026-12-02T17:55:20 from 48500100298, last 2026-12-02T18:00:00 from 4850)");
    ASSERT_NE(w, std::string::npos) << text;
    EXPECT_NE(text.find("SMS(${CALLERID(num)},san)", w), std::string::npos);
    EXPECT_EQ(std::count(text.begin() + static_cast<std::ptrdiff_t>(w) + 1, text.end(), '\n'), 1);
    EXPECT_NE(listing(true).find(",\"received_texts\":{\"first\":\"2026-12-02T17:55:20 from "
                                 "48500100298\",\"last\":\"2026-12-02T18:00:00 from 4850\"}}}\n"),
              std::string::npos);
}

} // namespace

// ---- deliveries the last hop tracks: one row each, deleted with every trace ---------------

namespace {

// Everything under the spool whose name or content holds `needle`.
std::vector<std::string> traces_of(const std::string& root, const std::string& needle) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
        if (!e.is_regular_file())
            continue;
        std::string p = e.path().string();
        std::ifstream f(p);
        std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        if (p.find(needle) != std::string::npos || content.find(needle) != std::string::npos)
            out.push_back(p);
    }
    return out;
}

// An SMS as outbox queues it: its last-hop item is a second link of the queue file.
lasthop::Item queue_sms(const Config& cfg, const std::string& name, const std::string& text) {
    std::string body = message("9001", "600700800", text) + "mr=7\n";
    spool::Message m = spool::parse(body, name);
    auto item = lasthop::sms_item(cfg, m, "600700800", name, "PJSIP/600700800", "9001", body,
                                  smslog::Mark{}, now);
    EXPECT_TRUE(fs::commit(lasthop::plan(cfg, item)));
    write(cfg.mttx_dir() + "/" + name, body);
    return item;
}

} // namespace

TEST_F(Queue, DeleteOfAQueuedSmsRemovesItsLastHopItemToo) {
    queue_sms(cfg, "600700800.d-1", "delete me");
    auto items = queue::list(cfg, now);
    const auto* row = &items.front();
    int rows = 0;
    for (const auto& it : items)
        if (it.to == "600700800") {
            ++rows;
            row = &it;
        }
    ASSERT_EQ(rows, 1); // queued, not also lasthop
    EXPECT_EQ(row->state, "queued");
    ASSERT_FALSE(traces_of(dir.path, "delete me").empty());
    queue::remove(cfg, *row);
    EXPECT_TRUE(traces_of(dir.path, "delete me").empty());
    EXPECT_TRUE(lasthop::list(cfg).empty()); // nothing left to send again
    for (const auto& it : queue::list(cfg, now))
        EXPECT_NE(it.to, "600700800") << it.state;
}

TEST_F(Queue, DeleteOfATakenSmsForgetsIt) {
    queue_sms(cfg, "600700800.d-2", "taken then deleted");
    ::unlink((cfg.mttx_dir() + "/600700800.d-2").c_str()); // app_sms read it
    auto items = queue::list(cfg, now);
    queue::remove(cfg, by_state(items, "lasthop"));
    EXPECT_TRUE(lasthop::list(cfg).empty());
    EXPECT_TRUE(traces_of(dir.path, "taken then deleted").empty());
}

TEST_F(Queue, FaxWaitingInOutgoingIsOneItemAndDeletedWhole) {
    lasthop_call::Record r;
    r.stem = "fax-d-3";
    r.service = 'F';
    r.oa = "9001";
    r.da = "600700801";
    r.channel = "PJSIP/600700801";
    r.file = dir.path + "/sms/fax/fax-d-3.tiff";
    write(r.file, "II*\0 a tiff");
    r.first = now;
    for (auto& f : lasthop_call::plan_first(cfg, r, now - 10))
        ASSERT_TRUE(fs::commit(f));
    write(lasthop_call::results_dir(cfg) + "/fax-d-3.0", "stale\n");
    auto items = queue::list(cfg, now);
    int rows = 0;
    const queue::Item* row = nullptr;
    for (const auto& it : items)
        for (const auto& f : it.files)
            if (f.find("fax-d-3") != std::string::npos) {
                ++rows;
                row = &it;
                break;
            }
    ASSERT_EQ(rows, 1); // lasthop, not also a call row
    EXPECT_EQ(row->state, "lasthop");
    // Asterisk placing its call: refused, nothing changed.
    const std::string call = row->files.at(2);
    std::string text = fs::read_file(call);
    write(call, text + "StartRetry: 1 1 (1)\n", now + 600);
    try {
        queue::remove(cfg, *row);
        ADD_FAILURE() << "deleted a call in progress";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::tempfail) << e.what();
    }
    EXPECT_EQ(traces_of(dir.path, "fax-d-3").size(), 4u);
    write(call, text, now - 10);
    // A run settling deliveries: refused too.
    {
        auto lock = fs::Lock::acquire(lasthop::dir(cfg) + "/settle.lock");
        EXPECT_THROW(queue::remove(cfg, *row), Error);
    }
    queue::remove(cfg, *row);
    EXPECT_TRUE(traces_of(dir.path, "fax-d-3").empty());
    EXPECT_TRUE(lasthop_call::list(cfg, now).empty());
}
