// The suite's layout on disk: every path under the state folder, the lock names and the name of
// a phone's delivery call. The one place these names are spelt; every other room asks here.
// Pure: nothing is read or created here (fs::ensure_state_dir makes the folders).
//
// <spool>/sms/.sms-suite/          root(): the suite's own folder (same file system as the spool)
//   journal/                       the journal (core/journal): one manifest per batch
//   retry/<input name>             first failure of a message kept for a retry (state/retry)
//   refs/<queue>                   concatenation reference counter per phone queue (outbox)
//   reassembly.lock                taken by every run to form sets of parts, and by sms-queue
//   lasthop/                       the last hop (SPEC 2.11), 0700
//     <kind>.<id>                  a pending SMS delivery (lasthop::Item names it)
//     mr/<queue>                   the mr counter of a phone queue
//     calls/<queue>                the SMS delivery call last seen for a queue
//     cursor                       how far app_sms's log was read
//     received-texts               when app_sms's log was found holding received texts
//     settle.lock                  taken by both settlers and by sms-queue delete
//     records/<stem>               a fax or voice delivery (lasthop_call)
//     results/<stem>.<attempt>     its call's result (sms-callresult)
//     sip/<stem>                   a SIP message held for an unreachable user (lasthop_sip)
// <spool>/outgoing/smsq.mttx.<queue>.1   a phone queue's delivery call (smsq's own name)
// <spool>/outgoing/<stem>.fax.call       a fax or voice delivery's call (<stem>.voice.call),
//                  <stem>.fax.<n>.call   from its second attempt on; archived by Asterisk into
//                                        outgoing_done/ under the same name
// <spool>/sms/morx/{failed,bad}/NAME.why the reason beside a dead letter (state/notes)
#pragma once

#include "core/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sms::state {

std::string root(const Config& cfg);            // <spool>/sms/.sms-suite
std::string journal_dir(const Config& cfg);     // root/journal
std::string retry_dir(const Config& cfg);       // root/retry
std::string refs_dir(const Config& cfg);        // root/refs
std::string reassembly_lock(const Config& cfg); // root/reassembly.lock

// The name of lasthop/received-texts.
inline constexpr const char* received_texts_name = "received-texts";

std::string lasthop_dir(const Config& cfg);      // root/lasthop
std::string mr_dir(const Config& cfg);           // lasthop/mr
std::string sms_calls_dir(const Config& cfg);    // lasthop/calls
std::string log_cursor(const Config& cfg);       // lasthop/cursor
std::string received_texts(const Config& cfg);   // lasthop/<received_texts_name>
std::string settle_lock(const Config& cfg);      // lasthop/settle.lock
std::string call_records_dir(const Config& cfg); // lasthop/records
std::string call_results_dir(const Config& cfg); // lasthop/results
std::string sip_holds_dir(const Config& cfg);    // lasthop/sip

// The delivery call of a phone's queue in outgoing/: "smsq.mttx.<queue>.1", the very name smsq
// gives it, so that a call queued by either is never doubled by the other.
std::string delivery_call_name(std::string_view queue);

// The call of a fax (service 'F') or voice ('V') delivery of the message `stem`, attempt
// `attempt` (1 or more): "<stem>.fax.call", "<stem>.voice.3.call".
std::string fax_voice_call_name(std::string_view stem, char service, int attempt);
// Such a name read back; nullopt for any other name. The stem is returned as it stands.
struct FaxVoiceCall {
    std::string stem;
    char service = 'F';
    int attempt = 1;
};
std::optional<FaxVoiceCall> parse_fax_voice_call_name(std::string_view name);

} // namespace sms::state
