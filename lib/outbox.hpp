// Queueing SMS for landline phones (SPEC 4): split into parts, mttx queue files, delivery calls.
#pragma once

#include "config.hpp"
#include "fsutil.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sms::outbox {

struct Request {
    std::string oa;              // shown to the phone as the sender
    std::string da;              // the phone's number: also the mttx queue name
    std::string channel;         // what the delivery call dials
    std::string text;            // UTF-8
    std::optional<unsigned> ref; // concatenation reference; default: the next for `da`
    bool ref16 = false;
};

// One SMS of a (possibly concatenated) message, as sms-send --json prints it.
struct Part {
    int part = 1;
    int parts = 1;
    int dcs = 0;      // 0 GSM 7-bit, 8 UCS-2
    std::string udh;  // hex, without the length octet; empty for a single SMS
    int septets = 0;  // GSM 7-bit only
    int units = 0;    // UTF-16 units
    std::string text; // UTF-8
};

// Splits the text (after transliteration when [general] unicode = transliterate). Throws
// Error(dataerr) when it needs more than max_parts parts.
std::vector<Part> split(const Config& cfg, const Request& req);

// The files a send consists of: one mttx queue file per part, named `<da>.<stem>-<k>`, and the
// delivery call file `<da>` is dialled by, unless one is pending already.
std::vector<fs::PlannedFile> plan(const Config& cfg, const Request& req,
                                  const std::vector<Part>& parts, const std::string& stem);

// Whether a delivery call for queue `da` is waiting in outgoing/.
bool call_pending(const Config& cfg, const std::string& da);

// The next concatenation reference for `da` (a counter under the spool, kept with a lock).
unsigned next_reference(const Config& cfg, const std::string& da, bool ref16);

// Queues with a fresh unique stem, writing the files now. Returns the parts.
std::vector<Part> send(const Config& cfg, Request req);

} // namespace sms::outbox
