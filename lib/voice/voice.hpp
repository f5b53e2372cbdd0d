// voice: a text message spoken into an 8 kHz WAV Asterisk plays, and the call that plays it
// (SPEC 2.4). Only this module sees espeak-ng and libswresample.
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sms::voice {

// Rate, channels and sample size of every WAV the suite writes: what Asterisk's wav format reads.
inline constexpr int output_rate = 8000;

// The command line of sms2voice (SPEC 2.10).
struct Options {
    std::string from;
    std::string to;
    std::optional<std::string> extension; // default: the directory's channel for `to`
    std::optional<std::string> scts;      // YYYY-MM-DDTHH:MM:SS; default: now
    std::optional<int> mr;
    std::optional<std::string> language; // default: [voice] language
    std::optional<std::string> output;   // default: a new file in [voice] dir
    bool no_call = false;
    std::string text;
};

// "5 0 0 1 0 0 2 0 0": every character of `number` on its own, so the synthesiser reads a phone
// number digit by digit instead of as "five hundred million ...".
std::string spell_digits(std::string_view number);

// The spoken header of SPEC 2.4: header_text + the number (spelled when `digits`), then, when
// asked for, time_text + the date + at_text + the time and reference_text + the reference, then
// a full stop. `unix_time` is used only with give_date, `mr` only with give_reference (and only
// when present).
std::string header_text(const VoiceConfig& v, std::string_view from, std::int64_t unix_time,
                        std::optional<int> mr);

// Header and text as one utterance.
std::string spoken_text(const VoiceConfig& v, std::string_view from, std::int64_t unix_time,
                        std::optional<int> mr, std::string_view text);

// Speech as mono signed 16-bit samples at `rate` Hz.
struct Audio {
    int rate = 0;
    std::vector<std::int16_t> samples;
    double seconds() const { return rate > 0 ? double(samples.size()) / rate : 0.0; }
};

// Speaks `text` (UTF-8) with espeak-ng's voice `language`, at espeak-ng's own rate (22050 Hz).
// espeak-ng keeps global state: the first call initialises the one synthesiser of the process,
// and calls are serialised. Throws Error(config) when espeak-ng has no such voice (or cannot
// start), Error(dataerr) when the speech would last longer than `max_seconds`.
Audio synthesize(std::string_view text, std::string_view language, double max_seconds);

// Whether espeak-ng has the voice `language` (e.g. "en", "pl", "en-us", "en+f3").
bool has_voice(std::string_view language);

// Converts to `rate` Hz with libswresample (flushed, so the tail is kept).
Audio resample(const Audio& in, int rate);

// `seconds` of silence, then the audio.
Audio with_lead_silence(const Audio& in, double seconds);

// The bytes of a RIFF/WAVE file: a 44-byte header (PCM, format tag 1, real sizes) and the
// samples, little-endian.
std::string wav_bytes(const Audio& a);

// The bytes of the finished WAV: header + text spoken, resampled, after the lead silence.
// `seconds` receives its length. Throws as render() does, but writes nothing.
std::string render_wav(const VoiceConfig& v, std::string_view language, std::string_view from,
                       std::int64_t unix_time, std::optional<int> mr, std::string_view text,
                       double* seconds = nullptr);

// Writes a WAV's bytes at `path` through a temporary file in the same folder, then renames it
// (fsync'd). With `replace` false an existing file is kept and false returned. Throws
// Error(cantcreat) naming `path` when the folder is missing or not writable.
bool write_wav(const std::string& path, std::string_view bytes, bool replace);

// What render() made.
struct Rendered {
    std::string path;
    double seconds = 0.0; // including the lead silence
};

// Speaks header + text and writes the WAV at `path` (temporary name, then rename; replaces an
// existing file, so a rerun gives the same file). Throws Error(dataerr) for an empty text or one
// longer than max_seconds, Error(config) for an unknown language, Error(cantcreat) when the
// folder is not writable; nothing is left behind on failure.
Rendered render(const VoiceConfig& v, const std::string& path, std::string_view language,
                std::string_view from, std::int64_t unix_time, std::optional<int> mr,
                std::string_view text);

// The whole of sms2voice: resolve the channel (unless --no-call), render the WAV (to --output
// or a new file in [voice] dir), queue the Playback call. Returns the WAV path.
std::string run(const Config& cfg, const Options& o);

// "espeak-ng 1.51", "libswresample 4.7.100" for --version.
std::vector<std::string> library_versions();

} // namespace sms::voice
