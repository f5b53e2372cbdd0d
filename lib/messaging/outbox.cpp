// Queueing SMS for landline phones as smsq --mt --tx does: mttx queue files, one delivery call.
#include "messaging/outbox.hpp"

#include "asterisk/callfile.hpp"
#include "asterisk/gsm.hpp"
#include "asterisk/spool.hpp"
#include "core/calls.hpp"
#include "lasthop/lasthop.hpp"
#include "state/layout.hpp"
#include "translit/translit.hpp"
#include "util/error.hpp"
#include "util/hash.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <random>
#include <unistd.h>

namespace sms::outbox {

namespace {

// A concatenated message holds at most 255 parts (one octet for "total").
constexpr int hard_max_parts = 255;

void check_number(std::string_view what, const std::string& n) {
    if (!spool::valid_number(n)) {
        std::string shown; // one line, whatever the input holds
        for (char c : n) {
            auto u = static_cast<unsigned char>(c);
            shown += u < 0x20 || u == 0x7F ? fmt::format("\\x{:02X}", u) : std::string(1, c);
        }
        throw Error(
            Exit::dataerr, std::string(what),
            fmt::format("'{}' is not a number (digits with an optional leading '+')", shown));
    }
}

// The hash of a and b with a NUL between them.
std::uint32_t fnv1a(std::string_view a, std::string_view b) {
    return hash::fnv1a32(b, hash::fnv1a32(std::string_view("\0", 1), hash::fnv1a32(a)));
}

std::string udh_hex(unsigned ref, unsigned total, unsigned seq, bool ref16) {
    spool::Concat c;
    c.ref = ref;
    c.total = total;
    c.seq = seq;
    c.ref16 = ref16;
    spool::InformationElement ie = spool::concat_element(c);
    std::vector<std::uint8_t> bytes{ie.id, static_cast<std::uint8_t>(ie.data.size())};
    bytes.insert(bytes.end(), ie.data.begin(), ie.data.end());
    return gsm::hex(bytes);
}

std::vector<spool::InformationElement> parse_udh(const std::string& hex) {
    auto nib = [&](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        throw Error(Exit::software, "udh", fmt::format("bad hex '{}'", hex));
    };
    std::vector<std::uint8_t> b;
    if (hex.size() % 2) {
        throw Error(Exit::software, "udh", fmt::format("odd hex '{}'", hex));
    }
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        b.push_back(static_cast<std::uint8_t>(nib(hex[i]) * 16 + nib(hex[i + 1])));
    }
    std::vector<spool::InformationElement> out;
    for (std::size_t i = 0; i < b.size();) {
        if (i + 2 > b.size() || i + 2 + b[i + 1] > b.size()) {
            throw Error(Exit::software, "udh", fmt::format("truncated element in '{}'", hex));
        }
        spool::InformationElement ie;
        ie.id = b[i];
        ie.data.assign(b.begin() + static_cast<std::ptrdiff_t>(i + 2),
                       b.begin() + static_cast<std::ptrdiff_t>(i + 2 + b[i + 1]));
        out.push_back(std::move(ie));
        i += 2 + b[i + 1];
    }
    return out;
}

void check_stem(const std::string& stem) {
    bool ok = !stem.empty() && stem.size() <= 100;
    for (char c : stem) {
        bool allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       c == '.' || c == '-' || c == '_';
        ok = ok && allowed;
    }
    if (!ok) {
        throw Error(Exit::software, fmt::format("stem '{}'", stem),
                    "must be 1-100 letters, digits, '.', '-' or '_'");
    }
}

} // namespace

std::string queue_name(std::string_view da) {
    std::string q(da);
    for (char& c : q) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum) {
            c = '-';
        }
    }
    return q;
}

std::string call_file_name(std::string_view queue) {
    return state::delivery_call_name(queue);
}

std::string unique_stem() {
    static std::atomic<unsigned> counter{0};
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return fmt::format("{}.{:09}-{}-{}", ns / 1000000000, ns % 1000000000, ::getpid(), counter++);
}

std::vector<Part> split(const Config& cfg, const Request& req) {
    if (!(req.unknown_sender && req.oa.empty()))
        check_number("oa", req.oa);
    check_number("da", req.da);
    std::size_t bad_at = 0;
    if (!utf8::decode(req.text, false, &bad_at)) {
        throw Error(Exit::dataerr, "text", fmt::format("not valid UTF-8 (at byte {})", bad_at));
    }
    // Compose first (NFD "e" + accent is GSM once composed); transliterate only by policy.
    std::string text = cfg.general.unicode == UnicodePolicy::transliterate
                           ? translit::to_gsm(req.text)
                           : translit::nfc(req.text);
    std::u32string cps = utf8::decode(text).value_or(U"");
    gsm::Encoding enc = gsm::choose_encoding(cps);
    // concatenate = no: an administrator who turns concatenation off has phones that cannot
    // reassemble (they would show the header as garbage), yet still wants the whole text, never
    // a cut one: so a long text goes as several plain SMS, each as long as one SMS can be.
    const bool concat = cfg.general.concatenate;
    auto pieces = gsm::split(cps, enc, req.ref16, concat);
    const int max_parts = std::min(cfg.general.max_parts, hard_max_parts);
    if (static_cast<int>(pieces.size()) > max_parts) {
        throw Error(Exit::dataerr, "text",
                    fmt::format("needs {} SMS ({} {}), more than [general] max_parts = {}",
                                pieces.size(), gsm::cost(cps, enc),
                                enc == gsm::Encoding::gsm7 ? "GSM 7-bit septets" : "UCS-2 units",
                                max_parts));
    }
    const unsigned total = static_cast<unsigned>(pieces.size());
    const bool with_udh = concat && total > 1;
    unsigned ref = 0;
    if (with_udh) {
        ref = req.ref ? *req.ref : fnv1a(req.da, text);
        ref &= req.ref16 ? 0xFFFFu : 0xFFu;
    }
    std::vector<Part> parts;
    for (unsigned i = 0; i < total; ++i) {
        Part p;
        p.part = static_cast<int>(i + 1);
        p.parts = static_cast<int>(total);
        p.dcs = enc == gsm::Encoding::gsm7 ? 0 : 8;
        if (with_udh) {
            p.udh = udh_hex(ref, total, i + 1, req.ref16);
        }
        p.septets = enc == gsm::Encoding::gsm7 ? gsm::count_septets(pieces[i]) : 0;
        p.units = gsm::count_units(pieces[i]);
        p.text = utf8::encode(pieces[i]);
        parts.push_back(std::move(p));
    }
    return parts;
}

void Batch::close() {
    mark.reset();
    call_pending.clear();
    calls.clear();
    mr.release();
}

namespace {

// Where app_sms's log ends now: the lines about the messages queued now come after it. (Once per
// batch: the batch's files appear together, after it.)
smslog::Mark log_mark(const Config& cfg, Batch* batch) {
    if (!batch)
        return smslog::mark_now(cfg.sms.log);
    if (!batch->mark)
        batch->mark = smslog::mark_now(cfg.sms.log);
    return *batch->mark;
}

// Whether the delivery call of `da`'s queue is pending. Looked at once per batch: a call that
// ends meanwhile is the sweep's, as one that ends just after a lone message looked.
bool pending_call(const Config& cfg, const std::string& da, const std::string& queue,
                  Batch* batch) {
    if (!batch)
        return call_pending(cfg, da);
    if (auto it = batch->call_pending.find(queue); it != batch->call_pending.end())
        return it->second;
    const bool pending = call_pending(cfg, da);
    batch->call_pending.emplace(queue, pending);
    return pending;
}

} // namespace

std::vector<fs::PlannedFile> plan(const Config& cfg, const Request& req,
                                  const std::vector<Part>& parts, const std::string& stem,
                                  Batch* batch) {
    if (!(req.unknown_sender && req.oa.empty()))
        check_number("oa", req.oa);
    check_number("da", req.da);
    check_stem(stem);
    const std::string queue = queue_name(req.da);
    const std::string scts = req.scts.empty()
                                 ? spool::format_scts(static_cast<std::int64_t>(std::time(nullptr)))
                                 : req.scts;
    std::vector<fs::PlannedFile> files;
    spool::WriteStyle style;
    style.text = spool::TextStyle::ucs2; // ud= lines are misread by current app_sms
    style.with_da = true;
    const smslog::Mark mark = req.track ? log_mark(cfg, batch) : smslog::Mark{};
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (const Part& p : parts) {
        spool::Message m;
        m.oa = req.oa;
        m.da = req.da;
        m.scts = scts;
        m.text = p.text;
        m.dcs = p.dcs; // explicit: without it app_sms sends Latin-1 as 8-bit data
        if (!p.udh.empty()) {
            m.udh = parse_udh(p.udh);
        }
        m.srr = req.srr;
        fs::PlannedFile f;
        f.dir = cfg.mttx_dir();
        f.name = fmt::format("{}.{}-{}", queue, stem, p.part);
        f.mode = 0644;
        f.replace = false;
        if (!req.track) {
            f.content = spool::serialize(m, style);
            files.push_back(std::move(f));
            continue;
        }
        std::string id;
        if (batch) {
            auto [mr, given] = batch->mr.allocate(queue, f.name);
            m.mr = static_cast<int>(mr);
            id = std::move(given);
        } else {
            m.mr = static_cast<int>(lasthop::allocate_mr(cfg, queue));
        }
        // The queue file carries its item in comment lines, so that the item's file is the
        // queue file again: the journal links it instead of writing a second file.
        fs::PlannedFile record = lasthop::plan_sms(cfg, m, queue, f.name, req.channel, req.notify,
                                                   spool::serialize(m, style), mark, now, id);
        f.content = record.content;
        record.mode = f.mode;
        record.same_as = fs::join(f.dir, f.name);
        files.push_back(std::move(f));
        files.push_back(std::move(record));
    }
    if (req.dial) {
        // Built (and so validated) even when a call is pending: a bad channel is refused the
        // same way whether or not this message happens to need a new call. Once a batch per
        // queue and channel.
        auto build = [&] {
            return callfile::plan(cfg.general.spool_dir, call_file_name(queue),
                                  callfile::sms_delivery(cfg, req.channel, queue));
        };
        fs::PlannedFile call;
        if (batch) {
            auto [it, fresh] = batch->calls.try_emplace(queue + '\n' + req.channel);
            if (fresh)
                it->second = build();
            call = it->second;
        } else {
            call = build();
        }
        if (!pending_call(cfg, req.da, queue, batch))
            files.push_back(std::move(call));
    }
    return files;
}

fs::PlannedFile delivery_call(const Config& cfg, const std::string& da,
                              const std::string& channel) {
    check_number("da", da);
    const std::string queue = queue_name(da);
    return callfile::plan(cfg.general.spool_dir, call_file_name(queue),
                          callfile::sms_delivery(cfg, channel, queue));
}

std::vector<WaitingQueue> queues_without_call(const Config& cfg) {
    std::vector<WaitingQueue> out;
    if (!fs::is_dir(cfg.mttx_dir())) {
        return out;
    }
    for (const std::string& name : fs::list_regular(cfg.mttx_dir())) {
        auto dot = name.find('.');
        if (dot == std::string::npos || dot == 0) {
            continue; // app_sms would not read it either
        }
        std::string queue = name.substr(0, dot);
        if (!out.empty() && out.back().queue == queue) {
            if (out.back().da.empty()) {
                try {
                    out.back().da = spool::read(fs::join(cfg.mttx_dir(), name)).da;
                } catch (const Error&) {
                }
            }
            continue;
        }
        if (fs::exists(fs::join(cfg.outgoing_dir(), call_file_name(queue)))) {
            continue;
        }
        WaitingQueue w;
        w.queue = queue;
        try {
            w.da = spool::read(fs::join(cfg.mttx_dir(), name)).da;
        } catch (const Error&) {
            // Unreadable or taken by app_sms meanwhile: another file of the queue may tell.
        }
        out.push_back(std::move(w));
    }
    // A queue whose files name no number cannot be dialled by number; leave it to the caller.
    return out;
}

bool call_pending(const Config& cfg, const std::string& da) {
    return fs::exists(fs::join(cfg.outgoing_dir(), call_file_name(queue_name(da))));
}

unsigned next_reference(const Config& cfg, const std::string& da, bool ref16) {
    check_number("da", da);
    const std::string dir = state::refs_dir(cfg);
    fs::ensure_state_dir(fs::dirname(dir));
    fs::ensure_state_dir(dir);
    const std::string path = fs::join(dir, queue_name(da));
    fs::Lock lock = fs::Lock::acquire(path);
    const int fd = lock.fd();
    std::string content;
    char buf[32];
    ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    if (n < 0) {
        throw_errno(Exit::ioerr, path, errno);
    }
    content.assign(buf, static_cast<std::size_t>(n));
    unsigned last = 0;
    auto r = std::from_chars(content.data(), content.data() + content.size(), last);
    if (r.ec != std::errc() || content.empty()) {
        // A new (or damaged) counter starts anywhere: after a reinstall the phone may still
        // hold parts of a recent message with a low reference.
        std::random_device rd;
        last = rd() & 0xFFFFu;
    }
    unsigned next = (last + 1) & 0xFFFFu;
    // Written over the last value, cut only past its end (see lasthop::allocate_mr).
    std::string out = fmt::format("{}\n", next);
    if (::pwrite(fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size()) ||
        (n > static_cast<ssize_t>(out.size()) &&
         ::ftruncate(fd, static_cast<off_t>(out.size())) != 0)) {
        throw_errno(Exit::ioerr, path, errno);
    }
    return ref16 ? next : (next & 0xFFu);
}

std::optional<unsigned> peek_reference(const Config& cfg, const std::string& da, bool ref16) {
    check_number("da", da);
    const std::string path = fs::join(state::refs_dir(cfg), queue_name(da));
    if (!fs::exists(path)) {
        return std::nullopt;
    }
    std::string content;
    try {
        content = fs::read_file(path, 64);
    } catch (const Error&) {
        return std::nullopt; // unreadable: a real send would start afresh all the same
    }
    unsigned last = 0;
    auto r = std::from_chars(content.data(), content.data() + content.size(), last);
    if (r.ec != std::errc() || content.empty()) {
        return std::nullopt;
    }
    unsigned next = (last + 1) & 0xFFFFu;
    return ref16 ? next : (next & 0xFFu);
}

std::vector<Part> send(const Config& cfg, Request req) {
    std::vector<Part> parts = split(cfg, req);
    if (parts.size() > 1 && !parts.front().udh.empty() && !req.ref) {
        req.ref = next_reference(cfg, req.da, req.ref16);
        parts = split(cfg, req);
    }
    if (req.dial && req.channel.empty()) {
        throw Error(Exit::usage, "channel", "no channel to dial for the delivery call");
    }
    fs::make_dirs(cfg.mttx_dir());
    if (req.dial) {
        fs::make_dirs(cfg.outgoing_dir());
    }
    // A fresh stem cannot collide unless the clock or the pid repeats; if a name exists all the
    // same, what this attempt placed is taken back and another stem is tried.
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto files = plan(cfg, req, parts, unique_stem());
        // Each item before its queue file: app_sms may take a queue file the moment it is there.
        std::stable_partition(files.begin(), files.end(),
                              [](const fs::PlannedFile& f) { return !f.same_as.empty(); });
        std::vector<std::string> placed;
        bool collided = false;
        try {
            for (const auto& f : files) {
                if (f.dir == cfg.outgoing_dir()) {
                    // The delivery call (its temporary goes through <spool>/tmp): already there
                    // means a call is pending, which is fine.
                    fs::commit(f);
                    continue;
                }
                if (!fs::commit(f)) {
                    collided = true;
                    break;
                }
                placed.push_back(fs::join(f.dir, f.name));
            }
        } catch (...) {
            for (const auto& p : placed) {
                ::unlink(p.c_str());
            }
            throw;
        }
        if (!collided) {
            return parts;
        }
        for (const auto& p : placed) {
            ::unlink(p.c_str());
        }
    }
    throw Error(Exit::tempfail, cfg.mttx_dir(), "could not find an unused queue file name");
}

} // namespace sms::outbox
