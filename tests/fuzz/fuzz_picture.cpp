// Fuzzes the picture structure scanner of sms-fax-image (fax/picture_sniff.hpp): the PNG, GIF,
// TIFF, JPEG, BMP, PNM and WebP walkers that name the coder, count frames and name truncation
// before ImageMagick decodes a byte.
#include "fax/picture_sniff.hpp"
#include "fuzz.hpp"

#include <cstring>

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto s = fax::sniff(data, size);
    fuzz::require(s.name != nullptr && *s.name != '\0', "no name for what the bytes are");
    // A refused file is refused for what it is, never found damaged.
    fuzz::require(s.magick != nullptr || s.damage.empty(), "damage named in a refused file");
    // Every frame counted takes bytes of the file (TIFF, GIF, WebP count them one by one).
    fuzz::require(s.frames <= size + 1, "more frames than bytes");

    auto again = fax::sniff(data, size);
    fuzz::require(again.magick == s.magick && again.frames == s.frames && again.width == s.width &&
                      again.height == s.height && again.damage == s.damage,
                  "the same bytes read twice differently");
    return 0;
}
