// sms-queue: what the suite holds, item by item (the suite's mailq), and the two actions an
// administrator takes on an item (retry, delete). Reads the spool and the suite's state folder
// through state/ (its layout, notes and retry records) and the last hop's lists.
//
// States, in listing order:
//   held     the parts of a concatenated SMS in sms/morx/ waiting for the others (one item per
//            set): parts there and missing, since the oldest arrived, when the wait ends
//            ([general] reassembly_timeout; then the router routes it as incomplete)
//   retry    a message in sms/morx/ the router keeps through a temporary failure: the reason and
//            first failure from sms/.sms-suite/retry/<name> when there (else the file's mtime),
//            when it gives up ([general] retry_limit)
//   failed   a dead letter in sms/morx/failed/, its reason from NAME.why beside it
//   bad      a quarantined file in sms/morx/bad/, its reason from NAME.why beside it
//   queued   a message in sms/mttx/ for a phone, and whether its delivery call is pending in
//            outgoing/ (without one, the router's next sweep queues it)
//   call     a fax, voice or other call file waiting in outgoing/: next attempt, retries left
//            (one the last hop tracks is shown in its lasthop item instead: one row a delivery)
//   lasthop  (extension point) deliveries awaiting the far end's confirmation, listed by the
//            last-hop modules (list_lasthop in queue_list.cpp)
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sms::queue {

struct Item {
    std::string id;    // 10 hex digits of the name (the set's key for held parts): stable while
                       // the item exists, the same in every listing
    std::string state; // held retry failed bad queued call lasthop
    std::vector<std::string> files; // absolute paths (held: every part)
    std::int64_t since = 0;         // arrival (held: oldest part; retry: first failure)
    std::int64_t next = 0;          // when something happens next; 0: nothing by itself
    std::uint64_t size = 0;         // bytes, all files
    std::string from, to;           // "" when unknown
    char service = 0;               // S F V C T E N; 0 when unknown
    std::string reason;             // one line; "" when none is known
    // held: "1,2/4" parts there of total; queued: "call pending" or "no call";
    // call: "<n> retries left"
    std::string detail;
};

struct Summary {
    std::size_t items = 0;
    std::uint64_t bytes = 0;
    std::vector<std::pair<std::string, std::size_t>> by_state; // listing order, non-zero only
    // sms-process found received texts in app_sms's log (lasthop::received_texts): when the
    // first and the last were, and from whom ("TIME from OA"); empty: none.
    std::string received_first, received_last;
};

// Every item, grouped by state (the order above) and oldest first within a state. Never writes,
// never locks: what an administrator (or the asterisk user) can read is listed, the rest is
// skipped. `now` for the ages and deadlines.
std::vector<Item> list(const Config& cfg, std::int64_t now);

// The items that pass the filters (-s STATE, --from N, --to N; empty: any).
std::vector<Item> filter(std::vector<Item> items, const std::string& state, const std::string& from,
                         const std::string& to);

Summary summarize(const std::vector<Item>& items);

// One line of the listing (mailq's columns): ID, age, size, from -> to, service, state, reason
// (and detail). `now` for the age.
std::string format_line(const Item& item, std::int64_t now);
// One JSON object (sms-queue --json); keys: id, state, files, since, next, age, size, from, to,
// service, detail, reason.
std::string format_json(const Item& item, std::int64_t now);
std::string format_summary(const Summary& s);
std::string format_summary_json(const Summary& s);

// The item with `id` (nullopt when none). Throws Error(dataerr) when two items share it.
std::optional<Item> find(const std::vector<Item>& items, const std::string& id);

// `sms-queue show`: the item whole: its files, the decoded text, the reason, what the router
// will do next.
std::string show(const Config& cfg, const Item& item, std::int64_t now);

// Whether an item may be retried (failed, bad, held, retry, call).
bool retryable(const Item& item);

// The actions. Each takes the router's locks without waiting (the reassembly lock for held
// parts, then an flock on every file), so never acts on a file another run holds: Error(tempfail,
// 75) then, nothing changed. Each is logged to syslog with the item's ID.
// retry: failed/bad go back into sms/morx/ (mtime now, .why and the retry record removed: the
// retry clock starts again); a held set is released (its parts' mtimes moved back past
// reassembly_timeout, so the next run routes it at once, as incomplete); a message waiting for
// retry has its clock reset; a call is made due now. Returns what was done (one line).
std::string retry(const Config& cfg, const Item& item, std::int64_t now);
// delete: the item's files (and .why and retry records) removed. A delivery the suite still
// holds (a queued SMS, a last-hop item) goes with every trace of it in one journal transaction,
// under the last-hop settlers' lock: the queue file and its last-hop item, the phone's delivery
// call when it waits for nothing else; a fax or voice record with its TIFF or WAV, call file
// and results. A call Asterisk is placing (StartRetry in its call file), or a run settling
// deliveries: Error(tempfail), nothing changed.
std::string remove(const Config& cfg, const Item& item);

// ---- sms-queue as a whole -------------------------------------------------------------------

struct Options {
    std::vector<std::string> args; // [list] | show ID | retry ID... | delete ID...
    bool json = false;
    std::string state, from, to;
    bool failed = false; // retry --failed: every dead letter
    bool yes = false;    // delete -y
    std::optional<std::string> spool;
};

// Returns the exit code; throws Error (usage 64, noinput 66 for an unknown ID, tempfail 75 for
// an item another run holds).
int run(Config cfg, const Options& opts, std::FILE* out = stdout);

} // namespace sms::queue
