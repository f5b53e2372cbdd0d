// How the state room reads its small files: quietly and within bounds.
#pragma once

#include <cstddef>
#include <string>

namespace sms::state {

// The first `max` bytes of the file `path` at most; "" when it is missing or cannot be read.
// Never follows a symbolic link, never waits on a FIFO.
std::string read_head(const std::string& path, std::size_t max);

} // namespace sms::state
