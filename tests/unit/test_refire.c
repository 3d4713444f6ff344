// hg-test-sources: master/refire.c
/* Unit tests for the master's decision about a scheduled time whose HTTP
 * request a lapsed lease kept from the endpoint (refire.h): which records
 * count, what each misfire policy and recover make of "not sent" and of
 * "unknown", how a move of the job decides whether its new holder already
 * passed that time, and that a run is re-run at most once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hg_fence_note.h"
#include "refire.h"

static hg_refire_ctx_t s_ctx(hg_misfire_t policy, bool recover)
{
    hg_refire_ctx_t c = {.policy = policy, .recover = recover, .held = true};
    return c;
}

static void test_kind(void **state)
{
    (void) state;
    hg_run_t r = {.status = HG_RUN_SKIPPED, .error = (char *) HG_FENCE_NOT_SENT "; x"};
    assert_int_equal(hg_refire_kind(&r), HG_FENCE_UNSENT);
    r.status = HG_RUN_FAILED;
    assert_int_equal(hg_refire_kind(&r), HG_FENCE_NONE);
    r.error = (char *) HG_FENCE_RESET;
    assert_int_equal(hg_refire_kind(&r), HG_FENCE_UNKNOWN);
    r.error = (char *) "worker overloaded: 5000 HTTP runs already waiting";
    r.status = HG_RUN_SKIPPED;
    assert_int_equal(hg_refire_kind(&r), HG_FENCE_NONE);
    r.error = NULL;
    assert_int_equal(hg_refire_kind(&r), HG_FENCE_NONE);
    assert_int_equal(hg_refire_kind(NULL), HG_FENCE_NONE);
}

static void test_unsent_by_policy(void **state)
{
    (void) state;
    char note[256];
    hg_refire_ctx_t c = s_ctx(HG_MISFIRE_FIRE_ALL, false);
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_AGAIN);
    assert_non_null(strstr(note, "fired again once"));
    c = s_ctx(HG_MISFIRE_FIRE_ONCE, false);
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_AGAIN);
    c = s_ctx(HG_MISFIRE_SKIP, false);
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_NONE);
    assert_non_null(strstr(note, "misfire policy skip"));
    /* recover: a fire that started is run at least once, whatever the policy */
    c = s_ctx(HG_MISFIRE_SKIP, true);
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_AGAIN);
    assert_non_null(strstr(note, "(recover)"));
}

static void test_unknown(void **state)
{
    (void) state;
    char note[256];
    for (int p = 0; p < 3; p++) {
        hg_refire_ctx_t c = s_ctx((hg_misfire_t) p, false);
        assert_int_equal(hg_refire_decide(HG_FENCE_UNKNOWN, 1000, &c, note, sizeof note),
                         HG_REFIRE_NONE);
        assert_non_null(strstr(note, "not run again"));
        c.recover = true;
        assert_int_equal(hg_refire_decide(HG_FENCE_UNKNOWN, 1000, &c, note, sizeof note),
                         HG_REFIRE_RECOVER);
    }
}

static void test_moves(void **state)
{
    (void) state;
    char note[256];
    hg_refire_ctx_t c = s_ctx(HG_MISFIRE_FIRE_ALL, false);
    /* Moved once, and the new holder was told 1000 had fired: it starts
     * after 1000, so only a refire sends it. */
    c.moved = HG_MOVED_ONCE;
    c.handed_last_ms = 1000;
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_AGAIN);
    /* ... told 999: its own misfire plan covers 1000; a refire would double. */
    c.handed_last_ms = 999;
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_NONE);
    assert_non_null(strstr(note, "misfire policy (fire_all)"));
    /* Several moves: not knowable, so not fired again (no duplicate). */
    c.moved = HG_MOVED_MORE;
    c.handed_last_ms = 5000;
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_NONE);
    /* Not held and not moved: the next holder gets the master's last fire. */
    c.moved = HG_MOVED_NOT;
    c.held = false;
    c.last_fire_ms = 1000;
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_AGAIN);
    assert_non_null(strstr(note, "next holder"));
    c.last_fire_ms = 999;
    assert_int_equal(hg_refire_decide(HG_FENCE_UNSENT, 1000, &c, note, sizeof note),
                     HG_REFIRE_NONE);
}

static void test_claim_once(void **state)
{
    (void) state;
    hg_refire_t *r = hg_refire_new();
    assert_non_null(r);
    uint8_t id[HG_PROTO_RUN_ID_SIZE] = {1, 2, 3};
    assert_true(hg_refire_claim(r, id));
    assert_false(hg_refire_claim(r, id));
    /* Bounded: past the cap the oldest claim is forgotten first. */
    for (uint32_t i = 0; i < HG_REFIRE_CLAIMS_MAX; i++) {
        uint8_t other[HG_PROTO_RUN_ID_SIZE] = {9};
        memcpy(other + 4, &i, sizeof i);
        assert_true(hg_refire_claim(r, other));
    }
    assert_true(hg_refire_claim(r, id));
    hg_refire_destroy(&r);
    assert_null(r);
    hg_refire_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),       cmocka_unit_test(test_unsent_by_policy),
        cmocka_unit_test(test_unknown),    cmocka_unit_test(test_moves),
        cmocka_unit_test(test_claim_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
