// Service E (SPEC 2.14): an SMS as an e-mail, written here (RFC 5322 headers, RFC 2047 encoded
// words, a quoted-printable text/plain body) and handed to the local mail server through the
// `sendmail -t -oi` interface every MTA provides.
#pragma once

#include "core/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sms::mail {

struct Mail {
    std::string from_name;    // the display name of From: (the sender's number)
    std::string from_address; // [mail] from
    std::string to;           // the subscriber's address
    std::string subject;
    std::string reply_to;   // empty: no Reply-To:
    std::string message_id; // without the angle brackets
    std::int64_t date = 0;  // seconds since the epoch, written in local time
    std::string text;       // UTF-8; only ever in the body
};

// RFC 2047 "B" encoded words (=?UTF-8?B?...?=) for `s`, each at most 75 characters, none
// splitting a UTF-8 sequence, folded so that no line is longer than 76 characters: the first
// starts after `used` characters of its line (e.g. 9 for "Subject: "), the others on a
// continuation line of their own (" " and the word).
std::string encoded_words(std::string_view s, std::size_t used);

// An unstructured header value (Subject:): as it is when it is printable ASCII that fits the
// line and cannot be read as an encoded word, else encoded_words.
std::string header_text(std::string_view s, std::size_t used);

// A display name (a phrase): atoms as they are, other printable ASCII as a quoted string,
// anything else as encoded words.
std::string phrase(std::string_view s, std::size_t used);

// Whether a text needs quoted-printable rather than going as 7bit: a byte outside printable
// ASCII (other than LF and tab), a line over 76 characters, a blank before a line end, a line
// starting "From " (mbox would quote it) or a lone ".".
bool needs_quoted_printable(std::string_view text);

// RFC 2045 quoted-printable of UTF-8 text, LF line ends kept as hard line breaks (CRLF counts as
// one; a lone CR is encoded), lines of at most 76 characters with soft breaks that never split a
// UTF-8 sequence or an =XX, blanks before a line end encoded, "From " and a lone "." at a line's
// start encoded.
std::string quoted_printable(std::string_view text);

// "Mon, 07 Dec 2026 05:10:00 +0100": RFC 5322's date-time in local time.
std::string rfc5322_date(std::int64_t t);

// The whole message, LF line ends (the local sendmail convention). Every header value comes from
// the configuration, the directory or the numbers (checked), never from the text; still, a value
// holding CR, LF or NUL, or an address address::problem refuses, throws Error(dataerr) rather
// than being written.
std::string compose(const Mail& m);

// The mail SPEC 2.14 describes for an SMS from `oa` ("" unknown) to `address`: From: [mail]
// from (default sms-suite@<host name>) with the number as display name, Subject "SMS from
// <number>", Date from scts (local time) or `now`, a Message-ID derived from `stem` (a resend of
// the same message carries the same one, so a mail client can tell), Reply-To <oa>@[mail] domain
// when a domain is set.
Mail for_sms(const Config& cfg, std::string_view oa, std::string_view address,
             std::string_view text, std::string_view scts, std::string_view stem, std::int64_t now);

// [mail] from, or sms-suite@<host name> when it is empty.
std::string from_address(const Config& cfg);

// What the mail server said (the last hop of an E message).
struct Sent {
    enum class Status {
        sent,    // exit status 0: the mail server has it
        retry,   // 75 (EX_TEMPFAIL), a signal, or it could not be run: as for any outage
        refused, // any other exit status: it will never take this mail
    } status = Status::sent;
    std::string detail;
};

// Runs `sendmail -t -oi` (fork and exec, no shell; its stdout to our stderr), writes `message`
// to its stdin, waits. The recipients are the To: of the message (-t); -oi: a line holding a
// single "." does not end it.
Sent send(const std::string& sendmail, std::string_view message);

} // namespace sms::mail
