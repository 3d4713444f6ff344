/* depfire_shards: complete sharded fires into dep_inbox (depfire_shards.h). */
#include "depfire_shards.h"

#include "db.h"
#include "hg_error.h"

#include <stdio.h>
#include <string.h>

int hg_depfire_shards_prepare(MYSQL *db, MYSQL_STMT *st[3], char *err, size_t err_size)
{
    static const char *having[3] = {"SUM(status <> 'success') = 0", "SUM(status <> 'success') > 0",
                                    "1"};
    char sql[1024];
    for (int i = 0; i < 3; i++) {
        snprintf(
            sql, sizeof sql,
            "INSERT IGNORE INTO dep_inbox (child_id, parent_run_id, parent_id, parent_name, "
            "status, finished_at, result) SELECT ?, MIN(run_id), job_id, ?, "
            "IF(SUM(status <> 'success') = 0, 'success', 'failed'), MAX(finished_at), NULL "
            "FROM runs WHERE job_id = ? AND scheduled_at BETWEEN ? AND ? AND shard_total > 1 AND "
            "next_attempt_at IS NULL AND status <> 'running' "
            "GROUP BY job_id, scheduled_at, shard_total "
            "HAVING COUNT(DISTINCT shard_index) >= shard_total AND MAX(finished_at) >= ? "
            "AND %s",
            having[i]);
        st[i] = hg_db_prepare(db, sql, err, err_size);
        if (!st[i]) {
            for (int k = 0; k < i; k++) {
                mysql_stmt_close(st[k]);
                st[k] = NULL;
            }
            return HG_EDB;
        }
    }
    return 0;
}

int hg_depfire_shards_scan(MYSQL_STMT *st[3], int on, uint64_t child_id, const char *parent_name,
                           uint64_t parent_id, int64_t since_ms, int64_t until_ms,
                           int64_t created_ms, uint64_t *added)
{
    *added = 0;
    if (on < 1 || on > 3) return 0;
    MYSQL_STMT *s = st[on - 1];
    MYSQL_BIND b[6];
    unsigned long name_len;
    MYSQL_TIME since, until, created;
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &child_id);
    hg_db_bind_str(&b[1], parent_name, &name_len);
    hg_db_bind_u64(&b[2], &parent_id);
    hg_db_time_from_ms(since_ms, &since);
    hg_db_time_from_ms(until_ms, &until);
    hg_db_time_from_ms(created_ms, &created);
    b[3].buffer_type = MYSQL_TYPE_DATETIME;
    b[3].buffer = &since;
    b[4].buffer_type = MYSQL_TYPE_DATETIME;
    b[4].buffer = &until;
    b[5].buffer_type = MYSQL_TYPE_DATETIME;
    b[5].buffer = &created;
    if (mysql_stmt_bind_param(s, b) || mysql_stmt_execute(s)) return HG_EDB;
    *added = (uint64_t) mysql_stmt_affected_rows(s);
    return 0;
}
