// callfile-gen: write an Asterisk call file safely, now or scheduled.
#include "asterisk/callfile.hpp"
#include "cli/cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"callfile-gen", "Write an Asterisk call file safely, now or scheduled."};
    sms::callfile::Options o;
    sms::callfile::CallFile& c = o.call;
    app.option("--channel", c.channel, "Channel to dial, e.g. PJSIP/1000").required();
    auto a = app.option("--application", c.application, "Application to run when answered");
    app.option("--data", c.data, "Arguments of the application");
    auto x = app.option("--context", c.context, "Dialplan context to continue in when answered");
    app.option("--extension", c.extension, "Extension in --context");
    app.option("--priority", c.priority, "Priority in --context (default 1)");
    a.excludes(x);
    app.option("--callerid", c.callerid, "Caller ID, e.g. '\"SMS\" <9001>'");
    app.option("--max-retries", c.max_retries, "Retries after the first attempt");
    app.option("--retry-time", c.retry_time, "Seconds between attempts");
    app.option("--wait-time", c.wait_time, "Seconds to wait for an answer");
    app.flag_pair("archive", c.archive, "Keep the file in outgoing_done/ when finished",
                  "Do not archive");
    app.option("--setvar", o.setvars, "Set a channel variable, NAME=VALUE (repeatable)");
    app.option("--at", o.at,
               "Dial at TIME: HH:MM (today or tomorrow), YYYY-MM-DD HH:MM[:SS] or @UNIXTIME");
    app.option("--name", o.name, "File name in outgoing/ (default: generated)");
    sms::cli::add_spool_option(app, o.spool);
    app.flag("--stdout", o.to_stdout, "Print the call file instead of queueing it");
    app.footer("Prints the path of the queued file. Values holding CR, LF or NUL are refused.");
    return app.run(argc, argv, [&](sms::cli::Context& ctx) {
        return sms::callfile::run(ctx.config.general.spool_dir, o);
    });
}
