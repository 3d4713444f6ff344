/* Unit tests for worker/inflight.c: the run ids a worker lists in its
 * HELLO are exactly the runs started and not yet done, each with its job. */
// hg-test-sources: worker/inflight.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_runid.h"
#include "inflight.h"

static void test_add_remove_list(void **state)
{
    (void) state;
    hg_winflight_t *w = hg_winflight_new();
    assert_non_null(w);
    size_t n = 99;
    assert_null(hg_winflight_list(w, &n));
    assert_int_equal(n, 0);
    uint8_t ids[3][HG_PROTO_RUN_ID_SIZE];
    for (int i = 0; i < 3; i++) {
        hg_runid_new(ids[i], 1763700000000 + i);
        hg_winflight_add(w, ids[i], 10 + (uint64_t) i);
    }
    hg_winflight_add(w, ids[1], 11); /* the same run twice is one run */
    assert_int_equal(hg_winflight_size(w), 3);
    assert_int_equal(hg_winflight_count_job(w, 11), 1); /* a job given back sees its runs */
    assert_int_equal(hg_winflight_count_job(w, 99), 0);
    hg_winflight_remove(w, ids[0]);
    uint8_t unknown[HG_PROTO_RUN_ID_SIZE] = {0};
    hg_winflight_remove(w, unknown); /* a run never added: nothing */
    hg_inflight_run_t *list = hg_winflight_list(w, &n);
    assert_non_null(list);
    assert_int_equal(n, 2);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        int k = memcmp(list[i].run_id, ids[1], HG_PROTO_RUN_ID_SIZE) == 0   ? 1
                : memcmp(list[i].run_id, ids[2], HG_PROTO_RUN_ID_SIZE) == 0 ? 2
                                                                            : 0;
        assert_true(k != 0);
        assert_true(list[i].job_id == 10 + (uint64_t) k);
        seen |= 1 << k;
    }
    assert_int_equal(seen, 6);
    free(list);
    hg_winflight_remove(w, ids[1]);
    hg_winflight_remove(w, ids[2]);
    assert_int_equal(hg_winflight_size(w), 0);
    hg_winflight_destroy(&w);
    assert_null(w);
    hg_winflight_destroy(&w); /* safe on NULL */
}

/* The starts sent again after a WELCOME (a new leader must track runs it
 * never saw start): every run still going, with its start fields, and no
 * run that is done. */
static void test_starts_again(void **state)
{
    (void) state;
    hg_winflight_t *w = hg_winflight_new();
    size_t n = 99;
    assert_null(hg_winflight_starts(w, &n));
    assert_int_equal(n, 0);
    hg_run_t a = {.job_id = 5, .epoch = 3, .scheduled_ms = 1000, .started_ms = 1004, .attempt = 1};
    memset(a.run_id, 0xA1, sizeof a.run_id);
    a.job_name = "long-one";
    a.reason = "schedule";
    hg_run_t b = a;
    memset(b.run_id, 0xB2, sizeof b.run_id);
    b.job_name = "short-one";
    hg_winflight_add_run(w, &a);
    hg_winflight_add_run(w, &b);
    hg_winflight_remove(w, b.run_id); /* done: its finished record covers it */
    hg_run_t *starts = hg_winflight_starts(w, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(starts[0].run_id, a.run_id, sizeof a.run_id);
    assert_string_equal(starts[0].job_name, "long-one");
    assert_string_equal(starts[0].reason, "schedule");
    assert_true(starts[0].scheduled_ms == 1000 && starts[0].started_ms == 1004);
    assert_int_equal(starts[0].epoch, 3);
    hg_winflight_starts_free(&starts, n);
    assert_null(starts);
    /* The HELLO list agrees. */
    hg_inflight_run_t *list = hg_winflight_list(w, &n);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].job_id, 5);
    free(list);
    hg_winflight_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_remove_list),
        cmocka_unit_test(test_starts_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
