// JSON output helpers for the tools' --json modes (one object per line).
#pragma once

#include <string>
#include <string_view>

namespace sms::json {

// `s` as a JSON string literal, quotes included: '"', '\' and control characters escaped; valid
// UTF-8 as it is. A byte that is not part of valid UTF-8 (a file name in another encoding) is
// written as the escape \udcXX (XX its value), as Python's "surrogateescape" does: the output
// stays valid UTF-8 and a reader can get the original bytes back (os.fsencode in Python).
std::string quote(std::string_view s);

} // namespace sms::json
