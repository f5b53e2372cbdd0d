// The AGI protocol as Asterisk speaks it (SPEC 2.8): environment, commands, replies.
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::agi {

// Thrown when the channel hangs up (HANGUP line, 511 reply, or EOF on input).
struct Hangup {};

struct Reply {
    int code = 0;                    // 200, 510, 511, 520
    std::string result;              // after "result="
    std::optional<std::string> data; // the text in parentheses, if any
    std::string text;                // the whole reply (all lines of a 520- answer)
};

class Session {
public:
    // Reads the environment (agi_* lines up to the blank line) from `in`; commands go to `out`.
    Session(std::FILE* in, std::FILE* out);

    const std::map<std::string, std::string>& env() const { return env_; }
    std::string env(const std::string& key) const; // "" when absent
    // agi_arg_1.. in order.
    std::vector<std::string> args() const;

    Reply command(std::string_view line);
    // The variable's value, or nullopt when unset ("200 result=0").
    std::optional<std::string> get_variable(std::string_view name);
    void set_variable(std::string_view name, std::string_view value);
    void verbose(std::string_view text, int level = 1);

private:
    std::FILE* in_;
    std::FILE* out_;
    std::map<std::string, std::string> env_;
    std::optional<std::string> read_line();
};

// Quotes and escapes a value for an AGI command argument ("...", with \ and " escaped; CR/LF
// turned into spaces so no value can end a command).
std::string quote(std::string_view value);

} // namespace sms::agi
