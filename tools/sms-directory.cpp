// sms-directory: list and edit the subscriber directory, with the router's own checks.
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "directory/directory_admin.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-directory",
                      "List and edit the subscriber directory (SQLite or MySQL/MariaDB), every "
                      "value checked as the router reads it."};
    app.add_version(sms::directory::library_versions);
    sms::directory_admin::Options opts;
    app.option("--service", opts.service,
               "set: the service letter (S F V C T E N); list: only numbers with this service")
        .type_name("L");
    app.option("--channel", opts.channel,
               "set: the channel Asterisk dials, TECH/resource (e.g. PJSIP/1000, DAHDI/1)")
        .type_name("CHAN");
    app.flag("--json", opts.json, "list: one JSON object per number");
    app.flag("--replace", opts.replace, "import: replace the whole table with the file's rows");
    app.flag("--dry-run", opts.dry_run, "import: check the file and say what would change");
    app.positional("COMMAND", opts.args,
                   "init | list | get NUMBER | set NUMBER | remove NUMBER | import FILE | "
                   "export");
    app.footer("Commands: init (create the table), list, get NUMBER, set NUMBER --service L "
               "[--channel CHAN], remove NUMBER, import FILE (CSV number,service,channel with a "
               "header; '-' for stdin), export (the same CSV on stdout). A bad value exits 65 "
               "and nothing is written.");
    return app.run(argc, argv, [&](sms::cli::Context& ctx) {
        return sms::directory_admin::run(ctx.config, opts);
    });
}
