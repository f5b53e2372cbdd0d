// voice_run: the whole of sms2voice: the channel, the WAV in its place, the Playback call.
#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/calls.hpp"
#include "directory/directory.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "voice/voice.hpp"

#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <unistd.h>

namespace sms::voice {

namespace {

bool ends_with_wav(std::string_view path) {
    return path.size() > 4 && path.substr(path.size() - 4) == ".wav";
}

// A new file name for [voice] dir: unique across processes and runs. Only a valid number goes
// into it (no path can be formed from input).
std::string new_name(std::string_view to) {
    const std::string who = spool::valid_number(to) ? std::string(to) : std::string("unknown");
    std::tm tm{};
    const auto now = static_cast<std::time_t>(std::time(nullptr));
    localtime_r(&now, &tm);
    std::random_device rd;
    return fmt::format("voice-{}-{:04}{:02}{:02}T{:02}{:02}{:02}-{}-{:08x}.wav", who,
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, getpid(), rd());
}

// The channel to dial: --extension, else the directory's entry for --to.
std::string channel_for(const Config& cfg, const Options& o) {
    if (o.extension)
        return *o.extension;
    const auto found = directory::open(cfg.directory)->lookup(o.to);
    switch (found.status) {
    case directory::Lookup::Status::found:
        if (found.entry.channel.empty())
            throw Error(Exit::dataerr, fmt::format("--to {}", o.to),
                        "the subscriber directory gives no channel to dial");
        return found.entry.channel;
    case directory::Lookup::Status::not_found:
        throw Error(Exit::dataerr, fmt::format("--to {}", o.to),
                    "not in the subscriber directory (give --extension)");
    case directory::Lookup::Status::unavailable:
        break;
    }
    throw Error(Exit::tempfail, "subscriber directory", found.why);
}

} // namespace

std::string run(const Config& cfg, const Options& o) {
    // Numbers as everywhere (an empty --from: an unknown sender).
    if (!o.from.empty())
        spool::check_number("--from", o.from);
    spool::check_number("--to", o.to);
    // A message with no oa= (an unknown sender): the header says so, in words, not spelled.
    VoiceConfig v = cfg.voice;
    const std::string from = o.from.empty() ? cfg.texts.unknown_sender : o.from;
    if (o.from.empty())
        v.digits = false;
    const std::string language = o.language.value_or(v.language);
    if (o.output && o.output->empty())
        throw Error(Exit::usage, "--output", "empty path");

    std::int64_t when = static_cast<std::int64_t>(std::time(nullptr));
    if (o.scts) {
        const auto t = spool::parse_scts(*o.scts);
        if (!t)
            throw Error(Exit::usage, fmt::format("--scts '{}'", *o.scts),
                        "not a time of the form YYYY-MM-DDTHH:MM:SS");
        when = *t;
    }

    // --output exactly (the router's staged name), else a new file in [voice] dir.
    const std::string path = o.output ? *o.output : fs::join(v.dir, new_name(o.to));

    // The call is built and checked before any synthesis: a wrong number, a directory outage or
    // a value the call file refuses costs nothing and leaves nothing.
    std::optional<callfile::CallFile> call;
    std::string call_name;
    if (!o.no_call) {
        if (!ends_with_wav(path))
            throw Error(Exit::usage, fmt::format("--output '{}'", path),
                        "must end in .wav for Asterisk's Playback to find it");
        // Asterisk runs the call from its own folder: Playback needs an absolute path.
        std::error_code ec;
        const auto absolute = std::filesystem::absolute(path, ec).lexically_normal();
        if (ec)
            throw Error(Exit::cantcreat, path, ec.message());
        if (o.output && callfile::splits_arguments(absolute.string()))
            throw Error(Exit::usage, fmt::format("--output '{}'", text::shown(*o.output)),
                        "a ',' or '&' in the path would split Playback's arguments");
        call = callfile::voice_delivery(cfg, channel_for(cfg, o), absolute.string());
        callfile::validate(*call);
        call_name = absolute.stem().string() + ".call";
    }

    double seconds = 0.0;
    const std::string bytes = render_wav(v, language, from, when, o.mr, o.text, &seconds);
    if (!o.output)
        fs::make_dirs(v.dir);
    // A new name is never taken (pid, time and 32 random bits); --output is replaced.
    if (!write_wav(path, bytes, o.output.has_value()))
        throw Error(Exit::cantcreat, path, "exists already");
    log::info("spoke a message from {} to {} into {} ({:.1f} s)", from, o.to, path, seconds);

    if (call) {
        try {
            if (!callfile::queue(cfg.general.spool_dir, call_name, *call))
                log::info("call file {} is queued already", call_name);
        } catch (...) {
            // No WAV without its call: a rerun renders both again.
            ::unlink(path.c_str());
            throw;
        }
    }
    return path;
}

} // namespace sms::voice
