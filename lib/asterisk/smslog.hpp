// app_sms's own log (/var/log/asterisk/sms): its lines parsed, and read incrementally across
// rotation, truncation and the lines app_sms breaks or glues. Read only, never written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::smslog {

// One line app_sms wrote:
//   <time> <status><dir><mode>[<mr>] <queue> <oa> <da> <text | udl=N>
// (fixtures/lasthop/README.md). A unit of the text whose low byte is 0x0A writes a raw line
// feed: the line goes on on the next physical line. A unit whose low byte is 0 ends the line
// there without its newline: the next line is glued on. Neither can be told from the end of a
// line by looking: only a text the suite predicted (Expected) is read across its raw line feeds
// (`text` holds them) or cut at its NUL (`cut` set); any other text ends at the first line feed.
struct Record {
    std::string time;           // local time, YYYY-MM-DDTHH:MM:SS
    char status = '?';          // 'Y' acknowledged, 'N' refused (NACK), '?' call ended in flight
    char dir = 'O';             // 'O' sent by this SMS(), 'I' received
    char mode = 'S';            // 'S' centre mode (option s), 'M' phone mode
    std::optional<unsigned> mr; // the hex byte after the flags (app_sms's atoi(mr=) & 0xFF)
    std::string queue;
    std::string oa; // "-" in the log: empty here
    std::string da;
    std::string text;            // as logged: escapes (\\ \n \r) and raw low bytes kept
    std::optional<unsigned> udl; // the privacy form (option n): the text's length in UCS-2 units
    bool cut = false;            // ended by a NUL: glued to the next line
    // Whether app_sms began a line here: the head is where reading began, right after a line
    // that certainly ended there (a record in the privacy form, or one whose whole text the
    // suite predicted), or glued after a NUL the suite predicted in its own text. A head
    // anywhere else may be text a sender wrote (in mid-line, or after a raw line feed of a
    // text), and never settles anything.
    bool anchored = false;
    bool own = false;         // its fields and whole text are one the suite predicted (Expected)
    std::uint64_t ino = 0;    // the file it was read from
    std::uint64_t offset = 0; // its first byte in that file
    std::uint64_t size = 0;   // its bytes there, the line feed that ends it not counted
};

// What the suite's own delivery line of a message it sent holds after the head, as app_sms
// renders it (render): centre mode "<queue> <oa> <da> <text>" (and, from a phone-mode SMS() on
// the same Asterisk, "<queue> <oa> - <text>"). `cut`: the render ended at a NUL, so no newline
// follows and app_sms's next line is glued on right after the text. Knowing the whole text is
// what lets the reader step over the raw line feeds in it and find a glued line.
struct Expected {
    std::string queue, oa, da, text;
    bool cut = false;
};
// Parses log data. `data` should begin where app_sms began a line and end at a line end
// (read_new passes whole lines). A head counts only at the start of a physical line (or glued
// after an `expected` text cut by a NUL); a record runs to the first line feed, or over the
// raw line feeds of an `expected` text that it holds whole. A physical line that is no record
// (the rest of a text broken by a raw line feed, foreign lines) is skipped, and the line after
// it is not anchored. Offsets are `base` + the position in `data`.
std::vector<Record> parse(std::string_view data, std::uint64_t base = 0, std::uint64_t ino = 0,
                          const std::vector<Expected>& expected = {});

// What app_sms writes into its log for a text given as UTF-16 units: '\' -> "\\", LF -> "\n",
// CR -> "\r", other units below 0x20 and 0x7F -> 0xBF, anything else -> its low byte; a unit
// whose low byte is 0 ends the line (nothing after it is written).
std::string render(const std::u16string& units);
// Whether render stops at such a NUL (app_sms then writes no newline after the text).
bool cut_by_nul(const std::u16string& units);

// Where reading stopped: the file (device and inode), the offset, and the last bytes before it
// (to see a file truncated and written again past the offset, as copytruncate does).
struct Cursor {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint64_t pos = 0;
    std::string tail; // up to 32 bytes before pos
};

// A point of the log: where it ended when a message was queued. Lines written for that message
// can only be after it (the rule that keeps a re-read line from matching a newer message).
struct Mark {
    std::uint64_t ino = 0; // 0: no log then: every line is after it
    std::uint64_t pos = 0;
};

struct ReadResult {
    bool readable = true;
    std::string error;           // why not readable: "<path>: <reason>"
    std::vector<Record> records; // in file order (a rotated file's rest first)
    Cursor next;                 // where to go on next time
    std::uint64_t current_ino = 0;
    std::vector<std::string> notes; // rotation, truncation, lines lost (for the log)
};

// Reads what was appended since `from` (a default Cursor: from the start). Rotation by rename:
// the rest of the old file is found by its inode among the files beside the log named after it
// (sms.1, sms-20261202, ...), then the new file is read from its start; a truncated or replaced
// file is read from its start. Only whole lines are consumed (the rest is read next time; a
// last line with no newline only when it is an `expected` text cut by a NUL).
// Not readable (missing, permissions): readable = false and `next` = `from`.
ReadResult read_new(const std::string& path, const Cursor& from,
                    const std::vector<Expected>& expected = {},
                    std::uint64_t max_bytes = 64u << 20);

// Where the log ends now (for a Mark); {0, 0} when it cannot be read.
Mark mark_now(const std::string& path);

// Whether record `r` was written after mark `m`, given the file read_new called current.
bool after(const Record& r, const Mark& m, std::uint64_t current_ino);

// The cursor as one line of text, and back (nullopt: unreadable, start again).
std::string format_cursor(const Cursor& c);
std::optional<Cursor> parse_cursor(std::string_view s);

} // namespace sms::smslog
