// The sms-translit module: transliteration to GSM 7-bit with ICU, loaded by translit.cpp only
// when a text needs it. Its entry points are plain C: nothing C++ crosses the module boundary.
#include "asterisk/gsm.hpp"
#include "translit/translit.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uclean.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>
#include <unicode/uversion.h>

namespace sms::translit {

namespace {

std::u32string decode(std::string_view utf8) {
    std::size_t at = 0;
    auto cps = utf8::decode(utf8, false, &at);
    if (!cps) {
        throw Error(Exit::dataerr, "text", fmt::format("not valid UTF-8 (at byte {})", at));
    }
    return *cps;
}

icu::UnicodeString to_icu(std::u32string_view s) {
    return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                         static_cast<int32_t>(s.size()));
}

std::u32string from_icu(const icu::UnicodeString& s) {
    std::string out;
    s.toUTF8String(out);
    return decode(out);
}

std::u32string normalize_nfc(std::u32string_view s) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status)) {
        throw Error(Exit::software, "ICU NFC normaliser", u_errorName(status));
    }
    icu::UnicodeString out = nfc->normalize(to_icu(s), status);
    if (U_FAILURE(status)) {
        throw Error(Exit::software, "ICU NFC normalisation", u_errorName(status));
    }
    return from_icu(out);
}

// Creating a transliterator compiles its rules (milliseconds); one per process is enough. The
// tools are single-threaded, the mutex keeps a threaded caller safe.
class Romaniser {
public:
    std::u32string run(std::u32string_view s) {
        std::lock_guard lock(mutex_);
        if (!t_) {
            UErrorCode status = U_ZERO_ERROR;
            t_.reset(icu::Transliterator::createInstance("Any-Latin; Latin-ASCII", UTRANS_FORWARD,
                                                         status));
            if (U_FAILURE(status) || !t_) {
                throw Error(Exit::software, "ICU transliterator 'Any-Latin; Latin-ASCII'",
                            u_errorName(status));
            }
        }
        icu::UnicodeString u = to_icu(s);
        t_->transliterate(u);
        return from_icu(u);
    }

private:
    std::mutex mutex_;
    std::unique_ptr<icu::Transliterator> t_;
};

Romaniser& romaniser() {
    static Romaniser r;
    return r;
}

// What app_sms would get wrong or a phone cannot show, replaced before ICU sees it.
char32_t simple_substitute(char32_t c) {
    switch (c) {
    case U'\t':
    case U'\u00A0': // app_sms would send it as the escape septet
    case U'\u2007':
    case U'\u202F':
        return U' ';
    case U'\u00E7': // app_sms packs it as 0x09, which phones show as 'Ç'
        return U'c';
    case U'\u00C7': // app_sms has no code for it
        return U'C';
    default:
        return 0;
    }
}

} // namespace

std::string nfc_icu(std::string_view utf8) {
    return utf8::encode(normalize_nfc(decode(utf8)));
}

std::string to_gsm_icu(std::string_view utf8) {
    std::u32string in = normalize_nfc(decode(utf8));
    std::u32string out;
    out.reserve(in.size());
    // Runs of characters GSM lacks go to ICU together, so that scripts romanise with context
    // (Greek or Cyrillic words, CJK phrases); what GSM has is never touched (é ü ñ Ä Ø Δ Ω...).
    std::u32string run;
    auto flush = [&] {
        if (run.empty()) {
            return;
        }
        for (char32_t c : romaniser().run(run)) {
            if (char32_t s = simple_substitute(c)) {
                c = s;
            }
            out.push_back(gsm::app_sms_safe(c) ? c : U'?');
        }
        run.clear();
    };
    for (char32_t c : in) {
        if (char32_t s = simple_substitute(c)) {
            flush();
            out.push_back(s);
        } else if (gsm::app_sms_safe(c)) {
            flush();
            out.push_back(c);
        } else {
            run.push_back(c);
        }
    }
    flush();
    return utf8::encode(out);
}

// Runs `f` and hands its result over as malloc'd bytes, or NULL and the reason in `err`.
template <typename F>
char* hand_over(F f, std::size_t* out_len, char* err, std::size_t errlen) {
    try {
        std::string r = f();
        char* out = static_cast<char*>(std::malloc(r.size() + 1));
        if (!out)
            throw std::bad_alloc();
        std::memcpy(out, r.data(), r.size());
        out[r.size()] = 0;
        *out_len = r.size();
        return out;
    } catch (const std::exception& e) {
        std::snprintf(err, errlen, "%s", e.what());
        return nullptr;
    }
}

} // namespace sms::translit

extern "C" {

__attribute__((visibility("default"))) char* sms_translit_to_gsm(const char* in, std::size_t len,
                                                                 std::size_t* out_len, char* err,
                                                                 std::size_t errlen) {
    return sms::translit::hand_over(
        [&] {
            return sms::translit::to_gsm_icu({in, len});
        },
        out_len, err, errlen);
}

__attribute__((visibility("default"))) char* sms_translit_nfc(const char* in, std::size_t len,
                                                              std::size_t* out_len, char* err,
                                                              std::size_t errlen) {
    return sms::translit::hand_over(
        [&] {
            return sms::translit::nfc_icu({in, len});
        },
        out_len, err, errlen);
}

__attribute__((visibility("default"))) const char* sms_translit_version() {
    static char buf[64];
    UVersionInfo v;
    u_getVersion(v);
    char ver[U_MAX_VERSION_STRING_LENGTH];
    u_versionToString(v, ver);
    std::snprintf(buf, sizeof buf, "ICU %s", ver);
    return buf;
}

} // extern "C"
