// Fuzzes the app_sms message file reader (spool::parse) and its round trip through the writer.
#include "asterisk/spool.hpp"
#include "fuzz.hpp"
#include "util/error.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    spool::Message m;
    try {
        m = spool::parse(fuzz::as_text(data, size), "fuzz");
    } catch (const Error&) {
        return 0; // refused with a clear error: what a bad file must get
    }
    // No oa= is a message from an unknown sender (SPEC 3); no scts= is a cut file.
    fuzz::require(!m.scts.empty(), "accepted a file without scts=");

    // Whatever the reader accepts, the writer must write so that the reader gets the same
    // message back (the router rewrites messages it holds, e.g. concatenated parts).
    for (auto style : {spool::TextStyle::automatic, spool::TextStyle::ucs2}) {
        std::string text;
        try {
            text = spool::serialize(m, {style, true});
        } catch (const Error&) {
            fuzz::require(false, "serialize refused a message parse accepted");
        }
        spool::Message again;
        try {
            again = spool::parse(text, "again");
        } catch (const Error&) {
            fuzz::require(false, "parse refused what serialize wrote");
        }
        fuzz::require(again.oa == m.oa && again.da == m.da && again.scts == m.scts,
                      "round trip changed oa/da/scts");
        fuzz::require(again.text == m.text, "round trip changed the text");
        fuzz::require(again.udh == m.udh, "round trip changed the UDH");
        fuzz::require(again.pid == m.pid && again.dcs == m.dcs && again.mr == m.mr &&
                          again.vp == m.vp && again.srr == m.srr && again.rp == m.rp,
                      "round trip changed a numeric field");
        fuzz::require(again.concat() == m.concat(), "round trip changed the concatenation");
    }
    return 0;
}
