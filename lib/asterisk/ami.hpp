// An Asterisk Manager Interface client, and sending SIP messages through MessageSend.
#pragma once

#include "util/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sms {

// The manager connection and how SIP messages are addressed through it ([ami], SPEC 5): read by
// the configuration, used by the client below.
enum class AmiAuth { plain, md5 };

struct AmiConfig {
    std::string host = "127.0.0.1";
    int port = 5038;
    std::string username;
    std::string secret;
    AmiAuth auth = AmiAuth::plain;
    std::string technology = "pjsip";
    std::string from; // From: of SIP messages: "{number}" is the sender; empty: the bare number
    int timeout = 5;  // seconds
};

} // namespace sms

namespace sms::ami {

struct SendResult {
    enum class Status { sent, refused, unavailable } status = Status::unavailable;
    std::string message; // Asterisk's Message: on refusal, or why it was unavailable
    // The exit code a tool maps this to: ok, failure (refused), unavailable (69: cannot connect,
    // not Asterisk, login refused) or tempfail (75: timed out, connection lost mid-reply).
    Exit exit = Exit::unavailable;
};

// Logs in with [ami], sends Action: MessageSend (To: <technology>:<to>, From:, Base64Body:),
// logs off. "refused" is Asterisk's own Response: Error to a MessageSend (a permanent no), or
// input no retry can fix (a bad number, a text of more than max_parts parts), found before
// connecting. Everything else that is not a well-formed exchange with an Asterisk manager is
// "unavailable" (a temporary failure for the router): connection failures, timeouts, refused
// logins, a peer that is not Asterisk or breaks the protocol (an over-long line, a banner that
// never ends, a response to MessageSend that is neither Success nor Error).
// A text longer than one AMI line can carry (Asterisk reads lines of at most 1024 bytes) is
// sent as several messages, split between characters (at a space when there is one); parts
// 1..`skip` are not sent again (a retry after some were), and `sent(n)` is called once part n
// (1-based) was accepted, so the caller can record it before the next one goes.
SendResult send_message(const AmiConfig& cfg, const std::string& from, const std::string& to,
                        std::string_view text, std::size_t skip = 0,
                        const std::function<void(std::size_t)>& sent = {});

// The From: header for a sender number: [ami] from with every "{number}" replaced by `from`,
// or, when [ami] from is empty, the bare number (pjsip and chan_sip then put it in the user
// part of the endpoint's own From URI, so the recipient can reply to it).
std::string from_header(const AmiConfig& cfg, std::string_view from);

// The body split into pieces of at most `max_bytes` bytes of UTF-8, between characters.
std::vector<std::string> split_body(std::string_view text, std::size_t max_bytes);
// The most body bytes one MessageSend can carry: Base64 of it must fit a 1024-byte line.
inline constexpr std::size_t max_body_bytes = 750;
// The most MessageSend actions one text may take; a longer text is refused before connecting.
// Enough for the suite's longest text (spool::max_text_bytes), since split_body cuts a part no
// shorter than three quarters of max_body_bytes.
inline constexpr std::size_t max_parts = 24;

// ---- the protocol ----

struct Header {
    std::string name;
    std::string value;
};

// One AMI message (a response or an event): "Name: value" lines up to an empty line.
struct Frame {
    std::vector<Header> headers;
    // The first value of a header (names compare case-insensitively).
    std::optional<std::string> get(std::string_view name) const;
    std::string value(std::string_view name) const { return get(name).value_or(""); }
    bool is_event() const { return get("Event").has_value(); }
    bool is_response() const { return get("Response").has_value(); }
};

// Splits the byte stream from Asterisk into the banner line and frames. Tolerates bare LF line
// ends and blank lines between frames; a CR inside a line becomes a space (no name or value it
// returns holds CR or LF); refuses (Error(dataerr)) lines over max_line bytes and
// frames over max_headers lines, so a hostile peer cannot make it grow without bound.
class FrameReader {
public:
    static constexpr std::size_t max_line = 64 * 1024;
    static constexpr std::size_t max_headers = 1024;

    void feed(std::string_view bytes);
    // The next whole line (without its line end), for the banner.
    std::optional<std::string> take_line();
    // The next whole frame.
    std::optional<Frame> take_frame();
    // Bytes received but not yet returned.
    std::size_t pending() const { return buf_.size() - pos_ + partial_bytes_; }

private:
    std::string buf_;
    std::size_t pos_ = 0;
    Frame partial_;
    std::size_t partial_bytes_ = 0;
    std::optional<std::string> next_line();
};

// Formats an action as it goes on the wire (CRLF lines, an empty line at the end). Refuses
// (Error(dataerr)) names or values holding CR, LF or NUL and lines longer than Asterisk reads.
std::string format_action(std::string_view action, std::string_view action_id,
                          const std::vector<Header>& headers);

// MD5 of `data` as 32 lower-case hex digits (the Key of a challenge login).
std::string md5_hex(std::string_view data);

// A manager session over TCP. Every wait has a deadline of [ami] timeout seconds. Errors are
// Error(unavailable) when Asterisk cannot be reached, is not Asterisk or refuses the login,
// Error(tempfail) on timeouts and connections lost mid-reply.
class Client {
public:
    explicit Client(AmiConfig cfg);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Connects and reads the banner ("Asterisk Call Manager/x.y.z").
    void connect();
    const std::string& banner() const { return banner_; }
    // Login (plain, or Challenge + md5 Key when [ami] auth = md5).
    void login();
    // Sends an action with a fresh ActionID and returns the response carrying that ActionID;
    // events and other responses that arrive meanwhile are skipped.
    Frame action(std::string_view name, const std::vector<Header>& headers = {});
    // An action whose answer is a list (Response: Success with EventList: start, then events
    // carrying its ActionID up to the one with EventList: Complete): the response and those
    // events, without the closing one. A response without EventList: start has no events.
    // At most max_list_events events (more is a protocol error).
    static constexpr std::size_t max_list_events = 4096;
    std::pair<Frame, std::vector<Frame>> action_list(std::string_view name,
                                                     const std::vector<Header>& headers = {});
    // Logoff, best effort (Asterisk closes the connection after Goodbye).
    void logoff() noexcept;

private:
    AmiConfig cfg_;
    int fd_ = -1;
    std::string banner_;
    FrameReader reader_;
    unsigned next_id_ = 1;
    std::string where() const;
    void send_all(std::string_view data, std::chrono::steady_clock::time_point deadline);
    // Reads more bytes into the reader; throws on timeout or EOF.
    void fill(std::chrono::steady_clock::time_point deadline, std::string_view waiting_for);
    std::chrono::steady_clock::time_point deadline() const;
    // The next frame, reading until `until`; protocol errors are Error(unavailable).
    Frame next_frame(std::chrono::steady_clock::time_point until, std::string_view waiting_for);
};

// ---- what the manager knows of a SIP user's contacts ----

// Whether a PJSIP endpoint can take a message now, as qualify (the AOR's qualify_frequency)
// last found it. MessageSend answers Success to a registered phone that is switched off, so this
// is asked first (SPEC 2.11, T).
struct Reach {
    enum class State {
        reachable,   // a contact answered its last qualify
        unqualified, // contacts without qualify (Unknown, NonQualified): reachability unknown
        unreachable, // contacts, none answering qualify
        no_contact,  // registered nowhere (or no such endpoint): MessageSend would refuse it
        unsupported, // a manager without PJSIPShowEndpoint (chan_sip, old versions, no privilege)
    } state = State::unsupported;
    std::string detail; // the statuses seen, or the manager's message (for logs)
    // The qualify round of the reachable contacts: qualify_frequency + qualify_timeout, rounded
    // up (0 when unknown).
    std::int64_t round = 0;
    // Who the reachable contacts are, "<ID> <CallID>" each (ContactStatusDetail): a phone that
    // died and registered again is a new registration (a new Call-ID) under the same ID.
    std::vector<std::string> reachable;
};

// Decides a Reach from the answer to PJSIPShowEndpoint (its response and its listed events).
// Pure. A contact is counted from each ContactStatusDetail event (Status: Reachable,
// Unreachable, Unknown, NonQualified; Removed is no contact): any Reachable wins, then any
// without qualify, then Unreachable. Response: Error "Unable to retrieve endpoint" is no contact;
// any other Error (Invalid/unknown command, Permission denied) is unsupported.
Reach reach_of(const Frame& response, const std::vector<Frame>& events);

// Logs in with [ami] and asks PJSIPShowEndpoint for `endpoint`. Throws Error(unavailable or
// tempfail) when the manager cannot be reached or breaks the protocol (an outage: retry).
Reach contacts(const AmiConfig& cfg, std::string_view endpoint);

} // namespace sms::ami
