// The routing decision (SPEC 2.1 step 3): pure, no I/O. Given a message and the directory's
// answers for its receiver and its sender, what must happen to it.
#pragma once

#include "asterisk/spool.hpp"
#include "core/config.hpp"
#include "directory/directory.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sms::router {

// How an answer (a notice, a command's reply) reaches the sender: by its own service.
struct Reply {
    enum class Via { sms, sip, mail, none } via = Via::none;
    std::string from;    // the number the answer comes from
    std::string to;      // the sender
    std::string channel; // for sms: the sender's phone channel; for mail: the address
    std::string text;
    std::string why_none; // when via == none: why it cannot be answered
};

struct Action {
    enum class Kind {
        queue_sms,    // to a phone through app_sms (sms-send semantics)
        render_fax,   // sms2fax, then the SendFax call
        render_voice, // sms2voice, then the Playback call
        run_command,  // the command service; its answer goes back by `reply`
        send_sip,     // AMI MessageSend; when Asterisk refuses, `reply` tells the sender
        send_mail,    // an e-mail to `channel` (the address) through sendmail (SPEC 2.14)
        notice,       // `reply` only
    } kind = Kind::notice;
    std::string from;
    std::string to;
    std::string channel;
    std::string text;
    Reply reply;
};

// unreadable: an entry of sms/morx/ the router cannot read as a message file (no permission,
// a symbolic link, a FIFO, a device): warned about, counted, left where it is.
enum class Outcome { routed, held, retry, failed, bad, unreadable };
const char* to_string(Outcome o);

struct Decision {
    Outcome outcome = Outcome::routed;
    char service = '?'; // the receiver's letter, 'U' unknown, '?' not known (outage)
    std::vector<Action> actions;
    std::string detail; // one line for the log and the JSON output
};

struct Input {
    const spool::Message& message;
    directory::Lookup receiver;
    // Looked up only when needed (answers and notices); nullopt: not looked up.
    std::optional<directory::Lookup> sender;
    bool incomplete = false; // a concatenated message routed without all its parts
};

// Whether deciding needs the sender's entry, given the receiver's answer.
bool needs_sender(const Config& cfg, const spool::Message& m, const directory::Lookup& receiver);

// The receiver's effective service: the directory's letter, or 'C' for a number listed in
// [commands] numbers.
char service_of(const Config& cfg, std::string_view number, const directory::Lookup& l);

Decision decide(const Config& cfg, const Input& in);

// A notice: "<cannot_deliver> <da>. <reason>".
std::string notice_text(const Config& cfg, std::string_view da, std::string_view reason);

// How to answer `sender` (its lookup) from `from` with `text`.
Reply answer(const Config& cfg, const std::string& from, const std::string& sender,
             const std::optional<directory::Lookup>& lookup, std::string text);

} // namespace sms::router
