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
// feed: the line goes on on the next physical line, and `text` holds the LF. A unit whose low
// byte is 0 ends the line there without its newline: the next line is glued on; `cut` is set.
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
    std::uint64_t ino = 0;       // the file it was read from
    std::uint64_t offset = 0;    // its first byte in that file
};

// Parses log data. `data` should end at a line end (read_new passes whole lines); a physical
// line that is neither a record nor the rest of one (a broken line whose record was in an
// earlier read) is skipped. Offsets are `base` + the position in `data`.
std::vector<Record> parse(std::string_view data, std::uint64_t base = 0, std::uint64_t ino = 0);

// What app_sms writes into its log for a text given as UTF-16 units: '\' -> "\\", LF -> "\n",
// CR -> "\r", other units below 0x20 and 0x7F -> 0xBF, anything else -> its low byte; a unit
// whose low byte is 0 ends the line (nothing after it is written).
std::string render(const std::u16string& units);

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
// file is read from its start. Only whole lines are consumed (the rest is read next time).
// Not readable (missing, permissions): readable = false and `next` = `from`.
ReadResult read_new(const std::string& path, const Cursor& from,
                    std::uint64_t max_bytes = 64u << 20);

// Where the log ends now (for a Mark); {0, 0} when it cannot be read.
Mark mark_now(const std::string& path);

// Whether record `r` was written after mark `m`, given the file read_new called current.
bool after(const Record& r, const Mark& m, std::uint64_t current_ino);

// The cursor as one line of text, and back (nullopt: unreadable, start again).
std::string format_cursor(const Cursor& c);
std::optional<Cursor> parse_cursor(std::string_view s);

} // namespace sms::smslog
