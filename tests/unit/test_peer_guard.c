/* Unit tests for master/peer_guard.c: which run records a node may send
 * (its session, its jobs now or earlier in this epoch, fire times within a
 * lease), the bounded memory of moved jobs, and the refusal log: once per
 * burst, then one summary line. */
// hg-test-sources: master/peer_guard.c
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hg_error.h"
#include "peer_guard.h"

#define LEASE_MS 2000
#define NOW_MS   1763700000000LL

static int s_setup(void **state)
{
    *state = hg_peer_guard_new(LEASE_MS);
    return *state ? 0 : -1;
}

static int s_teardown(void **state)
{
    hg_peer_guard_t *g = *state;
    hg_peer_guard_destroy(&g);
    assert_null(g);
    return 0;
}

static void test_session_needed(void **state)
{
    hg_peer_guard_t *g = *state;
    assert_int_equal(hg_peer_guard_check_run(g, "w1", false, "w1", 7, NOW_MS, NOW_MS),
                     HG_PEER_NO_SESSION);
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w1", 7, NOW_MS, NOW_MS), HG_PEER_OK);
}

static void test_only_own_jobs(void **state)
{
    hg_peer_guard_t *g = *state;
    /* Held by another node, or by nobody, or unknown: not ours. */
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w2", 7, NOW_MS, NOW_MS),
                     HG_PEER_NOT_HOLDER);
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "", 7, NOW_MS, NOW_MS),
                     HG_PEER_NOT_HOLDER);
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, NULL, 7, NOW_MS, NOW_MS),
                     HG_PEER_NOT_HOLDER);
    /* A job it held and lost in this epoch: its late records are taken. */
    assert_int_equal(hg_peer_guard_moved(g, "w1", 7), 0);
    assert_true(hg_peer_guard_held(g, "w1", 7));
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w2", 7, NOW_MS, NOW_MS), HG_PEER_OK);
    /* That gives nothing to another node, nor for another job. */
    assert_int_equal(hg_peer_guard_check_run(g, "w3", true, "w2", 7, NOW_MS, NOW_MS),
                     HG_PEER_NOT_HOLDER);
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w2", 8, NOW_MS, NOW_MS),
                     HG_PEER_NOT_HOLDER);
    /* Recorded twice counts once; forgetting the node drops it. */
    assert_int_equal(hg_peer_guard_moved(g, "w1", 7), 0);
    assert_int_equal(hg_peer_guard_moved_count(g), 1);
    hg_peer_guard_forget(g, "w1");
    assert_false(hg_peer_guard_held(g, "w1", 7));
    assert_int_equal(hg_peer_guard_moved_count(g), 0);
    /* Job id 0 and an empty node are not recorded. */
    assert_int_equal(hg_peer_guard_moved(g, "w1", 0), HG_EINVAL);
    assert_int_equal(hg_peer_guard_moved(g, "", 5), HG_EINVAL);
}

static void test_fire_time_bound(void **state)
{
    hg_peer_guard_t *g = *state;
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w1", 7, NOW_MS + LEASE_MS, NOW_MS),
                     HG_PEER_OK);
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w1", 7, NOW_MS + LEASE_MS + 1, NOW_MS),
                     HG_PEER_FUTURE);
    /* Year 9999. */
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w1", 7, 253370764800000LL, NOW_MS),
                     HG_PEER_FUTURE);
    /* The past is fine (a run recorded late). */
    assert_int_equal(hg_peer_guard_check_run(g, "w1", true, "w1", 7, 1, NOW_MS), HG_PEER_OK);
}

static void test_many_moves(void **state)
{
    hg_peer_guard_t *g = *state;
    enum { N = 100000 };
    for (uint64_t id = 1; id <= N; id++)
        assert_int_equal(hg_peer_guard_moved(g, "w1", id * 7919), 0);
    assert_int_equal(hg_peer_guard_moved_count(g), N);
    for (uint64_t id = 1; id <= N; id++) {
        assert_true(hg_peer_guard_held(g, "w1", id * 7919));
        assert_false(hg_peer_guard_held(g, "w1", id * 7919 + 1));
    }
    assert_false(hg_peer_guard_held(g, "w2", 7919));
}

/* Moves are remembered for one to two generations, then forgotten. */
static void test_moves_age(void **state)
{
    hg_peer_guard_t *g = *state;
    assert_int_equal(hg_peer_guard_moved(g, "w1", 7), 0);
    hg_peer_guard_age(g);
    assert_int_equal(hg_peer_guard_moved(g, "w1", 8), 0);
    assert_true(hg_peer_guard_held(g, "w1", 7));
    assert_true(hg_peer_guard_held(g, "w1", 8));
    assert_int_equal(hg_peer_guard_moved_count(g), 2);
    hg_peer_guard_age(g);
    assert_false(hg_peer_guard_held(g, "w1", 7));
    assert_true(hg_peer_guard_held(g, "w1", 8));
    assert_int_equal(hg_peer_guard_moved_count(g), 1);
    hg_peer_guard_age(g);
    assert_false(hg_peer_guard_held(g, "w1", 8));
    assert_int_equal(hg_peer_guard_moved_count(g), 0);
    /* The tick ages once a generation has passed since the first tick. */
    assert_int_equal(hg_peer_guard_moved(g, "w1", 9), 0);
    hg_peer_guard_tick(g, 1000);
    hg_peer_guard_tick(g, 1000 + HG_PEER_MOVED_GENERATION_MS - 1);
    hg_peer_guard_tick(g, 1000 + HG_PEER_MOVED_GENERATION_MS);
    assert_true(hg_peer_guard_held(g, "w1", 9));
    hg_peer_guard_tick(g, 1000 + 2 * HG_PEER_MOVED_GENERATION_MS);
    assert_false(hg_peer_guard_held(g, "w1", 9));
}

/* Run fn with stderr going to a file; returns what was written. */
static char *s_capture_stderr(void (*fn)(hg_peer_guard_t *), hg_peer_guard_t *g)
{
    char path[] = "/tmp/hg-peer-guard-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    fn(g);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t) size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t) size, 0), (ssize_t) size);
    close(fd);
    return text;
}

static size_t s_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void s_burst(hg_peer_guard_t *g)
{
    int64_t t = 1000;
    for (int i = 0; i < 5000; i++)
        hg_peer_guard_refused(g, "rogue", i % 2 ? HG_PEER_NOT_HOLDER : HG_PEER_FUTURE,
                              "RUN_FINISHED", 7, NULL, t + i / 100);
    hg_peer_guard_refused(g, "bad\nname", HG_PEER_NO_SESSION, "PLUGIN_GET", 0, NULL, t);
    hg_peer_guard_tick(g, t + 100);                             /* still going: no line */
    hg_peer_guard_tick(g, t + 50 + HG_PEER_BURST_QUIET_MS + 1); /* both bursts over */
    hg_peer_guard_tick(g, t + 60 + HG_PEER_BURST_QUIET_MS + 1); /* nothing more */
    /* A new burst later is logged again. */
    hg_peer_guard_refused(g, "rogue", HG_PEER_MALFORMED, "message", 0, "junk", t + 10000);
}

static void test_log_once_per_burst(void **state)
{
    hg_peer_guard_t *g = *state;
    char *text = s_capture_stderr(s_burst, g);
    assert_int_equal(s_count(text, "from rogue refused"), 2);
    assert_int_equal(s_count(text, "4999 records refused from rogue over 49 ms"), 1);
    assert_int_equal(s_count(text, "records refused from"), 1); /* bad?name had one only */
    /* A name with a newline cannot forge a log line. */
    assert_int_equal(s_count(text, "from bad?name refused"), 1);
    assert_int_equal(s_count(text, "\nname"), 0);
    assert_int_equal(s_count(text, "refused: malformed: junk"), 1);
    assert_int_equal(hg_peer_guard_refusals(g, HG_PEER_NOT_HOLDER), 2500);
    assert_int_equal(hg_peer_guard_refusals(g, HG_PEER_FUTURE), 2500);
    assert_int_equal(hg_peer_guard_refusals(g, HG_PEER_NO_SESSION), 1);
    assert_int_equal(hg_peer_guard_refusals(g, HG_PEER_OK), 5002);
    free(text);
}

/* Past HG_PEER_BURSTS_MAX senders, the rest share one burst. */
static void s_many_senders(hg_peer_guard_t *g)
{
    char name[32];
    for (int i = 0; i < HG_PEER_BURSTS_MAX + 500; i++) {
        snprintf(name, sizeof name, "peer-%d", i);
        hg_peer_guard_refused(g, name, HG_PEER_NO_SESSION, "RUN_FINISHED", 0, NULL, 1000);
    }
    hg_peer_guard_tick(g, 1000 + HG_PEER_BURST_QUIET_MS + 1);
}

static void test_bursts_capped(void **state)
{
    hg_peer_guard_t *g = *state;
    char *text = s_capture_stderr(s_many_senders, g);
    /* One line per sender up to the cap, one for the first beyond it,
     * and the summary of the others. */
    assert_int_equal(s_count(text, " refused: no session"), HG_PEER_BURSTS_MAX + 1);
    assert_int_equal(s_count(text, "499 records refused from ("), 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_needed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_only_own_jobs, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fire_time_bound, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_many_moves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_moves_age, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_log_once_per_burst, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bursts_capped, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
