// sms2fax: render a text message (and pictures) as a G3 fax and queue the call that sends it.
#include "cli/cli.hpp"
#include "directory/directory.hpp"
#include "fax/fax.hpp"
#include "fax/fax_image.hpp"

#include <fmt/format.h>

int main(int argc, char** argv) {
    sms::cli::App app{"sms2fax",
                      "Render a text message as a G3 fax and queue the call that sends it."};
    app.add_version_list(sms::fax::library_versions);
    app.add_version(sms::fax::image_library_version);
    app.add_version(sms::directory::library_versions);
    sms::fax::Options o;
    std::optional<std::string> text;
    std::string resolution;
    app.option("--from", o.from,
               "Originating number (shown in the header; absent: [texts] unknown_sender)");
    app.option("--to", o.to, "Destination number").required();
    app.option("--extension", o.extension,
               "Channel to dial (default: the directory's channel for --to)");
    app.option("--scts", o.scts, "Time the message was sent, YYYY-MM-DDTHH:MM:SS (default: now)");
    app.option("--mr", o.mr, "Message reference shown in the header");
    auto res =
        app.option("--resolution", resolution, "Vertical resolution (default: [fax] resolution)")
            .choices({"standard", "fine", "superfine"});
    app.option("--output", o.output, "Write the TIFF here (default: a new file in [fax] dir)");
    app.flag("--no-call", o.no_call, "Render the file only; queue no call");
    auto text_opt = sms::cli::add_text_option(app, text);
    app.option("--image", o.images,
               "Fax these pictures (PNG, JPEG, GIF, TIFF, SVG...) as pages, after the --text "
               "cover if one is given");
    app.option("--preview", o.preview,
               "Also write what the fax will look like as a PNG (with --no-call and no --output: "
               "the PNG only)");
    app.footer("Prints the path of the TIFF written (and of the preview). The font is [fax] font "
               "(default DejaVu Sans Mono), with [fax] fallback_fonts for other scripts.");
    return app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        if (res.given())
            o.resolution = resolution;
        // Pictures alone need no text: standard input is read only for a text fax.
        o.cover = o.images.empty() || text_opt.given();
        if (o.cover)
            o.text = sms::cli::read_text(text);
        auto r = sms::fax::send(ctx.config, o);
        if (!r.tiff_path.empty())
            fmt::print("{}\n", r.tiff_path);
        if (r.preview_path)
            fmt::print("{}\n", *r.preview_path);
        return 0;
    });
}
