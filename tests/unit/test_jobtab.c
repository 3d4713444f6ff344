// hg-test-sources: master/jobtab.c master/routing.c
/* Unit tests for the master's compact job table: jobs are found by id
 * through growth and removals, a walk sees each job once, jobs that differ
 * only in id, name, URL, parameters, version, start and end share one
 * template while
 * any other difference (schedule, pinned nodes) makes another, templates
 * go with their last job, and the wire spec a record gives back is the
 * one it was made from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hg_error.h"
#include "hg_proto.h"
#include "jobtab.h"

/* A full spec as hg_job_to_assign gives it (every string malloc'ed). */
static void s_spec(hg_assign_t *a, uint64_t id, const char *schedule)
{
    memset(a, 0, sizeof *a);
    char name[32], url[64];
    snprintf(name, sizeof name, "job-%llu", (unsigned long long) id);
    snprintf(url, sizeof url, "http://127.0.0.1:9/%llu", (unsigned long long) (id % 3));
    a->job_id = id;
    a->version = 1 + id % 5;
    a->ns = strdup("default");
    a->name = strdup(name);
    a->kind = strdup("http");
    a->schedule = strdup(schedule);
    a->tz = strdup("UTC");
    a->misfire = strdup("fire_once");
    a->timeout_ms = 30000;
    a->start_ms = (int64_t) id * 1000;
    a->http.method = strdup("GET");
    a->http.url = strdup(url);
    /* Parameters differ from job to job too. */
    a->params_n = id % 3;
    a->params = a->params_n ? calloc(a->params_n, sizeof *a->params) : NULL;
    for (size_t i = 0; i < a->params_n; i++) {
        char v[64];
        snprintf(v, sizeof v, "value-%llu-%zu", (unsigned long long) id, i);
        a->params[i].key = strdup(i ? "region" : "customer");
        a->params[i].value = strdup(v);
    }
}

static uint8_t *s_encode(const hg_assign_t *a, size_t *len)
{
    hg_msg_t msg = {.type = HG_MSG_ASSIGN};
    msg.u.assign = *a;
    uint8_t *buf = NULL;
    assert_int_equal(hg_msg_encode(&msg, &buf, len), 0);
    return buf;
}

static void test_find_walk_remove(void **state)
{
    (void) state;
    hg_jobtab_t *t = hg_jobtab_new();
    assert_non_null(t);
    const uint64_t n = 20000;
    for (uint64_t id = 1; id <= n; id++) {
        hg_assign_t a;
        s_spec(&a, id, "@daily");
        hg_jobrec_t *rec = hg_jobtab_make(t, &a, NULL, NULL);
        assert_non_null(rec);
        assert_null(a.name); /* taken */
        assert_int_equal(hg_jobtab_put(t, rec, NULL), 0);
    }
    assert_int_equal(hg_jobtab_size(t), n);
    for (uint64_t id = 1; id <= n; id += 7) {
        hg_jobrec_t *rec = hg_jobtab_find(t, id);
        assert_non_null(rec);
        assert_int_equal(rec->id, id);
        char name[32];
        snprintf(name, sizeof name, "job-%llu", (unsigned long long) id);
        assert_string_equal(hg_jobrec_name(rec), name);
    }
    assert_null(hg_jobtab_find(t, n + 1));
    assert_null(hg_jobtab_find(t, 0));
    /* Remove the even ids, and an absent one. */
    for (uint64_t id = 2; id <= n; id += 2)
        hg_jobtab_remove(t, id);
    hg_jobtab_remove(t, n + 5);
    assert_int_equal(hg_jobtab_size(t), n / 2);
    for (uint64_t id = 1; id <= n; id++)
        assert_true((hg_jobtab_find(t, id) != NULL) == (id % 2 == 1));
    /* A walk sees every job once, also while removing what it walks. */
    size_t cur = 0, seen = 0;
    for (hg_jobrec_t *rec; (rec = hg_jobtab_next(t, &cur));) {
        assert_true(rec->id % 2 == 1);
        seen++;
        if (rec->id % 3 == 0) hg_jobtab_remove(t, rec->id);
    }
    assert_int_equal(seen, n / 2);
    /* Slot by slot, the same records. */
    size_t at = 0;
    for (size_t i = 0; i < hg_jobtab_slots(t); i++)
        at += hg_jobtab_at(t, i) != NULL;
    assert_int_equal(at, hg_jobtab_size(t));
    assert_null(hg_jobtab_at(t, hg_jobtab_slots(t)));
    for (uint64_t id = 1; id <= n; id += 2)
        assert_true((hg_jobtab_find(t, id) != NULL) == (id % 3 != 0));
    /* Tombstones are reused: churn does not grow the table for ever. */
    size_t slots = hg_jobtab_slots(t);
    for (int round = 0; round < 20; round++) {
        for (uint64_t id = n + 1; id <= n + 2000; id++) {
            hg_assign_t a;
            s_spec(&a, id, "@daily");
            hg_jobrec_t *rec = hg_jobtab_make(t, &a, NULL, NULL);
            assert_int_equal(hg_jobtab_put(t, rec, NULL), 0);
        }
        for (uint64_t id = n + 1; id <= n + 2000; id++)
            hg_jobtab_remove(t, id);
    }
    assert_true(hg_jobtab_slots(t) <= slots * 2);
    hg_jobtab_destroy(&t);
    assert_null(t);
    hg_jobtab_destroy(&t); /* idempotent */
}

static void test_templates_shared(void **state)
{
    (void) state;
    hg_jobtab_t *t = hg_jobtab_new();
    hg_assign_t a;
    s_spec(&a, 1, "@daily");
    hg_jobrec_t *r1 = hg_jobtab_make(t, &a, NULL, NULL);
    s_spec(&a, 2, "@daily"); /* other id, name, URL, parameters, version, start */
    hg_jobrec_t *r2 = hg_jobtab_make(t, &a, NULL, NULL);
    s_spec(&a, 3, "@hourly");
    hg_jobrec_t *r3 = hg_jobtab_make(t, &a, NULL, NULL);
    json_t *pins = json_pack("[s]", "worker-1");
    s_spec(&a, 4, "@daily");
    hg_jobrec_t *r4 = hg_jobtab_make(t, &a, pins, NULL);
    s_spec(&a, 5, "@daily");
    json_t *empty = json_array();
    hg_jobrec_t *r5 = hg_jobtab_make(t, &a, empty, NULL); /* no pins = none given */
    json_decref(empty);
    assert_true(r1 && r2 && r3 && r4 && r5);
    assert_ptr_equal(r1->tpl, r2->tpl);
    assert_ptr_equal(r1->tpl, r5->tpl);
    assert_ptr_not_equal(r1->tpl, r3->tpl);
    assert_ptr_not_equal(r1->tpl, r4->tpl);
    assert_non_null(r4->tpl->pins);
    assert_null(r1->tpl->pins);
    assert_int_equal(r1->tpl->refs, 3);
    assert_int_equal(hg_jobtab_tpl_count(t), 3);
    hg_jobrec_t *recs[] = {r1, r2, r3, r4, r5};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(hg_jobtab_put(t, recs[i], NULL), 0);
    /* A record made like another shares its template, URL and parameters. */
    hg_jobrec_t *r6 = hg_jobtab_make_like(t, r2, 6, "job-6");
    assert_non_null(r6);
    assert_int_equal(r1->tpl->refs, 4);
    assert_int_equal(r6->id, 6);
    assert_string_equal(hg_jobrec_name(r6), "job-6");
    assert_string_equal(hg_jobrec_url(r6), hg_jobrec_url(r2));
    hg_kv_t kv2[4], kv6[4];
    hg_assign_t v2, v6;
    hg_jobrec_spec(r2, &v2, kv2);
    hg_jobrec_spec(r6, &v6, kv6);
    assert_int_equal(v6.params_n, 2);
    assert_int_equal(v6.params_n, v2.params_n);
    for (size_t i = 0; i < v2.params_n; i++) {
        assert_string_equal(v6.params[i].key, v2.params[i].key);
        assert_string_equal(v6.params[i].value, v2.params[i].value);
    }
    assert_int_equal(hg_jobtab_put(t, r6, NULL), 0);
    /* A record shaped like another shares its template, with its own URL
     * and parameters. */
    hg_kv_t own[] = {{"customer", "c7"}};
    hg_jobrec_t *r7 = hg_jobtab_make_shaped(t, r1, 7, "job-7", "http://x/7", own, 1);
    assert_non_null(r7);
    assert_ptr_equal(r7->tpl, r1->tpl);
    assert_int_equal(r1->tpl->refs, 5);
    hg_kv_t kv7[1];
    hg_assign_t v7;
    hg_jobrec_spec(r7, &v7, kv7);
    assert_string_equal(v7.http.url, "http://x/7");
    assert_string_equal(v7.name, "job-7");
    assert_int_equal(v7.params_n, 1);
    assert_string_equal(v7.params[0].value, "c7");
    assert_string_equal(v7.schedule, "@daily");
    hg_jobtab_free(t, &r7);
    assert_int_equal(r1->tpl->refs, 4);
    /* Replacing a record hands the old one back. */
    s_spec(&a, 3, "@daily");
    hg_jobrec_t *r3b = hg_jobtab_make(t, &a, NULL, NULL), *old = NULL;
    assert_int_equal(hg_jobtab_put(t, r3b, &old), 0);
    assert_ptr_equal(old, r3);
    hg_jobtab_free(t, &old);
    assert_null(old);
    assert_int_equal(hg_jobtab_tpl_count(t), 2); /* @hourly went with its last job */
    hg_jobtab_remove(t, 4);
    assert_int_equal(hg_jobtab_tpl_count(t), 1);
    size_t cur = 0, n = 0;
    for (hg_jobtpl_t *tpl; (tpl = hg_jobtab_tpl_next(t, &cur));)
        n++;
    assert_int_equal(n, 1);
    json_decref(pins);
    hg_jobtab_destroy(&t);
}

static void test_spec_round_trip(void **state)
{
    (void) state;
    hg_jobtab_t *t = hg_jobtab_new();
    hg_assign_t a, want;
    s_spec(&a, 44, "0 */5 * * * ?"); /* two parameters */
    a.end_ms = 99999;
    a.recover = 1;
    a.last_fire_ms = 1234;
    assert_int_equal(hg_assign_copy(&want, &a), 0);
    hg_jobrec_t *rec = hg_jobtab_make(t, &a, NULL, NULL);
    assert_non_null(rec);
    assert_int_equal(rec->last_fire_ms, 1234);
    rec->epoch = 7;
    want.epoch = 7;
    hg_assign_t view;
    hg_kv_t kv[2];
    hg_jobrec_spec(rec, &view, kv);
    assert_int_equal(view.params_n, 2);
    size_t l1, l2;
    uint8_t *b1 = s_encode(&want, &l1), *b2 = s_encode(&view, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    /* A plug-in job has no URL. */
    hg_assign_t p = {0};
    p.job_id = 43;
    p.name = strdup("plug");
    p.kind = strdup("plugin");
    p.schedule = strdup("@every 1s");
    p.plugin.name = strdup("noop");
    hg_jobrec_t *prec = hg_jobtab_make(t, &p, NULL, NULL);
    assert_non_null(prec);
    hg_jobrec_spec(prec, &view, NULL);
    assert_null(view.http.url);
    assert_null(hg_jobrec_url(prec));
    assert_null(view.params);
    assert_string_equal(view.plugin.name, "noop");
    assert_string_equal(view.name, "plug");
    /* What cannot go on the wire is refused with the reason. */
    hg_assign_t big;
    s_spec(&big, 45, "@daily");
    free(big.schedule);
    big.schedule = calloc(1, HG_PROTO_MAX_STR + 2);
    memset(big.schedule, 'x', HG_PROTO_MAX_STR + 1);
    int err = 0;
    assert_null(hg_jobtab_make(t, &big, NULL, &err));
    assert_int_equal(err, HG_ETOOBIG);
    assert_null(big.schedule); /* taken and freed */
    s_spec(&big, 46, "@daily");
    big.params = realloc(big.params, (HG_PROTO_MAX_ITEMS + 1) * sizeof *big.params);
    for (size_t i = big.params_n; i <= HG_PROTO_MAX_ITEMS; i++) {
        big.params[i].key = strdup("k");
        big.params[i].value = strdup("v");
    }
    big.params_n = HG_PROTO_MAX_ITEMS + 1;
    assert_null(hg_jobtab_make(t, &big, NULL, &err));
    assert_int_equal(err, HG_ETOOBIG);
    hg_assign_clear(&want);
    hg_jobtab_free(t, &rec);
    hg_jobtab_free(t, &prec);
    assert_int_equal(hg_jobtab_tpl_count(t), 0);
    hg_jobtab_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_walk_remove),
        cmocka_unit_test(test_templates_shared),
        cmocka_unit_test(test_spec_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
