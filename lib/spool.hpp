// The app_sms message file format (SPEC 3), read and write, and the spool folders.
#pragma once

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
    std::vector<std::string> unknown_keys; // reported, not fatal

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

// Parses a file's contents. Throws Error(Exit::dataerr, name, why) for a truncated, binary or
// malformed file (no newline at the end, no scts= or oa=, a line without '=', bad hex, invalid
// UTF-8, a bad number), or one larger than `max_size`.
Message parse(std::string_view content, std::string_view name = "message",
              std::size_t max_size = max_file_bytes);

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
// CR/LF, is Error(dataerr).
std::string serialize(const Message& m, const WriteStyle& style = {});

// Writes `m` into `dir` as `name` (dotfile, fsync, rename without replacing). Returns false when
// dir/name exists already.
bool write(const std::string& dir, const std::string& name, const Message& m,
           const WriteStyle& style = {});

// Whether `s` is a valid number for an address: digits with an optional leading '+', 1..20.
bool valid_number(std::string_view s);

// "YYYY-MM-DDTHH:MM:SS" for a time (local time, as app_sms writes it).
std::string format_scts(std::int64_t unix_time);
// Parses scts (local time). nullopt when malformed.
std::optional<std::int64_t> parse_scts(std::string_view scts);

// Message files in a spool folder: regular files not starting with '.', sorted.
std::vector<std::string> list(const std::string& dir);

} // namespace sms::spool
