// Fuzzes the routing decision and the command service over any message file and any directory
// answers: no crash, an outage is never an unknown number, deliveries carry the message as it
// came, and command replies fit the sender's SMS.
#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "fuzz.hpp"
#include "router/commands.hpp"
#include "router/router.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

using namespace sms;

namespace {

// A directory answer from one byte: found (with a service letter, valid or not), not found, or
// unavailable.
directory::Lookup lookup(std::uint8_t b) {
    static constexpr std::string_view letters = "SFVCTNSX"; // 'X': bad data in the table
    directory::Lookup l;
    switch (b & 3) {
    case 0:
    case 1:
        l.status = directory::Lookup::Status::found;
        l.entry.service = letters[(b >> 2) & 7];
        l.entry.channel = (b & 0x20) ? "PJSIP/1000" : "DAHDI/1";
        break;
    case 2:
        l.status = directory::Lookup::Status::not_found;
        break;
    default:
        l.status = directory::Lookup::Status::unavailable;
        l.why = "fuzz outage";
        l.transient = b & 4;
    }
    return l;
}

Config config() {
    Config c;
    c.commands.words = {{"HELP", "builtin:help"},
                        {"ECHO", "builtin:echo"},
                        {"UPTIME", "builtin:uptime"},
                        {"HI", "Hello there, this is a fixed reply."}};
    return c;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3)
        return 0;
    static const Config cfg = config();
    spool::Message m;
    try {
        m = spool::parse(fuzz::as_text(data + 3, size - 3), "fuzz");
    } catch (const Error&) {
        return 0;
    }
    router::Input in{m, lookup(data[0]), std::nullopt, (data[2] & 1) != 0};
    if (router::needs_sender(cfg, m, in.receiver))
        in.sender = lookup(data[1]);

    const router::Decision d = router::decide(cfg, in);
    const bool command_number = !m.da.empty() && m.da == cfg.commands.numbers.front();
    if (in.receiver.status == directory::Lookup::Status::unavailable && !command_number &&
        !m.da.empty())
        fuzz::require(d.outcome == router::Outcome::retry && d.actions.empty(),
                      "a directory outage was not a retry");
    if (d.outcome == router::Outcome::retry)
        fuzz::require(d.actions.empty(), "a retry with actions");
    if (in.receiver.status == directory::Lookup::Status::not_found && !command_number &&
        !m.da.empty())
        fuzz::require(d.service == 'U', "an unknown number not reported as U");
    for (const auto& a : d.actions) {
        using K = router::Action::Kind;
        if (a.kind == K::queue_sms || a.kind == K::render_fax || a.kind == K::render_voice ||
            a.kind == K::send_sip) {
            // A SIP message from an unknown sender is from "anonymous" (RFC 3323).
            const bool anonymous = a.kind == K::send_sip && m.oa.empty();
            fuzz::require(a.to == m.da && a.from == (anonymous ? "anonymous" : m.oa),
                          "a delivery to or from someone else");
            fuzz::require(a.text == m.text, "a delivery changed the text");
            fuzz::require(a.channel == in.receiver.entry.channel, "a delivery on another channel");
        }
        fuzz::require(utf8::is_valid(a.reply.text), "a reply that is not UTF-8");
        if (a.reply.via == router::Reply::Via::sms)
            fuzz::require(a.reply.to == m.oa, "an answer to someone else than the sender");
    }

    // The command service on the text (built-ins and fixed replies; programs are not run here).
    const std::size_t max_units = 1 + data[1] % 160;
    auto r = commands::run(cfg.commands, m.oa, m.da, m.text, max_units);
    fuzz::require(utf8::is_valid(r.reply), "a command reply that is not UTF-8");
    auto cps = utf8::decode(r.reply);
    fuzz::require(cps && utf8::to_utf16(*cps).size() <= max_units, "a reply over max_units");
    auto cut = commands::cut_to_units(m.text, max_units);
    fuzz::require(m.text.starts_with(cut), "cut_to_units is not a prefix");
    for (const auto& arg : commands::split_argv(m.text))
        fuzz::require(!arg.empty() && arg.find_first_of(" \t") == std::string::npos,
                      "split_argv gave an empty or blank argument");
    return 0;
}
