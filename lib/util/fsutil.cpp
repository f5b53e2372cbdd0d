// File-system primitives: atomic writes with fsync, listing, locks.
#include "util/fsutil.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::fs {

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::string join(std::string_view dir, std::string_view name) {
    if (dir.empty())
        return std::string(name);
    // One allocation: a path is joined several times for every message routed.
    std::string out;
    out.reserve(dir.size() + 1 + name.size());
    out.append(dir);
    if (out.back() != '/')
        out.push_back('/');
    out.append(name);
    return out;
}

std::string dirname(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos)
        return ".";
    if (slash == 0)
        return "/";
    return std::string(path.substr(0, slash));
}

std::string basename(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& path, unsigned mode) {
    if (path.empty() || is_dir(path))
        return;
    auto parent = dirname(path);
    if (parent != path)
        make_dirs(parent, mode);
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
        throw_errno(Exit::cantcreat, path, errno);
}

namespace {

// Appends what is left of `fd` to `out`; a read error throws `read_exit`, and once more than
// `max_bytes` are in, `too_large(size)` is called (it throws).
template <class TooLarge>
void read_to_end(int fd, const std::string& path, std::size_t max_bytes, Exit read_exit,
                 std::string& out, TooLarge&& too_large) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0)
            return;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno(read_exit, path, errno);
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes)
            too_large(static_cast<std::uint64_t>(out.size()));
    }
}

} // namespace

std::string read_file(const std::string& path, std::size_t max_bytes) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        throw_errno(Exit::noinput, path, errno);
    std::string out;
    read_to_end(fd.get(), path, max_bytes, Exit::ioerr, out, [&](std::uint64_t) {
        throw Error(Exit::dataerr, path, fmt::format("larger than {} bytes", max_bytes));
    });
    return out;
}

const char* file_kind(unsigned m) {
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISLNK(m))
        return "a symbolic link";
    if (S_ISREG(m))
        return "a regular file";
    return "not a regular file";
}

namespace {

std::string subject(std::string_view what, const std::string& path) {
    return what.empty() ? path : fmt::format("{} {}", what, path);
}

} // namespace

Fd open_regular(const std::string& path, Exit bad, struct stat& st) {
    // O_NONBLOCK: opening a FIFO with no writer would block for ever; O_NOCTTY: a terminal
    // never becomes ours.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd)
        throw_errno(bad == Exit::config ? Exit::config : Exit::noinput, path, errno);
    if (::fstat(fd.get(), &st) != 0)
        throw_errno(Exit::ioerr, path, errno);
    if (!S_ISREG(st.st_mode))
        throw Error(bad, path,
                    fmt::format("{}, not a regular file: refused", file_kind(st.st_mode)));
    return fd;
}

std::string read_all(const Fd& fd, const struct stat& st, const std::string& path,
                     std::size_t max_bytes, Exit bad, std::string_view what) {
    auto too_large = [&](std::uint64_t size) {
        throw Error(bad, subject(what, path),
                    fmt::format("{} bytes, larger than the limit of {} bytes", size, max_bytes));
    };
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
        too_large(static_cast<std::uint64_t>(st.st_size));
    std::string out;
    out.reserve(static_cast<std::size_t>(st.st_size));
    read_to_end(fd.get(), path, max_bytes, bad == Exit::config ? Exit::config : Exit::ioerr, out,
                too_large); // too large: it grew while read
    return out;
}

std::string read_regular(const std::string& path, std::size_t max_bytes, Exit bad,
                         std::string_view what) {
    struct stat st;
    Fd fd = open_regular(path, bad, st);
    return read_all(fd, st, path, max_bytes, bad, what);
}

void write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno(Exit::cantcreat, what, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void fsync_fd(int fd, const std::string& what) {
    if (::fsync(fd) != 0)
        throw_errno(Exit::cantcreat, what, errno);
}

void fsync_dir(const std::string& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        throw_errno(Exit::cantcreat, dir, errno);
    // Some file systems refuse fsync on a folder; the rename is then as durable as it gets.
    if (::fsync(fd.get()) != 0 && errno != EINVAL)
        throw_errno(Exit::cantcreat, dir, errno);
}

bool rename_noreplace(const std::string& from, const std::string& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return true;
    if (errno == EEXIST)
        return false;
    if (errno != EINVAL && errno != ENOSYS)
        throw_errno(Exit::cantcreat, to, errno);
    // No RENAME_NOREPLACE on this file system: link() refuses an existing target too.
    if (::link(from.c_str(), to.c_str()) != 0) {
        if (errno == EEXIST)
            return false;
        throw_errno(Exit::cantcreat, to, errno);
    }
    ::unlink(from.c_str());
    return true;
}

namespace {

std::string temp_name(const std::string& name) {
    static std::atomic<unsigned> counter{0};
    return fmt::format(".{}.{}.{}.tmp", name, ::getpid(), counter++);
}

} // namespace

bool write_atomic(const std::string& dir, const std::string& name, std::string_view data,
                  const WriteOptions& opts) {
    const std::string target = join(dir, name);
    const std::string tmp = join(opts.temp_dir.empty() ? dir : opts.temp_dir, temp_name(name));
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, opts.mode));
    if (!fd)
        throw_errno(Exit::cantcreat, tmp, errno);
    try {
        write_all(fd.get(), data, target);
        if (opts.mtime) {
            auto secs =
                std::chrono::duration_cast<std::chrono::nanoseconds>(opts.mtime->time_since_epoch())
                    .count();
            struct timespec ts[2];
            ts[0].tv_sec = 0;
            ts[0].tv_nsec = UTIME_NOW;
            ts[1].tv_sec = static_cast<time_t>(secs / 1000000000);
            ts[1].tv_nsec = static_cast<long>(secs % 1000000000);
            if (::futimens(fd.get(), ts) != 0)
                throw_errno(Exit::cantcreat, target, errno);
        }
        if (::fchmod(fd.get(), opts.mode) != 0)
            throw_errno(Exit::cantcreat, target, errno);
        if (opts.sync)
            fsync_fd(fd.get(), target);
        if (::close(fd.release()) != 0)
            throw_errno(Exit::cantcreat, target, errno);
        bool placed;
        if (opts.replace) {
            if (::rename(tmp.c_str(), target.c_str()) != 0)
                throw_errno(Exit::cantcreat, target, errno);
            placed = true;
        } else {
            placed = rename_noreplace(tmp, target);
        }
        if (!placed) {
            ::unlink(tmp.c_str());
            return false;
        }
        if (opts.sync)
            fsync_dir(dir);
        return true;
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
}

bool commit(const PlannedFile& f) {
    WriteOptions o;
    o.mode = f.mode;
    o.replace = f.replace;
    o.mtime = f.mtime;
    o.temp_dir = f.temp_dir;
    make_dirs(f.dir);
    if (!f.temp_dir.empty())
        make_dirs(f.temp_dir);
    return write_atomic(f.dir, f.name, f.content, o);
}

std::string move_into(const std::string& path, const std::string& dest, const std::string& name) {
    make_dirs(dest);
    for (int i = 0; i < 1000; ++i) {
        std::string target = join(dest, i == 0 ? name : fmt::format("{}.{}", name, i));
        if (rename_noreplace(path, target))
            return target;
    }
    throw Error(Exit::cantcreat, dest, fmt::format("no free name for {}", name));
}

std::vector<std::string> list_regular(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT)
            return out;
        throw_errno(Exit::noinput, dir, errno);
    }
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        bool regular = e->d_type == DT_REG;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            regular = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      S_ISREG(st.st_mode);
        }
        if (regular)
            out.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

Fd open_lock_file(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600));
    if (!fd && errno == ELOOP)
        throw Error(Exit::config, path,
                    "is a symbolic link: refused (lock files are never followed)");
    if (!fd)
        throw_errno(Exit::cantcreat, path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0)
        throw_errno(Exit::oserr, path, errno);
    if (!S_ISREG(st.st_mode))
        throw Error(Exit::config, path, "not a regular file: refused as a lock file");
    return fd;
}

} // namespace

void ensure_state_dir(const std::string& path) {
    make_dirs(dirname(path));
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
        throw_errno(Exit::cantcreat, path, errno);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0)
        throw_errno(Exit::cantcreat, path, errno);
    if (S_ISLNK(st.st_mode))
        throw Error(Exit::config, path,
                    "is a symbolic link: the suite's state folder must be a real folder");
    if (!S_ISDIR(st.st_mode))
        throw Error(Exit::config, path, "not a folder");
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        throw Error(Exit::config, path,
                    fmt::format("owned by uid {}, neither root nor the running user ({})",
                                st.st_uid, ::geteuid()));
    if ((st.st_mode & 022) != 0)
        throw Error(Exit::config, path,
                    fmt::format("writable by {} (mode {:04o}): the suite's state folder must be "
                                "writable by its owner only",
                                (st.st_mode & 002) ? "others" : "its group", st.st_mode & 07777));
}

std::vector<std::pair<std::string, std::string>> list_irregular(const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT)
            return out;
        throw_errno(Exit::noinput, dir, errno);
    }
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.' || e->d_type == DT_REG || e->d_type == DT_DIR)
            continue;
        struct stat st;
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // gone meanwhile
        const char* what = S_ISLNK(st.st_mode)                          ? "a symbolic link"
                           : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                           : S_ISSOCK(st.st_mode)                       ? "a socket"
                           : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                        : nullptr;
        if (what)
            out.emplace_back(e->d_name, what);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

Lock Lock::acquire(const std::string& path) {
    Fd fd = open_lock_file(path);
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
            throw_errno(Exit::oserr, path, errno);
    }
    return Lock(std::move(fd));
}

std::optional<Lock> Lock::try_acquire(const std::string& path) {
    return try_acquire(open_lock_file(path));
}

std::optional<Lock> Lock::try_acquire(Fd fd) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return std::nullopt;
        throw_errno(Exit::oserr, "flock", errno);
    }
    return Lock(std::move(fd));
}

} // namespace sms::fs
