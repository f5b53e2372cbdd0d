// The subscriber directory: number -> service letter and channel, on SQLite or MySQL/MariaDB.
#pragma once

#include "core/config.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sms::directory {

struct Entry {
    char service = 'N';  // S F V C T E N
    std::string channel; // for E: the e-mail address
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

// The service letter a directory cell holds ("S", " s ", ...: one of S F V C T E N, either case,
// blanks around ignored), upper-cased; 0 when the cell holds anything else. The backends report
// a bad cell as "unavailable" (a fault to fix in the table), never as a guessed service.
char parse_service(std::string_view cell);

// What a backend found in a row: found, or unavailable (not transient) when the service cell is
// not a service letter or the channel is not one Asterisk can dial (channel_problem).
// `where` names the table for the message.
Lookup from_row(std::string_view number, std::string_view service_cell,
                std::string_view channel_cell, std::string_view where);

// ---- The rules a value must meet: the router reads with them (from_row), sms-directory writes
// with them. Each returns "" when the value is good, else why not (one line, printable).

// A number as the router looks it up: digits with an optional leading '+', at most 20 digits
// (spool::valid_number, the rule for oa=/da=).
std::string number_problem(std::string_view number);
// A channel (blanks around it already trimmed) for `service`: for E an e-mail address
// (address::problem, the one rule for the router's read and sms-directory's write); empty only
// for services that dial nothing (C T N); else callfile::channel_problem, the rule every call
// file is checked with (so that a channel the directory accepts is never one the call file then
// refuses). `service` 0: the shape alone, empty allowed.
std::string channel_problem(std::string_view channel, char service = 0);

// ---- Writing (sms-directory). Rows as their cells are stored, checked or not: listing shows a
// bad row rather than hiding it.
struct Row {
    std::string number;
    std::string service;
    std::string channel;
    bool operator==(const Row&) const = default;
};

// Read-write access to the table. Every call connects if needed and throws Error: unavailable
// (69) when the directory cannot be reached or read, tempfail (75) for a passing fault (locked,
// timed out), cantcreat (73) when init finds a table of another shape, noperm (77) when the
// server refuses the statement.
class Store {
public:
    virtual ~Store() = default;
    // Creates the table when it is missing (true), or checks that the one there has the three
    // configured columns (false); a table of another shape is refused (73) and left as it is.
    virtual bool init() = 0;
    // Every row ordered by number, or the one row of `number`.
    virtual std::vector<Row> rows(std::optional<std::string_view> number = std::nullopt) = 0;
    // In one transaction: with `replace` every other row is deleted first; then each row is
    // inserted or, when its number is there, changed. The caller has checked the rows.
    virtual void write(std::span<const Row> rows, bool replace) = 0;
    // Whether a row was there (and is gone now).
    virtual bool remove(std::string_view number) = 0;
};

// The configured backend's store (SQLite: the file must exist unless `create`; MySQL: through
// the sms-directory-mysql module). Throws Error(config) for bad [directory] settings.
std::unique_ptr<Store> open_store(const DirectoryConfig& cfg, bool create = false);
std::unique_ptr<Store> open_sqlite_store(const DirectoryConfig& cfg, bool create);
std::unique_ptr<Store> open_mysql_store(const DirectoryConfig& cfg);

} // namespace sms::directory
