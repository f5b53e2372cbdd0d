// Tests of lib/agi: sessions driven through pipes by a fake Asterisk that plays the recorded
// transcript (tests/data/agi/agi-transcript.txt) line by line, with hang-ups and 520 usage
// answers spliced in; and quoting checked against a copy of res_agi's own argument parser.
#include "asterisk/agi.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace sms;

namespace {

// One exchange of the transcript: what the script must write, and Asterisk's reply lines.
struct Exchange {
    std::string command;
    std::vector<std::string> reply;
};

struct Transcript {
    std::vector<std::string> env; // agi_* lines, without the blank line
    std::vector<Exchange> exchanges;
};

Transcript load_transcript() {
    std::ifstream f(std::string(SMS_TEST_DATA) + "/agi/agi-transcript.txt");
    Transcript t;
    bool in_env = true;
    for (std::string line; std::getline(f, line);) {
        if (line.starts_with("#"))
            continue;
        if (line.starts_with("A: ")) {
            std::string text = line.substr(3);
            if (in_env) {
                if (text.empty())
                    in_env = false;
                else
                    t.env.push_back(text);
            } else {
                t.exchanges.back().reply.push_back(text);
            }
        } else if (line.starts_with("S: ")) {
            t.exchanges.push_back({line.substr(3), {}});
        }
    }
    return t;
}

// A fake Asterisk on the other ends of two pipes: writes the environment, then for each
// exchange reads one command line, records it, and writes the reply; closes its pipes at the
// end (EOF for the script: a hang-up).
class FakeAsterisk {
public:
    FakeAsterisk(std::vector<std::string> env, std::vector<Exchange> exchanges,
                 std::string newline = "\n")
        : env_(std::move(env))
        , exchanges_(std::move(exchanges))
        , nl_(std::move(newline)) {
        std::signal(SIGPIPE, SIG_IGN);
        int to_script[2], from_script[2];
        if (::pipe(to_script) != 0 || ::pipe(from_script) != 0)
            throw std::runtime_error("pipe");
        in = ::fdopen(to_script[0], "r");
        out = ::fdopen(from_script[1], "w");
        write_fd_ = to_script[1];
        read_fd_ = from_script[0];
        thread_ = std::thread([this] { play(); });
    }
    ~FakeAsterisk() {
        finish();
        std::fclose(in);
    }
    // Every line the script wrote, in order (closes the script's stdout first).
    std::vector<std::string> received() {
        finish();
        return received_;
    }

    std::FILE* in = nullptr;  // the script's stdin
    std::FILE* out = nullptr; // the script's stdout

private:
    std::vector<std::string> env_;
    std::vector<Exchange> exchanges_;
    std::string nl_;
    int write_fd_ = -1, read_fd_ = -1;
    std::thread thread_;
    std::vector<std::string> received_;

    // The script's stdout closes: the player, if it still waits for a command, sees EOF.
    void finish() {
        if (out != nullptr) {
            std::fclose(out);
            out = nullptr;
        }
        if (thread_.joinable())
            thread_.join();
    }
    void send(const std::string& line) {
        std::string s = line + nl_;
        if (::write(write_fd_, s.data(), s.size()) < 0) {
        }
    }
    bool read_line(std::string& line) {
        line.clear();
        char c;
        for (;;) {
            ssize_t n = ::read(read_fd_, &c, 1);
            if (n <= 0)
                return false;
            if (c == '\n')
                return true;
            line += c;
        }
    }
    void play() {
        for (const auto& e : env_)
            send(e);
        send("");
        std::string line;
        for (const auto& x : exchanges_) {
            if (!read_line(line))
                break;
            received_.push_back(line);
            for (const auto& r : x.reply)
                send(r);
        }
        ::close(write_fd_); // EOF: Asterisk has gone
        while (read_line(line))
            received_.push_back(line);
        ::close(read_fd_);
    }
};

std::vector<std::string> commands_of(const std::vector<Exchange>& xs) {
    std::vector<std::string> out;
    for (const auto& x : xs)
        out.push_back(x.command);
    return out;
}

// The whole recorded session, replayed through the library's calls.
void replay(agi::Session& s) {
    s.verbose("agi-test.sh starting");
    EXPECT_EQ(s.get_variable("INVAR"), "hello from dialplan");
    s.set_variable("OUTVAR", "got:hello from dialplan");
    EXPECT_EQ(s.get_variable("OUTVAR"), "got:hello from dialplan");
    agi::Reply full = s.command("GET FULL VARIABLE ${CALLERID(num)}-${EXTEN}");
    EXPECT_EQ(full.code, 200);
    EXPECT_EQ(full.result, "1");
    EXPECT_EQ(full.data, "-100");
    EXPECT_EQ(s.get_variable("NO_SUCH_VARIABLE"), std::nullopt);
    agi::Reply status = s.command("CHANNEL STATUS");
    EXPECT_EQ(status.code, 200);
    EXPECT_EQ(status.result, "6");
    EXPECT_EQ(status.data, std::nullopt);
    agi::Reply noop = s.command("NOOP done");
    EXPECT_EQ(noop.result, "0");
    EXPECT_EQ(noop.text, "200 result=0");
}

TEST(Agi, TranscriptIsReadAsRecorded) {
    Transcript t = load_transcript();
    ASSERT_EQ(t.env.size(), 22u);
    ASSERT_EQ(t.exchanges.size(), 8u);
}

TEST(Agi, ReplaysTheRecordedSessionExactly) {
    Transcript t = load_transcript();
    FakeAsterisk ast(t.env, t.exchanges);
    {
        agi::Session s(ast.in, ast.out);
        EXPECT_EQ(s.env("agi_request"), "agi-test.sh");
        EXPECT_EQ(s.env("agi_channel"), "Local/100@agi-test-0000000a;2");
        EXPECT_EQ(s.env("agi_extension"), "100");
        EXPECT_EQ(s.env().count("agi_accountcode"), 1u);
        EXPECT_EQ(s.env("agi_accountcode"), "");
        EXPECT_EQ(s.env("agi_no_such"), "");
        EXPECT_EQ(s.args(), (std::vector<std::string>{"arg-one", "arg two"}));
        replay(s);
        // Asterisk has closed its end: the next command is a hang-up.
        EXPECT_THROW(s.command("NOOP more"), agi::Hangup);
    }
    auto got = ast.received();
    auto want = commands_of(t.exchanges);
    want.push_back("NOOP more");
    EXPECT_EQ(got, want);
}

TEST(Agi, CrLfLinesAreTolerated) {
    Transcript t = load_transcript();
    FakeAsterisk ast(t.env, t.exchanges, "\r\n");
    agi::Session s(ast.in, ast.out);
    EXPECT_EQ(s.env("agi_extension"), "100");
    replay(s);
}

TEST(Agi, HangupLineInTheMiddle) {
    Transcript t = load_transcript();
    auto xs = t.exchanges;
    xs[2].reply = {"HANGUP"}; // the channel went while the script set OUTVAR
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    s.verbose("agi-test.sh starting");
    EXPECT_EQ(s.get_variable("INVAR"), "hello from dialplan");
    EXPECT_THROW(s.set_variable("OUTVAR", "got:hello from dialplan"), agi::Hangup);
}

TEST(Agi, DeadChannel511IsAHangup) {
    Transcript t = load_transcript();
    auto xs = t.exchanges;
    xs[1].reply = {"511 Command Not Permitted on a dead channel or intercepted by an application"};
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    s.verbose("agi-test.sh starting");
    EXPECT_THROW(s.get_variable("INVAR"), agi::Hangup);
}

TEST(Agi, EofInTheEnvironmentIsAHangup) {
    Transcript t = load_transcript();
    std::vector<std::string> half(t.env.begin(), t.env.begin() + 5);
    // No blank line: the player sends the lines, then "" ... so cut it by hand.
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    std::string text;
    for (const auto& l : half)
        text += l + "\n";
    ASSERT_EQ(::write(p[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(p[1]);
    std::FILE* in = ::fdopen(p[0], "r");
    std::FILE* out = std::fopen("/dev/null", "w");
    EXPECT_THROW((agi::Session{in, out}), agi::Hangup);
    std::fclose(in);
    std::fclose(out);
}

TEST(Agi, EofRightAfterTheEnvironmentIsAHangup) {
    Transcript t = load_transcript();
    FakeAsterisk ast(t.env, {});
    agi::Session s(ast.in, ast.out);
    EXPECT_THROW(s.get_variable("EXTEN"), agi::Hangup);
}

const std::vector<std::string> usage_520 = {
    "520-Invalid command syntax.  Proper usage follows:", "Usage: GET VARIABLE <variablename>",
    "\tReturns 0 if <variablename> is not set. Returns 1 if <variablename> is set and returns "
    "the variable in parentheses.",
    " example return code: 200 result=1 (testvariable)", "520 End of proper usage."};

TEST(Agi, MultiLine520AnswerIsReadWholeAndTheSessionStaysInStep) {
    Transcript t = load_transcript();
    auto xs = t.exchanges;
    // The script sends a bad command first; Asterisk answers with its usage, then the recorded
    // session goes on. A reader that stopped at the "200 result=1" inside the usage would take
    // the rest of it as the next replies.
    xs.insert(xs.begin(), Exchange{"GET VARIABLE", usage_520});
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    agi::Reply r = s.command("GET VARIABLE");
    EXPECT_EQ(r.code, 520);
    EXPECT_EQ(r.text.substr(0, 4), "520-");
    EXPECT_EQ(std::count(r.text.begin(), r.text.end(), '\n'), 4);
    EXPECT_TRUE(r.text.ends_with("520 End of proper usage."));
    EXPECT_EQ(r.data, std::nullopt);
    replay(s);
}

TEST(Agi, UsageGluedToTheEndLineAndSingleLine520) {
    Transcript t = load_transcript();
    auto xs = t.exchanges;
    // res_agi prints the usage without a newline of its own: some commands' usage runs into
    // the end line.
    xs.insert(xs.begin(), Exchange{"ANSWER x y",
                                   {"520-Invalid command syntax.  Proper usage follows:",
                                    "Answers channel if not already in answer state. Returns "
                                    "-1 on channel failure, or 0 if successful.520 End of "
                                    "proper usage."}});
    xs.insert(xs.begin() + 1,
              Exchange{"FOO", {"520 Invalid command syntax.  Proper usage not available."}});
    xs.insert(xs.begin() + 2, Exchange{"BAR", {"510 Invalid or unknown command"}});
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    EXPECT_EQ(s.command("ANSWER x y").code, 520);
    EXPECT_EQ(s.command("FOO").code, 520);
    EXPECT_EQ(s.command("BAR").code, 510);
    replay(s);
}

TEST(Agi, RefusedGetAndSetAreErrorsNotValues) {
    Transcript t = load_transcript();
    std::vector<Exchange> xs = {{"GET VARIABLE X", usage_520},
                                {"SET VARIABLE Y \"1\"", {"510 Invalid or unknown command"}},
                                {"VERBOSE \"still here\" 1", {"510 Invalid or unknown command"}},
                                {"GET VARIABLE Z", {"200 result=1 (z)"}}};
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    try {
        s.get_variable("X");
        ADD_FAILURE() << "a 520 answer was taken for a value";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("520-Invalid command syntax"), std::string::npos);
    }
    EXPECT_THROW(s.set_variable("Y", "1"), Error);
    EXPECT_NO_THROW(s.verbose("still here")); // a refused log line is not worth failing for
    EXPECT_EQ(s.get_variable("Z"), "z");
}

TEST(Agi, ValuesWithParenthesesAndEmptyValues) {
    Transcript t = load_transcript();
    std::vector<Exchange> xs = {
        {"GET VARIABLE A", {"200 result=1 (a (b) c)"}},
        {"GET VARIABLE B", {"200 result=1 ()"}},
        {"GET VARIABLE C", {"200 result=1"}},
        {"GET VARIABLE D", {"200 result=1 (x) endpos=1234"}},
        {"GET VARIABLE MESSAGE(from)", {"200 result=1 (\"Bob\" <sip:1@h>)"}}};
    FakeAsterisk ast(t.env, xs);
    agi::Session s(ast.in, ast.out);
    EXPECT_EQ(s.get_variable("A"), "a (b) c");
    EXPECT_EQ(s.get_variable("B"), "");
    EXPECT_EQ(s.get_variable("C"), ""); // set, but no parentheses
    EXPECT_EQ(s.get_variable("D"), "x");
    EXPECT_EQ(s.get_variable("MESSAGE(from)"), "\"Bob\" <sip:1@h>");
}

TEST(Agi, GarbageReplyIsAnError) {
    Transcript t = load_transcript();
    FakeAsterisk ast(t.env, {{"GET VARIABLE A", {"hello there"}}});
    agi::Session s(ast.in, ast.out);
    EXPECT_THROW(s.get_variable("A"), Error);
}

TEST(Agi, NamesThatWouldBecomeOtherArgumentsAreRefusedBeforeWriting) {
    Transcript t = load_transcript();
    FakeAsterisk ast(t.env, {{"GET VARIABLE OK", {"200 result=1 (fine)"}}});
    {
        agi::Session s(ast.in, ast.out);
        for (std::string bad : {"", "A B", "A\nB", "A\"B", "A\\B", "A\tB"}) {
            EXPECT_THROW(s.get_variable(bad), Error) << bad;
            EXPECT_THROW(s.set_variable(bad, "v"), Error) << bad;
        }
        EXPECT_THROW(s.command("NOOP\nSET VARIABLE X 1"), Error);
        EXPECT_EQ(s.get_variable("OK"), "fine");
    }
    EXPECT_EQ(ast.received(), std::vector<std::string>{"GET VARIABLE OK"});
}

// res_agi.c's parse_args, as Asterisk splits a command line into arguments.
std::vector<std::string> asterisk_parse_args(const std::string& s) {
    std::vector<std::string> argv;
    std::string cur;
    bool quoted = false, escaped = false, whitespace = true, have = false;
    auto end_word = [&] {
        if (have)
            argv.push_back(cur);
        cur.clear();
        have = false;
    };
    for (char c : s) {
        bool normal = false;
        switch (c) {
        case '"':
            if (escaped) {
                normal = true;
                break;
            }
            quoted = !quoted;
            if (quoted && whitespace) {
                end_word();
                have = true;
                whitespace = false;
            }
            escaped = false;
            break;
        case ' ':
        case '\t':
            if (!quoted && !escaped) {
                whitespace = true;
                end_word();
            } else {
                normal = true;
            }
            break;
        case '\\':
            if (escaped)
                normal = true;
            else
                escaped = true;
            break;
        default:
            normal = true;
        }
        if (normal) {
            if (whitespace) {
                end_word();
                have = true;
                whitespace = false;
            }
            cur += c;
            escaped = false;
        }
    }
    end_word();
    return argv;
}

TEST(Agi, QuotedValuesReachAsteriskUnchanged) {
    for (std::string v :
         {"", "plain", "two words", "say \"hi\"", "back\\slash", "end\\", "\\\"", "tab\there",
          "  lead and trail  ", "Zażółć ΑΒΓ €", "(paren) and ${EXTEN}"}) {
        std::string line = "SET VARIABLE X " + agi::quote(v);
        auto argv = asterisk_parse_args(line);
        ASSERT_EQ(argv.size(), 4u) << line;
        EXPECT_EQ(argv[3], v) << line;
    }
}

TEST(Agi, LineBreaksCannotEndACommand) {
    EXPECT_EQ(agi::quote("a\nb\r\nc"), "\"a b  c\"");
    std::string with_nul("a\0b", 3);
    EXPECT_EQ(agi::quote(with_nul), "\"a b\"");
    EXPECT_EQ(agi::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

} // namespace
