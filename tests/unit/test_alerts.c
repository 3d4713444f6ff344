/* Unit tests of master/alerts.c (rules, selection, the send decision) and
 * of the parts of master/alert_channel.c that need no network (the
 * signature, the e-mail bodies). */
// hg-test-sources: master/alerts.c master/alert_channel.c
#include "alert_channel.h"
#include "alerts.h"
#include "hg_error.h"
#include "hg_proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *s_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

#define S_WEBHOOK                                                                                  \
    "\"channel\": {\"type\": \"webhook\", \"url\": \"http://h/x\", \"secret\": "                   \
    "\"0123456789abcdef\"}"

static void test_parse_valid(void **state)
{
    json_t *body = s_json("{\"name\": \"ops\", \"namespace\": \"prod\", \"job\": \"backup-*\","
                          " \"events\": [\"failed\", \"recovered\"], \"threshold\": 3,"
                          " \"window\": \"10m\", \"silence\": \"5m\", " S_WEBHOOK "}");
    hg_alert_rule_t r;
    char field[64], err[256];
    assert_int_equal(hg_alert_rule_parse(body, &r, field, sizeof field, err, sizeof err), 0);
    assert_string_equal(r.name, "ops");
    assert_string_equal(r.ns, "prod");
    assert_int_equal(r.events, HG_ALERT_FAILED | HG_ALERT_RECOVERED);
    assert_int_equal(r.threshold, 3);
    assert_int_equal(r.window_ms, 600000);
    assert_int_equal(r.silence_ms, 300000);
    assert_true(r.dedup);
    assert_string_equal(r.secret, "0123456789abcdef");
    /* The secret is kept apart from the config and redacted on read. */
    assert_null(json_object_get(r.config, "secret"));
    json_t *out = hg_alert_rule_to_json(&r, false);
    char *text = json_dumps(out, 0);
    assert_null(strstr(text, "0123456789abcdef"));
    assert_non_null(strstr(text, "<redacted>"));
    free(text);
    /* The webhook's path may be its credential: readers see the host. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "channel"), "url")),
                        "http://h/<redacted>");
    json_decref(out);
    assert_true(hg_alert_rule_matches(&r, "prod", "backup-db"));
    assert_false(hg_alert_rule_matches(&r, "prod", "report"));
    assert_false(hg_alert_rule_matches(&r, "dev", "backup-db"));
    hg_alert_rule_clear(&r);
    json_decref(body);
}

/* An SMTP URL's login and a password never reach a reader. */
static void test_email_redacted(void **state)
{
    json_t *body = s_json("{\"name\": \"m\", \"events\": [\"failed\"], \"channel\": {\"type\":"
                          " \"email\", \"smtp_url\": \"smtps://bob:hunter2@mail:465/x\","
                          " \"from\": \"a@b\", \"to\": [\"c@d\"], \"username\": \"bob\","
                          " \"password\": \"hunter2\"}}");
    hg_alert_rule_t r;
    char field[64], err[256];
    assert_int_equal(hg_alert_rule_parse(body, &r, field, sizeof field, err, sizeof err), 0);
    json_t *out = hg_alert_rule_to_json(&r, false);
    char *text = json_dumps(out, 0);
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "\"smtps://mail:465/<redacted>\""));
    free(text);
    json_decref(out);
    out = hg_alert_rule_to_json(&r, true);
    text = json_dumps(out, 0);
    assert_non_null(strstr(text, "smtps://bob:hunter2@mail:465/x"));
    free(text);
    json_decref(out);
    hg_alert_rule_clear(&r);
    json_decref(body);
}

/* Each bad body names the member at fault. */
static void test_parse_invalid(void **state)
{
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"events\": [\"failed\"], " S_WEBHOOK "}", "name"},
        {"{\"name\": \"a b\", \"events\": [\"failed\"], " S_WEBHOOK "}", "name"},
        {"{\"name\": \"a\", \"events\": [\"exploded\"], " S_WEBHOOK "}", "events"},
        {"{\"name\": \"a\", \"events\": [], " S_WEBHOOK "}", "events"},
        {"{\"name\": \"a\", \"events\": [\"late\"], " S_WEBHOOK "}", "late"},
        {"{\"name\": \"a\", \"events\": [\"missed\"], " S_WEBHOOK "}", "missed"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"threshold\": 2, " S_WEBHOOK "}", "window"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"silence\": \"soon\", " S_WEBHOOK "}",
         "silence"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"colour\": 1, " S_WEBHOOK "}", "colour"},
        {"{\"name\": \"a\", \"events\": [\"failed\"]}", "channel"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"channel\": {\"type\": \"webhook\","
         " \"url\": \"ftp://x\", \"secret\": \"0123456789abcdef\"}}",
         "channel.url"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"channel\": {\"type\": \"webhook\","
         " \"url\": \"http://x\", \"secret\": \"short\"}}",
         "channel.secret"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"channel\": {\"type\": \"email\","
         " \"smtp_url\": \"smtp://h\", \"from\": \"a@b\", \"to\": [\"x@y\\r\\nBcc: z@z\"]}}",
         "channel.to"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"channel\": {\"type\": \"email\","
         " \"smtp_url\": \"smtp://h\", \"from\": \"a@b\", \"to\": [\"x@y\"], \"password\": \"p\"}}",
         "channel.username"},
        {"{\"name\": \"a\", \"events\": [\"failed\"], \"channel\": {\"type\": \"pager\"}}",
         "channel.type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = s_json(cases[i].body);
        hg_alert_rule_t r;
        char field[64], err[256];
        assert_int_equal(hg_alert_rule_parse(body, &r, field, sizeof field, err, sizeof err),
                         HG_EINVAL);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: field \"%s\" (%s), wanted \"%s\"", i, field, err, cases[i].field);
        json_decref(body);
    }
}

static hg_alert_rule_t s_rule(uint32_t events, uint32_t threshold, int64_t window, int64_t silence,
                              bool dedup)
{
    hg_alert_rule_t r;
    memset(&r, 0, sizeof r);
    r.events = events;
    r.threshold = threshold;
    r.window_ms = window;
    r.silence_ms = silence;
    r.dedup = dedup;
    snprintf(r.job, sizeof r.job, "*");
    return r;
}

static void test_run_event(void **state)
{
    hg_alert_rule_t r = s_rule(HG_ALERT_FAILED | HG_ALERT_LATE, 1, 0, 0, true);
    r.late_ms = 1000;
    hg_alert_run_t run = {
        .status = HG_RUN_FAILED, .final = true, .scheduled_ms = 10000, .started_ms = 10010};
    assert_int_equal(hg_alert_run_event(&r, &run), HG_ALERT_FAILED);
    /* An attempt that another follows is no event: one alert per run. */
    run.final = false;
    assert_int_equal(hg_alert_run_event(&r, &run), 0);
    run.status = HG_RUN_TIMEOUT;
    run.final = true;
    assert_int_equal(hg_alert_run_event(&r, &run), 0); /* not asked for */
    run.status = HG_RUN_SUCCESS;
    assert_true(hg_alert_run_is_ok(&r, &run));
    run.started_ms = 12000;
    assert_int_equal(hg_alert_run_event(&r, &run), HG_ALERT_LATE);
    assert_false(hg_alert_run_is_ok(&r, &run));
}

/* Threshold: the third event within the window sends, once per window. */
static void test_threshold(void **state)
{
    hg_alert_rule_t r = s_rule(HG_ALERT_FAILED, 3, 10000, 0, false);
    hg_alert_state_t st = {0};
    assert_int_equal(hg_alert_decide(&r, &st, 1000), HG_ALERT_THRESHOLD);
    assert_int_equal(hg_alert_decide(&r, &st, 2000), HG_ALERT_THRESHOLD);
    assert_int_equal(hg_alert_decide(&r, &st, 3000), HG_ALERT_SEND);
    for (int t = 4000; t <= 11000; t += 1000)
        assert_int_equal(hg_alert_decide(&r, &st, t), HG_ALERT_THRESHOLD);
    /* A new window from 12 s: its third event sends again. */
    assert_int_equal(hg_alert_decide(&r, &st, 12000), HG_ALERT_THRESHOLD);
    assert_int_equal(hg_alert_decide(&r, &st, 13000), HG_ALERT_THRESHOLD);
    assert_int_equal(hg_alert_decide(&r, &st, 14000), HG_ALERT_SEND);
    /* Two events 20 s apart are never three within 10 s. */
    hg_alert_state_t slow = {0};
    for (int i = 0; i < 6; i++)
        assert_int_equal(hg_alert_decide(&r, &slow, i * 20000), HG_ALERT_THRESHOLD);
}

/* Dedup: one alert per episode; silence: nothing within it after a send. */
static void test_dedup_and_silence(void **state)
{
    hg_alert_rule_t r = s_rule(HG_ALERT_FAILED, 1, 0, 60000, true);
    hg_alert_state_t st = {0};
    assert_int_equal(hg_alert_decide(&r, &st, 1000), HG_ALERT_SEND);
    assert_int_equal(hg_alert_decide(&r, &st, 2000), HG_ALERT_DEDUP);
    st.alerted = false; /* recovered */
    assert_int_equal(hg_alert_decide(&r, &st, 3000), HG_ALERT_SILENCED);
    assert_int_equal(hg_alert_decide(&r, &st, 62000), HG_ALERT_SEND);
    hg_alert_rule_t every = s_rule(HG_ALERT_FAILED, 1, 0, 0, false);
    hg_alert_state_t e = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(hg_alert_decide(&every, &e, i), HG_ALERT_SEND);
}

/* RFC 4231, test case 2. */
static void test_sign(void **state)
{
    char sig[80];
    const char *data = "what do ya want for nothing?";
    hg_alert_sign("Jefe", data, strlen(data), sig, sizeof sig);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_email_bodies(void **state)
{
    json_t *doc = s_json("{\"event\": \"failed\", \"rule\": \"ops\", \"text\": \"[hourglass] x\","
                         " \"job\": {\"namespace\": \"default\", \"name\": \"j\"},"
                         " \"run\": {\"run_id\": \"r1\", \"status\": \"failed\","
                         " \"error\": \"<script>alert(1)</script> & more\"}}");
    char *text = hg_alert_email_text(doc, "http://dash/runs/r1");
    char *html = hg_alert_email_html(doc, "http://dash/runs/r1");
    assert_non_null(strstr(text, "Error: <script>alert(1)</script> & more"));
    assert_non_null(strstr(text, "Dashboard: http://dash/runs/r1"));
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    assert_non_null(strstr(html, "href=\"http://dash/runs/r1\""));
    free(text);
    free(html);
    json_decref(doc);
}

static void test_synthetic_key(void **state)
{
    uint8_t a[HG_RUNID_SIZE], b[HG_RUNID_SIZE], c[HG_RUNID_SIZE];
    hg_alert_synthetic_key(7, 1000, a);
    hg_alert_synthetic_key(7, 1000, b);
    hg_alert_synthetic_key(7, 2000, c);
    assert_memory_equal(a, b, HG_RUNID_SIZE);
    assert_memory_not_equal(a, c, HG_RUNID_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),   cmocka_unit_test(test_email_redacted),
        cmocka_unit_test(test_parse_invalid), cmocka_unit_test(test_run_event),
        cmocka_unit_test(test_threshold),     cmocka_unit_test(test_dedup_and_silence),
        cmocka_unit_test(test_sign),          cmocka_unit_test(test_email_bodies),
        cmocka_unit_test(test_synthetic_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
