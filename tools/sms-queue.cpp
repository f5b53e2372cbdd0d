// sms-queue: what the suite holds, item by item (the suite's mailq); retry or delete an item.
#include "cli/cli.hpp"
#include "queue/queue.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms-queue",
                      "List every item the suite holds (held parts, retries, dead letters, "
                      "quarantined files, queued SMS, calls), show one, retry or delete it."};
    sms::queue::Options opts;
    sms::cli::add_spool_option(app, opts.spool);
    app.flag("--json", opts.json, "list: one JSON object per item, then a summary object");
    app.option("-s,--state", opts.state,
               "list: only items in STATE (held retry failed bad queued call lasthop)")
        .type_name("STATE");
    app.option("--from", opts.from, "list: only items from this number").type_name("N");
    app.option("--to", opts.to, "list: only items to this number").type_name("N");
    app.flag("--failed", opts.failed, "retry: every dead letter (failed)");
    app.flag("-y,--yes", opts.yes, "delete: do not ask");
    app.positional("COMMAND", opts.args, "[list] | show ID | retry ID... | delete ID...");
    app.footer("retry and delete take the router's locks and exit 75, changing nothing, when a "
               "running sms-process holds an item; each action is logged to syslog with the "
               "item's ID.");
    return app.run(argc, argv,
                   [&](sms::cli::Context& ctx) { return sms::queue::run(ctx.config, opts); });
}
