// hg-test-sources: master/runtrack.c
/* Unit tests for the compact tracker of runs in flight (runtrack.h): an
 * entry keeps what a 'running' or 'lost' row needs and gives it back as a
 * record; its strings are shared by all entries and go with the last one;
 * the queue of start rows written late hands out only what is due, in
 * order, within its bound, and keeps working across wrap-around. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtrack.h"

static hg_run_t s_start(uint8_t id, const char *job_name, const char *reason)
{
    hg_run_t r = {0};
    memset(r.run_id, id, sizeof r.run_id);
    r.job_id = 100 + id;
    r.epoch = 7;
    r.job_name = (char *) job_name;
    r.scheduled_ms = 1700000000000 + id;
    r.started_ms = 1700000000005 + id;
    r.attempt = 2;
    r.reason = (char *) reason;
    memset(r.first_run_id, 0xAB, sizeof r.first_run_id);
    return r;
}

static void test_entry_round_trip(void **state)
{
    (void) state;
    hg_strpool_t *pool = hg_strpool_new();
    assert_non_null(pool);
    hg_run_t r = s_start(1, "nightly", "retry");
    hg_runtrack_t *e = hg_runtrack_new(pool, "worker-a", &r);
    assert_non_null(e);
    assert_string_equal(e->node, "worker-a");
    assert_false(e->written);
    assert_int_equal(e->write_at_mono_ms, 0);
    assert_true(e->claim_by_mono_ms == INT64_MAX);

    hg_run_t out;
    assert_int_equal(hg_runtrack_to_run(e, &out), 0);
    assert_memory_equal(out.run_id, r.run_id, sizeof r.run_id);
    assert_memory_equal(out.first_run_id, r.first_run_id, sizeof r.first_run_id);
    assert_int_equal(out.job_id, r.job_id);
    assert_int_equal(out.epoch, 7);
    assert_true(out.scheduled_ms == r.scheduled_ms);
    assert_true(out.started_ms == r.started_ms);
    assert_int_equal(out.attempt, 2);
    assert_int_equal(out.status, HG_RUN_RUNNING);
    assert_int_equal(out.finished_ms, 0);
    assert_string_equal(out.job_name, "nightly");
    assert_string_equal(out.reason, "retry");
    /* The record owns copies: the entry may go first. */
    assert_ptr_not_equal(out.job_name, e->job_name);
    hg_runtrack_destroy(&e);
    assert_null(e);
    assert_string_equal(out.job_name, "nightly");
    hg_run_clear(&out);
    assert_int_equal(hg_strpool_size(pool), 0);
    hg_strpool_destroy(&pool);
}

static void test_defaults(void **state)
{
    (void) state;
    hg_strpool_t *pool = hg_strpool_new();
    hg_run_t r = s_start(2, NULL, NULL);
    r.attempt = 0;
    hg_runtrack_t *e = hg_runtrack_new(pool, "w", &r);
    hg_run_t out;
    assert_int_equal(hg_runtrack_to_run(e, &out), 0);
    assert_string_equal(out.job_name, "");
    assert_string_equal(out.reason, "schedule");
    assert_int_equal(out.attempt, 1);
    hg_run_clear(&out);
    hg_runtrack_destroy(&e);
    hg_strpool_destroy(&pool);
}

/* A thousand runs of two jobs on two nodes hold six strings, not 3,000;
 * each goes with its last entry. */
static void test_strings_shared(void **state)
{
    (void) state;
    hg_strpool_t *pool = hg_strpool_new();
    enum { N = 1000 };
    hg_runtrack_t **e = calloc(N, sizeof *e);
    for (int i = 0; i < N; i++) {
        hg_run_t r = s_start((uint8_t) i, i % 2 ? "job-odd" : "job-even", "schedule");
        e[i] = hg_runtrack_new(pool, i % 2 ? "node-1" : "node-2", &r);
        assert_non_null(e[i]);
    }
    assert_int_equal(hg_strpool_size(pool), 5); /* 2 nodes, 2 jobs, 1 reason */
    assert_ptr_equal(e[0]->node, e[2]->node);
    assert_ptr_equal(e[1]->job_name, e[3]->job_name);
    /* Claimed on another node: the old name goes once nobody uses it. */
    for (int i = 0; i < N; i += 2)
        hg_runtrack_set_node(e[i], "node-3");
    assert_string_equal(e[0]->node, "node-3");
    assert_int_equal(hg_strpool_size(pool), 5); /* node-2 gone, node-3 in */
    for (int i = 0; i < N; i++)
        hg_runtrack_destroy(&e[i]);
    assert_int_equal(hg_strpool_size(pool), 0);
    free(e);
    hg_strpool_destroy(&pool);
    hg_strpool_destroy(&pool); /* safe on NULL */
}

static void test_entry_is_compact(void **state)
{
    (void) state;
    /* No per-run strings or name buffers: a fixed entry of this size
     * (the former one was over 350 bytes plus two string copies). */
    assert_true(sizeof(hg_runtrack_t) <= 160);
}

static void test_startq_order_and_due(void **state)
{
    (void) state;
    hg_startq_t q;
    hg_startq_init(&q, 100000);
    assert_null(hg_startq_due(&q, 1000000));
    uint8_t id[HG_PROTO_RUN_ID_SIZE];
    for (int i = 0; i < 5000; i++) {
        memset(id, 0, sizeof id);
        memcpy(id, &i, sizeof i);
        assert_int_equal(hg_startq_push(&q, id, 1000 + i), 0);
    }
    assert_null(hg_startq_due(&q, 999)); /* nothing due yet */
    int seen = 0;
    const hg_startq_item_t *it;
    while ((it = hg_startq_due(&q, 1000 + 2499))) {
        int got;
        memcpy(&got, it->run_id, sizeof got);
        assert_int_equal(got, seen);
        hg_startq_pop(&q);
        seen++;
    }
    assert_int_equal(seen, 2500);
    assert_int_equal(q.n, 2500);
    /* Push behind a wrapped head, then drain in order. */
    for (int i = 5000; i < 7000; i++) {
        memset(id, 0, sizeof id);
        memcpy(id, &i, sizeof i);
        assert_int_equal(hg_startq_push(&q, id, 1000 + i), 0);
    }
    while ((it = hg_startq_due(&q, INT64_MAX))) {
        int got;
        memcpy(&got, it->run_id, sizeof got);
        assert_int_equal(got, seen);
        hg_startq_pop(&q);
        seen++;
    }
    assert_int_equal(seen, 7000);
    assert_int_equal(q.n, 0);
    hg_startq_pop(&q); /* empty: nothing */
    hg_startq_free(&q);
}

static void test_startq_bound(void **state)
{
    (void) state;
    hg_startq_t q;
    hg_startq_init(&q, 3);
    uint8_t id[HG_PROTO_RUN_ID_SIZE] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(hg_startq_push(&q, id, i), 0);
    assert_true(hg_startq_push(&q, id, 3) < 0); /* full: the caller writes at once */
    hg_startq_pop(&q);
    assert_int_equal(hg_startq_push(&q, id, 3), 0);
    assert_int_equal(q.n, 3);
    hg_startq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_round_trip),     cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_strings_shared),       cmocka_unit_test(test_entry_is_compact),
        cmocka_unit_test(test_startq_order_and_due), cmocka_unit_test(test_startq_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
