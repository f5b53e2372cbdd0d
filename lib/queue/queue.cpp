// sms-queue as a whole: the command line's command (list, show, retry, delete) carried out.
#include "lasthop/lasthop.hpp"
#include "queue/queue_internal.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <chrono>
#include <fmt/format.h>
#include <unistd.h>

namespace sms::queue {

using namespace detail;

namespace {

// The options that go with one command only, and -s's state.
void check_options(const std::string& cmd, const Options& o) {
    if (!o.state.empty() && state_rank(o.state) >= static_cast<int>(std::size(states)))
        throw Error(Exit::usage, "-s",
                    fmt::format("'{}' is not a state (held retry failed bad queued call "
                                "lasthop)",
                                o.state));
    bool listing_opts = o.json || !o.state.empty() || !o.from.empty() || !o.to.empty();
    if (cmd != "list" && listing_opts)
        throw Error(Exit::usage, cmd, "--json, -s, --from and --to go with list only");
    if (o.failed && cmd != "retry")
        throw Error(Exit::usage, "--failed", "goes with retry only");
    if (o.yes && cmd != "delete")
        throw Error(Exit::usage, "-y", "goes with delete only");
}

int run_list(const Config& cfg, const Options& o, const std::vector<std::string>& ids,
             std::int64_t now, std::FILE* out) {
    if (!ids.empty())
        throw Error(Exit::usage, "list", "takes no arguments");
    auto items = filter(list(cfg, now), o.state, o.from, o.to);
    std::string text;
    for (const auto& it : items)
        text += (o.json ? format_json(it, now) : format_line(it, now)) + "\n";
    auto s = summarize(items);
    if (auto r = lasthop::received_texts(cfg)) {
        s.received_first = r->first;
        s.received_last = r->last;
    }
    text += (o.json ? format_summary_json(s) : format_summary(s)) + "\n";
    std::fwrite(text.data(), 1, text.size(), out);
    return 0;
}

int run_show(const Config& cfg, const std::vector<std::string>& ids, std::int64_t now,
             std::FILE* out) {
    if (ids.size() != 1)
        throw Error(Exit::usage, "show", "takes one ID");
    auto it = find(list(cfg, now), ids.front());
    if (!it)
        throw Error(Exit::noinput, ids.front(), "no such item (see sms-queue list)");
    std::string text = show(cfg, *it, now);
    std::fwrite(text.data(), 1, text.size(), out);
    return 0;
}

// The items a retry or delete acts on: every one named, or every dead letter (--failed); an
// unknown ID, or an item retry cannot take, is an error before anything is done.
std::vector<Item> targets_of(const Config& cfg, const std::string& cmd, const Options& o,
                             const std::vector<std::string>& ids, std::int64_t now) {
    auto all = list(cfg, now);
    std::vector<Item> targets;
    if (o.failed) {
        if (!ids.empty())
            throw Error(Exit::usage, "--failed", "takes no IDs");
        return filter(all, "failed", "", "");
    }
    if (ids.empty())
        throw Error(Exit::usage, cmd, "give one ID or more (see sms-queue list)");
    for (const auto& id : ids) {
        auto it = find(all, id);
        if (!it)
            throw Error(Exit::noinput, id, "no such item (see sms-queue list); nothing done");
        if (cmd == "retry" && !retryable(*it))
            throw Error(Exit::dataerr, id,
                        fmt::format("a {} item cannot be retried (only failed, bad, held, "
                                    "retry); nothing done",
                                    it->state));
        targets.push_back(*it);
    }
    return targets;
}

// delete without -y: the items shown on stderr and a yes asked on the terminal.
bool confirmed(const std::vector<Item>& targets, std::int64_t now) {
    if (!::isatty(0))
        throw Error(Exit::usage, "delete", "not on a terminal: give -y to delete without asking");
    for (const auto& it : targets)
        fmt::print(stderr, "{}\n", format_line(it, now));
    fmt::print(stderr, "Delete {} item{}? [y/N] ", targets.size(), targets.size() == 1 ? "" : "s");
    std::fflush(stderr);
    char answer[16] = "";
    if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
        fmt::print(stderr, "nothing deleted\n");
        return false;
    }
    return true;
}

} // namespace

int run(Config cfg, const Options& o, std::FILE* out) {
    if (o.spool)
        cfg.general.spool_dir = *o.spool;
    if (!fs::is_dir(cfg.general.spool_dir))
        throw Error(Exit::config, cfg.general.spool_dir, "spool folder does not exist");
    std::string cmd = o.args.empty() ? "list" : o.args.front();
    std::vector<std::string> ids(o.args.empty() ? o.args.end() : o.args.begin() + 1, o.args.end());
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    check_options(cmd, o);
    if (cmd == "list")
        return run_list(cfg, o, ids, now, out);
    if (cmd == "show")
        return run_show(cfg, ids, now, out);
    if (cmd != "retry" && cmd != "delete")
        throw Error(Exit::usage, cmd, "unknown command (list, show, retry, delete)");
    const auto targets = targets_of(cfg, cmd, o, ids, now);
    if (cmd == "delete" && !o.yes && !confirmed(targets, now))
        return code(Exit::failure);
    int rc = 0;
    for (const auto& it : targets) {
        try {
            std::string done = cmd == "retry" ? retry(cfg, it, now) : remove(cfg, it);
            fmt::print(out, "{}\n", done);
        } catch (const Error& e) {
            fmt::print(stderr, "sms-queue: error: {}\n", e.what());
            log::write(log::Level::error, e.what(), false);
            if (rc == 0 || e.exit() == Exit::tempfail)
                rc = code(e.exit());
        }
    }
    return rc;
}

} // namespace sms::queue
