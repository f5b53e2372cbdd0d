// Base64 (RFC 4648, standard alphabet, padded): SIP bodies through AGI and AMI's Base64Body.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sms::base64 {

std::string encode(std::string_view bytes);

// Strict decoding: the standard alphabet, '=' padding only at the end and only as much as the
// length needs (a missing padding is accepted, as BASE64_ENCODE never omits it but people do).
// Whitespace is not skipped. nullopt on anything else; `error_at` receives the offending offset.
std::optional<std::string> decode(std::string_view text, std::size_t* error_at = nullptr);

} // namespace sms::base64
