// The AGI protocol as Asterisk's res_agi speaks it: environment, commands, replies, hang-ups.
#include "asterisk/agi.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>

namespace sms::agi {

namespace {

// Longer lines are not AGI (res_agi reads commands into 2 KiB; its replies are short too, the
// longest being a variable's value): a limit keeps a runaway peer from filling memory.
constexpr std::size_t max_line = 1 << 20;
constexpr std::size_t max_env_lines = 10000;
constexpr std::string_view end_of_usage = "520 End of proper usage.";

bool starts_with_code(std::string_view line) {
    return line.size() >= 3 &&
           std::all_of(line.begin(), line.begin() + 3, [](char c) { return c >= '0' && c <= '9'; });
}

std::string first_line(std::string_view text) {
    return std::string(text.substr(0, text.find('\n')));
}

// A variable or function name as one AGI argument: res_agi splits on blanks and reads quotes
// and backslashes, so a name holding any of those would become something else.
void check_name(std::string_view command, std::string_view name) {
    if (name.empty())
        throw Error(Exit::software, fmt::format("AGI {}", command), "empty variable name");
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '"' || c == '\\')
            throw Error(Exit::software, fmt::format("AGI {} {}", command, name),
                        "the variable name holds a blank, a quote, a backslash or a control "
                        "character");
    }
}

} // namespace

std::string quote(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 2);
    out += '"';
    for (char c : value) {
        switch (c) {
        case '"':
        case '\\':
            // res_agi's parse_args takes the character after a backslash literally.
            out += '\\';
            out += c;
            break;
        case '\r':
        case '\n':
        case '\0':
            // Nothing can escape a line break (it ends the command) or a NUL (it ends the C
            // string Asterisk parses): they become spaces.
            out += ' ';
            break;
        default:
            out += c;
        }
    }
    out += '"';
    return out;
}

Session::Session(std::FILE* in, std::FILE* out)
    : in_(in)
    , out_(out) {
    for (std::size_t n = 0;; ++n) {
        auto line = read_line();
        if (!line)
            throw Hangup{}; // Asterisk went away before the environment ended
        if (line->empty())
            return;
        if (n >= max_env_lines)
            throw Error(Exit::dataerr, "AGI environment", "more than 10000 lines");
        auto colon = line->find(':');
        if (colon == std::string::npos)
            continue; // not a "name: value" line; nothing in it to keep
        std::string value = line->substr(colon + 1);
        if (!value.empty() && value.front() == ' ')
            value.erase(0, 1); // "agi_accountcode: " is an empty value
        env_[line->substr(0, colon)] = std::move(value);
    }
}

std::string Session::env(const std::string& key) const {
    auto it = env_.find(key);
    return it == env_.end() ? std::string() : it->second;
}

std::vector<std::string> Session::args() const {
    std::vector<std::string> out;
    for (std::size_t i = 1;; ++i) {
        auto it = env_.find(fmt::format("agi_arg_{}", i));
        if (it == env_.end())
            return out;
        out.push_back(it->second);
    }
}

std::optional<std::string> Session::read_line() {
    std::string line;
    for (;;) {
        int c = std::getc(in_);
        if (c == EOF) {
            if (std::ferror(in_) && errno == EINTR) {
                std::clearerr(in_);
                continue;
            }
            return std::nullopt; // a cut last line is as good as none: the peer is gone
        }
        if (c == '\n')
            break;
        if (line.size() >= max_line)
            throw Error(Exit::dataerr, "AGI", "a line from Asterisk longer than 1 MiB");
        line += static_cast<char>(c);
    }
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

Reply Session::command(std::string_view line) {
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        throw Error(Exit::software, "AGI command", "holds a line break or a NUL");
    // One write and a flush per command: Asterisk answers each line before reading the next.
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() ||
        std::fputc('\n', out_) == EOF || std::fflush(out_) != 0)
        throw Hangup{}; // the pipe to Asterisk is closed (EPIPE)

    auto first = read_line();
    if (!first)
        throw Hangup{};
    // Asterisk writes HANGUP on its own when the channel goes (its reply may follow or not).
    if (*first == "HANGUP")
        throw Hangup{};
    if (!starts_with_code(*first))
        throw Error(Exit::dataerr, fmt::format("AGI reply to '{}'", line),
                    fmt::format("not an AGI reply: '{}'", first->substr(0, 80)));
    Reply r;
    r.code = (first->at(0) - '0') * 100 + (first->at(1) - '0') * 10 + (first->at(2) - '0');
    r.text = *first;
    if (first->size() > 3 && (*first)[3] == '-') {
        // "520-Invalid command syntax.  Proper usage follows:", the usage text (whose lines may
        // look like replies: "Example return code: 200 result=1"), then "520 End of proper
        // usage." (sometimes glued to the usage's last line, which lacks its newline).
        std::string close = fmt::format("{} ", first->substr(0, 3));
        for (;;) {
            auto more = read_line();
            if (!more)
                throw Hangup{};
            r.text += '\n';
            r.text += *more;
            if (more->starts_with(close) || more->ends_with(end_of_usage))
                break;
        }
    }
    if (r.code == 511)
        throw Hangup{}; // "Command Not Permitted on a dead channel or intercepted by an
                        // application"

    std::string_view rest(*first);
    constexpr std::string_view key = "result=";
    auto at = rest.find(key);
    if (r.code == 200 && at != std::string_view::npos) {
        rest.remove_prefix(at + key.size());
        auto end = rest.find(' ');
        r.result = std::string(rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
        // "(value)" runs to the last ')': a value may hold parentheses itself, and replies like
        // "200 result=1 (speech) endpos=1234" carry more after it.
        if (!rest.empty() && rest.front() == '(') {
            // Asterisk sends a value's line feeds raw ("(%s)"): with no ')' yet, the value goes
            // on on the next lines, up to the one holding it.
            std::string value(rest.substr(1));
            while (value.find(')') == std::string::npos) {
                auto more = read_line();
                if (!more)
                    throw Hangup{};
                if (value.size() + more->size() >= max_line)
                    throw Error(Exit::dataerr, "AGI", "a reply from Asterisk longer than 1 MiB");
                value += '\n';
                value += *more;
            }
            r.data = value.substr(0, value.rfind(')'));
        }
    }
    return r;
}

std::optional<std::string> Session::get_variable(std::string_view name) {
    check_name("GET VARIABLE", name);
    Reply r = command(fmt::format("GET VARIABLE {}", name));
    if (r.code != 200)
        throw Error(Exit::software, fmt::format("AGI GET VARIABLE {}", name), first_line(r.text));
    if (r.result == "0")
        return std::nullopt; // unset
    return r.data.value_or(std::string());
}

void Session::set_variable(std::string_view name, std::string_view value) {
    check_name("SET VARIABLE", name);
    Reply r = command(fmt::format("SET VARIABLE {} {}", name, quote(value)));
    if (r.code != 200)
        throw Error(Exit::software, fmt::format("AGI SET VARIABLE {}", name), first_line(r.text));
}

void Session::verbose(std::string_view text, int level) {
    // A log line for the Asterisk console: a refusal is not worth failing the caller's work
    // for, so only a hang-up (thrown by command) escapes.
    command(fmt::format("VERBOSE {} {}", quote(text), std::clamp(level, 1, 4)));
}

} // namespace sms::agi
