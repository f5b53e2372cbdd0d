// The last hop of SMS: what settling says (log lines, JSON) and the received-texts note.
#include "lasthop/lasthop.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

#include <fmt/format.h>
#include <iterator>

namespace sms::lasthop {

const char* to_string(Outcome o) {
    switch (o) {
    case Outcome::delivered:
        return "delivered";
    case Outcome::requeued:
        return "requeued";
    case Outcome::redialled:
        return "redialled";
    case Outcome::given_up:
        return "given_up";
    case Outcome::waiting:
        return "waiting";
    }
    return "?";
}

std::optional<ReceivedTexts> received_texts(const Config& cfg) {
    std::string text;
    try {
        text = fs::read_file(state::received_texts(cfg), 4096);
    } catch (const Error&) {
        return std::nullopt; // none, or not readable by this user
    }
    ReceivedTexts r;
    for (std::string_view rest = text; !rest.empty();) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.rfind("first ", 0) == 0)
            r.first = line.substr(6);
        else if (line.rfind("last ", 0) == 0)
            r.last = line.substr(5);
    }
    if (r.first.empty())
        return std::nullopt;
    return r;
}

std::string event_json(const Event& e) {
    return fmt::format("{{\"file\":{},\"oa\":{},\"da\":{},\"service\":\"S\",\"outcome\":{},"
                       "\"detail\":{},\"lasthop\":{{\"item\":{},\"queue\":{},\"attempts\":{}}}}}",
                       json::quote(e.file), json::quote(e.oa), json::quote(e.da),
                       json::quote(to_string(e.outcome)), json::quote(e.detail),
                       json::quote(e.item), json::quote(e.queue), e.attempts);
}

std::string report(const Settled& s, bool as_json) {
    int n[5] = {0, 0, 0, 0, 0};
    if (s.skipped)
        log::info("last hop: another run is settling deliveries");
    for (const auto& note : s.notes)
        log::notice("last hop: {}", note);
    if (!s.log_readable) {
        log::warning("last hop: cannot read app_sms's log ({}): deliveries are not confirmed "
                     "and nothing is sent again until it can be read",
                     s.log_error);
        if (as_json)
            fmt::print("{{\"lasthop_log\":{{\"readable\":false,\"error\":{}}}}}\n",
                       json::quote(s.log_error));
    }
    if (s.received_texts) {
        log::warning("last hop: app_sms's log holds the texts of received messages, first {}: "
                     "anyone who sends the SMS centre a text can write lines into it; give the "
                     "centre's SMS() the option n (SMS(${{CALLERID(num)}},san)) so that it logs "
                     "lengths only",
                     *s.received_texts);
        if (as_json)
            fmt::print("{{\"lasthop_log\":{{\"received_texts\":true,\"first\":{}}}}}\n",
                       json::quote(*s.received_texts));
    }
    for (const auto& e : s.events) {
        auto level = e.outcome == Outcome::given_up    ? log::Level::error
                     : e.outcome == Outcome::delivered ? log::Level::info
                     : e.outcome == Outcome::waiting   ? log::Level::debug
                                                       : log::Level::notice;
        log::write(level, fmt::format("{}: {} -> {}: service S: last hop: {}: {}", e.file, e.oa,
                                      e.da, to_string(e.outcome), e.detail));
        if (as_json)
            fmt::print("{}\n", event_json(e));
        ++n[static_cast<int>(e.outcome)];
    }
    if (n[0] + n[1] + n[2] + n[3] == 0)
        return {};
    return fmt::format("last hop: delivered {}, requeued {}, redialled {}, given up {}", n[0], n[1],
                       n[2], n[3]);
}

} // namespace sms::lasthop
