// Unit tests of voice: the spoken header, espeak-ng synthesis, resampling and the WAV file.
#include "util/error.hpp"
#include "voice/voice.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <numbers>
#include <string>

namespace {

namespace fsys = std::filesystem;
using sms::Exit;
using sms::VoiceConfig;
using namespace sms::voice;

// The fields of a canonical 44-byte PCM WAV header, read the way a WAV reader does.
struct WavInfo {
    std::string riff, wave, fmt_id, data_id;
    std::uint32_t riff_size = 0, fmt_size = 0, rate = 0, byte_rate = 0, data_size = 0;
    std::uint16_t format = 0, channels = 0, block = 0, bits = 0;
    std::vector<std::int16_t> samples;
};

std::uint32_t le32(const std::string& b, std::size_t at) {
    return std::uint32_t(std::uint8_t(b[at])) | std::uint32_t(std::uint8_t(b[at + 1])) << 8 |
           std::uint32_t(std::uint8_t(b[at + 2])) << 16 |
           std::uint32_t(std::uint8_t(b[at + 3])) << 24;
}
std::uint16_t le16(const std::string& b, std::size_t at) {
    return std::uint16_t(std::uint8_t(b[at]) | std::uint8_t(b[at + 1]) << 8);
}

WavInfo parse_wav(const std::string& b) {
    WavInfo w;
    EXPECT_GE(b.size(), 44u);
    if (b.size() < 44)
        return w;
    w.riff = b.substr(0, 4);
    w.riff_size = le32(b, 4);
    w.wave = b.substr(8, 4);
    w.fmt_id = b.substr(12, 4);
    w.fmt_size = le32(b, 16);
    w.format = le16(b, 20);
    w.channels = le16(b, 22);
    w.rate = le32(b, 24);
    w.byte_rate = le32(b, 28);
    w.block = le16(b, 32);
    w.bits = le16(b, 34);
    w.data_id = b.substr(36, 4);
    w.data_size = le32(b, 40);
    for (std::size_t i = 44; i + 1 < b.size(); i += 2)
        w.samples.push_back(static_cast<std::int16_t>(le16(b, i)));
    return w;
}

void expect_asterisk_wav(const std::string& bytes, const WavInfo& w) {
    EXPECT_EQ(w.riff, "RIFF");
    EXPECT_EQ(w.wave, "WAVE");
    EXPECT_EQ(w.fmt_id, "fmt ");
    EXPECT_EQ(w.fmt_size, 16u);
    EXPECT_EQ(w.format, 1u);
    EXPECT_EQ(w.channels, 1u);
    EXPECT_EQ(w.rate, 8000u);
    EXPECT_EQ(w.byte_rate, 16000u);
    EXPECT_EQ(w.block, 2u);
    EXPECT_EQ(w.bits, 16u);
    EXPECT_EQ(w.data_id, "data");
    EXPECT_EQ(w.data_size, bytes.size() - 44);
    EXPECT_EQ(w.riff_size, bytes.size() - 8);
}

int peak(const std::vector<std::int16_t>& s, std::size_t from, std::size_t to) {
    int p = 0;
    for (std::size_t i = from; i < std::min(to, s.size()); ++i)
        p = std::max(p, std::abs(int(s[i])));
    return p;
}

std::string slurp(const fsys::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh folder per test, removed afterwards.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fsys::temp_directory_path() / "voice_test.XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fsys::remove_all(path_); }
    const fsys::path& path() const { return path_; }
    std::vector<std::string> entries() const {
        std::vector<std::string> v;
        for (const auto& e : fsys::directory_iterator(path_))
            v.push_back(e.path().filename());
        return v;
    }

private:
    fsys::path path_;
};

Exit exit_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sms::Error& e) {
        return e.exit();
    }
    return Exit::ok;
}

constexpr std::int64_t some_time = 1796041440; // 2026-11-30T12:24:00 UTC

class VoiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

const std::string text160 =
    "Hello, this is a test of the voice service. The meeting tomorrow starts at nine in room "
    "four. Please bring the papers and call me back when you can. Thanks!";

// --- the spoken header ---

TEST_F(VoiceTest, DigitsAreSpelledOneByOne) {
    EXPECT_EQ(spell_digits("500100200"), "5 0 0 1 0 0 2 0 0");
    EXPECT_EQ(spell_digits("+48 12"), "+ 4 8 1 2");
    EXPECT_EQ(spell_digits("7"), "7");
    EXPECT_EQ(spell_digits(""), "");
    EXPECT_EQ(spell_digits("zó1"), "z ó 1"); // a multi-byte character stays whole
}

TEST_F(VoiceTest, HeaderIsAsSpecSays) {
    VoiceConfig v;
    EXPECT_EQ(header_text(v, "500100200", some_time, 7), "Message from 5 0 0 1 0 0 2 0 0.");
    v.digits = false;
    EXPECT_EQ(header_text(v, "500100200", some_time, 7), "Message from 500100200.");
}

TEST_F(VoiceTest, HeaderGivesDateAndReferenceOnlyWhenAsked) {
    VoiceConfig v;
    v.give_date = true;
    EXPECT_EQ(header_text(v, "12", some_time, 7), "Message from 1 2 sent 2026 11 30 at 12:24.");
    v.give_reference = true;
    EXPECT_EQ(header_text(v, "12", some_time, 7),
              "Message from 1 2 sent 2026 11 30 at 12:24 having reference number 7.");
    EXPECT_EQ(header_text(v, "12", some_time, std::nullopt),
              "Message from 1 2 sent 2026 11 30 at 12:24.");
    v.give_date = false;
    EXPECT_EQ(header_text(v, "12", some_time, 7), "Message from 1 2 having reference number 7.");
    // The configured words are used as they are (a Polish set-up, say).
    v.header_text = "Wiadomość od ";
    v.reference_text = " numer ";
    EXPECT_EQ(header_text(v, "12", some_time, 3), "Wiadomość od 1 2 numer 3.");
}

TEST_F(VoiceTest, SpokenTextIsHeaderThenText) {
    VoiceConfig v;
    EXPECT_EQ(spoken_text(v, "5", some_time, {}, "  Hi there\n"), "Message from 5. Hi there");
}

// --- WAV, resampling, silence ---

TEST_F(VoiceTest, WavHeaderHasRealSizes) {
    Audio a;
    a.rate = 8000;
    a.samples = {0, 1, -1, 32767, -32768};
    const std::string b = wav_bytes(a);
    ASSERT_EQ(b.size(), 44u + 10u);
    const WavInfo w = parse_wav(b);
    expect_asterisk_wav(b, w);
    EXPECT_EQ(w.samples, a.samples);
}

TEST_F(VoiceTest, ResampleKeepsDurationAndSignal) {
    Audio in;
    in.rate = 22050;
    for (int i = 0; i < 22050; ++i) // one second of a 440 Hz tone
        in.samples.push_back(
            static_cast<std::int16_t>(10000 * std::sin(2 * std::numbers::pi * 440 * i / 22050.0)));
    const Audio out = resample(in, 8000);
    EXPECT_EQ(out.rate, 8000);
    EXPECT_NEAR(double(out.samples.size()), 8000.0, 20.0); // the flush keeps the tail
    EXPECT_GT(peak(out.samples, 100, 7900), 8000);
}

TEST_F(VoiceTest, LeadSilenceIsPrepended) {
    Audio in;
    in.rate = 8000;
    in.samples.assign(10, 5);
    const Audio out = with_lead_silence(in, 0.5);
    ASSERT_EQ(out.samples.size(), 4010u);
    EXPECT_EQ(peak(out.samples, 0, 4000), 0);
    EXPECT_EQ(out.samples[4000], 5);
}

// --- espeak-ng ---

TEST_F(VoiceTest, KnowsItsVoices) {
    EXPECT_TRUE(has_voice("en"));
    EXPECT_TRUE(has_voice("pl"));
    EXPECT_TRUE(has_voice("en-us"));
    EXPECT_FALSE(has_voice("xx"));
    EXPECT_FALSE(has_voice("english"));
    EXPECT_FALSE(has_voice("../../etc/passwd"));
    EXPECT_FALSE(has_voice(""));
}

TEST_F(VoiceTest, UnknownLanguageIsAConfigError) {
    EXPECT_EQ(exit_of([] { synthesize("hello", "xx", 60); }), Exit::config);
    // espeak-ng keeps its last voice after a refused name: the next good one still speaks.
    const Audio a = synthesize("hello", "en", 60);
    EXPECT_FALSE(a.samples.empty());
}

TEST_F(VoiceTest, EnglishAndPolishBothSpeak) {
    const Audio en = synthesize("Message from 5 0 0. Hello, how are you?", "en", 60);
    const Audio pl =
        synthesize("Wiadomość od 5 0 0. Cześć, jak się masz? Zażółć gęślą jaźń.", "pl", 60);
    EXPECT_EQ(en.rate, 22050);
    EXPECT_EQ(pl.rate, 22050);
    EXPECT_GT(en.seconds(), 1.0);
    EXPECT_GT(pl.seconds(), 1.0);
    EXPECT_GT(peak(en.samples, 0, en.samples.size()), 1000);
    EXPECT_GT(peak(pl.samples, 0, pl.samples.size()), 1000);
}

TEST_F(VoiceTest, LongerTextGivesLongerAudio) {
    const Audio short_one = synthesize("Hello.", "en", 60);
    const Audio long_one = synthesize(text160, "en", 60);
    EXPECT_GT(long_one.seconds(), 3 * short_one.seconds());
}

TEST_F(VoiceTest, SpeechOverTheLimitIsRefused) {
    EXPECT_EQ(exit_of([] { synthesize(text160, "en", 1.0); }), Exit::dataerr);
    VoiceConfig v;
    v.max_seconds = 3;
    EXPECT_EQ(exit_of([&] { render_wav(v, "en", "5", some_time, {}, text160); }), Exit::dataerr);
}

// --- the whole file ---

TEST_F(VoiceTest, RenderedWavIsSilentThenSpeaks) {
    VoiceConfig v; // lead_silence 1.0 s
    double seconds = 0;
    const std::string b = render_wav(v, "en", "500100200", some_time, {}, "Hello there.", &seconds);
    const WavInfo w = parse_wav(b);
    expect_asterisk_wav(b, w);
    EXPECT_NEAR(seconds, double(w.samples.size()) / 8000.0, 1e-9);
    EXPECT_EQ(peak(w.samples, 0, 8000), 0) << "the lead silence is silent";
    EXPECT_GT(peak(w.samples, 8000, 8000 + 3 * 8000), 2000) << "speech follows it";
    EXPECT_GT(seconds, 2.0);
}

TEST_F(VoiceTest, LeadSilenceFollowsTheConfig) {
    VoiceConfig v;
    v.lead_silence = 0.25;
    const WavInfo w = parse_wav(render_wav(v, "en", "5", some_time, {}, "Hi."));
    EXPECT_EQ(peak(w.samples, 0, 2000), 0);
    v.lead_silence = 2.0;
    const WavInfo w2 = parse_wav(render_wav(v, "en", "5", some_time, {}, "Hi."));
    EXPECT_EQ(peak(w2.samples, 0, 16000), 0);
    EXPECT_NEAR(double(w2.samples.size() - w.samples.size()), 1.75 * 8000, 2.0);
}

TEST_F(VoiceTest, EmptyTextSpeaksTheHeaderAlone) {
    // An empty SMS is valid (app_sms writes no ud line): the header is what there is to say.
    VoiceConfig v;
    v.lead_silence = 0;
    const WavInfo empty = parse_wav(render_wav(v, "en", "500100200", some_time, {}, ""));
    const WavInfo blank = parse_wav(render_wav(v, "en", "500100200", some_time, {}, " \n\t "));
    const WavInfo said = parse_wav(render_wav(v, "en", "500100200", some_time, {}, "Hello there."));
    EXPECT_GT(empty.samples.size(), 8000u); // "Message from 5 0 0 ..." takes seconds
    EXPECT_GT(peak(empty.samples, 0, empty.samples.size()), 0);
    EXPECT_NEAR(double(blank.samples.size()), double(empty.samples.size()), 800.0);
    EXPECT_GT(said.samples.size(), empty.samples.size());
}

TEST_F(VoiceTest, TextThatIsNotUtf8IsRefused) {
    VoiceConfig v;
    EXPECT_EQ(exit_of([&] { render_wav(v, "en", "5", some_time, {}, "caf\xe9 au lait"); }),
              Exit::dataerr);
    EXPECT_EQ(exit_of([&] { render_wav(v, "en", "5\xff", some_time, {}, "Hi."); }), Exit::dataerr);
}

TEST_F(VoiceTest, RenderWritesTheFileAndARerunReplacesIt) {
    TempDir dir;
    VoiceConfig v;
    const std::string path = (dir.path() / "out.wav").string();
    const Rendered r = render(v, path, "en", "500100200", some_time, 4, "Hello.");
    EXPECT_EQ(r.path, path);
    const std::string first = slurp(path);
    expect_asterisk_wav(first, parse_wav(first));
    EXPECT_NEAR(r.seconds, double(first.size() - 44) / 16000.0, 1e-9);
    // Same --output again (the router's rerun): replaced in place. (Byte equality holds across
    // processes, as the router runs them, and is checked by the e2e test; inside one process
    // espeak-ng's noise generator carries on.)
    render(v, path, "en", "500100200", some_time, 4, "Hello there, again.");
    const std::string second = slurp(path);
    expect_asterisk_wav(second, parse_wav(second));
    EXPECT_GT(second.size(), first.size());
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.wav"}) << "no temporary left";
}

TEST_F(VoiceTest, FailuresLeaveNothingBehind) {
    TempDir dir;
    VoiceConfig v;
    const std::string path = (dir.path() / "out.wav").string();
    EXPECT_EQ(exit_of([&] { render(v, path, "en", "5", some_time, {}, "caf\xe9"); }),
              Exit::dataerr);
    EXPECT_EQ(exit_of([&] { render(v, path, "xx", "5", some_time, {}, "Hi."); }), Exit::config);
    v.max_seconds = 2;
    EXPECT_EQ(exit_of([&] { render(v, path, "en", "5", some_time, {}, text160); }), Exit::dataerr);
    EXPECT_TRUE(dir.entries().empty());
}

TEST_F(VoiceTest, UnwritableFolderIsCantCreate) {
    TempDir dir;
    std::ofstream(dir.path() / "file") << "not a folder";
    VoiceConfig v;
    // A regular file in the place of the folder: refused even for root.
    const std::string path = (dir.path() / "file" / "out.wav").string();
    EXPECT_EQ(exit_of([&] { render(v, path, "en", "5", some_time, {}, "Hi."); }), Exit::cantcreat);
    EXPECT_EQ(exit_of([&] {
                  render(v, (dir.path() / "none" / "x.wav").string(), "en", "5", some_time, {},
                         "Hi.");
              }),
              Exit::cantcreat);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"file"});
}

} // namespace
