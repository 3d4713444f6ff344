// hg-test-sources: master/assign_pace.c
/* Unit tests for the window of ASSIGNs on their way to one worker
 * (assign_pace.h): a worker that reads slowly gets a window it reads in
 * about HG_PACE_TARGET_MS, one that keeps up while the window holds
 * placements back gets more, and nothing else moves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "assign_pace.h"

/* A worker taking `rate` ASSIGNs a second with more always on their way:
 * heartbeats every 500 ms for 10 s. */
static hg_assign_pace_t s_busy_worker(uint32_t rate)
{
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    uint32_t held = 0;
    for (int64_t t = 1000; t <= 11000; t += 500) {
        hg_assign_pace_heartbeat(&p, t, held, 20000);
        held += rate / 2;
    }
    return p;
}

static void test_slow_reader_gets_half_a_second(void **state)
{
    (void) state;
    /* 7,000 a second: the rate measured beside 10,000 firings/s. */
    hg_assign_pace_t p = s_busy_worker(7000);
    assert_in_range(p.window, 3400, 3600);
    /* Its echo waits behind at most the window: about 500 ms. */
    assert_true(hg_assign_pace_room(&p, p.window - 1));
    assert_false(hg_assign_pace_room(&p, p.window));
}

static void test_fast_reader_bounded(void **state)
{
    (void) state;
    assert_int_equal(s_busy_worker(1000000).window, HG_PACE_MAX);
    assert_int_equal(s_busy_worker(100).window, HG_PACE_MIN);
}

static void test_starts_at_initial(void **state)
{
    (void) state;
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    assert_int_equal(p.window, HG_PACE_INITIAL);
    /* The first heartbeat only starts the measurement. */
    hg_assign_pace_heartbeat(&p, 1000, 0, 5000);
    assert_int_equal(p.window, HG_PACE_INITIAL);
}

static void test_caught_up_while_limited_doubles(void **state)
{
    (void) state;
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    hg_assign_pace_heartbeat(&p, 1000, 0, 0);
    assert_false(hg_assign_pace_room(&p, HG_PACE_INITIAL)); /* held back */
    hg_assign_pace_heartbeat(&p, 1500, HG_PACE_INITIAL, 0); /* took all */
    assert_int_equal(p.window, 2 * HG_PACE_INITIAL);
    /* Caught up, and nothing held back since: no placement going on, the
     * window stays (a burst later starts from what was learned). */
    hg_assign_pace_heartbeat(&p, 2000, HG_PACE_INITIAL, 0);
    assert_int_equal(p.window, 2 * HG_PACE_INITIAL);
    /* Doubling stops at the bound. */
    for (int i = 0; i < 10; i++) {
        assert_false(hg_assign_pace_room(&p, p.window));
        hg_assign_pace_heartbeat(&p, 2500 + 500 * i, HG_PACE_INITIAL, 0);
    }
    assert_int_equal(p.window, HG_PACE_MAX);
}

static void test_stalled_reader_shrinks(void **state)
{
    (void) state;
    /* A worker that took nothing while ASSIGNs waited for it (its loop
     * held): the window halves each heartbeat, down to the floor. */
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    hg_assign_pace_heartbeat(&p, 1000, 500, 10000);
    hg_assign_pace_heartbeat(&p, 1500, 500, 10000);
    assert_int_equal(p.window, HG_PACE_INITIAL / 2);
    for (int i = 0; i < 10; i++)
        hg_assign_pace_heartbeat(&p, 2000 + 500 * i, 500, 10000);
    assert_int_equal(p.window, HG_PACE_MIN);
}

static void test_short_intervals_add_up(void **state)
{
    (void) state;
    /* Early heartbeats 5 ms apart are summed into one measurement, not
     * read as 10 ms rates. */
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    hg_assign_pace_heartbeat(&p, 1000, 0, 10000);
    for (int i = 1; i <= 9; i++)
        hg_assign_pace_heartbeat(&p, 1000 + 5 * i, 100u * i, 10000);
    assert_int_equal(p.window, HG_PACE_INITIAL);
    /* 100 ms after the start, 1,000 taken: 10,000 a second, 5,000 fit. */
    hg_assign_pace_heartbeat(&p, 1100, 1000, 10000);
    assert_int_equal(p.window, (HG_PACE_INITIAL + 5000) / 2);
}

static void test_revoked_jobs_count_as_nothing_taken(void **state)
{
    (void) state;
    hg_assign_pace_t p;
    hg_assign_pace_reset(&p);
    hg_assign_pace_heartbeat(&p, 1000, 50000, 10000);
    hg_assign_pace_heartbeat(&p, 1500, 40000, 10000); /* fewer held: revokes */
    assert_int_equal(p.window, HG_PACE_INITIAL / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_reader_gets_half_a_second),
        cmocka_unit_test(test_fast_reader_bounded),
        cmocka_unit_test(test_starts_at_initial),
        cmocka_unit_test(test_caught_up_while_limited_doubles),
        cmocka_unit_test(test_stalled_reader_shrinks),
        cmocka_unit_test(test_short_intervals_add_up),
        cmocka_unit_test(test_revoked_jobs_count_as_nothing_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
