/* depfire: the dependency engine of the leading master: committed parent
 * runs in, dependency fires of their children out, exactly once (see
 * depfire.h for the steps and the protocol). */
#include "hg_zsock.h"
#include "depfire.h"
#include "actor_loop.h"
#include "depfire_shards.h"
#include "deps.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "routing.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS        100           /* how often queued work is written */
#define S_EDGES_MS       1000          /* edges re-read from job_deps */
#define S_SCAN_MS        5000          /* recent parent runs re-scanned */
#define S_SCAN_WINDOW_MS (5 * 60000)   /* how far back a scan looks */
#define S_PENDING_MS     2000          /* unsent fires sent again */
#define S_FIRST_SEND_MS  8000          /* a new leader's wait before resending (see s_pending) */
#define S_INFLIGHT_MS    5000          /* a fire handed out is not resent before */
#define S_VERIFY_S       "30"          /* a sent fire's run is looked for after (seconds) */
#define S_DROP_MS        (3600 * 1000) /* a fire never sent is given up after */
#define S_PURGE_MS       60000         /* consumed rows purged that often */
#define S_QUEUE_MAX      100000        /* inbox entries waiting for MySQL */
#define S_EVAL_ROWS      1000          /* waiting inbox rows read per child per pass */
#define S_SHARD_CHECKS   64            /* sharded fires looked at per tick */
#define S_ON_SUCCESS     1             /* edge "on" bits */
#define S_ON_FAILURE     2

/* One edge child <- parent, as loaded from job_deps. */
typedef struct {
    uint64_t parent_id;    /* parent's jobs.id */
    uint64_t child_id;     /* child's jobs.id */
    char parent_name[192]; /* parent's name (the params key) */
    int on;                /* S_ON_* bits */
    bool any;              /* the child's trigger_rule is "any" */
    int64_t created_ms;    /* runs finished before do not count */
} s_edge_t;

/* A parent run that counts for a child, on its way to dep_inbox. */
typedef struct {
    uint64_t child_id;                    /* child */
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* parent run */
    uint64_t parent_id;                   /* parent */
    char parent_name[192];                /* its name */
    char status[16];                      /* run status */
    int64_t finished_ms;                  /* when it finished */
    char *result;                         /* excerpt passed on (owned), may be NULL */
    size_t result_len;                    /* its bytes */
} s_entry_t;

/* A fire handed to the cluster actor, not yet answered. */
typedef struct {
    uint64_t child_id; /* child */
    int64_t fire_ms;   /* its time */
    int64_t sent_mono; /* when handed out */
    bool delivered;    /* the cluster sent its TRIGGER; the row still says pending */
} s_inflight_t;

/* What the owner's thread and the engine's share. Two atomics instead of
 * messages: the owner reads them once per committed batch, which must
 * cost nothing for a cluster without dependencies, and a message per
 * change would need its own bookkeeping on both sides. */
struct hg_depfire {
    zactor_t *actor;              /* the engine */
    const hg_db_params_t *params; /* MySQL settings */
    atomic_bool has_edges;        /* some active job has parents (engine writes) */
    atomic_size_t queued;         /* batches handed over, not yet read */
};

typedef struct {
    hg_depfire_t *shared;         /* see above */
    const hg_db_params_t *params; /* MySQL settings */
    zsock_t *pipe;                /* to the cluster actor */
    MYSQL *db;                    /* our connection, NULL while MySQL is away */
    int64_t db_retry_mono;        /* next connection attempt */
    bool outage_logged;           /* the current outage was logged */
    s_edge_t *edges;              /* every edge of an active child */
    size_t edges_n;               /* edges */
    uint64_t *parents;            /* parent ids, sorted, unique (the per-run filter) */
    size_t parents_n;             /* their number */
    zlistx_t *queue;              /* s_entry_t * waiting for MySQL */
    zhashx_t *dirty;              /* child id text -> children to evaluate */
    s_inflight_t *inflight;       /* fires handed out */
    size_t inflight_n, inflight_cap;
    uint64_t dropped;     /* entries dropped on a full queue (the scan finds them again) */
    int64_t started_mono; /* when this engine (leadership) started */
    int64_t edges_mono;   /* last edge load */
    int64_t scan_mono;    /* last scan */
    int64_t pending_mono; /* last resend pass */
    int64_t purge_mono;   /* last purge */
    /* Fires of sharded parents to look at on the next tick (job id,
     * scheduled ms): depfire_shards.h. Full: a scan instead. */
    uint64_t shard_job[S_SHARD_CHECKS];
    int64_t shard_ms[S_SHARD_CHECKS];
    size_t shard_n;
} s_eng_t;

bool hg_depfire_run_is_final(const hg_run_t *run)
{
    /* A run that another attempt of its retry chain follows is not the
     * fire's outcome: only the chain's last attempt counts. */
    return run->retry_at_ms == 0;
}

/* --------------------------------------------------------------- helpers */

static void s_entry_free(void **item)
{
    s_entry_t *e = *item;
    if (e) free(e->result);
    free(e);
    *item = NULL;
}

static void s_mark_dirty(s_eng_t *self, uint64_t child_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, child_id);
    zhashx_update(self->dirty, key, (void *) 1);
}

/* MySQL failed: log once per outage, drop the connection, retry later. */
static void s_db_lost(s_eng_t *self, const char *what)
{
    if (!self->outage_logged)
        hg_warn("depfire: %s: %s; dependency fires wait for MySQL", what,
                self->db ? mysql_error(self->db) : "no connection");
    self->outage_logged = true;
    hg_db_close(&self->db);
    self->db_retry_mono = hg_mono_ms() + 1000;
}

static bool s_db_ready(s_eng_t *self)
{
    if (self->db) return true;
    if (hg_mono_ms() < self->db_retry_mono) return false;
    char err[512];
    self->db = hg_db_connect(self->params, err, sizeof err);
    if (!self->db) {
        if (!self->outage_logged) hg_warn("depfire: cannot connect to MySQL: %s", err);
        self->outage_logged = true;
        self->db_retry_mono = hg_mono_ms() + 1000;
        return false;
    }
    if (self->outage_logged) hg_info("depfire: MySQL is back");
    self->outage_logged = false;
    return true;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static bool s_is_parent(s_eng_t *self, uint64_t job_id)
{
    return self->parents_n &&
           bsearch(&job_id, self->parents, self->parents_n, sizeof job_id, s_cmp_u64);
}

/* Does status count for an edge with these "on" bits? skipped and
 * running never do: nothing ran, or it has not ended. */
static bool s_status_counts(int status, int on)
{
    if (status == HG_RUN_SUCCESS) return on & S_ON_SUCCESS;
    if (status == HG_RUN_FAILED || status == HG_RUN_TIMEOUT || status == HG_RUN_CRASHED ||
        status == HG_RUN_LOST)
        return on & S_ON_FAILURE;
    return false;
}

static int s_on_bits(const char *on)
{
    return strcmp(on, "success") == 0   ? S_ON_SUCCESS
           : strcmp(on, "failure") == 0 ? S_ON_FAILURE
                                        : S_ON_SUCCESS | S_ON_FAILURE;
}

/* ----------------------------------------------------------------- edges */

/* Re-read the edges of active children. A parameterless read, so plain
 * text protocol. */
static int s_load_edges(s_eng_t *self)
{
    if (mysql_query(self->db, "SELECT p.id, d.parent_name, c.id, d.on_status, d.trigger_rule, "
                              "ROUND(UNIX_TIMESTAMP(d.created_at) * 1000) FROM job_deps d "
                              "JOIN jobs p ON p.namespace = d.namespace AND p.name = d.parent_name "
                              "JOIN jobs c ON c.namespace = d.namespace AND c.name = d.child_name "
                              "WHERE c.status = 'active'")) {
        s_db_lost(self, "read job_deps");
        return HG_EDB;
    }
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res) {
        s_db_lost(self, "read job_deps");
        return HG_EDB;
    }
    size_t n = (size_t) mysql_num_rows(res);
    s_edge_t *edges = calloc(n ? n : 1, sizeof *edges);
    uint64_t *parents = calloc(n ? n : 1, sizeof *parents);
    if (!edges || !parents) {
        free(edges);
        free(parents);
        mysql_free_result(res);
        return HG_ENOMEM;
    }
    size_t i = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && i < n) {
        s_edge_t *e = &edges[i++];
        e->parent_id = strtoull(row[0], NULL, 10);
        snprintf(e->parent_name, sizeof e->parent_name, "%s", row[1]);
        e->child_id = strtoull(row[2], NULL, 10);
        e->on = s_on_bits(row[3]);
        e->any = strcmp(row[4], "any") == 0;
        e->created_ms = row[5] ? strtoll(row[5], NULL, 10) : 0;
        parents[i - 1] = e->parent_id;
    }
    mysql_free_result(res);
    qsort(parents, i, sizeof *parents, s_cmp_u64);
    size_t u = 0;
    for (size_t k = 0; k < i; k++)
        if (u == 0 || parents[u - 1] != parents[k]) parents[u++] = parents[k];
    free(self->edges);
    free(self->parents);
    atomic_store(&self->shared->has_edges, i > 0);
    self->edges = edges;
    self->edges_n = i;
    self->parents = parents;
    self->parents_n = u;
    return 0;
}

/* ------------------------------------------------------------- run batch */

/* The run's output as a result: at most HG_DEPS_RESULT_MAX bytes, no NUL
 * (it travels as a string parameter). */
static char *s_result_of(const hg_run_t *run, size_t *len)
{
    size_t n = run->output.len < HG_DEPS_RESULT_MAX ? run->output.len : HG_DEPS_RESULT_MAX;
    *len = 0;
    if (n == 0) return NULL;
    char *r = malloc(n);
    if (!r) return NULL;
    for (size_t i = 0; i < n; i++)
        r[i] = run->output.data[i] ? (char) run->output.data[i] : ' ';
    *len = n;
    return r;
}

static void s_queue_run(s_eng_t *self, const hg_run_t *run)
{
    for (size_t i = 0; i < self->edges_n; i++) {
        s_edge_t *e = &self->edges[i];
        if (e->parent_id != run->job_id || !s_status_counts(run->status, e->on) ||
            run->finished_ms < e->created_ms)
            continue;
        if (zlistx_size(self->queue) >= S_QUEUE_MAX) {
            self->dropped++;
            continue;
        }
        s_entry_t *en = calloc(1, sizeof *en);
        if (!en) continue;
        en->child_id = e->child_id;
        memcpy(en->run_id, run->run_id, sizeof en->run_id);
        en->parent_id = e->parent_id;
        snprintf(en->parent_name, sizeof en->parent_name, "%s", e->parent_name);
        snprintf(en->status, sizeof en->status, "%s",
                 hg_run_status_name(run->status) ? hg_run_status_name(run->status) : "failed");
        en->finished_ms = run->finished_ms;
        en->result = s_result_of(run, &en->result_len);
        zlistx_add_end(self->queue, en);
    }
}

static void s_on_runs(s_eng_t *self, hg_store_batch_t *batch)
{
    hg_msg_t *m = batch->msg;
    if (m && m->type == HG_MSG_RUN_FINISHED && self->parents_n)
        for (size_t i = 0; i < m->u.runs.runs_n; i++) {
            const hg_run_t *run = &m->u.runs.runs[i];
            uint32_t total = 0;
            uint64_t job_id = hg_route_vid_split(run->job_id, NULL, &total);
            /* A shard's run: its fire counts once all shards have ended,
             * which the scan finds (depfire_shards.h); scan at once. */
            if (total > 1 && hg_route_is_vid(run->job_id) && s_is_parent(self, job_id)) {
                if (self->shard_n < S_SHARD_CHECKS) {
                    self->shard_job[self->shard_n] = job_id;
                    self->shard_ms[self->shard_n++] = run->scheduled_ms;
                } else {
                    self->scan_mono = 0;
                }
                continue;
            }
            if (run->status != HG_RUN_RUNNING && s_is_parent(self, run->job_id) &&
                hg_depfire_run_is_final(run))
                s_queue_run(self, run);
        }
    hg_store_batch_destroy(&batch);
}

/* Write the queued entries to dep_inbox (INSERT IGNORE: once per run). */
static void s_flush_queue(s_eng_t *self)
{
    if (zlistx_size(self->queue) == 0) return;
    MYSQL_STMT *st = NULL;
    char err[512];
    st = hg_db_prepare(self->db,
                       "INSERT IGNORE INTO dep_inbox (child_id, parent_run_id, parent_id, "
                       "parent_name, status, finished_at, result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       err, sizeof err);
    if (!st) {
        s_db_lost(self, "prepare dep_inbox insert");
        return;
    }
    s_entry_t *en;
    while ((en = zlistx_first(self->queue))) {
        MYSQL_BIND b[7];
        unsigned long len[7];
        MYSQL_TIME fin;
        memset(b, 0, sizeof b);
        hg_db_bind_u64(&b[0], &en->child_id);
        len[1] = sizeof en->run_id;
        b[1].buffer_type = MYSQL_TYPE_BLOB;
        b[1].buffer = en->run_id;
        b[1].buffer_length = len[1];
        b[1].length = &len[1];
        hg_db_bind_u64(&b[2], &en->parent_id);
        hg_db_bind_str(&b[3], en->parent_name, &len[3]);
        hg_db_bind_str(&b[4], en->status, &len[4]);
        hg_db_time_from_ms(en->finished_ms, &fin);
        b[5].buffer_type = MYSQL_TYPE_DATETIME;
        b[5].buffer = &fin;
        len[6] = en->result_len;
        b[6].buffer_type = MYSQL_TYPE_BLOB;
        b[6].buffer = en->result ? en->result : "";
        b[6].buffer_length = len[6];
        b[6].length = &len[6];
        if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st)) {
            mysql_stmt_close(st);
            s_db_lost(self, "insert dep_inbox");
            return;
        }
        s_mark_dirty(self, en->child_id);
        zlistx_delete(self->queue, zlistx_cursor(self->queue));
    }
    mysql_stmt_close(st);
}

/* ------------------------------------------------------------------ scan */

/* The recent finished runs of one edge's parent into dep_inbox: whatever
 * was committed without reaching us (see depfire.h, step 2). */
static int s_scan_edge(s_eng_t *self, MYSQL_STMT *st[3], s_edge_t *e, int64_t since_ms)
{
    MYSQL_STMT *s = st[e->on - 1];
    MYSQL_BIND b[5];
    unsigned long name_len;
    MYSQL_TIME since, created;
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &e->child_id);
    hg_db_bind_str(&b[1], e->parent_name, &name_len);
    hg_db_bind_u64(&b[2], &e->parent_id);
    hg_db_time_from_ms(since_ms, &since);
    hg_db_time_from_ms(e->created_ms, &created);
    b[3].buffer_type = MYSQL_TYPE_DATETIME;
    b[3].buffer = &since;
    b[4].buffer_type = MYSQL_TYPE_DATETIME;
    b[4].buffer = &created;
    if (mysql_stmt_bind_param(s, b) || mysql_stmt_execute(s)) return HG_EDB;
    if (mysql_stmt_affected_rows(s) > 0) s_mark_dirty(self, e->child_id);
    return 0;
}

/* The sharded fires whose runs came in since the last tick, each looked
 * at by its (job, scheduled time) for every edge of its job. */
static void s_shard_checks(s_eng_t *self)
{
    if (!self->shard_n) return;
    MYSQL_STMT *sh[3] = {NULL, NULL, NULL};
    char err[512];
    int rc = hg_depfire_shards_prepare(self->db, sh, err, sizeof err);
    for (size_t k = 0; k < self->shard_n && rc == 0; k++)
        for (size_t i = 0; i < self->edges_n && rc == 0; i++) {
            s_edge_t *e = &self->edges[i];
            uint64_t added = 0;
            if (e->parent_id != self->shard_job[k]) continue;
            rc =
                hg_depfire_shards_scan(sh, e->on, e->child_id, e->parent_name, e->parent_id,
                                       self->shard_ms[k], self->shard_ms[k], e->created_ms, &added);
            if (added) s_mark_dirty(self, e->child_id);
        }
    for (int i = 0; i < 3; i++)
        if (sh[i]) mysql_stmt_close(sh[i]);
    if (rc) {
        s_db_lost(self, "look at sharded fires");
        return; /* kept for the next tick */
    }
    self->shard_n = 0;
}

static void s_scan(s_eng_t *self)
{
    if (self->edges_n == 0) return;
    static const char *status_in[3] = {"('success')", "('failed','timeout','crashed','lost')",
                                       "('success','failed','timeout','crashed','lost')"};
    MYSQL_STMT *st[3] = {NULL, NULL, NULL};
    char err[512], sql[700];
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT IGNORE INTO dep_inbox (child_id, parent_run_id, parent_id, parent_name, "
                 "status, finished_at, result) SELECT ?, run_id, job_id, ?, status, finished_at, "
                 "LEFT(output, %d) FROM runs WHERE job_id = ? AND scheduled_at >= ? AND "
                 "finished_at >= ? AND next_attempt_at IS NULL AND " HG_DEPFIRE_NOT_SHARD
                 " AND status IN %s",
                 HG_DEPS_RESULT_MAX, status_in[i]);
        st[i] = hg_db_prepare(self->db, sql, err, sizeof err);
        if (!st[i]) rc = HG_EDB;
    }
    /* A sharded parent's fire counts once all its shards have ended. */
    MYSQL_STMT *sh[3] = {NULL, NULL, NULL};
    if (rc == 0) rc = hg_depfire_shards_prepare(self->db, sh, err, sizeof err);
    int64_t since = hg_now_ms() - S_SCAN_WINDOW_MS;
    for (size_t i = 0; i < self->edges_n && rc == 0; i++) {
        s_edge_t *e = &self->edges[i];
        uint64_t added = 0;
        rc = s_scan_edge(self, st, e, since);
        if (rc == 0)
            rc = hg_depfire_shards_scan(sh, e->on, e->child_id, e->parent_name, e->parent_id, since,
                                        hg_now_ms() + 86400000, e->created_ms, &added);
        if (added) s_mark_dirty(self, e->child_id);
    }
    for (int i = 0; i < 3; i++) {
        if (st[i]) mysql_stmt_close(st[i]);
        if (sh[i]) mysql_stmt_close(sh[i]);
    }
    if (rc) s_db_lost(self, "scan parent runs");
}

/* -------------------------------------------------------------- evaluate */

/* One waiting inbox row of a child. */
typedef struct {
    uint64_t parent_id;                   /* parent */
    char parent_name[192];                /* its name */
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* parent run */
    char result[HG_DEPS_RESULT_MAX + 1];  /* its result, NUL-terminated, clean UTF-8 */
    bool consumed;                        /* taken by a fire of this pass */
} s_row_t;

/* Make buf[0..len) a valid UTF-8 string without NUL: anything else is
 * replaced by '?' (a result is arbitrary bytes; a parameter is text). */
static void s_utf8_clean(char *buf, size_t len)
{
    unsigned char *s = (unsigned char *) buf;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = n > 0 && i + n <= len && c != 0 && !(n == 2 && c < 0xc2);
        for (size_t k = 1; ok && k < n; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (!ok) {
            s[i++] = '?';
            continue;
        }
        i += n;
    }
    buf[len] = '\0';
}

/* Read up to max waiting rows of child into rows; their number, or < 0. */
static int s_read_waiting(s_eng_t *self, uint64_t child_id, s_row_t *rows, int max)
{
    char err[512];
    MYSQL_STMT *st = hg_db_prepare(self->db,
                                   "SELECT parent_id, parent_name, parent_run_id, result FROM "
                                   "dep_inbox WHERE child_id = ? AND fire_at IS NULL ORDER BY "
                                   "finished_at, parent_run_id LIMIT ? FOR UPDATE",
                                   err, sizeof err);
    if (!st) return HG_EDB;
    MYSQL_BIND in[2], out[4];
    uint64_t limit = (uint64_t) max, pid;
    char name[192];
    uint8_t rid[HG_PROTO_RUN_ID_SIZE];
    static char result[HG_DEPS_RESULT_MAX]; /* this actor's thread only */
    unsigned long len[4];
    my_bool is_null[4];
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    hg_db_bind_u64(&in[0], &child_id);
    hg_db_bind_u64(&in[1], &limit);
    hg_db_bind_out(&out[0], MYSQL_TYPE_LONGLONG, &pid, sizeof pid, &len[0], &is_null[0]);
    out[0].is_unsigned = 1;
    hg_db_bind_out(&out[1], MYSQL_TYPE_STRING, name, sizeof name, &len[1], &is_null[1]);
    hg_db_bind_out(&out[2], MYSQL_TYPE_BLOB, rid, sizeof rid, &len[2], &is_null[2]);
    hg_db_bind_out(&out[3], MYSQL_TYPE_BLOB, result, sizeof result, &len[3], &is_null[3]);
    int n = 0, f = 0;
    if (mysql_stmt_bind_param(st, in) || mysql_stmt_execute(st) ||
        mysql_stmt_bind_result(st, out) || mysql_stmt_store_result(st)) {
        mysql_stmt_close(st);
        return HG_EDB;
    }
    while (n < max && ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED)) {
        s_row_t *r = &rows[n++];
        r->parent_id = pid;
        size_t nl = len[1] < sizeof name ? len[1] : sizeof name - 1;
        memcpy(r->parent_name, name, nl);
        r->parent_name[nl] = '\0';
        memcpy(r->run_id, rid, sizeof rid);
        size_t rl = is_null[3] ? 0 : len[3] < sizeof result ? len[3] : sizeof result;
        memcpy(r->result, result, rl);
        s_utf8_clean(r->result, rl);
        r->consumed = false;
    }
    mysql_stmt_close(st);
    return f == 1 ? HG_EDB : n;
}

/* The child's last fire time, 0 if none: a new fire is later. */
static int64_t s_last_fire_ms(s_eng_t *self, uint64_t child_id)
{
    char q[160];
    snprintf(q, sizeof q,
             "SELECT ROUND(UNIX_TIMESTAMP(MAX(fire_at)) * 1000) FROM dep_fires WHERE child_id = "
             "%" PRIu64,
             child_id);
    if (mysql_query(self->db, q)) return -1;
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res) return -1;
    MYSQL_ROW row = mysql_fetch_row(res);
    int64_t ms = row && row[0] ? strtoll(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return ms;
}

/* Record one fire of child at fire_ms consuming the marked rows. */
static int s_write_fire(s_eng_t *self, uint64_t child_id, int64_t fire_ms, const char *params,
                        s_row_t *rows, int n)
{
    char err[512];
    MYSQL_STMT *ins = hg_db_prepare(
        self->db, "INSERT INTO dep_fires (child_id, fire_at, params) VALUES (?, ?, ?)", err,
        sizeof err);
    MYSQL_STMT *upd = hg_db_prepare(
        self->db, "UPDATE dep_inbox SET fire_at = ? WHERE child_id = ? AND parent_run_id = ?", err,
        sizeof err);
    int rc = ins && upd ? 0 : HG_EDB;
    MYSQL_TIME at;
    hg_db_time_from_ms(fire_ms, &at);
    MYSQL_BIND b[3];
    unsigned long plen, rlen = HG_PROTO_RUN_ID_SIZE;
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &child_id);
    b[1].buffer_type = MYSQL_TYPE_DATETIME;
    b[1].buffer = &at;
    hg_db_bind_str(&b[2], params, &plen);
    if (rc == 0 && (mysql_stmt_bind_param(ins, b) || mysql_stmt_execute(ins))) rc = HG_EDB;
    for (int i = 0; i < n && rc == 0; i++) {
        if (!rows[i].consumed) continue;
        memset(b, 0, sizeof b);
        b[0].buffer_type = MYSQL_TYPE_DATETIME;
        b[0].buffer = &at;
        hg_db_bind_u64(&b[1], &child_id);
        b[2].buffer_type = MYSQL_TYPE_BLOB;
        b[2].buffer = rows[i].run_id;
        b[2].buffer_length = rlen;
        b[2].length = &rlen;
        if (mysql_stmt_bind_param(upd, b) || mysql_stmt_execute(upd)) rc = HG_EDB;
    }
    if (ins) mysql_stmt_close(ins);
    if (upd) mysql_stmt_close(upd);
    return rc;
}

/* The parameters of a fire: parent.<job>.result of each consumed row, the
 * latest per parent winning (rows are in finishing order). */
static char *s_fire_params(s_row_t *rows, int n, json_t *http)
{
    json_t *p = json_object();
    for (int i = 0; i < n; i++) {
        if (!rows[i].consumed) continue;
        char key[256];
        snprintf(key, sizeof key, "parent.%s.result", rows[i].parent_name);
        json_object_set_new(p, key, json_string(rows[i].result));
    }
    if (http) hg_deps_http_params(http, p);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

/* The child's http object when it is an HTTP job asking for its parents'
 * results (http.parent_results), else NULL. New reference. */
static json_t *s_child_http(s_eng_t *self, uint64_t child_id)
{
    char q[128];
    snprintf(q, sizeof q, "SELECT spec FROM jobs WHERE id = %" PRIu64, child_id);
    if (mysql_query(self->db, q)) return NULL;
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res) return NULL;
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long *len = row ? mysql_fetch_lengths(res) : NULL;
    json_t *spec = row && row[0] ? json_loadb(row[0], len[0], 0, NULL) : NULL;
    mysql_free_result(res);
    json_t *http = json_object_get(spec, "http");
    http = json_is_object(json_object_get(http, "parent_results")) ? json_incref(http) : NULL;
    json_decref(spec);
    return http;
}

/* Is every parent of child (with the "all" rule) among the rows? */
static bool s_all_met(s_eng_t *self, uint64_t child_id, s_row_t *rows, int n)
{
    bool any_edge = false;
    for (size_t i = 0; i < self->edges_n; i++) {
        if (self->edges[i].child_id != child_id) continue;
        any_edge = true;
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = rows[k].parent_id == self->edges[i].parent_id;
        if (!seen) return false;
    }
    return any_edge;
}

static bool s_rule_any(s_eng_t *self, uint64_t child_id, bool *known)
{
    *known = false;
    for (size_t i = 0; i < self->edges_n; i++)
        if (self->edges[i].child_id == child_id) {
            *known = true;
            return self->edges[i].any;
        }
    return false;
}

/* Hand a committed fire to the cluster actor and remember it in flight. */
static void s_send_fire(s_eng_t *self, uint64_t child_id, int64_t fire_ms, const char *params)
{
    for (size_t i = 0; i < self->inflight_n; i++)
        if (self->inflight[i].child_id == child_id && self->inflight[i].fire_ms == fire_ms) {
            self->inflight[i].sent_mono = hg_mono_ms();
            zsock_send(self->pipe, "s88s", "FIRE", child_id, (uint64_t) fire_ms, params);
            return;
        }
    if (self->inflight_n == self->inflight_cap) {
        size_t cap = self->inflight_cap ? self->inflight_cap * 2 : 64;
        s_inflight_t *bigger = realloc(self->inflight, cap * sizeof *bigger);
        if (!bigger) return; /* stays pending: sent again later */
        self->inflight = bigger;
        self->inflight_cap = cap;
    }
    self->inflight[self->inflight_n++] = (s_inflight_t){child_id, fire_ms, hg_mono_ms(), false};
    zsock_send(self->pipe, "s88s", "FIRE", child_id, (uint64_t) fire_ms, params);
}

/* Decide and record the fires of one child in one transaction, then hand
 * them out. The fire times are after the child's last one, 1 ms apart, so
 * each names one run of the child. */
static int s_eval_child(s_eng_t *self, uint64_t child_id)
{
    bool known;
    bool any = s_rule_any(self, child_id, &known);
    if (!known) return 0;             /* not an active child (any more) */
    static s_row_t rows[S_EVAL_ROWS]; /* this actor's thread only */
    if (mysql_autocommit(self->db, 0)) return HG_EDB;
    int n = s_read_waiting(self, child_id, rows, S_EVAL_ROWS);
    int64_t last = n > 0 ? s_last_fire_ms(self, child_id) : 0;
    int rc = n < 0 || last < 0 ? HG_EDB : 0;
    int64_t now = hg_now_ms(), next = now > last ? now : last + 1;
    json_t *http = n > 0 ? s_child_http(self, child_id) : NULL;
    json_t *fires = json_array(); /* [fire_ms, params] to hand out after commit */
    if (rc == 0 && n > 0 && !any && s_all_met(self, child_id, rows, n)) {
        for (int i = 0; i < n; i++)
            rows[i].consumed = true;
        char *params = s_fire_params(rows, n, http);
        rc = params ? s_write_fire(self, child_id, next, params, rows, n) : HG_ENOMEM;
        if (rc == 0) json_array_append_new(fires, json_pack("[I,s]", (json_int_t) next, params));
        free(params);
    }
    for (int i = 0; rc == 0 && any && i < n; i++) {
        for (int k = 0; k < n; k++)
            rows[k].consumed = k == i;
        char *params = s_fire_params(rows, n, http);
        rc = params ? s_write_fire(self, child_id, next, params, rows, n) : HG_ENOMEM;
        if (rc == 0) json_array_append_new(fires, json_pack("[I,s]", (json_int_t) next, params));
        free(params);
        next++;
    }
    if (rc == 0 && mysql_commit(self->db)) rc = HG_EDB;
    if (rc != 0) mysql_rollback(self->db);
    mysql_autocommit(self->db, 1);
    size_t i;
    json_t *f;
    json_array_foreach(rc == 0 ? fires : NULL, i, f)
    {
        int64_t ms = json_integer_value(json_array_get(f, 0));
        hg_info("depfire: job %" PRIu64 " fires on its dependencies (at %lld)", child_id,
                (long long) ms);
        s_send_fire(self, child_id, ms, json_string_value(json_array_get(f, 1)));
    }
    json_decref(fires);
    json_decref(http);
    /* A full page: more may wait. */
    if (rc == 0 && n == S_EVAL_ROWS) s_mark_dirty(self, child_id);
    return rc;
}

static void s_eval_dirty(s_eng_t *self)
{
    while (zhashx_size(self->dirty) > 0) {
        zhashx_first(self->dirty);
        const char *key = zhashx_cursor(self->dirty);
        uint64_t child = strtoull(key, NULL, 10);
        zhashx_delete(self->dirty, key);
        if (s_eval_child(self, child) != 0) {
            s_mark_dirty(self, child);
            s_db_lost(self, "evaluate dependencies");
            return;
        }
    }
}

/* ------------------------------------------------------- pending, purge */

static void s_inflight_drop(s_eng_t *self, uint64_t child_id, int64_t fire_ms)
{
    for (size_t i = 0; i < self->inflight_n; i++)
        if (self->inflight[i].child_id == child_id && self->inflight[i].fire_ms == fire_ms) {
            self->inflight[i] = self->inflight[--self->inflight_n];
            return;
        }
}

static s_inflight_t *s_inflight_find(s_eng_t *self, uint64_t child_id, int64_t fire_ms)
{
    for (size_t i = 0; i < self->inflight_n; i++)
        if (self->inflight[i].child_id == child_id && self->inflight[i].fire_ms == fire_ms)
            return &self->inflight[i];
    return NULL;
}

/* Set a fire's state. Numbers only in the text: nothing to escape. */
static int s_fire_state(s_eng_t *self, uint64_t child_id, int64_t fire_ms, const char *state)
{
    char q[256];
    snprintf(q, sizeof q,
             "UPDATE dep_fires SET state = '%s' WHERE child_id = %" PRIu64
             " AND fire_at = FROM_UNIXTIME(%lld.%03lld)",
             state, child_id, (long long) (fire_ms / 1000), (long long) (fire_ms % 1000));
    return mysql_query(self->db, q) ? HG_EDB : 0;
}

/* Did the child's holder record a run of this fire? Its scheduled time is
 * the fire's (depfire.h, step 4). 1 yes, 0 no, < 0 error. */
static int s_fire_ran(s_eng_t *self, uint64_t child_id, int64_t fire_ms)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT 1 FROM runs WHERE job_id = %" PRIu64
             " AND scheduled_at = FROM_UNIXTIME(%lld.%03lld) AND trigger_reason = 'dependency' "
             "LIMIT 1",
             child_id, (long long) (fire_ms / 1000), (long long) (fire_ms % 1000));
    if (mysql_query(self->db, q)) return HG_EDB;
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res) return HG_EDB;
    int found = mysql_num_rows(res) > 0;
    mysql_free_result(res);
    return found;
}

/* Send again what is committed but not known to have run: a fire whose
 * child had no live holder, one a previous leader decided, and one sent
 * S_VERIFY_S ago whose run is still not recorded (its TRIGGER was lost
 * with a connection, or its worker no longer held the child). Before any
 * resend the runs table is asked for the fire's run, so a fire that did
 * run is never sent twice, unless its record reaches MySQL later than
 * that. A new leader waits S_FIRST_SEND_MS first, so that the workers have
 * re-joined and resent the run records of TRIGGERs that did arrive. */
static void s_pending(s_eng_t *self)
{
    int64_t now = hg_mono_ms();
    if (now - self->started_mono < S_FIRST_SEND_MS) return;
    if (mysql_query(self->db,
                    "SELECT child_id, ROUND(UNIX_TIMESTAMP(fire_at) * 1000), params, state FROM "
                    "dep_fires WHERE state = 'pending' OR (state = 'sent' AND fire_at < NOW(3) - "
                    "INTERVAL " S_VERIFY_S " SECOND) ORDER BY fire_at LIMIT 100")) {
        s_db_lost(self, "read pending fires");
        return;
    }
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res) {
        s_db_lost(self, "read pending fires");
        return;
    }
    MYSQL_ROW row;
    int rc = 0;
    while (rc == 0 && (row = mysql_fetch_row(res))) {
        uint64_t child = strtoull(row[0], NULL, 10);
        int64_t fire_ms = strtoll(row[1], NULL, 10);
        s_inflight_t *in = s_inflight_find(self, child, fire_ms);
        if (in && in->delivered) { /* its SENT came while MySQL was away */
            rc = s_fire_state(self, child, fire_ms, "sent");
            if (rc == 0) s_inflight_drop(self, child, fire_ms);
            continue;
        }
        if (in && now - in->sent_mono < S_INFLIGHT_MS) continue;
        int ran = s_fire_ran(self, child, fire_ms);
        if (ran < 0) {
            rc = HG_EDB;
        } else if (ran) {
            s_inflight_drop(self, child, fire_ms);
            rc = s_fire_state(self, child, fire_ms, "done");
        } else if (strcmp(row[3], "sent") == 0) {
            hg_warn("depfire: job %" PRIu64 ": a dependency fire sent %s s ago has no run "
                    "recorded; sending it again",
                    child, S_VERIFY_S);
            rc = s_fire_state(self, child, fire_ms, "pending");
            if (rc == 0) s_send_fire(self, child, fire_ms, row[2]);
        } else if (hg_now_ms() - fire_ms > S_DROP_MS) {
            hg_warn("depfire: job %" PRIu64 ": a dependency fire found no holder for an hour; "
                    "given up",
                    child);
            s_inflight_drop(self, child, fire_ms);
            rc = s_fire_state(self, child, fire_ms, "dropped");
        } else {
            s_send_fire(self, child, fire_ms, row[2]);
        }
    }
    mysql_free_result(res);
    if (rc) s_db_lost(self, "resend pending fires");
}

/* Consumed rows are kept an hour, far longer than a scan looks back (a
 * purged run re-scanned would count again). */
static void s_purge(s_eng_t *self)
{
    if (mysql_query(self->db, "DELETE FROM dep_inbox WHERE fire_at IS NOT NULL AND finished_at < "
                              "NOW(3) - INTERVAL 1 HOUR LIMIT 1000") ||
        mysql_query(self->db, "DELETE FROM dep_fires WHERE state <> 'pending' AND fire_at < "
                              "NOW(3) - INTERVAL 1 HOUR LIMIT 1000"))
        s_db_lost(self, "purge dependency rows");
}

/* ------------------------------------------------------------- the actor */

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_eng_t *self = arg;
    if (self->dropped) {
        hg_warn("depfire: %" PRIu64 " parent runs dropped while MySQL was away (the scan of "
                "recent runs counts them)",
                self->dropped);
        self->dropped = 0;
    }
    if (!s_db_ready(self)) return 0;
    int64_t now = hg_mono_ms();
    if (!self->edges_mono || now - self->edges_mono >= S_EDGES_MS) {
        if (s_load_edges(self) != 0) return 0;
        self->edges_mono = now;
    }
    s_flush_queue(self);
    if (self->db) s_shard_checks(self);
    if (self->db && (!self->scan_mono || now - self->scan_mono >= S_SCAN_MS)) {
        s_scan(self);
        self->scan_mono = now;
    }
    if (self->db) s_eval_dirty(self);
    if (self->db && now - self->pending_mono >= S_PENDING_MS) {
        s_pending(self);
        self->pending_mono = now;
    }
    if (self->db && now - self->purge_mono >= S_PURGE_MS) {
        s_purge(self);
        self->purge_mono = now;
    }
    return 0;
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    s_eng_t *self = arg;
    zmsg_t *m = zmsg_recv(pipe);
    char *cmd = m ? zmsg_popstr(m) : NULL;
    int rc = (!cmd || streq(cmd, "$TERM")) ? -1 : 0;
    if (cmd && streq(cmd, "RUNS")) {
        zframe_t *f = zmsg_pop(m);
        hg_store_batch_t *batch = NULL;
        if (f && zframe_size(f) == sizeof batch) memcpy(&batch, zframe_data(f), sizeof batch);
        zframe_destroy(&f);
        atomic_fetch_sub(&self->shared->queued, 1);
        if (batch) s_on_runs(self, batch);
    } else if (cmd && streq(cmd, "SENT")) {
        char *child = zmsg_popstr(m), *fire = zmsg_popstr(m), *code = zmsg_popstr(m);
        uint64_t child_id = child ? strtoull(child, NULL, 10) : 0;
        int64_t fire_ms = fire ? strtoll(fire, NULL, 10) : 0;
        /* Not sent (no live holder): the next resend pass tries again.
         * Sent but not marked (MySQL away): never resent meanwhile. */
        s_inflight_t *in = s_inflight_find(self, child_id, fire_ms);
        bool sent = code && atoi(code) == 0;
        if (sent && self->db && s_fire_state(self, child_id, fire_ms, "sent") == 0)
            s_inflight_drop(self, child_id, fire_ms);
        else if (sent && in)
            in->delivered = true;
        else
            s_inflight_drop(self, child_id, fire_ms);
        zstr_free(&child);
        zstr_free(&fire);
        zstr_free(&code);
    }
    zstr_free(&cmd);
    zmsg_destroy(&m);
    return rc;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_eng_t self = {0};
    self.shared = arg;
    self.params = self.shared->params;
    self.pipe = pipe;
    self.started_mono = hg_mono_ms();
    self.queue = zlistx_new();
    self.dirty = zhashx_new();
    zlistx_set_destructor(self.queue, s_entry_free);
    zloop_t *loop = zloop_new();
    zloop_set_nonstop(loop, true);
    zloop_reader(loop, pipe, s_on_pipe, &self);
    zloop_timer(loop, S_TICK_MS, 0, s_on_tick, &self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    zlistx_destroy(&self.queue);
    zhashx_destroy(&self.dirty);
    free(self.edges);
    free(self.parents);
    free(self.inflight);
    hg_db_close(&self.db);
}

hg_depfire_t *hg_depfire_new(const hg_db_params_t *db)
{
    hg_depfire_t *self = db ? calloc(1, sizeof *self) : NULL;
    if (!self) return NULL;
    self->params = db;
    atomic_init(&self->has_edges, false);
    atomic_init(&self->queued, 0);
    self->actor = zactor_new(s_actor, self);
    if (!self->actor) {
        free(self);
        return NULL;
    }
    return self;
}

void hg_depfire_destroy(hg_depfire_t **p)
{
    if (!p || !*p) return;
    hg_depfire_t *self = *p;
    (void) hg_zsock_set_int(zactor_sock(self->actor), ZMQ_SNDTIMEO, -1); /* $TERM must go */
    zactor_destroy(&self->actor);
    free(self);
    *p = NULL;
}

zsock_t *hg_depfire_sock(hg_depfire_t *self)
{
    return zactor_sock(self->actor);
}

void hg_depfire_runs(hg_depfire_t *self, hg_store_batch_t **batch)
{
    if (!self || !batch || !*batch || !atomic_load(&self->has_edges) ||
        atomic_load(&self->queued) >= HG_DEPFIRE_QUEUED_MAX)
        return;
    zsock_t *pipe = zactor_sock(self->actor);
    zframe_t *cmd = zframe_new("RUNS", 4), *ptr = zframe_new(batch, sizeof *batch);
    atomic_fetch_add(&self->queued, 1);
    /* The first frame decides (ZeroMQ sends a message whole or not at all). */
    if (!cmd || !ptr || zframe_send(&cmd, pipe, ZFRAME_MORE | ZFRAME_DONTWAIT) != 0) {
        atomic_fetch_sub(&self->queued, 1);
        zframe_destroy(&cmd);
        zframe_destroy(&ptr);
        return;
    }
    zframe_send(&ptr, pipe, ZFRAME_DONTWAIT);
    *batch = NULL;
}
