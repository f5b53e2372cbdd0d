// The last hop of fax and voice deliveries: records, results from the dialplan, the decision
// after each attempt, and its execution through the journal.
#include "lasthop/lasthop_call.hpp"

#include "asterisk/agi.hpp"
#include "asterisk/spool.hpp"
#include "core/calls.hpp"
#include "core/quiet.hpp"
#include "lasthop/lasthop.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <sys/stat.h>

namespace sms::lasthop_call {

namespace {

// One line per value: a backslash and control characters are written \\ and \xHH, so a value
// (FAXERROR comes from the far end's fax machine through spandsp) can never add a line.
std::string escape(std::string_view v) {
    std::string out;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\\')
            out += "\\\\";
        else if (u < 0x20 || u == 0x7F)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

std::string unescape(std::string_view v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size() && v[i + 1] == '\\') {
            out += '\\';
            ++i;
        } else if (v[i] == '\\' && i + 3 < v.size() && v[i + 1] == 'x') {
            unsigned x = 0;
            auto r = std::from_chars(v.data() + i + 2, v.data() + i + 4, x, 16);
            if (r.ec == std::errc() && r.ptr == v.data() + i + 4) {
                out += static_cast<char>(x);
                i += 3;
            } else {
                out += v[i];
            }
        } else {
            out += v[i];
        }
    }
    return out;
}

// key=value lines into a map (later keys win; lines without '=' ignored).
std::vector<std::pair<std::string, std::string>> fields(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            continue;
        out.emplace_back(std::string(line.substr(0, eq)), unescape(line.substr(eq + 1)));
    }
    return out;
}

std::optional<std::int64_t> to_int(std::string_view s) {
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

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

std::string sentence(std::string_view reason) {
    std::string r(reason);
    while (!r.empty() && (r.back() == '.' || r.back() == ' '))
        r.pop_back();
    if (!r.empty() && r[0] >= 'A' && r[0] <= 'Z' && !(r.size() > 1 && r[1] >= 'A' && r[1] <= 'Z'))
        r[0] = static_cast<char>(r[0] - 'A' + 'a');
    return r;
}

int max_attempts(const Config& cfg, char service) {
    return service == 'V' ? cfg.voice.max_attempts : cfg.fax.max_attempts;
}
int give_up_after(const Config& cfg, char service) {
    return service == 'V' ? cfg.voice.give_up : cfg.fax.give_up;
}

} // namespace

// --- records and results ---

std::string render(const Record& r) {
    return fmt::format("service={}\noa={}\nda={}\nchannel={}\nfile={}\nattempt={}\nfirst={}\n"
                       "due={}\nreceipt={}\nlast_error={}\nqueued={}\n",
                       r.service, escape(r.oa), escape(r.da), escape(r.channel), escape(r.file),
                       r.attempt, r.first, r.due, r.receipt ? 1 : 0, escape(r.last_error),
                       r.queued);
}

std::optional<Record> parse_record(std::string_view text, std::string_view stem) {
    Record r;
    r.stem = std::string(stem);
    bool service = false, attempt = false;
    for (auto& [k, v] : fields(text)) {
        if (k == "service" && (v == "F" || v == "V")) {
            r.service = v[0];
            service = true;
        } else if (k == "oa") {
            r.oa = v;
        } else if (k == "da") {
            r.da = v;
        } else if (k == "channel") {
            r.channel = v;
        } else if (k == "file") {
            r.file = v;
        } else if (k == "attempt") {
            auto n = to_int(v);
            if (!n || *n < 1 || *n > 100000)
                return std::nullopt;
            r.attempt = static_cast<int>(*n);
            attempt = true;
        } else if (k == "first") {
            r.first = to_int(v).value_or(0);
        } else if (k == "due") {
            r.due = to_int(v).value_or(0);
        } else if (k == "receipt") {
            r.receipt = v == "1";
        } else if (k == "last_error") {
            r.last_error = v;
        } else if (k == "queued") {
            r.queued = to_int(v).value_or(0);
        }
    }
    if (!service || !attempt || r.file.empty() || r.channel.empty())
        return std::nullopt;
    return r;
}

std::string render(const Result& r) {
    if (r.service == 'V')
        return fmt::format("service=V\nplayed={}\nplaybackstatus={}\ntime={}\n", r.played ? 1 : 0,
                           escape(r.playback), r.time);
    return fmt::format("service=F\nfaxstatus={}\nfaxerror={}\nfaxpages={}\ntime={}\n",
                       escape(r.faxstatus), escape(r.faxerror), escape(r.faxpages), r.time);
}

std::optional<Result> parse_result(std::string_view text) {
    Result r;
    bool service = false;
    for (auto& [k, v] : fields(text)) {
        if (k == "service" && (v == "F" || v == "V")) {
            r.service = v[0];
            service = true;
        } else if (k == "faxstatus") {
            r.faxstatus = v;
        } else if (k == "faxerror") {
            r.faxerror = v;
        } else if (k == "faxpages") {
            r.faxpages = v;
        } else if (k == "played") {
            r.played = v == "1";
        } else if (k == "playbackstatus") {
            r.playback = v;
        } else if (k == "time") {
            r.time = to_int(v).value_or(0);
        }
    }
    if (!service)
        return std::nullopt;
    return r;
}

bool valid_stem(std::string_view s) {
    if (s.empty() || s.size() > 120 || s.front() == '.')
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '.' || c == '-' || c == '_';
    });
}

std::string state_dir(const Config& cfg) {
    return state::lasthop_dir(cfg);
}
std::string calls_dir(const Config& cfg) {
    return state::call_records_dir(cfg); // calls/ is lasthop's (SMS delivery calls)
}
std::string results_dir(const Config& cfg) {
    return state::call_results_dir(cfg);
}
std::string archive_dir(const Config& cfg) {
    return fs::join(cfg.general.spool_dir, "outgoing_done");
}

std::string call_name(const Record& r) {
    return state::fax_voice_call_name(r.stem, r.service, r.attempt);
}

callfile::CallFile call_for(const Config& cfg, const Record& r) {
    callfile::CallId id{r.stem, r.attempt};
    auto c = r.service == 'V' ? callfile::voice_delivery(cfg, r.channel, r.file, id)
                              : callfile::fax_delivery(cfg, r.channel, r.file, id);
    c.at = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(r.due));
    return c;
}

std::vector<fs::PlannedFile> plan_first(const Config& cfg, Record r, std::int64_t now) {
    lasthop::make_dir(cfg); // 0700 before the journal makes its folders inside
    r.attempt = 1;
    r.first = now;
    r.queued = now;
    r.due = quiet::when(cfg, r.service, now);
    fs::PlannedFile rec;
    rec.dir = calls_dir(cfg);
    rec.name = r.stem;
    rec.content = render(r);
    rec.mode = 0600;
    auto call = callfile::plan(cfg.general.spool_dir, call_name(r), call_for(cfg, r));
    if (r.due <= now)
        call.mtime.reset(); // due now: as any call file
    // The record first: the journal moves outputs in order, and a call must never be placed
    // without the record that waits for its result.
    return {rec, call};
}

// --- the decision ---

bool counts(const Record& r, const Evidence& e) {
    const std::int64_t since = r.queued ? r.queued : r.first;
    return e.result && !e.pending && !(e.result->time && e.result->time < since);
}

Judgement judge(const Config& cfg, const Record& r, const Evidence& e, std::int64_t now) {
    if (counts(r, e)) {
        const Result& res = *e.result;
        if (r.service == 'F') {
            if (res.faxstatus == "SUCCESS")
                return {Verdict::delivered, ""};
            std::string why =
                !res.faxerror.empty()
                    ? sentence(res.faxerror)
                    : fmt::format("the fax machine did not take "
                                  "it ({})",
                                  res.faxstatus.empty() ? "no FAXSTATUS" : res.faxstatus);
            return {Verdict::failed, why};
        }
        if (res.playback == "FAILED")
            return {Verdict::failed, "the recording could not be played"};
        if (res.played)
            return {Verdict::delivered, ""};
        return {Verdict::failed, "the message was not heard to the end"};
    }
    if (e.archived) {
        if (*e.archived == "Expired")
            return {Verdict::failed, "nobody answered the call"};
        if (*e.archived == "Failed")
            return {Verdict::failed, "Asterisk could not place the call"};
        // Completed means answered: the dialplan's report comes when the call ends.
        if (now - e.archived_at > result_grace)
            return {Verdict::failed, "the call ended without a report"};
        return {Verdict::waiting, "answered; waiting for the report"};
    }
    if (e.pending)
        return {Verdict::waiting, r.due > now ? "call scheduled" : "call queued"};
    // Gone from outgoing/ without an archive (Archive off, or removed by hand): give Asterisk the
    // time its own retries can take, then count it as failed.
    int retries = r.service == 'V' ? cfg.voice.max_retries : cfg.fax.max_retries;
    int retry = r.service == 'V' ? cfg.voice.retry_time : cfg.fax.retry_time;
    int wait = r.service == 'V' ? cfg.voice.wait_time : cfg.fax.wait_time;
    std::int64_t deadline =
        r.due + static_cast<std::int64_t>(retries + 1) * (retry + wait) + result_grace;
    if (now > deadline)
        return {Verdict::failed, "the call ended without a report"};
    return {Verdict::waiting, "call in progress"};
}

Step decide(const Config& cfg, const Record& r, const Judgement& j, std::int64_t now) {
    Step s;
    switch (j.verdict) {
    case Verdict::waiting:
        return s;
    case Verdict::delivered:
        s.next = Next::done;
        s.tell = cfg.delivery.receipts == Receipts::always ||
                 (r.receipt && cfg.delivery.receipts != Receipts::never);
        return s;
    case Verdict::failed:
        break;
    }
    s.reason = j.reason;
    if (r.attempt < max_attempts(cfg, r.service) && now - r.first < give_up_after(cfg, r.service)) {
        int pause = r.service == 'V' ? cfg.voice.retry_time : cfg.fax.retry_time;
        s.next = Next::resend;
        s.due = quiet::when(cfg, r.service, now + static_cast<std::int64_t>(pause) * r.attempt);
        return s;
    }
    s.next = Next::give_up;
    s.tell = cfg.delivery.receipts != Receipts::never;
    return s;
}

std::string failure_text(const Config& cfg, const Record& r, std::string_view reason) {
    const std::string& lead = r.service == 'V' ? cfg.texts.voice_failed : cfg.texts.fax_failed;
    return fmt::format("{} {}: {}.", lead, r.da, sentence(reason));
}

std::string receipt_text(const Config& cfg, const Record& r, std::int64_t when) {
    std::time_t t = static_cast<std::time_t>(when);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return fmt::format("{} {} {} {:04}-{:02}-{:02} {:02}:{:02}.", cfg.texts.delivered, r.da,
                       cfg.texts.delivered_at, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min);
}

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

int settle(const Config& cfg, journal::Journal& journal, const Hooks& hooks, std::int64_t now) {
    if (!fs::is_dir(calls_dir(cfg)))
        return 0;
    auto lock = fs::Lock::try_acquire(state::settle_lock(cfg));
    if (!lock)
        return 0; // another run is settling
    int settled = 0;
    for (const auto& stem : fs::list_regular(calls_dir(cfg))) {
        std::string rec_path = fs::join(calls_dir(cfg), stem);
        std::optional<Record> r;
        try {
            r = parse_record(fs::read_file(rec_path, 64 * 1024), stem);
        } catch (const Error& e) {
            log::warning("{}: {}", rec_path, e.what());
            continue;
        }
        if (!r || !valid_stem(stem)) {
            log::warning("{}: not a last-hop record; left alone", rec_path);
            continue;
        }
        std::string result_path, archive_path;
        auto ev = gather(cfg, *r, result_path, archive_path);
        if (ev.result && !counts(*r, ev)) {
            // Not this attempt's call: kept aside for the administrator, out of the way of the
            // report the call will make.
            const std::string aside = fmt::format("{}.ignored-{}", result_path, now);
            log::warning("{}: {} to {}: the result for attempt {} does not count ({}); kept as {}",
                         stem, word(r->service), r->da, r->attempt,
                         ev.pending
                             ? std::string("its call file still waits in outgoing/: the call "
                                           "was not placed")
                             : fmt::format("reported at {}, before the attempt's call could start "
                                           "at {}",
                                           ev.result->time, r->due),
                         aside);
            if (::rename(result_path.c_str(), aside.c_str()) != 0)
                log::warning("{}: {}", result_path, std::strerror(errno));
            ev.result.reset();
        }
        auto j = judge(cfg, *r, ev, now);
        auto step = decide(cfg, *r, j, now);
        if (step.next == Next::wait)
            continue;

        const std::string txn = fmt::format("{}.lh{}", stem, r->attempt);
        std::vector<fs::PlannedFile> files;
        std::vector<journal::Input> inputs;
        auto remove_if_there = [&](const std::string& p) {
            if (fs::exists(p))
                inputs.push_back({p, ""});
        };
        remove_if_there(result_path);
        remove_if_there(archive_path);
        std::string detail;
        try {
            switch (step.next) {
            case Next::wait:
                break;
            case Next::done: {
                detail = fmt::format("{} delivered to {} (attempt {})", word(r->service), r->da,
                                     r->attempt);
                if (step.tell) {
                    auto t = ev.result && ev.result->time ? ev.result->time : now;
                    files = hooks.tell(*r, receipt_text(cfg, *r, t), txn + ".receipt", detail);
                    detail += "; receipt sent";
                }
                inputs.push_back({rec_path, ""});
                remove_if_there(r->file); // its job is done
                // A call file still waiting would dial with the file gone.
                remove_if_there(fs::join(cfg.outgoing_dir(), call_name(*r)));
                break;
            }
            case Next::resend: {
                Record next = *r;
                next.attempt = r->attempt + 1;
                next.due = step.due;
                next.queued = now;
                next.last_error = step.reason;
                fs::PlannedFile rec;
                rec.dir = calls_dir(cfg);
                rec.name = stem;
                rec.content = render(next);
                rec.mode = 0600;
                rec.replace = true;
                // The record of the next attempt before its call (outputs move in order).
                files.push_back(rec);
                auto call =
                    callfile::plan(cfg.general.spool_dir, call_name(next), call_for(cfg, next));
                if (next.due <= now)
                    call.mtime.reset();
                files.push_back(call);
                detail = fmt::format("{} to {}: attempt {} failed ({}); attempt {} queued{}",
                                     word(r->service), r->da, r->attempt, step.reason, next.attempt,
                                     next.due > now ? fmt::format(" for {}", next.due) : "");
                break;
            }
            case Next::give_up: {
                detail = fmt::format("{} to {}: gave up after {} attempt{} ({})", word(r->service),
                                     r->da, r->attempt, r->attempt == 1 ? "" : "s", step.reason);
                if (step.tell) {
                    files =
                        hooks.tell(*r, failure_text(cfg, *r, step.reason), txn + ".failed", detail);
                    detail += "; sender told";
                }
                if (fs::exists(r->file)) {
                    files.push_back(
                        state::note(cfg.failed_dir(), fs::basename(r->file),
                                    fmt::format("{} to {}: {} after {} attempt(s)",
                                                word(r->service), r->da, step.reason, r->attempt)));
                    inputs.push_back({r->file, cfg.failed_dir()}); // kept, never deleted
                }
                remove_if_there(fs::join(cfg.outgoing_dir(), call_name(*r)));
                inputs.push_back({rec_path, ""});
                break;
            }
            }
            journal.stage(txn, files, inputs);
        } catch (const Error& e) {
            log::warning("{}: {} to {}: not settled yet: {}", stem, word(r->service), r->da,
                         e.what());
            continue;
        }
        ++settled;
        if (hooks.report)
            hooks.report(*r, step.next, detail);
    }
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

// --- the hand-over ---

int hand_over(const Config& cfg, std::string_view service, std::FILE* in, std::FILE* out,
              std::int64_t now) {
    if (service != "fax" && service != "voice")
        throw Error(Exit::usage, fmt::format("service '{}'", service), "expected fax or voice");
    std::optional<agi::Session> session;
    try {
        session.emplace(in, out);
    } catch (const agi::Hangup&) {
        log::warning("{}: Asterisk closed the AGI session before its environment", service);
        return 0;
    }
    agi::Session& s = *session;
    Result res;
    res.service = service == "voice" ? 'V' : 'F';
    res.time = now;
    std::string id;
    std::int64_t attempt = 0;
    try {
        auto v = s.get_variable("SMS_ID");
        if (!v || v->empty()) {
            log::info("{} call without SMS_ID (not placed by sms-process): nothing to report",
                      service);
            return 0;
        }
        id = *v;
        if (!valid_stem(id))
            throw Error(Exit::dataerr, "SMS_ID",
                        "not a message identity of the suite (letters, digits, . - _)");
        auto a = s.get_variable("SMS_ATTEMPT");
        auto n = a ? to_int(*a) : std::nullopt;
        if (!n || *n < 1 || *n > 100000)
            throw Error(Exit::dataerr, "SMS_ATTEMPT", "not an attempt number");
        attempt = *n;
        if (res.service == 'F') {
            res.faxstatus = s.get_variable("FAXSTATUS").value_or("");
            res.faxerror = s.get_variable("FAXERROR").value_or("");
            res.faxpages = s.get_variable("FAXPAGES").value_or("");
        } else {
            res.played = s.get_variable("SMS_PLAYED").value_or("") == "1";
            res.playback = s.get_variable("PLAYBACKSTATUS").value_or("");
        }
    } catch (const agi::Hangup&) {
        log::warning("{} {}: the AGI session ended before the result was read", service, id);
        return 0;
    }
    spool::require_root(cfg.general.spool_dir);
    lasthop::make_dir(cfg);
    fs::make_dirs(results_dir(cfg), 0700);
    std::string name = fmt::format("{}.{}", id, attempt);
    fs::WriteOptions wo;
    wo.mode = 0600;
    bool written = fs::write_atomic(results_dir(cfg), name, render(res), wo);
    // For the log and the console: each value escaped and cut (the result file has it whole).
    auto shown = [](std::string_view v) {
        std::string e = escape(v.substr(0, std::min<std::size_t>(v.size(), 200)));
        return v.size() > 200 ? fmt::format("{}... ({} bytes)", e, v.size()) : e;
    };
    std::string line =
        res.service == 'F'
            ? fmt::format("fax {} attempt {}: FAXSTATUS={} FAXERROR={} FAXPAGES={}", id, attempt,
                          shown(res.faxstatus), shown(res.faxerror), shown(res.faxpages))
            : fmt::format("voice {} attempt {}: played to the end: {}, PLAYBACKSTATUS={}", id,
                          attempt, res.played ? "yes" : "no", shown(res.playback));
    if (!written)
        line += " (a report for this attempt was there already: kept the first)";
    log::info("{}", line);
    try {
        s.verbose(fmt::format("sms-callresult: {}", line), 3);
    } catch (const agi::Hangup&) {
    }
    return 0;
}

} // namespace sms::lasthop_call
