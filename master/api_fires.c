/* api_fires: how the last fire of a broadcast or sharded job went, for
 * GET /api/v1/jobs/{name} ("last_fire", docs/api.md). Such a fire is
 * several run rows with one scheduled time (one per shard, or per node);
 * it is a success when every one of them is: a shard lost with its worker
 * and re-run elsewhere (recover) counts by its re-run. */
#include "api_fires.h"

#include "hg_error.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the query gives back. */
typedef struct {
    uint64_t job_id; /* in */
    json_t *out;     /* out: the last_fire object, or NULL when the job never fired */
} s_fire_op_t;

/* Rank of a row's status for its part: a success wins over a re-run in
 * flight, which wins over the failure it re-runs. */
static int s_rank(const char *status)
{
    if (strcmp(status, "success") == 0) return 3;
    if (strcmp(status, "running") == 0) return 2;
    return 1;
}

static int s_op(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_fire_op_t *a = arg;
    char sql[512];
    /* Integers only in the text: nothing to escape. */
    snprintf(sql, sizeof sql,
             "SELECT CAST(ROUND(UNIX_TIMESTAMP(scheduled_at) * 1000) AS SIGNED), shard_index,"
             " shard_total, node, status FROM runs WHERE job_id = %" PRIu64
             " AND scheduled_at = (SELECT MAX(scheduled_at) FROM runs WHERE job_id = %" PRIu64 ")",
             a->job_id, a->job_id);
    if (mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "%s", mysql_error(db));
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        snprintf(err, err_size, "%s", mysql_error(db));
        return HG_EDB;
    }
    json_t *parts = json_object(); /* shard index or node -> best rank */
    int64_t sched = 0;
    long total = 0;
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        sched = row[0] ? strtoll(row[0], NULL, 10) : 0;
        if (row[2]) total = strtol(row[2], NULL, 10);
        const char *part = row[1] ? row[1] : row[3] ? row[3] : "";
        int rank = s_rank(row[4] ? row[4] : "failed");
        json_t *have = json_object_get(parts, part);
        if (!have || json_integer_value(have) < rank)
            json_object_set_new(parts, part, json_integer(rank));
    }
    mysql_free_result(res);
    if (json_object_size(parts) == 0) {
        json_decref(parts);
        return 0;
    }
    long expected = total > 0 ? total : (long) json_object_size(parts);
    long ok = 0, running = 0, failed = 0;
    const char *key;
    json_t *v;
    json_object_foreach(parts, key, v)
    {
        json_int_t rank = json_integer_value(v);
        ok += rank == 3;
        running += rank == 2;
        failed += rank == 1;
    }
    json_decref(parts);
    /* Shards with no row yet are still to come: running, not failed. */
    const char *status = ok == expected                          ? "success"
                         : running > 0 || ok + failed < expected ? "running"
                                                                 : "failed";
    char at[40];
    hg_time_format_ms(sched, at, sizeof at);
    a->out = json_pack("{s:s, s:s, s:i, s:i}", "scheduled_at", at, "status", status, "parts",
                       (json_int_t) expected, "succeeded", (json_int_t) ok);
    return 0;
}

void hg_api__job_last_fire(hg_api_t *api, json_t *job)
{
    json_t *ex = json_object_get(job, "executor");
    bool fanout = json_integer_value(json_object_get(ex, "shards")) > 1 ||
                  json_is_string(json_object_get(ex, "mode"));
    if (!fanout) return;
    s_fire_op_t a = {.job_id = (uint64_t) json_integer_value(json_object_get(job, "id"))};
    char err[512];
    if (hg_api__with_db(api, s_op, &a, err, sizeof err) != 0) return;
    json_object_set_new(job, "last_fire", a.out ? a.out : json_null());
}
