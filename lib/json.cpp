// JSON string literals for the tools' --json output.
#include "json.hpp"

#include <fmt/format.h>
#include <iterator>

namespace sms::json {

std::string quote(std::string_view s) {
    std::string out = "\"";
    out.reserve(s.size() + 2);
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7F)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
            else
                out.push_back(ch);
        }
    }
    out += '"';
    return out;
}

} // namespace sms::json
