// Benchmark helper (scripts/bench.sh): the pictures the fax-pictures figures are measured on,
// made the same way every run (fixed seeds): photo.png (a blurred plasma, 1200 x 900),
// gradient.png (black to white, left to right), text.png (a scanned letter: grey paper, text,
// noise), drawing.png (lines and shapes), tall.png (a 1000 x 6000 photo: five pages).
// Usage: faxpictures DIR FONT.ttf
#include <Magick++.h>
#include <cstdio>
#include <list>
#include <string>
#include <tuple>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: faxpictures DIR FONT.ttf\n");
        return 64;
    }
    Magick::InitializeMagick(nullptr);
    MagickCore::SetRandomSecretKey(26);
    const std::string dir = argv[1];
    try {
        for (auto [name, w, h] : {std::tuple{"photo", 1200, 900}, std::tuple{"tall", 1000, 6000}}) {
            Magick::Image p;
            p.size(Magick::Geometry(w, h));
            p.read("plasma:fractal");
            p.blur(0, 3);
            p.write(dir + "/" + name + ".png");
        }
        Magick::Image g;
        g.size(Magick::Geometry(900, 1200));
        g.read("gradient:black-white");
        g.rotate(-90); // black at the left, white at the right
        g.write(dir + "/gradient.png");

        Magick::Image t(Magick::Geometry(1240, 1754), Magick::Color("#f2f0ea"));
        t.font(argv[2]);
        t.fontPointsize(28);
        t.fillColor("#202020");
        const char* line = "Dear Sir, thank you for your letter of the 3rd; the parts will ship";
        for (int y = 160; y < 1600; y += 44)
            t.annotate(line, Magick::Geometry(0, 0, 110, y), MagickCore::NorthWestGravity);
        t.addNoise(MagickCore::GaussianNoise);
        t.blur(0, 0.8);
        t.write(dir + "/text.png");

        Magick::Image d(Magick::Geometry(1200, 900), Magick::Color("white"));
        d.strokeColor("black");
        d.fillColor("none");
        d.strokeWidth(3);
        std::list<Magick::Drawable> shapes;
        for (int i = 0; i < 12; ++i) {
            shapes.push_back(
                Magick::DrawableCircle(200 + 70 * i, 300, 200 + 70 * i + 40 + 5 * i, 300));
            shapes.push_back(Magick::DrawableLine(50, 500 + 30 * i, 1150, 520 + 25 * i));
            shapes.push_back(Magick::DrawableRectangle(60 + 90 * i, 60, 120 + 90 * i, 160));
        }
        d.draw(shapes);
        d.write(dir + "/drawing.png");
    } catch (const Magick::Exception& e) {
        std::fprintf(stderr, "faxpictures: %s\n", e.what());
        return 70;
    }
    return 0;
}
