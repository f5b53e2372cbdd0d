// What the manager knows of a SIP user's contacts (PJSIPShowEndpoint): reachable or not.
#include "asterisk/ami.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace sms::ami {

// ---- contacts ----

Reach reach_of(const Frame& response, const std::vector<Frame>& events) {
    Reach r;
    if (text::iequals(response.value("Response"), "Error")) {
        auto msg = std::string(text::trim(response.value("Message")));
        r.detail = msg;
        r.state = text::istarts_with(msg, "Unable to retrieve endpoint")
                      ? Reach::State::no_contact
                      : Reach::State::unsupported;
        return r;
    }
    bool reachable = false, unqualified = false, unreachable = false;
    for (const auto& e : events) {
        if (!text::iequals(e.value("Event"), "ContactStatusDetail"))
            continue;
        auto status = e.value("Status");
        if (text::iequals(status, "Removed"))
            continue;
        if (!r.detail.empty())
            r.detail += ", ";
        r.detail += fmt::format("{} {}", text::shown(e.value("URI")), text::shown(status));
        if (text::iequals(status, "Reachable")) {
            reachable = true;
            // QualifyFrequency: 10, QualifyTimeout: 3.000 (seconds, fractions)
            double freq = 0, timeout = 0;
            auto num = [](const std::string& v, double& out) {
                auto t = text::trim(v);
                auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
                if (ec != std::errc() || !(out >= 0 && out < 1e7))
                    out = 0;
            };
            num(e.value("QualifyFrequency"), freq);
            num(e.value("QualifyTimeout"), timeout);
            auto round = static_cast<std::int64_t>(std::ceil(freq + timeout));
            if (freq > 0)
                r.round = std::max(r.round, round);
            r.reachable.push_back(
                fmt::format("{} {}", text::trim(e.value("ID")), text::trim(e.value("CallID"))));
        } else if (text::iequals(status, "Unreachable")) {
            unreachable = true;
        } else {
            unqualified = true; // Unknown, NonQualified, or a status this version does not know
        }
    }
    if (reachable)
        r.state = Reach::State::reachable;
    else if (unqualified)
        r.state = Reach::State::unqualified;
    else if (unreachable)
        r.state = Reach::State::unreachable;
    else
        r.state = Reach::State::no_contact;
    if (r.detail.empty())
        r.detail = "no contact";
    return r;
}

Reach contacts(const AmiConfig& cfg, std::string_view endpoint) {
    Client c(cfg);
    c.connect();
    c.login();
    auto [response, events] =
        c.action_list("PJSIPShowEndpoint", {{"Endpoint", std::string(endpoint)}});
    auto verdict = response.value("Response");
    if (!text::iequals(verdict, "Success") && !text::iequals(verdict, "Error"))
        throw Error(Exit::unavailable, fmt::format("AMI {}:{}", cfg.host, cfg.port),
                    fmt::format("PJSIPShowEndpoint answered 'Response: {}', neither Success nor "
                                "Error",
                                text::shown(verdict)));
    c.logoff();
    return reach_of(response, events);
}

} // namespace sms::ami
