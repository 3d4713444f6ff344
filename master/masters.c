/* masters: the heartbeat rows of the masters (see masters.h). */
#include "masters.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hg_masters_beat(MYSQL *conn, const hg_masters_beat_t *beat, char *err, size_t err_size)
{
    /* Epoch 0 (no leader known yet) is written as NULL. */
    MYSQL_STMT *st = hg_db_prepare(
        conn,
        "INSERT INTO masters (name, api_url, endpoint, role, epoch, started_at, beat_at)"
        " VALUES (?, ?, ?, ?, NULLIF(?, 0), FROM_UNIXTIME(? / 1000), NOW(3))"
        " ON DUPLICATE KEY UPDATE api_url = VALUES(api_url), endpoint = VALUES(endpoint),"
        " role = VALUES(role), epoch = VALUES(epoch), started_at = VALUES(started_at),"
        " beat_at = VALUES(beat_at)",
        err, err_size);
    if (!st) return HG_EDB;
    const char *role = beat->leading ? "leader" : "standby";
    const char *strs[4] = {beat->name, beat->api_url, beat->endpoint, role};
    unsigned long lens[4];
    MYSQL_BIND b[6];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 4; i++)
        hg_db_bind_str(&b[i], strs[i], &lens[i]);
    uint64_t epoch = beat->epoch;
    hg_db_bind_u64(&b[4], &epoch);
    long long started = beat->started_ms;
    b[5].buffer_type = MYSQL_TYPE_LONGLONG;
    b[5].buffer = &started;
    int rc = 0;
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "cannot write the masters row: %s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    mysql_stmt_close(st);
    if (rc == 0 && beat->leading) {
        char sql[160];
        snprintf(sql, sizeof sql, "DELETE FROM masters WHERE beat_at < NOW(3) - INTERVAL %d SECOND",
                 HG_MASTERS_FORGET_S);
        if (mysql_query(conn, sql) != 0) {
            snprintf(err, err_size, "cannot forget silent masters: %s", mysql_error(conn));
            rc = HG_EDB;
        }
    }
    return rc;
}

static json_t *s_time(const char *ms_text)
{
    char at[40];
    if (!ms_text || hg_time_format_ms(strtoll(ms_text, NULL, 10), at, sizeof at) <= 0)
        return json_null();
    return json_string(at);
}

int hg_masters_list(MYSQL *conn, json_t **out, char *err, size_t err_size)
{
    *out = NULL;
    char sql[700];
    /* Ages are computed by MySQL, whose clock wrote the beats: a master's
     * clock skew does not make it look down. */
    snprintf(sql, sizeof sql,
             "SELECT name, api_url, endpoint, role, CAST(epoch AS CHAR),"
             " CAST(ROUND(UNIX_TIMESTAMP(started_at) * 1000) AS SIGNED),"
             " CAST(ROUND(UNIX_TIMESTAMP(beat_at) * 1000) AS SIGNED),"
             " TIMESTAMPDIFF(MICROSECOND, beat_at, NOW(3)) DIV 1000"
             " FROM masters ORDER BY role = 'leader' DESC, name LIMIT %d",
             HG_MASTERS_MAX);
    MYSQL_RES *res = NULL;
    if (mysql_query(conn, sql) != 0 || !(res = mysql_store_result(conn))) {
        snprintf(err, err_size, "masters: %s", mysql_error(conn));
        return HG_EDB;
    }
    json_t *list = json_array();
    MYSQL_ROW row;
    while (list && (row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3]) continue;
        bool up = row[7] && strtoll(row[7], NULL, 10) <= HG_MASTERS_STALE_MS;
        json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "name", row[0], "api_url",
                              row[1], "endpoint", row[2], "role", row[3], "epoch",
                              row[4] ? json_integer(strtoll(row[4], NULL, 10)) : json_null(),
                              "started_at", s_time(row[5]), "last_heartbeat", s_time(row[6]),
                              "state", up ? "up" : "down");
        if (m) json_array_append_new(list, m);
    }
    mysql_free_result(res);
    if (!list) return HG_ENOMEM;
    *out = list;
    return 0;
}
