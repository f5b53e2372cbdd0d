// The suite's layout on disk: the paths of layout.hpp, spelt once.
#include "state/layout.hpp"

#include "util/fsutil.hpp"

#include <charconv>
#include <fmt/format.h>

namespace sms::state {

std::string root(const Config& cfg) {
    return fs::join(cfg.general.spool_dir, "sms/.sms-suite");
}
std::string journal_dir(const Config& cfg) {
    return fs::join(root(cfg), "journal");
}
std::string retry_dir(const Config& cfg) {
    return fs::join(root(cfg), "retry");
}
std::string refs_dir(const Config& cfg) {
    return fs::join(root(cfg), "refs");
}
std::string reassembly_lock(const Config& cfg) {
    return fs::join(root(cfg), "reassembly.lock");
}

std::string lasthop_dir(const Config& cfg) {
    return fs::join(root(cfg), "lasthop");
}
std::string mr_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "mr");
}
std::string sms_calls_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "calls");
}
std::string log_cursor(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "cursor");
}
std::string received_texts(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), received_texts_name);
}
std::string settle_lock(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "settle.lock");
}
std::string call_records_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "records");
}
std::string call_results_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "results");
}
std::string sip_holds_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "sip");
}

std::string delivery_call_name(std::string_view queue) {
    return fmt::format("smsq.mttx.{}.1", queue);
}

namespace {
const char* call_word(char service) {
    return service == 'V' ? "voice" : "fax";
}
} // namespace

std::string fax_voice_call_name(std::string_view stem, char service, int attempt) {
    if (attempt <= 1)
        return fmt::format("{}.{}.call", stem, call_word(service));
    return fmt::format("{}.{}.{}.call", stem, call_word(service), attempt);
}

std::optional<FaxVoiceCall> parse_fax_voice_call_name(std::string_view n) {
    constexpr std::string_view suffix = ".call";
    if (!n.ends_with(suffix))
        return std::nullopt;
    n.remove_suffix(suffix.size());
    FaxVoiceCall c;
    if (auto dot = n.rfind('.'); dot != std::string_view::npos) {
        auto digits = n.substr(dot + 1);
        int a = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), a);
        if (ec == std::errc() && end == digits.data() + digits.size() && a > 1) {
            c.attempt = a;
            n = n.substr(0, dot);
        }
    }
    for (char service : {'F', 'V'}) {
        const std::string word = fmt::format(".{}", call_word(service));
        if (n.ends_with(word) && n.size() > word.size()) {
            c.stem = std::string(n.substr(0, n.size() - word.size()));
            c.service = service;
            return c;
        }
    }
    return std::nullopt;
}

} // namespace sms::state
