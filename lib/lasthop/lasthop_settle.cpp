// The last hop of SMS: settling the pending items against app_sms's log (delivered, queued
// again, dialled again, given up), each settlement one journal transaction.
#include "asterisk/callfile.hpp"
#include "core/calls.hpp"
#include "core/journal.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_internal.hpp"
#include "state/notes.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::lasthop {

namespace {

// A queue file taken by app_sms with no line about it after this long (and no call pending):
// the line was lost (rotation, a full disk); the outcome is unknown, the message goes again.
constexpr std::int64_t gone_grace = 600;

// The name smsq and outbox give a queue's delivery call (outbox::call_file_name).
std::string call_name(const std::string& queue) {
    return state::delivery_call_name(queue);
}

// The queue file with its mr= line set to `mr`.
std::string with_mr(const std::string& body, unsigned mr) {
    std::string out;
    bool done = false;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto nl = body.find('\n', pos);
        std::string line = body.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? body.size() : nl + 1;
        if (line.size() >= 3 && (line[0] == 'm' || line[0] == 'M') &&
            (line[1] == 'r' || line[1] == 'R') && line[2] == '=') {
            if (done)
                continue;
            line = fmt::format("mr={}", mr);
            done = true;
        }
        out += line + "\n";
    }
    if (!done)
        out += fmt::format("mr={}\n", mr);
    return out;
}

// The archived delivery call of `queue` in outgoing_done/, when it ended Expired and this
// expiry was not handled yet: its identity (inode:mtime) and when it ended; else an empty id.
struct Expiry {
    std::string id;
    std::int64_t when = 0;
};
Expiry new_expiry(const Config& cfg, const std::string& queue) {
    std::string path = fs::join(fs::join(cfg.general.spool_dir, "outgoing_done"), call_name(queue));
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return {};
    std::string text;
    try {
        text = fs::read_file(path, 1 << 20);
    } catch (const Error&) {
        return {};
    }
    auto at = text.rfind("Status:");
    if (at == std::string::npos)
        return {};
    auto end = text.find('\n', at);
    std::string status = text.substr(at + 7, end == std::string::npos ? end : end - at - 7);
    while (!status.empty() && (status.front() == ' ' || status.front() == '\t'))
        status.erase(status.begin());
    while (!status.empty() && (status.back() == '\r' || status.back() == ' '))
        status.pop_back();
    if (status != "Expired")
        return {};
    std::string id = fmt::format("{}:{}.{:09}", st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    try {
        if (fs::read_file(fs::join(state::sms_calls_dir(cfg), queue), 256) == id + "\n")
            return {};
    } catch (const Error&) {
    }
    return {id, static_cast<std::int64_t>(st.st_mtim.tv_sec)};
}

} // namespace

namespace {

// What the log's lines say of received messages (see Settler::received).
struct Received {
    std::string first, last; // "TIME from OA" of the first and last text
    bool lengths_only = false;
};

class Settler {
public:
    Settler(const Config& cfg, journal::Journal* j, const Notify& notify, std::int64_t now)
        : cfg_(cfg)
        , j_(j)
        , notify_(notify)
        , now_(now)
        , dir_(dir(cfg)) {}

    Settled run();

private:
    const Config& cfg_;
    journal::Journal* j_;
    const Notify& notify_;
    std::int64_t now_;
    std::string dir_;
    Settled out_;
    bool hold_cursor_ = false;
    smslog::Mark mark_now_;

    bool dry() const { return j_ == nullptr; }
    Event event(const Item& it, Outcome o, std::string detail) const {
        Event e;
        e.item = it.name();
        e.file = it.get("file");
        e.queue = it.queue;
        e.oa = it.get("oa");
        e.da = it.get("da");
        e.outcome = o;
        e.attempts = it.attempts;
        e.detail = std::move(detail);
        return e;
    }
    std::string item_path(const Item& it) const { return fs::join(dir_, it.name()); }
    // The delivery call, not before `at`; none when the item has no channel (sms-send
    // --no-dial): the router's sweep of sms/mttx/ finds the channel in the directory.
    void add_call(std::vector<fs::PlannedFile>& files, const Item& it, std::int64_t at) const {
        if (!it.get("channel").empty())
            files.push_back(call(it, at));
    }
    fs::PlannedFile call(const Item& it, std::int64_t at) const {
        callfile::CallFile c = callfile::sms_delivery(cfg_, it.get("channel"), it.queue);
        c.at = std::chrono::system_clock::time_point(std::chrono::seconds(at));
        return callfile::plan(cfg_.general.spool_dir, call_name(it.queue), c);
    }

    // The steps of run(), in order.
    smslog::ReadResult read_log(const std::vector<Item>& items, std::vector<bool>& waiting);
    void settle_items(std::vector<Item>& items, const std::vector<bool>& waiting, const Matched& m,
                      bool log_readable);
    void logged(const Item& it, const smslog::Record& r, const Matched& m,
                const std::string* contradicted);
    void taken(const Item& it, bool log_readable);
    Received received(const std::vector<smslog::Record>& records);

    void delivered(const Item& it, const smslog::Record& r);
    void remember_received_texts(const Received& rec) const;
    void failed(const Item& it, const std::string& why);
    void give_up(const Item& it, const std::string& why, const std::string& told,
                 std::vector<fs::PlannedFile>& files, std::vector<journal::Input>& inputs,
                 std::string& detail, bool queue_file_waiting);
    void expired(const std::string& queue, const std::string& id, std::vector<Item*>& waiting);
    void stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
               const std::vector<journal::Input>& inputs);
};

void Settler::stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
                    const std::vector<journal::Input>& inputs) {
    if (!dry())
        j_->stage(name, files, inputs);
}

void Settler::delivered(const Item& it, const smslog::Record& r) {
    std::string detail =
        fmt::format("delivered to {} (app_sms logged Y at {})", it.get("da"), r.time);
    std::vector<fs::PlannedFile> files;
    const std::string notify = it.get("notify");
    const bool asked = it.get("srr") == "1";
    const auto rc = cfg_.delivery.receipts;
    if (!notify.empty() && (rc == Receipts::always || (asked && rc != Receipts::never))) {
        std::string hhmm = r.time.size() >= 16 ? r.time.substr(11, 5) : r.time;
        std::string text = fmt::format("{} {} {} {}.", cfg_.texts.delivered, it.get("da"),
                                       cfg_.texts.delivered_at, hhmm);
        std::string stem = fmt::format("lasthop.{}.receipt", it.name());
        if (!dry())
            files = notify_(cfg_.general.centre_receive_number, notify, text, stem, detail);
        detail += fmt::format("; receipt to {}", notify);
    }
    stage(fmt::format("lasthop.{}.{}", it.name(), it.attempts), files, {{item_path(it), ""}});
    out_.events.push_back(event(it, Outcome::delivered, detail));
}

void Settler::give_up(const Item& it, const std::string& why, const std::string& told,
                      std::vector<fs::PlannedFile>& files, std::vector<journal::Input>& inputs,
                      std::string& detail, bool queue_file_waiting) {
    const std::string file = it.get("file");
    detail = fmt::format("given up after {} attempt{}: {}", it.attempts,
                         it.attempts == 1 ? "" : "s", why);
    if (queue_file_waiting) {
        // Still in sms/mttx/: taken out of app_sms's way into the dead letters.
        inputs.push_back({fs::join(cfg_.mttx_dir(), file), cfg_.failed_dir()});
    } else {
        fs::PlannedFile body;
        body.dir = cfg_.failed_dir();
        body.name = file;
        body.content = unhex(it.get("body"));
        files.push_back(std::move(body));
    }
    files.push_back(state::note(cfg_.failed_dir(), file, detail));
    const std::string notify = it.get("notify");
    if (!notify.empty() && cfg_.delivery.receipts != Receipts::never) {
        std::string text = fmt::format("{} {}. {}", cfg_.texts.cannot_deliver, it.get("da"), told);
        std::string stem = fmt::format("lasthop.{}.failed", it.name());
        if (!dry()) {
            for (auto& f : notify_(cfg_.general.centre_receive_number, notify, text, stem, detail))
                files.push_back(std::move(f));
        }
        detail += fmt::format("; {} told", notify);
    }
    inputs.push_back({item_path(it), ""});
}

// A refused (N) or unknown (?) message, or one whose line never came: again or given up.
void Settler::failed(const Item& it, const std::string& why) {
    std::vector<fs::PlannedFile> files;
    std::vector<journal::Input> inputs;
    std::string detail;
    const std::string txn = fmt::format("lasthop.{}.{}", it.name(), it.attempts);
    if (it.attempts >= cfg_.delivery.max_attempts || now_ >= it.deadline) {
        give_up(it, why, cfg_.texts.not_accepted, files, inputs, detail, false);
        stage(txn, files, inputs);
        out_.events.push_back(event(it, Outcome::given_up, detail));
        return;
    }
    Item next = it;
    next.attempts = it.attempts + 1;
    next.next = now_ + pause_after(cfg_, it.attempts);
    unsigned mr = dry() ? 0 : allocate_mr(cfg_, it.queue);
    next.fields["file"] = fmt::format("{}.r{}", it.get("base"), next.attempts);
    next.id = sms_item_id(cfg_, it.queue, mr, next.get("file"));
    next.fields["mr"] = std::to_string(mr);
    std::string body = with_mr(unhex(it.get("body")), mr);
    next.fields["body"] = hex(body);
    next.fields["mark"] = fmt::format("{}:{}", mark_now_.ino, mark_now_.pos);
    next.fields["queued"] = std::to_string(now_);
    next.fields.erase("gone");
    fs::PlannedFile q;
    q.dir = cfg_.mttx_dir();
    q.name = next.get("file");
    q.content = body;
    files.push_back(plan(cfg_, next));
    files.push_back(std::move(q));
    add_call(files, next, next.next);
    inputs.push_back({item_path(it), ""});
    detail =
        fmt::format("{}: queued again (attempt {} of {}, mr {}, call not before {} s from now)",
                    why, next.attempts, cfg_.delivery.max_attempts, mr, next.next - now_);
    stage(txn, files, inputs);
    out_.events.push_back(event(next, Outcome::requeued, detail));
}

// The delivery call of `queue` ended Expired (no answer, busy, no channel): the messages still
// in sms/mttx/ are dialled again after a pause, or given up, in one transaction.
void Settler::expired(const std::string& queue, const std::string& id,
                      std::vector<Item*>& waiting) {
    std::vector<fs::PlannedFile> files;
    std::vector<journal::Input> inputs;
    std::vector<Event> events;
    std::optional<std::int64_t> call_at;
    const Item* any = nullptr;
    for (Item* it : waiting) {
        std::string detail;
        if (it->attempts >= cfg_.delivery.max_attempts || now_ >= it->deadline) {
            give_up(*it, "the phone did not answer (the delivery call expired)",
                    cfg_.texts.not_answered, files, inputs, detail, true);
            events.push_back(event(*it, Outcome::given_up, detail));
            continue;
        }
        Item next = *it;
        next.attempts = it->attempts + 1;
        next.next = now_ + pause_after(cfg_, it->attempts);
        call_at = call_at ? std::min(*call_at, next.next) : next.next;
        any = it;
        files.push_back(plan(cfg_, next, true));
        events.push_back(
            event(next, Outcome::redialled,
                  fmt::format("the delivery call expired (no answer, busy or no "
                              "channel): dialled again (attempt {} of {}) in {} s",
                              next.attempts, cfg_.delivery.max_attempts, next.next - now_)));
    }
    if (any)
        add_call(files, *any, *call_at);
    fs::PlannedFile seen;
    seen.dir = state::sms_calls_dir(cfg_);
    seen.name = queue;
    seen.content = id + "\n";
    seen.replace = true;
    files.push_back(std::move(seen));
    stage(fmt::format("lasthop.expired.{}.{}", queue, now_), files, inputs);
    for (auto& e : events)
        out_.events.push_back(std::move(e));
}

Settled Settler::run() {
    if (!fs::is_dir(dir_))
        return out_; // nothing was ever remembered
    std::optional<fs::Lock> lock;
    if (!dry()) {
        lock = fs::Lock::try_acquire(state::settle_lock(cfg_));
        if (!lock) {
            out_.skipped = true;
            return out_;
        }
    }
    std::vector<Item> items;
    for (auto& it : list(cfg_))
        if (it.kind == 'S')
            items.push_back(std::move(it));
    if (items.empty())
        return out_;

    // Which items app_sms has taken (their queue file is gone): only those need the log.
    std::vector<bool> waiting(items.size());
    bool need_log = false;
    for (std::size_t k = 0; k < items.size(); ++k) {
        waiting[k] = fs::exists(fs::join(cfg_.mttx_dir(), items[k].get("file")));
        need_log = need_log || !waiting[k];
    }
    smslog::ReadResult rr;
    if (need_log)
        rr = read_log(items, waiting);
    const Matched m = match(cfg_, items, waiting, rr, out_.notes);
    const Received rec = received(rr.records);
    settle_items(items, waiting, m, rr.readable);
    if (dry())
        return out_;
    j_->commit_all(); // before the cursor moves past the lines settled
    if (need_log && rr.readable)
        remember_received_texts(rec);
    if (need_log && rr.readable && !hold_cursor_) {
        fs::WriteOptions wo;
        wo.replace = true;
        fs::write_atomic(dir_, "cursor", smslog::format_cursor(rr.next), wo);
    }
    return out_;
}

// The lines of app_sms's log written since the cursor, and where it ends now (the mark of the
// messages queued again). `waiting` is brought up to date: a queue file still there now was not
// taken when the lines just read were written (app_sms deletes it before sending it), so no
// line read can be about it.
smslog::ReadResult Settler::read_log(const std::vector<Item>& items, std::vector<bool>& waiting) {
    const std::string cursor_path = state::log_cursor(cfg_);
    smslog::Cursor cursor;
    try {
        if (auto c = smslog::parse_cursor(fs::read_file(cursor_path, 4096)))
            cursor = *c;
    } catch (const Error&) {
    }
    // What the suite's own lines will hold: the reader steps over their raw line feeds and
    // finds the line glued after a NUL in them, and nowhere else.
    std::vector<smslog::Expected> expected;
    for (const auto& it : items)
        expected.push_back({it.queue, it.get("oa"), it.get("da"), unhex(it.get("logtext")),
                            it.get("logcut") == "1"});
    smslog::ReadResult rr = smslog::read_new(cfg_.sms.log, cursor, expected);
    if (!rr.readable) {
        out_.log_readable = false;
        out_.log_error = rr.error;
    }
    out_.notes = rr.notes;
    mark_now_ =
        rr.readable ? smslog::Mark{rr.current_ino, rr.next.pos} : smslog::mark_now(cfg_.sms.log);
    for (std::size_t k = 0; k < items.size(); ++k)
        if (waiting[k])
            waiting[k] = fs::exists(fs::join(cfg_.mttx_dir(), items[k].get("file")));
    return rr;
}

// Every item by what the log said of it or what became of its queue file; then the expired
// delivery calls, one transaction per queue.
void Settler::settle_items(std::vector<Item>& items, const std::vector<bool>& waiting,
                           const Matched& m, bool log_readable) {
    std::map<std::string, std::vector<Item*>> expired_waiting;
    std::map<std::string, Expiry> expiry;
    for (std::size_t k = 0; k < items.size(); ++k) {
        Item& it = items[k];
        try {
            if (auto f = m.found.find(k); f != m.found.end()) {
                auto c = m.contradicted.find(k);
                logged(it, f->second, m, c == m.contradicted.end() ? nullptr : &c->second);
            } else if (waiting[k]) {
                if (!expiry.count(it.queue))
                    expiry[it.queue] = new_expiry(cfg_, it.queue);
                // Only messages queued before that call ended were in it.
                const Expiry& x = expiry[it.queue];
                if (!x.id.empty() && it.next <= x.when)
                    expired_waiting[it.queue].push_back(&it);
                else if (dry())
                    out_.events.push_back(
                        event(it, Outcome::waiting, "in sms/mttx/, waiting for its delivery call"));
            } else {
                taken(it, log_readable);
            }
        } catch (const Error& e) {
            // Not settled this time (a full disk, no free mr): the line is read again next run.
            hold_cursor_ = true;
            log::warning("{}: not settled: {}", it.name(), e.what());
        }
    }
    for (auto& [queue, list] : expired_waiting) {
        try {
            expired(queue, expiry[queue].id, list);
        } catch (const Error& e) {
            hold_cursor_ = true;
            log::warning("queue {}: expired call not handled: {}", queue, e.what());
        }
    }
}

// An item app_sms logged `r` for (`contradicted`: the lines for it that disagree, if any).
void Settler::logged(const Item& it, const smslog::Record& r, const Matched& m,
                     const std::string* contradicted) {
    const auto v = m.verdict.find(twin_key(it));
    if (v != m.verdict.end() && v->second == Twins::wait) {
        hold_cursor_ = true; // its line is read again with its twins'
        if (dry())
            out_.events.push_back(event(it, Outcome::waiting,
                                        "a twin (the same mr and length) has no line "
                                        "in app_sms's log yet"));
        return;
    }
    if (contradicted)
        failed(it, fmt::format("app_sms's log holds lines for it that disagree ({}): "
                               "one of them may be the text of a message",
                               *contradicted));
    else if (r.status == 'Y' && v != m.verdict.end() && v->second == Twins::resend)
        failed(it, fmt::format("app_sms logged Y at {} for one of several messages "
                               "with the same mr, addresses and length, and not "
                               "for all: which arrived cannot be told",
                               r.time));
    else if (r.status == 'Y')
        delivered(it, r);
    else if (r.status == 'N')
        failed(it, fmt::format("refused by the phone (app_sms logged N at {})", r.time));
    else
        failed(it, fmt::format("the call ended while it was being sent; it may have "
                               "arrived (app_sms logged ? at {})",
                               r.time));
}

// An item whose queue file app_sms took and whose line was not read: it waits for its call or
// its line, and after gone_grace without either it goes again.
void Settler::taken(const Item& it, bool log_readable) {
    if (!log_readable) {
        if (dry())
            out_.events.push_back(
                event(it, Outcome::waiting, "taken by app_sms; its log cannot be read"));
        return;
    }
    if (fs::exists(fs::join(cfg_.outgoing_dir(), call_name(it.queue)))) {
        if (dry())
            out_.events.push_back(event(it, Outcome::waiting, "its call is under way"));
        return;
    }
    std::int64_t gone = it.get_int("gone", 0);
    if (gone == 0) {
        if (!dry()) {
            Item g = it;
            g.fields["gone"] = std::to_string(now_);
            fs::commit(plan(cfg_, g, true));
        }
        gone = now_;
    }
    if (now_ - gone < gone_grace) {
        if (dry())
            out_.events.push_back(
                event(it, Outcome::waiting, "taken by app_sms; no line in its log yet"));
        return;
    }
    failed(it, fmt::format("taken by app_sms {} s ago and no line about it in {}: the "
                           "outcome is unknown",
                           now_ - gone, cfg_.sms.log));
}

// What the lines read say of received messages: where and from whom the first and last text
// was (said once per run in out_.received_texts), and whether one was logged as its length only.
Received Settler::received(const std::vector<smslog::Record>& records) {
    Received rec;
    for (const auto& r : records) {
        if (r.dir != 'I' || r.mode != 'S')
            continue;
        if (r.udl) {
            rec.lengths_only = true;
            continue;
        }
        if (!out_.received_texts)
            out_.received_texts = fmt::format("{} ({}, from {})", cfg_.sms.log, r.time, r.oa);
        rec.last = fmt::format("{} from {}", r.time, r.oa);
        if (rec.first.empty())
            rec.first = rec.last;
    }
    return rec;
}

} // namespace

// The received-texts file: written when the lines read hold a received text (its first line
// kept from the file's first writing), removed when they hold a received message logged as
// its length only and no text (the centre has option n now); written only when it changes.
void Settler::remember_received_texts(const Received& rec) const {
    const std::string path = state::received_texts(cfg_);
    std::string old;
    try {
        old = fs::read_file(path, 4096);
    } catch (const Error&) {
    }
    try {
        if (!rec.last.empty()) {
            const std::string kept = old.substr(0, old.find('\n'));
            const std::string text =
                fmt::format("{}\nlast {}\n",
                            kept.rfind("first ", 0) == 0 ? kept : "first " + rec.first, rec.last);
            if (text != old) {
                fs::WriteOptions wo;
                wo.mode = 0600;
                wo.replace = true;
                fs::write_atomic(fs::dirname(path), fs::basename(path), text, wo);
            }
        } else if (rec.lengths_only && !old.empty()) {
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                throw Error(Exit::cantcreat, path, std::strerror(errno));
            fs::fsync_dir(dir_);
        }
    } catch (const Error& e) {
        log::warning("{}: not updated: {}", path, e.what());
    }
}

Settled settle(const Config& cfg, journal::Journal* journal, const Notify& notify,
               std::int64_t now) {
    return Settler(cfg, journal, notify, now).run();
}

} // namespace sms::lasthop
