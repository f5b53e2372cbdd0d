// The subscriber directory on SQLite: the embedded default, opened read-only for lookups and
// read-write by sms-directory.
#include "directory/directory.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <sys/stat.h>

namespace sms::directory {

namespace {

struct DbClose {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
};

// Codes that say "try again" rather than "this database cannot be read": another process holds
// a lock past the busy timeout, memory or I/O trouble.
bool is_transient(int rc) noexcept {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_INTERRUPT:
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

std::string_view column_text(sqlite3_stmt* st, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
    if (p == nullptr)
        return {};
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(st, col))};
}

// Only a regular file is opened: SQLite's open of a FIFO blocks for ever, and a socket or a
// device is no database either (a configuration error). A missing file, or a folder in its
// place (as while it is being replaced), is left to SQLite: an outage read-only, created by
// sms-directory where that is asked for.
void check_regular(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return;
    const char* what = S_ISFIFO(st.st_mode)                         ? "a FIFO"
                       : S_ISSOCK(st.st_mode)                       ? "a socket"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                    : "not a regular file";
    throw Error(Exit::config, "[directory] sqlite_path",
                fmt::format("{}: {}, not a database file", path, what));
}

class SqliteDirectory final : public Directory {
public:
    explicit SqliteDirectory(const DirectoryConfig& cfg)
        : path_(cfg.sqlite_path)
        , timeout_ms_(cfg.timeout * 1000)
        , where_(fmt::format("{} table {}", cfg.sqlite_path, cfg.table))
        // Names were checked by check_config and are quoted too; the number is a parameter.
        , sql_(fmt::format("SELECT \"{}\", \"{}\" FROM \"{}\" WHERE \"{}\" = ?1 LIMIT 1",
                           cfg.service_column, cfg.extension_column, cfg.table,
                           cfg.account_column)) {}

    Lookup lookup(std::string_view number) override {
        if (!stmt_) {
            if (auto failed = connect())
                return *failed;
        }
        sqlite3_stmt* st = stmt_.get();
        Lookup r;
        int rc =
            sqlite3_bind_text64(st, 1, number.data(), number.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            r = from_row(number, column_text(st, 0), column_text(st, 1), where_);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            r.status = Lookup::Status::not_found;
            rc = SQLITE_OK;
        } else {
            r = unavailable(rc, "lookup failed");
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        // A database that failed for good (replaced, corrupt) is reopened on the next lookup;
        // a busy one keeps its handle.
        if (rc != SQLITE_OK && !is_transient(rc))
            close();
        return r;
    }

private:
    std::string path_;
    int timeout_ms_;
    std::string where_;
    std::string sql_;
    std::unique_ptr<sqlite3, DbClose> db_;             // declared first: destroyed last
    std::unique_ptr<sqlite3_stmt, StmtFinalize> stmt_; // finalized before the handle closes

    Lookup unavailable(int rc, std::string_view what) const {
        Lookup r;
        r.status = Lookup::Status::unavailable;
        r.transient = is_transient(rc);
        std::string detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
        // errno only where it is the cause (it may be stale otherwise).
        int sys = db_ ? sqlite3_system_errno(db_.get()) : 0;
        int primary = rc & 0xff;
        if (sys != 0 && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR))
            detail += fmt::format(" ({})", std::strerror(sys));
        r.why = fmt::format("{}: {}: {}", where_, what, detail);
        return r;
    }

    void close() {
        stmt_.reset();
        db_.reset();
    }

    // Opens the file read-only and prepares the one statement; the result of a failure.
    std::optional<Lookup> connect() {
        sqlite3* raw = nullptr;
        // Read-only: the directory is the administrator's; a missing file must fail, never be
        // created empty (which would make every number "unknown").
        int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
        db_.reset(raw);
        if (rc != SQLITE_OK) {
            auto r = unavailable(rc, "cannot open");
            close();
            return r;
        }
        sqlite3_extended_result_codes(raw, 1);
        // Without this, SQLite reads a double-quoted name that matches no column as a string
        // literal: a misspelt extension_column would answer its own name as every channel.
        sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
        sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
        sqlite3_busy_timeout(raw, timeout_ms_);
        sqlite3_stmt* st = nullptr;
        rc = sqlite3_prepare_v3(raw, sql_.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
        stmt_.reset(st);
        if (rc != SQLITE_OK) {
            // "no such table", "file is not a database", a lock held while reading the schema.
            auto r = unavailable(rc, "cannot read");
            close();
            return r;
        }
        return std::nullopt;
    }
};

// sms-directory's read-write access. Each call is one statement or one IMMEDIATE transaction,
// so a router reading at the same time waits at most its busy timeout and never sees half an
// import.
class SqliteStore final : public Store {
public:
    SqliteStore(const DirectoryConfig& cfg, bool create)
        : cfg_(cfg)
        , where_(fmt::format("{} table {}", cfg.sqlite_path, cfg.table)) {
        sqlite3* raw = nullptr;
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
        int rc = sqlite3_open_v2(cfg.sqlite_path.c_str(), &raw, flags, nullptr);
        db_.reset(raw);
        if (rc != SQLITE_OK)
            fail(rc, "cannot open");
        sqlite3_extended_result_codes(raw, 1);
        sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
        sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
        sqlite3_busy_timeout(raw, cfg.timeout * 1000);
    }

    bool init() override {
        auto columns = table_columns();
        if (columns.empty()) {
            exec(fmt::format("CREATE TABLE \"{}\" (\"{}\" TEXT PRIMARY KEY, \"{}\" TEXT NOT "
                             "NULL, \"{}\" TEXT NOT NULL)",
                             cfg_.table, cfg_.account_column, cfg_.service_column,
                             cfg_.extension_column),
                 "cannot create the table");
            return true;
        }
        std::vector<std::string> want{lower(cfg_.account_column), lower(cfg_.service_column),
                                      lower(cfg_.extension_column)};
        std::vector<std::string> have;
        for (const auto& c : columns)
            have.push_back(lower(c));
        auto sorted_want = want, sorted_have = have;
        std::sort(sorted_want.begin(), sorted_want.end());
        std::sort(sorted_have.begin(), sorted_have.end());
        if (sorted_want != sorted_have)
            throw Error(Exit::cantcreat, where_,
                        fmt::format("exists with other columns ({}), not ({}, {}, {}); left as "
                                    "it is",
                                    fmt::join(columns, ", "), cfg_.account_column,
                                    cfg_.service_column, cfg_.extension_column));
        return false;
    }

    std::vector<Row> rows(std::optional<std::string_view> number) override {
        std::string sql = fmt::format(
            "SELECT \"{}\", \"{}\", \"{}\" FROM \"{}\"{} ORDER BY 1", cfg_.account_column,
            cfg_.service_column, cfg_.extension_column, cfg_.table,
            number ? fmt::format(" WHERE \"{}\" = ?1", cfg_.account_column) : std::string());
        Stmt st = prepare(sql, "cannot read");
        if (number)
            bind(st.get(), 1, *number);
        std::vector<Row> out;
        int rc;
        while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
            out.push_back(Row{std::string(column_text(st.get(), 0)),
                              std::string(column_text(st.get(), 1)),
                              std::string(column_text(st.get(), 2))});
        if (rc != SQLITE_DONE)
            fail(rc, "cannot read");
        return out;
    }

    void write(std::span<const Row> rows, bool replace) override {
        exec("BEGIN IMMEDIATE", "cannot write");
        try {
            if (replace)
                exec(fmt::format("DELETE FROM \"{}\"", cfg_.table), "cannot write");
            Stmt st = prepare(
                fmt::format("INSERT INTO \"{0}\" (\"{1}\", \"{2}\", \"{3}\") VALUES (?1, ?2, ?3) "
                            "ON CONFLICT (\"{1}\") DO UPDATE SET \"{2}\" = excluded.\"{2}\", "
                            "\"{3}\" = excluded.\"{3}\"",
                            cfg_.table, cfg_.account_column, cfg_.service_column,
                            cfg_.extension_column),
                "cannot write");
            for (const Row& r : rows) {
                bind(st.get(), 1, r.number);
                bind(st.get(), 2, r.service);
                bind(st.get(), 3, r.channel);
                int rc = sqlite3_step(st.get());
                if (rc != SQLITE_DONE)
                    fail(rc, fmt::format("cannot write number {}", r.number));
                sqlite3_reset(st.get());
            }
            exec("COMMIT", "cannot write");
        } catch (...) {
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    bool remove(std::string_view number) override {
        Stmt st = prepare(
            fmt::format("DELETE FROM \"{}\" WHERE \"{}\" = ?1", cfg_.table, cfg_.account_column),
            "cannot write");
        bind(st.get(), 1, number);
        int rc = sqlite3_step(st.get());
        if (rc != SQLITE_DONE)
            fail(rc, "cannot write");
        return sqlite3_changes(db_.get()) > 0;
    }

private:
    using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;
    DirectoryConfig cfg_;
    std::string where_;
    std::unique_ptr<sqlite3, DbClose> db_;

    static std::string lower(std::string s) {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return s;
    }

    [[noreturn]] void fail(int rc, std::string_view what) const {
        std::string detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
        int sys = db_ ? sqlite3_system_errno(db_.get()) : 0;
        int primary = rc & 0xff;
        if (sys != 0 && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR))
            detail += fmt::format(" ({})", std::strerror(sys));
        Exit e = is_transient(rc)                                       ? Exit::tempfail
                 : primary == SQLITE_READONLY || primary == SQLITE_PERM ? Exit::noperm
                 : primary == SQLITE_CONSTRAINT                         ? Exit::dataerr
                                                                        : Exit::unavailable;
        throw Error(e, where_, fmt::format("{}: {}", what, detail));
    }

    Stmt prepare(const std::string& sql, std::string_view what) {
        sqlite3_stmt* st = nullptr;
        int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &st, nullptr);
        Stmt out(st);
        if (rc != SQLITE_OK)
            fail(rc, what);
        return out;
    }

    void bind(sqlite3_stmt* st, int i, std::string_view v) {
        int rc = sqlite3_bind_text64(st, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        if (rc != SQLITE_OK)
            fail(rc, "cannot bind");
    }

    void exec(const std::string& sql, std::string_view what) {
        int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK)
            fail(rc, what);
    }

    // The table's columns, in order; none when it does not exist.
    std::vector<std::string> table_columns() {
        Stmt st = prepare("SELECT name FROM pragma_table_info(?1)", "cannot read the schema");
        bind(st.get(), 1, cfg_.table);
        std::vector<std::string> out;
        int rc;
        while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
            out.emplace_back(column_text(st.get(), 0));
        if (rc != SQLITE_DONE)
            fail(rc, "cannot read the schema");
        return out;
    }
};

} // namespace

std::unique_ptr<Store> open_sqlite_store(const DirectoryConfig& cfg, bool create) {
    check_config(cfg);
    if (cfg.sqlite_path.empty())
        throw Error(Exit::config, "[directory] sqlite_path", "empty (backend is sqlite)");
    check_regular(cfg.sqlite_path);
    return std::make_unique<SqliteStore>(cfg, create);
}

std::unique_ptr<Directory> open_sqlite(const DirectoryConfig& cfg) {
    check_config(cfg);
    if (cfg.sqlite_path.empty())
        throw Error(Exit::config, "[directory] sqlite_path", "empty (backend is sqlite)");
    check_regular(cfg.sqlite_path);
    return std::make_unique<SqliteDirectory>(cfg);
}

} // namespace sms::directory
