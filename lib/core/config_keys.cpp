// The configuration's keys (SPEC 5): each one's section, name, parser and range.
#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/address.hpp"
#include "core/config.hpp"
#include "core/config_internal.hpp"
#include "core/quiet.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fmt/format.h>

namespace sms::config_keys {

namespace {

long to_long(std::string_view v, long lo, long hi) {
    long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        throw BadValue{fmt::format("not a whole number: '{}'", v)};
    if (n < lo || n > hi)
        throw BadValue{fmt::format("{} is out of range ({} to {})", n, lo, hi)};
    return n;
}

double to_double(std::string_view v, double lo, double hi) {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno != 0)
        throw BadValue{fmt::format("not a number: '{}'", v)};
    if (d < lo || d > hi)
        throw BadValue{fmt::format("{} is out of range ({} to {})", v, lo, hi)};
    return d;
}

bool to_bool(std::string_view v) {
    auto l = text::lower(v);
    if (l == "yes" || l == "true" || l == "on" || l == "1")
        return true;
    if (l == "no" || l == "false" || l == "off" || l == "0")
        return false;
    throw BadValue{fmt::format("expected yes or no, not '{}'", v)};
}

std::string to_number(std::string_view v) {
    if (!spool::valid_number(v))
        throw BadValue{fmt::format("not a phone number (digits, optional leading +): '{}'", v)};
    return std::string(v);
}

template <typename Section, typename Field>
Setter text(Section Config::*sec, Field Section::*field) {
    return [sec, field](Config& c, std::string_view v) { (c.*sec).*field = std::string(v); };
}
template <typename Section>
Setter integer(Section Config::*sec, int Section::*field, long lo, long hi) {
    return [=](Config& c, std::string_view v) {
        (c.*sec).*field = static_cast<int>(to_long(v, lo, hi));
    };
}
template <typename Section>
Setter real(Section Config::*sec, double Section::*field, double lo, double hi) {
    return [=](Config& c, std::string_view v) { (c.*sec).*field = to_double(v, lo, hi); };
}
template <typename Section>
Setter boolean(Section Config::*sec, bool Section::*field) {
    return [=](Config& c, std::string_view v) { (c.*sec).*field = to_bool(v); };
}
template <typename Section>
Setter number(Section Config::*sec, std::string Section::*field) {
    return [=](Config& c, std::string_view v) { (c.*sec).*field = to_number(v); };
}
template <typename Section, typename Enum>
Setter choice(Section Config::*sec, Enum Section::*field,
              std::vector<std::pair<std::string_view, Enum>> options) {
    return [=](Config& c, std::string_view v) {
        auto l = text::lower(v);
        std::string names;
        for (const auto& [n, e] : options) {
            if (n == l) {
                (c.*sec).*field = e;
                return;
            }
            names += names.empty() ? std::string(n) : " | " + std::string(n);
        }
        throw BadValue{fmt::format("expected {}, not '{}'", names, v)};
    };
}

// A folder whose files the dialplan hands to an application as an argument.
template <typename Section>
Setter call_folder(Section Config::*sec, std::string Section::*field) {
    return [=](Config& c, std::string_view v) {
        if (callfile::splits_arguments(v))
            throw BadValue{fmt::format("'{}' holds a ',' or '&', which would split the path into "
                                       "several arguments of the call's application",
                                       text::shown(v))};
        (c.*sec).*field = std::string(v);
    };
}

Setter identifier(std::string DirectoryConfig::*field) {
    return [=](Config& c, std::string_view v) {
        bool ok = !v.empty() && v.size() <= 64;
        for (char ch : v)
            ok = ok && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '_');
        if (!ok)
            throw BadValue{fmt::format("not an SQL identifier (letters, digits, _): '{}'", v)};
        c.directory.*field = std::string(v);
    };
}

} // namespace

// Every key of the file, one line each with its section, name, parser and range. Kept whole
// (over 200 lines): a table reads better in one piece, and split into functions it would only
// hide where a key is.
const std::vector<Key>& keys() {
    using C = Config;
    static const std::vector<Key> k = {
        {"general", "spool_dir", text(&C::general, &GeneralConfig::spool_dir)},
        {"general", "centre_receive_number", number(&C::general, &GeneralConfig::centre_receive_number)},
        {"general", "centre_send_number", number(&C::general, &GeneralConfig::centre_send_number)},
        {"general", "concatenate", boolean(&C::general, &GeneralConfig::concatenate)},
        {"general", "max_parts", integer(&C::general, &GeneralConfig::max_parts, 1, 255)},
        {"general", "unicode",
         choice(&C::general, &GeneralConfig::unicode,
                {{"transliterate", UnicodePolicy::transliterate}, {"ucs2", UnicodePolicy::ucs2}})},
        {"general", "reassembly_timeout",
         integer(&C::general, &GeneralConfig::reassembly_timeout, 0, 30 * 86400)},
        {"general", "retry_limit", integer(&C::general, &GeneralConfig::retry_limit, 0, 365 * 86400)},
        {"general", "incomplete_grace",
         integer(&C::general, &GeneralConfig::incomplete_grace, 0, 86400)},
        {"general", "syslog_facility",
         [](Config& c, std::string_view v) {
             if (!log::valid_facility(text::lower(v)))
                 throw BadValue{fmt::format("unknown syslog facility '{}'", v)};
             c.general.syslog_facility = text::lower(v);
         }},
        {"general", "log_text", boolean(&C::general, &GeneralConfig::log_text)},
        {"general", "bad_dir", text(&C::general, &GeneralConfig::bad_dir)},
        {"general", "failed_dir", text(&C::general, &GeneralConfig::failed_dir)},
        {"general", "bin_dir", text(&C::general, &GeneralConfig::bin_dir)},

        {"directory", "backend",
         choice(&C::directory, &DirectoryConfig::backend,
                {{"sqlite", DirectoryBackend::sqlite}, {"mysql", DirectoryBackend::mysql}})},
        {"directory", "sqlite_path", text(&C::directory, &DirectoryConfig::sqlite_path)},
        {"directory", "host", text(&C::directory, &DirectoryConfig::host)},
        {"directory", "port", integer(&C::directory, &DirectoryConfig::port, 1, 65535)},
        {"directory", "socket", text(&C::directory, &DirectoryConfig::socket)},
        {"directory", "user", text(&C::directory, &DirectoryConfig::user)},
        {"directory", "password", text(&C::directory, &DirectoryConfig::password)},
        {"directory", "database", text(&C::directory, &DirectoryConfig::database)},
        {"directory", "table", identifier(&DirectoryConfig::table)},
        {"directory", "account_column", identifier(&DirectoryConfig::account_column)},
        {"directory", "service_column", identifier(&DirectoryConfig::service_column)},
        {"directory", "extension_column", identifier(&DirectoryConfig::extension_column)},
        {"directory", "timeout", integer(&C::directory, &DirectoryConfig::timeout, 1, 3600)},

        {"sms", "max_retries", integer(&C::sms, &SmsConfig::max_retries, 0, 100000)},
        {"sms", "retry_time", integer(&C::sms, &SmsConfig::retry_time, 1, 86400)},
        {"sms", "wait_time", integer(&C::sms, &SmsConfig::wait_time, 1, 3600)},
        {"sms", "log", text(&C::sms, &SmsConfig::log)},
        {"sms", "privacy", boolean(&C::sms, &SmsConfig::privacy)},
        {"sms", "context", text(&C::sms, &SmsConfig::context)},

        {"delivery", "max_attempts", integer(&C::delivery, &DeliveryConfig::max_attempts, 1, 1000)},
        {"delivery", "give_up", integer(&C::delivery, &DeliveryConfig::give_up, 0, 365 * 86400)},
        {"delivery", "receipts",
         choice(&C::delivery, &DeliveryConfig::receipts,
                {{"failures", Receipts::failures},
                 {"always", Receipts::always},
                 {"never", Receipts::never}})},
        {"delivery", "quiet_hours",
         [](Config& c, std::string_view v) {
             if (!text::trim(v).empty() && !quiet::parse(v))
                 throw BadValue{fmt::format("expected HH:MM-HH:MM (two different times), not '{}'",
                                            v)};
             c.delivery.quiet_hours = std::string(text::trim(v));
         }},
        {"delivery", "quiet_services",
         [](Config& c, std::string_view v) {
             for (char ch : v)
                 if (ch != ' ' && ch != ',' && std::string_view("SFVCT").find(ch) == std::string_view::npos)
                     throw BadValue{fmt::format("expected service letters (S F V C T), not '{}'", v)};
             c.delivery.quiet_services = std::string(v);
         }},

        {"ami", "host", text(&C::ami, &AmiConfig::host)},
        {"ami", "port", integer(&C::ami, &AmiConfig::port, 1, 65535)},
        {"ami", "username", text(&C::ami, &AmiConfig::username)},
        {"ami", "secret", text(&C::ami, &AmiConfig::secret)},
        {"ami", "auth",
         choice(&C::ami, &AmiConfig::auth, {{"plain", AmiAuth::plain}, {"md5", AmiAuth::md5}})},
        {"ami", "technology", text(&C::ami, &AmiConfig::technology)},
        {"ami", "from", text(&C::ami, &AmiConfig::from)},
        {"ami", "timeout", integer(&C::ami, &AmiConfig::timeout, 1, 3600)},

        {"fax", "dir", call_folder(&C::fax, &FaxConfig::dir)},
        {"fax", "resolution",
         choice(&C::fax, &FaxConfig::resolution,
                {{"standard", FaxResolution::standard},
                 {"fine", FaxResolution::fine},
                 {"superfine", FaxResolution::superfine}})},
        {"fax", "font", text(&C::fax, &FaxConfig::font)},
        {"fax", "fallback_fonts",
         [](Config& c, std::string_view v) {
             c.fax.fallback_fonts.clear();
             while (!v.empty()) {
                 auto comma = v.find(',');
                 auto item = text::trim(v.substr(0, comma));
                 if (!item.empty())
                     c.fax.fallback_fonts.emplace_back(item);
                 v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
             }
         }},
        {"fax", "font_size", real(&C::fax, &FaxConfig::font_size, 4.0, 72.0)},
        {"fax", "top_margin", real(&C::fax, &FaxConfig::top_margin, 0.0, 288.0)},
        {"fax", "cut_margin", integer(&C::fax, &FaxConfig::cut_margin, 0, 2000)},
        {"fax", "max_pages", integer(&C::fax, &FaxConfig::max_pages, 1, 1000)},
        {"fax", "header_text", text(&C::fax, &FaxConfig::header_text)},
        {"fax", "time_text", text(&C::fax, &FaxConfig::time_text)},
        {"fax", "callerid", text(&C::fax, &FaxConfig::callerid)},
        {"fax", "localstationid", text(&C::fax, &FaxConfig::localstationid)},
        {"fax", "headerinfo", text(&C::fax, &FaxConfig::headerinfo)},
        {"fax", "ecm", boolean(&C::fax, &FaxConfig::ecm)},
        {"fax", "minrate", integer(&C::fax, &FaxConfig::minrate, 2400, 14400)},
        {"fax", "maxrate", integer(&C::fax, &FaxConfig::maxrate, 2400, 14400)},
        {"fax", "sendfax_options", text(&C::fax, &FaxConfig::sendfax_options)},
        {"fax", "max_retries", integer(&C::fax, &FaxConfig::max_retries, 0, 100000)},
        {"fax", "retry_time", integer(&C::fax, &FaxConfig::retry_time, 1, 86400)},
        {"fax", "wait_time", integer(&C::fax, &FaxConfig::wait_time, 1, 3600)},
        {"fax", "archive", boolean(&C::fax, &FaxConfig::archive)},
        {"fax", "logo", text(&C::fax, &FaxConfig::logo)},
        {"fax", "logo_width", real(&C::fax, &FaxConfig::logo_width, 5.0, 190.0)},
        {"fax", "logo_dither",
         choice(&C::fax, &FaxConfig::logo_dither,
                {{"ordered", FaxDither::ordered},
                 {"floyd-steinberg", FaxDither::floyd_steinberg},
                 {"threshold", FaxDither::threshold},
                 {"halftone", FaxDither::halftone},
                 {"auto", FaxDither::automatic}})},
        {"fax", "image_dither",
         choice(&C::fax, &FaxConfig::image_dither,
                {{"ordered", FaxDither::ordered},
                 {"floyd-steinberg", FaxDither::floyd_steinberg},
                 {"threshold", FaxDither::threshold},
                 {"halftone", FaxDither::halftone},
                 {"auto", FaxDither::automatic}})},
        {"fax", "image_max_memory", integer(&C::fax, &FaxConfig::image_max_memory, 16, 65536)},
        {"fax", "image_max_disk", integer(&C::fax, &FaxConfig::image_max_disk, 0, 1048576)},
        {"fax", "image_max_area", integer(&C::fax, &FaxConfig::image_max_area, 1, 65536)},
        {"fax", "image_max_width", integer(&C::fax, &FaxConfig::image_max_width, 16, 1000000)},
        {"fax", "image_max_height", integer(&C::fax, &FaxConfig::image_max_height, 16, 1000000)},
        {"fax", "image_max_time", integer(&C::fax, &FaxConfig::image_max_time, 1, 86400)},
        {"fax", "max_attempts", integer(&C::fax, &FaxConfig::max_attempts, 1, 1000)},
        {"fax", "give_up", integer(&C::fax, &FaxConfig::give_up, 0, 365 * 86400)},

        {"voice", "dir", call_folder(&C::voice, &VoiceConfig::dir)},
        {"voice", "language", text(&C::voice, &VoiceConfig::language)},
        {"voice", "lead_silence", real(&C::voice, &VoiceConfig::lead_silence, 0.0, 60.0)},
        {"voice", "header_text", text(&C::voice, &VoiceConfig::header_text)},
        {"voice", "time_text", text(&C::voice, &VoiceConfig::time_text)},
        {"voice", "at_text", text(&C::voice, &VoiceConfig::at_text)},
        {"voice", "reference_text", text(&C::voice, &VoiceConfig::reference_text)},
        {"voice", "give_date", boolean(&C::voice, &VoiceConfig::give_date)},
        {"voice", "give_reference", boolean(&C::voice, &VoiceConfig::give_reference)},
        {"voice", "digits", boolean(&C::voice, &VoiceConfig::digits)},
        {"voice", "max_seconds", integer(&C::voice, &VoiceConfig::max_seconds, 1, 3600)},
        {"voice", "callerid", text(&C::voice, &VoiceConfig::callerid)},
        {"voice", "max_retries", integer(&C::voice, &VoiceConfig::max_retries, 0, 100000)},
        {"voice", "retry_time", integer(&C::voice, &VoiceConfig::retry_time, 1, 86400)},
        {"voice", "wait_time", integer(&C::voice, &VoiceConfig::wait_time, 1, 3600)},
        {"voice", "archive", boolean(&C::voice, &VoiceConfig::archive)},
        {"voice", "max_attempts", integer(&C::voice, &VoiceConfig::max_attempts, 1, 1000)},
        {"voice", "give_up", integer(&C::voice, &VoiceConfig::give_up, 0, 365 * 86400)},

        {"commands", "numbers",
         [](Config& c, std::string_view v) {
             c.commands.numbers.clear();
             while (!v.empty()) {
                 auto comma = v.find(',');
                 auto item = text::trim(v.substr(0, comma));
                 c.commands.numbers.push_back(to_number(item));
                 v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
             }
         }},
        {"commands", "timeout", integer(&C::commands, &CommandsConfig::timeout, 1, 3600)},
        {"commands", "unknown_reply", text(&C::commands, &CommandsConfig::unknown_reply)},
        {"commands", "error_reply", text(&C::commands, &CommandsConfig::error_reply)},

        {"texts", "cannot_deliver", text(&C::texts, &TextsConfig::cannot_deliver)},
        {"texts", "not_logged_in", text(&C::texts, &TextsConfig::not_logged_in)},
        {"texts", "disabled", text(&C::texts, &TextsConfig::disabled)},
        {"texts", "no_such_number", text(&C::texts, &TextsConfig::no_such_number)},
        {"texts", "wrong_number", text(&C::texts, &TextsConfig::wrong_number)},
        {"texts", "unknown_sender", text(&C::texts, &TextsConfig::unknown_sender)},
        {"texts", "not_accepted", text(&C::texts, &TextsConfig::not_accepted)},
        {"texts", "not_answered", text(&C::texts, &TextsConfig::not_answered)},
        {"texts", "delivered", text(&C::texts, &TextsConfig::delivered)},
        {"texts", "delivered_at", text(&C::texts, &TextsConfig::delivered_at)},
        {"texts", "fax_failed", text(&C::texts, &TextsConfig::fax_failed)},
        {"texts", "voice_failed", text(&C::texts, &TextsConfig::voice_failed)},
        {"texts", "sip_held", text(&C::texts, &TextsConfig::sip_held)},

        {"sip", "hold_time", integer(&C::sip, &SipConfig::hold_time, 0, 365 * 86400)},
        {"sip", "tell_held", boolean(&C::sip, &SipConfig::tell_held)},
        {"sip", "confirm",
         choice(&C::sip, &SipConfig::confirm,
                {{"qualify", SipConfirm::qualify}, {"no", SipConfirm::no}})},
        {"sip", "confirm_window", integer(&C::sip, &SipConfig::confirm_window, 1, 86400)},

        {"mail", "sendmail", text(&C::mail, &MailConfig::sendmail)},
        {"mail", "from",
         [](Config& c, std::string_view v) {
             v = text::trim(v);
             if (auto p = address::problem(v); !v.empty() && !p.empty())
                 throw BadValue{p};
             c.mail.from = std::string(v);
         }},
        {"mail", "domain",
         [](Config& c, std::string_view v) {
             v = text::trim(v);
             if (auto p = address::domain_problem(v); !v.empty() && !p.empty())
                 throw BadValue{p};
             c.mail.domain = std::string(v);
         }},
        {"mail", "max_size", integer(&C::mail, &MailConfig::max_size, 1024, 1 << 30)},
    };
    return k;
}

} // namespace sms::config_keys
