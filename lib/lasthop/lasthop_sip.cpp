// The last hop of SIP messages: holds for unreachable users.
#include "lasthop/lasthop_sip.hpp"

#include "core/error.hpp"
#include "lasthop/lasthop_call.hpp"

#include <charconv>
#include <fmt/format.h>

namespace sms::lasthop_sip {

std::string sip_dir(const Config& cfg) {
    return fs::join(lasthop_call::state_dir(cfg), "sip");
}

// --- SIP holds ---

std::string sip_hold_path(const Config& cfg, const std::string& stem) {
    return fs::join(sip_dir(cfg), stem);
}

std::optional<SipHold> sip_hold(const Config& cfg, const std::string& stem) {
    std::string p = sip_hold_path(cfg, stem);
    if (!fs::exists(p))
        return std::nullopt;
    SipHold h;
    try {
        std::string text = fs::read_file(p, 4096);
        std::string_view rest = text;
        while (!rest.empty()) {
            auto nl = rest.find('\n');
            auto line = rest.substr(0, nl);
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            if (line.starts_with("first=")) {
                auto v = line.substr(6);
                std::int64_t n = 0;
                auto r = std::from_chars(v.data(), v.data() + v.size(), n);
                h.first = r.ec == std::errc() && r.ptr == v.data() + v.size() ? n : 0;
            } else if (line.starts_with("told=")) {
                h.told = line.substr(5) == "1";
            }
        }
    } catch (const Error&) {
        return std::nullopt;
    }
    return h;
}

fs::PlannedFile plan_sip_hold(const Config& cfg, const std::string& stem, const SipHold& h) {
    fs::PlannedFile f;
    f.dir = sip_dir(cfg);
    f.name = stem;
    f.content = fmt::format("first={}\ntold={}\n", h.first, h.told ? 1 : 0);
    f.mode = 0600;
    f.replace = true;
    return f;
}

bool sip_keep(const Config& cfg, const SipHold& h, std::int64_t now) {
    return now - h.first < cfg.sip.hold_time;
}

std::string sip_held_text(const Config& cfg, std::string_view da) {
    return fmt::format("{} {}", da, cfg.texts.sip_held);
}

} // namespace sms::lasthop_sip
