// The last hop's store: pending deliveries as files, the mr counters, and the SMS item.
#include "lasthop/lasthop.hpp"

#include "lasthop/lasthop_internal.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fmt/format.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::lasthop {

std::string Item::get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
}

std::int64_t Item::get_int(const std::string& key, std::int64_t dflt) const {
    auto it = fields.find(key);
    return it == fields.end() ? dflt : to_int(it->second, dflt);
}

std::string dir(const Config& cfg) {
    return state::lasthop_dir(cfg);
}

void make_dir(const Config& cfg) {
    const std::string d = dir(cfg);
    fs::make_dirs(fs::dirname(d));
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
        throw_errno(Exit::cantcreat, d, errno);
    struct stat st;
    if (::stat(d.c_str(), &st) == 0 && (st.st_mode & 077) != 0 && ::chmod(d.c_str(), 0700) != 0)
        throw_errno(Exit::noperm, d, errno);
}

namespace {

// One "key=value" line, the value on one line.
void append_line(std::string& out, std::string_view prefix, std::string_view key,
                 std::string_view value) {
    out += prefix;
    out += key;
    out += '=';
    append_one_line(out, value);
    out += '\n';
}

void append_line(std::string& out, std::string_view prefix, std::string_view key,
                 std::int64_t value) {
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, value);
    append_line(out, prefix, key,
                std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
}

// The item's own lines: "key=value", each value on one line. (Written for every message
// queued: appended, not formatted.)
std::string item_lines(const Item& it, std::string_view prefix, bool with_body) {
    std::string out;
    out.reserve(512);
    append_line(out, prefix, "kind", std::string_view(&it.kind, 1));
    append_line(out, prefix, "id", it.id);
    append_line(out, prefix, "queue", it.queue);
    append_line(out, prefix, "attempts", it.attempts);
    append_line(out, prefix, "first", it.first);
    append_line(out, prefix, "next", it.next);
    append_line(out, prefix, "deadline", it.deadline);
    for (const auto& [k, v] : it.fields)
        if (with_body || (k != "body" && k != "logtext" && k != "logcut"))
            append_line(out, prefix, k, v);
    return out;
}

// What app_sms logs of a text: the render (hex) and whether a NUL cut it ("1": no newline).
void set_logtext(Item& it, const std::u16string& units) {
    it.fields["logtext"] = hex(smslog::render(units));
    it.fields["logcut"] = smslog::cut_by_nul(units) ? "1" : "0";
}

// The same for the queue file `body` (see sms_item); nothing when it does not read.
void set_logtext(Item& it, const std::string& body) {
    try {
        spool::Message m = spool::parse(body);
        set_logtext(it, utf8::to_utf16(utf8::decode(m.text, true).value_or(U"")));
    } catch (const Error&) {
        it.fields["logtext"].clear();
    }
}

// An SMS: the queue file itself, the item in comment lines before it (app_sms skips lines that
// begin with ';'), so that its file can be a second link of the queue file.
std::string sms_file(const Item& it, std::string_view body) {
    std::string out = item_lines(it, ";", false);
    out += body;
    return out;
}

fs::PlannedFile plan_content(const Config& cfg, std::string name, std::string content,
                             bool replace) {
    fs::PlannedFile f;
    f.dir = dir(cfg);
    f.name = std::move(name);
    f.content = std::move(content);
    f.mode = 0600; // it holds the message
    f.replace = replace;
    return f;
}

} // namespace

std::string serialize(const Item& it) {
    if (it.kind == 'S' && it.fields.count("body"))
        return sms_file(it, unhex(it.get("body")));
    return item_lines(it, "", true);
}

std::optional<Item> parse(std::string_view text) {
    Item it;
    int seen = 0;
    const bool sms = text.starts_with(";kind=");
    while (!text.empty()) {
        if (sms && text.front() != ';') {
            // The rest is the queue file.
            it.fields["body"] = hex(text);
            set_logtext(it, std::string(text));
            break;
        }
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (sms)
            line.remove_prefix(1); // the ';'
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            continue;
        std::string k(line.substr(0, eq)), v(line.substr(eq + 1));
        if (k == "kind" && v.size() == 1) {
            it.kind = v[0];
            seen |= 1;
        } else if (k == "id") {
            it.id = v;
            seen |= 2;
        } else if (k == "queue") {
            it.queue = v;
        } else if (k == "attempts") {
            it.attempts = static_cast<int>(to_int(v, 1));
        } else if (k == "first") {
            it.first = to_int(v, 0);
        } else if (k == "next") {
            it.next = to_int(v, 0);
        } else if (k == "deadline") {
            it.deadline = to_int(v, 0);
        } else {
            it.fields[k] = v;
        }
    }
    if (seen != 3 || it.id.empty())
        return std::nullopt;
    return it;
}

std::vector<Item> list(const Config& cfg) {
    std::vector<Item> out;
    const std::string d = dir(cfg);
    if (!fs::is_dir(d))
        return out;
    for (const auto& name : fs::list_regular(d)) {
        if (name.size() < 3 || name[1] != '.' ||
            std::string_view("SFVT").find(name[0]) == std::string_view::npos)
            continue;
        try {
            auto it = parse(fs::read_file(fs::join(d, name), 1 << 20));
            if (it && it->name() == name)
                out.push_back(std::move(*it));
        } catch (const Error&) {
            // gone meanwhile (settled) or unreadable: not listed
        }
    }
    return out;
}

fs::PlannedFile plan(const Config& cfg, const Item& item, bool replace) {
    return plan_content(cfg, item.name(), serialize(item), replace);
}

std::int64_t pause_after(const Config& cfg, int attempts) {
    std::int64_t p = cfg.sms.retry_time;
    for (int k = 0; k < attempts && p < 3600; ++k)
        p *= 2;
    return std::min<std::int64_t>(p, 3600);
}

namespace {

// The last mr given to a queue, from its counter (locked, open on `fd`); its length in `size`.
std::int64_t read_mr(int fd, const std::string& path, ssize_t& size) {
    char buf[16];
    ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    if (n < 0)
        throw_errno(Exit::ioerr, path, errno);
    size = n;
    std::int64_t last =
        to_int(std::string_view(buf, static_cast<std::size_t>(n))
                   .substr(0, n > 0 && buf[n - 1] == '\n' ? static_cast<std::size_t>(n - 1)
                                                          : static_cast<std::size_t>(n)),
               -1);
    if (last < 0) {
        std::random_device rd;
        last = rd() & 0xFF;
    }
    return last;
}

// Written over the last value, and cut only past its end, never to nothing: ext4 writes a file
// truncated to nothing out when it is closed (auto_da_alloc), a disk write per message.
void write_mr(int fd, const std::string& path, unsigned mr, ssize_t old_size) {
    std::string out = fmt::format("{}\n", mr);
    if (::pwrite(fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()) ||
        (old_size > static_cast<ssize_t>(out.size()) &&
         ::ftruncate(fd, static_cast<off_t>(out.size())) != 0))
        throw_errno(Exit::ioerr, path, errno);
}

} // namespace

unsigned allocate_mr(const Config& cfg, const std::string& queue) {
    const std::string d = dir(cfg);
    const std::string mdir = state::mr_dir(cfg);
    make_dir(cfg);
    fs::make_dirs(mdir, 0700);
    const std::string path = fs::join(mdir, queue);
    fs::Lock lock = fs::Lock::acquire(path);
    ssize_t n = 0;
    const std::int64_t last = read_mr(lock.fd(), path, n);
    // The next free value after the last one given; with all 256 in use (a phone that took
    // nothing for a long time, or hundreds of messages queued at once), the next value anyway:
    // its item is named apart (sms_item_id) and settle() tells such twins apart or sends them
    // again.
    // A queue whose 256 values are all in use is looked at again at most once a second by a
    // process: a run queueing thousands of messages for one phone would otherwise look at 256
    // names for each.
    static std::map<std::string, std::chrono::steady_clock::time_point> full;
    const auto now = std::chrono::steady_clock::now();
    unsigned mr = static_cast<unsigned>(last + 1) & 0xFFu;
    auto f = full.find(path);
    if (f == full.end() || now - f->second >= std::chrono::seconds(1)) {
        bool found = false;
        for (unsigned k = 1; k <= 256 && !found; ++k) {
            unsigned candidate = static_cast<unsigned>(last + k) & 0xFFu;
            if (!fs::exists(fs::join(d, fmt::format("S.{}.{:03}", queue, candidate)))) {
                mr = candidate;
                found = true;
            }
        }
        if (found)
            full.erase(path);
        else
            full[path] = now;
    }
    write_mr(lock.fd(), path, mr, n);
    return mr;
}

struct MrCounters::Held {
    fs::Lock lock;
    std::string path;
    ssize_t size = 0;     // of the counter as read
    unsigned last = 0;    // the last value given
    bool changed = false; // a value given since it was read
};

MrCounters::MrCounters(const Config& cfg)
    : cfg_(cfg) {}

MrCounters::~MrCounters() {
    try {
        release();
    } catch (const Error& e) {
        log::warning("mr counter: {}", e.what());
    }
}

namespace {

// What a counter holds and when it was written, to tell whether another run wrote it since.
std::optional<std::pair<unsigned, std::int64_t>> counter_state(int fd, unsigned value) {
    struct stat st;
    if (::fstat(fd, &st) != 0)
        return std::nullopt;
    return std::pair{value, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                                st.st_mtim.tv_nsec};
}

} // namespace

void MrCounters::release() {
    // Each counter written before its lock goes; all locks go even when a write fails.
    std::optional<Error> failed;
    for (auto& [queue, h] : held_) {
        try {
            if (h.changed)
                write_mr(h.lock.fd(), h.path, h.last, h.size);
            if (auto state = counter_state(h.lock.fd(), h.last))
                left_[queue] = *state;
            else
                left_.erase(queue);
        } catch (const Error& e) {
            left_.erase(queue);
            if (!failed)
                failed = e;
        }
    }
    held_.clear();
    listed_ = false;
    if (failed)
        throw *failed;
}

// The items in place: "S.<queue>.<mr>" (with a shared mr, ".<file>" after it), added to those
// known in use (a value settled meanwhile stays marked: skipped, never given twice).
void MrCounters::list() {
    listed_ = true;
    for (const auto& name : fs::list_regular(dir(cfg_))) {
        if (!name.starts_with("S.") || name.size() < 7)
            continue;
        auto dot = name.find('.', 2);
        if (dot == std::string::npos || dot + 4 > name.size() ||
            (dot + 4 < name.size() && name[dot + 4] != '.'))
            continue;
        unsigned mr = 0;
        auto [p, ec] = std::from_chars(name.data() + dot + 1, name.data() + dot + 4, mr);
        if (ec != std::errc() || p != name.data() + dot + 4 || mr > 255)
            continue;
        auto& used = in_use_[name.substr(2, dot - 2)];
        used[mr] = true;
    }
}

std::pair<unsigned, std::string> MrCounters::allocate(const std::string& queue,
                                                      const std::string& file) {
    auto it = held_.find(queue);
    if (it == held_.end()) {
        const std::string mdir = state::mr_dir(cfg_);
        if (!dir_made_) {
            make_dir(cfg_);
            fs::make_dirs(mdir, 0700);
        }
        dir_made_ = true;
        std::string path = fs::join(mdir, queue);
        std::optional<fs::Lock> lock;
        if (!held_.empty())
            lock = fs::Lock::try_acquire(path);
        if (!lock) {
            release(); // never wait while holding another counter
            lock = fs::Lock::acquire(path);
        }
        Held h{std::move(*lock), path};
        h.last = static_cast<unsigned>(read_mr(h.lock.fd(), path, h.size)) & 0xFFu;
        // The items are listed once, and again only when a counter is new to this run or was
        // written by another run since this one let it go: then that run's items may be missing.
        auto left = left_.find(queue);
        if (!listed_ && (left == left_.end() || counter_state(h.lock.fd(), h.last) != left->second))
            list();
        it = held_.emplace(queue, std::move(h)).first;
    }
    Held& h = it->second;
    auto& used = in_use_[queue];
    // The next free value after the last one given; with all 256 in use, the next value anyway,
    // its item named apart (see allocate_mr).
    unsigned mr = (h.last + 1) & 0xFFu;
    for (unsigned k = 1; k <= 256; ++k) {
        unsigned candidate = (h.last + k) & 0xFFu;
        if (!used[candidate]) {
            mr = candidate;
            break;
        }
    }
    std::string id = fmt::format("{}.{:03}", queue, mr);
    if (used[mr])
        id += "." + file; // the mr is shared: the queue file's name is unique
    used[mr] = true;
    h.last = mr;
    h.changed = true;
    return {mr, id};
}

std::string sms_item_id(const Config& cfg, const std::string& queue, unsigned mr,
                        const std::string& file) {
    std::string id = fmt::format("{}.{:03}", queue, mr);
    if (fs::exists(fs::join(dir(cfg), "S." + id)))
        id += "." + file; // the mr is shared: the queue file's name is unique
    return id;
}

namespace {

// sms_item without what app_sms logs of the text (logtext, logcut): an item's file never holds
// it (parse reads it from the body).
Item sms_item_to_write(const Config& cfg, const spool::Message& m, const std::string& queue,
                       const std::string& file, const std::string& channel,
                       const std::string& notify, smslog::Mark mark, std::int64_t now,
                       const std::string& id) {
    Item it;
    it.kind = 'S';
    const unsigned mr = static_cast<unsigned>(m.mr.value_or(0)) & 0xFFu;
    it.id = id.empty() ? sms_item_id(cfg, queue, mr, file) : id;
    it.queue = queue;
    it.attempts = 1;
    it.first = now;
    it.next = now;
    it.deadline = now + cfg.delivery.give_up;
    std::size_t units = 0; // UTF-16 units of the text
    if (auto text = utf8::decode(m.text, true))
        for (char32_t c : *text)
            units += c > 0xFFFF ? 2 : 1;
    it.fields["file"] = file;
    it.fields["base"] = file;
    it.fields["oa"] = m.oa;
    it.fields["da"] = m.da;
    it.fields["channel"] = channel;
    it.fields["mr"] = std::to_string(mr);
    it.fields["units"] = std::to_string(units);
    it.fields["notify"] = notify;
    it.fields["queued"] = std::to_string(now);
    if (m.srr)
        it.fields["srr"] = std::to_string(*m.srr);
    it.fields["mark"] = std::to_string(mark.ino) + ":" + std::to_string(mark.pos);
    return it;
}

} // namespace

Item sms_item(const Config& cfg, const spool::Message& m, const std::string& queue,
              const std::string& file, const std::string& channel, const std::string& notify,
              const std::string& body, smslog::Mark mark, std::int64_t now, const std::string& id) {
    Item it = sms_item_to_write(cfg, m, queue, file, channel, notify, mark, now, id);
    it.fields["body"] = hex(body);
    set_logtext(it, utf8::to_utf16(utf8::decode(m.text, true).value_or(U"")));
    return it;
}

fs::PlannedFile plan_sms(const Config& cfg, const spool::Message& m, const std::string& queue,
                         const std::string& file, const std::string& channel,
                         const std::string& notify, const std::string& body, smslog::Mark mark,
                         std::int64_t now, const std::string& id) {
    // serialize() of the item, its body not turned into hex and back.
    const Item it = sms_item_to_write(cfg, m, queue, file, channel, notify, mark, now, id);
    return plan_content(cfg, it.name(), sms_file(it, body), false);
}

} // namespace sms::lasthop
