// sms-process: route every message in sms/morx/ (SPEC 2.1), with the guarantees: each message
// taken by one run, never lost, never delivered twice; temporary failures kept and retried.
#pragma once

#include "core/config.hpp"

#include <optional>
#include <string>

namespace sms::process {

struct Options {
    std::optional<std::string> spool; // overrides [general] spool_dir
    bool dry_run = false;
    bool json = false;
    std::string self; // argv[0]: the sibling tools (sms2fax, sms2voice) are found beside it
};

struct Summary {
    int routed = 0;
    int held = 0;
    int retry = 0;
    int failed = 0;
    int bad = 0;
    int unreadable = 0; // entries of sms/morx/ that cannot be read: left in place, warned about
};

// Routes the spool once. Returns the exit code: 0, or 75 when a message had a temporary failure
// and stays for the next run.
int run(Config cfg, const Options& opts);

} // namespace sms::process
