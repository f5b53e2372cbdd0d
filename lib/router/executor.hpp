// The executor of sms-process (private to lib/router/): what one run holds and does. The
// run loop and its summary are in process.cpp, carrying out a decision's actions in
// actions.cpp, the reassembly of concatenated messages in reassembly.cpp, the sweep of
// phone queues left without a delivery call in sweep.cpp.
#pragma once

#include "asterisk/ami.hpp"
#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/journal.hpp"
#include "core/quiet.hpp"
#include "directory/directory.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "lasthop/lasthop_sip.hpp"
#include "messaging/mail.hpp"
#include "messaging/outbox.hpp"
#include "messaging/send.hpp"
#include "router/commands.hpp"
#include "router/process.hpp"
#include "router/router.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hash.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <future>
#include <map>
#include <set>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>

namespace sms::process::detail {

using router::Action;
using router::Outcome;

// A batch of transactions is committed with one file-system sync when it holds this many, or
// when its first was staged this long ago: whichever comes first, so that a slow stream of
// messages (faxes to render) is not held back for a full batch.
constexpr std::size_t batch_size = 1024;
constexpr std::chrono::milliseconds batch_time{50};
// Descriptors a run needs besides its batches' inputs and mr counters: the directory, the
// journal, the log, call files, a child's pipes.
constexpr std::size_t fd_reserve = 64;
// In a burst (at least read_ahead_from messages listed), inputs are opened, read and locked up
// to read_ahead messages ahead of the run, in a thread of its own.
constexpr std::size_t read_ahead = 32;
constexpr std::size_t read_ahead_from = 16;
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
    bool moved = false;      // quarantined: no longer in sms/morx/
    std::optional<std::string> joined; // the part completing a set: the whole text (--json)

    bool is_part() const { return message && message->concat().has_value(); }
};

// An input as take_input left it: null when it is gone or another run has it; no_fds when it
// could not be opened for want of descriptors.
struct Taken {
    std::unique_ptr<InputFile> file;
    bool no_fds = false;
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
// A permanent one: dead-letter the message and tell the sender (`notice`: the text the sender
// gets, when it is not the plain "cannot deliver").
struct Permanent {
    explicit Permanent(std::string w, std::string n = "")
        : why(std::move(w))
        , notice(std::move(n)) {}
    std::string why;
    std::string notice;
};
// A SIP message Asterisk could not deliver (user unreachable) or may not yet (quiet hours): the
// message stays; `files` (its hold record, a notice that it waits) are committed without it.
struct HeldSip {
    std::vector<fs::PlannedFile> files;
    std::string why;
};

inline std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Output names derive from the input's: letters, digits, '.', '-', '_' only; anything else is
// replaced and a hash of the original keeps two inputs from sharing a stem.
inline std::string stem_of(std::string_view name) {
    std::string s;
    bool changed = false;
    for (char c : name.substr(0, 80)) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '.' || c == '-' || c == '_';
        s.push_back(ok ? c : '_');
        changed = changed || !ok;
    }
    if (changed || name.size() > 80)
        s += fmt::format("-{:08x}", hash::fnv1a32(name));
    return s;
}

inline std::string json_opt_string(const std::string& s) {
    return s.empty() ? "null" : send::json_string(s);
}

// How a file is opened: parts of concatenated messages are taken only under the reassembly
// lock (so that no run ever sees part of a set because another one holds a part for a moment).
enum class Take {
    look,   // read only (a dry run)
    single, // lock it unless it is a part (the first pass)
    part,   // lock it, waiting a little, only if it is a part (under the reassembly lock)
};

Taken take_input(const std::string& morx, const std::string& name, Take take, int incomplete_grace);

class Runner {
public:
    Runner(Config cfg, const Options& opts)
        : cfg_(std::move(cfg))
        , opts_(opts) {
        if (opts.spool)
            cfg_.general.spool_dir = *opts.spool;
        if (!fs::is_dir(cfg_.general.spool_dir))
            throw Error(Exit::config, cfg_.general.spool_dir, "spool folder does not exist");
    }

    int run();

private:
    Config cfg_;
    Options opts_;
    std::unique_ptr<directory::Directory> dir_;
    std::optional<directory::Lookup> directory_down_;
    std::unique_ptr<journal::Journal> journal_;
    std::size_t batch_limit_ = batch_size; // batch_size, or less when descriptors are few
    std::size_t read_ahead_ = read_ahead;  // none when descriptors are few
    Summary summary_;
    std::vector<std::unique_ptr<InputFile>> files_;
    std::future<void> closer_; // closing the descriptors of removed inputs (close_behind)
    std::string last_hop_;     // what settle() did, for the summary line
    // What queueing SMS keeps within the journal's open batch (closed before each commit);
    // only while routing: the last hop's settling takes mr counters itself.
    std::optional<outbox::Batch> batch_;
    bool routing_ = false;

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

    // What the manager said of each SIP user's contacts, asked once per run and user (SPEC 2.11,
    // T): its answer, or why it could not be asked (an outage).
    struct Asked {
        ami::Reach reach;
        std::string outage;
    };
    std::map<std::string, Asked, std::less<>> contacts_;
    bool pjsip_warned_ = false;
    ami::Reach contacts(const std::string& user);

    std::unique_ptr<InputFile> open_input(const std::string& name, Take take);
    std::unique_ptr<InputFile> opened(Taken t, Take take);
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
    void dead_letter(Unit& u, const std::string& why, char service = '?',
                     const std::string& notice = "");
    void report(const InputFile& f, Outcome o, char service, const std::string& detail);
    void close_behind(std::vector<int> fds);
    void maybe_commit(bool force);
    void fit_batches_to_fds();
    void settle_last_hop();
    void settle_sip();
    std::vector<fs::PlannedFile> tell_sender(const std::string& oa, const std::string& text,
                                             const std::string& stem, std::string& detail);
    void quiet_sms(std::vector<fs::PlannedFile>& files);
    void check_folders();
    dev_t check_folder(const std::string& key, const std::string& path);
    void route_one(Unit& u);
    bool first_pass();
    std::vector<fs::PlannedFile> render_and_call(const Unit& u, const Action& a,
                                                 std::string& detail);
    std::vector<fs::PlannedFile> deliver_sip(const Unit& u, const Action& a, std::string& detail);
    void deliver_mail(const Unit& u, const Action& a);
    int summarize();
};

} // namespace sms::process::detail
