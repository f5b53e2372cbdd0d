// The last hop of SIP messages: holds for unreachable users, and the parts sent that wait for
// their contact to stay reachable for a qualify round.
#include "lasthop/lasthop_sip.hpp"

#include "core/journal.hpp"
#include "lasthop/lasthop_call.hpp"
#include "state/layout.hpp"
#include "util/error.hpp"
#include "util/hex.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

namespace sms::lasthop_sip {

std::string sip_dir(const Config& cfg) {
    return state::sip_holds_dir(cfg);
}

// --- SIP holds ---

std::string sip_hold_path(const Config& cfg, const std::string& stem) {
    return fs::join(sip_dir(cfg), stem);
}

std::optional<SipHold> sip_hold(const Config& cfg, const std::string& stem) {
    std::string p = sip_hold_path(cfg, stem);
    if (!fs::exists(p))
        return std::nullopt;
    SipHold h;
    try {
        std::string text = fs::read_file(p, 4096);
        std::string_view rest = text;
        while (!rest.empty()) {
            auto nl = rest.find('\n');
            auto line = rest.substr(0, nl);
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.starts_with("first=")) {
                auto v = line.substr(6);
                std::int64_t n = 0;
                auto r = std::from_chars(v.data(), v.data() + v.size(), n);
                h.first = r.ec == std::errc() && r.ptr == v.data() + v.size() ? n : 0;
            } else if (line.starts_with("told=")) {
                h.told = line.substr(5) == "1";
            }
        }
    } catch (const Error&) {
        return std::nullopt;
    }
    return h;
}

fs::PlannedFile plan_sip_hold(const Config& cfg, const std::string& stem, const SipHold& h) {
    fs::PlannedFile f;
    f.dir = sip_dir(cfg);
    f.name = stem;
    f.content = fmt::format("first={}\ntold={}\n", h.first, h.told ? 1 : 0);
    f.mode = 0600;
    f.replace = true;
    return f;
}

bool sip_keep(const Config& cfg, const SipHold& h, std::int64_t now) {
    return now - h.first < cfg.sip.hold_time;
}

std::string sip_held_text(const Config& cfg, std::string_view da) {
    return fmt::format("{} {}", da, cfg.texts.sip_held);
}

// --- SIP messages sent, waiting for their confirmation ---

std::vector<Sent> sent_parts(const Config& cfg, const std::string& stem, const spool::Message& m,
                             const std::string& da, const std::vector<std::string>& texts,
                             const ami::Reach& reach, std::int64_t now) {
    std::vector<Sent> out;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        Sent s;
        s.stem = stem;
        s.part = static_cast<int>(i + 1);
        s.parts = static_cast<int>(texts.size());
        s.oa = m.oa;
        s.da = da;
        s.text = texts[i];
        s.scts = m.scts;
        s.receipt = m.srr.value_or(0) == 1;
        s.sent = now;
        s.round = reach.round > 0 ? reach.round : cfg.sip.confirm_window;
        s.contacts = reach.reachable;
        out.push_back(std::move(s));
    }
    return out;
}

lasthop::Item item_of(const Sent& s) {
    lasthop::Item it;
    it.kind = 'T';
    it.id = fmt::format("{}.{}", s.stem, s.part);
    it.queue = s.da;
    it.first = s.sent;
    it.next = s.sent + s.round;
    std::string contacts;
    for (const auto& c : s.contacts)
        contacts += c + "\n";
    it.fields = {{"stem", s.stem},
                 {"part", fmt::format("{}/{}", s.part, s.parts)},
                 {"oa", s.oa},
                 {"da", s.da},
                 {"scts", s.scts},
                 {"srr", s.receipt ? "1" : "0"},
                 {"round", std::to_string(s.round)},
                 {"text", hex::of(s.text, false)},
                 {"contacts", hex::of(contacts, false)}};
    return it;
}

std::optional<Sent> sent_of(const lasthop::Item& it) {
    if (it.kind != 'T')
        return std::nullopt;
    Sent s;
    s.stem = it.get("stem");
    s.oa = it.get("oa");
    s.da = it.get("da");
    s.scts = it.get("scts");
    s.receipt = it.get("srr") == "1";
    s.sent = it.first;
    s.round = it.get_int("round", -1);
    auto text = hex::decode(it.get("text"));
    auto contacts = hex::decode(it.get("contacts"));
    const std::string part = it.get("part");
    auto slash = part.find('/');
    auto num = [](std::string_view v, int& out) {
        auto r = std::from_chars(v.data(), v.data() + v.size(), out);
        return r.ec == std::errc() && r.ptr == v.data() + v.size() && out >= 1;
    };
    if (s.stem.empty() || s.da.empty() || s.round < 0 || !text || !contacts ||
        slash == std::string::npos || !num(std::string_view(part).substr(0, slash), s.part) ||
        !num(std::string_view(part).substr(slash + 1), s.parts) || s.part > s.parts ||
        it.id != fmt::format("{}.{}", s.stem, s.part))
        return std::nullopt;
    s.text = std::move(*text);
    std::string_view rest = *contacts;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        if (nl > 0)
            s.contacts.emplace_back(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
    return s;
}

bool due(const Sent& s, std::int64_t now) {
    return now >= s.sent + s.round;
}

Judgement judge(const Sent& s, const ami::Reach& r) {
    using State = ami::Reach::State;
    switch (r.state) {
    case State::reachable:
        for (const auto& c : s.contacts)
            if (std::find(r.reachable.begin(), r.reachable.end(), c) != r.reachable.end())
                return {Verdict::confirmed,
                        fmt::format("{} stayed reachable for {} s after the send", c, s.round)};
        return {Verdict::lost, fmt::format("registered again since the send ({})", r.detail)};
    case State::unqualified:
        return {Verdict::unconfirmable,
                fmt::format("no qualify on its contacts now ({})", r.detail)};
    case State::unsupported:
        return {Verdict::unconfirmable,
                fmt::format("the manager cannot say whether it is reachable ({})", r.detail)};
    case State::unreachable:
    case State::no_contact:
        break;
    }
    return {Verdict::lost, fmt::format("not reachable after the send ({})", r.detail)};
}

spool::Message resend_message(const Sent& s) {
    spool::Message m;
    m.oa = s.oa;
    m.da = s.da;
    m.scts = s.scts;
    m.text = s.text;
    if (s.receipt)
        m.srr = 1;
    return m;
}

std::string resend_name(const Sent& s) {
    return fmt::format("{}.sip{}", s.stem, s.part);
}

std::vector<Sent> list(const Config& cfg) {
    // Only the T items are read: the SMS items beside them can be many.
    std::vector<Sent> out;
    const std::string d = lasthop::dir(cfg);
    if (!fs::is_dir(d))
        return out;
    for (const auto& name : fs::list_regular(d)) {
        if (!name.starts_with("T."))
            continue;
        try {
            auto it = lasthop::parse(fs::read_file(fs::join(d, name), 1 << 20));
            if (auto s = it ? sent_of(*it) : std::nullopt; s && it->name() == name)
                out.push_back(std::move(*s));
            else
                log::warning("{}: not a pending SIP message; left alone", fs::join(d, name));
        } catch (const Error&) {
            // gone meanwhile (settled) or unreadable: not listed
        }
    }
    return out;
}

int settle(const Config& cfg, journal::Journal& journal, const Hooks& hooks, std::int64_t now) {
    const std::string dir = lasthop::dir(cfg);
    if (!fs::is_dir(dir))
        return 0;
    // Due parts first, without the lock: most runs have none.
    std::vector<Sent> ready;
    for (auto& s : list(cfg))
        if (due(s, now))
            ready.push_back(std::move(s));
    if (ready.empty())
        return 0;
    auto lock = fs::Lock::try_acquire(state::settle_lock(cfg));
    if (!lock)
        return 0; // another run is settling
    int settled = 0;
    for (const auto& s : ready) {
        const auto item = item_of(s);
        const std::string path = fs::join(dir, item.name());
        if (!fs::exists(path))
            continue; // settled or deleted meanwhile
        Judgement j;
        try {
            j = judge(s, hooks.reach(s.da));
        } catch (const Error& e) {
            log::info("{}: SIP message to {} (part {} of {}) stays pending: {}", s.stem, s.da,
                      s.part, s.parts, e.what());
            continue;
        }
        // Not the name of the message that sends it again (<stem>.sip<part>): markers are per name.
        const std::string txn = fmt::format("{}.T{}", s.stem, s.part);
        std::vector<fs::PlannedFile> files;
        std::string detail = j.reason;
        try {
            if (j.verdict == Verdict::lost) {
                fs::PlannedFile f;
                f.dir = cfg.morx_dir();
                f.name = resend_name(s);
                f.content = spool::serialize(resend_message(s));
                f.mode = 0600;
                files.push_back(std::move(f));
                detail += fmt::format("; sent again as sms/morx/{}", resend_name(s));
            } else if (!s.oa.empty() && (cfg.delivery.receipts == Receipts::always ||
                                         (s.receipt && cfg.delivery.receipts != Receipts::never))) {
                // One receipt per message: by the last of its parts to be settled.
                bool last = true;
                for (int p = 1; p <= s.parts && last; ++p)
                    last = p == s.part ||
                           !fs::exists(fs::join(dir, fmt::format("T.{}.{}", s.stem, p)));
                if (last) {
                    lasthop_call::Record r;
                    r.da = s.da;
                    files = hooks.tell(s, lasthop_call::receipt_text(cfg, r, now), txn + ".receipt",
                                       detail);
                    detail += "; receipt sent";
                }
            }
        } catch (const Error& e) {
            log::warning("{}: SIP message to {} stays pending: {}", s.stem, s.da, e.what());
            continue;
        }
        journal.stage(txn, files, {{path, ""}});
        journal.commit_all();
        hooks.report(s, j.verdict, detail);
        ++settled;
    }
    return settled;
}

} // namespace sms::lasthop_sip
