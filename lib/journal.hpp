// Exactly-once hand-over of a message's outputs: staged, committed with one rename, then moved
// into place, and only then the inputs removed. A run killed at any instant leaves either an
// uncommitted stage (discarded; the input is still there and is routed again) or a committed one
// (finished by the next run): never nothing, never twice.
#pragma once

#include "fsutil.hpp"

#include <map>
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

    // Writes the outputs of transaction `name` into a private folder (not yet durable).
    // Throws Error (tempfail on a full disk) and leaves nothing behind.
    void stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
               const std::vector<Input>& inputs);
    // How many transactions are staged and not yet committed.
    std::size_t pending() const { return staged_.size(); }

    // Makes every staged transaction durable, commits, moves the outputs into place, removes the
    // inputs: four file-system syncs for the whole batch.
    void commit_all();

    // Whether a committed transaction `name` is waiting to be finished.
    bool committed(const std::string& name) const;
    // Finishes the committed transaction `name` (idempotent). False when there is none.
    bool finish(const std::string& name);
    // Finishes every committed transaction a dead run left, and discards uncommitted stages of
    // dead runs. Returns how many were finished.
    int recover();

    // Durable markers of side effects that are not files (a SIP message sent), kept until the
    // transaction `name` is finished.
    void mark(const std::string& name, const std::string& what);
    bool marked(const std::string& name, const std::string& what);

private:
    struct Staged {
        std::string name;
        std::string tmp_manifest;
        std::string manifest; // its text
        std::vector<std::string> files;
        fs::Fd lock;
    };
    std::string root_;
    fs::Fd root_fd_;
    std::vector<Staged> staged_;
    std::set<std::string> known_dirs_;
    std::map<std::string, std::vector<std::string>> marks_;
    void sync();
    void apply(const std::string& manifest);
    void forget_marks(const std::string& name);
};

} // namespace sms::journal
