// AMI's MessageSend: SIP messages sent through the manager, split to fit its lines.
#include "asterisk/ami.hpp"
#include "util/base64.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace sms::ami {

// ---- MessageSend ----

std::string from_header(const AmiConfig& cfg, std::string_view from) {
    if (cfg.from.empty())
        return std::string(from);
    std::string out;
    std::string_view t = cfg.from;
    constexpr std::string_view key = "{number}";
    for (;;) {
        auto at = t.find(key);
        if (at == std::string_view::npos) {
            out += t;
            break;
        }
        out += t.substr(0, at);
        out += from;
        t.remove_prefix(at + key.size());
    }
    return out;
}

std::vector<std::string> split_body(std::string_view text, std::size_t max_bytes) {
    std::vector<std::string> parts;
    if (max_bytes < 4)
        max_bytes = 4; // room for any one UTF-8 character
    while (text.size() > max_bytes) {
        std::size_t cut = max_bytes;
        // Never inside a character: back up over continuation bytes.
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
            --cut;
        // Prefer a space in the last quarter, so words stay whole.
        auto space = text.substr(0, cut).rfind(' ');
        if (space != std::string_view::npos && space > cut * 3 / 4)
            cut = space + 1;
        if (cut == 0)
            cut = max_bytes; // not UTF-8 after all: cut anywhere rather than loop
        parts.emplace_back(text.substr(0, cut));
        text.remove_prefix(cut);
    }
    parts.emplace_back(text);
    return parts;
}

SendResult send_message(const AmiConfig& cfg, const std::string& from, const std::string& to,
                        std::string_view text, std::size_t skip,
                        const std::function<void(std::size_t)>& sent) {
    SendResult result;
    std::vector<Header> base;
    std::vector<std::string> parts;
    // Input no retry can fix: refused before a connection is made.
    try {
        auto bad = [](std::string_view s) {
            return s.empty() ||
                   s.find_first_of(std::string_view("\r\n\0 \t<>", 7)) != std::string_view::npos;
        };
        if (bad(to))
            throw Error(Exit::dataerr, fmt::format("recipient '{}'", to),
                        "empty, or holds spaces, angle brackets or control characters");
        if (bad(from))
            throw Error(Exit::dataerr, fmt::format("sender '{}'", from),
                        "empty, or holds spaces, angle brackets or control characters");
        base = {{"To", fmt::format("{}:{}", cfg.technology, to)}, {"From", from_header(cfg, from)}};
        (void)format_action("MessageSend", "x", base);
        parts = split_body(text, max_body_bytes);
        if (parts.size() > max_parts)
            throw Error(Exit::dataerr, "message text",
                        fmt::format("{} bytes would take {} MessageSend actions, at most {}",
                                    text.size(), parts.size(), max_parts));
    } catch (const Error& e) {
        result.status = SendResult::Status::refused;
        result.exit = Exit::dataerr;
        result.message = e.what();
        return result;
    }
    if (skip >= parts.size()) {
        result.status = SendResult::Status::sent;
        result.exit = Exit::ok;
        return result;
    }
    // From here on, only Asterisk's own Response: Error to MessageSend is a refusal; anything
    // else that goes wrong is an exchange that did not happen: try again later.
    try {
        Client c(cfg);
        c.connect();
        c.login();
        for (std::size_t i = skip; i < parts.size(); ++i) {
            auto headers = base;
            headers.push_back({"Base64Body", base64::encode(parts[i])});
            Frame r = c.action("MessageSend", headers);
            auto response = r.value("Response");
            if (text::iequals(response, "Error")) {
                result.status = SendResult::Status::refused;
                result.exit = Exit::failure;
                result.message = r.get("Message").value_or("MessageSend failed");
                if (parts.size() > 1)
                    result.message += fmt::format(" (part {} of {})", i + 1, parts.size());
                c.logoff();
                return result;
            }
            if (!text::iequals(response, "Success"))
                throw Error(Exit::unavailable, fmt::format("AMI {}:{}", cfg.host, cfg.port),
                            fmt::format("MessageSend answered 'Response: {}', neither Success "
                                        "nor Error",
                                        text::shown(response)));
            if (sent)
                sent(i + 1);
        }
        c.logoff();
        result.status = SendResult::Status::sent;
        result.exit = Exit::ok;
    } catch (const Error& e) {
        result.status = SendResult::Status::unavailable;
        result.exit = e.exit() == Exit::tempfail ? Exit::tempfail : Exit::unavailable;
        result.message = e.what();
    }
    return result;
}

} // namespace sms::ami
