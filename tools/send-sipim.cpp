// send-sipim: send a SIP instant message through the Asterisk manager's MessageSend.
#include "cli/cli.hpp"
#include "messaging/sipim.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"send-sipim",
                      "Send a SIP instant message through the Asterisk manager's MessageSend."};
    std::string from, to;
    std::optional<std::string> text;
    app.positional("FROM", from, "Sender number").required();
    app.positional("TO", to, "Recipient (SIP user)").required();
    sms::cli::add_text_option(app, text);
    app.footer("Exit status: 0 sent, 1 Asterisk refused it (its Message: is printed), 65 bad "
               "input, 69 Asterisk unreachable or login refused, 75 timed out.");
    return app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        sms::sipim::Options opts{from, to, sms::cli::read_text(text)};
        return sms::sipim::run(ctx.config, opts);
    });
}
