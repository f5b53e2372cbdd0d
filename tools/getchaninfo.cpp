// getchaninfo: look up a number's messaging service and channel in the subscriber directory.
#include "cli/cli.hpp"
#include "directory/chaninfo.hpp"
#include "directory/directory.hpp"

#include <unistd.h>

int main(int argc, char** argv) {
    sms::cli::App app{"getchaninfo",
                      "Look up a number's messaging service and channel in the subscriber "
                      "directory."};
    app.add_version(sms::directory::library_versions);
    sms::chaninfo::Options opts;
    app.flag("--agi", opts.agi,
             "Speak AGI: read the number from the channel variable NUMBER names (default EXTEN) "
             "and set MSG_CHAN_OPT");
    app.positional("NUMBER", opts.number,
                   "The number to look up (with --agi: the variable holding it)");
    app.footer("Prints the service letter (S F V C T E N) and the channel, e.g. 'S PJSIP/1000'; "
               "'U' and exit 1 for an unknown number; exit 69 or 75 when the directory cannot "
               "answer. With --agi it sets MSG_CHAN_OPT (the letter, U unknown, X when the "
               "directory could not answer) "
               "and MSG_CHAN (the channel).");
    bool ran = false;
    int rc = app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        ran = true;
        return sms::chaninfo::run(ctx.config, opts);
    });
    // In AGI mode the dialplan waits for MSG_CHAN_OPT even when the configuration could not be
    // read (the error is already on stderr and in syslog): answer X rather than nothing.
    if (opts.agi && !ran && rc != 0 && rc != sms::code(sms::Exit::usage) && !::isatty(0))
        sms::chaninfo::answer_error("cannot read the configuration");
    return rc;
}
