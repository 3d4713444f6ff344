// hg-test-sources: worker/overlap.c worker/retry.c
/* Unit tests for the worker's overlap decisions (worker/overlap.c) and
 * pending retries (worker/retry.c): what a fire does for each policy and
 * count of runs in flight, the queue's order and bound, replace keeping the
 * newest fire, and retries kept, de-duplicated, taken when due and
 * forgotten with their job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_retry.h"
#include "overlap.h"
#include "retry.h"

static hg_assign_t s_spec(uint32_t overlap, uint32_t conc, uint32_t qmax)
{
    return (hg_assign_t){
        .job_id = 7, .overlap = overlap, .max_concurrent = conc, .queue_max = qmax};
}

static hg_overlap_fire_t s_fire(int64_t sched)
{
    hg_overlap_fire_t f = {.job_id = 7, .scheduled_ms = sched, .attempt = 1};
    strcpy(f.reason, "schedule");
    return f;
}

static void test_decide(void **state)
{
    (void) state;
    hg_overlap_state_t *o = hg_overlap_new();
    hg_assign_t allow = s_spec(HG_OVERLAP_ALLOW, 0, 0), forbid = s_spec(HG_OVERLAP_FORBID, 0, 0),
                two = s_spec(HG_OVERLAP_FORBID, 2, 0), rep = s_spec(HG_OVERLAP_REPLACE, 0, 0),
                q = s_spec(HG_OVERLAP_QUEUE, 0, 0);
    assert_int_equal(hg_overlap_decide(o, &allow, 50, false), HG_OVERLAP_START);
    assert_int_equal(hg_overlap_decide(o, &forbid, 0, false), HG_OVERLAP_START);
    assert_int_equal(hg_overlap_decide(o, &forbid, 1, false), HG_OVERLAP_SKIP);
    assert_int_equal(hg_overlap_decide(o, &forbid, 1, true), HG_OVERLAP_START); /* force */
    assert_int_equal(hg_overlap_decide(o, &two, 1, false), HG_OVERLAP_START);
    assert_int_equal(hg_overlap_decide(o, &two, 2, false), HG_OVERLAP_SKIP);
    assert_int_equal(hg_overlap_decide(o, &rep, 1, false), HG_OVERLAP_CANCEL);
    assert_int_equal(hg_overlap_decide(o, &q, 1, false), HG_OVERLAP_WAIT);
    hg_overlap_destroy(&o);
    assert_null(o);
}

/* queue: in order, bounded by queue_max, and a fire does not overtake those
 * waiting even when a slot is free. */
static void test_queue(void **state)
{
    (void) state;
    hg_overlap_state_t *o = hg_overlap_new();
    hg_assign_t q = s_spec(HG_OVERLAP_QUEUE, 1, 2);
    hg_overlap_fire_t f = s_fire(1000), dropped = {0}, out;
    assert_false(hg_overlap_push(o, &q, &f, &dropped));
    f = s_fire(2000);
    assert_false(hg_overlap_push(o, &q, &f, &dropped));
    assert_int_equal(hg_overlap_waiting(o, 7), 2);
    assert_int_equal(hg_overlap_decide(o, &q, 1, false), HG_OVERLAP_SKIP); /* 2 waiting: full */
    assert_int_equal(hg_overlap_decide(o, &q, 0, false), HG_OVERLAP_SKIP); /* no overtaking */
    assert_false(hg_overlap_pop(o, &q, 1, &out));                          /* no slot yet */
    assert_true(hg_overlap_pop(o, &q, 0, &out));
    assert_int_equal(out.scheduled_ms, 1000);
    assert_true(hg_overlap_pop(o, &q, 0, &out));
    assert_int_equal(out.scheduled_ms, 2000);
    assert_false(hg_overlap_pop(o, &q, 0, &out));
    assert_int_equal(hg_overlap_waiting(o, 7), 0);
    f = s_fire(3000);
    hg_overlap_push(o, &q, &f, &dropped);
    hg_overlap_forget_job(o, 7);
    assert_int_equal(hg_overlap_waiting(o, 7), 0);
    hg_overlap_destroy(&o);
}

/* replace: the newest fire waits for the cancelled runs; an older one
 * waiting is handed back (to be recorded as skipped). */
static void test_replace_keeps_newest(void **state)
{
    (void) state;
    hg_overlap_state_t *o = hg_overlap_new();
    hg_assign_t rep = s_spec(HG_OVERLAP_REPLACE, 1, 0);
    hg_overlap_fire_t f = s_fire(1000), dropped = {0}, out;
    f.overrides = calloc(1, sizeof *f.overrides);
    f.overrides[0].key = strdup("k");
    f.overrides[0].value = strdup("v");
    f.overrides_n = 1;
    assert_false(hg_overlap_push(o, &rep, &f, &dropped));
    assert_null(f.overrides); /* taken */
    f = s_fire(2000);
    assert_true(hg_overlap_push(o, &rep, &f, &dropped));
    assert_int_equal(dropped.scheduled_ms, 1000);
    assert_int_equal(dropped.overrides_n, 1);
    hg_overlap_fire_clear(&dropped);
    assert_true(hg_overlap_pop(o, &rep, 0, &out));
    assert_int_equal(out.scheduled_ms, 2000);
    hg_overlap_destroy(&o);
}

/* Runs in flight on another worker (the job moved while they ran) count
 * as running until the master lowers the count: forbid skips, queue waits
 * and a waiting fire starts only once they have ended; the count goes with
 * the job and touches no other. */
static void test_remote_running(void **state)
{
    (void) state;
    hg_overlap_state_t *o = hg_overlap_new();
    hg_assign_t forbid = s_spec(HG_OVERLAP_FORBID, 0, 0), q = s_spec(HG_OVERLAP_QUEUE, 1, 1),
                allow = s_spec(HG_OVERLAP_ALLOW, 0, 0), other = s_spec(HG_OVERLAP_FORBID, 0, 0);
    other.job_id = 8;
    assert_int_equal(hg_overlap_remote(o, 7), 0);
    hg_overlap_set_remote(o, 7, 1);
    assert_int_equal(hg_overlap_remote(o, 7), 1);
    assert_int_equal(hg_overlap_decide(o, &forbid, 0, false), HG_OVERLAP_SKIP);
    assert_int_equal(hg_overlap_decide(o, &forbid, 0, true), HG_OVERLAP_START); /* force */
    assert_int_equal(hg_overlap_decide(o, &allow, 0, false), HG_OVERLAP_START);
    assert_int_equal(hg_overlap_decide(o, &other, 0, false), HG_OVERLAP_START);
    assert_int_equal(hg_overlap_decide(o, &q, 0, false), HG_OVERLAP_WAIT);
    hg_overlap_fire_t f = s_fire(1000), dropped = {0}, out;
    assert_false(hg_overlap_push(o, &q, &f, &dropped));
    assert_false(hg_overlap_pop(o, &q, 0, &out)); /* the remote run is still going */
    hg_overlap_set_remote(o, 7, 0);               /* the master: it ended */
    assert_int_equal(hg_overlap_remote(o, 7), 0);
    assert_true(hg_overlap_pop(o, &q, 0, &out));
    assert_int_equal(out.scheduled_ms, 1000);
    hg_overlap_fire_clear(&out);
    assert_int_equal(hg_overlap_decide(o, &forbid, 0, false), HG_OVERLAP_START);
    /* Saturating, and forgotten with the job. */
    hg_overlap_set_remote(o, 7, UINT32_MAX);
    assert_int_equal(hg_overlap_decide(o, &forbid, UINT32_MAX, false), HG_OVERLAP_SKIP);
    hg_overlap_forget_job(o, 7);
    assert_int_equal(hg_overlap_remote(o, 7), 0);
    hg_overlap_destroy(&o);
}

static void test_pending_retries(void **state)
{
    (void) state;
    hg_wretry_t *r = hg_wretry_new();
    assert_int_equal(hg_wretry_next_due(r), INT64_MAX);
    hg_assign_t spec = {.job_id = 7};
    spec.retry = (hg_retry_spec_t){.max_attempts = 3,
                                   .backoff = HG_BACKOFF_FIXED,
                                   .initial_ms = 500,
                                   .on = HG_RETRY_ON_HTTP_5XX};
    hg_run_t run = {.job_id = 7,
                    .scheduled_ms = 100,
                    .finished_ms = 1000,
                    .attempt = 1,
                    .status = HG_RUN_FAILED,
                    .http_status = 502,
                    .job_name = "j"};
    memset(run.run_id, 3, sizeof run.run_id);
    hg_wretry_on_done(r, &spec, &run);
    assert_int_equal(run.retry_at_ms, 1500);
    assert_int_equal(hg_wretry_size(r), 1);
    assert_int_equal(hg_wretry_next_due(r), 1500);
    /* The same attempt handed over by the master is not added twice. */
    hg_trigger_t t = {.job_id = 7, .scheduled_ms = 100, .attempt = 2, .due_ms = 1500};
    hg_wretry_adopt(r, &t);
    assert_int_equal(hg_wretry_size(r), 1);
    hg_wretry_item_t it;
    assert_false(hg_wretry_pop_due(r, 1499, &it)); /* never early */
    assert_true(hg_wretry_pop_due(r, 1500, &it));
    assert_int_equal(it.attempt, 2);
    assert_int_equal(it.scheduled_ms, 100);
    assert_memory_equal(it.first_run_id, run.run_id, HG_PROTO_RUN_ID_SIZE);
    free(run.retry_reason);
    /* No policy: final, and nothing pending. */
    hg_assign_t none = {.job_id = 7};
    run.retry_reason = NULL;
    run.retry_at_ms = 0;
    hg_wretry_on_done(r, &none, &run);
    assert_int_equal(run.retry_at_ms, 0);
    assert_int_equal(hg_wretry_size(r), 0);
    /* Forgotten with its job. */
    hg_wretry_adopt(r, &t);
    hg_wretry_forget_job(r, 7);
    assert_int_equal(hg_wretry_size(r), 0);
    assert_int_equal(hg_wretry_next_due(r), INT64_MAX);
    hg_wretry_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_replace_keeps_newest),
        cmocka_unit_test(test_pending_retries),
        cmocka_unit_test(test_remote_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
