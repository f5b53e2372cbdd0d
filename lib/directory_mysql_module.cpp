// The sms-directory-mysql module's plain-C entry points over the MySQL/MariaDB backend.
#include "directory.hpp"
#include "directory_mysql_abi.h"
#include "error.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mysql.h>

namespace {

char* copy(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (p)
        std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

} // namespace

#define SMS_EXPORT extern "C" __attribute__((visibility("default")))

SMS_EXPORT void* sms_mysql_open(const sms_mysql_settings* s, char* what, size_t what_len, char* why,
                                size_t why_len, int* exit_code) {
    try {
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
        return sms::directory::open_mysql(cfg).release();
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
