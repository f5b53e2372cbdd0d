// sms-queue's formatting: an item as a line of the listing or a JSON object, the summary, and
// `show`'s whole item.
#include "asterisk/spool.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_sip.hpp"
#include "queue/queue_internal.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sms::queue {

using namespace detail;

// One line for the listing: control characters as \xNN.
std::string detail::one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

namespace {

std::string age_text(std::int64_t secs) {
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        return fmt::format("{}s", secs);
    if (secs < 2 * 3600)
        return fmt::format("{}m", secs / 60);
    if (secs < 2 * 86400)
        return fmt::format("{}h", secs / 3600);
    return fmt::format("{}d", secs / 86400);
}

std::string when_text(std::int64_t t, std::int64_t now) {
    if (t <= 0)
        return "-";
    std::string local = spool::format_scts(t);
    local[10] = ' ';
    return t >= now ? fmt::format("{} (in {})", local, age_text(t - now))
                    : fmt::format("{} ({} ago)", local, age_text(now - t));
}

} // namespace

Summary summarize(const std::vector<Item>& items) {
    Summary s;
    for (const char* st : states) {
        std::size_t n = 0;
        for (const auto& it : items)
            n += it.state == st;
        if (n)
            s.by_state.emplace_back(st, n);
    }
    s.items = items.size();
    for (const auto& it : items)
        s.bytes += it.size;
    return s;
}

std::string format_line(const Item& it, std::int64_t now) {
    std::string note = it.detail;
    if (!it.reason.empty())
        note += (note.empty() ? "" : ": ") + one_line(it.reason);
    if (note.empty())
        note = "-";
    return fmt::format("{}  {:>4} {:>7}  {} -> {}  {}  {:<6}  {}", it.id, age_text(now - it.since),
                       it.size, it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
                       it.service ? it.service : '-', it.state, note);
}

std::string format_json(const Item& it, std::int64_t now) {
    std::string files;
    for (const auto& f : it.files)
        files += (files.empty() ? "" : ",") + json::quote(f);
    auto opt = [](const std::string& s) {
        return s.empty() ? std::string("null") : json::quote(s);
    };
    return fmt::format("{{\"id\":{},\"state\":{},\"files\":[{}],\"since\":{},\"next\":{},"
                       "\"age\":{},\"size\":{},\"from\":{},\"to\":{},\"service\":{},"
                       "\"detail\":{},\"reason\":{}}}",
                       json::quote(it.id), json::quote(it.state), files, it.since,
                       it.next ? std::to_string(it.next) : "null",
                       std::max<std::int64_t>(0, now - it.since), it.size, opt(it.from), opt(it.to),
                       it.service ? json::quote(std::string(1, it.service)) : "null",
                       opt(it.detail), opt(it.reason));
}

std::string format_summary(const Summary& s) {
    std::string parts;
    for (const auto& [st, n] : s.by_state)
        parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, st);
    std::string out = fmt::format("-- {} item{}, {} bytes{}{}", s.items, s.items == 1 ? "" : "s",
                                  s.bytes, parts.empty() ? "" : ": ", parts);
    if (!s.received_first.empty())
        out += fmt::format("\nwarning: app_sms's log holds the texts of received messages (first "
                           "{}, last {}): anyone who sends the SMS centre a text can write lines "
                           "into it; give the centre's SMS() the option n "
                           "(SMS(${{CALLERID(num)}},san), see examples/extensions.conf)",
                           s.received_first, s.received_last);
    return out;
}

std::string format_summary_json(const Summary& s) {
    std::string out = fmt::format("{{\"summary\":{{\"items\":{},\"bytes\":{}", s.items, s.bytes);
    for (const char* st : states) {
        std::size_t n = 0;
        for (const auto& [name, count] : s.by_state)
            if (name == st)
                n = count;
        out += fmt::format(",\"{}\":{}", st, n);
    }
    if (!s.received_first.empty())
        out += fmt::format(",\"received_texts\":{{\"first\":{},\"last\":{}}}",
                           json::quote(s.received_first), json::quote(s.received_last));
    return out + "}}";
}

std::string show(const Config& cfg, const Item& it, std::int64_t now) {
    std::string out = fmt::format("id:       {}\nstate:    {}\n", it.id, it.state);
    out += fmt::format("from:     {}\nto:       {}\n", it.from.empty() ? "-" : it.from,
                       it.to.empty() ? "-" : it.to);
    if (it.service)
        out += fmt::format("service:  {}\n", it.service);
    out += fmt::format("since:    {}\n", when_text(it.since, now));
    out += fmt::format("size:     {} bytes\n", it.size);
    if (!it.detail.empty())
        out += fmt::format("detail:   {}\n", it.detail);
    out += fmt::format("reason:   {}\n", it.reason.empty() ? "-" : one_line(it.reason));
    std::string next;
    if (it.state == "held")
        next = fmt::format("routed as one message when the missing parts arrive, else as "
                           "incomplete after {} ('sms-queue retry {}' releases it now)",
                           when_text(it.next, now), it.id);
    else if (it.state == "retry")
        next = fmt::format("tried again by every sms-process run; dead-lettered after {}",
                           when_text(it.next, now));
    else if (it.state == "failed" || it.state == "bad")
        next = fmt::format("nothing: it stays until 'sms-queue retry {0}' (after a fix) or "
                           "'sms-queue delete {0}'",
                           it.id);
    else if (it.state == "queued")
        next = it.detail == "call pending"
                   ? "Asterisk delivers it with the pending call (app_sms SMS() in the phone's "
                     "queue)"
                   : "the next sms-process run queues a delivery call for it";
    else if (it.state == "call")
        next = fmt::format("Asterisk dials at {} ({})", when_text(it.next, now), it.detail);
    else if (it.state == "lasthop" && it.service == 'T')
        next = fmt::format("the first sms-process run after {} asks the manager: delivered "
                           "while the same registration is reachable, else sent again",
                           when_text(it.next, now));
    out += fmt::format("next:     {}\n", next);
    for (const auto& f : it.files) {
        out += fmt::format("\nfile:     {}\n", f);
        std::string content = slurp(f);
        if (it.state == "lasthop" && it.service == 'T') {
            auto item = lasthop::parse(content);
            if (auto s = item ? lasthop_sip::sent_of(*item) : std::nullopt) {
                out += fmt::format("scts:     {}\ntext:     {}\n", s->scts, one_line(s->text));
                for (const auto& c : s->contacts)
                    out += fmt::format("contact:  {}\n", one_line(c));
                continue;
            }
        }
        if (it.state != "call") {
            try {
                auto m = spool::parse(content);
                if (auto c = m.concat())
                    out += fmt::format("part:     {} of {} (reference {})\n", c->seq, c->total,
                                       c->ref);
                if (!m.scts.empty())
                    out += fmt::format("scts:     {}\n", m.scts);
                out += fmt::format("text:     {}\n", one_line(m.text));
                continue;
            } catch (const Error& e) {
                out += fmt::format("(does not parse: {})\n", e.reason());
            }
        }
        out += content;
        if (!content.empty() && content.back() != '\n')
            out += "\n";
    }
    (void)cfg;
    return out;
}

} // namespace sms::queue
