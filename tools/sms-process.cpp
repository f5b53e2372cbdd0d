// sms-process: route every message in the SMS centre's spool to each subscriber's service.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-process", "Route every message in the SMS centre's spool to each subscriber's service."};
    std::optional<std::string> spool;
    bool dry_run = false, json = false;
    sms::cli::add_spool_option(app, spool);
    app.flag("--dry-run", dry_run, "Decide and print, change nothing");
    app.flag("--json", json, "One JSON object per message on stdout, then a summary");
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
