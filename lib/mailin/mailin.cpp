// sms-mail-in: who a piped mail is for and from, the reply it holds, and its message file.
#include "mailin/mailin.hpp"

#include "asterisk/spool.hpp"
#include "core/address.hpp"
#include "directory/directory.hpp"
#include "messaging/postsms.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/text.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <vector>

namespace sms::mailin {

namespace {

bool blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::vector<std::string_view> lines_of(std::string_view s) {
    std::vector<std::string_view> out;
    while (true) {
        auto nl = s.find('\n');
        out.push_back(s.substr(0, nl));
        if (nl == std::string_view::npos)
            return out;
        s.remove_prefix(nl + 1);
    }
}

std::string_view rtrim(std::string_view s) {
    while (!s.empty() && blank(s.back()))
        s.remove_suffix(1);
    return s;
}

// An HTML element whose content is not text: skipped up to its closing tag.
bool hidden_element(std::string_view name) {
    return name == "script" || name == "style" || name == "head" || name == "title" ||
           name == "blockquote"; // a quoted reply, as "> " lines are in plain text
}

bool block_element(std::string_view name) {
    for (std::string_view b : {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                               "ul", "ol", "table", "hr", "pre"})
        if (name == b)
            return true;
    return false;
}

// "&amp;", "&#261;", "&#x105;": the character, and how many bytes the reference took; 0 when it
// is none (the '&' is then text).
std::size_t entity(std::string_view s, std::string& out) {
    auto semi = s.find(';');
    if (semi == std::string_view::npos || semi > 10)
        return 0;
    std::string_view name = s.substr(1, semi - 1);
    if (name.starts_with('#')) {
        unsigned long cp = 0;
        bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
        std::string_view digits = name.substr(hex ? 2 : 1);
        if (digits.empty())
            return 0;
        for (char c : digits) {
            int v = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (v < 0)
                return 0;
            cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(v);
            if (cp > 0x10FFFF)
                return 0;
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        utf8::append(out, static_cast<char32_t>(cp));
        return semi + 1;
    }
    static constexpr std::pair<std::string_view, std::string_view> named[] = {
        {"amp", "&"},         {"lt", "<"},        {"gt", ">"},         {"quot", "\""},
        {"apos", "'"},        {"nbsp", " "},      {"ndash", "\u2013"}, {"mdash", "\u2014"},
        {"hellip", "\u2026"}, {"euro", "\u20AC"}, {"copy", "\u00A9"}};
    for (const auto& [n, v] : named)
        if (name == n) {
            out += v;
            return semi + 1;
        }
    return 0;
}

std::string lower_name(std::string_view s) {
    std::string n;
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            break;
        n += text::ascii_lower(c);
    }
    return n;
}

// The E subscriber whose address `from` is (case-insensitive): the directory read whole through
// its store (a mail is rare; the table has no index on its Extension). Throws Error(nouser) when
// no subscriber or several have it.
std::string sender_number(const Config& cfg, std::string_view from) {
    auto store = directory::open_store(cfg.directory, false);
    std::vector<std::string> numbers;
    for (const auto& row : store->rows())
        if (directory::parse_service(row.service) == 'E' &&
            text::iequals(text::trim(row.channel, " \t\r\n"), from) &&
            directory::number_problem(row.number).empty())
            numbers.push_back(row.number);
    if (numbers.empty())
        throw Error(Exit::nouser, fmt::format("sender '{}'", text::escape_controls(from)),
                    "not the address of an E subscriber in the directory");
    if (numbers.size() > 1)
        throw Error(Exit::nouser, fmt::format("sender '{}'", text::escape_controls(from)),
                    fmt::format("the address of {} subscribers ({}): which one sends is unclear",
                                numbers.size(), fmt::join(numbers, ", ")));
    return numbers.front();
}

std::string read_limited(std::FILE* in, std::size_t limit) {
    std::string bytes;
    char buf[65536];
    while (true) {
        std::size_t n = std::fread(buf, 1, sizeof buf, in);
        if (n == 0)
            break;
        if (bytes.size() + n > limit)
            throw Error(Exit::dataerr, "mail",
                        fmt::format("larger than {} bytes ([mail] max_size): not an SMS", limit));
        bytes.append(buf, n);
    }
    if (std::ferror(in))
        throw_errno(Exit::tempfail, "standard input", errno);
    return bytes;
}

// The destination: --to, the envelope recipient, then To:, each only when it names a number.
std::string destination(const Options& opts, const Read& mail) {
    if (opts.to) {
        postsms::check_number("--to", *opts.to);
        return *opts.to;
    }
    std::vector<std::pair<const char*, std::string>> tried = {
        {"$ORIGINAL_RECIPIENT", opts.original_recipient},
        {"$RECIPIENT", opts.recipient},
        {"To:", mail.to}};
    std::string seen;
    for (const auto& [where, address] : tried) {
        if (address.empty())
            continue;
        if (auto n = number_of(address); !n.empty())
            return n;
        seen +=
            fmt::format("{}{} {}", seen.empty() ? "" : ", ", where, text::escape_controls(address));
    }
    throw Error(Exit::nouser, "recipient",
                seen.empty() ? "no --to, no envelope recipient and no To: address"
                             : fmt::format("no number in {}", seen));
}

int run_checked(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out,
                std::int64_t now) {
    std::string bytes = read_limited(in, static_cast<std::size_t>(cfg.mail.max_size));
    Read mail = read_mail(bytes);
    std::string da = destination(opts, mail);
    if (mail.from.empty() || !address::problem(mail.from).empty())
        throw Error(Exit::nouser, "sender",
                    mail.from.empty() ? std::string("the mail has no From: address")
                                      : fmt::format("'{}' is not an address the directory can hold",
                                                    text::escape_controls(mail.from)));
    // The destination first: an unknown number is the sender's mistake, and its answer costs
    // one indexed lookup.
    auto dir = directory::open(cfg.directory);
    const auto& cmd = cfg.commands.numbers;
    if (std::find(cmd.begin(), cmd.end(), da) == cmd.end()) {
        auto l = dir->lookup(da);
        if (l.status == directory::Lookup::Status::unavailable)
            throw Error(Exit::tempfail, "directory", l.why);
        if (l.status == directory::Lookup::Status::not_found)
            throw Error(Exit::nouser, fmt::format("number {}", da), "does not exist");
        if (l.entry.service == 'N')
            throw Error(Exit::nouser, fmt::format("number {}", da),
                        "the subscriber has disabled messaging");
    }
    std::string oa = sender_number(cfg, mail.from);
    std::string text = cut_replies(mail.text);
    if (text.empty())
        throw Error(Exit::dataerr, "mail",
                    "no text (no text/plain or text/html part, or only quotes and a signature)");
    auto posted = postsms::post(cfg, oa, da, text, dir.get(), now);
    log::info("mail from {} ({}) to {} posted as {}{}", text::escape_controls(mail.from), oa, da,
              posted.name, mail.html ? " (from HTML)" : "");
    fmt::print(out, "{}\n", posted.path);
    return 0;
}

} // namespace

std::string html_to_text(std::string_view html) {
    std::string out;
    bool space = false; // a blank run is pending
    auto newline = [&] {
        out += '\n';
        space = false;
    };
    for (std::size_t i = 0; i < html.size();) {
        char c = html[i];
        if (c == '<') {
            if (html.substr(i).starts_with("<!--")) {
                auto end = html.find("-->", i + 4);
                i = end == std::string_view::npos ? html.size() : end + 3;
                continue;
            }
            bool closing = i + 1 < html.size() && html[i + 1] == '/';
            std::string name = lower_name(html.substr(i + (closing ? 2 : 1)));
            // The tag ends at the first '>' outside quotes.
            std::size_t j = i + 1;
            char quote = 0;
            for (; j < html.size(); ++j) {
                if (quote) {
                    if (html[j] == quote)
                        quote = 0;
                } else if (html[j] == '"' || html[j] == '\'') {
                    quote = html[j];
                } else if (html[j] == '>') {
                    break;
                }
            }
            i = j < html.size() ? j + 1 : html.size();
            if (name.empty())
                continue;
            if (!closing && hidden_element(name) && html[j - 1] != '/') {
                // Skip to the matching closing tag, counting nested ones of the same name.
                int depth = 1;
                while (depth > 0 && i < html.size()) {
                    auto lt = html.find('<', i);
                    if (lt == std::string_view::npos) {
                        i = html.size();
                        break;
                    }
                    bool cl = lt + 1 < html.size() && html[lt + 1] == '/';
                    if (lower_name(html.substr(lt + (cl ? 2 : 1))) == name)
                        depth += cl ? -1 : 1;
                    auto gt = html.find('>', lt);
                    i = gt == std::string_view::npos ? html.size() : gt + 1;
                }
                newline();
                continue;
            }
            if (block_element(name))
                newline();
            continue;
        }
        if (blank(c)) {
            space = true;
            ++i;
            continue;
        }
        if (space && !out.empty() && out.back() != '\n')
            out += ' ';
        space = false;
        if (c == '&') {
            if (std::size_t n = entity(html.substr(i), out)) {
                i += n;
                continue;
            }
        }
        out += c;
        ++i;
    }
    return out;
}

std::string cut_replies(std::string_view text) {
    std::vector<std::string_view> kept;
    auto lines = lines_of(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = rtrim(lines[i]);
        if (line == "--")
            break; // the signature ("-- "), and everything after it
        std::string_view t = text::trim(line);
        if (t.starts_with("-----Original Message-----") ||
            t.starts_with("----- Original Message -----") ||
            (t.starts_with("-----") && t.ends_with("-----") &&
             std::any_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'z'; })))
            break; // Outlook's quoted original, or a forwarded message below the reply
        if (t.starts_with("From: ") && i + 1 < lines.size() &&
            (text::trim(lines[i + 1]).starts_with("Sent: ") ||
             text::trim(lines[i + 1]).starts_with("Date: ")))
            break; // Outlook's header block of the message answered
        if (t.starts_with(">")) {
            // A quoted block: it goes, and the attribution line that introduced it ("On ...
            // wrote:", "W dniu ... napisał(a):"), when it is the last line kept.
            while (!kept.empty() && text::trim(kept.back()).empty())
                kept.pop_back();
            if (!kept.empty() && rtrim(kept.back()).ends_with(":"))
                kept.pop_back();
            continue;
        }
        kept.push_back(line);
    }
    std::string out;
    for (auto line : kept) {
        auto t = text::trim(line);
        if (t.empty())
            continue;
        if (!out.empty())
            out += '\n';
        out += line;
    }
    return std::string(text::trim(out, " \t\r\n"));
}

std::string number_of(std::string_view address) {
    std::string_view a = text::trim(address, " \t<>");
    std::string_view local = address::local_part(a);
    if (spool::valid_number(local))
        return std::string(local);
    auto delim = local.find_first_of("+-");
    if (delim != std::string_view::npos && spool::valid_number(local.substr(delim + 1)))
        return std::string(local.substr(delim + 1));
    return {};
}

int run(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out, std::int64_t now) {
    try {
        return run_checked(cfg, opts, in, out, now);
    } catch (const Error& e) {
        // What the mail server understands: 65 and 67 bounce the mail with our line; anything
        // else (an outage, a full disk, a configuration being fixed) keeps it queued.
        if (e.exit() == Exit::dataerr || e.exit() == Exit::nouser || e.exit() == Exit::usage ||
            e.exit() == Exit::tempfail)
            throw;
        throw Error(Exit::tempfail, "", e.what());
    }
}

} // namespace sms::mailin
