// sms-queue: lists what the suite holds by state, shows an item, and retries or deletes it under
// the router's locks.
#include "queue/queue.hpp"

#include "asterisk/spool.hpp"
#include "core/journal.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "lasthop/lasthop_sip.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "state/retry.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hash.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace sms::queue {

namespace {

constexpr const char* states[] = {"held", "retry", "failed", "bad", "queued", "call", "lasthop"};

int state_rank(const std::string& s) {
    for (int i = 0; i < static_cast<int>(std::size(states)); ++i)
        if (s == states[i])
            return i;
    return static_cast<int>(std::size(states));
}

std::string make_id(std::string_view key) {
    return fmt::format("{:010X}", hash::fnv1a64(key) & 0xFFFFFFFFFFull);
}

// One line for the listing: control characters as \xNN.
std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

struct Entry {
    std::string name;
    std::string path;
    std::int64_t mtime = 0;
    std::uint64_t size = 0;
};

// The regular, visible files of `dir` (no dotfiles, no NAME.why notes); none when it is missing
// or unreadable.
std::vector<Entry> entries(const std::string& dir, bool skip_why = false) {
    std::vector<Entry> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d)
        return out;
    int dfd = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n.empty() || n.front() == '.')
            continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        struct stat st;
        if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        out.push_back({std::string(n), fs::join(dir, std::string(n)), st.st_mtime,
                       static_cast<std::uint64_t>(st.st_size)});
    }
    ::closedir(d);
    if (skip_why) {
        // NAME.why is the note beside NAME; a file that only ends in ".why" is an item itself.
        std::vector<std::string> names;
        for (const auto& e : out)
            names.push_back(e.name);
        std::sort(names.begin(), names.end());
        std::erase_if(out, [&](const Entry& e) {
            auto noted = state::noted_name(e.name);
            return noted && std::binary_search(names.begin(), names.end(), *noted);
        });
    }
    return out;
}

// A small file's text ("" when unreadable).
std::string slurp(const std::string& path, std::size_t max = 64 * 1024) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return {};
    std::string s;
    char buf[8192];
    while (s.size() < max) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        s.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return s;
}

// What a message file says, leniently: oa and da even from a file that does not parse.
struct Peek {
    std::optional<spool::Message> message;
    std::string oa, da;
    std::string error;
};
Peek peek(const std::string& path) {
    Peek p;
    std::string content = slurp(path);
    try {
        p.message = spool::parse(content);
        p.oa = p.message->oa;
        p.da = p.message->da;
        return p;
    } catch (const Error& e) {
        p.error = e.reason();
    }
    std::size_t pos = 0;
    while (pos < content.size()) {
        auto nl = content.find('\n', pos);
        std::string_view line(content.data() + pos,
                              (nl == std::string::npos ? content.size() : nl) - pos);
        if (line.size() > 3 && (line.starts_with("oa=") || line.starts_with("OA=")))
            p.oa = std::string(line.substr(3));
        if (line.size() > 3 && (line.starts_with("da=") || line.starts_with("DA=")))
            p.da = std::string(line.substr(3));
        if (nl == std::string::npos)
            break;
        pos = nl + 1;
    }
    if (!spool::valid_number(p.oa))
        p.oa.clear();
    if (!spool::valid_number(p.da))
        p.da.clear();
    return p;
}

// sms/morx/: held sets and messages waiting for retry.
void list_morx(const Config& cfg, std::vector<Item>& out) {
    struct Set {
        std::vector<std::pair<unsigned, Entry>> parts;
        spool::Message first;
        unsigned total = 0;
    };
    std::map<std::string, Set> sets;
    for (auto& e : entries(cfg.morx_dir())) {
        Peek p = peek(e.path);
        if (p.message) {
            if (auto c = p.message->concat(); c && c->total > 1) {
                std::string key = fmt::format("held/{}/{}/{}/{}/{}", p.oa, p.da, c->ref, c->total,
                                              c->ref16 ? 16 : 8);
                Set& s = sets[key];
                if (s.parts.empty())
                    s.first = *p.message;
                s.total = c->total;
                s.parts.emplace_back(c->seq, std::move(e));
                continue;
            }
        }
        Item it;
        it.id = make_id(e.name);
        it.state = "retry";
        it.files = {e.path};
        it.size = e.size;
        it.from = p.oa;
        it.to = p.da;
        it.since = e.mtime;
        if (auto r = state::read_retry(cfg, e.name)) {
            if (r->first_failure > 0)
                it.since = r->first_failure;
            it.reason = r->reason;
        }
        if (!p.message)
            it.reason = "does not parse (the next run quarantines it): " + p.error;
        it.next = it.since + cfg.general.retry_limit;
        out.push_back(std::move(it));
    }
    for (auto& [key, s] : sets) {
        std::sort(s.parts.begin(), s.parts.end(), [](const auto& a, const auto& b) {
            return a.first != b.first ? a.first < b.first : a.second.name < b.second.name;
        });
        Item it;
        it.id = make_id(key);
        it.state = "held";
        it.from = s.first.oa;
        it.to = s.first.da;
        it.since = s.parts.front().second.mtime;
        std::string there, missing;
        unsigned last = 0;
        for (const auto& [seq, e] : s.parts) {
            it.files.push_back(e.path);
            it.size += e.size;
            it.since = std::min(it.since, e.mtime);
            if (seq != last)
                there += (there.empty() ? "" : ",") + std::to_string(seq);
            last = seq;
        }
        for (unsigned q = 1; q <= s.total; ++q) {
            bool have = std::any_of(s.parts.begin(), s.parts.end(),
                                    [&](const auto& p) { return p.first == q; });
            if (!have)
                missing += (missing.empty() ? "" : ",") + std::to_string(q);
        }
        it.detail = fmt::format("parts {} of {}", there, s.total);
        it.reason = missing.empty() ? "complete: routed by the next run"
                                    : fmt::format("waiting for part {}", missing);
        it.next = it.since + cfg.general.reassembly_timeout;
        out.push_back(std::move(it));
    }
}

void list_dead(const std::string& dir, const char* state, std::vector<Item>& out) {
    for (auto& e : entries(dir, true)) {
        Peek p = peek(e.path);
        Item it;
        it.id = make_id(e.name);
        it.state = state;
        it.files = {e.path};
        it.size = e.size;
        it.from = p.oa;
        it.to = p.da;
        it.since = e.mtime;
        it.reason = state::read_note(e.path);
        out.push_back(std::move(it));
    }
}

// A call file's keys (last value wins) and Asterisk's retry lines.
struct CallInfo {
    std::map<std::string, std::string> keys;
    int attempts = 0; // EndRetry lines pbx_spool appended
};
CallInfo read_call(const std::string& path) {
    CallInfo c;
    std::string s = slurp(path, 16 * 1024);
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto nl = s.find('\n', pos);
        std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? s.size() : nl + 1;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        auto colon = line.find(':');
        if (line.empty() || line.front() == '#' || line.front() == ';' ||
            colon == std::string::npos)
            continue;
        std::string key = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        for (char& ch : key)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (key == "endretry")
            ++c.attempts;
        c.keys[key] = value;
    }
    return c;
}

std::string get(const CallInfo& c, const char* key) {
    auto it = c.keys.find(key);
    return it == c.keys.end() ? std::string() : it->second;
}

// sms/mttx/ and outgoing/.
void list_outgoing(const Config& cfg, std::int64_t now, std::vector<Item>& out) {
    auto calls = entries(cfg.outgoing_dir());
    std::map<std::string, const Entry*> call_by_name;
    for (const auto& c : calls)
        call_by_name[c.name] = &c;
    std::map<std::string, bool> queues_with_messages;
    for (auto& e : entries(cfg.mttx_dir())) {
        std::string queue = e.name.substr(0, e.name.find('.'));
        Peek p = peek(e.path);
        Item it;
        it.id = make_id(e.name);
        it.state = "queued";
        it.files = {e.path};
        it.size = e.size;
        it.from = p.oa;
        it.to = p.da.empty() ? queue : p.da;
        it.service = 'S';
        it.since = e.mtime;
        std::string call = state::delivery_call_name(queue);
        auto c = call_by_name.find(call);
        if (c != call_by_name.end()) {
            it.detail = "call pending";
            it.next = std::max(c->second->mtime, now);
        } else {
            it.detail = "no call";
            it.reason = "no delivery call pending: the next sms-process run queues one";
        }
        queues_with_messages[call] = true;
        out.push_back(std::move(it));
    }
    for (const auto& e : calls) {
        if (queues_with_messages.count(e.name))
            continue; // shown with its queue's messages
        CallInfo c = read_call(e.path);
        Item it;
        it.id = make_id(e.name);
        it.state = "call";
        it.files = {e.path};
        it.size = e.size;
        it.since = e.mtime;
        it.next = e.mtime;
        std::string app = get(c, "application");
        for (char& ch : app)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        it.service = app == "sendfax" ? 'F' : app == "playback" ? 'V' : app == "sms" ? 'S' : 0;
        std::string channel = get(c, "channel");
        it.to = channel.substr(channel.find('/') == std::string::npos ? 0 : channel.find('/') + 1);
        std::string cid = get(c, "callerid");
        if (auto lt = cid.find('<'); lt != std::string::npos)
            cid = cid.substr(lt + 1, cid.find('>', lt) - lt - 1);
        else if (auto sp = cid.rfind(' '); sp != std::string::npos)
            cid = cid.substr(sp + 1);
        it.from = cid;
        long max_retries = std::strtol(get(c, "maxretries").c_str(), nullptr, 10);
        long left = std::max(0L, max_retries + 1 - c.attempts);
        it.detail =
            fmt::format("{} attempt{} made, {} left", c.attempts, c.attempts == 1 ? "" : "s", left);
        // The suite's fax and voice calls run a context (SendFax and Playback, then the h
        // extension's hand-over); SMS delivery calls run SMS() directly.
        it.reason =
            get(c, "application").empty()
                ? fmt::format("context {} on {}", get(c, "context"), channel)
                : fmt::format("{} {} on {}", get(c, "application"), get(c, "data"), channel);
        out.push_back(std::move(it));
    }
}

// Deliveries awaiting the far end (SPEC 2.11), as items of state "lasthop": SMS until app_sms's
// log shows the phone took them, faxes and voice messages until their call's result is known,
// SIP messages until their contact stayed reachable for a qualify round.
void list_lasthop(const Config& cfg, std::int64_t now, std::vector<Item>& out) {
    for (const auto& h : lasthop::list(cfg)) {
        if (h.kind != 'S')
            continue;
        // Still in sms/mttx/: listed there, as queued.
        if (fs::exists(fs::join(cfg.mttx_dir(), h.get("file"))))
            continue;
        Item it;
        it.id = make_id(h.name());
        it.state = "lasthop";
        it.files = {fs::join(lasthop::dir(cfg), h.name())};
        it.size = h.get("body").size() / 2; // hex
        it.from = h.get("oa");
        it.to = h.get("da");
        it.service = 'S';
        it.since = h.first;
        it.next = h.next > now ? h.next : 0;
        it.reason = "taken by app_sms, waiting for its line in app_sms's log";
        it.detail = fmt::format("attempt {} of {}, mr {}", h.attempts, cfg.delivery.max_attempts,
                                h.get("mr"));
        out.push_back(std::move(it));
    }
    for (const auto& c : lasthop_call::list(cfg, now)) {
        const auto& r = c.record;
        Item it;
        it.id = make_id(r.stem);
        it.state = "lasthop";
        it.files = {fs::join(lasthop_call::calls_dir(cfg), r.stem), r.file};
        if (!c.call.empty())
            it.files.push_back(c.call);
        struct stat st {};
        if (::stat(r.file.c_str(), &st) == 0)
            it.size = static_cast<std::uint64_t>(st.st_size);
        it.from = r.oa;
        it.to = r.da;
        it.service = r.service;
        it.since = r.first;
        it.next = r.due > now ? r.due : 0;
        const int max = r.service == 'F' ? cfg.fax.max_attempts : cfg.voice.max_attempts;
        it.detail = fmt::format("attempt {} of {}", r.attempt, max);
        if (c.judgement.verdict == lasthop_call::Verdict::waiting)
            it.reason =
                c.call.empty() ? "call made, waiting for its result" : "call waiting in outgoing/";
        else if (c.judgement.verdict == lasthop_call::Verdict::delivered)
            it.reason = "delivered; settled at the next run";
        else
            it.reason = "failed: " + c.judgement.reason + "; settled at the next run";
        if (!r.last_error.empty())
            it.reason += " (last attempt: " + r.last_error + ")";
        out.push_back(std::move(it));
    }
    for (const auto& s : lasthop_sip::list(cfg)) {
        Item it;
        const auto name = lasthop_sip::item_of(s).name();
        it.id = make_id(name);
        it.state = "lasthop";
        it.files = {fs::join(lasthop::dir(cfg), name)};
        it.size = s.text.size();
        it.from = s.oa;
        it.to = s.da;
        it.service = 'T';
        it.since = s.sent;
        it.next = s.sent + s.round;
        it.detail = fmt::format("part {} of {}", s.part, s.parts);
        it.reason = fmt::format("sent; delivered once its contact stayed reachable for a qualify "
                                "round ({} s), else sent again",
                                s.round);
        out.push_back(std::move(it));
    }
}

std::string age_text(std::int64_t secs) {
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        return fmt::format("{}s", secs);
    if (secs < 2 * 3600)
        return fmt::format("{}m", secs / 60);
    if (secs < 2 * 86400)
        return fmt::format("{}h", secs / 3600);
    return fmt::format("{}d", secs / 86400);
}

std::string when_text(std::int64_t t, std::int64_t now) {
    if (t <= 0)
        return "-";
    std::string local = spool::format_scts(t);
    local[10] = ' ';
    return t >= now ? fmt::format("{} (in {})", local, age_text(t - now))
                    : fmt::format("{} ({} ago)", local, age_text(now - t));
}

// The file descriptor of an item's file, locked without waiting; Error(tempfail) when another
// run holds it, nullopt when it is gone.
std::optional<fs::Lock> lock_file(const std::string& path, const std::string& id) {
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT)
            throw Error(Exit::tempfail, id,
                        fmt::format("{}: gone meanwhile (taken by a run)", path));
        throw_errno(Exit::noperm, path, errno);
    }
    auto l = fs::Lock::try_acquire(std::move(fd));
    if (!l)
        throw Error(Exit::tempfail, id,
                    fmt::format("{} is held by a running sms-process; try again", path));
    struct stat st, by_name;
    if (::fstat(l->fd(), &st) != 0 || st.st_nlink == 0 || ::lstat(path.c_str(), &by_name) != 0 ||
        by_name.st_ino != st.st_ino)
        throw Error(Exit::tempfail, id, fmt::format("{}: taken by a run meanwhile", path));
    return l;
}

// The reassembly lock every run takes to form sets, tried for up to two seconds.
std::optional<fs::Lock> lock_reassembly(const Config& cfg, const std::string& id) {
    if (!fs::is_dir(state::root(cfg)))
        return std::nullopt; // no run ever started here
    const std::string path = state::reassembly_lock(cfg);
    for (int i = 0; i < 20; ++i) {
        if (auto l = fs::Lock::try_acquire(path))
            return l;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(Exit::tempfail, id, "a running sms-process holds the reassembly lock; try again");
}

void set_mtime(int fd, std::int64_t t, const std::string& path) {
    struct timespec ts[2];
    ts[0].tv_sec = static_cast<time_t>(t);
    ts[0].tv_nsec = 0;
    ts[1] = ts[0];
    if (::futimens(fd, ts) != 0)
        throw_errno(Exit::noperm, path, errno);
}

void unlink_quiet(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw_errno(Exit::noperm, path, errno);
}

std::string base_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string dir_name(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

} // namespace

std::vector<Item> list(const Config& cfg, std::int64_t now) {
    std::vector<Item> out;
    list_morx(cfg, out);
    list_dead(cfg.failed_dir(), "failed", out);
    list_dead(cfg.bad_dir(), "bad", out);
    list_outgoing(cfg, now, out);
    list_lasthop(cfg, now, out);
    // One row per delivery: a call file the last hop tracks is shown with its lasthop item.
    std::set<std::string> tracked;
    for (const auto& i : out)
        if (i.state == "lasthop")
            tracked.insert(i.files.begin(), i.files.end());
    std::erase_if(out, [&](const Item& i) {
        return i.state == "call" && tracked.count(i.files.front()) != 0;
    });
    std::stable_sort(out.begin(), out.end(), [](const Item& a, const Item& b) {
        int ra = state_rank(a.state), rb = state_rank(b.state);
        if (ra != rb)
            return ra < rb;
        if (a.since != b.since)
            return a.since < b.since;
        return a.id < b.id;
    });
    return out;
}

std::vector<Item> filter(std::vector<Item> items, const std::string& state, const std::string& from,
                         const std::string& to) {
    std::erase_if(items, [&](const Item& it) {
        return (!state.empty() && it.state != state) || (!from.empty() && it.from != from) ||
               (!to.empty() && it.to != to);
    });
    return items;
}

Summary summarize(const std::vector<Item>& items) {
    Summary s;
    for (const char* st : states) {
        std::size_t n = 0;
        for (const auto& it : items)
            n += it.state == st;
        if (n)
            s.by_state.emplace_back(st, n);
    }
    s.items = items.size();
    for (const auto& it : items)
        s.bytes += it.size;
    return s;
}

std::string format_line(const Item& it, std::int64_t now) {
    std::string note = it.detail;
    if (!it.reason.empty())
        note += (note.empty() ? "" : ": ") + one_line(it.reason);
    if (note.empty())
        note = "-";
    return fmt::format("{}  {:>4} {:>7}  {} -> {}  {}  {:<6}  {}", it.id, age_text(now - it.since),
                       it.size, it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
                       it.service ? it.service : '-', it.state, note);
}

std::string format_json(const Item& it, std::int64_t now) {
    std::string files;
    for (const auto& f : it.files)
        files += (files.empty() ? "" : ",") + json::quote(f);
    auto opt = [](const std::string& s) {
        return s.empty() ? std::string("null") : json::quote(s);
    };
    return fmt::format("{{\"id\":{},\"state\":{},\"files\":[{}],\"since\":{},\"next\":{},"
                       "\"age\":{},\"size\":{},\"from\":{},\"to\":{},\"service\":{},"
                       "\"detail\":{},\"reason\":{}}}",
                       json::quote(it.id), json::quote(it.state), files, it.since,
                       it.next ? std::to_string(it.next) : "null",
                       std::max<std::int64_t>(0, now - it.since), it.size, opt(it.from), opt(it.to),
                       it.service ? json::quote(std::string(1, it.service)) : "null",
                       opt(it.detail), opt(it.reason));
}

std::string format_summary(const Summary& s) {
    std::string parts;
    for (const auto& [st, n] : s.by_state)
        parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, st);
    std::string out = fmt::format("-- {} item{}, {} bytes{}{}", s.items, s.items == 1 ? "" : "s",
                                  s.bytes, parts.empty() ? "" : ": ", parts);
    if (!s.received_first.empty())
        out += fmt::format("\nwarning: app_sms's log holds the texts of received messages (first "
                           "{}, last {}): anyone who sends the SMS centre a text can write lines "
                           "into it; give the centre's SMS() the option n "
                           "(SMS(${{CALLERID(num)}},san), see examples/extensions.conf)",
                           s.received_first, s.received_last);
    return out;
}

std::string format_summary_json(const Summary& s) {
    std::string out = fmt::format("{{\"summary\":{{\"items\":{},\"bytes\":{}", s.items, s.bytes);
    for (const char* st : states) {
        std::size_t n = 0;
        for (const auto& [name, count] : s.by_state)
            if (name == st)
                n = count;
        out += fmt::format(",\"{}\":{}", st, n);
    }
    if (!s.received_first.empty())
        out += fmt::format(",\"received_texts\":{{\"first\":{},\"last\":{}}}",
                           json::quote(s.received_first), json::quote(s.received_last));
    return out + "}}";
}

std::optional<Item> find(const std::vector<Item>& items, const std::string& id) {
    std::optional<Item> found;
    for (const auto& it : items) {
        if (strcasecmp(it.id.c_str(), id.c_str()) != 0)
            continue;
        if (found)
            throw Error(Exit::dataerr, id,
                        fmt::format("two items have this ID ({} and {}): act on the files by hand",
                                    found->files.front(), it.files.front()));
        found = it;
    }
    return found;
}

std::string show(const Config& cfg, const Item& it, std::int64_t now) {
    std::string out = fmt::format("id:       {}\nstate:    {}\n", it.id, it.state);
    out += fmt::format("from:     {}\nto:       {}\n", it.from.empty() ? "-" : it.from,
                       it.to.empty() ? "-" : it.to);
    if (it.service)
        out += fmt::format("service:  {}\n", it.service);
    out += fmt::format("since:    {}\n", when_text(it.since, now));
    out += fmt::format("size:     {} bytes\n", it.size);
    if (!it.detail.empty())
        out += fmt::format("detail:   {}\n", it.detail);
    out += fmt::format("reason:   {}\n", it.reason.empty() ? "-" : one_line(it.reason));
    std::string next;
    if (it.state == "held")
        next = fmt::format("routed as one message when the missing parts arrive, else as "
                           "incomplete after {} ('sms-queue retry {}' releases it now)",
                           when_text(it.next, now), it.id);
    else if (it.state == "retry")
        next = fmt::format("tried again by every sms-process run; dead-lettered after {}",
                           when_text(it.next, now));
    else if (it.state == "failed" || it.state == "bad")
        next = fmt::format("nothing: it stays until 'sms-queue retry {0}' (after a fix) or "
                           "'sms-queue delete {0}'",
                           it.id);
    else if (it.state == "queued")
        next = it.detail == "call pending"
                   ? "Asterisk delivers it with the pending call (app_sms SMS() in the phone's "
                     "queue)"
                   : "the next sms-process run queues a delivery call for it";
    else if (it.state == "call")
        next = fmt::format("Asterisk dials at {} ({})", when_text(it.next, now), it.detail);
    else if (it.state == "lasthop" && it.service == 'T')
        next = fmt::format("the first sms-process run after {} asks the manager: delivered "
                           "while the same registration is reachable, else sent again",
                           when_text(it.next, now));
    out += fmt::format("next:     {}\n", next);
    for (const auto& f : it.files) {
        out += fmt::format("\nfile:     {}\n", f);
        std::string content = slurp(f);
        if (it.state == "lasthop" && it.service == 'T') {
            auto item = lasthop::parse(content);
            if (auto s = item ? lasthop_sip::sent_of(*item) : std::nullopt) {
                out += fmt::format("scts:     {}\ntext:     {}\n", s->scts, one_line(s->text));
                for (const auto& c : s->contacts)
                    out += fmt::format("contact:  {}\n", one_line(c));
                continue;
            }
        }
        if (it.state != "call") {
            try {
                auto m = spool::parse(content);
                if (auto c = m.concat())
                    out += fmt::format("part:     {} of {} (reference {})\n", c->seq, c->total,
                                       c->ref);
                if (!m.scts.empty())
                    out += fmt::format("scts:     {}\n", m.scts);
                out += fmt::format("text:     {}\n", one_line(m.text));
                continue;
            } catch (const Error& e) {
                out += fmt::format("(does not parse: {})\n", e.reason());
            }
        }
        out += content;
        if (!content.empty() && content.back() != '\n')
            out += "\n";
    }
    (void)cfg;
    return out;
}

bool retryable(const Item& it) {
    return it.state == "failed" || it.state == "bad" || it.state == "held" || it.state == "retry";
}

std::string retry(const Config& cfg, const Item& it, std::int64_t now) {
    if (!retryable(it))
        throw Error(
            Exit::dataerr, it.id,
            fmt::format("a {} item cannot be retried (only failed, bad, held, retry)", it.state));
    if (it.state == "held") {
        auto big = lock_reassembly(cfg, it.id);
        std::vector<fs::Lock> locks;
        for (const auto& f : it.files)
            locks.push_back(std::move(*lock_file(f, it.id)));
        std::int64_t past = now - cfg.general.reassembly_timeout - 1;
        for (std::size_t i = 0; i < locks.size(); ++i)
            set_mtime(locks[i].fd(), past, it.files[i]);
        std::string done = fmt::format("{}: held set of {} part(s) released: the next "
                                       "sms-process run routes it as incomplete",
                                       it.id, it.files.size());
        log::notice("{}", done);
        return done;
    }
    const std::string& path = it.files.front();
    std::string name = base_name(path);
    auto lock = lock_file(path, it.id);
    set_mtime(lock->fd(), now, path);
    if (it.state == "retry") {
        unlink_quiet(state::retry_path(cfg, name));
        std::string done = fmt::format("{}: {}: retry clock reset", it.id, path);
        log::notice("{}", done);
        return done;
    }
    std::string to = fs::join(cfg.morx_dir(), name);
    if (!fs::rename_noreplace(path, to))
        throw Error(Exit::cantcreat, it.id,
                    fmt::format("{} exists already in sms/morx/; nothing moved", name));
    fs::fsync_dir(cfg.morx_dir());
    fs::fsync_dir(dir_name(path));
    unlink_quiet(state::note_name(path));
    unlink_quiet(state::retry_path(cfg, name));
    std::string done = fmt::format("{}: {} back to sms/morx/ for the next run", it.id, path);
    log::notice("{}", done);
    return done;
}

namespace {

// The settle lock both last-hop settlers take, tried for up to two seconds.
std::optional<fs::Lock> lock_settling(const Config& cfg, const std::string& id) {
    const std::string dir = lasthop::dir(cfg);
    if (!fs::is_dir(dir))
        return std::nullopt; // nothing was ever remembered
    for (int i = 0; i < 20; ++i) {
        if (auto l = fs::Lock::try_acquire(state::settle_lock(cfg)))
            return l;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Error(Exit::tempfail, id, "a running sms-process is settling deliveries; try again");
}

// The phone's delivery call in outgoing/ when no message but `except` waits for it in
// sms/mttx/ and Asterisk has not started it: it would dial for nothing.
std::optional<std::string> idle_call(const Config& cfg, const std::string& queue,
                                     const std::string& except) {
    if (fs::is_dir(cfg.mttx_dir()))
        for (const auto& name : fs::list_regular(cfg.mttx_dir()))
            if (name != except && name.starts_with(queue + "."))
                return std::nullopt;
    const std::string call = fs::join(cfg.outgoing_dir(), state::delivery_call_name(queue));
    std::string text;
    try {
        text = fs::read_file(call, 1 << 20);
    } catch (const Error&) {
        return std::nullopt;
    }
    if (text.find("StartRetry:") != std::string::npos)
        return std::nullopt;
    return call;
}

// Every file of a delivery the suite still holds: the queue file and its last-hop item (one
// link of the same file), or a fax or voice record with its TIFF or WAV, its call file while
// Asterisk has not started it, and its results. A call Asterisk is placing is refused.
std::vector<std::string> traces(const Config& cfg, const Item& it) {
    std::vector<std::string> paths;
    if (it.state == "queued") {
        const std::string& q = it.files.front();
        lock_file(q, it.id); // still there, not taken by app_sms meanwhile
        paths.push_back(q);
        for (const auto& h : lasthop::list(cfg))
            if (h.kind == 'S' && h.get("file") == base_name(q))
                paths.push_back(fs::join(lasthop::dir(cfg), h.name()));
        if (auto call =
                idle_call(cfg, base_name(q).substr(0, base_name(q).find('.')), base_name(q)))
            paths.push_back(*call);
        return paths;
    }
    if (it.service == 'T') // a SIP part waiting for its confirmation: its item alone
        return it.files;
    if (it.service == 'S') { // a last-hop SMS taken by app_sms: its item
        paths = it.files;
        for (const auto& h : lasthop::list(cfg))
            if (h.kind == 'S' && fs::join(lasthop::dir(cfg), h.name()) == paths.front())
                if (auto call = idle_call(cfg, h.queue, ""))
                    paths.push_back(*call);
        return paths;
    }
    // A fax or voice record: record, TIFF or WAV, then the call file when one waits.
    paths = it.files;
    if (paths.size() > 2) {
        std::string call;
        try {
            call = fs::read_file(paths[2], 1 << 20);
        } catch (const Error&) {
        }
        if (call.find("StartRetry:") != std::string::npos)
            throw Error(Exit::tempfail, it.id,
                        fmt::format("{}: Asterisk is placing this call; try again when it ended",
                                    paths[2]));
    }
    const std::string stem = base_name(paths.front());
    const std::string results = lasthop_call::results_dir(cfg);
    for (const auto& name :
         fs::is_dir(results) ? fs::list_regular(results) : std::vector<std::string>{})
        if (name.starts_with(stem + "."))
            paths.push_back(fs::join(results, name));
    return paths;
}

} // namespace

std::string remove(const Config& cfg, const Item& it) {
    if (it.state == "queued" || it.state == "lasthop") {
        // Every trace in one journal transaction, under the settlers' lock: a run killed at any
        // instant leaves all of it or none, and no settler re-queues what is being deleted.
        auto settling = lock_settling(cfg, it.id);
        const auto paths = traces(cfg, it);
        std::vector<journal::Input> inputs;
        for (const auto& p : paths)
            inputs.push_back({p, ""});
        journal::Journal j(state::journal_dir(cfg));
        j.stage(fmt::format("delete.{}", it.id), {}, inputs);
        j.commit_all();
        std::string done = fmt::format(
            "{}: deleted {} {} ({} -> {}: {})", it.id, it.state,
            paths.size() == 1 ? paths.front()
                              : fmt::format("{} ({} files)", paths.front(), paths.size()),
            it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
            it.reason.empty() ? "-" : one_line(it.reason));
        log::notice("{}", done);
        return done;
    }
    std::optional<fs::Lock> big;
    if (it.state == "held")
        big = lock_reassembly(cfg, it.id);
    std::vector<fs::Lock> locks;
    bool locked =
        it.state == "held" || it.state == "retry" || it.state == "failed" || it.state == "bad";
    if (locked)
        for (const auto& f : it.files)
            locks.push_back(std::move(*lock_file(f, it.id)));
    for (const auto& f : it.files) {
        unlink_quiet(f);
        if (it.state == "failed" || it.state == "bad")
            unlink_quiet(state::note_name(f));
        if (it.state == "held" || it.state == "retry")
            unlink_quiet(state::retry_path(cfg, base_name(f)));
    }
    fs::fsync_dir(dir_name(it.files.front()));
    std::string done = fmt::format(
        "{}: deleted {} {} ({} -> {}: {})", it.id, it.state,
        it.files.size() == 1 ? it.files.front() : fmt::format("set of {} parts", it.files.size()),
        it.from.empty() ? "-" : it.from, it.to.empty() ? "-" : it.to,
        it.reason.empty() ? "-" : one_line(it.reason));
    log::notice("{}", done);
    return done;
}

int run(Config cfg, const Options& o, std::FILE* out) {
    if (o.spool)
        cfg.general.spool_dir = *o.spool;
    if (!fs::is_dir(cfg.general.spool_dir))
        throw Error(Exit::config, cfg.general.spool_dir, "spool folder does not exist");
    std::string cmd = o.args.empty() ? "list" : o.args.front();
    std::vector<std::string> ids(o.args.empty() ? o.args.end() : o.args.begin() + 1, o.args.end());
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (!o.state.empty() && state_rank(o.state) >= static_cast<int>(std::size(states)))
        throw Error(Exit::usage, "-s",
                    fmt::format("'{}' is not a state (held retry failed bad queued call "
                                "lasthop)",
                                o.state));
    bool listing_opts = o.json || !o.state.empty() || !o.from.empty() || !o.to.empty();
    if (cmd != "list" && listing_opts)
        throw Error(Exit::usage, cmd, "--json, -s, --from and --to go with list only");
    if (o.failed && cmd != "retry")
        throw Error(Exit::usage, "--failed", "goes with retry only");
    if (o.yes && cmd != "delete")
        throw Error(Exit::usage, "-y", "goes with delete only");

    if (cmd == "list") {
        if (!ids.empty())
            throw Error(Exit::usage, "list", "takes no arguments");
        auto items = filter(list(cfg, now), o.state, o.from, o.to);
        std::string text;
        for (const auto& it : items)
            text += (o.json ? format_json(it, now) : format_line(it, now)) + "\n";
        auto s = summarize(items);
        if (auto r = lasthop::received_texts(cfg)) {
            s.received_first = r->first;
            s.received_last = r->last;
        }
        text += (o.json ? format_summary_json(s) : format_summary(s)) + "\n";
        std::fwrite(text.data(), 1, text.size(), out);
        return 0;
    }
    if (cmd == "show") {
        if (ids.size() != 1)
            throw Error(Exit::usage, "show", "takes one ID");
        auto it = find(list(cfg, now), ids.front());
        if (!it)
            throw Error(Exit::noinput, ids.front(), "no such item (see sms-queue list)");
        std::string text = show(cfg, *it, now);
        std::fwrite(text.data(), 1, text.size(), out);
        return 0;
    }
    if (cmd != "retry" && cmd != "delete")
        throw Error(Exit::usage, cmd, "unknown command (list, show, retry, delete)");
    auto all = list(cfg, now);
    std::vector<Item> targets;
    if (o.failed) {
        if (!ids.empty())
            throw Error(Exit::usage, "--failed", "takes no IDs");
        targets = filter(all, "failed", "", "");
    } else {
        if (ids.empty())
            throw Error(Exit::usage, cmd, "give one ID or more (see sms-queue list)");
        for (const auto& id : ids) {
            auto it = find(all, id);
            if (!it)
                throw Error(Exit::noinput, id, "no such item (see sms-queue list); nothing done");
            if (cmd == "retry" && !retryable(*it))
                throw Error(Exit::dataerr, id,
                            fmt::format("a {} item cannot be retried (only failed, bad, held, "
                                        "retry); nothing done",
                                        it->state));
            targets.push_back(*it);
        }
    }
    if (cmd == "delete" && !o.yes) {
        if (!::isatty(0))
            throw Error(Exit::usage, "delete",
                        "not on a terminal: give -y to delete without asking");
        for (const auto& it : targets)
            fmt::print(stderr, "{}\n", format_line(it, now));
        fmt::print(stderr, "Delete {} item{}? [y/N] ", targets.size(),
                   targets.size() == 1 ? "" : "s");
        std::fflush(stderr);
        char answer[16] = "";
        if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
            fmt::print(stderr, "nothing deleted\n");
            return code(Exit::failure);
        }
    }
    int rc = 0;
    for (const auto& it : targets) {
        try {
            std::string done = cmd == "retry" ? retry(cfg, it, now) : remove(cfg, it);
            fmt::print(out, "{}\n", done);
        } catch (const Error& e) {
            fmt::print(stderr, "sms-queue: error: {}\n", e.what());
            log::write(log::Level::error, e.what(), false);
            if (rc == 0 || e.exit() == Exit::tempfail)
                rc = code(e.exit());
        }
    }
    return rc;
}

} // namespace sms::queue
