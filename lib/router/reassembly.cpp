// sms-process: the reassembly of concatenated messages: parts grouped by sender, receiver and
// reference, split into sets, routed as one message when complete or when the wait ends.
#include "router/executor.hpp"

namespace sms::process::detail {

namespace {

unsigned seq_of(const InputFile* f) {
    return f->message->concat()->seq;
}

// One message's parts: one per sequence number, and every file that carries them (duplicates
// included, by arrival).
struct Set {
    std::map<unsigned, InputFile*> by_seq;
    std::vector<InputFile*> all;
};

// References are one byte and get reused: a group (one sender, receiver and reference) is split
// into sets by arrival, each set taking one part per sequence number. Only a part with the same
// user data as one already placed is a duplicate (consumed with that set, adding nothing).
std::vector<Set> split_into_sets(std::vector<InputFile*> members) {
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
        return std::tie(a->message->scts, a->mtime, a->name) <
               std::tie(b->message->scts, b->mtime, b->name);
    });
    std::vector<Set> sets;
    for (auto* f : members) {
        const spool::Message& m = *f->message;
        auto same = [&](const InputFile* o) {
            return o->message->text == m.text && o->message->halves == m.halves &&
                   o->message->udh == m.udh;
        };
        std::size_t home = sets.size();
        for (std::size_t i = 0; i < sets.size() && home == sets.size(); ++i)
            if (auto it = sets[i].by_seq.find(seq_of(f));
                it != sets[i].by_seq.end() && same(it->second))
                home = i;
        if (home < sets.size()) {
            sets[home].all.push_back(f);
            continue;
        }
        for (std::size_t i = 0; i < sets.size() && home == sets.size(); ++i)
            if (!sets[i].by_seq.count(seq_of(f)))
                home = i;
        if (home == sets.size())
            sets.emplace_back();
        sets[home].by_seq.emplace(seq_of(f), f);
        sets[home].all.push_back(f);
    }
    return sets;
}

// The set as one message: the parts' texts joined in order, "[...]" for each missing run of
// parts (a set routed incomplete after reassembly_timeout).
Unit joined(const Set& set, unsigned total, bool complete) {
    Unit u;
    u.inputs = set.all;
    std::sort(u.inputs.begin(), u.inputs.end(), [&](auto* a, auto* b) {
        return seq_of(a) != seq_of(b) ? seq_of(a) < seq_of(b) : a->name < b->name;
    });
    u.oldest = set.all.front()->mtime;
    for (auto* f : set.all)
        u.oldest = std::min(u.oldest, f->mtime);
    InputFile* first = set.by_seq.begin()->second;
    u.message = *first->message;
    u.message.udh.clear();
    u.message.halves = {};
    std::vector<const spool::Message*> texts;
    unsigned expect = 1;
    for (auto& [seq, f] : set.by_seq) {
        if (seq != expect)
            texts.push_back(nullptr); // "[...]"
        texts.push_back(&*f->message);
        expect = seq + 1;
    }
    if (expect <= total)
        texts.push_back(nullptr);
    u.message.text = spool::join_texts(texts);
    u.incomplete = !complete;
    u.stem = stem_of(first->name);
    return u;
}

} // namespace

// Concatenated parts are held until all have arrived, then routed as one. Run under a lock
// shared by all runs, and parts are locked only under it, so one run sees and takes whole sets.
void Runner::reassemble() {
    std::optional<fs::Lock> lock;
    if (!opts_.dry_run)
        lock = fs::Lock::acquire(state::reassembly_lock(cfg_));
    struct Key {
        std::string oa, da;
        unsigned ref, total;
        bool ref16;
        auto operator<=>(const Key&) const = default;
    };
    std::map<Key, std::vector<InputFile*>> groups;
    // Declared after `lock`: destroyed (their locks released) before it, once committed.
    std::vector<std::unique_ptr<InputFile>> parts;
    for (const auto& name : spool::list(cfg_.morx_dir())) {
        auto f = open_input(name, opts_.dry_run ? Take::look : Take::part);
        if (!f || !f->is_part())
            continue; // taken by another run, not a part, or bad: the first pass handles those
        auto c = f->message->concat();
        groups[{f->message->oa, f->message->da, c->ref, c->total, c->ref16}].push_back(f.get());
        parts.push_back(std::move(f));
    }
    for (auto& [key, members] : groups) {
        // A part another process holds (sms-queue at work): the sets of this reference are left
        // whole for the next run rather than routed in pieces.
        auto busy = std::find_if(members.begin(), members.end(), [](auto* f) { return f->busy; });
        if (busy != members.end()) {
            for (auto* f : members)
                report(*f, Outcome::held, '?',
                       fmt::format("part {} of {}: part {} is held by another process", seq_of(f),
                                   key.total, seq_of(*busy)));
            continue;
        }
        for (auto& set : split_into_sets(members)) {
            const bool complete = set.by_seq.size() == key.total;
            Unit u = joined(set, key.total, complete);
            if (!complete && now_s() - u.oldest <= cfg_.general.reassembly_timeout) {
                for (auto* f : set.all)
                    report(*f, Outcome::held, '?',
                           fmt::format("part {} of {}: waiting for {} more", seq_of(f), key.total,
                                       key.total - set.by_seq.size()));
                continue;
            }
            // The part that arrived last completed the set: its --json object has the text.
            InputFile* last = nullptr;
            for (auto* f : set.all)
                if (set.by_seq.at(seq_of(f)) == f)
                    last = f;
            last->joined = u.message.text;
            route_one(u);
            maybe_commit(false);
        }
    }
    // Committed before the parts and the lock are let go: the next run sees no part of a set
    // this one took.
    maybe_commit(true);
    parts.clear();
}

} // namespace sms::process::detail
