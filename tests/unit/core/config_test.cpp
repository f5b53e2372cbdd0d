// Tests of lib/config: defaults, the Asterisk-style syntax, errors naming file, line and key,
// and the permission check on files holding secrets.
#include "core/config.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace sms;

namespace {

using test::TempDir;

Error config_error(std::string_view text) {
    try {
        parse_config(text, "t.conf");
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "accepted: " << text;
    return Error(Exit::ok, "", "");
}

} // namespace

TEST(Config, DefaultsAreTheSpecs) {
    Config c = parse_config("", "empty");
    EXPECT_EQ(c.general.spool_dir, "/var/spool/asterisk");
    EXPECT_EQ(c.general.centre_receive_number, "9000");
    EXPECT_EQ(c.general.centre_send_number, "9001");
    EXPECT_TRUE(c.general.concatenate);
    EXPECT_EQ(c.general.max_parts, 10);
    EXPECT_EQ(c.general.unicode, UnicodePolicy::transliterate);
    EXPECT_EQ(c.general.reassembly_timeout, 3600);
    EXPECT_EQ(c.general.retry_limit, 86400);
    EXPECT_EQ(c.general.syslog_facility, "user");
    EXPECT_FALSE(c.general.log_text);
    EXPECT_EQ(c.directory.backend, DirectoryBackend::sqlite);
    EXPECT_EQ(c.directory.sqlite_path, "/var/lib/sms-suite/directory.db");
    EXPECT_EQ(c.directory.port, 3306);
    EXPECT_EQ(c.directory.table, "PBXNumbers");
    EXPECT_EQ(c.directory.account_column, "Account");
    EXPECT_EQ(c.directory.service_column, "Message");
    EXPECT_EQ(c.directory.extension_column, "Extension");
    EXPECT_EQ(c.directory.timeout, 3);
    EXPECT_EQ(c.sms.max_retries, 100);
    EXPECT_EQ(c.sms.retry_time, 30);
    EXPECT_EQ(c.sms.wait_time, 10);
    EXPECT_EQ(c.ami.host, "127.0.0.1");
    EXPECT_EQ(c.ami.port, 5038);
    EXPECT_EQ(c.ami.auth, AmiAuth::plain);
    EXPECT_EQ(c.ami.technology, "pjsip");
    EXPECT_EQ(c.ami.timeout, 5);
    EXPECT_EQ(c.fax.dir, "/var/spool/asterisk/fax");
    EXPECT_EQ(c.fax.resolution, FaxResolution::fine);
    EXPECT_EQ(c.fax.font_size, 10.0);
    EXPECT_EQ(c.fax.top_margin, 18.0);
    EXPECT_EQ(c.fax.cut_margin, 94);
    EXPECT_EQ(c.fax.max_pages, 10);
    EXPECT_EQ(c.fax.header_text, "Text message from ");
    EXPECT_EQ(c.fax.time_text, " sent ");
    EXPECT_TRUE(c.fax.ecm);
    EXPECT_EQ(c.fax.minrate, 2400);
    EXPECT_EQ(c.fax.maxrate, 14400);
    EXPECT_EQ(c.fax.sendfax_options, "F");
    EXPECT_EQ(c.fax.max_retries, 10);
    EXPECT_EQ(c.fax.retry_time, 600);
    EXPECT_EQ(c.fax.wait_time, 40);
    EXPECT_TRUE(c.fax.archive);
    EXPECT_EQ(c.voice.dir, "/var/spool/asterisk/voice");
    EXPECT_EQ(c.voice.language, "en");
    EXPECT_EQ(c.voice.lead_silence, 1.0);
    EXPECT_EQ(c.voice.header_text, "Message from ");
    EXPECT_EQ(c.voice.at_text, "at");
    EXPECT_EQ(c.voice.reference_text, " having reference number ");
    EXPECT_FALSE(c.voice.give_date);
    EXPECT_FALSE(c.voice.give_reference);
    EXPECT_TRUE(c.voice.digits);
    EXPECT_EQ(c.voice.max_seconds, 300);
    EXPECT_EQ(c.commands.numbers, std::vector<std::string>{"1000"});
    EXPECT_EQ(c.commands.timeout, 5);
    EXPECT_EQ(c.commands.unknown_reply, "Unknown command.");
    EXPECT_EQ(c.commands.error_reply,
              "Unable to complete the order. Please try again in a few minutes.");
    EXPECT_EQ(c.texts.cannot_deliver, "Cannot deliver SMS to");
    EXPECT_EQ(c.texts.not_logged_in, "VoIP user not logged in.");
    EXPECT_EQ(c.texts.disabled, "Subscriber has disabled messaging service.");
    EXPECT_EQ(c.texts.no_such_number, "Number does not exist.");
    EXPECT_EQ(c.texts.wrong_number, "Wrong number.");
    EXPECT_EQ(c.morx_dir(), "/var/spool/asterisk/sms/morx");
    EXPECT_EQ(c.mttx_dir(), "/var/spool/asterisk/sms/mttx");
    EXPECT_EQ(c.outgoing_dir(), "/var/spool/asterisk/outgoing");
    EXPECT_EQ(c.bad_dir(), "/var/spool/asterisk/sms/morx/bad");
    EXPECT_EQ(c.failed_dir(), "/var/spool/asterisk/sms/morx/failed");
}

TEST(Config, AsteriskSyntax) {
    Config c = parse_config("; comment\r\n"
                            "[general]\r\n"
                            "spool_dir = /tmp/spool ; trailing comment\n"
                            "MAX_PARTS=4\n"
                            "unicode => UCS2\n"
                            "concatenate = no\n"
                            "\n"
                            "[Texts]\n"
                            "cannot_deliver = \"  Cannot deliver\\; sorry  \"\n"
                            "[commands]\n"
                            "numbers = 1000, 1001\n"
                            "help = builtin:help\n"
                            "weather = exec:/usr/local/bin/weather --short\n"
                            "hello = Hello there!\n",
                            "x.conf");
    EXPECT_EQ(c.general.spool_dir, "/tmp/spool");
    EXPECT_EQ(c.general.max_parts, 4);
    EXPECT_EQ(c.general.unicode, UnicodePolicy::ucs2);
    EXPECT_FALSE(c.general.concatenate);
    EXPECT_EQ(c.texts.cannot_deliver, "  Cannot deliver; sorry  ");
    EXPECT_EQ(c.commands.numbers, (std::vector<std::string>{"1000", "1001"}));
    EXPECT_EQ(c.commands.words.at("HELP"), "builtin:help");
    EXPECT_EQ(c.commands.words.at("WEATHER"), "exec:/usr/local/bin/weather --short");
    EXPECT_EQ(c.commands.words.at("HELLO"), "Hello there!");
}

TEST(Config, ErrorsNameFileLineAndKey) {
    auto e = config_error("[general]\nmax_parts = many\n");
    EXPECT_EQ(e.exit(), Exit::config);
    EXPECT_EQ(e.subject(), "t.conf:2: max_parts");
    EXPECT_NE(e.reason().find("many"), std::string::npos);

    e = config_error("[general]\n\nno_such_key = 1\n");
    EXPECT_EQ(e.subject(), "t.conf:3: no_such_key");
    EXPECT_NE(e.reason().find("unknown key"), std::string::npos);

    e = config_error("[nonsense]\n");
    EXPECT_EQ(e.subject(), "t.conf:1");
    EXPECT_NE(e.reason().find("unknown section"), std::string::npos);

    EXPECT_EQ(config_error("[general\n").exit(), Exit::config);
    EXPECT_EQ(config_error("max_parts = 3\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\njust words\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\nmax_parts = 0\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\nconcatenate = maybe\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\nunicode = utf8\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\ncentre_receive_number = 90a0\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general]\nsyslog_facility = kern0\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[directory]\ntable = Numbers DROP TABLE x\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[directory]\naccount_column = a-b\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[fax]\nresolution = high\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[fax]\nminrate = 9600\nmaxrate = 4800\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[commands]\nx = builtin:reboot\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[commands]\nx = exec:relative/path\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[general](!)\n").exit(), Exit::config);
    EXPECT_EQ(config_error(std::string("[general]\n\0\n", 12)).exit(), Exit::config);
}

TEST(Config, MailKeys) {
    Config d = parse_config("", "empty");
    EXPECT_EQ(d.mail.sendmail, "/usr/sbin/sendmail");
    EXPECT_EQ(d.mail.from, ""); // sms-suite@<host name> when mailing
    EXPECT_EQ(d.mail.domain, "");
    EXPECT_EQ(d.mail.max_size, 1048576);
    Config c = parse_config("[mail]\nsendmail = /usr/lib/sendmail\nfrom = sms@pbx.example.org\n"
                            "domain = sms.example.org\nmax_size = 65536\n",
                            "m.conf");
    EXPECT_EQ(c.mail.sendmail, "/usr/lib/sendmail");
    EXPECT_EQ(c.mail.from, "sms@pbx.example.org");
    EXPECT_EQ(c.mail.domain, "sms.example.org");
    EXPECT_EQ(c.mail.max_size, 65536);
    auto e = config_error("[mail]\nfrom = SMS Gateway <sms@pbx>\n");
    EXPECT_EQ(e.subject(), "t.conf:2: from");
    EXPECT_EQ(config_error("[mail]\ndomain = sms example.org\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[mail]\ndomain = @example.org\n").exit(), Exit::config);
    EXPECT_EQ(config_error("[mail]\nmax_size = 10\n").exit(), Exit::config);
}

TEST(Config, DuplicatesAreErrorsNamingBothLines) {
    auto e = config_error("[general]\nmax_parts = 4\n[fax]\ndir = /a\n[General]\n");
    EXPECT_EQ(e.exit(), Exit::config);
    EXPECT_EQ(e.subject(), "t.conf:5");
    EXPECT_NE(e.reason().find("[general]"), std::string::npos) << e.reason();
    EXPECT_NE(e.reason().find("t.conf:1"), std::string::npos) << e.reason();

    e = config_error("[general]\nmax_parts = 4\n; a comment\nMAX_PARTS => 5\n");
    EXPECT_EQ(e.exit(), Exit::config);
    EXPECT_EQ(e.subject(), "t.conf:4: max_parts");
    EXPECT_NE(e.reason().find("t.conf:2"), std::string::npos) << e.reason();

    e = config_error("[commands]\nhelp = builtin:help\nHELP = Call us.\n");
    EXPECT_EQ(e.subject(), "t.conf:3: help");
    EXPECT_NE(e.reason().find("t.conf:2"), std::string::npos) << e.reason();

    // The same key in two sections is two keys.
    Config c = parse_config("[fax]\ndir = /f\n[voice]\ndir = /v\n", "t.conf");
    EXPECT_EQ(c.fax.dir, "/f");
    EXPECT_EQ(c.voice.dir, "/v");
}

TEST(Config, EveryKeyIsKnownOnce) {
    auto keys = known_config_keys();
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
    EXPECT_GT(keys.size(), 80u);
}

TEST(ConfigFile, SecretsMustNotBeReadableByOthers) {
    TempDir t;
    auto path = t.path + "/s.conf";
    fs::WriteOptions world;
    world.mode = 0644;
    fs::write_atomic(t.path, "s.conf", "[ami]\nsecret = s3cret\n", world);
    try {
        load_config(path);
        FAIL() << "a world-readable secret was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::config);
        EXPECT_EQ(e.subject(), path);
    }
    ::chmod(path.c_str(), 0640);
    EXPECT_EQ(load_config(path).ami.secret, "s3cret");
    // Without a secret, a readable file is fine.
    fs::write_atomic(t.path, "p.conf", "[general]\nmax_parts = 3\n", world);
    EXPECT_EQ(load_config(t.path + "/p.conf").general.max_parts, 3);
}

TEST(ConfigFile, WhichFileIsUsed) {
    TempDir t;
    fs::write_atomic(t.path, "env.conf", "[general]\nmax_parts = 5\n");
    fs::write_atomic(t.path, "arg.conf", "[general]\nmax_parts = 6\n");
    ::setenv("SMS_SUITE_CONF", (t.path + "/env.conf").c_str(), 1);
    EXPECT_EQ(load_config_for("").general.max_parts, 5);
    EXPECT_EQ(load_config_for(t.path + "/arg.conf").general.max_parts, 6);
    ::setenv("SMS_SUITE_CONF", (t.path + "/missing.conf").c_str(), 1);
    try {
        load_config_for("");
        FAIL() << "a missing named file was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::config);
    }
    ::unsetenv("SMS_SUITE_CONF");
    EXPECT_THROW(load_config_for(t.path + "/missing.conf"), Error);
}

// StrictModes: what decides what the suite runs must be writable by its owner only, and owned by
// root or the running user.
TEST(ConfigFile, UnsafeFilesAreRefusedNamingFileAndWhy) {
    TempDir t;
    auto refused = [](const std::string& path, const std::string& names, const char* why) {
        try {
            load_config(path);
            ADD_FAILURE() << path << " accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), Exit::config) << e.what();
            EXPECT_NE(std::string(e.what()).find(names), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    };
    std::string conf = t.path + "/c.conf";
    fs::write_atomic(t.path, "c.conf", "[general]\nmax_parts = 3\n");
    for (mode_t m : {0666, 0602}) {
        ::chmod(conf.c_str(), m);
        refused(conf, conf, "writable by others");
    }
    ::chmod(conf.c_str(), 0620);
    refused(conf, conf, "writable by its group");
    ::chmod(conf.c_str(), 0644);
    EXPECT_EQ(load_config(conf).general.max_parts, 3);
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(conf.c_str(), 65534, 65534), 0);
        refused(conf, conf, "owned by uid 65534");
        ASSERT_EQ(::chown(conf.c_str(), 0, 0), 0);
    }

    // Programs and modules it names.
    std::string prog = t.path + "/reply.sh";
    fs::WriteOptions exec;
    exec.mode = 0755;
    fs::write_atomic(t.path, "reply.sh", "#!/bin/sh\necho hi\n", exec);
    fs::write_atomic(t.path, "x.conf", fmt::format("[commands]\nhi = exec:{} arg\n", prog));
    EXPECT_NO_THROW(load_config(t.path + "/x.conf"));
    ::chmod(prog.c_str(), 0757);
    refused(t.path + "/x.conf", "[commands] HI program " + prog, "writable by others");
    fs::make_dirs(t.path + "/bin");
    fs::write_atomic(t.path + "/bin", "sms2fax", "#!/bin/sh\n", exec);
    ::chmod((t.path + "/bin/sms2fax").c_str(), 0775);
    fs::write_atomic(t.path, "b.conf", fmt::format("[general]\nbin_dir = {}/bin\n", t.path));
    refused(t.path + "/b.conf", t.path + "/bin/sms2fax", "writable by its group");

    // A FIFO is not a configuration file (and must not hang the tool).
    std::string fifo = t.path + "/fifo.conf";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    refused(fifo, fifo, "a FIFO, not a regular file");

    // Nor is anything else the configuration names to read: a FIFO as logo or font, a device
    // as a font, refused when the file is loaded (the first fax would block on it for ever).
    fs::WriteOptions again;
    again.replace = true;
    for (auto [key, path] : {std::pair{"logo", fifo}, std::pair{"font", fifo},
                             std::pair{"font", std::string("/dev/zero")}}) {
        fs::write_atomic(t.path, "f.conf", fmt::format("[fax]\n{} = {}\n", key, path), again);
        refused(t.path + "/f.conf", fmt::format("[fax] {} {}", key, path),
                path == fifo ? "a FIFO, not a regular file" : "a character device");
    }
}
