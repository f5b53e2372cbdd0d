// Private to the last hop of fax and voice deliveries (lasthop_call*.cpp): what its files share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sms::lasthop_call {

// One line per value (see lasthop_call.cpp).
std::string escape(std::string_view v);
// A whole decimal number, or none.
std::optional<std::int64_t> to_int(std::string_view s);

} // namespace sms::lasthop_call
