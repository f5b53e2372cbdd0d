// Tests of lib/lasthop_sip: the pending record of a SIP part sent (its item's format), the
// window, the verdict from the user's contacts (the registration of fixtures/pjsip/c.txt), the
// message that sends a lost part again, and settling through the journal.
#include "asterisk/spool.hpp"
#include "core/journal.hpp"
#include "lasthop/lasthop.hpp"
#include "lasthop/lasthop_sip.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace sms;
using namespace sms::lasthop_sip;
namespace stdfs = std::filesystem;

namespace {

// The contact of 600700804 as PJSIPShowEndpoint listed it (ContactStatusDetail: ID, CallID).
const std::string recorded_contact =
    "600700804;@e4fdf97d7231dbc0d3c5ef2a392b8980 1-25596@127.0.0.1";

ami::Reach reachable(std::vector<std::string> who, std::int64_t round = 13) {
    ami::Reach r;
    r.state = ami::Reach::State::reachable;
    r.round = round;
    r.reachable = std::move(who);
    r.detail = "sip:600700804@127.0.0.1:16004;transport=UDP Reachable";
    return r;
}

spool::Message message(std::string text, std::optional<int> srr = std::nullopt) {
    spool::Message m;
    m.oa = "48500100200";
    m.da = "600700804";
    m.scts = "2026-12-07T03:00:00";
    m.text = std::move(text);
    m.srr = srr;
    return m;
}

Config config_in(const std::string& root) {
    Config c;
    c.general.spool_dir = root;
    return c;
}

} // namespace

TEST(SentParts, OnePerPartWithTheManagersRoundOrTheConfiguredWindow) {
    Config cfg;
    cfg.sip.confirm_window = 45;
    auto parts = sent_parts(cfg, "stem-1", message("ab", 1), "600700804", {"a", "b"},
                            reachable({recorded_contact}), 1000);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1].part, 2);
    EXPECT_EQ(parts[1].parts, 2);
    EXPECT_EQ(parts[1].text, "b");
    EXPECT_TRUE(parts[0].receipt);
    EXPECT_EQ(parts[0].round, 13);
    EXPECT_EQ(parts[0].contacts, std::vector<std::string>{recorded_contact});
    auto unknown = sent_parts(cfg, "stem-1", message("a"), "600700804", {"a"},
                              reachable({recorded_contact}, 0), 1000);
    EXPECT_EQ(unknown[0].round, 45);
    EXPECT_FALSE(unknown[0].receipt);
}

TEST(PendingRecord, RoundTripsThroughTheItemFile) {
    Config cfg;
    auto s = sent_parts(cfg, "48500100200.2026-12-07T03_00_00-1",
                        message("line one\nkey=value; \xC5\xBC\xC3\xB3\xC5\x82w \\x41"),
                        "600700804", {"line one\nkey=value; \xC5\xBC\xC3\xB3\xC5\x82w \\x41"},
                        reachable({recorded_contact, "600700804;@00ff x@y"}), 1796611645)[0];
    auto item = item_of(s);
    EXPECT_EQ(item.name(), "T.48500100200.2026-12-07T03_00_00-1.1");
    EXPECT_EQ(item.next, 1796611645 + 13);
    std::string file = lasthop::serialize(item);
    EXPECT_EQ(file.find("line one\n"), std::string::npos) << "the text must stay on one line";
    auto back = lasthop::parse(file);
    ASSERT_TRUE(back);
    auto again = sent_of(*back);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->stem, s.stem);
    EXPECT_EQ(again->text, s.text);
    EXPECT_EQ(again->contacts, s.contacts);
    EXPECT_EQ(again->oa, "48500100200");
    EXPECT_EQ(again->scts, "2026-12-07T03:00:00");
    EXPECT_EQ(again->sent, s.sent);
    EXPECT_EQ(again->round, 13);
    EXPECT_EQ(again->part, 1);
    EXPECT_EQ(again->parts, 1);
}

TEST(PendingRecord, WhatIsNotOneIsRefused) {
    Config cfg;
    auto s = sent_parts(cfg, "stem", message("hi"), "600700804", {"hi", "there"},
                        reachable({recorded_contact}), 1000)[1];
    auto ok = item_of(s);
    ASSERT_TRUE(sent_of(ok));
    auto bad = ok;
    bad.kind = 'F';
    EXPECT_FALSE(sent_of(bad));
    bad = ok;
    bad.fields["part"] = "3/2";
    EXPECT_FALSE(sent_of(bad));
    bad = ok;
    bad.fields["part"] = "2";
    EXPECT_FALSE(sent_of(bad));
    bad = ok;
    bad.fields["text"] = "zz";
    EXPECT_FALSE(sent_of(bad));
    bad = ok;
    bad.id = "stem.1"; // the id names another part
    EXPECT_FALSE(sent_of(bad));
    bad = ok;
    bad.fields.erase("round");
    EXPECT_FALSE(sent_of(bad));
}

TEST(Window, DueOnceTheRoundPassed) {
    Sent s;
    s.sent = 1000;
    s.round = 13;
    EXPECT_FALSE(due(s, 1000));
    EXPECT_FALSE(due(s, 1012));
    EXPECT_TRUE(due(s, 1013));
}

TEST(Judge, SameRegistrationReachableIsConfirmed) {
    Sent s;
    s.contacts = {recorded_contact};
    EXPECT_EQ(judge(s, reachable({"600700804;@other 9@h", recorded_contact})).verdict,
              Verdict::confirmed);
}

TEST(Judge, RegisteredAgainUnreachableOrGoneIsLost) {
    Sent s;
    s.contacts = {recorded_contact};
    // Same contact ID (same URI), new Call-ID: the phone died and registered again.
    auto again =
        judge(s, reachable({"600700804;@e4fdf97d7231dbc0d3c5ef2a392b8980 2-777@127.0.0.1"}));
    EXPECT_EQ(again.verdict, Verdict::lost);
    EXPECT_NE(again.reason.find("registered again"), std::string::npos) << again.reason;
    ami::Reach r;
    r.state = ami::Reach::State::unreachable;
    EXPECT_EQ(judge(s, r).verdict, Verdict::lost);
    r.state = ami::Reach::State::no_contact;
    EXPECT_EQ(judge(s, r).verdict, Verdict::lost);
    Sent nobody; // sent by a run killed before its commit, the user unreachable then
    EXPECT_EQ(judge(nobody, reachable({recorded_contact})).verdict, Verdict::lost);
}

TEST(Judge, NoQualifyOrNoPjsipCannotBeConfirmed) {
    Sent s;
    s.contacts = {recorded_contact};
    ami::Reach r;
    r.state = ami::Reach::State::unqualified;
    EXPECT_EQ(judge(s, r).verdict, Verdict::unconfirmable);
    r.state = ami::Reach::State::unsupported;
    EXPECT_EQ(judge(s, r).verdict, Verdict::unconfirmable);
}

TEST(Resend, TheLostPartAsAMessageOfItsOwn) {
    Config cfg;
    auto s = sent_parts(cfg, "stem", message("whole", 1), "600700804", {"first ", "second"},
                        reachable({recorded_contact}), 1000)[1];
    auto m = resend_message(s);
    EXPECT_EQ(m.text, "second");
    EXPECT_EQ(m.oa, "48500100200");
    EXPECT_EQ(m.da, "600700804");
    EXPECT_EQ(m.srr, 1);
    EXPECT_EQ(resend_name(s), "stem.sip2");
    auto read = spool::parse(spool::serialize(m));
    EXPECT_EQ(read.text, "second");
    EXPECT_EQ(read.scts, "2026-12-07T03:00:00");
}

TEST(Settle, ConfirmedRemovedLostWrittenIntoMorxOutageAndEarlyKept) {
    test::TempDir tmp;
    Config cfg = config_in(tmp.path);
    fs::make_dirs(cfg.morx_dir());
    lasthop::make_dir(cfg);
    auto write = [&](const Sent& s) {
        auto f = lasthop::plan(cfg, item_of(s), true);
        fs::WriteOptions wo;
        wo.mode = 0600;
        fs::write_atomic(f.dir, f.name, f.content, wo);
    };
    auto base = sent_parts(cfg, "m", message("x"), "600700804", {"x"},
                           reachable({recorded_contact}), 1000)[0];
    Sent live = base, dead = base, early = base, away = base;
    live.stem = "live";
    dead.stem = "dead";
    dead.da = "600700805";
    early.stem = "early";
    early.sent = 2000;
    away.stem = "away";
    away.da = "600700806";
    for (const auto* s : {&live, &dead, &early, &away})
        write(*s);
    journal::Journal j(fs::join(tmp.path, "journal"));
    std::vector<std::string> asked, reported;
    Hooks h;
    h.reach = [&](const std::string& user) {
        asked.push_back(user);
        if (user == "600700806")
            throw Error(Exit::tempfail, "manager", "connection refused");
        if (user == "600700805") {
            ami::Reach r;
            r.state = ami::Reach::State::unreachable;
            return r;
        }
        return reachable({recorded_contact});
    };
    h.tell = [](const Sent&, const std::string&, const std::string&, std::string&) {
        return std::vector<fs::PlannedFile>{};
    };
    h.report = [&](const Sent& s, Verdict v, const std::string&) {
        reported.push_back(fmt::format("{}:{}", s.stem, static_cast<int>(v)));
    };
    EXPECT_EQ(settle(cfg, j, h, 1020), 2);
    EXPECT_EQ(asked, (std::vector<std::string>{"600700806", "600700805", "600700804"}));
    EXPECT_EQ(reported, (std::vector<std::string>{"dead:2", "live:0"}));
    std::vector<std::string> left;
    for (const auto& s : list(cfg))
        left.push_back(s.stem);
    EXPECT_EQ(left, (std::vector<std::string>{"away", "early"}));
    auto resent = spool::read(fs::join(cfg.morx_dir(), "dead.sip1"));
    EXPECT_EQ(resent.da, "600700805");
    EXPECT_EQ(resent.text, "x");
    EXPECT_EQ(spool::list(cfg.morx_dir()), std::vector<std::string>{"dead.sip1"});
}
