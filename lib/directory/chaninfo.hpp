// getchaninfo: a number's service letter and channel, for the shell or for the dialplan (AGI).
#pragma once

#include "core/config.hpp"

#include <cstdio>
#include <string>

namespace sms::chaninfo {

struct Options {
    bool agi = false;
    // Shell mode: the number to look up. AGI mode: the channel variable holding it ("" means
    // EXTEN).
    std::string number;
};

// The AGI variables the dialplan reads (examples/extensions.conf).
inline constexpr const char* service_variable = "MSG_CHAN_OPT"; // S F V C T E N, U unknown
inline constexpr const char* channel_variable = "MSG_CHAN";     // the channel, "" unless found
// MSG_CHAN_OPT when no answer could be had (the directory is unreachable or locked, the lookup
// failed, the configuration cannot be read): never N, which means the subscriber disabled
// messaging. The shipped dialplan posts the message anyway on it, for sms-process to route
// once the directory is back.
inline constexpr const char* outage_value = "X";

// Shell mode: prints "S PJSIP/1000" on `out` and returns 0, or prints "U" and returns 1 for an
// unknown number; throws Error(dataerr) for a NUMBER that is not a number; throws
// Error(unavailable) when the directory cannot be reached or read and Error(tempfail) for a passing
// fault (locked, timed out), Error(config) for a bad [directory]. AGI mode: speaks AGI on
// `in`/`out` and sets MSG_CHAN_OPT to the letter, U when unknown, X (outage_value) on any error
// (directory unavailable, bad configuration, variable unset), and MSG_CHAN; returns 0 once answered
// (errors are logged and told to the Asterisk console), also when the channel hangs up.
int run(const Config& cfg, const Options& opts, std::FILE* in = stdin, std::FILE* out = stdout);

// AGI mode when the configuration could not even be read: answers X (outage_value) so that the
// dialplan is not left without an answer. Returns 0 (or 0 on hang-up too).
int answer_error(std::string_view why, std::FILE* in = stdin, std::FILE* out = stdout);

} // namespace sms::chaninfo
