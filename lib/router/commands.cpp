// The command service: fixed replies, built-ins and programs run with an argv, a time limit and
// their output cut to fit.
#include "router/commands.hpp"

#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/text.hpp"
#include "util/utf8.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sms::commands {

namespace {

std::string uptime_text() {
    std::string s;
    try {
        s = fs::read_file("/proc/uptime", 4096);
    } catch (const Error&) {
        return "Uptime unknown.";
    }
    long secs = std::strtol(s.c_str(), nullptr, 10);
    long days = secs / 86400, hours = secs / 3600 % 24, minutes = secs / 60 % 60;
    return fmt::format("Up {} day{}, {:02}:{:02}.", days, days == 1 ? "" : "s", hours, minutes);
}

// Starts argv in its own process group (so a timeout kills its children too), stdin from
// /dev/null, stdout on `out_fd`, the environment with `extra_env` added. Throws a string saying
// what went wrong.
pid_t spawn(const std::vector<std::string>& argv, int out_fd,
            const std::vector<std::string>& extra_env) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);

    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e)
        env_store.emplace_back(*e);
    env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_store)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, cargv[0], &fa, &attr, cargv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw fmt::format("{}: {}", argv[0], std::strerror(rc));
    return pid;
}

// What the program writes on `fd` until it closes it or `deadline` passes (then `timed_out`),
// kept up to 64 KiB.
std::string read_output(int fd, std::chrono::steady_clock::time_point deadline, bool& timed_out) {
    std::string output;
    constexpr std::size_t limit = 64 * 1024;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p {
            fd, POLLIN, 0
        };
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[4096];
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (output.size() < limit)
            output.append(buf, static_cast<std::size_t>(std::min<ssize_t>(
                                   got, static_cast<ssize_t>(limit - output.size()))));
    }
    return output;
}

// Runs argv with stdin from /dev/null, collecting stdout up to a limit, killed after
// `timeout_s`. Returns the output, or throws a string saying what went wrong.
std::string run_program(const std::vector<std::string>& argv, int timeout_s,
                        const std::vector<std::string>& extra_env) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::string("pipe: ") + std::strerror(errno);
    fs::Fd rd(out[0]), wr(out[1]);
    const pid_t pid = spawn(argv, wr.get(), extra_env);
    wr = fs::Fd(); // the program's alone now: its end of the pipe closes when it exits

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    bool timed_out = false;
    std::string output = read_output(rd.get(), deadline, timed_out);
    // The output may have ended long before the program does (it closed its stdout, or it
    // exited and left a child behind): the time limit holds for the program too.
    int status = 0;
    bool reaped = false;
    while (!timed_out) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (std::chrono::steady_clock::now() >= deadline)
            timed_out = true;
        else
            ::usleep(10'000);
    }
    // Its whole process group: whatever it started must not outlive the limit either.
    if (timed_out)
        ::kill(-pid, SIGKILL);
    while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        throw fmt::format("{}: no answer within {} s; killed", argv[0], timeout_s);
    if (WIFSIGNALED(status))
        throw fmt::format("{}: killed by signal {}", argv[0], WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        throw fmt::format("{}: exit status {}", argv[0], WEXITSTATUS(status));
    return output;
}

// Program output as one SMS text: valid UTF-8, blanks folded, trimmed.
std::string clean_output(std::string_view raw) {
    auto cps = utf8::decode(raw);
    std::u32string text;
    if (cps) {
        text = *cps;
    } else {
        for (unsigned char c : raw)
            text.push_back(c < 0x80 ? c : U'?');
    }
    std::u32string out;
    for (char32_t c : text) {
        bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c < 0x20;
        if (blank) {
            if (!out.empty() && out.back() != U' ')
                out.push_back(U' ');
        } else {
            out.push_back(c);
        }
    }
    while (!out.empty() && out.back() == U' ')
        out.pop_back();
    return utf8::encode(out);
}

} // namespace

std::vector<std::string> split_argv(std::string_view command) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : command) {
        if (c == ' ' || c == '\t') {
            if (!cur.empty())
                out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty())
        out.push_back(std::move(cur));
    return out;
}

std::string cut_to_units(std::string_view s, std::size_t max_units) {
    auto cps = utf8::decode(s);
    if (!cps)
        return std::string(s.substr(0, max_units));
    std::u32string out;
    std::size_t units = 0;
    for (char32_t c : *cps) {
        std::size_t u = c >= 0x10000 ? 2 : 1;
        if (units + u > max_units)
            break;
        units += u;
        out.push_back(c);
    }
    return utf8::encode(out);
}

Result run(const CommandsConfig& cfg, std::string_view oa, std::string_view da,
           std::string_view text, std::size_t max_units) {
    auto body = text::trim(text, " \t\r\n");
    auto space = body.find_first_of(" \t\r\n");
    std::string word = text::upper(body.substr(0, space));
    std::string_view args = space == std::string_view::npos
                                ? std::string_view{}
                                : text::trim(body.substr(space), " \t\r\n");
    Result r;
    auto it = cfg.words.find(word);
    if (word.empty() || it == cfg.words.end()) {
        r.reply = cfg.unknown_reply;
        r.detail = word.empty() ? "empty command" : fmt::format("unknown command '{}'", word);
    } else if (it->second == "builtin:help") {
        std::string list;
        for (const auto& [w, action] : cfg.words)
            list += (list.empty() ? "" : ", ") + w;
        r.reply = fmt::format("Commands: {}.", list);
        r.detail = "HELP";
    } else if (it->second == "builtin:uptime") {
        r.reply = uptime_text();
        r.detail = "UPTIME";
    } else if (it->second == "builtin:echo") {
        r.reply = args.empty() ? std::string(" ") : std::string(args);
        r.detail = "ECHO";
    } else if (it->second.starts_with("exec:")) {
        auto argv = split_argv(it->second.substr(5));
        if (!args.empty())
            argv.emplace_back(args);
        try {
            r.reply = clean_output(
                run_program(argv, cfg.timeout,
                            {fmt::format("SMS_OA={}", oa), fmt::format("SMS_DA={}", da),
                             fmt::format("SMS_COMMAND={}", word)}));
            r.detail = fmt::format("{} ran {}", word, argv[0]);
            if (r.reply.empty())
                r.reply = "OK.";
        } catch (const std::string& why) {
            r.ok = false;
            r.reply = cfg.error_reply;
            r.detail = fmt::format("{} failed: {}", word, why);
        }
    } else {
        r.reply = it->second;
        r.detail = word;
    }
    r.reply = cut_to_units(r.reply, max_units);
    return r;
}

} // namespace sms::commands
