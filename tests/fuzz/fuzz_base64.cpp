// Fuzzes Base64 decoding (post-sms's MSG_B64, AMI bodies) and the encode/decode round trip.
#include "fuzz.hpp"
#include "util/base64.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto s = fuzz::as_text(data, size);

    std::size_t bad = 0;
    if (auto bytes = base64::decode(s, &bad)) {
        auto enc = base64::encode(*bytes);
        auto again = base64::decode(enc);
        fuzz::require(again && *again == *bytes, "decode(encode(decode(s))) != decode(s)");
        fuzz::require(bytes->size() <= s.size(), "decoded more bytes than the text has");
    } else {
        fuzz::require(bad <= size, "error offset past the end");
    }

    // Any bytes survive encoding.
    auto enc = base64::encode(s);
    fuzz::require(enc.size() % 4 == 0, "encoding not padded to 4");
    auto dec = base64::decode(enc);
    fuzz::require(dec && *dec == s, "decode(encode(bytes)) != bytes");
    return 0;
}
