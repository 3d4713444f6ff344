// hg-test-sources: master/job_walk.c master/job_page.c master/job_db.c master/job.c master/db.c
// hg-test-sources: master/deps.c master/deps_db.c master/job_policy.c master/job_ext.c
// hg-test-sources: master/routing.c tests/unit/db_fixture.c
/* test_job_walk: the bounded walk of a filtered job page (master/job_walk.c)
 * in its own database of the private MariaDB (hourglass_test_job_walk,
 * recreated on every run), on a catalogue of 3,000 jobs written in one
 * INSERT ... SELECT:
 *
 * - a rare filter (kind=plugin, 3 matches) with windows of 100 keys and a
 *   zero budget answers after one window: partial, no job or few, next at
 *   the 100th key, and scanned 100;
 * - following next to the end gives exactly the jobs a plain SQL query
 *   gives, in order, each once (kind, last_run=success, a node past the
 *   few-candidates bound, a status beside a prefix in every namespace, a
 *   namespace), whatever the page size;
 * - with a budget, one call walks many windows; without a filter off the
 *   index, pages are never partial. */
#include "db_fixture.h"
#include "hg_error.h"
#include "hg_log.h"
#include "job.h"
#include "job_db.h"
#include "job_walk.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_JOBS 3000

static struct {
    hg_db_params_t db; /* the test database */
    MYSQL *conn;       /* the test's own connection */
} s_fx;

static void s_sql(const char *sql)
{
    if (mysql_query(s_fx.conn, sql) != 0) fail_msg("%s: %s", sql, mysql_error(s_fx.conn));
}

/* One job through the validator, then S_JOBS - 1 copies of its row:
 * job-NNNNN, in namespace "a" (two in three) or "b"; every 997th a
 * plug-in job, every 10th paused; node "n1" holds every 2nd, "n2" every
 * 5th; every 7th has a successful run, every 21st a later failed one. */
static void s_catalogue(void)
{
    char field[256], msg[1024], err[1024];
    json_t *body = json_pack("{s:s, s:s, s:s, s:{s:s}}", "namespace", "a", "name", "template",
                             "schedule", "@every 1h", "http", "url", "http://127.0.0.1:9/");
    json_t *job = hg_job_validate(body, field, sizeof field, msg, sizeof msg);
    assert_non_null(job);
    json_t *jobs = json_pack("[o]", job), *stored = NULL;
    size_t failed = 0;
    assert_int_equal(hg_job_db_create(s_fx.conn, NULL, jobs, &stored, &failed, err, sizeof err), 0);
    json_decref(jobs);
    json_decref(stored);
    json_decref(body);
    char q[1400];
    snprintf(q, sizeof q,
             "INSERT INTO jobs (namespace, name, kind, schedule, timezone, status, misfire,"
             " timeout_ms, spec) SELECT IF(seq %% 3 = 0, 'b', 'a'), CONCAT('job-', LPAD(seq, 5,"
             " '0')), IF(seq %% 997 = 0, 'plugin', t.kind), t.schedule, t.timezone,"
             " IF(seq %% 10 = 0, 'paused', 'active'), t.misfire, t.timeout_ms, t.spec"
             " FROM seq_1_to_%d JOIN jobs t ON t.name = 'template'",
             S_JOBS - 1);
    s_sql(q);
    s_sql("INSERT INTO assignments (job_id, node, epoch, assigned_at) SELECT id,"
          " IF(CAST(SUBSTRING(name, 5) AS UNSIGNED) % 2 = 0, 'n1', 'n2'), 1, UTC_TIMESTAMP(3)"
          " FROM jobs WHERE name LIKE 'job-%' AND (CAST(SUBSTRING(name, 5) AS UNSIGNED) % 2 = 0"
          " OR CAST(SUBSTRING(name, 5) AS UNSIGNED) % 5 = 0)");
    static const char *const run =
        "INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at,"
        " finished_at, status) SELECT UNHEX(LPAD(CONV(id * 4 + %d, 10, 16), 32, '0')), id, name,"
        " 'n1', UTC_TIMESTAMP(3) - INTERVAL %d MINUTE, UTC_TIMESTAMP(3) - INTERVAL %d MINUTE,"
        " UTC_TIMESTAMP(3) - INTERVAL %d MINUTE, '%s' FROM jobs WHERE name LIKE 'job-%%'"
        " AND CAST(SUBSTRING(name, 5) AS UNSIGNED) %% %d = 0";
    snprintf(q, sizeof q, run, 1, 20, 20, 20, "success", 7);
    s_sql(q);
    snprintf(q, sizeof q, run, 2, 10, 10, 10, "failed", 21);
    s_sql(q);
    s_sql("INSERT INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE status = 'failed'");
}

static int s_setup(void **state)
{
    (void) state;
    hg_log_init("test_job_walk", getenv("HG_TEST_VERBOSE") ? HG_LOG_DEBUG : HG_LOG_ERROR);
    s_fx.conn = hg_test_db_open("test_job_walk", "hourglass_test_job_walk", &s_fx.db);
    if (!s_fx.conn) return -1;
    s_catalogue();
    return 0;
}

static int s_teardown(void **state)
{
    (void) state;
    hg_db_close(&s_fx.conn);
    return 0;
}

/* "ns/name" of each row of sql, newline-terminated, into a new string. */
static char *s_expected(const char *sql)
{
    s_sql(sql);
    MYSQL_RES *res = mysql_store_result(s_fx.conn);
    assert_non_null(res);
    size_t cap = 64, len = 0;
    char *out = calloc(1, cap);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        size_t need = strlen(row[0]) + strlen(row[1]) + 3;
        if (len + need > cap) out = realloc(out, cap = (len + need) * 2);
        len += (size_t) sprintf(out + len, "%s/%s\n", row[0], row[1]);
    }
    mysql_free_result(res);
    return out;
}

/* What a walk saw: every job, the calls it took and how many were
 * partial. */
typedef struct {
    char *keys;     /* "ns/name\n" of each job, in the order read */
    int calls;      /* hg_job_walk calls */
    int partials;   /* of them, partial answers */
    int short_full; /* answers neither partial nor last with fewer than limit jobs */
} s_seen_t;

/* Follow next from the start until there is none. */
static s_seen_t s_walk_all(hg_job_walk_args_t args)
{
    s_seen_t seen = {.keys = calloc(1, 1)};
    size_t len = 0;
    char at_ns[HG_JOB_PAGE_NS_MAX + 1] = "", at_name[HG_JOB_PAGE_NAME_MAX + 1] = "";
    for (;;) {
        args.after_ns = at_ns;
        args.after_name = at_name;
        hg_job_walk_t page;
        char err[1024];
        int rc = hg_job_walk(s_fx.conn, &args, &page, err, sizeof err);
        if (rc != 0) fail_msg("walk: %s (%s)", hg_strerror(rc), err);
        seen.calls++;
        seen.partials += page.partial;
        assert_true(json_array_size(page.jobs) <= (size_t) args.limit);
        if (!page.partial && page.next_ns[0] && json_array_size(page.jobs) < (size_t) args.limit)
            seen.short_full++;
        size_t i;
        json_t *job;
        json_array_foreach(page.jobs, i, job)
        {
            const char *ns = json_string_value(json_object_get(job, "namespace"));
            const char *name = json_string_value(json_object_get(job, "name"));
            seen.keys = realloc(seen.keys, len + strlen(ns) + strlen(name) + 3);
            len += (size_t) sprintf(seen.keys + len, "%s/%s\n", ns, name);
        }
        json_decref(page.jobs);
        if (!page.next_ns[0]) break;
        snprintf(at_ns, sizeof at_ns, "%s", page.next_ns);
        snprintf(at_name, sizeof at_name, "%s", page.next_name);
        if (seen.calls > 2 * S_JOBS) fail_msg("the walk does not end");
    }
    return seen;
}

/* The walk of args, page by page, equals the jobs sql lists. */
static void s_check(hg_job_walk_args_t args, const char *sql, int min_partials)
{
    char *want = s_expected(sql);
    s_seen_t seen = s_walk_all(args);
    assert_string_equal(seen.keys, want);
    assert_int_equal(seen.short_full, 0);
    if (seen.partials < min_partials)
        fail_msg("%d partial pages of %d calls, want %d at least", seen.partials, seen.calls,
                 min_partials);
    free(want);
    free(seen.keys);
}

#define S_ORDER " ORDER BY namespace, name"
#define S_LAST_RUN                                                                                 \
    "(SELECT r.status FROM runs r WHERE r.job_id = jobs.id ORDER BY r.scheduled_at DESC LIMIT 1)"

static void test_rare_filter_answers_partial(void **state)
{
    (void) state;
    hg_job_walk_args_t args = {.kind = "plugin", .limit = 50, .window = 100};
    hg_job_walk_t page;
    char err[1024];
    assert_int_equal(hg_job_walk(s_fx.conn, &args, &page, err, sizeof err), 0);
    /* One window of 100 keys: a/job-00001 .. a/job-00149 (two in three in
     * "a"), and no plug-in job among them. */
    assert_true(page.partial);
    assert_int_equal(page.scanned, 100);
    assert_int_equal(json_array_size(page.jobs), 0);
    assert_string_equal(page.next_ns, "a");
    assert_string_equal(page.next_name, "job-00149");
    json_decref(page.jobs);

    /* Every window of the walk after it, to the end: the 3 plug-in jobs. */
    s_check(args, "SELECT namespace, name FROM jobs WHERE kind = 'plugin'" S_ORDER, 25);
    /* With a budget, one call reads many windows (all 30 here, unless the
     * machine is slower than 100 ms a window). */
    args.budget_ms = 3000;
    s_seen_t seen = s_walk_all(args);
    assert_true(seen.calls < 10);
    free(seen.keys);
}

static void test_walks_give_the_sql_answer(void **state)
{
    (void) state;
    /* A frequent filter: full pages, one window each, never short. */
    s_check((hg_job_walk_args_t){.kind = "http", .limit = 50, .window = 100},
            "SELECT namespace, name FROM jobs WHERE kind = 'http'" S_ORDER, 0);
    /* last_run=success always walks: every 7th job but every 21st. */
    s_check((hg_job_walk_args_t){.last = "success", .limit = 20, .window = 100},
            "SELECT namespace, name FROM jobs WHERE " S_LAST_RUN " = 'success'" S_ORDER, 1);
    /* A node with more jobs (300) than the few-candidates bound, and a
     * kind: about 5 matches a window, pages of 7. */
    s_check(
        (hg_job_walk_args_t){
            .node = "n2", .kind = "http", .limit = 7, .window = 50, .few_max = 100},
        "SELECT namespace, name FROM jobs WHERE kind = 'http' AND id IN (SELECT job_id"
        " FROM assignments WHERE node = 'n2')" S_ORDER,
        10);
    /* The same node as few candidates: one statement, never partial. */
    s_check((hg_job_walk_args_t){.node = "n2", .kind = "http", .limit = 300, .window = 50},
            "SELECT namespace, name FROM jobs WHERE kind = 'http' AND id IN (SELECT job_id"
            " FROM assignments WHERE node = 'n2')" S_ORDER,
            0);
    /* A status beside a prefix in every namespace: (name, namespace)
     * order, the status checked row by row. */
    s_check((hg_job_walk_args_t){.status = "paused", .prefix = "job-01", .limit = 6, .window = 30},
            "SELECT namespace, name FROM jobs WHERE status = 'paused' AND name LIKE 'job-01%'"
            " ORDER BY name, namespace",
            1);
    /* One namespace, a status, a last run of failure (few: read first). */
    s_check(
        (hg_job_walk_args_t){
            .ns = "b", .status = "active", .last = "failed", .limit = 9, .window = 40},
        "SELECT namespace, name FROM jobs WHERE namespace = 'b' AND status = 'active' "
        "AND " S_LAST_RUN " = 'failed'" S_ORDER,
        0);
    /* The same past the few bound: walked in windows of namespace b. */
    s_check((hg_job_walk_args_t){.ns = "b",
                                 .status = "active",
                                 .last = "failed",
                                 .limit = 9,
                                 .window = 40,
                                 .few_max = 10},
            "SELECT namespace, name FROM jobs WHERE namespace = 'b' AND status = 'active' "
            "AND " S_LAST_RUN " = 'failed'" S_ORDER,
            1);
    /* Only index columns: a plain keyset page, never partial. */
    s_check((hg_job_walk_args_t){.ns = "a", .status = "paused", .limit = 33, .window = 10},
            "SELECT namespace, name FROM jobs WHERE namespace = 'a' AND status = 'paused'" S_ORDER,
            0);
}

static void test_bad_arguments(void **state)
{
    (void) state;
    hg_job_walk_t page;
    char err[256];
    hg_job_walk_args_t args = {.limit = 0};
    assert_int_equal(hg_job_walk(s_fx.conn, &args, &page, err, sizeof err), HG_EINVAL);
    json_decref(page.jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rare_filter_answers_partial),
        cmocka_unit_test(test_walks_give_the_sql_answer),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
