// hg-test-sources: master/metrics.c master/retention.c master/db.c
/* Unit tests for master/metrics.c and the parser of retention.namespaces
 * (master/retention.c): per-job series stop at job_series_max and the
 * rest add up under job="_other"; a job that left the table keeps
 * counting in its own series; histograms are cumulative and end in +Inf
 * equal to _count; skip reasons; label values are escaped; the parser
 * names a bad entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_error.h"
#include "metrics.h"
#include "retention.h"

static void s_run(hg_metrics_t *m, const char *ns, uint64_t id, const char *job, int status,
                  int64_t dur_ms)
{
    hg_run_t r = {0};
    r.job_id = id;
    r.job_name = (char *) job;
    r.status = status;
    r.reason = "schedule";
    r.scheduled_ms = 1000000;
    r.started_ms = 1000002;
    r.finished_ms = r.started_ms + dur_ms;
    hg_metrics_runs_begin(m);
    hg_metrics_run(m, ns, &r, true);
    hg_metrics_run(m, ns, &r, false);
    hg_metrics_runs_end(m);
}

/* The value of the sample line starting with prefix (name{labels}), -1
 * when absent. */
static double s_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

static void test_series_cap(void **state)
{
    (void) state;
    hg_metrics_t *m = hg_metrics_new(3);
    assert_non_null(m);
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "j%d", i);
        s_run(m, "ns", (uint64_t) i + 1, name, HG_RUN_SUCCESS, 5);
    }
    assert_int_equal(hg_metrics_job_series(m), 3);
    size_t len = 0;
    char *text = hg_metrics_render(m, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_true(
        s_value(text, "hourglass_runs_total{namespace=\"ns\",job=\"j0\",status=\"success\"}") == 1);
    assert_true(
        s_value(text, "hourglass_runs_total{namespace=\"ns\",job=\"j3\",status=\"success\"}") ==
        -1);
    assert_true(
        s_value(text, "hourglass_runs_total{namespace=\"ns\",job=\"_other\",status=\"success\"}") ==
        7);
    assert_true(s_value(text, "hourglass_metrics_job_series") == 3);
    free(text);
    hg_metrics_destroy(&m);
    assert_null(m);
}

static void test_job_left_table(void **state)
{
    (void) state;
    hg_metrics_t *m = hg_metrics_new(0);
    s_run(m, "prod", 7, "backup", HG_RUN_SUCCESS, 5);
    /* The job was deleted: its last run comes without a namespace. */
    s_run(m, NULL, 7, "backup", HG_RUN_FAILED, 5);
    s_run(m, NULL, 8, "never-seen", HG_RUN_FAILED, 5);
    size_t len;
    char *text = hg_metrics_render(m, &len);
    assert_true(
        s_value(text,
                "hourglass_runs_total{namespace=\"prod\",job=\"backup\",status=\"failed\"}") == 1);
    assert_true(s_value(text, "hourglass_runs_total{namespace=\"_unknown\",job=\"never-seen\","
                              "status=\"failed\"}") == 1);
    free(text);
    hg_metrics_destroy(&m);
}

static void test_histogram_and_skips(void **state)
{
    (void) state;
    hg_metrics_t *m = hg_metrics_new(0);
    s_run(m, "d", 1, "a", HG_RUN_SUCCESS, 3);     /* 5 ms bucket */
    s_run(m, "d", 1, "a", HG_RUN_SUCCESS, 700);   /* 1 s bucket */
    s_run(m, "d", 1, "a", HG_RUN_TIMEOUT, 99999); /* 300 s bucket */
    hg_run_t r = {.job_id = 1, .job_name = "a", .status = HG_RUN_SKIPPED};
    const char *errors[] = {"worker overloaded: 5000 HTTP runs already waiting",
                            "not sent: the worker's lease lapsed before the request",
                            "overlap: the previous run is still running", "Something else"};
    hg_metrics_runs_begin(m);
    for (size_t i = 0; i < 4; i++) {
        r.error = (char *) errors[i];
        hg_metrics_run(m, "d", &r, false);
    }
    hg_metrics_run(m, "d", &r, false);
    hg_metrics_runs_end(m);
    size_t len;
    char *text = hg_metrics_render(m, &len);
    const char *b = "hourglass_run_duration_seconds_bucket{namespace=\"d\",job=\"a\",le=";
    char key[256];
    snprintf(key, sizeof key, "%s\"0.005\"}", b);
    assert_true(s_value(text, key) == 1);
    snprintf(key, sizeof key, "%s\"1\"}", b);
    assert_true(s_value(text, key) == 2);
    snprintf(key, sizeof key, "%s\"300\"}", b);
    assert_true(s_value(text, key) == 3);
    snprintf(key, sizeof key, "%s\"+Inf\"}", b);
    assert_true(s_value(text, key) == 3);
    assert_true(s_value(text, "hourglass_run_duration_seconds_count{namespace=\"d\",job=\"a\"}") ==
                3);
    assert_true(s_value(text, "hourglass_fire_lateness_seconds_count{namespace=\"d\",job=\"a\"}") ==
                3);
    assert_true(
        s_value(text, "hourglass_runs_total{namespace=\"d\",job=\"a\",status=\"skipped\"}") == 5);
    assert_true(s_value(text, "hourglass_runs_skipped_total{namespace=\"d\",job=\"a\","
                              "reason=\"overloaded\"}") == 1);
    assert_true(s_value(text, "hourglass_runs_skipped_total{namespace=\"d\",job=\"a\","
                              "reason=\"lease_lapsed\"}") == 1);
    assert_true(s_value(text, "hourglass_runs_skipped_total{namespace=\"d\",job=\"a\","
                              "reason=\"overlap\"}") == 1);
    assert_true(s_value(text, "hourglass_runs_skipped_total{namespace=\"d\",job=\"a\","
                              "reason=\"other\"}") == 2);
    assert_true(s_value(text, "hourglass_job_last_success_timestamp_seconds{namespace=\"d\","
                              "job=\"a\"}") == 1000.702);
    free(text);
    hg_metrics_destroy(&m);
}

static void test_escape_and_nodes(void **state)
{
    (void) state;
    hg_metrics_t *m = hg_metrics_new(0);
    hg_metrics_node_t nodes[] = {{"w\"1\\x", "active", 3, 1, 0}, {"w2", "lost", 0, 0, 0}};
    hg_metrics_nodes_set(m, nodes, 2);
    hg_metrics_role(m, true, 42);
    hg_metrics_api(m, "/api/v1/jobs", 201, 0.003);
    size_t len;
    char *text = hg_metrics_render(m, &len);
    assert_true(s_value(text, "hourglass_node_jobs{node=\"w\\\"1\\\\x\"}") == 3);
    assert_true(s_value(text, "hourglass_nodes{state=\"active\"}") == 1);
    assert_true(s_value(text, "hourglass_nodes{state=\"lost\"}") == 1);
    assert_true(s_value(text, "hourglass_nodes{state=\"draining\"}") == 0);
    assert_true(s_value(text, "hourglass_leader") == 1);
    assert_true(s_value(text, "hourglass_epoch") == 42);
    assert_true(
        s_value(text, "hourglass_api_requests_total{route=\"/api/v1/jobs\",code=\"201\"}") == 1);
    assert_non_null(strstr(text, "# TYPE hourglass_runs_total counter\n"));
    assert_non_null(strstr(text, "# TYPE process_open_fds gauge\n"));
    free(text);
    hg_metrics_destroy(&m);
}

static void test_ns_parse(void **state)
{
    (void) state;
    hg_retention_ns_t ns[4];
    char err[256];
    assert_int_equal(hg_retention_ns_parse("", ns, 4, err, sizeof err), 0);
    assert_int_equal(hg_retention_ns_parse("ci=168h, billing=0", ns, 4, err, sizeof err), 2);
    assert_string_equal(ns[0].ns, "ci");
    assert_int_equal(ns[0].age_ms, 168LL * 3600 * 1000);
    assert_string_equal(ns[1].ns, "billing");
    assert_int_equal(ns[1].age_ms, 0);
    assert_int_equal(hg_retention_ns_parse("ci=soon", ns, 4, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "\"soon\" of namespace ci"));
    assert_int_equal(hg_retention_ns_parse("ci", ns, 4, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "namespace=duration"));
    assert_int_equal(hg_retention_ns_parse("a=1h,b=1h,c=1h,d=1h,e=1h", ns, 4, err, sizeof err),
                     HG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_job_left_table),
        cmocka_unit_test(test_histogram_and_skips),
        cmocka_unit_test(test_escape_and_nodes),
        cmocka_unit_test(test_ns_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
