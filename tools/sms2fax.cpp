// sms2fax: render a text message as a G3 fax and queue the call that sends it.
#include "cli.hpp"

int main(int argc, char** argv) {
    sms::cli::App app{"sms2fax", "Render a text message as a G3 fax and queue the call that sends it."};
    std::string from, to, resolution;
    std::optional<std::string> extension, scts, output, text;
    std::optional<int> mr;
    bool no_call = false;
    app.option("--from", from, "Originating number (shown in the header)").required();
    app.option("--to", to, "Destination number").required();
    app.option("--extension", extension, "Channel to dial (default: the directory's channel for --to)");
    app.option("--scts", scts, "Time the message was sent, YYYY-MM-DDTHH:MM:SS (default: now)");
    app.option("--mr", mr, "Message reference shown in the header");
    app.option("--resolution", resolution, "Vertical resolution (default: [fax] resolution)")
        .choices({"standard", "fine", "superfine"});
    app.option("--output", output, "Write the TIFF here (default: a new file in [fax] dir)");
    app.flag("--no-call", no_call, "Render the file only; queue no call");
    sms::cli::add_text_option(app, text);
    return app.run(argc, argv, [&](sms::cli::Context&) -> int {
        throw sms::Error(sms::Exit::software, "", "not implemented yet");
    });
}
