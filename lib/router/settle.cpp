// sms-process and the last hop: settling what earlier runs handed over (SMS against app_sms's
// log, fax and voice calls, SIP messages to a reachable contact), the router answering senders.
#include "router/executor.hpp"

namespace sms::process::detail {

// The last hop (lasthop): each SMS handed to app_sms is confirmed, queued again or given up by
// what app_sms's log says; notices and receipts go like the router's other notices.
void Runner::settle() {
    auto notify = [this](const std::string& from, const std::string& to, const std::string& text,
                         const std::string& stem, std::string& detail) {
        try {
            auto reply = router::answer(cfg_, from, to, lookup(to), text);
            return answer(reply, stem, detail);
        } catch (const Temporary& t) {
            detail += fmt::format("; {} not told: {}", to, t.why);
        } catch (const Permanent& p) {
            detail += fmt::format("; {} not told: {}", to, p.why);
        } catch (const Error& e) {
            detail += fmt::format("; {} not told: {}", to, e.what());
        }
        return std::vector<fs::PlannedFile>{};
    };
    last_hop_ = lasthop::report(
        lasthop::settle(cfg_, opts_.dry_run ? nullptr : journal_.get(), notify, now_s()),
        opts_.json);
}

// Fax and voice calls whose attempt ended: done (a receipt when asked), placed again, or given
// up with the sender told (SPEC 2.11).
// A notice to the sender of a message (a receipt, a failure) from the last hop's settlers: how
// the router answers. Error(tempfail) when it cannot be told now (the settlement waits).
std::vector<fs::PlannedFile> Runner::tell_sender(const std::string& oa, const std::string& text,
                                                 const std::string& stem, std::string& detail) {
    auto sender = lookup(oa);
    if (sender.status == directory::Lookup::Status::unavailable)
        throw Error(Exit::tempfail, "directory", sender.why);
    auto reply = router::answer(cfg_, cfg_.general.centre_receive_number, oa, sender, text);
    try {
        auto files = answer(reply, stem, detail);
        quiet_sms(files);
        return files;
    } catch (const Temporary& t) {
        throw Error(Exit::tempfail, "notice", t.why);
    } catch (const Permanent& p) {
        detail += fmt::format("; sender not told: {}", p.why);
        return std::vector<fs::PlannedFile>{};
    }
}

void Runner::settle_last_hop() {
    lasthop_call::Hooks hooks;
    hooks.tell = [this](const lasthop_call::Record& r, const std::string& text,
                        const std::string& stem,
                        std::string& detail) { return tell_sender(r.oa, text, stem, detail); };
    hooks.report = [this](const lasthop_call::Record& r, lasthop_call::Next next,
                          const std::string& detail) {
        using lasthop_call::Next;
        const char* outcome = next == Next::done     ? "delivered"
                              : next == Next::resend ? "resent"
                                                     : "failed";
        log::write(next == Next::give_up ? log::Level::error : log::Level::info,
                   fmt::format("{}: {} -> {}: service {}: last hop: {}: {}", r.stem, r.oa, r.da,
                               r.service, outcome, detail));
        if (opts_.json)
            fmt::print("{{\"lasthop\":{},\"oa\":{},\"da\":{},\"service\":\"{}\",\"attempt\":{},"
                       "\"outcome\":\"{}\",\"detail\":{}}}\n",
                       send::json_string(r.stem), send::json_string(r.oa), send::json_string(r.da),
                       r.service, r.attempt, outcome, send::json_string(detail));
    };
    try {
        lasthop_call::settle(cfg_, *journal_, hooks, now_s());
    } catch (const Error& e) {
        log::warning("last hop: {}", e.what());
    }
}

// SIP messages sent to a reachable contact, once their qualify round passed: delivered while
// the same registration is reachable, else written into sms/morx/ to be sent again (SPEC 2.11).
void Runner::settle_sip() {
    lasthop_sip::Hooks hooks;
    hooks.reach = [this](const std::string& user) {
        if (cfg_.sip.confirm != SipConfirm::qualify) {
            ami::Reach r;
            r.detail = "[sip] confirm = no";
            return r;
        }
        try {
            return contacts(user);
        } catch (const Temporary& t) {
            throw Error(Exit::tempfail, "manager", t.why);
        }
    };
    hooks.tell = [this](const lasthop_sip::Sent& s, const std::string& text,
                        const std::string& stem,
                        std::string& detail) { return tell_sender(s.oa, text, stem, detail); };
    hooks.report = [this](const lasthop_sip::Sent& s, lasthop_sip::Verdict v,
                          const std::string& detail) {
        const char* outcome = v == lasthop_sip::Verdict::lost ? "resent" : "delivered";
        std::string what = v == lasthop_sip::Verdict::unconfirmable
                               ? fmt::format("unconfirmed: {}", detail)
                               : detail;
        log::info("{}: {} -> {}: service T: last hop: {} (part {} of {}): {}", s.stem, s.oa, s.da,
                  outcome, s.part, s.parts, what);
        if (opts_.json)
            fmt::print("{{\"lasthop\":{},\"oa\":{},\"da\":{},\"service\":\"T\",\"part\":{},"
                       "\"outcome\":\"{}\",\"detail\":{}}}\n",
                       send::json_string(s.stem), send::json_string(s.oa), send::json_string(s.da),
                       s.part, outcome, send::json_string(what));
    };
    try {
        lasthop_sip::settle(cfg_, *journal_, hooks, now_s());
    } catch (const Error& e) {
        log::warning("last hop: {}", e.what());
    }
}

} // namespace sms::process::detail
