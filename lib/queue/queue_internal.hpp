// sms-queue's own: what its listing, formatting and actions share. Not part of the interface.
#pragma once

#include "queue/queue.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace sms::queue::detail {

inline constexpr const char* states[] = {"held",   "retry", "failed", "bad",
                                         "queued", "call",  "lasthop"};

int state_rank(const std::string& s);

// One line for the listing: control characters as \xNN.
std::string one_line(std::string_view s);

// A small file's text ("" when unreadable).
std::string slurp(const std::string& path, std::size_t max = 64 * 1024);

} // namespace sms::queue::detail
