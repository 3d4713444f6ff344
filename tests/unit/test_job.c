// hg-test-sources: master/job.c master/job_policy.c master/deps.c master/job_ext.c
// hg-test-sources: master/routing.c
/* test_job: validation of API job bodies (every rule of docs/api.md with
 * the message the user sees), defaults and normalization, and conversion
 * to the wire ASSIGN spec. */
#include "hg_error.h"
#include "hg_proto.h"
#include "hg_sched.h"
#include "job.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_URL  "\"http\": {\"url\": \"http://127.0.0.1:9000/hook\"}"
#define S_BASE "\"name\": \"ping\", \"schedule\": \"@every 1s\""

static json_t *s_parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v) fail_msg("test JSON does not parse: %s (%s)", jerr.text, text);
    return v;
}

/* Validate text and expect failure on field with exactly message. */
static void s_expect_fail(const char *text, const char *field, const char *message)
{
    json_t *body = s_parse(text);
    char f[256] = "?", m[1024] = "?";
    json_t *job = hg_job_validate(body, f, sizeof f, m, sizeof m);
    if (job) {
        char *dump = json_dumps(job, 0);
        fail_msg("accepted %s as %s; expected %s", text, dump, message);
    }
    if (strcmp(f, field) != 0 || strcmp(m, message) != 0)
        fail_msg("for %s\n  expected field %s, message %s\n  got      field %s, message %s", text,
                 field, message, f, m);
    json_decref(body);
}

/* As s_expect_fail, for a message that starts with prefix. */
static void s_expect_fail_prefix(const char *text, const char *field, const char *prefix)
{
    json_t *body = s_parse(text);
    char f[256] = "?", m[1024] = "?";
    json_t *job = hg_job_validate(body, f, sizeof f, m, sizeof m);
    if (job) fail_msg("accepted %s; expected %s...", text, prefix);
    if (strcmp(f, field) != 0 || strncmp(m, prefix, strlen(prefix)) != 0)
        fail_msg("for %s\n  expected field %s, message %s...\n  got      field %s, message %s",
                 text, field, prefix, f, m);
    json_decref(body);
}

static json_t *s_expect_ok(const char *text)
{
    json_t *body = s_parse(text);
    char f[256], m[1024];
    json_t *job = hg_job_validate(body, f, sizeof f, m, sizeof m);
    if (!job) fail_msg("rejected %s: %s", text, m);
    json_decref(body);
    return job;
}

static const char *s_str(json_t *obj, const char *path)
{
    /* "http.method" style lookup */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = obj;
    for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, "."))
        v = json_object_get(v, tok);
    if (!json_is_string(v)) fail_msg("%s is not a string", path);
    return json_string_value(v);
}

static void test_name_rules(void **state)
{
    s_expect_fail("{\"schedule\": \"@every 1s\", " S_URL "}", "name", "name: required");
    s_expect_fail("{\"name\": 12, \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: must be a string");
    s_expect_fail("{\"name\": \"\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: must be 1-190 characters");
    char long_name[200];
    memset(long_name, 'a', 191);
    long_name[191] = '\0';
    char text[512];
    snprintf(text, sizeof text, "{\"name\": \"%s\", \"schedule\": \"@every 1s\", " S_URL "}",
             long_name);
    s_expect_fail(text, "name", "name: must be 1-190 characters");
    long_name[190] = '\0'; /* 190 is fine */
    snprintf(text, sizeof text, "{\"name\": \"%s\", \"schedule\": \"@every 1s\", " S_URL "}",
             long_name);
    json_decref(s_expect_ok(text));
    s_expect_fail("{\"name\": \"-x\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: must start with a letter or digit");
    s_expect_fail("{\"name\": \".x\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: must start with a letter or digit");
    s_expect_fail("{\"name\": \"a b\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: may hold only letters, digits, '.', '_' and '-'");
    s_expect_fail("{\"name\": \"a/b\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: may hold only letters, digits, '.', '_' and '-'");
    s_expect_fail("{\"name\": \"caf\\u00e9\", \"schedule\": \"@every 1s\", " S_URL "}", "name",
                  "name: may hold only letters, digits, '.', '_' and '-'");
    json_decref(s_expect_ok("{\"name\": \"9a.b_c-d\", \"schedule\": \"@every 1s\", " S_URL "}"));
}

static void test_namespace_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"namespace\": \"a:b\", " S_URL "}", "namespace",
                  "namespace: may hold only letters, digits, '.', '_' and '-'");
    s_expect_fail("{" S_BASE ", \"namespace\": \"_x\", " S_URL "}", "namespace",
                  "namespace: must start with a letter or digit");
    s_expect_fail("{" S_BASE ", \"namespace\": [], " S_URL "}", "namespace",
                  "namespace: must be a string");
    char text[512], ns[70];
    memset(ns, 'n', 65);
    ns[65] = '\0';
    snprintf(text, sizeof text, "{" S_BASE ", \"namespace\": \"%s\", " S_URL "}", ns);
    s_expect_fail(text, "namespace", "namespace: must be 1-64 characters");
    json_t *job = s_expect_ok("{" S_BASE ", \"namespace\": \"team-a\", " S_URL "}");
    assert_string_equal(s_str(job, "namespace"), "team-a");
    json_decref(job);
}

static void test_kind_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"kind\": \"shell\", " S_URL "}", "kind",
                  "kind: \"shell\" is not supported; must be \"http\" or \"plugin\"");
    s_expect_fail("{" S_BASE ", \"kind\": \"plugin\", " S_URL "}", "http",
                  "http: not allowed for kind \"plugin\" (give plugin instead)");
    s_expect_fail("{" S_BASE ", \"kind\": \"http\", \"plugin\": {\"name\": \"noop\"}}", "plugin",
                  "plugin: not allowed for kind \"http\" (set kind to \"plugin\")");
    s_expect_fail("{" S_BASE ", \"kind\": 1, " S_URL "}", "kind", "kind: must be a string");
    json_t *job = s_expect_ok("{" S_BASE ", \"kind\": \"http\", " S_URL "}");
    assert_string_equal(s_str(job, "kind"), "http");
    json_decref(job);
}

static void test_schedule_rules(void **state)
{
    s_expect_fail("{\"name\": \"ping\", " S_URL "}", "schedule", "schedule: required");
    s_expect_fail("{\"name\": \"ping\", \"schedule\": null, " S_URL "}", "schedule",
                  "schedule: required");
    s_expect_fail("{\"name\": \"ping\", \"schedule\": 5, " S_URL "}", "schedule",
                  "schedule: must be a string");
    s_expect_fail("{\"name\": \"ping\", \"schedule\": \"\", " S_URL "}", "schedule",
                  "schedule: must not be empty");
    /* The engine's message, as is, behind "schedule: ". */
    const char *bad[] = {"* * *", "0 0 32 * * *", "@every banana", "@yearlyish"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hg_sched_t *s = NULL;
        char engine[512], want[600], text[512];
        int rc = hg_sched_parse(bad[i], NULL, &s, engine, sizeof engine);
        assert_int_not_equal(rc, 0);
        snprintf(want, sizeof want, "schedule: %s", engine);
        snprintf(text, sizeof text, "{\"name\": \"ping\", \"schedule\": \"%s\", " S_URL "}",
                 bad[i]);
        s_expect_fail(text, "schedule", want);
    }
    /* Both supported forms of this issue pass. */
    json_decref(s_expect_ok("{\"name\": \"p\", \"schedule\": \"*/5 * * * * *\", " S_URL "}"));
    json_t *job = s_expect_ok("{\"name\": \"p\", \"schedule\": \"@every 250ms\", " S_URL "}");
    assert_string_equal(s_str(job, "schedule"), "@every 250ms");
    json_decref(job);
}

static void test_timezone_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"timezone\": \"Mars/Base\", " S_URL "}", "timezone",
                  "timezone: unknown time zone \"Mars/Base\"");
    s_expect_fail("{" S_BASE ", \"timezone\": \"../../etc/passwd\", " S_URL "}", "timezone",
                  "timezone: unknown time zone \"../../etc/passwd\"");
    s_expect_fail("{" S_BASE ", \"timezone\": 3, " S_URL "}", "timezone",
                  "timezone: must be a string");
    json_t *job = s_expect_ok("{\"name\": \"p\", \"schedule\": \"0 0 9 * * MON-FRI\", "
                              "\"timezone\": \"Europe/Paris\", " S_URL "}");
    assert_string_equal(s_str(job, "timezone"), "Europe/Paris");
    json_decref(job);
}

static void test_time_bounds_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"start_at\": \"yesterday\", " S_URL "}", "start_at",
                  "start_at: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z) or null");
    s_expect_fail("{" S_BASE ", \"end_at\": 17, " S_URL "}", "end_at",
                  "end_at: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z) or null");
    s_expect_fail("{" S_BASE ", \"start_at\": \"2026-11-21T10:00:00Z\", "
                  "\"end_at\": \"2026-11-21T09:00:00Z\", " S_URL "}",
                  "end_at", "end_at: must be after start_at");
    s_expect_fail("{" S_BASE ", \"start_at\": \"2026-11-21T10:00:00Z\", "
                  "\"end_at\": \"2026-11-21T10:00:00Z\", " S_URL "}",
                  "end_at", "end_at: must be after start_at");
    /* Normalized to UTC with milliseconds. */
    json_t *job = s_expect_ok("{" S_BASE ", \"start_at\": \"2026-11-21T12:00:00+02:00\", "
                              "\"end_at\": \"2026-11-22T10:00:00.5Z\", " S_URL "}");
    assert_string_equal(s_str(job, "start_at"), "2026-11-21T10:00:00.000Z");
    assert_string_equal(s_str(job, "end_at"), "2026-11-22T10:00:00.500Z");
    json_decref(job);
}

static void test_misfire_timeout_status_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"misfire\": \"sometimes\", " S_URL "}", "misfire",
                  "misfire: must be one of fire_once, skip, fire_all");
    s_expect_fail("{" S_BASE ", \"misfire\": \"\", " S_URL "}", "misfire",
                  "misfire: must be one of fire_once, skip, fire_all");
    s_expect_fail("{" S_BASE ", \"timeout\": \"forever\", " S_URL "}", "timeout",
                  "timeout: must be a duration such as \"30s\" or \"250ms\"");
    s_expect_fail("{" S_BASE ", \"timeout\": 30, " S_URL "}", "timeout",
                  "timeout: must be a duration such as \"30s\" or \"250ms\"");
    s_expect_fail("{" S_BASE ", \"timeout\": \"25h\", " S_URL "}", "timeout",
                  "timeout: must be between 1ms and 24h");
    s_expect_fail("{" S_BASE ", \"timeout\": \"0s\", " S_URL "}", "timeout",
                  "timeout: must be between 1ms and 24h");
    s_expect_fail("{" S_BASE ", \"status\": \"deleted\", " S_URL "}", "status",
                  "status: must be \"active\" or \"paused\"");
    s_expect_fail("{" S_BASE ", \"recover\": \"yes\", " S_URL "}", "recover",
                  "recover: must be true or false");
    s_expect_fail("{" S_BASE ", \"recover\": 1, " S_URL "}", "recover",
                  "recover: must be true or false");

    json_t *job = s_expect_ok("{" S_BASE ", \"misfire\": \"skip\", \"timeout\": \"90s\", "
                              "\"status\": \"paused\", " S_URL "}");
    assert_string_equal(s_str(job, "misfire"), "skip");
    assert_string_equal(s_str(job, "timeout"), "1m30s");
    assert_string_equal(s_str(job, "status"), "paused");
    json_decref(job);
    const char *in[] = {"1500ms", "24h", "1ms", "2h45m10s"};
    const char *out[] = {"1s500ms", "24h", "1ms", "2h45m10s"};
    for (int i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text, "{" S_BASE ", \"timeout\": \"%s\", " S_URL "}", in[i]);
        job = s_expect_ok(text);
        assert_string_equal(s_str(job, "timeout"), out[i]);
        json_decref(job);
    }
}

static void test_http_rules(void **state)
{
    s_expect_fail("{" S_BASE "}", "http", "http: required (the HTTP task to run)");
    s_expect_fail("{" S_BASE ", \"http\": \"GET /\"}", "http", "http: must be an object");
    s_expect_fail("{" S_BASE ", \"http\": {\"uri\": \"http://x/\"}}", "http.uri",
                  "http.uri: unknown field");
    s_expect_fail("{" S_BASE ", \"http\": {\"method\": \"FETCH\", \"url\": \"http://x/\"}}",
                  "http.method",
                  "http.method: \"FETCH\" is not one of GET POST PUT PATCH DELETE HEAD OPTIONS");
    s_expect_fail("{" S_BASE ", \"http\": {\"method\": 1, \"url\": \"http://x/\"}}", "http.method",
                  "http.method: must be a string");
    s_expect_fail("{" S_BASE ", \"http\": {}}", "http.url", "http.url: required");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": 5}}", "http.url", "http.url: must be a string");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"ftp://x/\"}}", "http.url",
                  "http.url: must start with http:// or https://");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://\"}}", "http.url",
                  "http.url: has no host");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://a b/\"}}", "http.url",
                  "http.url: must not contain spaces or control characters");
    char *text = malloc(3000);
    char *longurl = malloc(2100);
    strcpy(longurl, "http://x/");
    memset(longurl + 9, 'a', 2040);
    longurl[2049] = '\0'; /* 2049 characters */
    snprintf(text, 3000, "{" S_BASE ", \"http\": {\"url\": \"%s\"}}", longurl);
    s_expect_fail(text, "http.url", "http.url: must be at most 2048 characters");
    longurl[2048] = '\0';
    snprintf(text, 3000, "{" S_BASE ", \"http\": {\"url\": \"%s\"}}", longurl);
    json_decref(s_expect_ok(text));
    free(text);
    free(longurl);

    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": \"a\"}}",
                  "http.headers", "http.headers: must be an object of strings");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": {\"Bad "
                  "Name\": \"v\"}}}",
                  "http.headers", "http.headers: \"Bad Name\" is not a valid header name");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": {\"X\": 1}}}",
                  "http.headers.X", "http.headers.X: must be a string");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": {\"X\": "
                  "\"a\\r\\nInjected: 1\"}}}",
                  "http.headers.X", "http.headers.X: must not contain CR or LF");
    /* Framing headers are the HTTP client's, in any case. */
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": {\"host\": "
                  "\"internal\"}}}",
                  "http.headers",
                  "http.headers: header \"host\" cannot be set by a job: the worker's HTTP client "
                  "sets it from the URL and body (one set by hand could smuggle a second request)");
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding", "CONNECTION"};
    for (size_t k = 0; k < 3; k++) {
        char body[256], want[256];
        snprintf(body, sizeof body,
                 "{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"headers\": {\"%s\": "
                 "\"1\"}}}",
                 framing[k]);
        snprintf(want, sizeof want, "http.headers: header \"%s\" cannot be set by a job",
                 framing[k]);
        s_expect_fail_prefix(body, "http.headers", want);
    }
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"body\": 5}}", "http.body",
                  "http.body: must be a string or null");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"form\": [1]}}", "http.form",
                  "http.form: must be an object of strings");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"form\": {\"a\": 1}}}",
                  "http.form.a", "http.form.a: must be a string");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"body\": \"x=1\", "
                  "\"form\": {\"a\": \"1\"}}}",
                  "http.form", "http.form: cannot be used together with http.body");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"expect_status\": 200}}",
                  "http.expect_status", "http.expect_status: must be an array of integers 100-599");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"expect_status\": [200, "
                  "600]}}",
                  "http.expect_status[1]", "http.expect_status[1]: must be an integer 100-599");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"expect_status\": "
                  "[\"200\"]}}",
                  "http.expect_status[0]", "http.expect_status[0]: must be an integer 100-599");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"expect_status\": [99]}}",
                  "http.expect_status[0]", "http.expect_status[0]: must be an integer 100-599");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://x/\", \"expect_body\": 1}}",
                  "http.expect_body", "http.expect_body: must be a string or null");
}

static void test_params_executor_unknown_rules(void **state)
{
    s_expect_fail("{" S_BASE ", " S_URL ", \"params\": []}", "params",
                  "params: must be an object of strings");
    s_expect_fail("{" S_BASE ", " S_URL ", \"params\": {\"k\": 1}}", "params.k",
                  "params.k: must be a string");
    s_expect_fail("{" S_BASE ", " S_URL ", \"executor\": \"any\"}", "executor",
                  "executor: must be an object");
    s_expect_fail("{" S_BASE ", " S_URL ", \"executor\": {\"nodes\": \"w1\"}}", "executor.nodes",
                  "executor.nodes: must be an array of node names");
    s_expect_fail("{" S_BASE ", " S_URL ", \"executor\": {\"nodes\": [\"w1\", 2]}}",
                  "executor.nodes[1]", "executor.nodes[1]: must be a string");
    s_expect_fail("{" S_BASE ", " S_URL ", \"executor\": {\"nodes\": [\"\"]}}", "executor.nodes[0]",
                  "executor.nodes[0]: must be 1-190 characters");
    s_expect_fail("{" S_BASE ", " S_URL ", \"executor\": {\"label\": {}}}", "executor.label",
                  "executor.label: unknown field");
    s_expect_fail("{" S_BASE ", " S_URL ", \"schedul\": \"x\"}", "schedul",
                  "schedul: unknown field");
    s_expect_fail("[1, 2]", "job", "job: must be a JSON object");
    /* Names of secret headers and parameters (redacted by the API). */
    s_expect_fail("{" S_BASE ", " S_URL ", \"secret_params\": \"pin\"}", "secret_params",
                  "secret_params: must be an array of names");
    s_expect_fail("{" S_BASE ", " S_URL ", \"secret_params\": [\"\"]}", "secret_params",
                  "secret_params: entry 0: must be a name of 1-128 bytes");
    s_expect_fail("{" S_BASE ", " S_URL ", \"secret_headers\": [\"X Key\"]}", "secret_headers",
                  "secret_headers: \"X Key\" is not a valid header name");
}

/* depends_on / trigger_rule / http.parent_results (master/deps.c). */
static void test_dependencies(void **state)
{
    (void) state;
    json_t *job = s_expect_ok("{\"name\": \"c\", " S_URL
                              ", \"depends_on\": [{\"job\": \"a\"}, {\"job\": \"b\", "
                              "\"on\": \"failure\"}], \"trigger_rule\": \"any\"}");
    assert_string_equal(json_string_value(json_object_get(job, "schedule")), "@never");
    json_t *want = s_parse("[{\"job\": \"a\", \"on\": \"success\"}, {\"job\": \"b\", "
                           "\"on\": \"failure\"}]");
    assert_true(json_equal(json_object_get(job, "depends_on"), want));
    assert_string_equal(json_string_value(json_object_get(job, "trigger_rule")), "any");
    json_decref(want);
    json_decref(job);
    s_expect_fail("{\"name\": \"c\", " S_URL "}", "schedule", "schedule: required");
    s_expect_fail("{" S_BASE ", " S_URL ", \"depends_on\": {}}", "depends_on",
                  "depends_on: must be an array of {job, on}");
    s_expect_fail("{" S_BASE ", " S_URL ", \"depends_on\": [{\"job\": \"ping\"}]}",
                  "depends_on[0].job",
                  "depends_on[0].job: a job cannot depend on itself (cycle ping -> ping)");
    s_expect_fail("{" S_BASE ", " S_URL ", \"depends_on\": [{\"job\": \"a\"}, {\"job\": "
                  "\"a\"}]}",
                  "depends_on[1].job", "depends_on[1].job: \"a\" is also depends_on[0]");
    s_expect_fail("{" S_BASE ", " S_URL ", \"depends_on\": [{\"job\": \"a\", \"on\": "
                  "\"maybe\"}]}",
                  "depends_on[0].on", "depends_on[0].on: must be one of success, failure, always");
    s_expect_fail("{" S_BASE ", " S_URL ", \"depends_on\": [{\"job\": \"a\", \"when\": 1}]}",
                  "depends_on[0].when", "depends_on[0].when: unknown field");
    s_expect_fail("{" S_BASE ", " S_URL ", \"trigger_rule\": \"most\"}", "trigger_rule",
                  "trigger_rule: must be \"all\" or \"any\"");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://h/\", \"parent_results\": "
                  "{\"header\": \"Host\"}}}",
                  "http.parent_results.header",
                  "http.parent_results.header: \"Host\" cannot carry results");
    s_expect_fail("{" S_BASE ", \"http\": {\"url\": \"http://h/\", \"body\": \"[1]\", "
                  "\"parent_results\": {\"body_field\": \"p\"}}}",
                  "http.parent_results.body_field",
                  "http.parent_results.body_field: needs http.body to be null or a JSON object");
}

static void test_defaults_filled(void **state)
{
    json_t *job = s_expect_ok("{" S_BASE ", " S_URL "}");
    json_t *want = s_parse(
        "{\"namespace\": \"default\", \"name\": \"ping\", \"kind\": \"http\", \"schedule\": "
        "\"@every 1s\", \"timezone\": \"UTC\", \"status\": \"active\", \"start_at\": null, "
        "\"end_at\": null, \"misfire\": \"fire_once\", \"timeout\": \"30s\", \"recover\": false, "
        "\"http\": "
        "{\"method\": \"GET\", \"url\": \"http://127.0.0.1:9000/hook\", \"headers\": {}, "
        "\"body\": null, \"form\": null, \"expect_status\": [], \"expect_body\": null}, "
        "\"plugin\": null, \"params\": {}, \"executor\": {\"nodes\": []}, "
        "\"secret_headers\": [], \"secret_params\": [], \"retry\": null, "
        "\"overlap\": \"allow\", \"max_concurrent\": 1, \"queue_max\": 1, \"depends_on\": [], "
        "\"trigger_rule\": \"all\", \"jitter\": null, \"pause_note\": null, "
        "\"remaining_runs\": null}");
    if (!json_equal(job, want)) {
        char *got = json_dumps(job, JSON_SORT_KEYS);
        fail_msg("defaults: got %s", got);
    }
    assert_null(json_object_get(job, "id"));
    json_decref(want);
    json_decref(job);
}

static void test_normalization_and_read_only_fields(void **state)
{
    json_t *body = s_parse(
        "{\"id\": 99, \"version\": 7, \"node\": \"w9\", \"created_at\": \"x\", \"name\": \"n\", "
        "\"schedule\": \"@every 1s\", \"http\": {\"method\": \"post\", \"url\": "
        "\"https://example.com/x\", \"headers\": {\"X-Token\": \"abc\"}, \"form\": {\"a\": "
        "\"1\"}, \"expect_status\": [200, 204], \"expect_body\": \"ok\"}, \"params\": {\"k\": "
        "\"v\"}, \"executor\": {\"nodes\": [\"w1\", \"w2\", \"w1\"]}}");
    char f[128], m[512];
    json_t *job = hg_job_validate(body, f, sizeof f, m, sizeof m);
    assert_non_null(job);
    assert_null(json_object_get(job, "id"));
    assert_null(json_object_get(job, "version"));
    assert_null(json_object_get(job, "node"));
    assert_string_equal(s_str(job, "http.method"), "POST");
    assert_int_equal(json_array_size(hg_job_pinned_nodes(job)), 2); /* duplicates dropped */
    assert_string_equal(json_string_value(json_array_get(hg_job_pinned_nodes(job), 1)), "w2");
    /* The result stands alone: changing the input does not change it. */
    json_object_set_new(json_object_get(json_object_get(body, "http"), "headers"), "X-Token",
                        json_string("changed"));
    json_object_set_new(json_object_get(body, "params"), "k", json_string("changed"));
    json_decref(body);
    assert_string_equal(s_str(job, "http.headers.X-Token"), "abc");
    assert_string_equal(s_str(job, "params.k"), "v");
    json_decref(job);
}

static void test_to_assign(void **state)
{
    json_t *job = s_expect_ok(
        "{\"namespace\": \"ops\", \"name\": \"hook\", \"schedule\": \"0 */5 * * * *\", "
        "\"timezone\": \"Europe/Paris\", \"start_at\": \"2026-11-21T10:00:00Z\", \"end_at\": "
        "\"2026-11-22T10:00:00.250Z\", \"misfire\": \"fire_all\", \"timeout\": \"1500ms\", "
        "\"http\": {\"method\": \"put\", \"url\": \"http://127.0.0.1:9000/h\", \"headers\": "
        "{\"X-Token\": \"abc\", \"Accept\": \"*/*\"}, \"body\": \"a\\u0001b\", "
        "\"expect_status\": [200, 201], \"expect_body\": \"ok\"}, \"params\": {\"region\": "
        "\"eu\"}}");
    json_object_set_new(job, "id", json_integer(42));
    json_object_set_new(job, "version", json_integer(3));
    hg_assign_t a;
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_int_equal(a.job_id, 42);
    assert_int_equal(a.version, 3);
    assert_int_equal(a.epoch, 0);
    assert_string_equal(a.ns, "ops");
    assert_string_equal(a.name, "hook");
    assert_string_equal(a.kind, "http");
    assert_string_equal(a.schedule, "0 */5 * * * *");
    assert_string_equal(a.tz, "Europe/Paris");
    assert_int_equal(a.start_ms, INT64_C(1795255200000));
    assert_int_equal(a.end_ms, INT64_C(1795341600250));
    assert_string_equal(a.misfire, "fire_all");
    assert_int_equal(a.timeout_ms, 1500);
    assert_int_equal(a.params_n, 1);
    assert_string_equal(a.params[0].key, "region");
    assert_string_equal(a.params[0].value, "eu");
    assert_string_equal(a.http.method, "PUT");
    assert_string_equal(a.http.url, "http://127.0.0.1:9000/h");
    assert_int_equal(a.http.headers_n, 2);
    assert_string_equal(a.http.headers[0], "X-Token: abc");
    assert_string_equal(a.http.headers[1], "Accept: */*");
    assert_int_equal(a.http.body.len, 3);
    assert_memory_equal(a.http.body.data, "a\001b", 3);
    assert_int_equal(a.http.form_n, 0);
    assert_int_equal(a.http.expect_n, 2);
    assert_int_equal(a.http.expect[0], 200);
    assert_int_equal(a.http.expect[1], 201);
    assert_string_equal(a.http.expect_body, "ok");
    assert_int_equal(a.recover, 0);
    hg_assign_clear(&a);
    json_decref(job);

    /* recover: true reaches the worker's spec. */
    job = s_expect_ok("{" S_BASE ", \"recover\": true, " S_URL "}");
    assert_true(json_is_true(json_object_get(job, "recover")));
    json_object_set_new(job, "id", json_integer(8));
    json_object_set_new(job, "version", json_integer(1));
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_int_equal(a.recover, 1);
    hg_assign_clear(&a);
    json_decref(job);

    /* Form bodies become key/value pairs; defaults give an empty spec. */
    job = s_expect_ok("{" S_BASE ", \"http\": {\"method\": \"POST\", \"url\": \"http://x/\", "
                      "\"form\": {\"a\": \"1\", \"b\": \"two words\"}}}");
    json_object_set_new(job, "id", json_integer(7));
    json_object_set_new(job, "version", json_integer(1));
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_int_equal(a.timeout_ms, 30000);
    assert_int_equal(a.start_ms, 0);
    assert_int_equal(a.end_ms, 0);
    assert_string_equal(a.tz, "UTC");
    assert_int_equal(a.http.form_n, 2);
    assert_string_equal(a.http.form[1].key, "b");
    assert_string_equal(a.http.form[1].value, "two words");
    assert_int_equal(a.http.body.len, 0);
    assert_null(a.http.body.data);
    assert_int_equal(a.http.headers_n, 0);
    assert_int_equal(a.http.expect_n, 0);
    assert_null(a.http.expect_body);
    assert_int_equal(a.params_n, 0);
    hg_assign_clear(&a);

    /* Without an id it is not a stored job. */
    json_object_del(job, "id");
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), HG_EINVAL);
    assert_null(a.name);
    json_decref(job);
}

#define S_SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_plugin_rules(void **state)
{
    s_expect_fail("{" S_BASE ", \"kind\": \"plugin\"}", "plugin",
                  "plugin: required (the plug-in to run, e.g. {\"name\": \"shell\"})");
    s_expect_fail("{" S_BASE ", \"plugin\": \"shell\"}", "plugin", "plugin: must be an object");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"shell\", \"entry\": \"x\"}}",
                  "plugin.entry", "plugin.entry: unknown field");
    s_expect_fail("{" S_BASE ", \"plugin\": {}}", "plugin.name",
                  "plugin.name: required (unless plugin.sha256 is given)");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"../evil\"}}", "plugin.name",
                  "plugin.name: must start with a letter or digit");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"a/b\"}}", "plugin.name",
                  "plugin.name: may hold only letters, digits, '.', '_' and '-'");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"shell\", \"version\": \"1 0\"}}",
                  "plugin.version", "plugin.version: must be printable ASCII without blanks");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"shell\", \"version\": 1}}",
                  "plugin.version", "plugin.version: must be a string or null");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"sha256\": \"ABC\"}}", "plugin.sha256",
                  "plugin.sha256: must be 64 lowercase hex digits (a SHA-256)");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"sha256\": "
                  "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}}",
                  "plugin.sha256", "plugin.sha256: must be 64 lowercase hex digits (a SHA-256)");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"shell\", \"isolation\": \"fork\"}}",
                  "plugin.isolation", "plugin.isolation: must be \"process\" or \"thread\"");
    s_expect_fail("{" S_BASE ", \"plugin\": {\"name\": \"shell\"}, \"params\": {\"a\": 1}}",
                  "params.a", "params.a: must be a string");

    /* Kind follows from the task; defaults filled. */
    json_t *job = s_expect_ok("{" S_BASE ", \"plugin\": {\"name\": \"shell\"}}");
    json_t *want = s_parse("{\"name\": \"shell\", \"version\": null, \"sha256\": null, "
                           "\"isolation\": \"process\"}");
    assert_string_equal(s_str(job, "kind"), "plugin");
    assert_true(json_equal(json_object_get(job, "plugin"), want));
    assert_true(json_is_null(json_object_get(job, "http")));
    json_decref(want);
    json_decref(job);

    /* By hash alone, thread isolation. */
    job = s_expect_ok("{" S_BASE ", \"kind\": \"plugin\", \"plugin\": {\"sha256\": \"" S_SHA
                      "\", \"isolation\": \"thread\", \"version\": \"1.0.0-rc1+b5\"}}");
    assert_true(json_is_null(json_object_get(json_object_get(job, "plugin"), "name")));
    assert_string_equal(s_str(job, "plugin.sha256"), S_SHA);
    assert_string_equal(s_str(job, "plugin.isolation"), "thread");
    assert_string_equal(s_str(job, "plugin.version"), "1.0.0-rc1+b5");
    json_decref(job);
}

static void test_plugin_to_assign(void **state)
{
    json_t *job = s_expect_ok("{" S_BASE ", \"timeout\": \"2s\", \"plugin\": {\"name\": "
                              "\"shell\", \"version\": \"1.2\"}, \"params\": {\"command\": "
                              "\"true\"}}");
    json_object_set_new(job, "id", json_integer(5));
    json_object_set_new(job, "version", json_integer(1));
    hg_assign_t a;
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_string_equal(a.kind, "plugin");
    assert_string_equal(a.plugin.name, "shell");
    assert_string_equal(a.plugin.version, "1.2");
    assert_null(a.plugin.sha256);
    assert_string_equal(a.plugin.isolation, "process");
    assert_null(a.http.url);
    assert_int_equal(a.timeout_ms, 2000);
    assert_int_equal(a.params_n, 1);
    assert_string_equal(a.params[0].key, "command");

    /* It survives the wire. */
    hg_msg_t msg = {.type = HG_MSG_ASSIGN, .seq = 1};
    msg.u.assign = a;
    msg.u.assign.epoch = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hg_msg_encode(&msg, &buf, &len), 0);
    hg_msg_t *back = NULL;
    assert_int_equal(hg_msg_decode(buf, len, &back, NULL, 0), 0);
    assert_string_equal(back->u.assign.plugin.name, "shell");
    assert_string_equal(back->u.assign.plugin.isolation, "process");
    assert_null(back->u.assign.http.url);
    free(buf);
    hg_msg_destroy(&back);
    hg_assign_clear(&a);
    json_decref(job);

    /* A job naming its plug-in by hash only sends the hash as the name. */
    job = s_expect_ok("{" S_BASE ", \"plugin\": {\"sha256\": \"" S_SHA
                      "\", \"isolation\": \"thread\"}}");
    json_object_set_new(job, "id", json_integer(6));
    json_object_set_new(job, "version", json_integer(1));
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_string_equal(a.plugin.name, S_SHA);
    assert_string_equal(a.plugin.sha256, S_SHA);
    assert_string_equal(a.plugin.isolation, "thread");
    hg_assign_clear(&a);
    json_decref(job);
}

/* retry, overlap, max_concurrent, queue_max (job_policy.c): bounded, and
 * each error names its field. */
static void test_policy_rules(void **state)
{
#define S_J(x) "{" S_BASE ", " S_URL ", " x "}"
    s_expect_fail(S_J("\"retry\": 3"), "retry", "retry: must be an object or null");
    s_expect_fail_prefix(S_J("\"retry\": {}"), "retry.max_attempts",
                         "retry.max_attempts: must be an integer from 1 to 100");
    s_expect_fail_prefix(S_J("\"retry\": {\"max_attempts\": 101}"), "retry.max_attempts",
                         "retry.max_attempts: must be an integer from 1 to 100");
    s_expect_fail(S_J("\"retry\": {\"max_attempts\": 3, \"backoff\": \"linear\"}"), "retry.backoff",
                  "retry.backoff: must be one of fixed, exponential");
    s_expect_fail(S_J("\"retry\": {\"max_attempts\": 3, \"jitter\": true}"), "retry.jitter",
                  "retry.jitter: must be one of none, full");
    s_expect_fail(S_J("\"retry\": {\"max_attempts\": 3, \"initial\": \"1ms\"}"), "retry.initial",
                  "retry.initial: must be between 10ms and 24h");
    s_expect_fail_prefix(S_J("\"retry\": {\"max_attempts\": 3, \"initial\": \"soon\"}"),
                         "retry.initial", "retry.initial: must be a duration");
    s_expect_fail(
        S_J("\"retry\": {\"max_attempts\": 3, \"initial\": \"10s\", \"max_delay\": \"5s\"}"),
        "retry.max_delay", "retry.max_delay: must not be below retry.initial");
    s_expect_fail(S_J("\"retry\": {\"max_attempts\": 3, \"factor\": 0.5}"), "retry.factor",
                  "retry.factor: must be a number from 1 to 100");
    s_expect_fail_prefix(S_J("\"retry\": {\"max_attempts\": 3, \"on\": [\"http_4xx\"]}"),
                         "retry.on", "retry.on: item 0 must be one of http_5xx");
    s_expect_fail_prefix(S_J("\"retry\": {\"max_attempts\": 3, \"on\": []}"), "retry.on",
                         "retry.on: must be a non-empty list");
    s_expect_fail(S_J("\"retry\": {\"max_attempts\": 3, \"tries\": 2}"), "retry.tries",
                  "retry.tries: unknown field");
    s_expect_fail(S_J("\"overlap\": \"sometimes\""), "overlap",
                  "overlap: must be one of allow, forbid, replace, queue");
    s_expect_fail(S_J("\"max_concurrent\": 0"), "max_concurrent",
                  "max_concurrent: must be an integer from 1 to 1000");
    s_expect_fail(S_J("\"queue_max\": 1001"), "queue_max",
                  "queue_max: must be an integer from 1 to 1000");

    /* Normalized, with the defaults filled; and on the wire. */
    json_t *job = s_expect_ok(S_J("\"retry\": {\"max_attempts\": 4, \"initial\": \"500ms\", "
                                  "\"factor\": 3, \"on\": [\"timeout\", \"http_429\"]}, "
                                  "\"overlap\": \"queue\", \"queue_max\": 5"));
    json_t *want = s_parse("{\"max_attempts\": 4, \"backoff\": \"exponential\", \"initial\": "
                           "\"500ms\", \"factor\": 3.0, \"max_delay\": \"5m\", \"jitter\": "
                           "\"none\", \"on\": [\"http_429\", \"timeout\"]}");
    if (!json_equal(json_object_get(job, "retry"), want)) {
        char *got = json_dumps(json_object_get(job, "retry"), JSON_SORT_KEYS);
        fail_msg("retry: got %s", got);
    }
    json_decref(want);
    json_object_set_new(job, "id", json_integer(7));
    json_object_set_new(job, "version", json_integer(1));
    hg_assign_t a;
    memset(&a, 0, sizeof a);
    assert_int_equal(hg_job_to_assign(job, &a), 0);
    assert_int_equal(a.retry.max_attempts, 4);
    assert_int_equal(a.retry.backoff, 1);
    assert_int_equal(a.retry.initial_ms, 500);
    assert_int_equal(a.retry.factor_milli, 3000);
    assert_int_equal(a.retry.max_delay_ms, 300000);
    assert_int_equal(a.retry.on, (1u << 1) | (1u << 3));
    assert_int_equal(a.overlap, HG_OVERLAP_QUEUE);
    assert_int_equal(a.max_concurrent, 1);
    assert_int_equal(a.queue_max, 5);
    hg_assign_clear(&a);
    json_decref(job);
#undef S_J
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_namespace_rules),
        cmocka_unit_test(test_kind_rules),
        cmocka_unit_test(test_schedule_rules),
        cmocka_unit_test(test_timezone_rules),
        cmocka_unit_test(test_time_bounds_rules),
        cmocka_unit_test(test_misfire_timeout_status_rules),
        cmocka_unit_test(test_http_rules),
        cmocka_unit_test(test_params_executor_unknown_rules),
        cmocka_unit_test(test_defaults_filled),
        cmocka_unit_test(test_dependencies),
        cmocka_unit_test(test_normalization_and_read_only_fields),
        cmocka_unit_test(test_to_assign),
        cmocka_unit_test(test_plugin_rules),
        cmocka_unit_test(test_plugin_to_assign),
        cmocka_unit_test(test_policy_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
