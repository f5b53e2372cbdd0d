// The journal: staged outputs, one-rename commits, recovery after a crash.
//
// Outputs are written beside their final place (no copy, no folder per message):
//   <dir or temp_dir>/.<name>.<pid>-<batch>   an output, not yet in place (an output that is a
//                                             second link of another has none: its link is
//                                             made when the batch is applied)
// and the journal folder holds one manifest per batch:
//   .<pid>.<batch>.batch   the batch's transactions (their outputs and inputs), not committed;
//                          written before the outputs, so a dead run's temporaries are found
//   <pid>.<batch>.batch    the same, committed (renamed): its outputs will be delivered
//   <stem>.<what>.mark     a side effect that is not a file (a SIP message sent)
// An earlier version's files (<stem>.manifest, .<stem>.<pid>.manifest, <stem>.<pid>.<k>.staged)
// are still finished or discarded by recover().
#include "core/journal.hpp"

#include "core/journal_internal.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <future>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace sms::journal {

namespace {

void check_field(const std::string& s, const char* what) {
    if (s.empty() ||
        std::any_of(s.begin(), s.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }))
        throw Error(Exit::software, what, fmt::format("cannot be journalled: '{}'", s));
}

// A manifest line: its fields joined by tabs (appended: one is written for every output).
std::string manifest_line(std::initializer_list<std::string_view> fields) {
    std::string line;
    for (auto f : fields) {
        if (!line.empty())
            line += '\t';
        line += f;
    }
    line += '\n';
    return line;
}

} // namespace

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..")
                out.push_back(std::move(n));
        }
        ::closedir(d);
    }
    return out;
}

Journal::Journal(std::string root)
    : root_(std::move(root))
    , pid_(::getpid()) {
    fs::ensure_state_dir(root_);
}

Journal::~Journal() {
    // A batch never committed (an exception skipped the commit) is discarded: its inputs are
    // still in place and will be routed again. A committed one is finished by the next run.
    if (syncing_) {
        // Committed by the sync's thread, the closing batch is left for the next run to
        // finish (like the committed one): discarding it would lose its outputs.
        try {
            if (syncing_->get().committed)
                closing_.reset();
        } catch (...) {
        }
    }
    if (closing_)
        discard(*closing_);
    if (open_)
        discard(*open_);
}

// The journal's folder, open for syncfs (opened once).
int Journal::root_fd() {
    if (!root_fd_)
        root_fd_ = fs::Fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd_)
        throw_errno(Exit::tempfail, root_, errno);
    return root_fd_.get();
}

void Journal::sync() {
    if (::syncfs(root_fd()) != 0)
        throw_errno(Exit::tempfail, root_, errno);
}

void Journal::ensure_dir(std::string_view dir) {
    std::lock_guard lock(dirs_mutex_);
    if (known_dirs_.find(dir) != known_dirs_.end())
        return;
    std::string path(dir);
    fs::make_dirs(path);
    known_dirs_.insert(std::move(path));
}

std::chrono::steady_clock::time_point Journal::pending_since() const {
    return open_ ? open_->opened : std::chrono::steady_clock::now();
}

void Journal::discard(Batch& b) {
    for (const auto& t : b.txs)
        for (const auto& o : t.outs)
            if (!o.temp.empty())
                ::unlink(o.temp.c_str());
    ::unlink(b.tmp.c_str());
    b.txs.clear();
}

std::string Journal::text(const Batch& b) const {
    std::string text;
    for (const auto& t : b.txs) {
        text += t.head;
        for (const auto& o : t.outs)
            text += o.line;
    }
    return text;
}

// Drops the transactions whose inputs are in `gone` (another run's batch delivered them). An
// output a kept transaction relies on stays, handed over to it.
void Journal::drop(Batch& b, const std::set<std::string>& gone) {
    std::vector<Tx> kept, dropped;
    for (auto& t : b.txs) {
        bool covered = false;
        for (const auto& in : t.inputs)
            covered = covered || gone.count(in) > 0;
        (covered ? dropped : kept).push_back(std::move(t));
    }
    if (dropped.empty()) {
        b.txs = std::move(kept);
        return;
    }
    for (auto& t : dropped) {
        for (auto& o : t.outs) {
            Tx* heir = nullptr;
            for (auto& k : kept)
                if (k.shared.erase(o.target))
                    heir = heir ? heir : &k;
            if (heir)
                heir->outs.push_back(std::move(o));
            else if (!o.temp.empty())
                ::unlink(o.temp.c_str());
        }
        for (const auto& in : t.inputs)
            done_.push_back(in);
    }
    b.txs = std::move(kept);
    std::string t = text(b);
    if (::ftruncate(b.fd.get(), 0) != 0 ||
        ::pwrite(b.fd.get(), t.data(), t.size(), 0) != static_cast<ssize_t>(t.size()))
        throw_errno(Exit::tempfail, b.tmp, errno);
    b.size = t.size();
}

namespace {

// An output's file for the batch's temporary `temp`: created (or truncated) with the file's mode.
fs::Fd create_temp(const fs::PlannedFile& f, const std::string& temp) {
    fs::Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, f.mode));
    if (!fd)
        throw_errno(Exit::cantcreat, temp, errno);
    return fd;
}

// The output's content into its temporary, its time set when it has one, closed.
void fill_temp(fs::Fd fd, const fs::PlannedFile& f, const std::string& temp) {
    fs::write_all(fd.get(), f.content, temp);
    if (f.mtime) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(f.mtime->time_since_epoch())
                      .count();
        struct timespec ts[2] = {
            {0, UTIME_NOW},
            {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)}};
        if (::futimens(fd.get(), ts) != 0)
            throw_errno(Exit::cantcreat, temp, errno);
    }
    if (::close(fd.release()) != 0)
        throw_errno(Exit::cantcreat, temp, errno);
}

} // namespace

// What each output becomes: a new temporary, one of this batch's (rewritten when it replaces,
// left as it is when not), or nothing.
struct Journal::Write {
    const fs::PlannedFile* file;
    std::string temp;
    bool fresh;
};

// The manifest first, locked: recovery leaves alone what a live run is writing.
void Journal::open_batch() {
    Batch b;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    std::string id = fmt::format("{}.{:x}{}", pid_, ns, batches_++);
    b.tmp = fs::join(root_, fmt::format(".{}.batch", id));
    b.path = fs::join(root_, fmt::format("{}.batch", id));
    b.tag = id;
    b.fd = fs::Fd(
        ::open(b.tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!b.fd)
        throw_errno(Exit::cantcreat, b.tmp, errno);
    ::flock(b.fd.get(), LOCK_EX);
    b.opened = std::chrono::steady_clock::now();
    open_ = std::move(b);
}

// The fresh output of this transaction that `f` (at `target`) can be a second link of: the file
// its same_as names, written by this transaction, with the same content and mode and no time of
// its own; none when there is no such output, or when `target` is a file of the batch already.
const Journal::Write* Journal::same_file(const std::vector<Write>& writes, const fs::PlannedFile& f,
                                         const std::string& target, const Batch& b) {
    if (f.same_as.empty() || f.mtime || f.replace || b.targets.count(target))
        return nullptr;
    for (const auto& w : writes)
        if (w.fresh && fs::join(w.file->dir, w.file->name) == f.same_as &&
            w.file->content == f.content && w.file->mode == f.mode && !w.file->mtime)
            return &w;
    return nullptr;
}

// The outputs of `tx` in the open batch: their manifest lines in tx.outs, the temporaries new to
// the batch in `added` (final path -> temporary), and what is to be written.
std::vector<Journal::Write> Journal::plan_writes(Tx& tx, const std::vector<fs::PlannedFile>& files,
                                                 std::map<std::string, std::string>& added) {
    Batch& b = *open_;
    const std::string_view tag = b.tag;
    std::vector<Write> writes;
    for (const auto& f : files) {
        check_field(f.dir, "output folder");
        check_field(f.name, "output name");
        std::string target = fs::join(f.dir, f.name);
        if (const Write* primary = same_file(writes, f, target, b)) {
            // A second link of an output of this transaction, made when the batch is applied
            // (before that output is moved into place): no temporary of its own, one change of
            // its folder instead of two.
            tx.outs.push_back({target, "", manifest_line({"link", primary->temp, f.dir, f.name})});
            continue;
        }
        auto it = b.targets.find(target);
        if (it == b.targets.end()) {
            it = added.find(target);
            if (it == added.end()) {
                std::string temp = fs::join(f.temp_dir.empty() ? f.dir : f.temp_dir,
                                            "." + f.name + "." + std::string(tag));
                tx.outs.push_back(
                    {target, temp,
                     manifest_line({"out", temp, f.replace ? "1" : "0", f.dir, f.name})});
                added.emplace(target, temp);
                writes.push_back({&f, temp, true});
                continue;
            }
        }
        if (b.targets.count(target))
            tx.shared.insert(target);
        if (f.replace)
            writes.push_back({&f, it->second, false});
    }
    return writes;
}

// The temporaries; each one created is named in `created` (for the caller to remove if the
// transaction fails).
void Journal::write_temps(const std::vector<Write>& writes, std::vector<std::string>& created) {
    for (const auto& w : writes) {
        const auto& f = *w.file;
        ensure_dir(f.temp_dir.empty() ? f.dir : f.temp_dir);
        if (!w.fresh)
            ::unlink(w.temp.c_str()); // rewritten whole: never through another link of it
        fs::Fd fd = create_temp(f, w.temp);
        if (w.fresh)
            created.push_back(w.temp);
        fill_temp(std::move(fd), f, w.temp);
    }
}

void Journal::stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
                    const std::vector<Input>& inputs) {
    check_field(name, "transaction");
    if (name.find('/') != std::string::npos || name.front() == '.')
        throw Error(Exit::software, name, "not a valid transaction name");
    if (!open_)
        open_batch();
    Batch& b = *open_;
    Tx tx;
    tx.name = name;
    tx.head = manifest_line({"tx", name});
    for (const auto& in : inputs) {
        check_field(in.path, "input");
        if (!in.dest.empty())
            check_field(in.dest, "input folder");
        tx.head += manifest_line({"in", in.path, in.dest});
        tx.inputs.push_back(in.path);
    }
    std::map<std::string, std::string> added;
    const std::vector<Write> writes = plan_writes(tx, files, added);
    std::string lines = tx.head;
    for (const auto& o : tx.outs)
        lines += o.line;
    // The lines first: a temporary is never written that the manifest does not name.
    const std::size_t old_size = b.size;
    std::vector<std::string> created;
    try {
        if (::pwrite(b.fd.get(), lines.data(), lines.size(), static_cast<off_t>(b.size)) !=
            static_cast<ssize_t>(lines.size()))
            throw_errno(Exit::tempfail, b.tmp, errno == 0 ? ENOSPC : errno);
        b.size += lines.size();
        write_temps(writes, created);
    } catch (...) {
        for (const auto& t : created)
            ::unlink(t.c_str());
        if (::ftruncate(b.fd.get(), static_cast<off_t>(old_size)) == 0)
            b.size = old_size;
        if (b.txs.empty())
            discard(b), open_.reset();
        throw;
    }
    for (auto& [target, temp] : added)
        b.targets.emplace(target, std::move(temp));
    b.txs.push_back(std::move(tx));
}

void Journal::commit_batch() {
    advance(std::launch::async);
}

void Journal::advance(std::launch how) {
    if (syncing_)
        after_sync();
    if (open_) {
        // A run that died between committing and finishing may have left some of our inputs
        // in a committed batch (we could lock them only once it was dead): finish that batch,
        // and drop what we staged for them. (Nobody can commit our inputs once we hold them:
        // checked before the batch's sync, it holds until its commit.)
        int finished = 0;
        auto gone = finish_dead(entries(root_), &finished);
        if (!gone.empty())
            drop(*open_, gone);
        if (open_->txs.empty()) {
            discard(*open_);
            open_.reset();
        }
    }
    if (!open_ && !committed_ && !applied_)
        return;
    // The sync covers the closing batch's files and manifest, the previous commit and the moves
    // before it. It runs beside the run (`how`: async) with the steps it makes safe (step), while
    // the run stages the next batch; the next call waits for it and takes over (after_sync).
    closing_ = std::move(open_);
    open_.reset();
    const int fd = root_fd();
    auto task = [this, fd] { return step(fd); };
    try {
        syncing_ = std::async(how, task);
    } catch (const std::system_error&) {
        syncing_ = std::async(std::launch::deferred, task); // no thread to be had: in ours
    }
}

// The sync, then the file-system steps it made safe, in the sync's thread: the moves before it
// are durable (their manifest goes), the batch committed before it is moved into place (its
// inputs removed), the batch it was for is committed. Nothing here throws; nothing touches
// what the caller's thread uses (after_sync takes over the rest).
Journal::Step Journal::step(int fd) {
    Step s;
    if (::syncfs(fd) != 0) {
        s.err = errno;
        return s;
    }
    if (applied_)
        ::unlink(applied_->path.c_str());
    if (committed_)
        s.failed = apply(text(*committed_));
    if (closing_) {
        try {
            s.committed = fs::rename_noreplace(closing_->tmp, closing_->path);
            if (!s.committed)
                throw Error(Exit::software, closing_->path, "a batch of that name exists already");
        } catch (...) {
            s.commit_err = std::current_exception();
        }
    }
    return s;
}

// The sync started by the last commit_batch and its steps, waited for; then what they did, said
// and counted here: the closed-out batch's markers go, the applied batch's inputs are done (or,
// not finished, stuck), the closing batch is the committed one.
void Journal::after_sync() {
    Step s = syncing_->get();
    syncing_.reset();
    if (s.err != 0) {
        // Not durable: the closing batch is discarded (its inputs are still in place); what was
        // committed before stays for this run's next commit, or the next run.
        if (closing_)
            discard(*closing_);
        closing_.reset();
        throw_errno(Exit::tempfail, root_, s.err);
    }
    if (applied_) {
        for (const auto& t : applied_->txs)
            forget_marks(t.name);
        applied_.reset(); // its lock goes with it
    }
    if (committed_) {
        if (s.failed.empty()) {
            for (const auto& t : committed_->txs)
                for (const auto& in : t.inputs)
                    done_.push_back(in);
            applied_ = std::move(committed_);
        } else {
            // Committed, so never staged again: left (unlocked) for the next run to finish.
            log::warning("{}: cannot finish its deliveries yet: {}; left for the next run",
                         fs::basename(committed_->path), s.failed);
            for (const auto& t : committed_->txs)
                for (const auto& in : t.inputs)
                    stuck_.emplace(in, s.failed);
            stuck_batches_.insert(committed_->path);
        }
        committed_.reset();
    }
    if (closing_) {
        if (s.commit_err)
            std::rethrow_exception(s.commit_err); // closing_ stays, discarded with the journal
        committed_ = std::move(closing_);
        closing_.reset();
    }
}

// Every sync here is waited for at once: run in this thread when it is waited for (deferred),
// so that a lone message starts no thread.
void Journal::commit_all() {
    advance(std::launch::deferred);
    while (syncing_)
        advance(std::launch::deferred);
}

std::vector<std::string> Journal::take_done() {
    return std::exchange(done_, {});
}

void Journal::forget_marks(const std::string& name) {
    auto it = marks_.find(name);
    if (it == marks_.end())
        return;
    for (const auto& m : it->second)
        ::unlink(m.c_str());
    marks_.erase(it);
}

void Journal::mark(const std::string& name, const std::string& what) {
    fs::write_atomic(root_, fmt::format("{}.{}.mark", name, what), "");
    marks_[name].push_back(fs::join(root_, fmt::format("{}.{}.mark", name, what)));
}

bool Journal::marked(const std::string& name, const std::string& what) {
    std::string path = fs::join(root_, fmt::format("{}.{}.mark", name, what));
    if (!fs::exists(path))
        return false;
    marks_[name].push_back(path);
    return true;
}

} // namespace sms::journal
