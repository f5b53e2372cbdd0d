// Fuzzes the splitting of SMS for phones (outbox::split, transliteration included) and the queue
// files it plans: split then join gives back the text, every part fits, and every queue file
// reads back as its part.
#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "fuzz.hpp"
#include "messaging/outbox.hpp"
#include "translit/translit.hpp"
#include "util/error.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    // The first byte picks the settings; the rest is the text.
    const std::uint8_t flags = data[0];
    Config cfg;
    cfg.general.spool_dir = "/nonexistent/sms-suite-fuzz";
    cfg.general.unicode = flags & 1 ? UnicodePolicy::ucs2 : UnicodePolicy::transliterate;
    cfg.general.concatenate = !(flags & 2);
    cfg.general.max_parts = 1 + (flags >> 2); // 1..64
    outbox::Request req;
    req.oa = "9001";
    req.da = "600700800";
    req.channel = "DAHDI/1";
    req.text = std::string(fuzz::as_text(data + 1, size - 1));
    req.ref = 0xA7;
    req.ref16 = flags & 0x80;
    req.scts = "2026-11-29T22:53:42";
    req.dial = false;

    std::vector<outbox::Part> parts;
    try {
        parts = outbox::split(cfg, req);
    } catch (const Error& e) {
        fuzz::require(e.exit() == Exit::dataerr, "a split error that is not dataerr");
        return 0; // not UTF-8, or more parts than max_parts
    }
    fuzz::require(!parts.empty(), "no part");
    fuzz::require(static_cast<int>(parts.size()) <= cfg.general.max_parts, "over max_parts");

    std::string joined;
    const bool udh = cfg.general.concatenate && parts.size() > 1;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto& p = parts[i];
        fuzz::require(p.part == static_cast<int>(i + 1) &&
                          p.parts == static_cast<int>(parts.size()),
                      "part numbering");
        fuzz::require(p.dcs == 0 || p.dcs == 8, "dcs neither 0 nor 8");
        fuzz::require(p.udh.empty() != udh, "a UDH where none belongs, or none where one does");
        const int cap =
            p.dcs == 0 ? (udh ? (req.ref16 ? 152 : 153) : 160) : (udh ? (req.ref16 ? 66 : 67) : 70);
        fuzz::require((p.dcs == 0 ? p.septets : p.units) <= cap, "a part over its capacity");
        joined += p.text;
    }
    if (cfg.general.unicode == UnicodePolicy::ucs2)
        fuzz::require(joined == translit::nfc(req.text), "split then join changed the text");

    // The queue files must read back as their parts.
    auto files = outbox::plan(cfg, req, parts, "fuzz");
    fuzz::require(files.size() == parts.size(), "one queue file per part");
    for (std::size_t i = 0; i < files.size(); ++i) {
        spool::Message m;
        try {
            m = spool::parse(files[i].content, files[i].name);
        } catch (const Error&) {
            fuzz::require(false, "a planned queue file does not parse");
        }
        fuzz::require(m.text == parts[i].text, "a queue file's text differs from its part");
        fuzz::require(m.dcs == parts[i].dcs, "a queue file's dcs differs from its part");
        auto c = m.concat();
        fuzz::require(c.has_value() == udh, "a queue file's concatenation header");
        if (c)
            fuzz::require(c->ref == 0xA7 && c->total == parts.size() && c->seq == i + 1 &&
                              c->ref16 == req.ref16,
                          "a queue file's reference, total or sequence");
    }
    return 0;
}
