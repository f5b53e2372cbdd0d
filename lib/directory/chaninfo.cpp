// getchaninfo's body: one directory lookup, answered on stdout or through AGI.
#include "directory/chaninfo.hpp"

#include "asterisk/agi.hpp"
#include "asterisk/spool.hpp"
#include "directory/directory.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <csignal>
#include <exception>
#include <fmt/format.h>

namespace sms::chaninfo {

namespace {

int run_shell(const Config& cfg, const Options& opts, std::FILE* out) {
    if (opts.number.empty())
        throw Error(Exit::usage, "NUMBER", "missing: give a number, or --agi");
    // Only a number can be in the directory: anything else is bad input, not an unknown number.
    if (!spool::valid_number(opts.number))
        throw Error(Exit::dataerr, fmt::format("number '{}'", text::shown(opts.number)),
                    "not a number (digits with one optional leading '+', at most 20)");
    auto dir = directory::open(cfg.directory);
    auto r = dir->lookup(opts.number);
    switch (r.status) {
    case directory::Lookup::Status::found:
        if (r.entry.channel.empty())
            fmt::print(out, "{}\n", r.entry.service);
        else
            fmt::print(out, "{} {}\n", r.entry.service, r.entry.channel);
        break;
    case directory::Lookup::Status::not_found:
        fmt::print(out, "U\n");
        break;
    case directory::Lookup::Status::unavailable:
        throw Error(r.transient ? Exit::tempfail : Exit::unavailable, "directory", r.why);
    }
    if (std::fflush(out) != 0)
        throw_errno(Exit::ioerr, "stdout", errno);
    return r.found() ? 0 : code(Exit::failure);
}

// Tells the dialplan that no answer could be had (never "N": the subscriber did not disable
// anything) and the console why; a hang-up meanwhile is no one's problem.
void answer_n(agi::Session& s, std::string_view why) {
    log::error("{}", why);
    s.set_variable(service_variable, outage_value);
    s.set_variable(channel_variable, "");
    s.verbose(fmt::format("getchaninfo: {}", why), 1);
}

int run_agi(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out) {
    // Asterisk closing the pipe must end the session (Hangup from a failed write), not kill the
    // process half-way through its log line.
    std::signal(SIGPIPE, SIG_IGN);
    std::optional<agi::Session> session;
    try {
        session.emplace(in, out);
    } catch (const agi::Hangup&) {
        return 0;
    }
    agi::Session& s = *session;
    std::string variable = opts.number.empty() ? std::string("EXTEN") : opts.number;
    try {
        try {
            auto number = s.get_variable(variable);
            if (!number) {
                answer_n(s, fmt::format("channel variable {} is not set", variable));
                return 0;
            }
            auto dir = directory::open(cfg.directory);
            auto r = dir->lookup(*number);
            switch (r.status) {
            case directory::Lookup::Status::found:
                s.set_variable(service_variable, std::string(1, r.entry.service));
                s.set_variable(channel_variable, r.entry.channel);
                log::debug("{}: {} {}", *number, r.entry.service, r.entry.channel);
                break;
            case directory::Lookup::Status::not_found:
                s.set_variable(service_variable, "U");
                s.set_variable(channel_variable, "");
                log::debug("{}: unknown", *number);
                break;
            case directory::Lookup::Status::unavailable:
                answer_n(s, fmt::format("directory unavailable: {}", r.why));
                break;
            }
        } catch (const agi::Hangup&) {
            throw;
        } catch (const Error& e) {
            answer_n(s, e.what());
        } catch (const std::exception& e) {
            answer_n(s, fmt::format("internal error: {}", e.what()));
        }
    } catch (const agi::Hangup&) {
        log::info("the channel hung up before the answer");
    }
    return 0;
}

} // namespace

int run(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out) {
    return opts.agi ? run_agi(cfg, opts, in, out) : run_shell(cfg, opts, out);
}

int answer_error(std::string_view why, std::FILE* in, std::FILE* out) {
    std::signal(SIGPIPE, SIG_IGN);
    try {
        agi::Session s(in, out);
        answer_n(s, why);
    } catch (const agi::Hangup&) {
    } catch (const Error& e) {
        log::error("{}", e.what());
    }
    return 0;
}

} // namespace sms::chaninfo
