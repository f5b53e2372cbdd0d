// Tests of lib/queue (sms-queue): every state read from a real spool in a temporary folder, the
// IDs, filters and formats, and retry/delete under the router's locks.
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "queue/queue.hpp"
#include "tempdir.hpp"

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

} // namespace
