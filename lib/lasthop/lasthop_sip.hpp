// The last hop of SIP messages (SPEC 2.11, service T): a message for a SIP user Asterisk cannot
// reach is held ([sip] hold_time), tried again on every run, then dead-lettered.
//
// State, under lasthop_call::state_dir (same file system as the spool, so the journal can commit
// it with the message it belongs to):
//   sip/<stem>              a SIP message held for an unreachable user (SipHold).
#pragma once

#include "core/config.hpp"
#include "core/fsutil.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sms::lasthop_sip {

// <spool>/sms/.sms-suite/lasthop/sip
std::string sip_dir(const Config& cfg);

// --- SIP users Asterisk cannot reach ---

struct SipHold {
    std::int64_t first = 0; // the first refusal
    bool told = false;      // the sender was told it waits
};
std::optional<SipHold> sip_hold(const Config& cfg, const std::string& stem);
std::string sip_hold_path(const Config& cfg, const std::string& stem);
fs::PlannedFile plan_sip_hold(const Config& cfg, const std::string& stem, const SipHold& h);
// Whether the message is still held at `now` ([sip] hold_time after the first refusal).
bool sip_keep(const Config& cfg, const SipHold& h, std::int64_t now);
// "<da> <sip_held>"
std::string sip_held_text(const Config& cfg, std::string_view da);

} // namespace sms::lasthop_sip
