// File-system primitives with the durability the suite promises: atomic writes, fsync, locks.
#pragma once

#include "util/error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct stat;

namespace sms::fs {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept
        : fd_(fd) {}
    Fd(Fd&& o) noexcept
        : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        int f = fd_;
        fd_ = -1;
        return f;
    }

private:
    int fd_ = -1;
};

std::string join(std::string_view dir, std::string_view name);
std::string dirname(std::string_view path);
std::string basename(std::string_view path);

bool exists(const std::string& path);
bool is_dir(const std::string& path);

// mkdir -p; throws Error(cantcreat) naming the folder.
void make_dirs(const std::string& path, unsigned mode = 0755);

// The suite's own state folder (<spool>/sms/.sms-suite and the folders under it, for locks,
// the journal, counters and records): created when missing (parents as make_dirs, itself 0755),
// then checked: a real folder (not a symlink), owned by root or the running user, writable by
// no one else. Throws Error(config) naming the folder and why, Error(cantcreat) when it cannot
// be created. Files inside are opened with O_NOFOLLOW, so nothing outside it is ever written
// through a link planted in it.
void ensure_state_dir(const std::string& path);

// Reads a whole file (at most max_bytes; more is Error(dataerr)). Throws Error(noinput).
std::string read_file(const std::string& path, std::size_t max_bytes = 16u << 20);

// A regular file opened for reading, never anything else: opened with O_NONBLOCK (a FIFO does
// not block the open), then fstat()ed; a FIFO, device, socket or folder is refused at once,
// naming what it is (Error(`bad`), e.g. dataerr for a picture, config for a file the
// configuration names). `st` is filled. Cannot open: Error(noinput), or `bad` when it is config.
Fd open_regular(const std::string& path, Exit bad, struct stat& st);

// The whole of a file open_regular opened, read with the size limit (checked on the size fstat
// gave before reading, and while reading): more is Error(`bad`) naming the limit. `what`
// ("picture", "configuration file") starts the message's subject.
std::string read_all(const Fd& fd, const struct stat& st, const std::string& path,
                     std::size_t max_bytes, Exit bad, std::string_view what = {});

// open_regular then read_all: the one way the suite reads a file someone else named (a picture,
// a logo, a configuration, a CSV to import).
std::string read_regular(const std::string& path, std::size_t max_bytes, Exit bad,
                         std::string_view what = {});

// "a FIFO", "a character device", "a socket", "a folder"... for a st_mode.
const char* file_kind(unsigned mode);

// Writes all bytes, retrying on EINTR/short writes. Throws Error naming `what`.
void write_all(int fd, std::string_view data, const std::string& what);

void fsync_fd(int fd, const std::string& what);
void fsync_dir(const std::string& dir);

struct WriteOptions {
    unsigned mode = 0644;
    bool sync = true;     // fsync the file before the rename (and the folder after)
    bool replace = false; // false: never overwrite an existing file (EEXIST -> false)
    std::string temp_dir; // where the temporary file goes; default: `dir` itself,
                          // as a dotfile
    std::optional<std::chrono::system_clock::time_point> mtime; // set before the rename
};

// Writes `data` to a temporary file, then renames it to dir/name. Returns false (and removes
// the temporary) when !replace and dir/name already exists. Throws Error(cantcreat/tempfail)
// on failure, leaving nothing behind.
bool write_atomic(const std::string& dir, const std::string& name, std::string_view data,
                  const WriteOptions& opts = {});

// rename without replacing the target: false when it exists.
bool rename_noreplace(const std::string& from, const std::string& to);

// Moves `path` into folder `dest` (created if missing) as `name`, or name.1, name.2... when
// taken; never replaces. Returns the new path.
std::string move_into(const std::string& path, const std::string& dest, const std::string& name);

// The regular files in `dir` whose names do not start with '.', sorted by name.
std::vector<std::string> list_regular(const std::string& dir);

// The entries of `dir` whose names do not start with '.' that are neither regular files nor
// folders (symbolic links, FIFOs, sockets, devices), each with what it is, sorted by name.
std::vector<std::pair<std::string, std::string>> list_irregular(const std::string& dir);

// An exclusive advisory lock (flock) held for the object's life. Lock files are opened with
// O_NOFOLLOW | O_CLOEXEC and created 0600: a symlink in their place is an error
// (Error(config), naming it), never followed, and a lock file that is not a regular file too.
class Lock {
public:
    // Blocking lock on `path` (created if missing).
    static Lock acquire(const std::string& path);
    // Non-blocking: nullopt when another process holds it.
    static std::optional<Lock> try_acquire(const std::string& path);
    // Non-blocking lock on an already open descriptor (owned).
    static std::optional<Lock> try_acquire(Fd fd);

    int fd() const noexcept { return fd_.get(); }

private:
    explicit Lock(Fd fd)
        : fd_(std::move(fd)) {}
    Fd fd_;
};

} // namespace sms::fs

namespace sms::fs {

// A file to be put in place later, all at once: what the router stages and then commits.
struct PlannedFile {
    std::string dir;
    std::string name;
    std::string content;
    unsigned mode = 0644;
    std::optional<std::chrono::system_clock::time_point> mtime;
    bool replace = false; // false: an existing file of that name means "already there"
    // Where the temporary is written before the rename; default: `dir` itself, as a dotfile.
    // Call files need another folder: pbx_spool reads every file in outgoing/, dotfiles too.
    std::string temp_dir;
    // The final path of an earlier file of the same plan with the same content and mode: the
    // journal may make this file a second link of that one instead of writing it again (one
    // inode less). Others write `content` as usual.
    std::string same_as;
};

// Writes a planned file atomically into its folder (write_atomic; both folders created when
// missing). Returns false when !replace and it was there already.
bool commit(const PlannedFile& f);

} // namespace sms::fs
