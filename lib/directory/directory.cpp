// The subscriber directory's common part: checks of names and cells, backend choice, versions.
#include "directory/directory.hpp"

#include "asterisk/callfile.hpp"
#include "asterisk/spool.hpp"
#include "core/address.hpp"
#include "util/error.hpp"

#include <fmt/format.h>

namespace sms::directory {

namespace {

bool is_alpha(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void check_identifier(std::string_view key, const std::string& value) {
    if (!valid_identifier(value))
        throw Error(Exit::config, fmt::format("[directory] {}", key),
                    fmt::format("'{}' is not a valid SQL name (an ASCII letter or '_', then "
                                "letters, digits, '_' or '$'; at most 64 characters)",
                                value));
}

// A cell's text for an error message: control characters as \xNN, at most 40 bytes.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 40)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    if (s.size() > 40)
        out += "...";
    return out;
}

} // namespace

bool valid_identifier(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    if (!is_alpha(name.front()) && name.front() != '_')
        return false;
    for (char c : name)
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '$')
            return false;
    return true;
}

char parse_service(std::string_view cell) {
    while (!cell.empty() && is_blank(cell.front()))
        cell.remove_prefix(1);
    while (!cell.empty() && is_blank(cell.back()))
        cell.remove_suffix(1);
    if (cell.size() != 1)
        return 0;
    char c = cell.front();
    if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
    switch (c) {
    case 'S':
    case 'F':
    case 'V':
    case 'C':
    case 'T':
    case 'E':
    case 'N':
        return c;
    default:
        return 0;
    }
}

Lookup from_row(std::string_view number, std::string_view service_cell,
                std::string_view channel_cell, std::string_view where) {
    Lookup r;
    char service = parse_service(service_cell);
    if (service == 0) {
        r.status = Lookup::Status::unavailable;
        r.why = fmt::format("{}: number {}: bad service letter '{}' (one of S F V C T E N)", where,
                            printable(number), printable(service_cell));
        return r;
    }
    while (!channel_cell.empty() && is_blank(channel_cell.front()))
        channel_cell.remove_prefix(1);
    while (!channel_cell.empty() && is_blank(channel_cell.back()))
        channel_cell.remove_suffix(1);
    if (auto problem = channel_problem(channel_cell, service); !problem.empty()) {
        r.status = Lookup::Status::unavailable;
        r.why = fmt::format("{}: number {}: {}", where, printable(number), problem);
        return r;
    }
    r.status = Lookup::Status::found;
    r.entry.service = service;
    r.entry.channel = std::string(channel_cell);
    return r;
}

std::string number_problem(std::string_view number) {
    if (number.empty())
        return "empty number";
    if (!spool::valid_number(number))
        return fmt::format("'{}' is not a number (digits with an optional leading '+', at most "
                           "20 digits)",
                           printable(number));
    return {};
}

std::string channel_problem(std::string_view channel, char service) {
    if (service == 'E') {
        auto p = address::problem(channel);
        return p.empty() ? p : "channel of an E subscriber (an e-mail address): " + p;
    }
    if (channel.empty()) {
        if (service == 'S' || service == 'F' || service == 'V')
            return fmt::format("service {} needs a channel to dial (e.g. PJSIP/1000)", service);
        return {};
    }
    return callfile::channel_problem(channel);
}

void check_config(const DirectoryConfig& cfg) {
    // A bad name is the administrator's to fix (exit 78), not an outage to retry.
    check_identifier("table", cfg.table);
    check_identifier("account_column", cfg.account_column);
    check_identifier("service_column", cfg.service_column);
    check_identifier("extension_column", cfg.extension_column);
    if (cfg.timeout <= 0)
        throw Error(Exit::config, "[directory] timeout",
                    fmt::format("{} is not a positive number of seconds", cfg.timeout));
}

} // namespace sms::directory
