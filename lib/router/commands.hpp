// The command service (SPEC 2.9): keyword -> fixed reply, built-in, or a program (no shell).
#pragma once

#include "core/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sms::commands {

struct Result {
    std::string reply;
    bool ok = true;     // false: the error reply was used (a program failed or timed out)
    std::string detail; // for the log: which command, what went wrong
};

// Answers `text` sent by `oa` to the command number `da`. The reply is cut to `max_units` UTF-16
// units (so that it fits the sender's SMS), never inside a surrogate pair.
Result run(const CommandsConfig& cfg, std::string_view oa, std::string_view da,
           std::string_view text, std::size_t max_units);

// The argv of an "exec:" action, split on blanks (no shell: no quoting, no expansion).
std::vector<std::string> split_argv(std::string_view command);

// Cuts a UTF-8 text to at most `max_units` UTF-16 units.
std::string cut_to_units(std::string_view utf8, std::size_t max_units);

} // namespace sms::commands
