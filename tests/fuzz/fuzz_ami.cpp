// Fuzzes the AMI reader (FrameReader: banner line and frames from a hostile byte stream, fed in
// arbitrary chunks) and the MessageSend body splitter.
#include "asterisk/ami.hpp"
#include "fuzz.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <algorithm>

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    // The first byte sets the chunk size the bytes arrive in (TCP may cut anywhere).
    const std::size_t chunk = data[0] % 64 + 1;
    auto stream = fuzz::as_text(data + 1, size - 1);

    ami::FrameReader reader;
    bool banner = false;
    std::size_t frames = 0;
    try {
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            reader.feed(stream.substr(at, chunk));
            if (!banner && reader.take_line())
                banner = true;
            while (banner) {
                auto f = reader.take_frame();
                if (!f)
                    break;
                ++frames;
                fuzz::require(f->headers.size() <= ami::FrameReader::max_headers,
                              "a frame over max_headers");
                (void)f->get("ActionID");
                (void)f->is_event();
                (void)f->is_response();
                (void)f->value("Message");
            }
            // pending() counts two line-end bytes per held header line, even after a bare LF:
            // an estimate, but never more than twice what was fed.
            fuzz::require(reader.pending() <= 2 * std::min(stream.size(), at + chunk),
                          "more pending than was fed");
        }
    } catch (const Error& e) {
        fuzz::require(e.exit() == Exit::dataerr, "a frame error that is not dataerr");
    }
    fuzz::require(frames <= stream.size(), "more frames than bytes");

    // The body splitter: pieces of valid UTF-8 within the limit that join to the text.
    if (utf8::is_valid(stream)) {
        const std::size_t max = data[0] % 16 + 4; // at least one 4-byte character fits
        std::string joined;
        for (const auto& piece : ami::split_body(stream, max)) {
            fuzz::require(piece.size() <= max, "a body piece over the limit");
            fuzz::require(utf8::is_valid(piece), "a body piece cut inside a character");
            joined += piece;
        }
        fuzz::require(joined == stream, "split_body pieces do not join to the text");
    }
    return 0;
}
