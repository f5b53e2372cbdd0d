// Tests of lib/state/layout: every path under the state folder, and the delivery call's name,
// as the released suite spells them (an upgrade finds its state where it left it).
#include "state/layout.hpp"

#include <gtest/gtest.h>
#include <tuple>

using namespace sms;

TEST(StateLayout, PathsAreTheReleasedOnes) {
    Config cfg;
    cfg.general.spool_dir = "/var/spool/asterisk";
    const std::string r = "/var/spool/asterisk/sms/.sms-suite";
    EXPECT_EQ(state::root(cfg), r);
    EXPECT_EQ(state::journal_dir(cfg), r + "/journal");
    EXPECT_EQ(state::retry_dir(cfg), r + "/retry");
    EXPECT_EQ(state::refs_dir(cfg), r + "/refs");
    EXPECT_EQ(state::reassembly_lock(cfg), r + "/reassembly.lock");
    EXPECT_EQ(state::lasthop_dir(cfg), r + "/lasthop");
    EXPECT_EQ(state::mr_dir(cfg), r + "/lasthop/mr");
    EXPECT_EQ(state::sms_calls_dir(cfg), r + "/lasthop/calls");
    EXPECT_EQ(state::log_cursor(cfg), r + "/lasthop/cursor");
    EXPECT_EQ(state::received_texts(cfg), r + "/lasthop/received-texts");
    EXPECT_EQ(state::settle_lock(cfg), r + "/lasthop/settle.lock");
    EXPECT_EQ(state::call_records_dir(cfg), r + "/lasthop/records");
    EXPECT_EQ(state::call_results_dir(cfg), r + "/lasthop/results");
    EXPECT_EQ(state::sip_holds_dir(cfg), r + "/lasthop/sip");
}

TEST(StateLayout, FollowsTheSpoolFolder) {
    Config cfg;
    cfg.general.spool_dir = "/srv/pbx/spool/";
    EXPECT_EQ(state::root(cfg), "/srv/pbx/spool/sms/.sms-suite");
    EXPECT_EQ(state::settle_lock(cfg), "/srv/pbx/spool/sms/.sms-suite/lasthop/settle.lock");
}

TEST(StateLayout, DeliveryCallIsSmsqsName) {
    // smsq --mt --tx names it so; the suite and smsq must not queue two calls for one queue.
    EXPECT_EQ(state::delivery_call_name("0612345678"), "smsq.mttx.0612345678.1");
    EXPECT_EQ(state::delivery_call_name("+4930123"), "smsq.mttx.+4930123.1");
}

TEST(StateLayout, FaxAndVoiceCallNames) {
    // As the released suite names them (an upgrade finds its calls waiting or archived).
    EXPECT_EQ(state::fax_voice_call_name("48500100200.1795992927-24286", 'F', 1),
              "48500100200.1795992927-24286.fax.call");
    EXPECT_EQ(state::fax_voice_call_name("m", 'V', 1), "m.voice.call");
    EXPECT_EQ(state::fax_voice_call_name("m", 'F', 3), "m.fax.3.call");
    for (auto [stem, service, attempt] :
         {std::tuple{"a.b-c", 'F', 1}, std::tuple{"a.b-c", 'V', 2}, std::tuple{"x", 'F', 100}}) {
        auto c =
            state::parse_fax_voice_call_name(state::fax_voice_call_name(stem, service, attempt));
        ASSERT_TRUE(c);
        EXPECT_EQ(c->stem, stem);
        EXPECT_EQ(c->service, service);
        EXPECT_EQ(c->attempt, attempt);
    }
    // Not the suite's fax or voice calls: the SMS delivery call, callfile-gen's, odd names.
    for (const char* other : {"smsq.mttx.0612345678.1", "cf.1795992927.000000001.1.x.call",
                              ".fax.call", "m.fax", "m.fax.call.bak", "m.call"})
        EXPECT_FALSE(state::parse_fax_voice_call_name(other)) << other;
    // An attempt of 1 or less is never written with its number: read as part of the stem.
    auto one = state::parse_fax_voice_call_name("m.fax.1.call");
    EXPECT_FALSE(one);
}
