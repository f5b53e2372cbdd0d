// sms2voice: speak a text message into a WAV file and queue the call that plays it.
#include "cli/cli.hpp"
#include "voice/voice.hpp"

#include <fmt/format.h>

int main(int argc, char** argv) {
    sms::cli::App app{"sms2voice",
                      "Speak a text message into a WAV file and queue the call that plays it."};
    sms::voice::Options o;
    std::optional<std::string> text;
    app.option("--from", o.from,
               "Originating number (spoken in the header; absent: [texts] unknown_sender)");
    app.option("--to", o.to, "Destination number").required();
    app.option("--extension", o.extension,
               "Channel to dial (default: the directory's channel for --to)");
    app.option("--scts", o.scts, "Time the message was sent, YYYY-MM-DDTHH:MM:SS (default: now)");
    app.option("--mr", o.mr, "Message reference");
    app.option("--language", o.language, "espeak-ng voice (default: [voice] language)");
    app.option("--output", o.output, "Write the WAV here (default: a new file in [voice] dir)");
    app.flag("--no-call", o.no_call, "Render the file only; queue no call");
    sms::cli::add_text_option(app, text);
    app.add_version_list(sms::voice::library_versions);
    app.footer("Prints the path of the WAV file it wrote.");
    return app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        o.text = sms::cli::read_text(text);
        fmt::print("{}\n", sms::voice::run(ctx.config, o));
        return 0;
    });
}
