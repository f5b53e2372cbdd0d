// Asterisk call files (SPEC 2.7): building, validating and queueing them into outgoing/. The
// suite's own calls (SMS, fax and voice deliveries) are built from the configuration in
// core/calls.
#pragma once

#include "util/fsutil.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sms::callfile {

struct CallFile {
    std::string channel;
    std::string callerid;
    std::optional<int> max_retries;
    std::optional<int> retry_time;
    std::optional<int> wait_time;
    std::optional<bool> archive;
    std::string application; // either application (+ data) ...
    std::string data;
    std::string context; // ... or context + extension + priority
    std::string extension;
    std::string priority = "1";
    std::vector<std::pair<std::string, std::string>> setvars;
    // Asterisk dials no earlier than the file's modification time.
    std::optional<std::chrono::system_clock::time_point> at;
};

// Whether `channel` is one a call file can carry and Asterisk can dial, the one rule the router,
// sms-directory and every call file use: TECH/resource (TECH an ASCII letter, then letters,
// digits, '_' or '-'; a resource not starting with a blank), no control characters (a call file
// is line-based), no ',' or '&' (Dial() and the call file's Channel would read them as
// separators), no '#' at the start or after a blank (pbx_spool reads a comment there), no blanks
// around it (trimmed by Asterisk). "" when good, else why not (one line, printable, starting
// with "channel").
std::string channel_problem(std::string_view channel);

// Throws Error(dataerr, field, why) when a field holds CR, LF or NUL, a required field is
// missing, the channel is not one Asterisk can dial (channel_problem), or both forms
// (application, context) are given.
void validate(const CallFile& c);

// The file's text, one "Key: value" line each (validated first).
std::string render(const CallFile& c);

// A planned file for <spool>/outgoing/<name>: written through <spool>/tmp (same file system),
// then renamed; mtime = `at`.
fs::PlannedFile plan(const std::string& spool_dir, const std::string& name, const CallFile& c);

// Writes it now. Returns the path, or nullopt when `replace` is false and the file exists.
std::optional<std::string> queue(const std::string& spool_dir, const std::string& name,
                                 const CallFile& c, bool replace = false);

// `--at`: "HH:MM" (today, or tomorrow when past), "YYYY-MM-DD HH:MM[:SS]" or
// "YYYY-MM-DDTHH:MM[:SS]" (local time), or "@<unix seconds>". nullopt when malformed or out of
// range: a date from 1970 to 2099, unix seconds below at_limit (2100-01-01 UTC), so that the
// file's mtime, which schedules the call, holds it on every file system.
inline constexpr long long at_limit = 4102444800;
std::optional<std::chrono::system_clock::time_point>
parse_at(std::string_view s, std::chrono::system_clock::time_point now);

// Whether a file path would be split when the dialplan passes it to an application (SendFax,
// Playback): a ',' separates arguments and a '&' files. Such a path is refused where it enters:
// [fax] dir and [voice] dir (78), --output (64).
inline bool splits_arguments(std::string_view path) {
    return path.find_first_of(",&") != std::string_view::npos;
}

// Asterisk's pbx_spool reads a line with fgets into 256 bytes: a longer line would continue as
// a new line (an injection), so a rendered line may hold at most this many bytes before '\n'.
inline constexpr std::size_t max_line = 254;

// The callfile-gen tool: the call described on its command line, queued or printed.
struct Options {
    CallFile call;                    // without setvars and `at`: those come raw, below
    std::vector<std::string> setvars; // "NAME=VALUE"
    std::optional<std::string> at;    // --at TIME (parse_at)
    std::optional<std::string> name;  // file name in outgoing/ (default: generated)
    std::optional<std::string> spool; // overrides [general] spool_dir
    bool to_stdout = false;
};

// Runs callfile-gen: prints the call file (--stdout) or queues it and prints its path, in
// opts.spool, else `spool_dir` (the configured [general] spool_dir).
// Throws Error(usage) for a malformed --setvar/--at, Error(dataerr) for a refused value,
// Error(cantcreat) when --name exists already.
int run(const std::string& spool_dir, const Options& opts);

// A fresh file name for outgoing/, unique across processes: "<prefix>.<time>.<pid>.<n>.call".
std::string unique_name(std::string_view prefix);

} // namespace sms::callfile
