// The suite's configuration: an Asterisk-style INI file read into typed settings (SPEC 5).
#pragma once

#include "asterisk/ami.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sms {

enum class UnicodePolicy { transliterate, ucs2 };
enum class DirectoryBackend { sqlite, mysql };
enum class FaxResolution { standard, fine, superfine };
enum class FaxDither { ordered, floyd_steinberg, threshold, halftone, automatic };

struct GeneralConfig {
    std::string spool_dir = "/var/spool/asterisk";
    std::string centre_receive_number = "9000";
    std::string centre_send_number = "9001";
    bool concatenate = true;
    int max_parts = 10;
    UnicodePolicy unicode = UnicodePolicy::transliterate;
    int reassembly_timeout = 3600; // seconds
    int retry_limit = 86400;       // seconds
    int incomplete_grace = 10;     // seconds an unfinished file is left to its writer
    std::string syslog_facility = "user";
    bool log_text = false;
    std::string bad_dir;    // default: <spool>/sms/morx/bad
    std::string failed_dir; // default: <spool>/sms/morx/failed
    std::string bin_dir;    // where sibling tools live; default: next to the running binary
};

struct DirectoryConfig {
    DirectoryBackend backend = DirectoryBackend::sqlite;
    std::string sqlite_path = "/var/lib/sms-suite/directory.db";
    std::string host;
    int port = 3306;
    std::string socket;
    std::string user;
    std::string password;
    std::string database;
    std::string table = "PBXNumbers";
    std::string account_column = "Account";
    std::string service_column = "Message";
    std::string extension_column = "Extension";
    int timeout = 3; // seconds
};

struct SmsConfig {
    int max_retries = 100;
    int retry_time = 30;
    int wait_time = 10;
    std::string log = "/var/log/asterisk/sms"; // app_sms's log, read to confirm delivery
    bool privacy = true; // delivery calls use app_sms's option n (no text in its log)
    // The dialplan context delivery calls run instead of Application: SMS (examples/
    // extensions.conf [sms-deliver]: SMS(), then sms-process in `h`); empty: the application.
    std::string context;
};

// Who hears of a delivery to a phone: always (every confirmed delivery), failures (give-ups,
// and receipts only for srr=1), never.
enum class Receipts { failures, always, never };

// [delivery]: the last hop (SPEC 2.11). max_attempts and give_up are for SMS phones; fax and
// voice calls have their own in [fax] and [voice].
struct DeliveryConfig {
    int max_attempts = 5; // delivery attempts to an S phone before giving up
    int give_up = 259200; // seconds after the first attempt
    Receipts receipts = Receipts::failures;
    std::string quiet_hours;            // "HH:MM-HH:MM" local time, empty: none
    std::string quiet_services = "V F"; // the letters quiet_hours applies to
};

struct FaxConfig {
    std::string dir = "/var/spool/asterisk/fax";
    FaxResolution resolution = FaxResolution::fine;
    std::string font = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
    // Fonts for the characters `font` lacks, first that has it wins (CJK, then emoji).
    std::vector<std::string> fallback_fonts = {
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"};
    double font_size = 10.0;  // points
    double top_margin = 18.0; // points
    int cut_margin = 94;      // rows at fine resolution; halved at standard, doubled at superfine
    int max_pages = 10;
    std::string header_text = "Text message from ";
    std::string time_text = " sent ";
    std::string callerid;
    std::string localstationid;
    std::string headerinfo;
    bool ecm = true;
    int minrate = 2400;
    int maxrate = 14400;
    std::string sendfax_options = "F";
    int max_retries = 10;
    int retry_time = 600;
    int wait_time = 40;
    bool archive = true;
    // Pictures (the sms-fax-image module, Magick++).
    std::string logo;         // a picture above the first page's text; empty: none
    double logo_width = 40.0; // mm; the box is as high as it is wide, aspect kept
    FaxDither logo_dither = FaxDither::threshold;
    FaxDither image_dither = FaxDither::automatic;
    int image_max_memory = 256;   // MiB of pixel cache in memory
    int image_max_disk = 1024;    // MiB of pixel cache on disk
    int image_max_area = 128;     // megapixels in one frame
    int image_max_width = 16384;  // pixels
    int image_max_height = 16384; // pixels
    int image_max_time = 60;      // seconds
    int max_attempts = 3;         // calls that did not deliver it before the sender is told (2.11)
    int give_up = 86400;          // seconds after the first call: no new call after that
};

struct VoiceConfig {
    std::string dir = "/var/spool/asterisk/voice";
    std::string language = "en";
    double lead_silence = 1.0; // seconds
    std::string header_text = "Message from ";
    std::string time_text = " sent ";
    std::string at_text = "at";
    std::string reference_text = " having reference number ";
    bool give_date = false;
    bool give_reference = false;
    bool digits = true;
    int max_seconds = 300;
    std::string callerid;
    int max_retries = 10;
    int retry_time = 600;
    int wait_time = 40;
    bool archive = true;
    int max_attempts = 3; // calls that were not heard to the end before the sender is told
    int give_up = 86400;  // seconds after the first call: no new call after that
};

// [sip] confirm: how a SIP message is known to reach its user. qualify: the manager is asked
// for the user's contacts (PJSIPShowEndpoint) before sending, and a user none of whose contacts
// answers qualify is held as if Asterisk had refused the message; no: MessageSend's Success is
// taken as delivered (the behaviour of chan_sip sites).
enum class SipConfirm { qualify, no };

// [sip]: messages for SIP users Asterisk cannot reach (store and forward).
struct SipConfig {
    int hold_time = 86400;  // seconds a message waits for an unreachable user
    bool tell_held = false; // tell the sender at once that it waits
    SipConfirm confirm = SipConfirm::qualify;
    // A sent message is delivered once its contact stayed reachable for the contact's qualify
    // round (qualify_frequency + qualify_timeout, from the manager); this many seconds when the
    // manager does not report the round.
    int confirm_window = 60;
};

// [mail]: service E (SPEC 2.14): e-mail through the local mail server, and sms-mail-in.
struct MailConfig {
    std::string sendmail = "/usr/sbin/sendmail"; // run as `sendmail -t -oi`, no shell
    std::string from;                            // From: address; empty: sms-suite@<host name>
    std::string domain;                          // Reply-To: <number>@domain; empty: no Reply-To
    int max_size = 1048576;                      // bytes of a mail sms-mail-in reads
};

struct CommandsConfig {
    std::vector<std::string> numbers = {"1000"};
    int timeout = 5; // seconds
    std::string unknown_reply = "Unknown command.";
    std::string error_reply = "Unable to complete the order. Please try again in a few minutes.";
    // Command word (upper case) -> action: a fixed reply, "builtin:help|uptime|echo", or
    // "exec:/path/to/program arg...".
    std::map<std::string, std::string> words;
};

struct TextsConfig {
    std::string cannot_deliver = "Cannot deliver SMS to";
    std::string not_logged_in = "VoIP user not logged in.";
    std::string disabled = "Subscriber has disabled messaging service.";
    std::string no_such_number = "Number does not exist.";
    std::string wrong_number = "Wrong number.";
    std::string unknown_sender =
        "unknown"; // the fax header and the voice for a message with no oa=
    std::string not_accepted = "The phone did not accept it.";
    std::string not_answered = "The phone did not answer.";
    std::string delivered = "Delivered to"; // "<> <da> <delivered_at> <time>."
    std::string delivered_at = "at";
    std::string fax_failed = "Cannot deliver fax to";             // "<> <da>: <reason>."
    std::string voice_failed = "Cannot deliver voice message to"; // "<> <da>: <reason>."
    std::string sip_held = "is offline; your message will be delivered when they are back.";
};

struct Config {
    GeneralConfig general;
    DirectoryConfig directory;
    SmsConfig sms;
    AmiConfig ami;
    FaxConfig fax;
    VoiceConfig voice;
    CommandsConfig commands;
    DeliveryConfig delivery;
    SipConfig sip;
    MailConfig mail;
    TextsConfig texts;
    std::string source; // the file it came from, empty for built-in defaults

    // Derived folders under the spool root.
    std::string morx_dir() const;
    std::string mttx_dir() const;
    std::string outgoing_dir() const;
    std::string bad_dir() const;
    std::string failed_dir() const;
};

// The default path, /etc/asterisk/sms-suite.conf.
inline constexpr std::string_view default_config_path = "/etc/asterisk/sms-suite.conf";

// Parses a whole file's text; `name` is used in error messages. Throws Error(Exit::config,
// "<name>:<line>: <key>", why) on an unknown section or key or a bad value.
Config parse_config(std::string_view text, std::string_view name);

// Refuses (Error(config), naming the file and why) a file the configuration names for the suite
// to run or load ([commands] exec: programs, sms2fax and sms2voice in [general] bin_dir, the fax
// fonts and logo) that is writable by its group or others or owned by another user than root or
// the running user, as sshd's StrictModes does. load_config applies it, and the same rule to the
// configuration file itself, which must also be a regular file.
void check_named_files(const Config& c);

// Reads the file at `path` (checking that a file with a password or secret is not readable by
// others). Throws Error(Exit::config, ...).
Config load_config(const std::string& path);

// The file to use: the explicit `--config` path, else $SMS_SUITE_CONF, else the default path;
// a missing default file means the built-in defaults, a missing named file is an error.
Config load_config_for(const std::string& explicit_path);

// Every "section.key" the reader accepts (for the documentation test).
std::vector<std::string> known_config_keys();

} // namespace sms
