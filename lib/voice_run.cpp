// voice_run: the whole of sms2voice: the channel, the WAV in its place, the Playback call.
#include "callfile.hpp"
#include "directory.hpp"
#include "error.hpp"
#include "fsutil.hpp"
#include "log.hpp"
#include "spool.hpp"
#include "voice.hpp"

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

std::string random_suffix() {
    std::random_device rd;
    return fmt::format("{:08x}", rd());
}

// Everything but the write: the samples of the finished WAV.

} // namespace

std::string run(const Config& cfg, const Options& o) {
    const VoiceConfig& v = cfg.voice;
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

    // The channel first: a wrong number or a directory outage costs no synthesis.
    std::string channel;
    if (!o.no_call) {
        if (o.output && !ends_with_wav(*o.output))
            throw Error(Exit::usage, fmt::format("--output '{}'", *o.output),
                        "must end in .wav for Asterisk's Playback to find it");
        if (o.extension) {
            channel = *o.extension;
        } else {
            const auto found = directory::open(cfg.directory)->lookup(o.to);
            switch (found.status) {
            case directory::Lookup::Status::found:
                channel = found.entry.channel;
                break;
            case directory::Lookup::Status::not_found:
                throw Error(Exit::dataerr, fmt::format("--to {}", o.to),
                            "not in the subscriber directory (give --extension)");
            case directory::Lookup::Status::unavailable:
                throw Error(Exit::tempfail, "subscriber directory", found.why);
            }
        }
        if (channel.empty())
            throw Error(Exit::dataerr, fmt::format("--to {}", o.to), "no channel to dial");
    }

    double seconds = 0.0;
    std::string path;
    if (o.output) {
        const Rendered r = render(v, *o.output, language, o.from, when, o.mr, o.text);
        path = r.path;
        seconds = r.seconds;
    } else {
        const std::string bytes = render_wav(v, language, o.from, when, o.mr, o.text, &seconds);
        fs::make_dirs(v.dir);
        // Only numbers go into the name (SPEC 2.5: no path can be formed from input).
        const std::string who = spool::valid_number(o.to) ? o.to : std::string("unknown");
        std::tm tm{};
        const auto t = static_cast<std::time_t>(std::time(nullptr));
        localtime_r(&t, &tm);
        fs::WriteOptions w; // replace = false: a name taken already is tried again
        for (int attempt = 0;; ++attempt) {
            const std::string name =
                fmt::format("voice-{}-{:04}{:02}{:02}T{:02}{:02}{:02}-{}-{}.wav", who,
                            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                            tm.tm_sec, getpid(), random_suffix());
            if (fs::write_atomic(v.dir, name, bytes, w)) {
                path = fs::join(v.dir, name);
                break;
            }
            if (attempt == 10)
                throw Error(Exit::cantcreat, v.dir, "cannot find a free file name");
        }
    }
    log::info("spoke a message from {} to {} into {} ({:.1f} s)", o.from, o.to, path, seconds);
    if (o.no_call)
        return path;

    // Asterisk runs the call from its own folder: Playback needs an absolute path.
    std::error_code ec;
    const std::string absolute = std::filesystem::absolute(path, ec).lexically_normal().string();
    try {
        if (ec)
            throw Error(Exit::software, path, ec.message());
        const auto call = callfile::voice_delivery(cfg, channel, absolute);
        const std::string base = fs::basename(absolute);
        const std::string name = base.substr(0, base.size() - 4) + ".call";
        if (!callfile::queue(cfg.general.spool_dir, name, call))
            log::info("call file {} is queued already", name);
    } catch (...) {
        // No WAV without its call: a rerun renders it again.
        ::unlink(path.c_str());
        throw;
    }
    return path;
}

} // namespace sms::voice
