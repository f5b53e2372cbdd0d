// send-sipim (SPEC 2.6): one SIP instant message through the Asterisk manager's MessageSend.
#pragma once

#include "core/config.hpp"

#include <string>

namespace sms::sipim {

struct Options {
    std::string from; // sender number (goes into From:, see ami::from_header)
    std::string to;   // recipient: To: <technology>:<to>
    std::string text; // UTF-8
};

// Sends it. Returns 0 when Asterisk said Success. Throws Error: failure (1) with Asterisk's
// Message: when it said Error, dataerr (65) for text that is not UTF-8 or numbers that cannot go
// into a header, unavailable (69) when Asterisk cannot be reached, is not Asterisk or refuses
// the login, tempfail (75) on timeouts and connections lost mid-reply.
int run(const Config& cfg, const Options& opts);

} // namespace sms::sipim
