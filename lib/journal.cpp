// The journal: staged outputs, one-rename commits, recovery after a crash.
#include "journal.hpp"

#include "error.hpp"
#include "log.hpp"

#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::journal {

namespace {

constexpr const char* manifest = "manifest";

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

void remove_tree(const std::string& dir) {
    for (const auto& name : fs::list_regular(dir))
        ::unlink(fs::join(dir, name).c_str());
    ::unlink(fs::join(dir, manifest).c_str());
    if (DIR* d = ::opendir(dir.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..")
                ::unlink(fs::join(dir, n).c_str());
        }
        ::closedir(d);
    }
    ::rmdir(dir.c_str());
}

bool pid_alive(long pid) {
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

} // namespace

Journal::Journal(std::string root)
    : root_(std::move(root)) {
    fs::make_dirs(root_, 0700);
}

Journal::~Journal() {
    // Stages never committed (an exception skipped commit_all) are discarded: their inputs are
    // still in place and will be routed again.
    for (auto& s : staged_)
        remove_tree(s.tmp_dir);
}

void Journal::sync() {
    fs::Fd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::syncfs(fd.get()) != 0)
        throw_errno(Exit::tempfail, root_, errno);
}

void Journal::stage(const std::string& name, const std::vector<fs::PlannedFile>& files,
                    const std::vector<Input>& inputs) {
    check_field(name, "transaction");
    if (name.find('/') != std::string::npos || name.front() == '.')
        throw Error(Exit::software, name, "not a valid transaction name");
    std::string tmp = fs::join(root_, fmt::format(".{}.{}.tmp", name, ::getpid()));
    remove_tree(tmp);
    if (::mkdir(tmp.c_str(), 0700) != 0)
        throw_errno(Exit::cantcreat, tmp, errno);
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
            fs::WriteOptions o;
            o.mode = f.mode;
            o.sync = false; // the whole batch is synced at once
            o.mtime = f.mtime;
            fs::write_atomic(tmp, std::to_string(k), f.content, o);
            man += fmt::format("out\t{}\t{}\t{}\t{}\n", k, f.replace ? 1 : 0, f.dir, f.name);
        }
        fs::WriteOptions o;
        o.sync = false;
        fs::write_atomic(tmp, manifest, man, o);
        auto lock = fs::Lock::try_acquire(fs::join(tmp, manifest));
        Staged s{name, tmp, fs::Fd(::dup(lock->fd()))};
        staged_.push_back(std::move(s));
    } catch (...) {
        remove_tree(tmp);
        throw;
    }
}

void Journal::commit_all() {
    if (staged_.empty())
        return;
    sync(); // every staged file and manifest is on disk
    std::vector<std::string> committed_dirs;
    for (auto& s : staged_) {
        std::string dir = fs::join(root_, s.name);
        if (!fs::rename_noreplace(s.tmp_dir, dir)) {
            // Committed already by an earlier run (found and finished there): drop ours.
            remove_tree(s.tmp_dir);
            continue;
        }
        committed_dirs.push_back(dir);
    }
    sync(); // the commits are durable: from here the outputs will be delivered
    std::vector<fs::Fd> locks;
    for (auto& s : staged_)
        locks.push_back(std::move(s.lock));
    staged_.clear();
    for (const auto& dir : committed_dirs)
        apply(dir, false);
    sync(); // outputs in place, inputs gone
    for (const auto& dir : committed_dirs)
        remove_tree(dir);
}

// Moves the outputs of a committed transaction into place and removes its inputs; idempotent.
void Journal::apply(const std::string& dir, bool remove_when_done) {
    std::string man;
    try {
        man = fs::read_file(fs::join(dir, manifest));
    } catch (const Error&) {
        if (remove_when_done)
            remove_tree(dir);
        return;
    }
    std::vector<std::vector<std::string>> ins, outs;
    std::size_t pos = 0;
    while (pos < man.size()) {
        auto nl = man.find('\n', pos);
        if (nl == std::string::npos)
            break;
        auto f = split_tabs(std::string_view(man).substr(pos, nl - pos));
        pos = nl + 1;
        if (f[0] == "in" && f.size() == 3)
            ins.push_back(std::move(f));
        else if (f[0] == "out" && f.size() == 5)
            outs.push_back(std::move(f));
    }
    for (const auto& o : outs) {
        std::string staged = fs::join(dir, o[1]);
        if (!fs::exists(staged))
            continue; // moved already
        std::string target = fs::join(o[3], o[4]);
        fs::make_dirs(o[3]);
        if (o[2] == "1") {
            if (::rename(staged.c_str(), target.c_str()) != 0)
                throw_errno(Exit::cantcreat, target, errno);
        } else if (!fs::rename_noreplace(staged, target)) {
            ::unlink(staged.c_str()); // already there (a pending delivery call): nothing to add
        }
    }
    for (const auto& in : ins) {
        if (!fs::exists(in[1]))
            continue;
        if (in[2].empty()) {
            if (::unlink(in[1].c_str()) != 0 && errno != ENOENT)
                throw_errno(Exit::cantcreat, in[1], errno);
        } else {
            fs::move_into(in[1], in[2], fs::basename(in[1]));
        }
    }
    if (remove_when_done) {
        sync();
        remove_tree(dir);
    }
    // Markers of this transaction's side effects are no longer needed.
    std::string name = fs::basename(dir);
    if (DIR* d = ::opendir(root_.c_str())) {
        std::vector<std::string> markers;
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.starts_with(name + ".") && n.ends_with(".mark"))
                markers.push_back(n);
        }
        ::closedir(d);
        for (const auto& n : markers)
            ::unlink(fs::join(root_, n).c_str());
    }
}

bool Journal::committed(const std::string& name) const {
    return fs::is_dir(fs::join(root_, name));
}

bool Journal::finish(const std::string& name) {
    std::string dir = fs::join(root_, name);
    if (!fs::is_dir(dir))
        return false;
    fs::Fd fd(::open(fs::join(dir, manifest).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd) {
        auto lock = fs::Lock::try_acquire(std::move(fd));
        if (!lock)
            return true; // its own run is finishing it right now
    }
    apply(dir, true);
    return true;
}

int Journal::recover() {
    int finished = 0;
    DIR* d = ::opendir(root_.c_str());
    if (!d)
        return 0;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        names.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
        if (n == "." || n == ".." || n.ends_with(".mark"))
            continue;
        std::string path = fs::join(root_, n);
        if (!fs::is_dir(path))
            continue;
        if (n.front() == '.') {
            // .<name>.<pid>.tmp: an uncommitted stage; discard it once its run is gone.
            auto last = n.rfind(".tmp");
            auto dot = n.rfind('.', last == std::string::npos ? 0 : last - 1);
            long pid = dot == std::string::npos ? 0 : std::strtol(n.c_str() + dot + 1, nullptr, 10);
            if (!pid_alive(pid))
                remove_tree(path);
            continue;
        }
        if (finish(n)) {
            log::notice("finished the interrupted delivery {}", n);
            ++finished;
        }
    }
    return finished;
}

void Journal::mark(const std::string& name, const std::string& what) {
    fs::write_atomic(root_, fmt::format("{}.{}.mark", name, what), "");
}

bool Journal::marked(const std::string& name, const std::string& what) const {
    return fs::exists(fs::join(root_, fmt::format("{}.{}.mark", name, what)));
}

} // namespace sms::journal
