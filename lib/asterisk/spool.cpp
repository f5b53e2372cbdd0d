// The app_sms message file format: reader and writer (SPEC 3).
#include "asterisk/spool.hpp"

#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hex.hpp"
#include "util/text.hpp"
#include "util/utf8.hpp"

#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace sms::spool {

namespace {

constexpr std::size_t max_file_size = max_file_bytes;

std::optional<std::vector<std::uint8_t>> unhex(std::string_view s) {
    auto bytes = hex::decode(s);
    if (!bytes)
        return std::nullopt;
    std::vector<std::uint8_t> out(bytes->begin(), bytes->end());
    return out;
}

std::string hex(const std::vector<std::uint8_t>& bytes) {
    return hex::of({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::optional<int> to_int(std::string_view v) {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 0)
        return std::nullopt;
    return n;
}

// Control characters would end a line of the file: such texts are written as hex.
bool needs_hex(std::u32string_view text) {
    for (char32_t c : text)
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029 ||
            c >= 0x10000)
            return true;
    return false;
}

} // namespace

std::optional<Concat> Message::concat() const {
    // total >= 2 and 1 <= seq <= total, else the element is ignored (a single message).
    auto sane = [](unsigned total, unsigned seq) { return total >= 2 && seq >= 1 && seq <= total; };
    for (const auto& ie : udh) {
        if (ie.id == 0x00 && ie.data.size() == 3 && sane(ie.data[1], ie.data[2]))
            return Concat{ie.data[0], ie.data[1], ie.data[2], false};
        if (ie.id == 0x08 && ie.data.size() == 4 && sane(ie.data[2], ie.data[3]))
            return Concat{static_cast<unsigned>(ie.data[0] << 8 | ie.data[1]), ie.data[2],
                          ie.data[3], true};
    }
    return std::nullopt;
}

std::string join_texts(const std::vector<const Message*>& parts) {
    std::string out;
    const Message* prev = nullptr;
    constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD
    for (const Message* p : parts) {
        if (!p) {
            out += "[...]";
            prev = nullptr;
            continue;
        }
        std::string_view text = p->text;
        if (prev && prev->halves.last_high && p->halves.first_low && out.ends_with(replacement) &&
            text.starts_with(replacement)) {
            out.resize(out.size() - replacement.size());
            utf8::append(out, utf8::combine(prev->halves.last_high, p->halves.first_low));
            text.remove_prefix(replacement.size());
        }
        out += text;
        prev = p;
    }
    return out;
}

InformationElement concat_element(const Concat& c) {
    if (c.ref16)
        return {0x08,
                {static_cast<std::uint8_t>(c.ref >> 8 & 0xFF),
                 static_cast<std::uint8_t>(c.ref & 0xFF), static_cast<std::uint8_t>(c.total),
                 static_cast<std::uint8_t>(c.seq)}};
    return {0x00,
            {static_cast<std::uint8_t>(c.ref & 0xFF), static_cast<std::uint8_t>(c.total),
             static_cast<std::uint8_t>(c.seq)}};
}

bool valid_number(std::string_view s) {
    if (!s.empty() && s.front() == '+')
        s.remove_prefix(1);
    if (s.empty() || s.size() > 20)
        return false;
    for (char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

void check_number(std::string_view what, std::string_view s) {
    if (!valid_number(s))
        throw Error(Exit::dataerr, std::string(what),
                    fmt::format("'{}' is not a number (digits with an optional leading '+')",
                                text::shown(s)));
}

std::string format_scts(std::int64_t unix_time) {
    std::time_t t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

namespace {

// The fields of a YYYY-MM-DDTHH:MM:SS time stamp, checked; nullopt when it is not one. No
// mktime() here: it looks at /etc/localtime on every call (two system calls per routed message
// when a message file is only checked, on reading and on writing).
std::optional<std::tm> scts_fields(std::string_view s) {
    if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return std::nullopt;
    auto field = [&](std::size_t at, std::size_t len) -> int {
        int n = 0;
        for (std::size_t i = at; i < at + len; ++i) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            n = n * 10 + (s[i] - '0');
        }
        return n;
    };
    std::tm tm{};
    int y = field(0, 4), mo = field(5, 2), d = field(8, 2), h = field(11, 2), mi = field(14, 2),
        se = field(17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return std::nullopt;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    return tm;
}

} // namespace

std::optional<std::int64_t> parse_scts(std::string_view s) {
    auto tm = scts_fields(s);
    if (!tm)
        return std::nullopt;
    std::time_t t = std::mktime(&*tm);
    if (t == static_cast<std::time_t>(-1))
        return std::nullopt;
    return static_cast<std::int64_t>(t);
}

void check_text_length(std::string_view text, std::string_view what) {
    if (text.size() > max_text_bytes)
        throw Error(Exit::dataerr, std::string(what),
                    fmt::format("{} bytes, longer than the suite's limit of {}", text.size(),
                                max_text_bytes));
}

namespace {

// A udh# line's information elements into m.udh; one that does not parse leaves the message a
// single one, and says why in m.udh_error (the header is logged).
void read_udh(Message& m, std::string_view raw, std::size_t line_no) {
    auto bytes = unhex(raw);
    std::vector<InformationElement> ies;
    std::string why;
    if (!bytes)
        why = "not hex";
    std::size_t i = 0;
    while (bytes && why.empty() && i < bytes->size()) {
        if (i + 2 > bytes->size() || i + 2 + (*bytes)[i + 1] > bytes->size()) {
            why = "an information element runs past the end";
            break;
        }
        InformationElement ie;
        ie.id = (*bytes)[i];
        auto len = (*bytes)[i + 1];
        ie.data.assign(bytes->begin() + static_cast<long>(i) + 2,
                       bytes->begin() + static_cast<long>(i) + 2 + len);
        ies.push_back(std::move(ie));
        i += 2u + len;
    }
    if (why.empty()) {
        m.udh = std::move(ies);
        m.udh_error.clear();
    } else {
        m.udh.clear();
        std::string shown;
        for (char c : raw.substr(0, 64))
            shown.push_back(c < 0x20 || c == 0x7F ? '?' : c);
        m.udh_error = fmt::format("line {}: udh#{} does not parse ({}): the text is "
                                  "routed as a single message",
                                  line_no, shown, why);
    }
}

// A ud## value (a whole number of 4-digit units) as UTF-16 units; none when it is not hex.
std::optional<std::u16string> ucs2_units(std::string_view hexs) {
    auto bytes = unhex(hexs);
    if (!bytes)
        return std::nullopt;
    std::u16string units;
    for (std::size_t i = 0; i < bytes->size(); i += 2)
        units.push_back(static_cast<char16_t>((*bytes)[i] << 8 | (*bytes)[i + 1]));
    return units;
}

// A key=value line other than the text's: the field set, or why the value is refused. A key
// app_sms does not write is remembered in m.unknown_keys.
std::optional<std::string> read_field(Message& m, const std::string& key, std::string_view value) {
    if (key == "oa" || key == "da") {
        if (!valid_number(value))
            return fmt::format("{}= is not a number: '{}'", key, value);
        (key == "oa" ? m.oa : m.da) = std::string(value);
    } else if (key == "scts") {
        if (!scts_fields(value))
            return fmt::format("scts= is not YYYY-MM-DDTHH:MM:SS: '{}'", value);
        m.scts = std::string(value);
    } else if (key == "pid" || key == "dcs" || key == "mr" || key == "vp" || key == "srr" ||
               key == "rp") {
        auto n = to_int(value);
        if (!n)
            return fmt::format("{}= is not a number: '{}'", key, value);
        auto& field = key == "pid"   ? m.pid
                      : key == "dcs" ? m.dcs
                      : key == "mr"  ? m.mr
                      : key == "vp"  ? m.vp
                      : key == "srr" ? m.srr
                                     : m.rp;
        field = *n;
    } else {
        m.unknown_keys.push_back(key);
    }
    return std::nullopt;
}

// The file as a whole: not empty (app_sms is still writing it), not too big, no NUL (not a
// message file), ending with a newline (still being written).
void check_whole(std::string_view content, std::string_view name, std::size_t max_size) {
    auto fail = [&](std::string why) -> Error {
        return Error(Exit::dataerr, std::string(name), std::move(why));
    };
    auto incomplete = [&](std::string why) -> Incomplete {
        return Incomplete(Exit::dataerr, std::string(name), std::move(why));
    };
    if (content.empty())
        throw incomplete("empty file");
    if (content.size() > max_size)
        throw fail(fmt::format("larger than {} bytes: not a message file", max_size));
    if (content.find('\0') != std::string_view::npos)
        throw fail("binary data (NUL byte): not a message file");
    if (content.back() != '\n')
        throw incomplete("truncated: the last line has no newline");
}

} // namespace

Message parse(std::string_view content, std::string_view name, std::size_t max_size) {
    check_whole(content, name, max_size);
    auto fail = [&](std::string why) -> Error {
        return Error(Exit::dataerr, std::string(name), std::move(why));
    };
    Message m;
    bool have_scts = false;
    std::size_t line_no = 0;
    while (!content.empty()) {
        ++line_no;
        auto nl = content.find('\n');
        std::string_view line = content.substr(0, nl);
        content.remove_prefix(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        // Blanks before the key are skipped, as app_sms does.
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        if (line.empty() || line.front() == ';')
            continue;
        auto at = [&](std::string why) { return fail(fmt::format("line {}: {}", line_no, why)); };
        auto hex_value = [&](std::size_t skip) { return text::trim(line.substr(skip), " \t"); };

        if (text::istarts_with(line, "udh#")) {
            // app_sms never interprets the header: one that does not parse must not cost the
            // text.
            read_udh(m, hex_value(4), line_no);
            continue;
        }
        if (text::istarts_with(line, "ud##")) {
            auto hexs = hex_value(4);
            if (hexs.size() % 4 != 0)
                throw at("ud## length is not a whole number of UCS-2 units");
            auto units = ucs2_units(hexs);
            if (!units)
                throw at("ud## is not hex");
            // A lone surrogate (a part split inside a pair) becomes U+FFFD; the rest is kept.
            m.text = utf8::encode(utf8::from_utf16_lenient(*units, &m.halves));
            m.form = UdForm::ucs2;
            continue;
        }
        if (text::istarts_with(line, "ud#")) {
            auto bytes = unhex(hex_value(3));
            if (!bytes)
                throw at("ud# is not hex");
            std::u32string cps(bytes->begin(), bytes->end());
            m.text = utf8::encode(cps);
            m.halves = {};
            m.form = UdForm::octets;
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos) {
            // app_sms ignores a line it cannot read; so do we (the caller logs it at debug).
            m.unknown_keys.push_back(fmt::format("line {} (no '=')", line_no));
            continue;
        }
        std::string key = text::lower(text::trim(line.substr(0, eq), " \t"));
        auto value = line.substr(eq + 1);

        if (key == "ud") {
            // The value exactly as written: blanks are part of the text.
            std::size_t bad = 0;
            auto cps = utf8::decode_lenient(value, &m.halves, &bad);
            if (!cps)
                throw at(fmt::format("ud= is not valid UTF-8 (byte {})", bad + 1));
            m.text = utf8::encode(*cps);
            m.form = UdForm::utf8;
            continue;
        }
        if (auto why = read_field(m, key, text::trim(value, " \t")))
            throw at(*why);
        have_scts = have_scts || key == "scts";
    }
    if (!have_scts)
        throw Incomplete(Exit::dataerr, std::string(name), "incomplete: no scts= line");
    return m;
}

Message read(const std::string& path) {
    std::string content;
    try {
        content = fs::read_file(path, max_file_size);
    } catch (const Error& e) {
        if (e.exit() == Exit::dataerr)
            throw Error(Exit::dataerr, path, "larger than a message file can be");
        throw;
    }
    return parse(content, path);
}

std::string serialize(const Message& m, const WriteStyle& style) {
    auto bad = [](std::string what, std::string why) {
        return Error(Exit::dataerr, std::move(what), std::move(why));
    };
    if (!m.oa.empty() && !valid_number(m.oa))
        throw bad("oa", fmt::format("not a number: '{}'", m.oa));
    if (style.with_da && !m.da.empty() && !valid_number(m.da))
        throw bad("da", fmt::format("not a number: '{}'", m.da));
    if (!m.scts.empty() && !scts_fields(m.scts))
        throw bad("scts", fmt::format("not YYYY-MM-DDTHH:MM:SS: '{}'", m.scts));
    auto cps = utf8::decode(m.text);
    if (!cps)
        throw bad("text", "not valid UTF-8");

    // Appended, not formatted: the router writes one for every message it queues.
    std::string out;
    out.reserve(64 + m.oa.size() + m.da.size() + 4 * m.text.size());
    auto line = [&](std::string_view key, std::string_view value) {
        out += key;
        out += value;
        out += '\n';
    };
    if (!m.oa.empty())
        line("oa=", m.oa);
    if (style.with_da && !m.da.empty())
        line("da=", m.da);
    if (!m.udh.empty()) {
        std::vector<std::uint8_t> bytes;
        for (const auto& ie : m.udh) {
            bytes.push_back(ie.id);
            bytes.push_back(static_cast<std::uint8_t>(ie.data.size()));
            bytes.insert(bytes.end(), ie.data.begin(), ie.data.end());
        }
        line("udh#", hex(bytes));
    }
    if (!cps->empty()) {
        auto ucs2_hex = [&] {
            const std::u16string units = utf8::to_utf16(*cps);
            std::string h;
            h.reserve(4 * units.size());
            for (char16_t u : units)
                hex::append(h, u, 4);
            return h;
        };
        if (style.text == TextStyle::ucs2) {
            line("ud##", ucs2_hex());
        } else if (needs_hex(*cps)) {
            // The readable copy for people, as app_sms writes it: a comment that cannot end
            // the line, then the text in hex.
            std::u32string shown;
            bool latin1 = true;
            for (char32_t c : *cps) {
                shown.push_back(c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 ||
                                        c == 0x2029
                                    ? U'\u00BF'
                                    : c);
                latin1 = latin1 && c < 0x100;
            }
            line(";ud=", utf8::encode(shown));
            if (latin1) {
                std::string h;
                for (char32_t c : *cps)
                    hex::append(h, static_cast<unsigned>(c), 2);
                line("ud#", h);
            } else {
                line("ud##", ucs2_hex());
            }
        } else {
            line("ud=", m.text);
        }
    }
    if (!m.scts.empty())
        line("scts=", m.scts);
    auto num = [&](std::string_view key, const std::optional<int>& v) {
        if (v) {
            char digits[16];
            auto r = std::to_chars(digits, digits + sizeof digits, *v);
            out += key;
            out += '=';
            line("", std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
        }
    };
    num("pid", m.pid);
    num("dcs", m.dcs);
    num("vp", m.vp);
    num("srr", m.srr);
    num("mr", m.mr);
    num("rp", m.rp);
    return out;
}

bool write(const std::string& dir, const std::string& name, const Message& m,
           const WriteStyle& style) {
    if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos)
        throw Error(Exit::dataerr, name, "not a valid message file name");
    return fs::write_atomic(dir, name, serialize(m, style));
}

void require_root(const std::string& spool_dir) {
    if (!fs::is_dir(spool_dir))
        throw Error(Exit::config, spool_dir,
                    "spool folder does not exist ([general] spool_dir or --spool)");
}

std::vector<std::string> list(const std::string& dir) {
    return fs::list_regular(dir);
}

} // namespace sms::spool
