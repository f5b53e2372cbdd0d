// Unit tests of fax images: dithering, the logo, pictures as pages, limits, the preview. The
// pictures are made here with Magick++; every fax page is read back with libtiff and sent
// through spandsp's T.4 transmitter and receiver as for text pages.
#include "fax/fax.hpp"
#include "fax/fax_image.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"

#include <Magick++.h>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <sys/stat.h>
#include <tiffio.h>
#include <zlib.h>

// spandsp.h wants libtiff's header first (done above).
#include <spandsp.h>

namespace fax = sms::fax;
using sms::FaxDither;
using sms::FaxResolution;

namespace {

struct Dir : sms::test::TempDir {
    std::string file(std::string_view name) const { return path + "/" + std::string(name); }
};

struct ReadPage {
    std::uint32_t width = 0, rows = 0;
    float yres = 0;
    std::vector<std::vector<std::uint8_t>> lines;
    bool black(int x, int y) const {
        return (lines[static_cast<std::size_t>(y)][static_cast<std::size_t>(x) / 8] >>
                (7 - x % 8)) &
               1;
    }
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

// Every page sent by spandsp's T.4 transmitter (as Asterisk's SendFax opens the file) and
// decoded by its receiver into the very pixels of the file, with no bad row.
void spandsp_round_trip(const Dir& dir, const std::string& path) {
    auto sent = read_tiff(path);
    t4_tx_state_t* tx = t4_tx_init(nullptr, path.c_str(), -1, -1);
    ASSERT_NE(tx, nullptr);
    t4_tx_set_tx_encoding(tx, T4_COMPRESSION_ITU_T4_2D);
    t4_tx_set_min_bits_per_row(tx, 0);
    ASSERT_EQ(t4_tx_get_pages_in_file(tx), static_cast<int>(sent.size()));
    std::string received = dir.file("received.tiff");
    t4_rx_state_t* rx = t4_rx_init(nullptr, received.c_str(), T4_COMPRESSION_ITU_T4_2D);
    ASSERT_NE(rx, nullptr);
    for (std::size_t page = 0; page < sent.size(); ++page) {
        SCOPED_TRACE(fmt::format("page {}", page));
        ASSERT_EQ(t4_tx_start_page(tx), 0);
        EXPECT_EQ(t4_tx_get_image_width(tx), 1728);
        t4_rx_set_rx_encoding(rx, T4_COMPRESSION_ITU_T4_2D);
        t4_rx_set_image_width(rx, 1728);
        t4_rx_set_x_resolution(rx, t4_tx_get_x_resolution(tx));
        t4_rx_set_y_resolution(rx, t4_tx_get_y_resolution(tx));
        ASSERT_EQ(t4_rx_start_page(rx), 0);
        std::vector<std::uint8_t> buf(4096);
        for (;;) {
            int got = t4_tx_get_chunk(tx, buf.data(), static_cast<int>(buf.size()));
            if (got > 0)
                t4_rx_put_chunk(rx, buf.data(), got);
            if (got < static_cast<int>(buf.size()))
                break;
        }
        EXPECT_EQ(t4_tx_end_page(tx), 0);
        EXPECT_EQ(t4_rx_end_page(rx), 0);
        t4_stats_t st{};
        t4_rx_get_transfer_statistics(rx, &st);
        EXPECT_EQ(st.width, 1728);
        EXPECT_EQ(st.length, static_cast<int>(sent[page].rows));
        EXPECT_EQ(st.bad_rows, 0);
    }
    t4_tx_free(tx);
    t4_rx_free(rx);
    auto got = read_tiff(received);
    ASSERT_EQ(got.size(), sent.size());
    for (std::size_t p = 0; p < got.size(); ++p)
        EXPECT_TRUE(got[p].lines == sent[p].lines) << "page " << p << " differs";
}

void magick() {
    static bool done = [] {
        Magick::InitializeMagick(nullptr);
        return true;
    }();
    (void)done;
}

// A 200 x 100 logo: the left half a black square, the right half transparent but for a
// black bar along its bottom quarter.
std::string make_logo(const Dir& dir) {
    magick();
    Magick::Image img(Magick::Geometry(200, 100), Magick::Color("transparent"));
    img.type(MagickCore::TrueColorMatteType);
    img.fillColor("black");
    img.strokeColor("black");
    img.draw(Magick::DrawableRectangle(0, 0, 99, 99));
    img.draw(Magick::DrawableRectangle(100, 75, 199, 99));
    std::string path = dir.file("logo.png");
    img.write(path);
    return path;
}

// A grey ramp, dark at the top to light at the bottom, as a photo would be.
std::string make_photo(const Dir& dir, int w, int h, const std::string& name) {
    magick();
    Magick::Image img(Magick::Geometry(static_cast<std::size_t>(w), static_cast<std::size_t>(h)),
                      Magick::Color("white"));
    img.read(fmt::format("gradient:black-white"));
    img.resize(Magick::Geometry(fmt::format("{}x{}!", w, h)));
    img.quality(85);
    std::string path = dir.file(name);
    img.write(path);
    return path;
}

std::string utf8_file(const Dir& dir, const std::string& name, const std::string& body) {
    std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << body;
    return path;
}

// A PNG header claiming 50,000 x 50,000 pixels (one bit each) with a few rows of data: a
// picture bomb, a few kilobytes on disk.
std::string make_bomb(const Dir& dir) {
    auto be32 = [](std::string& s, std::uint32_t v) {
        for (int i = 3; i >= 0; --i)
            s += static_cast<char>((v >> (8 * i)) & 0xFF);
    };
    auto chunk = [&](std::string& out, const char* type, const std::string& data) {
        be32(out, static_cast<std::uint32_t>(data.size()));
        std::string body = type + data;
        out += body;
        be32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                                   static_cast<uInt>(body.size()))));
    };
    std::string png = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    be32(ihdr, 50000);
    be32(ihdr, 50000);
    ihdr += std::string("\x01\x00\x00\x00\x00", 5); // 1 bit, grey
    chunk(png, "IHDR", ihdr);
    std::string raw(1000 * 6251, '\0');
    uLongf len = compressBound(static_cast<uLong>(raw.size()));
    std::string z(len, '\0');
    compress2(reinterpret_cast<Bytef*>(z.data()), &len, reinterpret_cast<const Bytef*>(raw.data()),
              static_cast<uLong>(raw.size()), 9);
    z.resize(len);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", "");
    return utf8_file(dir, "bomb.png", png);
}

fax::Options image_options(const Dir& dir, std::vector<std::string> images) {
    fax::Options o;
    o.from = "500100200";
    o.to = "600";
    o.no_call = true;
    o.output = dir.file("out.tiff");
    o.scts = "2026-12-02T10:00:00";
    o.cover = false;
    o.images = std::move(images);
    return o;
}

sms::Error expect_error(const sms::Config& cfg, const fax::Options& o) {
    try {
        fax::send(cfg, o);
    } catch (const sms::Error& e) {
        return e;
    }
    ADD_FAILURE() << "no error";
    return sms::Error(sms::Exit::ok, "", "");
}

} // namespace

TEST(FaxDither, ThresholdOrderedAndDiffusion) {
    for (auto how : {FaxDither::threshold, FaxDither::ordered, FaxDither::floyd_steinberg,
                     FaxDither::halftone, FaxDither::automatic}) {
        SCOPED_TRACE(static_cast<int>(how));
        fax::Page page;
        page.width = 64;
        page.rows = 64;
        page.bits.assign(page.stride() * 64, 0);
        fax::Gray g;
        g.width = 64;
        g.rows = 64;
        g.px.assign(64 * 64, 192); // a quarter grey
        for (int x = 0; x < 64; ++x)
            g.px[static_cast<std::size_t>(x)] = 0; // first row black
        fax::dither_into(page, 0, 0, g, how);
        int black = 0;
        for (int y = 1; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                black += page.black(x, y);
        for (int x = 0; x < 64; ++x)
            EXPECT_TRUE(page.black(x, 0));
        if (how == FaxDither::threshold || how == FaxDither::automatic) // all near white
            EXPECT_EQ(black, 0);
        else
            EXPECT_NEAR(black / (63.0 * 64), 0.25, 0.03);
    }
    EXPECT_EQ(fax::parse_dither("floyd-steinberg"), FaxDither::floyd_steinberg);
    EXPECT_EQ(fax::parse_dither("halftone"), FaxDither::halftone);
    EXPECT_EQ(fax::parse_dither("auto"), FaxDither::automatic);
    EXPECT_FALSE(fax::parse_dither("fs"));
}

// The logo's black square and bar where they belong on the first page, at the page's own
// pixel aspect; transparency is paper; the header line below it; the pages decode.
TEST(FaxImage, LogoOnTheFirstPage) {
    Dir dir;
    std::string logo = make_logo(dir);
    for (auto res : {FaxResolution::standard, FaxResolution::fine, FaxResolution::superfine}) {
        const int ydpi = fax::y_dpi(res);
        SCOPED_TRACE(ydpi);
        sms::Config cfg;
        cfg.fax.logo = logo;
        cfg.fax.logo_width = 40;
        auto o = image_options(dir, {});
        o.cover = true;
        o.text = "Below the logo.";
        o.resolution = ydpi == 98 ? "standard" : ydpi == 196 ? "fine" : "superfine";
        auto r = fax::send(cfg, o);
        ASSERT_EQ(r.pages, 1);
        auto pages = read_tiff(r.tiff_path);
        ASSERT_EQ(pages.size(), 1u);
        const auto& p = pages[0];
        fax::Renderer ren(cfg.fax, res);
        const auto& g = ren.geometry();
        const int w = static_cast<int>(std::lround(40 / 25.4 * 204));      // 321 pixels
        const int h = static_cast<int>(std::lround(w / 2.0 * ydpi / 204)); // half as high
        const int x0 = g.left, y0 = static_cast<int>(std::lround(g.top));
        // The square: all black (2-pixel border for scaling's soft edge).
        const int half = w / 2;
        EXPECT_EQ(p.ink(x0 + 2, x0 + half - 2, y0 + 2, y0 + h - 2), (half - 4) * (h - 4));
        // The transparent part above the bar: white; the bar: black.
        EXPECT_EQ(p.ink(x0 + half + 2, x0 + w - 2, y0 + 2, y0 + h * 3 / 4 - 2), 0);
        EXPECT_EQ(p.ink(x0 + half + 2, x0 + w - 2, y0 + h * 3 / 4 + 2, y0 + h - 2),
                  (w - half - 4) * (h - h * 3 / 4 - 4));
        // Nothing right of the logo, nothing above it; the header below it.
        EXPECT_EQ(p.ink(x0 + w + 2, 1728, 0, y0 + h), 0);
        EXPECT_EQ(p.ink(0, 1728, 0, y0 - 1), 0);
        EXPECT_GT(p.ink(0, 1728, y0 + h + 1, static_cast<int>(p.rows)), 500);
        EXPECT_EQ(p.ink(0, 1728, y0 + h + 1, y0 + h + static_cast<int>(g.pitch / 2) - 1), 0);
        spandsp_round_trip(dir, r.tiff_path);
    }
}

// A JPEG photo, a two-frame TIFF and an SVG after a cover text: one page each.
TEST(FaxImage, PicturesAsPages) {
    Dir dir;
    std::string jpeg = make_photo(dir, 640, 480, "photo.jpg");
    magick();
    std::vector<Magick::Image> frames;
    frames.emplace_back(Magick::Geometry(300, 200), Magick::Color("black"));
    frames.emplace_back(Magick::Geometry(300, 200), Magick::Color("white"));
    frames[1].fillColor("black");
    frames[1].draw(Magick::DrawableRectangle(0, 100, 299, 199)); // bottom half black
    std::string tiff = dir.file("two.tiff");
    Magick::writeImages(frames.begin(), frames.end(), tiff);
    // A PGM (PNM) of 400 x 100: its left half black.
    std::string pgm = "P5\n# half\n400 100\n255\n";
    for (int y = 0; y < 100; ++y)
        pgm += std::string(200, '\0') + std::string(200, '\xff');
    std::string svg = utf8_file(dir, "shape.pgm", pgm);

    sms::Config cfg;
    auto o = image_options(dir, {jpeg, tiff, svg});
    o.cover = true;
    o.text = "Cover text.";
    auto r = fax::send(cfg, o);
    ASSERT_EQ(r.pages, 5);
    auto pages = read_tiff(r.tiff_path);
    ASSERT_EQ(pages.size(), 5u);
    fax::Renderer ren(cfg.fax, FaxResolution::fine);
    const auto& g = ren.geometry();
    const int top = static_cast<int>(std::lround(g.top));
    const int width = 1728 - 2 * g.left;
    auto rows_of = [&](int w0, int h0) {
        return static_cast<int>(std::lround(static_cast<double>(h0) * width / w0 * 196 / 204));
    };
    // The cover is full length once pictures follow.
    EXPECT_EQ(pages[0].rows, static_cast<std::uint32_t>(g.page_rows));
    // The photo: cut to length, darker at its top than at its bottom.
    const int ph = rows_of(640, 480);
    EXPECT_EQ(pages[1].rows, static_cast<std::uint32_t>(top + ph + g.cut_rows));
    int dark = pages[1].ink(g.left, g.left + width, top, top + ph / 5);
    int light = pages[1].ink(g.left, g.left + width, top + ph * 4 / 5, top + ph);
    EXPECT_GT(dark, 3 * light);
    EXPECT_EQ(pages[1].ink(0, g.left - 1, 0, static_cast<int>(pages[1].rows)), 0);
    // TIFF frame 1: all black; frame 2: the bottom half.
    const int th = rows_of(300, 200);
    EXPECT_GE(pages[2].ink(g.left + 2, g.left + width - 2, top + 2, top + th - 2),
              (width - 4) * (th - 4) - 10);
    EXPECT_EQ(pages[3].ink(g.left + 2, g.left + width - 2, top + 2, top + th / 2 - 2), 0);
    EXPECT_GE(pages[3].ink(g.left + 2, g.left + width - 2, top + th / 2 + 2, top + th - 2),
              (width - 4) * (th - th / 2 - 4) - 10);
    // The PGM: its left half black.
    const int sh = rows_of(400, 100);
    // (Scaled with Lanczos: edges are a few pixels soft.)
    EXPECT_GE(pages[4].ink(g.left + 12, g.left + width / 2 - 12, top + 6, top + sh - 6),
              (width / 2 - 24) * (sh - 12) - 10);
    EXPECT_LE(pages[4].ink(g.left + width / 2 + 12, g.left + width - 12, top + 6, top + sh - 6),
              10);
    spandsp_round_trip(dir, r.tiff_path);
}

// A tall picture: three pages, the last cut to length; max_pages still applies.
TEST(FaxImage, TallPictureSplitsIntoPages) {
    Dir dir;
    std::string tall = make_photo(dir, 200, 720, "tall.png");
    sms::Config cfg;
    auto r = fax::send(cfg, image_options(dir, {tall}));
    ASSERT_EQ(r.pages, 3);
    auto pages = read_tiff(r.tiff_path);
    ASSERT_EQ(pages.size(), 3u);
    fax::Renderer ren(cfg.fax, FaxResolution::fine);
    const auto& g = ren.geometry();
    const int top = static_cast<int>(std::lround(g.top));
    const int usable = g.page_rows - 2 * top;
    const int total = static_cast<int>(std::lround(720.0 * (1728 - 2 * g.left) / 200 * 196 / 204));
    EXPECT_EQ(pages[0].rows, static_cast<std::uint32_t>(g.page_rows));
    EXPECT_EQ(pages[1].rows, static_cast<std::uint32_t>(g.page_rows));
    EXPECT_EQ(pages[2].rows, static_cast<std::uint32_t>(top + total - 2 * usable + g.cut_rows));
    // Dark to light down the three pages.
    auto ink = [&](int i) {
        return pages[static_cast<std::size_t>(i)].ink(
            0, 1728, 0, static_cast<int>(pages[static_cast<std::size_t>(i)].rows));
    };
    EXPECT_GT(ink(0), ink(1));
    EXPECT_GT(ink(1), ink(2));
    spandsp_round_trip(dir, r.tiff_path);

    cfg.fax.max_pages = 2;
    auto e = expect_error(cfg, image_options(dir, {tall}));
    EXPECT_EQ(e.exit(), sms::Exit::dataerr);
    EXPECT_NE(e.reason().find("max_pages = 2"), std::string::npos) << e.reason();
}

// The bomb is refused from its header, naming the limit; PDF is refused by ImageMagick's
// policy, saying so; a missing file and a non-picture are clear errors.
TEST(FaxImage, LimitsPolicyAndBadFiles) {
    Dir dir;
    sms::Config cfg;
    auto bomb = make_bomb(dir);
    EXPECT_LT(std::filesystem::file_size(bomb), 20000u);
    auto e = expect_error(cfg, image_options(dir, {bomb}));
    EXPECT_EQ(e.exit(), sms::Exit::dataerr);
    EXPECT_NE(e.reason().find("image_max_width = 16384"), std::string::npos) << e.reason();
    EXPECT_EQ(e.subject(), bomb);
    cfg.fax.image_max_width = 60000;
    cfg.fax.image_max_height = 60000;
    e = expect_error(cfg, image_options(dir, {bomb}));
    EXPECT_NE(e.reason().find("image_max_area = 128"), std::string::npos) << e.reason();

    sms::Config plain;
    auto pdf = utf8_file(dir, "doc.pdf",
                         "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type"
                         "/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
    e = expect_error(plain, image_options(dir, {pdf}));
    EXPECT_EQ(e.exit(), sms::Exit::dataerr);
    EXPECT_NE(e.reason().find("a PDF document"), std::string::npos) << e.reason();

    e = expect_error(plain, image_options(dir, {dir.file("missing.png")}));
    EXPECT_EQ(e.exit(), sms::Exit::noinput);
    auto junk = utf8_file(dir, "junk.png", "this is not a picture\n");
    e = expect_error(plain, image_options(dir, {junk}));
    EXPECT_EQ(e.exit(), sms::Exit::dataerr);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.tiff")));
}

// The preview: 1728 wide, square pixels, the pages one under the other with a grey line
// between; alone with --no-call and no --output (no TIFF at all).
TEST(FaxImage, Preview) {
    Dir dir;
    std::string tall = make_photo(dir, 200, 720, "tall.png");
    sms::Config cfg;
    auto o = image_options(dir, {tall});
    o.cover = true;
    o.text = "Cover.";
    o.preview = dir.file("preview.png");
    auto r = fax::send(cfg, o);
    ASSERT_EQ(r.pages, 4);
    ASSERT_TRUE(r.preview_path);
    auto pages = read_tiff(r.tiff_path);
    int want = 0;
    for (const auto& p : pages)
        want += fax::preview_rows(static_cast<int>(p.rows), 196);
    want += 3 * fax::preview_gap;
    magick();
    Magick::Image png(*r.preview_path);
    EXPECT_EQ(png.columns(), 1728u);
    EXPECT_EQ(png.rows(), static_cast<std::size_t>(want));
    // The grey separator rows: three pages' boundaries, preview_gap rows each.
    std::vector<unsigned char> row(1728);
    int grey_rows = 0;
    for (std::size_t y = 0; y < png.rows(); ++y) {
        png.write(0, static_cast<ssize_t>(y), 1728, 1, "I", MagickCore::CharPixel, row.data());
        bool grey = true;
        for (unsigned char v : row)
            grey = grey && v > 100 && v < 200;
        grey_rows += grey;
    }
    EXPECT_EQ(grey_rows, 3 * fax::preview_gap);

    // Standard resolution: rows doubled in the preview.
    EXPECT_EQ(fax::preview_rows(100, 98), 208);
    EXPECT_EQ(fax::preview_rows(391, 391), 204);

    // Only the preview.
    auto only = image_options(dir, {tall});
    only.output.reset();
    only.preview = dir.file("only.png");
    cfg.fax.dir = dir.file("faxes");
    auto r2 = fax::send(cfg, only);
    EXPECT_TRUE(r2.tiff_path.empty());
    EXPECT_TRUE(std::filesystem::exists(dir.file("only.png")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("faxes")));
}

namespace {

// The ink of the decoded page in `bands` columns of the picture's width, 0 (white) to 1.
std::vector<double> band_ink(const ReadPage& p, int left, int width, int top, int rows, int bands) {
    std::vector<double> out;
    for (int b = 0; b < bands; ++b) {
        int x0 = left + width * b / bands + 4, x1 = left + width * (b + 1) / bands - 4;
        out.push_back(p.ink(x0, x1, top + 4, top + rows - 4) /
                      static_cast<double>((x1 - x0) * (rows - 8)));
    }
    return out;
}

} // namespace

// The default (auto: a gradient is no text, so the halftone screen) keeps a black-to-white
// gradient's tones on the page spandsp receives: 12 bands, each lighter than the one before by
// a clear step, all near the straight line from black to white, at every resolution.
TEST(FaxImage, GradientKeepsEvenlyRisingTonesThroughSpandsp) {
    Dir dir;
    magick();
    Magick::Image img;
    img.size(Magick::Geometry(600, 480));
    img.read("gradient:black-white");
    img.rotate(-90); // black at the left
    std::string path = dir.file("gradient.png");
    img.write(path);
    for (auto [res, name] :
         {std::pair{FaxResolution::standard, "standard"}, std::pair{FaxResolution::fine, "fine"},
          std::pair{FaxResolution::superfine, "superfine"}}) {
        SCOPED_TRACE(name);
        sms::Config cfg;
        ASSERT_EQ(cfg.fax.image_dither, FaxDither::automatic);
        auto o = image_options(dir, {path});
        o.resolution = name;
        auto r = fax::send(cfg, o);
        spandsp_round_trip(dir, r.tiff_path);
        auto pages = read_tiff(dir.file("received.tiff"));
        ASSERT_EQ(pages.size(), 1u);
        fax::Renderer ren(cfg.fax, res);
        const auto& g = ren.geometry();
        const int top = static_cast<int>(std::lround(g.top));
        const int width = 1728 - 2 * g.left;
        const int rows = static_cast<int>(std::lround(600.0 * width / 480 * g.y_dpi / 204));
        const int bands = 12;
        auto ink = band_ink(pages[0], g.left, width, top, rows, bands);
        for (int b = 0; b < bands; ++b) {
            double expect = 1.0 - (b + 0.5) / bands;
            EXPECT_NEAR(ink[static_cast<std::size_t>(b)], expect, 0.06) << "band " << b;
            if (b > 0) {
                EXPECT_GT(ink[static_cast<std::size_t>(b) - 1] - ink[static_cast<std::size_t>(b)],
                          0.03)
                    << "band " << b << " is no lighter than the one before";
            }
        }
    }
}

// auto thresholds a text-like picture (black on white, nothing between): no screen in the
// paper; a flat mid grey gets the screen.
TEST(FaxImage, AutoThresholdsTextLikePictures) {
    fax::Page page;
    page.width = 64;
    page.rows = 64;
    page.bits.assign(page.stride() * 64, 0);
    fax::Gray g;
    g.width = 64;
    g.rows = 64;
    g.px.assign(64 * 64, 235); // paper a little grey, as scanned
    for (int y = 20; y < 24; ++y)
        for (int x = 8; x < 56; ++x)
            g.px[static_cast<std::size_t>(y * 64 + x)] = 20; // a stroke
    fax::dither_into(page, 0, 0, g, FaxDither::automatic);
    int black = 0;
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x)
            black += page.black(x, y);
    EXPECT_EQ(black, 4 * 48); // the stroke, and no dot on the paper
    page.bits.assign(page.stride() * 64, 0);
    g.px.assign(64 * 64, 235);
    fax::dither_into(page, 0, 0, g, FaxDither::halftone);
    black = 0;
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x)
            black += page.black(x, y);
    EXPECT_GT(black, 64 * 64 * 3 / 100); // the screen prints paper this grey as dots
}

// A picture five pages long arrives whole: five pages, every one decoded by spandsp.
TEST(FaxImage, FivePagePictureIsWhole) {
    Dir dir;
    std::string tall = make_photo(dir, 400, 2400, "tall5.png");
    sms::Config cfg;
    auto r = fax::send(cfg, image_options(dir, {tall}));
    EXPECT_EQ(r.pages, 5);
    spandsp_round_trip(dir, r.tiff_path);
    auto pages = read_tiff(dir.file("received.tiff"));
    ASSERT_EQ(pages.size(), 5u);
    for (const auto& p : pages)
        EXPECT_GT(p.ink(0, 1728, 0, static_cast<int>(p.rows)), 1000);
}

// Nothing but a regular file is read as a picture: a FIFO (no writer: opening it would block)
// and /dev/zero (never ends) are refused at once, naming what they are.
TEST(FaxImage, OnlyRegularFilesAreRead) {
    Dir dir;
    std::string fifo = dir.file("fifo.png");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    sms::Config cfg;
    for (auto [path, what] : {std::pair{fifo, "a FIFO, not a regular file"},
                              std::pair{std::string("/dev/zero"), "a character device"}}) {
        auto e = expect_error(cfg, image_options(dir, {path}));
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_EQ(e.subject(), path);
        EXPECT_NE(e.reason().find(what), std::string::npos) << e.reason();
    }
    // As the logo (the configuration names it): 78.
    cfg.fax.logo = fifo;
    auto o = image_options(dir, {});
    o.cover = true;
    o.text = "x";
    auto e = expect_error(cfg, o);
    EXPECT_EQ(e.exit(), sms::Exit::config);
    EXPECT_NE(e.reason().find("a FIFO"), std::string::npos) << e.reason();
}

// An SVG can make ImageMagick read any file the process can (<image xlink:href=...>): it is
// refused by its bytes, whatever its name, with or without the reference, and the private
// picture never reaches a page.
TEST(FaxImage, SvgIsRefusedWhateverItsName) {
    Dir dir;
    std::string secret = make_photo(dir, 50, 50, "private.png");
    ::chmod(secret.c_str(), 0600);
    const std::string head =
        "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
        "xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"100\" height=\"100\">";
    std::string with = utf8_file(dir, "innocent.png",
                                 head + "<image xlink:href=\"" + secret +
                                     "\" width=\"100\" height=\"100\"/></svg>\n");
    std::string without =
        utf8_file(dir, "plain.svg", head + "<rect width=\"10\" height=\"10\"/></svg>\n");
    sms::Config cfg;
    std::string reasons[2];
    int i = 0;
    for (const auto& path : {with, without}) {
        auto e = expect_error(cfg, image_options(dir, {path}));
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_NE(e.reason().find("SVG"), std::string::npos) << e.reason();
        reasons[i++] = e.reason();
        EXPECT_FALSE(std::filesystem::exists(dir.file("out.tiff")));
    }
    EXPECT_EQ(reasons[0], reasons[1]); // the reference changes nothing: neither is read
    // The same refusal as the logo.
    cfg.fax.logo = with;
    auto o = image_options(dir, {});
    o.cover = true;
    o.text = "x";
    EXPECT_EQ(expect_error(cfg, o).exit(), sms::Exit::dataerr);
}

// Made by hand: a GIF of `frames` 1 x 1 frames (15 bytes each).
std::string make_many_frames(const Dir& dir, std::size_t frames) {
    std::string gif("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff", 19);
    const std::string frame("\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00", 15);
    for (std::size_t i = 0; i < frames; ++i)
        gif += frame;
    gif += '\x3b';
    return utf8_file(dir, "many.gif", gif);
}

// Frames are counted from the file before any is decoded: more frames than pages is refused,
// naming max_pages (tests/e2e/sms2fax.sh measures the 40,000-frame file's time and memory).
TEST(FaxImage, FramesAreCountedBeforeDecoding) {
    Dir dir;
    sms::Config cfg;
    auto e = expect_error(cfg, image_options(dir, {make_many_frames(dir, 40000)}));
    EXPECT_EQ(e.exit(), sms::Exit::dataerr);
    EXPECT_NE(e.reason().find("40000 frames"), std::string::npos) << e.reason();
    EXPECT_NE(e.reason().find("max_pages = 10"), std::string::npos) << e.reason();
    // Within the limit, every frame is a page.
    auto r = fax::send(cfg, image_options(dir, {make_many_frames(dir, 3)}));
    EXPECT_EQ(r.pages, 3);
}

// A picture that ends early is named truncated, whatever its format, not "over the limits".
TEST(FaxImage, TruncatedPicturesSaySo) {
    Dir dir;
    magick();
    Magick::Image img;
    img.size(Magick::Geometry(300, 200));
    img.read("plasma:");
    sms::Config cfg;
    for (const char* ext : {"png", "jpg", "gif", "tiff", "bmp", "ppm"}) {
        SCOPED_TRACE(ext);
        std::string whole = dir.file(std::string("whole.") + ext);
        Magick::Image copy = img;
        copy.write(whole);
        std::ifstream in(whole, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_NO_THROW(fax::send(cfg, image_options(dir, {whole})));
        std::string cut =
            utf8_file(dir, std::string("cut.") + ext, bytes.substr(0, bytes.size() / 2));
        auto e = expect_error(cfg, image_options(dir, {cut}));
        EXPECT_EQ(e.exit(), sms::Exit::dataerr);
        EXPECT_NE(e.reason().find("truncated"), std::string::npos) << e.reason();
        EXPECT_EQ(e.reason().find("resource limits"), std::string::npos) << e.reason();
    }
}
