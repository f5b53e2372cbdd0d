// The last hop of faxes and voice calls (SPEC 2.11): a call is delivered when the far end took
// it, as the dialplan's `h` extension reports it (sms-callresult), not when its call file was
// written. Failed and Expired calls are placed again with the same TIFF or WAV, then
// dead-lettered with the sender told. SIP messages are lasthop_sip's.
//
// State, under <spool>/sms/.sms-suite/lasthop/ (same file system as the spool, so the journal
// can commit it together with the call file it belongs to):
//   records/<stem>          one per fax or voice message in flight (Record): which attempt is
//                           out, since when, for whom; written by the router's journal
//                           transaction together with the call file, removed by the one that
//                           settles it.
//   results/<stem>.<n>      what the dialplan reported for attempt n (Result): written once,
//                           atomically, by sms-callresult; removed when settled.
//   sip/<stem>              lasthop_sip's (SIP messages held for an unreachable user).
// Outcomes: decided purely (judge, decide), carried out through the journal (settle), so a run
// killed at any instant loses nothing and never places a call again once its success is known.
#pragma once

#include "asterisk/callfile.hpp"
#include "core/config.hpp"
#include "core/journal.hpp"
#include "util/fsutil.hpp"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::lasthop_call {

// A fax ('F') or voice ('V') message whose call is out.
struct Record {
    std::string stem; // the message's identity: [A-Za-z0-9._-], names every file of it
    char service = 'F';
    std::string oa;          // the sender, told of the outcome
    std::string da;          // the receiver
    std::string channel;     // what is dialled
    std::string file;        // the TIFF or WAV, kept for every attempt
    int attempt = 1;         // the attempt whose call is out (1 = the first call)
    std::int64_t first = 0;  // when the first call was queued (epoch seconds)
    std::int64_t due = 0;    // when the current call may start (its call file's mtime)
    bool receipt = false;    // the message asked for a status report (srr=1)
    std::string last_error;  // why the previous attempt failed ("" for the first)
    std::int64_t queued = 0; // when the current attempt was queued (0: unknown, use `first`)
};

std::string render(const Record& r);
// nullopt when the text is not a record (a damaged file is logged and left alone).
std::optional<Record> parse_record(std::string_view text, std::string_view stem);

// What the dialplan reported for one attempt.
struct Result {
    char service = 'F';
    std::string faxstatus; // fax: FAXSTATUS (SUCCESS, FAILED, ...)
    std::string faxerror;  // fax: FAXERROR
    std::string faxpages;  // fax: FAXPAGES
    bool played = false;   // voice: the dialplan got past Playback (SMS_PLAYED=1)
    std::string playback;  // voice: PLAYBACKSTATUS
    std::int64_t time = 0; // when it was reported
};

std::string render(const Result& r);
std::optional<Result> parse_result(std::string_view text);

// Whether `s` can be a stem (and so a file name): letters, digits, '.', '-', '_', not starting
// with '.', at most 120 bytes.
bool valid_stem(std::string_view s);

// The folders.
std::string state_dir(const Config& cfg); // <spool>/sms/.sms-suite/lasthop
std::string calls_dir(const Config& cfg);
std::string results_dir(const Config& cfg);
std::string archive_dir(const Config& cfg); // <spool>/outgoing_done

// The call file's name for an attempt: "<stem>.fax.call", then "<stem>.fax.<n>.call".
std::string call_name(const Record& r);

// The call file for the record's current attempt, scheduled at r.due.
callfile::CallFile call_for(const Config& cfg, const Record& r);

// The files that start a fax or voice delivery (attempt 1): the record and the call file, to be
// staged with the message's removal in one journal transaction. `now` is when it is routed; the
// call is scheduled for the end of quiet hours when they apply.
std::vector<fs::PlannedFile> plan_first(const Config& cfg, Record r, std::int64_t now);

// --- the decision, pure ---

// How an attempt ended, as far as can be told now.
enum class Verdict { waiting, delivered, failed };
struct Judgement {
    Verdict verdict = Verdict::waiting;
    std::string reason; // for failed: one line for the sender ("the call dropped prematurely")
};

// What is known about an attempt's call.
struct Evidence {
    std::optional<Result> result;        // the dialplan's report
    std::optional<std::string> archived; // Status: of the archived call file in outgoing_done/
    std::int64_t archived_at = 0;        // its mtime
    bool pending = false;                // the call file is still in outgoing/
};

// A Completed call (answered) whose dialplan never reported within this many seconds failed:
// the `h` extension is missing or Asterisk stopped during the call.
inline constexpr std::int64_t result_grace = 3600;

// A result counts only for a call that was placed: not while the attempt's call file waits in
// outgoing/, and not when it was reported before the attempt was queued (r.queued: a stale
// report of an earlier message with the same name). settle() logs one that does not and
// keeps it aside (results/<stem>.<n>.ignored-<time>).
bool counts(const Record& r, const Evidence& e);
Judgement judge(const Config& cfg, const Record& r, const Evidence& e, std::int64_t now);

enum class Next { wait, done, resend, give_up };
struct Step {
    Next next = Next::wait;
    std::string reason;   // give_up/resend: why the attempt failed
    std::int64_t due = 0; // resend: when the new call may start (quiet hours applied)
    bool tell = false;    // done: send a receipt; give_up: tell the sender
};

// After a failed attempt the next call waits retry_time x the attempt number (growing), at most
// max_attempts calls in all and none later than give_up after the first.
Step decide(const Config& cfg, const Record& r, const Judgement& j, std::int64_t now);

// The sender's notices: "<fax_failed> <da>: <reason>." and "<delivered> <da> at <time>."
std::string failure_text(const Config& cfg, const Record& r, std::string_view reason);
std::string receipt_text(const Config& cfg, const Record& r, std::int64_t when);

// --- carrying it out ---

struct Hooks {
    // Plans a notice to `to` (the answer to a message: by SMS or SIP, as the router answers);
    // files named after `stem`. Throws what the router's answer throws (a temporary failure
    // leaves the record for the next run).
    std::function<std::vector<fs::PlannedFile>(const Record& r, const std::string& text,
                                               const std::string& stem, std::string& detail)>
        tell;
    // One report per settled record (log line, JSON).
    std::function<void(const Record& r, Next next, const std::string& detail)> report;
};

// Settles every record whose attempt ended: each outcome staged in `journal` as its own
// transaction and committed before returning. Skipped (returns 0) when another run is settling.
// Also removes archived call files of the suite's calls that no record waits for. Returns how
// many records were settled.
int settle(const Config& cfg, journal::Journal& journal, const Hooks& hooks, std::int64_t now);

// Every record, with what is known of its current attempt (read-only: for sms-queue).
struct Item {
    Record record;
    Judgement judgement;
    std::string call; // the call file's path in outgoing/ (or "" when not there)
};
std::vector<Item> list(const Config& cfg, std::int64_t now);

// --- the hand-over from the dialplan (sms-callresult) ---

// Speaks AGI on in/out: reads SMS_ID, SMS_ATTEMPT and, for `service` "fax", FAXSTATUS,
// FAXERROR, FAXPAGES, for "voice", SMS_PLAYED and PLAYBACKSTATUS, with GET VARIABLE (the values
// never pass through a shell), and writes results/<SMS_ID>.<SMS_ATTEMPT> atomically and durably.
// A call without SMS_ID (sms2fax run by hand) is only logged. Returns 0 once answered, also on a
// hang-up; throws Error(usage) for an unknown service, Error(dataerr) for a malformed SMS_ID.
int hand_over(const Config& cfg, std::string_view service, std::FILE* in, std::FILE* out,
              std::int64_t now);

} // namespace sms::lasthop_call
