// The suite's own call files (SPEC 2.7, 2.11): what each delivery asks Asterisk to dial (an SMS
// to a phone through app_sms, a fax, a spoken message), built from the configuration. The
// format, its checks and the queueing are in asterisk/callfile.
#pragma once

#include "asterisk/callfile.hpp"
#include "core/config.hpp"

#include <string>

namespace sms::callfile {

// The dialplan contexts of examples/extensions.conf that place the suite's fax and voice calls
// and report their outcome from `h` (SPEC 2.11).
inline constexpr const char* fax_context = "sms-fax-out";
inline constexpr const char* voice_context = "sms-voice-out";

// Which message and which attempt a fax or voice call delivers: set as SMS_ID and SMS_ATTEMPT
// so that the dialplan's `h` extension hands them back with the result (sms-callresult(8)).
// An empty id: a call of sms2fax/sms2voice run by hand, whose result nobody waits for.
struct CallId {
    std::string id;
    int attempt = 1;
};

// The suite's three call files, from the configuration.
// SMS delivery to a phone: Channel <channel>, CallerID "SMS <centre_send_number>",
// Application SMS, Data "<queue>,s", [sms] retries.
CallFile sms_delivery(const Config& cfg, const std::string& channel, const std::string& queue);

// Fax: Context sms-fax-out, extension s, SetVar SMS_FAX_FILE=<tiff>,
// SMS_FAX_OPTIONS=<sendfax_options>, SMS_ID, SMS_ATTEMPT, FAXOPT(...) variables, [fax]; archived
// when `id` is set (the router reads Expired calls from outgoing_done/).
CallFile fax_delivery(const Config& cfg, const std::string& channel, const std::string& tiff_path,
                      const CallId& id = {});
// Voice: Context sms-voice-out, SetVar SMS_VOICE_FILE = the WAV path without ".wav", SMS_ID,
// SMS_ATTEMPT, [voice]; archived when `id` is set.
CallFile voice_delivery(const Config& cfg, const std::string& channel, const std::string& wav_path,
                        const CallId& id = {});

} // namespace sms::callfile
