// hg-test-sources: master/store_gate.c
/* Unit tests for the store's back-pressure gate (store_gate.h): records
 * handed to the store are counted until DONE; from half of queue_max start
 * records are shed, from queue_max finished records are deferred too (both
 * counted), and each stops only below a lower mark (a quarter, a half).
 * The bound is what keeps the master's memory flat when workers offer more
 * than MySQL takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store_gate.h"

#define FIN   true
#define START false

static void test_no_limit(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 0);
    hg_store_gate_add(&g, 10000000);
    assert_true(hg_store_gate_open(&g, FIN, 0));
    assert_true(hg_store_gate_open(&g, START, 0));
}

static void test_starts_shed_first(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 1000);
    hg_store_gate_add(&g, 499);
    assert_true(hg_store_gate_open(&g, START, 0));
    hg_store_gate_add(&g, 1);
    /* Half full: starts are shed, finished records still taken. */
    assert_false(hg_store_gate_open(&g, START, 1));
    assert_true(hg_store_gate_open(&g, FIN, 1));
    /* One message may take the queue past the limit (it is taken whole)... */
    hg_store_gate_add(&g, 999);
    /* ...and then neither kind is taken. */
    assert_false(hg_store_gate_open(&g, FIN, 2));
    assert_false(hg_store_gate_open(&g, START, 2));
    hg_store_gate_defer(&g, 300);
    hg_store_gate_shed(&g, 20);
    assert_int_equal(g.deferred, 300);
    assert_int_equal(g.shed_started, 20);
    assert_int_equal(g.pending, 1499);
    assert_int_equal(g.pending_peak, 1499);
}

static void test_reopens_below_marks(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 1000);
    hg_store_gate_add(&g, 1200);
    assert_false(hg_store_gate_open(&g, FIN, 0));
    hg_store_gate_done(&g, 600, 10); /* 600 left: above half */
    assert_false(hg_store_gate_open(&g, FIN, 10));
    hg_store_gate_done(&g, 101, 20); /* 499 left: finished taken, starts not yet */
    assert_true(hg_store_gate_open(&g, FIN, 20));
    assert_false(hg_store_gate_open(&g, START, 20));
    hg_store_gate_done(&g, 250, 30); /* 249 left: below a quarter */
    assert_true(hg_store_gate_open(&g, START, 30));
    /* Never below zero, whatever comes back. */
    hg_store_gate_done(&g, 10000, 40);
    assert_int_equal(g.pending, 0);
    assert_true(hg_store_gate_open(&g, FIN, 40));
}

/* A queue_max of 1 (tests) closes with one record waiting and opens
 * when none waits: never stuck closed. */
static void test_tiny_limit(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 1);
    assert_true(hg_store_gate_open(&g, FIN, 0));
    assert_true(hg_store_gate_open(&g, START, 0));
    hg_store_gate_add(&g, 5);
    assert_false(hg_store_gate_open(&g, FIN, 1));
    assert_false(hg_store_gate_open(&g, START, 1));
    hg_store_gate_done(&g, 5, 2);
    assert_true(hg_store_gate_open(&g, FIN, 2));
    assert_true(hg_store_gate_open(&g, START, 2));
}

/* Deferred records are counted in all and per burst. */
static void test_bursts(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 10);
    for (int burst = 0; burst < 3; burst++) {
        hg_store_gate_add(&g, 10);
        assert_false(hg_store_gate_open(&g, FIN, burst * 100));
        hg_store_gate_defer(&g, 7);
        assert_int_equal(g.burst_deferred, 7);
        hg_store_gate_done(&g, 10, burst * 100 + 50);
        assert_true(hg_store_gate_open(&g, FIN, burst * 100 + 50));
        assert_false(g.shedding);
    }
    assert_int_equal(g.deferred, 21);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_starts_shed_first),
        cmocka_unit_test(test_reopens_below_marks),
        cmocka_unit_test(test_tiny_limit),
        cmocka_unit_test(test_bursts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
