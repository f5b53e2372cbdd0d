// Asterisk call files: validated so that no value can add or cut a line, written atomically.
#include "asterisk/callfile.hpp"

#include "asterisk/spool.hpp"
#include "util/error.hpp"

#include <atomic>
#include <charconv>
#include <ctime>
#include <fmt/format.h>
#include <iterator>
#include <unistd.h>

namespace sms::callfile {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// A value as an error message may show it: control characters escaped, so that the message
// stays one line.
std::string printable(std::string_view v) {
    std::string out;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (u < 0x20 || u == 0x7F) {
            out += fmt::format("\\x{:02X}", u);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// What pbx_spool's reader (apply_outgoing) would change in a value, refused with a reason:
// a line break or NUL ends the line (an injection); a '#' at the start of the value or after a
// blank starts a comment; blanks around the value are trimmed.
void check_value(std::string_view key, std::string_view v, bool required) {
    if (v.empty()) {
        if (required) {
            throw Error(Exit::dataerr, std::string(key), "missing");
        }
        return;
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (c == '\r' || c == '\n' || c == '\0') {
            throw Error(Exit::dataerr, std::string(key),
                        fmt::format("contains {} at byte {}: it would end the call-file line",
                                    c == '\r'   ? "CR"
                                    : c == '\n' ? "LF"
                                                : "NUL",
                                    i + 1));
        }
        if (c == '#' && (i == 0 || is_blank(v[i - 1]))) {
            throw Error(Exit::dataerr, std::string(key),
                        "'#' at the start or after a blank starts a comment in Asterisk's reader");
        }
    }
    if (is_blank(v.front()) || is_blank(v.back())) {
        throw Error(Exit::dataerr, std::string(key),
                    "leading or trailing blanks would be trimmed by Asterisk");
    }
}

// ';' starts a comment in pbx_spool's reader unless escaped as "\;" (the backslash is removed).
std::string escape(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == ';') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

bool positive_integer(std::string_view s) {
    if (s.empty() || s.size() > 9) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return s.find_first_not_of('0') != std::string_view::npos; // at least 1
}

void check_number(std::string_view key, const std::optional<int>& v, int min) {
    if (v && *v < min) {
        throw Error(Exit::dataerr, std::string(key),
                    fmt::format("must be at least {} (got {})", min, *v));
    }
}

void line(std::string& out, std::string_view key, std::string_view value) {
    std::string l = fmt::format("{}: {}", key, escape(value));
    if (l.size() > max_line) {
        throw Error(Exit::dataerr, std::string(key),
                    fmt::format("the line would be {} bytes; Asterisk reads at most {}", l.size(),
                                max_line));
    }
    out += l;
    out.push_back('\n');
}

void check_name(const std::string& name) {
    if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos ||
        name.size() > 200) {
        throw Error(Exit::dataerr, fmt::format("call file name '{}'", printable(name)),
                    "must be a plain file name, not starting with '.'");
    }
    for (char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            throw Error(Exit::dataerr, "call file name", "contains a control character");
        }
    }
}

std::string spool_sub(const std::string& spool_dir, std::string_view sub) {
    return fs::join(spool_dir, sub);
}

} // namespace

std::string channel_problem(std::string_view channel) {
    if (channel.empty())
        return "channel is empty";
    for (std::size_t i = 0; i < channel.size(); ++i) {
        char c = channel[i];
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return fmt::format("channel '{}' holds control characters", printable(channel));
        if (c == ',' || c == '&')
            return fmt::format("channel '{}' holds '{}' (a separator where Asterisk reads it)",
                               printable(channel), c);
        if (c == '#' && (i == 0 || is_blank(channel[i - 1])))
            return fmt::format("channel '{}' holds '#' at the start or after a blank (a comment "
                               "in Asterisk's call file reader)",
                               printable(channel));
    }
    if (is_blank(channel.front()) || is_blank(channel.back()))
        return fmt::format("channel '{}' has blanks around it (Asterisk trims them)",
                           printable(channel));
    auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
    auto slash = channel.find('/');
    bool tech_ok = slash != std::string_view::npos && slash > 0 && alpha(channel.front());
    for (std::size_t i = 0; tech_ok && i < slash; ++i)
        tech_ok = alpha(channel[i]) || (channel[i] >= '0' && channel[i] <= '9') ||
                  channel[i] == '_' || channel[i] == '-';
    if (!tech_ok || slash + 1 == channel.size() || is_blank(channel[slash + 1]))
        return fmt::format("channel '{}' is not TECH/resource (e.g. PJSIP/1000, DAHDI/1)",
                           printable(channel));
    return {};
}

void validate(const CallFile& c) {
    check_value("Channel", c.channel, true);
    if (auto p = channel_problem(c.channel); !p.empty())
        throw Error(Exit::dataerr, "Channel", p);
    check_value("CallerID", c.callerid, false);
    check_number("MaxRetries", c.max_retries, 0);
    check_number("RetryTime", c.retry_time, 1);
    check_number("WaitTime", c.wait_time, 1);
    bool app = !c.application.empty();
    bool ctx = !c.context.empty();
    if (app && ctx) {
        throw Error(Exit::dataerr, "Application/Context",
                    "give either an application or a context");
    }
    if (!app && !ctx) {
        throw Error(Exit::dataerr, "Application/Context",
                    "missing: give an application or a context");
    }
    if (app) {
        check_value("Application", c.application, true);
        check_value("Data", c.data, false);
    } else {
        check_value("Context", c.context, true);
        check_value("Extension", c.extension, true);
        check_value("Priority", c.priority, true);
        if (!positive_integer(c.priority)) {
            throw Error(Exit::dataerr, "Priority",
                        fmt::format("'{}' is not a positive number (Asterisk's call files take no "
                                    "labels)",
                                    printable(c.priority)));
        }
    }
    for (const auto& [name, value] : c.setvars) {
        std::string key = fmt::format("SetVar {}", printable(name));
        if (name.empty()) {
            throw Error(Exit::dataerr, "SetVar", "empty variable name");
        }
        check_value(key, name, true);
        if (name.find('=') != std::string::npos) {
            throw Error(Exit::dataerr, key, "a variable name cannot contain '='");
        }
        for (char ch : name) {
            if (is_blank(ch)) {
                throw Error(Exit::dataerr, key, "a variable name cannot contain blanks");
            }
        }
        // The value follows '=', so a leading blank or '#' is kept; only line breaks and NUL
        // (and a trailing blank, trimmed) matter.
        for (std::size_t i = 0; i < value.size(); ++i) {
            char ch = value[i];
            if (ch == '\r' || ch == '\n' || ch == '\0') {
                throw Error(Exit::dataerr, key,
                            fmt::format("value contains {} at byte {}: it would end the line",
                                        ch == '\r'   ? "CR"
                                        : ch == '\n' ? "LF"
                                                     : "NUL",
                                        i + 1));
            }
            if (ch == '#' && i > 0 && is_blank(value[i - 1])) {
                throw Error(Exit::dataerr, key,
                            "'#' after a blank starts a comment in Asterisk's reader");
            }
        }
        if (!value.empty() && is_blank(value.back())) {
            throw Error(Exit::dataerr, key, "a trailing blank would be trimmed by Asterisk");
        }
    }
}

std::string render(const CallFile& c) {
    validate(c);
    std::string out;
    line(out, "Channel", c.channel);
    if (!c.callerid.empty()) {
        line(out, "CallerID", c.callerid);
    }
    if (c.max_retries) {
        line(out, "MaxRetries", std::to_string(*c.max_retries));
    }
    if (c.retry_time) {
        line(out, "RetryTime", std::to_string(*c.retry_time));
    }
    if (c.wait_time) {
        line(out, "WaitTime", std::to_string(*c.wait_time));
    }
    if (c.archive) {
        line(out, "Archive", *c.archive ? "yes" : "no");
    }
    if (!c.application.empty()) {
        line(out, "Application", c.application);
        if (!c.data.empty()) {
            line(out, "Data", c.data);
        }
    } else {
        line(out, "Context", c.context);
        line(out, "Extension", c.extension);
        line(out, "Priority", c.priority);
    }
    for (const auto& [name, value] : c.setvars) {
        line(out, "SetVar", fmt::format("{}={}", name, value));
    }
    return out;
}

fs::PlannedFile plan(const std::string& spool_dir, const std::string& name, const CallFile& c) {
    check_name(name);
    fs::PlannedFile f;
    f.dir = spool_sub(spool_dir, "outgoing");
    f.name = name;
    f.content = render(c);
    f.mode = 0644;
    f.mtime = c.at;
    f.replace = false;
    f.temp_dir = spool_sub(spool_dir, "tmp");
    return f;
}

std::optional<std::string> queue(const std::string& spool_dir, const std::string& name,
                                 const CallFile& c, bool replace) {
    fs::PlannedFile f = plan(spool_dir, name, c); // its temporary goes to <spool>/tmp
    spool::require_root(spool_dir);
    f.replace = replace;
    if (!fs::commit(f)) {
        return std::nullopt;
    }
    return fs::join(f.dir, f.name);
}

namespace {

// "@<epoch seconds>": the time, or none.
std::optional<std::chrono::system_clock::time_point> parse_epoch(std::string_view body) {
    long long secs = 0;
    if (body.empty()) {
        return std::nullopt;
    }
    auto r = std::from_chars(body.data(), body.data() + body.size(), secs);
    if (r.ec != std::errc() || r.ptr != body.data() + body.size() || secs < 0 || secs >= at_limit) {
        return std::nullopt;
    }
    return std::chrono::system_clock::time_point(std::chrono::seconds(secs));
}

// The fields of "HH:MM" or "YYYY-MM-DD HH:MM[:SS]" (or with a 'T'), in range; `date` says which.
struct AtFields {
    int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0;
    bool date = false;
};
std::optional<AtFields> at_fields(std::string_view s) {
    auto num = [&](std::size_t pos, std::size_t len, int& out) {
        if (pos + len > s.size()) {
            return false;
        }
        auto sub = s.substr(pos, len);
        for (char c : sub) {
            if (c < '0' || c > '9') {
                return false;
            }
        }
        auto r = std::from_chars(sub.data(), sub.data() + sub.size(), out);
        return r.ec == std::errc();
    };
    AtFields f;
    std::size_t p = 0;
    if (s.size() == 5 && s[2] == ':') {
        if (!num(0, 2, f.h) || !num(3, 2, f.m)) {
            return std::nullopt;
        }
    } else if (s.size() >= 16 && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') &&
               s[13] == ':') {
        f.date = true;
        if (!num(0, 4, f.Y) || !num(5, 2, f.M) || !num(8, 2, f.D) || !num(11, 2, f.h) ||
            !num(14, 2, f.m)) {
            return std::nullopt;
        }
        p = 16;
        if (s.size() == 19 && s[16] == ':') {
            if (!num(17, 2, f.sec)) {
                return std::nullopt;
            }
            p = 19;
        }
        if (p != s.size()) {
            return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (f.h > 23 || f.m > 59 || f.sec > 59 || (f.date && (f.Y < 1970 || f.Y > 2099))) {
        return std::nullopt;
    }
    if (f.date && (f.M < 1 || f.M > 12 || f.D < 1 || f.D > 31)) {
        return std::nullopt;
    }
    return f;
}

} // namespace

std::optional<std::chrono::system_clock::time_point>
parse_at(std::string_view s, std::chrono::system_clock::time_point now) {
    if (!s.empty() && s.front() == '@') {
        return parse_epoch(s.substr(1));
    }
    auto f = at_fields(s);
    if (!f) {
        return std::nullopt;
    }
    std::tm tm{};
    std::time_t now_t = std::chrono::system_clock::to_time_t(now);
    if (f->date) {
        tm.tm_year = f->Y - 1900;
        tm.tm_mon = f->M - 1;
        tm.tm_mday = f->D;
    } else {
        localtime_r(&now_t, &tm);
    }
    tm.tm_hour = f->h;
    tm.tm_min = f->m;
    tm.tm_sec = f->sec;
    tm.tm_isdst = -1;
    std::tm want = tm;
    std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) {
        return std::nullopt;
    }
    if (f->date && (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon)) {
        return std::nullopt; // 2026-02-30 and the like
    }
    if (!f->date && t <= now_t) {
        // Today's HH:MM has passed: tomorrow (through mktime, so a DST change is honoured).
        want.tm_mday += 1;
        want.tm_isdst = -1;
        t = std::mktime(&want);
        if (t == static_cast<std::time_t>(-1)) {
            return std::nullopt;
        }
    }
    return std::chrono::system_clock::from_time_t(t);
}

std::string unique_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return fmt::format("{}.{}.{:09}.{}.{}.call", prefix, ns / 1000000000, ns % 1000000000,
                       ::getpid(), counter++);
}

int run(const std::string& spool_dir, const Options& opts) {
    CallFile c = opts.call;
    for (const std::string& sv : opts.setvars) {
        auto eq = sv.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(Exit::usage, fmt::format("--setvar '{}'", printable(sv)),
                        "expected NAME=VALUE");
        }
        c.setvars.emplace_back(sv.substr(0, eq), sv.substr(eq + 1));
    }
    if (opts.at) {
        c.at = parse_at(*opts.at, std::chrono::system_clock::now());
        if (!c.at) {
            throw Error(Exit::usage, fmt::format("--at '{}'", printable(*opts.at)),
                        "expected HH:MM, YYYY-MM-DD HH:MM[:SS] or @UNIXTIME, a valid time from "
                        "1970 to 2099");
        }
    }
    if (opts.to_stdout) {
        fmt::print("{}", render(c));
        return 0;
    }
    const std::string spool = opts.spool.value_or(spool_dir);
    const std::string name = opts.name.value_or(unique_name("callfile-gen"));
    auto path = queue(spool, name, c, false);
    if (!path) {
        throw Error(Exit::cantcreat, fs::join(fs::join(spool, "outgoing"), name),
                    "a call file of that name is queued already");
    }
    fmt::print("{}\n", *path);
    return 0;
}

} // namespace sms::callfile
