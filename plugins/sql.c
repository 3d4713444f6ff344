/* sql: run SQL statements against a MySQL / MariaDB server, the typical
 * maintenance job (purge old rows, roll up statistics, copy a table).
 *
 * Parameters:
 *   dsn   mysql://user:password@host:port/database  (port, password and
 *         database optional; host "localhost" uses the default socket,
 *         "?socket=/path" names another). Special characters in the
 *         password must not include '@' or '/'.
 *   sql   one or more statements separated by ';', sent as one batch
 *         (multi-statement mode, so ';' inside string literals is fine).
 * Each statement's rows affected is logged; the result is
 * "rows_affected=N" (the total). The first failing statement fails the run
 * with the server's message. The deadline bounds connect, read and write
 * time; cancellation is checked between statements. */
#include "hourglass/plugin.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char buf[1024];       /* copy of the DSN, cut into pieces */
    const char *user;     /* user name */
    const char *password; /* password, or NULL */
    const char *host;     /* host name */
    unsigned port;        /* TCP port, 0 = default */
    const char *db;       /* database, or NULL */
    const char *socket;   /* unix socket path, or NULL */
} sql_dsn_t;

static int sql_dsn_parse(const char *text, sql_dsn_t *d)
{
    char *p, *at, *slash, *colon, *q;
    memset(d, 0, sizeof(*d));
    if (strncmp(text, "mysql://", 8) != 0 || strlen(text + 8) >= sizeof(d->buf)) return -1;
    strcpy(d->buf, text + 8);
    p = d->buf;
    q = strchr(p, '?');
    if (q) {
        *q++ = '\0';
        if (strncmp(q, "socket=", 7) == 0) d->socket = q + 7;
    }
    at = strrchr(p, '@');
    if (at) {
        *at = '\0';
        d->user = p;
        colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            d->password = colon + 1;
        }
        p = at + 1;
    }
    slash = strchr(p, '/');
    if (slash) {
        *slash = '\0';
        if (slash[1]) d->db = slash + 1;
    }
    colon = strchr(p, ':');
    if (colon) {
        *colon = '\0';
        d->port = (unsigned) strtoul(colon + 1, NULL, 10);
    }
    d->host = *p ? p : "localhost";
    return 0;
}

static int sql_run(void *state, const hg_plugin_ctx_t *ctx)
{
    const char *dsn_text = ctx->param(ctx, "dsn");
    const char *sql = ctx->param(ctx, "sql");
    unsigned long long total = 0;
    unsigned n = 0;
    sql_dsn_t dsn;
    MYSQL *db;
    int status, rc = HG_PLUGIN_OK;
    char result[64];
    (void) state;

    if (!dsn_text || !sql || sql_dsn_parse(dsn_text, &dsn) != 0) {
        ctx->fail(ctx, "sql: parameters \"dsn\" (mysql://user:pass@host:port/db) and \"sql\" "
                       "are required");
        return HG_PLUGIN_FAILED;
    }
    db = mysql_init(NULL);
    if (!db) {
        ctx->fail(ctx, "sql: out of memory");
        return HG_PLUGIN_FAILED;
    }
    if (ctx->deadline_ms(ctx) > 0) {
        long long left_s = (ctx->deadline_ms(ctx) - (long long) time(NULL) * 1000) / 1000 + 1;
        unsigned t = left_s > 0 ? (unsigned) left_s : 1;
        mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &t);
        mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &t);
        mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &t);
    }
    if (!mysql_real_connect(db, dsn.host, dsn.user, dsn.password, dsn.db, dsn.port, dsn.socket,
                            CLIENT_MULTI_STATEMENTS)) {
        ctx->fail(ctx, "sql: cannot connect to %s: %s", dsn.host, mysql_error(db));
        mysql_close(db);
        return HG_PLUGIN_RETRY; /* the server may be back later */
    }
    status = mysql_real_query(db, sql, (unsigned long) strlen(sql));
    while (status == 0) {
        MYSQL_RES *res = mysql_store_result(db);
        n++;
        if (res) {
            ctx->log(ctx, HG_PLUGIN_LOG_INFO, "statement %u: %llu rows returned", n,
                     (unsigned long long) mysql_num_rows(res));
            mysql_free_result(res);
        } else if (mysql_field_count(db) == 0) {
            unsigned long long rows = (unsigned long long) mysql_affected_rows(db);
            total += rows;
            ctx->log(ctx, HG_PLUGIN_LOG_INFO, "statement %u: %llu rows affected", n, rows);
        } else {
            break; /* error reading the result: reported below */
        }
        if (!mysql_more_results(db)) break;
        if (ctx->cancelled(ctx)) {
            ctx->fail(ctx, "sql: cancelled after statement %u", n);
            rc = HG_PLUGIN_FAILED;
            break;
        }
        status = mysql_next_result(db);
    }
    if (rc == HG_PLUGIN_OK && mysql_errno(db)) {
        ctx->fail(ctx, "sql: statement %u failed: %s", n + 1, mysql_error(db));
        rc = HG_PLUGIN_FAILED;
    }
    mysql_close(db);
    snprintf(result, sizeof(result), "rows_affected=%llu", total);
    ctx->set_result(ctx, result, strlen(result));
    return rc;
}

static const hg_plugin_descriptor_t sql_descriptor = {
    HG_PLUGIN_ABI_VERSION,   sizeof(hg_plugin_descriptor_t), "sql", "1.0.0", NULL, sql_run, NULL,
    {NULL, NULL, NULL, NULL}};

HG_PLUGIN_EXPORT const hg_plugin_descriptor_t *hourglass_plugin(void)
{
    return &sql_descriptor;
}
