// Unit tests of fax: layout, rendering, the TIFF read back with libtiff and sent by spandsp.
#include "fax/fax.hpp"
#include "util/error.hpp"

#include <cmath>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <ft2build.h>
#include <gtest/gtest.h>
#include <iterator>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>
#include FT_FREETYPE_H

// spandsp.h wants libtiff's header first (done above).
#include <spandsp.h>

namespace fax = sms::fax;
using sms::FaxResolution;

namespace {

constexpr FaxResolution all_resolutions[] = {FaxResolution::standard, FaxResolution::fine,
                                             FaxResolution::superfine};

struct TempDir {
    std::string path;
    TempDir() {
        std::string t = (std::filesystem::temp_directory_path() / "fax_test.XXXXXX").string();
        if (!::mkdtemp(t.data()))
            throw std::runtime_error("mkdtemp");
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        ::chmod(path.c_str(), 0700);
        std::filesystem::remove_all(path, ec);
    }
    std::string file(std::string_view name) const { return path + "/" + std::string(name); }
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (auto& e : std::filesystem::directory_iterator(path))
            out.push_back(e.path().filename().string());
        return out;
    }
};

// A page read back through libtiff, with the tags a fax sender looks at.
struct ReadPage {
    std::uint32_t width = 0, rows = 0;
    std::uint16_t compression = 0, fill = 0, photometric = 0, bits = 0, spp = 0, unit = 0;
    std::uint32_t g3options = 0;
    float xres = 0, yres = 0;
    std::vector<std::vector<std::uint8_t>> lines;
    bool black(int x, int y) const {
        return (lines[static_cast<std::size_t>(y)][static_cast<std::size_t>(x) / 8] >>
                (7 - x % 8)) &
               1;
    }
    // Black pixels in the rectangle [x0, x1) x [y0, y1), clipped.
    int ink(int x0, int x1, int y0, int y1) const {
        int n = 0;
        for (int y = std::max(0, y0); y < std::min<int>(static_cast<int>(rows), y1); ++y)
            for (int x = std::max(0, x0); x < std::min<int>(static_cast<int>(width), x1); ++x)
                n += black(x, y);
        return n;
    }
};

struct TiffCloser {
    void operator()(TIFF* t) const { TIFFClose(t); }
};

std::vector<ReadPage> read_tiff(const std::string& path) {
    std::unique_ptr<TIFF, TiffCloser> t(TIFFOpen(path.c_str(), "r"));
    if (!t)
        throw std::runtime_error("TIFFOpen " + path);
    std::vector<ReadPage> pages;
    do {
        ReadPage p;
        TIFFGetField(t.get(), TIFFTAG_IMAGEWIDTH, &p.width);
        TIFFGetField(t.get(), TIFFTAG_IMAGELENGTH, &p.rows);
        TIFFGetField(t.get(), TIFFTAG_COMPRESSION, &p.compression);
        TIFFGetField(t.get(), TIFFTAG_FILLORDER, &p.fill);
        TIFFGetField(t.get(), TIFFTAG_PHOTOMETRIC, &p.photometric);
        TIFFGetField(t.get(), TIFFTAG_BITSPERSAMPLE, &p.bits);
        TIFFGetField(t.get(), TIFFTAG_SAMPLESPERPIXEL, &p.spp);
        TIFFGetField(t.get(), TIFFTAG_RESOLUTIONUNIT, &p.unit);
        TIFFGetField(t.get(), TIFFTAG_GROUP3OPTIONS, &p.g3options);
        TIFFGetField(t.get(), TIFFTAG_XRESOLUTION, &p.xres);
        TIFFGetField(t.get(), TIFFTAG_YRESOLUTION, &p.yres);
        auto size = static_cast<std::size_t>(TIFFScanlineSize(t.get()));
        for (std::uint32_t y = 0; y < p.rows; ++y) {
            std::vector<std::uint8_t> line(size);
            if (TIFFReadScanline(t.get(), line.data(), y, 0) < 0)
                throw std::runtime_error(fmt::format("TIFFReadScanline row {}", y));
            p.lines.push_back(std::move(line));
        }
        pages.push_back(std::move(p));
    } while (TIFFReadDirectory(t.get()));
    return pages;
}

sms::FaxConfig default_config() {
    return sms::FaxConfig{};
}

// Lays out and writes a text (header lines included by the caller) as send() does.
std::string render_file(const TempDir& dir, std::string_view name, std::string_view text,
                        FaxResolution res, int* pages_out = nullptr) {
    fax::Renderer r(default_config(), res);
    auto layout = r.paginate(fax::wrap(text, r.geometry().columns));
    std::vector<fax::Page> pages;
    for (std::size_t i = 0; i < layout.size(); ++i)
        pages.push_back(r.draw(layout[i], i + 1 == layout.size()));
    if (pages_out)
        *pages_out = static_cast<int>(pages.size());
    return fax::write_tiff(dir.file(name), pages, r.geometry().y_dpi);
}

} // namespace

TEST(FaxLayout, HeaderLine) {
    auto t = fax::parse_time("2026-11-29T22:53:42");
    ASSERT_TRUE(t);
    EXPECT_EQ(fax::header_line(default_config(), "500100200", *t, 17),
              "Text message from 500100200 sent 2026/11/29 22:53:42 (17)");
    EXPECT_EQ(fax::header_line(default_config(), "+4812", *t, std::nullopt),
              "Text message from +4812 sent 2026/11/29 22:53:42");
    EXPECT_TRUE(fax::parse_time("2024-02-29 00:00:00"));
    EXPECT_FALSE(fax::parse_time("2023-02-29T00:00:00"));
    EXPECT_FALSE(fax::parse_time("2026-11-29T24:00:00"));
    EXPECT_FALSE(fax::parse_time("2026-11-29"));
    EXPECT_FALSE(fax::parse_time("2026-1a-29T00:00:00"));
}

TEST(FaxLayout, Resolutions) {
    EXPECT_EQ(fax::parse_resolution("superfine"), FaxResolution::superfine);
    EXPECT_FALSE(fax::parse_resolution("Fine"));
    EXPECT_EQ(fax::y_dpi(FaxResolution::standard), 98);
    EXPECT_EQ(fax::y_dpi(FaxResolution::fine), 196);
    EXPECT_EQ(fax::y_dpi(FaxResolution::superfine), 391);
}

TEST(FaxLayout, WrapsAtWordsAndBreaksLongWords) {
    using V = std::vector<std::u32string>;
    EXPECT_EQ(fax::wrap("the quick brown fox", 10), (V{U"the quick", U"brown fox"}));
    EXPECT_EQ(fax::wrap("abcdefghijklmnopqrstuvwxy", 10),
              (V{U"abcdefghij", U"klmnopqrst", U"uvwxy"}));
    EXPECT_EQ(fax::wrap("a abcdefghijklmnop", 10), (V{U"a", U"abcdefghij", U"klmnop"}));
    // Exactly full lines, runs of spaces at a break, and indentation kept at a paragraph start.
    EXPECT_EQ(fax::wrap("0123456789 abc", 10), (V{U"0123456789", U"abc"}));
    EXPECT_EQ(fax::wrap("abc      def", 5), (V{U"abc", U"def"}));
    EXPECT_EQ(fax::wrap("  indented", 20), (V{U"  indented"}));
}

TEST(FaxLayout, LineBreaksTabsControlsAndPages) {
    using V = std::vector<std::u32string>;
    EXPECT_EQ(fax::wrap("", 10), V{});
    EXPECT_EQ(fax::wrap("one\r\ntwo\rthree\n\nfour\n", 10),
              (V{U"one", U"two", U"three", U"", U"four"}));
    EXPECT_EQ(fax::wrap("a\tb\tc", 40), (V{U"a       b       c"}));
    EXPECT_EQ(fax::wrap("abcdefghi\tx", 40), (V{U"abcdefghi       x"}));
    EXPECT_EQ(fax::wrap("bell\a here\x7f", 40), (V{U"bell here"}));
    EXPECT_EQ(fax::wrap("page one\fpage two", 40), (V{U"page one", U"\f", U"page two"}));
}

TEST(FaxLayout, UnicodeCountsCellsNotBytes) {
    using V = std::vector<std::u32string>;
    EXPECT_EQ(fax::wrap("zażółć gęślą jaźń", 6), (V{U"zażółć", U"gęślą", U"jaźń"}));
    // A combining accent takes no cell of its own.
    EXPECT_EQ(fax::wrap("e\u0301e\u0301e\u0301 x", 3), (V{U"e\u0301e\u0301e\u0301", U"x"}));
    EXPECT_THROW(fax::wrap("bad \xff byte", 10), sms::Error);
    try {
        fax::wrap("bad \xff byte", 10);
    } catch (const sms::Error& e) {
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_NE(e.reason().find("byte 4"), std::string::npos) << e.reason();
    }
}

TEST(FaxLayout, GeometryIsPhysicalAtEveryResolution) {
    double mm_per_line = 0;
    for (auto res : all_resolutions) {
        fax::Renderer r(default_config(), res);
        const auto& g = r.geometry();
        EXPECT_EQ(g.width, 1728);
        EXPECT_EQ(g.columns,
                  fax::Renderer(default_config(), FaxResolution::fine).geometry().columns);
        EXPECT_GE(g.columns, 80u); // 10 pt DejaVu Sans Mono between 18 pt margins
        EXPECT_NEAR(g.page_rows / double(g.y_dpi) * 25.4, 297.0, 0.2);
        EXPECT_EQ(g.lines_per_page,
                  fax::Renderer(default_config(), FaxResolution::fine).geometry().lines_per_page);
        double mm = g.pitch / g.y_dpi * 25.4;
        if (mm_per_line == 0)
            mm_per_line = mm;
        EXPECT_NEAR(mm, mm_per_line, 1e-9);
    }
    EXPECT_EQ(fax::Renderer(default_config(), FaxResolution::standard).geometry().cut_rows, 47);
    EXPECT_EQ(fax::Renderer(default_config(), FaxResolution::fine).geometry().cut_rows, 94);
    EXPECT_EQ(fax::Renderer(default_config(), FaxResolution::superfine).geometry().cut_rows, 188);
}

TEST(FaxLayout, MissingFontIsAConfigError) {
    auto fc = default_config();
    fc.font = "/nonexistent/font.ttf";
    try {
        fax::Renderer r(fc, FaxResolution::fine);
        FAIL() << "no error";
    } catch (const sms::Error& e) {
        EXPECT_EQ(e.exit(), sms::Exit::config);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/font.ttf"), std::string::npos);
    }
}

// Every page read back: the tags spandsp and the fax machines want.
TEST(FaxTiff, TagsAtEveryResolution) {
    TempDir dir;
    for (auto res : all_resolutions) {
        int n = 0;
        std::string text = "Header line\n-----------\n";
        for (int i = 0; i < 100; ++i)
            text += fmt::format("line {} of a text long enough for two pages\n", i);
        auto path = render_file(dir, fmt::format("p{}.tiff", fax::y_dpi(res)), text, res, &n);
        auto pages = read_tiff(path);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(pages.size(), 2u);
        for (const auto& p : pages) {
            EXPECT_EQ(p.width, 1728u);
            EXPECT_EQ(p.compression, COMPRESSION_CCITTFAX3);
            EXPECT_TRUE(p.g3options & GROUP3OPT_2DENCODING);
            EXPECT_EQ(p.fill, FILLORDER_LSB2MSB);
            EXPECT_EQ(p.photometric, PHOTOMETRIC_MINISWHITE);
            EXPECT_EQ(p.bits, 1);
            EXPECT_EQ(p.spp, 1);
            EXPECT_EQ(p.unit, RESUNIT_INCH);
            EXPECT_FLOAT_EQ(p.xres, 204.0f);
            EXPECT_FLOAT_EQ(p.yres, static_cast<float>(fax::y_dpi(res)));
        }
        fax::Renderer r(default_config(), res);
        EXPECT_EQ(pages[0].rows, static_cast<std::uint32_t>(r.geometry().page_rows));
        EXPECT_LT(pages[1].rows, pages[0].rows); // the blank bottom is cut
    }
}

// Text pixels are where the lines are: each line's band holds ink exactly as wide as its text,
// an empty line none, and the last page ends cut_rows below its last line.
TEST(FaxTiff, InkWhereTheLinesAre) {
    TempDir dir;
    for (auto res : all_resolutions) {
        std::string text = "XXXXXXXXXX\n\nXXXXX\nXXXXXXXXXXXXXXXXXXXX";
        auto pages = read_tiff(render_file(dir, "ink.tiff", text, res));
        ASSERT_EQ(pages.size(), 1u);
        const auto& p = pages[0];
        fax::Renderer r(default_config(), res);
        const auto& g = r.geometry();
        const int lengths[] = {10, 0, 5, 20};
        for (int i = 0; i < 4; ++i) {
            int y0 = static_cast<int>(std::lround(g.top + i * g.pitch));
            int y1 = static_cast<int>(std::lround(g.top + (i + 1) * g.pitch));
            int text_end = g.left + lengths[i] * g.cell_width;
            SCOPED_TRACE(fmt::format("dpi {} line {}", g.y_dpi, i));
            if (lengths[i] == 0) {
                EXPECT_EQ(p.ink(0, g.width, y0, y1), 0);
                continue;
            }
            // Every cell of the line has ink; nothing left of the margin or right of the text.
            for (int c = 0; c < lengths[i]; ++c)
                EXPECT_GT(p.ink(g.left + c * g.cell_width, g.left + (c + 1) * g.cell_width, y0, y1),
                          0);
            EXPECT_EQ(p.ink(0, g.left, y0, y1), 0);
            EXPECT_EQ(p.ink(text_end + 1, g.width, y0, y1), 0);
        }
        int last_bottom = static_cast<int>(std::ceil(g.top + 4 * g.pitch));
        EXPECT_EQ(p.rows, static_cast<std::uint32_t>(last_bottom + g.cut_rows));
        EXPECT_EQ(p.ink(0, g.width, 0, static_cast<int>(std::lround(g.top))), 0);
        EXPECT_EQ(p.ink(0, g.width, last_bottom, static_cast<int>(p.rows)), 0);
    }
}

// The same text is the same length of paper at every resolution.
TEST(FaxTiff, SamePageHeightInMillimetres) {
    TempDir dir;
    std::string text;
    for (int i = 0; i < 30; ++i)
        text += "The same text at three resolutions.\n";
    std::vector<double> mm;
    for (auto res : all_resolutions) {
        auto pages = read_tiff(render_file(dir, "h.tiff", text, res));
        ASSERT_EQ(pages.size(), 1u);
        mm.push_back(pages[0].rows / double(pages[0].yres) * 25.4);
    }
    EXPECT_NEAR(mm[0], mm[1], 0.5);
    EXPECT_NEAR(mm[2], mm[1], 0.5);
    EXPECT_GT(mm[1], 100.0);
}

TEST(FaxTiff, TenPages) {
    TempDir dir;
    fax::Renderer r(default_config(), FaxResolution::fine);
    std::string text;
    std::size_t lines = r.geometry().lines_per_page * 9 + 3;
    for (std::size_t i = 0; i < lines; ++i)
        text += fmt::format("{}\n", i);
    int n = 0;
    auto pages = read_tiff(render_file(dir, "ten.tiff", text, FaxResolution::fine, &n));
    EXPECT_EQ(n, 10);
    ASSERT_EQ(pages.size(), 10u);
    for (int i = 0; i < 9; ++i)
        EXPECT_EQ(pages[static_cast<std::size_t>(i)].rows,
                  static_cast<std::uint32_t>(r.geometry().page_rows));
    EXPECT_LT(pages[9].rows, static_cast<std::uint32_t>(r.geometry().page_rows / 4));
    // Every page carries ink.
    for (const auto& p : pages)
        EXPECT_GT(p.ink(0, 1728, 0, static_cast<int>(p.rows)), 0);
}

TEST(FaxTiff, EmptyTextIsOneShortPage) {
    TempDir dir;
    int n = 0;
    auto pages = read_tiff(render_file(dir, "empty.tiff", "", FaxResolution::fine, &n));
    EXPECT_EQ(n, 1);
    ASSERT_EQ(pages.size(), 1u);
    fax::Renderer r(default_config(), FaxResolution::fine);
    EXPECT_EQ(pages[0].rows, static_cast<std::uint32_t>(std::ceil(r.geometry().top)) + 94u);
    EXPECT_EQ(pages[0].ink(0, 1728, 0, static_cast<int>(pages[0].rows)), 0);
}

// Polish, Greek and Cyrillic letters are drawn with their own glyphs: each cell holds as many
// black pixels as FreeType's own rendering of that character in the same font, and not the
// font's empty box.
TEST(FaxTiff, UnicodeDrawsGlyphsNotBoxes) {
    const std::u32string letters = U"ąęłżźćńóśĄŁŻαβγδλΩψабвгджЯЖщ€";
    std::string text;
    for (char32_t c : letters) {
        std::string one;
        if (c < 0x800) {
            one += static_cast<char>(0xC0 | (c >> 6));
            one += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            one += static_cast<char>(0xE0 | (c >> 12));
            one += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            one += static_cast<char>(0x80 | (c & 0x3F));
        }
        text += one + "  ";
    }
    TempDir dir;
    auto cfg = default_config();
    fax::Renderer r(cfg, FaxResolution::fine);
    const auto& g = r.geometry();
    auto pages = read_tiff(render_file(dir, "uni.tiff", text, FaxResolution::fine));
    ASSERT_EQ(pages.size(), 1u);

    // The reference: FreeType directly, same font, size and resolution.
    FT_Library lib = nullptr;
    ASSERT_EQ(FT_Init_FreeType(&lib), 0);
    FT_Face face = nullptr;
    ASSERT_EQ(FT_New_Face(lib, cfg.font.c_str(), 0, &face), 0);
    ASSERT_EQ(FT_Set_Char_Size(face, 0, static_cast<FT_F26Dot6>(cfg.font_size * 64), 204, 196), 0);
    auto ref_ink = [&](FT_UInt index) {
        EXPECT_EQ(FT_Load_Glyph(face, index, FT_LOAD_RENDER | FT_LOAD_TARGET_MONO), 0);
        const FT_Bitmap& bm = face->glyph->bitmap;
        int n = 0;
        for (unsigned y = 0; y < bm.rows; ++y)
            for (unsigned x = 0; x < bm.width; ++x)
                n += (bm.buffer[y * static_cast<unsigned>(bm.pitch) + x / 8] >> (7 - x % 8)) & 1;
        return n;
    };
    const int box = ref_ink(0);
    EXPECT_GT(box, 0);
    const int per_line = (static_cast<int>(g.columns) + 2) / 3;
    for (std::size_t i = 0; i < letters.size(); ++i) {
        char32_t c = letters[i];
        SCOPED_TRACE(fmt::format("U+{:04X}", static_cast<unsigned>(c)));
        EXPECT_TRUE(r.has_glyph(c));
        int line = static_cast<int>(i) / per_line, col = static_cast<int>(i) % per_line * 3;
        int x = g.left + col * g.cell_width;
        // The glyph may reach into the blank cells around it, and accents above the line.
        int y0 = static_cast<int>(std::lround(g.top + (line - 0.5) * g.pitch));
        int y1 = static_cast<int>(std::lround(g.top + (line + 1.2) * g.pitch));
        int got = pages[0].ink(x - g.cell_width, x + 2 * g.cell_width, y0, y1);
        int want = ref_ink(FT_Get_Char_Index(face, c));
        EXPECT_EQ(got, want);
        EXPECT_NE(got, box);
    }
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
}

// spandsp's T.4 transmit side, as Asterisk's SendFax opens the file: accepted, the right
// resolution and width, and every page encodes. spandsp's receive side then decodes what was
// sent (as the far fax machine would) into the very pixels of the file, with no bad row.
TEST(FaxTiff, SpandspSendsEveryResolution) {
    TempDir dir;
    std::string text;
    for (int i = 0; i < 80; ++i)
        text += fmt::format("Line {}: zażółć gęślą jaźń, αβγ, абв\n", i);
    const int expect_y[] = {T4_Y_RESOLUTION_STANDARD, T4_Y_RESOLUTION_FINE,
                            T4_Y_RESOLUTION_SUPERFINE};
    int k = 0;
    for (auto res : all_resolutions) {
        SCOPED_TRACE(fax::y_dpi(res));
        int n = 0;
        auto path = render_file(dir, "send.tiff", text, res, &n);
        auto sent = read_tiff(path);
        ASSERT_EQ(n, 2);
        t4_tx_state_t* tx = t4_tx_init(nullptr, path.c_str(), -1, -1);
        ASSERT_NE(tx, nullptr);
        t4_tx_set_tx_encoding(tx, T4_COMPRESSION_ITU_T4_2D);
        t4_tx_set_min_bits_per_row(tx, 0);
        EXPECT_EQ(t4_tx_get_pages_in_file(tx), n);
        std::string received = dir.file("received.tiff");
        t4_rx_state_t* rx = t4_rx_init(nullptr, received.c_str(), T4_COMPRESSION_ITU_T4_2D);
        ASSERT_NE(rx, nullptr);
        for (int page = 0; page < n; ++page) {
            ASSERT_EQ(t4_tx_start_page(tx), 0) << "page " << page;
            EXPECT_EQ(t4_tx_get_image_width(tx), 1728);
            EXPECT_EQ(t4_tx_get_x_resolution(tx), T4_X_RESOLUTION_R8);
            EXPECT_EQ(t4_tx_get_y_resolution(tx), expect_y[k]);
            t4_rx_set_rx_encoding(rx, T4_COMPRESSION_ITU_T4_2D);
            t4_rx_set_image_width(rx, 1728);
            t4_rx_set_x_resolution(rx, t4_tx_get_x_resolution(tx));
            t4_rx_set_y_resolution(rx, t4_tx_get_y_resolution(tx));
            ASSERT_EQ(t4_rx_start_page(rx), 0);
            std::vector<std::uint8_t> buf(4096);
            std::size_t total = 0;
            for (;;) {
                int got = t4_tx_get_chunk(tx, buf.data(), static_cast<int>(buf.size()));
                if (got > 0) {
                    total += static_cast<std::size_t>(got);
                    t4_rx_put_chunk(rx, buf.data(), got);
                }
                if (got < static_cast<int>(buf.size()))
                    break;
            }
            EXPECT_GT(total, 1000u);
            EXPECT_EQ(t4_tx_end_page(tx), 0);
            EXPECT_EQ(t4_rx_end_page(rx), 0);
            t4_stats_t st{};
            t4_rx_get_transfer_statistics(rx, &st);
            EXPECT_EQ(st.width, 1728);
            EXPECT_EQ(st.length, static_cast<int>(sent[static_cast<std::size_t>(page)].rows));
            EXPECT_EQ(st.bad_rows, 0);
        }
        t4_tx_free(tx);
        t4_rx_free(rx);
        auto got = read_tiff(received);
        ASSERT_EQ(got.size(), sent.size());
        for (std::size_t p = 0; p < got.size(); ++p) {
            ASSERT_EQ(got[p].rows, sent[p].rows);
            EXPECT_GT(sent[p].ink(0, 1728, 0, static_cast<int>(sent[p].rows)), 0);
            EXPECT_TRUE(got[p].lines == sent[p].lines) << "page " << p << " differs";
        }
        ++k;
    }
}

// An output folder that cannot be written: Error(cantcreat) naming the file, and nothing left
// behind. A missing folder and a file in the folder's place fail for root too.
TEST(FaxTiff, UnwritableFolderLeavesNothing) {
    TempDir dir;
    fax::Renderer r(default_config(), FaxResolution::fine);
    std::vector<fax::Page> pages{r.draw({U"x"}, true)};
    std::string ro = dir.file("ro");
    ASSERT_EQ(::mkdir(ro.c_str(), 0500), 0);
    std::ofstream(dir.file("plain")) << "x";
    std::vector<std::string> targets = {dir.file("missing/x.tiff"), dir.file("plain/x.tiff")};
    if (::geteuid() != 0) // root writes into a read-only folder
        targets.push_back(ro + "/x.tiff");
    for (const auto& target : targets) {
        SCOPED_TRACE(target);
        try {
            fax::write_tiff(target, pages, 196);
            ADD_FAILURE() << "no error";
        } catch (const sms::Error& e) {
            EXPECT_EQ(e.exit(), sms::Exit::cantcreat);
            EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
        }
    }
    EXPECT_TRUE(std::filesystem::is_empty(ro));
    EXPECT_EQ(dir.entries().size(), 2u); // ro and plain: no temporary
}

// The same input twice writes the same bytes to the same path; `unique` never replaces.
TEST(FaxTiff, RewriteIsAtomicAndUniqueNeverReplaces) {
    TempDir dir;
    auto a = render_file(dir, "same.tiff", "hello", FaxResolution::fine);
    auto bytes = [](const std::string& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    std::string first = bytes(a);
    auto b = render_file(dir, "same.tiff", "hello", FaxResolution::fine);
    EXPECT_EQ(a, b);
    EXPECT_EQ(bytes(b), first);
    EXPECT_EQ(dir.entries().size(), 1u); // no temporary left behind

    fax::Renderer r(default_config(), FaxResolution::fine);
    std::vector<fax::Page> pages{r.draw({U"other"}, true)};
    auto c = fax::write_tiff(dir.file("same.tiff"), pages, 196, /*unique=*/true);
    EXPECT_EQ(c, dir.file("same-2.tiff"));
    EXPECT_EQ(bytes(a), first);
    auto d = fax::write_tiff(dir.file("same.tiff"), pages, 196, /*unique=*/true);
    EXPECT_EQ(d, dir.file("same-3.tiff"));
    EXPECT_EQ(dir.entries().size(), 3u);
}

TEST(FaxVersions, NamesTheLibraries) {
    auto v = fax::library_versions();
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].rfind("libtiff 4.", 0), 0u) << v[0];
    EXPECT_EQ(v[1].rfind("FreeType 2.", 0), 0u) << v[1];
}

// sms2fax's job as a library call: the file only, then a file and its SendFax call.
TEST(FaxSend, OutputWithoutCall) {
    TempDir dir;
    sms::Config cfg;
    cfg.general.spool_dir = dir.file("spool");
    cfg.fax.dir = dir.file("fax");
    fax::Options o;
    o.from = "500100200";
    o.to = "600700800";
    o.scts = "2026-11-29T22:53:42";
    o.mr = 17;
    o.output = dir.file("x.tiff");
    o.no_call = true;
    o.text = "hello";
    auto r = fax::send(cfg, o);
    EXPECT_EQ(r.tiff_path, dir.file("x.tiff"));
    EXPECT_EQ(r.pages, 1);
    EXPECT_FALSE(r.call_path);
    EXPECT_FALSE(std::filesystem::exists(cfg.general.spool_dir));
    auto pages = read_tiff(r.tiff_path);
    ASSERT_EQ(pages.size(), 1u);
    // Header, rule and text: three lines of ink, nothing below them.
    fax::Renderer rr(cfg.fax, FaxResolution::fine);
    const auto& g = rr.geometry();
    for (int i = 0; i < 3; ++i)
        EXPECT_GT(pages[0].ink(0, 1728, static_cast<int>(g.top + i * g.pitch),
                               static_cast<int>(g.top + (i + 1) * g.pitch)),
                  0);
    EXPECT_EQ(pages[0].ink(0, 1728, static_cast<int>(std::ceil(g.top + 3 * g.pitch)), 5000), 0);

    o.resolution = "coarse";
    try {
        fax::send(cfg, o);
        ADD_FAILURE() << "no error";
    } catch (const sms::Error& e) {
        EXPECT_EQ(e.exit(), sms::Exit::usage);
    }
    o.resolution.reset();
    cfg.fax.max_pages = 1;
    o.text.clear();
    for (int i = 0; i < 100; ++i)
        o.text += "a line\n";
    try {
        fax::send(cfg, o);
        ADD_FAILURE() << "no error";
    } catch (const sms::Error& e) {
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_NE(e.reason().find("max_pages"), std::string::npos);
    }
}

TEST(FaxSend, NewFileAndCall) {
    TempDir dir;
    sms::Config cfg;
    cfg.general.spool_dir = dir.file("spool");
    std::filesystem::create_directory(cfg.general.spool_dir); // the root is never created
    cfg.fax.dir = dir.file("fax");
    fax::Options o;
    o.from = "../500";
    o.to = "600/700";
    o.extension = "DAHDI/1";
    o.scts = "2026-11-29T22:53:42";
    o.text = "hello";
    // Input never forms a path: what is not a number is refused, as everywhere.
    try {
        fax::send(cfg, o);
        ADD_FAILURE() << "--from ../500 taken";
    } catch (const sms::Error& e) {
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_EQ(e.subject(), "--from");
    }
    o.from = "+500";
    EXPECT_THROW(fax::send(cfg, o), sms::Error);
    o.to = "600700";
    auto a = fax::send(cfg, o);
    auto b = fax::send(cfg, o);
    EXPECT_EQ(a.tiff_path, dir.file("fax/fax-+500-600700-20261129-225342.tiff"));
    EXPECT_EQ(b.tiff_path, dir.file("fax/fax-+500-600700-20261129-225342-2.tiff"));
    ASSERT_TRUE(a.call_path && b.call_path);
    EXPECT_NE(*a.call_path, *b.call_path);
    std::ifstream in(*a.call_path);
    std::string call(std::istreambuf_iterator<char>(in), {});
    EXPECT_NE(call.find("Channel: DAHDI/1\n"), std::string::npos) << call;
    EXPECT_NE(call.find("Context: sms-fax-out\n"), std::string::npos) << call;
    EXPECT_NE(call.find("SetVar: SMS_FAX_FILE=" + a.tiff_path + "\n"), std::string::npos) << call;
}

// --- fallback fonts --------------------------------------------------------------------------

namespace {

std::string utf8_of(std::u32string_view s) {
    std::string out;
    for (char32_t c : s) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

// The ink of each character of a one-line text drawn alone on a fine page, by its cells.
std::vector<int> ink_per_char(fax::Renderer& r, std::u32string_view line) {
    const auto& g = r.geometry();
    auto page = r.draw({std::u32string(line)}, true);
    std::vector<int> out;
    int cell = 0;
    for (char32_t c : line) {
        int w = fax::cells(c);
        int n = 0;
        for (int y = 0; y < page.rows; ++y)
            for (int x = g.left + cell * g.cell_width; x < g.left + (cell + w) * g.cell_width; ++x)
                n += page.black(x, y);
        out.push_back(n);
        cell += w;
    }
    return out;
}

} // namespace

TEST(FaxFallback, WideCharactersTakeTwoCells) {
    using V = std::vector<std::u32string>;
    EXPECT_EQ(fax::cells(U'a'), 1);
    EXPECT_EQ(fax::cells(U'\u0301'), 0);
    EXPECT_EQ(fax::cells(U'会'), 2);
    EXPECT_EQ(fax::cells(U'\U0001F44D'), 2);
    EXPECT_EQ(fax::wrap("会议改到明天 👍", 6), (V{U"会议改", U"到明天", U"\U0001F44D"}));
    EXPECT_EQ(fax::wrap("会议改到明天 👍", 15), (V{U"会议改到明天 \U0001F44D"}));
    // A wide character never loops on a one-cell line.
    EXPECT_EQ(fax::wrap("会议", 1), (V{U"会", U"议"}));
}

// "会议改到明天 👍": the main font has none of these; each is drawn from a fallback font, with
// ink, unlike the replacement character; a character no font has is U+FFFD and listed.
TEST(FaxFallback, CjkAndEmojiFromFallbackFonts) {
    auto cfg = default_config();
    for (const auto& f : cfg.fallback_fonts)
        ASSERT_TRUE(std::filesystem::exists(f)) << f << " (scripts/install-deps.sh installs it)";
    fax::Renderer r(cfg, FaxResolution::fine);
    const std::u32string text = U"会议改到明天\U0001F44D\uFFFD\U000E0100";
    for (char32_t c : std::u32string_view(text).substr(0, 7))
        EXPECT_FALSE(r.has_glyph(c));
    auto ink = ink_per_char(r, text);
    const int replacement = ink[7];
    EXPECT_GT(replacement, 0);
    EXPECT_EQ(ink[8], replacement); // U+E0100 (a variation selector no font draws)
    std::set<int> distinct;
    for (std::size_t i = 0; i < 7; ++i) {
        SCOPED_TRACE(fmt::format("U+{:04X}", static_cast<unsigned>(text[i])));
        EXPECT_GT(ink[i], 20);
        EXPECT_NE(ink[i], replacement);
        distinct.insert(ink[i]);
    }
    EXPECT_GE(distinct.size(), 5u); // different characters, not one box drawn seven times
    EXPECT_EQ(r.missing(), std::vector<char32_t>{U'\U000E0100'});

    // Without fallback fonts the same characters are all the replacement.
    cfg.fallback_fonts.clear();
    fax::Renderer bare(cfg, FaxResolution::fine);
    auto plain = ink_per_char(bare, U"会\U0001F44D");
    EXPECT_EQ(plain[0], replacement);
    EXPECT_EQ(plain[1], replacement);
    EXPECT_EQ(bare.missing().size(), 2u);

    // A fallback font that cannot be opened is skipped, not fatal.
    cfg.fallback_fonts = {"/nonexistent/font.ttf", default_config().fallback_fonts[0]};
    fax::Renderer skip(cfg, FaxResolution::fine);
    EXPECT_EQ(ink_per_char(skip, U"会")[0], ink[0]);
}

// The whole of sms2fax with that text: one page that spandsp decodes.
TEST(FaxFallback, SendWritesTheCharacters) {
    TempDir dir;
    sms::Config cfg;
    fax::Options o;
    o.from = "500100200";
    o.to = "600";
    o.no_call = true;
    o.output = dir.file("cjk.tiff");
    o.text = utf8_of(U"会议改到明天 \U0001F44D");
    auto res = fax::send(cfg, o);
    EXPECT_EQ(res.pages, 1);
    auto pages = read_tiff(res.tiff_path);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_GT(pages[0].ink(0, 1728, 0, static_cast<int>(pages[0].rows)), 1000);
}
