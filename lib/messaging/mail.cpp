// Service E: the mail an SMS becomes (headers, encoded words, quoted-printable) and its hand-over
// to the local mail server through sendmail -t -oi.
#include "messaging/mail.hpp"

#include "asterisk/spool.hpp"
#include "core/address.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace sms::mail {

namespace {

// The bytes of the UTF-8 sequence a lead byte starts (1 for a stray byte: kept whole anyway).
std::size_t sequence_length(unsigned char lead) noexcept {
    if (lead >= 0xF0 && lead <= 0xF7)
        return 4;
    if (lead >= 0xE0)
        return lead <= 0xEF ? 3 : 1;
    if (lead >= 0xC0)
        return 2;
    return 1;
}

bool printable_ascii(std::string_view s) noexcept {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7E)
            return false;
    return true;
}

bool is_atext(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

constexpr std::size_t max_line = 76;      // RFC 2047 and RFC 2045's limit for encoded lines
constexpr std::size_t word_overhead = 12; // "=?UTF-8?B?" and "?="

void check_header_value(std::string_view field, std::string_view v) {
    for (unsigned char c : v)
        if (c == '\r' || c == '\n' || c == 0)
            throw Error(Exit::dataerr, fmt::format("mail header {}", field),
                        "holds a line break or NUL: refused rather than written");
}

void check_address(std::string_view field, std::string_view a) {
    if (auto p = address::problem(a); !p.empty())
        throw Error(Exit::dataerr, fmt::format("mail header {}", field), p);
}

std::string message_id_left(std::string_view stem) {
    // id-left is a dot-atom: letters, digits and '-' from the stem, its hash for uniqueness.
    std::string s;
    for (char c : stem.substr(0, 64))
        s.push_back(
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '-');
    return fmt::format("sms-{}-{:08x}", s, hash::fnv1a32(stem));
}

} // namespace

std::string encoded_words(std::string_view s, std::size_t used) {
    std::string out;
    std::size_t room = max_line > used + word_overhead + 4 ? max_line - used : max_line - 1;
    if (s.empty())
        return {};
    while (!s.empty()) {
        // The most bytes whose Base64 fits: 4 characters per 3 bytes, at most 75 for the word.
        std::size_t chars = std::min<std::size_t>(room, 75) - word_overhead;
        std::size_t budget = chars / 4 * 3;
        std::size_t n = 0;
        while (n < s.size()) {
            std::size_t len = sequence_length(static_cast<unsigned char>(s[n]));
            if (n + len > budget)
                break;
            n += len;
        }
        if (n == 0) // a sequence longer than the budget cannot happen (budget >= 45); be safe
            n = std::min(s.size(), sequence_length(static_cast<unsigned char>(s[0])));
        if (!out.empty())
            out += "\n ";
        out += "=?UTF-8?B?" + base64::encode(s.substr(0, n)) + "?=";
        s.remove_prefix(n);
        room = max_line - 1;
    }
    return out;
}

std::string header_text(std::string_view s, std::size_t used) {
    if (printable_ascii(s) && s.find("=?") == std::string_view::npos && used + s.size() <= max_line)
        return std::string(s);
    return encoded_words(s, used);
}

std::string phrase(std::string_view s, std::size_t used) {
    bool atoms =
        !s.empty() && s.front() != ' ' && s.back() != ' ' && s.find("  ") == std::string_view::npos;
    for (char c : s)
        atoms = atoms && (is_atext(c) || c == ' ');
    if (atoms && used + s.size() <= max_line)
        return std::string(s);
    if (printable_ascii(s) && s.find("=?") == std::string_view::npos &&
        used + s.size() + 2 <= max_line) {
        std::string q = "\"";
        for (char c : s) {
            if (c == '"' || c == '\\')
                q += '\\';
            q += c;
        }
        return q + "\"";
    }
    return encoded_words(s, used);
}

bool needs_quoted_printable(std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
        if (line.size() > max_line || line.starts_with("From ") || line == "." ||
            (!line.empty() && (line.back() == ' ' || line.back() == '\t')))
            return true;
        for (unsigned char c : line)
            if ((c < 0x20 && c != '\t') || c > 0x7E)
                return true;
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    return false;
}

// Kept whole (about 45 lines): one line's characters become tokens, the tokens are packed into
// lines with soft breaks, and the line-end rules apply to the last token; split, the three would
// pass the same state around.
std::string quoted_printable(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    auto escape = [](std::string& out, unsigned char c) {
        out += '=';
        out += hex[c >> 4];
        out += hex[c & 15];
    };
    std::string out;
    std::size_t start = 0;
    while (true) {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
        if (!line.empty() && line.back() == '\r' && end != std::string_view::npos)
            line.remove_suffix(1); // CRLF: one hard line break
        // One token per character (a whole UTF-8 sequence), so that a soft break never splits it.
        std::vector<std::string> tokens;
        for (std::size_t i = 0; i < line.size();) {
            auto c = static_cast<unsigned char>(line[i]);
            std::size_t len = std::min(sequence_length(c), line.size() - i);
            std::string t;
            bool first = i == 0;
            for (std::size_t k = 0; k < len; ++k) {
                auto b = static_cast<unsigned char>(line[i + k]);
                bool literal = (b >= 33 && b <= 126 && b != '=') || b == ' ' || b == '\t';
                // "From " at a line's start (mbox) and a lone "." (SMTP's end of data).
                if (first && k == 0 &&
                    ((b == 'F' && line.starts_with("From ")) || (b == '.' && line == ".")))
                    literal = false;
                if (literal)
                    t += static_cast<char>(b);
                else
                    escape(t, b);
            }
            tokens.push_back(std::move(t));
            i += len;
        }
        if (!tokens.empty() && (tokens.back() == " " || tokens.back() == "\t")) {
            std::string t;
            escape(t, static_cast<unsigned char>(tokens.back()[0]));
            tokens.back() = t;
        }
        std::size_t col = 0;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            bool last = i + 1 == tokens.size();
            // A line holds 76 characters: 75 and the soft break's '=', or 76 at its end.
            if (col + tokens[i].size() > (last ? max_line : max_line - 1)) {
                out += "=\n";
                col = 0;
            }
            out += tokens[i];
            col += tokens[i].size();
        }
        if (end == std::string_view::npos)
            break;
        out += '\n';
        start = end + 1;
    }
    return out;
}

std::string rfc5322_date(std::int64_t t) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::localtime_r(&tt, &tm);
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}{:02d}{:02d}", days[tm.tm_wday % 7],
                       tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, sign, off / 60, off % 60);
}

std::string compose(const Mail& m) {
    check_address("From", m.from_address);
    check_address("To", m.to);
    if (!m.reply_to.empty())
        check_address("Reply-To", m.reply_to);
    check_header_value("From", m.from_name);
    check_header_value("Subject", m.subject);
    check_header_value("Message-ID", m.message_id);
    std::string out;
    out += "From: ";
    if (!m.from_name.empty())
        out += phrase(m.from_name, 6) + " ";
    out += "<" + m.from_address + ">\n";
    out += "To: " + m.to + "\n";
    out += "Subject: " + header_text(m.subject, 9) + "\n";
    out += "Date: " + rfc5322_date(m.date) + "\n";
    out += "Message-ID: <" + m.message_id + ">\n";
    if (!m.reply_to.empty())
        out += "Reply-To: " + m.reply_to + "\n";
    out += "MIME-Version: 1.0\n";
    out += "Content-Type: text/plain; charset=UTF-8\n";
    bool qp = needs_quoted_printable(m.text);
    out += fmt::format("Content-Transfer-Encoding: {}\n\n", qp ? "quoted-printable" : "7bit");
    out += qp ? quoted_printable(m.text) : m.text;
    out += '\n';
    return out;
}

std::string from_address(const Config& cfg) {
    if (!cfg.mail.from.empty())
        return cfg.mail.from;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || !address::domain_problem(host).empty())
        return "sms-suite@localhost";
    return fmt::format("sms-suite@{}", host);
}

Mail for_sms(const Config& cfg, std::string_view oa, std::string_view address,
             std::string_view text, std::string_view scts, std::string_view stem,
             std::int64_t now) {
    Mail m;
    m.from_address = from_address(cfg);
    m.from_name = oa.empty() ? cfg.texts.unknown_sender : std::string(oa);
    m.to = std::string(address);
    m.subject = fmt::format("SMS from {}", m.from_name);
    m.date = spool::parse_scts(scts).value_or(now);
    m.message_id = fmt::format("{}@{}", message_id_left(stem), address::domain(m.from_address));
    if (!cfg.mail.domain.empty() && !oa.empty())
        m.reply_to = fmt::format("{}@{}", oa, cfg.mail.domain);
    m.text = std::string(text);
    return m;
}

// Kept whole (about 50 lines): one child's life in order (the pipe, the spawn, the message
// written, the wait, what its status means), as Runner::render does for sms2fax.
Sent send(const std::string& sendmail, std::string_view message) {
    Sent r;
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        r.status = Sent::Status::retry;
        r.detail = fmt::format("pipe: {}", std::strerror(errno));
        return r;
    }
    fs::Fd rd(in[0]), wr(in[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
    // Our stdout may carry a report (sms-process --json): what the mail server prints goes to
    // stderr.
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    std::string prog = sendmail, t = "-t", oi = "-oi";
    char* argv[] = {prog.data(), t.data(), oi.data(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, prog.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    rd = fs::Fd();
    if (rc != 0) {
        r.status = Sent::Status::retry;
        r.detail = fmt::format("cannot run {}: {}", sendmail, std::strerror(rc));
        return r;
    }
    // A mail server that refuses early closes its stdin: its exit status tells why.
    auto old = std::signal(SIGPIPE, SIG_IGN);
    try {
        fs::write_all(wr.get(), message, sendmail);
    } catch (const Error&) {
    }
    std::signal(SIGPIPE, old);
    wr = fs::Fd();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        r.status = Sent::Status::retry;
        r.detail = fmt::format("{} killed by signal {}", sendmail, WTERMSIG(status));
        return r;
    }
    int code = WEXITSTATUS(status);
    if (code == 0)
        return r;
    r.status = code == 75 ? Sent::Status::retry : Sent::Status::refused;
    r.detail = code == 75 ? fmt::format("{} answered 75 (try again later)", sendmail)
                          : fmt::format("{} refused the mail (exit status {})", sendmail, code);
    return r;
}

} // namespace sms::mail
