/* The plain-C entry points of the sms-directory-mysql module (directory_mysql_module.cpp),
 * used by directory_open.cpp. Nothing C++ crosses: no exceptions, no std types.
 * The module and the tools are built and installed together; entry points are only ever added
 * (never changed), so a tool that asks for one an older module lacks gets a clear "symbol not
 * found" error naming the module rather than undefined behaviour. */
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

/* ---- Read-write access for sms-directory (directory::Store). ---- */

/* An error: the sysexits code, and what/why as sms::Error holds them. */
struct sms_mysql_error {
    int exit_code;
    char what[256];
    char why[512];
};

/* One row; the strings need not be NUL-terminated. */
struct sms_mysql_row {
    const char* number;
    size_t number_len;
    const char* service;
    size_t service_len;
    const char* channel;
    size_t channel_len;
};

/* Called once per row by sms_mysql_store_rows; the row lives only during the call. Returns 0 to
 * go on, anything else to stop (the call then fails with that row's error unset: exit 70). */
typedef int (*sms_mysql_row_fn)(void* ctx, const struct sms_mysql_row* row);

/* Each returns 0, or -1 with *err filled. A store connects on its first call. */
void* sms_mysql_store_open(const struct sms_mysql_settings* s, struct sms_mysql_error* err);
int sms_mysql_store_init(void* store, int* created, struct sms_mysql_error* err);
/* number NULL: every row, ordered by number. */
int sms_mysql_store_rows(void* store, const char* number, size_t len, sms_mysql_row_fn fn,
                         void* ctx, struct sms_mysql_error* err);
int sms_mysql_store_write(void* store, const struct sms_mysql_row* rows, size_t count, int replace,
                          struct sms_mysql_error* err);
int sms_mysql_store_remove(void* store, const char* number, size_t len, int* removed,
                           struct sms_mysql_error* err);
void sms_mysql_store_close(void* store);

#ifdef __cplusplus
}
#endif
