// The subscriber directory on MySQL/MariaDB (libmysqlclient API): for directories shared by
// several Asterisk servers. Prepared statements only; one connection per process, made on the
// first lookup and reused. Also sms-directory's read-write access (MysqlStore).
#include "directory/directory.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <array>
#include <errmsg.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>
#include <mysql.h>
#include <mysqld_error.h>
#include <optional>

namespace sms::directory {

namespace {

struct ConnClose {
    void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
struct StmtClose {
    void operator()(MYSQL_STMT* st) const noexcept { mysql_stmt_close(st); }
};

bool is_client_error(unsigned err) noexcept {
    return err >= CR_MIN_ERROR && err <= CR_MAX_ERROR;
}

// Server errors that pass by themselves; every client error during a query (lost connection,
// read timeout) is transient too.
bool is_transient_server_error(unsigned err) noexcept {
    switch (err) {
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_LOCK_DEADLOCK:
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_SERVER_SHUTDOWN:
    case ER_QUERY_INTERRUPTED:
    case ER_OUT_OF_RESOURCES:
        return true;
    default:
        return false;
    }
}

using Conn = std::unique_ptr<MYSQL, ConnClose>;

// A connection as [directory] describes it, or null with the error.
Conn connect_to(const DirectoryConfig& cfg, unsigned& err, std::string& msg) {
    Conn conn(mysql_init(nullptr));
    if (!conn) {
        err = CR_OUT_OF_MEMORY;
        msg = "out of memory";
        return conn;
    }
    MYSQL* m = conn.get();
    // The same limit for connecting, each read and each write: a server that accepts but
    // never answers (hung, stopped, a black-holed route) costs at most that, then
    // "unavailable".
    auto timeout = static_cast<unsigned>(cfg.timeout);
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    unsigned no = 0;
    mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no); // the suite never loads files
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    // The protocol follows the configuration, not the host name: "localhost" with a port
    // means TCP here, where the C API alone would silently take the default socket.
    const char* host = nullptr;
    const char* socket = nullptr;
    unsigned protocol = MYSQL_PROTOCOL_DEFAULT;
    if (!cfg.socket.empty()) {
        protocol = MYSQL_PROTOCOL_SOCKET;
        socket = cfg.socket.c_str();
    } else if (!cfg.host.empty()) {
        protocol = MYSQL_PROTOCOL_TCP;
        host = cfg.host.c_str();
    }
    mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
    const char* user = cfg.user.empty() ? nullptr : cfg.user.c_str();
    const char* password = cfg.password.empty() ? nullptr : cfg.password.c_str();
    if (mysql_real_connect(m, host, user, password, cfg.database.c_str(),
                           static_cast<unsigned>(cfg.port), socket, 0) == nullptr) {
        err = mysql_errno(m);
        msg = mysql_error(m);
        conn.reset();
    }
    return conn;
}

std::string describe(const DirectoryConfig& cfg) {
    std::string server = !cfg.socket.empty() ? cfg.socket
                         : !cfg.host.empty() ? fmt::format("{}:{}", cfg.host, cfg.port)
                                             : std::string("the default socket");
    return fmt::format("MySQL {} database {} table {}", server, cfg.database, cfg.table);
}

class MysqlDirectory final : public Directory {
public:
    explicit MysqlDirectory(const DirectoryConfig& cfg)
        : cfg_(cfg)
        , where_(describe(cfg))
        // Names were checked by check_config and are quoted too; the number is a parameter.
        , sql_(fmt::format("SELECT `{}`, `{}` FROM `{}` WHERE `{}` = ? LIMIT 1", cfg.service_column,
                           cfg.extension_column, cfg.table, cfg.account_column)) {}

    Lookup lookup(std::string_view number) override {
        if (!conn_) {
            if (auto failed = connect())
                return *failed;
        }
        if (!stmt_) {
            if (auto failed = prepare())
                return *failed;
        }
        return query(number);
    }

private:
    DirectoryConfig cfg_;
    std::string where_;
    std::string sql_;
    std::unique_ptr<MYSQL, ConnClose> conn_;      // declared first: closed last
    std::unique_ptr<MYSQL_STMT, StmtClose> stmt_; // closed before its connection

    Lookup fail(std::string_view what, unsigned err, std::string_view msg, bool transient) {
        Lookup r;
        r.status = Lookup::Status::unavailable;
        r.transient = transient;
        r.why = fmt::format("{}: {}: {} (error {})", where_, what, msg, err);
        return r;
    }

    // After a failed statement: the connection goes too when the client lost it, so that the
    // next lookup reconnects rather than failing on a dead socket.
    Lookup stmt_failed(std::string_view what) {
        unsigned err = mysql_stmt_errno(stmt_.get());
        std::string msg = mysql_stmt_error(stmt_.get());
        bool client = is_client_error(err);
        bool transient = client || is_transient_server_error(err);
        stmt_.reset();
        if (client)
            conn_.reset();
        return fail(what, err, msg, transient);
    }

    std::optional<Lookup> connect() {
        unsigned err = 0;
        std::string msg;
        conn_ = connect_to(cfg_, err, msg);
        if (!conn_) {
            // Too many connections will pass; a server down or refusing us is "cannot connect".
            bool transient = err == ER_CON_COUNT_ERROR || err == ER_TOO_MANY_USER_CONNECTIONS ||
                             err == CR_OUT_OF_MEMORY;
            return fail("cannot connect", err, msg, transient);
        }
        return std::nullopt;
    }

    std::optional<Lookup> prepare() {
        stmt_.reset(mysql_stmt_init(conn_.get()));
        if (!stmt_) {
            unsigned err = mysql_errno(conn_.get());
            std::string msg = mysql_error(conn_.get());
            conn_.reset();
            return fail("cannot prepare", err, msg, true);
        }
        if (mysql_stmt_prepare(stmt_.get(), sql_.data(), sql_.size()) != 0)
            return stmt_failed("cannot prepare"); // e.g. no such table or column
        return std::nullopt;
    }

    Lookup query(std::string_view number) {
        MYSQL_STMT* st = stmt_.get();
        MYSQL_BIND param{};
        unsigned long number_len = number.size();
        param.buffer_type = MYSQL_TYPE_STRING;
        param.buffer = const_cast<char*>(number.data()); // only read
        param.buffer_length = number_len;
        param.length = &number_len;
        if (mysql_stmt_bind_param(st, &param) != 0 || mysql_stmt_execute(st) != 0)
            return stmt_failed("lookup failed");

        // Cells are read into buffers that grow to the length the server reports: a long
        // channel is fetched again whole, never cut (MYSQL_DATA_TRUNCATED).
        std::array<std::string, 2> cell{std::string(64, '\0'), std::string(256, '\0')};
        std::array<unsigned long, 2> length{};
        std::array<my_bool, 2> is_null{};
        std::array<my_bool, 2> error{};
        std::array<MYSQL_BIND, 2> out{};
        for (std::size_t i = 0; i < out.size(); ++i) {
            out[i].buffer_type = MYSQL_TYPE_STRING;
            out[i].buffer = cell[i].data();
            out[i].buffer_length = cell[i].size();
            out[i].length = &length[i];
            out[i].is_null = &is_null[i];
            out[i].error = &error[i];
        }
        if (mysql_stmt_bind_result(st, out.data()) != 0 || mysql_stmt_store_result(st) != 0)
            return stmt_failed("lookup failed");
        int rc = mysql_stmt_fetch(st);
        Lookup r;
        if (rc == MYSQL_NO_DATA) {
            r.status = Lookup::Status::not_found;
        } else if (rc == 0 || rc == MYSQL_DATA_TRUNCATED) {
            for (std::size_t i = 0; i < out.size(); ++i) {
                if (is_null[i]) {
                    length[i] = 0;
                } else if (length[i] > cell[i].size()) {
                    cell[i].assign(length[i], '\0');
                    out[i].buffer = cell[i].data();
                    out[i].buffer_length = cell[i].size();
                    if (mysql_stmt_fetch_column(st, &out[i], static_cast<unsigned>(i), 0) != 0)
                        return stmt_failed("lookup failed");
                }
            }
            r = from_row(number, std::string_view(cell[0].data(), length[0]),
                         std::string_view(cell[1].data(), length[1]), where_);
        } else {
            return stmt_failed("lookup failed");
        }
        mysql_stmt_free_result(st);
        return r;
    }
};

// sms-directory's read-write access: one connection, prepared statements for every value, a
// transaction for each write (InnoDB: a router reading meanwhile sees the old rows or the new).
class MysqlStore final : public Store {
public:
    explicit MysqlStore(const DirectoryConfig& cfg)
        : cfg_(cfg)
        , where_(describe(cfg)) {}

    bool init() override {
        auto columns = query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                             "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY "
                             "ORDINAL_POSITION",
                             {cfg_.table}, 1);
        if (columns.empty()) {
            query(fmt::format("CREATE TABLE `{}` (`{}` VARCHAR(32) NOT NULL PRIMARY KEY, `{}` "
                              "CHAR(1) NOT NULL, `{}` VARCHAR(255) NOT NULL) ENGINE = InnoDB "
                              "DEFAULT CHARSET = utf8mb4",
                              cfg_.table, cfg_.account_column, cfg_.service_column,
                              cfg_.extension_column),
                  {}, 0);
            return true;
        }
        std::vector<std::string> have, want{lower(cfg_.account_column), lower(cfg_.service_column),
                                            lower(cfg_.extension_column)};
        std::vector<std::string> names;
        for (const auto& c : columns) {
            have.push_back(lower(c[0]));
            names.push_back(c[0]);
        }
        std::sort(have.begin(), have.end());
        std::sort(want.begin(), want.end());
        if (have != want)
            throw Error(Exit::cantcreat, where_,
                        fmt::format("exists with other columns ({}), not ({}, {}, {}); left as "
                                    "it is",
                                    fmt::join(names, ", "), cfg_.account_column,
                                    cfg_.service_column, cfg_.extension_column));
        return false;
    }

    std::vector<Row> rows(std::optional<std::string_view> number) override {
        std::string sql = fmt::format("SELECT `{}`, `{}`, `{}` FROM `{}`", cfg_.account_column,
                                      cfg_.service_column, cfg_.extension_column, cfg_.table);
        std::vector<std::string> params;
        if (number) {
            sql += fmt::format(" WHERE `{}` = ?", cfg_.account_column);
            params.emplace_back(*number);
        }
        sql += " ORDER BY 1";
        std::vector<Row> out;
        for (auto& r : query(sql, params, 3))
            out.push_back(Row{std::move(r[0]), std::move(r[1]), std::move(r[2])});
        return out;
    }

    void write(std::span<const Row> rows, bool replace) override {
        connect();
        if (mysql_query(conn_.get(), "START TRANSACTION") != 0)
            conn_failed("cannot write");
        try {
            if (replace)
                query(fmt::format("DELETE FROM `{}`", cfg_.table), {}, 0);
            std::string sql = fmt::format(
                "INSERT INTO `{0}` (`{1}`, `{2}`, `{3}`) VALUES (?, ?, ?) ON "
                "DUPLICATE KEY UPDATE `{2}` = VALUES(`{2}`), `{3}` = VALUES(`{3}`)",
                cfg_.table, cfg_.account_column, cfg_.service_column, cfg_.extension_column);
            Stmt st = prepare(sql);
            for (const Row& r : rows)
                execute(st.get(), {r.number, r.service, r.channel});
            if (mysql_commit(conn_.get()) != 0)
                conn_failed("cannot commit");
        } catch (...) {
            if (conn_)
                mysql_rollback(conn_.get());
            throw;
        }
    }

    bool remove(std::string_view number) override {
        connect();
        Stmt st = prepare(
            fmt::format("DELETE FROM `{}` WHERE `{}` = ?", cfg_.table, cfg_.account_column));
        execute(st.get(), {std::string(number)});
        return mysql_stmt_affected_rows(st.get()) > 0;
    }

private:
    using Stmt = std::unique_ptr<MYSQL_STMT, StmtClose>;
    DirectoryConfig cfg_;
    std::string where_;
    Conn conn_;

    static std::string lower(std::string s) {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return s;
    }

    [[noreturn]] void failed(std::string_view what, unsigned err, const std::string& msg) {
        Exit e = Exit::unavailable;
        if (is_client_error(err) || is_transient_server_error(err))
            e = Exit::tempfail;
        else if (err == ER_TABLEACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR ||
                 err == ER_ACCESS_DENIED_ERROR || err == ER_SPECIFIC_ACCESS_DENIED_ERROR ||
                 err == ER_COLUMNACCESS_DENIED_ERROR)
            e = Exit::noperm;
        else if (err == ER_DUP_ENTRY || err == ER_DATA_TOO_LONG || err == ER_BAD_NULL_ERROR ||
                 err == ER_CONSTRAINT_FAILED)
            e = Exit::dataerr;
        if (is_client_error(err))
            conn_.reset(); // lost: the next call reconnects
        throw Error(e, where_, fmt::format("{}: {} (error {})", what, msg, err));
    }
    [[noreturn]] void conn_failed(std::string_view what) {
        failed(what, mysql_errno(conn_.get()), mysql_error(conn_.get()));
    }
    [[noreturn]] void stmt_failed(MYSQL_STMT* st, std::string_view what) {
        failed(what, mysql_stmt_errno(st), mysql_stmt_error(st));
    }

    void connect() {
        if (conn_)
            return;
        unsigned err = 0;
        std::string msg;
        conn_ = connect_to(cfg_, err, msg);
        if (!conn_) {
            bool transient = err == ER_CON_COUNT_ERROR || err == ER_TOO_MANY_USER_CONNECTIONS;
            throw Error(transient ? Exit::tempfail
                        : err == ER_ACCESS_DENIED_ERROR || err == ER_DBACCESS_DENIED_ERROR
                            ? Exit::noperm
                            : Exit::unavailable,
                        where_, fmt::format("cannot connect: {} (error {})", msg, err));
        }
    }

    Stmt prepare(const std::string& sql) {
        connect();
        Stmt st(mysql_stmt_init(conn_.get()));
        if (!st)
            conn_failed("cannot prepare");
        if (mysql_stmt_prepare(st.get(), sql.data(), sql.size()) != 0)
            stmt_failed(st.get(), "cannot prepare");
        return st;
    }

    void execute(MYSQL_STMT* st, const std::vector<std::string>& params) {
        std::vector<MYSQL_BIND> bind(params.size());
        std::vector<unsigned long> len(params.size());
        for (std::size_t i = 0; i < params.size(); ++i) {
            len[i] = params[i].size();
            bind[i].buffer_type = MYSQL_TYPE_STRING;
            bind[i].buffer = const_cast<char*>(params[i].data()); // only read
            bind[i].buffer_length = len[i];
            bind[i].length = &len[i];
        }
        if ((!bind.empty() && mysql_stmt_bind_param(st, bind.data()) != 0) ||
            mysql_stmt_execute(st) != 0)
            stmt_failed(st, "statement failed");
    }

    // Runs `sql` with `params`; the `ncols` string columns of every row.
    std::vector<std::vector<std::string>>
    query(const std::string& sql, const std::vector<std::string>& params, std::size_t ncols) {
        Stmt st = prepare(sql);
        execute(st.get(), params);
        std::vector<std::vector<std::string>> out;
        if (ncols == 0)
            return out;
        std::vector<std::string> cell(ncols, std::string(256, '\0'));
        std::vector<unsigned long> length(ncols);
        std::vector<my_bool> is_null(ncols), error(ncols);
        std::vector<MYSQL_BIND> res(ncols);
        for (std::size_t i = 0; i < ncols; ++i) {
            res[i].buffer_type = MYSQL_TYPE_STRING;
            res[i].buffer = cell[i].data();
            res[i].buffer_length = cell[i].size();
            res[i].length = &length[i];
            res[i].is_null = &is_null[i];
            res[i].error = &error[i];
        }
        if (mysql_stmt_bind_result(st.get(), res.data()) != 0 ||
            mysql_stmt_store_result(st.get()) != 0)
            stmt_failed(st.get(), "cannot read");
        for (;;) {
            int rc = mysql_stmt_fetch(st.get());
            if (rc == MYSQL_NO_DATA)
                break;
            if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
                stmt_failed(st.get(), "cannot read");
            std::vector<std::string> row(ncols);
            for (std::size_t i = 0; i < ncols; ++i) {
                if (is_null[i])
                    continue;
                if (length[i] > cell[i].size()) {
                    std::string big(length[i], '\0');
                    MYSQL_BIND b = res[i];
                    b.buffer = big.data();
                    b.buffer_length = big.size();
                    if (mysql_stmt_fetch_column(st.get(), &b, static_cast<unsigned>(i), 0) != 0)
                        stmt_failed(st.get(), "cannot read");
                    row[i] = std::move(big);
                } else {
                    row[i].assign(cell[i].data(), length[i]);
                }
            }
            out.push_back(std::move(row));
        }
        return out;
    }
};

} // namespace

std::unique_ptr<Store> open_mysql_store(const DirectoryConfig& cfg) {
    check_config(cfg);
    if (cfg.database.empty())
        throw Error(Exit::config, "[directory] database", "empty (backend is mysql)");
    if (cfg.port <= 0 || cfg.port > 65535)
        throw Error(Exit::config, "[directory] port", fmt::format("{} is not a port", cfg.port));
    return std::make_unique<MysqlStore>(cfg);
}

std::unique_ptr<Directory> open_mysql(const DirectoryConfig& cfg) {
    check_config(cfg);
    if (cfg.database.empty())
        throw Error(Exit::config, "[directory] database", "empty (backend is mysql)");
    if (cfg.port <= 0 || cfg.port > 65535)
        throw Error(Exit::config, "[directory] port", fmt::format("{} is not a port", cfg.port));
    return std::make_unique<MysqlDirectory>(cfg);
}

} // namespace sms::directory
