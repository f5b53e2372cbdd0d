// Fuzzes the configuration reader (parse_config): any text gives a Config or a clear Error.
#include "core/config.hpp"
#include "fuzz.hpp"
#include "util/error.hpp"

using namespace sms;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        Config c = parse_config(fuzz::as_text(data, size), "fuzz.conf");
        // The derived folders are computed from outside values too.
        (void)c.morx_dir();
        (void)c.mttx_dir();
        (void)c.outgoing_dir();
        (void)c.bad_dir();
        (void)c.failed_dir();
    } catch (const Error& e) {
        fuzz::require(e.exit() == Exit::config, "a config error that is not exit 78");
    }
    return 0;
}
