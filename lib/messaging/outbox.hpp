// Queueing SMS for landline phones (SPEC 4): split into parts, mttx queue files, delivery calls.
#pragma once

#include "core/config.hpp"
#include "lasthop/lasthop.hpp"
#include "util/fsutil.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::outbox {

struct Request {
    std::string oa;              // shown to the phone as the sender
    bool unknown_sender = false; // oa empty on purpose (a received message had no oa=)
    std::string da;              // the phone's number: also the mttx queue name
    std::string channel;         // what the delivery call dials
    std::string text;            // UTF-8
    std::optional<unsigned> ref; // concatenation reference; default: the next for `da`
    bool ref16 = false;
    std::string scts; // YYYY-MM-DDTHH:MM:SS the phone shows; empty: now
    bool dial = true; // false: queue only, no delivery call (sms-send --no-dial)
    // Remember every part in the last-hop store (lasthop.hpp) until app_sms's log confirms it:
    // each queue file then carries an mr= unique among the queue's unconfirmed messages.
    bool track = false;
    std::string notify;     // who is told when it cannot be delivered (or of a receipt)
    std::optional<int> srr; // the sender asked for a status report (srr=1)
};

// One SMS of a (possibly concatenated) message, as sms-send --json prints it.
struct Part {
    int part = 1;
    int parts = 1;
    int dcs = 0;      // 0 GSM 7-bit, 8 UCS-2
    std::string udh;  // hex, without the length octet; empty for a single SMS
    int septets = 0;  // GSM 7-bit only
    int units = 0;    // UTF-16 units
    std::string text; // UTF-8
};

// Splits the text (after transliteration when [general] unicode = transliterate). Throws
// Error(dataerr) when it needs more than max_parts parts, or for a bad number or invalid UTF-8.
// With [general] concatenate = no, a text longer than one SMS becomes several separate SMS
// without a header (for phones that do not reassemble); max_parts still caps them.
// When req.ref is unset, the reference of a concatenated text is derived from da and text (no
// I/O, the same every time): send() and callers that want a fresh one use next_reference().
std::vector<Part> split(const Config& cfg, const Request& req);

// The files a send consists of: one mttx queue file per part, named `<queue>.<stem>-<k>` (k =
// part number), then the delivery call file (unless req.dial is false or one is pending
// already; planned with replace = false, so committing it later never duplicates a call).
// Deterministic for a given stem: the same names every time (contents differ only in scts when
// req.scts is empty, and in mr with req.track). With req.track, each queue file is preceded by
// its last-hop item (lasthop::sms_item), so the item is in place before app_sms can read it.
// What a run queueing many messages keeps from one to the next within one batch of its journal
// (whose files are put in place together), never longer: the mr counters it holds, where
// app_sms's log ended at the batch's first message, whether each queue's delivery call was
// pending when the batch first looked, and each queue's delivery call as built. close() before the
// batch is committed.
class Batch {
public:
    explicit Batch(const Config& cfg)
        : mr(cfg) {}
    void close();

    lasthop::MrCounters mr;
    std::optional<smslog::Mark> mark;
    std::map<std::string, bool, std::less<>> call_pending; // by queue
    std::map<std::string, fs::PlannedFile> calls;          // by queue and channel: built once
};

// `batch`: a run's open batch (nullptr: a message alone, looked up and counted afresh).
std::vector<fs::PlannedFile> plan(const Config& cfg, const Request& req,
                                  const std::vector<Part>& parts, const std::string& stem,
                                  Batch* batch = nullptr);

// app_sms's queue name for a number: it turns every character but letters and digits into '-'
// ("+4850" -> "-4850"), and reads only queue files named "<queue>.<anything>".
std::string queue_name(std::string_view da);

// The delivery call file's name in outgoing/: "smsq.mttx.<queue>.1", the very name smsq uses,
// so that neither tool queues a second call while one is pending.
std::string call_file_name(std::string_view queue);

// A stem no other send uses: "<unix time>.<nanoseconds>-<pid>-<n>".
std::string unique_stem();

// Whether a delivery call for queue `da` is waiting in outgoing/.
bool call_pending(const Config& cfg, const std::string& da);

// The delivery call for `da` alone (what plan() adds), for the router's sweep of sms/mttx/.
fs::PlannedFile delivery_call(const Config& cfg, const std::string& da, const std::string& channel);

// A queue in sms/mttx/ that holds messages but has no delivery call pending (the call ended
// just before a message was queued): the router queues its call again.
struct WaitingQueue {
    std::string queue; // app_sms's queue name (file name prefix)
    std::string da;    // the number, from the first queue file that names one
};
std::vector<WaitingQueue> queues_without_call(const Config& cfg);

// The next concatenation reference for `da` (a counter under the spool, kept with a lock).
unsigned next_reference(const Config& cfg, const std::string& da, bool ref16);

// The reference next_reference would give now, without taking it (for --dry-run); nullopt when
// `da` has no counter yet (its first reference is drawn at random).
std::optional<unsigned> peek_reference(const Config& cfg, const std::string& da, bool ref16);

// Queues with a fresh unique stem, writing the files now. Returns the parts.
std::vector<Part> send(const Config& cfg, Request req);

} // namespace sms::outbox
