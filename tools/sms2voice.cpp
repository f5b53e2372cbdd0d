// sms2voice: speak a text message into a WAV file and queue the call that plays it.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms2voice", "Speak a text message into a WAV file and queue the call that plays it."};
    std::string from, to;
    std::optional<std::string> extension, scts, output, text, language;
    std::optional<int> mr;
    bool no_call = false;
    app.option("--from", from, "Originating number (spoken in the header)").required();
    app.option("--to", to, "Destination number").required();
    app.option("--extension", extension, "Channel to dial (default: the directory's channel for --to)");
    app.option("--scts", scts, "Time the message was sent, YYYY-MM-DDTHH:MM:SS (default: now)");
    app.option("--mr", mr, "Message reference");
    app.option("--language", language, "espeak-ng voice (default: [voice] language)");
    app.option("--output", output, "Write the WAV here (default: a new file in [voice] dir)");
    app.flag("--no-call", no_call, "Render the file only; queue no call");
    sms::cli::add_text_option(app, text);
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
