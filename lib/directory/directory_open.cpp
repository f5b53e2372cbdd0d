// Choosing the directory backend; the MySQL/MariaDB one lives in the sms-directory-mysql module
// (libmariadb pulls in TLS libraries: about 1.5 ms at every start of every tool otherwise).
#include "directory/directory.hpp"
#include "directory/directory_mysql_abi.h"
#include "util/error.hpp"
#include "util/plugin.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <sqlite3.h>

namespace sms::directory {

namespace {

template <typename F>
F entry(const char* name) {
    return reinterpret_cast<F>(plugin::symbol("sms-directory-mysql", name));
}

// The module's directory, behind the plain-C boundary.
class ModuleDirectory final : public Directory {
public:
    explicit ModuleDirectory(void* h)
        : h_(h) {}
    ~ModuleDirectory() override { entry<decltype(&sms_mysql_close)>("sms_mysql_close")(h_); }
    ModuleDirectory(const ModuleDirectory&) = delete;
    ModuleDirectory& operator=(const ModuleDirectory&) = delete;

    Lookup lookup(std::string_view number) override {
        static auto fn = entry<decltype(&sms_mysql_lookup)>("sms_mysql_lookup");
        sms_mysql_result r{};
        fn(h_, number.data(), number.size(), &r);
        Lookup l;
        l.status = r.status == 0   ? Lookup::Status::found
                   : r.status == 1 ? Lookup::Status::not_found
                                   : Lookup::Status::unavailable;
        l.entry.service = r.service;
        l.transient = r.transient != 0;
        if (r.channel)
            l.entry.channel = r.channel;
        if (r.why)
            l.why = r.why;
        std::free(r.channel);
        std::free(r.why);
        return l;
    }

private:
    void* h_;
};

sms_mysql_settings settings_of(const DirectoryConfig& cfg) {
    return sms_mysql_settings{cfg.host.c_str(),
                              cfg.port,
                              cfg.socket.c_str(),
                              cfg.user.c_str(),
                              cfg.password.c_str(),
                              cfg.database.c_str(),
                              cfg.table.c_str(),
                              cfg.account_column.c_str(),
                              cfg.service_column.c_str(),
                              cfg.extension_column.c_str(),
                              cfg.timeout};
}

[[noreturn]] void raise(const sms_mysql_error& e) {
    throw Error(static_cast<Exit>(e.exit_code), e.what, e.why);
}

sms_mysql_row row_of(const Row& r) {
    return {r.number.data(),  r.number.size(),  r.service.data(),
            r.service.size(), r.channel.data(), r.channel.size()};
}

// The module's store, behind the plain-C boundary.
class ModuleStore final : public Store {
public:
    explicit ModuleStore(void* h)
        : h_(h) {}
    ~ModuleStore() override {
        entry<decltype(&sms_mysql_store_close)>("sms_mysql_store_close")(h_);
    }
    ModuleStore(const ModuleStore&) = delete;
    ModuleStore& operator=(const ModuleStore&) = delete;

    bool init() override {
        sms_mysql_error e{};
        int created = 0;
        if (entry<decltype(&sms_mysql_store_init)>("sms_mysql_store_init")(h_, &created, &e) != 0)
            raise(e);
        return created != 0;
    }

    std::vector<Row> rows(std::optional<std::string_view> number) override {
        struct Ctx {
            std::vector<Row> rows;
        } ctx;
        // No exception may cross the module: a failed allocation stops the listing instead.
        sms_mysql_row_fn fn = [](void* c, const sms_mysql_row* r) -> int {
            try {
                static_cast<Ctx*>(c)->rows.push_back({std::string(r->number, r->number_len),
                                                      std::string(r->service, r->service_len),
                                                      std::string(r->channel, r->channel_len)});
                return 0;
            } catch (...) {
                return 1;
            }
        };
        sms_mysql_error e{};
        if (entry<decltype(&sms_mysql_store_rows)>("sms_mysql_store_rows")(
                h_, number ? number->data() : nullptr, number ? number->size() : 0, fn, &ctx, &e) !=
            0)
            raise(e);
        return std::move(ctx.rows);
    }

    void write(std::span<const Row> rows, bool replace) override {
        std::vector<sms_mysql_row> v;
        v.reserve(rows.size());
        for (const Row& r : rows)
            v.push_back(row_of(r));
        sms_mysql_error e{};
        if (entry<decltype(&sms_mysql_store_write)>("sms_mysql_store_write")(
                h_, v.data(), v.size(), replace ? 1 : 0, &e) != 0)
            raise(e);
    }

    bool remove(std::string_view number) override {
        sms_mysql_error e{};
        int removed = 0;
        if (entry<decltype(&sms_mysql_store_remove)>("sms_mysql_store_remove")(
                h_, number.data(), number.size(), &removed, &e) != 0)
            raise(e);
        return removed != 0;
    }

private:
    void* h_;
};

} // namespace

std::unique_ptr<Store> open_mysql_store(const DirectoryConfig& cfg) {
    check_config(cfg);
    auto s = settings_of(cfg);
    sms_mysql_error e{};
    void* h = entry<decltype(&sms_mysql_store_open)>("sms_mysql_store_open")(&s, &e);
    if (!h)
        raise(e);
    return std::make_unique<ModuleStore>(h);
}

std::unique_ptr<Store> open_store(const DirectoryConfig& cfg, bool create) {
    switch (cfg.backend) {
    case DirectoryBackend::sqlite:
        return open_sqlite_store(cfg, create);
    case DirectoryBackend::mysql:
        return open_mysql_store(cfg);
    }
    throw Error(Exit::config, "[directory] backend", "unknown backend");
}

std::unique_ptr<Directory> open_mysql(const DirectoryConfig& cfg) {
    check_config(cfg);
    sms_mysql_settings s{cfg.host.c_str(),
                         cfg.port,
                         cfg.socket.c_str(),
                         cfg.user.c_str(),
                         cfg.password.c_str(),
                         cfg.database.c_str(),
                         cfg.table.c_str(),
                         cfg.account_column.c_str(),
                         cfg.service_column.c_str(),
                         cfg.extension_column.c_str(),
                         cfg.timeout};
    char what[256] = "", why[512] = "";
    int exit_code = 0;
    void* h = entry<decltype(&sms_mysql_open)>("sms_mysql_open")(&s, what, sizeof what, why,
                                                                 sizeof why, &exit_code);
    if (!h)
        throw Error(static_cast<Exit>(exit_code), what, why);
    return std::make_unique<ModuleDirectory>(h);
}

std::unique_ptr<Directory> open(const DirectoryConfig& cfg) {
    switch (cfg.backend) {
    case DirectoryBackend::sqlite:
        return open_sqlite(cfg);
    case DirectoryBackend::mysql:
        return open_mysql(cfg);
    }
    throw Error(Exit::config, "[directory] backend", "unknown backend");
}

std::string library_versions() {
    // Read at run time from the libraries actually loaded.
    std::string mysql;
    try {
        mysql = entry<decltype(&sms_mysql_version)>("sms_mysql_version")();
    } catch (const Error&) {
        mysql = "(module sms-directory-mysql not found)";
    }
    return fmt::format("SQLite {}, libmariadb {}", sqlite3_libversion(), mysql);
}

} // namespace sms::directory
