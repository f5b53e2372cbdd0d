// The retry record: when a message the router keeps through temporary failures first failed,
// and why (<state>/retry/<input name>, layout.hpp). The age that counts against [general]
// retry_limit is from then, not from the file's mtime. Written by the router at a message's
// first temporary failure, read by the router and by sms-queue: the format is here alone.
//
// The format, two lines:
//   first_failure=<seconds since the epoch>
//   reason=<the reason, control characters escaped as text::escape_controls does>
// A reader takes the keys in any order and skips lines it does not know.
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sms::state {

struct RetryRecord {
    std::int64_t first_failure = 0; // 0: missing or not a number
    std::string reason;             // as written (escaped), "" when missing
};

// The record's content.
std::string format_retry(std::int64_t first_failure, std::string_view reason);
// A record's content read back.
RetryRecord parse_retry(std::string_view text);

// The record of the input `name` (a file of sms/morx/): its path, and the record when there is
// one (nullopt when it is missing, empty or unreadable; never follows a symbolic link; at most
// 8 KiB read).
std::string retry_path(const Config& cfg, std::string_view name);
std::optional<RetryRecord> read_retry(const Config& cfg, std::string_view name);

} // namespace sms::state
