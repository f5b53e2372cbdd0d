// Tests of lib/fsutil: atomic writes, no-replace, modification times, locks, listing.
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sms;

namespace {
using test::TempDir;

} // namespace

TEST(Fs, WriteAtomicSetsModeAndMtime) {
    TempDir t;
    fs::WriteOptions o;
    o.mode = 0600;
    auto when = std::chrono::system_clock::now() + std::chrono::hours(2);
    o.mtime = when;
    ASSERT_TRUE(fs::write_atomic(t.path, "f", "data", o));
    struct stat st;
    ASSERT_EQ(::stat((t.path + "/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_mtime, std::chrono::system_clock::to_time_t(when));
    EXPECT_EQ(fs::read_file(t.path + "/f"), "data");
}

// The one way a file someone named is read: never anything but a regular file, never more
// than the limit (both known before a byte is read: a FIFO with no writer returns at once).
TEST(Fs, ReadRegularRefusesFifosDevicesAndOversizeAtOnce) {
    TempDir t;
    std::string fifo = t.path + "/p.png";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto refused = [](const std::string& path, Exit bad, std::size_t max, const char* why) {
        try {
            fs::read_regular(path, max, bad, "picture");
            ADD_FAILURE() << path << " read";
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), bad) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    };
    refused(fifo, Exit::dataerr, 1 << 20, "a FIFO, not a regular file");
    refused(fifo, Exit::config, 1 << 20, "a FIFO, not a regular file");
    refused("/dev/zero", Exit::dataerr, 1 << 20, "a character device");
    refused(t.path, Exit::dataerr, 1 << 20, "a folder");
    fs::write_atomic(t.path, "f", std::string(100, 'x'));
    refused(t.path + "/f", Exit::dataerr, 99, "100 bytes, larger than the limit of 99");
    EXPECT_EQ(fs::read_regular(t.path + "/f", 100, Exit::dataerr).size(), 100u);
    try {
        fs::read_regular(t.path + "/missing", 100, Exit::dataerr);
        ADD_FAILURE() << "a missing file read";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::noinput);
    }
}

TEST(Fs, NoReplaceKeepsTheFirstAndReplaceOverwrites) {
    TempDir t;
    EXPECT_TRUE(fs::write_atomic(t.path, "f", "one"));
    EXPECT_FALSE(fs::write_atomic(t.path, "f", "two"));
    EXPECT_EQ(fs::read_file(t.path + "/f"), "one");
    fs::WriteOptions o;
    o.replace = true;
    EXPECT_TRUE(fs::write_atomic(t.path, "f", "three", o));
    EXPECT_EQ(fs::read_file(t.path + "/f"), "three");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(t.path),
                            std::filesystem::directory_iterator{}),
              1);
}

TEST(Fs, UnwritableFolderIsCantCreatAndLeavesNothing) {
    if (::geteuid() == 0)
        GTEST_SKIP() << "root writes anywhere";
    TempDir t;
    ::chmod(t.path.c_str(), 0500);
    try {
        fs::write_atomic(t.path, "f", "x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::cantcreat);
    }
}

TEST(Fs, MissingFolderIsAnErrorNamingThePath) {
    try {
        fs::write_atomic("/nonexistent/folder", "f", "x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::cantcreat);
        EXPECT_NE(e.subject().find("/nonexistent/folder"), std::string::npos);
    }
}

TEST(Fs, LockExcludesAnotherProcess) {
    TempDir t;
    auto path = t.path + "/lock";
    auto held = fs::Lock::acquire(path);
    pid_t pid = ::fork();
    if (pid == 0) {
        auto l = fs::Lock::try_acquire(path);
        ::_exit(l ? 1 : 0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the child got a lock held by the parent";
}

TEST(Fs, MakeDirsAndPaths) {
    TempDir t;
    fs::make_dirs(t.path + "/a/b/c");
    EXPECT_TRUE(fs::is_dir(t.path + "/a/b/c"));
    EXPECT_EQ(fs::join("a", "b"), "a/b");
    EXPECT_EQ(fs::join("a/", "b"), "a/b");
    EXPECT_EQ(fs::dirname("/x/y/z"), "/x/y");
    EXPECT_EQ(fs::basename("/x/y/z"), "z");
}

// Lock and state files are never followed through a symlink planted in the suite's folder.
TEST(Fs, LockRefusesASymlinkAndCreatesNothingThroughIt) {
    test::TempDir t;
    std::string target = t.path + "/target";
    std::string lock = t.path + "/reassembly.lock";
    ASSERT_EQ(::symlink(target.c_str(), lock.c_str()), 0);
    try {
        fs::Lock::acquire(lock);
        FAIL() << "followed the symlink";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::config);
        EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
    }
    EXPECT_THROW(fs::Lock::try_acquire(lock), Error);
    EXPECT_FALSE(fs::exists(target));
    ASSERT_EQ(::mkfifo((t.path + "/fifo.lock").c_str(), 0600), 0);
    EXPECT_THROW(fs::Lock::acquire(t.path + "/fifo.lock"), Error);
    // A new lock file is private.
    fs::Lock::acquire(t.path + "/new.lock");
    struct stat st;
    ASSERT_EQ(::stat((t.path + "/new.lock").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Fs, StateDirIsCreatedSafeAndChecked) {
    test::TempDir t;
    std::string d = t.path + "/sms/.sms-suite";
    fs::ensure_state_dir(d);
    struct stat st;
    ASSERT_EQ(::lstat(d.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 022, 0u);
    fs::ensure_state_dir(d); // again: fine
    auto refused = [](const std::string& path, const char* why) {
        try {
            fs::ensure_state_dir(path);
            ADD_FAILURE() << path << " accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), Exit::config) << e.what();
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
    };
    ::chmod(d.c_str(), 0777);
    refused(d, "writable by others");
    ::chmod(d.c_str(), 0775);
    refused(d, "writable by its group");
    ::chmod(d.c_str(), 0755);
    std::string elsewhere = t.path + "/elsewhere";
    fs::make_dirs(elsewhere);
    std::string link = t.path + "/sms/.linked";
    ASSERT_EQ(::symlink(elsewhere.c_str(), link.c_str()), 0);
    refused(link, "symbolic link");
    std::string other = t.path + "/other";
    fs::make_dirs(other);
    if (::geteuid() == 0) { // a folder of another user (only root can make one)
        ASSERT_EQ(::chown(other.c_str(), 65534, 65534), 0);
        refused(other, "owned by uid 65534");
    }
}
