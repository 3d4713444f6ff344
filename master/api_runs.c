/* api_runs: GET /api/v1/runs, the run history of docs/api.md, newest
 * first, paged by run id. The history is one table for every namespace:
 * a token scoped to a namespace reads it one job at a time. */
#include "api_internal.h"
#include "api_console.h"
#include "db.h"
#include "run_view.h"
#include "job_db.h"
#include "hg_error.h"
#include "hg_proto.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <jansson.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RUNS_LIMIT_MAX 1000

/* Replace bytes that are not UTF-8, and NUL, with U+FFFD so that jansson
 * takes the text (run output excerpts are raw bytes). */
static json_t *s_json_text(const char *s, size_t len)
{
    /* NUL is valid UTF-8 but many JSON readers refuse "\u0000". */
    json_t *v = memchr(s, '\0', len) ? NULL : json_stringn(s, len);
    if (v) return v;
    char *out = malloc(len * 3 + 1);
    if (!out) return json_null();
    size_t n = 0;
    const unsigned char *p = (const unsigned char *) s;
    for (size_t i = 0; i < len;) {
        size_t need = p[i] < 0x80         ? 1
                      : (p[i] >> 5) == 6  ? 2
                      : (p[i] >> 4) == 14 ? 3
                      : (p[i] >> 3) == 30 ? 4
                                          : 0;
        bool ok = need > 0 && i + need <= len && p[i] != 0;
        for (size_t k = 1; ok && k < need; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && need > 1) {
            /* Overlong forms, surrogates and values past U+10FFFF. */
            json_t *probe = json_stringn((const char *) p + i, need);
            ok = probe != NULL;
            json_decref(probe);
        }
        if (ok) {
            memcpy(out + n, p + i, need);
            n += need;
            i += need;
        } else {
            memcpy(out + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    v = json_stringn(out, n);
    free(out);
    return v ? v : json_null();
}

/* Filters of GET /api/v1/runs and its result. */
typedef struct {
    const char *job_name;          /* job query argument, or NULL */
    const char *ns;                /* its namespace */
    const char *status;            /* status filter, or NULL */
    const char *node;              /* node filter, or NULL */
    int64_t since_ms, until_ms;    /* scheduled_at bounds, 0 = none */
    const uint8_t *run_id;         /* one run (GET /api/v1/runs/{id}), or NULL */
    bool has_before;               /* page after this run id */
    uint8_t before[HG_RUNID_SIZE]; /* run id of the previous page's last run */
    int limit;                     /* page size */
    json_t *runs;                  /* out: array */
    bool more;                     /* out: another page follows */
} s_runs_op_t;

/* One fetched runs row. The TEXT/BLOB columns hold at most 65535 bytes. */
typedef struct {
    uint8_t run_id[HG_RUNID_SIZE];
    uint64_t job_id;
    char job_name[761], node[761], status[65], trigger[65];
    MYSQL_TIME scheduled_at, started_at, finished_at;
    short http_status;
    int exit_code;
    char error[65536], output[65536];
    uint32_t attempt;
    uint8_t first_run_id[HG_RUNID_SIZE]; /* retries (schema/007_retries.sql) */
    MYSQL_TIME next_attempt_at;
    char retry_reason[65];
    unsigned short shard_index, shard_total; /* a sharded job's run (routing), else NULL */
    unsigned long len[19];
    my_bool is_null[19];
    MYSQL_BIND bind[19];
} s_run_row_t;

static json_t *s_run_time(const MYSQL_TIME *t, my_bool is_null, int64_t *ms)
{
    *ms = 0;
    if (is_null) return json_null();
    *ms = hg_db_time_to_ms(t);
    char buf[40];
    hg_time_format_ms(*ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_run_to_json(s_run_row_t *r)
{
    char id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(r->run_id, id);
    int64_t sched_ms, start_ms, end_ms;
    json_t *run = json_object();
    json_object_set_new(run, "run_id", json_string(id));
    json_object_set_new(run, "job_id", json_integer((json_int_t) r->job_id));
    json_object_set_new(run, "job", s_json_text(r->job_name, r->len[2]));
    json_object_set_new(run, "node", s_json_text(r->node, r->len[3]));
    json_object_set_new(run, "scheduled_at", s_run_time(&r->scheduled_at, 0, &sched_ms));
    json_object_set_new(run, "started_at", s_run_time(&r->started_at, r->is_null[5], &start_ms));
    json_object_set_new(run, "finished_at", s_run_time(&r->finished_at, r->is_null[6], &end_ms));
    json_object_set_new(run, "status", s_json_text(r->status, r->len[7]));
    json_object_set_new(run, "http_status",
                        r->is_null[8] ? json_null() : json_integer(r->http_status));
    json_object_set_new(run, "exit_code", r->is_null[9] ? json_null() : json_integer(r->exit_code));
    json_object_set_new(run, "error",
                        r->is_null[10] ? json_null() : s_json_text(r->error, r->len[10]));
    json_object_set_new(run, "output",
                        r->is_null[11] ? json_null() : s_json_text(r->output, r->len[11]));
    json_object_set_new(run, "attempt", json_integer(r->attempt));
    json_object_set_new(run, "trigger", s_json_text(r->trigger, r->len[13]));
    if (!r->is_null[18]) { /* a shard run of a sharded job (docs/jobs.md) */
        json_object_set_new(run, "shard_index", json_integer(r->shard_index));
        json_object_set_new(run, "shard_total", json_integer(r->shard_total));
    }
    json_object_set_new(run, "duration_ms",
                        !r->is_null[5] && !r->is_null[6] ? json_integer(end_ms - start_ms)
                                                         : json_null());
    /* retries: the chain this attempt is in, and when the next one is due
     * (null: this run is its fire's final outcome) */
    char first[HG_RUNID_STR_LEN + 1];
    if (!r->is_null[14]) hg_runid_format(r->first_run_id, first);
    json_object_set_new(run, "first_run_id", r->is_null[14] ? json_null() : json_string(first));
    int64_t retry_ms;
    json_object_set_new(run, "retry_at",
                        s_run_time(&r->next_attempt_at, r->is_null[15], &retry_ms));
    json_object_set_new(run, "retry_reason",
                        r->is_null[16] ? json_null() : s_json_text(r->retry_reason, r->len[16]));
    return run;
}

#define S_SINCE_SLACK_MS (3600 * 1000)

/* The statement of one runs query and the values its parameters point
 * at, which must outlive the execution. */
typedef struct {
    char sql[1024];                  /* statement text */
    MYSQL_BIND p[10];                /* parameters */
    int np;                          /* parameters used */
    unsigned long lens[3];           /* lengths of job_name [0], status [1], node [2] */
    uint64_t job_id;                 /* the job's id, 0 to match by name */
    MYSQL_TIME since, until;         /* scheduled_at bounds */
    uint8_t since_id[HG_RUNID_SIZE]; /* run id bound of since */
    unsigned long since_id_len;      /* HG_RUNID_SIZE */
    unsigned long before_len;        /* HG_RUNID_SIZE */
    int32_t limit;                   /* a->limit + 1 */
} s_runs_query_t;

/* Build the statement of a runs query. Its text depends only on which
 * filters are present; every value is a bound parameter. Runs whose status
 * is not success are found through runs_by_status, already in the
 * listing's order (the join re-checks the status, which the history
 * decides). */
static void s_runs_query_build(s_runs_query_t *q, const s_runs_op_t *a)
{
    snprintf(q->sql, sizeof q->sql, "%s",
             "SELECT r.run_id, r.job_id, r.job_name, r.node, r.scheduled_at, "
             "r.started_at, r.finished_at, r.status, r.http_status, r.exit_code, "
             "r.error, r.output, r.attempt, r.trigger_reason, r.first_run_id, "
             "r.next_attempt_at, r.retry_reason, r.shard_index, r.shard_total FROM ");
    char *sql = q->sql;
    MYSQL_BIND *p = q->p;
    bool by_status = a->status && strcmp(a->status, "success") != 0;
    strcat(sql, by_status ? "runs_by_status s JOIN runs r ON r.run_id = s.run_id WHERE s.status = ?"
                          : "runs r WHERE 1 = 1");
    memset(q->p, 0, sizeof q->p);
    int np = 0;
    q->lens[1] = a->status ? (unsigned long) strlen(a->status) : 0;
    if (by_status) {
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->status;
        p[np].buffer_length = q->lens[1];
        p[np++].length = &q->lens[1];
    }
    q->before_len = HG_RUNID_SIZE;
    if (a->run_id) {
        strcat(sql, " AND r.run_id = ?");
        p[np].buffer_type = MYSQL_TYPE_BLOB;
        p[np].buffer = (void *) a->run_id;
        p[np].buffer_length = HG_RUNID_SIZE;
        p[np++].length = &q->before_len;
    }
    if (q->job_id) {
        strcat(sql, " AND r.job_id = ?");
        p[np].buffer_type = MYSQL_TYPE_LONGLONG;
        p[np].buffer = &q->job_id;
        p[np++].is_unsigned = 1;
    } else if (a->job_name) {
        strcat(sql, " AND r.job_name = ?");
        q->lens[0] = (unsigned long) strlen(a->job_name);
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->job_name;
        p[np].buffer_length = q->lens[0];
        p[np++].length = &q->lens[0];
    }
    if (a->node) {
        strcat(sql, " AND r.node = ?");
        q->lens[2] = (unsigned long) strlen(a->node);
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->node;
        p[np].buffer_length = q->lens[2];
        p[np++].length = &q->lens[2];
    }
    if (a->status) {
        strcat(sql, " AND r.status = ?");
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->status;
        p[np].buffer_length = q->lens[1];
        p[np++].length = &q->lens[1];
    }
    q->since_id_len = HG_RUNID_SIZE;
    if (a->since_ms) {
        strcat(sql, " AND r.scheduled_at >= ?");
        hg_db_time_from_ms(a->since_ms, &q->since);
        p[np].buffer_type = MYSQL_TYPE_DATETIME;
        p[np++].buffer = &q->since;
        /* The same bound on the run id, which the newest-first scan can
         * stop at: a run starts at or after its scheduled time, and its id
         * carries its start (an hour's slack covers a recovered run, whose
         * scheduled time another worker's clock set). */
        strcat(sql, " AND r.run_id >= ?");
        hg_runid_floor(q->since_id, a->since_ms - S_SINCE_SLACK_MS);
        p[np].buffer_type = MYSQL_TYPE_BLOB;
        p[np].buffer = q->since_id;
        p[np].buffer_length = HG_RUNID_SIZE;
        p[np++].length = &q->since_id_len;
    }
    if (a->until_ms) {
        strcat(sql, " AND r.scheduled_at < ?");
        hg_db_time_from_ms(a->until_ms, &q->until);
        p[np].buffer_type = MYSQL_TYPE_DATETIME;
        p[np++].buffer = &q->until;
    }
    if (a->has_before) {
        strcat(sql, " AND r.run_id < ?");
        p[np].buffer_type = MYSQL_TYPE_BLOB;
        p[np].buffer = (void *) a->before;
        p[np].buffer_length = HG_RUNID_SIZE;
        p[np++].length = &q->before_len;
    }
    /* One row more than asked tells whether another page follows. */
    strcat(sql, by_status ? " ORDER BY s.run_id DESC LIMIT ?" : " ORDER BY r.run_id DESC LIMIT ?");
    q->limit = a->limit + 1;
    p[np].buffer_type = MYSQL_TYPE_LONG;
    p[np++].buffer = &q->limit;
    q->np = np;
}

/* Bind the result columns of a runs query to r. */
static void s_run_row_bind(s_run_row_t *r)
{
    MYSQL_BIND *b = r->bind;
    hg_db_bind_out(&b[0], MYSQL_TYPE_BLOB, r->run_id, HG_RUNID_SIZE, &r->len[0], &r->is_null[0]);
    hg_db_bind_out(&b[1], MYSQL_TYPE_LONGLONG, &r->job_id, 0, &r->len[1], &r->is_null[1]);
    b[1].is_unsigned = 1;
    hg_db_bind_out(&b[2], MYSQL_TYPE_STRING, r->job_name, sizeof r->job_name, &r->len[2],
                   &r->is_null[2]);
    hg_db_bind_out(&b[3], MYSQL_TYPE_STRING, r->node, sizeof r->node, &r->len[3], &r->is_null[3]);
    hg_db_bind_out(&b[4], MYSQL_TYPE_DATETIME, &r->scheduled_at, 0, &r->len[4], &r->is_null[4]);
    hg_db_bind_out(&b[5], MYSQL_TYPE_DATETIME, &r->started_at, 0, &r->len[5], &r->is_null[5]);
    hg_db_bind_out(&b[6], MYSQL_TYPE_DATETIME, &r->finished_at, 0, &r->len[6], &r->is_null[6]);
    hg_db_bind_out(&b[7], MYSQL_TYPE_STRING, r->status, sizeof r->status, &r->len[7],
                   &r->is_null[7]);
    hg_db_bind_out(&b[8], MYSQL_TYPE_SHORT, &r->http_status, 0, &r->len[8], &r->is_null[8]);
    hg_db_bind_out(&b[9], MYSQL_TYPE_LONG, &r->exit_code, 0, &r->len[9], &r->is_null[9]);
    hg_db_bind_out(&b[10], MYSQL_TYPE_STRING, r->error, sizeof r->error, &r->len[10],
                   &r->is_null[10]);
    hg_db_bind_out(&b[11], MYSQL_TYPE_BLOB, r->output, sizeof r->output, &r->len[11],
                   &r->is_null[11]);
    hg_db_bind_out(&b[12], MYSQL_TYPE_LONG, &r->attempt, 0, &r->len[12], &r->is_null[12]);
    b[12].is_unsigned = 1;
    hg_db_bind_out(&b[13], MYSQL_TYPE_STRING, r->trigger, sizeof r->trigger, &r->len[13],
                   &r->is_null[13]);
    hg_db_bind_out(&b[14], MYSQL_TYPE_BLOB, r->first_run_id, HG_RUNID_SIZE, &r->len[14],
                   &r->is_null[14]);
    hg_db_bind_out(&b[15], MYSQL_TYPE_DATETIME, &r->next_attempt_at, 0, &r->len[15],
                   &r->is_null[15]);
    hg_db_bind_out(&b[16], MYSQL_TYPE_STRING, r->retry_reason, sizeof r->retry_reason, &r->len[16],
                   &r->is_null[16]);
    hg_db_bind_out(&b[17], MYSQL_TYPE_SHORT, &r->shard_index, 0, &r->len[17], &r->is_null[17]);
    hg_db_bind_out(&b[18], MYSQL_TYPE_SHORT, &r->shard_total, 0, &r->len[18], &r->is_null[18]);
    b[17].is_unsigned = b[18].is_unsigned = 1;
}

static int s_op_runs(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_runs_op_t *a = arg;
    json_decref(a->runs);
    a->runs = json_array();

    /* A job that exists is matched by id; one that is gone by the name its
     * runs recorded. */
    s_runs_query_t q = {0};
    if (a->job_name) {
        json_t *job = NULL;
        int rc = hg_job_db_get(db, a->ns, a->job_name, &job, err, err_size);
        if (rc != 0 && rc != HG_ENOTFOUND) return rc;
        if (job) q.job_id = (uint64_t) json_integer_value(json_object_get(job, "id"));
        json_decref(job);
    }
    s_runs_query_build(&q, a);

    MYSQL_STMT *stmt = hg_db_prepare(db, q.sql, err, err_size);
    if (!stmt) return HG_EDB;
    s_run_row_t *r = calloc(1, sizeof *r);
    if (!r) {
        mysql_stmt_close(stmt);
        return HG_ENOMEM;
    }
    s_run_row_bind(r);

    int rc = 0;
    if (mysql_stmt_bind_param(stmt, q.p) || mysql_stmt_execute(stmt) ||
        mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, r->bind)) {
        snprintf(err, err_size, "list runs: %s", mysql_stmt_error(stmt));
        rc = HG_EDB;
    }
    a->more = false;
    while (rc == 0) {
        int f = mysql_stmt_fetch(stmt);
        if (f == MYSQL_NO_DATA) break;
        if (f == 1) {
            snprintf(err, err_size, "list runs: %s", mysql_stmt_error(stmt));
            rc = HG_EDB;
            break;
        }
        /* MYSQL_DATA_TRUNCATED cannot cut a column: every buffer holds the
         * largest value its column type allows. */
        if ((int) json_array_size(a->runs) == a->limit) {
            a->more = true;
            break;
        }
        json_array_append_new(a->runs, s_run_to_json(r));
    }
    free(r);
    mysql_stmt_free_result(stmt);
    mysql_stmt_close(stmt);
    return rc;
}

void hg_api__runs_list(hg_api_ctx_t *c)
{
    s_runs_op_t a = {0};
    bool ok;
    a.ns = hg_api__ns_arg(c, &ok);
    if (!ok) return;
    a.job_name = hg_api__arg(c, "job");
    if (c->who.ns[0] && !a.job_name) {
        /* The history of every namespace is one table: a scoped token
         * reads it one job (of its namespace) at a time. */
        hg_api__error(
            c, MHD_HTTP_FORBIDDEN, "forbidden", "job",
            "job: token \"%s\" is scoped to namespace \"%s\"; list the runs of one of its "
            "jobs (job=NAME)",
            c->who.name, c->who.ns);
        return;
    }
    a.status = hg_api__arg(c, "status");
    if (a.status && hg_run_status_parse(a.status) < 0) {
        hg_api__invalid(c, "status",
                        "status: must be one of running, success, failed, timeout, crashed, lost, "
                        "skipped, cancelled");
        return;
    }
    a.node = hg_api__arg(c, "node");
    if (a.node && !hg_api__is_ident(a.node, 191)) {
        hg_api__invalid(c, "node",
                        "node: must be a node name (1-191 letters, digits, '.', '_', '-')");
        return;
    }
    const char *since = hg_api__arg(c, "since"), *until = hg_api__arg(c, "until"),
               *before = hg_api__arg(c, "before");
    if (since && hg_time_parse_rfc3339(since, &a.since_ms) != 0) {
        hg_api__invalid(c, "since", "since: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return;
    }
    if (until && hg_time_parse_rfc3339(until, &a.until_ms) != 0) {
        hg_api__invalid(c, "until", "until: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return;
    }
    if (before) {
        if (hg_runid_parse(before, a.before) != 0) {
            hg_api__invalid(c, "before",
                            "before: must be a run id (the \"next\" of the previous page)");
            return;
        }
        a.has_before = true;
    }
    long limit;
    if (hg_api__int_arg(c, "limit", 50, 1, S_RUNS_LIMIT_MAX, &limit)) return;
    a.limit = (int) limit;
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_runs, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else {
        json_t *next = json_null();
        size_t n = json_array_size(a.runs);
        if (a.more && n > 0)
            next = json_incref(json_object_get(json_array_get(a.runs, n - 1), "run_id"));
        hg_api__runs_add_namespace(c, a.runs); /* api_console.c: for the dashboard's links */
        hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:O, s:o}", "runs", a.runs, "next", next));
    }
    json_decref(a.runs);
}

/* The namespace of the job a run belongs to ("" when the job is gone). */
typedef struct {
    uint64_t job_id; /* in */
    char ns[257];    /* out */
} s_run_ns_op_t;

static int s_op_run_ns(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_run_ns_op_t *a = arg;
    MYSQL_STMT *stmt = hg_db_prepare(db, "SELECT namespace FROM jobs WHERE id = ?", err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND p[1], r[1];
    memset(p, 0, sizeof p);
    memset(r, 0, sizeof r);
    hg_db_bind_u64(&p[0], &a->job_id);
    unsigned long len = 0;
    my_bool is_null = 0;
    hg_db_bind_out(&r[0], MYSQL_TYPE_STRING, a->ns, sizeof a->ns - 1, &len, &is_null);
    int rc = 0;
    a->ns[0] = '\0';
    if (mysql_stmt_bind_param(stmt, p) || mysql_stmt_execute(stmt) ||
        mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, r)) {
        snprintf(err, err_size, "run namespace: %s", mysql_stmt_error(stmt));
        rc = HG_EDB;
    } else if (mysql_stmt_fetch(stmt) == 0 && !is_null) {
        a->ns[len < sizeof a->ns ? len : sizeof a->ns - 1] = '\0';
    }
    mysql_stmt_free_result(stmt);
    mysql_stmt_close(stmt);
    return rc;
}

void hg_api__run_get(hg_api_ctx_t *c, const char *id)
{
    uint8_t run_id[HG_RUNID_SIZE];
    if (hg_runid_parse(id, run_id) != 0) {
        hg_api__invalid(c, "id", "id: must be a run id (8-4-4-4-12 hex digits)");
        return;
    }
    s_runs_op_t a = {.run_id = run_id, .limit = 1};
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_runs, &a, err, sizeof err);
    json_t *run = rc == 0 ? json_array_get(a.runs, 0) : NULL;
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else if (!run) {
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "run %s not found", id);
    } else {
        /* A scoped token sees the runs of its namespace's jobs only. */
        s_run_ns_op_t ns = {.job_id =
                                (uint64_t) json_integer_value(json_object_get(run, "job_id"))};
        if (c->who.ns[0] && (hg_api__with_db(c->api, s_op_run_ns, &ns, err, sizeof err) != 0 ||
                             strcmp(ns.ns, c->who.ns) != 0)) {
            hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "run %s not found", id);
        } else {
            hg_run_view_add(run);
            hg_api__reply(c, MHD_HTTP_OK, json_incref(run));
        }
    }
    json_decref(a.runs);
}
