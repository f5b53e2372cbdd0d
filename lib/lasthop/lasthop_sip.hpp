// The last hop of SIP messages (SPEC 2.11, service T): a message for a SIP user Asterisk cannot
// reach is held ([sip] hold_time), tried again on every run, then dead-lettered; a message
// Asterisk took (MessageSend: Success) for a reachable contact is pending until that contact
// stayed reachable for a qualify round after the send, and is sent again when it did not.
//
// State, under lasthop_call::state_dir (same file system as the spool, so the journal can commit
// it with the message it belongs to):
//   sip/<stem>              a SIP message held for an unreachable user (SipHold).
//   T.<stem>.<part>         a part sent, waiting for its confirmation: a lasthop::Item of kind
//                           'T' (Sent), written by the router's journal transaction together
//                           with the message's removal, removed by the one that settles it.
#pragma once

#include "asterisk/ami.hpp"
#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "lasthop/lasthop.hpp"
#include "util/fsutil.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::journal {
class Journal;
}

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

// --- SIP messages sent, waiting for their confirmation ---

// One part (one MessageSend) of a SIP message Asterisk took for a user with a reachable contact.
struct Sent {
    std::string stem;       // the message's identity (the router's stem)
    int part = 1;           // which part, of `parts`
    int parts = 1;          //
    std::string oa;         // the sender as the message had it ("" unknown), told of the outcome
    std::string da;         // the SIP user
    std::string text;       // this part's text, sent again when it is lost
    std::string scts;       // the message's own time stamp
    bool receipt = false;   // the message asked for a status report (srr=1)
    std::int64_t sent = 0;  // when Asterisk took it (epoch seconds)
    std::int64_t round = 0; // the contact's qualify round (seconds): confirmed after sent + round
    std::vector<std::string> contacts; // the reachable registrations, "<ID> <CallID>" each
};

// The parts of a message sent now to a user whose contacts were `reach` (reachable): one each,
// `texts` the parts' texts (ami::split_body). The round is the manager's, else
// [sip] confirm_window.
std::vector<Sent> sent_parts(const Config& cfg, const std::string& stem, const spool::Message& m,
                             const std::string& da, const std::vector<std::string>& texts,
                             const ami::Reach& reach, std::int64_t now);

// The item that keeps a part pending, and back (nullopt: not a sent SIP part).
lasthop::Item item_of(const Sent& s);
std::optional<Sent> sent_of(const lasthop::Item& it);

// Whether the part's window has passed at `now`: only then are the user's contacts asked.
bool due(const Sent& s, std::int64_t now);

// What became of a part whose window passed, given the user's contacts now. Pure.
enum class Verdict {
    confirmed,     // one of the registrations it was sent to is still reachable
    unconfirmable, // the contacts now have no qualify, or the manager lost the PJSIP actions:
                   // counted as delivered, unconfirmed (as a send to such a user is)
    lost,          // unreachable, gone, or registered again since: sent again
};
struct Judgement {
    Verdict verdict = Verdict::confirmed;
    std::string reason; // one line for the log
};
Judgement judge(const Sent& s, const ami::Reach& now_reach);

// The message that sends a lost part again through the router (sms/morx/, so that it takes the
// normal path: held while the user is away, [sip] hold_time, tell_held, the dead letters), and
// its file name there ("<stem>.sip<part>").
spool::Message resend_message(const Sent& s);
std::string resend_name(const Sent& s);

struct Hooks {
    // The user's contacts (the router's Runner::contacts: once per run and user). Throws for an
    // outage of the manager: the part stays pending.
    std::function<ami::Reach(const std::string& user)> reach;
    // Plans the receipt to the sender; files named after `stem`. Throws Error(tempfail) for a
    // temporary failure (the part stays pending).
    std::function<std::vector<fs::PlannedFile>(const Sent& s, const std::string& text,
                                               const std::string& stem, std::string& detail)>
        tell;
    // One report per settled part (log line, JSON).
    std::function<void(const Sent& s, Verdict v, const std::string& detail)> report;
};

// Settles every pending part whose window passed: each outcome staged in `journal` as its own
// transaction (the item removed; a lost part's message written into sms/morx/, a receipt) and
// committed before returning. Takes the last hop's settle lock; skipped (returns 0) when another
// run holds it. Returns how many parts were settled.
int settle(const Config& cfg, journal::Journal& journal, const Hooks& hooks, std::int64_t now);

// Every pending part (read-only: for sms-queue).
std::vector<Sent> list(const Config& cfg);

} // namespace sms::lasthop_sip
