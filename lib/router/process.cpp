// sms-process: the run loop and its summary. Reads the spool, asks the directory, lets the
// router decide, and commits what the decision wrote through the journal, in batches, so that
// nothing is lost or delivered twice.
#include "router/executor.hpp"
#include "router/read_ahead.hpp"

#include <future>
#include <sys/resource.h>
#include <system_error>

namespace sms::process::detail {

// Every folder the router writes to, checked before a message is taken: it is a folder or can
// be created as one, and where a message is moved there by a rename, it is on the file
// system it comes from. Anything else is a configuration error naming the key and the folder
// (78): the run would otherwise fail on the first message that needs the folder, and again on
// every later run.
void Runner::check_folders() {
    const char* spool_key = "[general] spool_dir";
    dev_t morx = check_folder(spool_key, cfg_.morx_dir());
    for (const auto& d :
         {cfg_.mttx_dir(), cfg_.outgoing_dir(), fs::join(cfg_.general.spool_dir, "tmp")})
        check_folder(spool_key, d);
    auto same = [&](const char* key, const std::string& path, dev_t dev, dev_t want,
                    const std::string& from, const char* why) {
        if (dev != 0 && want != 0 && dev != want)
            throw Error(Exit::config,
                        cfg_.source.empty() ? key : fmt::format("{}: {}", cfg_.source, key),
                        fmt::format("{}: on another file system than {} ({})", path, from, why));
    };
    same("[general] bad_dir", cfg_.bad_dir(), check_folder("[general] bad_dir", cfg_.bad_dir()),
         morx, cfg_.morx_dir(), "an unparseable message is moved there with a rename");
    dev_t failed = check_folder("[general] failed_dir", cfg_.failed_dir());
    same("[general] failed_dir", cfg_.failed_dir(), failed, morx, cfg_.morx_dir(),
         "a message given up is moved there with a rename");
    same("[fax] dir", cfg_.fax.dir, check_folder("[fax] dir", cfg_.fax.dir), failed,
         "[general] failed_dir " + cfg_.failed_dir(),
         "a fax given up is moved there with a rename");
    same("[voice] dir", cfg_.voice.dir, check_folder("[voice] dir", cfg_.voice.dir), failed,
         "[general] failed_dir " + cfg_.failed_dir(),
         "a voice message given up is moved there with a rename");
    if (!cfg_.general.bin_dir.empty()) {
        struct stat st;
        if (::stat(cfg_.general.bin_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            throw Error(Exit::config,
                        cfg_.source.empty() ? std::string("[general] bin_dir")
                                            : fmt::format("{}: [general] bin_dir", cfg_.source),
                        fmt::format("{}: not a folder", cfg_.general.bin_dir));
    }
}

// One folder of check_folders. Nothing is created here (a folder is made when first needed):
// a missing one must have a folder as its nearest existing parent, writable, whose device is
// returned.
dev_t Runner::check_folder(const std::string& key, const std::string& path) {
    auto fail = [&](const std::string& why) {
        return Error(Exit::config,
                     cfg_.source.empty() ? key : fmt::format("{}: {}", cfg_.source, key),
                     fmt::format("{}: {}", path, why));
    };
    std::string at = path;
    struct stat st;
    while (::stat(at.c_str(), &st) != 0) {
        if (errno == ENOTDIR)
            throw fail("a part of the path is not a folder");
        if (errno != ENOENT || at == fs::dirname(at))
            throw fail(std::strerror(errno));
        at = fs::dirname(at);
    }
    if (!S_ISDIR(st.st_mode))
        throw fail(at == path ? std::string("not a folder")
                              : fmt::format("cannot be created: {} is not a folder", at));
    if (!opts_.dry_run && ::access(at.c_str(), W_OK | X_OK) != 0)
        throw fail(
            fmt::format("{}not writable: {}", at == path ? "" : at + ": ", std::strerror(errno)));
    return st.st_dev;
}

int Runner::run() {
    fit_batches_to_fds();
    check_folders();
    if (!opts_.dry_run) {
        for (const auto& d : {cfg_.morx_dir(), cfg_.mttx_dir(), cfg_.outgoing_dir(),
                              fs::join(cfg_.general.spool_dir, "tmp")})
            fs::make_dirs(d);
        fs::ensure_state_dir(state::root(cfg_));
        journal_ = std::make_unique<journal::Journal>(state::journal_dir(cfg_));
        journal_->recover();
        settle_last_hop();
        settle_sip(); // before routing: a part sent again is routed in this run
    }
    settle(); // before the sweep: an expired delivery call is dialled again after a pause
    sweep();
    routing_ = true;

    const bool have_parts = first_pass();
    maybe_commit(true);
    if (have_parts)
        reassemble();
    maybe_commit(true);
    forget_retries();
    return summarize();
}

// The first pass over sms/morx/: every single message routed (in batches); parts of
// concatenated messages only noted, for reassemble(). Returns whether there were any.
bool Runner::first_pass() {
    bool have_parts = false;
    // What cannot be a message file is said and counted, never routed, moved or deleted.
    for (const auto& [name, what] : fs::list_irregular(cfg_.morx_dir())) {
        InputFile f;
        f.name = name;
        report(f, Outcome::unreadable, '?',
               fmt::format("{}: not a message file, left in place", what));
    }
    // In a burst the inputs are opened, read and locked a few ahead, in a thread of their own:
    // the run's thread is the busy one. A lone message (the dialplan's case) starts no thread.
    const auto names = spool::list(cfg_.morx_dir());
    const Take take = opts_.dry_run ? Take::look : Take::single;
    ReadAhead<Taken> ahead(
        names.size(), read_ahead_,
        [&, morx = cfg_.morx_dir(), grace = cfg_.general.incomplete_grace](std::size_t i) {
            return take_input(morx, names[i], take, grace);
        },
        read_ahead_ > 0 && names.size() >= read_ahead_from);
    for (std::size_t i = 0; i < names.size(); ++i) {
        auto f = opened(ahead.next(), take);
        if (!f)
            continue;
        if (!f->unreadable.empty()) {
            report(*f, Outcome::unreadable, '?', f->unreadable + ": left in place");
            continue;
        }
        if (f->is_part()) {
            have_parts = true; // taken and routed under the reassembly lock below
            continue;
        }
        if (f->unfinished) {
            report(*f, Outcome::held, '?',
                   fmt::format("{}: left to its writer for up to [general] incomplete_grace = {} s",
                               f->error, cfg_.general.incomplete_grace));
            continue;
        }
        if (!f->message) {
            quarantine(*f);
            files_.push_back(std::move(f));
            continue;
        }
        Unit u;
        u.inputs = {f.get()};
        u.message = *f->message;
        u.stem = stem_of(f->name);
        u.oldest = f->mtime;
        route_one(u);
        files_.push_back(std::move(f));
        maybe_commit(false);
    }
    return have_parts;
}

// The summary: a JSON object with --json, one line on stderr; the exit code (75 while a message
// waits for a temporary failure to pass).
int Runner::summarize() {
    // "unreadable" only when there were such entries: the summary's usual keys stay as they are.
    std::string unreadable_json, unreadable_text;
    if (summary_.unreadable > 0) {
        unreadable_json = fmt::format(",\"unreadable\":{}", summary_.unreadable);
        unreadable_text = fmt::format(", unreadable {}", summary_.unreadable);
    }
    if (opts_.json)
        fmt::print("{{\"summary\":{{\"routed\":{},\"held\":{},\"retry\":{},\"failed\":{},"
                   "\"bad\":{}{}}}}}\n",
                   summary_.routed, summary_.held, summary_.retry, summary_.failed, summary_.bad,
                   unreadable_json);
    std::fflush(stdout);
    fmt::print(stderr, "sms-process: {}routed {}, held {}, retry {}, failed {}, bad {}{}\n",
               opts_.dry_run ? "dry run: " : "", summary_.routed, summary_.held, summary_.retry,
               summary_.failed, summary_.bad,
               unreadable_text + (last_hop_.empty() ? "" : "; " + last_hop_));
    return summary_.retry > 0 ? code(Exit::tempfail) : 0;
}

namespace {

// Reads and parses the message file open on `fd` (of `size` bytes when it was opened) into `f`:
// its message, or why it does not parse (unfinished when a writer that does not use a dotfile
// may still be writing it). Returns false when it cannot be read at all (f.unreadable says why).
bool read_message(InputFile& f, int fd, std::int64_t size, int incomplete_grace) {
    std::string content;
    char buf[65536];
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(content.size()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            f.unreadable = fmt::format("cannot read: {}", std::strerror(errno));
            return false;
        }
        content.append(buf, static_cast<std::size_t>(n));
        // A short read of a regular file is its end (as far as fstat saw it): no second call.
        if (n == 0 || content.size() > max_read ||
            (static_cast<std::size_t>(n) < sizeof buf &&
             content.size() >= static_cast<std::size_t>(size)))
            break; // past max_read, spool::parse reports it
    }
    try {
        // A file larger than a message file should be is still read when it parses, so that
        // its sender can be told (route() dead-letters a text over the limit).
        f.message = spool::parse(content, f.name, max_read);
    } catch (const spool::Incomplete& e) {
        f.error = e.reason();
        f.unfinished = now_s() - f.mtime < incomplete_grace;
    } catch (const Error& e) {
        f.error = e.reason();
    }
    return true;
}

} // namespace

// Opens, reads, parses and (but for Take::look) locks the message file `name` of `morx`, with
// nothing of the run but the arguments: safe in the read-ahead thread. Null when it is gone or
// another run holds it.
Taken take_input(const std::string& morx, const std::string& name, Take take,
                 int incomplete_grace) {
    auto f = std::make_unique<InputFile>();
    f->name = name;
    f->path = fs::join(morx, name);
    fs::Fd fd(::open(f->path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd && errno == ENOENT)
        return {}; // gone (another run took it)
    if (!fd) {
        const bool no_fds = errno == EMFILE || errno == ENFILE;
        f->unreadable = errno == ELOOP ? std::string("a symbolic link")
                                       : fmt::format("cannot open: {}", std::strerror(errno));
        return {std::move(f), no_fds};
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return {};
    f->mtime = st.st_mtime;
    const int in = fd.get();
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7F) {
            f->error = "the file name holds control characters: app_sms never writes such a name";
            break;
        }
    // Read before locking: a message file does not change once renamed into place, and a part
    // must not be locked outside the reassembly lock, even for a moment.
    if (f->error.empty() && !read_message(*f, in, st.st_size, incomplete_grace))
        return {std::move(f)};
    if (take == Take::look)
        return {std::move(f)};
    if ((take == Take::single && f->is_part()) || (take == Take::part && !f->is_part()) ||
        f->unfinished)
        return {std::move(f)}; // not this pass's to take (the caller skips it)

    // Under the reassembly lock only another tool (sms-queue) can hold a part: wait a little.
    bool locked = false;
    for (int waited_ms = 0;; waited_ms += 10) {
        locked = ::flock(in, LOCK_EX | LOCK_NB) == 0;
        if (locked || take != Take::part || waited_ms >= 3000)
            break;
        ::usleep(10000);
    }
    if (!locked) {
        if (take != Take::part)
            return {}; // another run has it
        f->busy = true;
        return {std::move(f)};
    }
    // Taken and finished (removed or moved) by another run between our listing and our lock?
    // Then the name no longer leads to the file we locked.
    struct stat by_name;
    if (::lstat(f->path.c_str(), &by_name) != 0 || by_name.st_ino != st.st_ino ||
        by_name.st_dev != st.st_dev)
        return {};
    f->fd = std::move(fd); // holds the lock
    return {std::move(f)};
}

// What take_input made of an input, taken over by the run: an open that failed for want of
// descriptors is tried again once the open batch is committed (which closes the inputs of its
// finished work); what the parse noticed is logged.
std::unique_ptr<InputFile> Runner::opened(Taken t, Take take) {
    if (t.no_fds && journal_ && journal_->pending() > 0) {
        // Out of descriptors (a system-wide shortage, or a limit lowered under the run).
        std::string name = t.file->name;
        maybe_commit(true);
        t = take_input(cfg_.morx_dir(), name, take, cfg_.general.incomplete_grace);
    }
    auto& f = t.file;
    if (f && f->fd && f->message) {
        for (const auto& k : f->message->unknown_keys)
            log::debug("{}: {} ignored, as app_sms does", f->name, k);
        if (!f->message->udh_error.empty())
            log::warning("{}: {}", f->name, f->message->udh_error);
    }
    return std::move(f);
}

std::unique_ptr<InputFile> Runner::open_input(const std::string& name, Take take) {
    return opened(take_input(cfg_.morx_dir(), name, take, cfg_.general.incomplete_grace), take);
}

void Runner::report(const InputFile& f, Outcome o, char service, const std::string& detail) {
    switch (o) {
    case Outcome::routed:
        ++summary_.routed;
        break;
    case Outcome::held:
        ++summary_.held;
        break;
    case Outcome::retry:
        ++summary_.retry;
        break;
    case Outcome::failed:
        ++summary_.failed;
        break;
    case Outcome::bad:
        ++summary_.bad;
        break;
    case Outcome::unreadable:
        ++summary_.unreadable;
        break;
    }
    const spool::Message* m = f.message ? &*f.message : nullptr;
    std::string svc = service == '?' ? "" : std::string(1, service);
    auto level = o == Outcome::routed || o == Outcome::held        ? log::Level::info
                 : o == Outcome::retry || o == Outcome::unreadable ? log::Level::warning
                                                                   : log::Level::error;
    if (log::wanted(level)) {
        std::string line =
            fmt::format("{}: {} -> {}: service {}: {}: {}", f.name, m ? m->oa : "?",
                        m ? m->da : "?", svc.empty() ? "?" : svc, router::to_string(o), detail);
        if (cfg_.general.log_text && m)
            line += fmt::format(" [text: {}]", send::json_string(m->text));
        log::write(level, line);
    }
    if (!opts_.json)
        return;
    std::string obj = fmt::format("{{\"file\":{}", send::json_string(f.name));
    if (m) {
        obj += fmt::format(",\"oa\":{},\"da\":{},\"text\":{}", send::json_string(m->oa),
                           json_opt_string(m->da), send::json_string(m->text));
        if (auto c = m->concat(); c && c->total > 1)
            obj += fmt::format(",\"concat\":{{\"ref\":{},\"total\":{},\"seq\":{}}}", c->ref,
                               c->total, c->seq);
        else
            obj += ",\"concat\":null";
    }
    obj += fmt::format(",\"service\":{},\"outcome\":\"{}\",\"detail\":{}",
                       svc.empty() ? "null" : send::json_string(svc), router::to_string(o),
                       send::json_string(detail));
    if (f.joined)
        obj += fmt::format(",\"joined\":{}", send::json_string(*f.joined));
    obj += "}";
    fmt::print("{}\n", obj);
}

void Runner::quarantine(InputFile& f) {
    // A rename is atomic on its own: the file is in morx/ or in bad/, never lost.
    std::string detail = f.error;
    if (!opts_.dry_run) {
        std::string target;
        try {
            target = fs::move_into(f.path, cfg_.bad_dir(), stem_of(f.name));
            f.moved = true;
            // Why, beside it (NAME.why), for an administrator without syslog and for sms-queue.
            fs::WriteOptions w;
            w.replace = true;
            w.sync = false; // the folder sync below covers it
            fs::write_atomic(cfg_.bad_dir(), state::note_name(fs::basename(target)),
                             state::note_text(f.error), w);
            fs::fsync_dir(cfg_.bad_dir());
            fs::fsync_dir(cfg_.morx_dir());
        } catch (const Error& e) {
            if (target.empty()) {
                // Not moved: said as it is, the file stays and the next run tries again.
                f.message.reset();
                report(f, Outcome::retry, '?',
                       fmt::format("{}; cannot be quarantined ({}): the file stays in sms/morx/ "
                                   "for the next run",
                                   f.error, e.what()));
                return;
            }
            log::warning("{}: quarantined, but its reason was not written: {}", f.name, e.what());
            detail += fmt::format(" (quarantined; {} not written: {})",
                                  state::note_name(fs::basename(target)), e.what());
        }
    }
    f.message.reset();
    report(f, Outcome::bad, '?', detail);
}

// Routes one unit; whatever goes wrong with it stops no other message and no later run: an
// input an unfinished journal entry holds is left to that entry, and a failure to stage is a
// temporary one (the message stays).
void Runner::route_one(Unit& u) {
    if (journal_) {
        for (auto* f : u.inputs)
            if (auto it = journal_->stuck().find(f->path); it != journal_->stuck().end()) {
                for (auto* g : u.inputs)
                    report(*g, Outcome::retry, '?',
                           fmt::format("its delivery is committed but cannot be finished yet "
                                       "({}): finished by a later run, never routed twice",
                                       it->second));
                return;
            }
    }
    try {
        route(u);
    } catch (const Error& e) {
        if (e.exit() == Exit::config)
            throw; // wrong for every message: the run stops, nothing taken
        for (auto* f : u.inputs)
            report(*f, Outcome::retry, '?', fmt::format("kept for the next run: {}", e.what()));
    }
}

// One message (or set of parts) from the directory's answer to its staged transaction. Kept
// whole (about 65 lines): every way out (too long, quarantined, kept, dry run, held, dead
// letter, routed) side by side, as they are read against each other.
void Runner::route(Unit& u) {
    if (u.message.text.size() > spool::max_text_bytes) {
        // Readable, so not quarantined in silence: no tool would have taken it, the sender is
        // told.
        dead_letter(u, fmt::format("a text of {} bytes, longer than the suite's limit of {}",
                                   u.message.text.size(), spool::max_text_bytes));
        return;
    }
    directory::Lookup receiver;
    std::optional<directory::Lookup> sender;
    if (!u.message.da.empty()) {
        receiver = lookup(u.message.da);
        if (router::needs_sender(cfg_, u.message, receiver))
            sender = lookup(u.message.oa);
    }
    auto d = router::decide(cfg_, {u.message, receiver, sender, u.incomplete});
    if (d.outcome == Outcome::bad) {
        for (auto* f : u.inputs) {
            f->error = d.detail;
            quarantine(*f);
        }
        return;
    }
    if (d.outcome == Outcome::retry) {
        retry_or_give_up(u, d.detail);
        return;
    }
    if (opts_.dry_run) {
        for (auto* f : u.inputs)
            report(*f, d.outcome, d.service, "dry run: " + d.detail);
        return;
    }
    std::string detail = d.detail;
    try {
        auto files = carry_out(u, d, detail);
        quiet_sms(files);
        std::vector<journal::Input> ins;
        for (auto* f : u.inputs)
            ins.push_back({f->path, ""});
        // A SIP message held earlier leaves with its hold record.
        if (auto hold = lasthop_sip::sip_hold_path(cfg_, u.stem); fs::exists(hold))
            ins.push_back({hold, ""});
        journal_->stage(u.stem, files, ins);
    } catch (const HeldSip& h) {
        if (!h.files.empty())
            journal_->stage(u.stem + ".held", h.files, {});
        for (auto* f : u.inputs)
            report(*f, Outcome::held, d.service, h.why);
        return;
    } catch (const Temporary& t) {
        retry_or_give_up(u, t.why, d.service);
        return;
    } catch (const Permanent& p) {
        dead_letter(u, p.why, d.service, p.notice);
        return;
    } catch (const Error& e) {
        if (e.exit() == Exit::tempfail || e.exit() == Exit::unavailable ||
            e.exit() == Exit::cantcreat || e.exit() == Exit::ioerr) {
            retry_or_give_up(u, e.what(), d.service);
            return;
        }
        dead_letter(u, e.what(), d.service);
        return;
    }
    for (auto* f : u.inputs)
        report(*f, Outcome::routed, d.service, detail);
}

// Each input stays open (it holds the input's lock) until its transaction is finished, two syncs
// after its batch's (each taken at the next batch's close), then until close_behind has closed
// it, and the batch's mr counters are open too: up to about five batches' worth of descriptors
// at once. A soft limit of 1024 (a common default) would run out in a burst, and every message
// past it would be left for the next run as unreadable. So the soft limit is raised as far as the
// hard one allows, and batches are cut to what it leaves. The inputs read ahead (up to
// read_ahead) count too, and under a limit too low for all of it nothing is read ahead.
void Runner::fit_batches_to_fds() {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    const rlim_t want = 5 * batch_size + read_ahead + fd_reserve;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        struct rlimit raised = rl;
        raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    read_ahead_ = 0; // every descriptor to the batches: none read ahead
    const rlim_t usable = rl.rlim_cur > fd_reserve ? rl.rlim_cur - fd_reserve : 0;
    batch_limit_ = std::max<std::size_t>(1, static_cast<std::size_t>(usable / 5));
}

// Closes the descriptors of removed inputs beside the run. The last close of a file frees its
// blocks, and where the inputs were written out before they were removed (a burst: the batches'
// syncs write out the messages still waiting too) on a file system mounted with `discard`, that
// close waits for the disk to discard them: about as long as routing the message took.
void Runner::close_behind(std::vector<int> fds) {
    if (fds.empty())
        return;
    if (closer_.valid())
        closer_.get();
    // Every `ways`-th descriptor from `first` on.
    constexpr std::size_t ways = 4;
    auto close_stride = [](const std::vector<int>& all, std::size_t first) {
        for (std::size_t i = first; i < all.size(); i += ways)
            ::close(all[i]);
    };
    auto close_all = [](const std::vector<int>& all) {
        for (int fd : all)
            ::close(fd);
    };
    if (fds.size() < 16) { // a few (a lone message): not worth a thread
        close_all(fds);
        return;
    }
    auto task = [fds, close_stride] {
        // Each discard waits for the disk on its own: a few at once. A stride with no thread to
        // be had is closed here.
        std::vector<std::future<void>> parts;
        for (std::size_t w = 1; w < ways; ++w) {
            try {
                parts.push_back(std::async(std::launch::async,
                                           [&fds, w, close_stride] { close_stride(fds, w); }));
            } catch (const std::system_error&) {
                close_stride(fds, w);
            }
        }
        close_stride(fds, 0);
    };
    try {
        closer_ = std::async(std::launch::async, task);
    } catch (const std::system_error&) {
        close_all(fds); // no thread to be had: in this one
    }
}

void Runner::maybe_commit(bool force) {
    if (opts_.dry_run || !journal_)
        return;
    const auto n = journal_->pending();
    if (!force && n < batch_limit_ &&
        (n == 0 || std::chrono::steady_clock::now() - journal_->pending_since() < batch_time))
        return;
    // The batch's mr counters are written back and unlocked before it is committed: a run
    // killed after the commit has counted every value its batch gave.
    if (batch_)
        batch_->close();
    if (force)
        journal_->commit_all();
    else
        journal_->commit_batch();
    // Inputs of finished work are gone: their locks are no longer needed.
    auto done = journal_->take_done();
    std::set<std::string_view> gone(done.begin(), done.end());
    std::vector<int> fds;
    std::erase_if(files_, [&](auto& f) {
        if (!gone.count(f->path))
            return false;
        if (f->fd)
            fds.push_back(f->fd.release());
        return true;
    });
    close_behind(std::move(fds));
    // And those quarantined meanwhile (known: no look at each file kept).
    std::erase_if(files_, [](const auto& f) { return f->moved; });
}

} // namespace sms::process::detail

namespace sms::process {

int run(Config cfg, const Options& opts) {
    return detail::Runner(std::move(cfg), opts).run();
}

} // namespace sms::process
