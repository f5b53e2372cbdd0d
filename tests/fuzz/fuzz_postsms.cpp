// Fuzzes what post-sms takes from outside before it writes a file: the SIP From: header, the
// Base64 body (MSG_B64), its UTF-8, the flattening of line breaks and the number check.
#include "asterisk/spool.hpp"
#include "fuzz.hpp"
#include "messaging/postsms.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // "From header \n Base64 body"
    auto input = fuzz::as_text(data, size);
    auto nl = input.find('\n');
    auto from = input.substr(0, nl);
    auto b64 = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

    std::string number = postsms::sender_number(from);
    try {
        postsms::check_number("sender", number);
        fuzz::require(spool::valid_number(number), "check_number let a bad number through");
    } catch (const Error& e) {
        fuzz::require(e.exit() == Exit::dataerr, "a number error that is not dataerr");
        fuzz::require(!spool::valid_number(number), "check_number refused a valid number");
    }

    auto flat_from = postsms::flatten(from);
    fuzz::require(flat_from.find_first_of("\r\n") == std::string::npos, "flatten left a break");
    fuzz::require(postsms::flatten(flat_from) == flat_from, "flatten is not idempotent");

    if (auto body = base64::decode(b64); body && utf8::is_valid(*body)) {
        auto text = postsms::flatten(*body);
        fuzz::require(text.find_first_of("\r\n") == std::string::npos, "flatten left a break");
        fuzz::require(utf8::is_valid(text), "flatten broke the UTF-8");
        fuzz::require(text.empty() || (text.front() != ' ' && text.back() != ' '),
                      "flatten left blanks at an end");
    }
    return 0;
}
