// fax: the text layout: header line, send time, word wrapping.
#include "fax/fax.hpp"

#include "util/error.hpp"
#include "util/utf8.hpp"

#include <ctime>
#include <fmt/format.h>

namespace sms::fax {

std::optional<FaxResolution> parse_resolution(std::string_view s) {
    if (s == "standard")
        return FaxResolution::standard;
    if (s == "fine")
        return FaxResolution::fine;
    if (s == "superfine")
        return FaxResolution::superfine;
    return std::nullopt;
}

int y_dpi(FaxResolution r) noexcept {
    switch (r) {
    case FaxResolution::standard:
        return 98;
    case FaxResolution::superfine:
        return 391;
    case FaxResolution::fine:
        break;
    }
    return 196;
}

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size())
        return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

int days_in_month(int year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

} // namespace

std::optional<Time> parse_time(std::string_view s) {
    Time t;
    if (s.size() != 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return std::nullopt;
    if (!digits(s, 0, 4, t.year) || !digits(s, 5, 2, t.month) || !digits(s, 8, 2, t.day) ||
        !digits(s, 11, 2, t.hour) || !digits(s, 14, 2, t.minute) || !digits(s, 17, 2, t.second))
        return std::nullopt;
    if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > days_in_month(t.year, t.month) ||
        t.hour > 23 || t.minute > 59 || t.second > 60)
        return std::nullopt;
    return t;
}

Time now_local() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    return Time{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

std::string header_line(const FaxConfig& fc, std::string_view oa, const Time& t,
                        std::optional<int> mr) {
    std::string h = fmt::format("{}{}{}{:04}/{:02}/{:02} {:02}:{:02}:{:02}", fc.header_text, oa,
                                fc.time_text, t.year, t.month, t.day, t.hour, t.minute, t.second);
    if (mr)
        h += fmt::format(" ({})", *mr);
    return h;
}

bool is_combining(char32_t c) noexcept {
    return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0483 && c <= 0x0489) ||
           (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

int cells(char32_t c) noexcept {
    if (is_combining(c))
        return 0;
    const bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
                      (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
                      (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
                      (c >= 0xA960 && c <= 0xA97F) || (c >= 0xAC00 && c <= 0xD7A3) ||
                      (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE10 && c <= 0xFE19) ||
                      (c >= 0xFE30 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF60) ||
                      (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
                      (c >= 0x1F680 && c <= 0x1F6FF) || (c >= 0x1F900 && c <= 0x1F9FF) ||
                      (c >= 0x20000 && c <= 0x3FFFD);
    return wide ? 2 : 1;
}

namespace {

// Breaks one paragraph (no line breaks, tabs expanded) into lines of at most `columns` cells.
void wrap_paragraph(const std::u32string& p, std::size_t columns,
                    std::vector<std::u32string>& out) {
    if (p.empty()) {
        out.emplace_back();
        return;
    }
    auto rstrip = [](std::u32string s) {
        while (!s.empty() && s.back() == U' ')
            s.pop_back();
        return s;
    };
    const std::size_t n = p.size();
    std::size_t i = 0;
    while (i < n) {
        std::size_t used = 0, e = i;
        while (e < n) {
            auto w = static_cast<std::size_t>(cells(p[e]));
            if (w > 0 && used > 0 && used + w > columns)
                break;
            used += w;
            ++e;
        }
        if (e == n) {
            out.push_back(p.substr(i));
            break;
        }
        std::size_t next;
        if (p[e] == U' ') {
            out.push_back(rstrip(p.substr(i, e - i)));
            next = e;
        } else {
            // The last space with a word before it on this line; none: break the word.
            std::size_t j = e;
            while (j > i && p[j - 1] != U' ')
                --j;
            std::u32string before = j > i ? rstrip(p.substr(i, j - 1 - i)) : std::u32string();
            if (!before.empty()) {
                out.push_back(std::move(before));
                next = j;
            } else {
                out.push_back(p.substr(i, e - i));
                next = e;
            }
        }
        while (next < n && p[next] == U' ')
            ++next;
        i = next;
    }
}

} // namespace

std::vector<std::u32string> wrap(std::string_view utf8_text, std::size_t columns, std::size_t tab) {
    if (columns == 0)
        throw Error(Exit::software, "fax layout", "zero columns");
    if (tab == 0)
        tab = 1;
    std::size_t bad = 0;
    auto text = utf8::decode(utf8_text, /*allow_cesu=*/true, &bad);
    if (!text)
        throw Error(Exit::dataerr, "text", fmt::format("invalid UTF-8 at byte {}", bad));

    std::vector<std::u32string> out;
    std::u32string para;
    std::size_t col = 0; // cells so far in the paragraph, for the tab stops
    auto flush = [&] {
        wrap_paragraph(para, columns, out);
        para.clear();
        col = 0;
    };
    const std::u32string& s = *text;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        if (c == U'\r') {
            if (i + 1 < s.size() && s[i + 1] == U'\n')
                ++i;
            flush();
        } else if (c == U'\n') {
            flush();
        } else if (c == U'\f') {
            if (!para.empty())
                flush();
            out.emplace_back(U"\f");
        } else if (c == U'\t') {
            do {
                para.push_back(U' ');
                ++col;
            } while (col % tab != 0);
        } else if (c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xFEFF) {
            continue; // control characters and byte-order marks draw nothing
        } else {
            para.push_back(c);
            col += static_cast<std::size_t>(cells(c));
        }
    }
    // A final line break ends the last line; it starts no empty one.
    if (!para.empty())
        flush();
    return out;
}

} // namespace sms::fax
