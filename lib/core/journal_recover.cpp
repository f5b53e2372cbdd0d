// The journal's recovery: committed manifests finished (their outputs moved into place, their
// inputs removed), a dead run's uncommitted stages discarded.
#include "core/journal.hpp"
#include "core/journal_internal.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::journal {

namespace {

bool pid_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The pid in "<stem>.<pid>.<k>.staged" or ".<stem>.<pid>.manifest" (0 when there is none).
long pid_in(const std::string& name, std::string_view suffix, int fields_after) {
    std::string_view s(name);
    s.remove_suffix(suffix.size());
    for (int i = 0; i < fields_after; ++i) {
        auto dot = s.rfind('.');
        if (dot == std::string_view::npos)
            return 0;
        s = s.substr(0, dot);
    }
    auto dot = s.rfind('.');
    if (dot == std::string_view::npos)
        return 0;
    return std::strtol(std::string(s.substr(dot + 1)).c_str(), nullptr, 10);
}

// A manifest line's fields: views into the manifest's text, each followed by a NUL (lines_of
// writes them over the tabs and newlines) so that it can be handed to a system call as it is.
// A line has at most 5 fields; one with more is counted and matches no known line.
struct Line {
    std::array<std::string_view, 5> fields;
    std::size_t count = 0;
    std::string_view operator[](std::size_t i) const { return fields[i]; }
    std::size_t size() const { return count; }
};

// The lines of `text` (a manifest), split at its tabs in place; a last line with no newline (cut
// by a crash) is not one. No string per field: a batch of a thousand messages is parsed in the
// sync's thread at every commit.
std::vector<Line> lines_of(std::string& text) {
    std::vector<Line> out;
    out.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
    std::size_t from = 0;
    for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
        Line line;
        std::size_t at = from;
        while (true) {
            auto tab = text.find('\t', at);
            const std::size_t end = tab == std::string::npos || tab > nl ? nl : tab;
            if (line.count < line.fields.size())
                line.fields[line.count] = std::string_view(text).substr(at, end - at);
            ++line.count;
            text[end] = '\0';
            if (end == nl)
                break;
            at = end + 1;
        }
        out.push_back(line);
        from = nl + 1;
    }
    return out;
}

// A field as a path for a system call (lines_of ended it with a NUL).
const char* c_str(std::string_view field) {
    return field.data();
}

// The inputs a manifest names.
std::vector<std::string> inputs_of(std::string manifest) {
    std::vector<std::string> out;
    for (const auto& f : lines_of(manifest))
        if (f[0] == "in" && f.size() == 3)
            out.emplace_back(f[1]);
    return out;
}

// An output that must not replace, moved into place: false when its target exists already.
// Tried first, not looked at first: a temporary that is gone (ENOENT, and only then looked
// at, as the target's folder may be what is missing) was moved by an earlier attempt.
bool move_noreplace(const char* staged, const std::string& target) {
    if (::renameat2(AT_FDCWD, staged, AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0)
        return true;
    if (errno == EEXIST)
        return false;
    if (errno == ENOENT && ::access(staged, F_OK) != 0 && errno == ENOENT)
        return true;                             // moved already
    return fs::rename_noreplace(staged, target); // another error, or no RENAME_NOREPLACE here
}

} // namespace

// Moves the outputs of a committed manifest into place, then removes its inputs; idempotent.
// What cannot be done (a folder made unusable) is left for a later call and said in the
// returned text (empty: all done); the inputs stay while any output is not in place.
std::string Journal::apply(std::string text) {
    std::vector<const Line*> ins;
    std::string failed;
    auto attempt = [&](auto&& step) {
        try {
            step();
        } catch (const Error& e) {
            if (failed.empty())
                failed = e.what();
        }
    };
    const auto lines = lines_of(text);
    // Second links first, each while the output it links is still a temporary: once that output
    // is in place, app_sms may take it at any moment. A link there already was made by an
    // earlier attempt (or is an older file of that name, kept, as an output that does not
    // replace is); a temporary gone was moved into place after its links were made.
    for (const auto& f : lines) {
        if (f[0] == "link" && f.size() == 4) {
            attempt([&] {
                std::string target = fs::join(f[2], f[3]);
                ensure_dir(f[2]);
                if (::link(c_str(f[1]), target.c_str()) != 0 && errno != EEXIST && errno != ENOENT)
                    throw_errno(Exit::cantcreat, target, errno);
            });
        }
    }
    if (!failed.empty())
        return failed; // no output moved before its links are made
    for (const auto& f : lines) {
        if (f[0] == "in" && f.size() == 3) {
            ins.push_back(&f);
        } else if (f[0] == "out" && f.size() == 5) {
            attempt([&] {
                // An earlier version's manifest names its staged files relative to the journal.
                std::string relative;
                const char* staged = c_str(f[1]);
                if (!f[1].starts_with('/')) {
                    relative = fs::join(root_, f[1]);
                    staged = relative.c_str();
                }
                std::string target = fs::join(f[3], f[4]);
                ensure_dir(f[3]);
                if (f[2] == "1") {
                    if (::rename(staged, target.c_str()) != 0 && errno != ENOENT)
                        throw_errno(Exit::cantcreat, target, errno);
                } else if (!move_noreplace(staged, target)) {
                    ::unlink(staged); // already there (a pending delivery call): keep it
                }
            });
        }
    }
    if (!failed.empty())
        return failed;
    // Inputs go only after every output is in place.
    for (const Line* in : ins) {
        attempt([&] {
            const auto& f = *in;
            if (f[2].empty()) {
                if (::unlink(c_str(f[1])) != 0 && errno != ENOENT)
                    throw_errno(Exit::cantcreat, std::string(f[1]), errno);
            } else if (fs::exists(std::string(f[1]))) {
                fs::move_into(std::string(f[1]), std::string(f[2]), fs::basename(f[1]));
            }
        });
    }
    return failed;
}

bool Journal::committed(const std::string& name) const {
    return fs::exists(fs::join(root_, name + ".manifest"));
}

bool Journal::finish(const std::string& name) {
    std::string path = fs::join(root_, name + ".manifest");
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return false;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
        return true; // its own run is finishing it right now
    if (!fs::exists(path))
        return true; // finished while we waited
    std::string manifest = fs::read_file(path);
    if (std::string failed = apply(manifest); !failed.empty()) {
        sync();
        log::warning("{}: cannot finish its delivery yet: {}; left for the next run", name, failed);
        for (const auto& in : inputs_of(manifest))
            stuck_.emplace(in, failed);
        return false;
    }
    sync();
    ::unlink(path.c_str());
    for (const auto& e : entries(root_))
        if (e.starts_with(name + ".") && e.ends_with(".mark"))
            ::unlink(fs::join(root_, e).c_str());
    return true;
}

std::set<std::string> Journal::finish_dead(const std::vector<std::string>& names, int* finished) {
    std::set<std::string> gone;
    std::set<std::string> txs;
    for (const auto& n : names) {
        if (n.front() == '.' || !n.ends_with(".batch"))
            continue;
        std::string path = fs::join(root_, n);
        if ((committed_ && committed_->path == path) || (applied_ && applied_->path == path))
            continue;
        fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
            continue; // gone, or its own run is alive and finishing it
        if (!fs::exists(path))
            continue; // finished while we opened it
        std::string manifest = fs::read_file(path);
        if (stuck_batches_.count(path)) {
            for (const auto& in : inputs_of(manifest))
                gone.insert(in); // not ours to stage again
            continue;
        }
        std::string failed = apply(manifest);
        sync();
        if (!failed.empty()) {
            // One entry that cannot be finished stops nothing else: its inputs stay where they
            // are, owned by it, and a later run finishes it once the folder is usable.
            log::warning("{}: cannot finish its deliveries yet: {}; left for the next run", n,
                         failed);
            stuck_batches_.insert(path);
            for (const auto& in : inputs_of(manifest)) {
                stuck_.emplace(in, failed);
                gone.insert(in);
            }
            continue;
        }
        ::unlink(path.c_str());
        for (const auto& f : lines_of(manifest)) {
            if (f[0] == "in" && f.size() == 3)
                gone.emplace(f[1]);
            else if (f[0] == "tx" && f.size() == 2)
                txs.emplace(f[1]);
        }
        log::notice("finished the interrupted deliveries of {}", n);
        ++*finished;
    }
    for (const auto& e : names) {
        if (!e.ends_with(".mark"))
            continue;
        for (auto dot = e.find('.'); dot != std::string::npos; dot = e.find('.', dot + 1))
            if (txs.count(e.substr(0, dot))) {
                ::unlink(fs::join(root_, e).c_str());
                break;
            }
    }
    return gone;
}

int Journal::recover() {
    int finished = 0;
    auto names = entries(root_);
    for (const auto& n : names) {
        if (n.front() != '.' && n.ends_with(".manifest")) {
            std::string name = n.substr(0, n.size() - 9);
            if (finish(name)) {
                log::notice("finished the interrupted delivery {}", name);
                ++finished;
            }
        }
    }
    finish_dead(names, &finished);
    // What dead runs staged and never committed: their inputs are still in place.
    for (const auto& n : names) {
        long pid = 0;
        bool batch = false;
        if (n.front() == '.' && n.ends_with(".manifest")) {
            pid = pid_in(n, ".manifest", 0);
        } else if (n.ends_with(".staged")) {
            pid = pid_in(n, ".staged", 1);
        } else if (n.front() == '.' && n.ends_with(".batch")) {
            pid = std::strtol(n.c_str() + 1, nullptr, 10);
            batch = true;
        } else {
            continue;
        }
        if (pid <= 0 || pid_alive(pid) || pid == pid_)
            continue;
        std::string path = fs::join(root_, n);
        if (batch) {
            fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
                continue;
            std::string manifest = fs::read_file(path);
            for (const auto& f : lines_of(manifest))
                if (f[0] == "out" && f.size() == 5)
                    ::unlink(c_str(f[1]));
        }
        ::unlink(path.c_str());
    }
    return finished;
}

} // namespace sms::journal
