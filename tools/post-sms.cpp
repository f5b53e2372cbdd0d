// post-sms: post a SIP message (or any text) into the SMS centre's spool as app_sms would.
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "messaging/postsms.hpp"
#include "translit/translit.hpp"

#include <unistd.h>

int main(int argc, char** argv) {
    sms::cli::App app{"post-sms", "Post a SIP message (or any text) into the SMS centre's "
                                  "spool as app_sms would."};
    app.add_version(sms::directory::library_versions);
    app.add_version(sms::translit::library_versions);
    std::optional<std::string> from, to, text;
    bool agi = false;
    std::vector<std::string> args;
    app.flag("--agi", agi, "Speak AGI (the default when --from/--to are absent)");
    app.option("--from", from, "Originating number");
    app.option("--to", to, "Destination number");
    sms::cli::add_text_option(app, text);
    app.positional("SMS", args, "With AGI: read SMS_OA/SMS_DA instead of MESSAGE_FROM/EXTEN");
    app.footer("AGI mode reads MESSAGE_FROM (or MESSAGE(from)), EXTEN and MSG_B64 (or SMS_OA, "
               "SMS_DA with SMS) and sets POSTSMS_STATUS to OK or ERROR.");
    bool ran = false;
    int rc = app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        ran = true;
        sms::postsms::Options opts{agi, args, from, to, std::nullopt};
        if (from || to) // CLI mode: the text from --text or stdin; AGI mode never reads it
            opts.text = sms::cli::read_text(text);
        return sms::postsms::run(ctx.config, opts);
    });
    // In AGI mode the dialplan tests POSTSMS_STATUS even when the configuration could not be
    // read (the error is already on stderr and in syslog): answer ERROR rather than nothing.
    if ((agi || (!from && !to)) && !ran && rc != 0 && rc != sms::code(sms::Exit::usage) &&
        !::isatty(0))
        sms::postsms::answer_error("cannot read the configuration");
    return rc;
}
