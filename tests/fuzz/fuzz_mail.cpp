// Fuzzes sms-mail-in's mail reader (GMime 3 under it) and its hand-written parts: html_to_text,
// cut_replies and number_of, over the mail's text and over the raw bytes.
#include "fuzz.hpp"
#include "mailin/mailin.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

using namespace sms;

namespace {

// What the reader and the cutter give must be valid UTF-8 that cutting never grows.
void check_text(const std::string& text) {
    fuzz::require(utf8::is_valid(text), "read_mail gave text that is not valid UTF-8");
    auto cut = mailin::cut_replies(text);
    fuzz::require(cut.size() <= text.size(), "cut_replies grew its input");
    fuzz::require(utf8::is_valid(cut), "cut_replies broke valid UTF-8");
    fuzz::require(mailin::cut_replies(cut).size() <= cut.size(), "cut_replies grew its output");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto s = fuzz::as_text(data, size);

    try {
        auto r = mailin::read_mail(s);
        check_text(r.text);
        (void)mailin::number_of(r.from);
        (void)mailin::number_of(r.to);
    } catch (const Error&) {
        // Not a message: refused (dataerr), as it should be.
    }

    // The hand-written parts straight on the bytes (a mail's own text can be anything).
    auto text = mailin::html_to_text(s);
    if (utf8::is_valid(s)) {
        fuzz::require(utf8::is_valid(text), "html_to_text broke valid UTF-8");
        check_text(std::string(s));
    } else {
        fuzz::require(mailin::cut_replies(s).size() <= size, "cut_replies grew its input");
    }
    auto number = mailin::number_of(s);
    fuzz::require(number.size() <= size, "number_of grew its input");
    return 0;
}
