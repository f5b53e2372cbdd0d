// The sms-directory-mysql module's plain-C entry points over the MySQL/MariaDB backend.
#include "directory/directory.hpp"
#include "directory/directory_mysql_abi.h"
#include "util/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mysql.h>
#include <optional>
#include <string>
#include <vector>

namespace {

char* copy(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p)
        std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

sms::DirectoryConfig config_of(const sms_mysql_settings* s) {
    sms::DirectoryConfig cfg;
    cfg.backend = sms::DirectoryBackend::mysql;
    cfg.host = s->host;
    cfg.port = s->port;
    cfg.socket = s->socket;
    cfg.user = s->user;
    cfg.password = s->password;
    cfg.database = s->database;
    cfg.table = s->table;
    cfg.account_column = s->account_column;
    cfg.service_column = s->service_column;
    cfg.extension_column = s->extension_column;
    cfg.timeout = s->timeout;
    return cfg;
}

// Runs `f`, turning what it throws into *err and -1.
template <typename F>
int guarded(sms_mysql_error* err, F&& f) {
    try {
        f();
        return 0;
    } catch (const sms::Error& e) {
        err->exit_code = static_cast<int>(e.exit());
        std::snprintf(err->what, sizeof err->what, "%s", e.subject().c_str());
        std::snprintf(err->why, sizeof err->why, "%s", e.reason().c_str());
    } catch (const std::exception& e) {
        err->exit_code = static_cast<int>(sms::Exit::software);
        std::snprintf(err->what, sizeof err->what, "MySQL directory");
        std::snprintf(err->why, sizeof err->why, "%s", e.what());
    }
    return -1;
}

sms::directory::Store* store_of(void* p) {
    return static_cast<sms::directory::Store*>(p);
}

} // namespace

#define SMS_EXPORT extern "C" __attribute__((visibility("default")))

SMS_EXPORT void* sms_mysql_open(const sms_mysql_settings* s, char* what, size_t what_len, char* why,
                                size_t why_len, int* exit_code) {
    try {
        return sms::directory::open_mysql(config_of(s)).release();
    } catch (const sms::Error& e) {
        std::snprintf(what, what_len, "%s", e.subject().c_str());
        std::snprintf(why, why_len, "%s", e.reason().c_str());
        *exit_code = static_cast<int>(e.exit());
    } catch (const std::exception& e) {
        std::snprintf(what, what_len, "MySQL directory");
        std::snprintf(why, why_len, "%s", e.what());
        *exit_code = static_cast<int>(sms::Exit::software);
    }
    return nullptr;
}

SMS_EXPORT void sms_mysql_lookup(void* dir, const char* number, size_t len, sms_mysql_result* out) {
    *out = {};
    try {
        auto l = static_cast<sms::directory::Directory*>(dir)->lookup({number, len});
        out->status = l.status == sms::directory::Lookup::Status::found       ? 0
                      : l.status == sms::directory::Lookup::Status::not_found ? 1
                                                                              : 2;
        out->service = l.entry.service;
        out->transient = l.transient ? 1 : 0;
        out->channel = copy(l.entry.channel);
        out->why = copy(l.why);
    } catch (const std::exception& e) {
        out->status = 2;
        out->transient = 1;
        out->why = copy(e.what());
    }
}

SMS_EXPORT void sms_mysql_close(void* dir) {
    delete static_cast<sms::directory::Directory*>(dir);
}

SMS_EXPORT const char* sms_mysql_version() {
    return mysql_get_client_info();
}

SMS_EXPORT void* sms_mysql_store_open(const sms_mysql_settings* s, sms_mysql_error* err) {
    void* out = nullptr;
    guarded(err, [&] { out = sms::directory::open_mysql_store(config_of(s)).release(); });
    return out;
}

SMS_EXPORT int sms_mysql_store_init(void* store, int* created, sms_mysql_error* err) {
    return guarded(err, [&] { *created = store_of(store)->init() ? 1 : 0; });
}

SMS_EXPORT int sms_mysql_store_rows(void* store, const char* number, size_t len,
                                    sms_mysql_row_fn fn, void* ctx, sms_mysql_error* err) {
    return guarded(err, [&] {
        std::optional<std::string_view> n;
        if (number)
            n = std::string_view(number, len);
        for (const auto& r : store_of(store)->rows(n)) {
            sms_mysql_row row{r.number.data(),  r.number.size(),  r.service.data(),
                              r.service.size(), r.channel.data(), r.channel.size()};
            if (fn(ctx, &row) != 0)
                throw sms::Error(sms::Exit::software, "MySQL directory", "listing stopped");
        }
    });
}

SMS_EXPORT int sms_mysql_store_write(void* store, const sms_mysql_row* rows, size_t count,
                                     int replace, sms_mysql_error* err) {
    return guarded(err, [&] {
        std::vector<sms::directory::Row> v;
        v.reserve(count);
        for (size_t i = 0; i < count; ++i)
            v.push_back({std::string(rows[i].number, rows[i].number_len),
                         std::string(rows[i].service, rows[i].service_len),
                         std::string(rows[i].channel, rows[i].channel_len)});
        store_of(store)->write(v, replace != 0);
    });
}

SMS_EXPORT int sms_mysql_store_remove(void* store, const char* number, size_t len, int* removed,
                                      sms_mysql_error* err) {
    return guarded(err, [&] { *removed = store_of(store)->remove(std::string_view(number, len)); });
}

SMS_EXPORT void sms_mysql_store_close(void* store) {
    delete store_of(store);
}
