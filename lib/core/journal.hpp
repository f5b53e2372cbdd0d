// Exactly-once hand-over of a message's outputs: staged, committed with one rename, then moved
// into place, and only then the inputs removed. A run killed at any instant leaves either an
// uncommitted stage (discarded; the input is still there and is routed again) or a committed one
// (finished by the next run): never nothing, never twice.
//
// Transactions are grouped in batches: one manifest per batch, one file-system sync per batch.
// commit_batch() pipelines: each call's sync makes the batch being closed durable, the previous
// batch's commit durable (so its outputs are moved into place and its inputs removed) and the
// one before's moves durable (so its manifest goes). The sync runs in a thread of its own while
// the caller stages the next batch, and so do the file-system steps it makes safe, in the same
// order, once it is done: the earlier manifest removed, the committed batch moved into place,
// the closed one committed. The next call waits for that thread and takes over what it did (the
// inputs removed, the markers to forget). commit_all() drains: when it returns, every staged
// transaction is finished (three syncs for a lone batch, as for a lone message).
#pragma once

#include "util/fsutil.hpp"

#include <chrono>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sms::journal {

// An input of a transaction: removed (dest empty) or moved into `dest` once the outputs are in
// place.
struct Input {
    std::string path;
    std::string dest;
};

class Journal {
public:
    // `root` must be on the same file system as every output folder (it lives under the spool).
    explicit Journal(std::string root);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    // Adds transaction `name` to the open batch: its outputs are written beside their final
    // place under temporary names (a dotfile in their folder, or in PlannedFile::temp_dir), not
    // yet durable. Within a batch an output that does not replace (a delivery call) is written
    // once. Throws Error (tempfail on a full disk) and leaves nothing of the transaction behind.
    void stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
               const std::vector<Input>& inputs);
    // How many transactions the open batch holds, and since when it is open.
    std::size_t pending() const { return open_ ? open_->txs.size() : 0; }
    std::chrono::steady_clock::time_point pending_since() const;

    // Closes the open batch and advances the pipeline with one file-system sync (see above).
    void commit_batch();
    // Commits the open batch and finishes every committed one.
    void commit_all();
    // The inputs removed (or moved) since the last call: their transactions are done.
    std::vector<std::string> take_done();

    // Whether a committed transaction `name` of an earlier version's per-transaction manifest is
    // waiting to be finished, and finishing it (idempotent; false when there is none).
    bool committed(const std::string& name) const;
    bool finish(const std::string& name);
    // Finishes every committed batch or transaction a dead run left, and discards uncommitted
    // stages of dead runs. Returns how many were finished. A committed one that cannot be
    // finished yet (an output or input folder made unusable) is logged and left for a later
    // run, which finishes it once the folder is usable: it stops nothing else.
    int recover();
    // The inputs of committed transactions that could not be finished (see recover), each with
    // why: they belong to those transactions and must not be routed again meanwhile.
    const std::map<std::string, std::string>& stuck() const { return stuck_; }

    // Durable markers of side effects that are not files (a SIP message sent), kept until the
    // transaction `name` is finished.
    void mark(const std::string& name, const std::string& what);
    bool marked(const std::string& name, const std::string& what);

private:
    struct Out {
        std::string target, temp, line;
    };
    struct Tx {
        std::string name;
        std::string head; // its manifest lines but the outputs'
        std::vector<Out> outs;
        std::vector<std::string> inputs;
        std::set<std::string> shared; // targets written by an earlier transaction of the batch
    };
    struct Batch {
        std::string tmp;  // the manifest while uncommitted
        std::string path; // committed
        std::string tag;  // in its temporaries' names: "<pid>.<id>"
        fs::Fd fd;        // locked for the batch's life
        std::vector<Tx> txs;
        std::map<std::string, std::string> targets; // final path -> its temporary
        std::size_t size = 0;                       // bytes of manifest written
        std::chrono::steady_clock::time_point opened;
    };
    std::string root_;
    fs::Fd root_fd_;
    long pid_;
    unsigned batches_ = 0;
    // What a sync's thread did after it (see step): nothing more when the sync failed.
    struct Step {
        int err = 0;                   // the sync's errno
        std::string failed;            // why committed_ could not be finished (empty: it was)
        bool committed = false;        // closing_ renamed to its committed name
        std::exception_ptr commit_err; // why it could not be
    };
    // While a sync's thread runs, it alone touches closing_, committed_ and applied_; the
    // caller stages into open_.
    std::optional<Batch> open_, closing_, committed_, applied_;
    std::optional<std::future<Step>> syncing_; // the sync of closing_ and the steps after it
    std::vector<std::string> done_;
    std::mutex dirs_mutex_; // known_dirs_: apply runs in the sync's thread
    std::set<std::string, std::less<>> known_dirs_;
    std::map<std::string, std::vector<std::string>> marks_;
    std::map<std::string, std::string> stuck_; // input -> why its transaction is not finished
    std::set<std::string> stuck_batches_;      // manifests not finished in this run
    int root_fd();
    void sync();
    void advance(std::launch how);
    Step step(int fd);
    void after_sync();
    std::string apply(std::string manifest);
    void forget_marks(const std::string& name);
    void ensure_dir(std::string_view dir);
    // stage's steps (journal.cpp).
    struct Write;
    void open_batch();
    static const Write* same_file(const std::vector<Write>& writes, const fs::PlannedFile& f,
                                  const std::string& target, const Batch& b);
    std::vector<Write> plan_writes(Tx& tx, const std::vector<fs::PlannedFile>& files,
                                   std::map<std::string, std::string>& added);
    void write_temps(const std::vector<Write>& writes, std::vector<std::string>& created);
    void discard(Batch& b);
    std::string text(const Batch& b) const;
    void drop(Batch& b, const std::set<std::string>& gone);
    // Finishes the committed manifests of dead runs found in the journal; returns the inputs
    // they covered. `entries` is the journal's listing.
    std::set<std::string> finish_dead(const std::vector<std::string>& entries, int* finished);
};

} // namespace sms::journal
