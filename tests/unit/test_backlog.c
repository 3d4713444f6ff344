/* Unit tests for worker/backlog.c: fires not run while records wait for
 * the master are skipped between max and max / 2 records held (hysteresis),
 * tallied per job with their first and last scheduled times, and handed
 * out when the episode ends and every few seconds while it lasts. */
// hg-test-sources: worker/backlog.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backlog.h"

static void test_hysteresis(void **state)
{
    (void) state;
    hg_backlog_t *b = hg_backlog_new(100);
    assert_non_null(b);
    assert_false(hg_backlog_full(b, 99, 0));
    assert_true(hg_backlog_full(b, 100, 10));
    assert_true(hg_backlog_full(b, 60, 20)); /* still above half */
    assert_true(hg_backlog_full(b, 50, 30));
    assert_false(hg_backlog_full(b, 49, 40)); /* below half: over */
    assert_false(hg_backlog_full(b, 99, 50));
    hg_backlog_destroy(&b);
    assert_null(b);
    b = hg_backlog_new(0); /* 0: never */
    assert_false(hg_backlog_full(b, 1000000000, 0));
    hg_backlog_destroy(&b);
}

static void test_tallies(void **state)
{
    (void) state;
    hg_backlog_t *b = hg_backlog_new(10);
    assert_true(hg_backlog_full(b, 10, 0));
    for (int i = 0; i < 5; i++)
        assert_int_equal(hg_backlog_skip(b, 7, 1000 + 200 * i), 0);
    assert_int_equal(hg_backlog_skip(b, 9, 5000), 0);
    assert_false(hg_backlog_due(b, 1000)); /* episode on, report not due yet */
    assert_true(hg_backlog_due(b, 5000));  /* the periodic report */
    hg_backlog_tally_t t[3];
    int n = 0;
    while (n < 3 && hg_backlog_pop(b, &t[n]))
        n++;
    assert_int_equal(n, 2);
    hg_backlog_tally_t *a = t[0].job_id == 7 ? &t[0] : &t[1], *c = t[0].job_id == 7 ? &t[1] : &t[0];
    assert_true(a->job_id == 7 && a->fires == 5 && a->first_ms == 1000 && a->last_ms == 1800);
    assert_true(c->job_id == 9 && c->fires == 1 && c->first_ms == 5000 && c->last_ms == 5000);
    /* A new tally after the pop; the end of the episode makes it due. */
    assert_int_equal(hg_backlog_skip(b, 7, 2000), 0);
    assert_false(hg_backlog_due(b, 5001));
    assert_false(hg_backlog_full(b, 4, 6000));
    assert_true(hg_backlog_due(b, 6000));
    assert_true(hg_backlog_pop(b, &t[0]));
    assert_true(t[0].fires == 1 && t[0].first_ms == 2000);
    assert_false(hg_backlog_pop(b, &t[0]));
    assert_false(hg_backlog_due(b, 7000));
    assert_true(hg_backlog_skipped_total(b) == 7);
    hg_backlog_destroy(&b);
}

/* A report takes as many tallies as there were when it began, over as
 * many passes as the caller likes; one begun meanwhile may wait for the
 * next report, and every fire is counted once. */
static void test_report_rounds(void **state)
{
    (void) state;
    hg_backlog_t *b = hg_backlog_new(10);
    assert_true(hg_backlog_full(b, 10, 0));
    for (uint64_t j = 1; j <= 5; j++)
        assert_int_equal(hg_backlog_skip(b, j, 1000), 0);
    assert_false(hg_backlog_reporting(b));
    assert_true(hg_backlog_due(b, 5000));
    hg_backlog_tally_t t;
    uint32_t fires = 0;
    for (int k = 0; k < 2; k++) { /* a pass takes two */
        assert_true(hg_backlog_pop(b, &t));
        fires += t.fires;
    }
    assert_true(hg_backlog_reporting(b));
    assert_int_equal(hg_backlog_skip(b, 99, 5100), 0); /* begun during the report */
    assert_true(hg_backlog_due(b, 5001));              /* the report goes on */
    for (int k = 0; k < 3; k++) {
        assert_true(hg_backlog_pop(b, &t));
        fires += t.fires;
    }
    assert_false(hg_backlog_reporting(b));
    assert_false(hg_backlog_due(b, 5002)); /* one tally left for the next report */
    assert_true(hg_backlog_due(b, 10000));
    assert_true(hg_backlog_pop(b, &t));
    fires += t.fires;
    assert_false(hg_backlog_pop(b, &t));
    assert_int_equal(fires, 6);
    assert_false(hg_backlog_due(b, 10001));
    hg_backlog_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_tallies),
        cmocka_unit_test(test_report_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
