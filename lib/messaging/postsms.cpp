// post-sms: SIP messages from the dialplan (AGI) or text from scripts into sms/morx/.
#include "messaging/postsms.hpp"

#include "asterisk/agi.hpp"
#include "translit/translit.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/utf8.hpp"

#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace sms::postsms {

namespace {

using text::shown;

} // namespace

std::string sender_number(std::string_view from) {
    std::string_view s = text::trim(from);
    // A name-addr: the URI is between the angle brackets (the display name may hold anything).
    if (auto lt = s.rfind('<'); lt != std::string_view::npos) {
        auto gt = s.find('>', lt);
        s = s.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    }
    s = text::trim(s);
    for (std::string_view scheme : {"sip:", "sips:", "tel:"})
        if (text::istarts_with(s, scheme)) {
            s.remove_prefix(scheme.size());
            break;
        }
    // user[:password]@host;params, or tel's number;params.
    s = s.substr(0, s.find('@'));
    s = s.substr(0, s.find(';'));
    s = s.substr(0, s.find(':'));
    return std::string(s);
}

std::string flatten(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
            out += ' ';
        } else if (text[i] == '\n') {
            out += ' ';
        } else {
            out += text[i];
        }
    }
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    std::size_t b = 0, e = out.size();
    while (b < e && blank(out[b]))
        ++b;
    while (e > b && blank(out[e - 1]))
        --e;
    return out.substr(b, e - b);
}

void check_number(std::string_view what, std::string_view number) {
    if (number.empty())
        throw Error(Exit::dataerr, std::string(what), "empty");
    if (!spool::valid_number(number))
        throw Error(Exit::dataerr, fmt::format("{} '{}'", what, shown(number)),
                    "not a number (only digits with one leading '+', at most 20, may go into "
                    "a file name)");
}

Posted post(const Config& cfg, std::string_view oa, std::string_view da, std::string_view text,
            directory::Directory* dir, std::int64_t now) {
    check_number("sender number", oa);
    check_number("destination number", da);
    spool::check_text_length(text);
    std::size_t bad_at = 0;
    if (!utf8::decode(text, false, &bad_at))
        throw Error(Exit::dataerr, "message text", fmt::format("invalid UTF-8 at byte {}", bad_at));

    Posted p;
    p.message.oa = std::string(oa);
    p.message.da = std::string(da);
    p.message.text = flatten(text);
    p.message.scts = spool::format_scts(now);

    if (dir && cfg.general.unicode == UnicodePolicy::transliterate) {
        auto found = dir->lookup(da);
        if (found.found() && found.entry.service == 'S') {
            std::string t = translit::to_gsm(p.message.text);
            p.transliterated = t != p.message.text;
            p.message.text = std::move(t);
        } else if (found.status == directory::Lookup::Status::unavailable) {
            log::warning("directory unavailable for {} ({}): text kept as it is", da, found.why);
        }
    }

    std::string morx = cfg.morx_dir();
    spool::require_root(cfg.general.spool_dir);
    fs::make_dirs(morx);
    // app_sms numbers its files from 0 per Asterisk process; starting from our pid keeps clear
    // of its names, and a name that exists anyway (any writer) just moves us to the next.
    auto n = static_cast<unsigned long>(::getpid());
    for (int attempt = 0; attempt < 1000; ++attempt, ++n) {
        std::string name = fmt::format("{}.{}-{}", p.message.oa, p.message.scts, n);
        if (spool::write(morx, name, p.message)) {
            p.name = name;
            p.path = fs::join(morx, name);
            log::info("posted {} -> {} as {}{}", p.message.oa, p.message.da, name,
                      p.transliterated ? " (transliterated)" : "");
            return p;
        }
    }
    throw Error(Exit::cantcreat, morx, "no free file name after 1000 tries");
}

int run_agi(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out,
            directory::Directory* dir) {
    std::optional<agi::Session> session;
    try {
        session.emplace(in, out);
    } catch (const agi::Hangup&) {
        throw Error(Exit::tempfail, "AGI", "hung up before the AGI environment was read");
    }
    agi::Session& s = *session;
    auto args = s.args();
    bool sms_mode = (!args.empty() && args.front() == "SMS") ||
                    (!opts.args.empty() && opts.args.front() == "SMS");
    bool posted = false;
    try {
        std::string from_var = sms_mode ? "SMS_OA" : "MESSAGE_FROM";
        auto from = s.get_variable(from_var);
        if (!from && !sms_mode) {
            // MESSAGE(from) is a function, not a variable; GET VARIABLE reads both.
            from_var = "MESSAGE(from)";
            from = s.get_variable(from_var);
        }
        if (!from)
            throw Error(Exit::dataerr, from_var, "not set");
        std::string to_var = sms_mode ? "SMS_DA" : "EXTEN";
        auto to = s.get_variable(to_var);
        if (!to && !sms_mode && !s.env("agi_extension").empty())
            to = s.env("agi_extension");
        if (!to)
            throw Error(Exit::dataerr, to_var, "not set");
        auto b64 = s.get_variable("MSG_B64");
        if (!b64)
            throw Error(Exit::dataerr, "MSG_B64",
                        "not set (the dialplan sets it to ${BASE64_ENCODE(${MESSAGE(body)})})");
        std::size_t at = 0;
        auto body = base64::decode(*b64, &at);
        if (!body)
            throw Error(Exit::dataerr, "MSG_B64", fmt::format("invalid Base64 at offset {}", at));

        std::string oa = sender_number(*from);
        check_number(fmt::format("sender number (from {})", from_var), oa);
        check_number(fmt::format("destination number (from {})", to_var), *to);
        Posted p = post(cfg, oa, *to, *body, dir, static_cast<std::int64_t>(std::time(nullptr)));
        posted = true;
        s.set_variable(status_variable, "OK");
        s.verbose(fmt::format("post-sms: message from {} to {} queued as {}", oa, *to, p.name));
        return 0;
    } catch (const agi::Hangup&) {
        if (posted)
            return 0; // the message is safely written; only the report was lost
        throw Error(Exit::tempfail, "AGI", "the channel hung up before the message was posted");
    } catch (const Error& e) {
        try {
            s.set_variable(status_variable, "ERROR");
            s.verbose(fmt::format("post-sms: error: {}", e.what()));
        } catch (const agi::Hangup&) {
            // Asterisk has gone; the error still reaches stderr and the exit status.
        } catch (const Error&) {
            // Asterisk refused the report; the first error is the one worth telling.
        }
        throw;
    }
}

int run_cli(const Config& cfg, const Options& opts, directory::Directory* dir) {
    if (!opts.from || !opts.to)
        throw Error(Exit::usage, "", "--from and --to go together (or neither, for AGI)");
    Posted p = post(cfg, *opts.from, *opts.to, opts.text.value_or(""), dir,
                    static_cast<std::int64_t>(std::time(nullptr)));
    fmt::print("{}\n", p.path);
    return 0;
}

int answer_error(std::string_view why, std::FILE* in, std::FILE* out) {
    try {
        agi::Session s(in, out);
        s.set_variable(status_variable, "ERROR");
        s.verbose(fmt::format("post-sms: error: {}", why));
    } catch (const agi::Hangup&) {
    } catch (const Error& e) {
        log::error("{}", e.what());
    }
    return 0;
}

int run(const Config& cfg, const Options& opts) {
    bool agi_mode = opts.agi || (!opts.from && !opts.to);
    if (agi_mode && (opts.from || opts.to))
        throw Error(Exit::usage, "", "--agi reads the numbers from the channel: no --from/--to");
    if (!opts.args.empty() && (!agi_mode || opts.args.size() > 1 || opts.args.front() != "SMS"))
        throw Error(Exit::usage, "",
                    fmt::format("unexpected argument '{}' (only SMS, in AGI mode)",
                                shown(opts.args.front())));
    auto dir = directory::open(cfg.directory);
    if (agi_mode)
        return run_agi(cfg, opts, stdin, stdout, dir.get());
    return run_cli(cfg, opts, dir.get());
}

} // namespace sms::postsms
