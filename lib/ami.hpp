// An Asterisk Manager Interface client, and sending SIP messages through MessageSend.
#pragma once

#include "config.hpp"

#include <string>
#include <string_view>

namespace sms::ami {

struct SendResult {
    enum class Status { sent, refused, unavailable } status = Status::unavailable;
    std::string message; // Asterisk's Message: on refusal, or why it was unavailable
};

// Logs in with [ami], sends Action: MessageSend (To: <technology>:<to>, From:, Base64Body:),
// logs off. "refused" is Response: Error (a permanent no); "unavailable" covers connection
// failures, timeouts and refused logins (a temporary failure for the router).
SendResult send_message(const AmiConfig& cfg, const std::string& from, const std::string& to,
                        std::string_view text);

} // namespace sms::ami
