// sms-queue's listing: every item the suite holds, read from the spool and the state folder,
// by state, with a stable ID each.
#include "asterisk/spool.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_call.hpp"
#include "lasthop/lasthop_sip.hpp"
#include "queue/queue_internal.hpp"
#include "state/layout.hpp"
#include "state/notes.hpp"
#include "state/retry.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/hash.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace sms::queue {

using namespace detail;

int detail::state_rank(const std::string& s) {
    for (int i = 0; i < static_cast<int>(std::size(states)); ++i)
        if (s == states[i])
            return i;
    return static_cast<int>(std::size(states));
}

// A small file's text ("" when unreadable).
std::string detail::slurp(const std::string& path, std::size_t max) {
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

namespace {

std::string make_id(std::string_view key) {
    return fmt::format("{:010X}", hash::fnv1a64(key) & 0xFFFFFFFFFFull);
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

} // namespace sms::queue
