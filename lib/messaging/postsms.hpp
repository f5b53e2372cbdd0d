// post-sms (SPEC 2.5): a SIP message (or any text) into sms/morx/ as app_sms would write it.
#pragma once

#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "directory/directory.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::postsms {

struct Options {
    bool agi = false;                // --agi (also the mode when --from/--to are absent)
    std::vector<std::string> args;   // positionals: "SMS" reads SMS_OA/SMS_DA
    std::optional<std::string> from; // CLI mode
    std::optional<std::string> to;
    std::optional<std::string> text; // CLI mode: the text itself (the tool reads stdin)
};

// The AGI channel variable the dialplan can test after AGI(post-sms): OK or ERROR.
inline constexpr std::string_view status_variable = "POSTSMS_STATUS";

// The number in a SIP From: `"Name" <sip:1000@host;tag=x>`, `<sips:+48...@host>`, `sip:1000@h`,
// `tel:+48...`, or a bare `1000`: the user part, unchecked ("" when there is none).
std::string sender_number(std::string_view from);

// CRLF, CR and LF to one space each; blanks and those spaces trimmed at both ends.
std::string flatten(std::string_view text);

// Throws Error(dataerr, "<what> '<number>'", why) unless `number` is digits with one optional
// leading '+' (spool::valid_number): nothing else may reach a file name.
void check_number(std::string_view what, std::string_view number);

struct Posted {
    std::string name; // file name in sms/morx/
    std::string path;
    spool::Message message;
    bool transliterated = false;
};

// Validates the numbers and the text (UTF-8), flattens the text, transliterates it when the
// destination's service is S and [general] unicode = transliterate (a directory that cannot be
// asked leaves the text as it is: the router decides later), and writes
// <morx>/<oa>.<scts>-<n> (dotfile, then rename without replacing; n is the first free number).
// `dir` may be null: no lookup, no transliteration.
Posted post(const Config& cfg, std::string_view oa, std::string_view da, std::string_view text,
            directory::Directory* dir, std::int64_t now);

// AGI mode on `in`/`out`: reads the variables, posts, sets POSTSMS_STATUS and says a VERBOSE
// line either way. Returns 0, or throws Error (after telling Asterisk): dataerr for bad input
// (nothing written), tempfail when the channel hung up before the message was written.
int run_agi(const Config& cfg, const Options& opts, std::FILE* in, std::FILE* out,
            directory::Directory* dir);

// CLI mode: --from, --to and the text. Prints the file written on stdout.
int run_cli(const Config& cfg, const Options& opts, directory::Directory* dir);

// AGI mode when the configuration could not be read: sets POSTSMS_STATUS to ERROR (the dialplan
// then tells the sender the message was not taken) and says why on the console. Returns 0,
// also when the channel has hung up.
int answer_error(std::string_view why, std::FILE* in = stdin, std::FILE* out = stdout);

// What the tool calls: picks the mode, opens the directory.
int run(const Config& cfg, const Options& opts);

} // namespace sms::postsms
