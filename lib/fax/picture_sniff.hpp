// The structure of a picture's bytes, read before any decoder sees them (the sms-fax-image
// module, fax_image_magick.cpp): a pure function over bytes, with no Magick++ in it, so that it
// is fuzzed on its own (tests/fuzz/fuzz_picture.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sms::fax {

// What the bytes of a file are, read here before ImageMagick sees them: only an allow-list of
// raster formats is decoded, each by the coder named here (never one ImageMagick would guess),
// so that no coder that reads other files (SVG, MSL, MVG, TXT, URL...) ever runs. Frames and
// each frame's size are counted from the structure, and a file that ends before its structure
// does is named truncated, all before a pixel is decoded.
struct Sniffed {
    const char* magick = nullptr; // ImageMagick's coder; nullptr: refused
    const char* name = "";        // for messages
    std::uint64_t frames = 1;
    std::uint64_t width = 0, height = 0; // the largest frame; 0: unknown (ask ImageMagick)
    std::string damage;                  // "" or why the file is truncated or corrupt
};

// Names the format of `data` (magick nullptr: refused, name says what it looks like) and counts
// its frames and largest frame from its structure; damage names a truncated or corrupt file.
Sniffed sniff(const void* data, std::size_t size);

} // namespace sms::fax
