// The sms-send tool: queue an SMS for a landline phone, or show how it would be split.
#pragma once

#include "core/config.hpp"
#include "messaging/outbox.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sms::send {

struct Options {
    std::string from;
    std::string to;
    std::optional<std::string> extension; // default: the directory's channel for `to`
    std::optional<unsigned> ref;
    bool ref16 = false;
    bool no_dial = false;
    bool dry_run = false;
    bool json = false;
    std::optional<std::string> spool; // overrides [general] spool_dir
    std::string text;
    // The text came from stdin: its trailing line breaks ("echo text |") are not part of it.
    bool text_from_stdin = false;
};

// Splits and queues (or, with dry_run, only prints) the message. Prints one JSON object per
// part (json) or a readable summary on stdout. Throws Error: dataerr for bad numbers, text or
// an unknown --to without --extension; tempfail/unavailable when the directory is down.
int run(const Config& cfg, const Options& opts);

// {"part":1,"parts":2,"dcs":0,"udh":"0003A70201","septets":153,"units":153,"text":"..."}
// (SPEC 2.10: udh null for a single SMS; septets only for GSM 7-bit).
std::string part_json(const outbox::Part& p);

// A JSON string literal, quotes included: json::quote (control characters as \uXXXX, UTF-8
// kept, a byte of invalid UTF-8 as \udcXX).
std::string json_string(std::string_view s);

} // namespace sms::send
