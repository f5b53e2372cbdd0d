// JSON output helpers for the tools' --json modes (one object per line).
#pragma once

#include <string>
#include <string_view>

namespace sms::json {

// `s` as a JSON string literal, quotes included: '"', '\' and control characters escaped; other
// bytes (UTF-8) as they are.
std::string quote(std::string_view s);

} // namespace sms::json
