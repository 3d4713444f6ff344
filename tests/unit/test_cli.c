// hg-test-sources: cli/args.c cli/table.c cli/client.c cli/cli.c cli/cmd_job.c cli/cmd_cluster.c
// hg-test-sources: cli/cmd_plugin.c cli/cmd_admin.c cli/cmd_run.c cli/cmd_deps.c
// hg-test-sources: cli/cmd_alert.c cli/cmd_retention.c
// hg-test-sources: cli/cmd_job_edit.c
// hg-test-sources: cli/cmd_route.c cli/job_scan.c
/* test_cli: the `hourglass` CLI. Pure parts (tables, flags, the create-job
 * body) directly; whole commands in-process against a small
 * libmicrohttpd server on 127.0.0.1 that answers with canned responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"
#include "cli.h"
#include "cmd_job_edit.h"
#include "client.h"
#include "hg_error.h"
#include "table.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------- tables */

static char *s_table_text(hg_table_t *table)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    hg_table_print(table, f);
    fclose(f);
    return text;
}

static void test_table_aligns_columns_to_content(void **state)
{
    const char *headers[] = {"name", "schedule", "status"};
    hg_table_t *table = hg_table_new(headers, 3);
    assert_non_null(table);
    const char *r1[] = {"ping", "@every 1s", "active"};
    const char *r2[] = {"a-much-longer-name", "0 */5 * * * *", "paused"};
    assert_int_equal(hg_table_add_row(table, r1), 0);
    assert_int_equal(hg_table_add_row(table, r2), 0);
    assert_int_equal(hg_table_rows(table), 2);
    char *text = s_table_text(table);
    assert_string_equal(text, "NAME                 SCHEDULE        STATUS\n"
                              "ping                 @every 1s       active\n"
                              "a-much-longer-name   0 */5 * * * *   paused\n");
    free(text);
    hg_table_destroy(&table);
    assert_null(table);
    hg_table_destroy(&table); /* idempotent */
}

static void test_table_counts_utf8_and_fills_empty_cells(void **state)
{
    const char *headers[] = {"a", "b", "c"};
    hg_table_t *table = hg_table_new(headers, 3);
    const char *r1[] = {"h\xc3\xa9llo", NULL, ""};   /* "héllo": 5 columns wide */
    const char *r2[] = {"x", "line\nbreak", "last"}; /* control characters become spaces */
    hg_table_add_row(table, r1);
    hg_table_add_row(table, r2);
    char *text = s_table_text(table);
    assert_string_equal(text, "A       B            C\n"
                              "h\xc3\xa9llo   -            -\n"
                              "x       line break   last\n");
    free(text);
    hg_table_destroy(&table);
    assert_int_equal(hg_table_text_width("\xe2\x8f\xb3 ok"), 4);
}

static void test_table_with_no_rows_prints_the_header(void **state)
{
    const char *headers[] = {"name", "state"};
    hg_table_t *table = hg_table_new(headers, 2);
    char *text = s_table_text(table);
    assert_string_equal(text, "NAME   STATE\n");
    free(text);
    hg_table_destroy(&table);
}

/* ----------------------------------------------------------------- flags */

static const hg_flag_t s_flags[] = {
    {"schedule", "EXPR", false, ""},
    {"header", "H", true, ""},
    {"paused", NULL, false, ""},
    {"limit", "N", false, ""},
};

static void test_args_take_global_flags_anywhere(void **state)
{
    char *argv[] = {"ping",     "--master",  "http://m:1", "--schedule", "@every 1s",
                    "-o",       "json",      "--header",   "A: b",       "--header=C: d",
                    "--paused", "--token=t", "--limit=5",  "--limit",    "7"};
    hg_globals_t g = {.master = "http://before:1"};
    hg_args_t args;
    char err[256] = "";
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 15, argv, &g, err, sizeof err), 0);
    assert_string_equal(g.master, "http://m:1"); /* after the command overrides before it */
    assert_string_equal(g.output, "json");
    assert_string_equal(g.token, "t");
    assert_int_equal(args.pos_n, 1);
    assert_string_equal(args.pos[0], "ping");
    assert_string_equal(hg_args_get(&args, "schedule"), "@every 1s");
    assert_int_equal(hg_args_count(&args, "header"), 2);
    assert_string_equal(hg_args_nth(&args, "header", 0), "A: b");
    assert_string_equal(hg_args_nth(&args, "header", 1), "C: d");
    assert_null(hg_args_nth(&args, "header", 2));
    assert_true(hg_args_has(&args, "paused"));
    assert_string_equal(hg_args_get(&args, "limit"), "7"); /* the last one wins */
    hg_args_free(&args);
}

static void test_args_reject_bad_flags(void **state)
{
    hg_globals_t g = {0};
    hg_args_t args;
    char err[256];
    char *unknown[] = {"--nope", "x"};
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 2, unknown, &g, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "unknown flag --nope");
    hg_args_free(&args);

    char *missing[] = {"x", "--schedule"};
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 2, missing, &g, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "flag --schedule needs a value (EXPR)");
    hg_args_free(&args);

    char *boolean[] = {"--paused=yes"};
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 1, boolean, &g, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "flag --paused takes no value");
    hg_args_free(&args);

    char *no_output[] = {"-o"};
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 1, no_output, &g, err, sizeof err),
                     HG_EINVAL);
    hg_args_free(&args);
}

static void test_args_double_dash_and_dash_values(void **state)
{
    hg_globals_t g = {0};
    hg_args_t args;
    char err[256];
    /* A value may start with a dash; after "--" everything is positional. */
    char *argv[] = {"--schedule", "-x", "--", "--paused", "-"};
    assert_int_equal(hg_args_parse(&args, s_flags, 4, 5, argv, &g, err, sizeof err), 0);
    assert_string_equal(hg_args_get(&args, "schedule"), "-x");
    assert_false(hg_args_has(&args, "paused"));
    assert_int_equal(args.pos_n, 2);
    assert_string_equal(args.pos[0], "--paused");
    assert_string_equal(args.pos[1], "-");
    hg_args_free(&args);

    int next = -1;
    char *lead[] = {"-ojson", "--master=http://a:1", "job", "--token", "t"};
    assert_int_equal(hg_args_parse_globals(5, lead, &g, &next, err, sizeof err), 0);
    assert_int_equal(next, 2);
    assert_string_equal(g.output, "json");
    assert_null(g.token); /* stops at the command word */
}

static void test_settings_precedence_flag_env_default(void **state)
{
    hg_settings_t s;
    char err[256];
    unsetenv("HOURGLASS_MASTER");
    unsetenv("HOURGLASS_TOKEN");
    hg_globals_t none = {0};
    assert_int_equal(hg_settings_resolve(&none, &s, err, sizeof err), 0);
    assert_string_equal(s.master, "http://127.0.0.1:8642");
    assert_null(s.token);
    assert_int_equal(s.output, HG_OUTPUT_TABLE);

    setenv("HOURGLASS_MASTER", "http://env-master:9000/", 1);
    setenv("HOURGLASS_TOKEN", "env-token", 1);
    assert_int_equal(hg_settings_resolve(&none, &s, err, sizeof err), 0);
    assert_string_equal(s.master, "http://env-master:9000"); /* trailing slash dropped */
    assert_string_equal(s.token, "env-token");

    hg_globals_t flags = {.master = "https://flag-master", .token = "flag-token", .output = "json"};
    assert_int_equal(hg_settings_resolve(&flags, &s, err, sizeof err), 0);
    assert_string_equal(s.master, "https://flag-master");
    assert_string_equal(s.token, "flag-token");
    assert_int_equal(s.output, HG_OUTPUT_JSON);

    setenv("HOURGLASS_MASTER", "", 1); /* empty counts as unset */
    assert_int_equal(hg_settings_resolve(&none, &s, err, sizeof err), 0);
    assert_string_equal(s.master, "http://127.0.0.1:8642");

    hg_globals_t list = {.master = " http://a:1/ ,https://b:2,, "};
    assert_int_equal(hg_settings_resolve(&list, &s, err, sizeof err), 0);
    assert_string_equal(s.master, "http://a:1,https://b:2");
    hg_globals_t bad_list = {.master = "http://a:1,b:2"};
    assert_int_equal(hg_settings_resolve(&bad_list, &s, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--master: \"b:2\" must start with http:// or https://");
    hg_globals_t empty_list = {.master = " , "};
    assert_int_equal(hg_settings_resolve(&empty_list, &s, err, sizeof err), HG_EINVAL);

    hg_globals_t bad_url = {.master = "127.0.0.1:8642"};
    assert_int_equal(hg_settings_resolve(&bad_url, &s, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--master: \"127.0.0.1:8642\" must start with http:// or https://");
    hg_globals_t bad_output = {.output = "yaml"};
    assert_int_equal(hg_settings_resolve(&bad_output, &s, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "-o: \"yaml\" is not an output format (table or json)");
    unsetenv("HOURGLASS_MASTER");
    unsetenv("HOURGLASS_TOKEN");
}

/* -------------------------------------------------------- create-job body */

/* Parse `job create` arguments as the CLI would and build the body. */
static int s_build(int argc, char **argv, json_t **out, char *err, size_t err_size)
{
    hg_globals_t g = {0};
    hg_args_t args;
    int rc = hg_args_parse(&args, hg_cmd_job_create.flags, hg_cmd_job_create.flags_n, argc, argv,
                           &g, err, err_size);
    if (rc == 0) rc = hg_job_spec_build(&args, out, err, err_size);
    hg_args_free(&args);
    return rc;
}

/* --retry-*, --overlap, --max-concurrent, --queue-max (cmd_run.c). */
static void test_job_spec_policy_flags(void **state)
{
    char *argv[] = {"sync",
                    "--schedule",
                    "@every 5m",
                    "--http-url",
                    "http://h/",
                    "--retry-max",
                    "4",
                    "--retry-initial",
                    "1s",
                    "--retry-factor",
                    "1.5",
                    "--retry-on",
                    "http_5xx,timeout",
                    "--retry-on",
                    "lost",
                    "--retry-jitter",
                    "full",
                    "--overlap",
                    "queue",
                    "--queue-max",
                    "3",
                    "--max-concurrent",
                    "2"};
    json_t *job = NULL;
    char err[256] = "";
    assert_int_equal(s_build(sizeof argv / sizeof argv[0], argv, &job, err, sizeof err), 0);
    json_t *want =
        json_loads("{\"max_attempts\": 4, \"initial\": \"1s\", \"factor\": 1.5, "
                   "\"jitter\": \"full\", \"on\": [\"http_5xx\", \"timeout\", \"lost\"]}",
                   0, NULL);
    assert_true(json_equal(json_object_get(job, "retry"), want));
    assert_string_equal(json_string_value(json_object_get(job, "overlap")), "queue");
    assert_int_equal(json_integer_value(json_object_get(job, "queue_max")), 3);
    assert_int_equal(json_integer_value(json_object_get(job, "max_concurrent")), 2);
    json_decref(want);
    json_decref(job);
    char *orphan[] = {"sync",      "--schedule",      "@every 5m", "--http-url",
                      "http://h/", "--retry-initial", "1s"};
    assert_int_equal(s_build(7, orphan, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--retry-max is required with the other --retry-* flags");
    char *zero[] = {"sync",      "--schedule",  "@every 5m", "--http-url",
                    "http://h/", "--retry-max", "0"};
    assert_int_equal(s_build(7, zero, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--retry-max: \"0\" is not a positive integer");
}

/* `job edit` sends only what its flags set: a merge patch. */
static void test_job_edit_patch(void **state)
{
    (void) state;
    char err[512];
    char *argv[] = {"tweak", "--header", "X-Trace: on", "--param", "b=3", "--remaining-runs",
                    "4",     "--jitter", "2s"};
    hg_globals_t g = {0};
    hg_args_t args;
    assert_int_equal(hg_args_parse(&args, hg_cmd_job_edit.flags, hg_cmd_job_edit.flags_n, 9, argv,
                                   &g, err, sizeof err),
                     0);
    json_t *patch = NULL;
    assert_int_equal(hg_job_edit_patch_build(&args, &patch, err, sizeof err), 0);
    json_t *want = json_loads("{\"http\": {\"headers\": {\"X-Trace\": \"on\"}}, \"params\": "
                              "{\"b\": \"3\"}, \"remaining_runs\": 4, \"jitter\": \"2s\"}",
                              0, NULL);
    if (!json_equal(patch, want)) {
        char *got = json_dumps(patch, JSON_SORT_KEYS);
        fail_msg("edit patch: %s", got);
    }
    json_decref(want);
    json_decref(patch);
    hg_args_free(&args);
    /* Nothing to change, and a bad count, are usage errors. */
    char *none[] = {"tweak"};
    assert_int_equal(hg_args_parse(&args, hg_cmd_job_edit.flags, hg_cmd_job_edit.flags_n, 1, none,
                                   &g, err, sizeof err),
                     0);
    assert_int_equal(hg_job_edit_patch_build(&args, &patch, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "nothing to change"));
    hg_args_free(&args);
    char *bad[] = {"tweak", "--remaining-runs", "-1"};
    assert_int_equal(hg_args_parse(&args, hg_cmd_job_edit.flags, hg_cmd_job_edit.flags_n, 3, bad,
                                   &g, err, sizeof err),
                     0);
    assert_int_equal(hg_job_edit_patch_build(&args, &patch, err, sizeof err), HG_EINVAL);
    assert_non_null(strstr(err, "--remaining-runs"));
    hg_args_free(&args);
}

/* --labels and the other routing flags become the executor object. */
static void test_job_spec_routing_flags(void **state)
{
    char *argv[] = {"r",
                    "--schedule",
                    "@every 1s",
                    "--http-url",
                    "http://h/",
                    "--labels",
                    "region=eu,zone!=a,gpu,!spot",
                    "--strategy",
                    "consistent_hash",
                    "--shards",
                    "4",
                    "--node",
                    "w1"};
    json_t *job = NULL;
    char err[256] = "";
    assert_int_equal(s_build(sizeof argv / sizeof argv[0], argv, &job, err, sizeof err), 0);
    json_t *want = json_loads("{\"nodes\":[\"w1\"],\"labels\":{\"region\":\"eu\","
                              "\"zone\":{\"not\":\"a\"},\"gpu\":{\"exists\":true},"
                              "\"spot\":{\"exists\":false}},\"strategy\":\"consistent_hash\","
                              "\"shards\":4}",
                              0, NULL);
    if (!json_equal(json_object_get(job, "executor"), want)) {
        char *got = json_dumps(json_object_get(job, "executor"), JSON_COMPACT);
        fail_msg("executor differs: %s", got);
    }
    json_decref(want);
    json_decref(job);
    char *bad[][6] = {
        {"r", "--schedule", "@every 1s", "--http-url", "http://h/", "--labels=region="},
        {"r", "--schedule", "@every 1s", "--http-url", "http://h/", "--labels=a,,b"},
        {"r", "--schedule", "@every 1s", "--http-url", "http://h/", "--labels=a,a=1"},
        {"r", "--schedule", "@every 1s", "--http-url", "http://h/", "--shards=0"},
    };
    const char *msgs[] = {"--labels: \"region=\" has no value",
                          "--labels: empty term (terms are separated by commas)",
                          "--labels: label \"a\" is given twice",
                          "--shards: \"0\" is not a shard count (1 or more)"};
    for (size_t i = 0; i < 4; i++) {
        job = NULL;
        assert_int_equal(s_build(6, bad[i], &job, err, sizeof err), HG_EINVAL);
        assert_string_equal(err, msgs[i]);
        assert_null(job);
    }
}

static void test_job_spec_from_every_flag(void **state)
{
    char *argv[] = {"ping",
                    "--schedule",
                    "0 */5 * * * *",
                    "--http-url",
                    "http://h/hook",
                    "--method",
                    "post",
                    "--header",
                    "X-Token: abc",
                    "--header",
                    "Accept:text/plain",
                    "--form",
                    "a=1",
                    "--form",
                    "b=x=y",
                    "--expect-status",
                    "200",
                    "--expect-status",
                    "204",
                    "--timeout",
                    "10s",
                    "--tz",
                    "Europe/Paris",
                    "--misfire",
                    "skip",
                    "--node",
                    "w1",
                    "--node",
                    "w2",
                    "--param",
                    "env=prod",
                    "--namespace",
                    "team-a",
                    "--paused",
                    "--recover",
                    "--expect-body",
                    "ok"};
    json_t *job = NULL;
    char err[256] = "";
    assert_int_equal(s_build(sizeof argv / sizeof argv[0], argv, &job, err, sizeof err), 0);
    json_t *want = json_loads(
        "{\"name\":\"ping\",\"namespace\":\"team-a\",\"kind\":\"http\","
        "\"schedule\":\"0 */5 * * * *\",\"timezone\":\"Europe/Paris\",\"misfire\":\"skip\","
        "\"timeout\":\"10s\",\"status\":\"paused\",\"recover\":true,"
        "\"http\":{\"method\":\"post\",\"url\":\"http://h/hook\","
        "\"headers\":{\"X-Token\":\"abc\",\"Accept\":\"text/plain\"},"
        "\"form\":{\"a\":\"1\",\"b\":\"x=y\"},\"expect_status\":[200,204],\"expect_body\":\"ok\"},"
        "\"params\":{\"env\":\"prod\"},\"executor\":{\"nodes\":[\"w1\",\"w2\"]}}",
        0, NULL);
    assert_non_null(want);
    if (!json_equal(job, want)) {
        char *got = json_dumps(job, JSON_COMPACT);
        fail_msg("body differs: %s", got);
    }
    json_decref(want);
    json_decref(job);
}

static void test_job_spec_minimal(void **state)
{
    char *argv[] = {"ping", "--schedule", "@every 1s", "--http-url", "http://h/", "--body", "{}"};
    json_t *job = NULL;
    char err[256];
    assert_int_equal(s_build(7, argv, &job, err, sizeof err), 0);
    json_t *want = json_loads("{\"name\":\"ping\",\"kind\":\"http\",\"schedule\":\"@every 1s\","
                              "\"http\":{\"url\":\"http://h/\",\"body\":\"{}\"}}",
                              0, NULL);
    assert_true(json_equal(job, want));
    json_decref(want);
    json_decref(job);
}

static void test_job_spec_header_parsing(void **state)
{
    char key[64], err[256];
    const char *value;
    assert_int_equal(
        hg_cli_split_kv("header", "X-A: b c", ':', key, sizeof key, &value, err, sizeof err), 0);
    assert_string_equal(key, "X-A");
    assert_string_equal(value, "b c");
    assert_int_equal(
        hg_cli_split_kv("header", "  X-A :x:y", ':', key, sizeof key, &value, err, sizeof err), 0);
    assert_string_equal(key, "X-A");
    assert_string_equal(value, "x:y"); /* split at the first colon only */

    assert_int_equal(
        hg_cli_split_kv("header", "NoColon", ':', key, sizeof key, &value, err, sizeof err),
        HG_EINVAL);
    assert_string_equal(err, "--header: \"NoColon\" is not of the form 'Name: value'");
    assert_int_equal(
        hg_cli_split_kv("header", ": v", ':', key, sizeof key, &value, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--header: \": v\" has an empty name (expected 'Name: value')");
    assert_int_equal(
        hg_cli_split_kv("header", "Bad Name: v", ':', key, sizeof key, &value, err, sizeof err),
        HG_EINVAL);
    assert_string_equal(err, "--header: \"Bad Name\" is not a valid name (no blanks allowed)");

    /* Through the whole build: trailing blanks of a value go. */
    char *argv[] = {"p",        "--schedule", "@every 1s", "--http-url",
                    "http://h", "--header",   "K:  v  "};
    json_t *job = NULL;
    assert_int_equal(s_build(7, argv, &job, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(job, "http"), "headers"), "K")),
                        "v");
    json_decref(job);
    char *bad[] = {"p", "--schedule", "@every 1s", "--http-url", "http://h", "--header", "K=v"};
    assert_int_equal(s_build(7, bad, &job, err, sizeof err), HG_EINVAL);
    assert_null(job);
    assert_string_equal(err, "--header: \"K=v\" is not of the form 'Name: value'");
}

static void test_job_spec_form_and_params(void **state)
{
    char err[256];
    json_t *job = NULL;
    char *no_eq[] = {"p", "--schedule", "@every 1s", "--http-url", "http://h", "--form", "novalue"};
    assert_int_equal(s_build(7, no_eq, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--form: \"novalue\" is not of the form key=value");
    char *no_key[] = {"p", "--schedule", "@every 1s", "--http-url", "http://h", "--param", "=x"};
    assert_int_equal(s_build(7, no_key, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--param: \"=x\" has an empty name (expected key=value)");
    char *empty_value[] = {"p",        "--schedule", "@every 1s", "--http-url",
                           "http://h", "--form",     "k="};
    assert_int_equal(s_build(7, empty_value, &job, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(job, "http"), "form"), "k")),
                        "");
    json_decref(job);
}

static void test_job_spec_bad_timeout_is_a_clear_error(void **state)
{
    char err[256];
    json_t *job = NULL;
    char *argv[] = {"p", "--schedule", "@every 1s", "--http-url", "http://h", "--timeout", "ten"};
    assert_int_equal(s_build(7, argv, &job, err, sizeof err), HG_EINVAL);
    assert_null(job);
    assert_string_equal(err, "--timeout: \"ten\" is not a duration (e.g. 10s, 250ms, 1m30s)");
    argv[6] = "48h";
    assert_int_equal(s_build(7, argv, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--timeout: \"48h\" is out of range (1ms to 24h)");
    argv[6] = "1m30s";
    assert_int_equal(s_build(7, argv, &job, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(job, "timeout")), "1m30s");
    json_decref(job);
}

static void test_job_spec_required_flags_and_conflicts(void **state)
{
    char err[256];
    json_t *job = NULL;
    char *no_schedule[] = {"p", "--http-url", "http://h"};
    assert_int_equal(s_build(3, no_schedule, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--schedule is required (e.g. --schedule '@every 1m'), unless "
                             "--depends-on is given");
    char *no_url[] = {"p", "--schedule", "@every 1s"};
    assert_int_equal(s_build(3, no_url, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--http-url or --plugin is required (the task to run)");
    char *both[] = {"p",      "--schedule", "@every 1s", "--http-url", "http://h",
                    "--body", "x",          "--form",    "a=b"};
    assert_int_equal(s_build(9, both, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--body and --form cannot be used together");
    char *status[] = {"p",        "--schedule",      "@every 1s", "--http-url",
                      "http://h", "--expect-status", "2xx"};
    assert_int_equal(s_build(7, status, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--expect-status: \"2xx\" is not an HTTP status (100-599)");
    assert_null(job);
}

static void test_job_spec_plugin(void **state)
{
    char err[512];
    json_t *job = NULL;
    char *argv[] = {"p",           "--schedule", "@every 1s", "--plugin",    "shell@1.2",
                    "--isolation", "thread",     "--param",   "command=true"};
    assert_int_equal(s_build(9, argv, &job, err, sizeof err), 0);
    json_t *want = json_loads("{\"name\":\"p\",\"kind\":\"plugin\",\"schedule\":\"@every 1s\","
                              "\"plugin\":{\"name\":\"shell\",\"version\":\"1.2\","
                              "\"isolation\":\"thread\"},\"params\":{\"command\":\"true\"}}",
                              0, NULL);
    assert_true(json_equal(job, want));
    json_decref(want);
    json_decref(job);
    job = NULL;

    char *by_hash[] = {"p", "--schedule", "@every 1s", "--plugin-sha256", "ab12"};
    assert_int_equal(s_build(5, by_hash, &job, err, sizeof err), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(job, "plugin"), "sha256")), "ab12");
    assert_null(json_object_get(json_object_get(job, "plugin"), "name"));
    json_decref(job);
    job = NULL;

    char *both[] = {"p", "--schedule", "@every 1s", "--plugin", "noop", "--http-url", "http://h"};
    assert_int_equal(s_build(7, both, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--http-url and --plugin/--plugin-sha256 cannot be used together");
    char *method[] = {"p", "--schedule", "@every 1s", "--plugin", "noop", "--method", "POST"};
    assert_int_equal(s_build(7, method, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--method applies to HTTP jobs only, not to --plugin");
    char *iso[] = {"p",        "--schedule",  "@every 1s", "--http-url",
                   "http://h", "--isolation", "thread"};
    assert_int_equal(s_build(7, iso, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--isolation applies to plug-in jobs only (give --plugin)");
    char *noname[] = {"p", "--schedule", "@every 1s", "--plugin", "@1.0"};
    assert_int_equal(s_build(5, noname, &job, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "--plugin: \"@1.0\" has no name (expected NAME or NAME@VERSION)");
    assert_null(job);
}

/* ------------------------------------------------------------ view helpers */

static void test_view_helpers_tolerate_anything(void **state)
{
    char buf[128];
    assert_string_equal(hg_view_truncate("short", 60, buf, sizeof buf), "short");
    char long_text[100];
    memset(long_text, 'e', 99);
    long_text[99] = '\0';
    hg_view_truncate(long_text, 60, buf, sizeof buf);
    assert_int_equal(strlen(buf), 60);
    assert_string_equal(buf + 57, "...");

    json_t *obj =
        json_loads("{\"a\":null,\"b\":7,\"c\":[1,\"x\"],\"t\":\"2026-11-21T11:00:00+01:00\","
                   "\"bad_t\":\"yesterday\",\"m\":{\"z\":\"1\",\"a\":2}}",
                   0, NULL);
    assert_string_equal(hg_view_text(obj, "a", buf, sizeof buf), "-");
    assert_string_equal(hg_view_text(obj, "missing", buf, sizeof buf), "-");
    assert_string_equal(hg_view_text(obj, "b", buf, sizeof buf), "7");
    assert_string_equal(hg_view_list(obj, "c", buf, sizeof buf), "1,x");
    assert_string_equal(hg_view_time(obj, "t", buf, sizeof buf), "2026-11-21T10:00:00.000Z");
    assert_string_equal(hg_view_time(obj, "bad_t", buf, sizeof buf), "yesterday");
    assert_string_equal(hg_view_pairs(obj, "m", ",", buf, sizeof buf), "a=2,z=1");
    assert_string_equal(hg_view_pairs(obj, "b", ",", buf, sizeof buf), "-");
    json_t *not_obj = json_integer(3);
    assert_string_equal(hg_view_text(not_obj, "a", buf, sizeof buf), "-");
    assert_null(hg_view_str(not_obj, "a"));
    assert_null(hg_view_array(obj, "b"));
    json_decref(not_obj);
    json_decref(obj);

    char err[256];
    assert_int_equal(
        hg_cli_time_arg("since", "2026-01-01T00:00:00+01:00", 0, buf, sizeof buf, err, sizeof err),
        0);
    assert_string_equal(buf, "2025-12-31T23:00:00.000Z");
    assert_int_equal(hg_cli_time_arg("since", "1h", 7200000, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "1970-01-01T01:00:00.000Z");
    assert_int_equal(hg_cli_time_arg("since", "soon", 0, buf, sizeof buf, err, sizeof err),
                     HG_EINVAL);
}

/* ------------------------------------------------- in-test HTTP master */

/* What the fake master answers next, and what it saw last. */
static struct {
    pthread_mutex_t lock;
    unsigned status;    /* HTTP status to answer */
    const char *body;   /* body to answer */
    char method[16];    /* last request's method */
    char uri[1024];     /* last request's raw URI, query included */
    char auth[256];     /* last Authorization header */
    char ctype[128];    /* last Content-Type header */
    char request[8192]; /* last request body */
    int requests;       /* requests served */
    int standby_hits;   /* requests under /standby/, answered 503 not_leader */
    char self_url[64];  /* the fake's base URL: the leader a /standby/ answer names */
} s_fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

typedef struct {
    bool started;    /* the headers call has been seen */
    char uri[1024];  /* raw URI from the log callback */
    char body[8192]; /* upload so far */
    size_t body_len;
} s_conn_t;

static void *s_uri_log(void *cls, const char *uri, struct MHD_Connection *connection)
{
    s_conn_t *conn = calloc(1, sizeof *conn);
    snprintf(conn->uri, sizeof conn->uri, "%s", uri);
    return conn;
}

static void s_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    s_conn_t *conn = *con_cls;
    if (!conn->started) { /* first call: headers only, the body (if any) follows */
        conn->started = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (conn->body_len + n >= sizeof conn->body) n = sizeof conn->body - conn->body_len - 1;
        memcpy(conn->body + conn->body_len, upload_data, n);
        conn->body_len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
    const char *ctype = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Type");
    if (strncmp(conn->uri, "/standby/", 9) == 0) {
        /* A standby master: refuse, naming the leader (this same fake). */
        char body[256];
        pthread_mutex_lock(&s_fake.lock);
        s_fake.standby_hits++;
        snprintf(body, sizeof body,
                 "{\"error\":{\"code\":\"not_leader\",\"message\":\"this master is a standby\","
                 "\"leader\":\"%s\"}}",
                 s_fake.self_url);
        pthread_mutex_unlock(&s_fake.lock);
        struct MHD_Response *response =
            MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(response, "Content-Type", "application/json");
        enum MHD_Result rc = MHD_queue_response(connection, 503, response);
        MHD_destroy_response(response);
        return rc;
    }
    pthread_mutex_lock(&s_fake.lock);
    snprintf(s_fake.method, sizeof s_fake.method, "%s", method);
    snprintf(s_fake.uri, sizeof s_fake.uri, "%s", conn->uri);
    snprintf(s_fake.auth, sizeof s_fake.auth, "%s", auth ? auth : "");
    snprintf(s_fake.ctype, sizeof s_fake.ctype, "%s", ctype ? ctype : "");
    snprintf(s_fake.request, sizeof s_fake.request, "%.*s", (int) conn->body_len, conn->body);
    s_fake.requests++;
    unsigned status = s_fake.status;
    const char *body = s_fake.body;
    pthread_mutex_unlock(&s_fake.lock);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

typedef struct {
    struct MHD_Daemon *daemon; /* the fake master */
    char url[64];              /* its base URL */
} s_server_t;

static int s_server_setup(void **state)
{
    s_server_t *server = calloc(1, sizeof *server);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, s_handler, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *) &addr, MHD_OPTION_URI_LOG_CALLBACK, s_uri_log, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!server->daemon) {
        free(server);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(server->url, sizeof server->url, "http://127.0.0.1:%u", (unsigned) info->port);
    pthread_mutex_lock(&s_fake.lock);
    snprintf(s_fake.self_url, sizeof s_fake.self_url, "%s", server->url);
    pthread_mutex_unlock(&s_fake.lock);
    unsetenv("HOURGLASS_MASTER");
    unsetenv("HOURGLASS_TOKEN");
    /* No token file of the user running the tests may leak in. */
    setenv("XDG_CONFIG_HOME", "/nonexistent-hourglass-test", 1);
    *state = server;
    return 0;
}

static int s_server_teardown(void **state)
{
    s_server_t *server = *state;
    MHD_stop_daemon(server->daemon);
    free(server);
    return 0;
}

static void s_answer(unsigned status, const char *body)
{
    pthread_mutex_lock(&s_fake.lock);
    s_fake.status = status;
    s_fake.body = body;
    s_fake.requests = 0;
    s_fake.standby_hits = 0;
    s_fake.method[0] = s_fake.uri[0] = s_fake.auth[0] = s_fake.request[0] = '\0';
    pthread_mutex_unlock(&s_fake.lock);
}

/* Output of one in-process CLI run. */
typedef struct {
    int rc;    /* exit code */
    char *out; /* stdout */
    char *err; /* stderr */
} s_run_t;

static s_run_t s_cli(const char *first, ...)
{
    char *argv[64] = {"hourglass"};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *) a;
    va_end(ap);
    s_run_t run = {0};
    size_t out_size, err_size;
    FILE *out = open_memstream(&run.out, &out_size);
    FILE *err = open_memstream(&run.err, &err_size);
    run.rc = hg_cli_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    return run;
}

static void s_run_free(s_run_t *run)
{
    free(run->out);
    free(run->err);
}

static const char *const s_job_json =
    "{\"id\":12,\"namespace\":\"default\",\"name\":\"ping\",\"kind\":\"http\","
    "\"schedule\":\"@every 1s\",\"timezone\":\"UTC\",\"status\":\"active\",\"misfire\":"
    "\"fire_once\",\"timeout\":\"30s\",\"http\":{\"method\":\"GET\",\"url\":"
    "\"http://127.0.0.1:9000/hook\",\"headers\":{\"X-Token\":\"abc\"},\"body\":null,\"form\":null,"
    "\"expect_status\":[],\"expect_body\":null},\"params\":{},\"executor\":{\"nodes\":[]},"
    "\"version\":1,\"created_at\":\"2026-11-21T10:00:00.000Z\",\"updated_at\":"
    "\"2026-11-21T10:00:00.000Z\",\"node\":\"worker-1\"}";

static void test_api_error_envelope_is_printed_and_exits_1(void **state)
{
    s_server_t *server = *state;
    s_answer(400, "{\"error\":{\"code\":\"invalid_argument\",\"message\":\"schedule: \\\"* * *\\\" "
                  "needs 6 fields\",\"field\":\"schedule\"}}");
    s_run_t run = s_cli("--master", server->url, "job", "create", "ping", "--schedule", "* * *",
                        "--http-url", "http://127.0.0.1:9000/hook", NULL);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.err, "hourglass: schedule: \"* * *\" needs 6 fields\n");
    assert_string_equal(run.out, "");
    assert_string_equal(s_fake.method, "POST");
    assert_string_equal(s_fake.uri, "/api/v1/jobs");
    s_run_free(&run);

    /* An envelope without a message still gives one line. */
    s_answer(404, "{\"error\":{\"code\":\"not_found\"}}");
    run = s_cli("job", "get", "nope", "--master", server->url, NULL);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.err, "hourglass: master answered HTTP 404 (not_found)\n");
    s_run_free(&run);
}

static void test_create_job_sends_json_and_token(void **state)
{
    s_server_t *server = *state;
    s_answer(201, s_job_json);
    setenv("HOURGLASS_MASTER", server->url, 1);
    setenv("HOURGLASS_TOKEN", "s3cret", 1);
    s_run_t run = s_cli("job", "create", "ping", "--schedule", "@every 1s", "--http-url",
                        "http://127.0.0.1:9000/hook", "--header", "X-Token: abc", NULL);
    unsetenv("HOURGLASS_MASTER");
    unsetenv("HOURGLASS_TOKEN");
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "created job ping\n");
    assert_string_equal(run.err, "");
    assert_string_equal(s_fake.auth, "Bearer s3cret");
    assert_string_equal(s_fake.ctype, "application/json");
    json_t *sent = json_loads(s_fake.request, 0, NULL);
    assert_non_null(sent);
    assert_string_equal(json_string_value(json_object_get(sent, "name")), "ping");
    assert_string_equal(json_string_value(json_object_get(sent, "schedule")), "@every 1s");
    json_decref(sent);
    s_run_free(&run);

    /* -o json after the subcommand: the API's job, pretty-printed. */
    run = s_cli("job", "create", "ping", "--schedule", "@every 1s", "--http-url", "http://h",
                "--master", server->url, "-o", "json", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(s_fake.auth, ""); /* no token, no header */
    assert_non_null(strstr(run.out, "\n  \"name\": \"ping\",\n"));
    json_t *printed = json_loads(run.out, 0, NULL), *canned = json_loads(s_job_json, 0, NULL);
    assert_true(json_equal(printed, canned));
    json_decref(printed);
    json_decref(canned);
    s_run_free(&run);
}

static void test_unreachable_master_is_one_line(void **state)
{
    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    getsockname(fd, (struct sockaddr *) &addr, &len);
    close(fd);
    char url[64], prefix[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned) ntohs(addr.sin_port));
    snprintf(prefix, sizeof prefix, "hourglass: cannot reach master at %s: ", url);
    s_run_t run = s_cli("node", "list", "--master", url, NULL);
    assert_int_equal(run.rc, 1);
    assert_memory_equal(run.err, prefix, strlen(prefix));
    assert_true(strlen(run.err) > strlen(prefix) + 1);
    assert_ptr_equal(strchr(run.err, '\n'), run.err + strlen(run.err) - 1);
    s_run_free(&run);
}

static void test_job_list_table(void **state)
{
    s_server_t *server = *state;
    s_answer(200, "{\"jobs\":[{\"name\":\"ping\",\"schedule\":\"@every 1s\",\"status\":\"active\","
                  "\"node\":\"worker-1\",\"kind\":\"http\",\"http\":{\"url\":\"http://h/a\"}},"
                  "{\"name\":\"nightly-report\",\"schedule\":\"0 0 2 * * *\",\"status\":"
                  "\"paused\",\"node\":null,\"kind\":\"http\",\"http\":{\"url\":\"http://h/b\"}}],"
                  "\"total\":5}");
    s_run_t run = s_cli("-o", "table", "--master", server->url, "job", "list", "--namespace",
                        "team a", "--limit", "2", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out,
                        "NAME             SCHEDULE      STATUS   NODE       KIND   TARGET\n"
                        "ping             @every 1s     active   worker-1   http   http://h/a\n"
                        "nightly-report   0 0 2 * * *   paused   -          http   http://h/b\n");
    assert_string_equal(run.err, "(2 of 5 jobs shown; see --limit, --offset)\n");
    assert_string_equal(s_fake.uri, "/api/v1/jobs?namespace=team%20a&limit=2");
    s_run_free(&run);
}

static void test_unexpected_json_never_crashes(void **state)
{
    s_server_t *server = *state;
    s_answer(200, "{\"jobs\":\"nope\"}");
    s_run_t run = s_cli("--master", server->url, "job", "list", NULL);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.err, "hourglass: unexpected answer from master: no \"jobs\" list\n");
    s_run_free(&run);

    s_answer(200, "{\"jobs\":[1,null,{\"name\":5,\"http\":\"x\",\"node\":{\"a\":1}}]}");
    run = s_cli("--master", server->url, "job", "list", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "NAME   SCHEDULE   STATUS   NODE      KIND   TARGET\n"
                                 "-      -          -        -         -      -\n"
                                 "-      -          -        -         -      -\n"
                                 "5      -          -        {\"a\":1}   -      -\n");
    s_run_free(&run);

    s_answer(200, "[]");
    const char *commands[][3] = {
        {"job", "get", "x"}, {"runs", NULL, NULL}, {"node", "list", NULL}, {"job", "trigger", "x"}};
    for (size_t i = 0; i < 4; i++) {
        run = s_cli("--master", server->url, commands[i][0], commands[i][1], commands[i][2], NULL);
        assert_in_range(run.rc, 0, 1);
        s_run_free(&run);
    }

    s_answer(200, "not json");
    run = s_cli("--master", server->url, "node", "list", NULL);
    assert_int_equal(run.rc, 1);
    assert_non_null(strstr(run.err, "hourglass: master answered HTTP 200 with a body that is not "
                                    "JSON"));
    s_run_free(&run);

    s_answer(502, "<html>\n<b>Bad gateway</b></html>");
    run = s_cli("--master", server->url, "node", "list", NULL);
    assert_int_equal(run.rc, 1);
    assert_string_equal(run.err, "hourglass: master answered HTTP 502: <html> <b>Bad "
                                 "gateway</b></html>\n");
    s_run_free(&run);
}

static void test_runs_table_and_query(void **state)
{
    s_server_t *server = *state;
    s_answer(200,
             "{\"runs\":[{\"run_id\":\"019a0000-aaaa-7000-8000-000000000001\",\"job\":\"ping\","
             "\"node\":\"worker-1\",\"scheduled_at\":\"2026-11-21T10:00:00.000Z\",\"status\":"
             "\"failed\",\"http_status\":500,\"duration_ms\":3,\"error\":\"expected 2xx, got 500: "
             "Internal Server Error while talking to the upstream service at http://h\"},"
             "{\"run_id\":\"019a0000-aaaa-7000-8000-000000000000\",\"job\":\"ping\",\"node\":"
             "\"worker-2\",\"scheduled_at\":\"2026-11-21T09:59:59.000Z\",\"status\":\"success\","
             "\"http_status\":200,\"duration_ms\":12,\"error\":null}],"
             "\"next\":\"019a0000-aaaa-7000-8000-000000000000\"}");
    s_run_t run = s_cli("runs", "--job", "ping", "--since", "2026-11-21T11:00:00+01:00", "--limit",
                        "2", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(
        run.out,
        "RUN_ID                                 JOB    NODE       SCHEDULED                  "
        "STATUS    HTTP   DURATION   ERROR\n"
        "019a0000-aaaa-7000-8000-000000000001   ping   worker-1   2026-11-21T10:00:00.000Z   "
        "failed    500    3ms        expected 2xx, got 500: Internal Server Error while talkin...\n"
        "019a0000-aaaa-7000-8000-000000000000   ping   worker-2   2026-11-21T09:59:59.000Z   "
        "success   200    12ms       -\n");
    assert_string_equal(run.err,
                        "(more runs: add --before 019a0000-aaaa-7000-8000-000000000000)\n");
    assert_string_equal(s_fake.uri,
                        "/api/v1/runs?job=ping&since=2026-11-21T10%3A00%3A00.000Z&limit=2");
    s_run_free(&run);
}

/* A port nobody listens on, as a base URL. */
static void s_dead_url(char *url, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    getsockname(fd, (struct sockaddr *) &addr, &len);
    close(fd);
    snprintf(url, size, "http://127.0.0.1:%u", (unsigned) ntohs(addr.sin_port));
}

/* Several masters: a dead one is skipped, a standby's 503 not_leader is
 * followed to the leader it names (once), and with every master down the
 * message names each. */
static void test_several_masters(void **state)
{
    s_server_t *server = *state;
    char dead[64], dead2[64], list[256];
    s_dead_url(dead, sizeof dead);
    s_dead_url(dead2, sizeof dead2);
    s_answer(200, "{\"deleted\":\"ping\"}");
    snprintf(list, sizeof list, "%s,%s", dead, server->url);
    s_run_t run = s_cli("job", "delete", "ping", "--master", list, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "deleted job ping\n");
    assert_int_equal(s_fake.requests, 1);
    s_run_free(&run);

    s_answer(200, "{\"deleted\":\"ping\"}");
    snprintf(list, sizeof list, "%s, %s/standby/", dead, server->url);
    run = s_cli("job", "delete", "ping", "--master", list, NULL);
    assert_int_equal(run.rc, 0);
    assert_int_equal(s_fake.standby_hits, 1);
    assert_int_equal(s_fake.requests, 1); /* the leader did it, once */
    assert_string_equal(s_fake.method, "DELETE");
    assert_string_equal(s_fake.uri, "/api/v1/jobs/ping");
    s_run_free(&run);

    snprintf(list, sizeof list, "%s,%s", dead, dead2);
    run = s_cli("node", "list", "--master", list, NULL);
    assert_int_equal(run.rc, 1);
    assert_memory_equal(run.err, "hourglass: cannot reach any master: ", 36);
    assert_non_null(strstr(run.err, dead));
    assert_non_null(strstr(run.err, dead2));
    s_run_free(&run);
}

static void test_node_list_and_trigger(void **state)
{
    s_server_t *server = *state;
    s_answer(200, "{\"nodes\":[{\"name\":\"worker-1\",\"state\":\"active\",\"labels\":{\"zone\":"
                  "\"a\",\"disk\":\"ssd\"},\"capacity\":256,\"version\":\"0.1.0\","
                  "\"last_heartbeat\":\"2026-11-21T10:00:01.500Z\",\"jobs\":3,\"running\":0,"
                  "\"unacked\":2}]}");
    s_run_t run = s_cli("node", "list", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "NAME       STATE    JOBS   RUNNING   CAPACITY   UNACKED   "
                                 "LAST_HEARTBEAT             LABELS\n"
                                 "worker-1   active   3      0         256        2         "
                                 "2026-11-21T10:00:01.500Z   disk=ssd,zone=a\n");
    s_run_free(&run);

    s_answer(200, "{\"name\":\"worker-1\",\"state\":\"draining\",\"jobs\":3}");
    run = s_cli("node", "drain", "worker-1", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "node worker-1 is draining; jobs still held: 3\n");
    assert_string_equal(s_fake.method, "POST");
    assert_string_equal(s_fake.uri, "/api/v1/nodes/worker-1/drain");
    s_run_free(&run);

    s_answer(200, "{\"name\":\"worker-1\",\"state\":\"active\",\"jobs\":0}");
    run = s_cli("node", "activate", "worker-1", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "node worker-1 is active\n");
    assert_string_equal(s_fake.uri, "/api/v1/nodes/worker-1/activate");
    s_run_free(&run);

    s_answer(409, "{\"error\":{\"code\":\"node_leaving\",\"message\":\"node \\\"w\\\" is "
                  "leaving\"}}");
    run = s_cli("node", "activate", "w", "--master", server->url, NULL);
    assert_int_equal(run.rc, 1);
    assert_non_null(strstr(run.err, "is leaving"));
    s_run_free(&run);

    run = s_cli("node", "drain", "w", "--wait", "--timeout", "soon", "--master", server->url, NULL);
    assert_int_equal(run.rc, 2);
    assert_non_null(strstr(run.err, "--timeout"));
    s_run_free(&run);

    s_answer(202, "{\"job\":\"a/b\",\"node\":\"worker-1\"}");
    run = s_cli("job", "trigger", "a/b", "--param", "k=v", "--namespace", "ns", "--master",
                server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "triggered job a/b on worker-1\n");
    assert_string_equal(s_fake.method, "POST");
    assert_string_equal(s_fake.uri, "/api/v1/jobs/a%2Fb/trigger?namespace=ns");
    assert_string_equal(s_fake.request, "{\"params\":{\"k\":\"v\"}}");
    s_run_free(&run);

    s_answer(200, "{\"deleted\":\"ping\"}");
    run = s_cli("job", "delete", "ping", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "deleted job ping\n");
    assert_string_equal(s_fake.method, "DELETE");
    s_run_free(&run);

    s_answer(200, s_job_json);
    run = s_cli("job", "get", "ping", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_non_null(strstr(run.out, "Schedule:      @every 1s\n"));
    assert_non_null(strstr(run.out, "Headers:       X-Token: abc\n"));
    assert_non_null(strstr(run.out, "Node:          worker-1\n"));
    s_run_free(&run);
}

static void test_create_paused_pauses_when_master_ignores_status(void **state)
{
    s_server_t *server = *state;
    s_answer(201, s_job_json); /* status stays "active" */
    s_run_t run = s_cli("job", "create", "ping", "--schedule", "@every 1s", "--http-url",
                        "http://h", "--paused", "--master", server->url, NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "created job ping (paused)\n");
    assert_int_equal(s_fake.requests, 2);
    assert_string_equal(s_fake.uri, "/api/v1/jobs/ping/pause");
    s_run_free(&run);
}

static void test_usage_errors_exit_2(void **state)
{
    s_server_t *server = *state;
    s_answer(200, "{}");
    struct {
        const char *argv[6];
        const char *err;
    } cases[] = {
        {{NULL}, "hourglass: missing command\nRun 'hourglass --help' for usage.\n"},
        {{"frobnicate", NULL},
         "hourglass: unknown command \"frobnicate\"\n"
         "Run 'hourglass --help' for usage.\n"},
        {{"job", NULL}, NULL},
        {{"job", "create", NULL},
         "hourglass: job create: missing NAME\n"
         "Run 'hourglass job create --help' for usage.\n"},
        {{"job", "get", "a", "b", NULL},
         "hourglass: job get: unexpected argument \"b\"\n"
         "Run 'hourglass job get --help' for usage.\n"},
        {{"job", "list", "--limit", "lots", NULL},
         "hourglass: --limit: \"lots\" is not a whole number from 1 to 1000\n"},
        {{"runs", "--since", "soon", NULL}, NULL},
        {{"job", "create", "p", "--schedule", "x", NULL}, NULL},
        {{"node", "list", "-o", "yaml", NULL}, NULL},
        {{"node", "list", "--bogus", NULL},
         "hourglass: node list: unknown flag --bogus\n"
         "Run 'hourglass node list --help' for usage.\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char **a = cases[i].argv;
        s_run_t run = s_cli("--master", server->url, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (run.rc != 2) fail_msg("case %zu: exit %d, stderr %s", i, run.rc, run.err);
        if (cases[i].err) assert_string_equal(run.err, cases[i].err);
        assert_string_equal(run.out, "");
        s_run_free(&run);
    }
    assert_int_equal(s_fake.requests, 0); /* nothing was sent */
}

static void test_help_and_version(void **state)
{
    s_run_t run = s_cli("--help", NULL);
    assert_int_equal(run.rc, 0);
    assert_non_null(strstr(run.out, "job create NAME"));
    assert_non_null(strstr(run.out, "schedule explain EXPR"));
    s_run_free(&run);
    const char *forms[][4] = {{"job", "create", "--help", NULL},
                              {"help", "job", "create", NULL},
                              {"-h", "job", "create", NULL}};
    for (size_t i = 0; i < 3; i++) {
        run = s_cli(forms[i][0], forms[i][1], forms[i][2], NULL);
        assert_int_equal(run.rc, 0);
        assert_non_null(strstr(run.out, "Usage: hourglass job create NAME [flags]"));
        assert_non_null(strstr(run.out, "--header 'NAME: VALUE'"));
        s_run_free(&run);
    }
    run = s_cli("job", "--help", NULL);
    assert_int_equal(run.rc, 0);
    assert_non_null(strstr(run.out, "trigger NAME"));
    s_run_free(&run);
    run = s_cli("version", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "hourglass " HG_VERSION "\n");
    s_run_free(&run);
}

static void test_schedule_explain_is_forwarded(void **state)
{
    /* Works without a master; global flags after the command are accepted. */
    s_run_t run = s_cli("schedule", "explain", "@every 1m", "--count", "2", "--master",
                        "http://127.0.0.1:1", "--token", "t", NULL);
    assert_int_equal(run.rc, 0);
    assert_true(strlen(run.out) > 0);
    s_run_free(&run);
    run = s_cli("schedule", "explain", "not a schedule", NULL);
    assert_int_equal(run.rc, 1);
    assert_true(strlen(run.err) > 0);
    s_run_free(&run);
    run = s_cli("-o", "json", "schedule", "explain", "@every 1m", NULL);
    assert_int_equal(run.rc, 2);
    assert_non_null(strstr(run.err, "-o json is not supported"));
    s_run_free(&run);
    run = s_cli("schedule", NULL);
    assert_int_equal(run.rc, 2);
    s_run_free(&run);
}

/* A token in the user's file is used when neither flag nor environment
 * gives one, and refused when others may read it. */
static void test_token_file(void **state)
{
    s_server_t *server = *state;
    char dir[] = "/tmp/hg-test-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/hourglass", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/token", sub);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("  hg_fromfile\n", f);
    fclose(f);
    setenv("XDG_CONFIG_HOME", dir, 1);

    chmod(path, 0644);
    s_answer(200, "{\"jobs\":[],\"total\":0}");
    s_run_t run = s_cli("--master", server->url, "job", "list", NULL);
    assert_int_equal(run.rc, 1);
    assert_non_null(strstr(run.err, "group or others may read it"));
    assert_non_null(strstr(run.err, "chmod 600"));
    assert_int_equal(s_fake.requests, 0); /* nothing sent */
    s_run_free(&run);

    chmod(path, 0600);
    run = s_cli("--master", server->url, "job", "list", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(s_fake.auth, "Bearer hg_fromfile");
    s_run_free(&run);

    /* The environment wins over the file, the flag over both. */
    setenv("HOURGLASS_TOKEN", "hg_env", 1);
    run = s_cli("--master", server->url, "job", "list", NULL);
    assert_string_equal(s_fake.auth, "Bearer hg_env");
    s_run_free(&run);
    run = s_cli("--master", server->url, "--token", "hg_flag", "job", "list", NULL);
    assert_string_equal(s_fake.auth, "Bearer hg_flag");
    s_run_free(&run);
    unsetenv("HOURGLASS_TOKEN");

    /* A 401 says where tokens come from. */
    s_answer(401, "{\"error\":{\"code\":\"unauthorized\",\"message\":\"no token\"}}");
    run = s_cli("--master", server->url, "--token", "", "job", "list", NULL);
    assert_int_equal(run.rc, 1);
    assert_string_equal(s_fake.auth, "");
    assert_non_null(strstr(run.err, "HOURGLASS_TOKEN"));
    s_run_free(&run);

    unlink(path);
    rmdir(sub);
    rmdir(dir);
    setenv("XDG_CONFIG_HOME", "/nonexistent-hourglass-test", 1);
}

static void test_job_secret_flags_and_reveal(void **state)
{
    s_server_t *server = *state;
    char *argv[] = {"ping",      "--schedule",      "@daily",    "--http-url",
                    "http://h/", "--secret-header", "X-Api-Key", "--secret-param",
                    "pin",       "--secret-param",  "otp"};
    json_t *body = NULL;
    char err[256];
    assert_int_equal(s_build(sizeof argv / sizeof argv[0], argv, &body, err, sizeof err), 0);
    json_t *want = json_loads("[\"X-Api-Key\"]", 0, NULL);
    assert_true(json_equal(json_object_get(body, "secret_headers"), want));
    json_decref(want);
    want = json_loads("[\"pin\", \"otp\"]", 0, NULL);
    assert_true(json_equal(json_object_get(body, "secret_params"), want));
    json_decref(want);
    json_decref(body);

    s_answer(200, s_job_json);
    s_run_t run = s_cli("--master", server->url, "job", "get", "ping", "--reveal", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(s_fake.uri, "/api/v1/jobs/ping?reveal=true");
    s_run_free(&run);
    run = s_cli("--master", server->url, "job", "get", "ping", NULL);
    assert_string_equal(s_fake.uri, "/api/v1/jobs/ping");
    s_run_free(&run);
}

static void test_token_commands(void **state)
{
    s_server_t *server = *state;
    s_answer(201, "{\"name\":\"ci\",\"role\":\"operator\",\"token\":\"hg_once\"}");
    s_run_t run = s_cli("--master", server->url, "token", "create", "ci", "--role", "operator",
                        "--expires", "720h", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(run.out, "hg_once\n"); /* alone: $(...) captures it */
    assert_non_null(strstr(run.err, "shown only this once"));
    assert_string_equal(s_fake.method, "POST");
    assert_string_equal(s_fake.uri, "/api/v1/tokens");
    json_t *sent = json_loads(s_fake.request, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "role")), "operator");
    assert_string_equal(json_string_value(json_object_get(sent, "expires")), "720h");
    json_decref(sent);
    s_run_free(&run);

    run = s_cli("--master", server->url, "token", "create", "ci", NULL);
    assert_int_equal(run.rc, 2); /* --role is required */
    s_run_free(&run);

    s_answer(200, "{\"tokens\":[{\"name\":\"ci\",\"role\":\"operator\",\"namespace\":null,"
                  "\"created_at\":\"2026-11-21T10:00:00.000Z\",\"expires_at\":null,"
                  "\"revoked_at\":null,\"last_used_at\":null}]}");
    run = s_cli("--master", server->url, "token", "list", NULL);
    assert_int_equal(run.rc, 0);
    assert_non_null(strstr(run.out, "NAME"));
    assert_non_null(strstr(run.out, "operator"));
    s_run_free(&run);

    s_answer(200, "{\"revoked\":\"ci\"}");
    run = s_cli("--master", server->url, "token", "revoke", "ci", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(s_fake.method, "DELETE");
    assert_string_equal(s_fake.uri, "/api/v1/tokens/ci");
    s_run_free(&run);

    s_answer(200, "{\"deleted\":1}");
    run = s_cli("--master", server->url, "worker-key", "delete", "--node", "worker-1", NULL);
    assert_int_equal(run.rc, 0);
    assert_string_equal(s_fake.method, "DELETE");
    assert_string_equal(s_fake.uri, "/api/v1/worker-keys?node=worker-1");
    s_run_free(&run);

    s_answer(200, "{\"audit\":[{\"at\":\"2026-11-21T10:00:00.000Z\",\"token\":\"ci\",\"role\":"
                  "\"operator\",\"action\":\"job.pause\",\"object\":\"default/ping\",\"address\":"
                  "\"127.0.0.1\",\"status\":200}]}");
    run = s_cli("--master", server->url, "audit", "--since", "1h", NULL);
    assert_int_equal(run.rc, 0);
    assert_non_null(strstr(run.out, "job.pause"));
    assert_non_null(strstr(run.out, "default/ping"));
    s_run_free(&run);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_spec_policy_flags),
        cmocka_unit_test(test_table_aligns_columns_to_content),
        cmocka_unit_test(test_table_counts_utf8_and_fills_empty_cells),
        cmocka_unit_test(test_table_with_no_rows_prints_the_header),
        cmocka_unit_test(test_args_take_global_flags_anywhere),
        cmocka_unit_test(test_job_spec_routing_flags),
        cmocka_unit_test(test_args_reject_bad_flags),
        cmocka_unit_test(test_args_double_dash_and_dash_values),
        cmocka_unit_test(test_settings_precedence_flag_env_default),
        cmocka_unit_test(test_job_spec_from_every_flag),
        cmocka_unit_test(test_job_spec_minimal),
        cmocka_unit_test(test_job_edit_patch),
        cmocka_unit_test(test_job_spec_header_parsing),
        cmocka_unit_test(test_job_spec_form_and_params),
        cmocka_unit_test(test_job_spec_bad_timeout_is_a_clear_error),
        cmocka_unit_test(test_job_spec_required_flags_and_conflicts),
        cmocka_unit_test(test_job_spec_plugin),
        cmocka_unit_test(test_view_helpers_tolerate_anything),
        cmocka_unit_test_setup_teardown(test_api_error_envelope_is_printed_and_exits_1,
                                        s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_create_job_sends_json_and_token, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test(test_unreachable_master_is_one_line),
        cmocka_unit_test_setup_teardown(test_job_list_table, s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_json_never_crashes, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test_setup_teardown(test_runs_table_and_query, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test_setup_teardown(test_several_masters, s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_node_list_and_trigger, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test_setup_teardown(test_create_paused_pauses_when_master_ignores_status,
                                        s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors_exit_2, s_server_setup,
                                        s_server_teardown),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_schedule_explain_is_forwarded),
        cmocka_unit_test_setup_teardown(test_token_file, s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_token_commands, s_server_setup, s_server_teardown),
        cmocka_unit_test_setup_teardown(test_job_secret_flags_and_reveal, s_server_setup,
                                        s_server_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
