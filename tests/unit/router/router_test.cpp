// Tests of lib/router: every row of SPEC 2.1 step 3 and every notice text, without any I/O.
#include "router/router.hpp"

#include <gtest/gtest.h>

using namespace sms;
using router::Action;
using router::Outcome;
using router::Reply;
using Status = directory::Lookup::Status;

namespace {

directory::Lookup found(char service, std::string channel) {
    directory::Lookup l;
    l.status = Status::found;
    l.entry = {service, std::move(channel)};
    return l;
}
directory::Lookup not_found() {
    directory::Lookup l;
    l.status = Status::not_found;
    return l;
}
directory::Lookup down() {
    directory::Lookup l;
    l.status = Status::unavailable;
    l.why = "database is locked";
    return l;
}

spool::Message msg(std::string da = "600700800", std::string text = "Hello") {
    spool::Message m;
    m.oa = "500100200";
    m.da = std::move(da);
    m.scts = "2026-11-29T22:53:42";
    m.text = std::move(text);
    return m;
}

const Config cfg{};

} // namespace

TEST(Router, SmsPhoneGetsTheMessageFromTheOriginalSender) {
    auto m = msg();
    auto d = router::decide(cfg, {m, found('S', "PJSIP/600"), std::nullopt});
    EXPECT_EQ(d.outcome, Outcome::routed);
    EXPECT_EQ(d.service, 'S');
    ASSERT_EQ(d.actions.size(), 1u);
    EXPECT_EQ(d.actions[0].kind, Action::Kind::queue_sms);
    EXPECT_EQ(d.actions[0].from, "500100200");
    EXPECT_EQ(d.actions[0].to, "600700800");
    EXPECT_EQ(d.actions[0].channel, "PJSIP/600");
    EXPECT_EQ(d.actions[0].text, "Hello");
    EXPECT_FALSE(router::needs_sender(cfg, m, found('S', "x")));
}

TEST(Router, FaxAndVoiceAreRendered) {
    auto m = msg();
    auto f = router::decide(cfg, {m, found('F', "DAHDI/1"), std::nullopt});
    ASSERT_EQ(f.actions.size(), 1u);
    EXPECT_EQ(f.actions[0].kind, Action::Kind::render_fax);
    EXPECT_EQ(f.actions[0].channel, "DAHDI/1");
    auto v = router::decide(cfg, {m, found('V', "PJSIP/7"), std::nullopt});
    ASSERT_EQ(v.actions.size(), 1u);
    EXPECT_EQ(v.actions[0].kind, Action::Kind::render_voice);
}

TEST(Router, MailSubscriberGetsAnEmailAtTheirAddress) {
    auto m = msg("600700800", "Zażółć\nBcc: x@example.org");
    auto d = router::decide(cfg, {m, found('E', "alice@example.org"), std::nullopt});
    EXPECT_EQ(d.outcome, Outcome::routed);
    EXPECT_EQ(d.service, 'E');
    ASSERT_EQ(d.actions.size(), 1u);
    EXPECT_EQ(d.actions[0].kind, Action::Kind::send_mail);
    EXPECT_EQ(d.actions[0].channel, "alice@example.org");
    EXPECT_EQ(d.actions[0].from, "500100200");
    EXPECT_EQ(d.actions[0].text, m.text); // the text goes only into the body, as it is
    EXPECT_NE(d.detail.find("alice@example.org"), std::string::npos);
    EXPECT_FALSE(router::needs_sender(cfg, m, found('E', "alice@example.org")));
}

TEST(Router, CommandAnswersBySendersOwnService) {
    auto m = msg("1000", "HELP");
    EXPECT_TRUE(router::needs_sender(cfg, m, not_found())); // listed in [commands] numbers
    auto d = router::decide(cfg, {m, not_found(), found('S', "PJSIP/500")});
    EXPECT_EQ(d.service, 'C');
    ASSERT_EQ(d.actions.size(), 1u);
    const auto& a = d.actions[0];
    EXPECT_EQ(a.kind, Action::Kind::run_command);
    EXPECT_EQ(a.reply.via, Reply::Via::sms);
    EXPECT_EQ(a.reply.from, "1000"); // from the command number
    EXPECT_EQ(a.reply.to, "500100200");
    EXPECT_EQ(a.reply.channel, "PJSIP/500");

    auto sip = router::decide(cfg, {m, found('C', "x"), found('T', "PJSIP/500")});
    EXPECT_EQ(sip.actions[0].reply.via, Reply::Via::sip);
    auto mail = router::decide(cfg, {m, found('C', "x"), found('E', "alice@example.org")});
    EXPECT_EQ(mail.actions[0].reply.via, Reply::Via::mail);
    EXPECT_EQ(mail.actions[0].reply.channel, "alice@example.org");
    auto fax = router::decide(cfg, {m, found('C', "x"), found('F', "DAHDI/2")});
    EXPECT_EQ(fax.actions[0].reply.via, Reply::Via::none);
    EXPECT_NE(fax.actions[0].reply.why_none.find("cannot be answered"), std::string::npos);
}

TEST(Router, SipMessageWithTheNotLoggedInNoticeReady) {
    auto m = msg();
    auto d = router::decide(cfg, {m, found('T', "PJSIP/600"), found('S', "PJSIP/500")});
    ASSERT_EQ(d.actions.size(), 1u);
    EXPECT_EQ(d.actions[0].kind, Action::Kind::send_sip);
    EXPECT_EQ(d.actions[0].reply.text, "Cannot deliver SMS to 600700800. VoIP user not logged in.");
    EXPECT_EQ(d.actions[0].reply.from, "9000");
    EXPECT_EQ(d.actions[0].reply.via, Reply::Via::sms);
}

TEST(Router, DisabledAndUnknownNumbersTellTheSender) {
    auto m = msg();
    auto n = router::decide(cfg, {m, found('N', "PJSIP/600"), found('S', "PJSIP/500")});
    EXPECT_EQ(n.service, 'N');
    ASSERT_EQ(n.actions.size(), 1u);
    EXPECT_EQ(n.actions[0].kind, Action::Kind::notice);
    EXPECT_EQ(n.actions[0].reply.text,
              "Cannot deliver SMS to 600700800. Subscriber has disabled messaging service.");
    EXPECT_EQ(n.actions[0].reply.from, "9000");
    EXPECT_EQ(n.actions[0].reply.to, "500100200");

    auto u = router::decide(cfg, {m, not_found(), found('S', "PJSIP/500")});
    EXPECT_EQ(u.service, 'U');
    EXPECT_EQ(u.actions[0].reply.text, "Cannot deliver SMS to 600700800. Number does not exist.");
    EXPECT_EQ(u.outcome, Outcome::routed);
}

TEST(Router, NoticeTextsAreConfigurable) {
    Config c;
    c.texts.cannot_deliver = "Nie można dostarczyć SMS do";
    c.texts.no_such_number = "Numer nie istnieje.";
    c.general.centre_receive_number = "7000";
    auto m = msg();
    auto d = router::decide(c, {m, not_found(), found('S', "PJSIP/500")});
    EXPECT_EQ(d.actions[0].reply.text,
              "Nie można dostarczyć SMS do 600700800. Numer nie istnieje.");
    EXPECT_EQ(d.actions[0].reply.from, "7000");
}

TEST(Router, AnOutageIsNeverAnUnknownNumber) {
    auto m = msg();
    auto d = router::decide(cfg, {m, down(), std::nullopt});
    EXPECT_EQ(d.outcome, Outcome::retry);
    EXPECT_TRUE(d.actions.empty());
    EXPECT_NE(d.detail.find("database is locked"), std::string::npos);
    // The receiver is known but answering needs the sender, and its lookup failed: retry too.
    auto n = router::decide(cfg, {m, found('N', "x"), down()});
    EXPECT_EQ(n.outcome, Outcome::retry);
    EXPECT_TRUE(n.actions.empty());
}

TEST(Router, SenderNotInTheDirectoryCannotBeTold) {
    auto m = msg();
    auto d = router::decide(cfg, {m, not_found(), not_found()});
    EXPECT_EQ(d.outcome, Outcome::routed);
    ASSERT_EQ(d.actions.size(), 1u);
    EXPECT_EQ(d.actions[0].reply.via, Reply::Via::none);
}

TEST(Router, NoDestinationIsBad) {
    auto m = msg("");
    auto d = router::decide(cfg, {m, not_found(), std::nullopt});
    EXPECT_EQ(d.outcome, Outcome::bad);
}

TEST(Router, IncompleteMessagesAreMarked) {
    auto m = msg();
    auto d = router::decide(cfg, {m, found('S', "PJSIP/600"), std::nullopt, true});
    EXPECT_NE(d.detail.find("incomplete"), std::string::npos);
}

TEST(Router, OutcomeNames) {
    EXPECT_STREQ(router::to_string(Outcome::routed), "routed");
    EXPECT_STREQ(router::to_string(Outcome::held), "held");
    EXPECT_STREQ(router::to_string(Outcome::retry), "retry");
    EXPECT_STREQ(router::to_string(Outcome::failed), "failed");
    EXPECT_STREQ(router::to_string(Outcome::bad), "bad");
}

TEST(Router, UnknownSenderIsRoutedAndNobodyIsAnswered) {
    auto m = msg();
    m.oa.clear(); // no oa= in the file
    EXPECT_FALSE(router::needs_sender(cfg, m, not_found()));
    EXPECT_FALSE(router::needs_sender(cfg, m, found('C', "")));
    auto fax = router::decide(cfg, {m, found('F', "DAHDI/1"), std::nullopt});
    EXPECT_EQ(fax.outcome, Outcome::routed);
    ASSERT_EQ(fax.actions.size(), 1u);
    EXPECT_EQ(fax.actions[0].kind, Action::Kind::render_fax);
    EXPECT_EQ(fax.actions[0].from, "");
    EXPECT_NE(fax.detail.find("unknown sender"), std::string::npos) << fax.detail;
    auto unknown = router::decide(cfg, {m, not_found(), std::nullopt});
    ASSERT_EQ(unknown.actions.size(), 1u);
    EXPECT_EQ(unknown.actions[0].reply.via, Reply::Via::none);
    EXPECT_NE(unknown.actions[0].reply.why_none.find("unknown"), std::string::npos);
    EXPECT_EQ(unknown.detail.find("sender told"), std::string::npos) << unknown.detail;
    auto sip = router::decide(cfg, {m, found('T', "PJSIP/600"), std::nullopt});
    EXPECT_EQ(sip.actions[0].from, "anonymous");
    EXPECT_EQ(sip.actions[0].reply.via, Reply::Via::none);
}
