// The app_sms message file format (SPEC 3), read and write, and the spool folders.
#pragma once

#include "util/error.hpp"
#include "util/utf8.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::spool {

// One information element of a user data header.
struct InformationElement {
    std::uint8_t id = 0;
    std::vector<std::uint8_t> data;
    bool operator==(const InformationElement&) const = default;
};

// The concatenation element (IEI 00: 8-bit reference, IEI 08: 16-bit reference).
struct Concat {
    unsigned ref = 0;
    unsigned total = 0;
    unsigned seq = 0;
    bool ref16 = false;
    bool operator==(const Concat&) const = default;
};

// How a file stored the text.
enum class UdForm { none, utf8, octets, ucs2 };

struct Message {
    std::string oa;   // originating address
    std::string da;   // destination address (absent in mtrx files)
    std::string scts; // YYYY-MM-DDTHH:MM:SS, as in the file
    std::string text; // UTF-8, the whole user data
    std::vector<InformationElement> udh;
    std::optional<int> pid, dcs, mr, vp, srr, rp;
    UdForm form = UdForm::none;
    std::vector<std::string> unknown_keys; // keys and lines app_sms ignores: ignored (debug log)
    // Surrogate halves at the ends of the text (shown there as U+FFFD): a part of a message
    // split inside a UTF-16 pair. join_texts() makes the character again.
    utf8::LoneHalves halves;
    // Why a udh# line was not used (an element running past the end, not hex): the text is
    // then a single message and this is logged as a warning. Empty: the header parsed.
    std::string udh_error;

    // The concatenation element, when there is one that can be right: sequence 1..total and a
    // total of at least 2 (3GPP TS 23.040 9.2.3.24.1 says to ignore any other).
    std::optional<Concat> concat() const;
    bool operator==(const Message&) const = default;
};

// Builds the concatenation element for a part.
InformationElement concat_element(const Concat& c);

// The largest message file the router reads as one (app_sms writes at most a few hundred bytes).
inline constexpr std::size_t max_file_bytes = 64 * 1024;
// The longest text the suite takes, in bytes of UTF-8: one limit, checked where a text enters
// (every tool's --text or standard input, post-sms's AGI body) and by the router. A text of this
// length written in the costliest form (a ;ud= comment and ud## hex) still fits max_file_bytes,
// so whatever a tool accepted the router can read.
inline constexpr std::size_t max_text_bytes = 12 * 1024;
// Throws Error(dataerr, what, "...") when `text` is longer than max_text_bytes.
void check_text_length(std::string_view text, std::string_view what = "message text");

// A file a writer may not have finished: empty, no newline at the end, or no scts= (app_sms
// always writes scts=). The router leaves such a file alone for a grace period.
class Incomplete : public Error {
public:
    using Error::Error;
};

// Parses a file's contents as leniently as app_sms's sms_readfile (SPEC 3): keys in any case,
// blanks around '=' skipped (not in the ud= value), unknown keys and lines without a separator
// ignored (listed in unknown_keys), no oa= (an unknown sender: oa empty), a udh# that does not
// parse (udh empty, udh_error set), lone surrogate halves (U+FFFD, `halves`). Throws
// Incomplete (empty, no final newline, no scts=) or Error(Exit::dataerr, name, why) for what
// is not a message (binary, too large, bad hex in ud#/ud##, invalid UTF-8, a bad number).
// `max_size`: a larger file is not a message.
Message parse(std::string_view content, std::string_view name = "message",
              std::size_t max_size = max_file_bytes);

// The whole text of a concatenated message from its parts in sequence order; nullptr stands
// for a missing part (written "[...]"). A high surrogate ending one part and a low one starting
// the next make their character again; a half without its partner stays U+FFFD.
std::string join_texts(const std::vector<const Message*>& parts);

// Reads and parses a file.
Message read(const std::string& path);

// The form a writer uses for the text.
enum class TextStyle {
    automatic, // ud= when printable; otherwise ";ud=" comment + ud# (Latin-1) or ud## (UCS-2)
    ucs2,      // always ud## (what app_sms reads reliably in queue files)
};

struct WriteStyle {
    TextStyle text = TextStyle::automatic;
    bool with_da = true;
};

// Serialises a message as app_sms writes one: oa, da, udh#, ud, scts, pid, dcs, vp, srr, mr, rp.
// Every value is checked: a number with anything but digits and a leading '+', or a field with
// CR/LF, is Error(dataerr). An empty oa (an unknown sender) writes no oa= line, as app_sms does.
std::string serialize(const Message& m, const WriteStyle& style = {});

// Writes `m` into `dir` as `name` (dotfile, fsync, rename without replacing). Returns false when
// dir/name exists already.
bool write(const std::string& dir, const std::string& name, const Message& m,
           const WriteStyle& style = {});

// Whether `s` is a valid number for an address: digits with an optional leading '+', 1..20.
bool valid_number(std::string_view s);
// Throws Error(dataerr) naming `what` (e.g. "--from") when `s` is not a valid number, as every
// tool refuses one (65).
void check_number(std::string_view what, std::string_view s);

// "YYYY-MM-DDTHH:MM:SS" for a time (local time, as app_sms writes it).
std::string format_scts(std::int64_t unix_time);
// Parses scts (local time). nullopt when malformed.
std::optional<std::int64_t> parse_scts(std::string_view scts);

// Every tool that writes into the spool calls this first: a missing spool root is a
// configuration error (Error(config), naming it), never created; the folders under an existing
// root are created as needed.
void require_root(const std::string& spool_dir);

// Message files in a spool folder: regular files not starting with '.', sorted.
std::vector<std::string> list(const std::string& dir);

} // namespace sms::spool
