// Helper of tests/e2e/manpages.sh: lists the keys the config reader accepts and dumps settings,
// so the test can hold sms-suite.conf(5) and examples/sms-suite.conf to the reader's truth.
#include "core/config.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

std::string dither(sms::FaxDither d) {
    switch (d) {
    case sms::FaxDither::ordered:
        return "ordered";
    case sms::FaxDither::floyd_steinberg:
        return "floyd-steinberg";
    case sms::FaxDither::halftone:
        return "halftone";
    case sms::FaxDither::automatic:
        return "auto";
    case sms::FaxDither::threshold:
        break;
    }
    return "threshold";
}

// Every setting as "section.key=value", one a line, in the reader's key order. Command words
// are left out: they are examples, not settings with defaults.
void dump(const sms::Config& c) {
    using namespace sms;
    const auto& g = c.general;
    const auto& d = c.directory;
    const auto& a = c.ami;
    const auto& f = c.fax;
    const auto& v = c.voice;
    const auto& m = c.commands;
    const auto& t = c.texts;
    std::string numbers;
    for (const auto& n : m.numbers)
        numbers += (numbers.empty() ? "" : ",") + n;
    const std::vector<std::pair<std::string_view, std::string>> rows = {
        {"general.spool_dir", g.spool_dir},
        {"general.centre_receive_number", g.centre_receive_number},
        {"general.centre_send_number", g.centre_send_number},
        {"general.concatenate", yes_no(g.concatenate)},
        {"general.max_parts", std::to_string(g.max_parts)},
        {"general.unicode", g.unicode == UnicodePolicy::ucs2 ? "ucs2" : "transliterate"},
        {"general.reassembly_timeout", std::to_string(g.reassembly_timeout)},
        {"general.retry_limit", std::to_string(g.retry_limit)},
        {"general.incomplete_grace", std::to_string(g.incomplete_grace)},
        {"general.syslog_facility", g.syslog_facility},
        {"general.log_text", yes_no(g.log_text)},
        {"general.bad_dir", g.bad_dir},
        {"general.failed_dir", g.failed_dir},
        {"general.bin_dir", g.bin_dir},
        {"directory.backend", d.backend == DirectoryBackend::mysql ? "mysql" : "sqlite"},
        {"directory.sqlite_path", d.sqlite_path},
        {"directory.host", d.host},
        {"directory.port", std::to_string(d.port)},
        {"directory.socket", d.socket},
        {"directory.user", d.user},
        {"directory.password", d.password},
        {"directory.database", d.database},
        {"directory.table", d.table},
        {"directory.account_column", d.account_column},
        {"directory.service_column", d.service_column},
        {"directory.extension_column", d.extension_column},
        {"directory.timeout", std::to_string(d.timeout)},
        {"sms.max_retries", std::to_string(c.sms.max_retries)},
        {"sms.retry_time", std::to_string(c.sms.retry_time)},
        {"sms.wait_time", std::to_string(c.sms.wait_time)},
        {"sms.log", c.sms.log},
        {"sms.privacy", yes_no(c.sms.privacy)},
        {"sms.context", c.sms.context},
        {"delivery.max_attempts", std::to_string(c.delivery.max_attempts)},
        {"delivery.give_up", std::to_string(c.delivery.give_up)},
        {"delivery.receipts", c.delivery.receipts == Receipts::always  ? "always"
                              : c.delivery.receipts == Receipts::never ? "never"
                                                                       : "failures"},
        {"ami.host", a.host},
        {"ami.port", std::to_string(a.port)},
        {"ami.username", a.username},
        {"ami.secret", a.secret},
        {"ami.auth", a.auth == AmiAuth::md5 ? "md5" : "plain"},
        {"ami.technology", a.technology},
        {"ami.from", a.from},
        {"ami.timeout", std::to_string(a.timeout)},
        {"fax.dir", f.dir},
        {"fax.resolution", f.resolution == FaxResolution::standard ? "standard"
                           : f.resolution == FaxResolution::fine   ? "fine"
                                                                   : "superfine"},
        {"fax.font", f.font},
        {"fax.fallback_fonts", fmt::format("{}", fmt::join(f.fallback_fonts, ","))},
        {"fax.font_size", fmt::format("{}", f.font_size)},
        {"fax.top_margin", fmt::format("{}", f.top_margin)},
        {"fax.cut_margin", std::to_string(f.cut_margin)},
        {"fax.max_pages", std::to_string(f.max_pages)},
        {"fax.header_text", f.header_text},
        {"fax.time_text", f.time_text},
        {"fax.callerid", f.callerid},
        {"fax.localstationid", f.localstationid},
        {"fax.headerinfo", f.headerinfo},
        {"fax.ecm", yes_no(f.ecm)},
        {"fax.minrate", std::to_string(f.minrate)},
        {"fax.maxrate", std::to_string(f.maxrate)},
        {"fax.sendfax_options", f.sendfax_options},
        {"fax.max_retries", std::to_string(f.max_retries)},
        {"fax.retry_time", std::to_string(f.retry_time)},
        {"fax.wait_time", std::to_string(f.wait_time)},
        {"fax.archive", yes_no(f.archive)},
        {"fax.logo", f.logo},
        {"fax.logo_width", fmt::format("{}", f.logo_width)},
        {"fax.logo_dither", dither(f.logo_dither)},
        {"fax.image_dither", dither(f.image_dither)},
        {"fax.image_max_memory", std::to_string(f.image_max_memory)},
        {"fax.image_max_disk", std::to_string(f.image_max_disk)},
        {"fax.image_max_area", std::to_string(f.image_max_area)},
        {"fax.image_max_width", std::to_string(f.image_max_width)},
        {"fax.image_max_height", std::to_string(f.image_max_height)},
        {"fax.image_max_time", std::to_string(f.image_max_time)},
        {"fax.max_attempts", std::to_string(f.max_attempts)},
        {"fax.give_up", std::to_string(f.give_up)},
        {"voice.dir", v.dir},
        {"voice.language", v.language},
        {"voice.lead_silence", fmt::format("{}", v.lead_silence)},
        {"voice.header_text", v.header_text},
        {"voice.time_text", v.time_text},
        {"voice.at_text", v.at_text},
        {"voice.reference_text", v.reference_text},
        {"voice.give_date", yes_no(v.give_date)},
        {"voice.give_reference", yes_no(v.give_reference)},
        {"voice.digits", yes_no(v.digits)},
        {"voice.max_seconds", std::to_string(v.max_seconds)},
        {"voice.callerid", v.callerid},
        {"voice.max_retries", std::to_string(v.max_retries)},
        {"voice.retry_time", std::to_string(v.retry_time)},
        {"voice.wait_time", std::to_string(v.wait_time)},
        {"voice.archive", yes_no(v.archive)},
        {"voice.max_attempts", std::to_string(v.max_attempts)},
        {"voice.give_up", std::to_string(v.give_up)},
        {"delivery.quiet_hours", c.delivery.quiet_hours},
        {"delivery.quiet_services", c.delivery.quiet_services},
        {"sip.hold_time", std::to_string(c.sip.hold_time)},
        {"sip.tell_held", yes_no(c.sip.tell_held)},
        {"sip.confirm", c.sip.confirm == SipConfirm::qualify ? "qualify" : "no"},
        {"sip.confirm_window", std::to_string(c.sip.confirm_window)},
        {"mail.sendmail", c.mail.sendmail},
        {"mail.from", c.mail.from},
        {"mail.domain", c.mail.domain},
        {"mail.max_size", std::to_string(c.mail.max_size)},
        {"commands.numbers", numbers},
        {"commands.timeout", std::to_string(m.timeout)},
        {"commands.unknown_reply", m.unknown_reply},
        {"commands.error_reply", m.error_reply},
        {"texts.cannot_deliver", t.cannot_deliver},
        {"texts.not_logged_in", t.not_logged_in},
        {"texts.disabled", t.disabled},
        {"texts.no_such_number", t.no_such_number},
        {"texts.wrong_number", t.wrong_number},
        {"texts.unknown_sender", t.unknown_sender},
        {"texts.not_accepted", t.not_accepted},
        {"texts.not_answered", t.not_answered},
        {"texts.delivered", t.delivered},
        {"texts.delivered_at", t.delivered_at},
        {"texts.fax_failed", t.fax_failed},
        {"texts.voice_failed", t.voice_failed},
        {"texts.sip_held", t.sip_held},
    };
    for (const auto& [key, value] : rows)
        fmt::print("{}={}\n", key, value);
}

} // namespace

// config_doc keys        every "section.key" the reader accepts
// config_doc defaults    the built-in settings, dumped
// config_doc dump FILE   the settings FILE gives, dumped (exit 78 with the reader's error)
int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    try {
        if (args.size() == 1 && args[0] == "keys") {
            for (const auto& k : sms::known_config_keys())
                fmt::print("{}\n", k);
        } else if (args.size() == 1 && args[0] == "defaults") {
            dump(sms::Config{});
        } else if (args.size() == 2 && args[0] == "dump") {
            const std::string path(args[1]);
            dump(sms::parse_config(sms::fs::read_file(path), path));
        } else {
            fmt::print(stderr, "usage: config_doc keys | defaults | dump FILE\n");
            return 64;
        }
    } catch (const sms::Error& e) {
        fmt::print(stderr, "config_doc: error: {}\n", e.what());
        return sms::code(e.exit());
    }
    return 0;
}
