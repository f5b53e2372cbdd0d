// send-sipim: send a SIP instant message through the Asterisk manager's MessageSend.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"send-sipim", "Send a SIP instant message through the Asterisk manager's MessageSend."};
    std::string from, to;
    std::optional<std::string> text;
    app.positional("FROM", from, "Sender number").required();
    app.positional("TO", to, "Recipient (SIP user)").required();
    sms::cli::add_text_option(app, text);
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
