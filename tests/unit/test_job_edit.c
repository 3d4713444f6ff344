// hg-test-sources: master/job_edit.c master/job_ext.c master/job.c master/redact.c master/auth.c
// hg-test-sources: worker/fire_plan.c master/job_policy.c master/deps.c master/routing.c
/* test_job_edit: the pure parts of run control. The version an edit is
 * guarded by (If-Match forms, the body's member, disagreement), the JSON
 * merge patch of RFC 7386, the edit body (no rename, read-only members
 * dropped, redacted secrets restored), remaining_runs as a cut-off and the
 * ASSIGN it gives, next_fires in the job's zone, and the worker's next fire
 * after a schedule edit and its jitter bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fire_plan.h"
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"
#include "job.h"
#include "job_edit.h"
#include "job_ext.h"

static json_t *s_parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) fail_msg("bad test JSON: %s: %s", text, e.text);
    return v;
}

static int64_t s_ms(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(hg_time_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static void test_version_forms(void **state)
{
    (void) state;
    char field[64], msg[256];
    uint64_t v;
    const char *ok[] = {"7", "\"7\"", "W/\"7\"", " \"7\" "};
    for (size_t i = 0; i < 4; i++) {
        json_t *body = json_object();
        assert_int_equal(hg_job_edit_version(ok[i], body, &v, field, 64, msg, 256), 0);
        assert_int_equal(v, 7);
        json_decref(body);
    }
    const char *bad[] = {"", "*", "\"7", "seven", "0", "7 8", "-1", "99999999999999999999999"};
    for (size_t i = 0; i < 8; i++) {
        json_t *body = json_object();
        assert_int_equal(hg_job_edit_version(bad[i], body, &v, field, 64, msg, 256), HG_EINVAL);
        assert_string_equal(field, "If-Match");
        json_decref(body);
    }
    json_t *body = s_parse("{\"version\": 3, \"timeout\": \"1s\"}");
    assert_int_equal(hg_job_edit_version(NULL, body, &v, field, 64, msg, 256), 0);
    assert_int_equal(v, 3);
    assert_null(json_object_get(body, "version")); /* not part of the job */
    json_decref(body);
    body = s_parse("{\"version\": 3}");
    assert_int_equal(hg_job_edit_version("4", body, &v, field, 64, msg, 256), HG_EINVAL);
    assert_string_equal(field, "version");
    assert_non_null(strstr(msg, "disagrees"));
    json_decref(body);
    body = s_parse("{\"version\": \"3\"}");
    assert_int_equal(hg_job_edit_version(NULL, body, &v, field, 64, msg, 256), HG_EINVAL);
    json_decref(body);
    body = json_object();
    assert_int_equal(hg_job_edit_version(NULL, body, &v, field, 64, msg, 256), 0);
    assert_int_equal(v, 0); /* none given: the caller answers 428 */
    json_decref(body);
}

/* The examples of RFC 7386, appendix A (a selection). */
static void test_merge_patch_rfc7386(void **state)
{
    (void) state;
    static const char *cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *target = s_parse(cases[i][0]), *patch = s_parse(cases[i][1]);
        json_t *want = s_parse(cases[i][2]);
        json_t *got = hg_json_merge_patch(target, patch);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
            fail_msg("case %zu: got %s, want %s", i, g, cases[i][2]);
        }
        json_decref(got);
        json_decref(patch);
        json_decref(want);
    }
}

#define S_STORED                                                                                   \
    "{\"id\": 4, \"version\": 2, \"namespace\": \"default\", \"name\": \"ping\", \"kind\": "       \
    "\"http\", \"schedule\": \"@every 1s\", \"timezone\": \"UTC\", \"status\": \"active\", "       \
    "\"http\": {\"url\": \"http://x/\", \"method\": \"POST\", \"headers\": {\"Authorization\": "   \
    "\"Bearer s3cret\", \"X-A\": \"1\"}}, \"params\": {\"db_password\": \"hunter2\"}, "            \
    "\"next_fires\": [], \"last_run\": null, \"node\": \"w1\"}"

static void test_edit_body(void **state)
{
    (void) state;
    char field[64], msg[512];
    json_t *stored = s_parse(S_STORED);
    /* No rename, no namespace move. */
    json_t *body = s_parse("{\"name\": \"pong\"}");
    assert_null(hg_job_edit_body(stored, body, true, field, 64, msg, 512));
    assert_string_equal(field, "name");
    assert_non_null(strstr(msg, "cannot be changed"));
    json_decref(body);
    body = s_parse("{\"namespace\": \"other\"}");
    assert_null(hg_job_edit_body(stored, body, false, field, 64, msg, 512));
    assert_string_equal(field, "namespace");
    json_decref(body);

    /* PATCH: one header changes, the secret stays, read-only goes. */
    body = s_parse("{\"http\": {\"headers\": {\"X-A\": \"2\"}}}");
    json_t *out = hg_job_edit_body(stored, body, true, field, 64, msg, 512);
    assert_non_null(out);
    json_t *h = json_object_get(json_object_get(out, "http"), "headers");
    assert_string_equal(json_string_value(json_object_get(h, "X-A")), "2");
    assert_string_equal(json_string_value(json_object_get(h, "Authorization")), "Bearer s3cret");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "http"), "method")),
                        "POST");
    static const char *ro[] = {"id", "version", "node", "next_fires", "last_run"};
    for (size_t i = 0; i < 5; i++)
        assert_null(json_object_get(out, ro[i]));
    json_decref(out);
    json_decref(body);

    /* PUT of the redacted form keeps the secrets; the name may be left out. */
    body = s_parse("{\"schedule\": \"@every 2s\", \"http\": {\"url\": \"http://x/\", "
                   "\"headers\": {\"Authorization\": \"***\"}}, \"params\": "
                   "{\"db_password\": \"***\"}}");
    out = hg_job_edit_body(stored, body, false, field, 64, msg, 512);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "ping");
    h = json_object_get(json_object_get(out, "http"), "headers");
    assert_string_equal(json_string_value(json_object_get(h, "Authorization")), "Bearer s3cret");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "params"), "db_password")),
        "hunter2");
    assert_null(json_object_get(h, "X-A")); /* PUT replaces */
    json_decref(out);
    json_decref(body);
    json_decref(stored);
}

/* remaining_runs: the N-th time after the write is the cut-off, which
 * bounds the ASSIGN's end and floors its last fire; an equal edit keeps
 * it. */
static void test_remaining_runs(void **state)
{
    (void) state;
    char field[64], msg[512];
    json_t *body = s_parse("{\"name\": \"r\", \"schedule\": \"@every 10s\", \"http\": {\"url\": "
                           "\"http://x/\"}, \"remaining_runs\": 3}");
    json_t *job = hg_job_validate(body, field, 64, msg, 512);
    assert_non_null(job);
    int64_t from = s_ms(json_string_value(json_object_get(job, "runs_from")));
    int64_t end = s_ms(json_string_value(json_object_get(job, "runs_end_at")));
    int64_t first = (from / 10000 + 1) * 10000;
    assert_int_equal(end, first + 20000); /* the 3rd time after the write */
    json_object_set_new(job, "id", json_integer(1));
    json_object_set_new(job, "version", json_integer(1));
    hg_assign_t a = {0};
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_int_equal(a.end_ms, end);
    assert_int_equal(a.last_fire_ms, from);
    hg_assign_clear(&a);

    json_t *spec = json_object();
    hg_job_ext_to_spec(job, spec);
    json_t *shown = json_pack("{s:s, s:s, s:s, s:n, s:n}", "schedule", "@every 10s", "timezone",
                              "UTC", "status", "active", "start_at", "end_at");
    hg_job_ext_from_spec(spec, shown, from);
    assert_int_equal(json_integer_value(json_object_get(shown, "remaining_runs")), 3);
    assert_string_equal(json_string_value(json_object_get(shown, "status")), "active");
    hg_job_ext_from_spec(spec, shown, end); /* all fired */
    assert_int_equal(json_integer_value(json_object_get(shown, "remaining_runs")), 0);
    assert_string_equal(json_string_value(json_object_get(shown, "status")), "completed");
    json_decref(shown);
    json_decref(spec);

    /* Fixed delay: refused, with the reason. */
    json_object_set_new(body, "schedule", json_string("@after 10s"));
    assert_null(hg_job_validate(body, field, 64, msg, 512));
    assert_string_equal(field, "remaining_runs");
    assert_non_null(strstr(msg, "fixed-delay"));
    json_object_set_new(body, "schedule", json_string("@every 10s"));
    json_object_set_new(body, "remaining_runs", json_integer(0));
    assert_null(hg_job_validate(body, field, 64, msg, 512));
    json_object_set_new(body, "remaining_runs", json_null());
    json_object_set_new(body, "jitter", json_string("2h"));
    assert_null(hg_job_validate(body, field, 64, msg, 512));
    assert_string_equal(field, "jitter");
    json_decref(body);
    json_decref(job);
}

static void test_next_fires_in_zone(void **state)
{
    (void) state;
    json_t *job = s_parse("{\"schedule\": \"0 30 2 * * *\", \"timezone\": \"Europe/Paris\", "
                          "\"status\": \"active\", \"start_at\": null, \"end_at\": null}");
    /* Across the spring-forward night: 02:30 does not exist on March 29. */
    json_t *fires = hg_job_ext_next_fires(job, s_ms("2026-03-27T12:00:00Z"), 3);
    assert_int_equal(json_array_size(fires), 3);
    assert_string_equal(json_string_value(json_array_get(fires, 0)), "2026-03-28T02:30:00+01:00");
    assert_string_equal(json_string_value(json_array_get(fires, 1)), "2026-03-30T02:30:00+02:00");
    json_decref(fires);
    json_object_set_new(job, "status", json_string("paused"));
    fires = hg_job_ext_next_fires(job, s_ms("2026-03-27T12:00:00Z"), 3);
    assert_int_equal(json_array_size(fires), 0);
    json_decref(fires);
    json_decref(job);
    char buf[48];
    hg_job_ext_format_local(NULL, s_ms("2026-01-02T03:04:05.678Z"), buf, sizeof buf);
    assert_string_equal(buf, "2026-01-02T03:04:05.678Z");
}

/* The worker after a schedule edit: continues after the last fire, never
 * catches up times of the new schedule that were never due. */
static void test_next_after_edit(void **state)
{
    (void) state;
    hg_sched_t *s = NULL;
    char err[128];
    assert_int_equal(hg_sched_parse("@every 2s", NULL, &s, err, sizeof err), 0);
    /* Last fire at 100 s (1 s schedule), edit at 100.3 s: next is 102 s. */
    assert_int_equal(hg_fire_next_after_edit(s, 100000, 100300), 102000);
    /* Last fire long ago (hourly schedule), edit now: the next time from
     * now, not a catch-up of the 2 s times in between. */
    assert_int_equal(hg_fire_next_after_edit(s, 100000, 500300), 502000);
    assert_int_equal(hg_fire_next_after_edit(s, 100000, 502000), 502000);
    assert_int_equal(hg_fire_next_after_edit(s, 0, 500300), 502000);
    hg_sched_destroy(&s);

    hg_assign_t a = {.schedule = "@every 1s", .tz = "UTC"}, b = a;
    assert_false(hg_fire_schedule_changed(&a, &b));
    b.schedule = "@every 2s";
    assert_true(hg_fire_schedule_changed(&a, &b));
    b = a;
    b.end_ms = 5;
    assert_true(hg_fire_schedule_changed(&a, &b));
    b = a;
    b.tz = NULL; /* NULL and "" and "UTC" differ as text only for "UTC" */
    assert_true(hg_fire_schedule_changed(&a, &b));

    assert_int_equal(hg_fire_jitter_ms(0), 0);
    int64_t lo = 1000, hi = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t d = hg_fire_jitter_ms(1000);
        assert_true(d >= 0 && d <= 1000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 100 && hi > 900); /* spread over the range */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_forms),      cmocka_unit_test(test_merge_patch_rfc7386),
        cmocka_unit_test(test_edit_body),          cmocka_unit_test(test_remaining_runs),
        cmocka_unit_test(test_next_fires_in_zone), cmocka_unit_test(test_next_after_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
