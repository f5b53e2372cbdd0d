// sms-directory: the subscriber directory's editor (init, list, get, set, remove, import,
// export), on whichever backend [directory] names. Every value is checked with the rules the
// router reads with (directory::number_problem, parse_service, channel_problem) before anything
// is written; an import is checked whole, then written in one transaction.
#pragma once

#include "core/config.hpp"
#include "directory/directory.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sms::directory_admin {

struct Options {
    // The command and its operands: "init", "list", "get N", "set N", "remove N", "import FILE",
    // "export".
    std::vector<std::string> args;
    std::optional<std::string> service; // set: the letter; list: the filter
    std::optional<std::string> channel; // set
    bool json = false;                  // list
    bool replace = false;               // import
    bool dry_run = false;               // import
};

// Runs the command, printing on `out`. Returns 0, or 1 when `get`/`remove` finds no such
// number. Throws Error: usage (64) for a bad command line, dataerr (65) for a bad value or CSV
// row (naming row and field; nothing written), noinput (66) for an unreadable import file, and
// the directory's own errors (69, 73, 75, 77, 78; directory::Store).
int run(const Config& cfg, const Options& opts, std::FILE* out = stdout);

// ---- The parts, for tests.

// A row as given, checked and normalised (service upper-cased, blanks around the cells cut);
// "" when good, else "<field>: <why>" (field: number, service or channel).
std::string check_row(directory::Row& row);

// The rows of a CSV file (`number,service,channel` header, then one row per line; fields may be
// quoted as RFC 4180 says; a UTF-8 byte-order mark, blank lines and CR before LF ignored; UTF-16
// refused by name), every one checked; a number
// given twice is an error too. Throws Error(dataerr) naming `where`, the line and the field of
// the first bad row (and how many more there are) before anything is written.
std::vector<directory::Row> parse_csv(std::string_view text, std::string_view where);

// The CSV export: the header, then each row (fields quoted only when they need it).
std::string format_csv(const std::vector<directory::Row>& rows);

} // namespace sms::directory_admin
