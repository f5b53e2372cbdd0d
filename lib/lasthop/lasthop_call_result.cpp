// sms-callresult: the dialplan's report of a fax or voice call (AGI), kept as the attempt's
// result for the next run to settle.
#include "asterisk/agi.hpp"
#include "asterisk/spool.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "lasthop/lasthop_call_internal.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sms::lasthop_call {

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
