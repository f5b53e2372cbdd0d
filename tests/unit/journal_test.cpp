// Tests of lib/journal: staged outputs appear all at once, inputs go only after, and a run that
// died at any step is finished by the next one exactly once.
#include "error.hpp"
#include "fsutil.hpp"
#include "journal.hpp"

#include <filesystem>
#include <gtest/gtest.h>
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
