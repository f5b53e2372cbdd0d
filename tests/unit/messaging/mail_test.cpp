// Tests of lib/messaging/mail: the mail an SMS becomes, decoded back by a decoder written here
// (RFC 2045 quoted-printable, RFC 2047 "B" words), and the sendmail hand-over's exit statuses.
#include "messaging/mail.hpp"
#include "tempdir.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <sys/stat.h>

using namespace sms;

namespace {

struct Parsed {
    std::vector<std::string> headers; // unfolded
    std::string body;
};

Parsed parse(const std::string& msg) {
    Parsed p;
    auto end = msg.find("\n\n");
    EXPECT_NE(end, std::string::npos);
    std::string head = msg.substr(0, end);
    p.body = msg.substr(end + 2);
    std::size_t start = 0;
    while (start < head.size()) {
        auto nl = head.find('\n', start);
        std::string line = head.substr(start, nl == std::string::npos ? nl : nl - start);
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !p.headers.empty())
            p.headers.back() += line;
        else
            p.headers.push_back(line);
        if (nl == std::string::npos)
            break;
        start = nl + 1;
    }
    return p;
}

std::string header(const Parsed& p, const std::string& name) {
    for (const auto& h : p.headers)
        if (h.rfind(name + ": ", 0) == 0)
            return h.substr(name.size() + 2);
    return "<missing>";
}

std::string qp_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '=') {
            out += s[i];
        } else if (i + 1 < s.size() && s[i + 1] == '\n') {
            ++i; // soft break
        } else {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        }
    }
    return out;
}

// Every =?UTF-8?B?...?= word decoded; each must be whole UTF-8 by itself.
std::string words_decode(const std::string& s) {
    static const std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
    std::string out;
    for (std::sregex_iterator it(s.begin(), s.end(), word), end; it != end; ++it) {
        auto bytes = base64::decode((*it)[1].str());
        EXPECT_TRUE(bytes.has_value());
        EXPECT_TRUE(utf8::is_valid(*bytes)) << "a word splits a character: " << (*it)[0];
        EXPECT_LE((*it)[0].length(), 75u);
        out += *bytes;
    }
    return out;
}

void expect_lines_at_most(const std::string& s, std::size_t n) {
    std::size_t start = 0;
    while (start <= s.size()) {
        auto nl = s.find('\n', start);
        auto len = (nl == std::string::npos ? s.size() : nl) - start;
        EXPECT_LE(len, n) << s.substr(start, len);
        if (nl == std::string::npos)
            break;
        start = nl + 1;
    }
}

std::string mail_of(const std::string& text, const std::string& oa = "48600700801") {
    Config cfg;
    cfg.mail.from = "sms@pbx.example.org";
    cfg.mail.domain = "sms.example.org";
    auto m = mail::for_sms(cfg, oa, "alice@example.org", text, "2026-12-07T05:10:00",
                           "48600700801.2026-12-07T05:10:00-3", 0);
    return mail::compose(m);
}

} // namespace

TEST(Mail, HeadersOfAnSms) {
    auto p = parse(mail_of("Hello"));
    EXPECT_EQ(header(p, "From"), "48600700801 <sms@pbx.example.org>");
    EXPECT_EQ(header(p, "To"), "alice@example.org");
    EXPECT_EQ(header(p, "Subject"), "SMS from 48600700801");
    EXPECT_EQ(header(p, "Reply-To"), "48600700801@sms.example.org");
    EXPECT_EQ(header(p, "MIME-Version"), "1.0");
    EXPECT_EQ(header(p, "Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(header(p, "Content-Transfer-Encoding"), "7bit");
    EXPECT_TRUE(std::regex_match(
        header(p, "Date"),
        std::regex(R"([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} 2026 05:10:00 [+-]\d{4})")))
        << header(p, "Date");
    EXPECT_TRUE(
        std::regex_match(header(p, "Message-ID"),
                         std::regex(R"(<sms-[A-Za-z0-9-]+-[0-9a-f]{8}@pbx\.example\.org>)")))
        << header(p, "Message-ID");
    EXPECT_EQ(p.body, "Hello\n");
    // The same message mailed again carries the same Message-ID; another does not.
    EXPECT_EQ(header(parse(mail_of("Hello")), "Message-ID"), header(p, "Message-ID"));
    Config cfg;
    auto other = mail::for_sms(cfg, "1", "a@b.c", "x", "", "48600700801.2026-12-07T05:10:00-4", 0);
    EXPECT_NE("<" + other.message_id + ">", header(p, "Message-ID"));
    // No domain: no Reply-To; no [mail] from: sms-suite@<host name>.
    auto m = mail::for_sms(cfg, "1", "a@b.c", "x", "", "s", 0);
    EXPECT_TRUE(m.reply_to.empty());
    EXPECT_EQ(m.from_address.rfind("sms-suite@", 0), 0u) << m.from_address;
}

TEST(Mail, PolishAndEmojiSurviveQuotedPrintable) {
    for (std::string text :
         {"Zażółć gęślą jaźń. ZAŻÓŁĆ GĘŚLĄ JAŹŃ", "Kocham 😀🇵🇱 i ☕ = kawa", "ąęść\nłóż\r\nźż"}) {
        auto p = parse(mail_of(text));
        EXPECT_EQ(header(p, "Content-Transfer-Encoding"), "quoted-printable");
        for (unsigned char c : p.body)
            EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7F)) << "raw byte " << int(c);
        std::string want = std::regex_replace(text, std::regex("\r\n"), "\n");
        EXPECT_EQ(qp_decode(p.body), want + "\n");
    }
}

TEST(Mail, LongTextIsFoldedWithoutSplittingACharacter) {
    std::string text;
    while (utf8::length(text) < 700)
        text += "Zażółć 😀 ";
    auto qp = mail::quoted_printable(text);
    expect_lines_at_most(qp, 76);
    EXPECT_EQ(qp_decode(qp), text);
    // Every soft-broken line ends at a whole character: each line decodes to valid UTF-8.
    std::size_t start = 0;
    int lines = 0;
    while (start < qp.size()) {
        auto nl = qp.find('\n', start);
        std::string line = qp.substr(start, nl - start);
        if (!line.empty() && line.back() == '=')
            line.pop_back(); // the soft break
        EXPECT_TRUE(utf8::is_valid(qp_decode(line))) << line;
        ++lines;
        start = nl == std::string::npos ? qp.size() : nl + 1;
    }
    EXPECT_GT(lines, 20);
    // 700 plain ASCII characters on one line need quoted-printable too (a line is 998 at most).
    auto p = parse(mail_of(std::string(700, 'a')));
    EXPECT_EQ(header(p, "Content-Transfer-Encoding"), "quoted-printable");
    expect_lines_at_most(p.body, 76);
    EXPECT_EQ(qp_decode(p.body), std::string(700, 'a') + "\n");
}

TEST(Mail, TextCanNeverAddAHeader) {
    for (std::string text :
         {"Hi\nBcc: someone@example.org", "\nBcc: someone@example.org", "Hi\r\nBcc: x@y.z",
          "\n\nBcc: x@y.z\nSubject: pwned", "Hi\rBcc: x@y.z"}) {
        std::string msg = mail_of(text);
        auto p = parse(msg);
        for (const auto& h : p.headers) {
            EXPECT_NE(h.rfind("Bcc", 0), 0u) << h;
            EXPECT_EQ(std::count(h.begin(), h.end(), ':') >= 1, true) << h;
        }
        EXPECT_EQ(header(p, "Subject"), "SMS from 48600700801");
        EXPECT_EQ(p.headers.size(), 9u)
            << msg; // From To Subject Date Message-ID Reply-To MIME CT CTE
        std::string body = header(p, "Content-Transfer-Encoding") == "quoted-printable"
                               ? qp_decode(p.body)
                               : p.body;
        std::string want = std::regex_replace(text, std::regex("\r\n"), "\n");
        EXPECT_EQ(body, want + "\n");
    }
    // A header value with a line break is refused, never written.
    mail::Mail m;
    m.from_address = "a@b.c";
    m.to = "d@e.f";
    m.subject = "x\nBcc: g@h.i";
    EXPECT_THROW(mail::compose(m), Error);
    m.subject = "x";
    m.to = "d@e.f\nBcc: g@h.i";
    EXPECT_THROW(mail::compose(m), Error);
    m.to = "d@e.f";
    m.from_name = "1\r\nBcc: g@h.i";
    EXPECT_THROW(mail::compose(m), Error);
}

TEST(Mail, LineStartsMailboxesOrSmtpWouldChangeAreEncoded) {
    EXPECT_TRUE(mail::needs_quoted_printable("From here on"));
    EXPECT_TRUE(mail::needs_quoted_printable("a\n.\nb"));
    EXPECT_TRUE(mail::needs_quoted_printable("trailing \nx"));
    EXPECT_FALSE(mail::needs_quoted_printable("Hello, world.\nSecond line"));
    EXPECT_EQ(mail::quoted_printable("From here\n.\nend "), "=46rom here\n=2E\nend=20");
    EXPECT_EQ(mail::quoted_printable("a=b\tc\x01"), "a=3Db\tc=01");
}

TEST(Mail, EncodedWordsKeepTheirLimits) {
    // A long name with Polish and emoji: several words, each at most 75 characters, every line
    // at most 76, no character split between two words.
    std::string name;
    for (int i = 0; i < 12; ++i)
        name += "Zażółć 😀 gęślą ";
    std::string enc = mail::encoded_words(name, 9);
    expect_lines_at_most("Subject: " + enc, 76);
    EXPECT_EQ(words_decode(enc), name);
    EXPECT_GT(std::count(enc.begin(), enc.end(), '\n'), 3);
    // Plain ASCII that fits stays readable; "=?" or a non-ASCII byte is encoded.
    EXPECT_EQ(mail::header_text("SMS from 600700801", 9), "SMS from 600700801");
    EXPECT_NE(mail::header_text("=?UTF-8?B?eA==?=", 9).find("=?UTF-8?B?"), std::string::npos);
    EXPECT_EQ(words_decode(mail::header_text("=?UTF-8?B?eA==?=", 9)), "=?UTF-8?B?eA==?=");
    // Display names: an atom, a quoted string, encoded words.
    EXPECT_EQ(mail::phrase("+48600700801", 6), "+48600700801");
    EXPECT_EQ(mail::phrase("O\"Brien, J.", 6), "\"O\\\"Brien, J.\"");
    EXPECT_EQ(words_decode(mail::phrase("nieznany nadawca ż", 6)), "nieznany nadawca ż");
    // A message from an unknown sender carries [texts] unknown_sender, encoded when it must be.
    Config cfg;
    cfg.texts.unknown_sender = "nieznany nadawca ż";
    auto p = parse(mail::compose(mail::for_sms(cfg, "", "a@b.c", "x", "", "s", 0)));
    EXPECT_EQ(words_decode(header(p, "Subject")), "SMS from nieznany nadawca ż");
    EXPECT_EQ(words_decode(header(p, "From")), "nieznany nadawca ż");
}

// The hand-over: sendmail's exit status is the last hop. Small scripts stand in for the mail
// server here (the real one is in the end-to-end test).
TEST(Mail, SendmailExitStatusDecides) {
    test::TempDir tmp;
    auto script = [&](const std::string& name, const std::string& body) {
        std::string path = tmp.path + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        ::chmod(path.c_str(), 0755);
        return path;
    };
    std::string got = tmp.path + "/got";
    auto ok = mail::send(script("ok", "printf '%s\\n' \"$*\" >" + got + ".args; cat >" + got),
                         "To: a@b.c\n\nhi\n");
    EXPECT_EQ(ok.status, mail::Sent::Status::sent) << ok.detail;
    std::ifstream args(got + ".args"), body(got);
    std::string a((std::istreambuf_iterator<char>(args)), std::istreambuf_iterator<char>());
    std::string b((std::istreambuf_iterator<char>(body)), std::istreambuf_iterator<char>());
    EXPECT_EQ(a, "-t -oi\n");
    EXPECT_EQ(b, "To: a@b.c\n\nhi\n");
    EXPECT_EQ(mail::send(script("t", "cat >/dev/null; exit 75"), "x").status,
              mail::Sent::Status::retry);
    EXPECT_EQ(mail::send(script("k", "kill -9 $$"), "x").status, mail::Sent::Status::retry);
    EXPECT_EQ(mail::send(tmp.path + "/missing", "x").status, mail::Sent::Status::retry);
    auto no = mail::send(script("n", "exit 67"), std::string(1 << 20, 'x')); // refuses unread
    EXPECT_EQ(no.status, mail::Sent::Status::refused);
    EXPECT_NE(no.detail.find("67"), std::string::npos) << no.detail;
}
