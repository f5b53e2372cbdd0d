// Tests of post-sms: AGI sessions through pipes with a thread playing Asterisk, files read back.
#include "asterisk/spool.hpp"
#include "messaging/postsms.hpp"
#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/fsutil.hpp"

#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fmt/format.h>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <thread>
#include <unistd.h>

using namespace sms;

namespace {

// A directory with fixed answers: lookups are what the test is about, not the database (the
// e2e test runs the real SQLite one).
class FixedDirectory : public directory::Directory {
public:
    std::map<std::string, char, std::less<>> services;
    bool down = false;
    directory::Lookup lookup(std::string_view number) override {
        directory::Lookup l;
        if (down) {
            l.status = directory::Lookup::Status::unavailable;
            l.why = "server gone";
            return l;
        }
        auto it = services.find(number);
        if (it == services.end())
            return l;
        l.status = directory::Lookup::Status::found;
        l.entry.service = it->second;
        l.entry.channel = "DAHDI/1";
        return l;
    }
};

// Asterisk's side of an AGI session: the environment, then an answer per command. An answer of
// nullopt hangs up (closes the pipe to the script) as Asterisk does when the channel goes.
struct FakeAsterisk {
    std::vector<std::string> env = {"agi_request: post-sms", "agi_channel: Message/ast_msg_queue",
                                    "agi_type: Message", "agi_extension: 48600700800",
                                    "agi_context: sms-messages"};
    std::map<std::string, std::string> variables;
    bool hang_up_after_first = false;
    std::vector<std::string> commands; // what the script wrote

    std::optional<std::string> answer(const std::string& cmd) {
        if (hang_up_after_first && commands.size() > 1)
            return std::nullopt;
        constexpr std::string_view get = "GET VARIABLE ";
        if (cmd.starts_with(get)) {
            auto it = variables.find(cmd.substr(get.size()));
            if (it == variables.end())
                return "200 result=0";
            return fmt::format("200 result=1 ({})", it->second);
        }
        if (cmd.starts_with("SET VARIABLE ") || cmd.starts_with("VERBOSE "))
            return "200 result=1";
        return "510 Invalid or unknown command";
    }

    // Runs `script` against this Asterisk over two pipes.
    void run(const std::function<void(std::FILE* in, std::FILE* out)>& script) {
        int to_script[2], from_script[2];
        ASSERT_EQ(::pipe(to_script), 0);
        ASSERT_EQ(::pipe(from_script), 0);
        std::thread asterisk([&] {
            std::FILE* w = ::fdopen(to_script[1], "w");
            std::FILE* r = ::fdopen(from_script[0], "r");
            for (const auto& line : env)
                fmt::print(w, "{}\n", line);
            fmt::print(w, "\n");
            std::fflush(w);
            char* buf = nullptr;
            std::size_t cap = 0;
            ssize_t n;
            while ((n = ::getline(&buf, &cap, r)) > 0) {
                std::string cmd(buf, static_cast<std::size_t>(n));
                if (!cmd.empty() && cmd.back() == '\n')
                    cmd.pop_back();
                commands.push_back(cmd);
                auto a = w ? answer(cmd) : std::nullopt;
                if (!a && w) {
                    std::fclose(w); // hang up; keep reading so the script sees EOF, not SIGPIPE
                    w = nullptr;
                } else if (a) {
                    fmt::print(w, "{}\n", *a);
                    std::fflush(w);
                }
            }
            std::free(buf);
            if (w)
                std::fclose(w);
            std::fclose(r);
        });
        std::FILE* in = ::fdopen(to_script[0], "r");
        std::FILE* out = ::fdopen(from_script[1], "w");
        script(in, out);
        std::fclose(out);
        asterisk.join();
        std::fclose(in);
    }
};

class PostSms : public ::testing::Test {
protected:
    void SetUp() override {
        std::signal(SIGPIPE, SIG_IGN);
        char tmpl[] = "/tmp/postsms-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root = tmpl;
        cfg.general.spool_dir = root;
        dir.services = {{"48600700800", 'S'}, {"1000", 'T'}, {"1001", 'S'}};
        ast.variables = {{"MESSAGE_FROM", "\"Alice\" <sip:1000@10.0.0.1:5060>"},
                         {"EXTEN", "48600700800"},
                         {"MSG_B64", base64::encode("Zażółć\r\ngęślą jaźń\n")}};
    }
    void TearDown() override { std::system(fmt::format("rm -rf '{}'", root).c_str()); }

    // Every entry in sms/morx (dotfiles too: nothing half-written may stay behind).
    std::vector<std::string> morx_entries() const {
        std::vector<std::string> out;
        DIR* d = ::opendir(cfg.morx_dir().c_str());
        if (!d)
            return out;
        while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..")
                out.push_back(n);
        }
        ::closedir(d);
        return out;
    }

    // Runs an AGI session; returns the exit code or the Error's code.
    int run_agi(postsms::Options opts = {}) {
        int rc = -1;
        ast.run([&](std::FILE* in, std::FILE* out) {
            try {
                rc = postsms::run_agi(cfg, opts, in, out, &dir);
            } catch (const Error& e) {
                rc = code(e.exit());
                error = e.what();
            }
        });
        return rc;
    }

    bool sent(std::string_view prefix) const {
        for (const auto& c : ast.commands)
            if (c.starts_with(prefix))
                return true;
        return false;
    }

    std::string root;
    Config cfg;
    FixedDirectory dir;
    FakeAsterisk ast;
    std::string error;
};

} // namespace

TEST(SenderNumber, SipFromForms) {
    EXPECT_EQ(postsms::sender_number("\"Alice\" <sip:1000@10.0.0.1:5060>;tag=abc"), "1000");
    EXPECT_EQ(postsms::sender_number("<sips:+48500100200@pbx.example;transport=tls>"),
              "+48500100200");
    EXPECT_EQ(postsms::sender_number("sip:1000@host"), "1000");
    EXPECT_EQ(postsms::sender_number("SIP:1000:secret@host"), "1000");
    EXPECT_EQ(postsms::sender_number("tel:+48500100200;phone-context=x"), "+48500100200");
    EXPECT_EQ(postsms::sender_number("  1000  "), "1000");
    EXPECT_EQ(postsms::sender_number("\"a <b>\" <sip:42@h>"), "42");
    EXPECT_EQ(postsms::sender_number("<sip:@host>"), "");
}

TEST(Flatten, LineBreaksToSpacesAndTrimmed) {
    EXPECT_EQ(postsms::flatten("  one\r\ntwo\nthree\rfour \n"), "one two three four");
    EXPECT_EQ(postsms::flatten("a\n\nb"), "a  b");
    EXPECT_EQ(postsms::flatten("\r\n"), "");
}

TEST(CheckNumber, PathFormingNumbersRefused) {
    for (std::string_view bad : {"../x", "1/2", "", ".", "12 34", "+", "++1", "1+2", "१२३"}) {
        try {
            postsms::check_number("destination number", bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), Exit::dataerr);
        }
    }
    EXPECT_NO_THROW(postsms::check_number("n", "+48500100200"));
}

TEST_F(PostSms, SipMessageToAnSmsPhoneIsTransliterated) {
    EXPECT_EQ(run_agi(), 0) << error;
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_TRUE(files[0].starts_with("1000.")) << files[0];
    auto m = spool::read(fs::join(cfg.morx_dir(), files[0]));
    EXPECT_EQ(m.oa, "1000");
    EXPECT_EQ(m.da, "48600700800");
    EXPECT_EQ(m.text, "Zazolc gesla jazn");
    EXPECT_EQ(files[0],
              fmt::format("1000.{}-{}", m.scts, files[0].substr(files[0].rfind('-') + 1)));
    EXPECT_TRUE(sent("SET VARIABLE POSTSMS_STATUS \"OK\""));
    EXPECT_TRUE(sent("VERBOSE \"post-sms: message from 1000 to 48600700800"));
    // Nothing but AGI commands on the script's stdout.
    for (const auto& c : ast.commands)
        EXPECT_TRUE(c.starts_with("GET VARIABLE ") || c.starts_with("SET VARIABLE ") ||
                    c.starts_with("VERBOSE "))
            << c;
}

TEST_F(PostSms, UnicodeKeptForAVoipDestinationOrUcs2Policy) {
    ast.variables["EXTEN"] = "1000";
    EXPECT_EQ(run_agi(), 0) << error;
    cfg.general.unicode = UnicodePolicy::ucs2;
    ast.variables["EXTEN"] = "1001";
    EXPECT_EQ(run_agi(), 0) << error;
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 2u);
    for (const auto& f : files)
        EXPECT_EQ(spool::read(fs::join(cfg.morx_dir(), f)).text, "Zażółć gęślą jaźń");
}

TEST_F(PostSms, DirectoryOutageKeepsTheTextAndPosts) {
    dir.down = true;
    EXPECT_EQ(run_agi(), 0) << error;
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(spool::read(fs::join(cfg.morx_dir(), files[0])).text, "Zażółć gęślą jaźń");
}

TEST_F(PostSms, SmsArgumentReadsSmsOaAndDa) {
    ast.env.push_back("agi_arg_1: SMS");
    ast.variables = {
        {"SMS_OA", "+48500100200"}, {"SMS_DA", "1000"}, {"MSG_B64", base64::encode("hello")}};
    EXPECT_EQ(run_agi(), 0) << error;
    EXPECT_TRUE(sent("GET VARIABLE SMS_OA"));
    EXPECT_FALSE(sent("GET VARIABLE MESSAGE_FROM"));
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 1u);
    auto m = spool::read(fs::join(cfg.morx_dir(), files[0]));
    EXPECT_EQ(m.oa, "+48500100200");
    EXPECT_EQ(m.da, "1000");
    EXPECT_EQ(m.text, "hello");
}

TEST_F(PostSms, MessageFromFunctionWhenTheVariableIsUnset) {
    ast.variables.erase("MESSAGE_FROM");
    ast.variables["MESSAGE(from)"] = "<sip:1001@pbx>";
    EXPECT_EQ(run_agi(), 0) << error;
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(spool::read(fs::join(cfg.morx_dir(), files[0])).oa, "1001");
}

TEST_F(PostSms, UnsetBodyIsAnErrorAndWritesNothing) {
    ast.variables.erase("MSG_B64"); // Asterisk answers "200 result=0"
    EXPECT_EQ(run_agi(), 65);
    EXPECT_NE(error.find("MSG_B64"), std::string::npos) << error;
    EXPECT_TRUE(morx_entries().empty());
    EXPECT_TRUE(sent("SET VARIABLE POSTSMS_STATUS \"ERROR\""));
    EXPECT_TRUE(sent("VERBOSE \"post-sms: error: MSG_B64"));
}

TEST_F(PostSms, InvalidBase64OrUtf8WritesNothing) {
    ast.variables["MSG_B64"] = "not base64!";
    EXPECT_EQ(run_agi(), 65);
    EXPECT_NE(error.find("invalid Base64"), std::string::npos) << error;
    ast.variables["MSG_B64"] = base64::encode("ok \xc3\x28 not");
    EXPECT_EQ(run_agi(), 65);
    EXPECT_NE(error.find("UTF-8"), std::string::npos) << error;
    EXPECT_TRUE(morx_entries().empty());
}

TEST_F(PostSms, PathFormingNumbersRefused) {
    for (std::string bad : {"../x", "1/2", "../../etc/passwd"}) {
        ast.variables["EXTEN"] = bad;
        EXPECT_EQ(run_agi(), 65) << bad;
    }
    ast.variables["EXTEN"] = "48600700800";
    ast.variables["MESSAGE_FROM"] = "<sip:../../x@host>";
    EXPECT_EQ(run_agi(), 65);
    ast.variables["MESSAGE_FROM"] = "\"Nobody\" <sip:@host>";
    EXPECT_EQ(run_agi(), 65);
    EXPECT_TRUE(morx_entries().empty());
    // Nothing escaped the spool either.
    EXPECT_FALSE(fs::exists(fs::join(root, "sms/x")));
}

TEST_F(PostSms, HangUpMidWayWritesNothing) {
    ast.hang_up_after_first = true;
    EXPECT_EQ(run_agi(), 75);
    EXPECT_NE(error.find("hung up"), std::string::npos) << error;
    EXPECT_TRUE(morx_entries().empty());
}

TEST_F(PostSms, HangUpBeforeTheEnvironmentEnds) {
    ast.env.clear();
    int rc = -1;
    // Only a partial environment, then EOF.
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    std::string partial = "agi_request: post-sms\nagi_channel: x\n";
    ASSERT_EQ(::write(p[1], partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
    ::close(p[1]);
    std::FILE* in = ::fdopen(p[0], "r");
    std::FILE* out = std::tmpfile();
    try {
        rc = postsms::run_agi(cfg, {}, in, out, &dir);
    } catch (const Error& e) {
        rc = code(e.exit());
    }
    std::fclose(in);
    std::fclose(out);
    EXPECT_EQ(rc, 75);
    EXPECT_TRUE(morx_entries().empty());
}

TEST_F(PostSms, SeveralMessagesInOneSecondGetDistinctNames) {
    for (int i = 0; i < 3; ++i)
        postsms::post(cfg, "1000", "48600700800", fmt::format("m{}", i), &dir, 1795992945);
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 3u);
    std::set<std::string> texts;
    for (const auto& f : files)
        texts.insert(spool::read(fs::join(cfg.morx_dir(), f)).text);
    EXPECT_EQ(texts, (std::set<std::string>{"m0", "m1", "m2"}));
}

TEST_F(PostSms, CliModeWritesTheFile) {
    postsms::Options o;
    o.from = "+48500100200";
    o.to = "1000";
    o.text = "line one\nline two";
    EXPECT_EQ(postsms::run_cli(cfg, o, &dir), 0);
    auto files = morx_entries();
    ASSERT_EQ(files.size(), 1u);
    auto m = spool::read(fs::join(cfg.morx_dir(), files[0]));
    EXPECT_EQ(m.text, "line one line two");
    o.to.reset();
    EXPECT_THROW(postsms::run_cli(cfg, o, &dir), Error);
}
