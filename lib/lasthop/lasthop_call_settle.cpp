// The last hop of fax and voice deliveries carried out: each record settled through the journal
// (done, sent again, given up), the archive swept, the pending ones listed.
#include "asterisk/callfile.hpp"
#include "core/journal.hpp"
#include "lasthop/lasthop_call.hpp"
#include "lasthop/lasthop_call_internal.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::lasthop_call {

namespace {

const char* word(char service) {
    return service == 'V' ? "voice" : "fax";
}

std::optional<std::int64_t> mtime_of(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    return st.st_mtime;
}

// The last "Status: " line of an archived call file (pbx_spool appends it at the end).
std::optional<std::string> archived_status(const std::string& path) {
    std::string text;
    try {
        text = fs::read_file(path, 1 << 20);
    } catch (const Error&) {
        return std::nullopt;
    }
    std::optional<std::string> status;
    std::string_view t(text);
    while (!t.empty()) {
        auto nl = t.find('\n');
        auto line = t.substr(0, nl);
        t = nl == std::string_view::npos ? std::string_view{} : t.substr(nl + 1);
        if (line.starts_with("Status:")) {
            line.remove_prefix(7);
            while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
                line.remove_prefix(1);
            while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                line.remove_suffix(1);
            status = std::string(line);
        }
    }
    return status;
}

} // namespace

// --- carrying it out ---

namespace {

Evidence gather(const Config& cfg, const Record& r, std::string& result_path,
                std::string& archive_path) {
    Evidence e;
    result_path = fs::join(results_dir(cfg), fmt::format("{}.{}", r.stem, r.attempt));
    if (fs::exists(result_path)) {
        try {
            e.result = parse_result(fs::read_file(result_path, 64 * 1024));
        } catch (const Error& err) {
            log::warning("{}: {}", result_path, err.what());
        }
        if (!e.result)
            log::warning("{}: not a result; ignored", result_path);
    }
    archive_path = fs::join(archive_dir(cfg), call_name(r));
    if (auto m = mtime_of(archive_path)) {
        e.archived = archived_status(archive_path);
        e.archived_at = *m;
        if (!e.archived)
            e.archived = std::string("Completed"); // archived while being written: look again
    }
    e.pending = fs::exists(fs::join(cfg.outgoing_dir(), call_name(r)));
    return e;
}

// "<stem>.fax.call" / "<stem>.voice.<n>.call" -> stem, attempt; false for other names.
bool parse_call_name(const std::string& name, std::string& stem, int& attempt) {
    auto c = state::parse_fax_voice_call_name(name);
    if (!c || !valid_stem(c->stem))
        return false;
    stem = c->stem;
    attempt = c->attempt;
    return true;
}

// Archived calls of the suite that no record waits for (the record was settled from the
// dialplan's report before pbx_spool archived, or by hand): removed, so outgoing_done/ does not
// grow with every delivery.
void sweep_archive(const Config& cfg) {
    for (const auto& name : fs::list_regular(archive_dir(cfg))) {
        std::string stem;
        int attempt = 0;
        if (!parse_call_name(name, stem, attempt))
            continue;
        std::string rec = fs::join(calls_dir(cfg), stem);
        bool stale = !fs::exists(rec);
        if (!stale) {
            try {
                auto r = parse_record(fs::read_file(rec, 64 * 1024), stem);
                stale = r && r->attempt > attempt;
            } catch (const Error&) {
            }
        }
        if (stale)
            ::unlink(fs::join(archive_dir(cfg), name).c_str());
    }
}

} // namespace

namespace {

// The record `stem` in calls/, or none (said in the log) when it cannot be read or is not one.
std::optional<Record> read_record(const std::string& rec_path, const std::string& stem) {
    std::optional<Record> r;
    try {
        r = parse_record(fs::read_file(rec_path, 64 * 1024), stem);
    } catch (const Error& e) {
        log::warning("{}: {}", rec_path, e.what());
        return std::nullopt;
    }
    if (!r || !valid_stem(stem)) {
        log::warning("{}: not a last-hop record; left alone", rec_path);
        return std::nullopt;
    }
    return r;
}

// A result that is not this attempt's call's: kept aside for the administrator, out of the way
// of the report the call will make, and no longer evidence.
void set_aside(const Record& r, const std::string& stem, Evidence& ev,
               const std::string& result_path, std::int64_t now) {
    const std::string aside = fmt::format("{}.ignored-{}", result_path, now);
    log::warning("{}: {} to {}: the result for attempt {} does not count ({}); kept as {}", stem,
                 word(r.service), r.da, r.attempt,
                 ev.pending ? std::string("its call file still waits in outgoing/: the call "
                                          "was not placed")
                            : fmt::format("reported at {}, before the attempt's call could start "
                                          "at {}",
                                          ev.result->time, r.due),
                 aside);
    if (::rename(result_path.c_str(), aside.c_str()) != 0)
        log::warning("{}: {}", result_path, std::strerror(errno));
    ev.result.reset();
}

// One settlement's journal transaction, and what it says.
struct Settlement {
    std::vector<fs::PlannedFile> files;
    std::vector<journal::Input> inputs;
    std::string detail;
    void remove_if_there(const std::string& p) {
        if (fs::exists(p))
            inputs.push_back({p, ""});
    }
};

// Delivered: a receipt if asked, the record, the file and a call file still waiting removed.
void plan_done(const Config& cfg, const Record& r, const Step& step, const Evidence& ev,
               const Hooks& hooks, const std::string& txn, const std::string& rec_path,
               std::int64_t now, Settlement& s) {
    s.detail = fmt::format("{} delivered to {} (attempt {})", word(r.service), r.da, r.attempt);
    if (step.tell) {
        auto t = ev.result && ev.result->time ? ev.result->time : now;
        s.files = hooks.tell(r, receipt_text(cfg, r, t), txn + ".receipt", s.detail);
        s.detail += "; receipt sent";
    }
    s.inputs.push_back({rec_path, ""});
    s.remove_if_there(r.file); // its job is done
    // A call file still waiting would dial with the file gone.
    s.remove_if_there(fs::join(cfg.outgoing_dir(), call_name(r)));
}

// Sent again: the next attempt's record, then its call (outputs move in order).
void plan_resend(const Config& cfg, const Record& r, const Step& step, const std::string& stem,
                 std::int64_t now, Settlement& s) {
    Record next = r;
    next.attempt = r.attempt + 1;
    next.due = step.due;
    next.queued = now;
    next.last_error = step.reason;
    fs::PlannedFile rec;
    rec.dir = calls_dir(cfg);
    rec.name = stem;
    rec.content = render(next);
    rec.mode = 0600;
    rec.replace = true;
    s.files.push_back(rec);
    auto call = callfile::plan(cfg.general.spool_dir, call_name(next), call_for(cfg, next));
    if (next.due <= now)
        call.mtime.reset();
    s.files.push_back(call);
    s.detail = fmt::format("{} to {}: attempt {} failed ({}); attempt {} queued{}", word(r.service),
                           r.da, r.attempt, step.reason, next.attempt,
                           next.due > now ? fmt::format(" for {}", next.due) : "");
}

// Given up: the sender told if asked, the file into the dead letters with its note, the record
// and a call file still waiting removed.
void plan_give_up(const Config& cfg, const Record& r, const Step& step, const Hooks& hooks,
                  const std::string& txn, const std::string& rec_path, Settlement& s) {
    s.detail = fmt::format("{} to {}: gave up after {} attempt{} ({})", word(r.service), r.da,
                           r.attempt, r.attempt == 1 ? "" : "s", step.reason);
    if (step.tell) {
        s.files = hooks.tell(r, failure_text(cfg, r, step.reason), txn + ".failed", s.detail);
        s.detail += "; sender told";
    }
    if (fs::exists(r.file)) {
        s.files.push_back(state::note(cfg.failed_dir(), fs::basename(r.file),
                                      fmt::format("{} to {}: {} after {} attempt(s)",
                                                  word(r.service), r.da, step.reason, r.attempt)));
        s.inputs.push_back({r.file, cfg.failed_dir()}); // kept, never deleted
    }
    s.remove_if_there(fs::join(cfg.outgoing_dir(), call_name(r)));
    s.inputs.push_back({rec_path, ""});
}

// The record `stem`: judged, and unless it waits, settled as one journal transaction. True when
// it was settled.
bool settle_one(const Config& cfg, journal::Journal& journal, const Hooks& hooks,
                const std::string& stem, std::int64_t now) {
    const std::string rec_path = fs::join(calls_dir(cfg), stem);
    const std::optional<Record> r = read_record(rec_path, stem);
    if (!r)
        return false;
    std::string result_path, archive_path;
    auto ev = gather(cfg, *r, result_path, archive_path);
    if (ev.result && !counts(*r, ev))
        set_aside(*r, stem, ev, result_path, now);
    auto j = judge(cfg, *r, ev, now);
    auto step = decide(cfg, *r, j, now);
    if (step.next == Next::wait)
        return false;

    const std::string txn = fmt::format("{}.lh{}", stem, r->attempt);
    Settlement s;
    s.remove_if_there(result_path);
    s.remove_if_there(archive_path);
    try {
        switch (step.next) {
        case Next::wait:
            break;
        case Next::done:
            plan_done(cfg, *r, step, ev, hooks, txn, rec_path, now, s);
            break;
        case Next::resend:
            plan_resend(cfg, *r, step, stem, now, s);
            break;
        case Next::give_up:
            plan_give_up(cfg, *r, step, hooks, txn, rec_path, s);
            break;
        }
        journal.stage(txn, s.files, s.inputs);
    } catch (const Error& e) {
        log::warning("{}: {} to {}: not settled yet: {}", stem, word(r->service), r->da, e.what());
        return false;
    }
    if (hooks.report)
        hooks.report(*r, step.next, s.detail);
    return true;
}

} // namespace

int settle(const Config& cfg, journal::Journal& journal, const Hooks& hooks, std::int64_t now) {
    if (!fs::is_dir(calls_dir(cfg)))
        return 0;
    auto lock = fs::Lock::try_acquire(state::settle_lock(cfg));
    if (!lock)
        return 0; // another run is settling
    int settled = 0;
    for (const auto& stem : fs::list_regular(calls_dir(cfg)))
        if (settle_one(cfg, journal, hooks, stem, now))
            ++settled;
    journal.commit_all();
    sweep_archive(cfg);
    return settled;
}

std::vector<Item> list(const Config& cfg, std::int64_t now) {
    std::vector<Item> out;
    for (const auto& stem : fs::list_regular(calls_dir(cfg))) {
        std::optional<Record> r;
        try {
            r = parse_record(fs::read_file(fs::join(calls_dir(cfg), stem), 64 * 1024), stem);
        } catch (const Error&) {
            continue;
        }
        if (!r)
            continue;
        std::string result_path, archive_path;
        auto ev = gather(cfg, *r, result_path, archive_path);
        Item it;
        it.judgement = judge(cfg, *r, ev, now);
        if (ev.pending)
            it.call = fs::join(cfg.outgoing_dir(), call_name(*r));
        it.record = std::move(*r);
        out.push_back(std::move(it));
    }
    return out;
}

} // namespace sms::lasthop_call
