// The retry record: its format, written and parsed here alone.
#include "state/retry.hpp"

#include "state/layout.hpp"
#include "state/read.hpp"
#include "util/fsutil.hpp"
#include "util/text.hpp"

#include <charconv>
#include <fmt/format.h>

namespace sms::state {

namespace {
constexpr std::string_view first_key = "first_failure=";
constexpr std::string_view reason_key = "reason=";
} // namespace

std::string format_retry(std::int64_t first_failure, std::string_view reason) {
    return fmt::format("{}{}\n{}{}\n", first_key, first_failure, reason_key,
                       text::escape_controls(reason));
}

RetryRecord parse_retry(std::string_view text) {
    RetryRecord r;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.starts_with(first_key)) {
            auto v = line.substr(first_key.size());
            std::int64_t t = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
            r.first_failure = ec == std::errc() && t > 0 ? t : 0;
        } else if (line.starts_with(reason_key)) {
            r.reason = std::string(line.substr(reason_key.size()));
        }
    }
    return r;
}

std::string retry_path(const Config& cfg, std::string_view name) {
    return fs::join(retry_dir(cfg), name);
}

std::optional<RetryRecord> read_retry(const Config& cfg, std::string_view name) {
    std::string s = read_head(retry_path(cfg, name), 8192);
    if (s.empty())
        return std::nullopt;
    return parse_retry(s);
}

} // namespace sms::state
