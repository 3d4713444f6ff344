/* job_walk: a keyset page of jobs read in bounded windows (job_walk.h). */
#include "job_walk.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"
#include "job_db.h"

#include <stdio.h>
#include <string.h>

/* Candidates of the node and last-run filters: the jobs the node holds
 * (assignments), the jobs with a run of that status (runs_by_status, which
 * holds every run but the successes, so it stays small). */
#define S_NODE_JOBS " id IN (SELECT job_id FROM assignments WHERE node = ?)"
#define S_STATUS_JOBS                                                                              \
    " id IN (SELECT r.job_id FROM runs_by_status s JOIN runs r ON r.run_id = s.run_id"             \
    " WHERE s.status = ?)"
#define S_LAST_STATUS                                                                              \
    " (SELECT r.status FROM runs r WHERE r.job_id = jobs.id ORDER BY r.scheduled_at DESC"          \
    " LIMIT 1) = ?"

#define S_BINDS_MAX 24

/* A statement's tail being built, with its parameters. */
typedef struct {
    char sql[1600];                  /* tail after "FROM jobs" */
    MYSQL_BIND b[S_BINDS_MAX];       /* parameters, in order */
    unsigned long lens[S_BINDS_MAX]; /* their lengths */
    size_t n;                        /* parameters bound */
    int32_t count;                   /* the LIMIT (rows) or OFFSET (window end) */
    bool overflow;                   /* sql or b ran out of room (a programmer error) */
} s_sql_t;

typedef enum { S_FEW_NONE, S_FEW_NODE, S_FEW_LAST } s_few_t;

/* One walk: the arguments, how the page is read, and where it is. */
typedef struct {
    const hg_job_walk_args_t *a;             /* what to read */
    const char *index;                       /* forced index; NULL: the optimizer's pick */
    bool by_name;                            /* order (name, namespace), else (namespace, name) */
    s_few_t few;                             /* a filter with few candidates, read first */
    char like[400];                          /* LIKE pattern of the prefix */
    char at_ns[HG_JOB_PAGE_NS_MAX + 1];      /* lower bound (exclusive); "" from the start */
    char at_name[HG_JOB_PAGE_NAME_MAX + 1];  /* its name */
    char end_ns[HG_JOB_PAGE_NS_MAX + 1];     /* upper bound (inclusive) of the window; "" none */
    char end_name[HG_JOB_PAGE_NAME_MAX + 1]; /* its name */
} s_walk_t;

static void s_add(s_sql_t *q, const char *sql)
{
    size_t used = strlen(q->sql);
    if (used + strlen(sql) >= sizeof q->sql)
        q->overflow = true;
    else
        memcpy(q->sql + used, sql, strlen(sql) + 1);
}

/* Append sql with one "?" bound to value. */
static void s_cond(s_sql_t *q, const char *sql, const char *value)
{
    s_add(q, sql);
    if (q->n >= S_BINDS_MAX) {
        q->overflow = true;
        return;
    }
    hg_db_bind_str(&q->b[q->n], value, &q->lens[q->n]);
    q->n++;
}

/* Keys past (ns, name) in the walk's order, or up to it (upto: inclusive). */
static void s_bound(s_walk_t *w, s_sql_t *q, const char *ns, const char *name, bool upto)
{
    const char *cmp = upto ? " <" : " >", *eq = upto ? " <=" : " >";
    char sql[160];
    if (w->a->ns && !w->by_name) { /* one namespace: the name alone */
        snprintf(sql, sizeof sql, " AND name%s ?", eq);
        s_cond(q, sql, name);
    } else if (w->by_name) {
        snprintf(sql, sizeof sql, " AND (name%s ?", cmp);
        s_cond(q, sql, name);
        s_cond(q, " OR (name = ?", name);
        snprintf(sql, sizeof sql, " AND namespace%s ?))", eq);
        s_cond(q, sql, ns);
    } else {
        snprintf(sql, sizeof sql, " AND (namespace%s ?", cmp);
        s_cond(q, sql, ns);
        s_cond(q, " OR (namespace = ?", ns);
        snprintf(sql, sizeof sql, " AND name%s ?))", eq);
        s_cond(q, sql, name);
    }
}

/* The filters a row must pass besides the index range: kind, node, last
 * run, and a status when the order's index does not start with it. */
static bool s_has_residual(const s_walk_t *w)
{
    const hg_job_walk_args_t *a = w->a;
    return a->kind || a->node || a->last || (a->status && w->by_name);
}

/* The tail of a page's statement. keys_only: the window's end key (the
 * range and the cursor only, read from the index alone: LIMIT 1 OFFSET
 * window - 1); else the rows (the window's bounds and every filter, LIMIT
 * count). */
static void s_build(s_walk_t *w, s_sql_t *q, bool keys_only, int32_t count)
{
    const hg_job_walk_args_t *a = w->a;
    memset(q, 0, sizeof *q);
    if (w->index) snprintf(q->sql, sizeof q->sql, "FORCE INDEX (%s) ", w->index);
    s_add(q, "WHERE 1 = 1");
    if (a->ns) s_cond(q, " AND namespace = ?", a->ns);
    if (a->status && !w->by_name) s_cond(q, " AND status = ?", a->status);
    if (a->prefix) s_cond(q, " AND name LIKE ?", w->like);
    if (w->at_ns[0]) s_bound(w, q, w->at_ns, w->at_name, false);
    if (!keys_only) {
        if (w->end_ns[0]) s_bound(w, q, w->end_ns, w->end_name, true);
        if (a->status && w->by_name) s_cond(q, " AND status = ?", a->status);
        if (a->kind) s_cond(q, " AND kind = ?", a->kind);
        if (a->node) s_cond(q, " AND" S_NODE_JOBS, a->node);
        if (w->few == S_FEW_LAST) s_cond(q, " AND" S_STATUS_JOBS, a->last);
        if (a->last) s_cond(q, " AND" S_LAST_STATUS, a->last);
    }
    s_add(q, w->by_name ? " ORDER BY name, namespace" : " ORDER BY namespace, name");
    s_add(q, keys_only ? " LIMIT 1 OFFSET ?" : " LIMIT ?");
    q->count = count;
    if (q->n < S_BINDS_MAX) {
        q->b[q->n].buffer_type = MYSQL_TYPE_LONG;
        q->b[q->n].buffer = &q->count;
        q->n++;
    } else {
        q->overflow = true;
    }
}

/* ---------------------------------------------------------------------------
 * Few candidates: a node or last-run filter that a page reads first
 * ------------------------------------------------------------------------ */

static int s_count_upto(MYSQL *db, const char *inner, const char *value, long upto, long *count,
                        char *err, size_t err_size)
{
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM (%s LIMIT %ld) t", inner, upto + 1);
    MYSQL_BIND b[1], out[1];
    unsigned long len, out_len;
    long long n = 0;
    my_bool is_null = 0;
    memset(b, 0, sizeof b);
    memset(out, 0, sizeof out);
    hg_db_bind_str(&b[0], value, &len);
    hg_db_bind_out(&out[0], MYSQL_TYPE_LONGLONG, &n, 0, &out_len, &is_null);
    MYSQL_STMT *st = hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    int rc = mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st) ||
                     mysql_stmt_bind_result(st, out) || mysql_stmt_fetch(st)
                 ? HG_EDB
                 : 0;
    if (rc) snprintf(err, err_size, "job filter: %s", mysql_stmt_error(st));
    mysql_stmt_close(st);
    *count = (long) n;
    return rc;
}

/* Which filter, if any, has few candidates (the node's first). */
static int s_few_candidates(MYSQL *db, s_walk_t *w, char *err, size_t err_size)
{
    const hg_job_walk_args_t *a = w->a;
    w->few = S_FEW_NONE;
    long n = 0, few = a->few_max > 0 ? a->few_max : HG_JOB_WALK_FEW_CANDIDATES;
    int rc = 0;
    if (a->node) {
        rc = s_count_upto(db, "SELECT job_id FROM assignments WHERE node = ?", a->node, few, &n,
                          err, err_size);
        if (rc == 0 && n <= few) w->few = S_FEW_NODE;
    }
    if (rc == 0 && !w->few && a->last && strcmp(a->last, "success") != 0) {
        rc = s_count_upto(db, "SELECT run_id FROM runs_by_status WHERE status = ?", a->last, few,
                          &n, err, err_size);
        if (rc == 0 && n <= few) w->few = S_FEW_LAST;
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/* The key `window` keys past the walk's position into w->end_*, or ""
 * when the range ends before (the last window). Reads the index alone. */
static int s_window_end(MYSQL *db, s_walk_t *w, int32_t window, char *err, size_t err_size)
{
    s_sql_t q;
    s_build(w, &q, true, window - 1);
    w->end_ns[0] = w->end_name[0] = '\0';
    char sql[1800];
    if (q.overflow || (size_t) snprintf(sql, sizeof sql, "SELECT namespace, name FROM jobs %s",
                                        q.sql) >= sizeof sql) {
        snprintf(err, err_size, "job walk: statement too long");
        return HG_EINVAL;
    }
    MYSQL_STMT *st = hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    MYSQL_BIND out[2];
    unsigned long lens[2];
    my_bool nulls[2];
    memset(out, 0, sizeof out);
    hg_db_bind_out(&out[0], MYSQL_TYPE_STRING, w->end_ns, sizeof w->end_ns, &lens[0], &nulls[0]);
    hg_db_bind_out(&out[1], MYSQL_TYPE_STRING, w->end_name, sizeof w->end_name, &lens[1],
                   &nulls[1]);
    int rc = 0;
    if (mysql_stmt_bind_param(st, q.b) || mysql_stmt_execute(st) ||
        mysql_stmt_bind_result(st, out)) {
        rc = HG_EDB;
    } else {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) {
            w->end_ns[0] = w->end_name[0] = '\0';
        } else if (f != 0 || nulls[0] || nulls[1]) { /* a key past the column sizes: corrupt */
            rc = HG_EDB;
            w->end_ns[0] = w->end_name[0] = '\0';
        }
    }
    if (rc) snprintf(err, err_size, "job walk: %s", mysql_stmt_error(st));
    mysql_stmt_close(st);
    return rc;
}

/* Append the jobs of the window (or the whole range past the position
 * when w->end_ns is "") to page->jobs, at most count of them. */
static int s_read_rows(MYSQL *db, s_walk_t *w, int32_t count, hg_job_walk_t *page, char *err,
                       size_t err_size)
{
    s_sql_t q;
    s_build(w, &q, false, count);
    if (q.overflow) {
        snprintf(err, err_size, "job walk: statement too long");
        return HG_EINVAL;
    }
    json_t *rows = NULL;
    int rc = hg_job_db_select(db, q.sql, q.b, &rows, err, err_size);
    if (rc == 0) json_array_extend(page->jobs, rows);
    json_decref(rows);
    return rc;
}

static void s_set_next(hg_job_walk_t *page, const char *ns, const char *name)
{
    snprintf(page->next_ns, sizeof page->next_ns, "%s", ns ? ns : "");
    snprintf(page->next_name, sizeof page->next_name, "%s", name ? name : "");
}

/* A page holding limit + 1 jobs is cut to limit; next is its last job. */
static bool s_cut_full(hg_job_walk_t *page, int32_t limit)
{
    if (json_array_size(page->jobs) <= (size_t) limit) return false;
    while (json_array_size(page->jobs) > (size_t) limit)
        json_array_remove(page->jobs, json_array_size(page->jobs) - 1);
    json_t *last = json_array_get(page->jobs, (size_t) limit - 1);
    s_set_next(page, json_string_value(json_object_get(last, "namespace")),
               json_string_value(json_object_get(last, "name")));
    return true;
}

/* Windows until the page is full, the range ends or the budget is spent. */
static int s_walk_windows(MYSQL *db, s_walk_t *w, hg_job_walk_t *page, char *err, size_t err_size)
{
    const hg_job_walk_args_t *a = w->a;
    int32_t window = a->window > 0 ? a->window : HG_JOB_WALK_WINDOW_DEFAULT;
    int64_t start_ms = hg_mono_ms();
    for (;;) {
        int rc = s_window_end(db, w, window, err, err_size);
        int32_t want = a->limit + 1 - (int32_t) json_array_size(page->jobs);
        if (rc == 0) rc = s_read_rows(db, w, want, page, err, err_size);
        if (rc) return rc;
        if (s_cut_full(page, a->limit) || !w->end_ns[0]) return 0; /* full, or the range ended */
        page->scanned += window;
        memcpy(w->at_ns, w->end_ns, sizeof w->at_ns);
        memcpy(w->at_name, w->end_name, sizeof w->at_name);
        if (hg_mono_ms() - start_ms >= a->budget_ms) {
            /* A full page is complete even though whether more follow is
             * not known yet: next says where to look, as for any page. */
            page->partial = json_array_size(page->jobs) < (size_t) a->limit;
            s_set_next(page, w->at_ns, w->at_name);
            return 0;
        }
    }
}

int hg_job_walk(MYSQL *db, const hg_job_walk_args_t *args, hg_job_walk_t *page, char *err,
                size_t err_size)
{
    memset(page, 0, sizeof *page);
    page->jobs = json_array();
    if (!db || !args || args->limit < 1 || !page->jobs) return HG_EINVAL;
    s_walk_t w = {.a = args};
    /* A name prefix across namespaces pages by (name, namespace) on
     * ix_jobs_name: in (namespace, name) order the matches of one prefix
     * may lie anywhere in a namespace of a million jobs. */
    w.by_name = args->prefix && !args->ns;
    if (args->prefix && hg_job_page_like(args->prefix, w.like, sizeof w.like) != 0)
        return HG_EINVAL;
    if (args->after_ns && args->after_ns[0] && args->after_name) {
        snprintf(w.at_ns, sizeof w.at_ns, "%s", args->after_ns);
        snprintf(w.at_name, sizeof w.at_name, "%s", args->after_name);
    }
    int rc = s_few_candidates(db, &w, err, err_size);
    if (rc) return rc;
    /* The index is named: with a status, MariaDB prefers a ref on the
     * status alone and walks every job of that status up to the cursor (a
     * second at a million paused jobs) rather than the range. With few
     * candidates of a node or last-run filter, none is: the candidates are
     * read through their own index and sorted, at most
     * HG_JOB_WALK_FEW_CANDIDATES of them, in one statement. */
    if (w.few == S_FEW_NONE)
        w.index = w.by_name      ? "ix_jobs_name"
                  : args->status ? "ix_jobs_status_name"
                                 : "uq_jobs_name";
    if (w.few != S_FEW_NONE || !s_has_residual(&w)) {
        /* Every key of the range matches (or the candidates are few):
         * limit + 1 rows is all the statement reads (sorts). */
        rc = s_read_rows(db, &w, args->limit + 1, page, err, err_size);
        if (rc == 0) s_cut_full(page, args->limit);
        return rc;
    }
    return s_walk_windows(db, &w, page, err, err_size);
}
