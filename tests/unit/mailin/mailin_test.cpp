// Tests of lib/mailin: what GMime reads from real-shaped mails (multipart, quoted-printable,
// base64, foreign charsets, HTML only), the reply cut from its quotes and signature, and the
// number an address is for.
#include "mailin/mailin.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using namespace sms;

namespace {

std::string crlf(std::string s) {
    std::string out;
    for (char c : s) {
        if (c == '\n')
            out += '\r';
        out += c;
    }
    return out;
}

} // namespace

TEST(MailIn, MultipartAlternativeTakesThePlainPartDecoded) {
    std::string mail = crlf(R"(From: Alice <Alice@Example.org>
To: 48600700800@pbx.example.org
Subject: Re: SMS from 48600700800
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Za=C5=BC=C3=B3=C5=82=C4=87 g=C4=99=C5=9Bl=C4=85 ja=C5=BA=C5=84 =F0=9F=98=80, a=
 long line joined by a soft break.
--b1
Content-Type: text/html; charset="UTF-8"

<p>HTML version</p>
--b1--
)");
    auto r = mailin::read_mail(mail);
    EXPECT_EQ(r.from, "Alice@Example.org");
    EXPECT_EQ(r.to, "48600700800@pbx.example.org");
    EXPECT_FALSE(r.html);
    EXPECT_EQ(mailin::cut_replies(r.text),
              "Zażółć gęślą jaźń 😀, a long line joined by a soft break.");
}

TEST(MailIn, HtmlOnlyGivesItsText) {
    std::string mail = R"(From: bob@example.org
To: 600700800@pbx
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

)" + std::string("PGh0bWw+PGhlYWQ+PHRpdGxlPlQ8L3RpdGxlPjxzdHlsZT5wIHtjb2xvcjpyZWR9PC9zdHls\n"
                 "ZT48L2hlYWQ+PGJvZHk+PHA+RHppZcWEICBkb2JyeSE8L3A+PGRpdj5MaW5lJm5ic3A7dHdv\n"
                 "ICZhbXA7ICYjMjYxOyAmI3gxMDU7PGJyPmVuZDwvZGl2PjxibG9ja3F1b3RlPm9sZCA8Ymxv\n"
                 "Y2txdW90ZT5vbGRlcjwvYmxvY2txdW90ZT48L2Jsb2NrcXVvdGU+PHNjcmlwdD5hbGVydCgx\n"
                 "KTwvc2NyaXB0PjwvYm9keT48L2h0bWw+\n");
    // <html><head><title>T</title><style>p {color:red}</style></head><body><p>Dzień  dobry!</p>
    // <div>Line&nbsp;two &amp; &#261; &#x105;<br>end</div><blockquote>old <blockquote>older
    // </blockquote></blockquote><script>alert(1)</script></body></html>
    auto r = mailin::read_mail(mail);
    EXPECT_TRUE(r.html);
    EXPECT_EQ(mailin::cut_replies(r.text), "Dzień dobry!\nLine two & ą ą\nend");
}

TEST(MailIn, QuotedReplyAndSignatureAreCut) {
    std::string mail = R"(From: alice@example.org
To: 48600700800@pbx
Content-Type: text/plain; charset=UTF-8

Yes, 10:00 works.
See you there.

On Mon, 7 Dec 2026 at 05:10, 48600700800 <sms@pbx> wrote:
> Meeting at 10?
>
> > older
-- 
Alice Example
+48 600 700 801
)";
    auto r = mailin::read_mail(mail);
    EXPECT_EQ(mailin::cut_replies(r.text), "Yes, 10:00 works.\nSee you there.");
    // Interleaved answers keep the answers; Polish clients' attribution goes too; Outlook's
    // original message goes with everything after it.
    EXPECT_EQ(mailin::cut_replies("W dniu 7.12.2026 o 05:10 Jan napisał(a):\n> Kiedy?\nJutro.\n"),
              "Jutro.");
    EXPECT_EQ(mailin::cut_replies("> a?\nA.\n> b?\nB.\n"), "A.\nB.");
    EXPECT_EQ(mailin::cut_replies("OK\r\n\r\n-----Original Message-----\r\nFrom: x\r\nhi\r\n"),
              "OK");
    EXPECT_EQ(mailin::cut_replies("OK\n\nFrom: Bob\nSent: Monday\nSubject: x\n\nold"), "OK");
    EXPECT_EQ(mailin::cut_replies("Price: 5 --\nok\n-- \nsig"), "Price: 5 --\nok");
    EXPECT_EQ(mailin::cut_replies("> only a quote\n-- \nsig\n"), "");
    EXPECT_EQ(mailin::cut_replies("a ----------- b\n-----------\nc"),
              "a ----------- b\n-----------\nc");
}

TEST(MailIn, ForeignCharsetsBecomeUtf8) {
    // ISO-8859-2 in quoted-printable, Windows-1250 in base64, KOI8-R 8bit.
    auto latin2 = mailin::read_mail("From: a@b.c\nContent-Type: text/plain; charset=iso-8859-2\n"
                                    "Content-Transfer-Encoding: quoted-printable\n\n"
                                    "Za=BF=F3=B3=E6 g=EA=B6l=B1 ja=BC=F1\n");
    EXPECT_EQ(mailin::cut_replies(latin2.text), "Zażółć gęślą jaźń");
    // "Łódź" in Windows-1250: A3 F3 64 9F
    auto cp1250 = mailin::read_mail("From: a@b.c\nContent-Type: text/plain; charset=windows-1250\n"
                                    "Content-Transfer-Encoding: base64\n\no/NknyE=\n");
    EXPECT_EQ(mailin::cut_replies(cp1250.text), "Łódź!");
    auto koi8 =
        mailin::read_mail(std::string("From: a@b.c\nContent-Type: text/plain; "
                                      "charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n") +
                          "\xF0\xD2\xC9\xD7\xC5\xD4\n");
    EXPECT_EQ(mailin::cut_replies(koi8.text), "Привет");
    // A charset nobody knows, or none, with 8-bit bytes: read as Windows-1252, nothing lost.
    auto unknown = mailin::read_mail("From: a@b.c\nContent-Type: text/plain; charset=x-nonesuch\n"
                                     "Content-Transfer-Encoding: 8bit\n\ncaf\xE9 \x80"
                                     "5\n");
    EXPECT_EQ(mailin::cut_replies(unknown.text), "café €5");
}

TEST(MailIn, AttachmentsAndAttachedMessagesAreNotTheText) {
    std::string mail = R"(From: "Alice, A." <alice@example.org>
To: undisclosed-recipients:;
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain; name=notes.txt
Content-Disposition: attachment; filename=notes.txt

not this
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=us-ascii

The body.
--inner--
--outer--
)";
    auto r = mailin::read_mail(mail);
    EXPECT_EQ(r.from, "alice@example.org");
    EXPECT_EQ(r.to, "");
    EXPECT_EQ(mailin::cut_replies(r.text), "The body.");
}

TEST(MailIn, MboxFromLineAndNoTextPart) {
    auto r = mailin::read_mail("From root@vm Mon Dec 07 04:06:40 2026\nFrom: a@b.c\n"
                               "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
                               "iVBORw0KGgo=\n");
    EXPECT_EQ(r.from, "a@b.c");
    EXPECT_EQ(r.text, "");
}

TEST(MailIn, NumberOfAnAddress) {
    EXPECT_EQ(mailin::number_of("48600700800@pbx.example.org"), "48600700800");
    EXPECT_EQ(mailin::number_of("<+48600700800@pbx>"), "+48600700800");
    EXPECT_EQ(mailin::number_of("sms+48600700800@pbx"), "48600700800");
    EXPECT_EQ(mailin::number_of("sms-+48600700800@pbx"), "+48600700800");
    EXPECT_EQ(mailin::number_of("48600700800"), "48600700800");
    EXPECT_EQ(mailin::number_of("alice@example.org"), "");
    EXPECT_EQ(mailin::number_of("sms+alice@pbx"), "");
    EXPECT_EQ(mailin::number_of("../../etc@pbx"), "");
    EXPECT_EQ(mailin::number_of("123456789012345678901@pbx"), ""); // over 20 digits
}
