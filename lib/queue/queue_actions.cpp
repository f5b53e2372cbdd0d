// sms-queue's actions: retry and delete an item under the router's own locks, taken without
// waiting.
#include "core/journal.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "queue/queue_internal.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "state/retry.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace sms::queue {

using namespace detail;

namespace {

// The file descriptor of an item's file, locked without waiting; Error(tempfail) when another
// run holds it, nullopt when it is gone.
std::optional<fs::Lock> lock_file(const std::string& path, const std::string& id) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT)
            throw Error(Exit::tempfail, id,
                        fmt::format("{}: gone meanwhile (taken by a run)", path));
        throw_errno(Exit::noperm, path, errno);
    }
    auto l = fs::Lock::try_acquire(std::move(fd));
    if (!l)
        throw Error(Exit::tempfail, id,
                    fmt::format("{} is held by a running sms-process; try again", path));
    struct stat st, by_name;
    if (::fstat(l->fd(), &st) != 0 || st.st_nlink == 0 || ::lstat(path.c_str(), &by_name) != 0 ||
        by_name.st_ino != st.st_ino)
        throw Error(Exit::tempfail, id, fmt::format("{}: taken by a run meanwhile", path));
    return l;
}

// The reassembly lock every run takes to form sets, tried for up to two seconds.
std::optional<fs::Lock> lock_reassembly(const Config& cfg, const std::string& id) {
    if (!fs::is_dir(state::root(cfg)))
        return std::nullopt; // no run ever started here
    const std::string path = state::reassembly_lock(cfg);
    for (int i = 0; i < 20; ++i) {
        if (auto l = fs::Lock::try_acquire(path))
            return l;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(Exit::tempfail, id, "a running sms-process holds the reassembly lock; try again");
}

void set_mtime(int fd, std::int64_t t, const std::string& path) {
    struct timespec ts[2];
    ts[0].tv_sec = static_cast<time_t>(t);
    ts[0].tv_nsec = 0;
    ts[1] = ts[0];
    if (::futimens(fd, ts) != 0)
        throw_errno(Exit::noperm, path, errno);
}

void unlink_quiet(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw_errno(Exit::noperm, path, errno);
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string dir_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The settle lock both last-hop settlers take, tried for up to two seconds.
std::optional<fs::Lock> lock_settling(const Config& cfg, const std::string& id) {
    const std::string dir = lasthop::dir(cfg);
    if (!fs::is_dir(dir))
        return std::nullopt; // nothing was ever remembered
    for (int i = 0; i < 20; ++i) {
        if (auto l = fs::Lock::try_acquire(state::settle_lock(cfg)))
            return l;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(Exit::tempfail, id, "a running sms-process is settling deliveries; try again");
}

// The phone's delivery call in outgoing/ when no message but `except` waits for it in
// sms/mttx/ and Asterisk has not started it: it would dial for nothing.
std::optional<std::string> idle_call(const Config& cfg, const std::string& queue,
                                     const std::string& except) {
    if (fs::is_dir(cfg.mttx_dir()))
        for (const auto& name : fs::list_regular(cfg.mttx_dir()))
            if (name != except && name.starts_with(queue + "."))
                return std::nullopt;
    const std::string call = fs::join(cfg.outgoing_dir(), state::delivery_call_name(queue));
    std::string text;
    try {
        text = fs::read_file(call, 1 << 20);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (text.find("StartRetry:") != std::string::npos)
        return std::nullopt;
    return call;
}

// Every file of a delivery the suite still holds: the queue file and its last-hop item (one
// link of the same file), or a fax or voice record with its TIFF or WAV, its call file while
// Asterisk has not started it, and its results. A call Asterisk is placing is refused.
std::vector<std::string> traces(const Config& cfg, const Item& it) {
    std::vector<std::string> paths;
    if (it.state == "queued") {
        const std::string& q = it.files.front();
        lock_file(q, it.id); // still there, not taken by app_sms meanwhile
        paths.push_back(q);
        for (const auto& h : lasthop::list(cfg))
            if (h.kind == 'S' && h.get("file") == base_name(q))
                paths.push_back(fs::join(lasthop::dir(cfg), h.name()));
        if (auto call =
                idle_call(cfg, base_name(q).substr(0, base_name(q).find('.')), base_name(q)))
            paths.push_back(*call);
        return paths;
    }
    if (it.service == 'T') // a SIP part waiting for its confirmation: its item alone
        return it.files;
    if (it.service == 'S') { // a last-hop SMS taken by app_sms: its item
        paths = it.files;
        for (const auto& h : lasthop::list(cfg))
            if (h.kind == 'S' && fs::join(lasthop::dir(cfg), h.name()) == paths.front())
                if (auto call = idle_call(cfg, h.queue, ""))
                    paths.push_back(*call);
        return paths;
    }
    // A fax or voice record: record, TIFF or WAV, then the call file when one waits.
    paths = it.files;
    if (paths.size() > 2) {
        std::string call;
        try {
            call = fs::read_file(paths[2], 1 << 20);
        } catch (const Error&) {
        }
        if (call.find("StartRetry:") != std::string::npos)
            throw Error(Exit::tempfail, it.id,
                        fmt::format("{}: Asterisk is placing this call; try again when it ended",
                                    paths[2]));
    }
    const std::string stem = base_name(paths.front());
    const std::string results = lasthop_call::results_dir(cfg);
    for (const auto& name :
         fs::is_dir(results) ? fs::list_regular(results) : std::vector<std::string>{})
        if (name.starts_with(stem + "."))
            paths.push_back(fs::join(results, name));
    return paths;
}

} // namespace

bool retryable(const Item& it) {
    return it.state == "failed" || it.state == "bad" || it.state == "held" || it.state == "retry";
}

std::string retry(const Config& cfg, const Item& it, std::int64_t now) {
    if (!retryable(it))
        throw Error(
            Exit::dataerr, it.id,
            fmt::format("a {} item cannot be retried (only failed, bad, held, retry)", it.state));
    if (it.state == "held") {
        auto big = lock_reassembly(cfg, it.id);
        std::vector<fs::Lock> locks;
        for (const auto& f : it.files)
            locks.push_back(std::move(*lock_file(f, it.id)));
        std::int64_t past = now - cfg.general.reassembly_timeout - 1;
        for (std::size_t i = 0; i < locks.size(); ++i)
            set_mtime(locks[i].fd(), past, it.files[i]);
        std::string done = fmt::format("{}: held set of {} part(s) released: the next "
                                       "sms-process run routes it as incomplete",
                                       it.id, it.files.size());
        log::notice("{}", done);
        return done;
    }
    const std::string& path = it.files.front();
    std::string name = base_name(path);
    auto lock = lock_file(path, it.id);
    set_mtime(lock->fd(), now, path);
    if (it.state == "retry") {
        unlink_quiet(state::retry_path(cfg, name));
        std::string done = fmt::format("{}: {}: retry clock reset", it.id, path);
        log::notice("{}", done);
        return done;
    }
    std::string to = fs::join(cfg.morx_dir(), name);
    if (!fs::rename_noreplace(path, to))
        throw Error(Exit::cantcreat, it.id,
                    fmt::format("{} exists already in sms/morx/; nothing moved", name));
    fs::fsync_dir(cfg.morx_dir());
    fs::fsync_dir(dir_name(path));
    unlink_quiet(state::note_name(path));
    unlink_quiet(state::retry_path(cfg, name));
    std::string done = fmt::format("{}: {} back to sms/morx/ for the next run", it.id, path);
    log::notice("{}", done);
    return done;
}

std::string remove(const Config& cfg, const Item& it) {
    if (it.state == "queued" || it.state == "lasthop") {
        // Every trace in one journal transaction, under the settlers' lock: a run killed at any
        // instant leaves all of it or none, and no settler re-queues what is being deleted.
        auto settling = lock_settling(cfg, it.id);
        const auto paths = traces(cfg, it);
        std::vector<journal::Input> inputs;
        for (const auto& p : paths)
            inputs.push_back({p, ""});
        journal::Journal j(state::journal_dir(cfg));
        j.stage(fmt::format("delete.{}", it.id), {}, inputs);
        j.commit_all();
        std::string done = fmt::format(
            "{}: deleted {} {} ({} -> {}: {})", it.id, it.state,
            paths.size() == 1 ? paths.front()
                              : fmt::format("{} ({} files)", paths.front(), paths.size()),
            it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
            it.reason.empty() ? "-" : one_line(it.reason));
        log::notice("{}", done);
        return done;
    }
    std::optional<fs::Lock> big;
    if (it.state == "held")
        big = lock_reassembly(cfg, it.id);
    std::vector<fs::Lock> locks;
    bool locked =
        it.state == "held" || it.state == "retry" || it.state == "failed" || it.state == "bad";
    if (locked)
        for (const auto& f : it.files)
            locks.push_back(std::move(*lock_file(f, it.id)));
    for (const auto& f : it.files) {
        unlink_quiet(f);
        if (it.state == "failed" || it.state == "bad")
            unlink_quiet(state::note_name(f));
        if (it.state == "held" || it.state == "retry")
            unlink_quiet(state::retry_path(cfg, base_name(f)));
    }
    fs::fsync_dir(dir_name(it.files.front()));
    std::string done = fmt::format(
        "{}: deleted {} {} ({} -> {}: {})", it.id, it.state,
        it.files.size() == 1 ? it.files.front() : fmt::format("set of {} parts", it.files.size()),
        it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
        it.reason.empty() ? "-" : one_line(it.reason));
    log::notice("{}", done);
    return done;
}

} // namespace sms::queue
