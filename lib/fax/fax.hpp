// fax: a text message rendered as a G3 fax TIFF that Asterisk's SendFax accepts (SPEC 2.3).
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::fax {

// What sms2fax's command line asks for (SPEC 2.10).
struct Options {
    std::string from;
    std::string to;
    std::optional<std::string> extension;  // default: the directory's channel for `to`
    std::optional<std::string> scts;       // YYYY-MM-DDTHH:MM:SS, local time; default: now
    std::optional<int> mr;                 // message reference shown in the header
    std::optional<std::string> resolution; // standard | fine | superfine; default [fax]
    std::optional<std::string> output;     // default: a new file in [fax] dir
    bool no_call = false;
    std::string text; // UTF-8
    // The header line, rule and text first; false: only the pictures (needs one).
    bool cover = true;
    std::vector<std::string> images;    // picture files faxed as pages after the text
    std::optional<std::string> preview; // also write what the fax will look like, as a PNG
    // With a preview, the TIFF is written only when `output` is given or a call is queued.
};

struct Result {
    std::string tiff_path;                   // empty when only a preview was asked for
    std::optional<std::string> preview_path; // when a preview was written
    std::optional<std::string> call_path;    // when a call file was queued (or already there)
    int pages = 0;
};

// The whole of sms2fax: renders the fax, writes it atomically, and (unless no_call) queues
// the SendFax call. Throws Error: usage (bad --scts/--resolution), dataerr (bad text, too many
// pages, unknown number, a bad or too large picture), noinput (a picture cannot be read),
// config (font), cantcreat (output), tempfail (directory outage).
Result send(const Config& cfg, const Options& opt);

// "standard" | "fine" | "superfine"; nullopt otherwise.
std::optional<FaxResolution> parse_resolution(std::string_view s);

// Vertical resolution in dots per inch (98, 196, 391); horizontal is always 204.
int y_dpi(FaxResolution r) noexcept;

// The broken-down send time. parse_time accepts "YYYY-MM-DDTHH:MM:SS" (or a space for the T);
// nullopt when malformed or out of range.
struct Time {
    int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
};
std::optional<Time> parse_time(std::string_view iso);
Time now_local();

// "Text message from <oa> sent YYYY/MM/DD HH:MM:SS (<mr>)" from [fax] header_text/time_text;
// the " (<mr>)" part only when there is a reference.
std::string header_line(const FaxConfig& fc, std::string_view oa, const Time& t,
                        std::optional<int> mr);

// The text as lines of at most `columns` cells: CRLF/CR become LF, tabs are expanded to every
// `tab` columns, words wrap at spaces, a word longer than a line is broken, combining marks take
// no cell, other control characters are dropped. A form feed starts a new page: it is kept as
// a line holding just U'\f'. Throws Error(dataerr) on invalid UTF-8.
std::vector<std::u32string> wrap(std::string_view utf8_text, std::size_t columns,
                                 std::size_t tab = 8);

// Whether a code point is drawn over the previous cell (a combining mark).
bool is_combining(char32_t c) noexcept;

// The cells a code point takes: 0 for a combining mark, 2 for East Asian wide and full-width
// characters (CJK, Hangul, kana, emoji), 1 otherwise.
int cells(char32_t c) noexcept;

// The page geometry for a font, size and resolution. Everything physical is derived from
// points so that the three resolutions lay out the same text identically.
struct Geometry {
    int width = 1728; // pixels, 204 dpi
    int y_dpi = 196;
    int page_rows = 0;       // an A4 page (297 mm)
    int left = 0;            // pixels from the left edge to the first cell
    int cell_width = 0;      // pixels (the font's advance)
    std::size_t columns = 0; // cells per line
    std::size_t lines_per_page = 0;
    double top = 0;    // rows above the first line box
    double pitch = 0;  // rows from one baseline to the next
    double ascent = 0; // rows from a line box's top to its baseline
    int cut_rows = 0;  // blank rows left below the last line of the last page
};

// One 1-bit page: rows of width/8 bytes, most significant bit = leftmost pixel, 1 = black.
struct Page {
    int width = 1728;
    int rows = 0;
    std::vector<std::uint8_t> bits;
    std::size_t stride() const noexcept { return static_cast<std::size_t>(width) / 8; }
    bool black(int x, int y) const noexcept {
        return (bits[static_cast<std::size_t>(y) * stride() + static_cast<std::size_t>(x) / 8] >>
                (7 - x % 8)) &
               1;
    }
};

// Draws lines of text in a monospace TrueType font with FreeType (no fontconfig: the first
// text drawn through fontconfig costs up to 180 ms). A character the font lacks is drawn from
// the first of [fax] fallback_fonts whose coverage (FT_Get_Char_Index) has it, each opened on
// first need; one no font has is drawn as the font's U+FFFD and listed by missing().
class Renderer {
public:
    // Throws Error(config, "[fax] font", why) when the font cannot be opened.
    Renderer(const FaxConfig& fc, FaxResolution res);
    ~Renderer();
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;

    const Geometry& geometry() const noexcept;

    // Leaves `rows` blank above the first page's text (for the logo); paginate() and
    // draw(..., first = true) take it into account.
    void reserve_first_page(double rows);
    std::size_t first_page_lines() const;

    // Splits wrapped lines into pages (a U'\f' line forces a new page; it is not drawn).
    std::vector<std::vector<std::u32string>> paginate(std::vector<std::u32string> lines) const;

    // Draws one page; `last` cuts the blank paper below its last line (leaving cut_rows);
    // `first` starts the text below the reserved rows.
    Page draw(const std::vector<std::u32string>& lines, bool last, bool first = false);
    // The same into an existing page, reusing its memory (pages are drawn one at a time).
    void draw(Page& into, const std::vector<std::u32string>& lines, bool last, bool first = false);

    // Whether the main font has a glyph for `c` (otherwise a fallback font or U+FFFD is used).
    bool has_glyph(char32_t c) const;
    // The characters drawn so far that no font has (drawn as U+FFFD), in code point order.
    std::vector<char32_t> missing() const;

private:
    struct Impl;
    Impl* impl_;
};

// Writes the pages as one TIFF (a directory per page: 1728 wide, 1 bit, min-is-white, CCITT
// G3 2-D, FillOrder LSB-to-MSB, 204 x y_dpi dpi) to a temporary file in the folder of `path`,
// fsyncs it and renames it over `path`. With `unique` an existing file is never replaced:
// "-2", "-3", ... goes before the extension. Returns the path written. Throws
// Error(cantcreat) leaving nothing behind.
std::string write_tiff(const std::string& path, const std::vector<Page>& pages, int y_dpi,
                       bool unique = false);
// The same with pages made one at a time by `page(i)` for i in [0, count): one page in memory.
std::string write_tiff(const std::string& path, std::size_t count, int y_dpi,
                       const std::function<const Page&(std::size_t)>& page, bool unique = false);

// "libtiff 4.5.0", "FreeType 2.12.1" for --version.
std::vector<std::string> library_versions();

} // namespace sms::fax
