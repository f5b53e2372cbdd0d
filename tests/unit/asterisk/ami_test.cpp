// Tests of the AMI client against a loopback manager that replays the recorded Asterisk session.
#include "asterisk/ami.hpp"
#include "util/base64.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace sms;
using namespace sms::ami;

namespace {

// The server's side of one connection: reads the client's actions, writes what Asterisk would.
class Conn {
public:
    explicit Conn(int fd)
        : fd_(fd) {}
    void send(std::string_view s) {
        while (!s.empty()) {
            ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // The next action from the client, or nullopt when it closed.
    std::optional<Frame> read() {
        for (;;) {
            if (auto f = reader_.take_frame())
                return f;
            char buf[1024];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0)
                return std::nullopt;
            reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        }
    }
    // Answers `f` with a response carrying its ActionID.
    void respond(const Frame& f, std::string_view response, std::string_view message,
                 std::string_view extra = "") {
        send(fmt::format("Response: {}\r\nActionID: {}\r\n{}Message: {}\r\n\r\n", response,
                         f.value("ActionID"), extra, message));
    }
    // Waits until the client closes (so a test never races the client's last read).
    void drain() {
        char buf[256];
        while (::recv(fd_, buf, sizeof buf, 0) > 0) {
        }
    }

private:
    int fd_;
    FrameReader reader_;
};

// A manager on 127.0.0.1 (a free port) that runs `script` for one connection.
class Server {
public:
    explicit Server(std::function<void(Conn&)> script) {
        lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(lfd_, 4), 0);
        socklen_t len = sizeof a;
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, script = std::move(script)] {
            int fd = ::accept(lfd_, nullptr, nullptr);
            if (fd < 0)
                return;
            Conn c(fd);
            script(c);
            ::close(fd);
        });
    }
    ~Server() {
        ::shutdown(lfd_, SHUT_RDWR); // wakes an accept that never got a client
        thread_.join();
        ::close(lfd_);
    }
    int port() const { return port_; }

private:
    int lfd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

AmiConfig config_for(int port) {
    AmiConfig cfg;
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.username = "tester";
    cfg.secret = "s3cret";
    cfg.timeout = 2;
    return cfg;
}

constexpr std::string_view banner = "Asterisk Call Manager/13.0.0\r\n";
constexpr std::string_view fully_booted = "Event: FullyBooted\r\nPrivilege: system,all\r\n"
                                          "Uptime: 22\r\nLastReload: 22\r\n"
                                          "Status: Fully Booted\r\n\r\n";
constexpr std::string_view successful_auth =
    "Event: SuccessfulAuth\r\nPrivilege: security,all\r\n"
    "EventTV: 2026-11-29T22:55:47.332+0000\r\nSeverity: Informational\r\nService: AMI\r\n"
    "EventVersion: 1\r\nAccountID: tester\r\nSessionID: 0x7f57a0008460\r\n"
    "LocalAddress: IPV4/TCP/127.0.0.1/15038\r\nRemoteAddress: IPV4/TCP/127.0.0.1/54592\r\n"
    "UsingPassword: 0\r\nSessionTV: 2026-11-29T22:55:47.332+0000\r\n\r\n";

// What Asterisk does for a plain login: Success when the secret matches, else Error.
bool plain_login(Conn& c, std::string_view secret = "s3cret") {
    auto f = c.read();
    if (!f || f->value("Action") != "Login")
        return false;
    if (f->value("Username") == "tester" && f->value("Secret") == secret) {
        c.respond(*f, "Success", "Authentication accepted");
        return true;
    }
    c.respond(*f, "Error", "Authentication failed");
    return false;
}

// Logoff -> Goodbye, then Asterisk closes.
void goodbye(Conn& c) {
    if (auto f = c.read(); f && f->value("Action") == "Logoff")
        c.respond(*f, "Goodbye", "Thanks for all the fish.");
}

std::string read_fixture() {
    std::ifstream in(std::string(SMS_TEST_DATA) + "/ami/ami-transcript.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST(Md5, Rfc1321Vectors) {
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
    EXPECT_EQ(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234"
                      "567890"),
              "57edf4a22be3c955ac49da2e2107b67a");
    // 55 and 56 bytes: the padding boundary.
    EXPECT_EQ(md5_hex(std::string(55, 'a')), "ef1772b6dff9a122358552954ad0df65");
    EXPECT_EQ(md5_hex(std::string(56, 'a')), "3b0c8ac703f828b04c6c197006d17218");
}

TEST(FrameReader, ParsesTheRecordedAsteriskSide) {
    // Every "<<< " line of the fixture, as Asterisk sent it (CRLF), fed a few bytes at a time.
    std::string wire;
    std::istringstream in(read_fixture());
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("<<< "))
            wire += line.substr(4) + "\r\n";
        else if (line == "<<<")
            wire += "\r\n";
    FrameReader r;
    std::optional<std::string> banner_line;
    std::vector<Frame> frames;
    for (std::size_t i = 0; i < wire.size(); i += 7) {
        r.feed(std::string_view(wire).substr(i, 7));
        if (!banner_line)
            banner_line = r.take_line();
        if (banner_line)
            while (auto f = r.take_frame())
                frames.push_back(*f);
    }
    ASSERT_TRUE(banner_line);
    EXPECT_EQ(*banner_line, "Asterisk Call Manager/13.0.0");
    ASSERT_EQ(frames.size(), 6u);
    EXPECT_EQ(frames[0].value("Response"), "Success");
    EXPECT_EQ(frames[0].value("actionid"), "login-1"); // names are case-insensitive
    EXPECT_TRUE(frames[1].is_event());
    EXPECT_EQ(frames[1].value("Status"), "Fully Booted");
    EXPECT_EQ(frames[2].value("Event"), "SuccessfulAuth");
    EXPECT_EQ(frames[3].value("Message"), "Message technology not found.");
    EXPECT_EQ(frames[4].value("Message"), "No 'To' address specified.");
    EXPECT_EQ(frames[5].value("Response"), "Goodbye");
    EXPECT_EQ(r.pending(), 0u);
}

TEST(FrameReader, BareLfAndBlankLinesBetweenFrames) {
    FrameReader r;
    r.feed("\r\n\nResponse: Success\nActionID: a\n\n");
    auto f = r.take_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->value("ActionID"), "a");
    EXPECT_FALSE(r.take_frame());
}

TEST(FrameReader, RefusesEndlessLinesAndFrames) {
    FrameReader r;
    r.feed(std::string(FrameReader::max_line + 10, 'x'));
    EXPECT_THROW(r.take_frame(), Error);
    FrameReader r2;
    std::string many;
    for (std::size_t i = 0; i <= FrameReader::max_headers; ++i)
        many += "A: b\r\n";
    r2.feed(many);
    EXPECT_THROW(r2.take_frame(), Error);
}

TEST(FormatAction, CrlfFramingAndActionId) {
    EXPECT_EQ(format_action("MessageSend", "msg-1", {{"To", "pjsip:1000"}}),
              "Action: MessageSend\r\nActionID: msg-1\r\nTo: pjsip:1000\r\n\r\n");
}

TEST(FormatAction, RefusesInjectedLines) {
    try {
        format_action("MessageSend", "1", {{"To", "pjsip:1000\r\nAction: Originate"}});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::dataerr);
        EXPECT_NE(e.reason().find("CR"), std::string::npos);
    }
    EXPECT_THROW(format_action("Login", "1", {{"Secret", "a\nb"}}), Error);
    EXPECT_THROW(format_action("Login", "1", {{"Secret", std::string("a\0b", 3)}}), Error);
    EXPECT_THROW(format_action("Login", "1", {{"Bad: name", "x"}}), Error);
    EXPECT_THROW(format_action("Login", "1", {{"Body", std::string(1100, 'x')}}), Error);
}

TEST(SplitBody, KeepsCharactersWhole) {
    std::string text;
    for (int i = 0; i < 300; ++i)
        text += "ż"; // two bytes each
    auto parts = split_body(text, 101);
    std::string joined;
    for (const auto& p : parts) {
        EXPECT_LE(p.size(), 101u);
        EXPECT_EQ(p.size() % 2, 0u);
        joined += p;
    }
    EXPECT_EQ(joined, text);
    EXPECT_EQ(split_body("short", max_body_bytes), std::vector<std::string>{"short"});
    // Base64 of a full part still fits Asterisk's line.
    EXPECT_LE(format_action("MessageSend", "sms-99999-9",
                            {{"Base64Body", base64::encode(std::string(max_body_bytes, 'x'))}})
                  .size(),
              1100u);
}

TEST(FromHeader, DefaultAndTemplate) {
    AmiConfig cfg;
    EXPECT_EQ(from_header(cfg, "48500100200"), "48500100200");
    cfg.from = "\"SMS {number}\" <sip:{number}@pbx.example>";
    EXPECT_EQ(from_header(cfg, "9000"), "\"SMS 9000\" <sip:9000@pbx.example>");
}

TEST(SendMessage, ReplaysTheFixture) {
    // The recorded session: Login, events between the MessageSend and its reply, Error.
    std::mutex m;
    std::vector<Frame> seen;
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        auto f = c.read();
        if (!f)
            return;
        {
            std::lock_guard lock(m);
            seen.push_back(*f);
        }
        c.send(fully_booted);
        c.send(successful_auth);
        // A reply to someone else's action must not be taken for ours.
        c.send("Response: Success\r\nActionID: not-yours\r\nMessage: other\r\n\r\n");
        c.respond(*f, "Error", "Message technology not found.");
        goodbye(c);
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "Zażółć gęślą jaźń");
    EXPECT_EQ(r.status, SendResult::Status::refused);
    EXPECT_EQ(r.exit, Exit::failure);
    EXPECT_EQ(r.message, "Message technology not found.");
    std::lock_guard lock(m);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].value("Action"), "MessageSend");
    EXPECT_EQ(seen[0].value("To"), "pjsip:1000");
    EXPECT_EQ(seen[0].value("From"), "9000");
    EXPECT_FALSE(seen[0].value("ActionID").empty());
    EXPECT_EQ(base64::decode(seen[0].value("Base64Body")), "Zażółć gęślą jaźń");
}

TEST(SendMessage, SuccessWithConfiguredTechnologyAndFrom) {
    std::mutex m;
    std::vector<Frame> seen;
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        while (auto f = c.read()) {
            {
                std::lock_guard lock(m);
                seen.push_back(*f);
            }
            if (f->value("Action") == "Logoff") {
                c.respond(*f, "Goodbye", "Thanks for all the fish.");
                return;
            }
            c.send(fully_booted);
            c.respond(*f, "Success", "Message successfully sent");
        }
    });
    auto cfg = config_for(srv.port());
    cfg.technology = "sip";
    cfg.from = "\"SMS Centre\" <sip:{number}@127.0.0.1>";
    auto r = send_message(cfg, "9000", "alice", "Hello\nsecond line");
    EXPECT_EQ(r.status, SendResult::Status::sent) << r.message;
    EXPECT_EQ(r.exit, Exit::ok);
    std::lock_guard lock(m);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].value("To"), "sip:alice");
    EXPECT_EQ(seen[0].value("From"), "\"SMS Centre\" <sip:9000@127.0.0.1>");
    EXPECT_EQ(base64::decode(seen[0].value("Base64Body")), "Hello\nsecond line");
    EXPECT_EQ(seen[1].value("Action"), "Logoff");
}

TEST(SendMessage, LongTextGoesAsSeveralMessages) {
    std::mutex m;
    std::string received;
    int sends = 0;
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        while (auto f = c.read()) {
            if (f->value("Action") == "Logoff") {
                c.respond(*f, "Goodbye", "bye");
                return;
            }
            {
                std::lock_guard lock(m);
                received += base64::decode(f->value("Base64Body")).value_or("?");
                ++sends;
            }
            c.respond(*f, "Success", "Message successfully sent");
        }
    });
    std::string text;
    for (int i = 0; i < 400; ++i)
        text += "słowo ";
    auto r = send_message(config_for(srv.port()), "9000", "1000", text);
    EXPECT_EQ(r.status, SendResult::Status::sent) << r.message;
    std::lock_guard lock(m);
    EXPECT_GE(sends, 4);
    EXPECT_EQ(received, text);
}

TEST(SendMessage, BadSecretIsUnavailable) {
    Server srv([&](Conn& c) {
        c.send(banner);
        plain_login(c, "other");
        c.drain();
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable);
    EXPECT_EQ(r.exit, Exit::unavailable);
    EXPECT_NE(r.message.find("Authentication failed"), std::string::npos) << r.message;
}

TEST(SendMessage, Md5ChallengeLogin) {
    std::mutex m;
    std::string key;
    Server srv([&](Conn& c) {
        c.send(banner);
        auto ch = c.read();
        if (!ch || ch->value("Action") != "Challenge" || ch->value("AuthType") != "MD5")
            return;
        c.send(fmt::format("Response: Success\r\nActionID: {}\r\nChallenge: 840415273\r\n\r\n",
                           ch->value("ActionID")));
        auto login = c.read();
        if (!login)
            return;
        {
            std::lock_guard lock(m);
            key = login->value("Key");
        }
        if (login->value("Key") == md5_hex("840415273s3cret") &&
            login->get("Secret") == std::nullopt)
            c.respond(*login, "Success", "Authentication accepted");
        else
            c.respond(*login, "Error", "Authentication failed");
        if (auto f = c.read())
            c.respond(*f, "Success", "Message successfully sent");
        goodbye(c);
    });
    auto cfg = config_for(srv.port());
    cfg.auth = AmiAuth::md5;
    auto r = send_message(cfg, "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::sent) << r.message;
    std::lock_guard lock(m);
    EXPECT_EQ(key, md5_hex("840415273s3cret"));
}

TEST(SendMessage, ServerThatNeverAnswersTimesOut) {
    Server srv([&](Conn& c) {
        c.send(banner);
        c.drain(); // reads the Login, never answers
    });
    auto cfg = config_for(srv.port());
    cfg.timeout = 1;
    auto r = send_message(cfg, "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable);
    EXPECT_EQ(r.exit, Exit::tempfail);
    EXPECT_NE(r.message.find("no answer"), std::string::npos) << r.message;
}

TEST(SendMessage, ServerClosingMidReply) {
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        if (c.read())
            c.send("Response: Succ"); // and the connection ends
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable);
    EXPECT_EQ(r.exit, Exit::tempfail);
    EXPECT_NE(r.message.find("closed"), std::string::npos) << r.message;
}

TEST(SendMessage, NotAnAsteriskBanner) {
    Server srv([&](Conn& c) {
        c.send("SSH-2.0-OpenSSH_9.2\r\n");
        c.drain();
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable);
    EXPECT_EQ(r.exit, Exit::unavailable);
    EXPECT_NE(r.message.find("not an Asterisk manager"), std::string::npos) << r.message;
}

TEST(SendMessage, NobodyListening) {
    int port;
    {
        // A port that was free a moment ago and is closed now.
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        ::close(fd);
    }
    auto r = send_message(config_for(port), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable);
    EXPECT_EQ(r.exit, Exit::unavailable);
    EXPECT_NE(r.message.find("cannot connect"), std::string::npos) << r.message;
}

TEST(SendMessage, InjectionInRecipientRefusedBeforeConnecting) {
    // Port 1 on loopback: if it tried to connect, the answer would be "unavailable".
    auto r = send_message(config_for(1), "9000", "1000\r\nAction: Originate", "x");
    EXPECT_EQ(r.status, SendResult::Status::refused);
    EXPECT_EQ(r.exit, Exit::dataerr);
    auto r2 = send_message(config_for(1), "", "1000", "x");
    EXPECT_EQ(r2.status, SendResult::Status::refused);
}

TEST(Client, EventsBetweenLoginAndResponse) {
    Server srv([&](Conn& c) {
        c.send(banner);
        auto f = c.read();
        if (!f)
            return;
        c.send(fully_booted);
        c.send(successful_auth);
        c.respond(*f, "Success", "Authentication accepted");
        if (auto p = c.read())
            c.respond(*p, "Success", "Pong", "Ping: Pong\r\n");
        goodbye(c);
    });
    Client c(config_for(srv.port()));
    c.connect();
    EXPECT_EQ(c.banner(), "Asterisk Call Manager/13.0.0");
    c.login();
    Frame pong = c.action("Ping");
    EXPECT_EQ(pong.value("Ping"), "Pong");
    c.logoff();
}

TEST(FrameReader, ArbitraryBytesNeverCrash) {
    // A poor man's fuzzer (the libFuzzer target can reuse FrameReader the same way): random
    // bytes biased towards the protocol's own characters, fed in random pieces; the reader may
    // only return frames or throw Error, and no name or value it returns holds CR or LF.
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1664525u + 1013904223u;
        return seed >> 8;
    };
    constexpr std::string_view alphabet = "Response: Success\r\nActionID:\n\r:  \0\xff";
    for (int round = 0; round < 200; ++round) {
        FrameReader r;
        std::size_t frames = 0;
        try {
            for (int piece = 0; piece < 50; ++piece) {
                std::string bytes;
                for (std::uint32_t n = next() % 64; n > 0; --n)
                    bytes += next() % 4 == 0 ? static_cast<char>(next() & 0xFF)
                                             : alphabet[next() % alphabet.size()];
                r.feed(bytes);
                while (auto f = r.take_frame()) {
                    ++frames;
                    for (const auto& h : f->headers) {
                        EXPECT_EQ(h.name.find_first_of("\r\n"), std::string::npos);
                        EXPECT_EQ(h.value.find_first_of("\r\n"), std::string::npos);
                    }
                }
            }
        } catch (const Error& e) {
            EXPECT_EQ(e.exit(), Exit::dataerr);
        }
        (void)frames;
    }
}

// Anything that is not a well-formed exchange with Asterisk is an outage (retry), never a
// refusal: an over-long line before the banner, an answer that is neither Success nor Error.
TEST(SendMessage, OverlongBannerIsAnOutageNotARefusal) {
    Server srv([&](Conn& c) {
        c.send(std::string(FrameReader::max_line + 100, 'A'));
        c.drain();
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable) << r.message;
    EXPECT_NE(r.exit, Exit::dataerr);
    EXPECT_NE(r.exit, Exit::failure);
}

TEST(SendMessage, OverlongLineAfterLoginIsAnOutage) {
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        if (c.read())
            c.send(std::string(FrameReader::max_line + 100, 'B'));
        c.drain();
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable) << r.message;
}

TEST(SendMessage, AnswerNeitherSuccessNorErrorIsAnOutage) {
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        if (auto f = c.read())
            c.respond(*f, "Follows", "what?");
        goodbye(c);
    });
    auto r = send_message(config_for(srv.port()), "9000", "1000", "x");
    EXPECT_EQ(r.status, SendResult::Status::unavailable) << r.message;
}

// A dropped connection after part 1: the caller learns part 1 went; a retry that skips it
// sends only the rest.
TEST(SendMessage, PartsAlreadySentAreSkipped) {
    std::mutex m;
    std::vector<std::string> bodies;
    auto session = [&](Conn& c, bool drop_second) {
        c.send(banner);
        if (!plain_login(c))
            return;
        while (auto f = c.read()) {
            if (f->value("Action") == "Logoff") {
                c.respond(*f, "Goodbye", "bye");
                return;
            }
            std::lock_guard lock(m);
            if (drop_second && bodies.size() == 1)
                return; // the connection drops at the second MessageSend
            bodies.push_back(base64::decode(f->value("Base64Body")).value_or("?"));
            c.respond(*f, "Success", "Message successfully sent");
        }
    };
    Server first([&](Conn& c) { session(c, true); });
    Server second([&](Conn& c) { session(c, false); });
    std::string text;
    for (int i = 0; i < 200; ++i)
        text += "word ";
    auto parts = split_body(text, max_body_bytes);
    ASSERT_EQ(parts.size(), 2u);
    std::vector<std::size_t> done;
    auto r = send_message(config_for(first.port()), "9000", "1000", text, 0,
                          [&](std::size_t n) { done.push_back(n); });
    EXPECT_EQ(r.status, SendResult::Status::unavailable) << r.message;
    EXPECT_EQ(done, std::vector<std::size_t>{1});
    r = send_message(config_for(second.port()), "9000", "1000", text, done.size(),
                     [&](std::size_t n) { done.push_back(n); });
    EXPECT_EQ(r.status, SendResult::Status::sent) << r.message;
    EXPECT_EQ(done, (std::vector<std::size_t>{1, 2}));
    std::lock_guard lock(m);
    EXPECT_EQ(bodies, parts);
}

TEST(SendMessage, TooManyPartsIsRefusedBeforeConnecting) {
    AmiConfig cfg;
    cfg.port = 1; // never reached
    auto r = send_message(cfg, "9000", "1000", std::string(max_parts * max_body_bytes + 1, 'x'));
    EXPECT_EQ(r.status, SendResult::Status::refused);
    EXPECT_EQ(r.exit, Exit::dataerr);
}

// ---- PJSIPShowEndpoint: the recorded exchanges of tests/data/pjsip (a real PJSIP Asterisk) ----

namespace {

// What Asterisk answered in the section of pjsip/c.txt whose "=== " title holds `title`: its
// lines without the "# " lines of what was sent, CRLF, the recorded ActionID replaced by `id`.
std::string recorded(std::string_view title, std::string_view id) {
    std::ifstream in(std::string(SMS_TEST_DATA) + "/pjsip/c.txt");
    std::string out, recorded_id;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("=== ")) {
            if (inside)
                break;
            inside = line.find(title) != std::string::npos;
            continue;
        }
        if (!inside || line.starts_with("#"))
            continue;
        if (line.starts_with("ActionID: ") && recorded_id.empty())
            recorded_id = line.substr(10);
        out += line + "\r\n";
    }
    EXPECT_FALSE(recorded_id.empty()) << title;
    for (auto at = out.find(recorded_id); !recorded_id.empty() && at != std::string::npos;
         at = out.find(recorded_id, at + id.size()))
        out.replace(at, recorded_id.size(), id);
    return out;
}

std::string replaced(std::string s, std::string_view from, std::string_view to) {
    auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        s.replace(at, from.size(), to);
    return s;
}

constexpr std::string_view endpoint_section = "AMI PJSIPShowEndpoint";
constexpr std::string_view contact_status_event =
    "Event: ContactStatus\r\nPrivilege: system,all\r\n"
    "URI: sip:600700804@127.0.0.1:16004;transport=UDP\r\nContactStatus: Unreachable\r\n"
    "AOR: 600700804\r\nEndpointName: 600700804\r\nRoundtripUsec: 0\r\n\r\n";

// A manager answering PJSIPShowEndpoint with `answer(actionid)`, split so that an unsolicited
// ContactStatus event and another action's list event arrive in the middle of the list.
Reach ask(const std::function<std::string(std::string_view)>& answer, Frame* asked = nullptr) {
    std::mutex m;
    Frame seen;
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        c.send(fully_booted);
        auto f = c.read();
        if (!f)
            return;
        {
            std::lock_guard lock(m);
            seen = *f;
        }
        std::string a = answer(f->value("ActionID"));
        auto cut = a.find("Event: AorDetail");
        if (cut == std::string::npos)
            cut = a.size();
        c.send(a.substr(0, cut));
        c.send(contact_status_event);
        c.send("Event: ContactStatusDetail\r\nActionID: not-yours\r\nStatus: Reachable\r\n\r\n");
        c.send(a.substr(cut));
        goodbye(c);
    });
    auto r = contacts(config_for(srv.port()), "600700804");
    std::lock_guard lock(m);
    if (asked)
        *asked = seen;
    return r;
}

} // namespace

TEST(Contacts, RecordedUnreachableContact) {
    Frame asked;
    auto r = ask([](std::string_view id) { return recorded(endpoint_section, id); }, &asked);
    EXPECT_EQ(asked.value("Action"), "PJSIPShowEndpoint");
    EXPECT_EQ(asked.value("Endpoint"), "600700804");
    EXPECT_EQ(r.state, Reach::State::unreachable) << r.detail;
    EXPECT_EQ(r.detail, "sip:600700804@127.0.0.1:16004;transport=UDP Unreachable");
    EXPECT_EQ(r.round, 0);
    EXPECT_TRUE(r.reachable.empty());
}

TEST(Contacts, ReachableContactGivesItsQualifyRound) {
    auto r = ask([](std::string_view id) {
        return replaced(replaced(recorded(endpoint_section, id), "Status: Unreachable\r\n",
                                 "Status: Reachable\r\n"),
                        "RoundtripUsec: N/A", "RoundtripUsec: 1134");
    });
    EXPECT_EQ(r.state, Reach::State::reachable) << r.detail;
    EXPECT_EQ(r.round, 13); // qualify_frequency 10 + qualify_timeout 3.000
    // The registration: the contact's ID and the Call-ID of its REGISTER.
    EXPECT_EQ(r.reachable, std::vector<std::string>{"600700804;@e4fdf97d7231dbc0d3c5ef2a392b8980 "
                                                    "1-25596@127.0.0.1"});
}

TEST(Contacts, NoContactEventIsNoContact) {
    // The AOR of an endpoint that never registered: no ContactStatusDetail in the list.
    auto r = ask([](std::string_view id) {
        auto a = recorded(endpoint_section, id);
        auto from = a.find("Event: ContactStatusDetail");
        auto to = a.find("Event: EndpointDetailComplete");
        EXPECT_TRUE(from != std::string::npos && to != std::string::npos);
        return a.erase(from, to - from);
    });
    EXPECT_EQ(r.state, Reach::State::no_contact);
}

TEST(Contacts, WithoutQualifyIsUnqualified) {
    auto r = ask([](std::string_view id) {
        return replaced(replaced(recorded(endpoint_section, id), "Status: Unreachable\r\n",
                                 "Status: NonQualified\r\n"),
                        "QualifyFrequency: 10\r\nQualifyTimeout: 3.000",
                        "QualifyFrequency: 0\r\nQualifyTimeout: 3.000");
    });
    EXPECT_EQ(r.state, Reach::State::unqualified);
    EXPECT_EQ(r.round, 0);
}

TEST(Contacts, ManagerWithoutPjsipIsUnsupportedAndUnknownEndpointHasNoContact) {
    auto r = ask([](std::string_view id) {
        return fmt::format("Response: Error\r\nActionID: {}\r\nMessage: Invalid/unknown command: "
                           "PJSIPShowEndpoint. Use Action: ListCommands to show available "
                           "commands.\r\n\r\n",
                           id);
    });
    EXPECT_EQ(r.state, Reach::State::unsupported);
    EXPECT_TRUE(r.detail.starts_with("Invalid/unknown command")) << r.detail;
    r = ask([](std::string_view id) {
        return fmt::format("Response: Error\r\nActionID: {}\r\nMessage: Unable to retrieve "
                           "endpoint 600700804\r\n\r\n",
                           id);
    });
    EXPECT_EQ(r.state, Reach::State::no_contact);
}

TEST(Contacts, ListThatNeverCompletesIsAnOutage) {
    Server srv([&](Conn& c) {
        c.send(banner);
        if (!plain_login(c))
            return;
        auto f = c.read();
        if (!f)
            return;
        auto a = recorded(endpoint_section, f->value("ActionID"));
        c.send(a.substr(0, a.find("Event: EndpointDetailComplete")));
        c.drain();
    });
    auto cfg = config_for(srv.port());
    cfg.timeout = 1;
    try {
        contacts(cfg, "600700804");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::tempfail) << e.what();
    }
}

TEST(ReachOf, ReachableWinsThenUnqualifiedThenUnreachable) {
    auto contact = [](std::string_view status) {
        Frame f;
        f.headers = {{"Event", "ContactStatusDetail"},
                     {"URI", "sip:1@h"},
                     {"Status", std::string(status)},
                     {"QualifyFrequency", "60"},
                     {"QualifyTimeout", "2.5"}};
        return f;
    };
    Frame ok;
    ok.headers = {{"Response", "Success"}, {"EventList", "start"}};
    EXPECT_EQ(reach_of(ok, {contact("Unreachable"), contact("Reachable")}).state,
              Reach::State::reachable);
    EXPECT_EQ(reach_of(ok, {contact("Unreachable"), contact("Reachable")}).round, 63);
    EXPECT_EQ(reach_of(ok, {contact("Unreachable"), contact("Unknown")}).state,
              Reach::State::unqualified);
    EXPECT_EQ(reach_of(ok, {contact("Unreachable"), contact("Removed")}).state,
              Reach::State::unreachable);
    EXPECT_EQ(reach_of(ok, {contact("Removed")}).state, Reach::State::no_contact);
    EXPECT_EQ(reach_of(ok, {}).state, Reach::State::no_contact);
}
