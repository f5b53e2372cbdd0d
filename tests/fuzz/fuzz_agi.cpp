// Fuzzes the AGI reader: a Session over whatever "Asterisk" writes (fmemopen), driven through
// the calls the tools make (get_variable, set_variable, verbose, command) until it hangs up.
#include "asterisk/agi.hpp"
#include "fuzz.hpp"
#include "util/error.hpp"

#include <cstdio>
#include <memory>

using namespace sms;

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Commands go nowhere: only the replies are outside input.
std::FILE* sink() {
    static File devnull{std::fopen("/dev/null", "w")};
    return devnull.get();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0; // fmemopen refuses an empty buffer; EOF at once is the same as a hang-up
    File in{fmemopen(const_cast<std::uint8_t*>(data), size, "r")};
    fuzz::require(in != nullptr, "fmemopen failed");
    try {
        agi::Session s(in.get(), sink());
        (void)s.env("agi_channel");
        auto args = s.args();
        fuzz::require(args.size() <= s.env().size(), "more arguments than environment lines");
        // Every call reads at least one line, so this ends at EOF (a Hangup) well before 4096.
        for (int i = 0; i < 4096; ++i) {
            try {
                switch (i % 4) {
                case 0:
                    // Asterisk sends a value's line feeds raw inside "(...)", so a value may
                    // span lines (a FAXERROR does); it stays within the reply limit.
                    if (auto v = s.get_variable("MSG_B64"))
                        fuzz::require(v->size() < (std::size_t{1} << 20),
                                      "a variable's value over the 1 MiB reply limit");
                    break;
                case 1:
                    s.set_variable("MSG_CHAN_OPT", "S \"quoted\" \\ value\n");
                    break;
                case 2:
                    s.verbose("fuzz", i);
                    break;
                default: {
                    agi::Reply r = s.command("CHANNEL STATUS");
                    fuzz::require(r.code >= 0 && r.code <= 999, "a reply code out of range");
                    fuzz::require(!r.text.empty(), "a reply without text");
                }
                }
            } catch (const Error& e) {
                // A refused command or an unreadable reply: the tools report it and go on or
                // stop; either way the session must stay usable until the hang-up.
                fuzz::require(e.exit() == Exit::software || e.exit() == Exit::dataerr,
                              "an AGI error with an unexpected exit code");
            }
        }
        fuzz::require(false, "4096 commands answered by a finite input");
    } catch (const agi::Hangup&) {
    } catch (const Error& e) {
        fuzz::require(e.exit() == Exit::dataerr, "an environment error that is not dataerr");
    }
    return 0;
}
