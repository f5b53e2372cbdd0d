// send-sipim: a thin shell over ami::send_message that turns its answer into an exit code.
#include "messaging/sipim.hpp"

#include "asterisk/ami.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/utf8.hpp"

#include <fmt/format.h>

namespace sms::sipim {

int run(const Config& cfg, const Options& opts) {
    std::size_t bad_at = 0;
    if (!utf8::decode(opts.text, false, &bad_at))
        throw Error(Exit::dataerr, "message text", fmt::format("invalid UTF-8 at byte {}", bad_at));
    auto r = ami::send_message(cfg.ami, opts.from, opts.to, opts.text);
    std::string what = fmt::format("MessageSend to {}:{}", cfg.ami.technology, opts.to);
    switch (r.status) {
    case ami::SendResult::Status::sent:
        log::info("sent a SIP message from {} to {}:{}", opts.from, cfg.ami.technology, opts.to);
        return 0;
    case ami::SendResult::Status::refused:
        throw Error(r.exit == Exit::ok ? Exit::failure : r.exit, what, r.message);
    case ami::SendResult::Status::unavailable:
        break;
    }
    throw Error(r.exit == Exit::tempfail ? Exit::tempfail : Exit::unavailable, what, r.message);
}

} // namespace sms::sipim
