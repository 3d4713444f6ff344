/* audit: rows of the audit table (audit.h). */
#include "audit.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column sizes of schema 005, in characters; values are cut to fit, so
 * that a long object name never costs the record. */
#define S_NAME_MAX    128
#define S_ROLE_MAX    16
#define S_ACTION_MAX  64
#define S_OBJECT_MAX  512
#define S_ADDRESS_MAX 64

/* Cut s to at most max characters without splitting a UTF-8 sequence. */
static unsigned long s_cut(const char *s, size_t max)
{
    size_t chars = 0, i = 0;
    while (s[i] && chars < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return (unsigned long) i;
}

void hg_audit_address(const struct sockaddr *sa, char *buf, size_t size)
{
    if (size) buf[0] = '\0';
    if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) return;
    socklen_t len =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, buf, (socklen_t) size, NULL, 0, NI_NUMERICHOST) != 0 && size)
        buf[0] = '\0';
}

int hg_audit_record(MYSQL *db, MYSQL_STMT **keep, const hg_audit_entry_t *entry, char *err,
                    size_t err_size)
{
    const char *sql = "INSERT INTO audit (at, token_name, role, action, object, address, status)"
                      " VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?, ?)";
    /* Every write of the API records a row: a statement kept prepared
     * saves two round trips a request (prepare and close). */
    MYSQL_STMT *st = keep && *keep ? *keep : hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    if (keep) *keep = st;
    const char *v[5] = {entry->token_name ? entry->token_name : "-",
                        entry->role ? entry->role : "none", entry->action ? entry->action : "-",
                        entry->object ? entry->object : "", entry->address ? entry->address : ""};
    static const size_t max[5] = {S_NAME_MAX, S_ROLE_MAX, S_ACTION_MAX, S_OBJECT_MAX,
                                  S_ADDRESS_MAX};
    unsigned long len[5];
    MYSQL_BIND b[6];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 5; i++) {
        hg_db_bind_str(&b[i], v[i], &len[i]);
        len[i] = s_cut(v[i], max[i]);
    }
    uint64_t status = entry->status > 0 ? (uint64_t) entry->status : 0;
    hg_db_bind_u64(&b[5], &status);
    int rc = 0;
    if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st)) {
        snprintf(err, err_size, "record audit: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    /* A statement that failed is prepared again next time (the table
     * may have changed under it). */
    if (!keep || rc != 0) mysql_stmt_close(st);
    if (keep && rc != 0) *keep = NULL;
    return rc;
}

int hg_audit_list(MYSQL *db, int64_t since_ms, int limit, json_t **out, char *err, size_t err_size)
{
    char sql[600], since[80] = "";
    if (since_ms > 0)
        snprintf(since, sizeof since, "WHERE at >= FROM_UNIXTIME(%" PRId64 ".%03d)",
                 since_ms / 1000, (int) (since_ms % 1000));
    snprintf(sql, sizeof sql,
             "SELECT id, CAST(ROUND(UNIX_TIMESTAMP(at) * 1000) AS SIGNED), token_name, role,"
             " action, object, address, status FROM audit %s ORDER BY id DESC LIMIT %d",
             since, limit > 0 ? limit : 100);
    if (mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "list audit: %s", mysql_error(db));
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        snprintf(err, err_size, "list audit: %s", mysql_error(db));
        return HG_EDB;
    }
    *out = json_array();
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res))) {
        bool complete = true;
        for (int i = 0; i < 8; i++)
            complete = complete && r[i];
        if (!complete) continue;
        char at[40];
        hg_time_format_ms(strtoll(r[1], NULL, 10), at, sizeof at);
        json_array_append_new(*out, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "id",
                                              (json_int_t) strtoll(r[0], NULL, 10), "at", at,
                                              "token", r[2], "role", r[3], "action", r[4], "object",
                                              r[5], "address", r[6], "status", atoi(r[7])));
    }
    mysql_free_result(res);
    return 0;
}
