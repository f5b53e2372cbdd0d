// sms-process: carrying out a decision's actions (an SMS queued, a fax or speech rendered by
// running sms2fax or sms2voice, a command run, a SIP message sent, a notice), and what becomes
// of a message that cannot be delivered now (kept for a retry) or ever (a dead letter).
#include "router/executor.hpp"
#include "state/retry.hpp"

extern char** environ;

namespace sms::process::detail {

std::vector<fs::PlannedFile> Runner::carry_out(const Unit& u, const router::Decision& d,
                                               std::string& detail) {
    std::vector<fs::PlannedFile> files;
    auto add = [&](std::vector<fs::PlannedFile> more) {
        for (auto& f : more)
            files.push_back(std::move(f));
    };
    const std::string& scts = u.message.scts;
    for (const auto& a : d.actions) {
        // A counter is not held through what may take seconds (rendering, a command, the
        // manager): other runs queueing for the same phone would wait for it.
        if (batch_ && a.kind != Action::Kind::queue_sms && a.kind != Action::Kind::notice)
            batch_->mr.release();
        switch (a.kind) {
        case Action::Kind::queue_sms:
            add(queue_sms(a.from, a.to, a.channel, a.text, scts, u.stem, a.from, u.message.srr));
            break;
        case Action::Kind::render_fax:
        case Action::Kind::render_voice:
            add(render_and_call(u, a, detail));
            break;
        case Action::Kind::run_command: {
            auto res = commands::run(cfg_.commands, a.from, a.to, a.text,
                                     static_cast<std::size_t>(cfg_.general.max_parts) * 67);
            detail += fmt::format(": {}", res.detail);
            router::Reply r = a.reply;
            r.text = res.reply;
            add(answer(r, u.stem + ".reply", detail));
            break;
        }
        case Action::Kind::send_sip:
            add(deliver_sip(u, a, detail));
            break;
        case Action::Kind::send_mail:
            deliver_mail(u, a);
            break;
        case Action::Kind::notice:
            add(answer(a.reply, u.stem + ".notice", detail));
            break;
        }
    }
    return files;
}

// A fax or voice message: rendered by sms2fax or sms2voice, and its call written with the
// record that waits for the call's result (SPEC 2.11), in one transaction.
std::vector<fs::PlannedFile> Runner::render_and_call(const Unit& u, const Action& a,
                                                     std::string& detail) {
    bool fax = a.kind == Action::Kind::render_fax;
    lasthop_call::Record rec;
    rec.stem = u.stem;
    rec.service = fax ? 'F' : 'V';
    rec.oa = u.message.oa;
    rec.da = a.to;
    rec.channel = a.channel;
    rec.file = fax ? render("sms2fax", ".tiff", cfg_.fax.dir, u, a)
                   : render("sms2voice", ".wav", cfg_.voice.dir, u, a);
    rec.receipt = u.message.srr.value_or(0) == 1;
    auto now = now_s();
    auto files = lasthop_call::plan_first(cfg_, rec, now);
    if (auto at = quiet::when(cfg_, rec.service, now); at > now)
        detail += fmt::format("; quiet hours: the call waits until {}",
                              quiet::end_text(*quiet::parse(cfg_.delivery.quiet_hours)));
    return files;
}

// A SIP message through the manager: sent once (the journal's marker), held through quiet
// hours, and when the user cannot take it (Asterisk refuses it, or with [sip] confirm = qualify
// none of the user's contacts answers qualify), kept for [sip] hold_time (store and forward),
// then a dead letter and the sender told. Sent to a reachable contact, each part stays pending
// (lasthop_sip) until that contact stayed reachable for a qualify round, in the transaction that
// removes the message.
std::vector<fs::PlannedFile> Runner::deliver_sip(const Unit& u, const Action& a,
                                                 std::string& detail) {
    const bool qualify = cfg_.sip.confirm == SipConfirm::qualify;
    // Sent by a run killed before its commit: only the pending parts are missing.
    const bool already = journal_->marked(u.stem, "sent");
    if (already && !qualify)
        return {};
    auto now = now_s();
    if (auto at = quiet::when(cfg_, 'T', now); !already && at > now)
        throw HeldSip{{},
                      fmt::format("quiet hours: the SIP message waits until {}",
                                  quiet::end_text(*quiet::parse(cfg_.delivery.quiet_hours)))};
    // MessageSend answers Success to a registered phone that is switched off: ask first.
    ami::SendResult res;
    auto reach = qualify ? contacts(a.to) : ami::Reach{};
    using State = ami::Reach::State;
    if (already) {
        res.status = ami::SendResult::Status::sent;
    } else if (reach.state == State::unreachable || reach.state == State::no_contact) {
        res.status = ami::SendResult::Status::refused;
        res.message = fmt::format("no reachable contact: {}", reach.detail);
    } else {
        res = send_sip(u.stem, "sent", a.from, a.to, a.text);
        if (res.status == ami::SendResult::Status::unavailable)
            throw Temporary{fmt::format("Asterisk manager unavailable: {}", res.message)};
        if (res.status == ami::SendResult::Status::sent && reach.state == State::unqualified)
            detail += fmt::format("; unconfirmed: no qualify on the contacts of {} ({})", a.to,
                                  reach.detail);
    }
    if (res.status == ami::SendResult::Status::refused) {
        // Store and forward: kept for [sip] hold_time, tried again on every run.
        auto held = lasthop_sip::sip_hold(cfg_, u.stem);
        lasthop_sip::SipHold h = held.value_or(lasthop_sip::SipHold{now, false});
        std::string why = fmt::format("SIP user {} not reachable ({})", a.to, res.message);
        if (!lasthop_sip::sip_keep(cfg_, h, now))
            throw Permanent{
                fmt::format("{}{}", why, held ? fmt::format(" for {} s", now - h.first) : ""),
                a.reply.text};
        HeldSip hs;
        hs.why = fmt::format("{}; held for up to {} s since {}", why, cfg_.sip.hold_time, h.first);
        if (cfg_.sip.tell_held && !h.told) {
            router::Reply r = a.reply;
            r.text = lasthop_sip::sip_held_text(cfg_, a.to);
            hs.files = answer(r, u.stem + ".held", hs.why);
            hs.why += "; sender told it waits";
            h.told = true;
        }
        if (!held || hs.files.size() > 0)
            hs.files.push_back(lasthop_sip::plan_sip_hold(cfg_, u.stem, h));
        throw hs;
    }
    journal_->mark(u.stem, "sent");
    // Pending until the contact stayed reachable for a round. Sent by an earlier run to contacts
    // not known now: the window starts now, and only a registration reachable now confirms it
    // (none: sent again after the window, a duplicate rather than a loss).
    std::vector<fs::PlannedFile> files;
    if (reach.state == State::reachable ||
        (already && (reach.state == State::unreachable || reach.state == State::no_contact))) {
        if (reach.state != State::reachable)
            reach.reachable.clear();
        auto parts =
            lasthop_sip::sent_parts(cfg_, u.stem, u.message, a.to,
                                    ami::split_body(a.text, ami::max_body_bytes), reach, now);
        lasthop::make_dir(cfg_);
        for (const auto& s : parts)
            files.push_back(lasthop::plan(cfg_, lasthop_sip::item_of(s), true));
        detail += fmt::format("; pending until its contact stayed reachable for {} s",
                              parts.front().round);
    }
    return files;
}

// The contacts of a SIP user, asked of the manager once per run (SPEC 2.11: one action per run
// and user, not per message). A manager without the PJSIP actions, or a technology other than
// pjsip, is "unsupported": the message goes as before, with a warning once per run. A user
// whose contacts have no qualify is reported once per run. An outage is a retry.
ami::Reach Runner::contacts(const std::string& user) {
    auto it = contacts_.find(user);
    if (it == contacts_.end()) {
        Asked asked;
        if (!text::iequals(cfg_.ami.technology, "pjsip")) {
            asked.reach.detail =
                fmt::format("[ami] technology is {}, not pjsip", cfg_.ami.technology);
        } else {
            try {
                asked.reach = ami::contacts(cfg_.ami, user);
            } catch (const Error& e) {
                asked.outage = e.what();
            }
        }
        using State = ami::Reach::State;
        if (asked.outage.empty() && asked.reach.state == State::unsupported && !pjsip_warned_) {
            pjsip_warned_ = true;
            log::warning("cannot ask the manager whether SIP users are reachable ({}): SIP "
                         "messages are sent unconfirmed, as with [sip] confirm = no",
                         asked.reach.detail);
        }
        if (asked.reach.state == State::unqualified)
            log::warning("SIP user {}: its contacts have no qualify ({}): messages to it are "
                         "sent unconfirmed; set qualify_frequency on its AOR",
                         user, asked.reach.detail);
        it = contacts_.emplace(user, std::move(asked)).first;
    }
    if (!it->second.outage.empty())
        throw Temporary{fmt::format("Asterisk manager unavailable: {}", it->second.outage)};
    return it->second.reach;
}

// An e-mail through the local mail server (SPEC 2.14): its exit status is the last hop. Sent at
// most once per message (the journal's marker; a run killed between the mail server's answer and
// the marker sends it again: a duplicate rather than a loss).
void Runner::deliver_mail(const Unit& u, const Action& a) {
    if (journal_->marked(u.stem, "mailed"))
        return;
    auto m = mail::for_sms(cfg_, a.from, a.channel, a.text, u.message.scts, u.stem, now_s());
    std::string bytes;
    try {
        bytes = mail::compose(m);
    } catch (const Error& e) {
        throw Permanent{e.what()};
    }
    auto res = mail::send(cfg_.mail.sendmail, bytes);
    if (res.status == mail::Sent::Status::retry)
        throw Temporary{fmt::format("mail server: {}", res.detail)};
    if (res.status == mail::Sent::Status::refused)
        throw Permanent{res.detail};
    journal_->mark(u.stem, "mailed");
}

// Runs sms2fax or sms2voice on the message's text and returns the file it wrote. Kept whole
// (about 75 lines): one child's life in order (its arguments, the pipe to its stdin, the spawn,
// the text written, the wait, what its exit code means for the message); split, the pipe's and
// the child's lifetimes would cross functions.
std::string Runner::render(const char* tool, const char* ext, const std::string& dir, const Unit& u,
                           const Action& a) {
    std::string bin = cfg_.general.bin_dir;
    if (bin.empty()) {
        char self[PATH_MAX];
        ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        bin = n > 0 ? fs::dirname(std::string(self, static_cast<std::size_t>(n)))
                    : fs::dirname(opts_.self);
    }
    std::string program = fs::join(bin, tool);
    fs::make_dirs(dir);
    std::string out = fs::join(dir, u.stem + ext);
    std::vector<std::string> args = {program,
                                     "--from",
                                     a.from,
                                     "--to",
                                     a.to,
                                     "--extension",
                                     a.channel.empty() ? "-" : a.channel,
                                     "--output",
                                     out,
                                     "--no-call",
                                     "--text",
                                     "-"};
    if (!cfg_.source.empty()) {
        args.insert(args.begin() + 1, cfg_.source);
        args.insert(args.begin() + 1, "--config");
    }
    if (!u.message.scts.empty()) {
        args.emplace_back("--scts");
        args.push_back(u.message.scts);
    }
    if (u.message.mr) {
        args.emplace_back("--mr");
        args.push_back(std::to_string(*u.message.mr));
    }
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0)
        throw Temporary{fmt::format("pipe: {}", std::strerror(errno))};
    fs::Fd rd(in[0]), wr(in[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
    // Our stdout carries the JSON report: what a child prints goes to stderr.
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    std::vector<char*> argv;
    for (auto& s : args)
        argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    rd = fs::Fd();
    if (rc != 0)
        throw Temporary{fmt::format("cannot run {}: {}", program, std::strerror(rc))};
    // The child may refuse early (and close its stdin): a broken pipe is its exit code's to tell.
    auto old = std::signal(SIGPIPE, SIG_IGN);
    try {
        fs::write_all(wr.get(), a.text, program);
    } catch (const Error&) {
    }
    std::signal(SIGPIPE, old);
    wr = fs::Fd();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        throw Temporary{fmt::format("{} killed by signal {}", tool, WTERMSIG(status))};
    int code = WEXITSTATUS(status);
    if (code == 0)
        return out;
    auto e = static_cast<Exit>(code);
    if (e == Exit::tempfail || e == Exit::unavailable || e == Exit::oserr || e == Exit::cantcreat ||
        e == Exit::ioerr || e == Exit::config || e == Exit::software)
        throw Temporary{fmt::format("{} failed with exit status {}", tool, code)};
    throw Permanent{fmt::format("{} refused the message (exit status {})", tool, code)};
}

std::vector<fs::PlannedFile> Runner::queue_sms(const std::string& from, const std::string& to,
                                               const std::string& channel, const std::string& text,
                                               const std::string& scts, const std::string& stem,
                                               const std::string& notify, std::optional<int> srr) {
    outbox::Request req;
    req.oa = from;
    req.unknown_sender = from.empty(); // a message with no oa=: the phone shows no sender
    req.da = to;
    req.channel = channel;
    req.text = text;
    req.scts = scts;
    req.track = true; // remembered until the phone confirms it (lasthop)
    req.notify = notify;
    req.srr = srr;
    std::vector<outbox::Part> parts;
    try {
        parts = outbox::split(cfg_, req);
        if (parts.size() > 1 && !parts.front().udh.empty()) {
            req.ref = outbox::next_reference(cfg_, req.da, req.ref16);
            parts = outbox::split(cfg_, req);
        }
    } catch (const Error& e) {
        if (e.exit() == Exit::dataerr)
            throw Permanent{e.what()};
        throw;
    }
    if (routing_ && !batch_)
        batch_.emplace(cfg_);
    return outbox::plan(cfg_, req, parts, stem, routing_ ? &*batch_ : nullptr);
}

// A SIP message through the manager, each part (one MessageSend) marked in the journal as it
// is accepted, so that a retry after a lost connection sends only the parts still missing.
ami::SendResult Runner::send_sip(const std::string& stem, const std::string& marker,
                                 const std::string& from, const std::string& to,
                                 const std::string& text) {
    std::size_t done = 0;
    while (journal_->marked(stem, fmt::format("{}.part{}", marker, done + 1)))
        ++done;
    if (done > 0)
        log::info("{}: {} part(s) of the SIP message to {} already sent: sending the rest", stem,
                  done, to);
    return ami::send_message(cfg_.ami, from, to, text, done, [&](std::size_t part) {
        journal_->mark(stem, fmt::format("{}.part{}", marker, part));
    });
}

std::vector<fs::PlannedFile> Runner::answer(const router::Reply& r, const std::string& stem,
                                            std::string& detail) {
    switch (r.via) {
    case router::Reply::Via::sms:
        // An answer is dated now (empty scts), not when the message was sent.
        return queue_sms(r.from, r.to, r.channel, r.text, "", stem);
    case router::Reply::Via::sip: {
        if (journal_->marked(stem, "sip"))
            return {};
        auto res = send_sip(stem, "sip", r.from, r.to, r.text);
        if (res.status == ami::SendResult::Status::unavailable)
            throw Temporary{fmt::format("Asterisk manager unavailable: {}", res.message)};
        if (res.status == ami::SendResult::Status::refused)
            detail += fmt::format("; the answer by SIP was refused ({})", res.message);
        journal_->mark(stem, "sip");
        return {};
    }
    case router::Reply::Via::mail: {
        // Once per answer (the journal's marker), as a message for an E subscriber is mailed.
        if (journal_->marked(stem, "mail"))
            return {};
        auto m = mail::for_sms(cfg_, r.from, r.channel, r.text, "", stem, now_s());
        auto res = mail::send(cfg_.mail.sendmail, mail::compose(m));
        if (res.status == mail::Sent::Status::retry)
            throw Temporary{fmt::format("mail server: {}", res.detail)};
        if (res.status == mail::Sent::Status::refused)
            detail += fmt::format("; the answer by mail was refused ({})", res.detail);
        journal_->mark(stem, "mail");
        return {};
    }
    case router::Reply::Via::none:
        detail += fmt::format("; cannot answer: {}", r.why_none);
        return {};
    }
    return {};
}

// SMS delivery calls (answers and notices too) wait for the end of quiet hours when S is listed
// in quiet_services; fax and voice calls are scheduled by lasthop_call.
void Runner::quiet_sms(std::vector<fs::PlannedFile>& files) {
    auto now = now_s();
    auto at = quiet::when(cfg_, 'S', now);
    if (at <= now)
        return;
    for (auto& f : files)
        if (f.dir == cfg_.outgoing_dir() && !state::parse_fax_voice_call_name(f.name) && !f.mtime)
            f.mtime = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(at));
}

void Runner::dead_letter(Unit& u, const std::string& why, char service, const std::string& notice) {
    std::string detail = why;
    std::vector<fs::PlannedFile> files;
    if (!opts_.dry_run) {
        // Tell the sender when the directory can say how (nobody, when the sender is unknown).
        auto sender = u.message.oa.empty() ? directory::Lookup{} : lookup(u.message.oa);
        auto reply = router::answer(cfg_, cfg_.general.centre_receive_number, u.message.oa, sender,
                                    router::notice_text(cfg_, u.message.da, ""));
        while (!reply.text.empty() && reply.text.back() == ' ')
            reply.text.pop_back();
        if (!notice.empty())
            reply.text = notice;
        try {
            files = answer(reply, u.stem + ".failed", detail);
        } catch (const Temporary& t) {
            detail += fmt::format("; sender not told: {}", t.why);
        } catch (const Permanent& p) {
            detail += fmt::format("; sender not told: {}", p.why);
        }
        std::vector<journal::Input> ins;
        for (auto* f : u.inputs) {
            ins.push_back({f->path, cfg_.failed_dir()});
            // Why, beside it (NAME.why), written with the move: the name the move will take.
            std::string name = fs::basename(f->path);
            for (int i = 1; fs::exists(fs::join(cfg_.failed_dir(), name)); ++i)
                name = fmt::format("{}.{}", fs::basename(f->path), i);
            files.push_back(state::note(cfg_.failed_dir(), name, detail));
        }
        // A SIP message held earlier leaves with its hold record (a retry starts afresh).
        if (auto hold = lasthop_sip::sip_hold_path(cfg_, u.stem); fs::exists(hold))
            ins.push_back({hold, ""});
        journal_->stage(u.stem, files, ins);
    }
    for (auto* f : u.inputs)
        report(*f, Outcome::failed, service, detail);
}

void Runner::retry_or_give_up(Unit& u, const std::string& why, char service) {
    std::int64_t age = now_s() - first_failure(u, why);
    if (age > cfg_.general.retry_limit) {
        dead_letter(u, fmt::format("gave up after {} s of temporary failures: {}", age, why),
                    service);
        return;
    }
    for (auto* f : u.inputs)
        report(*f, Outcome::retry, service, why);
}

// When the message first failed: the retry record of each input (state/retry), written at its
// first temporary failure; the age that counts against retry_limit is from then, not from the
// file's mtime (a copied old file is not dead-lettered at its first failure). Records of inputs
// gone from sms/morx/ are removed at the end of each run.
std::int64_t Runner::first_failure(const Unit& u, const std::string& why) {
    std::int64_t now = now_s(), first = now;
    const std::string dir = state::retry_dir(cfg_);
    if (!opts_.dry_run)
        fs::ensure_state_dir(dir);
    for (const auto* f : u.inputs) {
        std::optional<std::int64_t> seen;
        if (auto rec = state::read_retry(cfg_, f->name))
            if (rec->first_failure > 0 && rec->first_failure <= now)
                seen = rec->first_failure;
        if (!seen && !opts_.dry_run) {
            fs::WriteOptions wo;
            wo.mode = 0600;
            wo.replace = true;
            wo.sync = false; // a lost record restarts the count; it loses no message
            fs::write_atomic(dir, f->name, state::format_retry(now, why), wo);
        }
        first = std::min(first, seen.value_or(now));
    }
    return first;
}

void Runner::forget_retries() {
    const std::string dir = state::retry_dir(cfg_);
    if (opts_.dry_run || !fs::is_dir(dir))
        return;
    for (const auto& name : fs::list_regular(dir))
        if (!fs::exists(fs::join(cfg_.morx_dir(), name)))
            ::unlink(fs::join(dir, name).c_str());
}

} // namespace sms::process::detail
