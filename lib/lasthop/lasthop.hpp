// The last hop (SPEC 2.11): what the suite handed to Asterisk is remembered until the far end
// took it. A durable store of pending deliveries under <spool>/sms/.sms-suite/lasthop/, and the
// settling of SMS deliveries against app_sms's log (smslog): confirmed, queued again with a
// growing pause, or given up (dead letter and a notice to the sender).
#pragma once

#include "asterisk/smslog.hpp"
#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "state/layout.hpp"
#include "util/fsutil.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sms::journal {
class Journal;
}

namespace sms::lasthop {

// One pending delivery. General enough for every kind; each kind keeps its own fields.
//   kind  'S' SMS to a phone, 'F' fax, 'V' voice call, 'T' SIP message
//   id    unique within its kind; the item's file is "<kind>.<id>" in dir()
//   queue S: app_sms's queue (the phone); others: what the delivery is known by
// S fields: file (the queue file in sms/mttx/), oa, da, channel, mr, units (UCS-2 units of the
// text), logtext (the text as app_sms logs it, hex), notify (who is told of a failure or
// receipt; empty for the suite's own notices), srr, mark (where app_sms's log ended when it was
// queued: "ino:pos"), queued (when this attempt's queue file was written: no line of the log
// older than that is about it), gone (when the queue file was first seen taken), body (the
// queue file, hex), logcut ("1" when a NUL in the text cuts app_sms's line).
// An item's file is "key=value" lines; an SMS item's file is its queue file itself, the item's
// lines before it as comments (";key=value": app_sms skips them), body and logtext read from
// the message: outbox writes that content to the queue file too, and the journal makes the
// item a second link of it.
struct Item {
    char kind = 'S';
    std::string id;
    std::string queue;
    int attempts = 1;          // delivery attempts so far, counting the one under way
    std::int64_t first = 0;    // when it was first queued (epoch seconds)
    std::int64_t next = 0;     // the current attempt's call is not before this
    std::int64_t deadline = 0; // given up after this ([delivery] give_up after `first`)
    std::map<std::string, std::string> fields;

    std::string name() const { return std::string(1, kind) + "." + id; }
    std::string get(const std::string& key) const;
    std::int64_t get_int(const std::string& key, std::int64_t dflt = 0) const;
};

// <spool>/sms/.sms-suite/lasthop
std::string dir(const Config& cfg);
// Creates it mode 0700, or tightens it to 0700: its items are second links of queue files,
// and the texts they hold are nobody else's to read through it.
void make_dir(const Config& cfg);

// An item as its file holds it (key=value lines) and back. parse: nullopt when it is not one.
std::string serialize(const Item& item);
std::optional<Item> parse(std::string_view text);

// Every pending item, sorted by name. Read only (for sms-queue): never writes, never locks; an
// unreadable item file is skipped.
std::vector<Item> list(const Config& cfg);

// The item's file, to be committed (directly or through the journal).
fs::PlannedFile plan(const Config& cfg, const Item& item, bool replace = false);

// The pause before attempt `attempts` + 1: [sms] retry_time doubled per attempt
// (60, 120, 240... s at the default), at most an hour.
std::int64_t pause_after(const Config& cfg, int attempts);

// ---- SMS (kind S) -----------------------------------------------------------------------

// An `mr` (0-255) for a new message of `queue`, unique among the queue's unconfirmed messages
// (a counter per queue, under a lock, skipping values in use) while one is free. With all 256
// in use the next value is shared: settle() matches such twins by addresses and text (or
// length), and sends again a twin it cannot tell from one that failed.
unsigned allocate_mr(const Config& cfg, const std::string& queue);

// allocate_mr for a run that queues many messages in batches (the router): each queue's counter
// is locked and read at its first message of the batch and held until release(), which writes
// it back and unlocks (call it before the batch is committed: a batch committed is never
// discarded, so its values must be counted by then). Values in use are the items found by one
// listing, and those given by this run (whose items may not be in place yet). The listing is
// taken once per run, and again (at most once per batch) when a counter is new to the run or
// another run wrote it meanwhile. A lock
// is waited for only while no other is held: two runs that take queues in another order never
// wait for each other. Not for a process that calls allocate_mr meanwhile (the lock would wait
// for itself).
class MrCounters {
public:
    explicit MrCounters(const Config& cfg);
    ~MrCounters();
    MrCounters(const MrCounters&) = delete;
    MrCounters& operator=(const MrCounters&) = delete;

    // The mr for a new message of `queue`, and its item's id (as sms_item_id: the queue file's
    // name `file` added when the mr is shared).
    std::pair<unsigned, std::string> allocate(const std::string& queue, const std::string& file);
    void release();

private:
    struct Held;
    const Config& cfg_;
    bool dir_made_ = false;
    std::map<std::string, Held> held_;
    std::map<std::string, std::array<bool, 256>> in_use_; // by queue: listed, or given by the run
    // Each counter as this run left it (its value and time), to see whether another run wrote
    // it since.
    std::map<std::string, std::pair<unsigned, std::int64_t>> left_;
    bool listed_ = false; // in this batch
    void list();
};

// The item's id: "<queue>.<mr>" (3 digits), or with a shared mr "<queue>.<mr>.<file>", the
// queue file's name making it unique.
std::string sms_item_id(const Config& cfg, const std::string& queue, unsigned mr,
                        const std::string& file);

// Builds the item for a message whose queue file content is `body` (mr already in it). `id`:
// the item's id when the caller has it (MrCounters::allocate), else sms_item_id's.
Item sms_item(const Config& cfg, const spool::Message& m, const std::string& queue,
              const std::string& file, const std::string& channel, const std::string& notify,
              const std::string& body, smslog::Mark mark, std::int64_t now,
              const std::string& id = "");
// plan() of that item, for each message queued: what only matching needs (what app_sms logs of
// the text) is not made, as the file never holds it.
fs::PlannedFile plan_sms(const Config& cfg, const spool::Message& m, const std::string& queue,
                         const std::string& file, const std::string& channel,
                         const std::string& notify, const std::string& body, smslog::Mark mark,
                         std::int64_t now, const std::string& id = "");

// Whether log record `r` can be app_sms's own record of the SMS of `item`: anchored (where
// app_sms began a line), a centre delivery line (O, mode S) with the item's queue, mr and
// addresses, after the item's mark, its time not before this attempt was queued, and in the
// form the call used: with `privacy` (option n) the length, else the whole text (cut where
// the item's own NUL cuts it).
bool matches(const Item& item, const smslog::Record& r, std::uint64_t current_ino, bool privacy);

// ---- Settling ---------------------------------------------------------------------------

enum class Outcome { delivered, requeued, redialled, given_up, waiting };
const char* to_string(Outcome o);

struct Event {
    std::string item; // the item's name
    std::string file; // the queue file it was
    std::string queue, oa, da;
    Outcome outcome = Outcome::waiting;
    int attempts = 0;
    std::string detail;
};

struct Settled {
    bool skipped = false; // another run is settling
    bool log_readable = true;
    std::string log_error; // said once per run
    // The log holds received texts (xIS lines with a text, an SMS centre without option n):
    // where and from whom the first was. Such a log is open to forgery; said once per run.
    std::optional<std::string> received_texts;
    std::vector<std::string> notes; // rotation, truncation
    std::vector<Event> events;      // settled items (and, on a dry run, waiting ones)
};

// The file in dir() where settle() remembers that app_sms's log holds received texts (the SMS
// centre's SMS() without option n), so that sms-queue can say so without reading the log:
// "first TIME from OA" and "last TIME from OA" lines. Written when a run reads a received
// text, removed when a run reads a received message logged as its length only and no text.
inline constexpr const char* received_texts_file = state::received_texts_name;
struct ReceivedTexts {
    std::string first, last; // "TIME from OA"
};
// What that file holds; none when it is absent or cannot be read.
std::optional<ReceivedTexts> received_texts(const Config& cfg);

// Tells `to` `text` from `from` the way notices go (by the receiver's own service). Returns the
// files to write (an SMS queued through outbox) or none (sent at once, or cannot be told: it
// says why in `detail`). `stem` names the files and the journal transaction. Never throws for
// the notice's sake: a notice that cannot go is noted in `detail`.
using Notify = std::function<std::vector<fs::PlannedFile>(
    const std::string& from, const std::string& to, const std::string& text,
    const std::string& stem, std::string& detail)>;

// Settles every pending SMS: reads app_sms's log from the cursor, and for each item: `Y`
// delivered (forgotten; a receipt when asked for); `N` or `?` queued again with a new mr, or
// given up after [delivery] max_attempts or give_up; a queue file still in sms/mttx/ waits (its
// delivery call `Expired`: re-dialled after a pause, the same limits). Each settlement is one
// journal transaction (committed here, before the cursor moves on), so a run killed at any
// instant neither loses an item nor settles one twice. With `journal` null: a dry run, nothing
// written, events say what would happen. An unreadable log settles nothing from the log.
Settled settle(const Config& cfg, journal::Journal* journal, const Notify& notify,
               std::int64_t now);

// Says what settle did: one log line per event (syslog), the unreadable log once, and with
// `json` one object per event on stdout (sms-process --json: "outcome" is delivered, requeued,
// redialled, given_up or waiting, with a "lasthop" object) and {"lasthop_log":...} when the log
// cannot be read or holds received texts. Returns a summary for the run's closing line ("last hop:
// delivered 1, requeued 0, redialled 0, given up 0"), empty when nothing was settled.
std::string report(const Settled& s, bool json);
std::string event_json(const Event& e);

} // namespace sms::lasthop
