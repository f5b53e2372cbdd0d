// Tests of lib/directory: the same cases on SQLite and on a real, throwaway MariaDB server, plus
// each backend's own failures (locked or corrupt file; server stopped, hung or refusing us).
#include "directory/directory.hpp"
#include "tempdir.hpp"
#include "util/error.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace sms;
using directory::Lookup;

namespace {

const std::string source_dir = SMS_SOURCE_DIR;
const std::string script = source_dir + "/scripts/mariadb-test-server.sh";
const std::string db_user = "smsdir";
const std::string db_password = "s3cret'\"pw"; // quotes: the password goes through the API only

std::string read_all(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

using test::TempDir;

// Runs a shell command with `input` on its stdin; its exit status and stdout.
struct Ran {
    int status = -1;
    std::string out;
};
Ran run_shell(const std::string& cmd, const std::string& input = "") {
    TempDir t;
    std::string in = t.path + "/in", out = t.path + "/out";
    std::ofstream(in) << input;
    int rc = std::system(fmt::format("{} <'{}' >'{}' 2>&1", cmd, in, out).c_str());
    Ran r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    r.out = read_all(out);
    return r;
}

// The throwaway MariaDB server every MySQL case runs against, started once for the program. A
// server that cannot start (mariadbd not installed, say) fails every MySQL case: CI must run
// them, never skip them.
struct Server {
    TempDir dir;
    bool up = false;
    std::string error;
    std::string socket;
    int port = 0;
    pid_t pid = 0;
    int databases = 0;

    bool start() {
        Ran r = run_shell(fmt::format("'{}' start '{}'", script, dir.path));
        up = r.status == 0;
        if (!up) {
            error = fmt::format("{} start failed (exit {}): {}", script, r.status, r.out);
            return false;
        }
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            if (line.starts_with("socket="))
                socket = line.substr(7);
            else if (line.starts_with("port="))
                port = std::stoi(line.substr(5));
            else if (line.starts_with("pid="))
                pid = static_cast<pid_t>(std::stol(line.substr(4)));
        }
        up = !socket.empty() && port > 0 && pid > 0;
        if (!up)
            error = "unexpected output from the start script: " + r.out;
        return up;
    }
    void stop() {
        run_shell(fmt::format("'{}' stop '{}'", script, dir.path));
        up = false;
    }
    // Runs SQL as root, in `database` when given.
    Ran sql(const std::string& text, const std::string& database = "") {
        return run_shell(fmt::format("'{}' client '{}' {}", script, dir.path, database), text);
    }
    // A fresh database for one test, readable by the directory's own account (SELECT only).
    std::string new_database() {
        std::string name = fmt::format("t{}", ++databases);
        Ran r = sql(fmt::format("CREATE DATABASE {0};\n"
                                "GRANT SELECT ON {0}.* TO '{1}'@'localhost';\n"
                                "GRANT SELECT ON {0}.* TO '{1}'@'127.0.0.1';\n",
                                name, db_user));
        EXPECT_EQ(r.status, 0) << r.out;
        return name;
    }
};

Server& server() {
    static Server s;
    return s;
}

class MariaDbEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        auto& s = server();
        if (!s.start())
            return;
        // The directory's account: SELECT only, a password that needs no SQL quoting from us.
        Ran r = s.sql(fmt::format("CREATE USER '{0}'@'localhost' IDENTIFIED BY '{1}';\n"
                                  "CREATE USER '{0}'@'127.0.0.1' IDENTIFIED BY '{1}';\n",
                                  db_user, "s3cret''\"pw"));
        if (r.status != 0) {
            s.up = false;
            s.error = "cannot create the test user: " + r.out;
        }
    }
    void TearDown() override { server().stop(); }
};
const auto* const env = ::testing::AddGlobalTestEnvironment(new MariaDbEnvironment);

// One backend with its own fresh database, loaded with SQL that both dialects accept.
class Backend {
public:
    virtual ~Backend() = default;
    virtual void exec(const std::string& sql) = 0;
    // The [directory] settings for this database and `table`.
    virtual DirectoryConfig config() = 0;
    virtual std::string schema_file() const = 0;

    void load_examples() {
        exec(read_all(source_dir + "/examples/" + schema_file()));
        exec(read_all(source_dir + "/examples/directory-sample.sql"));
    }
};

class SqliteBackend : public Backend {
public:
    TempDir dir;
    std::string path = dir.path + "/directory.db";
    void exec(const std::string& sql) override {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        std::string msg = err ? err : "";
        sqlite3_free(err);
        sqlite3_close(db);
        ASSERT_EQ(rc, SQLITE_OK) << msg << "\n" << sql;
    }
    DirectoryConfig config() override {
        DirectoryConfig c;
        c.backend = DirectoryBackend::sqlite;
        c.sqlite_path = path;
        c.timeout = 1;
        return c;
    }
    std::string schema_file() const override { return "schema-sqlite.sql"; }
};

class MysqlBackend : public Backend {
public:
    std::string database;
    MysqlBackend() {
        if (server().up)
            database = server().new_database();
    }
    void exec(const std::string& sql) override {
        ASSERT_TRUE(server().up) << server().error;
        Ran r = server().sql(sql, database);
        ASSERT_EQ(r.status, 0) << r.out << "\n" << sql;
    }
    DirectoryConfig config() override {
        DirectoryConfig c;
        c.backend = DirectoryBackend::mysql;
        c.socket = server().socket;
        c.user = db_user;
        c.password = db_password;
        c.database = database;
        c.timeout = 1;
        return c;
    }
    std::string schema_file() const override { return "schema-mysql.sql"; }
};

std::string show(const Lookup& r) {
    switch (r.status) {
    case Lookup::Status::found:
        return fmt::format("found {} '{}'", r.entry.service, r.entry.channel);
    case Lookup::Status::not_found:
        return "not found";
    case Lookup::Status::unavailable:
        return fmt::format("unavailable{}: {}", r.transient ? " (transient)" : "", r.why);
    }
    return "?";
}

::testing::AssertionResult is_found(const Lookup& r, char service, const std::string& channel) {
    if (r.status == Lookup::Status::found && r.entry.service == service &&
        r.entry.channel == channel)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected found " << service << " '" << channel << "', got " << show(r);
}
::testing::AssertionResult is_not_found(const Lookup& r) {
    if (r.status == Lookup::Status::not_found)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected not found, got " << show(r);
}
::testing::AssertionResult is_unavailable(const Lookup& r) {
    if (r.status == Lookup::Status::unavailable && !r.why.empty())
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected unavailable with a reason, got " << show(r);
}
#define EXPECT_FOUND(lookup, svc, chan) EXPECT_TRUE(is_found((lookup), (svc), (chan)))
#define EXPECT_NOT_FOUND(lookup) EXPECT_TRUE(is_not_found(lookup))
#define EXPECT_UNAVAILABLE(lookup) EXPECT_TRUE(is_unavailable(lookup))

// ---- the same cases on both backends -----------------------------------------------------------

class BothBackends : public ::testing::TestWithParam<std::string> {
protected:
    std::unique_ptr<Backend> backend;
    TempDir backend_dir;
    void SetUp() override {
        if (GetParam() == "mysql") {
            ASSERT_TRUE(server().up) << "MariaDB is required for these tests: " << server().error;
            backend = std::make_unique<MysqlBackend>();
        } else {
            backend = std::make_unique<SqliteBackend>();
        }
    }
};

TEST_P(BothBackends, FindsEveryServiceOfTheSample) {
    backend->load_examples();
    auto dir = directory::open(backend->config());
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");
    EXPECT_FOUND(dir->lookup("600700801"), 'F', "DAHDI/1");
    EXPECT_FOUND(dir->lookup("600700802"), 'V', "PJSIP/600700802");
    EXPECT_FOUND(dir->lookup("1000"), 'C', "PJSIP/1000");
    EXPECT_FOUND(dir->lookup("600700803"), 'T', "PJSIP/600700803");
    EXPECT_FOUND(dir->lookup("600700804"), 'N', "PJSIP/600700804");
    EXPECT_FOUND(dir->lookup("48600700800"), 'S', "PJSIP/48600700800");
}

TEST_P(BothBackends, UnknownNumbersAreNotFound) {
    backend->load_examples();
    auto dir = directory::open(backend->config());
    EXPECT_NOT_FOUND(dir->lookup("999"));
    EXPECT_NOT_FOUND(dir->lookup(""));
    EXPECT_NOT_FOUND(dir->lookup("60070080"));   // a prefix of a number
    EXPECT_NOT_FOUND(dir->lookup("6007008000")); // a number extended
    EXPECT_NOT_FOUND(dir->lookup("+600700800"));
    // Found again after misses on the same connection and statement.
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");
}

TEST_P(BothBackends, SqlMetacharactersAreJustCharacters) {
    backend->load_examples();
    backend->exec("INSERT INTO PBXNumbers (Account, Message, Extension) VALUES "
                  "('1'' OR ''1''=''1', 'T', 'PJSIP/quote');");
    auto dir = directory::open(backend->config());
    for (std::string_view evil :
         {"' OR '1'='1", "600700800' OR '1'='1", "600700800'--", "600700800' #",
          "600700800\" OR \"\"=\"", "%", "6007008__", "600700800; DROP TABLE PBXNumbers",
          "600700800'; DROP TABLE PBXNumbers; --", "\\", "600700800\\", "?", "`"})
        EXPECT_NOT_FOUND(dir->lookup(evil)) << evil;
    // The one row whose number really is that text is found, and only by it.
    EXPECT_FOUND(dir->lookup("1' OR '1'='1"), 'T', "PJSIP/quote");
    std::string with_nul("600700800\0x", 11);
    EXPECT_NOT_FOUND(dir->lookup(with_nul));
    // Nothing was dropped.
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");
}

TEST_P(BothBackends, OtherTableAndColumnNames) {
    backend->exec("CREATE TABLE Subscribers (num VARCHAR(32) PRIMARY KEY, svc CHAR(1) NOT NULL, "
                  "chan VARCHAR(255) NOT NULL);\n"
                  "INSERT INTO Subscribers (num, svc, chan) VALUES ('5551234', 'V', "
                  "'SIP/trunk/5551234'), ('5550000', 's', ' PJSIP/5550000 ');");
    auto cfg = backend->config();
    cfg.table = "Subscribers";
    cfg.account_column = "num";
    cfg.service_column = "svc";
    cfg.extension_column = "chan";
    auto dir = directory::open(cfg);
    EXPECT_FOUND(dir->lookup("5551234"), 'V', "SIP/trunk/5551234");
    EXPECT_FOUND(dir->lookup("5550000"), 'S', "PJSIP/5550000"); // either case, blanks trimmed
    EXPECT_NOT_FOUND(dir->lookup("600700800"));

    // The default names against that database: no such table is an outage, not "unknown".
    auto wrong = directory::open(backend->config());
    Lookup r = wrong->lookup("5551234");
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_FALSE(r.transient) << show(r);
    EXPECT_NE(r.why.find("PBXNumbers"), std::string::npos) << r.why;

    // A column that does not exist: the same.
    cfg.extension_column = "channel";
    EXPECT_UNAVAILABLE(directory::open(cfg)->lookup("5551234"));
}

TEST_P(BothBackends, EmptyTableFindsNothing) {
    backend->exec(read_all(source_dir + "/examples/" + backend->schema_file()));
    auto dir = directory::open(backend->config());
    EXPECT_NOT_FOUND(dir->lookup("600700800"));
    EXPECT_NOT_FOUND(dir->lookup("1000"));
}

TEST_P(BothBackends, BadServiceLetterIsUnavailableNotAGuess) {
    backend->exec("CREATE TABLE PBXNumbers (Account VARCHAR(32) PRIMARY KEY, Message "
                  "VARCHAR(8) NOT NULL, Extension VARCHAR(255) NOT NULL);\n"
                  "INSERT INTO PBXNumbers VALUES ('1', 'X', 'PJSIP/1'), ('2', '', 'PJSIP/2'), "
                  "('3', 'SS', 'PJSIP/3'), ('4', 'U', 'PJSIP/4'), ('5', 'f', 'DAHDI/5'), "
                  "('6', 'N', '');");
    auto dir = directory::open(backend->config());
    for (std::string_view n : {"1", "2", "3", "4"}) {
        Lookup r = dir->lookup(n);
        EXPECT_EQ(r.status, Lookup::Status::unavailable) << n << ": " << show(r);
        EXPECT_FALSE(r.transient);
        EXPECT_NE(r.why.find("bad service letter"), std::string::npos) << r.why;
    }
    EXPECT_FOUND(dir->lookup("5"), 'F', "DAHDI/5");
    EXPECT_FOUND(dir->lookup("6"), 'N', ""); // disabled needs no channel
}

TEST_P(BothBackends, LongChannelIsReadWhole) {
    std::string channel = "Local/" + std::string(200, '7') + "@from-internal-with-a-long-name";
    backend->exec(read_all(source_dir + "/examples/" + backend->schema_file()));
    backend->exec(fmt::format("INSERT INTO PBXNumbers VALUES ('77', 'S', '{}');", channel));
    auto dir = directory::open(backend->config());
    EXPECT_FOUND(dir->lookup("77"), 'S', channel);
}

TEST_P(BothBackends, InvalidNamesAreRefusedAtOpen) {
    for (const std::string& bad :
         std::vector<std::string>{"PBXNumbers; DROP TABLE x", "a b", "", "1abc", "x`y", "x\"y",
                                  "x'y", "x.y", "é", std::string(65, 'a')}) {
        for (int which = 0; which < 4; ++which) {
            auto cfg = backend->config();
            (which == 0   ? cfg.table
             : which == 1 ? cfg.account_column
             : which == 2 ? cfg.service_column
                          : cfg.extension_column) = bad;
            try {
                directory::open(cfg);
                ADD_FAILURE() << "accepted '" << bad << "' as name " << which;
            } catch (const Error& e) {
                EXPECT_EQ(e.exit(), Exit::config) << e.what();
                EXPECT_NE(std::string(e.what()).find("[directory]"), std::string::npos);
            }
        }
    }
    auto cfg = backend->config();
    cfg.table = "Sub_scribers$2";
    cfg.account_column = std::string(64, 'a');
    EXPECT_NO_THROW(directory::open(cfg));
}

TEST_P(BothBackends, OpenDoesNotConnectAndAnOutageIsNeverNotFound) {
    auto cfg = backend->config();
    if (GetParam() == "mysql")
        cfg.socket = backend_dir.path + "/no-such.sock";
    else
        cfg.sqlite_path = backend_dir.path + "/no-such.db";
    std::unique_ptr<directory::Directory> dir;
    ASSERT_NO_THROW(dir = directory::open(cfg)); // lazy: nothing is reached yet
    Lookup r = dir->lookup("600700800");
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_FALSE(r.transient) << show(r);
    // Every later lookup tries again, and says so again.
    EXPECT_UNAVAILABLE(dir->lookup("600700800"));
    if (GetParam() == "sqlite") {
        EXPECT_FALSE(std::filesystem::exists(cfg.sqlite_path))
            << "a read-only open creates nothing";
    }
}

// sms-directory's store: what it writes, the router's lookup reads; one transaction per write.
TEST_P(BothBackends, StoreWritesWhatTheLookupReads) {
    auto cfg = backend->config();
    if (GetParam() == "mysql") {
        cfg.user = "root"; // the directory's own account may only SELECT
        cfg.password.clear();
    }
    auto store = directory::open_store(cfg, true);
    EXPECT_TRUE(store->init());
    EXPECT_FALSE(store->init()); // there already, the right shape: left as it is
    std::vector<directory::Row> rows{
        {"600700800", "S", "PJSIP/600700800"}, {"600700801", "F", "DAHDI/1"}, {"1000", "C", ""}};
    store->write(rows, false);
    auto dir = directory::open(backend->config());
    EXPECT_FOUND(dir->lookup("600700801"), 'F', "DAHDI/1");
    EXPECT_FOUND(dir->lookup("1000"), 'C', "");
    ASSERT_EQ(store->rows().size(), 3u);
    EXPECT_EQ(store->rows().front().number, "1000"); // ordered by number
    ASSERT_EQ(store->rows("600700800").size(), 1u);
    EXPECT_EQ(store->rows("600700800").front(), rows[0]);
    EXPECT_TRUE(store->rows("9").empty());

    // Insert or change; with replace, the rest goes in the same transaction.
    std::vector<directory::Row> more{{"600700800", "V", "PJSIP/600700800"}, {"5", "N", ""}};
    store->write(more, false);
    EXPECT_EQ(store->rows().size(), 4u);
    EXPECT_FOUND(directory::open(backend->config())->lookup("600700800"), 'V', "PJSIP/600700800");
    store->write(more, true);
    EXPECT_EQ(store->rows(), (std::vector<directory::Row>{more[1], more[0]}));
    EXPECT_TRUE(store->remove("5"));
    EXPECT_FALSE(store->remove("5"));
    EXPECT_EQ(store->rows().size(), 1u);

    // A table of another shape is refused (73) and left alone.
    backend->exec("CREATE TABLE Other (a INT);");
    cfg.table = "Other";
    try {
        directory::open_store(cfg)->init();
        ADD_FAILURE() << "init accepted a table of another shape";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::cantcreat) << e.what();
        EXPECT_NE(e.reason().find("other columns"), std::string::npos) << e.what();
    }
}

TEST_P(BothBackends, StoreFailuresAreNamedErrors) {
    auto cfg = backend->config();
    if (GetParam() == "sqlite") {
        // No file and no init: never created by a write or a listing.
        EXPECT_THROW(directory::open_store(cfg)->rows(), Error);
        EXPECT_FALSE(std::filesystem::exists(cfg.sqlite_path));
        return;
    }
    backend->load_examples();
    // The directory's own account may SELECT only: a write is refused (77), nothing changed.
    auto store = directory::open_store(cfg);
    EXPECT_EQ(store->rows().size(), 8u);
    try {
        store->write(std::vector<directory::Row>{{"1", "S", "PJSIP/1"}}, true);
        ADD_FAILURE() << "a SELECT-only account wrote";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::noperm) << e.what();
    }
    EXPECT_EQ(store->rows().size(), 8u);
    cfg.socket = backend_dir.path + "/no-such.sock";
    try {
        directory::open_store(cfg)->rows();
        ADD_FAILURE() << "listed without a server";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::unavailable) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, BothBackends, ::testing::Values("sqlite", "mysql"),
                         [](const auto& param_info) { return param_info.param; });

// ---- SQLite's own failures ---------------------------------------------------------------------

TEST(Sqlite, LockedDatabaseIsATransientOutageAndPasses) {
    SqliteBackend b;
    b.load_examples();
    auto dir = directory::open(b.config()); // busy timeout 1 s
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");

    // Another process writing: an exclusive lock (rollback journal) keeps readers out.
    sqlite3* writer = nullptr;
    ASSERT_EQ(sqlite3_open(b.path.c_str(), &writer), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(writer,
                           "BEGIN EXCLUSIVE; UPDATE PBXNumbers SET Extension = 'DAHDI/9' "
                           "WHERE Account = '600700800';",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    auto t0 = std::chrono::steady_clock::now();
    Lookup r = dir->lookup("600700800");
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_TRUE(r.transient) << show(r);
    EXPECT_NE(r.why.find("locked"), std::string::npos) << r.why;
    std::printf("locked SQLite: unavailable after %.2f s (busy timeout 1 s)\n",
                std::chrono::duration<double>(waited).count());
    // A fresh directory cannot read the schema either: still unavailable, never "not found".
    EXPECT_UNAVAILABLE(directory::open(b.config())->lookup("600700800"));

    ASSERT_EQ(sqlite3_exec(writer, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(writer);
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "DAHDI/9"); // the same handle, the new data
}

TEST(Sqlite, CorruptOrForeignFileIsUnavailable) {
    SqliteBackend b;
    std::ofstream(b.path) << std::string(4096, 'x');
    EXPECT_UNAVAILABLE(directory::open(b.config())->lookup("600700800"));

    // A real database with its pages damaged after the header.
    SqliteBackend c;
    c.load_examples();
    std::string bytes = read_all(c.path);
    ASSERT_GT(bytes.size(), 4096u);
    for (std::size_t i = 100; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>(0xA5);
    std::ofstream(c.path, std::ios::binary | std::ios::trunc) << bytes;
    Lookup r = directory::open(c.config())->lookup("600700800");
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);

    // A folder where the file should be.
    SqliteBackend d;
    std::filesystem::create_directory(d.path);
    EXPECT_UNAVAILABLE(directory::open(d.config())->lookup("600700800"));

    // A FIFO would block SQLite's open for ever: a configuration error, at once.
    SqliteBackend e;
    ASSERT_EQ(::mkfifo(e.path.c_str(), 0600), 0);
    try {
        directory::open(e.config());
        ADD_FAILURE() << "a FIFO opened";
    } catch (const sms::Error& err) {
        EXPECT_EQ(err.exit(), sms::Exit::config);
        EXPECT_NE(std::string(err.what()).find("FIFO"), std::string::npos) << err.what();
    }
}

TEST(Sqlite, OneHandleServesEveryLookup) {
    SqliteBackend b;
    b.load_examples();
    auto dir = directory::open(b.config());
    EXPECT_FOUND(dir->lookup("1000"), 'C', "PJSIP/1000");
    // With the file gone, only the handle opened by the first lookup can still answer.
    std::filesystem::remove(b.path);
    for (int i = 0; i < 100; ++i)
        EXPECT_FOUND(dir->lookup("600700801"), 'F', "DAHDI/1");
    EXPECT_NOT_FOUND(dir->lookup("42"));
    EXPECT_UNAVAILABLE(directory::open(b.config())->lookup("1000"));
}

TEST(Sqlite, ReadOnlyOpenNeverWrites) {
    SqliteBackend b;
    b.load_examples();
    std::filesystem::permissions(b.path, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::group_read);
    auto before = std::filesystem::last_write_time(b.path);
    auto dir = directory::open(b.config());
    EXPECT_FOUND(dir->lookup("600700802"), 'V', "PJSIP/600700802");
    EXPECT_EQ(std::filesystem::last_write_time(b.path), before);
    EXPECT_FALSE(std::filesystem::exists(b.path + "-journal"));
    EXPECT_FALSE(std::filesystem::exists(b.path + "-wal"));
}

TEST(Sqlite, EmptyPathIsAConfigurationError) {
    DirectoryConfig c;
    c.sqlite_path = "";
    try {
        directory::open(c);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::config);
    }
}

// ---- MariaDB's own failures --------------------------------------------------------------------

class MariaDb : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(server().up) << "MariaDB is required for these tests: " << server().error;
        backend.load_examples();
    }
    MysqlBackend backend;
};

TEST_F(MariaDb, TcpWithHostAndPort) {
    auto cfg = backend.config();
    cfg.socket.clear();
    cfg.host = "127.0.0.1";
    cfg.port = server().port;
    EXPECT_FOUND(directory::open(cfg)->lookup("600700803"), 'T', "PJSIP/600700803");
    // "localhost" with a port is TCP as well (the C API alone would take its default socket,
    // which does not exist here).
    cfg.host = "localhost";
    EXPECT_FOUND(directory::open(cfg)->lookup("600700803"), 'T', "PJSIP/600700803");
    // Nobody listens on the next port.
    cfg.host = "127.0.0.1";
    cfg.port = 1;
    Lookup r = directory::open(cfg)->lookup("600700803");
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_FALSE(r.transient);
}

TEST_F(MariaDb, RefusedLoginIsUnavailable) {
    auto cfg = backend.config();
    cfg.password = "wrong";
    Lookup r = directory::open(cfg)->lookup("600700800");
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_FALSE(r.transient);
    EXPECT_NE(r.why.find("Access denied"), std::string::npos) << r.why;
    EXPECT_EQ(r.why.find("wrong"), std::string::npos) << "the password leaked: " << r.why;

    cfg = backend.config();
    cfg.database = "no_such_database";
    EXPECT_UNAVAILABLE(directory::open(cfg)->lookup("600700800"));
}

TEST_F(MariaDb, EmptyDatabaseNameIsAConfigurationError) {
    auto cfg = backend.config();
    cfg.database.clear();
    try {
        directory::open(cfg);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.exit(), Exit::config);
    }
}

int connections() {
    Ran r = server().sql("SHOW GLOBAL STATUS LIKE 'Connections';");
    EXPECT_EQ(r.status, 0) << r.out;
    auto tab = r.out.rfind('\t');
    return tab == std::string::npos ? -1 : std::stoi(r.out.substr(tab + 1));
}

TEST_F(MariaDb, OneConnectionServesEveryLookup) {
    auto dir = directory::open(backend.config());
    int before = connections(); // counts this check's own connection
    for (int i = 0; i < 200; ++i) {
        EXPECT_FOUND(dir->lookup("600700801"), 'F', "DAHDI/1");
        EXPECT_NOT_FOUND(dir->lookup("12345"));
    }
    int after = connections();
    EXPECT_EQ(after - before, 2) << "one for the directory, one for this check";
}

// SIGSTOP takes effect some time after kill() returns: wait until every thread is stopped (up
// to 60 s: a busy machine may take its time).
bool wait_stopped(pid_t pid) {
    for (int i = 0; i < 6000; ++i) {
        bool all = true;
        std::error_code ec;
        for (const auto& task :
             std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
            std::string stat = read_all(task.path().string() + "/stat");
            auto paren = stat.rfind(')');
            if (paren == std::string::npos || paren + 2 >= stat.size() ||
                (stat[paren + 2] != 'T' && stat[paren + 2] != 't'))
                all = false;
        }
        if (all && !ec)
            return true;
        ::usleep(10000);
    }
    return false;
}

TEST_F(MariaDb, HungServerIsUnavailableWithinTheTimeoutThenRecovers) {
    auto dir = directory::open(backend.config()); // timeout 1 s
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");

    ASSERT_EQ(::kill(server().pid, SIGSTOP), 0);
    ASSERT_TRUE(wait_stopped(server().pid)) << "mariadbd did not stop";
    auto t0 = std::chrono::steady_clock::now();
    Lookup r = dir->lookup("600700800"); // on the open connection: the read times out
    double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    Lookup fresh = directory::open(backend.config())->lookup("600700800"); // the handshake
    double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::kill(server().pid, SIGCONT);

    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_TRUE(r.transient) << show(r);
    EXPECT_EQ(fresh.status, Lookup::Status::unavailable) << show(fresh);
    std::printf("hung MariaDB (timeout 1 s): lookup on an open connection gave up after %.2f s, "
                "a new connection after %.2f s\n",
                read_s, connect_s);
    // The lost connection was dropped; the next lookup connects again.
    EXPECT_FOUND(dir->lookup("600700800"), 'S', "PJSIP/600700800");
}

TEST_F(MariaDb, StoppedServerIsUnavailableThenRecovers) {
    auto dir = directory::open(backend.config());
    EXPECT_FOUND(dir->lookup("600700804"), 'N', "PJSIP/600700804");
    server().stop();
    Lookup r = dir->lookup("600700804");
    Lookup fresh = directory::open(backend.config())->lookup("600700804");
    bool restarted = server().start();
    EXPECT_EQ(r.status, Lookup::Status::unavailable) << show(r);
    EXPECT_EQ(fresh.status, Lookup::Status::unavailable) << show(fresh);
    EXPECT_FALSE(fresh.transient) << show(fresh); // cannot connect: getchaninfo exits 69
    ASSERT_TRUE(restarted) << server().error;
    EXPECT_FOUND(dir->lookup("600700804"), 'N', "PJSIP/600700804");
}

TEST(Directory, ServiceCells) {
    EXPECT_EQ(directory::parse_service("S"), 'S');
    EXPECT_EQ(directory::parse_service(" t\t"), 'T');
    EXPECT_EQ(directory::parse_service("n"), 'N');
    EXPECT_EQ(directory::parse_service(" e "), 'E');
    EXPECT_EQ(directory::parse_service(""), 0);
    EXPECT_EQ(directory::parse_service("U"), 0);
    EXPECT_EQ(directory::parse_service("SF"), 0);
    EXPECT_EQ(directory::parse_service("1"), 0);
    std::string nul(1, '\0');
    EXPECT_EQ(directory::parse_service(nul), 0);
}

TEST(Directory, ChannelWithControlCharactersIsBadData) {
    Lookup r = directory::from_row("1", "S", "PJSIP/1\nChannel: DAHDI/2", "t");
    EXPECT_EQ(r.status, Lookup::Status::unavailable);
    // The line feed is shown escaped (the call file's rule, callfile::channel_problem), never raw.
    EXPECT_NE(r.why.find("\\n"), std::string::npos) << r.why;
    EXPECT_EQ(r.why.find('\n'), std::string::npos) << r.why;
    EXPECT_FOUND(directory::from_row("1", "s", "  PJSIP/1 ", "t"), 'S', "PJSIP/1");
}

// Service E: the Extension is an e-mail address, checked by the one rule the router reads with and
// sms-directory writes with (channel_problem -> address::problem).
TEST(Directory, MailSubscriberHasAnAddressNotAChannel) {
    EXPECT_FOUND(directory::from_row("1", "E", " alice.b+sms@mail.example.org ", "t"), 'E',
                 "alice.b+sms@mail.example.org");
    EXPECT_FOUND(directory::from_row("1", "e", "bob@localhost", "t"), 'E', "bob@localhost");
    for (const char* bad :
         {"", "PJSIP/1000", "alice", "alice@", "@example.org", "a b@example.org",
          "alice@example..org", ".alice@example.org", "al..ice@example.org",
          "\"alice\"@example.org", "Alice <alice@example.org>", "alice@-example.org",
          "alice@example.org\nBcc: eve@example.org", "alice@ex_ample.org", "zażółć@example.org"}) {
        Lookup r = directory::from_row("1", "E", bad, "t");
        EXPECT_EQ(r.status, Lookup::Status::unavailable) << bad;
        EXPECT_FALSE(directory::channel_problem(bad, 'E').empty()) << bad;
        EXPECT_EQ(r.why.find('\n'), std::string::npos) << r.why;
    }
    EXPECT_FALSE(directory::channel_problem(std::string(65, 'a') + "@example.org", 'E').empty());
    EXPECT_TRUE(directory::channel_problem(std::string(64, 'a') + "@example.org", 'E').empty());
    // An address is no channel for the services that dial.
    EXPECT_FALSE(directory::channel_problem("alice@example.org", 'S').empty());
}

TEST(Directory, VersionsNameBothLibraries) {
    std::string v = directory::library_versions();
    EXPECT_NE(v.find(fmt::format("SQLite {}", sqlite3_libversion())), std::string::npos) << v;
    EXPECT_NE(v.find("libmariadb "), std::string::npos) << v;
}

} // namespace
