// E-mail addresses as the suite accepts them (SPEC 2.14): the directory's Extension of an E
// subscriber, [mail] from, and the sender sms-mail-in matches against the directory.
#pragma once

#include <string>
#include <string_view>

namespace sms::address {

// "" when `a` is an address the suite can hand to a mail server as it is, else why not (one
// printable line). The rule is deliberately narrow, so that an address can go into a header
// line and an argument unquoted: local@domain, the local part a dot-atom (RFC 5322 atext:
// letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~, dots between them), at most 64
// bytes; the domain as domain_problem; at most 254 bytes in all. No quoted local parts, no
// comments, no display name, no spaces, no non-ASCII (SMTPUTF8).
std::string problem(std::string_view a);

// "" when `d` is a domain name: dot-separated labels of ASCII letters, digits and '-' (not at a
// label's ends), each 1 to 63 bytes, at most 253 in all; else why not.
std::string domain_problem(std::string_view d);

// The local part and the domain of an address problem() accepts (the last '@' splits).
std::string_view local_part(std::string_view a);
std::string_view domain(std::string_view a);

} // namespace sms::address
