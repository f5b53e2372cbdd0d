// sms-process: the executor. Reads the spool, asks the directory, lets the router decide, and
// carries the decision out through the journal so that nothing is lost or delivered twice.
#include "router/process.hpp"

#include "core/ami.hpp"
#include "core/callfile.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/journal.hpp"
#include "core/log.hpp"
#include "core/quiet.hpp"
#include "core/spool.hpp"
#include "core/text.hpp"
#include "directory/directory.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "messaging/outbox.hpp"
#include "messaging/send.hpp"
#include "router/commands.hpp"
#include "router/router.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <set>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>

extern char** environ;

namespace sms::process {

namespace {

using router::Action;
using router::Outcome;

// A batch of transactions is committed with one file-system sync when it holds this many, or
// when its first was staged this long ago: whichever comes first, so that a slow stream of
// messages (faxes to render) is not held back for a full batch.
constexpr std::size_t batch_size = 1024;
constexpr std::chrono::milliseconds batch_time{50};
// The most of a message file read: beyond spool::max_file_bytes only to tell its sender.
constexpr std::size_t max_read = 1024 * 1024;

// One input file, opened and (outside a dry run) locked for this run.
struct InputFile {
    std::string name;
    std::string path;
    fs::Fd fd;
    std::int64_t mtime = 0;
    std::optional<spool::Message> message;
    std::string error;       // why it does not parse
    std::string unreadable;  // why it cannot be read at all (left in place)
    bool unfinished = false; // looks unfinished and is younger than incomplete_grace: left alone
    bool busy = false;       // a part whose lock another process held past the wait
    std::optional<std::string> joined; // the part completing a set: the whole text (--json)

    bool is_part() const { return message && message->concat().has_value(); }
};

// What is routed as one: a single message, or the parts of a concatenated one.
struct Unit {
    std::vector<InputFile*> inputs;
    spool::Message message;
    bool incomplete = false;
    std::string stem; // names the outputs and the journal entry
    std::int64_t oldest = 0;
};

// A temporary failure while carrying out a decision: keep the message.
struct Temporary {
    std::string why;
};
// A permanent one: dead-letter the message and tell the sender.
struct Permanent {
    std::string why;
};
// A SIP message Asterisk could not deliver (user unreachable) or may not yet (quiet hours): the
// message stays; `files` (its hold record, a notice that it waits) are committed without it.
struct HeldSip {
    std::vector<fs::PlannedFile> files;
    std::string why;
};

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::uint32_t fnv1a(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

// Output names derive from the input's: letters, digits, '.', '-', '_' only; anything else is
// replaced and a hash of the original keeps two inputs from sharing a stem.
std::string stem_of(std::string_view name) {
    std::string s;
    bool changed = false;
    for (char c : name.substr(0, 80)) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '-' || c == '_';
        s.push_back(ok ? c : '_');
        changed = changed || !ok;
    }
    if (changed || name.size() > 80)
        s += fmt::format("-{:08x}", fnv1a(name));
    return s;
}

std::string json_opt_string(const std::string& s) {
    return s.empty() ? "null" : send::json_string(s);
}

// One line for a NAME.why file: control characters escaped, so that it stays one line.
std::string why_line(std::string_view why) {
    std::string out;
    for (unsigned char c : why) {
        if (c < 0x20 || c == 0x7F)
            out += fmt::format("\\x{:02X}", c);
        else
            out.push_back(static_cast<char>(c));
    }
    out.push_back('\n');
    return out;
}

// How a file is opened: parts of concatenated messages are taken only under the reassembly
// lock (so that no run ever sees part of a set because another one holds a part for a moment).
enum class Take {
    look,   // read only (a dry run)
    single, // lock it unless it is a part (the first pass)
    part,   // lock it, waiting a little, only if it is a part (under the reassembly lock)
};

class Runner {
public:
    Runner(Config cfg, const Options& opts)
        : cfg_(std::move(cfg))
        , opts_(opts) {
        if (opts.spool)
            cfg_.general.spool_dir = *opts.spool;
        if (!fs::is_dir(cfg_.general.spool_dir))
            throw Error(Exit::config, cfg_.general.spool_dir, "spool folder does not exist");
        work_ = fs::join(cfg_.general.spool_dir, "sms/.sms-suite");
    }

    int run();

private:
    Config cfg_;
    Options opts_;
    std::string work_;
    std::unique_ptr<directory::Directory> dir_;
    std::optional<directory::Lookup> directory_down_;
    std::unique_ptr<journal::Journal> journal_;
    Summary summary_;
    std::vector<std::unique_ptr<InputFile>> files_;
    std::string last_hop_; // what settle() did, for the summary line

    // Answers of the directory, kept for the run (a run lasts seconds; the numbers of a batch
    // repeat). After the first lookup that fails as an outage the directory is taken as down
    // for the rest of the run: each further message would wait the whole busy or connect
    // time-out again, and the dialplan starts one run per message.
    std::map<std::string, directory::Lookup, std::less<>> lookups_;

    directory::Lookup lookup(const std::string& number) {
        if (auto it = lookups_.find(number); it != lookups_.end())
            return it->second;
        if (directory_down_)
            return *directory_down_;
        if (!dir_)
            dir_ = directory::open(cfg_.directory);
        auto l = dir_->lookup(number);
        if (l.status != directory::Lookup::Status::unavailable) {
            lookups_.emplace(number, l);
        } else {
            directory_down_ = l;
            log::warning("directory unavailable ({}): every message of this run is kept for the "
                         "next",
                         l.why);
        }
        return l;
    }

    std::unique_ptr<InputFile> open_input(const std::string& name, Take take);
    void quarantine(InputFile& f);
    void route(Unit& u);
    void reassemble();
    void sweep();
    std::vector<fs::PlannedFile> carry_out(const Unit& u, const router::Decision& d,
                                           std::string& detail);
    std::vector<fs::PlannedFile> queue_sms(const std::string& from, const std::string& to,
                                           const std::string& channel, const std::string& text,
                                           const std::string& scts, const std::string& stem,
                                           const std::string& notify = "",
                                           std::optional<int> srr = std::nullopt);
    void settle();
    std::vector<fs::PlannedFile> answer(const router::Reply& r, const std::string& stem,
                                        std::string& detail);
    ami::SendResult send_sip(const std::string& stem, const std::string& marker,
                             const std::string& from, const std::string& to,
                             const std::string& text);
    std::string render(const char* tool, const char* ext, const std::string& dir, const Unit& u,
                       const Action& a);
    void retry_or_give_up(Unit& u, const std::string& why, char service = '?');
    std::int64_t first_failure(const Unit& u, const std::string& why);
    void forget_retries();
    void dead_letter(Unit& u, const std::string& why, char service = '?');
    void report(const InputFile& f, Outcome o, char service, const std::string& detail);
    void maybe_commit(bool force);
    void settle_last_hop();
    void quiet_sms(std::vector<fs::PlannedFile>& files);
    void check_folders();
    dev_t check_folder(const std::string& key, const std::string& path);
    void route_one(Unit& u);
};

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

std::unique_ptr<InputFile> Runner::open_input(const std::string& name, Take take) {
    auto f = std::make_unique<InputFile>();
    f->name = name;
    f->path = fs::join(cfg_.morx_dir(), name);
    fs::Fd fd(::open(f->path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd && errno == ENOENT)
        return nullptr; // gone (another run took it)
    if (!fd) {
        f->unreadable = errno == ELOOP ? std::string("a symbolic link")
                                       : fmt::format("cannot open: {}", std::strerror(errno));
        return f;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return nullptr;
    f->mtime = st.st_mtime;
    const int in = fd.get();
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7F) {
            f->error = "the file name holds control characters: app_sms never writes such a name";
            break;
        }
    // Read before locking: a message file does not change once renamed into place, and a part
    // must not be locked outside the reassembly lock, even for a moment.
    if (f->error.empty()) {
        std::string content;
        char buf[65536];
        for (;;) {
            ssize_t n = ::pread(in, buf, sizeof buf, static_cast<off_t>(content.size()));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                f->unreadable = fmt::format("cannot read: {}", std::strerror(errno));
                return f;
            }
            content.append(buf, static_cast<std::size_t>(n));
            // A short read of a regular file is its end (as far as fstat saw it): no second call.
            if (n == 0 || content.size() > max_read ||
                (static_cast<std::size_t>(n) < sizeof buf &&
                 content.size() >= static_cast<std::size_t>(st.st_size)))
                break; // past max_read, spool::parse reports it
        }
        if (f->error.empty()) {
            try {
                // A file larger than a message file should be is still read when it parses, so
                // that its sender can be told (route() dead-letters a text over the limit).
                f->message = spool::parse(content, name, max_read);
            } catch (const spool::Incomplete& e) {
                f->error = e.reason();
                // A writer that does not use a dotfile may still be writing it.
                f->unfinished = now_s() - f->mtime < cfg_.general.incomplete_grace;
            } catch (const Error& e) {
                f->error = e.reason();
            }
        }
    }
    if (take == Take::look)
        return f;
    if ((take == Take::single && f->is_part()) || (take == Take::part && !f->is_part()) ||
        f->unfinished)
        return f; // not this pass's to take (the caller skips it)

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
            return nullptr; // another run has it
        f->busy = true;
        return f;
    }
    // Taken and finished (removed or moved) by another run between our listing and our lock?
    // Then the name no longer leads to the file we locked.
    struct stat by_name;
    if (::lstat(f->path.c_str(), &by_name) != 0 || by_name.st_ino != st.st_ino ||
        by_name.st_dev != st.st_dev)
        return nullptr;
    f->fd = std::move(fd); // holds the lock
    if (f->message) {
        for (const auto& k : f->message->unknown_keys)
            log::debug("{}: {} ignored, as app_sms does", name, k);
        if (!f->message->udh_error.empty())
            log::warning("{}: {}", name, f->message->udh_error);
    }
    return f;
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
    std::string line =
        fmt::format("{}: {} -> {}: service {}: {}: {}", f.name, m ? m->oa : "?", m ? m->da : "?",
                    svc.empty() ? "?" : svc, router::to_string(o), detail);
    if (cfg_.general.log_text && m)
        line += fmt::format(" [text: {}]", send::json_string(m->text));
    log::write(level, line);
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
            // Why, beside it (NAME.why), for an administrator without syslog and for sms-queue.
            fs::WriteOptions w;
            w.replace = true;
            w.sync = false; // the folder sync below covers it
            fs::write_atomic(cfg_.bad_dir(), fs::basename(target) + ".why", why_line(f.error), w);
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
            detail += fmt::format(" (quarantined; {}.why not written: {})", fs::basename(target),
                                  e.what());
        }
    }
    f.message.reset();
    report(f, Outcome::bad, '?', detail);
}

std::string Runner::render(const char* tool, const char* ext, const std::string& dir, const Unit& u,
                           const Action& a) {
    std::string bin = cfg_.general.bin_dir;
    if (bin.empty()) {
        char self[PATH_MAX];
        ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        bin = n > 0 ? fs::dirname(std::string(self, static_cast<std::size_t>(n)))
                    : fs::dirname(opts_.self);
    }
    std::string program = fs::join(bin, tool);
    fs::make_dirs(dir);
    std::string out = fs::join(dir, u.stem + ext);
    std::vector<std::string> args = {program,
                                     "--from",
                                     a.from,
                                     "--to",
                                     a.to,
                                     "--extension",
                                     a.channel.empty() ? "-" : a.channel,
                                     "--output",
                                     out,
                                     "--no-call",
                                     "--text",
                                     "-"};
    if (!cfg_.source.empty()) {
        args.insert(args.begin() + 1, cfg_.source);
        args.insert(args.begin() + 1, "--config");
    }
    if (!u.message.scts.empty()) {
        args.emplace_back("--scts");
        args.push_back(u.message.scts);
    }
    if (u.message.mr) {
        args.emplace_back("--mr");
        args.push_back(std::to_string(*u.message.mr));
    }
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw Temporary{fmt::format("pipe: {}", std::strerror(errno))};
    fs::Fd rd(in[0]), wr(in[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
    // Our stdout carries the JSON report: what a child prints goes to stderr.
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    std::vector<char*> argv;
    for (auto& s : args)
        argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    rd = fs::Fd();
    if (rc != 0)
        throw Temporary{fmt::format("cannot run {}: {}", program, std::strerror(rc))};
    // The child may refuse early (and close its stdin): a broken pipe is its exit code's to tell.
    auto old = std::signal(SIGPIPE, SIG_IGN);
    try {
        fs::write_all(wr.get(), a.text, program);
    } catch (const Error&) {
    }
    std::signal(SIGPIPE, old);
    wr = fs::Fd();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        throw Temporary{fmt::format("{} killed by signal {}", tool, WTERMSIG(status))};
    int code = WEXITSTATUS(status);
    if (code == 0)
        return out;
    auto e = static_cast<Exit>(code);
    if (e == Exit::tempfail || e == Exit::unavailable || e == Exit::oserr || e == Exit::cantcreat ||
        e == Exit::ioerr || e == Exit::config || e == Exit::software)
        throw Temporary{fmt::format("{} failed with exit status {}", tool, code)};
    throw Permanent{fmt::format("{} refused the message (exit status {})", tool, code)};
}

std::vector<fs::PlannedFile> Runner::queue_sms(const std::string& from, const std::string& to,
                                               const std::string& channel, const std::string& text,
                                               const std::string& scts, const std::string& stem,
                                               const std::string& notify, std::optional<int> srr) {
    outbox::Request req;
    req.oa = from;
    req.unknown_sender = from.empty(); // a message with no oa=: the phone shows no sender
    req.da = to;
    req.channel = channel;
    req.text = text;
    req.scts = scts;
    req.track = true; // remembered until the phone confirms it (lasthop)
    req.notify = notify;
    req.srr = srr;
    std::vector<outbox::Part> parts;
    try {
        parts = outbox::split(cfg_, req);
        if (parts.size() > 1 && !parts.front().udh.empty()) {
            req.ref = outbox::next_reference(cfg_, req.da, req.ref16);
            parts = outbox::split(cfg_, req);
        }
    } catch (const Error& e) {
        if (e.exit() == Exit::dataerr)
            throw Permanent{e.what()};
        throw;
    }
    return outbox::plan(cfg_, req, parts, stem);
}

// A SIP message through the manager, each part (one MessageSend) marked in the journal as it
// is accepted, so that a retry after a lost connection sends only the parts still missing.
ami::SendResult Runner::send_sip(const std::string& stem, const std::string& marker,
                                 const std::string& from, const std::string& to,
                                 const std::string& text) {
    std::size_t done = 0;
    while (journal_->marked(stem, fmt::format("{}.part{}", marker, done + 1)))
        ++done;
    if (done > 0)
        log::info("{}: {} part(s) of the SIP message to {} already sent: sending the rest", stem,
                  done, to);
    return ami::send_message(cfg_.ami, from, to, text, done, [&](std::size_t part) {
        journal_->mark(stem, fmt::format("{}.part{}", marker, part));
    });
}

std::vector<fs::PlannedFile> Runner::answer(const router::Reply& r, const std::string& stem,
                                            std::string& detail) {
    switch (r.via) {
    case router::Reply::Via::sms:
        // An answer is dated now (empty scts), not when the message was sent.
        return queue_sms(r.from, r.to, r.channel, r.text, "", stem);
    case router::Reply::Via::sip: {
        if (journal_->marked(stem, "sip"))
            return {};
        auto res = send_sip(stem, "sip", r.from, r.to, r.text);
        if (res.status == ami::SendResult::Status::unavailable)
            throw Temporary{fmt::format("Asterisk manager unavailable: {}", res.message)};
        if (res.status == ami::SendResult::Status::refused)
            detail += fmt::format("; the answer by SIP was refused ({})", res.message);
        journal_->mark(stem, "sip");
        return {};
    }
    case router::Reply::Via::none:
        detail += fmt::format("; cannot answer: {}", r.why_none);
        return {};
    }
    return {};
}

std::vector<fs::PlannedFile> Runner::carry_out(const Unit& u, const router::Decision& d,
                                               std::string& detail) {
    std::vector<fs::PlannedFile> files;
    auto add = [&](std::vector<fs::PlannedFile> more) {
        for (auto& f : more)
            files.push_back(std::move(f));
    };
    const std::string& scts = u.message.scts;
    for (const auto& a : d.actions) {
        switch (a.kind) {
        case Action::Kind::queue_sms:
            add(queue_sms(a.from, a.to, a.channel, a.text, scts, u.stem, a.from, u.message.srr));
            break;
        case Action::Kind::render_fax:
        case Action::Kind::render_voice: {
            // The call and the record that waits for its result (SPEC 2.11), in one transaction.
            bool fax = a.kind == Action::Kind::render_fax;
            lasthop_call::Record rec;
            rec.stem = u.stem;
            rec.service = fax ? 'F' : 'V';
            rec.oa = u.message.oa;
            rec.da = a.to;
            rec.channel = a.channel;
            rec.file = fax ? render("sms2fax", ".tiff", cfg_.fax.dir, u, a)
                           : render("sms2voice", ".wav", cfg_.voice.dir, u, a);
            rec.receipt = u.message.srr.value_or(0) == 1;
            auto now = now_s();
            add(lasthop_call::plan_first(cfg_, rec, now));
            if (auto at = quiet::when(cfg_, rec.service, now); at > now)
                detail += fmt::format("; quiet hours: the call waits until {}",
                                      quiet::end_text(*quiet::parse(cfg_.delivery.quiet_hours)));
            break;
        }
        case Action::Kind::run_command: {
            auto res = commands::run(cfg_.commands, a.from, a.to, a.text,
                                     static_cast<std::size_t>(cfg_.general.max_parts) * 67);
            detail += fmt::format(": {}", res.detail);
            router::Reply r = a.reply;
            r.text = res.reply;
            add(answer(r, u.stem + ".reply", detail));
            break;
        }
        case Action::Kind::send_sip: {
            if (journal_->marked(u.stem, "sent"))
                break;
            auto now = now_s();
            if (auto at = quiet::when(cfg_, 'T', now); at > now)
                throw HeldSip{
                    {},
                    fmt::format("quiet hours: the SIP message waits until {}",
                                quiet::end_text(*quiet::parse(cfg_.delivery.quiet_hours)))};
            auto res = send_sip(u.stem, "sent", a.from, a.to, a.text);
            if (res.status == ami::SendResult::Status::unavailable)
                throw Temporary{fmt::format("Asterisk manager unavailable: {}", res.message)};
            if (res.status == ami::SendResult::Status::refused) {
                // Store and forward: kept for [sip] hold_time, tried again on every run.
                auto held = lasthop_call::sip_hold(cfg_, u.stem);
                lasthop_call::SipHold h = held.value_or(lasthop_call::SipHold{now, false});
                if (lasthop_call::sip_keep(cfg_, h, now)) {
                    HeldSip hs;
                    hs.why = fmt::format("SIP user {} not reachable ({}); held for up to {} s "
                                         "since {}",
                                         a.to, res.message, cfg_.sip.hold_time, h.first);
                    if (cfg_.sip.tell_held && !h.told) {
                        router::Reply r = a.reply;
                        r.text = lasthop_call::sip_held_text(cfg_, a.to);
                        hs.files = answer(r, u.stem + ".held", hs.why);
                        hs.why += "; sender told it waits";
                        h.told = true;
                    }
                    if (!held || hs.files.size() > 0)
                        hs.files.push_back(lasthop_call::plan_sip_hold(cfg_, u.stem, h));
                    throw hs;
                }
                detail =
                    fmt::format("SIP message to {} refused by Asterisk ({}){}; sender told", a.to,
                                res.message, held ? fmt::format(" for {} s", now - h.first) : "");
                add(answer(a.reply, u.stem + ".notice", detail));
            }
            journal_->mark(u.stem, "sent");
            break;
        }
        case Action::Kind::notice:
            add(answer(a.reply, u.stem + ".notice", detail));
            break;
        }
    }
    return files;
}

void Runner::dead_letter(Unit& u, const std::string& why, char service) {
    std::string detail = why;
    std::vector<fs::PlannedFile> files;
    if (!opts_.dry_run) {
        // Tell the sender when the directory can say how (nobody, when the sender is unknown).
        auto sender = u.message.oa.empty() ? directory::Lookup{} : lookup(u.message.oa);
        auto reply = router::answer(cfg_, cfg_.general.centre_receive_number, u.message.oa, sender,
                                    router::notice_text(cfg_, u.message.da, ""));
        while (!reply.text.empty() && reply.text.back() == ' ')
            reply.text.pop_back();
        try {
            files = answer(reply, u.stem + ".failed", detail);
        } catch (const Temporary& t) {
            detail += fmt::format("; sender not told: {}", t.why);
        } catch (const Permanent& p) {
            detail += fmt::format("; sender not told: {}", p.why);
        }
        std::vector<journal::Input> ins;
        for (auto* f : u.inputs) {
            ins.push_back({f->path, cfg_.failed_dir()});
            // Why, beside it (NAME.why), written with the move: the name the move will take.
            std::string name = fs::basename(f->path);
            for (int i = 1; fs::exists(fs::join(cfg_.failed_dir(), name)); ++i)
                name = fmt::format("{}.{}", fs::basename(f->path), i);
            fs::PlannedFile reason;
            reason.dir = cfg_.failed_dir();
            reason.name = name + ".why";
            reason.content = why_line(detail);
            reason.replace = true;
            files.push_back(std::move(reason));
        }
        journal_->stage(u.stem, files, ins);
    }
    for (auto* f : u.inputs)
        report(*f, Outcome::failed, service, detail);
}

// When the message first failed: the record of each input in <state>/retry/<input name>
// (first_failure=, reason=), written at its first temporary failure; the age that counts
// against retry_limit is from then, not from the file's mtime (a copied old file is not
// dead-lettered at its first failure). Records of inputs gone from sms/morx/ are removed at
// the end of each run.
std::int64_t Runner::first_failure(const Unit& u, const std::string& why) {
    std::int64_t now = now_s(), first = now;
    std::string dir = fs::join(work_, "retry");
    if (!opts_.dry_run)
        fs::ensure_state_dir(dir);
    for (const auto* f : u.inputs) {
        std::optional<std::int64_t> seen;
        std::string path = fs::join(dir, f->name);
        fs::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
        if (fd) {
            char buf[1024];
            ssize_t n = ::read(fd.get(), buf, sizeof buf);
            std::string_view rec(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
            constexpr std::string_view key = "first_failure=";
            if (rec.starts_with(key)) {
                std::int64_t t = 0;
                auto v = rec.substr(key.size());
                auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), t);
                if (ec == std::errc() && t > 0 && t <= now)
                    seen = t;
            }
        }
        if (!seen && !opts_.dry_run) {
            fs::WriteOptions wo;
            wo.mode = 0600;
            wo.replace = true;
            wo.sync = false; // a lost record restarts the count; it loses no message
            fs::write_atomic(
                dir, f->name,
                fmt::format("first_failure={}\nreason={}\n", now, text::escape_controls(why)), wo);
        }
        first = std::min(first, seen.value_or(now));
    }
    return first;
}

void Runner::forget_retries() {
    std::string dir = fs::join(work_, "retry");
    if (opts_.dry_run || !fs::is_dir(dir))
        return;
    for (const auto& name : fs::list_regular(dir))
        if (!fs::exists(fs::join(cfg_.morx_dir(), name)))
            ::unlink(fs::join(dir, name).c_str());
}

void Runner::retry_or_give_up(Unit& u, const std::string& why, char service) {
    std::int64_t age = now_s() - first_failure(u, why);
    if (age > cfg_.general.retry_limit) {
        dead_letter(u, fmt::format("gave up after {} s of temporary failures: {}", age, why),
                    service);
        return;
    }
    for (auto* f : u.inputs)
        report(*f, Outcome::retry, service, why);
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
        if (auto hold = lasthop_call::sip_hold_path(cfg_, u.stem); fs::exists(hold))
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
        dead_letter(u, p.why, d.service);
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

void Runner::maybe_commit(bool force) {
    if (opts_.dry_run || !journal_)
        return;
    const auto n = journal_->pending();
    if (force)
        journal_->commit_all();
    else if (n >= batch_size ||
             (n > 0 && std::chrono::steady_clock::now() - journal_->pending_since() >= batch_time))
        journal_->commit_batch();
    else
        return;
    // Inputs of finished work are gone: their locks are no longer needed.
    auto done = journal_->take_done();
    std::set<std::string_view> gone(done.begin(), done.end());
    std::erase_if(files_, [&](const auto& f) { return gone.count(f->path) > 0; });
    // And those moved away meanwhile (quarantined), few.
    std::erase_if(files_, [](const auto& f) { return !fs::exists(f->path); });
}

// Concatenated parts are held until all have arrived, then routed as one. Run under a lock
// shared by all runs, and parts are locked only under it, so one run sees and takes whole sets.
void Runner::reassemble() {
    std::optional<fs::Lock> lock;
    if (!opts_.dry_run)
        lock = fs::Lock::acquire(fs::join(work_, "reassembly.lock"));
    struct Key {
        std::string oa, da;
        unsigned ref, total;
        bool ref16;
        auto operator<=>(const Key&) const = default;
    };
    std::map<Key, std::vector<InputFile*>> groups;
    // Declared after `lock`: destroyed (their locks released) before it, once committed.
    std::vector<std::unique_ptr<InputFile>> parts;
    for (const auto& name : spool::list(cfg_.morx_dir())) {
        auto f = open_input(name, opts_.dry_run ? Take::look : Take::part);
        if (!f || !f->is_part())
            continue; // taken by another run, not a part, or bad: the first pass handles those
        auto c = f->message->concat();
        groups[{f->message->oa, f->message->da, c->ref, c->total, c->ref16}].push_back(f.get());
        parts.push_back(std::move(f));
    }
    auto seq_of = [](const InputFile* f) { return f->message->concat()->seq; };
    for (auto& [key, members] : groups) {
        // A part another process holds (sms-queue at work): the sets of this reference are left
        // whole for the next run rather than routed in pieces.
        auto busy = std::find_if(members.begin(), members.end(), [](auto* f) { return f->busy; });
        if (busy != members.end()) {
            for (auto* f : members)
                report(*f, Outcome::held, '?',
                       fmt::format("part {} of {}: part {} is held by another process", seq_of(f),
                                   key.total, seq_of(*busy)));
            continue;
        }
        // References are one byte and get reused: the group is split into sets by arrival,
        // each set taking one part per sequence number. Only a part with the same user data as
        // one already placed is a duplicate (consumed with that set, adding nothing).
        std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
            return std::tie(a->message->scts, a->mtime, a->name) <
                   std::tie(b->message->scts, b->mtime, b->name);
        });
        struct Set {
            std::map<unsigned, InputFile*> by_seq;
            std::vector<InputFile*> all; // with duplicates, by arrival
        };
        std::vector<Set> sets;
        for (auto* f : members) {
            const spool::Message& m = *f->message;
            auto same = [&](const InputFile* o) {
                return o->message->text == m.text && o->message->halves == m.halves &&
                       o->message->udh == m.udh;
            };
            std::size_t home = sets.size();
            for (std::size_t i = 0; i < sets.size() && home == sets.size(); ++i)
                if (auto it = sets[i].by_seq.find(seq_of(f));
                    it != sets[i].by_seq.end() && same(it->second))
                    home = i;
            if (home < sets.size()) {
                sets[home].all.push_back(f);
                continue;
            }
            for (std::size_t i = 0; i < sets.size() && home == sets.size(); ++i)
                if (!sets[i].by_seq.count(seq_of(f)))
                    home = i;
            if (home == sets.size())
                sets.emplace_back();
            sets[home].by_seq.emplace(seq_of(f), f);
            sets[home].all.push_back(f);
        }
        for (auto& set : sets) {
            const auto& by_seq = set.by_seq;
            std::int64_t oldest = set.all.front()->mtime;
            for (auto* f : set.all)
                oldest = std::min(oldest, f->mtime);
            bool complete = by_seq.size() == key.total;
            bool expired = now_s() - oldest > cfg_.general.reassembly_timeout;
            if (!complete && !expired) {
                for (auto* f : set.all)
                    report(*f, Outcome::held, '?',
                           fmt::format("part {} of {}: waiting for {} more", seq_of(f), key.total,
                                       key.total - by_seq.size()));
                continue;
            }
            Unit u;
            u.inputs = set.all;
            std::sort(u.inputs.begin(), u.inputs.end(), [&](auto* a, auto* b) {
                return seq_of(a) != seq_of(b) ? seq_of(a) < seq_of(b) : a->name < b->name;
            });
            u.oldest = oldest;
            InputFile* first = by_seq.begin()->second;
            u.message = *first->message;
            u.message.udh.clear();
            u.message.halves = {};
            std::vector<const spool::Message*> texts;
            unsigned expect = 1;
            for (auto& [seq, f] : by_seq) {
                if (seq != expect)
                    texts.push_back(nullptr); // "[...]"
                texts.push_back(&*f->message);
                expect = seq + 1;
            }
            if (expect <= key.total)
                texts.push_back(nullptr);
            u.message.text = spool::join_texts(texts);
            u.incomplete = !complete;
            u.stem = stem_of(first->name);
            // The part that arrived last completed the set: its --json object has the text.
            InputFile* last = nullptr;
            for (auto* f : set.all)
                if (by_seq.at(seq_of(f)) == f)
                    last = f;
            last->joined = u.message.text;
            route_one(u);
            maybe_commit(false);
        }
    }
    // Committed before the parts and the lock are let go: the next run sees no part of a set
    // this one took.
    maybe_commit(true);
    parts.clear();
}

// The last hop (lasthop): each SMS handed to app_sms is confirmed, queued again or given up by
// what app_sms's log says; notices and receipts go like the router's other notices.
void Runner::settle() {
    auto notify = [this](const std::string& from, const std::string& to, const std::string& text,
                         const std::string& stem, std::string& detail) {
        try {
            auto reply = router::answer(cfg_, from, to, lookup(to), text);
            return answer(reply, stem, detail);
        } catch (const Temporary& t) {
            detail += fmt::format("; {} not told: {}", to, t.why);
        } catch (const Permanent& p) {
            detail += fmt::format("; {} not told: {}", to, p.why);
        } catch (const Error& e) {
            detail += fmt::format("; {} not told: {}", to, e.what());
        }
        return std::vector<fs::PlannedFile>{};
    };
    last_hop_ = lasthop::report(
        lasthop::settle(cfg_, opts_.dry_run ? nullptr : journal_.get(), notify, now_s()),
        opts_.json);
}

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

// SMS delivery calls (answers and notices too) wait for the end of quiet hours when S is listed
// in quiet_services; fax and voice calls are scheduled by lasthop_call.
void Runner::quiet_sms(std::vector<fs::PlannedFile>& files) {
    auto now = now_s();
    auto at = quiet::when(cfg_, 'S', now);
    if (at <= now)
        return;
    for (auto& f : files)
        if (f.dir == cfg_.outgoing_dir() && !f.name.ends_with(".fax.call") &&
            !f.name.ends_with(".voice.call") && !f.mtime)
            f.mtime = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(at));
}

// Fax and voice calls whose attempt ended: done (a receipt when asked), placed again, or given
// up with the sender told (SPEC 2.11).
void Runner::settle_last_hop() {
    lasthop_call::Hooks hooks;
    hooks.tell = [this](const lasthop_call::Record& r, const std::string& text,
                        const std::string& stem, std::string& detail) {
        auto sender = lookup(r.oa);
        if (sender.status == directory::Lookup::Status::unavailable)
            throw Error(Exit::tempfail, "directory", sender.why);
        auto reply = router::answer(cfg_, cfg_.general.centre_receive_number, r.oa, sender, text);
        try {
            auto files = answer(reply, stem, detail);
            quiet_sms(files);
            return files;
        } catch (const Temporary& t) {
            throw Error(Exit::tempfail, "notice", t.why);
        } catch (const Permanent& p) {
            detail += fmt::format("; sender not told: {}", p.why);
            return std::vector<fs::PlannedFile>{};
        }
    };
    hooks.report = [this](const lasthop_call::Record& r, lasthop_call::Next next,
                          const std::string& detail) {
        using lasthop_call::Next;
        const char* outcome = next == Next::done     ? "delivered"
                              : next == Next::resend ? "resent"
                                                     : "failed";
        log::write(next == Next::give_up ? log::Level::error : log::Level::info,
                   fmt::format("{}: {} -> {}: service {}: last hop: {}: {}", r.stem, r.oa, r.da,
                               r.service, outcome, detail));
        if (opts_.json)
            fmt::print("{{\"lasthop\":{},\"oa\":{},\"da\":{},\"service\":\"{}\",\"attempt\":{},"
                       "\"outcome\":\"{}\",\"detail\":{}}}\n",
                       send::json_string(r.stem), send::json_string(r.oa), send::json_string(r.da),
                       r.service, r.attempt, outcome, send::json_string(detail));
    };
    try {
        lasthop_call::settle(cfg_, *journal_, hooks, now_s());
    } catch (const Error& e) {
        log::warning("last hop: {}", e.what());
    }
}

int Runner::run() {
    check_folders();
    if (!opts_.dry_run) {
        for (const auto& d : {cfg_.morx_dir(), cfg_.mttx_dir(), cfg_.outgoing_dir(),
                              fs::join(cfg_.general.spool_dir, "tmp")})
            fs::make_dirs(d);
        fs::ensure_state_dir(work_);
        journal_ = std::make_unique<journal::Journal>(fs::join(work_, "journal"));
        journal_->recover();
        settle_last_hop();
    }
    settle(); // before the sweep: an expired delivery call is dialled again after a pause
    sweep();

    bool have_parts = false;
    // What cannot be a message file is said and counted, never routed, moved or deleted.
    for (const auto& [name, what] : fs::list_irregular(cfg_.morx_dir())) {
        InputFile f;
        f.name = name;
        report(f, Outcome::unreadable, '?',
               fmt::format("{}: not a message file, left in place", what));
    }
    for (const auto& name : spool::list(cfg_.morx_dir())) {
        auto f = open_input(name, opts_.dry_run ? Take::look : Take::single);
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
    maybe_commit(true);
    if (have_parts)
        reassemble();
    maybe_commit(true);
    forget_retries();

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

} // namespace

int run(Config cfg, const Options& opts) {
    return Runner(std::move(cfg), opts).run();
}

} // namespace sms::process
