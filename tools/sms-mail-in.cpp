// sms-mail-in: an e-mail piped in by the mail server becomes an SMS from the E subscriber who
// sent it (SPEC 2.14).
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "mailin/mailin.hpp"

#include <cstdlib>
#include <ctime>

int main(int argc, char** argv) {
    sms::cli::App app{"sms-mail-in", "Turn an e-mail piped in by the mail server into an SMS from "
                                     "the E subscriber who sent it."};
    app.add_version(sms::directory::library_versions);
    app.add_version(sms::mailin::library_versions);
    sms::mailin::Options opts;
    app.option("--to", opts.to,
               "Destination number (default: the envelope recipient's local part, from "
               "$ORIGINAL_RECIPIENT or $RECIPIENT, then the To: address)");
    app.footer("Reads one message on standard input. Exit status for the mail server: 0 taken, "
               "65 no text or too big (bounced), 67 unknown number or sender (bounced), 75 "
               "try again later (a directory outage, a full disk, a configuration error).");
    for (const char* var : {"ORIGINAL_RECIPIENT", "RECIPIENT"})
        if (const char* v = std::getenv(var))
            (var[0] == 'O' ? opts.original_recipient : opts.recipient) = v;
    int rc = app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        return sms::mailin::run(ctx.config, opts, stdin, stdout,
                                static_cast<std::int64_t>(std::time(nullptr)));
    });
    // A mail server bounces on every status but 0 and 75: only a mail that is wrong (65, 67) or
    // a wrong command line (64) may bounce; anything else (a configuration that cannot be read,
    // 78) keeps the mail queued until it is fixed.
    using sms::Exit, sms::code;
    if (rc == 0 || rc == code(Exit::usage) || rc == code(Exit::dataerr) ||
        rc == code(Exit::nouser) || rc == code(Exit::tempfail))
        return rc;
    return code(Exit::tempfail);
}
