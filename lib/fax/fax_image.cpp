// fax images: dithering, pictures through the sms-fax-image module, the page layout of a fax
// with a logo and pictures, and the PNG preview.
#include "fax/fax_image.hpp"

#include "fax/fax_image_abi.h"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/plugin.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::fax {

namespace {

constexpr int x_dpi = 204;
constexpr const char* module_name = "sms-fax-image";

// The module's entry points, looked up once.
struct Module {
    decltype(&sms_fax_image_open) open;
    decltype(&sms_fax_image_frames) frames;
    decltype(&sms_fax_image_size) size;
    decltype(&sms_fax_image_gray) gray;
    decltype(&sms_fax_image_close) close;
    decltype(&sms_fax_png_write) png_write;
    decltype(&sms_fax_image_version) version;
};

const Module& module() {
    static const Module m = [] {
        auto sym = [](const char* name) { return plugin::symbol(module_name, name); };
        Module r{};
        r.open = reinterpret_cast<decltype(r.open)>(sym("sms_fax_image_open"));
        r.frames = reinterpret_cast<decltype(r.frames)>(sym("sms_fax_image_frames"));
        r.size = reinterpret_cast<decltype(r.size)>(sym("sms_fax_image_size"));
        r.gray = reinterpret_cast<decltype(r.gray)>(sym("sms_fax_image_gray"));
        r.close = reinterpret_cast<decltype(r.close)>(sym("sms_fax_image_close"));
        r.png_write = reinterpret_cast<decltype(r.png_write)>(sym("sms_fax_png_write"));
        r.version = reinterpret_cast<decltype(r.version)>(sym("sms_fax_image_version"));
        return r;
    }();
    return m;
}

Exit exit_of(int rc) {
    switch (rc) {
    case 65:
        return Exit::dataerr;
    case 73:
        return Exit::cantcreat;
    default:
        return Exit::software;
    }
}

void set_black(Page& page, int x, int y) {
    page.bits[static_cast<std::size_t>(y) * page.stride() + static_cast<std::size_t>(x) / 8] |=
        static_cast<std::uint8_t>(0x80u >> (x % 8));
}

constexpr int bayer8[8][8] = {{0, 32, 8, 40, 2, 34, 10, 42},  {48, 16, 56, 24, 50, 18, 58, 26},
                              {12, 44, 4, 36, 14, 46, 6, 38}, {60, 28, 52, 20, 62, 30, 54, 22},
                              {3, 35, 11, 43, 1, 33, 9, 41},  {51, 19, 59, 27, 49, 17, 57, 25},
                              {15, 47, 7, 39, 13, 45, 5, 37}, {63, 31, 55, 23, 61, 29, 53, 21}};

// The halftone's tile in columns (its rows follow the y resolution): chosen by the call time
// spandsp's simulated call measures against the tones kept (BENCHMARKS.md, fax pictures).
constexpr int halftone_cell = 10;
// At most this share of mid-tone pixels (percent) makes a picture text-like for `auto`.
constexpr std::size_t text_like_percent = 12;

// A clustered-dot halftone screen (the newspaper screen) for the page's pixels: round dots on a
// 45-degree lattice, the same size on paper at every resolution (the tile's rows follow the
// y dpi). Its threshold for each pixel of one tile, as ranks spread evenly over 0-255: dots
// grow from their centres, the two dots of a tile one pixel each in turn, so a tile of N pixels
// gives N + 1 evenly spaced tones. Clustered dots make long runs of one colour, which G3/G4
// coding (run lengths, and rows that repeat the row above) carries in a fraction of the bytes
// error diffusion or a dispersed-dot (Bayer) matrix needs.
struct Screen {
    int width = 0, rows = 0;
    std::vector<std::uint8_t> threshold; // black below it
};

const Screen& halftone_screen(int y_dpi) {
    static thread_local std::vector<std::pair<int, Screen>> made;
    for (const auto& [dpi, s] : made)
        if (dpi == y_dpi)
            return s;
    Screen s;
    s.width = halftone_cell;
    // The same height on paper, an even number of rows (a dot at the corners and the centre).
    s.rows = std::max(2, 2 * static_cast<int>(std::lround(halftone_cell * y_dpi / (2.0 * x_dpi))));
    const double sy = static_cast<double>(x_dpi) / y_dpi; // a row's height in column widths
    struct Px {
        double d;
        int dot;
        int index;
    };
    std::vector<Px> px;
    const double cw = s.width, ch = s.rows * sy;
    for (int y = 0; y < s.rows; ++y)
        for (int x = 0; x < s.width; ++x) {
            double u = x + 0.5, v = (y + 0.5) * sy;
            auto dist = [&](double cx, double cy) { return std::hypot(u - cx, v - cy); };
            double corner = std::min({dist(0, 0), dist(cw, 0), dist(0, ch), dist(cw, ch)});
            double centre = dist(cw / 2, ch / 2);
            px.push_back({std::min(corner, centre), corner <= centre ? 0 : 1, y * s.width + x});
        }
    std::stable_sort(px.begin(), px.end(), [](const Px& a, const Px& b) {
        return a.d != b.d ? a.d < b.d : a.dot < b.dot;
    });
    // Interleave the two dots: rank k of dot 0 and rank k of dot 1 side by side.
    std::vector<int> order[2];
    for (const auto& p : px)
        order[p.dot].push_back(p.index);
    const std::size_t n = px.size();
    s.threshold.assign(n, 0);
    std::size_t rank = 0;
    for (std::size_t k = 0; k < std::max(order[0].size(), order[1].size()); ++k)
        for (int dot : {0, 1})
            if (k < order[dot].size()) {
                // Black when darker than this rank's share: 255 - grey > (rank + 0.5) / n * 256.
                double t =
                    255.0 - (static_cast<double>(rank) + 0.5) * 256.0 / static_cast<double>(n);
                s.threshold[static_cast<std::size_t>(order[dot][k])] =
                    static_cast<std::uint8_t>(std::clamp(std::lround(t) + 1, 1l, 255l));
                ++rank;
            }
    made.emplace_back(y_dpi, std::move(s));
    return made.back().second;
}

// Whether a picture reads as text or line art rather than tones: ink (near black) on paper
// (near white) and little between (a scanned letter, a diagram). Those are sharper, and
// shorter on the line, as a threshold than through any screen. A light page of a photo, with
// no ink, is no text: its tones need the screen.
bool text_like(const Gray& g) {
    std::size_t mid = 0, ink = 0;
    for (std::uint8_t v : g.px) {
        mid += v > 64 && v < 192;
        ink += v <= 64;
    }
    return ink * 200 >= g.px.size() && mid * 100 <= g.px.size() * text_like_percent;
}

} // namespace

std::optional<FaxDither> parse_dither(std::string_view s) {
    if (s == "halftone")
        return FaxDither::halftone;
    if (s == "auto")
        return FaxDither::automatic;
    if (s == "ordered")
        return FaxDither::ordered;
    if (s == "floyd-steinberg")
        return FaxDither::floyd_steinberg;
    if (s == "threshold")
        return FaxDither::threshold;
    return std::nullopt;
}

void dither_into(Page& page, int x0, int y0, const Gray& g, FaxDither how, int y_dpi) {
    auto inside = [&](int x, int y) { return x >= 0 && y >= 0 && x < page.width && y < page.rows; };
    const auto w = static_cast<std::size_t>(g.width);
    if (how == FaxDither::automatic)
        how = text_like(g) ? FaxDither::threshold : FaxDither::halftone;
    if (how == FaxDither::halftone) {
        // The screen is anchored to the page, not the picture: slices continue it.
        const Screen& s = halftone_screen(y_dpi);
        for (int y = 0; y < g.rows; ++y) {
            const std::uint8_t* row = g.px.data() + static_cast<std::size_t>(y) * w;
            int py = y0 + y;
            const std::uint8_t* t =
                s.threshold.data() + static_cast<std::size_t>(((py % s.rows) + s.rows) % s.rows) *
                                         static_cast<std::size_t>(s.width);
            for (int x = 0; x < g.width; ++x) {
                int px = x0 + x;
                if (row[x] < t[((px % s.width) + s.width) % s.width] && inside(px, py))
                    set_black(page, px, py);
            }
        }
        return;
    }
    if (how == FaxDither::floyd_steinberg) {
        // Error diffusion with two rows of errors (in 1/16 units), left to right.
        std::vector<int> cur(w + 2, 0), next(w + 2, 0);
        for (int y = 0; y < g.rows; ++y) {
            std::fill(next.begin(), next.end(), 0);
            const std::uint8_t* row = g.px.data() + static_cast<std::size_t>(y) * w;
            for (std::size_t x = 0; x < w; ++x) {
                int v = row[x] * 16 + cur[x + 1];
                bool black = v < 128 * 16;
                int err = v - (black ? 0 : 255 * 16);
                cur[x + 2] += err * 7 / 16;
                next[x] += err * 3 / 16;
                next[x + 1] += err * 5 / 16;
                next[x + 2] += err / 16;
                int px = x0 + static_cast<int>(x), py = y0 + y;
                if (black && inside(px, py))
                    set_black(page, px, py);
            }
            std::swap(cur, next);
        }
        return;
    }
    for (int y = 0; y < g.rows; ++y) {
        const std::uint8_t* row = g.px.data() + static_cast<std::size_t>(y) * w;
        for (int x = 0; x < g.width; ++x) {
            int t = how == FaxDither::ordered ? bayer8[y % 8][x % 8] * 4 + 2 : 128;
            if (row[x] < t && inside(x0 + x, y0 + y))
                set_black(page, x0 + x, y0 + y);
        }
    }
}

// --- Picture ---------------------------------------------------------------------------------

struct Picture::Handle {
    sms_fax_image* img = nullptr;
    ~Handle() {
        if (img)
            module().close(img);
    }
};

Picture::Picture(const FaxConfig& fc, const std::string& path, Exit bad_file)
    : path_(path)
    , h_(std::make_unique<Handle>()) {
    constexpr std::uint64_t mib = 1u << 20;
    std::string data =
        fs::read_regular(path, static_cast<std::size_t>(fc.image_max_memory) * mib, bad_file,
                         bad_file == Exit::config ? "[fax] logo" : "picture");
    sms_fax_image_limits l{};
    l.memory = static_cast<std::uint64_t>(fc.image_max_memory) * mib;
    l.disk = static_cast<std::uint64_t>(fc.image_max_disk) * mib;
    l.area = static_cast<std::uint64_t>(fc.image_max_area) * 1000000u;
    l.width = static_cast<std::uint64_t>(fc.image_max_width);
    l.height = static_cast<std::uint64_t>(fc.image_max_height);
    l.time = static_cast<std::uint64_t>(fc.image_max_time);
    l.frames = static_cast<std::uint64_t>(std::max(fc.max_pages, 1));
    char err[512] = "";
    int rc = module().open(data.data(), data.size(), path.c_str(), &l, &h_->img, err, sizeof err);
    if (rc != 0)
        throw Error(exit_of(rc), path, err);
}

Picture::~Picture() = default;

std::size_t Picture::frames() const noexcept {
    return module().frames(h_->img);
}

int Picture::width(std::size_t frame) const {
    std::uint32_t w = 0, h = 0;
    module().size(h_->img, frame, &w, &h);
    return static_cast<int>(w);
}

int Picture::rows(std::size_t frame) const {
    std::uint32_t w = 0, h = 0;
    module().size(h_->img, frame, &w, &h);
    return static_cast<int>(h);
}

Gray Picture::gray(std::size_t frame, int y, int h, int out_w, int out_h) const {
    Gray g;
    g.width = out_w;
    g.rows = out_h;
    g.px.resize(static_cast<std::size_t>(out_w) * static_cast<std::size_t>(out_h));
    char err[512] = "";
    int rc = module().gray(h_->img, frame, 0, static_cast<std::uint32_t>(y),
                           static_cast<std::uint32_t>(width(frame)), static_cast<std::uint32_t>(h),
                           static_cast<std::uint32_t>(out_w), static_cast<std::uint32_t>(out_h),
                           g.px.data(), err, sizeof err);
    if (rc != 0)
        throw Error(exit_of(rc), path_, err);
    return g;
}

// --- Document --------------------------------------------------------------------------------

namespace {

// One page of the fax: text (lines of the cover) or a slice of a picture's frame.
struct Entry {
    bool text = true;
    std::size_t index = 0; // text: page of the layout; picture: which picture
    std::size_t frame = 0;
    int out_y = 0, out_h = 0; // the slice, in rows of the scaled frame
    int frame_out_h = 0;      // the scaled frame's rows
    bool last_of_frame = false;
    int rows = 0;
};

} // namespace

struct Document::Impl {
    const FaxConfig& fc;
    Renderer renderer;
    std::vector<std::vector<std::u32string>> layout;
    std::vector<std::unique_ptr<Picture>> pictures;
    std::vector<Entry> entries;
    Page logo; // the logo's bits, logo.width a multiple of 8
    Box box;
    Page buffer;

    Impl(const FaxConfig& f, FaxResolution res)
        : fc(f)
        , renderer(f, res) {}

    const Geometry& geo() const { return renderer.geometry(); }
    int printable() const { return geo().width - 2 * geo().left; }
    int top_rows() const { return static_cast<int>(std::lround(geo().top)); }

    void check_pages(std::size_t n, const std::string& what, bool more) const {
        if (fc.max_pages > 0 && n > static_cast<std::size_t>(fc.max_pages))
            throw Error(Exit::dataerr, what,
                        fmt::format("needs {} fax pages{}, more than [fax] max_pages = {}", n,
                                    more ? " or more" : "", fc.max_pages));
    }

    void load_logo() {
        Picture pic(fc, fc.logo, Exit::config);
        const Geometry& g = geo();
        const double w0 = pic.width(0), h0 = pic.rows(0);
        // A box logo_width mm wide and as high, in page pixels; aspect kept in millimetres.
        double box_w = std::min<double>(printable(), fc.logo_width / 25.4 * x_dpi);
        double box_h = fc.logo_width / 25.4 * g.y_dpi;
        double w = box_w, h = box_w * h0 / w0 * g.y_dpi / x_dpi;
        if (h > box_h) {
            h = box_h;
            w = box_h * w0 / h0 * x_dpi / g.y_dpi;
        }
        int out_w = std::max(1, static_cast<int>(std::lround(w)));
        int out_h = std::max(1, static_cast<int>(std::lround(h)));
        Gray gray = pic.gray(0, 0, static_cast<int>(h0), out_w, out_h);
        logo.width = (out_w + 7) / 8 * 8;
        logo.rows = out_h;
        logo.bits.assign(logo.stride() * static_cast<std::size_t>(out_h), 0);
        dither_into(logo, 0, 0, gray, fc.logo_dither, g.y_dpi);
        box = Box{g.left, top_rows(), out_w, out_h};
        // The text starts half a line below the logo.
        renderer.reserve_first_page(out_h + g.pitch / 2);
    }

    void draw_text(Page& page, std::size_t i) {
        const bool last = i + 1 == layout.size() && pictures.empty();
        renderer.draw(page, layout[i], last, i == 0);
        if (i == 0 && box.rows > 0) {
            for (int y = 0; y < logo.rows && box.y + y < page.rows; ++y) {
                const std::uint8_t* src =
                    logo.bits.data() + static_cast<std::size_t>(y) * logo.stride();
                for (int x = 0; x < box.width; ++x)
                    if ((src[x / 8] >> (7 - x % 8)) & 1)
                        set_black(page, box.x + x, box.y + y);
            }
        }
    }

    int text_rows(std::size_t i) const {
        const Geometry& g = geo();
        const bool last = i + 1 == layout.size() && pictures.empty();
        if (!last)
            return g.page_rows;
        double top = g.top + (i == 0 && box.rows > 0 ? box.rows + g.pitch / 2 : 0.0);
        auto bottom =
            static_cast<int>(std::ceil(top + static_cast<double>(layout[i].size()) * g.pitch));
        return std::min(g.page_rows, bottom + g.cut_rows);
    }
};

Document::Document(const FaxConfig& fc, FaxResolution res)
    : m_(std::make_unique<Impl>(fc, res)) {}

Document::~Document() = default;

Renderer& Document::renderer() noexcept {
    return m_->renderer;
}

void Document::set_cover(std::vector<std::u32string> lines) {
    if (!m_->fc.logo.empty())
        m_->load_logo();
    m_->layout = m_->renderer.paginate(std::move(lines));
    m_->check_pages(m_->layout.size(), "text", false);
    for (std::size_t i = 0; i < m_->layout.size(); ++i) {
        Entry e;
        e.index = i;
        m_->entries.push_back(e);
    }
}

void Document::add_picture(const std::string& path) {
    Impl& m = *m_;
    auto pic = std::make_unique<Picture>(m.fc, path);
    const Geometry& g = m.geo();
    const int width = m.printable();
    const int usable = std::max(1, g.page_rows - 2 * m.top_rows());
    std::vector<Entry> added;
    for (std::size_t f = 0; f < pic->frames(); ++f) {
        const double w0 = pic->width(f), h0 = pic->rows(f);
        // Square source pixels onto the fax's: width / w0 across, and y_dpi / 204 as much down.
        int out_h = std::max(1, static_cast<int>(std::lround(h0 * width / w0 * g.y_dpi /
                                                             static_cast<double>(x_dpi))));
        for (int y = 0; y < out_h; y += usable) {
            Entry e;
            e.text = false;
            e.index = m.pictures.size();
            e.frame = f;
            e.out_y = y;
            e.out_h = std::min(usable, out_h - y);
            e.frame_out_h = out_h;
            e.last_of_frame = y + usable >= out_h;
            e.rows = e.last_of_frame ? std::min(g.page_rows, m.top_rows() + e.out_h + g.cut_rows)
                                     : g.page_rows;
            added.push_back(e);
            m.check_pages(m.entries.size() + added.size(), path, true);
        }
    }
    m.pictures.push_back(std::move(pic));
    m.entries.insert(m.entries.end(), added.begin(), added.end());
}

std::size_t Document::pages() const noexcept {
    return m_->entries.size();
}

int Document::y_dpi() const noexcept {
    return m_->geo().y_dpi;
}

bool Document::uses_pictures() const noexcept {
    return !m_->pictures.empty() || m_->box.rows > 0;
}

Document::Box Document::logo_box() const noexcept {
    return m_->box;
}

int Document::rows(std::size_t i) const {
    const Entry& e = m_->entries.at(i);
    return e.text ? m_->text_rows(e.index) : e.rows;
}

const Page& Document::page(std::size_t i) {
    Impl& m = *m_;
    const Entry& e = m.entries.at(i);
    Page& p = m.buffer;
    if (e.text) {
        m.draw_text(p, e.index);
        return p;
    }
    const Geometry& g = m.geo();
    p.width = g.width;
    p.rows = e.rows;
    p.bits.assign(p.stride() * static_cast<std::size_t>(p.rows), 0);
    const Picture& pic = *m.pictures[e.index];
    // The source rows of this slice (whole rows: the slices overlap by less than one).
    const double scale = pic.rows(e.frame) / static_cast<double>(e.frame_out_h);
    int y0 = static_cast<int>(std::floor(e.out_y * scale));
    int y1 = static_cast<int>(std::ceil((e.out_y + e.out_h) * scale));
    y1 = std::clamp(y1, y0 + 1, pic.rows(e.frame));
    y0 = std::min(y0, y1 - 1);
    Gray gray = pic.gray(e.frame, y0, y1 - y0, m.printable(), e.out_h);
    dither_into(p, g.left, m.top_rows(), gray, m.fc.image_dither, g.y_dpi);
    return p;
}

// --- preview ---------------------------------------------------------------------------------

int preview_rows(int rows, int ydpi) noexcept {
    return std::max(1, static_cast<int>(std::lround(static_cast<double>(rows) * x_dpi / ydpi)));
}

namespace {

struct PreviewJob {
    std::size_t count = 0;
    int ydpi = 196;
    const std::function<int(std::size_t)>* rows = nullptr;
    const std::function<const Page&(std::size_t)>* page = nullptr;
    std::vector<int> heights;
    std::size_t current = 0; // page being written
    int start = 0;           // its first output row
    const Page* drawn = nullptr;
    std::vector<std::uint8_t> line;
    std::string error; // an exception from drawing a page, thrown after the module returns
};

const unsigned char* preview_row(void* ctx, std::uint32_t y) {
    auto& job = *static_cast<PreviewJob*>(ctx);
    auto& line = job.line;
    try {
        int at = static_cast<int>(y);
        while (at >= job.start + job.heights[job.current] + preview_gap &&
               job.current + 1 < job.count) {
            job.start += job.heights[job.current] + preview_gap;
            ++job.current;
            job.drawn = nullptr;
        }
        int r = at - job.start;
        if (r >= job.heights[job.current]) {
            std::fill(line.begin(), line.end(), std::uint8_t{160}); // the line between pages
            return line.data();
        }
        if (!job.drawn)
            job.drawn = &(*job.page)(job.current);
        const Page& p = *job.drawn;
        // Nearest fax row for this square-pixel row.
        int src = std::min(p.rows - 1, static_cast<int>(static_cast<double>(r) * job.ydpi / x_dpi));
        for (int x = 0; x < p.width; ++x)
            line[static_cast<std::size_t>(x)] = p.black(x, src) ? 0 : 255;
    } catch (const std::exception& e) {
        if (job.error.empty())
            job.error = e.what();
        std::fill(line.begin(), line.end(), std::uint8_t{255});
    }
    return line.data();
}

} // namespace

int write_preview(const std::string& path, std::size_t count, int ydpi,
                  const std::function<int(std::size_t)>& rows,
                  const std::function<const Page&(std::size_t)>& page) {
    if (count == 0)
        throw Error(Exit::software, path, "a preview needs a page");
    PreviewJob job;
    job.count = count;
    job.ydpi = ydpi;
    job.rows = &rows;
    job.page = &page;
    int total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        job.heights.push_back(preview_rows(rows(i), ydpi));
        total += job.heights.back() + (i ? preview_gap : 0);
    }
    job.line.assign(1728, 255);
    const Module& mod = module();

    std::string dir = fs::dirname(path);
    if (dir.empty())
        dir = ".";
    std::string temp = fs::join(dir, "." + fs::basename(path) + ".XXXXXX");
    fs::Fd fd(::mkstemp(temp.data()));
    if (!fd)
        throw_errno(Exit::cantcreat, path, errno);
    struct Unlink {
        std::string path;
        bool keep = false;
        ~Unlink() {
            if (!keep)
                ::unlink(path.c_str());
        }
    } cleanup{temp};
    char err[512] = "";
    int rc = mod.png_write(fd.get(), 1728, static_cast<std::uint32_t>(total), preview_row, &job,
                           err, sizeof err);
    if (!job.error.empty())
        throw Error(Exit::software, path, job.error);
    if (rc != 0)
        throw Error(exit_of(rc), path, err);
    if (::fchmod(fd.get(), 0644) != 0)
        throw_errno(Exit::cantcreat, path, errno);
    fs::fsync_fd(fd.get(), path);
    if (::rename(temp.c_str(), path.c_str()) != 0)
        throw_errno(Exit::cantcreat, path, errno);
    cleanup.keep = true;
    fs::fsync_dir(dir);
    return total;
}

std::string image_library_version() {
    try {
        return module().version();
    } catch (const Error&) {
        return "ImageMagick (module sms-fax-image not found)";
    }
}

} // namespace sms::fax
