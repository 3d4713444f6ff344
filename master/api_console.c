/* api_console: the routes the web dashboard needs besides the CRUD ones
 * (api_console.h, docs/api.md). Each is a read for the viewer role and
 * part of the public API; the dashboard uses nothing else. */
#include "api_console.h"
#include "db.h"
#include "job.h"
#include "job_db.h"
#include "job_page.h"
#include "job_walk.h"
#include "redact.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_proto.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <jansson.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PAGE_LIMIT_MAX   1000
#define S_PAGE_LIMIT_DEF   50
#define S_EXPLAIN_MAX      50
#define S_STATS_WINDOW_MAX (24 * 3600 * 1000LL)
#define S_STATS_LIST       10   /* recent failures, late starts */
#define S_LATE_MS          1000 /* a start this much after its time is late */

/* ---------------------------------------------------------------------------
 * GET /api/v1/whoami
 * ------------------------------------------------------------------------ */

void hg_api__whoami(hg_api_ctx_t *c)
{
    char expires[40];
    if (c->who.expires_ms) hg_time_format_ms(c->who.expires_ms, expires, sizeof expires);
    hg_api__reply(c, MHD_HTTP_OK,
                  json_pack("{s:s, s:s, s:o, s:o}", "name", c->who.name, "role",
                            hg_role_name(c->who.role), "namespace",
                            c->who.ns[0] ? json_string(c->who.ns) : json_null(), "expires_at",
                            c->who.expires_ms ? json_string(expires) : json_null()));
}

/* ---------------------------------------------------------------------------
 * Schedules of jobs: parse one as the job would run it
 * ------------------------------------------------------------------------ */

static int64_t s_time_ms(const json_t *job, const char *field)
{
    int64_t ms = 0;
    const char *text = json_string_value(json_object_get(job, field));
    if (text && hg_time_parse_rfc3339(text, &ms) != 0) ms = 0;
    return ms;
}

/* The schedule of a normalized job, or NULL when it does not parse. */
static hg_sched_t *s_job_sched(const json_t *job)
{
    hg_sched_opts_t opts = {.tz = json_string_value(json_object_get(job, "timezone")),
                            .start_ms = s_time_ms(job, "start_at"),
                            .end_ms = s_time_ms(job, "end_at")};
    const char *expr = json_string_value(json_object_get(job, "schedule"));
    hg_sched_t *sched = NULL;
    char err[256];
    if (!expr || hg_sched_parse(expr, &opts, &sched, err, sizeof err) != 0) return NULL;
    return sched;
}

/* ---------------------------------------------------------------------------
 * GET /api/v1/schedule/explain?schedule=&timezone=&start_at=&end_at=&from=&count=
 * ------------------------------------------------------------------------ */

/* The schedule's fields checked by the job validator itself, inside a
 * stand-in job: errors name the same field with the same message as a
 * creation of the job would. NULL with the reply set when refused. */
static json_t *s_explain_job(hg_api_ctx_t *c)
{
    static const char *const fields[] = {"schedule", "timezone", "start_at", "end_at"};
    json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "name", "explain", "kind", "http", "http",
                             "url", "http://explain.invalid/");
    for (size_t i = 0; body && i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = hg_api__arg(c, fields[i]);
        if (v) json_object_set_new(body, fields[i], json_string(v));
    }
    char field[256] = "", message[1024] = "";
    json_t *job = body ? hg_job_validate(body, field, sizeof field, message, sizeof message) : NULL;
    json_decref(body);
    if (!job) hg_api__invalid(c, field[0] ? field : NULL, message[0] ? message : "out of memory");
    return job;
}

void hg_api__schedule_explain(hg_api_ctx_t *c)
{
    long count;
    if (hg_api__int_arg(c, "count", 5, 1, S_EXPLAIN_MAX, &count)) return;
    int64_t from_ms = hg_now_ms();
    const char *from = hg_api__arg(c, "from");
    if (from && hg_time_parse_rfc3339(from, &from_ms) != 0) {
        hg_api__invalid(c, "from", "from: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return;
    }
    json_t *job = s_explain_job(c);
    if (!job) return;
    hg_sched_t *sched = s_job_sched(job);
    if (!sched) { /* validated above: only memory can fail here */
        json_decref(job);
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "cannot parse");
        return;
    }
    char text[512], at[40];
    hg_sched_describe(sched, text, sizeof text);
    json_t *next = json_array();
    int64_t t = from_ms;
    for (long i = 0; i < count; i++) {
        t = hg_sched_next(sched, t);
        if (t == HG_SCHED_NEVER) break;
        hg_time_format_ms(t, at, sizeof at);
        json_array_append_new(next, json_string(at));
    }
    hg_api__reply(c, MHD_HTTP_OK,
                  json_pack("{s:O, s:O, s:s, s:b, s:o}", "schedule",
                            json_object_get(job, "schedule"), "timezone",
                            json_object_get(job, "timezone"), "description", text, "fixed_delay",
                            hg_sched_is_fixed_delay(sched), "next", next));
    hg_sched_destroy(&sched);
    json_decref(job);
}

/* ---------------------------------------------------------------------------
 * GET /api/v1/jobs, keyset mode
 * ------------------------------------------------------------------------ */

typedef struct {
    const char *ns, *prefix, *status, *kind;   /* filters, NULL when absent */
    const char *node;                          /* jobs held by this node, or NULL */
    const char *last;                          /* status of the last run, or NULL */
    int32_t limit;                             /* page size */
    hg_job_walk_args_t walk;                   /* the above, the cursor and the walk's bounds */
    char after_ns[HG_JOB_PAGE_NS_MAX + 1];     /* cursor namespace; "" for the first page */
    char after_name[HG_JOB_PAGE_NAME_MAX + 1]; /* cursor name */
    hg_job_walk_t page;                        /* out: the page (job_walk.h) */
    json_t *last_runs;                         /* out: job id (text) -> last run */
} s_page_op_t;

/* The latest run of each job of the page, in one statement (one index
 * probe per job on runs(job_id, scheduled_at)). */
static int s_last_runs(MYSQL *db, s_page_op_t *a, char *err, size_t err_size)
{
    a->last_runs = json_object();
    json_t *jobs = a->page.jobs;
    size_t n = json_array_size(jobs);
    if (n == 0) return 0;
    size_t cap = n * 256 + 64, len = 0;
    char *sql = malloc(cap);
    if (!sql) return HG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_int_t id = json_integer_value(json_object_get(json_array_get(jobs, i), "id"));
        len += (size_t) snprintf(
            sql + len, cap - len,
            "%s(SELECT job_id, status, CAST(ROUND(UNIX_TIMESTAMP(scheduled_at) * 1000) AS SIGNED),"
            " TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) DIV 1000 FROM runs"
            " WHERE job_id = %lld ORDER BY scheduled_at DESC LIMIT 1)",
            i ? " UNION ALL " : "", (long long) id);
    }
    int rc = mysql_query(db, sql) ? HG_EDB : 0;
    free(sql);
    MYSQL_RES *res = rc == 0 ? mysql_store_result(db) : NULL;
    if (!res) {
        snprintf(err, err_size, "last runs: %s", mysql_error(db));
        return HG_EDB;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2]) continue;
        char at[40];
        hg_time_format_ms(strtoll(row[2], NULL, 10), at, sizeof at);
        json_object_set_new(
            a->last_runs, row[0],
            json_pack("{s:s, s:s, s:o}", "status", row[1], "scheduled_at", at, "duration_ms",
                      row[3] ? json_integer(strtoll(row[3], NULL, 10)) : json_null()));
    }
    mysql_free_result(res);
    return 0;
}

/* The page (job_walk.c bounds its work), then its jobs' last runs. */
static int s_op_page(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_page_op_t *a = arg;
    json_decref(a->page.jobs);
    json_decref(a->last_runs);
    a->last_runs = NULL;
    int rc = hg_job_walk(db, &a->walk, &a->page, err, err_size);
    return rc ? rc : s_last_runs(db, a, err, err_size);
}

bool hg_api__jobs_page_wanted(hg_api_ctx_t *c)
{
    return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "after") ||
           hg_api__arg(c, "prefix") || hg_api__arg(c, "kind") || hg_api__arg(c, "node") ||
           hg_api__arg(c, "last_run");
}

/* Query arguments of a page; false with the reply set when one is bad. */
static bool s_page_args(hg_api_ctx_t *c, s_page_op_t *a)
{
    static const char *const ident = "must be 1-%d letters, digits, '.', '_' or '-', starting "
                                     "with a letter or digit";
    char msg[300];
    long limit;
    if (hg_api__int_arg(c, "limit", S_PAGE_LIMIT_DEF, 1, S_PAGE_LIMIT_MAX, &limit)) return false;
    a->limit = (int32_t) limit;
    a->ns = hg_api__arg(c, "namespace");
    a->prefix = hg_api__arg(c, "prefix");
    a->status = hg_api__arg(c, "status");
    a->kind = hg_api__arg(c, "kind");
    a->node = hg_api__arg(c, "node");
    a->last = hg_api__arg(c, "last_run");
    const char *after = hg_api__arg(c, "after");
    const char *bad = NULL;
    if (a->ns && !hg_job_page_ident(a->ns, HG_JOB_PAGE_NS_MAX))
        bad = "namespace", snprintf(msg, sizeof msg, "namespace: ");
    else if (a->prefix && !hg_job_page_ident(a->prefix, HG_JOB_PAGE_NAME_MAX))
        bad = "prefix", snprintf(msg, sizeof msg, "prefix: ");
    if (bad) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, ident, strcmp(bad, "prefix") == 0 ? 190 : 64);
        hg_api__invalid(c, bad, msg);
        return false;
    }
    if (a->status && strcmp(a->status, "active") != 0 && strcmp(a->status, "paused") != 0 &&
        strcmp(a->status, "completed") != 0) {
        hg_api__invalid(c, "status", "status: must be one of active, paused, completed");
        return false;
    }
    if (a->kind && strcmp(a->kind, "http") != 0 && strcmp(a->kind, "plugin") != 0) {
        hg_api__invalid(c, "kind", "kind: must be http or plugin");
        return false;
    }
    if (a->node && !hg_job_page_ident(a->node, HG_JOB_PAGE_NAME_MAX)) {
        hg_api__invalid(c, "node",
                        "node: must be 1-190 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit");
        return false;
    }
    if (a->last && hg_run_status_parse(a->last) < 0) {
        hg_api__invalid(c, "last_run",
                        "last_run: must be one of running, success, failed, timeout, crashed, "
                        "lost, skipped, cancelled");
        return false;
    }
    if (after && (hg_job_page_cursor_parse(after, a->after_ns, sizeof a->after_ns, a->after_name,
                                           sizeof a->after_name) != 0 ||
                  (a->ns && strcmp(a->ns, a->after_ns) != 0))) {
        hg_api__invalid(c, "after",
                        "after: must be the \"next\" of the previous page (namespace/name, "
                        "in the namespace asked for)");
        return false;
    }
    if (!a->ns && c->who.ns[0]) a->ns = c->who.ns; /* a scoped token pages its namespace */
    return !a->ns || hg_api__in_scope(c, a->ns);
}

/* What a page shows of each job besides its definition: where it runs,
 * when it fires next (active jobs; a fixed-delay job's next fire depends
 * on its last run's end, so none), and its last run. */
static void s_page_decorate(hg_api_ctx_t *c, json_t *job, json_t *last_runs, int64_t now_ms)
{
    char node[256] = "", key[32], at[40];
    json_int_t id = json_integer_value(json_object_get(job, "id"));
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int rc = cl ? hg_cluster_job_node(cl, (uint64_t) id, node, sizeof node) : HG_EUNAVAIL;
    json_object_set_new(job, "node", rc == 0 && node[0] ? json_string(node) : json_null());
    json_t *next = json_null();
    const char *status = json_string_value(json_object_get(job, "status"));
    hg_sched_t *sched = status && strcmp(status, "active") == 0 ? s_job_sched(job) : NULL;
    if (sched && !hg_sched_is_fixed_delay(sched)) {
        int64_t t = hg_sched_next(sched, now_ms);
        if (t != HG_SCHED_NEVER && hg_time_format_ms(t, at, sizeof at) > 0) {
            json_decref(next);
            next = json_string(at);
        }
    }
    hg_sched_destroy(&sched);
    json_object_set_new(job, "next_fire", next);
    snprintf(key, sizeof key, "%lld", (long long) id);
    json_t *last = json_object_get(last_runs, key);
    json_object_set_new(job, "last_run", last ? json_incref(last) : json_null());
}

/* next, and for a page the walk's budget cut short, how far it read. */
static json_t *s_page_reply(s_page_op_t *a)
{
    const hg_job_walk_t *p = &a->page;
    char cursor[HG_JOB_PAGE_NS_MAX + HG_JOB_PAGE_NAME_MAX + 2];
    snprintf(cursor, sizeof cursor, "%s/%s", p->next_ns, p->next_name);
    json_t *reply =
        json_pack("{s:O, s:o, s:b}", "jobs", p->jobs, "next",
                  p->next_ns[0] ? json_string(cursor) : json_null(), "partial", p->partial);
    if (reply && p->partial) {
        json_object_set_new(reply, "scanned", json_integer(p->scanned));
        json_object_set_new(reply, "scanned_to", json_string(cursor));
    }
    return reply;
}

void hg_api__jobs_page(hg_api_ctx_t *c)
{
    s_page_op_t a = {.limit = S_PAGE_LIMIT_DEF};
    if (!s_page_args(c, &a)) return;
    a.walk = (hg_job_walk_args_t){.ns = a.ns,
                                  .prefix = a.prefix,
                                  .status = a.status,
                                  .kind = a.kind,
                                  .node = a.node,
                                  .last = a.last,
                                  .after_ns = a.after_ns,
                                  .after_name = a.after_name,
                                  .limit = a.limit};
    hg_api__scan_bounds(c->api, &a.walk.budget_ms, &a.walk.window);
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_page, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else {
        int64_t now = hg_now_ms();
        size_t i;
        json_t *job;
        json_array_foreach(a.page.jobs, i, job) s_page_decorate(c, job, a.last_runs, now);
        if (!c->reveal) hg_redact_jobs(a.page.jobs);
        hg_api__reply(c, MHD_HTTP_OK, s_page_reply(&a));
    }
    json_decref(a.page.jobs);
    json_decref(a.last_runs);
}

/* ---------------------------------------------------------------------------
 * GET /api/v1/runs/stats?window=1h
 * ------------------------------------------------------------------------ */

typedef struct {
    int64_t since_ms, bucket_ms; /* window start, bucket width */
    const char *ns;              /* the caller's scope, or NULL */
    json_t *buckets;             /* out: bucket start (ms, text) -> {status: count} */
    json_t *failures, *late;     /* out: arrays of runs */
} s_stats_op_t;

static int s_query(MYSQL *db, const char *sql, MYSQL_RES **res, char *err, size_t err_size)
{
    if (mysql_query(db, sql) == 0 && (*res = mysql_store_result(db))) return 0;
    snprintf(err, err_size, "run stats: %s", mysql_error(db));
    return HG_EDB;
}

/* Runs of a list query: job_name, namespace, node, status, scheduled_at
 * (ms), started_at (ms), error. */
static int s_stats_runs(MYSQL *db, const char *sql, json_t *out, char *err, size_t err_size)
{
    MYSQL_RES *res;
    int rc = s_query(db, sql, &res, err, err_size);
    if (rc) return rc;
    MYSQL_ROW row;
    char at[40], started[40];
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[2] || !row[3] || !row[4]) continue;
        hg_time_format_ms(strtoll(row[4], NULL, 10), at, sizeof at);
        if (row[5]) hg_time_format_ms(strtoll(row[5], NULL, 10), started, sizeof started);
        json_t *run = json_pack("{s:s, s:o, s:s, s:s, s:s, s:o}", "job", row[0], "namespace",
                                row[1] ? json_string(row[1]) : json_null(), "node", row[2],
                                "status", row[3], "scheduled_at", at, "started_at",
                                row[5] ? json_string(started) : json_null());
        /* The error text is the job's own, possibly not UTF-8: dropped
         * rather than refused when jansson cannot take it. */
        if (run && row[6]) json_object_set_new(run, "error", json_string(row[6]));
        if (run) json_array_append_new(out, run);
    }
    mysql_free_result(res);
    return 0;
}

static int s_op_stats(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_stats_op_t *a = arg;
    char scope[200] = "", since[64], sql[1400];
    if (a->ns) {
        char esc[140];
        mysql_real_escape_string(db, esc, a->ns, (unsigned long) strlen(a->ns));
        snprintf(scope, sizeof scope,
                 " AND r.job_id IN (SELECT id FROM jobs WHERE namespace = '%s')", esc);
    }
    snprintf(since, sizeof since, "FROM_UNIXTIME(%lld.%03d)", (long long) (a->since_ms / 1000),
             (int) (a->since_ms % 1000));
    snprintf(sql, sizeof sql,
             "SELECT CAST(FLOOR(UNIX_TIMESTAMP(r.scheduled_at) * 1000 / %lld) * %lld AS SIGNED),"
             " r.status, COUNT(*)"
             " FROM runs r WHERE r.scheduled_at >= %s%s GROUP BY 1, 2",
             (long long) a->bucket_ms, (long long) a->bucket_ms, since, scope);
    MYSQL_RES *res;
    int rc = s_query(db, sql, &res, err, err_size);
    if (rc) return rc;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2]) continue;
        json_t *b = json_object_get(a->buckets, row[0]);
        if (!b) json_object_set_new(a->buckets, row[0], b = json_object());
        json_object_set_new(b, row[1], json_integer(strtoll(row[2], NULL, 10)));
    }
    mysql_free_result(res);
    static const char *const cols =
        "SELECT r.job_name, j.namespace, r.node, r.status,"
        " CAST(ROUND(UNIX_TIMESTAMP(r.scheduled_at) * 1000) AS SIGNED),"
        " CAST(ROUND(UNIX_TIMESTAMP(r.started_at) * 1000) AS SIGNED), LEFT(r.error, 200)"
        " FROM runs r LEFT JOIN jobs j ON j.id = r.job_id";
    snprintf(sql, sizeof sql,
             "%s WHERE r.status IN ('failed', 'timeout', 'crashed', 'lost') AND"
             " r.scheduled_at >= %s%s ORDER BY r.scheduled_at DESC LIMIT %d",
             cols, since, scope, S_STATS_LIST);
    rc = s_stats_runs(db, sql, a->failures, err, err_size);
    if (rc) return rc;
    snprintf(sql, sizeof sql,
             "%s WHERE r.scheduled_at >= %s AND r.started_at > r.scheduled_at + INTERVAL %d"
             " MICROSECOND%s ORDER BY r.scheduled_at DESC LIMIT %d",
             cols, since, S_LATE_MS * 1000, scope, S_STATS_LIST);
    return s_stats_runs(db, sql, a->late, err, err_size);
}

void hg_api__runs_stats(hg_api_ctx_t *c)
{
    int64_t window_ms = 3600 * 1000;
    const char *window = hg_api__arg(c, "window");
    if (window && (hg_duration_parse_ms(window, &window_ms) != 0 || window_ms < 60000 ||
                   window_ms > S_STATS_WINDOW_MAX)) {
        hg_api__invalid(c, "window", "window: must be a duration from 1m to 24h (e.g. 1h)");
        return;
    }
    /* Sixty buckets, of a minute at least. */
    int64_t bucket_ms = window_ms / 60 < 60000 ? 60000 : window_ms / 60;
    int64_t now = hg_now_ms();
    s_stats_op_t a = {.since_ms = (now - window_ms) / bucket_ms * bucket_ms,
                      .bucket_ms = bucket_ms,
                      .ns = c->who.ns[0] ? c->who.ns : NULL,
                      .buckets = json_object(),
                      .failures = json_array(),
                      .late = json_array()};
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_stats, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else {
        /* Every bucket of the window, empty ones too, oldest first. */
        json_t *list = json_array();
        char key[32], at[40];
        for (int64_t t = a.since_ms; t <= now; t += bucket_ms) {
            snprintf(key, sizeof key, "%lld", (long long) t);
            json_t *counts = json_object_get(a.buckets, key);
            hg_time_format_ms(t, at, sizeof at);
            json_array_append_new(list, json_pack("{s:s, s:o}", "at", at, "counts",
                                                  counts ? json_incref(counts) : json_object()));
        }
        hg_api__reply(c, MHD_HTTP_OK,
                      json_pack("{s:I, s:o, s:O, s:O}", "bucket_s", (json_int_t) (bucket_ms / 1000),
                                "buckets", list, "failures", a.failures, "late", a.late));
    }
    json_decref(a.buckets);
    json_decref(a.failures);
    json_decref(a.late);
}

/* ---------------------------------------------------------------------------
 * Namespaces of listed runs (GET /api/v1/runs)
 * ------------------------------------------------------------------------ */

/* The runs table keeps the job's id and name, not its namespace: one
 * statement looks up the namespaces of a page's jobs by primary key. */
static int s_op_run_ns(MYSQL *db, void *arg, char *err, size_t err_size)
{
    json_t *runs = arg;
    size_t n = json_array_size(runs), cap = n * 24 + 64, len = 0;
    if (n == 0) return 0;
    char *sql = malloc(cap);
    if (!sql) return HG_ENOMEM;
    len +=
        (size_t) snprintf(sql, cap, "SELECT CAST(id AS CHAR), namespace FROM jobs WHERE id IN (");
    for (size_t i = 0; i < n; i++)
        len += (size_t) snprintf(
            sql + len, cap - len, "%s%lld", i ? "," : "",
            (long long) json_integer_value(json_object_get(json_array_get(runs, i), "job_id")));
    snprintf(sql + len, cap - len, ")");
    MYSQL_RES *res = NULL;
    int rc = mysql_query(db, sql) == 0 && (res = mysql_store_result(db)) ? 0 : HG_EDB;
    free(sql);
    if (rc) {
        snprintf(err, err_size, "run namespaces: %s", mysql_error(db));
        return rc;
    }
    json_t *by_id = json_object();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0] && row[1]) json_object_set_new(by_id, row[0], json_string(row[1]));
    mysql_free_result(res);
    size_t i;
    json_t *run;
    char key[32];
    json_array_foreach(runs, i, run)
    {
        snprintf(key, sizeof key, "%lld",
                 (long long) json_integer_value(json_object_get(run, "job_id")));
        json_t *ns = json_object_get(by_id, key);
        json_object_set_new(run, "namespace", ns ? json_incref(ns) : json_null());
    }
    json_decref(by_id);
    return 0;
}

void hg_api__runs_add_namespace(hg_api_ctx_t *c, json_t *runs)
{
    char err[1024];
    if (hg_api__with_db(c->api, s_op_run_ns, runs, err, sizeof err) != 0)
        hg_debug("api: %s", err); /* the list goes out without them */
}
