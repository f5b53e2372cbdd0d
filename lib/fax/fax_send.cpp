// fax: sms2fax's job, from a text to a fax file and the call that sends it.
#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/calls.hpp"
#include "directory/directory.hpp"
#include "fax/fax.hpp"
#include "fax/fax_image.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hash.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <cstdint>
#include <fmt/format.h>
#include <unistd.h>

namespace sms::fax {

namespace {

// A number as it may appear in a file name: no path can be formed from input.
std::string name_part(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= 32)
            break;
        bool ok =
            (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+';
        out.push_back(ok ? c : '_');
    }
    return out.empty() ? "unknown" : out;
}

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/')
        return path;
    std::string cwd(4096, '\0');
    while (::getcwd(cwd.data(), cwd.size()) == nullptr) {
        if (errno != ERANGE)
            throw_errno(Exit::oserr, "current folder", errno);
        cwd.resize(cwd.size() * 2);
    }
    cwd.resize(std::char_traits<char>::length(cwd.c_str()));
    return fs::join(cwd, path);
}

std::string channel_for(const Config& cfg, const Options& opt) {
    if (opt.extension) {
        if (opt.extension->empty())
            throw Error(Exit::usage, "--extension", "empty channel");
        return *opt.extension;
    }
    auto dir = directory::open(cfg.directory);
    directory::Lookup l = dir->lookup(opt.to);
    switch (l.status) {
    case directory::Lookup::Status::found:
        if (l.entry.channel.empty())
            throw Error(Exit::dataerr, opt.to, "the directory gives no channel for this number");
        return l.entry.channel;
    case directory::Lookup::Status::not_found:
        throw Error(Exit::dataerr, opt.to, "number not in the directory (give --extension)");
    case directory::Lookup::Status::unavailable:
        break;
    }
    throw Error(Exit::tempfail, "directory", l.why.empty() ? "unavailable" : l.why);
}

// Refuses, before decoding, a text that cannot fit on max_pages pages: more line breaks than
// lines, or more characters than cells (four times over, for runs of spaces that vanish at line
// breaks). It bounds the memory a huge input (tabs expand eightfold) could take.
void check_length(const FaxConfig& fc, const Geometry& geo, std::string_view text) {
    if (fc.max_pages <= 0)
        return;
    const std::size_t pages = static_cast<std::size_t>(fc.max_pages);
    std::size_t breaks = 0, chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\n' || c == '\f' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')))
            ++breaks;
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
            ++chars;
    }
    if (breaks > pages * geo.lines_per_page || chars > 4 * pages * geo.lines_per_page * geo.columns)
        throw Error(Exit::dataerr, "text",
                    fmt::format("needs more than [fax] max_pages = {} fax pages", fc.max_pages));
}

// Once per fax: the characters no font has (drawn as U+FFFD).
void log_missing(std::string_view to, const std::vector<char32_t>& missing) {
    if (missing.empty())
        return;
    std::string list;
    for (std::size_t i = 0; i < missing.size() && i < 10; ++i)
        list += fmt::format("{}U+{:04X}", i ? " " : "", static_cast<std::uint32_t>(missing[i]));
    if (missing.size() > 10)
        list += " ...";
    log::warning("fax for {}: {} character(s) in no font ([fax] font, fallback_fonts), drawn as "
                 "U+FFFD: {}",
                 to, missing.size(), list);
}

// The cover page's lines: the header, a rule as wide as it, the text.
std::vector<std::u32string> cover_lines(const Config& cfg, const Geometry& geo, const Options& opt,
                                        const Time& when) {
    check_length(cfg.fax, geo, opt.text);
    // A message with no oa= (an unknown sender) says so in the header.
    std::string header = header_line(
        cfg.fax, opt.from.empty() ? std::string_view(cfg.texts.unknown_sender) : opt.from, when,
        opt.mr);
    std::vector<std::u32string> lines = wrap(header, geo.columns);
    std::size_t header_cells = 0;
    for (const auto& l : lines)
        for (char32_t c : l)
            header_cells += c == U'\f' ? 0 : static_cast<std::size_t>(cells(c));
    for (auto& l : wrap(std::string(header_cells, '-'), geo.columns))
        lines.push_back(std::move(l));
    for (auto& l : wrap(opt.text, geo.columns))
        lines.push_back(std::move(l));
    return lines;
}

// The TIFF (unless only a preview is asked for) and the preview, one page in memory at a time:
// drawn, encoded, then its buffer is drawn over.
void write_files(const Config& cfg, const Options& opt, Document& doc, const Time& when,
                 Result& result) {
    auto page = [&](std::size_t i) -> const Page& { return doc.page(i); };
    result.pages = static_cast<int>(doc.pages());
    const bool want_tiff = !opt.preview || opt.output || !opt.no_call;
    if (want_tiff && opt.output) {
        // The router's form: the same input overwrites the same file, atomically.
        result.tiff_path = write_tiff(*opt.output, doc.pages(), doc.y_dpi(), page);
    } else if (want_tiff) {
        fs::make_dirs(cfg.fax.dir);
        std::string name = fmt::format("fax-{}-{}-{:04}{:02}{:02}-{:02}{:02}{:02}.tiff",
                                       name_part(opt.from), name_part(opt.to), when.year,
                                       when.month, when.day, when.hour, when.minute, when.second);
        result.tiff_path =
            write_tiff(fs::join(cfg.fax.dir, name), doc.pages(), doc.y_dpi(), page, true);
    }
    if (want_tiff)
        log::info("fax for {}: {} page(s) written to {}", opt.to, result.pages, result.tiff_path);
    if (opt.preview) {
        write_preview(
            *opt.preview, doc.pages(), doc.y_dpi(), [&](std::size_t i) { return doc.rows(i); },
            page);
        result.preview_path = *opt.preview;
        log::info("fax for {}: preview of {} page(s) written to {}", opt.to, result.pages,
                  *opt.preview);
    }
}

// The SendFax call of the TIFF written; the TIFF removed when the call cannot be queued.
void queue_call(const Config& cfg, const Options& opt, const std::string& channel, Result& result) {
    // Asterisk reads the TIFF long after we exit, from its own working folder.
    std::string tiff = absolute(result.tiff_path);
    std::string base = fs::basename(tiff);
    std::string stem = base.substr(0, base.rfind('.'));
    std::string name = opt.output
                           ? fmt::format("fax-{}-{:08x}.call", name_part(stem), hash::fnv1a32(tiff))
                           : fmt::format("{}.call", stem);
    auto cf = callfile::fax_delivery(cfg, channel, tiff);
    std::optional<std::string> queued;
    try {
        queued = callfile::queue(cfg.general.spool_dir, name, cf);
    } catch (...) {
        // No TIFF without its call: a rerun renders both again.
        ::unlink(result.tiff_path.c_str());
        throw;
    }
    result.call_path = queued ? *queued : fs::join(cfg.outgoing_dir(), name);
    log::info("fax call to {} queued as {}", channel, *result.call_path);
}

} // namespace

Result send(const Config& cfg, const Options& opt) {
    // Numbers as everywhere (an empty --from: an unknown sender).
    if (!opt.from.empty())
        spool::check_number("--from", opt.from);
    spool::check_number("--to", opt.to);
    FaxResolution res = cfg.fax.resolution;
    if (opt.resolution) {
        auto r = parse_resolution(*opt.resolution);
        if (!r)
            throw Error(Exit::usage, "--resolution",
                        fmt::format("'{}' is not standard, fine or superfine", *opt.resolution));
        res = *r;
    }
    Time when = now_local();
    if (opt.scts) {
        auto t = parse_time(*opt.scts);
        if (!t)
            throw Error(Exit::usage, "--scts",
                        fmt::format("'{}' is not YYYY-MM-DDTHH:MM:SS", *opt.scts));
        when = *t;
    }
    if (opt.output && opt.output->empty())
        throw Error(Exit::usage, "--output", "empty file name");

    if (!opt.cover && opt.images.empty())
        throw Error(Exit::usage, "fax", "nothing to fax: no text and no picture");
    if (opt.preview && opt.preview->empty())
        throw Error(Exit::usage, "--preview", "empty file name");
    Document doc(cfg.fax, res);
    Renderer& renderer = doc.renderer();
    if (opt.cover)
        doc.set_cover(cover_lines(cfg, renderer.geometry(), opt, when));
    for (const auto& image : opt.images)
        doc.add_picture(image);

    // The channel and the path the call names before any file: an unknown number or a path the
    // dialplan would split must not leave a fax behind.
    std::string channel;
    if (!opt.no_call) {
        if (opt.output && callfile::splits_arguments(absolute(*opt.output)))
            throw Error(Exit::usage, fmt::format("--output '{}'", text::shown(*opt.output)),
                        "a ',' or '&' in the path would split SendFax's arguments");
        channel = channel_for(cfg, opt);
        // The call checked (a bad channel refused) before a page is drawn.
        callfile::validate(callfile::fax_delivery(
            cfg, channel, absolute(opt.output ? *opt.output : fs::join(cfg.fax.dir, "x.tiff"))));
    }

    Result result;
    write_files(cfg, opt, doc, when, result);
    log_missing(opt.to, renderer.missing());
    if (!opt.no_call)
        queue_call(cfg, opt, channel, result);
    return result;
}

} // namespace sms::fax
