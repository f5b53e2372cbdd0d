// The journal: staged outputs, one-rename commits, recovery after a crash.
//
// Everything lives flat in the journal folder (no folder per message: a mkdir costs more than
// all the rest of a message's file work):
//   <stem>.<pid>.<k>.staged   an output, written by run <pid>, not yet in place
//   .<stem>.<pid>.manifest    the list of a transaction's outputs and inputs, not committed
//   <stem>.manifest           the same, committed (renamed): its outputs will be delivered
//   <stem>.<what>.mark        a side effect that is not a file (a SIP message sent)
#include "journal.hpp"

#include "error.hpp"
#include "log.hpp"

#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::journal {

namespace {

void check_field(const std::string& s, const char* what) {
    if (s.empty() || s.find_first_of("\t\n\r") != std::string::npos)
        throw Error(Exit::software, what, fmt::format("cannot be journalled: '{}'", s));
}

std::vector<std::string> split_tabs(std::string_view line) {
    std::vector<std::string> out;
    while (true) {
        auto tab = line.find('\t');
        out.emplace_back(line.substr(0, tab));
        if (tab == std::string_view::npos)
            break;
        line.remove_prefix(tab + 1);
    }
    return out;
}

bool pid_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

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

} // namespace

Journal::Journal(std::string root)
    : root_(std::move(root)) {
    fs::make_dirs(root_, 0700);
}

Journal::~Journal() {
    // Stages never committed (an exception skipped commit_all) are discarded: their inputs are
    // still in place and will be routed again.
    for (auto& s : staged_) {
        for (const auto& f : s.files)
            ::unlink(fs::join(root_, f).c_str());
        ::unlink(s.tmp_manifest.c_str());
    }
}

void Journal::sync() {
    if (!root_fd_)
        root_fd_ = fs::Fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd_ || ::syncfs(root_fd_.get()) != 0)
        throw_errno(Exit::tempfail, root_, errno);
}

void Journal::stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
                    const std::vector<Input>& inputs) {
    check_field(name, "transaction");
    if (name.find('/') != std::string::npos || name.front() == '.')
        throw Error(Exit::software, name, "not a valid transaction name");
    const long pid = ::getpid();
    Staged s;
    s.name = name;
    s.tmp_manifest = fs::join(root_, fmt::format(".{}.{}.manifest", name, pid));
    // The manifest first, locked: recovery leaves alone what a live run is writing.
    s.lock = fs::Fd(::open(s.tmp_manifest.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!s.lock)
        throw_errno(Exit::cantcreat, s.tmp_manifest, errno);
    ::flock(s.lock.get(), LOCK_EX);
    try {
        std::string man;
        for (const auto& in : inputs) {
            check_field(in.path, "input");
            if (!in.dest.empty())
                check_field(in.dest, "input folder");
            man += fmt::format("in\t{}\t{}\n", in.path, in.dest);
        }
        for (std::size_t k = 0; k < files.size(); ++k) {
            const auto& f = files[k];
            check_field(f.dir, "output folder");
            check_field(f.name, "output name");
            std::string staged = fmt::format("{}.{}.{}.staged", name, pid, k);
            std::string path = fs::join(root_, staged);
            fs::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f.mode));
            if (!fd)
                throw_errno(Exit::cantcreat, path, errno);
            s.files.push_back(staged);
            fs::write_all(fd.get(), f.content, path);
            if (f.mtime) {
                auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              f.mtime->time_since_epoch())
                              .count();
                struct timespec ts[2] = {
                    {0, UTIME_NOW},
                    {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)}};
                if (::futimens(fd.get(), ts) != 0)
                    throw_errno(Exit::cantcreat, path, errno);
            }
            if (::close(fd.release()) != 0)
                throw_errno(Exit::cantcreat, path, errno);
            man += fmt::format("out\t{}\t{}\t{}\t{}\n", staged, f.replace ? 1 : 0, f.dir, f.name);
        }
        fs::write_all(s.lock.get(), man, s.tmp_manifest);
        s.manifest = std::move(man);
        staged_.push_back(std::move(s));
    } catch (...) {
        for (const auto& f : s.files)
            ::unlink(fs::join(root_, f).c_str());
        ::unlink(s.tmp_manifest.c_str());
        throw;
    }
}

void Journal::commit_all() {
    if (staged_.empty())
        return;
    sync(); // every staged file and manifest is on disk
    std::vector<Staged> committed;
    for (auto& s : staged_) {
        std::string manifest = fs::join(root_, s.name + ".manifest");
        if (!fs::rename_noreplace(s.tmp_manifest, manifest)) {
            // Committed already by an earlier run and not finished: finish that one instead.
            for (const auto& f : s.files)
                ::unlink(fs::join(root_, f).c_str());
            ::unlink(s.tmp_manifest.c_str());
            finish(s.name);
            continue;
        }
        committed.push_back(std::move(s));
    }
    staged_.clear();
    sync(); // the commits are durable: from here the outputs will be delivered
    for (const auto& s : committed)
        apply(s.manifest);
    sync(); // outputs in place, inputs gone
    for (auto& s : committed) {
        ::unlink(fs::join(root_, s.name + ".manifest").c_str());
        forget_marks(s.name);
    }
}

// Moves the outputs of a committed transaction into place and removes its inputs; idempotent.
void Journal::apply(const std::string& manifest) {
    std::size_t pos = 0;
    std::vector<std::vector<std::string>> ins;
    while (pos < manifest.size()) {
        auto nl = manifest.find('\n', pos);
        if (nl == std::string::npos)
            break;
        auto f = split_tabs(std::string_view(manifest).substr(pos, nl - pos));
        pos = nl + 1;
        if (f[0] == "in" && f.size() == 3) {
            ins.push_back(std::move(f));
        } else if (f[0] == "out" && f.size() == 5) {
            std::string staged = fs::join(root_, f[1]);
            std::string target = fs::join(f[3], f[4]);
            if (!known_dirs_.count(f[3])) {
                fs::make_dirs(f[3]);
                known_dirs_.insert(f[3]);
            }
            if (f[2] == "1") {
                if (::rename(staged.c_str(), target.c_str()) != 0 && errno != ENOENT)
                    throw_errno(Exit::cantcreat, target, errno);
            } else if (!fs::exists(staged)) {
                continue; // moved already
            } else if (!fs::rename_noreplace(staged, target)) {
                ::unlink(staged.c_str()); // already there (a pending delivery call): keep it
            }
        }
    }
    // Inputs go only after every output is in place.
    for (const auto& in : ins) {
        if (in[2].empty()) {
            if (::unlink(in[1].c_str()) != 0 && errno != ENOENT)
                throw_errno(Exit::cantcreat, in[1], errno);
        } else if (fs::exists(in[1])) {
            fs::move_into(in[1], in[2], fs::basename(in[1]));
        }
    }
}

void Journal::forget_marks(const std::string& name) {
    auto it = marks_.find(name);
    if (it == marks_.end())
        return;
    for (const auto& m : it->second)
        ::unlink(m.c_str());
    marks_.erase(it);
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
    apply(manifest);
    sync();
    ::unlink(path.c_str());
    for (const auto& e : entries(root_))
        if (e.starts_with(name + ".") && e.ends_with(".mark"))
            ::unlink(fs::join(root_, e).c_str());
    return true;
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
    // What dead runs staged and never committed: their inputs are still in place.
    for (const auto& n : names) {
        long pid = 0;
        if (n.front() == '.' && n.ends_with(".manifest"))
            pid = pid_in(n, ".manifest", 0);
        else if (n.ends_with(".staged"))
            pid = pid_in(n, ".staged", 1);
        else
            continue;
        if (pid > 0 && !pid_alive(pid) && pid != ::getpid())
            ::unlink(fs::join(root_, n).c_str());
    }
    return finished;
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
