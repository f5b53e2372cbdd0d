// sms-process: the sweep: a phone queue in sms/mttx/ without a delivery call gets one.
#include "router/executor.hpp"

namespace sms::process::detail {

// A queue in sms/mttx/ with messages but no pending delivery call gets its call again (the call
// ended just before a message was queued).
void Runner::sweep() {
    for (const auto& w : outbox::queues_without_call(cfg_)) {
        auto l = lookup(w.da);
        if (!l.found() || l.entry.service != 'S') {
            log::warning("sms/mttx: messages for {} but no phone to call ({})", w.da,
                         l.found() ? "its service is not S"
                                   : (l.why.empty() ? "not in the directory" : l.why));
            continue;
        }
        if (opts_.dry_run) {
            log::info("sms/mttx: would call {} again for its waiting messages", w.da);
            continue;
        }
        std::vector<fs::PlannedFile> call = {outbox::delivery_call(cfg_, w.da, l.entry.channel)};
        quiet_sms(call);
        if (fs::commit(call.front()))
            log::notice("sms/mttx: messages for {} had no delivery call: queued one", w.da);
    }
}

} // namespace sms::process::detail
