// Choosing the directory backend; the MySQL/MariaDB one lives in the sms-directory-mysql module
// (libmariadb pulls in TLS libraries: about 1.5 ms at every start of every tool otherwise).
#include "directory.hpp"
#include "directory_mysql_abi.h"
#include "error.hpp"
#include "plugin.hpp"

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

} // namespace

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
