/* The plain-C entry points of the sms-directory-mysql module (directory_mysql_module.cpp),
 * used by directory_open.cpp. Nothing C++ crosses: no exceptions, no std types. */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sms_mysql_settings {
    const char* host;
    int port;
    const char* socket;
    const char* user;
    const char* password;
    const char* database;
    const char* table;
    const char* account_column;
    const char* service_column;
    const char* extension_column;
    int timeout;
};

struct sms_mysql_result {
    int status;    /* 0 found, 1 not found, 2 unavailable */
    char service;  /* when found */
    int transient; /* when unavailable: a passing fault */
    char* channel; /* malloc'd or NULL; the caller frees */
    char* why;     /* malloc'd or NULL; the caller frees */
};

/* A directory (not connected yet), or NULL with what/why/exit_code filled. */
void* sms_mysql_open(const struct sms_mysql_settings* s, char* what, size_t what_len, char* why,
                     size_t why_len, int* exit_code);
void sms_mysql_lookup(void* dir, const char* number, size_t len, struct sms_mysql_result* out);
void sms_mysql_close(void* dir);
const char* sms_mysql_version(void);

#ifdef __cplusplus
}
#endif
