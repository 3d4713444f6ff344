// hg-test-sources: master/store_gate.c
/* Unit tests for the store's back-pressure gate (store_gate.h): records
 * handed to the store are counted until DONE; at queue_max the gate closes
 * (finished records deferred, starts shed, both counted), and it opens
 * again only below half of queue_max. The bound is what keeps the master's
 * memory flat when workers offer more than MySQL takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store_gate.h"

static void test_no_limit(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 0);
    hg_store_gate_add(&g, 10000000);
    assert_true(hg_store_gate_open(&g, 0));
    assert_false(g.closed);
}

static void test_closes_at_limit(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 1000);
    hg_store_gate_add(&g, 999);
    assert_true(hg_store_gate_open(&g, 0));
    /* One message may take the queue past the limit (it is taken whole)... */
    hg_store_gate_add(&g, 500);
    /* ...and then nothing more is taken. */
    assert_false(hg_store_gate_open(&g, 1));
    assert_false(hg_store_gate_open(&g, 2));
    hg_store_gate_defer(&g, 300);
    hg_store_gate_shed(&g, 20);
    assert_int_equal(g.deferred, 300);
    assert_int_equal(g.shed_started, 20);
    assert_int_equal(g.pending, 1499);
    assert_int_equal(g.pending_peak, 1499);
}

static void test_opens_below_half(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 1000);
    hg_store_gate_add(&g, 1200);
    assert_false(hg_store_gate_open(&g, 0));
    hg_store_gate_done(&g, 600, 10); /* 600 left: above half */
    assert_false(hg_store_gate_open(&g, 10));
    hg_store_gate_done(&g, 101, 20); /* 499 left */
    assert_true(hg_store_gate_open(&g, 20));
    assert_int_equal(g.pending, 499);
    /* Never below zero, whatever comes back. */
    hg_store_gate_done(&g, 10000, 30);
    assert_int_equal(g.pending, 0);
    assert_true(hg_store_gate_open(&g, 30));
}

/* Deferred records are only counted; each new burst counts afresh. */
static void test_bursts(void **state)
{
    (void) state;
    hg_store_gate_t g;
    hg_store_gate_init(&g, 10);
    for (int burst = 0; burst < 3; burst++) {
        hg_store_gate_add(&g, 10);
        assert_false(hg_store_gate_open(&g, burst * 100));
        hg_store_gate_defer(&g, 7);
        assert_int_equal(g.burst_deferred, 7);
        hg_store_gate_done(&g, 10, burst * 100 + 50);
        assert_true(hg_store_gate_open(&g, burst * 100 + 50));
    }
    assert_int_equal(g.deferred, 21);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_limit),
        cmocka_unit_test(test_closes_at_limit),
        cmocka_unit_test(test_opens_below_half),
        cmocka_unit_test(test_bursts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
