/* Unit tests for common/hg_retry.c: the backoff arithmetic (fixed,
 * exponential, cap, jitter bounds, Retry-After), which outcomes are
 * retryable, and the decision written into a run record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_retry.h"

static hg_retry_spec_t s_exp(void)
{
    return (hg_retry_spec_t){.max_attempts = 5,
                             .backoff = HG_BACKOFF_EXPONENTIAL,
                             .initial_ms = 1000,
                             .factor_milli = 2000,
                             .max_delay_ms = 5000,
                             .on = HG_RETRY_ON_HTTP_5XX | HG_RETRY_ON_TIMEOUT};
}

static void test_fixed_and_exponential(void **state)
{
    (void) state;
    hg_retry_spec_t p = s_exp();
    assert_int_equal(hg_retry_delay_ms(&p, 1, 0, 0), 1000);
    assert_int_equal(hg_retry_delay_ms(&p, 2, 0, 0), 2000);
    assert_int_equal(hg_retry_delay_ms(&p, 3, 0, 0), 4000);
    assert_int_equal(hg_retry_delay_ms(&p, 4, 0, 0), 5000); /* capped */
    assert_int_equal(hg_retry_delay_ms(&p, 4000000000u, 0, 0), 5000);
    p.factor_milli = 1500;
    assert_int_equal(hg_retry_delay_ms(&p, 3, 0, 0), 2250);
    p.backoff = HG_BACKOFF_FIXED;
    assert_int_equal(hg_retry_delay_ms(&p, 1, 0, 0), 1000);
    assert_int_equal(hg_retry_delay_ms(&p, 9, 0, 0), 1000);
}

/* XXL-JOB #1853: a retry never fires at once, whatever the policy says. */
static void test_never_immediate(void **state)
{
    (void) state;
    hg_retry_spec_t p = {.max_attempts = 3, .initial_ms = 0, .on = HG_RETRY_ON_ALL};
    assert_int_equal(hg_retry_delay_ms(&p, 1, 0, 0), HG_RETRY_MIN_DELAY_MS);
    p.initial_ms = 3;
    p.jitter = HG_JITTER_FULL;
    for (uint64_t r = 0; r < 100; r++)
        assert_true(hg_retry_delay_ms(&p, 1, 0, r) >= HG_RETRY_MIN_DELAY_MS);
}

static void test_jitter_bounds(void **state)
{
    (void) state;
    hg_retry_spec_t p = s_exp();
    p.jitter = HG_JITTER_FULL;
    int64_t lo = INT64_MAX, hi = 0;
    for (uint64_t r = 0; r < 5000; r++) {
        int64_t d = hg_retry_delay_ms(&p, 2, 0, r * 2654435761u);
        assert_true(d >= 1000 && d <= 2000);
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    assert_true(lo < 1100 && hi > 1900); /* it does spread */
}

static void test_retry_after(void **state)
{
    (void) state;
    hg_retry_spec_t p = s_exp();
    assert_int_equal(hg_retry_delay_ms(&p, 1, 3000, 0), 3000);  /* longer than backoff: wins */
    assert_int_equal(hg_retry_delay_ms(&p, 1, 500, 0), 1000);   /* shorter: backoff stands */
    assert_int_equal(hg_retry_delay_ms(&p, 1, 60000, 0), 5000); /* up to max_delay */
}

static void test_classify(void **state)
{
    (void) state;
    hg_run_t r = {.status = HG_RUN_FAILED, .http_status = 503};
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_HTTP_5XX);
    r.http_status = 429;
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_HTTP_429);
    r.http_status = 404;
    assert_int_equal(hg_retry_classify(&r), 0);
    r.http_status = 0;
    r.retry_reason = "connect";
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_CONNECT);
    r.retry_reason = "plugin_retry";
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_PLUGIN_RETRY);
    r.retry_reason = NULL;
    r.status = HG_RUN_TIMEOUT;
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_TIMEOUT);
    r.status = HG_RUN_CRASHED;
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_CRASHED);
    r.status = HG_RUN_LOST;
    assert_int_equal(hg_retry_classify(&r), HG_RETRY_ON_LOST);
    r.status = HG_RUN_SUCCESS;
    assert_int_equal(hg_retry_classify(&r), 0);
    r.status = HG_RUN_CANCELLED;
    assert_int_equal(hg_retry_classify(&r), 0);
    for (uint32_t b = 1; b <= HG_RETRY_ON_LOST; b <<= 1)
        assert_int_equal(hg_retry_class_parse(hg_retry_class_name(b)), b);
    assert_int_equal(hg_retry_class_parse("http_4xx"), 0);
}

/* The record of a retried run says when the next attempt is due, why, and
 * which chain it is in; the last attempt is final (retry_at_ms 0). */
static void test_decide(void **state)
{
    (void) state;
    hg_retry_spec_t p = s_exp();
    p.max_attempts = 2;
    hg_run_t r = {
        .status = HG_RUN_FAILED, .http_status = 500, .attempt = 1, .finished_ms = 1000000};
    memset(r.run_id, 7, sizeof r.run_id);
    assert_true(hg_retry_decide(&p, &r, 0));
    assert_int_equal(r.retry_at_ms, 1001000);
    assert_string_equal(r.retry_reason, "http_5xx");
    assert_memory_equal(r.first_run_id, r.run_id, HG_PROTO_RUN_ID_SIZE);
    free(r.retry_reason);
    r.retry_reason = NULL;
    r.attempt = 2; /* the last one allowed */
    assert_false(hg_retry_decide(&p, &r, 0));
    assert_int_equal(r.retry_at_ms, 0);
    assert_null(r.retry_reason);
    /* not in `on`: final at once */
    r.attempt = 1;
    r.http_status = 429;
    assert_false(hg_retry_decide(&p, &r, 0));
    /* Retry-After left by the executor in retry_at_ms */
    p.on |= HG_RETRY_ON_HTTP_429;
    r.retry_at_ms = 4000;
    assert_true(hg_retry_decide(&p, &r, 0));
    assert_int_equal(r.retry_at_ms, 1004000);
    free(r.retry_reason);
    /* no policy: never */
    hg_retry_spec_t none = {0};
    hg_run_t t = {.status = HG_RUN_TIMEOUT, .attempt = 1, .finished_ms = 5};
    assert_false(hg_retry_decide(&none, &t, 0));
}

static void test_names(void **state)
{
    (void) state;
    assert_int_equal(hg_overlap_parse("queue"), HG_OVERLAP_QUEUE);
    assert_string_equal(hg_overlap_name(HG_OVERLAP_REPLACE), "replace");
    assert_int_equal(hg_overlap_parse("sometimes"), -1);
    assert_null(hg_overlap_name(4));
    assert_int_equal(hg_backoff_parse("exponential"), HG_BACKOFF_EXPONENTIAL);
    assert_int_equal(hg_jitter_parse("full"), HG_JITTER_FULL);
    assert_null(hg_backoff_name(2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_and_exponential),
        cmocka_unit_test(test_never_immediate),
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
