// Shared helpers of the fuzz targets: a property check that libFuzzer records as a crash.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <string_view>

namespace sms::fuzz {

// A broken invariant (round trip, length) is a bug as much as a crash: report it and abort so
// that libFuzzer saves the input.
inline void require(bool ok, std::string_view what) {
    if (ok)
        return;
    fmt::print(stderr, "fuzz property violated: {}\n", what);
    std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace sms::fuzz
