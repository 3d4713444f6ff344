/* job_complete: storing "completed" for a job whose remaining_runs are used
 * up (job_complete.h says when, and why it is safe). */
#include "job_complete.h"

#include "actor_loop.h"
#include "cluster.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_sched.h"
#include "hg_time.h"
#include "job_db.h"
#include "job_ext.h"
#include "job_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Active jobs with remaining_runs whose end has passed, oldest end first.
 * ix_jobs_status_end (migration 015) reads only jobs that have ended. */
#define S_CANDIDATES                                                                               \
    "WHERE status = 'active' AND end_at IS NOT NULL AND end_at <= UTC_TIMESTAMP(3)"                \
    " AND spec LIKE '%%\"remaining_runs\"%%' ORDER BY end_at LIMIT %d"

/* The scheduled time (ms) of the job's latest fire of its own schedule
 * whose outcome is final: ended, with no further attempt due. 0 when none;
 * HG_EDB with the reason in err. */
static int64_t s_last_final(MYSQL *db, uint64_t id, char *err, size_t err_size)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT CAST(ROUND(UNIX_TIMESTAMP(scheduled_at) * 1000) AS SIGNED) FROM runs"
             " WHERE job_id = %" PRIu64
             " AND trigger_reason IN ('schedule', 'misfire', 'retry', 'recover')"
             " AND status <> 'running' AND next_attempt_at IS NULL"
             " ORDER BY scheduled_at DESC LIMIT 1",
             id);
    if (mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "last run of job %" PRIu64 ": %s", id, mysql_error(db));
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    int64_t ms = row && row[0] ? strtoll(row[0], NULL, 10) : 0;
    if (res) mysql_free_result(res);
    return ms;
}

/* True when job (its API object) has no scheduled time left to fire. */
static bool s_used_up(MYSQL *db, json_t *job, int64_t now_ms, char *err, size_t err_size, int *rc)
{
    int64_t cut = 0;
    if (hg_job__time_field_ms(job, "runs_end_at", &cut) != 0 || cut <= 0) return false;
    int64_t own = 0;
    hg_job__time_field_ms(job, "end_at", &own); /* the API object holds the job's own end */
    int64_t end = hg_job_ext_end_ms(job, own);
    uint64_t id = (uint64_t) json_integer_value(json_object_get(job, "id"));
    int64_t last = s_last_final(db, id, err, err_size);
    if (last < 0) {
        *rc = (int) last;
        return false;
    }
    hg_sched_t *s = hg_job_ext_sched(job);
    if (!s) return false;
    int64_t from = 0;
    hg_job__time_field_ms(job, "runs_from", &from);
    int64_t next = hg_sched_next(s, last > from ? last : from);
    hg_sched_destroy(&s);
    if (next == HG_SCHED_NEVER || next > end) return true;
    /* The last time never fired: only "skip" gives it up for good. */
    const char *misfire = json_string_value(json_object_get(job, "misfire"));
    int64_t jitter = 0;
    json_t *j = json_object_get(job, "jitter");
    if (json_is_string(j)) hg_duration_parse_ms(json_string_value(j), &jitter);
    return misfire && strcmp(misfire, "skip") == 0 &&
           now_ms >= end + jitter + HG_JOB_COMPLETE_GRACE_MS;
}

/* Set job completed unless it changed since it was read. 1 done, 0 not. */
static int s_complete(MYSQL *db, json_t *job, char *err, size_t err_size)
{
    char sql[256];
    uint64_t id = (uint64_t) json_integer_value(json_object_get(job, "id"));
    uint64_t version = (uint64_t) json_integer_value(json_object_get(job, "version"));
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET status = 'completed', version = version + 1,"
             " updated_at = UTC_TIMESTAMP(3) WHERE id = %" PRIu64
             " AND status = 'active' AND version = %" PRIu64,
             id, version);
    if (mysql_query(db, sql) != 0) {
        snprintf(err, err_size, "complete job %" PRIu64 ": %s", id, mysql_error(db));
        return HG_EDB;
    }
    return mysql_affected_rows(db) == 1 ? 1 : 0;
}

int hg_job_complete_sweep(MYSQL *db, int64_t now_ms, uint64_t *ids, size_t max, char *err,
                          size_t err_size)
{
    if (!db || (!ids && max)) return HG_EINVAL;
    char tail[512];
    snprintf(tail, sizeof tail, S_CANDIDATES, HG_JOB_COMPLETE_BATCH);
    json_t *jobs = NULL;
    int rc = hg_job_db_select(db, tail, NULL, &jobs, err, err_size);
    if (rc != 0) return rc;
    size_t i, n = 0;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        if (n >= max) break;
        if (!s_used_up(db, job, now_ms, err, err_size, &rc)) {
            if (rc != 0) break;
            continue;
        }
        int done = s_complete(db, job, err, err_size);
        if (done < 0) {
            rc = done;
            break;
        }
        if (!done) continue;
        ids[n++] = (uint64_t) json_integer_value(json_object_get(job, "id"));
        hg_info("job %s/%s completed: its remaining_runs are used up",
                json_string_value(json_object_get(job, "namespace")),
                json_string_value(json_object_get(job, "name")));
    }
    json_decref(jobs);
    return rc != 0 && n == 0 ? rc : (int) n;
}

/* ------------------------------------------------------------- the actor */

typedef struct {
    const hg_db_params_t *db;     /* connection settings (outlive the actor) */
    MYSQL *conn;                  /* own connection, NULL until needed */
    hg_cluster_client_t *cluster; /* to drop the completed jobs */
} s_sweeper_t;

static MYSQL *s_conn(s_sweeper_t *self)
{
    if (self->conn && mysql_ping(self->conn) == 0) return self->conn;
    hg_db_close(&self->conn);
    char err[512] = "";
    self->conn = hg_db_connect(self->db, err, sizeof err);
    if (!self->conn) hg_warn("completing jobs: %s", err);
    return self->conn;
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    s_sweeper_t *self = arg;
    MYSQL *db = s_conn(self);
    if (!db) return 0;
    uint64_t ids[HG_JOB_COMPLETE_BATCH];
    char err[512] = "";
    int n = hg_job_complete_sweep(db, hg_now_ms(), ids, HG_JOB_COMPLETE_BATCH, err, sizeof err);
    if (n < 0) {
        hg_warn("completing jobs: %s", err);
        return 0;
    }
    if (n && !self->cluster) self->cluster = hg_cluster_client_new();
    for (int i = 0; i < n; i++) {
        int rc = self->cluster ? hg_cluster_job_remove(self->cluster, ids[i]) : HG_ENOMEM;
        /* Stored completed, it is not loaded again; its holder stops at
         * the cut-off by itself meanwhile. */
        if (rc != 0)
            hg_warn("completing jobs: the cluster did not drop job %" PRIu64 ": %s", ids[i],
                    hg_strerror(rc));
    }
    return 0;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_sweeper_t *self = arg;
    zloop_t *loop = zloop_new();
    zloop_reader(loop, pipe, hg_actor_on_term, self);
    zloop_timer(loop, HG_JOB_COMPLETE_EVERY_MS, 0, s_on_timer, self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    hg_cluster_client_destroy(&self->cluster);
    hg_db_close(&self->conn);
    free(self);
}

zactor_t *hg_job_complete_new(const hg_db_params_t *db)
{
    s_sweeper_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->db = db;
    zactor_t *actor = zactor_new(s_actor, self);
    if (!actor) free(self);
    return actor;
}
