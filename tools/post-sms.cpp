// post-sms: post a SIP message (or any text) into the SMS centre's spool as app_sms would.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"post-sms", "Post a SIP message (or any text) into the SMS centre's spool as app_sms would."};
    std::optional<std::string> from, to, text;
    bool agi = false;
    std::vector<std::string> args;
    app.flag("--agi", agi, "Speak AGI (the default when --from/--to are absent)");
    app.option("--from", from, "Originating number");
    app.option("--to", to, "Destination number");
    sms::cli::add_text_option(app, text);
    app.positional("SMS", args, "With AGI: read SMS_OA/SMS_DA instead of MESSAGE_FROM/EXTEN");
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
