// The routing decision: every row of SPEC 2.1 step 3, as data.
#include "router/router.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sms::router {

const char* to_string(Outcome o) {
    switch (o) {
    case Outcome::routed:
        return "routed";
    case Outcome::held:
        return "held";
    case Outcome::retry:
        return "retry";
    case Outcome::failed:
        return "failed";
    case Outcome::bad:
        return "bad";
    case Outcome::unreadable:
        return "unreadable";
    }
    return "?";
}

char service_of(const Config& cfg, std::string_view number, const directory::Lookup& l) {
    const auto& cmd = cfg.commands.numbers;
    if (std::find(cmd.begin(), cmd.end(), number) != cmd.end())
        return 'C';
    if (l.status == directory::Lookup::Status::found)
        return l.entry.service;
    return l.status == directory::Lookup::Status::not_found ? 'U' : '?';
}

bool needs_sender(const Config& cfg, const spool::Message& m, const directory::Lookup& receiver) {
    if (m.oa.empty())
        return false; // an unknown sender: nothing to look up, nobody to answer
    char s = service_of(cfg, m.da, receiver);
    return s == 'C' || s == 'T' || s == 'N' || s == 'U';
}

std::string notice_text(const Config& cfg, std::string_view da, std::string_view reason) {
    return fmt::format("{} {}. {}", cfg.texts.cannot_deliver, da, reason);
}

Reply answer(const Config& cfg, const std::string& from, const std::string& sender,
             const std::optional<directory::Lookup>& lookup, std::string text) {
    (void)cfg;
    Reply r;
    r.from = from;
    r.to = sender;
    r.text = std::move(text);
    if (sender.empty()) {
        r.why_none = "the sender is unknown (no oa= in the message): no notice or reply possible";
        return r;
    }
    if (!lookup || lookup->status != directory::Lookup::Status::found) {
        r.why_none = fmt::format("sender {} is not in the directory", sender);
        return r;
    }
    switch (lookup->entry.service) {
    case 'S':
        r.via = Reply::Via::sms;
        r.channel = lookup->entry.channel;
        break;
    case 'T':
        r.via = Reply::Via::sip;
        break;
    case 'E': // an e-mail subscriber (whose mail sms-mail-in posted) is answered by mail
        r.via = Reply::Via::mail;
        r.channel = lookup->entry.channel;
        break;
    default:
        r.why_none = fmt::format("sender {} has service {}, which cannot be answered", sender,
                                 lookup->entry.service);
    }
    return r;
}

namespace {

// A message that cannot be routed yet or at all: no destination, or the directory unavailable
// for a number the decision needs. `d` then says why (its service set when known).
bool undecidable(const Config& cfg, const Input& in, Decision& d) {
    const auto& m = in.message;
    if (m.da.empty()) {
        d.outcome = Outcome::bad;
        d.detail = "no destination (da=) in the message";
        return true;
    }
    d.service = service_of(cfg, m.da, in.receiver);
    if (d.service == '?') {
        d.outcome = Outcome::retry;
        d.detail = fmt::format("directory unavailable: {}", in.receiver.why);
        return true;
    }
    if (needs_sender(cfg, m, in.receiver) && in.sender &&
        in.sender->status == directory::Lookup::Status::unavailable) {
        d.outcome = Outcome::retry;
        d.detail = fmt::format("directory unavailable: {}", in.sender->why);
        return true;
    }
    return false;
}

// Service C: the command runs, its answer to the sender from the command's number.
Action command_action(const Config& cfg, const Input& in) {
    const auto& m = in.message;
    Action a;
    a.kind = Action::Kind::run_command;
    a.from = m.oa;
    a.to = m.da;
    a.text = m.text;
    a.reply = answer(cfg, m.da, m.oa, in.sender, "");
    return a;
}

// Service T: the SIP message, and the notice the sender gets if the user cannot be reached.
Action sip_action(const Config& cfg, const Input& in) {
    const auto& m = in.message;
    Action a;
    a.kind = Action::Kind::send_sip;
    // A SIP message needs a From: an unknown sender is "anonymous" (RFC 3323).
    a.from = m.oa.empty() ? std::string("anonymous") : m.oa;
    a.to = m.da;
    a.channel = in.receiver.entry.channel;
    a.text = m.text;
    a.reply = answer(cfg, cfg.general.centre_receive_number, m.oa, in.sender,
                     notice_text(cfg, m.da, cfg.texts.not_logged_in));
    return a;
}

} // namespace

// One case per service letter, each a few lines, so that the table of SPEC 2.2 reads in one
// place.
Decision decide(const Config& cfg, const Input& in) {
    const auto& m = in.message;
    Decision d;
    if (undecidable(cfg, in, d))
        return d;
    const std::string& centre = cfg.general.centre_receive_number;
    auto notice = [&](std::string_view reason, std::string detail) {
        Action a;
        a.kind = Action::Kind::notice;
        a.reply = answer(cfg, centre, m.oa, in.sender, notice_text(cfg, m.da, reason));
        d.actions.push_back(std::move(a));
        d.detail = std::move(detail);
        if (m.oa.empty() && d.detail.ends_with("; sender told"))
            d.detail.resize(d.detail.size() - std::string_view("; sender told").size());
    };
    auto deliver = [&](Action::Kind kind, std::string what) {
        Action a;
        a.kind = kind;
        a.from = m.oa;
        a.to = m.da;
        a.channel = in.receiver.entry.channel;
        a.text = m.text;
        d.actions.push_back(std::move(a));
        d.detail = std::move(what);
    };
    const std::string marked = std::string(in.incomplete ? " (incomplete: parts missing)" : "") +
                               (m.oa.empty() ? " (from an unknown sender)" : "");
    switch (d.service) {
    case 'S':
        deliver(Action::Kind::queue_sms,
                fmt::format("SMS queued for {} on {}{}", m.da, in.receiver.entry.channel, marked));
        break;
    case 'F':
        deliver(Action::Kind::render_fax,
                fmt::format("fax queued for {} on {}{}", m.da, in.receiver.entry.channel, marked));
        break;
    case 'V':
        deliver(Action::Kind::render_voice, fmt::format("voice call queued for {} on {}{}", m.da,
                                                        in.receiver.entry.channel, marked));
        break;
    case 'C':
        d.actions.push_back(command_action(cfg, in));
        d.detail = fmt::format("command for {}{}", m.da, marked);
        break;
    case 'T':
        d.actions.push_back(sip_action(cfg, in));
        d.detail = fmt::format("SIP message sent to {}{}", m.da, marked);
        break;
    case 'E':
        deliver(Action::Kind::send_mail,
                fmt::format("mail sent to {} for {}{}", in.receiver.entry.channel, m.da, marked));
        break;
    case 'N':
        notice(cfg.texts.disabled, fmt::format("{} has disabled messaging; sender told", m.da));
        break;
    case 'U':
        notice(cfg.texts.no_such_number, fmt::format("{} does not exist; sender told", m.da));
        break;
    default:
        notice(cfg.texts.wrong_number,
               fmt::format("{} has an unknown service '{}'; sender told", m.da, d.service));
        break;
    }
    return d;
}

} // namespace sms::router
