// hg-test-sources: master/routing.c master/job.c master/job_policy.c master/deps.c
// hg-test-sources: master/job_ext.c
/* test_routing: the routing rules of master/routing.c: executor
 * validation (labels with =, !=, exists and absent; strategy, mode,
 * shards), selector matching, slot ids, and the consistent-hash ring:
 * adding one node to n moves about 1/(n+1) of 10,000 jobs, all of them to
 * the new node. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hg_error.h"
#include "job.h"
#include "routing.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_JOB "{\"name\": \"r\", \"schedule\": \"@every 1s\", \"http\": {\"url\": \"http://h/\"}, "

/* Validate a job with this executor text: NULL and the message when it
 * fails, else the normalized executor (a new reference). */
static json_t *s_validate(const char *executor, char *msg, size_t msg_size)
{
    char text[2048], field[256];
    snprintf(text, sizeof text, S_JOB "\"executor\": %s}", executor);
    json_t *body = json_loads(text, 0, NULL);
    assert_non_null(body);
    json_t *job = hg_job_validate(body, field, sizeof field, msg, msg_size);
    json_decref(body);
    json_t *ex = job ? json_incref(json_object_get(job, "executor")) : NULL;
    json_decref(job);
    return ex;
}

static void s_expect_msg(const char *executor, const char *message)
{
    char msg[1024] = "";
    json_t *ex = s_validate(executor, msg, sizeof msg);
    if (ex) fail_msg("accepted %s; expected %s", executor, message);
    if (strcmp(msg, message) != 0)
        fail_msg("for %s\n  expected %s\n  got      %s", executor, message, msg);
}

static void test_validate(void **state)
{
    (void) state;
    char msg[1024];
    json_t *ex = s_validate("{\"labels\": {\"region\": \"eu\", \"zone\": {\"not\": \"a\"}, "
                            "\"gpu\": {\"exists\": true}, \"spot\": {\"exists\": false}}, "
                            "\"strategy\": \"consistent_hash\", \"shards\": 4}",
                            msg, sizeof msg);
    assert_non_null(ex);
    assert_string_equal(json_string_value(json_object_get(ex, "strategy")), "consistent_hash");
    assert_int_equal(json_integer_value(json_object_get(ex, "shards")), 4);
    assert_int_equal(json_object_size(json_object_get(ex, "labels")), 4);
    hg_route_t *r = hg_route_new(ex, NULL);
    assert_non_null(r);
    assert_int_equal(r->mode, HG_ROUTE_SHARDS);
    assert_int_equal(r->shards, 4);
    char sel[256];
    hg_route_selector_text(r, sel, sizeof sel);
    assert_string_equal(sel, "region=eu,zone!=a,gpu,!spot");
    hg_route_destroy(&r);
    json_decref(ex);

    /* Defaults stay out: a plain executor is what it always was. */
    ex = s_validate("{\"nodes\": [\"w1\"], \"strategy\": \"least_loaded\", \"mode\": \"single\", "
                    "\"shards\": 1}",
                    msg, sizeof msg);
    assert_non_null(ex);
    char *dump = json_dumps(ex, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(dump, "{\"nodes\":[\"w1\"]}");
    free(dump);
    assert_null(hg_route_new(ex, NULL));
    json_decref(ex);

    s_expect_msg("{\"labels\": [\"eu\"]}",
                 "executor.labels: must be an object of label key -> selector");
    s_expect_msg("{\"labels\": {\"region\": 1}}",
                 "executor.labels.region: must be a string (equals), {\"not\": value} or "
                 "{\"exists\": true|false}");
    s_expect_msg("{\"labels\": {\"region\": {\"exists\": \"yes\"}}}",
                 "executor.labels.region: \"exists\" must be true or false");
    s_expect_msg("{\"labels\": {\"re gion\": \"eu\"}}",
                 "executor.labels: label keys must be 1-190 printable characters without "
                 "spaces, ',', '=' or '!'");
    s_expect_msg("{\"strategy\": \"fastest\"}",
                 "executor.strategy: must be one of least_loaded, round_robin, random, "
                 "consistent_hash");
    s_expect_msg("{\"mode\": \"all\"}", "executor.mode: must be \"single\" or \"broadcast\"");
    s_expect_msg("{\"shards\": 0}", "executor.shards: must be an integer from 1 to 1000");
    s_expect_msg("{\"shards\": 1001}", "executor.shards: must be an integer from 1 to 1000");
    s_expect_msg("{\"mode\": \"broadcast\", \"shards\": 2}",
                 "executor.shards: cannot be combined with mode \"broadcast\" (one or the other)");
    s_expect_msg("{\"mode\": \"broadcast\", \"strategy\": \"random\"}",
                 "executor.strategy: does not apply to mode \"broadcast\": every matching node "
                 "runs the job");
}

static void test_match(void **state)
{
    (void) state;
    json_t *ex = json_loads("{\"labels\": {\"region\": \"eu\", \"zone\": {\"not\": \"a\"}, "
                            "\"spot\": {\"exists\": false}}}",
                            0, NULL);
    hg_route_t *r = hg_route_new(ex, NULL);
    assert_non_null(r);
    json_t *yes = json_loads("{\"region\": \"eu\", \"zone\": \"b\"}", 0, NULL);
    json_t *no_zone = json_loads("{\"region\": \"eu\"}", 0, NULL); /* != holds when absent */
    json_t *wrong_zone = json_loads("{\"region\": \"eu\", \"zone\": \"a\"}", 0, NULL);
    json_t *spot = json_loads("{\"region\": \"eu\", \"spot\": \"true\"}", 0, NULL);
    json_t *us = json_loads("{\"region\": \"us\"}", 0, NULL);
    assert_true(hg_route_matches(r, yes));
    assert_true(hg_route_matches(r, no_zone));
    assert_false(hg_route_matches(r, wrong_zone));
    assert_false(hg_route_matches(r, spot));
    assert_false(hg_route_matches(r, us));
    assert_false(hg_route_matches(r, NULL));
    json_decref(yes);
    json_decref(no_zone);
    json_decref(wrong_zone);
    json_decref(spot);
    json_decref(us);
    hg_route_destroy(&r);
    json_decref(ex);
    ex = json_loads("{\"labels\": {\"gpu\": {\"exists\": true}}}", 0, NULL);
    r = hg_route_new(ex, NULL);
    json_t *gpu = json_loads("{\"gpu\": \"\"}", 0, NULL);
    assert_true(hg_route_matches(r, gpu));
    assert_false(hg_route_matches(r, NULL));
    json_decref(gpu);
    hg_route_destroy(&r);
    json_decref(ex);
}

static void test_vid(void **state)
{
    (void) state;
    uint32_t index, total;
    uint64_t id = 123456789;
    assert_false(hg_route_is_vid(id));
    assert_int_equal(hg_route_vid_split(id, &index, &total), id);
    assert_int_equal(total, 0);
    uint64_t vid = hg_route_vid(id, 3, 4);
    assert_true(hg_route_is_vid(vid));
    assert_int_equal(hg_route_vid_split(vid, &index, &total), id);
    assert_int_equal(index, 3);
    assert_int_equal(total, 4);
    vid = hg_route_vid(id, 4095, 0); /* a broadcast slot */
    assert_int_equal(hg_route_vid_split(vid, &index, &total), id);
    assert_int_equal(index, 4095);
    assert_int_equal(total, 0);
    assert_int_not_equal(hg_route_vid(id, 0, 0), hg_route_vid(id, 0, 2));
    /* Broadcast slots: a name always gets the same one; a collision the next. */
    bool taken[HG_ROUTE_BCAST_SLOTS] = {false};
    uint32_t a = hg_route_bcast_index("worker-1", taken);
    assert_int_equal(a, hg_route_bcast_index("worker-1", NULL));
    taken[a] = true;
    assert_int_equal(hg_route_bcast_index("worker-1", taken), (a + 1) % HG_ROUTE_BCAST_SLOTS);
}

#define S_KEYS 10000

/* Owner of every key on a ring of n nodes named w0 .. w<n-1>. */
static void s_owners(size_t n, const char **owner)
{
    char names[16][8];
    const char *ptrs[16];
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "w%zu", i);
        ptrs[i] = names[i];
    }
    hg_ring_t *ring = hg_ring_new();
    assert_int_equal(hg_ring_build(ring, ptrs, n), 0);
    assert_int_equal(hg_ring_size(ring), n);
    for (uint64_t k = 0; k < S_KEYS; k++) {
        const char *o = hg_ring_pick(ring, k + 1, NULL, NULL);
        assert_non_null(o);
        owner[k] = strdup(o); /* the ring's copy goes with it */
    }
    hg_ring_destroy(&ring);
}

static void test_ring_movement(void **state)
{
    (void) state;
    static const char *before[S_KEYS], *after[S_KEYS];
    for (size_t n = 2; n <= 8; n++) {
        s_owners(n, before);
        s_owners(n + 1, after);
        size_t moved = 0, per_node[16] = {0};
        char added[8];
        snprintf(added, sizeof added, "w%zu", n);
        for (size_t k = 0; k < S_KEYS; k++) {
            if (strcmp(before[k], after[k]) != 0) {
                moved++;
                /* Consistent: a key moves only to the node that joined. */
                assert_string_equal(after[k], added);
            }
            per_node[after[k][1] - '0']++;
        }
        /* About 1/(n+1) moves; the bound the issue sets is 1.5/(n+1). */
        double share = (double) moved / S_KEYS, ideal = 1.0 / (double) (n + 1);
        printf("ring: %zu -> %zu nodes: %zu of %d keys moved (%.3f, ideal %.3f)\n", n, n + 1, moved,
               S_KEYS, share, ideal);
        assert_true(share <= 1.5 * ideal);
        assert_true(share >= 0.5 * ideal);
        /* And the load stays even enough: no node holds twice its share. */
        for (size_t i = 0; i <= n; i++)
            assert_true(per_node[i] < 2 * S_KEYS / (n + 1));
        for (size_t k = 0; k < S_KEYS; k++) {
            free((void *) before[k]);
            free((void *) after[k]);
        }
    }
}

/* A refused node's keys go to the next node clockwise, nobody else's move. */
static bool s_not_w1(void *arg, const char *name)
{
    (void) arg;
    return strcmp(name, "w1") != 0;
}

static void test_ring_skip(void **state)
{
    (void) state;
    const char *names[] = {"w0", "w1", "w2", "w3"};
    hg_ring_t *ring = hg_ring_new();
    assert_int_equal(hg_ring_build(ring, names, 4), 0);
    size_t moved = 0;
    for (uint64_t k = 1; k <= S_KEYS; k++) {
        const char *all = hg_ring_pick(ring, k, NULL, NULL);
        const char *some = hg_ring_pick(ring, k, s_not_w1, NULL);
        assert_string_not_equal(some, "w1");
        if (strcmp(all, some) != 0) {
            assert_string_equal(all, "w1");
            moved++;
        }
    }
    assert_true(moved > S_KEYS / 8 && moved < S_KEYS / 2);
    assert_null(hg_ring_pick(NULL, 1, NULL, NULL));
    hg_ring_destroy(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),  cmocka_unit_test(test_match),
        cmocka_unit_test(test_vid),       cmocka_unit_test(test_ring_movement),
        cmocka_unit_test(test_ring_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
