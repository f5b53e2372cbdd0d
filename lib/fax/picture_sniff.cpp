// The picture structure scanner (picture_sniff.hpp): PNG, GIF, TIFF, JPEG, BMP, PNM and WebP
// walked chunk by chunk, frames counted and truncation named, over bytes alone.
#include "fax/picture_sniff.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace sms::fax {

namespace {

struct Bytes {
    const unsigned char* d;
    std::size_t n;
    bool has(std::size_t at, std::size_t len) const { return at <= n && len <= n - at; }
    std::uint64_t be16(std::size_t at) const { return std::uint64_t{d[at]} << 8 | d[at + 1]; }
    std::uint64_t be32(std::size_t at) const { return be16(at) << 16 | be16(at + 2); }
    std::uint64_t le16(std::size_t at) const { return d[at] | std::uint64_t{d[at + 1]} << 8; }
    std::uint64_t le24(std::size_t at) const { return le16(at) | std::uint64_t{d[at + 2]} << 16; }
    std::uint64_t le32(std::size_t at) const { return le16(at) | le16(at + 2) << 16; }
    bool is(std::size_t at, const char* sig, std::size_t len) const {
        return has(at, len) && std::memcmp(d + at, sig, len) == 0;
    }
};

void sniff_png(const Bytes& b, Sniffed& s) {
    s.magick = "PNG";
    s.name = "PNG";
    if (!b.has(8, 25) || !b.is(12, "IHDR", 4)) {
        s.damage = "truncated PNG: it ends before its header (IHDR)";
        return;
    }
    s.width = b.be32(16);
    s.height = b.be32(20);
    // Every chunk (length, type, data, CRC) must fit, up to IEND.
    std::size_t at = 8;
    while (b.has(at, 12)) {
        std::uint64_t len = b.be32(at);
        if (b.is(at + 4, "IEND", 4))
            return;
        if (!b.has(at + 12, len)) {
            break;
        }
        at += 12 + len;
    }
    s.damage = "truncated PNG: it ends inside its image data (no IEND chunk)";
}

void sniff_gif(const Bytes& b, Sniffed& s) {
    s.magick = "GIF";
    s.name = "GIF";
    s.frames = 0;
    if (!b.has(0, 13)) {
        s.damage = "truncated GIF: it ends inside its header";
        return;
    }
    s.width = b.le16(6);
    s.height = b.le16(8);
    std::size_t at = 13;
    if (b.d[10] & 0x80)
        at += 3u << ((b.d[10] & 7) + 1);
    auto skip_sub_blocks = [&]() {
        while (b.has(at, 1)) {
            std::size_t len = b.d[at];
            at += 1 + len;
            if (len == 0)
                return at <= b.n;
        }
        return false;
    };
    while (b.has(at, 1)) {
        unsigned char c = b.d[at];
        if (c == 0x3B)
            return; // the trailer
        if (c == 0x21) {
            at += 2;
            if (!skip_sub_blocks())
                break;
        } else if (c == 0x2C) {
            if (!b.has(at, 10))
                break;
            std::uint64_t right = b.le16(at + 1) + b.le16(at + 5);
            std::uint64_t bottom = b.le16(at + 3) + b.le16(at + 7);
            s.width = std::max(s.width, right);
            s.height = std::max(s.height, bottom);
            unsigned packed = b.d[at + 9];
            at += 10;
            if (packed & 0x80)
                at += 3u << ((packed & 7) + 1);
            at += 1; // LZW minimum code size
            ++s.frames;
            if (!skip_sub_blocks())
                break;
        } else {
            s.damage = "corrupt GIF: an unknown block where a frame or the trailer should be";
            return;
        }
    }
    // A GIF without its trailer but whole frames is common enough; a frame cut short is not.
    if (at > b.n || s.frames == 0)
        s.damage = "truncated GIF: it ends inside a frame";
}

void sniff_tiff(const Bytes& b, Sniffed& s) {
    s.magick = "TIFF";
    s.name = "TIFF";
    s.frames = 0;
    bool le = b.d[0] == 'I';
    auto u16 = [&](std::size_t at) { return le ? b.le16(at) : b.be16(at); };
    auto u32 = [&](std::size_t at) { return le ? b.le32(at) : b.be32(at); };
    if (!b.has(0, 8)) {
        s.damage = "truncated TIFF: it ends inside its header";
        return;
    }
    std::uint64_t ifd = u32(4);
    std::vector<std::uint64_t> seen;
    while (ifd != 0) {
        if (std::find(seen.begin(), seen.end(), ifd) != seen.end()) {
            s.damage = "corrupt TIFF: its directories form a loop";
            return;
        }
        seen.push_back(ifd);
        if (!b.has(ifd, 2) || !b.has(ifd + 2, u16(ifd) * 12 + 4)) {
            s.damage = "truncated TIFF: a directory lies past the end of the file";
            return;
        }
        std::uint64_t entries = u16(ifd);
        std::uint64_t w = 0, h = 0, strip_end = 0;
        std::uint64_t offsets_type = 0, offsets_count = 0, offsets_at = 0;
        std::uint64_t counts_type = 0, counts_count = 0, counts_at = 0;
        for (std::uint64_t i = 0; i < entries; ++i) {
            std::size_t e = ifd + 2 + i * 12;
            std::uint64_t tag = u16(e), type = u16(e + 2), count = u32(e + 4);
            std::uint64_t value = type == 3 ? u16(e + 8) : u32(e + 8);
            if (tag == 256)
                w = value;
            else if (tag == 257)
                h = value;
            else if (tag == 273 || tag == 324) {
                offsets_type = type;
                offsets_count = count;
                offsets_at = e + 8;
            } else if (tag == 279 || tag == 325) {
                counts_type = type;
                counts_count = count;
                counts_at = e + 8;
            }
        }
        // The last strip's (or tile's) end: where this frame's data ends.
        if (offsets_count > 0 && offsets_count == counts_count) {
            auto item = [&](std::uint64_t type, std::uint64_t count, std::size_t at,
                            std::uint64_t k) -> std::uint64_t {
                std::size_t size = type == 3 ? 2 : 4;
                std::size_t where = count * size <= 4 ? at : u32(at);
                where += k * size;
                if (!b.has(where, size))
                    return UINT64_MAX;
                return size == 2 ? u16(where) : u32(where);
            };
            for (std::uint64_t k = 0; k < offsets_count; ++k) {
                std::uint64_t off = item(offsets_type, offsets_count, offsets_at, k);
                std::uint64_t len = item(counts_type, counts_count, counts_at, k);
                if (off == UINT64_MAX || len == UINT64_MAX) {
                    strip_end = UINT64_MAX;
                    break;
                }
                strip_end = std::max(strip_end, off + len);
            }
        }
        if (strip_end > b.n) {
            s.damage = "truncated TIFF: its image data ends past the end of the file";
            return;
        }
        s.width = std::max(s.width, w);
        s.height = std::max(s.height, h);
        ++s.frames;
        if (s.frames > 100000) {
            s.damage = "corrupt TIFF: more than 100000 directories";
            return;
        }
        ifd = u32(ifd + 2 + entries * 12);
    }
}

void sniff_jpeg(const Bytes& b, Sniffed& s) {
    s.magick = "JPEG";
    s.name = "JPEG";
    // The first start-of-frame marker (SOF0-SOF15 but DHT, JPG and DAC), then the scan.
    std::size_t at = 2;
    bool scan = false;
    while (b.has(at, 4) && b.d[at] == 0xFF) {
        unsigned m = b.d[at + 1];
        if (m == 0xFF) {
            ++at;
            continue;
        }
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            at += 2;
            continue;
        }
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && b.has(at, 9)) {
            s.height = b.be16(at + 5);
            s.width = b.be16(at + 7);
        }
        if (m == 0xDA) {
            scan = true;
            break;
        }
        at += 2 + b.be16(at + 2);
    }
    if (!scan || s.width == 0) {
        s.damage = "truncated or corrupt JPEG: it ends before its first scan";
        return;
    }
    // The end-of-image marker after the scan (trailing bytes after it are common).
    for (std::size_t i = b.n; i-- > at + 1;)
        if (b.d[i - 1] == 0xFF && b.d[i] == 0xD9)
            return;
    s.damage = "truncated JPEG: it ends inside its image data (no end-of-image marker)";
}

void sniff_bmp(const Bytes& b, Sniffed& s) {
    s.magick = "BMP";
    s.name = "BMP";
    if (!b.has(0, 34)) {
        s.damage = "truncated BMP: it ends inside its header";
        return;
    }
    s.width = b.le32(18);
    auto rows = static_cast<std::int32_t>(b.le32(22));
    s.height = static_cast<std::uint64_t>(rows < 0 ? -static_cast<std::int64_t>(rows) : rows);
    std::uint64_t bits = b.le16(28), compression = b.le32(30), data = b.le32(10);
    if (compression == 0 && bits > 0 && bits <= 32) {
        std::uint64_t row_bytes = (s.width * bits + 31) / 32 * 4;
        if (data + row_bytes * s.height > b.n)
            s.damage = "truncated BMP: it ends inside its pixels";
    }
}

void sniff_pnm(const Bytes& b, Sniffed& s) {
    s.magick = "PNM";
    s.name = "PNM";
    char kind = static_cast<char>(b.d[1]);
    // The header: width, height and (but for bitmaps) the largest value, with # comments.
    std::size_t at = 2;
    std::uint64_t v[3] = {0, 0, 0};
    int need = kind == '1' || kind == '4' ? 2 : 3;
    for (int k = 0; k < need; ++k) {
        for (;;) {
            while (at < b.n && std::isspace(b.d[at]))
                ++at;
            if (at < b.n && b.d[at] == '#') {
                while (at < b.n && b.d[at] != '\n')
                    ++at;
                continue;
            }
            break;
        }
        if (at >= b.n || !std::isdigit(b.d[at])) {
            s.damage = "truncated or corrupt PNM: its header is incomplete";
            return;
        }
        while (at < b.n && std::isdigit(b.d[at]) && v[k] < (1ull << 40))
            v[k] = v[k] * 10 + (b.d[at++] - '0');
    }
    s.width = v[0];
    s.height = v[1];
    ++at;                                      // the one blank before raw pixels
    std::uint64_t sample = v[2] > 255 ? 2 : 1; // bitmaps: no largest value, v[2] stays 0
    std::uint64_t need_bytes = kind == '4'   ? (s.width + 7) / 8 * s.height
                               : kind == '5' ? s.width * s.height * sample
                               : kind == '6' ? s.width * s.height * 3 * sample
                                             : 0;
    if (need_bytes > 0 && (at > b.n || b.n - at < need_bytes))
        s.damage = "truncated PNM: it ends inside its pixels";
}

void sniff_webp(const Bytes& b, Sniffed& s) {
    s.magick = "WEBP";
    s.name = "WebP";
    s.frames = 0;
    if (b.le32(4) + 8 > b.n) {
        s.damage = "truncated WebP: it ends before its RIFF size says";
        return;
    }
    std::size_t at = 12;
    bool image = false;
    while (b.has(at, 8)) {
        std::uint64_t len = b.le32(at + 4);
        if (b.is(at, "VP8X", 4) && b.has(at, 18)) {
            // 24-bit canvas width and height minus one: the height's are the chunk's last bytes.
            s.width = b.le24(at + 12) + 1;
            s.height = b.le24(at + 15) + 1;
        } else if (b.is(at, "ANMF", 4)) {
            ++s.frames;
        } else if (b.is(at, "VP8 ", 4) && b.has(at, 18)) {
            image = true;
            if (s.width == 0) {
                s.width = b.le16(at + 14) & 0x3FFF;
                s.height = b.le16(at + 16) & 0x3FFF;
            }
        } else if (b.is(at, "VP8L", 4) && b.has(at, 13)) {
            image = true;
            if (s.width == 0) {
                std::uint64_t bits = b.le32(at + 9);
                s.width = (bits & 0x3FFF) + 1;
                s.height = ((bits >> 14) & 0x3FFF) + 1;
            }
        }
        if (!b.has(at + 8, len)) {
            s.damage = "truncated WebP: it ends inside a chunk";
            return;
        }
        at += 8 + len + (len & 1);
    }
    if (s.frames == 0 && image)
        s.frames = 1;
    if (s.frames == 0)
        s.damage = "corrupt WebP: no image in it";
}

// What a refused file looks like, for the message.
const char* looks_like(const Bytes& b) {
    std::size_t at = 0;
    if (b.is(0, "\xEF\xBB\xBF", 3))
        at = 3;
    while (at < b.n && std::isspace(b.d[at]))
        ++at;
    std::string head(reinterpret_cast<const char*>(b.d) + at, std::min<std::size_t>(b.n - at, 512));
    for (char& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head.find("<svg") != std::string::npos ||
        (head.starts_with("<") && head.find("svg") != std::string::npos))
        return "an SVG picture (refused: its references could read other files)";
    if (head.starts_with("<"))
        return "XML or HTML";
    if (head.starts_with("%pdf"))
        return "a PDF document";
    if (head.starts_with("%!"))
        return "PostScript";
    if (b.is(0, "II+\0", 4) || b.is(0, "MM\0+", 4))
        return "a BigTIFF file";
    if (b.n == 0)
        return "an empty file";
    return "not a picture format it knows";
}

} // namespace

Sniffed sniff(const void* data, std::size_t size) {
    Bytes b{static_cast<const unsigned char*>(data), size};
    Sniffed s;
    if (b.is(0, "\x89PNG\r\n\x1a\n", 8))
        sniff_png(b, s);
    else if (b.is(0, "GIF87a", 6) || b.is(0, "GIF89a", 6))
        sniff_gif(b, s);
    else if (b.is(0, "II*\0", 4) || b.is(0, "MM\0*", 4))
        sniff_tiff(b, s);
    else if (b.is(0, "\xFF\xD8\xFF", 3))
        sniff_jpeg(b, s);
    else if (b.is(0, "BM", 2))
        sniff_bmp(b, s);
    else if (b.has(0, 3) && b.d[0] == 'P' && b.d[1] >= '1' && b.d[1] <= '6' && std::isspace(b.d[2]))
        sniff_pnm(b, s);
    else if (b.is(0, "RIFF", 4) && b.is(8, "WEBP", 4))
        sniff_webp(b, s);
    else
        s.name = looks_like(b);
    return s;
}

} // namespace sms::fax
