// getchaninfo: look up a number's messaging service and channel in the subscriber directory.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"getchaninfo", "Look up a number's messaging service and channel in the subscriber directory."};
    std::string number;
    bool agi = false;
    app.flag("--agi", agi,
             "Speak AGI: read the number from the channel variable NUMBER names (default EXTEN) "
             "and set MSG_CHAN_OPT");
    app.positional("NUMBER", number, "The number to look up (with --agi: the variable holding it)");
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
