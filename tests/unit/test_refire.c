// hg-test-sources: master/refire.c
/* Unit tests for the master's decision about a scheduled time whose HTTP
 * request a lapsed lease kept from the endpoint (refire.h): which records
 * count, what each misfire policy and recover make of "not sent" and of
 * "unknown", how a move of the job decides whether its new holder already
 * passed that time, and that a scheduled time is re-run at most once
 * whichever runs carried it. */
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

static hg_run_t s_run(uint8_t id_byte, uint64_t job_id, int64_t scheduled_ms, uint32_t attempt,
                      char *reason)
{
    hg_run_t run = {.job_id = job_id, .scheduled_ms = scheduled_ms, .attempt = attempt};
    memset(run.run_id, id_byte, sizeof run.run_id);
    run.run_id[6] = (uint8_t) (0x70 | (id_byte & 0x0f)); /* a UUIDv7, as workers make */
    run.reason = reason;
    return run;
}

static void test_claim_once(void **state)
{
    (void) state;
    hg_refire_t *r = hg_refire_new();
    assert_non_null(r);
    hg_run_t x = s_run(1, 42, 1000, 1, "schedule");
    assert_true(hg_refire_claim(r, &x));
    assert_false(hg_refire_claim(r, &x)); /* the worker resent its record */
    /* Bounded: past the cap the oldest claim is forgotten first. */
    for (uint32_t i = 0; i < HG_REFIRE_CLAIMS_MAX; i++) {
        hg_run_t other = s_run(9, 7, 5000 + i, 1, "schedule");
        assert_true(hg_refire_claim(r, &other));
    }
    assert_true(hg_refire_claim(r, &x));
    hg_refire_destroy(&r);
    assert_null(r);
    hg_refire_destroy(&r);
}

/* A re-run's TRIGGER passed on from the holder it went to under epoch 2
 * to the job's next holder: the earlier holder's record of it (fired
 * under epoch 2) is known as superseded; the next holder's (epoch 3), a
 * recover re-run of the same time, another attempt, an ordinary fire are
 * not. Superseding takes no claim from the re-runs themselves. */
static void test_superseded(void **state)
{
    (void) state;
    hg_refire_t *r = hg_refire_new();
    hg_refire_supersede(r, 42, 1000, 1, true, 2);
    hg_run_t early = s_run(1, 42, 1000, 1, "refire");
    early.epoch = 2;
    assert_true(hg_refire_superseded(r, &early));
    hg_run_t next = s_run(2, 42, 1000, 1, "refire");
    next.epoch = 3;
    assert_false(hg_refire_superseded(r, &next));
    hg_run_t recover = early;
    recover.reason = "recover";
    assert_false(hg_refire_superseded(r, &recover));
    hg_run_t attempt2 = early;
    attempt2.attempt = 2;
    assert_false(hg_refire_superseded(r, &attempt2));
    hg_run_t fire = early;
    fire.reason = "schedule";
    assert_false(hg_refire_superseded(r, &fire));
    hg_run_t other_job = early;
    other_job.job_id = 43;
    assert_false(hg_refire_superseded(r, &other_job));
    assert_true(hg_refire_claim(r, &early));
    assert_true(hg_refire_claim(r, &next));
    hg_refire_destroy(&r);
}

/* One scheduled time is re-run once, whichever runs carried it: the run
 * closed lost with its worker (X) and the same time fired again by that
 * worker's catch-up when it came back, also kept from the endpoint (Z),
 * make one re-run between them. A re-run kept from its endpoint in turn
 * is its own claim; another attempt or another time or job is too. */
static void test_claim_by_scheduled_time(void **state)
{
    (void) state;
    hg_refire_t *r = hg_refire_new();
    hg_run_t x = s_run(1, 42, 1000, 1, "schedule");
    hg_run_t z = s_run(2, 42, 1000, 1, "misfire");
    assert_true(hg_refire_claim(r, &x));
    assert_false(hg_refire_claim(r, &z));
    hg_run_t again = s_run(3, 42, 1000, 1, "refire");
    assert_true(hg_refire_claim(r, &again));
    assert_false(hg_refire_claim(r, &again)); /* resent */
    hg_run_t again2 = s_run(4, 42, 1000, 1, "refire");
    assert_true(hg_refire_claim(r, &again2));
    hg_run_t retry = s_run(5, 42, 1000, 2, "retry");
    assert_true(hg_refire_claim(r, &retry));
    hg_run_t later = s_run(6, 42, 2000, 1, "schedule");
    assert_true(hg_refire_claim(r, &later));
    hg_run_t other_job = s_run(7, 43, 1000, 1, "schedule");
    assert_true(hg_refire_claim(r, &other_job));
    /* A key by time never equals a run id: the version nibble differs. */
    uint8_t key[HG_PROTO_RUN_ID_SIZE];
    hg_refire_key(&x, key);
    assert_int_equal(key[6] >> 4, 0xf);
    assert_int_equal(x.run_id[6] >> 4, 7);
    hg_refire_key(&again, key);
    assert_memory_equal(key, again.run_id, HG_PROTO_RUN_ID_SIZE);
    hg_refire_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_unsent_by_policy),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_moves),
        cmocka_unit_test(test_claim_by_scheduled_time),
        cmocka_unit_test(test_claim_once),
        cmocka_unit_test(test_superseded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
