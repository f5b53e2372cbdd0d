// fax rendering: FreeType draws text lines into 1-bit pages, libtiff writes them as G3 fax.
#include "fax/fax.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <ft2build.h>
#include <set>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>
#include <unordered_map>
#include FT_FREETYPE_H

namespace sms::fax {

namespace {

constexpr double a4_inches = 297.0 / 25.4;
constexpr int x_dpi = 204;

std::string ft_error(FT_Error e) {
    const char* s = FT_Error_String(e);
    return s ? std::string(s) : fmt::format("FreeType error {}", e);
}

// A rendered glyph, kept for the life of the renderer (a page repeats few characters).
struct Glyph {
    int advance = 0; // pixels
    int left = 0;    // pixels right of the cell origin
    int top = 0;     // rows above the baseline
    int width = 0;
    int rows = 0;
    std::size_t pitch = 0;
    std::vector<std::uint8_t> bits; // MSB = leftmost, 1 = ink
};

// ORs a glyph into the page with its top-left corner at (x, y), clipped to the page.
void blit(Page& page, const Glyph& g, int x, int y) {
    const std::size_t stride = page.stride();
    for (int r = 0; r < g.rows; ++r) {
        int py = y + r;
        if (py < 0 || py >= page.rows)
            continue;
        std::uint8_t* dst = page.bits.data() + static_cast<std::size_t>(py) * stride;
        const std::uint8_t* src = g.bits.data() + static_cast<std::size_t>(r) * g.pitch;
        for (int c = 0; c < g.width; c += 8) {
            auto b = static_cast<unsigned>(src[c / 8]);
            int rest = g.width - c;
            if (rest < 8) // bits past the glyph's width are padding: keep them out
                b &= 0xFFu << (8 - rest);
            if (b == 0)
                continue;
            int px = x + c;
            // Two destination bytes receive the eight source bits.
            int byte = px >= 0 ? px / 8 : (px - 7) / 8;
            int shift = px - byte * 8;
            auto hi = static_cast<std::uint8_t>((b >> shift) & 0xFFu);
            auto lo = static_cast<std::uint8_t>((b << (8 - shift)) & 0xFFu);
            if (byte >= 0 && byte < page.width / 8)
                dst[byte] |= hi;
            if (shift != 0 && byte + 1 >= 0 && byte + 1 < page.width / 8)
                dst[byte + 1] |= lo;
        }
    }
}

} // namespace

// A fallback font, opened the first time the main font lacks a character (most faxes never
// need one: no cost for them).
struct Fallback {
    std::string path;
    FT_Face face = nullptr;
    bool tried = false;
};

struct Renderer::Impl {
    FT_Library lib = nullptr;
    FT_Face face = nullptr;
    Geometry geo;
    FT_F26Dot6 char_size = 0;
    FT_UInt ydpi = 196;
    std::vector<Fallback> fallbacks;
    std::set<char32_t> missing;
    double first_reserve = 0; // rows above the first page's text (the logo)
    std::unordered_map<char32_t, Glyph> cache;

    ~Impl() {
        for (auto& f : fallbacks)
            if (f.face)
                FT_Done_Face(f.face);
        if (face)
            FT_Done_Face(face);
        if (lib)
            FT_Done_FreeType(lib);
    }

    FT_Face fallback_face(Fallback& f) {
        if (!f.tried) {
            f.tried = true;
            FT_Face ff = nullptr;
            struct stat st;
            if (::stat(f.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
                log::warning("[fax] fallback_fonts: {}: {}, not a regular file: skipped", f.path,
                             fs::file_kind(st.st_mode));
                return nullptr;
            }
            if (FT_Error e = FT_New_Face(lib, f.path.c_str(), 0, &ff)) {
                log::warning("[fax] fallback_fonts: {}: {}", f.path, ft_error(e));
            } else if (!FT_IS_SCALABLE(ff) ||
                       FT_Set_Char_Size(ff, 0, char_size, x_dpi, ydpi) != 0) {
                log::warning("[fax] fallback_fonts: {}: not a scalable outline font", f.path);
                FT_Done_Face(ff);
            } else {
                f.face = ff;
            }
        }
        return f.face;
    }

    // The font and glyph index that draw `c`: the main font, else the first fallback font whose
    // coverage has it, else the main font's replacement character (recorded as missing).
    std::pair<FT_Face, FT_UInt> find(char32_t c) {
        if (FT_UInt i = FT_Get_Char_Index(face, c))
            return {face, i};
        if (c >= 0x20) {
            for (auto& f : fallbacks)
                if (FT_Face ff = fallback_face(f))
                    if (FT_UInt i = FT_Get_Char_Index(ff, c))
                        return {ff, i};
        }
        missing.insert(c);
        return {face, FT_Get_Char_Index(face, 0xFFFD)}; // 0 (an empty box) if even that lacks
    }

    const Glyph& glyph(char32_t c) {
        auto it = cache.find(c);
        if (it != cache.end())
            return it->second;
        Glyph g;
        auto [f, index] = find(c);
        // Monochrome hinting: DejaVu's TrueType hints are made for 1-bit output like a fax.
        // Fallback fonts are drawn from their outlines (no colour or grey bitmap strikes).
        FT_Int32 flags = FT_LOAD_RENDER | FT_LOAD_TARGET_MONO;
        if (f != face)
            flags |= FT_LOAD_NO_BITMAP;
        if (FT_Load_Glyph(f, index, flags) == 0 &&
            f->glyph->bitmap.pixel_mode == FT_PIXEL_MODE_MONO) {
            const FT_Bitmap& bm = f->glyph->bitmap;
            g.advance = static_cast<int>((f->glyph->advance.x + 32) >> 6);
            g.left = f->glyph->bitmap_left;
            g.top = f->glyph->bitmap_top;
            g.width = static_cast<int>(bm.width);
            g.rows = static_cast<int>(bm.rows);
            g.pitch = (bm.width + 7) / 8;
            g.bits.resize(g.pitch * bm.rows);
            for (unsigned r = 0; r < bm.rows; ++r) {
                const unsigned char* row =
                    bm.pitch >= 0
                        ? bm.buffer + static_cast<std::ptrdiff_t>(r) * bm.pitch
                        : bm.buffer + static_cast<std::ptrdiff_t>(bm.rows - 1 - r) * -bm.pitch;
                std::memcpy(g.bits.data() + r * g.pitch, row, g.pitch);
            }
            if (f != face) {
                // Centred in the cells the character takes (the fallback's advance differs).
                int room = cells(c) * geo.cell_width;
                g.left += (room - g.advance) / 2;
            }
        }
        return cache.emplace(c, std::move(g)).first->second;
    }
};

Renderer::Renderer(const FaxConfig& fc, FaxResolution res)
    : impl_(new Impl) {
    try {
        Impl& m = *impl_;
        if (FT_Error e = FT_Init_FreeType(&m.lib))
            throw Error(Exit::software, "FreeType", ft_error(e));
        {
            // FreeType opens it blocking: a FIFO or a device is refused first.
            struct stat st;
            fs::open_regular(fc.font, Exit::config, st);
        }
        if (FT_Error e = FT_New_Face(m.lib, fc.font.c_str(), 0, &m.face))
            throw Error(Exit::config, "[fax] font", fmt::format("{}: {}", fc.font, ft_error(e)));
        if (!FT_IS_SCALABLE(m.face))
            throw Error(Exit::config, "[fax] font",
                        fmt::format("{}: not a scalable font", fc.font));
        if (!(fc.font_size > 0 && fc.font_size < 200))
            throw Error(Exit::config, "[fax] font_size", "out of range");
        const int ydpi = y_dpi(res);
        // The pixel aspect of the fax (204 dpi across, 98/196/391 down) goes to FreeType, so a
        // glyph is the same size on paper at every resolution.
        m.char_size = static_cast<FT_F26Dot6>(fc.font_size * 64);
        m.ydpi = static_cast<FT_UInt>(ydpi);
        if (FT_Error e = FT_Set_Char_Size(m.face, 0, m.char_size, x_dpi, m.ydpi))
            throw Error(Exit::config, "[fax] font_size", ft_error(e));
        for (const auto& path : fc.fallback_fonts)
            m.fallbacks.push_back(Fallback{path});

        Geometry& g = m.geo;
        g.y_dpi = ydpi;
        g.page_rows = static_cast<int>(std::lround(a4_inches * ydpi));
        const double margin = std::max(0.0, fc.top_margin);
        g.left = static_cast<int>(std::lround(margin / 72.0 * x_dpi));
        FT_UInt zero = FT_Get_Char_Index(m.face, '0');
        if (FT_Load_Glyph(m.face, zero, FT_LOAD_TARGET_MONO) == 0)
            g.cell_width = static_cast<int>((m.face->glyph->advance.x + 32) >> 6);
        if (g.cell_width <= 0)
            g.cell_width = static_cast<int>((m.face->size->metrics.max_advance + 32) >> 6);
        if (g.cell_width <= 0 || g.width - 2 * g.left < g.cell_width)
            throw Error(Exit::config, "[fax] font_size", "no character fits between the margins");
        g.columns = static_cast<std::size_t>((g.width - 2 * g.left) / g.cell_width);

        // Vertical layout in points first, so that pagination does not depend on rounding.
        const double upem = m.face->units_per_EM;
        const double pitch_pt = fc.font_size * m.face->height / upem;
        const double usable_pt = a4_inches * 72.0 - 2 * margin;
        if (!(pitch_pt > 0) || usable_pt < pitch_pt)
            throw Error(Exit::config, "[fax] top_margin", "no line fits on an A4 page");
        g.lines_per_page = static_cast<std::size_t>(usable_pt / pitch_pt);
        g.pitch = pitch_pt / 72.0 * ydpi;
        g.top = margin / 72.0 * ydpi;
        g.ascent = fc.font_size * m.face->ascender / upem / 72.0 * ydpi;
        const int cut = std::max(0, fc.cut_margin);
        g.cut_rows = res == FaxResolution::standard    ? cut / 2
                     : res == FaxResolution::superfine ? cut * 2
                                                       : cut;
    } catch (...) {
        delete impl_;
        throw;
    }
}

Renderer::~Renderer() {
    delete impl_;
}

const Geometry& Renderer::geometry() const noexcept {
    return impl_->geo;
}

bool Renderer::has_glyph(char32_t c) const {
    return FT_Get_Char_Index(impl_->face, c) != 0;
}

std::vector<char32_t> Renderer::missing() const {
    return {impl_->missing.begin(), impl_->missing.end()};
}

void Renderer::reserve_first_page(double rows) {
    impl_->first_reserve = std::max(0.0, rows);
}

std::size_t Renderer::first_page_lines() const {
    const Geometry& g = impl_->geo;
    if (impl_->first_reserve <= 0)
        return g.lines_per_page;
    const double usable = g.page_rows - 2 * g.top - impl_->first_reserve;
    return usable < g.pitch ? 0 : static_cast<std::size_t>(usable / g.pitch);
}

std::vector<std::vector<std::u32string>>
Renderer::paginate(std::vector<std::u32string> lines) const {
    std::vector<std::vector<std::u32string>> pages(1);
    const std::size_t first = first_page_lines();
    for (auto& line : lines) {
        if (line == U"\f") {
            pages.emplace_back();
            continue;
        }
        if (pages.back().size() >= (pages.size() == 1 ? first : impl_->geo.lines_per_page))
            pages.emplace_back();
        pages.back().push_back(std::move(line));
    }
    // A form feed at the very end starts no empty page.
    if (pages.size() > 1 && pages.back().empty())
        pages.pop_back();
    return pages;
}

Page Renderer::draw(const std::vector<std::u32string>& lines, bool last, bool first) {
    Page page;
    draw(page, lines, last, first);
    return page;
}

void Renderer::draw(Page& page, const std::vector<std::u32string>& lines, bool last, bool first) {
    const Geometry& g = impl_->geo;
    const double top = g.top + (first ? impl_->first_reserve : 0.0);
    page.width = g.width;
    page.rows = g.page_rows;
    if (last) {
        auto bottom =
            static_cast<int>(std::ceil(top + static_cast<double>(lines.size()) * g.pitch));
        page.rows = std::min(g.page_rows, bottom + g.cut_rows);
    }
    page.bits.assign(page.stride() * static_cast<std::size_t>(page.rows), 0);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto baseline =
            static_cast<int>(std::lround(top + g.ascent + static_cast<double>(i) * g.pitch));
        int pen = g.left;
        for (char32_t c : lines[i]) {
            int x = pen;
            if (is_combining(c))
                x -= g.cell_width; // drawn over the previous character's cell
            else
                pen += cells(c) * g.cell_width;
            if (c == U' ')
                continue;
            const Glyph& gl = impl_->glyph(c);
            blit(page, gl, x + gl.left, baseline - gl.top);
        }
    }
}

namespace {

// libtiff reports through a global handler; keep its last message for our own error line.
thread_local std::string tiff_message;

void tiff_error_handler(const char* module, const char* format, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = std::vsnprintf(nullptr, 0, format, copy);
    va_end(copy);
    std::string text(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
    if (n > 0)
        std::vsnprintf(text.data(), text.size() + 1, format, ap);
    tiff_message = module && *module ? fmt::format("{}: {}", module, text) : text;
}

void tiff_warning_handler(const char*, const char*, va_list) {}

struct TiffCloser {
    void operator()(TIFF* t) const noexcept { TIFFClose(t); }
};

// A temporary file removed unless it was renamed into place.
struct TempFile {
    std::string path;
    bool keep = false;
    ~TempFile() {
        if (!keep && !path.empty())
            ::unlink(path.c_str());
    }
};

[[noreturn]] void fail_write(const std::string& what, int err, std::string why) {
    Exit code = err != 0 && is_transient_errno(err) ? Exit::tempfail : Exit::cantcreat;
    if (err != 0)
        why = why.empty() ? std::strerror(err) : fmt::format("{} ({})", why, std::strerror(err));
    else if (why.empty())
        why = "write failed";
    throw Error(code, what, why);
}

void write_pages(TIFF* t, std::size_t n, const std::function<const Page&(std::size_t)>& page,
                 int ydpi, const std::string& path) {
    const auto count = static_cast<std::uint16_t>(n);
    std::vector<std::uint8_t> strip;
    for (std::size_t i = 0; i < n; ++i) {
        const Page& p = page(i);
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(p.width));
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(p.rows));
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
        // The compression first: GROUP3OPTIONS exists only once the G3 codec is chosen.
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, static_cast<double>(x_dpi));
        TIFFSetField(t, TIFFTAG_YRESOLUTION, static_cast<double>(ydpi));
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(p.rows));
        TIFFSetField(t, TIFFTAG_PAGENUMBER, static_cast<std::uint16_t>(i), count);
        TIFFSetField(t, TIFFTAG_CLEANFAXDATA, CLEANFAXDATA_CLEAN);
        TIFFSetField(t, TIFFTAG_SOFTWARE, "sms-suite sms2fax");
        // libtiff encodes from a buffer it may scribble on: hand it a copy.
        strip.assign(p.bits.begin(), p.bits.end());
        errno = 0;
        if (TIFFWriteEncodedStrip(t, 0, strip.data(), static_cast<tmsize_t>(strip.size())) < 0 ||
            !TIFFWriteDirectory(t))
            fail_write(path, errno, tiff_message);
    }
}

// "dir/name.tiff" -> "dir/name-<n>.tiff" (n > 1).
std::string with_suffix(const std::string& path, int n) {
    if (n <= 1)
        return path;
    auto slash = path.rfind('/');
    auto start = slash == std::string::npos ? 0 : slash + 1;
    auto dot = path.rfind('.');
    if (dot == std::string::npos || dot <= start)
        return fmt::format("{}-{}", path, n);
    return fmt::format("{}-{}{}", path.substr(0, dot), n, path.substr(dot));
}

} // namespace

std::string write_tiff(const std::string& path, const std::vector<Page>& pages, int ydpi,
                       bool unique) {
    return write_tiff(
        path, pages.size(), ydpi, [&](std::size_t i) -> const Page& { return pages[i]; }, unique);
}

std::string write_tiff(const std::string& path, std::size_t count, int ydpi,
                       const std::function<const Page&(std::size_t)>& page, bool unique) {
    if (count == 0 || count > 0xFFFF)
        throw Error(Exit::software, path, "a fax needs 1 to 65535 pages");
    TIFFSetErrorHandler(tiff_error_handler);
    TIFFSetWarningHandler(tiff_warning_handler);
    tiff_message.clear();

    std::string dir = fs::dirname(path);
    if (dir.empty())
        dir = ".";
    TempFile temp;
    std::string pattern = fs::join(dir, "." + fs::basename(path) + ".XXXXXX");
    int fd = ::mkstemp(pattern.data());
    if (fd < 0)
        fail_write(path, errno, "cannot create a file in " + dir);
    temp.path = pattern;
    // libtiff owns the descriptor it is given; a duplicate stays ours for fsync.
    fs::Fd own(fd);
    fs::Fd mine(::dup(fd));
    if (!mine)
        fail_write(path, errno, {});
    {
        std::unique_ptr<TIFF, TiffCloser> t(TIFFFdOpen(own.release(), temp.path.c_str(), "w"));
        if (!t)
            fail_write(path, errno, tiff_message);
        write_pages(t.get(), count, page, ydpi, path);
        errno = 0;
        if (!TIFFFlush(t.get()))
            fail_write(path, errno, tiff_message);
    }
    if (::fchmod(mine.get(), 0644) != 0 || ::fsync(mine.get()) != 0)
        fail_write(path, errno, {});

    std::string target = path;
    if (!unique) {
        if (::rename(temp.path.c_str(), target.c_str()) != 0)
            fail_write(path, errno, {});
    } else {
        // A new name, never replacing a fax that may still be waiting for its call.
        for (int n = 1;; ++n) {
            target = with_suffix(path, n);
            if (fs::rename_noreplace(temp.path, target))
                break;
            if (n >= 1000)
                throw Error(Exit::cantcreat, path, "a thousand files of that name exist");
        }
    }
    temp.keep = true;
    fs::fsync_dir(dir);
    return target;
}

std::vector<std::string> library_versions() {
    std::vector<std::string> out;
    // "LIBTIFF, Version 4.5.0\nCopyright ..." -> "libtiff 4.5.0"
    std::string_view tv = TIFFGetVersion();
    tv = tv.substr(0, tv.find('\n'));
    auto at = tv.find("Version ");
    out.push_back(fmt::format("libtiff {}", at == std::string_view::npos ? tv : tv.substr(at + 8)));
    FT_Library lib = nullptr;
    if (FT_Init_FreeType(&lib) == 0) {
        FT_Int a = 0, b = 0, c = 0;
        FT_Library_Version(lib, &a, &b, &c);
        out.push_back(fmt::format("FreeType {}.{}.{}", a, b, c));
        FT_Done_FreeType(lib);
    }
    return out;
}

} // namespace sms::fax
