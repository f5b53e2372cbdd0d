// sms-directory: the subscriber directory's editor over directory::Store.
#include "directory/directory_admin.hpp"

#include "util/error.hpp"
#include "util/fsutil.hpp"
#include "util/json.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <unistd.h>

namespace sms::directory_admin {

namespace {

using directory::Row;

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
        s.remove_suffix(1);
    return std::string(s);
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// One CSV record from `text` at `pos` (RFC 4180 quoting); `line` counts the lines it spans.
std::vector<std::string> next_record(std::string_view text, std::size_t& pos, std::size_t& line,
                                     std::string_view where) {
    std::vector<std::string> fields(1);
    bool quoted = false, was_quoted = false;
    std::size_t start_line = line;
    while (pos < text.size()) {
        char c = text[pos++];
        if (quoted) {
            if (c == '"') {
                if (pos < text.size() && text[pos] == '"') {
                    fields.back() += '"';
                    ++pos;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n')
                    ++line;
                fields.back() += c;
            }
            continue;
        }
        if (c == '"' && trim(fields.back()).empty() && !was_quoted) {
            fields.back().clear();
            quoted = was_quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
            was_quoted = false;
        } else if (c == '\n') {
            ++line;
            break;
        } else if (c == '\r' && pos < text.size() && text[pos] == '\n') {
            continue;
        } else {
            fields.back() += c;
        }
    }
    if (quoted)
        throw Error(Exit::dataerr, fmt::format("{}: line {}", where, start_line),
                    "a quoted field is not closed; nothing written");
    return fields;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos && trim(s) == s)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string describe(const Row& r) {
    return r.channel.empty() ? r.service : fmt::format("{} {}", r.service, r.channel);
}

// Exactly `n` operands after the command, else a usage error.
void operands(const Options& o, std::size_t n, std::string_view synopsis) {
    if (o.args.size() != n + 1)
        throw Error(Exit::usage, o.args.front(), fmt::format("usage: {}", synopsis));
}

void only(const Options& o, bool service, bool channel, bool json, bool import) {
    const std::string& cmd = o.args.front();
    auto refuse = [&](std::string_view opt) {
        throw Error(Exit::usage, std::string(opt), fmt::format("not an option of '{}'", cmd));
    };
    if (o.service && !service)
        refuse("--service");
    if (o.channel && !channel)
        refuse("--channel");
    if (o.json && !json)
        refuse("--json");
    if ((o.replace || o.dry_run) && !import)
        refuse(o.replace ? "--replace" : "--dry-run");
}

void check_number(const std::string& number) {
    if (auto p = directory::number_problem(number); !p.empty())
        throw Error(Exit::dataerr, "number", p);
}

std::string read_file(const std::string& path) {
    if (path == "-") {
        std::string s;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw_errno(Exit::noinput, "stdin", errno);
            if (n == 0)
                return s;
            s.append(buf, static_cast<std::size_t>(n));
        }
    }
    // A FIFO or a device is refused at once, not read for ever.
    return fs::read_regular(path, std::size_t{256} << 20, Exit::dataerr, "CSV file");
}

int do_list(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 0, "list [--service L] [--json]");
    only(o, true, false, true, false);
    char filter = 0;
    if (o.service) {
        filter = directory::parse_service(*o.service);
        if (filter == 0)
            throw Error(Exit::usage, "--service",
                        fmt::format("'{}' is not a service letter (S F V C T E N)", *o.service));
    }
    auto rows = directory::open_store(cfg.directory)->rows();
    std::size_t width = 0;
    for (const Row& r : rows)
        width = std::max(width, r.number.size());
    for (Row r : rows) {
        Row as_stored = r;
        std::string problem = check_row(r);
        if (filter && directory::parse_service(as_stored.service) != filter)
            continue;
        if (o.json)
            fmt::print(out, "{{\"number\":{},\"service\":{},\"channel\":{}{}}}\n",
                       json::quote(as_stored.number), json::quote(as_stored.service),
                       json::quote(as_stored.channel),
                       problem.empty() ? "" : ",\"problem\":" + json::quote(problem));
        else
            fmt::print(out, "{:<{}} {} {}{}\n", as_stored.number, width, as_stored.service,
                       as_stored.channel, problem.empty() ? "" : "   <- bad: " + problem);
        if (!problem.empty())
            log::warning("number {}: {} (the router will not route to it)", as_stored.number,
                         problem);
    }
    return 0;
}

int do_get(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 1, "get NUMBER");
    only(o, false, false, false, false);
    check_number(o.args[1]);
    auto rows = directory::open_store(cfg.directory)->rows(o.args[1]);
    if (rows.empty()) {
        fmt::print(stderr, "sms-directory: {}: not in the directory\n", o.args[1]);
        return 1;
    }
    fmt::print(out, "{} {}\n", rows.front().service, rows.front().channel);
    return 0;
}

int do_set(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 1, "set NUMBER --service L [--channel CHAN]");
    only(o, true, true, false, false);
    if (!o.service)
        throw Error(Exit::usage, "set", "--service is required");
    Row row{o.args[1], *o.service, o.channel.value_or("")};
    check_number(row.number);
    auto store = directory::open_store(cfg.directory);
    auto before = store->rows(row.number);
    // A change of service alone keeps the channel the number has.
    if (!o.channel && !before.empty())
        row.channel = before.front().channel;
    if (auto p = check_row(row); !p.empty())
        throw Error(Exit::dataerr, row.number, p);
    if (!before.empty() && before.front() == row) {
        fmt::print(out, "{}: unchanged ({})\n", row.number, describe(row));
        return 0;
    }
    store->write(std::span<const Row>(&row, 1), false);
    if (before.empty()) {
        log::notice("{}: added ({})", row.number, describe(row));
        fmt::print(out, "{}: added ({})\n", row.number, describe(row));
    } else {
        log::notice("{}: changed ({}, was {})", row.number, describe(row),
                    describe(before.front()));
        fmt::print(out, "{}: changed ({}, was {})\n", row.number, describe(row),
                   describe(before.front()));
    }
    return 0;
}

int do_remove(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 1, "remove NUMBER");
    only(o, false, false, false, false);
    // A number stored with a typo can be removed too: only its emptiness is refused.
    if (o.args[1].empty())
        throw Error(Exit::dataerr, "number", "empty number");
    if (!directory::open_store(cfg.directory)->remove(o.args[1])) {
        fmt::print(stderr, "sms-directory: {}: not in the directory\n", o.args[1]);
        return 1;
    }
    log::notice("{}: removed", o.args[1]);
    fmt::print(out, "{}: removed\n", o.args[1]);
    return 0;
}

int do_import(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 1, "import FILE [--replace] [--dry-run]");
    only(o, false, false, false, true);
    const std::string& path = o.args[1];
    auto rows = parse_csv(read_file(path), path == "-" ? "stdin" : path);
    auto store = directory::open_store(cfg.directory);
    std::map<std::string, Row> before;
    for (Row& r : store->rows())
        before.emplace(r.number, std::move(r));
    std::size_t added = 0, changed = 0, unchanged = 0, removed = 0;
    for (const Row& r : rows) {
        auto it = before.find(r.number);
        if (it == before.end())
            ++added;
        else if (it->second == r)
            ++unchanged;
        else
            ++changed;
    }
    if (o.replace) {
        std::map<std::string, bool> in_file;
        for (const Row& r : rows)
            in_file[r.number] = true;
        for (const auto& [number, r] : before)
            removed += in_file.count(number) ? 0 : 1;
    }
    std::string summary = fmt::format("{} rows: {} added, {} changed, {} unchanged, {} removed",
                                      rows.size(), added, changed, unchanged, removed);
    if (o.dry_run) {
        fmt::print(out, "dry run, nothing written: {}\n", summary);
        return 0;
    }
    store->write(rows, o.replace);
    log::notice("imported {}{}: {}", path, o.replace ? " (replacing the table)" : "", summary);
    fmt::print(out, "imported: {}\n", summary);
    return 0;
}

int do_init(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 0, "init");
    only(o, false, false, false, false);
    bool created = directory::open_store(cfg.directory, true)->init();
    std::string where = cfg.directory.backend == DirectoryBackend::sqlite
                            ? cfg.directory.sqlite_path
                            : "database " + cfg.directory.database;
    if (created) {
        log::notice("created table {} in {}", cfg.directory.table, where);
        fmt::print(out, "created table {} in {}\n", cfg.directory.table, where);
    } else {
        fmt::print(out, "table {} in {} is already there\n", cfg.directory.table, where);
    }
    return 0;
}

int do_export(const Config& cfg, const Options& o, std::FILE* out) {
    operands(o, 0, "export");
    only(o, false, false, false, false);
    std::string text = format_csv(directory::open_store(cfg.directory)->rows());
    std::fwrite(text.data(), 1, text.size(), out);
    return 0;
}

} // namespace

std::string check_row(Row& row) {
    row.number = trim(row.number);
    row.channel = trim(row.channel);
    if (auto p = directory::number_problem(row.number); !p.empty())
        return "number: " + p;
    char service = directory::parse_service(row.service);
    if (service == 0 || trim(row.service).size() != 1)
        return fmt::format("service: '{}' is not a service letter (S F V C T E N)", row.service);
    row.service = std::string(1, service);
    if (auto p = directory::channel_problem(row.channel, service); !p.empty())
        return p; // "channel ...": names its field
    return {};
}

std::vector<Row> parse_csv(std::string_view text, std::string_view where) {
    std::size_t pos = 0, line = 1;
    // A UTF-8 byte-order mark (spreadsheets write one) is skipped; UTF-16 is named, not guessed.
    if (text.starts_with("\xEF\xBB\xBF"))
        pos = 3;
    else if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
        throw Error(Exit::dataerr, fmt::format("{}: line 1", where),
                    fmt::format("UTF-16 text (byte-order mark {}): save the file as UTF-8 CSV; "
                                "nothing written",
                                text[0] == '\xFF' ? "FF FE" : "FE FF"));
    // The header: skip blank lines before it.
    std::vector<std::string> header;
    std::size_t header_line = 1;
    while (pos < text.size()) {
        header_line = line;
        header = next_record(text, pos, line, where);
        if (!(header.size() == 1 && trim(header[0]).empty()))
            break;
        header.clear();
    }
    if (header.size() != 3 || lower(trim(header[0])) != "number" ||
        lower(trim(header[1])) != "service" || lower(trim(header[2])) != "channel")
        throw Error(Exit::dataerr, fmt::format("{}: line {}", where, header_line),
                    "the first line must be the header 'number,service,channel'; nothing written");
    std::vector<Row> rows;
    std::map<std::string, std::size_t> seen;
    std::string first_error;
    std::size_t bad = 0;
    auto refuse = [&](std::size_t at, std::string why) {
        if (bad++ == 0)
            first_error = fmt::format("line {}: {}", at, why);
    };
    while (pos < text.size()) {
        std::size_t at = line;
        auto f = next_record(text, pos, line, where);
        if (f.size() == 1 && trim(f[0]).empty())
            continue;
        if (f.size() != 3) {
            refuse(at, fmt::format("{} fields, not 3 (number,service,channel)", f.size()));
            continue;
        }
        Row r{f[0], f[1], f[2]};
        if (auto p = check_row(r); !p.empty()) {
            refuse(at, p);
            continue;
        }
        auto [it, fresh] = seen.emplace(r.number, at);
        if (!fresh) {
            refuse(at, fmt::format("number: {} is given twice (also on line {})", r.number,
                                   it->second));
            continue;
        }
        rows.push_back(std::move(r));
    }
    if (bad > 0) {
        auto colon = first_error.find(": ");
        throw Error(
            Exit::dataerr, fmt::format("{}: {}", where, first_error.substr(0, colon)),
            fmt::format("{}{}; nothing written", first_error.substr(colon + 2),
                        bad > 1 ? fmt::format(" (and {} more bad rows)", bad - 1) : std::string()));
    }
    return rows;
}

std::string format_csv(const std::vector<Row>& rows) {
    std::string out = "number,service,channel\n";
    for (const Row& r : rows)
        out += fmt::format("{},{},{}\n", csv_field(r.number), csv_field(r.service),
                           csv_field(r.channel));
    return out;
}

int run(const Config& cfg, const Options& opts, std::FILE* out) {
    if (opts.args.empty())
        throw Error(Exit::usage, "COMMAND",
                    "missing: one of init, list, get, set, remove, import, export");
    const std::string& cmd = opts.args.front();
    if (cmd == "init")
        return do_init(cfg, opts, out);
    if (cmd == "list")
        return do_list(cfg, opts, out);
    if (cmd == "get")
        return do_get(cfg, opts, out);
    if (cmd == "set")
        return do_set(cfg, opts, out);
    if (cmd == "remove")
        return do_remove(cfg, opts, out);
    if (cmd == "import")
        return do_import(cfg, opts, out);
    if (cmd == "export")
        return do_export(cfg, opts, out);
    throw Error(Exit::usage, cmd, "unknown command (init, list, get, set, remove, import, export)");
}

} // namespace sms::directory_admin
