/* worker_keys: rows of the worker_keys table (worker_keys.h). */
#include "worker_keys.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_NODE_MAX    191
#define S_COMMENT_MAX 255

bool hg_worker_key_valid(const char *key)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (!key || strlen(key) != HG_WORKER_KEY_Z85_LEN || strspn(key, z85) != HG_WORKER_KEY_Z85_LEN)
        return false;
    uint8_t raw[32];
    return zmq_z85_decode(raw, key) != NULL;
}

/* Node names as workers use them: [A-Za-z0-9._-], starting with a letter
 * or digit. */
static bool s_node_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > S_NODE_MAX ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int s_select(MYSQL *db, const char *key, const char *node, json_t **out, char *err,
                    size_t err_size)
{
    char sql[600], where[300] = "";
    /* key and node are validated before they get here: no quoting needed
     * beyond Z85's quote-free alphabet. */
    if (key)
        snprintf(where, sizeof where, "WHERE public_key = '%s'", key);
    else if (node)
        snprintf(where, sizeof where, "WHERE node = '%s'", node);
    snprintf(sql, sizeof sql,
             "SELECT public_key, node, comment, created_by,"
             " CAST(ROUND(UNIX_TIMESTAMP(created_at) * 1000) AS SIGNED) FROM worker_keys %s"
             " ORDER BY node, created_at",
             where);
    if (mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "list worker keys: %s", mysql_error(db));
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        snprintf(err, err_size, "list worker keys: %s", mysql_error(db));
        return HG_EDB;
    }
    *out = json_array();
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res))) {
        if (!r[0] || !r[1] || !r[2] || !r[3] || !r[4]) continue;
        char at[40];
        hg_time_format_ms(strtoll(r[4], NULL, 10), at, sizeof at);
        json_array_append_new(*out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "public_key", r[0],
                                              "node", r[1], "comment", r[2], "created_by", r[3],
                                              "created_at", at));
    }
    mysql_free_result(res);
    return 0;
}

int hg_worker_key_add(MYSQL *db, const char *public_key, const char *node, const char *comment,
                      const char *created_by, json_t **row, char *err, size_t err_size)
{
    if (row) *row = NULL;
    if (!hg_worker_key_valid(public_key)) {
        snprintf(err, err_size, "public_key: must be a CURVE public key, 40 characters of Z85");
        return HG_EINVAL;
    }
    if (!s_node_valid(node)) {
        snprintf(err, err_size,
                 "node: must be 1-%d letters, digits, '.', '_' or '-', starting with a letter or "
                 "digit",
                 S_NODE_MAX);
        return HG_EINVAL;
    }
    if (!comment) comment = "";
    if (strlen(comment) > S_COMMENT_MAX) {
        snprintf(err, err_size, "comment: at most %d bytes", S_COMMENT_MAX);
        return HG_EINVAL;
    }
    MYSQL_STMT *st = hg_db_prepare(db,
                                   "INSERT INTO worker_keys (public_key, node, created_at,"
                                   " created_by, comment) VALUES (?, ?, UTC_TIMESTAMP(3), ?, ?)",
                                   err, err_size);
    if (!st) return HG_EDB;
    MYSQL_BIND b[4];
    unsigned long len[4];
    memset(b, 0, sizeof b);
    hg_db_bind_str(&b[0], public_key, &len[0]);
    hg_db_bind_str(&b[1], node, &len[1]);
    hg_db_bind_str(&b[2], created_by ? created_by : "", &len[2]);
    hg_db_bind_str(&b[3], comment, &len[3]);
    int rc = 0;
    if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st)) {
        if (mysql_stmt_errno(st) == 1062) {
            snprintf(err, err_size, "this public key is already registered");
            rc = HG_EEXIST;
        } else {
            snprintf(err, err_size, "add worker key: %s", mysql_stmt_error(st));
            rc = HG_EDB;
        }
    }
    mysql_stmt_close(st);
    if (rc == 0 && row) {
        json_t *list = NULL;
        if (s_select(db, public_key, NULL, &list, err, err_size) == 0)
            *row = json_incref(json_array_get(list, 0));
        json_decref(list);
    }
    return rc;
}

int hg_worker_key_list(MYSQL *db, const char *node, json_t **out, char *err, size_t err_size)
{
    if (node && !s_node_valid(node)) {
        *out = json_array();
        return 0;
    }
    return s_select(db, NULL, node, out, err, err_size);
}

int hg_worker_key_delete(MYSQL *db, const char *public_key, const char *node, int *deleted,
                         char *err, size_t err_size)
{
    *deleted = 0;
    char sql[400];
    if (public_key && hg_worker_key_valid(public_key))
        snprintf(sql, sizeof sql, "DELETE FROM worker_keys WHERE public_key = '%s'", public_key);
    else if (!public_key && node && s_node_valid(node))
        snprintf(sql, sizeof sql, "DELETE FROM worker_keys WHERE node = '%s'", node);
    else
        sql[0] = '\0';
    if (sql[0] && mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "delete worker key: %s", mysql_error(db));
        return HG_EDB;
    }
    *deleted = sql[0] ? (int) mysql_affected_rows(db) : 0;
    if (*deleted == 0) {
        snprintf(err, err_size, "no such worker key");
        return HG_ENOTFOUND;
    }
    return 0;
}
