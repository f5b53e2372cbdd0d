// Tests of the suite's call files: an SMS delivery as smsq writes it, the fax and voice
// contexts of examples/extensions.conf, and the identity of a call the router waits for.
#include "core/calls.hpp"

#include <cctype>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <string>

using namespace sms;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The keys of a call file's "Key: value" lines, in lower case (Asterisk reads them so).
void keys(const std::string& text, std::set<std::string>& out) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (line.empty() || colon == std::string::npos)
            continue;
        std::string k;
        for (char ch : line.substr(0, colon))
            k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
        out.insert(k);
    }
}

} // namespace

TEST(Calls, TheSuitesCalls) {
    Config cfg;
    cfg.general.centre_send_number = "9001";
    auto s = callfile::sms_delivery(cfg, "PJSIP/1000", "48600700800");
    EXPECT_EQ(callfile::render(s), "Channel: PJSIP/1000\nCallerID: SMS <9001>\nMaxRetries: "
                                   "100\nRetryTime: 30\nWaitTime: 10\nArchive: yes\nApplication: "
                                   "SMS\nData: 48600700800,sn\n");
    // The keys smsq writes for the same job (fixtures/smsq), in any order and case, and
    // Archive (the last hop reads an expired call in outgoing_done/, fixtures/lasthop).
    std::set<std::string> ours, theirs = {"archive"};
    keys(callfile::render(s), ours);
    keys(slurp(std::string(SMS_TEST_DATA) + "/smsq/callfile.smsq.motx.48500100200.1"), theirs);
    EXPECT_EQ(ours, theirs);

    cfg.fax.localstationid = "+48 12 345";
    auto f = callfile::fax_delivery(cfg, "DAHDI/2", "/var/spool/asterisk/fax/x.tiff");
    std::string fr = callfile::render(f);
    // The fax context of examples/extensions.conf, not a bare SendFax (SPEC 2.11).
    EXPECT_EQ(fr.find("Application:"), std::string::npos);
    EXPECT_NE(fr.find("Context: sms-fax-out\nExtension: s\nPriority: 1\n"), std::string::npos);
    EXPECT_NE(fr.find("SetVar: SMS_FAX_FILE=/var/spool/asterisk/fax/x.tiff\n"), std::string::npos);
    EXPECT_NE(fr.find("SetVar: SMS_FAX_OPTIONS=F\n"), std::string::npos);
    EXPECT_EQ(fr.find("SMS_ID"), std::string::npos); // by hand: nobody waits for the result
    EXPECT_NE(fr.find("SetVar: FAXOPT(localstationid)=+48 12 345\n"), std::string::npos);
    EXPECT_NE(fr.find("SetVar: FAXOPT(ecm)=yes\n"), std::string::npos);
    EXPECT_NE(fr.find("SetVar: FAXOPT(minrate)=2400\n"), std::string::npos);
    EXPECT_NE(fr.find("SetVar: FAXOPT(maxrate)=14400\n"), std::string::npos);
    EXPECT_NE(fr.find("Archive: yes\n"), std::string::npos);
    EXPECT_NE(fr.find("MaxRetries: 10\nRetryTime: 600\nWaitTime: 40\n"), std::string::npos);

    auto v = callfile::voice_delivery(cfg, "PJSIP/7", "/var/spool/asterisk/voice/m1.wav");
    std::string vr = callfile::render(v);
    EXPECT_NE(vr.find("Context: sms-voice-out\nExtension: s\n"), std::string::npos);
    EXPECT_NE(vr.find("SetVar: SMS_VOICE_FILE=/var/spool/asterisk/voice/m1\n"), std::string::npos);

    // A call the router waits for: its identity, and archived whatever [voice] archive says.
    cfg.voice.archive = false;
    auto w = callfile::voice_delivery(cfg, "PJSIP/7", "/v/m1.wav", {"m1.stem", 3});
    std::string wr = callfile::render(w);
    EXPECT_NE(wr.find("SetVar: SMS_ID=m1.stem\nSetVar: SMS_ATTEMPT=3\n"), std::string::npos);
    EXPECT_NE(wr.find("Archive: yes\n"), std::string::npos);
}
