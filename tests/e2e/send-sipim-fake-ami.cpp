// A one-connection Asterisk manager for the send-sipim end-to-end tests: it replays what the
// recorded Asterisk did (tests/data/ami) in one of a few modes and logs what the client sent.
//   send-sipim-fake-ami PORTFILE LOGFILE MODE   (MODE: success error badsecret silent close)
// Other actions than MessageSend are answered as by an Asterisk without res_pjsip.
#include "asterisk/ami.hpp"
#include "util/base64.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <fmt/format.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int fd = -1;
sms::ami::FrameReader reader;
std::FILE* log_file = nullptr;

void send(std::string_view s) {
    while (!s.empty()) {
        ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::optional<sms::ami::Frame> read() {
    for (;;) {
        if (auto f = reader.take_frame()) {
            for (const auto& h : f->headers) {
                fmt::print(log_file, "{}: {}\n", h.name, h.value);
                if (h.name == "Base64Body")
                    fmt::print(log_file, "Body(decoded): {}\n",
                               sms::base64::decode(h.value).value_or("<invalid>"));
            }
            fmt::print(log_file, "\n");
            std::fflush(log_file);
            return f;
        }
        char buf[1024];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return std::nullopt;
        reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
}

void respond(const sms::ami::Frame& f, std::string_view response, std::string_view message) {
    send(fmt::format("Response: {}\r\nActionID: {}\r\nMessage: {}\r\n\r\n", response,
                     f.value("ActionID"), message));
}

void drain() {
    char buf[256];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: {} PORTFILE LOGFILE MODE\n", argv[0]);
        return 64;
    }
    std::string mode = argv[3];
    ::alarm(30); // never outlive a broken test
    int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 4) != 0)
        return 71;
    socklen_t len = sizeof a;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    log_file = std::fopen(argv[2], "w");
    if (!log_file)
        return 73;
    {
        std::string tmp = std::string(argv[1]) + ".tmp";
        std::FILE* pf = std::fopen(tmp.c_str(), "w");
        if (!pf)
            return 73;
        fmt::print(pf, "{}\n", ntohs(a.sin_port));
        std::fclose(pf);
        std::rename(tmp.c_str(), argv[1]); // the script waits for the whole file
    }
    // Connections until one that sent MessageSend ended (sms-process asks PJSIPShowEndpoint on
    // a connection of its own first).
    for (bool messaged = false; !messaged;) {
        fd = ::accept(lfd, nullptr, nullptr);
        if (fd < 0)
            return 71;
        reader = sms::ami::FrameReader();
        send("Asterisk Call Manager/13.0.0\r\n");
        if (mode == "silent") {
            drain();
            return 0;
        }
        auto login = read();
        if (!login)
            return 0;
        if (login->value("Secret") != "s3cret") {
            respond(*login, "Error", "Authentication failed");
            drain();
            return 0;
        }
        respond(*login, "Success", "Authentication accepted");
        while (auto f = read()) {
            if (f->value("Action") == "Logoff") {
                respond(*f, "Goodbye", "Thanks for all the fish.");
                break;
            }
            send("Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 22\r\nLastReload: "
                 "22\r\nStatus: Fully Booted\r\n\r\n");
            if (f->value("Action") != "MessageSend") {
                // What Asterisk answers an action it does not have (no res_pjsip here).
                respond(*f, "Error",
                        fmt::format("Invalid/unknown command: {}. Use Action: ListCommands to "
                                    "show available commands.",
                                    f->value("Action")));
                continue;
            }
            messaged = true;
            if (mode == "close") {
                send("Response: Succ");
                break;
            }
            if (mode == "error")
                respond(*f, "Error", "Message technology not found.");
            else
                respond(*f, "Success", "Message successfully sent");
        }
        ::close(fd);
    }
    return 0;
}
