// The suite's layout on disk: the paths of layout.hpp, spelt once.
#include "state/layout.hpp"

#include "util/fsutil.hpp"

#include <fmt/format.h>

namespace sms::state {

std::string root(const Config& cfg) {
    return fs::join(cfg.general.spool_dir, "sms/.sms-suite");
}
std::string journal_dir(const Config& cfg) {
    return fs::join(root(cfg), "journal");
}
std::string retry_dir(const Config& cfg) {
    return fs::join(root(cfg), "retry");
}
std::string refs_dir(const Config& cfg) {
    return fs::join(root(cfg), "refs");
}
std::string reassembly_lock(const Config& cfg) {
    return fs::join(root(cfg), "reassembly.lock");
}

std::string lasthop_dir(const Config& cfg) {
    return fs::join(root(cfg), "lasthop");
}
std::string mr_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "mr");
}
std::string sms_calls_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "calls");
}
std::string log_cursor(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "cursor");
}
std::string received_texts(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), received_texts_name);
}
std::string settle_lock(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "settle.lock");
}
std::string call_records_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "records");
}
std::string call_results_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "results");
}
std::string sip_holds_dir(const Config& cfg) {
    return fs::join(lasthop_dir(cfg), "sip");
}

std::string delivery_call_name(std::string_view queue) {
    return fmt::format("smsq.mttx.{}.1", queue);
}

} // namespace sms::state
