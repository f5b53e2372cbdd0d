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
    Entry entry;      // when found
    std::string why;  // when unavailable
    bool found() const noexcept { return status == Status::found; }
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

} // namespace sms::directory
