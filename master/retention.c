/* retention: paced purges of old history, and the leader's housekeeping
 * actor that runs them (retention.h). */
#include "retention.h"

#include "actor_loop.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "metrics.h"

#include <inttypes.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run's id carries its start time, and a run starts at or after its
 * scheduled time: the walk by id stops this far past the cut, so that a
 * run scheduled before the cut and started a little after it goes too. A
 * run that started later still (a recovered run) goes once the cut
 * passes its start. */
#define S_ID_SLACK_MS (3600 * 1000)

/* Tables purged with the runs rule by their time column, beyond runs and
 * runs_by_status: a row older than retention.runs goes. Wired by the
 * alerts lane: add its tables here ({"alert_deliveries", "created_at"}). */
static const struct {
    const char *table;  /* table name */
    const char *column; /* DATETIME column saying when the row was made */
} s_timed_tables[] = {
    {"audit", "at"},
    /* Alert history ages with the runs it is about; rules and their
     * dedup state (alert_state) stay until the rule is deleted. */
    {"alert_events", "at"},
    {"alert_deliveries", "created_at"},
};

#define S_JOBS_COUNT_MS 30000 /* hourglass_jobs refresh */
#define S_PER_JOB_MAX   1000  /* a namespace of more jobs is purged by one walk of the run ids */

/* ------------------------------------------------------------------ SQL */

/* 'YYYY-MM-DD HH:MM:SS.mmm' (UTC, as the schema keeps times) of ms. */
static void s_datetime(int64_t ms, char *out, size_t size)
{
    MYSQL_TIME t;
    hg_db_time_from_ms(ms, &t);
    snprintf(out, size, "'%04u-%02u-%02u %02u:%02u:%02u.%03lu'", t.year, t.month, t.day, t.hour,
             t.minute, t.second, t.second_part / 1000);
}

static void s_hex_id(const unsigned char *id, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = 'x';
    out[1] = '\'';
    for (int i = 0; i < 16; i++) {
        out[2 + 2 * i] = hex[id[i] >> 4];
        out[3 + 2 * i] = hex[id[i] & 15];
    }
    out[34] = '\'';
    out[35] = '\0';
}

static int s_fail(MYSQL *db, const char *what, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: %s", what, mysql_error(db));
    return HG_EDB;
}

/* MySQL errors after which a transaction is tried again: it was chosen
 * as a deadlock's victim, or waited too long for a lock (the store's own
 * deletes of runs_by_status rows meet the purge's in that table). */
static bool s_retryable(MYSQL *db)
{
    unsigned int e = mysql_errno(db);
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT;
}

#define S_DELETE_TRIES 5 /* a deadlock's victim tries again this many times in all */

/* One try of s_delete_ids; *retry set when it failed in a way worth
 * another try. Read committed: the deletes lock the rows they delete and
 * no gaps, so they do not block the store's inserts next to them. */
static int s_delete_once(MYSQL *db, char *sql, size_t cap, const char *ids, hg_purge_result_t *got,
                         bool *retry, char *err, size_t err_size)
{
    int rc = 0;
    *retry = false;
    if (mysql_query(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED") != 0 ||
        mysql_query(db, "START TRANSACTION") != 0)
        rc = s_fail(db, "purge", err, err_size);
    if (rc == 0) {
        snprintf(sql, cap, "DELETE FROM runs_by_status WHERE run_id IN (%s)", ids);
        if (mysql_query(db, sql) != 0)
            rc = s_fail(db, "purge runs_by_status", err, err_size);
        else
            got->runs_by_status = mysql_affected_rows(db);
    }
    if (rc == 0) {
        snprintf(sql, cap, "DELETE FROM runs WHERE run_id IN (%s)", ids);
        if (mysql_query(db, sql) != 0)
            rc = s_fail(db, "purge runs", err, err_size);
        else
            got->runs = mysql_affected_rows(db);
    }
    if (rc == 0 && mysql_query(db, "COMMIT") != 0) rc = s_fail(db, "purge commit", err, err_size);
    if (rc != 0) {
        *retry = s_retryable(db);
        mysql_query(db, "ROLLBACK");
    }
    return rc;
}

/* Delete the runs (and their runs_by_status rows) listed in ids, one
 * transaction, tried again after a deadlock or a lock wait timeout. */
static int s_delete_ids(MYSQL *db, const char *ids, hg_purge_result_t *out, char *err,
                        size_t err_size)
{
    size_t cap = strlen(ids) + 64;
    char *sql = malloc(cap);
    if (!sql) return HG_ENOMEM;
    int rc = 0;
    for (int k = 1; k <= S_DELETE_TRIES; k++) {
        hg_purge_result_t got = {0, 0, 0};
        bool retry = false;
        rc = s_delete_once(db, sql, cap, ids, &got, &retry, err, err_size);
        if (rc == 0) {
            out->runs += got.runs;
            out->runs_by_status += got.runs_by_status;
            break;
        }
        if (!retry || k == S_DELETE_TRIES) break;
        hg_info("retention: %s; trying the batch again (%d of %d)", err, k + 1, S_DELETE_TRIES);
        zclock_sleep(50 * k);
    }
    free(sql);
    return rc;
}

/* Run select (which lists run ids), delete what it listed; *got the
 * number of ids. */
static int s_batch(MYSQL *db, const char *select, hg_purge_result_t *out, size_t *got,
                   char last[36], char *err, size_t err_size)
{
    *got = 0;
    if (mysql_query(db, select) != 0) return s_fail(db, "purge select", err, err_size);
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) return s_fail(db, "purge select", err, err_size);
    size_t rows = (size_t) mysql_num_rows(res);
    if (rows == 0) {
        mysql_free_result(res);
        return 0;
    }
    char *ids = malloc(rows * 37 + 1);
    if (!ids) {
        mysql_free_result(res);
        return HG_ENOMEM;
    }
    size_t len = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *lens = mysql_fetch_lengths(res);
        if (!row[0] || lens[0] != 16) continue;
        if (len) ids[len++] = ',';
        s_hex_id((const unsigned char *) row[0], ids + len);
        memcpy(last, ids + len, 36);
        len += 35;
        (*got)++;
    }
    ids[len] = '\0';
    mysql_free_result(res);
    int rc = *got ? s_delete_ids(db, ids, out, err, err_size) : 0;
    free(ids);
    return rc;
}

/* One purge batch at a time in the master: the leader's rule and a
 * manual purge take turns instead of doubling the load on MySQL. */
static pthread_mutex_t s_batch_lock = PTHREAD_MUTEX_INITIALIZER;

/* A batch's turn: wait while the store is behind (see retention.h), at
 * most HG_RETENTION_YIELD_MS, in steps that notice a stop; then take the
 * master's one batch slot (s_turn_end gives it back). */
static void s_turn_begin(const hg_purge_t *p)
{
    int64_t until = hg_mono_ms() + HG_RETENTION_YIELD_MS;
    while (p->metrics && hg_metrics_records_waiting(p->metrics) > HG_RETENTION_YIELD_QUEUE &&
           hg_mono_ms() < until && !(p->stop && p->stop(p->stop_arg)))
        zclock_sleep(100);
    pthread_mutex_lock(&s_batch_lock);
}

static void s_turn_end(void)
{
    pthread_mutex_unlock(&s_batch_lock);
}

/* Wait between batches: as long as the batch took, at least min_ms. */
static void s_pace(int64_t took_ms, int64_t min_ms)
{
    int64_t ms = took_ms > min_ms ? took_ms : min_ms;
    if (ms > 0) zclock_sleep((int) (ms > 5000 ? 5000 : ms));
}

/* Batches of "SELECT run_id FROM runs WHERE <cond> LIMIT batch" until one
 * finds fewer than batch rows, pausing between them. by_id: cond orders
 * by run_id, and each batch starts after the last id of the one before, so
 * that rows the condition keeps (a namespace with its own rule) are read
 * once, not once per batch. */
static int s_purge_loop(MYSQL *db, const hg_purge_t *p, const char *cond, bool by_id,
                        hg_purge_result_t *out, char *err, size_t err_size)
{
    size_t batch = p->batch ? p->batch : HG_RETENTION_BATCH_DEFAULT;
    size_t cap = strlen(cond) + 160;
    char *sql = malloc(cap);
    if (!sql) return HG_ENOMEM;
    char last[36] = "";
    int rc = 0;
    for (;;) {
        if (p->stop && p->stop(p->stop_arg)) break;
        snprintf(sql, cap, "SELECT run_id FROM runs WHERE %s%s%s%s LIMIT %zu",
                 by_id && last[0] ? "run_id > " : "", by_id && last[0] ? last : "",
                 by_id && last[0] ? " AND " : "", cond, batch);
        s_turn_begin(p);
        int64_t t0 = hg_mono_ms();
        size_t got = 0;
        rc = s_batch(db, sql, out, &got, last, err, err_size);
        s_turn_end();
        if (rc == 0 && got) out->batches++;
        if (rc != 0 || got < batch) break;
        s_pace(hg_mono_ms() - t0, p->pause_min_ms);
    }
    free(sql);
    return rc;
}

/* The ids of ns's jobs (job NULL: all of them) as "1,2,3" (malloc'ed,
 * "" when none) or NULL with err set. */
static char *s_job_ids(MYSQL *db, const char *ns, const char *job, char *err, size_t err_size)
{
    char ens[200], ejob[400], sql[800];
    mysql_real_escape_string(db, ens, ns, (unsigned long) strnlen(ns, 64));
    if (job) {
        mysql_real_escape_string(db, ejob, job, (unsigned long) strnlen(job, 190));
        snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE namespace = '%s' AND name = '%s'", ens,
                 ejob);
    } else {
        snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE namespace = '%s'", ens);
    }
    if (mysql_query(db, sql) != 0) {
        s_fail(db, "purge: jobs", err, err_size);
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(db);
    size_t n = res ? (size_t) mysql_num_rows(res) : 0;
    char *ids = malloc(n * 21 + 1);
    if (!ids) {
        if (res) mysql_free_result(res);
        snprintf(err, err_size, "purge: out of memory");
        return NULL;
    }
    size_t len = 0;
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res)))
        if (row[0]) len += (size_t) sprintf(ids + len, "%s%s", len ? "," : "", row[0]);
    ids[len] = '\0';
    if (res) mysql_free_result(res);
    return ids;
}

/* WHERE condition of the walk by run id up to cut (plus slack). */
static void s_id_bound(int64_t before_ms, char *out, size_t size)
{
    unsigned char floor[16];
    char idb[40];
    hg_runid_floor(floor, before_ms + S_ID_SLACK_MS);
    s_hex_id(floor, idb);
    snprintf(out, size, "run_id < %s", idb);
}

/* The runs of a job that is no longer in the catalogue (deleted): by
 * name, of any deleted job of that name, walking the run ids (runs has
 * no index on the name: a scan, paced like any purge). */
static int s_purge_gone_job(MYSQL *db, const hg_purge_t *p, const char *cut, hg_purge_result_t *out,
                            char *err, size_t err_size)
{
    char ejob[400], bound[80], cond[800];
    mysql_real_escape_string(db, ejob, p->job, (unsigned long) strnlen(p->job, 190));
    s_id_bound(p->before_ms, bound, sizeof bound);
    snprintf(cond, sizeof cond,
             "%s AND scheduled_at < %s AND job_name = '%s' AND job_id NOT IN (SELECT id FROM "
             "jobs) ORDER BY run_id",
             bound, cut, ejob);
    return s_purge_loop(db, p, cond, true, out, err, err_size);
}

/* The runs of one namespace of many jobs: one walk of the run ids. */
static int s_purge_ns_walk(MYSQL *db, const hg_purge_t *p, const char *cut, hg_purge_result_t *out,
                           char *err, size_t err_size)
{
    char ens[200], bound[80], cond[600];
    mysql_real_escape_string(db, ens, p->ns, (unsigned long) strnlen(p->ns, 64));
    s_id_bound(p->before_ms, bound, sizeof bound);
    snprintf(cond, sizeof cond,
             "%s AND scheduled_at < %s AND job_id IN (SELECT id FROM jobs WHERE namespace = '%s')"
             " ORDER BY run_id",
             bound, cut, ens);
    return s_purge_loop(db, p, cond, true, out, err, err_size);
}

int hg_retention_purge_runs(MYSQL *db, const hg_purge_t *p, hg_purge_result_t *out, char *err,
                            size_t err_size)
{
    memset(out, 0, sizeof *out);
    char cut[40];
    s_datetime(p->before_ms, cut, sizeof cut);
    int rc;
    if (p->ns) {
        /* One namespace or one job: by job, on the (job_id, scheduled_at)
         * index, one job at a time so that each statement stays small. */
        char *ids = s_job_ids(db, p->ns, p->job, err, err_size);
        if (!ids) return HG_EDB;
        if (!ids[0] && p->job) {
            free(ids);
            return s_purge_gone_job(db, p, cut, out, err, err_size);
        }
        size_t jobs = ids[0] ? 1 : 0;
        for (const char *c = ids; *c; c++)
            jobs += *c == ',';
        if (!p->job && jobs > S_PER_JOB_MAX) {
            /* A statement per job costs more than one walk of the run
             * ids for a namespace of many jobs. */
            free(ids);
            return s_purge_ns_walk(db, p, cut, out, err, err_size);
        }
        rc = 0;
        for (char *id = strtok(ids, ","); id && rc == 0; id = strtok(NULL, ",")) {
            char cond[200];
            snprintf(cond, sizeof cond, "job_id = %s AND scheduled_at < %s", id, cut);
            rc = s_purge_loop(db, p, cond, false, out, err, err_size);
        }
        free(ids);
        return rc;
    }
    /* Every job: walk the primary key (run ids are time-ordered) up to
     * the cut plus slack; jobs of the namespaces with a rule of their own
     * are left to it. */
    char bound[80];
    s_id_bound(p->before_ms, bound, sizeof bound);
    size_t cap = 256 + p->keep_n * 140;
    char *tail = malloc(cap);
    if (!tail) return HG_ENOMEM;
    size_t len = (size_t) snprintf(tail, cap, "%s AND scheduled_at < %s", bound, cut);
    if (p->keep_n) {
        len += (size_t) snprintf(tail + len, cap - len,
                                 " AND job_id NOT IN (SELECT id FROM jobs WHERE namespace IN (");
        for (size_t i = 0; i < p->keep_n; i++) {
            char e[140];
            mysql_real_escape_string(db, e, p->keep_ns[i],
                                     (unsigned long) strnlen(p->keep_ns[i], 64));
            len += (size_t) snprintf(tail + len, cap - len, "%s'%s'", i ? "," : "", e);
        }
        len += (size_t) snprintf(tail + len, cap - len, "))");
    }
    snprintf(tail + len, cap - len, " ORDER BY run_id");
    rc = s_purge_loop(db, p, tail, true, out, err, err_size);
    free(tail);
    return rc;
}
/* Purge rows of a timed table older than p->before_ms in paced batches. */
static int s_purge_timed(MYSQL *db, const hg_purge_t *p, const char *table, const char *column,
                         uint64_t *deleted, char *err, size_t err_size)
{
    size_t batch = p->batch ? p->batch : HG_RETENTION_BATCH_DEFAULT;
    char cut[40], sql[300];
    s_datetime(p->before_ms, cut, sizeof cut);
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s < %s ORDER BY %s LIMIT %zu", table, column,
             cut, column, batch);
    for (;;) {
        if (p->stop && p->stop(p->stop_arg)) return 0;
        s_turn_begin(p);
        int64_t t0 = hg_mono_ms();
        int failed = mysql_query(db, sql) != 0;
        my_ulonglong n = failed ? 0 : mysql_affected_rows(db);
        s_turn_end();
        if (failed) return s_fail(db, table, err, err_size);
        *deleted += n;
        if (n < batch) return 0;
        s_pace(hg_mono_ms() - t0, 10);
    }
}

int hg_retention_ns_parse(const char *text, hg_retention_ns_t *out, size_t max, char *err,
                          size_t err_size)
{
    size_t n = 0;
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p) break;
        size_t len = strcspn(p, ",");
        char entry[160];
        if (len >= sizeof entry) {
            snprintf(err, err_size, "retention.namespaces: entry \"%.40s...\" is too long", p);
            return HG_EINVAL;
        }
        memcpy(entry, p, len);
        entry[len] = '\0';
        p += len;
        char *eq = strchr(entry, '=');
        if (!eq || eq == entry || eq - entry > 64) {
            snprintf(err, err_size,
                     "retention.namespaces: \"%s\" is not namespace=duration (e.g. ci=168h)",
                     entry);
            return HG_EINVAL;
        }
        *eq = '\0';
        int64_t ms = 0;
        if (strcmp(eq + 1, "0") != 0 && (hg_duration_parse_ms(eq + 1, &ms) != 0 || ms <= 0)) {
            snprintf(err, err_size,
                     "retention.namespaces: \"%s\" of namespace %s is not a duration (e.g. 168h, "
                     "or 0 to keep everything)",
                     eq + 1, entry);
            return HG_EINVAL;
        }
        if (n == max) {
            snprintf(err, err_size, "retention.namespaces: more than %zu namespaces", max);
            return HG_EINVAL;
        }
        memcpy(out[n].ns, entry, (size_t) (eq - entry) + 1); /* checked: at most 64 + NUL */
        out[n].age_ms = ms;
        n++;
    }
    return (int) n;
}

/* -------------------------------------------------------------- the actor */

typedef struct {
    hg_retention_args_t args;                  /* settings */
    hg_retention_ns_t ns[HG_RETENTION_NS_MAX]; /* namespaces with their own rule */
    size_t ns_n;                               /* entries */
    zsock_t *pipe;                             /* to main */
    MYSQL *db;                                 /* own connection, NULL until needed */
    bool stopping;                             /* $TERM seen while purging */
} s_keeper_t;

static bool s_stop(void *arg)
{
    s_keeper_t *self = arg;
    /* $TERM waits on the pipe: stop between batches rather than finish. */
    if (!self->stopping && (zsock_events(self->pipe) & ZMQ_POLLIN)) self->stopping = true;
    return self->stopping;
}

static MYSQL *s_db(s_keeper_t *self)
{
    if (self->db && mysql_ping(self->db) == 0) return self->db;
    hg_db_close(&self->db);
    char err[512] = "";
    self->db = hg_db_connect(self->args.db, err, sizeof err);
    if (!self->db) {
        hg_warn("retention: %s", err);
        if (self->args.metrics) hg_metrics_db_error(self->args.metrics);
    }
    return self->db;
}

static void s_note(s_keeper_t *self, int rc, const char *err, const hg_purge_result_t *r,
                   const char *scope)
{
    if (self->args.metrics) {
        hg_metrics_purged(self->args.metrics, "runs", r->runs);
        hg_metrics_purged(self->args.metrics, "runs_by_status", r->runs_by_status);
        if (rc != 0) hg_metrics_db_error(self->args.metrics);
    }
    if (rc != 0) hg_warn("retention: purging %s: %s", scope, err);
    if (r->runs) hg_info("retention: purged %" PRIu64 " runs of %s", r->runs, scope);
}

/* One pass of the rule: every namespace's runs, then the timed tables. */
static void s_purge_all(s_keeper_t *self)
{
    MYSQL *db = s_db(self);
    if (!db) return;
    int64_t now = hg_now_ms();
    char err[512] = "";
    const char *keep[HG_RETENTION_NS_MAX];
    for (size_t i = 0; i < self->ns_n; i++)
        keep[i] = self->ns[i].ns;
    hg_purge_t p = {.batch = self->args.batch,
                    .pause_min_ms = 10,
                    .metrics = self->args.metrics,
                    .stop = s_stop,
                    .stop_arg = self};
    hg_purge_result_t r;
    for (size_t i = 0; i < self->ns_n && !self->stopping; i++) {
        if (!self->ns[i].age_ms) continue;
        p.ns = self->ns[i].ns;
        p.before_ms = now - self->ns[i].age_ms;
        int rc = hg_retention_purge_runs(db, &p, &r, err, sizeof err);
        s_note(self, rc, err, &r, self->ns[i].ns);
    }
    if (self->args.runs_ms && !self->stopping) {
        p.ns = NULL;
        p.keep_ns = keep;
        p.keep_n = self->ns_n;
        p.before_ms = now - self->args.runs_ms;
        int rc = hg_retention_purge_runs(db, &p, &r, err, sizeof err);
        s_note(self, rc, err, &r, "every namespace");
        for (size_t t = 0; t < sizeof s_timed_tables / sizeof s_timed_tables[0]; t++) {
            if (self->stopping) break;
            uint64_t n = 0;
            rc = s_purge_timed(db, &p, s_timed_tables[t].table, s_timed_tables[t].column, &n, err,
                               sizeof err);
            if (self->args.metrics) {
                hg_metrics_purged(self->args.metrics, s_timed_tables[t].table, n);
                if (rc != 0) hg_metrics_db_error(self->args.metrics);
            }
            if (rc != 0) hg_warn("retention: purging %s: %s", s_timed_tables[t].table, err);
        }
    }
}

/* hourglass_jobs: the catalogue's jobs by namespace and status. */
static void s_count_jobs(s_keeper_t *self)
{
    MYSQL *db = self->args.metrics ? s_db(self) : NULL;
    if (!db) return;
    if (mysql_query(
            db, "SELECT namespace, status, COUNT(*) FROM jobs GROUP BY namespace, status") != 0) {
        hg_warn("retention: counting jobs: %s", mysql_error(db));
        hg_metrics_db_error(self->args.metrics);
        return;
    }
    MYSQL_RES *res = mysql_store_result(db);
    size_t n = res ? (size_t) mysql_num_rows(res) : 0;
    char **ns = calloc(n + 1, sizeof *ns), **st = calloc(n + 1, sizeof *st);
    uint64_t *count = calloc(n + 1, sizeof *count);
    size_t k = 0;
    MYSQL_ROW row;
    while (ns && st && count && res && (row = mysql_fetch_row(res)) && k < n) {
        ns[k] = row[0];
        st[k] = row[1];
        count[k++] = row[2] ? strtoull(row[2], NULL, 10) : 0;
    }
    if (ns && st && count) hg_metrics_jobs_set(self->args.metrics, ns, st, count, k);
    free(ns);
    free(st);
    free(count);
    if (res) mysql_free_result(res);
}

static int s_on_purge_timer(zloop_t *loop, int timer_id, void *arg)
{
    s_keeper_t *self = arg;
    s_purge_all(self);
    return self->stopping ? -1 : 0;
}

static int s_on_count_timer(zloop_t *loop, int timer_id, void *arg)
{
    s_count_jobs(arg);
    return 0;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_keeper_t *self = arg;
    self->pipe = pipe;
    zloop_t *loop = zloop_new();
    zloop_reader(loop, pipe, hg_actor_on_term, self);
    /* The first pass a minute after leading begins (or one interval, when
     * shorter): the new leader's start-up (loading the jobs, the workers'
     * HELLOs) comes first. */
    int64_t first = self->args.interval_ms < 60000 ? self->args.interval_ms : 60000;
    zloop_timer(loop, (size_t) first, 1, s_on_purge_timer, self);
    zloop_timer(loop, (size_t) self->args.interval_ms, 0, s_on_purge_timer, self);
    zloop_timer(loop, 1000, 1, s_on_count_timer, self);
    /* A short retention.interval (tests) counts as often. */
    int64_t count_ms =
        self->args.interval_ms < S_JOBS_COUNT_MS ? self->args.interval_ms : S_JOBS_COUNT_MS;
    zloop_timer(loop, (size_t) count_ms, 0, s_on_count_timer, self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    hg_db_close(&self->db);
    free(self);
}

zactor_t *hg_retention_new(const hg_retention_args_t *args)
{
    s_keeper_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->args = *args;
    if (!self->args.batch) self->args.batch = HG_RETENTION_BATCH_DEFAULT;
    if (self->args.interval_ms <= 0) self->args.interval_ms = 600000;
    char err[256];
    int n = hg_retention_ns_parse(args->namespaces, self->ns, HG_RETENTION_NS_MAX, err, sizeof err);
    if (n < 0) {
        hg_error("%s", err);
        free(self);
        return NULL;
    }
    self->ns_n = (size_t) n;
    zactor_t *actor = zactor_new(s_actor, self);
    if (!actor) free(self);
    return actor;
}
