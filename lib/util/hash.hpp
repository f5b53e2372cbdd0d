// FNV-1a (Fowler-Noll-Vo), 32 and 64 bits: a short, stable, non-cryptographic hash of bytes for
// names and identifiers that must not collide by accident (a stem's tag, a fax call's name, a
// concatenation reference, a Message-ID, sms-queue's IDs). Its values are on disk and in
// messages already sent: they must never change.
#pragma once

#include <cstdint>
#include <string_view>

namespace sms::hash {

inline constexpr std::uint32_t fnv1a32_basis = 2166136261u;
inline constexpr std::uint64_t fnv1a64_basis = 14695981039346656037ull;

// The hash of `bytes`; passing the hash of earlier bytes as `h` continues it, so
// fnv1a32(b, fnv1a32(a)) == fnv1a32(a + b).
constexpr std::uint32_t fnv1a32(std::string_view bytes, std::uint32_t h = fnv1a32_basis) {
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    return h;
}

constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = fnv1a64_basis) {
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

} // namespace sms::hash
