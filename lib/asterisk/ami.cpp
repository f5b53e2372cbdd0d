// The Asterisk Manager Interface client: framing, login (plain and MD5 challenge), actions
// matched by ActionID.
#include "asterisk/ami.hpp"

#include "util/base64.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sms::ami {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, for poll (0 when past).
int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
        return 0;
    return left.count() > 1'000'000 ? 1'000'000 : static_cast<int>(left.count());
}

// ---- MD5 (RFC 1321), small and self-contained: the only use is AMI's challenge login ----

struct Md5 {
    std::array<std::uint32_t, 4> h{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};

    static std::uint32_t rotl(std::uint32_t x, unsigned c) { return x << c | x >> (32 - c); }

    void block(const unsigned char* p) {
        static constexpr std::array<unsigned, 64> s = {
            7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,  14, 20, 5,  9,
            14, 20, 5,  9,  14, 20, 5,  9,  14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
            4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21};
        static constexpr std::array<std::uint32_t, 64> k = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
            0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
            0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
            0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
            0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
            0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
            0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
            0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
            0xeb86d391};
        std::array<std::uint32_t, 16> m{};
        for (std::size_t i = 0; i < 16; ++i)
            m[i] = static_cast<std::uint32_t>(p[i * 4]) |
                   static_cast<std::uint32_t>(p[i * 4 + 1]) << 8 |
                   static_cast<std::uint32_t>(p[i * 4 + 2]) << 16 |
                   static_cast<std::uint32_t>(p[i * 4 + 3]) << 24;
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        for (std::size_t i = 0; i < 64; ++i) {
            std::uint32_t f;
            std::size_t g;
            if (i < 16) {
                f = (b & c) | (~b & d);
                g = i;
            } else if (i < 32) {
                f = (d & b) | (~d & c);
                g = (5 * i + 1) % 16;
            } else if (i < 48) {
                f = b ^ c ^ d;
                g = (3 * i + 5) % 16;
            } else {
                f = c ^ (b | ~d);
                g = (7 * i) % 16;
            }
            std::uint32_t t = d;
            d = c;
            c = b;
            b = b + rotl(a + f + k[i] + m[g], s[i]);
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
    }
};

} // namespace

std::string md5_hex(std::string_view data) {
    Md5 md;
    std::string msg(data);
    std::uint64_t bit_len = static_cast<std::uint64_t>(data.size()) * 8;
    msg += static_cast<char>(0x80);
    while (msg.size() % 64 != 56)
        msg += '\0';
    for (unsigned i = 0; i < 8; ++i)
        msg += static_cast<char>(bit_len >> (8 * i) & 0xFF);
    for (std::size_t off = 0; off < msg.size(); off += 64)
        md.block(reinterpret_cast<const unsigned char*>(msg.data() + off));
    std::string out;
    for (auto w : md.h)
        for (unsigned i = 0; i < 4; ++i)
            out += fmt::format("{:02x}", w >> (8 * i) & 0xFF);
    return out;
}

// ---- frames ----

std::optional<std::string> Frame::get(std::string_view name) const {
    for (const auto& h : headers)
        if (text::iequals(h.name, name))
            return h.value;
    return std::nullopt;
}

void FrameReader::feed(std::string_view bytes) {
    // Drop what was consumed before growing, so a long session does not keep every byte.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    buf_.append(bytes);
}

std::optional<std::string> FrameReader::next_line() {
    auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) {
        if (buf_.size() - pos_ > max_line)
            throw Error(Exit::dataerr, "AMI", fmt::format("line longer than {} bytes", max_line));
        return std::nullopt;
    }
    if (nl - pos_ > max_line)
        throw Error(Exit::dataerr, "AMI", fmt::format("line longer than {} bytes", max_line));
    std::size_t end = nl;
    if (end > pos_ && buf_[end - 1] == '\r')
        --end;
    std::string line = buf_.substr(pos_, end - pos_);
    pos_ = nl + 1;
    // A lone CR is no line end for Asterisk; as a space it cannot move a terminal's cursor when
    // a value (Asterisk's Message:) is printed.
    for (auto& c : line)
        if (c == '\r')
            c = ' ';
    return line;
}

std::optional<std::string> FrameReader::take_line() {
    return next_line();
}

std::optional<Frame> FrameReader::take_frame() {
    while (auto line = next_line()) {
        if (line->empty()) {
            if (partial_.headers.empty())
                continue; // blank lines between frames
            Frame done = std::move(partial_);
            partial_ = {};
            partial_bytes_ = 0;
            return done;
        }
        if (partial_.headers.size() >= max_headers)
            throw Error(Exit::dataerr, "AMI",
                        fmt::format("a message with more than {} lines", max_headers));
        Header h;
        auto colon = line->find(':');
        if (colon == std::string::npos) {
            h.value = *line; // e.g. the raw output of a Command action
        } else {
            h.name = std::string(text::trim(std::string_view(*line).substr(0, colon)));
            h.value = std::string(text::trim(std::string_view(*line).substr(colon + 1)));
        }
        partial_bytes_ += line->size() + 2;
        partial_.headers.push_back(std::move(h));
    }
    return std::nullopt;
}

std::string format_action(std::string_view action, std::string_view action_id,
                          const std::vector<Header>& headers) {
    // Asterisk's manager reads a line into a 1025-byte buffer and refuses a longer one.
    constexpr std::size_t max_wire_line = 1024;
    auto bad = [](std::string_view s) {
        return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
    };
    std::string out;
    auto add = [&](std::string_view name, std::string_view value) {
        if (name.empty() || bad(name) || name.find(':') != std::string_view::npos ||
            name.find(' ') != std::string_view::npos)
            throw Error(Exit::dataerr, fmt::format("AMI header '{}'", name), "invalid name");
        if (bad(value))
            throw Error(Exit::dataerr, fmt::format("AMI header {}", name),
                        "value holds CR, LF or NUL (it would inject manager lines)");
        std::string line = fmt::format("{}: {}\r\n", name, value);
        if (line.size() > max_wire_line)
            throw Error(Exit::dataerr, fmt::format("AMI header {}", name),
                        fmt::format("line of {} bytes, Asterisk reads at most {}", line.size(),
                                    max_wire_line));
        out += line;
    };
    add("Action", action);
    add("ActionID", action_id);
    for (const auto& h : headers)
        add(h.name, h.value);
    out += "\r\n";
    return out;
}

// ---- the client ----

Client::Client(AmiConfig cfg)
    : cfg_(std::move(cfg)) {}

Client::~Client() {
    if (fd_ >= 0)
        ::close(fd_);
}

std::string Client::where() const {
    return fmt::format("AMI {}:{}", cfg_.host, cfg_.port);
}

Clock::time_point Client::deadline() const {
    return Clock::now() + std::chrono::seconds(cfg_.timeout > 0 ? cfg_.timeout : 5);
}

void Client::connect() {
    auto until = deadline();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(cfg_.port);
    int rc = ::getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
        Exit e = rc == EAI_AGAIN ? Exit::tempfail : Exit::unavailable;
        throw Error(e, where(), fmt::format("cannot resolve host: {}", ::gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);

    std::string last_error = "no address";
    Exit last_exit = Exit::unavailable;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
        if (fd < 0) {
            last_error = std::strerror(errno);
            continue;
        }
        int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int n;
            do
                n = ::poll(&p, 1, remaining_ms(until));
            while (n < 0 && errno == EINTR);
            if (n == 0) {
                ::close(fd);
                last_error = fmt::format("connection timed out after {} s", cfg_.timeout);
                last_exit = Exit::tempfail;
                continue;
            }
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            r = err == 0 ? 0 : -1;
            errno = err;
        }
        if (r < 0) {
            last_error = std::strerror(errno);
            // A refused or unreachable port is Asterisk being down: "unavailable"; the router
            // treats both codes as "keep the message and retry".
            last_exit = Exit::unavailable;
            ::close(fd);
            continue;
        }
        fd_ = fd;
        break;
    }
    if (fd_ < 0)
        throw Error(last_exit, where(), fmt::format("cannot connect: {}", last_error));

    std::optional<std::string> line;
    try {
        while (!(line = reader_.take_line()))
            fill(until, "the banner");
    } catch (const Error& e) {
        if (e.exit() != Exit::dataerr)
            throw;
        // Not a manager's banner (an over-long line): a peer we cannot talk to, not a refusal.
        throw Error(Exit::unavailable, where(),
                    fmt::format("not an Asterisk manager: {}", e.reason()));
    }
    banner_ = *line;
    if (!banner_.starts_with("Asterisk Call Manager/"))
        throw Error(Exit::unavailable, where(),
                    fmt::format("not an Asterisk manager (banner '{}')", banner_.substr(0, 80)));
    log::debug("{}: connected: {}", where(), banner_);
}

void Client::send_all(std::string_view data, Clock::time_point until) {
    while (!data.empty()) {
        ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            int r = ::poll(&p, 1, remaining_ms(until));
            if (r == 0)
                throw Error(Exit::tempfail, where(), "timed out sending");
            continue;
        }
        throw Error(Exit::tempfail, where(), fmt::format("send failed: {}", std::strerror(errno)));
    }
}

void Client::fill(Clock::time_point until, std::string_view waiting_for) {
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(until));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            throw Error(
                Exit::tempfail, where(),
                fmt::format("no answer within {} s waiting for {}", cfg_.timeout, waiting_for));
        if (r < 0)
            throw Error(Exit::tempfail, where(), fmt::format("poll: {}", std::strerror(errno)));
        std::array<char, 4096> buf;
        ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0)
            throw Error(Exit::tempfail, where(),
                        fmt::format("receive failed waiting for {}: {}", waiting_for,
                                    std::strerror(errno)));
        if (n == 0)
            throw Error(Exit::tempfail, where(),
                        fmt::format("connection closed by Asterisk waiting for {}", waiting_for));
        reader_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
        return;
    }
}

Frame Client::next_frame(Clock::time_point until, std::string_view waiting_for) {
    for (;;) {
        std::optional<Frame> f;
        try {
            f = reader_.take_frame();
        } catch (const Error& e) {
            throw Error(Exit::unavailable, where(), fmt::format("protocol error: {}", e.reason()));
        }
        if (f)
            return std::move(*f);
        fill(until, waiting_for);
    }
}

Frame Client::action(std::string_view name, const std::vector<Header>& headers) {
    if (fd_ < 0)
        throw Error(Exit::software, where(), "action before connect");
    std::string id = fmt::format("sms-{}-{}", ::getpid(), next_id_++);
    auto until = deadline();
    send_all(format_action(name, id, headers), until);
    std::string waiting = fmt::format("the response to {}", name);
    for (;;) {
        Frame f = next_frame(until, waiting);
        if (f.is_response() && f.value("ActionID") == id)
            return f;
        // Events (FullyBooted, SuccessfulAuth, ...) and stray responses are not ours.
        log::debug("{}: skipped {} {}", where(), f.is_event() ? "event" : "message",
                   f.is_event() ? f.value("Event") : f.value("Response"));
    }
}

std::pair<Frame, std::vector<Frame>> Client::action_list(std::string_view name,
                                                         const std::vector<Header>& headers) {
    // The ActionID the response carries is the one the events carry.
    Frame response = action(name, headers);
    std::vector<Frame> events;
    if (!text::iequals(response.value("EventList"), "start"))
        return {std::move(response), std::move(events)};
    std::string id = response.value("ActionID");
    auto until = deadline();
    std::string waiting = fmt::format("the events listed by {}", name);
    for (;;) {
        Frame f = next_frame(until, waiting);
        if (!f.is_event() || f.value("ActionID") != id)
            continue; // another action's, or an unsolicited event
        if (text::iequals(f.value("EventList"), "Complete"))
            return {std::move(response), std::move(events)};
        if (events.size() >= max_list_events)
            throw Error(Exit::unavailable, where(),
                        fmt::format("protocol error: {} listed more than {} events", name,
                                    max_list_events));
        events.push_back(std::move(f));
    }
}

void Client::login() {
    Frame r;
    if (cfg_.auth == AmiAuth::md5) {
        Frame ch = action("Challenge", {{"AuthType", "MD5"}});
        auto challenge = ch.get("Challenge");
        if (!text::iequals(ch.value("Response"), "Success") || !challenge)
            throw Error(Exit::unavailable, where(),
                        fmt::format("MD5 challenge refused: {}", ch.value("Message")));
        r = action("Login", {{"AuthType", "MD5"},
                             {"Username", cfg_.username},
                             {"Key", md5_hex(*challenge + cfg_.secret)},
                             {"Events", "off"}});
    } else {
        r = action("Login",
                   {{"Username", cfg_.username}, {"Secret", cfg_.secret}, {"Events", "off"}});
    }
    if (!text::iequals(r.value("Response"), "Success"))
        throw Error(Exit::unavailable, where(),
                    fmt::format("login refused for user '{}': {}", cfg_.username,
                                r.get("Message").value_or("no reason given")));
}

void Client::logoff() noexcept {
    if (fd_ < 0)
        return;
    try {
        action("Logoff");
    } catch (const std::exception&) {
        // Asterisk may close before or instead of saying Goodbye; the work is done.
    }
    ::close(fd_);
    fd_ = -1;
}

} // namespace sms::ami
