// The subscriber directory: number -> service letter and channel, on SQLite or MySQL/MariaDB.
#pragma once

#include "config.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace sms::directory {

struct Entry {
    char service = 'N'; // S F V C T N
    std::string channel;
};

// The three answers a lookup can give. "unavailable" is never "not found": the router keeps a
// message through an outage because of the difference.
struct Lookup {
    enum class Status { found, not_found, unavailable } status = Status::not_found;
    Entry entry;     // when found
    std::string why; // when unavailable
    bool found() const noexcept { return status == Status::found; }
    // When unavailable: true for a fault that may pass by itself (database locked, a read timing
    // out, the connection lost mid-query: getchaninfo exits 75), false when the directory could
    // not be reached or read at all (no file, server down, no such table, bad data: exit 69).
    // The router retries both.
    bool transient = false;
};

class Directory {
public:
    virtual ~Directory() = default;
    virtual Lookup lookup(std::string_view number) = 0;
};

// Opens the configured backend. Does not connect yet: the first lookup connects (so a tool that
// needs no lookup pays nothing), and the connection is reused for every later lookup.
// Throws Error(config) for invalid table or column names.
std::unique_ptr<Directory> open(const DirectoryConfig& cfg);

// "SQLite 3.40.1, libmariadb 3.3.x" for --version.
std::string library_versions();

// Throws Error(config) for invalid table or column names or timeout; the backends call it.
void check_config(const DirectoryConfig& cfg);

// The backends themselves (open() picks one by cfg.backend); same contract as open().
std::unique_ptr<Directory> open_sqlite(const DirectoryConfig& cfg);
std::unique_ptr<Directory> open_mysql(const DirectoryConfig& cfg);

// Whether `name` may be a table or column name: an ASCII letter or '_', then letters, digits,
// '_' or '$', at most 64 characters. Names are checked at open() and quoted as well; nothing from
// a lookup's input is ever pasted into SQL.
bool valid_identifier(std::string_view name);

// The service letter a directory cell holds ("S", " s ", ...: one of S F V C T N, either case,
// blanks around ignored), upper-cased; 0 when the cell holds anything else. The backends report
// a bad cell as "unavailable" (a fault to fix in the table), never as a guessed service.
char parse_service(std::string_view cell);

// What a backend found in a row: found, or unavailable (not transient) when the service cell is
// not a service letter or the channel holds control characters (it goes into call files).
// `where` names the table for the message.
Lookup from_row(std::string_view number, std::string_view service_cell,
                std::string_view channel_cell, std::string_view where);

} // namespace sms::directory
