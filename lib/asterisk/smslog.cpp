// app_sms's log: parsing its lines (broken and glued ones too) and reading it incrementally.
#include "asterisk/smslog.hpp"

#include "util/fsutil.hpp"
#include "util/hex.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

namespace sms::smslog {

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}
bool hexdigit(char c) {
    return digit(c) || (c >= 'A' && c <= 'F');
}
unsigned hexval(char c) {
    return digit(c) ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'A' + 10);
}

// "YYYY-MM-DDTHH:MM:SS " then the flags ("YOS", "?OS12"...) and a blank: the length of this
// head at `i`, or 0.
std::size_t head_at(std::string_view d, std::size_t i) {
    if (i + 24 > d.size())
        return 0;
    static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd ";
    for (std::size_t k = 0; k < shape.size(); ++k) {
        char c = d[i + k];
        if (shape[k] == 'd' ? !digit(c) : c != shape[k])
            return 0;
    }
    std::size_t p = i + 20;
    char st = d[p], dir = d[p + 1], mode = d[p + 2];
    if ((st != 'Y' && st != 'N' && st != '?') || (dir != 'O' && dir != 'I') ||
        (mode != 'S' && mode != 'M'))
        return 0;
    p += 3;
    if (p + 2 < d.size() && hexdigit(d[p]) && hexdigit(d[p + 1]))
        p += 2;
    if (p >= d.size() || d[p] != ' ')
        return 0;
    return p + 1 - i;
}

// Whether `t` is the privacy form alone: "udl=" and digits (app_sms's option n).
bool udl_form(std::string_view t) {
    if (!t.starts_with("udl=") || t.size() < 5 || t.size() > 9)
        return false;
    for (char c : t.substr(4))
        if (!digit(c))
            return false;
    return true;
}

// The three fields after a head (queue, oa, da) within [p, line_end): where the text begins,
// or npos when the line has fewer than three blanks (no record app_sms wrote).
std::size_t fields(std::string_view d, std::size_t p, std::size_t line_end,
                   std::string_view (&out)[3]) {
    for (auto& f : out) {
        auto sp = d.find(' ', p);
        if (sp == std::string_view::npos || sp >= line_end)
            return std::string_view::npos;
        f = d.substr(p, sp - p);
        p = sp + 1;
    }
    return p;
}

std::string dash(std::string_view f) {
    return f == "-" ? std::string() : std::string(f);
}

std::string hex(std::string_view s) {
    return hex::of(s, false);
}

// pread until `len` bytes or the end of the file.
std::string read_at(int fd, std::uint64_t pos, std::uint64_t len) {
    std::string out;
    out.resize(static_cast<std::size_t>(len));
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(pos + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

// Reads [pos, end of whole lines) of an open file; returns the records and sets `consumed`.
void read_lines(int fd, std::uint64_t pos, std::uint64_t size, std::uint64_t ino,
                const std::vector<Expected>& expected, std::uint64_t max_bytes, ReadResult& rr,
                std::uint64_t& consumed) {
    consumed = 0;
    if (size <= pos)
        return;
    std::string data = read_at(fd, pos, std::min(size - pos, max_bytes));
    // app_sms writes each line with one write(): what follows the last line feed is taken now
    // only when it is the suite's own text cut by a NUL (no newline written, the next line will
    // be glued on); anything else there is left for next time (a line being written, or a
    // sender's text cut by a NUL, whose glued successor then cannot be told from its text).
    auto records = parse(data, pos, ino, expected);
    auto nl = data.rfind('\n');
    if (!data.empty() && data.back() != '\n' && !records.empty() && records.back().own &&
        records.back().cut && records.back().offset + records.back().size == pos + data.size()) {
        consumed = data.size();
    } else {
        if (nl == std::string::npos)
            return; // no whole line yet
        data.resize(nl + 1);
        records = parse(data, pos, ino, expected);
        consumed = data.size();
    }
    for (auto& r : records)
        rr.records.push_back(std::move(r));
}

Cursor cursor_at(int fd, const struct stat& st, std::uint64_t pos) {
    Cursor c;
    c.dev = st.st_dev;
    c.ino = st.st_ino;
    c.pos = pos;
    std::uint64_t from = pos > 32 ? pos - 32 : 0;
    c.tail = read_at(fd, from, pos - from);
    return c;
}

// A rotated file beside `path` with the cursor's inode (sms.1, sms-20261202, sms.old...).
std::string find_rotated(const std::string& path, const Cursor& c) {
    std::string dir = fs::dirname(path), base = fs::basename(path);
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return {};
    std::string found;
    while (struct dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == base || !n.starts_with(base))
            continue;
        struct stat st;
        std::string p = fs::join(dir, std::string(n));
        if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == c.ino &&
            static_cast<std::uint64_t>(st.st_dev) == c.dev) {
            found = p;
            break;
        }
    }
    ::closedir(d);
    return found;
}

} // namespace

std::vector<Record> parse(std::string_view d, std::uint64_t base, std::uint64_t ino,
                          const std::vector<Expected>& expected) {
    std::vector<Record> out;
    std::unordered_multimap<std::string_view, const Expected*> by_queue;
    for (const auto& e : expected)
        by_queue.emplace(e.queue, &e);
    std::size_t i = 0;
    bool sure = true; // app_sms began a line at i
    while (i < d.size()) {
        auto nl = d.find('\n', i);
        const std::size_t line_end = nl == std::string_view::npos ? d.size() : nl;
        const std::size_t head = head_at(d, i);
        std::string_view f[3];
        const std::size_t text = head ? fields(d, i + head, line_end, f) : std::string_view::npos;
        if (text == std::string_view::npos) {
            // No record: the rest of a text broken by a raw line feed, or foreign. What comes
            // next may still be a sender's text.
            i = line_end + 1;
            sure = false;
            continue;
        }
        Record r;
        r.time = std::string(d.substr(i, 19));
        r.status = d[i + 20];
        r.dir = d[i + 21];
        r.mode = d[i + 22];
        if (head == 26)
            r.mr = hexval(d[i + 23]) * 16 + hexval(d[i + 24]);
        r.queue = dash(f[0]);
        r.oa = dash(f[1]);
        r.da = dash(f[2]);
        r.anchored = sure;
        r.offset = base + i;
        r.ino = ino;
        // The suite's own line: its whole text is known, raw line feeds and NUL cut included.
        const Expected* own = nullptr;
        std::size_t end = 0;
        for (auto [b, en] = by_queue.equal_range(f[0]); b != en; ++b) {
            const Expected& e = *b->second;
            const bool centre = r.dir == 'O' && r.mode == 'S' && e.da == r.da;
            const bool phone = r.dir == 'I' && r.mode == 'M' && f[2] == "-";
            if (!(centre || phone) || e.queue != r.queue || e.oa != r.oa ||
                !d.substr(text).starts_with(e.text))
                continue;
            const std::size_t at = text + e.text.size();
            const bool fits =
                e.cut ? at == d.size() || head_at(d, at) != 0 : at < d.size() && d[at] == '\n';
            if (fits && (!own || e.text.size() > own->text.size())) {
                own = &e;
                end = at;
            }
        }
        bool next_sure;
        if (own) {
            r.own = true;
            r.cut = own->cut;
            r.text = own->text;
            r.size = end - (r.offset - base);
            i = own->cut ? end : end + 1;
            next_sure = sure;
        } else {
            r.text = std::string(d.substr(text, line_end - text));
            r.size = line_end - (r.offset - base);
            i = line_end + 1;
            // A text could have gone on after a raw line feed: only the privacy form surely
            // ended at this one.
            next_sure = sure && udl_form(r.text);
        }
        if (udl_form(r.text)) {
            unsigned n = 0;
            for (char c : std::string_view(r.text).substr(4))
                n = n * 10 + static_cast<unsigned>(c - '0');
            r.udl = n;
        }
        out.push_back(std::move(r));
        sure = next_sure;
    }
    return out;
}

std::string render(const std::u16string& units) {
    std::string out;
    for (char16_t u : units) {
        if (u == '\\') {
            out += "\\\\";
        } else if (u == '\n') {
            out += "\\n";
        } else if (u == '\r') {
            out += "\\r";
        } else if (u < 0x20 || u == 0x7F) {
            out.push_back(static_cast<char>(0xBF));
        } else if ((u & 0xFF) == 0) {
            break; // a NUL byte ends app_sms's line there
        } else {
            out.push_back(static_cast<char>(u & 0xFF));
        }
    }
    return out;
}

bool cut_by_nul(const std::u16string& units) {
    for (char16_t u : units)
        if (u > 0xFF && (u & 0xFF) == 0)
            return true;
    return false;
}

ReadResult read_new(const std::string& path, const Cursor& from,
                    const std::vector<Expected>& expected, std::uint64_t max_bytes) {
    ReadResult rr;
    rr.next = from;
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        rr.readable = false;
        rr.error = fmt::format("{}: {}", path, std::strerror(errno));
        return rr;
    }
    if (!S_ISREG(st.st_mode)) {
        rr.readable = false;
        rr.error = fmt::format("{}: not a regular file", path);
        return rr;
    }
    const auto ino = static_cast<std::uint64_t>(st.st_ino);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    rr.current_ino = ino;
    std::uint64_t start = 0;
    if (from.ino == ino && from.dev == static_cast<std::uint64_t>(st.st_dev)) {
        // The same file: go on, unless it was truncated (and maybe written again since).
        std::uint64_t tail_from = from.pos > from.tail.size() ? from.pos - from.tail.size() : 0;
        if (size < from.pos || read_at(fd.get(), tail_from, from.pos - tail_from) != from.tail) {
            rr.notes.push_back(fmt::format("{} was truncated: read again from its start", path));
            start = 0;
        } else {
            start = from.pos;
        }
    } else if (from.ino != 0) {
        // Rotated: the rest of the old file first, when it is still there.
        std::string old = find_rotated(path, from);
        fs::Fd ofd;
        if (!old.empty())
            ofd = fs::Fd(::open(old.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
        struct stat ost {};
        if (ofd && ::fstat(ofd.get(), &ost) == 0) {
            std::uint64_t consumed = 0;
            std::uint64_t opos = static_cast<std::uint64_t>(ost.st_size) < from.pos ? 0 : from.pos;
            read_lines(ofd.get(), opos, static_cast<std::uint64_t>(ost.st_size), from.ino, expected,
                       max_bytes, rr, consumed);
            rr.notes.push_back(fmt::format("{} was rotated: read the rest of {}", path, old));
        } else {
            rr.notes.push_back(fmt::format(
                "{} was rotated and the old file is gone: lines written to it since the last "
                "run are lost",
                path));
        }
    }
    std::uint64_t consumed = 0;
    read_lines(fd.get(), start, size, ino, expected, max_bytes, rr, consumed);
    rr.next = cursor_at(fd.get(), st, start + consumed);
    return rr;
}

Mark mark_now(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
        return {};
    return {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size)};
}

bool after(const Record& r, const Mark& m, std::uint64_t current_ino) {
    if (m.ino == 0)
        return true;
    if (r.ino == m.ino)
        return r.offset >= m.pos;
    // Another file than the mark's: the current one is newer than any mark not in it; an older
    // (rotated) file is older than a mark in the current one.
    return m.ino != current_ino;
}

std::string format_cursor(const Cursor& c) {
    return fmt::format("dev={} ino={} pos={} tail={}\n", c.dev, c.ino, c.pos, hex(c.tail));
}

std::optional<Cursor> parse_cursor(std::string_view s) {
    Cursor c;
    int seen = 0;
    while (!s.empty()) {
        auto sp = s.find_first_of(" \n");
        std::string_view w = s.substr(0, sp);
        s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
        auto eq = w.find('=');
        if (eq == std::string_view::npos)
            continue;
        std::string_view k = w.substr(0, eq), v = w.substr(eq + 1);
        auto num = [&](std::uint64_t& out) {
            std::uint64_t n = 0;
            if (v.empty())
                return false;
            for (char ch : v) {
                if (!digit(ch))
                    return false;
                n = n * 10 + static_cast<std::uint64_t>(ch - '0');
            }
            out = n;
            return true;
        };
        if (k == "dev" && num(c.dev))
            seen |= 1;
        else if (k == "ino" && num(c.ino))
            seen |= 2;
        else if (k == "pos" && num(c.pos))
            seen |= 4;
        else if (k == "tail") {
            auto t = hex::decode(v);
            if (!t)
                return std::nullopt;
            c.tail = *t;
            seen |= 8;
        }
    }
    if (seen != 15)
        return std::nullopt;
    return c;
}

} // namespace sms::smslog
