// The suite's call files, from the configuration.
#include "core/calls.hpp"

#include <fmt/format.h>
#include <string_view>

namespace sms::callfile {

CallFile sms_delivery(const Config& cfg, const std::string& channel, const std::string& queue) {
    CallFile c;
    c.channel = channel;
    c.callerid = fmt::format("SMS <{}>", cfg.general.centre_send_number);
    c.max_retries = cfg.sms.max_retries;
    c.retry_time = cfg.sms.retry_time;
    c.wait_time = cfg.sms.wait_time;
    // Archived, so that a call that expired (no answer, busy) is seen in outgoing_done/; with
    // app_sms's privacy option its log holds the text's length instead of the text.
    c.archive = true;
    const std::string options = cfg.sms.privacy ? "sn" : "s";
    if (cfg.sms.context.empty()) {
        c.application = "SMS";
        c.data = fmt::format("{},{}", queue, options);
    } else {
        // The context runs the same SMS() and then settles at once (sms-process in `h`).
        c.context = cfg.sms.context;
        c.extension = "s";
        c.setvars.emplace_back("SMS_QUEUE", queue);
        c.setvars.emplace_back("SMS_OPTIONS", options);
    }
    return c;
}

namespace {

// The message's identity, for the dialplan's `h` extension to hand back.
void set_identity(CallFile& c, const CallId& id) {
    if (id.id.empty())
        return;
    c.setvars.emplace_back("SMS_ID", id.id);
    c.setvars.emplace_back("SMS_ATTEMPT", std::to_string(id.attempt));
    c.archive = true; // an Expired call is read back from outgoing_done/
}

// A call to `channel` through `context` (extension s), dialled as the [fax] or [voice]
// section `k` says.
template <class Section>
CallFile through_context(const Section& k, const std::string& channel, const char* context) {
    CallFile c;
    c.channel = channel;
    c.callerid = k.callerid;
    c.max_retries = k.max_retries;
    c.retry_time = k.retry_time;
    c.wait_time = k.wait_time;
    c.archive = k.archive;
    c.context = context;
    c.extension = "s";
    return c;
}

} // namespace

CallFile fax_delivery(const Config& cfg, const std::string& channel, const std::string& tiff_path,
                      const CallId& id) {
    const FaxConfig& f = cfg.fax;
    // The context sends the fax and reports FAXSTATUS from `h`: with a bare Application the
    // result of SendFax is lost (fixtures/lasthop/fax).
    CallFile c = through_context(f, channel, fax_context);
    c.setvars.emplace_back("SMS_FAX_FILE", tiff_path);
    c.setvars.emplace_back("SMS_FAX_OPTIONS", f.sendfax_options);
    set_identity(c, id);
    if (!f.localstationid.empty()) {
        c.setvars.emplace_back("FAXOPT(localstationid)", f.localstationid);
    }
    c.setvars.emplace_back("FAXOPT(ecm)", f.ecm ? "yes" : "no");
    c.setvars.emplace_back("FAXOPT(minrate)", std::to_string(f.minrate));
    c.setvars.emplace_back("FAXOPT(maxrate)", std::to_string(f.maxrate));
    if (!f.headerinfo.empty()) {
        c.setvars.emplace_back("FAXOPT(headerinfo)", f.headerinfo);
    }
    return c;
}

CallFile voice_delivery(const Config& cfg, const std::string& channel, const std::string& wav_path,
                        const CallId& id) {
    const VoiceConfig& v = cfg.voice;
    // The context plays the file and reports from `h` whether it got past Playback (a hang-up
    // during Playback still leaves PLAYBACKSTATUS=SUCCESS: fixtures/lasthop/playback).
    CallFile c = through_context(v, channel, voice_context);
    // Playback takes the file without its extension and picks the format itself.
    std::string_view p = wav_path;
    if (p.size() > 4 && p.substr(p.size() - 4) == ".wav") {
        p.remove_suffix(4);
    }
    c.setvars.emplace_back("SMS_VOICE_FILE", std::string(p));
    set_identity(c, id);
    return c;
}

} // namespace sms::callfile
