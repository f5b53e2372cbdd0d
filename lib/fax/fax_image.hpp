// fax images: pictures on fax pages (the [fax] logo, sms2fax --image) and the PNG preview.
// Magick++ lives in the sms-fax-image module, loaded with dlopen() only when a picture or a
// preview is asked for: a text-only fax never loads it.
#pragma once

#include "core/config.hpp"
#include "fax/fax.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::fax {

// "halftone" | "auto" | "ordered" | "floyd-steinberg" | "threshold"; nullopt otherwise.
std::optional<FaxDither> parse_dither(std::string_view s);

// A grey picture: 0 black to 255 white, row after row.
struct Gray {
    int width = 0;
    int rows = 0;
    std::vector<std::uint8_t> px;
};

// Makes the picture one bit per pixel and ORs its black pixels into the page (of y_dpi rows an
// inch) with the top-left corner at (x, y), clipped to the page. Halftone: a clustered-dot
// screen (round dots at 45 degrees, the same size on paper at every resolution): the tones of a
// photo in the fewest bytes on the line. Auto: threshold for a text-like picture (nearly every
// pixel near black or white), halftone otherwise. Ordered: an 8x8 Bayer matrix;
// Floyd-Steinberg: error diffusion (both fine on paper, slow on the line); threshold: below
// half grey is black (line art, logos).
void dither_into(Page& page, int x, int y, const Gray& gray, FaxDither how, int y_dpi = 196);

// A picture file, every frame decoded (multi-page TIFF, animated GIF) under [fax]
// image_max_* limits. Throws Error: noinput (cannot read the file), dataerr (not a picture,
// a format ImageMagick's policy forbids, over a limit: the message names which), software
// (the module cannot be loaded).
class Picture {
public:
    // Only a regular file is read (a FIFO, a device: Error(bad_file) at once; the [fax] logo
    // passes config), at most image_max_memory bytes.
    Picture(const FaxConfig& fc, const std::string& path, Exit bad_file = Exit::dataerr);
    ~Picture();
    Picture(const Picture&) = delete;
    Picture& operator=(const Picture&) = delete;

    std::size_t frames() const noexcept;
    // Upright size of a frame in pixels.
    int width(std::size_t frame) const;
    int rows(std::size_t frame) const;
    // The rows [y, y + h) of a frame, all its width, scaled to out_w x out_h (transparency
    // over white).
    Gray gray(std::size_t frame, int y, int h, int out_w, int out_h) const;

private:
    std::string path_;
    struct Handle;
    std::unique_ptr<Handle> h_;
};

// A whole fax: a cover (header line, rule, text; [fax] logo above it) then the pictures, each
// frame scaled to the printable width and split into pages, the last page of each cut to
// length. Pages are drawn one at a time on request, into one buffer.
class Document {
public:
    Document(const FaxConfig& fc, FaxResolution res);
    ~Document();
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;

    Renderer& renderer() noexcept;
    // The cover's lines as wrap() makes them; loads [fax] logo when one is set.
    void set_cover(std::vector<std::u32string> lines);
    // Throws Error(dataerr) as soon as the fax needs more than [fax] max_pages pages.
    void add_picture(const std::string& path);

    std::size_t pages() const noexcept;
    int y_dpi() const noexcept;
    int rows(std::size_t page) const; // without drawing it
    const Page& page(std::size_t i);  // valid until the next call
    bool uses_pictures() const noexcept;

    // The logo's place on the first page, in page pixels (empty without a logo).
    struct Box {
        int x = 0, y = 0, width = 0, rows = 0;
    };
    Box logo_box() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_;
};

// Writes what the fax machine will print as one 8-bit grey PNG with square pixels (204 x 204
// dpi: rows scaled by 204 / y_dpi), the pages one under the other with a grey line three
// pixels high between them; atomically (temporary file, fsync, rename). Returns the PNG's
// height. Throws Error(cantcreat) leaving nothing behind.
int write_preview(const std::string& path, std::size_t count, int y_dpi,
                  const std::function<int(std::size_t)>& rows,
                  const std::function<const Page&(std::size_t)>& page);

// Rows of a page of `rows` fax rows in the preview.
int preview_rows(int rows, int y_dpi) noexcept;
constexpr int preview_gap = 3;

// "ImageMagick 6.9.11-60 Q16, libpng 1.6.39", loading the module (for --version).
std::string image_library_version();

} // namespace sms::fax
