// The file-system ceiling for scripts/bench.sh: the router's file operations with no logic.
//
//   fsloop gen DIR N DESTS         writes N app_sms message files for DESTS destinations into DIR
//   fsloop replay DIR N OPS...     per message: reads input DIR/in/<i>, then does its share of
//                                  the operation counts OPS (totals for N messages, as strace
//                                  counted them on the router): creates writes bytes fsyncs
//                                  fdatasyncs syncfs renames unlinks mkdirs rmdirs fchmods
//   fsloop naive DIR N             per message, durably and without batching: reads the input,
//                                  writes a queue file and a call file (each: create, write,
//                                  fsync, rename), fsyncs both folders, unlinks the input and
//                                  fsyncs its folder
//
// Built by scripts/bench.sh with the system compiler; not part of the suite.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "fsloop: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

long arg(const char* s) {
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (!*s || *end || v < 0) {
        std::fprintf(stderr, "fsloop: not a count: %s\n", s);
        std::exit(64);
    }
    return v;
}

// RAII for a file descriptor.
struct Fd {
    int fd = -1;
    explicit Fd(int f)
        : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept
        : fd(o.fd) {
        o.fd = -1;
    }
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

void write_all(int fd, const std::string& data, const std::string& what) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0)
            die("write " + what);
        off += static_cast<std::size_t>(n);
    }
}

std::string read_all(const std::string& path) {
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (f.fd < 0)
        die("open " + path);
    std::string out;
    char buf[4096]; // our own test files, a few hundred bytes each
    ssize_t n;
    while ((n = ::read(f.fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    if (n < 0)
        die("read " + path);
    return out;
}

void mkdir_p(const std::string& dir) {
    for (auto slash = dir.find('/', 1); slash != std::string::npos;
         slash = dir.find('/', slash + 1))
        if (::mkdir(dir.substr(0, slash).c_str(), 0755) != 0 && errno != EEXIST)
            die("mkdir " + dir.substr(0, slash));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        die("mkdir " + dir);
}

// The share of `total` that falls on item i of n (spreads any count evenly, Bresenham-style).
long share(long total, long i, long n) {
    return (i + 1) * total / n - i * total / n;
}

int gen(const std::string& dir, long n, long dests) {
    mkdir_p(dir);
    for (long i = 0; i < n; ++i) {
        const std::string body =
            "oa=48500100200\nda=" + std::to_string(600700000 + i % (dests ? dests : 1)) +
            "\nud=Benchmark message " + std::to_string(i) +
            ": the quick brown fox jumps over the lazy dog.\nscts=2026-11-29T22:53:42\nmr=" +
            std::to_string(i % 256) + "\n";
        std::string name = dir + "/48500100200.2026-11-29T22:53:42-" + std::to_string(i);
        Fd f(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (f.fd < 0)
            die("create " + name);
        write_all(f.fd, body, name);
    }
    return 0;
}

std::vector<std::string> inputs(const std::string& in, long n) {
    std::vector<std::string> v;
    v.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i)
        v.push_back(in + "/48500100200.2026-11-29T22:53:42-" + std::to_string(i));
    return v;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int replay(const std::string& dir, long n, const std::vector<long>& ops) {
    const long creates = ops[0], writes = ops[1], bytes = ops[2], fsyncs = ops[3],
               fdatasyncs = ops[4], syncfss = ops[5], renames = ops[6], unlinks = ops[7],
               mkdirs = ops[8], rmdirs = ops[9], fchmods = ops[10];
    const std::string stage = dir + "/stage", out = dir + "/out", dirs = dir + "/dirs";
    mkdir_p(stage);
    mkdir_p(out);
    mkdir_p(dirs);
    Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.fd < 0)
        die("open " + dir);
    const auto in = inputs(dir + "/in", n);
    const std::string chunk(
        static_cast<std::size_t>(writes ? std::max<long>(1, bytes / writes) : 1), 'x');
    std::deque<std::string> staged, placed, made;
    long seq = 0;

    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        (void)read_all(in[static_cast<std::size_t>(i)]);
        for (long k = share(mkdirs, i, n); k > 0; --k) {
            std::string d = dirs + "/" + std::to_string(seq++);
            if (::mkdir(d.c_str(), 0700) != 0)
                die("mkdir " + d);
            made.push_back(d);
        }
        // Creates, with this message's writes spread over them; fsyncs and fchmods on them.
        std::vector<Fd> open_files;
        const long nc = share(creates, i, n), nw = share(writes, i, n);
        for (long k = 0; k < nc; ++k) {
            std::string f = stage + "/" + std::to_string(seq++);
            open_files.emplace_back(
                ::open(f.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
            if (open_files.back().fd < 0)
                die("create " + f);
            staged.push_back(f);
        }
        for (long k = 0; k < nw && !open_files.empty(); ++k)
            write_all(open_files[static_cast<std::size_t>(k) % open_files.size()].fd, chunk,
                      "staged file");
        for (long k = share(fchmods, i, n), j = 0; k > 0; --k, ++j)
            if (!open_files.empty())
                ::fchmod(open_files[static_cast<std::size_t>(j) % open_files.size()].fd, 0644);
        for (long k = share(fsyncs, i, n), j = 0; k > 0; --k, ++j)
            if (::fsync(open_files.empty()
                            ? dirfd.fd
                            : open_files[static_cast<std::size_t>(j) % open_files.size()].fd) != 0)
                die("fsync");
        for (long k = share(fdatasyncs, i, n), j = 0; k > 0; --k, ++j)
            if (::fdatasync(open_files.empty()
                                ? dirfd.fd
                                : open_files[static_cast<std::size_t>(j) % open_files.size()].fd) !=
                0)
                die("fdatasync");
        open_files.clear();
        for (long k = share(renames, i, n); k > 0; --k) {
            std::string to = out + "/" + std::to_string(seq++);
            std::string from;
            if (!staged.empty()) {
                from = staged.front();
                staged.pop_front();
            } else if (!placed.empty()) {
                from = placed.front();
                placed.pop_front();
            } else {
                break;
            }
            if (::rename(from.c_str(), to.c_str()) != 0)
                die("rename " + from);
            placed.push_back(to);
        }
        for (long k = share(syncfss, i, n); k > 0; --k)
            if (::syncfs(dirfd.fd) != 0)
                die("syncfs");
        long nu = share(unlinks, i, n);
        if (nu > 0) {
            if (::unlink(in[static_cast<std::size_t>(i)].c_str()) != 0)
                die("unlink " + in[static_cast<std::size_t>(i)]);
            --nu;
        }
        for (; nu > 0; --nu) {
            auto& q = !placed.empty() ? placed : staged;
            if (q.empty())
                break;
            if (::unlink(q.front().c_str()) != 0)
                die("unlink " + q.front());
            q.pop_front();
        }
        for (long k = share(rmdirs, i, n); k > 0 && !made.empty(); --k) {
            if (::rmdir(made.front().c_str()) != 0)
                die("rmdir " + made.front());
            made.pop_front();
        }
    }
    double s = seconds_since(t0);
    std::printf("%ld messages in %.3f s: %.0f messages/s\n", n, s, static_cast<double>(n) / s);
    return 0;
}

void durable_file(const std::string& dir, const std::string& name, const std::string& body) {
    std::string tmp = dir + "/." + name + ".tmp", final_path = dir + "/" + name;
    Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (f.fd < 0)
        die("create " + tmp);
    write_all(f.fd, body, tmp);
    if (::fsync(f.fd) != 0)
        die("fsync " + tmp);
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
        die("rename " + tmp);
}

int naive(const std::string& dir, long n) {
    const std::string in_dir = dir + "/in", mttx = dir + "/mttx", outgoing = dir + "/outgoing";
    mkdir_p(mttx);
    mkdir_p(outgoing);
    Fd in_fd(::open(in_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    Fd mttx_fd(::open(mttx.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    Fd out_fd(::open(outgoing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (in_fd.fd < 0 || mttx_fd.fd < 0 || out_fd.fd < 0)
        die("open folders");
    const auto in = inputs(in_dir, n);
    const std::string call = "Channel: DAHDI/1\nCallerID: SMS <9001>\nApplication: SMS\n"
                             "Data: 600700800,s\nMaxRetries: 100\nRetryTime: 30\nWaitTime: 10\n";

    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        std::string body = read_all(in[static_cast<std::size_t>(i)]);
        durable_file(mttx, "q" + std::to_string(i), body);
        durable_file(outgoing, "c" + std::to_string(i), call);
        if (::fsync(mttx_fd.fd) != 0 || ::fsync(out_fd.fd) != 0)
            die("fsync folder");
        if (::unlink(in[static_cast<std::size_t>(i)].c_str()) != 0)
            die("unlink input");
        if (::fsync(in_fd.fd) != 0)
            die("fsync input folder");
    }
    double s = seconds_since(t0);
    std::printf("%ld messages in %.3f s: %.0f messages/s\n", n, s, static_cast<double>(n) / s);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "gen" && argc == 5)
        return gen(argv[2], arg(argv[3]), arg(argv[4]));
    if (mode == "replay" && argc == 15) {
        std::vector<long> ops;
        for (int k = 4; k < 15; ++k)
            ops.push_back(arg(argv[k]));
        return replay(argv[2], arg(argv[3]), ops);
    }
    if (mode == "naive" && argc == 4)
        return naive(argv[2], arg(argv[3]));
    std::fprintf(stderr, "usage: fsloop gen DIR N DESTS | replay DIR N creates writes bytes "
                         "fsyncs fdatasyncs syncfs renames unlinks mkdirs rmdirs fchmods | "
                         "naive DIR N\n");
    return 64;
}
