// The last hop of fax and voice deliveries: records, results from the dialplan, the decision
// after each attempt, and its execution through the journal.
#include "lasthop/lasthop_call.hpp"

#include "core/calls.hpp"
#include "core/quiet.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call_internal.hpp"
#include "state/layout.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace sms::lasthop_call {

namespace {

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

std::optional<std::int64_t> to_int(std::string_view s) {
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

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

} // namespace sms::lasthop_call
