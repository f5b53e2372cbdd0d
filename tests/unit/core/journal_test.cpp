// Tests of lib/journal: staged outputs appear all at once, inputs go only after, and a run that
// died at any step is finished by the next one exactly once.
#include "core/journal.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sms;
namespace stdfs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/sms-journal-test.XXXXXX";
        path = ::mkdtemp(tmpl);
        for (auto d : {"in", "out", "journal", "failed"})
            stdfs::create_directory(path + "/" + d);
    }
    ~TempDir() { stdfs::remove_all(path); }
    std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

fs::PlannedFile out(const TempDir& t, std::string name, std::string content) {
    fs::PlannedFile f;
    f.dir = t / "out";
    f.name = std::move(name);
    f.content = std::move(content);
    return f;
}

// A queue file out/q1 and its record records/r1, the same content: the record marked as a
// second link of the queue file (PlannedFile::same_as).
std::pair<fs::PlannedFile, fs::PlannedFile> queue_and_record(const TempDir& t) {
    fs::PlannedFile q = out(t, "q1", "queue file");
    fs::PlannedFile r = q;
    r.dir = t / "records";
    r.name = "r1";
    r.same_as = t / "out/q1";
    return {q, r};
}

std::vector<std::string> names(const std::string& dir) {
    return fs::list_regular(dir);
}

} // namespace

TEST(Journal, CommitPlacesOutputsThenRemovesInputs) {
    TempDir t;
    fs::write_atomic(t / "in", "m1", "message");
    journal::Journal j(t / "journal");
    j.stage("m1", {out(t, "a", "A"), out(t, "b", "B")}, {{t / "in/m1", ""}});
    EXPECT_EQ(j.pending(), 1u);
    EXPECT_TRUE(names(t / "out").empty()) << "nothing visible before the commit";
    EXPECT_TRUE(fs::exists(t / "in/m1"));
    j.commit_all();
    EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(fs::read_file(t / "out/b"), "B");
    EXPECT_FALSE(fs::exists(t / "in/m1"));
    EXPECT_FALSE(j.committed("m1"));
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "journal"), stdfs::directory_iterator{}),
              0);
}

TEST(Journal, AnExistingOutputIsKeptNotDuplicated) {
    TempDir t;
    fs::write_atomic(t / "out", "call", "pending call");
    journal::Journal j(t / "journal");
    auto f = out(t, "call", "new call");
    j.stage("m", {f}, {});
    j.commit_all();
    EXPECT_EQ(fs::read_file(t / "out/call"), "pending call");
    f.replace = true;
    j.stage("m2", {f}, {});
    j.commit_all();
    EXPECT_EQ(fs::read_file(t / "out/call"), "new call");
}

TEST(Journal, InputsCanBeMovedIntoAFolder) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "one");
    fs::write_atomic(t / "failed", "m", "an older one");
    journal::Journal j(t / "journal");
    j.stage("m", {}, {{t / "in/m", t / "failed"}});
    j.commit_all();
    EXPECT_EQ(names(t / "failed"), (std::vector<std::string>{"m", "m.1"}));
    EXPECT_EQ(fs::read_file(t / "failed/m.1"), "one");
}

TEST(Journal, UncommittedStagesAreDiscarded) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    {
        journal::Journal j(t / "journal");
        j.stage("m", {out(t, "a", "A")}, {{t / "in/m", ""}});
        // destroyed without commit_all: an exception in the run
    }
    EXPECT_TRUE(names(t / "out").empty());
    EXPECT_TRUE(fs::exists(t / "in/m"));
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "journal"), stdfs::directory_iterator{}),
              0);
}

TEST(Journal, ACommittedTransactionOfADeadRunIsFinishedOnce) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    // A run that committed, moved one of its two outputs, and was killed.
    fs::write_atomic(t / "journal", "m.999999999.1.staged", "B");
    fs::write_atomic(t / "out", "a", "A");
    fs::write_atomic(t / "journal", "m.manifest",
                     "in\t" + (t / "in/m") + "\t\nout\tm.999999999.0.staged\t0\t" + (t / "out") +
                         "\ta\nout\tm.999999999.1.staged\t0\t" + (t / "out") + "\tb\n");
    journal::Journal j(t / "journal");
    EXPECT_TRUE(j.committed("m"));
    EXPECT_EQ(j.recover(), 1);
    EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(fs::read_file(t / "out/b"), "B");
    EXPECT_FALSE(fs::exists(t / "in/m"));
    EXPECT_FALSE(j.committed("m"));
    EXPECT_EQ(j.recover(), 0);
    EXPECT_TRUE(names(t / "journal").empty());
}

TEST(Journal, StagesOfDeadRunsAreRemovedAndLiveOnesKept) {
    TempDir t;
    // A pid that cannot be alive, and our own.
    std::string live = std::to_string(::getpid());
    fs::write_atomic(t / "journal", ".m.999999999.manifest", "");
    fs::write_atomic(t / "journal", "m.999999999.0.staged", "");
    fs::write_atomic(t / "journal", ".n." + live + ".manifest", "");
    fs::write_atomic(t / "journal", "n." + live + ".0.staged", "");
    journal::Journal j(t / "journal");
    j.recover();
    EXPECT_EQ(names(t / "journal"), (std::vector<std::string>{"n." + live + ".0.staged"}));
    EXPECT_TRUE(fs::exists(t / ("journal/.n." + live + ".manifest")));
}

TEST(Journal, MarkersLastUntilTheTransactionIsDone) {
    TempDir t;
    journal::Journal j(t / "journal");
    j.mark("m", "sent");
    EXPECT_TRUE(j.marked("m", "sent"));
    EXPECT_FALSE(j.marked("m2", "sent"));
    j.stage("m", {}, {});
    j.commit_all();
    EXPECT_FALSE(j.marked("m", "sent"));
}

TEST(Journal, KilledAtEveryInstantNothingLostNothingTwice) {
    // Fork runs that stage and commit, kill them after a random delay, recover, and check that
    // every message ended up either still there (and no output) or gone with all its outputs.
    TempDir t;
    for (int round = 0; round < 40; ++round) {
        std::string name = "m" + std::to_string(round);
        fs::write_atomic(t / "in", name, "x");
        pid_t pid = ::fork();
        if (pid == 0) {
            journal::Journal j(t / "journal");
            j.stage(name, {out(t, name + ".1", "1"), out(t, name + ".2", "2")},
                    {{t / ("in/" + name), ""}});
            j.commit_all();
            ::_exit(0);
        }
        ::usleep(static_cast<useconds_t>((round * 397) % 3000));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        journal::Journal j(t / "journal");
        j.recover();
        bool input = fs::exists(t / ("in/" + name));
        bool o1 = fs::exists(t / ("out/" + name + ".1"));
        bool o2 = fs::exists(t / ("out/" + name + ".2"));
        EXPECT_EQ(o1, o2) << name << ": outputs appear together";
        EXPECT_NE(input, o1) << name << ": either still to route, or routed";
    }
}

// A file the same as an earlier one of its transaction (PlannedFile::same_as) is a second link
// of it: one inode in two folders. One that differs in content or mode is written.
TEST(Journal, ASameFileIsASecondLink) {
    TempDir t;
    stdfs::create_directory(t / "records");
    fs::write_atomic(t / "in", "m1", "message");
    auto [q, r] = queue_and_record(t);
    fs::PlannedFile other = r; // the same, but another content: written
    other.name = "r2";
    other.content = "other";
    fs::PlannedFile mode = r; // another mode: written
    mode.name = "r3";
    mode.mode = 0600;
    fs::PlannedFile first = r; // before the file it names: written
    first.name = "r0";
    journal::Journal j(t / "journal");
    j.stage("m1", {first, q, r, other, mode}, {{t / "in/m1", ""}});
    j.commit_all();
    struct stat sq, sr, so, sm, sf;
    ASSERT_EQ(::stat((t / "out/q1").c_str(), &sq), 0);
    ASSERT_EQ(::stat((t / "records/r1").c_str(), &sr), 0);
    ASSERT_EQ(::stat((t / "records/r2").c_str(), &so), 0);
    ASSERT_EQ(::stat((t / "records/r3").c_str(), &sm), 0);
    ASSERT_EQ(::stat((t / "records/r0").c_str(), &sf), 0);
    EXPECT_EQ(sq.st_ino, sr.st_ino);
    EXPECT_EQ(sq.st_nlink, 2u);
    EXPECT_EQ(fs::read_file(t / "records/r1"), "queue file");
    EXPECT_NE(so.st_ino, sq.st_ino);
    EXPECT_EQ(fs::read_file(t / "records/r2"), "other");
    EXPECT_NE(sm.st_ino, sq.st_ino);
    EXPECT_EQ(sm.st_mode & 0777, 0600u);
    EXPECT_NE(sf.st_ino, sq.st_ino);
    EXPECT_EQ(fs::read_file(t / "records/r0"), "queue file");
    // The queue file taken (deleted) leaves the record whole.
    ASSERT_EQ(::unlink((t / "out/q1").c_str()), 0);
    EXPECT_EQ(fs::read_file(t / "records/r1"), "queue file");
    EXPECT_FALSE(fs::exists(t / "in/m1"));
}

// The second link is made when the batch is applied, not staged: until then its folder holds
// nothing of the transaction (no temporary to rename there).
TEST(Journal, ASecondLinkIsMadeWhenTheBatchIsApplied) {
    TempDir t;
    stdfs::create_directory(t / "records");
    fs::write_atomic(t / "in", "m1", "message");
    auto [q, r] = queue_and_record(t);
    journal::Journal j(t / "journal");
    j.stage("m1", {q, r}, {{t / "in/m1", ""}});
    j.commit_batch(); // closed, its sync under way: not applied
    EXPECT_TRUE(stdfs::is_empty(t / "records"));
    j.commit_all();
    EXPECT_EQ(names(t / "records"), std::vector<std::string>{"r1"});
    EXPECT_EQ(names(t / "out"), std::vector<std::string>{"q1"});
    EXPECT_FALSE(fs::exists(t / "in/m1"));
}

// A dead run's committed batch, finished from every point its apply could have stopped at: the
// link not made, made with the output still a temporary, and made with the output in place.
TEST(Journal, ACommittedLinkIsFinishedFromWhereItStopped) {
    for (int stopped = 0; stopped < 3; ++stopped) {
        TempDir t;
        stdfs::create_directory(t / "records");
        fs::write_atomic(t / "in", "m", "x");
        const std::string temp = t / "out/.q.999999999-1";
        fs::write_atomic(t / "out", ".q.999999999-1", "queue file");
        if (stopped >= 1) {
            ASSERT_EQ(::link(temp.c_str(), (t / "records/r").c_str()), 0);
        }
        if (stopped >= 2) {
            ASSERT_EQ(::rename(temp.c_str(), (t / "out/q").c_str()), 0);
        }
        fs::write_atomic(t / "journal", "999999999.1.batch",
                         "tx\tm\nin\t" + (t / "in/m") + "\t\nout\t" + temp + "\t0\t" + (t / "out") +
                             "\tq\nlink\t" + temp + "\t" + (t / "records") + "\tr\n");
        journal::Journal j(t / "journal");
        EXPECT_EQ(j.recover(), 1) << stopped;
        EXPECT_EQ(names(t / "out"), std::vector<std::string>{"q"}) << stopped;
        EXPECT_EQ(names(t / "records"), std::vector<std::string>{"r"}) << stopped;
        struct stat sq, sr;
        ASSERT_EQ(::stat((t / "out/q").c_str(), &sq), 0);
        ASSERT_EQ(::stat((t / "records/r").c_str(), &sr), 0);
        EXPECT_EQ(sq.st_ino, sr.st_ino) << stopped;
        EXPECT_FALSE(fs::exists(t / "in/m")) << stopped;
        EXPECT_TRUE(names(t / "journal").empty()) << stopped;
    }
}

// A link that cannot be made moves nothing: the output stays a temporary (app_sms cannot take
// it before its record is there) and the input stays, until a later run can make it.
TEST(Journal, AnOutputIsNotMovedBeforeItsLink) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    fs::write_atomic(t.path, "blocker", "a file");
    const std::string temp = t / "out/.q.999999999-1";
    fs::write_atomic(t / "out", ".q.999999999-1", "queue file");
    fs::write_atomic(t / "journal", "999999999.1.batch",
                     "tx\tm\nin\t" + (t / "in/m") + "\t\nout\t" + temp + "\t0\t" + (t / "out") +
                         "\tq\nlink\t" + temp + "\t" + (t / "blocker/records") + "\tr\n");
    {
        journal::Journal j(t / "journal");
        EXPECT_EQ(j.recover(), 0);
        EXPECT_EQ(j.stuck().count(t / "in/m"), 1u);
        EXPECT_FALSE(fs::exists(t / "out/q"));
        EXPECT_TRUE(fs::exists(temp));
    }
    ::unlink((t / "blocker").c_str());
    journal::Journal j(t / "journal");
    EXPECT_EQ(j.recover(), 1);
    EXPECT_EQ(names(t / "out"), std::vector<std::string>{"q"});
    EXPECT_EQ(names(t / "blocker/records"), std::vector<std::string>{"r"});
    EXPECT_FALSE(fs::exists(t / "in/m"));
}

// Killed at any instant, a transaction whose second output is a link of its first: both or
// neither, and the input gone exactly when they are there.
TEST(Journal, KilledAtEveryInstantLinkedOutputsAppearTogether) {
    TempDir t;
    stdfs::create_directory(t / "records");
    for (int round = 0; round < 30; ++round) {
        std::string name = "m" + std::to_string(round);
        fs::write_atomic(t / "in", name, "x");
        pid_t pid = ::fork();
        if (pid == 0) {
            journal::Journal j(t / "journal");
            fs::PlannedFile q = out(t, name, "text " + name);
            fs::PlannedFile r = q;
            r.dir = t / "records";
            r.same_as = fs::join(q.dir, q.name);
            j.stage(name, {q, r}, {{t / ("in/" + name), ""}});
            j.commit_all();
            ::_exit(0);
        }
        ::usleep(static_cast<useconds_t>((round * 331) % 2500));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        journal::Journal j(t / "journal");
        j.recover();
        bool input = fs::exists(t / ("in/" + name));
        bool q = fs::exists(t / ("out/" + name));
        bool r = fs::exists(t / ("records/" + name));
        EXPECT_EQ(q, r) << name << ": both links or neither";
        EXPECT_NE(input, q) << name << ": either still to route, or routed";
        if (r) {
            EXPECT_EQ(fs::read_file(t / ("records/" + name)), "text " + name);
        }
    }
    // No temporary left behind in either folder.
    for (auto d : {"out", "records"})
        for (const auto& e : stdfs::directory_iterator(t / d))
            EXPECT_NE(e.path().filename().string().front(), '.') << e.path();
}

TEST(Journal, ABatchHasOneManifestAndWritesASharedOutputOnce) {
    TempDir t;
    journal::Journal j(t / "journal");
    for (int i = 0; i < 5; ++i) {
        std::string m = "m" + std::to_string(i);
        fs::write_atomic(t / "in", m, "x");
        // Every message queues a file of its own and wants the phone's delivery call.
        j.stage(m, {out(t, m + ".q", m), out(t, "call", "call of " + m)}, {{t / ("in/" + m), ""}});
    }
    EXPECT_EQ(j.pending(), 5u);
    std::size_t manifests = 0, temporaries = 0;
    for (const auto& e : stdfs::directory_iterator(t / "journal"))
        manifests += e.path().filename().string().ends_with(".batch");
    for (const auto& e : stdfs::directory_iterator(t / "out"))
        temporaries += e.path().filename().string().starts_with(".call.");
    EXPECT_EQ(manifests, 1u);
    EXPECT_EQ(temporaries, 1u) << "one delivery call written for the batch";
    j.commit_all();
    EXPECT_EQ(names(t / "out"),
              (std::vector<std::string>{"call", "m0.q", "m1.q", "m2.q", "m3.q", "m4.q"}));
    EXPECT_EQ(fs::read_file(t / "out/call"), "call of m0");
    EXPECT_TRUE(names(t / "in").empty());
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "journal"), stdfs::directory_iterator{}),
              0);
    auto done = j.take_done();
    EXPECT_EQ(done.size(), 5u);
    EXPECT_TRUE(j.take_done().empty());
    // Nothing left behind in the output folder either (temporaries are dotfiles there).
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "out"), stdfs::directory_iterator{}), 6);
}

// Each commit_batch waits for the previous one's sync and its steps (taken beside the run, in
// the sync's thread), so what is asserted here is what those steps had to have done by then.
TEST(Journal, BatchesArePipelinedOneSyncEach) {
    TempDir t;
    journal::Journal j(t / "journal");
    fs::write_atomic(t / "in", "a", "x");
    fs::write_atomic(t / "in", "b", "x");
    j.stage("a", {out(t, "a.q", "A")}, {{t / "in/a", ""}});
    j.commit_batch(); // a closed: its sync, then its commit, beside us
    EXPECT_EQ(j.pending(), 0u);
    EXPECT_TRUE(fs::exists(t / "in/a"));
    EXPECT_FALSE(fs::exists(t / "out/a.q")); // moved only after the sync of its commit
    j.stage("b", {out(t, "b.q", "B")}, {{t / "in/b", ""}});
    j.commit_batch(); // a committed; b's sync under way, then a's moves, b's commit
    EXPECT_GE(names(t / "journal").size(), 1u);
    EXPECT_TRUE(j.take_done().empty()); // told only once waited for
    j.commit_batch();                   // a in place, b committed
    EXPECT_FALSE(fs::exists(t / "in/a"));
    EXPECT_TRUE(fs::exists(t / "out/a.q"));
    EXPECT_EQ(j.take_done(), (std::vector<std::string>{t / "in/a"}));
    j.commit_all();
    EXPECT_FALSE(fs::exists(t / "in/b"));
    EXPECT_EQ(fs::read_file(t / "out/b.q"), "B");
    EXPECT_EQ(j.take_done(), (std::vector<std::string>{t / "in/b"}));
    EXPECT_TRUE(names(t / "journal").empty());
}

// A batch the sync's thread committed while the run was ending (an exception skipped the last
// commit) is the next run's to finish: its outputs are not thrown away with the journal.
TEST(Journal, ABatchCommittedBesideARunThatEndsIsFinishedByTheNext) {
    TempDir t;
    fs::write_atomic(t / "in", "a", "x");
    {
        journal::Journal j(t / "journal");
        j.stage("a", {out(t, "a.q", "A")}, {{t / "in/a", ""}});
        j.commit_batch(); // synced and committed beside us, never waited for
    }
    EXPECT_EQ(names(t / "journal").size(), 1u) << "committed, left for the next run";
    EXPECT_TRUE(fs::exists(t / "in/a"));
    journal::Journal next(t / "journal");
    EXPECT_EQ(next.recover(), 1);
    EXPECT_EQ(fs::read_file(t / "out/a.q"), "A");
    EXPECT_FALSE(fs::exists(t / "in/a"));
}

TEST(Journal, AnInputADeadRunCommittedIsNotDeliveredAgain) {
    // A run committed a batch holding m and the phone's call, then died; we locked m only after
    // that and staged it again, relying on the dead run's call file: the dead run's batch is
    // finished, our transaction for m dropped, and n keeps the call it relies on.
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    fs::write_atomic(t / "in", "n", "y");
    fs::write_atomic(t / "out", ".m.q.999999999.1", "M");
    fs::write_atomic(t / "journal", "999999999.1.batch",
                     "tx\tm\nin\t" + (t / "in/m") + "\t\nout\t" + (t / "out/.m.q.999999999.1") +
                         "\t0\t" + (t / "out") + "\tm.q\n");
    journal::Journal j(t / "journal");
    j.stage("m", {out(t, "call", "C"), out(t, "m.q", "M again")}, {{t / "in/m", ""}});
    j.stage("n", {out(t, "call", "C"), out(t, "n.q", "N")}, {{t / "in/n", ""}});
    j.commit_all();
    EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"call", "m.q", "n.q"}));
    EXPECT_EQ(fs::read_file(t / "out/m.q"), "M");
    EXPECT_TRUE(names(t / "in").empty());
    EXPECT_TRUE(names(t / "journal").empty());
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "out"), stdfs::directory_iterator{}), 3);
}

TEST(Journal, TemporariesOfADeadRunsUncommittedBatchAreRemoved) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    fs::write_atomic(t / "out", ".m.q.999999999.1", "M");
    fs::write_atomic(t / "journal", ".999999999.1.batch",
                     "tx\tm\nin\t" + (t / "in/m") + "\t\nout\t" + (t / "out/.m.q.999999999.1") +
                         "\t0\t" + (t / "out") + "\tm.q\n");
    journal::Journal j(t / "journal");
    EXPECT_EQ(j.recover(), 0);
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "out"), stdfs::directory_iterator{}), 0);
    EXPECT_TRUE(names(t / "journal").empty());
    EXPECT_TRUE(fs::exists(t / "in/m"));
}

TEST(Journal, KilledAtEveryInstantInBatchesNothingLostNothingTwice) {
    TempDir t;
    for (int round = 0; round < 30; ++round) {
        std::vector<std::string> ms;
        for (int i = 0; i < 6; ++i) {
            ms.push_back("r" + std::to_string(round) + "m" + std::to_string(i));
            fs::write_atomic(t / "in", ms.back(), "x");
        }
        pid_t pid = ::fork();
        if (pid == 0) {
            journal::Journal j(t / "journal");
            for (std::size_t i = 0; i < ms.size(); ++i) {
                j.stage(ms[i], {out(t, ms[i] + ".1", "1"), out(t, ms[i] + ".2", "2")},
                        {{t / ("in/" + ms[i]), ""}});
                if (i % 2 == 1)
                    j.commit_batch();
            }
            j.commit_all();
            ::_exit(0);
        }
        ::usleep(static_cast<useconds_t>((round * 397) % 4000));
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        journal::Journal j(t / "journal");
        j.recover();
        for (const auto& m : ms) {
            bool input = fs::exists(t / ("in/" + m));
            bool o1 = fs::exists(t / ("out/" + m + ".1"));
            bool o2 = fs::exists(t / ("out/" + m + ".2"));
            EXPECT_EQ(o1, o2) << m << ": outputs appear together";
            EXPECT_NE(input, o1) << m << ": either still to route, or routed";
        }
    }
    EXPECT_TRUE(names(t / "journal").empty());
}

TEST(Journal, ACommittedBatchThatCannotBeFinishedIsLeftForLater) {
    // A dead run's dead letter names a folder that is now under a file: recover() does not
    // throw, leaves the entry and says which input it holds; once the folder is usable the
    // entry is finished.
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    fs::write_atomic(t.path, "blocker", "a file");
    fs::write_atomic(t / "journal", "999999999.1.batch",
                     "tx\tm\nin\t" + (t / "in/m") + "\t" + (t / "blocker/failed") + "\n");
    {
        journal::Journal j(t / "journal");
        EXPECT_EQ(j.recover(), 0);
        ASSERT_EQ(j.stuck().size(), 1u);
        EXPECT_EQ(j.stuck().begin()->first, t / "in/m");
        EXPECT_TRUE(fs::exists(t / "in/m"));
        EXPECT_TRUE(fs::exists(t / "journal/999999999.1.batch"));
        // Other work goes on.
        fs::write_atomic(t / "in", "n", "y");
        j.stage("n", {out(t, "n.q", "N")}, {{t / "in/n", ""}});
        j.commit_all();
        EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"n.q"}));
        EXPECT_EQ(names(t / "in"), (std::vector<std::string>{"m"}));
    }
    ::unlink((t / "blocker").c_str());
    journal::Journal j(t / "journal");
    EXPECT_EQ(j.recover(), 1);
    EXPECT_TRUE(j.stuck().empty());
    EXPECT_TRUE(names(t / "in").empty());
    EXPECT_EQ(names(t / "blocker/failed"), (std::vector<std::string>{"m"}));
    EXPECT_TRUE(names(t / "journal").empty());
}

TEST(Journal, OwnBatchThatCannotBeFinishedIsLeftForTheNextRun) {
    TempDir t;
    fs::write_atomic(t / "in", "m", "x");
    fs::write_atomic(t / "in", "n", "y");
    fs::write_atomic(t.path, "blocker", "a file");
    {
        journal::Journal j(t / "journal");
        j.stage("m", {}, {{t / "in/m", t / "blocker/failed"}});
        j.stage("n", {out(t, "n.q", "N")}, {{t / "in/n", ""}});
        EXPECT_NO_THROW(j.commit_all());
        EXPECT_EQ(j.stuck().count(t / "in/m"), 1u);
        // The batch is committed: its outputs are in place, its inputs wait with it.
        EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"n.q"}));
        EXPECT_TRUE(fs::exists(t / "in/m"));
        EXPECT_EQ(j.take_done(), std::vector<std::string>{});
        // A later batch of the same run goes on, and does not take m again.
        fs::write_atomic(t / "in", "o", "z");
        j.stage("o", {out(t, "o.q", "O")}, {{t / "in/o", ""}});
        j.commit_all();
        EXPECT_EQ(names(t / "out"), (std::vector<std::string>{"n.q", "o.q"}));
        EXPECT_FALSE(fs::exists(t / "in/o"));
    }
    ::unlink((t / "blocker").c_str());
    journal::Journal j(t / "journal");
    EXPECT_EQ(j.recover(), 1);
    EXPECT_TRUE(names(t / "in").empty());
    EXPECT_EQ(names(t / "blocker/failed"), (std::vector<std::string>{"m"}));
    EXPECT_TRUE(names(t / "journal").empty());
}
