// Tests of lib/state/layout: every path under the state folder, and the delivery call's name,
// as the released suite spells them (an upgrade finds its state where it left it).
#include "state/layout.hpp"

#include <gtest/gtest.h>

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
