// The file-system references for scripts/bench.sh: the cheapest durable loop for the router's
// job (its ceiling), the router's own file operations with no logic, a naive per-file loop.
//
//   fsloop gen DIR N DESTS         writes N app_sms message files for DESTS destinations into DIR
//   fsloop replay DIR N BATCH OPS...  in batches of BATCH messages, as the router works: reads
//                                  each input DIR/sms/morx/<i> and creates and writes its share
//                                  of files; then the renames; then the inputs and the rest are
//                                  unlinked; the syncs fall between those steps. OPS are the
//                                  totals for N messages, as strace counted them on the router:
//                                  creates writes bytes fsyncs fdatasyncs syncfs renames unlinks
//                                  mkdirs rmdirs fchmods
//   fsloop ceiling DIR N           the cheapest durable loop for the router's job (SPEC 7): per
//                                  message, reads DIR/sms/morx/<i>, writes one queue file into
//                                  DIR/sms/mttx (dotfile, write, rename), the first time a phone
//                                  is seen writes its call file into DIR/outgoing (written in
//                                  DIR/tmp, renamed), unlinks the input; one syncfs() at the end
//   fsloop single RUNS SPOOL CMD... [--vs SPOOL_B CMD_B...]
//                                  the dialplan's case: RUNS times, one message written into
//                                  SPOOL/sms/morx, then CMD run (no shell) and timed from fork to
//                                  exit; with --vs, A and B alternate and are paired. Prints the
//                                  median, min and max in ms of each, and the median of the
//                                  paired ratios A/B
//   fsloop naive DIR N             DIR/sms/morx to DIR/sms/mttx and DIR/outgoing; per message,
//   durably and without batching: reads the input,
//                                  writes a queue file and a call file (each: create, write,
//                                  fsync, rename), fsyncs both folders, unlinks the input and
//                                  fsyncs its folder
//
// Built by scripts/bench.sh with the system compiler; not part of the suite.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
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

int replay(const std::string& dir, long n, long batch, const std::vector<long>& ops) {
    const long creates = ops[0], writes = ops[1], bytes = ops[2], fsyncs = ops[3],
               fdatasyncs = ops[4], syncfss = ops[5], renames = ops[6], unlinks = ops[7],
               mkdirs = ops[8], rmdirs = ops[9], fchmods = ops[10];
    // The router's layout: inputs in sms/morx, files staged in a private folder under sms/,
    // outputs renamed into sms/mttx and outgoing/ (ext4 places inodes by folder, which matters).
    const std::string stage = dir + "/sms/.stage", dirs = dir + "/sms/.dirs";
    const std::string outs[2] = {dir + "/sms/mttx", dir + "/outgoing"};
    for (const auto& d : {stage, dirs, outs[0], outs[1]})
        mkdir_p(d);
    Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.fd < 0)
        die("open " + dir);
    const auto in = inputs(dir + "/sms/morx", n);
    const std::string chunk(
        static_cast<std::size_t>(writes ? std::max<long>(1, bytes / writes) : 1), 'x');
    std::deque<std::string> staged, made;
    std::vector<std::string> placed;
    long seq = 0;
    if (batch < 1)
        batch = 1;
    const long batches = (n + batch - 1) / batch;

    auto t0 = std::chrono::steady_clock::now();
    for (long b = 0; b < batches; ++b) {
        const long first = b * batch, last = std::min(n, first + batch);
        // The batch's syncs fall at three points, as the router's: after staging, after the
        // renames, after the inputs are removed.
        const long syncs = share(syncfss, b, batches);
        auto sync_point = [&](long point) {
            for (long k = syncs / 3 + (point < syncs % 3 ? 1 : 0); k > 0; --k)
                if (::syncfs(dirfd.fd) != 0)
                    die("syncfs");
        };
        long batch_renames = 0, batch_unlinks = 0, batch_rmdirs = 0;
        std::vector<std::string> batch_files;
        // Staging: each message read, its files created and written.
        for (long i = first; i < last; ++i) {
            (void)read_all(in[static_cast<std::size_t>(i)]);
            for (long k = share(mkdirs, i, n); k > 0; --k) {
                std::string d = dirs + "/" + std::to_string(seq++);
                if (::mkdir(d.c_str(), 0700) != 0)
                    die("mkdir " + d);
                made.push_back(d);
            }
            std::vector<Fd> open_files;
            const long nc = share(creates, i, n), nw = share(writes, i, n);
            for (long k = 0; k < nc; ++k) {
                std::string f = stage + "/" + std::to_string(seq++);
                open_files.emplace_back(
                    ::open(f.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
                if (open_files.back().fd < 0)
                    die("create " + f);
                staged.push_back(f);
            }
            auto file = [&](long j) {
                return open_files.empty()
                           ? dirfd.fd
                           : open_files[static_cast<std::size_t>(j) % open_files.size()].fd;
            };
            for (long k = 0; k < nw && !open_files.empty(); ++k)
                write_all(file(k), chunk, "staged file");
            for (long k = share(fchmods, i, n), j = 0; k > 0; --k, ++j)
                if (!open_files.empty())
                    ::fchmod(file(j), 0644);
            for (long k = share(fsyncs, i, n), j = 0; k > 0; --k, ++j)
                if (::fsync(file(j)) != 0)
                    die("fsync");
            for (long k = share(fdatasyncs, i, n), j = 0; k > 0; --k, ++j)
                if (::fdatasync(file(j)) != 0)
                    die("fdatasync");
            batch_renames += share(renames, i, n);
            batch_unlinks += share(unlinks, i, n);
            batch_rmdirs += share(rmdirs, i, n);
        }
        sync_point(0);
        // Into place: staged files renamed into the output folders.
        for (long k = 0; k < batch_renames; ++k) {
            std::string to = outs[seq % 2] + "/" + std::to_string(seq);
            ++seq;
            std::string from;
            if (!staged.empty()) {
                from = staged.front();
                staged.pop_front();
            } else if (!placed.empty()) {
                from = placed.back();
                placed.pop_back();
            } else {
                break;
            }
            if (::rename(from.c_str(), to.c_str()) != 0)
                die("rename " + from);
            placed.push_back(to);
        }
        sync_point(1);
        // The inputs removed, then what else the router removes (its journal's files): the
        // newest files.
        for (long i = first; i < last && batch_unlinks > 0; ++i, --batch_unlinks)
            if (::unlink(in[static_cast<std::size_t>(i)].c_str()) != 0)
                die("unlink " + in[static_cast<std::size_t>(i)]);
        sync_point(2);
        for (; batch_unlinks > 0; --batch_unlinks) {
            std::string victim;
            if (!staged.empty()) {
                victim = staged.back();
                staged.pop_back();
            } else if (!placed.empty()) {
                victim = placed.back();
                placed.pop_back();
            } else {
                break;
            }
            if (::unlink(victim.c_str()) != 0)
                die("unlink " + victim);
        }
        for (; batch_rmdirs > 0 && !made.empty(); --batch_rmdirs) {
            if (::rmdir(made.front().c_str()) != 0)
                die("rmdir " + made.front());
            made.pop_front();
        }
    }
    double s = seconds_since(t0);
    std::printf("%ld messages in %.3f s: %.0f messages/s\n", n, s, static_cast<double>(n) / s);
    return 0;
}

// The cheapest durable loop for the router's job: nothing the router could skip, nothing more.
int ceiling(const std::string& dir, long n) {
    const std::string in_dir = dir + "/sms/morx", mttx = dir + "/sms/mttx",
                      outgoing = dir + "/outgoing", tmp = dir + "/tmp";
    for (const auto& d : {mttx, outgoing, tmp})
        mkdir_p(d);
    const auto in = inputs(in_dir, n);
    std::set<std::string> phones;

    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        const std::string& path = in[static_cast<std::size_t>(i)];
        std::string body = read_all(path);
        auto da = body.find("\nda=");
        std::string phone =
            da == std::string::npos ? "0" : body.substr(da + 4, body.find('\n', da + 4) - da - 4);
        std::string name = phone + "." + std::to_string(i);
        std::string dot = mttx + "/." + name;
        {
            Fd f(::open(dot.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
            if (f.fd < 0)
                die("create " + dot);
            write_all(f.fd, body, dot);
        }
        if (::rename(dot.c_str(), (mttx + "/" + name).c_str()) != 0)
            die("rename " + dot);
        if (phones.insert(phone).second) {
            const std::string call = "Channel: DAHDI/1\nCallerID: SMS <9001>\nApplication: SMS\n"
                                     "Data: " +
                                     phone +
                                     ",s\nMaxRetries: 100\nRetryTime: 30\n"
                                     "WaitTime: 10\n";
            std::string t = tmp + "/smsq.mttx." + phone + ".1";
            {
                Fd f(::open(t.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
                if (f.fd < 0)
                    die("create " + t);
                write_all(f.fd, call, t);
            }
            if (::rename(t.c_str(), (outgoing + "/smsq.mttx." + phone + ".1").c_str()) != 0)
                die("rename " + t);
        }
        if (::unlink(path.c_str()) != 0)
            die("unlink " + path);
    }
    Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.fd < 0 || ::syncfs(dirfd.fd) != 0)
        die("syncfs " + dir);
    double s = seconds_since(t0);
    std::printf("%ld messages in %.3f s: %.0f messages/s\n", n, s, static_cast<double>(n) / s);
    return 0;
}

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty())
        return 0;
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// One message into spool/sms/morx, then the command, timed from fork to exit (seconds).
double run_once(const std::string& spool, std::vector<char*>& argv, long i) {
    const std::string dir = spool + "/sms/morx";
    mkdir_p(dir);
    std::string name = dir + "/48500100200.2026-11-29T22:53:42-single" + std::to_string(i);
    {
        Fd f(::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (f.fd < 0)
            die("create " + name);
        write_all(f.fd,
                  "oa=48500100200\nda=600700000\nud=One message, as the dialplan routes it.\n"
                  "scts=2026-11-29T22:53:42\nmr=7\n",
                  name);
    }
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    double s = seconds_since(t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "fsloop: %s failed (status %d)\n", argv[0], status);
        std::exit(1);
    }
    return s;
}

int single(long runs, int argc, char** argv) {
    // argv: SPOOL CMD... [--vs SPOOL_B CMD_B...]
    std::vector<char*> a, b;
    std::string spool_a = argv[0], spool_b;
    int k = 1;
    for (; k < argc && std::string(argv[k]) != "--vs"; ++k)
        a.push_back(argv[k]);
    if (k < argc && k + 2 < argc) {
        spool_b = argv[k + 1];
        for (k += 2; k < argc; ++k)
            b.push_back(argv[k]);
    }
    a.push_back(nullptr);
    b.push_back(nullptr);
    if (a.size() < 2) {
        std::fprintf(stderr, "fsloop single: no command\n");
        return 64;
    }
    std::vector<double> ta, tb, ratios;
    for (long i = 0; i < runs; ++i) {
        bool a_first = i % 2 == 0;
        double x = 0, y = 0;
        if (a_first || b.size() < 2)
            x = run_once(spool_a, a, i);
        if (b.size() >= 2) {
            y = run_once(spool_b, b, i);
            if (!a_first)
                x = run_once(spool_a, a, i);
            tb.push_back(y);
            ratios.push_back(x / y);
        }
        ta.push_back(x);
    }
    auto print = [](const char* what, std::vector<double> v) {
        std::sort(v.begin(), v.end());
        std::printf("%s %.3f %.3f %.3f\n", what, median_of(v) * 1000, v.front() * 1000,
                    v.back() * 1000);
    };
    print("A", ta);
    if (!tb.empty()) {
        print("B", tb);
        std::printf("A/B %.3f\n", median_of(ratios));
    }
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
    const std::string in_dir = dir + "/sms/morx", mttx = dir + "/sms/mttx",
                      outgoing = dir + "/outgoing";
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
    if (mode == "replay" && argc == 16) {
        std::vector<long> ops;
        for (int k = 5; k < 16; ++k)
            ops.push_back(arg(argv[k]));
        return replay(argv[2], arg(argv[3]), arg(argv[4]), ops);
    }
    if (mode == "single" && argc >= 5)
        return single(arg(argv[2]), argc - 3, argv + 3);
    if (mode == "ceiling" && argc == 4)
        return ceiling(argv[2], arg(argv[3]));
    if (mode == "naive" && argc == 4)
        return naive(argv[2], arg(argv[3]));
    std::fprintf(stderr, "usage: fsloop gen DIR N DESTS | replay DIR N BATCH creates writes bytes "
                         "fsyncs fdatasyncs syncfs renames unlinks mkdirs rmdirs fchmods | "
                         "ceiling DIR N | single RUNS SPOOL CMD... [--vs SPOOL_B CMD_B...] | "
                         "naive DIR N\n");
    return 64;
}
