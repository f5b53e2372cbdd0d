// The sms-fax-image module: pictures read and scaled with Magick++, previews written with
// libpng; loaded by fax_image.cpp only when a fax has a picture or a preview is asked for.
#include "fax/fax_image_abi.h"
#include "fax/picture_sniff.hpp"

#include <Magick++.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <png.h>
#include <string>
#include <unistd.h>
#include <vector>
#include <zlib.h>

using sms::fax::sniff;
using sms::fax::Sniffed;

struct sms_fax_image {
    std::vector<Magick::Image> frames;
};

namespace {

int fail(char* err, std::size_t errlen, int code, const std::string& why) {
    if (err && errlen > 0)
        std::snprintf(err, errlen, "%s", why.c_str());
    return code;
}

// ImageMagick's message without its "magick++: " prefix and " @ error/file.c/Func/123" tail.
std::string tidy(std::string s) {
    if (auto at = s.find(" @ "); at != std::string::npos)
        s.erase(at);
    if (auto colon = s.find(": "); colon != std::string::npos && s.compare(0, 7, "Magick:") == 0)
        s.erase(0, colon + 2);
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20)
            c = ' ';
    return s;
}

// Turns what Magick++ threw into a sysexits code and a reason an administrator can act on.
int explain(const Magick::Exception& e, char* err, std::size_t errlen) {
    std::string what = tidy(e.what());
    if (dynamic_cast<const Magick::ErrorCorruptImage*>(&e) ||
        dynamic_cast<const Magick::WarningCorruptImage*>(&e))
        return fail(err, errlen, 65, "a corrupt or truncated picture: " + what);
    if (dynamic_cast<const Magick::ErrorPolicy*>(&e) ||
        what.find("security policy") != std::string::npos)
        return fail(err, errlen, 65,
                    "a format ImageMagick's security policy forbids (Debian's "
                    "/etc/ImageMagick-6/policy.xml refuses PDF, PostScript, EPS, XPS): " +
                        what);
    if (dynamic_cast<const Magick::ErrorResourceLimit*>(&e) ||
        dynamic_cast<const Magick::ErrorCache*>(&e) || what.find("limit") != std::string::npos ||
        what.find("exhausted") != std::string::npos)
        return fail(err, errlen, 65,
                    "over the resource limits ([fax] image_max_memory, image_max_disk, "
                    "image_max_area, image_max_width, image_max_height, image_max_time): " +
                        what);
    if (dynamic_cast<const Magick::ErrorMissingDelegate*>(&e))
        return fail(err, errlen, 65, "not a picture format ImageMagick reads here: " + what);
    return fail(err, errlen, 65, what);
}

void init() {
    static std::once_flag once;
    std::call_once(once, [] {
        Magick::InitializeMagick(nullptr);
        // One thread: the tools are short-lived, and OpenMP's pool costs more than it gives.
        Magick::ResourceLimits::thread(1);
    });
}

void set_limits(const sms_fax_image_limits& l) {
    using R = Magick::ResourceLimits;
    if (l.memory) {
        R::memory(l.memory);
        R::map(l.memory);
    }
    if (l.disk)
        R::disk(l.disk);
    if (l.area)
        R::area(l.area);
    if (l.width)
        R::width(l.width);
    if (l.height)
        R::height(l.height);
    if (l.time)
        MagickCore::SetMagickResourceLimit(MagickCore::TimeResource, l.time);
}

// Refuses, from the header alone, a frame larger than the limits (an image bomb: 50,000 x
// 50,000 pixels in a few kilobytes), more frames than pages, or frames whose pixel cache would
// pass the memory limits, before any pixel is decoded.
int check_size(const Sniffed& s, const sms_fax_image_limits& l, char* err, std::size_t errlen) {
    const std::uint64_t w = s.width, h = s.height;
    auto over = [&](const char* key, std::uint64_t got, std::uint64_t limit, const char* unit) {
        return fail(err, errlen, 65,
                    "a picture of " + std::to_string(w) + " x " + std::to_string(h) +
                        " pixels: " + std::to_string(got) + " " + unit + ", more than [fax] " +
                        key + " = " + std::to_string(limit));
    };
    if (l.frames && s.frames > l.frames)
        return fail(err, errlen, 65,
                    std::string(s.name) + " of " + std::to_string(s.frames) +
                        " frames, each at least a page: more than [fax] max_pages = " +
                        std::to_string(l.frames) + " (refused before decoding)");
    if (l.width && w > l.width)
        return over("image_max_width", w, l.width, "pixels wide");
    if (l.height && h > l.height)
        return over("image_max_height", h, l.height, "pixels high");
    if (l.area && w * h > l.area)
        return over("image_max_area", w * h / 1000000, l.area / 1000000, "megapixels");
    // Q16 RGBA: 8 bytes a pixel of cache for every frame, all decoded at once.
    constexpr std::uint64_t mib = 1u << 20;
    std::uint64_t cache = s.frames * w * h * 8;
    if (l.memory && cache > l.memory + l.disk)
        return fail(err, errlen, 65,
                    std::to_string(s.frames) + " frame(s) of " + std::to_string(w) + " x " +
                        std::to_string(h) + " pixels need " + std::to_string(cache / mib) +
                        " MiB of pixel cache, more than [fax] image_max_memory + image_max_disk "
                        "= " +
                        std::to_string((l.memory + l.disk) / mib) + " MiB");
    return 0;
}

} // namespace

extern "C" {

int sms_fax_image_open(const void* data, size_t size, const char* name,
                       const sms_fax_image_limits* limits, sms_fax_image** out, char* err,
                       size_t errlen) {
    *out = nullptr;
    try {
        Sniffed kind = sniff(data, size);
        if (!kind.magick)
            return fail(err, errlen, 65,
                        std::string("not a picture format sms2fax reads (PNG, JPEG, GIF, TIFF, "
                                    "BMP, PNM, WebP): ") +
                            kind.name);
        if (!kind.damage.empty())
            return fail(err, errlen, 65, kind.damage);
        init();
        set_limits(*limits);
        if (kind.width == 0 || kind.height == 0) {
            // A size the structure did not give: ImageMagick's header alone, same coder.
            Magick::Image head;
            head.quiet(true);
            head.magick(kind.magick);
            head.ping(Magick::Blob(data, size));
            kind.width = head.columns();
            kind.height = head.rows();
        }
        if (int rc = check_size(kind, *limits, err, errlen))
            return rc;
        Magick::Blob blob(data, size);
        auto img = std::make_unique<sms_fax_image>();
        Magick::ReadOptions options;
        options.quiet(true); // warnings (an unknown TIFF tag) are not failures
        // The coder sniff() chose, affirmed: ImageMagick guesses nothing from the bytes.
        MagickCore::ImageInfo* info = options.imageInfo();
        std::snprintf(info->magick, sizeof info->magick, "%s", kind.magick);
        info->affirm = MagickCore::MagickTrue;
        Magick::readImages(&img->frames, blob, options);
        if (img->frames.empty())
            return fail(err, errlen, 65,
                        "ImageMagick read no picture from it (over the [fax] image_max_* "
                        "limits?)");
        for (auto& f : img->frames) {
            f.quiet(true);
            if (f.orientation() != MagickCore::UndefinedOrientation &&
                f.orientation() != MagickCore::TopLeftOrientation)
                f.autoOrient();
            if (f.columns() == 0 || f.rows() == 0)
                return fail(err, errlen, 65, "an empty frame");
        }
        *out = img.release();
        return 0;
    } catch (const Magick::Exception& e) {
        (void)name;
        return explain(e, err, errlen);
    } catch (const std::exception& e) {
        return fail(err, errlen, 70, e.what());
    } catch (...) {
        return fail(err, errlen, 70, "unknown error");
    }
}

size_t sms_fax_image_frames(const sms_fax_image* img) {
    return img->frames.size();
}

void sms_fax_image_size(const sms_fax_image* img, size_t frame, uint32_t* width, uint32_t* rows) {
    const Magick::Image& f = img->frames.at(frame);
    *width = static_cast<uint32_t>(f.columns());
    *rows = static_cast<uint32_t>(f.rows());
}

int sms_fax_image_gray(sms_fax_image* img, size_t frame, uint32_t x, uint32_t y, uint32_t w,
                       uint32_t h, uint32_t out_w, uint32_t out_h, unsigned char* out, char* err,
                       size_t errlen) {
    try {
        Magick::Image f = img->frames.at(frame); // shares the pixels until changed
        if (x != 0 || y != 0 || w != f.columns() || h != f.rows()) {
            f.crop(Magick::Geometry(w, h, x, y));
            f.page(Magick::Geometry(0, 0, 0, 0));
        }
        if (f.matte()) {
            // Transparent parts are paper: composed over white.
            Magick::Image paper(Magick::Geometry(f.columns(), f.rows()), Magick::Color("white"));
            paper.quiet(true);
            paper.composite(f, 0, 0, MagickCore::OverCompositeOp);
            f = paper;
        }
        f.type(MagickCore::GrayscaleType);
        if (out_w != f.columns() || out_h != f.rows()) {
            Magick::Geometry g(out_w, out_h);
            g.aspect(true); // exactly this size: the fax's pixels are not square
            f.filterType(MagickCore::LanczosFilter);
            f.resize(g);
        }
        f.write(0, 0, out_w, out_h, "I", MagickCore::CharPixel, out);
        return 0;
    } catch (const Magick::Exception& e) {
        return explain(e, err, errlen);
    } catch (const std::exception& e) {
        return fail(err, errlen, 70, e.what());
    }
}

void sms_fax_image_close(sms_fax_image* img) {
    delete img;
}

namespace {

struct PngJob {
    FILE* file = nullptr;
    char message[256] = "";
    std::jmp_buf jump;
};

void png_error_fn(png_structp png, png_const_charp msg) {
    auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
    std::snprintf(job->message, sizeof job->message, "%s", msg);
    std::longjmp(job->jump, 1);
}

void png_warning_fn(png_structp, png_const_charp) {}

} // namespace

// No C++ object with a destructor lives between setjmp and longjmp here.
int sms_fax_png_write(int fd, uint32_t width, uint32_t rows, sms_fax_png_row row, void* ctx,
                      char* err, size_t errlen) {
    PngJob job;
    int dupfd = ::dup(fd);
    if (dupfd < 0 || !(job.file = ::fdopen(dupfd, "wb"))) {
        if (dupfd >= 0)
            ::close(dupfd);
        return fail(err, errlen, 73, std::strerror(errno));
    }
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, png_error_fn, png_warning_fn);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, nullptr);
        std::fclose(job.file);
        return fail(err, errlen, 70, "libpng: out of memory");
    }
    if (setjmp(job.jump)) {
        png_destroy_write_struct(&png, &info);
        std::fclose(job.file);
        return fail(err, errlen, 73, std::string("libpng: ") + job.message);
    }
    png_init_io(png, job.file);
    png_set_compression_level(png, Z_BEST_SPEED);
    png_set_IHDR(png, info, width, rows, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Square pixels at 204 dpi: 8031 pixels per metre.
    png_set_pHYs(png, info, 8031, 8031, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    for (uint32_t y = 0; y < rows; ++y)
        png_write_row(png, const_cast<png_bytep>(row(ctx, y)));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (std::fflush(job.file) != 0 || std::ferror(job.file)) {
        int e = errno;
        std::fclose(job.file);
        return fail(err, errlen, 73, std::strerror(e));
    }
    std::fclose(job.file);
    return 0;
}

const char* sms_fax_image_version(void) {
    static const std::string v = [] {
        std::size_t n = 0;
        std::string im = MagickCore::GetMagickVersion(&n); // "ImageMagick 6.9.11-60 Q16 x86_64 ..."
        auto cut = im.find(' ', im.find(' ', im.find(' ') + 1) + 1);
        return im.substr(0, cut) + ", libpng " + PNG_LIBPNG_VER_STRING;
    }();
    return v.c_str();
}

} // extern "C"
