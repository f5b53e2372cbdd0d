// sms-send: queue an SMS for a landline SMS phone, split and concatenated when long.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-send", "Queue an SMS for a landline SMS phone, split and concatenated when long."};
    std::string from, to;
    std::optional<std::string> extension, text, spool;
    std::optional<unsigned> ref;
    bool ref16 = false, no_dial = false, dry_run = false, json = false;
    app.option("--from", from, "Originating number shown to the phone").required();
    app.option("--to", to, "Destination phone number (the mttx queue)").required();
    app.option("--extension", extension, "Channel to dial (default: the directory's channel for --to)");
    app.option("--ref", ref, "Concatenation reference (default: the next for --to)");
    app.flag("--ref16", ref16, "Use 16-bit concatenation references");
    app.flag("--no-dial", no_dial, "Queue only; do not write the delivery call file");
    app.flag("--dry-run", dry_run, "Split and print; write nothing");
    app.flag("--json", json, "One JSON object per part on stdout");
    sms::cli::add_spool_option(app, spool);
    sms::cli::add_text_option(app, text);
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
