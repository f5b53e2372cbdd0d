// sms-mail-in (SPEC 2.14): one e-mail, piped in by the mail server, becomes a message file in
// sms/morx/ from the E subscriber who sent it. MIME is parsed by GMime 3, which only this room
// (and so only the sms-mail-in tool) links.
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace sms::mailin {

// What a mail holds for the suite.
struct Read {
    std::string from;  // the address of From: (its first mailbox), "" when there is none
    std::string to;    // the address of To: (its first mailbox), "" when there is none
    std::string text;  // the chosen part's text in UTF-8, as it is (see choose below)
    bool html = false; // it came from a text/html part
};

// Parses an RFC 5322 message (a leading mbox "From " line, as exim's pipe writes, is skipped).
// The text is the first text/plain part that is not an attachment (multipart of any depth,
// quoted-printable or base64, any charset iconv knows converted to UTF-8; a part whose charset
// is unknown or wrong is read as Windows-1252); when there is none, the first text/html part's
// text (html_to_text). Throws Error(dataerr) when the bytes are no message.
Read read_mail(std::string_view bytes);

// The text of HTML: tags removed (with the content of script, style and head), line breaks for
// br, p, div, li, tr and headings, the common entities and numeric references decoded, blank runs
// collapsed.
std::string html_to_text(std::string_view html);

// The reply itself: quoted lines ("> ...") and the attribution line before them ("On ... wrote:",
// "... napisał(a):"), the signature ("-- " and everything after it), an Outlook-style original
// message ("-----Original Message-----", "From: ..." after a blank line and everything after)
// removed; each line's trailing blanks and blank lines at either end trimmed.
std::string cut_replies(std::string_view text);

// The number an envelope recipient or a To: address is for: its local part when that is a number
// ("48600700800@host"), or what follows the first '+' or '-' of it when that is one ("sms+4860...",
// "sms-+4860...": an MTA's recipient delimiter); "" otherwise.
std::string number_of(std::string_view address);

struct Options {
    std::optional<std::string> to; // --to NUMBER
    // The envelope recipient as the mail server gives it ($ORIGINAL_RECIPIENT, then $RECIPIENT).
    std::string original_recipient;
    std::string recipient;
};

// The whole tool: reads the mail from `in` (at most [mail] max_size bytes: a larger one is
// refused at once), finds the destination number (--to, the envelope, then To:), checks it is in
// the directory and not N, finds the E subscriber whose address is the From: address
// (case-insensitive), takes the text, and writes the message file as post-sms does (its path on
// `out`). Throws Error: dataerr (65) no text, over a limit, not a mail; nouser (67) unknown
// number or sender, nothing written; tempfail (75) for everything else (a directory outage, a
// full disk): the mail server keeps the mail and tries again.
int run(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out, std::int64_t now);

// "GMime 3.2.13" for --version.
std::string library_versions();

} // namespace sms::mailin
