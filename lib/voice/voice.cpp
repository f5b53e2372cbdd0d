// voice: header text, espeak-ng synthesis, libswresample to 8 kHz, the WAV file, the call.
#include "voice/voice.hpp"

#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/utf8.hpp"

#include <espeak-ng/speak_lib.h>

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <mutex>

namespace sms::voice {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Voice names reach espeak-ng's file lookup under its data folder: keep them to the characters
// its voice names use, so that no path can be formed from a command line.
bool plausible_voice_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '/' ||
        name.find("..") != std::string_view::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '+' || c == '/';
    });
}

// What the synthesis callback fills; espeak-ng hands it back through the event's user_data.
struct SynthTarget {
    std::vector<std::int16_t>* samples = nullptr;
    std::size_t max_samples = 0;
    bool too_long = false;
};

int on_synth(short* wav, int count, espeak_EVENT* events) {
    auto* target = events != nullptr ? static_cast<SynthTarget*>(events->user_data) : nullptr;
    if (target == nullptr)
        return 0;
    if (wav == nullptr || count <= 0)
        return 0; // end of synthesis, or only events
    if (target->samples->size() + static_cast<std::size_t>(count) > target->max_samples) {
        target->too_long = true;
        return 1; // abort: no point synthesising minutes of speech we will refuse
    }
    target->samples->insert(target->samples->end(), wav, wav + count);
    return 0;
}

// The one espeak-ng synthesiser of the process (espeak-ng keeps global state), set up on first
// use and terminated at exit so that leak checkers see its memory returned.
class Synthesiser {
public:
    static Synthesiser& instance() {
        static Synthesiser s;
        return s;
    }
    Synthesiser(const Synthesiser&) = delete;
    Synthesiser& operator=(const Synthesiser&) = delete;

    std::mutex& mutex() { return mutex_; }

    // Called with the mutex held.
    int rate() {
        if (rate_ == 0) {
            // DONT_EXIT: without it espeak-ng calls exit() when its data is missing.
            const int r =
                espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
            if (r <= 0)
                throw Error(Exit::config, "espeak-ng",
                            "cannot initialise (is espeak-ng-data installed?)");
            espeak_SetSynthCallback(on_synth);
            rate_ = r;
        }
        return rate_;
    }

    // Called with the mutex held. espeak-ng keeps its previous voice when a name is unknown,
    // so the status code is the only sign of a wrong language: check it every time.
    void select(std::string_view language) {
        rate();
        if (!plausible_voice_name(language))
            throw Error(Exit::config, fmt::format("language '{}'", language),
                        "not an espeak-ng voice name (e.g. en, pl, en-us)");
        if (current_ == language)
            return;
        const std::string name(language);
        const std::string file = voice_file(name);
        const bool ok = (!file.empty() && espeak_SetVoiceByName(file.c_str()) == EE_OK) ||
                        espeak_SetVoiceByName(name.c_str()) == EE_OK;
        if (!ok || espeak_GetCurrentVoice() == nullptr) {
            current_.clear();
            throw Error(Exit::config, fmt::format("language '{}'", language),
                        "espeak-ng has no such voice (see espeak-ng --voices)");
        }
        current_ = name;
    }

private:
    // Given a bare name ("en"), espeak-ng reads every voice file it has (~3 ms, an eighth of
    // the whole run) to find the one; given the file's path under lang/ ("gmw/en") it loads that
    // file alone, with the same result. So look for the file here: "<family>/<name>" or
    // "<name>" (case-insensitive, as espeak-ng matches), the "+variant" kept. Empty when there
    // is no such file (a language code like "en-gb" only listed inside a voice file): then
    // espeak-ng searches itself.
    std::string voice_file(std::string_view name) {
        if (name.find('/') != std::string_view::npos)
            return {};
        const auto plus = name.find('+');
        const std::string_view base = name.substr(0, plus);
        const std::string_view variant =
            plus == std::string_view::npos ? std::string_view{} : name.substr(plus);
        const char* home = nullptr;
        espeak_Info(&home);
        if (home == nullptr)
            return {};
        const auto same = [&](const std::filesystem::path& p) {
            const std::string f = p.filename().string();
            return f.size() == base.size() &&
                   std::equal(f.begin(), f.end(), base.begin(), [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) ==
                              std::tolower(static_cast<unsigned char>(b));
                   });
        };
        try {
            std::error_code ec;
            for (const auto& top :
                 std::filesystem::directory_iterator(std::filesystem::path(home) / "lang", ec)) {
                if (top.is_directory(ec)) {
                    for (const auto& f : std::filesystem::directory_iterator(top.path(), ec))
                        if (f.is_regular_file(ec) && same(f.path()))
                            return fmt::format("{}/{}{}", top.path().filename().string(),
                                               f.path().filename().string(), variant);
                } else if (same(top.path())) {
                    return fmt::format("{}{}", top.path().filename().string(), variant);
                }
            }
        } catch (const std::exception&) {
            // A folder that cannot be read: espeak-ng will search by itself.
        }
        return {};
    }

    Synthesiser() = default;
    ~Synthesiser() {
        if (rate_ != 0)
            espeak_Terminate();
    }
    std::mutex mutex_;
    int rate_ = 0;
    std::string current_;
};

struct SwrFree {
    void operator()(SwrContext* s) const noexcept { swr_free(&s); }
};
using SwrPtr = std::unique_ptr<SwrContext, SwrFree>;

std::string av_error(int err) {
    std::string buf(AV_ERROR_MAX_STRING_SIZE, '\0');
    av_strerror(err, buf.data(), buf.size());
    buf.resize(std::char_traits<char>::length(buf.c_str()));
    return buf;
}

void put_u16(std::string& out, unsigned v) {
    out.push_back(static_cast<char>(v & 0xFFu));
    out.push_back(static_cast<char>((v >> 8) & 0xFFu));
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<char>((v >> shift) & 0xFFu));
}

std::string version_string(unsigned v) {
    return fmt::format("{}.{}.{}", AV_VERSION_MAJOR(v), AV_VERSION_MINOR(v), AV_VERSION_MICRO(v));
}

} // namespace

std::string spell_digits(std::string_view number) {
    // One token per UTF-8 character (continuation bytes stay with their lead byte), so that a
    // "+" or a letter in an address is spoken on its own like the digits.
    std::string out;
    bool in_token = false;
    for (char c : number) {
        const auto u = static_cast<unsigned char>(c);
        if (is_space(c))
            continue;
        const bool continuation = (u & 0xC0u) == 0x80u;
        if (!continuation && in_token)
            out.push_back(' ');
        out.push_back(c);
        in_token = true;
    }
    return out;
}

std::string header_text(const VoiceConfig& v, std::string_view from, std::int64_t unix_time,
                        std::optional<int> mr) {
    std::string s = v.header_text;
    s += v.digits ? spell_digits(from) : std::string(trim(from));
    if (v.give_date) {
        const std::time_t t = static_cast<std::time_t>(unix_time);
        std::tm tm{};
        localtime_r(&t, &tm);
        // Year, month and day as plain numbers ("2026 11 30"): read naturally in every
        // language espeak-ng has, unlike "2026-11-30" ("dash") or "30.11.2026" ("point").
        s += v.time_text;
        s += fmt::format("{} {} {}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        s += ' ';
        s += trim(v.at_text);
        s += fmt::format(" {:02}:{:02}", tm.tm_hour, tm.tm_min);
    }
    if (v.give_reference && mr) {
        s += v.reference_text;
        s += std::to_string(*mr);
    }
    s += '.';
    return s;
}

std::string spoken_text(const VoiceConfig& v, std::string_view from, std::int64_t unix_time,
                        std::optional<int> mr, std::string_view text) {
    std::string s = header_text(v, from, unix_time, mr);
    s += ' ';
    s += trim(text);
    return s;
}

bool has_voice(std::string_view language) {
    auto& synth = Synthesiser::instance();
    std::lock_guard lock(synth.mutex());
    try {
        synth.select(language);
        return true;
    } catch (const Error& e) {
        if (e.exit() == Exit::config && e.subject() != "espeak-ng")
            return false;
        throw;
    }
}

Audio synthesize(std::string_view text, std::string_view language, double max_seconds) {
    auto& synth = Synthesiser::instance();
    std::lock_guard lock(synth.mutex());
    synth.select(language);
    Audio out;
    out.rate = synth.rate();
    SynthTarget target;
    target.samples = &out.samples;
    target.max_samples = static_cast<std::size_t>(std::max(0.0, max_seconds) * out.rate);
    const std::string utterance(text);
    const espeak_ERROR rc = espeak_Synth(utterance.c_str(), utterance.size() + 1, 0, POS_CHARACTER,
                                         0, espeakCHARS_UTF8, nullptr, &target);
    if (target.too_long)
        throw Error(Exit::dataerr, "text",
                    fmt::format("too long: spoken, it would last more than the {} s allowed "
                                "([voice] max_seconds)",
                                max_seconds));
    if (rc != EE_OK)
        throw Error(Exit::software, "espeak-ng",
                    fmt::format("synthesis failed (status {})", static_cast<int>(rc)));
    return out;
}

Audio resample(const Audio& in, int rate) {
    Audio out;
    out.rate = rate;
    if (in.rate == rate) {
        out.samples = in.samples;
        return out;
    }
    if (in.samples.size() > static_cast<std::size_t>(INT_MAX / 4))
        throw Error(Exit::dataerr, "audio", "too long to resample");
    SwrContext* raw = nullptr;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int rc = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_S16, rate, &mono, AV_SAMPLE_FMT_S16,
                                 in.rate, 0, nullptr);
    SwrPtr swr(raw);
    if (rc < 0 || !swr)
        throw Error(Exit::software, "libswresample", av_error(rc));
    if ((rc = swr_init(swr.get())) < 0)
        throw Error(Exit::software, "libswresample", av_error(rc));

    const int in_count = static_cast<int>(in.samples.size());
    // Room for the converted input and the filter's delayed tail, flushed below.
    const int capacity =
        static_cast<int>(av_rescale_rnd(in_count, rate, in.rate, AV_ROUND_UP) + 256);
    out.samples.resize(static_cast<std::size_t>(capacity));
    auto* dst = reinterpret_cast<std::uint8_t*>(out.samples.data());
    const auto* src = reinterpret_cast<const std::uint8_t*>(in.samples.data());
    int got = swr_convert(swr.get(), &dst, capacity, &src, in_count);
    if (got < 0)
        throw Error(Exit::software, "libswresample", av_error(got));
    int total = got;
    for (;;) { // flush: without it the last few milliseconds stay in the filter
        dst = reinterpret_cast<std::uint8_t*>(out.samples.data() + total);
        got = swr_convert(swr.get(), &dst, capacity - total, nullptr, 0);
        if (got < 0)
            throw Error(Exit::software, "libswresample", av_error(got));
        if (got == 0 || total + got >= capacity) {
            total += got;
            break;
        }
        total += got;
    }
    out.samples.resize(static_cast<std::size_t>(total));
    return out;
}

Audio with_lead_silence(const Audio& in, double seconds) {
    Audio out;
    out.rate = in.rate;
    const auto lead = static_cast<std::size_t>(std::lround(std::max(0.0, seconds) * in.rate));
    out.samples.reserve(lead + in.samples.size());
    out.samples.assign(lead, 0);
    out.samples.insert(out.samples.end(), in.samples.begin(), in.samples.end());
    return out;
}

std::string wav_bytes(const Audio& a) {
    constexpr unsigned channels = 1, bits = 16, block = channels * bits / 8;
    const std::size_t data_size = a.samples.size() * block;
    if (data_size > 0xFFFFFFFFu - 36u)
        throw Error(Exit::dataerr, "audio", "too long for a WAV file");
    const auto data32 = static_cast<std::uint32_t>(data_size);
    const auto rate = static_cast<std::uint32_t>(a.rate);
    std::string out;
    out.reserve(44 + data_size);
    out += "RIFF";
    put_u32(out, 36u + data32);
    out += "WAVEfmt ";
    put_u32(out, 16); // size of the fmt chunk: plain PCM, no extension
    put_u16(out, 1);  // WAVE_FORMAT_PCM (Asterisk refuses WAVE_FORMAT_EXTENSIBLE)
    put_u16(out, channels);
    put_u32(out, rate);
    put_u32(out, rate * block); // bytes per second
    put_u16(out, block);
    put_u16(out, bits);
    out += "data";
    put_u32(out, data32);
    for (std::int16_t s : a.samples)
        put_u16(out, static_cast<std::uint16_t>(s));
    return out;
}

std::string render_wav(const VoiceConfig& v, std::string_view language, std::string_view from,
                       std::int64_t unix_time, std::optional<int> mr, std::string_view text,
                       double* seconds) {
    std::size_t bad_at = 0;
    if (!utf8::decode(text, false, &bad_at))
        throw Error(Exit::dataerr, "text", fmt::format("not valid UTF-8 (at byte {})", bad_at));
    if (!utf8::is_valid(from))
        throw Error(Exit::dataerr, "--from", "not valid UTF-8");
    // An empty SMS is valid (app_sms writes no ud line): the header alone is spoken.
    const std::string_view body = trim(text);
    const double lead = std::max(0.0, v.lead_silence);
    const double budget = double(v.max_seconds) - lead;
    if (budget <= 0)
        throw Error(Exit::config, "[voice] max_seconds",
                    fmt::format("{} s leaves no time after lead_silence = {} s", v.max_seconds,
                                v.lead_silence));
    const Audio speech = synthesize(spoken_text(v, from, unix_time, mr, body), language, budget);
    const Audio out = with_lead_silence(resample(speech, output_rate), lead);
    if (seconds != nullptr)
        *seconds = out.seconds();
    return wav_bytes(out);
}

bool write_wav(const std::string& path, std::string_view bytes, bool replace) {
    const std::filesystem::path target(path);
    if (!target.has_filename())
        throw Error(Exit::usage, fmt::format("--output '{}'", path), "names a folder, not a file");
    fs::WriteOptions w;
    w.replace = replace;
    const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
    try {
        return fs::write_atomic(dir, target.filename().string(), bytes, w);
    } catch (const Error& e) {
        // Name the file asked for, not the temporary beside it.
        throw Error(e.exit(), path, e.reason());
    }
}

Rendered render(const VoiceConfig& v, const std::string& path, std::string_view language,
                std::string_view from, std::int64_t unix_time, std::optional<int> mr,
                std::string_view text) {
    if (!std::filesystem::path(path).has_filename())
        throw Error(Exit::usage, fmt::format("--output '{}'", path), "names a folder, not a file");
    Rendered r;
    r.path = path;
    const std::string bytes = render_wav(v, language, from, unix_time, mr, text, &r.seconds);
    // Replaced: the router reruns with the same --output, the same text, for the same file.
    write_wav(path, bytes, true);
    return r;
}

std::vector<std::string> library_versions() {
    const char* path = nullptr;
    const char* info = espeak_Info(&path);
    return {fmt::format("espeak-ng {}", info != nullptr ? info : "?"),
            fmt::format("libswresample {}", version_string(swresample_version())),
            fmt::format("libavutil {}", version_string(avutil_version()))};
}

} // namespace sms::voice
