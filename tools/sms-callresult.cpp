// sms-callresult: AGI, from the `h` extension of the suite's fax and voice contexts: hand the
// call's result (FAXSTATUS..., or whether Playback was heard to the end) to sms-process.
#include "cli/cli.hpp"
#include "lasthop/lasthop_call.hpp"

#include <chrono>
#include <csignal>

int main(int argc, char** argv) {
    sms::cli::App app{"sms-callresult",
                      "AGI: hand the result of a fax or voice delivery call to sms-process."};
    std::string service;
    app.positional("SERVICE", service, "fax or voice: which results to read");
    app.footer("Run by the dialplan's h extension as AGI(sms-callresult,fax) or "
               "AGI(sms-callresult,voice): reads SMS_ID, SMS_ATTEMPT and FAXSTATUS, FAXERROR, "
               "FAXPAGES (fax) or SMS_PLAYED, PLAYBACKSTATUS (voice) with GET VARIABLE and "
               "records them for sms-process.");
    // Asterisk may signal a hang-up with SIGHUP: the result must still be written.
    std::signal(SIGHUP, SIG_IGN);
    return app.run(argc, argv, [&](sms::cli::Context& ctx) -> int {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        return sms::lasthop_call::hand_over(ctx.config, service, stdin, stdout, now);
    });
}
