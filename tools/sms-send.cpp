// sms-send: queue an SMS for a landline SMS phone, split and concatenated when long.
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "messaging/send.hpp"
#include "translit/translit.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-send",
                      "Queue an SMS for a landline SMS phone, split and concatenated when long."};
    app.add_version(sms::directory::library_versions);
    app.add_version(sms::translit::library_versions);
    sms::send::Options o;
    std::optional<std::string> text;
    app.option("--from", o.from, "Originating number shown to the phone").required();
    app.option("--to", o.to, "Destination phone number (the mttx queue)").required();
    app.option("--extension", o.extension,
               "Channel to dial (default: the directory's channel for --to)");
    app.option("--ref", o.ref, "Concatenation reference (default: the next for --to)");
    app.flag("--ref16", o.ref16, "Use 16-bit concatenation references");
    app.flag("--no-dial", o.no_dial, "Queue only; do not write the delivery call file");
    app.flag("--dry-run", o.dry_run, "Split and print; write nothing");
    app.flag("--json", o.json, "One JSON object per part on stdout");
    sms::cli::add_spool_option(app, o.spool);
    sms::cli::add_text_option(app, text);
    return app.run(argc, argv, [&](sms::cli::Context& ctx) {
        o.text = sms::cli::read_text(text);
        o.text_from_stdin = !text || *text == "-";
        return sms::send::run(ctx.config, o);
    });
}
