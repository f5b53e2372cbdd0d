// callfile-gen: write an Asterisk call file safely, now or scheduled.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"callfile-gen", "Write an Asterisk call file safely, now or scheduled."};
    std::string channel, application, data, context, extension, priority = "1", callerid;
    std::optional<int> max_retries, retry_time, wait_time;
    std::optional<bool> archive;
    std::vector<std::string> setvars;
    std::optional<std::string> at, name, spool;
    bool to_stdout = false;
    app.option("--channel", channel, "Channel to dial, e.g. PJSIP/1000").required();
    auto a = app.option("--application", application, "Application to run when answered");
    app.option("--data", data, "Arguments of the application");
    auto c = app.option("--context", context, "Dialplan context to continue in when answered");
    app.option("--extension", extension, "Extension in --context");
    app.option("--priority", priority, "Priority in --context (default 1)");
    a.excludes(c);
    app.option("--callerid", callerid, "Caller ID, e.g. '\"SMS\" <9001>'");
    app.option("--max-retries", max_retries, "Retries after the first attempt");
    app.option("--retry-time", retry_time, "Seconds between attempts");
    app.option("--wait-time", wait_time, "Seconds to wait for an answer");
    app.flag_pair("archive", archive, "Keep the file in outgoing_done/ when finished",
                  "Do not archive");
    app.option("--setvar", setvars, "Set a channel variable, NAME=VALUE (repeatable)");
    app.option("--at", at, "Dial at TIME: HH:MM (today or tomorrow) or YYYY-MM-DD HH:MM[:SS]");
    app.option("--name", name, "File name in outgoing/ (default: generated)");
    sms::cli::add_spool_option(app, spool);
    app.flag("--stdout", to_stdout, "Print the call file instead of queueing it");
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
