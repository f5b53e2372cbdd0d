// sms-process: route every message in the SMS centre's spool to each subscriber's service.
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "router/process.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-process",
                      "Route every message in the SMS centre's spool (sms/morx/) to the service "
                      "each subscriber chose."};
    app.add_version(sms::directory::library_versions);
    sms::process::Options opts;
    opts.self = argv[0];
    sms::cli::add_spool_option(app, opts.spool);
    app.flag("--dry-run", opts.dry_run, "Decide and print, change nothing");
    app.flag("--json", opts.json, "One JSON object per message on stdout, then a summary");
    return app.run(argc, argv,
                   [&](sms::cli::Context& ctx) { return sms::process::run(ctx.config, opts); });
}
