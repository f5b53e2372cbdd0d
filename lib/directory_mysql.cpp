// The subscriber directory on MySQL/MariaDB (libmysqlclient API): for directories shared by
// several Asterisk servers. Prepared statements only; one connection per process, made on the
// first lookup and reused.
#include "directory.hpp"
#include "error.hpp"

#include <array>
#include <errmsg.h>
#include <fmt/format.h>
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

    static std::string describe(const DirectoryConfig& cfg) {
        std::string server = !cfg.socket.empty() ? cfg.socket
                             : !cfg.host.empty() ? fmt::format("{}:{}", cfg.host, cfg.port)
                                                 : std::string("the default socket");
        return fmt::format("MySQL {} database {} table {}", server, cfg.database, cfg.table);
    }

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
        conn_.reset(mysql_init(nullptr));
        if (!conn_)
            return fail("cannot connect", CR_OUT_OF_MEMORY, "out of memory", true);
        MYSQL* m = conn_.get();
        // The same limit for connecting, each read and each write: a server that accepts but
        // never answers (hung, stopped, a black-holed route) costs at most that, then
        // "unavailable".
        auto timeout = static_cast<unsigned>(cfg_.timeout);
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
        unsigned no = 0;
        mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no); // a read-only client needs no files
        mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        // The protocol follows the configuration, not the host name: "localhost" with a port
        // means TCP here, where the C API alone would silently take the default socket.
        const char* host = nullptr;
        const char* socket = nullptr;
        unsigned protocol = MYSQL_PROTOCOL_DEFAULT;
        if (!cfg_.socket.empty()) {
            protocol = MYSQL_PROTOCOL_SOCKET;
            socket = cfg_.socket.c_str();
        } else if (!cfg_.host.empty()) {
            protocol = MYSQL_PROTOCOL_TCP;
            host = cfg_.host.c_str();
        }
        mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
        const char* user = cfg_.user.empty() ? nullptr : cfg_.user.c_str();
        const char* password = cfg_.password.empty() ? nullptr : cfg_.password.c_str();
        if (mysql_real_connect(m, host, user, password, cfg_.database.c_str(),
                               static_cast<unsigned>(cfg_.port), socket, 0) == nullptr) {
            unsigned err = mysql_errno(m);
            std::string msg = mysql_error(m);
            conn_.reset();
            // Too many connections will pass; a server down or refusing us is "cannot connect".
            bool transient = err == ER_CON_COUNT_ERROR || err == ER_TOO_MANY_USER_CONNECTIONS;
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

} // namespace

std::unique_ptr<Directory> open_mysql(const DirectoryConfig& cfg) {
    check_config(cfg);
    if (cfg.database.empty())
        throw Error(Exit::config, "[directory] database", "empty (backend is mysql)");
    if (cfg.port <= 0 || cfg.port > 65535)
        throw Error(Exit::config, "[directory] port", fmt::format("{} is not a port", cfg.port));
    return std::make_unique<MysqlDirectory>(cfg);
}

} // namespace sms::directory
