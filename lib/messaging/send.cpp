// The sms-send tool: resolve the channel, split, queue or show the parts.
#include "messaging/send.hpp"

#include "asterisk/spool.hpp"
#include "directory/directory.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

#include <fmt/format.h>
#include <iterator>

namespace sms::send {

namespace {

std::string resolve_channel(const Config& cfg, const std::string& to) {
    auto dir = directory::open(cfg.directory);
    directory::Lookup l = dir->lookup(to);
    switch (l.status) {
    case directory::Lookup::Status::found:
        if (l.entry.channel.empty()) {
            throw Error(Exit::dataerr, fmt::format("--to {}", to),
                        "the directory has no channel for it; give --extension");
        }
        return l.entry.channel;
    case directory::Lookup::Status::not_found:
        throw Error(Exit::dataerr, fmt::format("--to {}", to),
                    "unknown number: not in the directory; give --extension");
    case directory::Lookup::Status::unavailable:
        break;
    }
    throw Error(Exit::tempfail, "directory", l.why.empty() ? "unavailable" : l.why);
}

std::string strip_trailing_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

void print_summary(const std::vector<outbox::Part>& parts, const outbox::Request& req, bool dry_run,
                   const std::string& mttx) {
    const outbox::Part& first = parts.front();
    std::string enc = first.dcs == 0 ? "GSM 7-bit" : "UCS-2";
    fmt::print("{} {} SMS for {} ({}{}){}\n", dry_run ? "would queue" : "queued", parts.size(),
               req.da, enc, first.udh.empty() && parts.size() > 1 ? ", not concatenated" : "",
               dry_run ? "" : fmt::format(" in {}", mttx));
    for (const auto& p : parts) {
        std::string size =
            p.dcs == 0 ? fmt::format("{} septets", p.septets) : fmt::format("{} units", p.units);
        fmt::print("  part {}/{}: {}{}\n", p.part, p.parts, size,
                   p.udh.empty() ? "" : fmt::format(", udh {}", p.udh));
    }
}

} // namespace

std::string json_string(std::string_view s) {
    return json::quote(s); // one escaping for the suite, invalid UTF-8 included
}

std::string part_json(const outbox::Part& p) {
    std::string out = fmt::format("{{\"part\":{},\"parts\":{},\"dcs\":{},\"udh\":{}", p.part,
                                  p.parts, p.dcs, p.udh.empty() ? "null" : json_string(p.udh));
    if (p.dcs == 0) {
        fmt::format_to(std::back_inserter(out), ",\"septets\":{}", p.septets);
    }
    fmt::format_to(std::back_inserter(out), ",\"units\":{},\"text\":{}}}", p.units,
                   json_string(p.text));
    return out;
}

int run(const Config& base, const Options& opts) {
    Config cfg = base;
    if (opts.spool) {
        cfg.general.spool_dir = *opts.spool;
    }
    outbox::Request req;
    req.oa = opts.from;
    req.da = opts.to;
    req.text = opts.text_from_stdin ? strip_trailing_newlines(opts.text) : opts.text;
    req.ref = opts.ref;
    req.ref16 = opts.ref16;
    req.dial = !opts.no_dial;
    req.track = true; // remembered until the phone confirms it (lasthop)
    req.notify = req.oa;
    if (opts.ref && *opts.ref > (opts.ref16 ? 0xFFFFu : 0xFFu)) {
        throw Error(Exit::usage, fmt::format("--ref {}", *opts.ref),
                    opts.ref16 ? "a 16-bit reference is 0-65535"
                               : "a reference is 0-255 "
                                 "(--ref16 for 0-65535)");
    }
    std::vector<outbox::Part> parts;
    if (opts.dry_run) {
        // Show the reference a real send would take now, when the counter already exists.
        if (!req.ref) {
            req.ref = outbox::peek_reference(cfg, req.da, req.ref16);
        }
        parts = outbox::split(cfg, req);
    } else {
        spool::require_root(cfg.general.spool_dir);
        if (req.dial) {
            req.channel = opts.extension ? *opts.extension : resolve_channel(cfg, opts.to);
        }
        parts = outbox::send(cfg, req);
        log::info("queued {} SMS for {} from {}{}", parts.size(), req.da, req.oa,
                  req.dial ? fmt::format(" via {}", req.channel) : " (no call)");
    }
    if (opts.json) {
        for (const auto& p : parts) {
            fmt::print("{}\n", part_json(p));
        }
    } else {
        print_summary(parts, req, opts.dry_run, cfg.mttx_dir());
    }
    return 0;
}

} // namespace sms::send
