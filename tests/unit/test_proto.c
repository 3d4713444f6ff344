/* test_proto: the wire codec. Round trips of every message type, every
 * class of malformed input the decoder must refuse, a fuzz loop, and the
 * deep-copy helpers. Hostile frames are built with msgpack_packer directly
 * so they can say things the encoder never would. */
// hg-test-sources: tests/unit/proto_samples.c
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hg_error.h"
#include "hg_proto.h"
#include "proto_samples.h"

#include <malloc.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#define DETAIL_SIZE 256

/* ---------------------------------------------------------------------
 * Equality, field by field
 */

static void assert_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_kvs_eq(const hg_kv_t *a, size_t an, const hg_kv_t *b, size_t bn)
{
    assert_int_equal(an, bn);
    for (size_t i = 0; i < an; i++) {
        assert_str_eq(a[i].key, b[i].key);
        assert_str_eq(a[i].value, b[i].value);
    }
}

static void assert_blob_eq(const hg_blob_t *a, const hg_blob_t *b)
{
    assert_int_equal(a->len, b->len);
    if (a->len)
        assert_memory_equal(a->data, b->data, a->len);
    else
        assert_null(b->data);
}

static void assert_run_eq(const hg_run_t *a, const hg_run_t *b)
{
    assert_memory_equal(a->run_id, b->run_id, HG_PROTO_RUN_ID_SIZE);
    assert_true(a->job_id == b->job_id);
    assert_true(a->epoch == b->epoch);
    assert_str_eq(a->job_name, b->job_name);
    assert_true(a->scheduled_ms == b->scheduled_ms);
    assert_true(a->started_ms == b->started_ms);
    assert_true(a->finished_ms == b->finished_ms);
    assert_int_equal(a->attempt, b->attempt);
    assert_str_eq(a->reason, b->reason);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->http_status, b->http_status);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_str_eq(a->error, b->error);
    assert_blob_eq(&a->output, &b->output);
    assert_memory_equal(a->first_run_id, b->first_run_id, HG_PROTO_RUN_ID_SIZE);
    assert_true(a->retry_at_ms == b->retry_at_ms);
    assert_str_eq(a->retry_reason, b->retry_reason);
    assert_int_equal(a->fires, b->fires);
}

static void assert_assign_eq(const hg_assign_t *a, const hg_assign_t *b)
{
    assert_true(a->job_id == b->job_id);
    assert_true(a->epoch == b->epoch);
    assert_true(a->version == b->version);
    assert_str_eq(a->ns, b->ns);
    assert_str_eq(a->name, b->name);
    assert_str_eq(a->kind, b->kind);
    assert_str_eq(a->schedule, b->schedule);
    assert_str_eq(a->tz, b->tz);
    assert_true(a->start_ms == b->start_ms);
    assert_true(a->end_ms == b->end_ms);
    assert_true(a->last_fire_ms == b->last_fire_ms);
    assert_str_eq(a->misfire, b->misfire);
    assert_int_equal(a->timeout_ms, b->timeout_ms);
    assert_kvs_eq(a->params, a->params_n, b->params, b->params_n);
    const hg_http_spec_t *x = &a->http, *y = &b->http;
    assert_str_eq(x->method, y->method);
    assert_str_eq(x->url, y->url);
    assert_int_equal(x->headers_n, y->headers_n);
    for (size_t i = 0; i < x->headers_n; i++)
        assert_str_eq(x->headers[i], y->headers[i]);
    assert_blob_eq(&x->body, &y->body);
    assert_kvs_eq(x->form, x->form_n, y->form, y->form_n);
    assert_int_equal(x->expect_n, y->expect_n);
    for (size_t i = 0; i < x->expect_n; i++)
        assert_int_equal(x->expect[i], y->expect[i]);
    assert_str_eq(x->expect_body, y->expect_body);
    assert_str_eq(a->plugin.name, b->plugin.name);
    assert_str_eq(a->plugin.version, b->plugin.version);
    assert_str_eq(a->plugin.sha256, b->plugin.sha256);
    assert_str_eq(a->plugin.isolation, b->plugin.isolation);
    assert_int_equal(a->plugin.local_first, b->plugin.local_first);
    assert_int_equal(a->recover, b->recover);
    assert_memory_equal(&a->retry, &b->retry, sizeof a->retry);
    assert_int_equal(a->overlap, b->overlap);
    assert_int_equal(a->max_concurrent, b->max_concurrent);
    assert_int_equal(a->queue_max, b->queue_max);
    assert_int_equal(a->running, b->running);
}

static void assert_msg_eq(const hg_msg_t *a, const hg_msg_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(a->seq == b->seq);
    switch (a->type) {
    case HG_MSG_HELLO: {
        const hg_hello_t *x = &a->u.hello, *y = &b->u.hello;
        assert_str_eq(x->node, y->node);
        assert_str_eq(x->version, y->version);
        assert_kvs_eq(x->labels, x->labels_n, y->labels, y->labels_n);
        assert_int_equal(x->capacity, y->capacity);
        assert_int_equal(x->held_n, y->held_n);
        for (size_t i = 0; i < x->held_n; i++) {
            assert_true(x->held[i].job_id == y->held[i].job_id);
            assert_true(x->held[i].epoch == y->held[i].epoch);
            assert_true(x->held[i].last_fire_ms == y->held[i].last_fire_ms);
            assert_true(x->held[i].version == y->held[i].version);
        }
        assert_int_equal(x->unacked, y->unacked);
        assert_int_equal(x->part, y->part);
        assert_int_equal(x->more, y->more);
        assert_int_equal(x->runs_n, y->runs_n);
        assert_int_equal(x->runs_listed, y->runs_listed);
        for (size_t i = 0; i < x->runs_n; i++) {
            assert_memory_equal(x->runs[i].run_id, y->runs[i].run_id, HG_PROTO_RUN_ID_SIZE);
            assert_true(x->runs[i].job_id == y->runs[i].job_id);
        }
        assert_int_equal(x->plugins_n, y->plugins_n);
        for (size_t i = 0; i < x->plugins_n; i++)
            assert_str_eq(x->plugins[i], y->plugins[i]);
        break;
    }
    case HG_MSG_WELCOME:
        assert_str_eq(a->u.welcome.master, b->u.welcome.master);
        assert_true(a->u.welcome.master_epoch == b->u.welcome.master_epoch);
        assert_int_equal(a->u.welcome.heartbeat_ms, b->u.welcome.heartbeat_ms);
        assert_int_equal(a->u.welcome.lease_ms, b->u.welcome.lease_ms);
        break;
    case HG_MSG_HEARTBEAT:
        assert_true(a->u.heartbeat.echo == b->u.heartbeat.echo);
        assert_int_equal(a->u.heartbeat.running, b->u.heartbeat.running);
        assert_int_equal(a->u.heartbeat.jobs, b->u.heartbeat.jobs);
        assert_int_equal(a->u.heartbeat.unacked, b->u.heartbeat.unacked);
        break;
    case HG_MSG_ASSIGN:
        assert_assign_eq(&a->u.assign, &b->u.assign);
        break;
    case HG_MSG_REVOKE:
        assert_true(a->u.revoke.job_id == b->u.revoke.job_id);
        assert_true(a->u.revoke.epoch == b->u.revoke.epoch);
        assert_true(a->u.revoke.last_fire_ms == b->u.revoke.last_fire_ms);
        break;
    case HG_MSG_TRIGGER:
        assert_true(a->u.trigger.job_id == b->u.trigger.job_id);
        assert_true(a->u.trigger.epoch == b->u.trigger.epoch);
        assert_str_eq(a->u.trigger.reason, b->u.trigger.reason);
        assert_kvs_eq(a->u.trigger.params, a->u.trigger.params_n, b->u.trigger.params,
                      b->u.trigger.params_n);
        assert_true(a->u.trigger.scheduled_ms == b->u.trigger.scheduled_ms);
        assert_int_equal(a->u.trigger.attempt, b->u.trigger.attempt);
        assert_int_equal(a->u.trigger.force, b->u.trigger.force);
        assert_true(a->u.trigger.due_ms == b->u.trigger.due_ms);
        assert_memory_equal(a->u.trigger.first_run_id, b->u.trigger.first_run_id,
                            HG_PROTO_RUN_ID_SIZE);
        break;
    case HG_MSG_JOB_RUNNING:
        assert_true(a->u.job_running.job_id == b->u.job_running.job_id);
        assert_true(a->u.job_running.epoch == b->u.job_running.epoch);
        assert_int_equal(a->u.job_running.running, b->u.job_running.running);
        break;
    case HG_MSG_CANCEL:
        assert_true(a->u.cancel.job_id == b->u.cancel.job_id);
        assert_memory_equal(a->u.cancel.run_id, b->u.cancel.run_id, HG_PROTO_RUN_ID_SIZE);
        break;
    case HG_MSG_RUN_STARTED:
    case HG_MSG_RUN_FINISHED:
        assert_int_equal(a->u.runs.runs_n, b->u.runs.runs_n);
        for (size_t i = 0; i < a->u.runs.runs_n; i++)
            assert_run_eq(&a->u.runs.runs[i], &b->u.runs.runs[i]);
        break;
    case HG_MSG_ACK:
        assert_int_equal(a->u.ack.run_ids_n, b->u.ack.run_ids_n);
        if (a->u.ack.run_ids_n)
            assert_memory_equal(a->u.ack.run_ids, b->u.ack.run_ids,
                                a->u.ack.run_ids_n * HG_PROTO_RUN_ID_SIZE);
        break;
    case HG_MSG_PLUGIN_GET:
        assert_str_eq(a->u.plugin_get.sha256, b->u.plugin_get.sha256);
        assert_true(a->u.plugin_get.offset == b->u.plugin_get.offset);
        assert_int_equal(a->u.plugin_get.max, b->u.plugin_get.max);
        break;
    case HG_MSG_PLUGIN_CHUNK:
        assert_str_eq(a->u.plugin_chunk.sha256, b->u.plugin_chunk.sha256);
        assert_true(a->u.plugin_chunk.offset == b->u.plugin_chunk.offset);
        assert_true(a->u.plugin_chunk.total == b->u.plugin_chunk.total);
        assert_blob_eq(&a->u.plugin_chunk.data, &b->u.plugin_chunk.data);
        assert_int_equal(a->u.plugin_chunk.code, b->u.plugin_chunk.code);
        assert_str_eq(a->u.plugin_chunk.error, b->u.plugin_chunk.error);
        break;
    case HG_MSG_ERROR:
        assert_int_equal(a->u.error.code, b->u.error.code);
        assert_str_eq(a->u.error.message, b->u.error.message);
        assert_str_eq(a->u.error.leader, b->u.error.leader);
        break;
    case HG_MSG_LEAVE:
        assert_int_equal(a->u.leave.handover, b->u.leave.handover);
        break;
    default:
        break;
    }
}

/* Decode from an exact-size heap copy, so that AddressSanitizer catches any
 * read past the end of the input. */
static int decode_copy(const uint8_t *buf, size_t len, hg_msg_t **out, char *detail)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, buf, len);
    int rc = hg_msg_decode(copy, len, out, detail, DETAIL_SIZE);
    free(copy);
    if (rc)
        assert_null(*out);
    else
        assert_non_null(*out);
    return rc;
}

static void roundtrip(int type, bool full)
{
    hg_msg_t *m = hg_test_proto_sample(type, full);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hg_msg_encode(m, &buf, &len), 0);
    assert_non_null(buf);
    assert_true(len > 0 && len <= HG_PROTO_MAX_MSG);
    hg_msg_t *back = NULL;
    char detail[DETAIL_SIZE];
    int rc = decode_copy(buf, len, &back, detail);
    if (rc) fail_msg("%s (full=%d): %s: %s", hg_msg_type_name(type), full, hg_err_name(rc), detail);
    assert_string_equal(detail, "");
    assert_msg_eq(m, back);
    free(buf);
    hg_msg_destroy(&m);
    hg_msg_destroy(&back);
    assert_null(m);
    assert_null(back);
}

#define ROUNDTRIP_TEST(name, type)                                                                 \
    static void test_roundtrip_##name(void **state)                                                \
    {                                                                                              \
        roundtrip(type, true);                                                                     \
        roundtrip(type, false);                                                                    \
    }
ROUNDTRIP_TEST(hello, HG_MSG_HELLO)
ROUNDTRIP_TEST(welcome, HG_MSG_WELCOME)
ROUNDTRIP_TEST(heartbeat, HG_MSG_HEARTBEAT)
ROUNDTRIP_TEST(assign, HG_MSG_ASSIGN)
ROUNDTRIP_TEST(revoke, HG_MSG_REVOKE)
ROUNDTRIP_TEST(trigger, HG_MSG_TRIGGER)
ROUNDTRIP_TEST(cancel, HG_MSG_CANCEL)
ROUNDTRIP_TEST(run_started, HG_MSG_RUN_STARTED)
ROUNDTRIP_TEST(run_finished, HG_MSG_RUN_FINISHED)
ROUNDTRIP_TEST(run_log, HG_MSG_RUN_LOG)
ROUNDTRIP_TEST(ack, HG_MSG_ACK)
ROUNDTRIP_TEST(plugin_get, HG_MSG_PLUGIN_GET)
ROUNDTRIP_TEST(plugin_chunk, HG_MSG_PLUGIN_CHUNK)
ROUNDTRIP_TEST(error, HG_MSG_ERROR)
ROUNDTRIP_TEST(leave, HG_MSG_LEAVE)
ROUNDTRIP_TEST(job_running, HG_MSG_JOB_RUNNING)

static void test_names(void **state)
{
    assert_string_equal(hg_msg_type_name(HG_MSG_HELLO), "HELLO");
    assert_string_equal(hg_msg_type_name(HG_MSG_RUN_FINISHED), "RUN_FINISHED");
    assert_string_equal(hg_msg_type_name(HG_MSG_ERROR), "ERROR");
    assert_string_equal(hg_msg_type_name(0), "UNKNOWN");
    assert_string_equal(hg_msg_type_name(HG_MSG_LEAVE), "LEAVE");
    assert_string_equal(hg_msg_type_name(HG_MSG_JOB_RUNNING), "JOB_RUNNING");
    assert_string_equal(hg_msg_type_name(17), "UNKNOWN");
    assert_string_equal(hg_msg_type_name(-1), "UNKNOWN");
    for (int s = HG_RUN_RUNNING; s <= HG_RUN_CANCELLED; s++) {
        const char *name = hg_run_status_name(s);
        assert_non_null(name);
        assert_int_equal(hg_run_status_parse(name), s);
    }
    assert_string_equal(hg_run_status_name(HG_RUN_TIMEOUT), "timeout");
    assert_string_equal(hg_run_status_name(HG_RUN_CANCELLED), "cancelled");
    assert_null(hg_run_status_name(8));
    assert_null(hg_run_status_name(-1));
    assert_int_equal(hg_run_status_parse("SUCCESS"), -1);
    assert_int_equal(hg_run_status_parse(""), -1);
    assert_int_equal(hg_run_status_parse(NULL), -1);
}

/* ---------------------------------------------------------------------
 * Hostile frames. Each message is described by its wire fields with a
 * valid value writer; g_key/g_val make one key (at any nesting level)
 * disappear (g_val NULL) or carry another value.
 */

typedef void (*val_fn)(msgpack_packer *pk);

typedef struct {
    const char *key; /* wire key */
    val_fn write;    /* writes a valid value */
} wfield_t;

static const char *g_key; /* key to override, or NULL */
static val_fn g_val;      /* replacement value; NULL leaves the key out */

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void w_map(msgpack_packer *pk, const wfield_t *f, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += !(g_key && !g_val && strcmp(f[i].key, g_key) == 0);
    msgpack_pack_map(pk, count);
    for (size_t i = 0; i < n; i++) {
        bool hit = g_key && strcmp(f[i].key, g_key) == 0;
        if (hit && !g_val) continue;
        pack_str(pk, f[i].key);
        (hit ? g_val : f[i].write)(pk);
    }
}

static void v_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}
static void v_int(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 5);
}
static void v_neg(msgpack_packer *pk)
{
    msgpack_pack_int(pk, -1);
}
static void v_u32_over(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, (uint64_t) UINT32_MAX + 1);
}
static void v_i64_over(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, (uint64_t) INT64_MAX + 1);
}
static void v_seven(msgpack_packer *pk) /* one past the last run status (cancelled) */
{
    msgpack_pack_int(pk, 8);
}
static void v_float(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
}
static void v_bool(msgpack_packer *pk)
{
    msgpack_pack_true(pk);
}
static void v_str(msgpack_packer *pk)
{
    pack_str(pk, "x");
}
static void v_http_kind(msgpack_packer *pk)
{
    pack_str(pk, "http");
}
static void v_str_nul(msgpack_packer *pk)
{
    msgpack_pack_str_with_body(pk, "a\0b", 3);
}
static void v_bin16(msgpack_packer *pk)
{
    static const char id[16] = "0123456789abcdef";
    msgpack_pack_bin_with_body(pk, id, sizeof id);
}
static void v_bin15(msgpack_packer *pk)
{
    msgpack_pack_bin_with_body(pk, "0123456789abcde", 15);
}
static void v_bin17(msgpack_packer *pk)
{
    msgpack_pack_bin_with_body(pk, "0123456789abcdefg", 17);
}
static void v_arr(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 0);
}
static void v_map(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 0);
}
static void v_labels(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pack_str(pk, "zone");
    pack_str(pk, "eu");
}
static void v_labels_int_value(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pack_str(pk, "zone");
    msgpack_pack_int(pk, 5);
}
static void v_labels_nul_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    v_str_nul(pk);
    pack_str(pk, "eu");
}
static void v_strs(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    pack_str(pk, "Accept: */*");
}
static void v_strs_int(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
}
static void v_codes(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 200);
}
static void v_codes_big(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 70000);
}
static void v_ids(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    v_bin16(pk);
}
static void v_ids_short(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    v_bin15(pk);
}
static void v_ids_long(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    v_bin16(pk);
    v_bin17(pk);
}

static const wfield_t w_held[] = {
    {"job", v_int}, {"epoch", v_int}, {"last", v_neg}, {"ver", v_int}};
static void v_held(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    w_map(pk, w_held, sizeof w_held / sizeof w_held[0]);
}
static const wfield_t w_inflight[] = {{"id", v_bin16}, {"job", v_int}};
static const wfield_t w_inflight_short[] = {{"id", v_bin15}, {"job", v_int}};
static const wfield_t w_inflight_nojob[] = {{"id", v_bin16}};
static void v_inflight(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    w_map(pk, w_inflight, 2);
}
static void v_inflight_short(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    w_map(pk, w_inflight_short, 2);
}
static void v_inflight_nojob(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    w_map(pk, w_inflight_nojob, 1);
}
static const wfield_t w_hello[] = {{"node", v_str}, {"ver", v_str},   {"labels", v_labels},
                                   {"cap", v_int},  {"held", v_held}, {"unacked", v_int},
                                   {"part", v_int}, {"more", v_int},  {"runs", v_inflight}};
static const wfield_t w_welcome[] = {
    {"master", v_str}, {"epoch", v_int}, {"hb", v_int}, {"lease", v_int}};
static const wfield_t w_heartbeat[] = {
    {"echo", v_int}, {"running", v_int}, {"jobs", v_int}, {"unacked", v_int}};
static const wfield_t w_http[] = {{"method", v_str}, {"url", v_str},     {"headers", v_strs},
                                  {"body", v_bin16}, {"form", v_labels}, {"expect", v_codes},
                                  {"ebody", v_str}};
static void v_http(msgpack_packer *pk)
{
    w_map(pk, w_http, 7);
}
static const wfield_t w_assign[] = {
    {"job", v_int},     {"epoch", v_int},      {"ver", v_int},   {"ns", v_str},
    {"name", v_str},    {"kind", v_http_kind}, {"sched", v_str}, {"tz", v_str},
    {"start", v_neg},   {"end", v_int},        {"last", v_int},  {"misfire", v_str},
    {"timeout", v_int}, {"params", v_labels},  {"http", v_http}, {"running", v_int},
};
static const wfield_t w_revoke[] = {{"job", v_int}, {"epoch", v_int}};
static const wfield_t w_trigger[] = {{"job", v_int},       {"epoch", v_int}, {"reason", v_str},
                                     {"params", v_labels}, {"force", v_int}, {"due", v_int},
                                     {"first", v_bin16}};
static const wfield_t w_cancel[] = {{"job", v_int}, {"id", v_bin16}};
static const wfield_t w_run[] = {
    {"id", v_bin16},    {"job", v_int},     {"epoch", v_int}, {"name", v_str},   {"sched", v_int},
    {"start", v_int},   {"fin", v_int},     {"att", v_int},   {"reason", v_str}, {"status", v_int},
    {"http", v_int},    {"exit", v_neg},    {"err", v_str},   {"out", v_bin16},  {"first", v_bin16},
    {"retryat", v_int}, {"rreason", v_str}, {"fires", v_int},
};
static void v_runs(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    w_map(pk, w_run, sizeof w_run / sizeof w_run[0]);
}
static const wfield_t w_runs[] = {{"runs", v_runs}};
static const wfield_t w_ack[] = {{"runs", v_ids}};
static const wfield_t w_error[] = {{"code", v_neg}, {"msg", v_str}, {"leader", v_str}};
static const wfield_t w_job_running[] = {{"job", v_int}, {"epoch", v_int}, {"running", v_int}};

typedef struct {
    int type;                /* hg_msg_type_t */
    const wfield_t *fields;  /* body fields */
    size_t n;                /* number of body fields */
    const wfield_t *nested;  /* fields of a nested map, or NULL */
    size_t nested_n;         /* their number */
    const char *required[8]; /* keys (body or nested) that must be present */
} wmsg_t;

#define W(a) a, sizeof(a) / sizeof(a[0])
static const wmsg_t w_msgs[] = {
    {HG_MSG_HELLO, W(w_hello), W(w_held), {"node", "job", "epoch"}},
    {HG_MSG_WELCOME, W(w_welcome), NULL, 0, {"master", "epoch", "hb", "lease"}},
    {HG_MSG_HEARTBEAT, W(w_heartbeat), NULL, 0, {NULL}},
    {HG_MSG_ASSIGN,
     W(w_assign),
     W(w_http),
     {"job", "epoch", "name", "kind", "sched", "http", "method", "url"}},
    {HG_MSG_REVOKE, W(w_revoke), NULL, 0, {"job", "epoch"}},
    {HG_MSG_TRIGGER, W(w_trigger), NULL, 0, {"job", "epoch"}},
    {HG_MSG_CANCEL, W(w_cancel), NULL, 0, {"job", "id"}},
    {HG_MSG_RUN_STARTED, W(w_runs), W(w_run), {"runs", "id", "job", "sched", "status"}},
    {HG_MSG_RUN_FINISHED, W(w_runs), W(w_run), {"runs", "id", "job", "sched", "status"}},
    {HG_MSG_ACK, W(w_ack), NULL, 0, {"runs"}},
    {HG_MSG_ERROR, W(w_error), NULL, 0, {"code", "msg"}},
    {HG_MSG_JOB_RUNNING, W(w_job_running), NULL, 0, {"job", "epoch"}},
};
#define W_MSGS_N (sizeof w_msgs / sizeof w_msgs[0])

static const wmsg_t *wmsg(int type)
{
    for (size_t i = 0; i < W_MSGS_N; i++) {
        if (w_msgs[i].type == type) return &w_msgs[i];
    }
    fail_msg("no writer for type %d", type);
    return NULL;
}

typedef struct {
    msgpack_sbuffer sb; /* the frame being built */
    msgpack_packer pk;  /* writes into sb */
} wbuf_t;

static void wb_init(wbuf_t *w)
{
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}

/* Frame header [1, type, 1, ...]; the body follows. */
static void wb_header(wbuf_t *w, int type)
{
    msgpack_pack_array(&w->pk, 4);
    msgpack_pack_int(&w->pk, HG_PROTO_VERSION);
    msgpack_pack_int(&w->pk, type);
    msgpack_pack_int(&w->pk, 1);
}

/* A whole frame of the given type with the current override applied. */
static void wb_frame(wbuf_t *w, int type)
{
    const wmsg_t *m = wmsg(type);
    wb_init(w);
    wb_header(w, type);
    w_map(&w->pk, m->fields, m->n);
}

/* Decode what w holds, free it, and return the code. */
static int wb_decode(wbuf_t *w, char *detail)
{
    hg_msg_t *m = NULL;
    int rc = decode_copy((const uint8_t *) w->sb.data, w->sb.size, &m, detail);
    hg_msg_destroy(&m);
    msgpack_sbuffer_destroy(&w->sb);
    return rc;
}

/* Build type with key overridden by val (NULL: left out), decode, and
 * check the code and that the explanation names the key. */
static void expect_override(int type, const char *key, val_fn val, int want)
{
    wbuf_t w;
    char detail[DETAIL_SIZE];
    g_key = key;
    g_val = val;
    wb_frame(&w, type);
    g_key = NULL;
    g_val = NULL;
    int rc = wb_decode(&w, detail);
    if (rc != want)
        fail_msg("%s with %s %s: got %s (%s), want %s", hg_msg_type_name(type), key,
                 val ? "overridden" : "missing", hg_err_name(rc), detail, hg_err_name(want));
    if (want && !strstr(detail, key)) fail_msg("detail \"%s\" does not name %s", detail, key);
}

static void test_hostile_builders_are_valid(void **state)
{
    for (size_t i = 0; i < W_MSGS_N; i++) {
        wbuf_t w;
        char detail[DETAIL_SIZE];
        wb_frame(&w, w_msgs[i].type);
        int rc = wb_decode(&w, detail);
        if (rc) fail_msg("%s: %s", hg_msg_type_name(w_msgs[i].type), detail);
    }
}

static bool is_required(const wmsg_t *m, const char *key)
{
    for (size_t i = 0; i < 8 && m->required[i]; i++) {
        if (strcmp(m->required[i], key) == 0) return true;
    }
    return false;
}

/* Leave out each key in turn: required ones give HG_EMISSING naming the
 * key, optional ones decode. */
static void test_missing_fields(void **state)
{
    for (size_t i = 0; i < W_MSGS_N; i++) {
        const wmsg_t *m = &w_msgs[i];
        for (size_t k = 0; k < m->n; k++)
            expect_override(m->type, m->fields[k].key, NULL,
                            is_required(m, m->fields[k].key) ? HG_EMISSING : 0);
        for (size_t k = 0; k < m->nested_n; k++)
            expect_override(m->type, m->nested[k].key, NULL,
                            is_required(m, m->nested[k].key) ? HG_EMISSING : 0);
    }
}

/* nil counts as absent. */
static void test_nil_is_absent(void **state)
{
    expect_override(HG_MSG_HELLO, "node", v_nil, HG_EMISSING);
    expect_override(HG_MSG_HELLO, "ver", v_nil, 0);
    expect_override(HG_MSG_HELLO, "labels", v_nil, 0);
    expect_override(HG_MSG_RUN_FINISHED, "status", v_nil, HG_EMISSING);
    expect_override(HG_MSG_RUN_FINISHED, "err", v_nil, 0);
}

static void test_wrong_types_hello(void **state)
{
    expect_override(HG_MSG_HELLO, "node", v_int, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "node", v_bin16, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "node", v_arr, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "ver", v_bool, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "labels", v_arr, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "labels", v_labels_int_value, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "cap", v_str, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "cap", v_float, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "held", v_map, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "job", v_str, HG_ETYPE); /* inside a held entry */
    expect_override(HG_MSG_HELLO, "epoch", v_map, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "ver", v_str, HG_ETYPE); /* inside a held entry */
    expect_override(HG_MSG_HELLO, "unacked", v_str_nul, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "part", v_str, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "more", v_bool, HG_ETYPE);
}

static void test_wrong_types_assign(void **state)
{
    expect_override(HG_MSG_ASSIGN, "job", v_str, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "epoch", v_str, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "name", v_int, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "kind", v_bin16, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "sched", v_arr, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "tz", v_int, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "start", v_str, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "timeout", v_float, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "params", v_arr, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "http", v_str, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "url", v_int, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "method", v_map, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "headers", v_strs_int, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "body", v_str, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "form", v_labels_nul_key, HG_ETYPE);
    expect_override(HG_MSG_ASSIGN, "expect", v_codes_big, HG_ERANGE);
    expect_override(HG_MSG_ASSIGN, "expect", v_map, HG_ETYPE);
}

static void test_wrong_types_run(void **state)
{
    expect_override(HG_MSG_RUN_FINISHED, "runs", v_map, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "id", v_str, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "id", v_bin15, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "id", v_bin17, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "job", v_str, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "sched", v_str, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "sched", v_i64_over, HG_ERANGE);
    expect_override(HG_MSG_RUN_FINISHED, "status", v_str, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "name", v_int, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "att", v_u32_over, HG_ERANGE);
    expect_override(HG_MSG_RUN_FINISHED, "http", v_u32_over, HG_ERANGE);
    expect_override(HG_MSG_RUN_FINISHED, "out", v_str, HG_ETYPE);
    expect_override(HG_MSG_RUN_FINISHED, "err", v_bin16, HG_ETYPE);
    expect_override(HG_MSG_RUN_STARTED, "id", v_nil, HG_EMISSING);
    expect_override(HG_MSG_ACK, "runs", v_ids_short, HG_ETYPE);
    expect_override(HG_MSG_ACK, "runs", v_ids_long, HG_ETYPE);
    expect_override(HG_MSG_ERROR, "code", v_str, HG_ETYPE);
    expect_override(HG_MSG_ERROR, "msg", v_int, HG_ETYPE);
}

static void test_status_out_of_range(void **state)
{
    expect_override(HG_MSG_RUN_FINISHED, "status", v_seven, HG_ERANGE);
    expect_override(HG_MSG_RUN_FINISHED, "status", v_neg, HG_ERANGE);
    expect_override(HG_MSG_RUN_STARTED, "status", v_u32_over, HG_ERANGE);
}

static void test_negative_unsigned(void **state)
{
    expect_override(HG_MSG_HELLO, "cap", v_neg, HG_ERANGE);
    expect_override(HG_MSG_HELLO, "job", v_neg, HG_ERANGE);
    expect_override(HG_MSG_ASSIGN, "job", v_neg, HG_ERANGE);
    expect_override(HG_MSG_ASSIGN, "timeout", v_neg, HG_ERANGE);
    expect_override(HG_MSG_RUN_FINISHED, "job", v_neg, HG_ERANGE);
    expect_override(HG_MSG_WELCOME, "hb", v_u32_over, HG_ERANGE);

    /* seq is unsigned too. */
    wbuf_t w;
    char detail[DETAIL_SIZE];
    wb_init(&w);
    msgpack_pack_array(&w.pk, 4);
    msgpack_pack_int(&w.pk, 1);
    msgpack_pack_int(&w.pk, HG_MSG_HEARTBEAT);
    msgpack_pack_int(&w.pk, -5);
    msgpack_pack_map(&w.pk, 0);
    assert_int_equal(wb_decode(&w, detail), HG_ERANGE);
    assert_non_null(strstr(detail, "seq"));
}

static void test_embedded_nul(void **state)
{
    expect_override(HG_MSG_HELLO, "node", v_str_nul, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "labels", v_labels_nul_key, HG_ETYPE);
    expect_override(HG_MSG_ERROR, "msg", v_str_nul, HG_ETYPE);
}

/* A body holding a single key with a value written by fn. */
static size_t g_big_n;
static void v_big_str(msgpack_packer *pk)
{
    char *s = malloc(g_big_n);
    assert_non_null(s);
    memset(s, 'a', g_big_n);
    msgpack_pack_str_with_body(pk, s, g_big_n);
    free(s);
}
static void v_big_bin(msgpack_packer *pk)
{
    char *s = calloc(1, g_big_n);
    assert_non_null(s);
    msgpack_pack_bin_with_body(pk, s, g_big_n);
    free(s);
}
static void v_big_labels(msgpack_packer *pk)
{
    msgpack_pack_map(pk, g_big_n);
    for (size_t i = 0; i < g_big_n; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%zu", i);
        pack_str(pk, k);
        pack_str(pk, "v");
    }
}
static void v_big_strs(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_big_n);
    for (size_t i = 0; i < g_big_n; i++)
        pack_str(pk, "A: b");
}
static void v_big_runs(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_big_n);
    for (size_t i = 0; i < g_big_n; i++)
        w_map(pk, w_run, sizeof w_run / sizeof w_run[0]);
}

static void v_big_held(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_big_n);
    for (size_t i = 0; i < g_big_n; i++)
        w_map(pk, w_held, sizeof w_held / sizeof w_held[0]);
}

static void v_big_inflight(msgpack_packer *pk)
{
    msgpack_pack_array(pk, g_big_n);
    for (size_t i = 0; i < g_big_n; i++)
        w_map(pk, w_inflight, 2);
}

static void expect_big(int type, const char *key, val_fn fn, size_t n, int want)
{
    g_big_n = n;
    expect_override(type, key, fn, want);
}

static void test_oversize_strings(void **state)
{
    expect_big(HG_MSG_HELLO, "node", v_big_str, HG_PROTO_MAX_STR, 0);
    expect_big(HG_MSG_HELLO, "node", v_big_str, HG_PROTO_MAX_STR + 1, HG_ETOOBIG);
    expect_big(HG_MSG_ASSIGN, "url", v_big_str, HG_PROTO_MAX_STR + 1, HG_ETOOBIG);
    expect_big(HG_MSG_RUN_FINISHED, "err", v_big_str, 100000, HG_ETOOBIG);
}

static void test_oversize_blobs(void **state)
{
    expect_big(HG_MSG_RUN_FINISHED, "out", v_big_bin, HG_PROTO_MAX_BLOB, 0);
    expect_big(HG_MSG_RUN_FINISHED, "out", v_big_bin, HG_PROTO_MAX_BLOB + 1, HG_ETOOBIG);
    expect_big(HG_MSG_ASSIGN, "body", v_big_bin, HG_PROTO_MAX_BLOB + 1, HG_ETOOBIG);
}

static void test_oversize_arrays(void **state)
{
    expect_big(HG_MSG_HELLO, "labels", v_big_labels, HG_PROTO_MAX_ITEMS, 0);
    expect_big(HG_MSG_HELLO, "labels", v_big_labels, HG_PROTO_MAX_ITEMS + 1, HG_ETOOBIG);
    expect_big(HG_MSG_ASSIGN, "headers", v_big_strs, HG_PROTO_MAX_ITEMS + 1, HG_ETOOBIG);
    expect_big(HG_MSG_RUN_FINISHED, "runs", v_big_runs, HG_PROTO_MAX_RUNS, 0);
    /* A full HELLO part fits in one message; beyond it the worker sends parts. */
    expect_big(HG_MSG_HELLO, "held", v_big_held, HG_PROTO_MAX_HELD, 0);
    expect_big(HG_MSG_HELLO, "held", v_big_held, HG_PROTO_MAX_HELD + 1, HG_ETOOBIG);
    /* A HELLO's runs in flight are bounded like its held jobs (more go in parts). */
    expect_big(HG_MSG_HELLO, "runs", v_big_inflight, HG_PROTO_MAX_RUNNING, 0);
    expect_big(HG_MSG_HELLO, "runs", v_big_inflight, HG_PROTO_MAX_RUNNING + 1, HG_ETOOBIG);
    /* ...and each names a whole run id and its job. */
    expect_override(HG_MSG_HELLO, "runs", v_inflight_short, HG_ETYPE);
    expect_override(HG_MSG_HELLO, "runs", v_inflight_nojob, HG_EMISSING);
    expect_big(HG_MSG_RUN_FINISHED, "runs", v_big_runs, HG_PROTO_MAX_RUNS + 1, HG_ETOOBIG);
    /* ...and at least one record. */
    expect_override(HG_MSG_RUN_FINISHED, "runs", v_arr, HG_EMISSING);
    /* An ACK may be empty. */
    expect_override(HG_MSG_ACK, "runs", v_arr, 0);
}

static void test_oversize_message(void **state)
{
    size_t len = HG_PROTO_MAX_MSG + 1;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    hg_msg_t *m = NULL;
    char detail[DETAIL_SIZE];
    assert_int_equal(hg_msg_decode(buf, len, &m, detail, sizeof detail), HG_ETOOBIG);
    assert_null(m);
    free(buf);
}

/* Frame shapes: [version, type, seq, body]. */
static int decode_frame(int version_kind, int64_t version, int64_t type, int elems, char *detail)
{
    wbuf_t w;
    wb_init(&w);
    msgpack_pack_array(&w.pk, (size_t) elems);
    if (elems >= 1) {
        if (version_kind == 0)
            msgpack_pack_int64(&w.pk, version);
        else
            pack_str(&w.pk, "1");
    }
    if (elems >= 2) msgpack_pack_int64(&w.pk, type);
    if (elems >= 3) msgpack_pack_int(&w.pk, 1);
    if (elems >= 4) msgpack_pack_map(&w.pk, 0);
    for (int i = 4; i < elems; i++)
        msgpack_pack_nil(&w.pk);
    return wb_decode(&w, detail);
}

static void v_running_max(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, HG_PROTO_MAX_JOB_RUNNING);
}
static void v_running_over(msgpack_packer *pk)
{
    msgpack_pack_uint32(pk, HG_PROTO_MAX_JOB_RUNNING + 1);
}

/* The running count (overlap across a move) is bounded both ways: the
 * decoder refuses a count past the limit naming the field, and the
 * encoder refuses to write one. */
static void test_running_bounded(void **state)
{
    expect_override(HG_MSG_ASSIGN, "running", v_running_max, 0);
    expect_override(HG_MSG_ASSIGN, "running", v_running_over, HG_ERANGE);
    expect_override(HG_MSG_ASSIGN, "running", v_neg, HG_ERANGE);
    expect_override(HG_MSG_ASSIGN, "running", v_str, HG_ETYPE);
    expect_override(HG_MSG_JOB_RUNNING, "running", v_running_over, HG_ERANGE);
    expect_override(HG_MSG_JOB_RUNNING, "running", v_float, HG_ETYPE);
    expect_override(HG_MSG_JOB_RUNNING, "job", v_str, HG_ETYPE);
    hg_msg_t *m = hg_test_proto_sample(HG_MSG_ASSIGN, true);
    uint8_t *buf = NULL;
    size_t len = 0;
    m->u.assign.running = HG_PROTO_MAX_JOB_RUNNING + 1;
    assert_int_equal(hg_msg_encode(m, &buf, &len), HG_ERANGE);
    assert_null(buf);
    m->u.assign.running = 3;
    assert_int_equal(hg_msg_encode(m, &buf, &len), 0);
    hg_msg_t *back = NULL;
    assert_int_equal(hg_msg_decode(buf, len, &back, NULL, 0), 0);
    assert_int_equal(back->u.assign.running, 3);
    hg_msg_destroy(&back);
    free(buf);
    hg_msg_destroy(&m);
}

static void test_unknown_type(void **state)
{
    char detail[DETAIL_SIZE];
    assert_int_equal(decode_frame(0, 1, HG_MSG_HEARTBEAT, 4, detail), 0);
    assert_int_equal(decode_frame(0, 1, 0, 4, detail), HG_EUNKNOWN);
    assert_int_equal(decode_frame(0, 1, 17, 4, detail), HG_EUNKNOWN);
    assert_int_equal(decode_frame(0, 1, 99, 4, detail), HG_EUNKNOWN);
    assert_non_null(strstr(detail, "99"));
    assert_int_equal(decode_frame(0, 1, -3, 4, detail), HG_EUNKNOWN);
    assert_int_equal(decode_frame(0, 1, (int64_t) 1 << 40, 4, detail), HG_EUNKNOWN);
}

static void test_foreign_version(void **state)
{
    char detail[DETAIL_SIZE];
    assert_int_equal(decode_frame(0, 2, HG_MSG_HEARTBEAT, 4, detail), HG_EVERSION);
    assert_non_null(strstr(detail, "version"));
    assert_int_equal(decode_frame(0, 0, HG_MSG_HEARTBEAT, 4, detail), HG_EVERSION);
    assert_int_equal(decode_frame(0, -1, HG_MSG_HEARTBEAT, 4, detail), HG_EVERSION);
    /* A newer protocol may lay its frame out differently: still a version
     * mismatch, not a malformed frame. */
    assert_int_equal(decode_frame(0, 2, HG_MSG_HEARTBEAT, 6, detail), HG_EVERSION);
    assert_int_equal(decode_frame(1, 0, HG_MSG_HEARTBEAT, 4, detail), HG_ETYPE);
}

static void test_frame_shape(void **state)
{
    char detail[DETAIL_SIZE];
    assert_int_equal(decode_frame(0, 1, HG_MSG_HEARTBEAT, 0, detail), HG_ETYPE);
    assert_int_equal(decode_frame(0, 1, HG_MSG_HEARTBEAT, 3, detail), HG_ETYPE);
    assert_int_equal(decode_frame(0, 1, HG_MSG_HEARTBEAT, 5, detail), HG_ETYPE);

    static const uint8_t not_array[][4] = {
        {0x80},                  /* {} */
        {0x05},                  /* 5 */
        {0xa1, 'x'},             /* "x" */
        {0x94, 0x01, 0xa1, 'x'}, /* [1, "x", ... truncated */
    };
    hg_msg_t *m = NULL;
    assert_int_equal(decode_copy(not_array[0], 1, &m, detail), HG_ETYPE);
    assert_int_equal(decode_copy(not_array[1], 1, &m, detail), HG_ETYPE);
    assert_int_equal(decode_copy(not_array[2], 2, &m, detail), HG_ETYPE);
    assert_int_equal(decode_copy(not_array[3], 4, &m, detail), HG_ETRUNC);

    /* type as a string, body as an array, seq as a float */
    static const uint8_t bad_type[] = {0x94, 0x01, 0xa1, 'x', 0x01, 0x80};
    assert_int_equal(decode_copy(bad_type, sizeof bad_type, &m, detail), HG_ETYPE);
    static const uint8_t bad_body[] = {0x94, 0x01, 0x03, 0x01, 0x90};
    assert_int_equal(decode_copy(bad_body, sizeof bad_body, &m, detail), HG_ETYPE);
    static const uint8_t bad_seq[] = {0x94, 0x01, 0x03, 0xca, 0, 0, 0, 0, 0x80};
    assert_int_equal(decode_copy(bad_seq, sizeof bad_seq, &m, detail), HG_ETYPE);
    assert_non_null(strstr(detail, "seq"));
    /* 0xc1 is never valid msgpack. */
    static const uint8_t c1[] = {0x94, 0x01, 0x03, 0x01, 0xc1};
    assert_int_equal(decode_copy(c1, sizeof c1, &m, detail), HG_ETYPE);
    /* A body key that is not a string. */
    static const uint8_t int_key[] = {0x94, 0x01, 0x03, 0x01, 0x81, 0x01, 0x01};
    assert_int_equal(decode_copy(int_key, sizeof int_key, &m, detail), HG_ETYPE);
}

static void test_trailing_bytes(void **state)
{
    hg_msg_t *s = hg_test_proto_sample(HG_MSG_HEARTBEAT, true);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hg_msg_encode(s, &buf, &len), 0);
    uint8_t *two = malloc(2 * len);
    assert_non_null(two);
    memcpy(two, buf, len);
    memcpy(two + len, buf, len);
    hg_msg_t *m = NULL;
    char detail[DETAIL_SIZE];
    two[len] = 0xc0;
    assert_int_equal(decode_copy(two, len + 1, &m, detail), HG_ETRAILING);
    assert_int_equal(decode_copy(two, 2 * len, &m, detail), HG_ETRAILING);
    assert_int_equal(decode_copy(two, len, &m, detail), 0);
    hg_msg_destroy(&m);
    free(two);
    free(buf);
    hg_msg_destroy(&s);
}

/* Every proper prefix of a valid frame is HG_ETRUNC, cleanly. */
static void test_truncation_every_length(void **state)
{
    for (int type = HG_MSG_HELLO; type <= HG_MSG_ERROR; type++) {
        hg_msg_t *s = hg_test_proto_sample(type, true);
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(hg_msg_encode(s, &buf, &len), 0);
        for (size_t cut = 0; cut < len; cut++) {
            hg_msg_t *m = NULL;
            char detail[DETAIL_SIZE];
            int rc = decode_copy(buf, cut, &m, detail);
            if (rc != HG_ETRUNC)
                fail_msg("%s cut at %zu of %zu: %s (%s)", hg_msg_type_name(type), cut, len,
                         hg_err_name(rc), detail);
        }
        free(buf);
        hg_msg_destroy(&s);
    }
}

static size_t heap_in_use(void)
{
#if !defined(TEST_ASAN) && defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    return mallinfo2().uordblks;
#else
    return 0; /* the sanitizer build catches huge allocations itself */
#endif
}

/* A few bytes that declare a huge container or string must be refused
 * before anything is allocated for them. */
static void test_huge_declared_counts(void **state)
{
    static const struct {
        uint8_t bytes[16];
        size_t len;
    } cases[] = {
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5},                         /* array32 */
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5},                         /* map32 */
        {{0x94, 0x01, 0x01, 0x00, 0xdf, 0xff, 0xff, 0xff, 0xff}, 9}, /* body map32 */
        {{0x94, 0x01, 0x01, 0x00, 0x81, 0xa1, 'x', 0xdd, 0x7f, 0xff, 0xff, 0xff}, 12},
        {{0x94, 0x01, 0x01, 0x00, 0x81, 0xa1, 'x', 0xdb, 0xff, 0xff, 0xff, 0xff}, 12}, /* str */
        {{0x94, 0x01, 0x01, 0x00, 0x81, 0xa1, 'x', 0xc6, 0xff, 0xff, 0xff, 0xff}, 12}, /* bin */
        {{0x94, 0x01, 0x01, 0x00, 0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 1}, 13},
        {{0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff}, 6}, /* array16 of array16 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hg_msg_t *m = NULL;
        char detail[DETAIL_SIZE];
        struct timespec t0, t1;
        size_t before = heap_in_use();
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = hg_msg_decode(cases[i].bytes, cases[i].len, &m, detail, sizeof detail);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        size_t after = heap_in_use();
        assert_int_equal(rc, HG_ETRUNC);
        assert_null(m);
        assert_int_equal(before, after);
        double ms =
            (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
        assert_true(ms < 50.0);
        if (i == 2)
            assert_string_equal(detail, "frame: map declares 4294967295 entries but only 0 bytes "
                                        "remain");
    }
}

/* An unknown key may carry anything, and is skipped; nesting is bounded. */
static void test_unknown_keys_skipped(void **state)
{
    wbuf_t w;
    char detail[DETAIL_SIZE];
    hg_msg_t *m = NULL;
    wb_init(&w);
    wb_header(&w, HG_MSG_HELLO);
    msgpack_pack_map(&w.pk, 4);
    pack_str(&w.pk, "future");
    msgpack_pack_array(&w.pk, 100000); /* many small elements: fine */
    for (int i = 0; i < 100000; i++)
        msgpack_pack_nil(&w.pk);
    pack_str(&w.pk, "node");
    pack_str(&w.pk, "w1");
    pack_str(&w.pk, "nested");
    for (int i = 0; i < 10; i++)
        msgpack_pack_array(&w.pk, 1);
    msgpack_pack_map(&w.pk, 1);
    msgpack_pack_int(&w.pk, 1); /* non-string keys below the body are not ours */
    msgpack_pack_double(&w.pk, 2.5);
    pack_str(&w.pk, "zz");
    msgpack_pack_ext_with_body(&w.pk, "abc", 3, 7);
    assert_int_equal(decode_copy((const uint8_t *) w.sb.data, w.sb.size, &m, detail), 0);
    assert_string_equal(m->u.hello.node, "w1");
    hg_msg_destroy(&m);
    msgpack_sbuffer_destroy(&w.sb);

    /* Header-only types skip whatever body they get. */
    wb_init(&w);
    wb_header(&w, HG_MSG_RUN_LOG);
    msgpack_pack_map(&w.pk, 1);
    pack_str(&w.pk, "run");
    v_bin16(&w.pk);
    assert_int_equal(wb_decode(&w, detail), 0);

    /* Too deep. */
    wb_init(&w);
    wb_header(&w, HG_MSG_HELLO);
    msgpack_pack_map(&w.pk, 2);
    pack_str(&w.pk, "node");
    pack_str(&w.pk, "w1");
    pack_str(&w.pk, "deep");
    for (int i = 0; i < 40; i++)
        msgpack_pack_array(&w.pk, 1);
    msgpack_pack_nil(&w.pk);
    assert_int_equal(wb_decode(&w, detail), HG_ETOOBIG);
}

static void test_duplicate_key(void **state)
{
    wbuf_t w;
    char detail[DETAIL_SIZE];
    wb_init(&w);
    wb_header(&w, HG_MSG_HELLO);
    msgpack_pack_map(&w.pk, 2);
    pack_str(&w.pk, "node");
    pack_str(&w.pk, "w1");
    pack_str(&w.pk, "node");
    pack_str(&w.pk, "w2");
    assert_int_equal(wb_decode(&w, detail), HG_ETYPE);
    assert_non_null(strstr(detail, "node"));
}

static void test_detail_buffer(void **state)
{
    static const uint8_t v2[] = {0x94, 0x02, 0x03, 0x01, 0x80};
    hg_msg_t *m = NULL;
    char small[8];
    assert_int_equal(hg_msg_decode(v2, sizeof v2, &m, NULL, 0), HG_EVERSION);
    assert_int_equal(hg_msg_decode(v2, sizeof v2, &m, small, 1), HG_EVERSION);
    assert_string_equal(small, "");
    assert_int_equal(hg_msg_decode(v2, sizeof v2, &m, small, sizeof small), HG_EVERSION);
    assert_int_equal(strlen(small), sizeof small - 1);
    char detail[DETAIL_SIZE];
    assert_int_equal(hg_msg_decode(v2, sizeof v2, &m, detail, sizeof detail), HG_EVERSION);
    assert_string_equal(detail, "frame.version: protocol version 2, expected 1");
    assert_int_equal(hg_msg_decode(v2, sizeof v2, NULL, detail, sizeof detail), HG_EINVAL);
    assert_int_equal(hg_msg_decode(NULL, 3, &m, detail, sizeof detail), HG_EINVAL);
    assert_int_equal(hg_msg_decode(NULL, 0, &m, detail, sizeof detail), HG_ETRUNC);

    /* A nested path names the record and the field. */
    g_key = "status";
    g_val = v_seven;
    wbuf_t w;
    wb_frame(&w, HG_MSG_RUN_FINISHED);
    g_key = NULL;
    g_val = NULL;
    assert_int_equal(wb_decode(&w, detail), HG_ERANGE);
    assert_string_equal(detail, "RUN_FINISHED.runs[0].status: 8 is not a run status");
}

static void expect_encode(hg_msg_t *m, int want)
{
    uint8_t *buf = (uint8_t *) "not touched";
    size_t len = 99;
    int rc = hg_msg_encode(m, &buf, &len);
    if (rc != want)
        fail_msg("%s: encode gave %s, want %s", hg_msg_type_name(m->type), hg_err_name(rc),
                 hg_err_name(want));
    if (rc) {
        assert_null(buf);
        assert_int_equal(len, 0);
    }
    free(buf);
}

/* The encoder refuses what the decoder would reject. */
static void test_encoder_refuses(void **state)
{
    uint8_t *buf;
    size_t len;
    hg_msg_t *m = hg_test_proto_sample(HG_MSG_HELLO, true);
    assert_int_equal(hg_msg_encode(NULL, &buf, &len), HG_EINVAL);
    assert_int_equal(hg_msg_encode(m, NULL, &len), HG_EINVAL);
    assert_int_equal(hg_msg_encode(m, &buf, NULL), HG_EINVAL);

    m->type = 0;
    expect_encode(m, HG_EINVAL);
    m->type = 99;
    expect_encode(m, HG_EINVAL);
    m->type = HG_MSG_HELLO;

    char *node = m->u.hello.node;
    m->u.hello.node = NULL;
    expect_encode(m, HG_EINVAL);
    char *long_node = malloc(HG_PROTO_MAX_STR + 2);
    assert_non_null(long_node);
    memset(long_node, 'n', HG_PROTO_MAX_STR + 1);
    long_node[HG_PROTO_MAX_STR + 1] = '\0';
    m->u.hello.node = long_node;
    expect_encode(m, HG_ETOOBIG);
    long_node[HG_PROTO_MAX_STR] = '\0';
    expect_encode(m, 0);
    m->u.hello.node = node;
    free(long_node);

    char *key = m->u.hello.labels[1].key;
    m->u.hello.labels[1].key = NULL;
    expect_encode(m, HG_EINVAL);
    m->u.hello.labels[1].key = key;
    m->u.hello.labels_n = HG_PROTO_MAX_ITEMS + 1; /* refused before it is read */
    expect_encode(m, HG_ETOOBIG);
    m->u.hello.labels_n = 2;
    hg_kv_t *labels = m->u.hello.labels;
    m->u.hello.labels = NULL;
    expect_encode(m, HG_EINVAL);
    m->u.hello.labels = labels;
    expect_encode(m, 0);
    hg_msg_destroy(&m);

    m = hg_test_proto_sample(HG_MSG_ASSIGN, true);
    char *url = m->u.assign.http.url;
    m->u.assign.http.url = NULL; /* kind "http" needs a URL */
    expect_encode(m, HG_EINVAL);
    m->u.assign.http.url = url;
    char *sched = m->u.assign.schedule;
    m->u.assign.schedule = NULL;
    expect_encode(m, HG_EINVAL);
    m->u.assign.schedule = sched;
    m->u.assign.http.body.len = HG_PROTO_MAX_BLOB + 1;
    expect_encode(m, HG_ETOOBIG);
    m->u.assign.http.body.len = 7;
    hg_msg_destroy(&m);

    m = hg_test_proto_sample(HG_MSG_RUN_FINISHED, true);
    m->u.runs.runs[1].status = 8;
    expect_encode(m, HG_EINVAL);
    m->u.runs.runs[1].status = -1;
    expect_encode(m, HG_EINVAL);
    m->u.runs.runs[1].status = HG_RUN_SUCCESS;
    m->u.runs.runs_n = 0;
    expect_encode(m, HG_EINVAL);
    m->u.runs.runs_n = HG_PROTO_MAX_RUNS + 1;
    expect_encode(m, HG_ETOOBIG);
    m->u.runs.runs_n = 3;
    hg_msg_destroy(&m);

    m = hg_test_proto_sample(HG_MSG_ERROR, false);
    free(m->u.error.message);
    m->u.error.message = NULL;
    expect_encode(m, HG_EINVAL);
    hg_msg_destroy(&m);

    m = hg_test_proto_sample(HG_MSG_WELCOME, false);
    free(m->u.welcome.master);
    m->u.welcome.master = NULL;
    expect_encode(m, HG_EINVAL);
    hg_msg_destroy(&m);
}

/* A frame over HG_PROTO_MAX_MSG is refused even when each field fits. */
static void test_encoder_message_limit(void **state)
{
    size_t n = HG_PROTO_MAX_MSG / HG_PROTO_MAX_BLOB + 1;
    uint8_t *shared = calloc(1, HG_PROTO_MAX_BLOB);
    assert_non_null(shared);
    hg_run_t *runs = calloc(n, sizeof *runs);
    assert_non_null(runs);
    for (size_t i = 0; i < n; i++) {
        runs[i].status = HG_RUN_SUCCESS;
        runs[i].output.data = shared;
        runs[i].output.len = HG_PROTO_MAX_BLOB;
    }
    hg_msg_t m = {.type = HG_MSG_RUN_FINISHED, .u.runs = {runs, n}};
    expect_encode(&m, HG_ETOOBIG);
    m.u.runs.runs_n = n - 2;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(hg_msg_encode(&m, &buf, &len), 0);
    hg_msg_t *back = NULL;
    char detail[DETAIL_SIZE];
    assert_int_equal(hg_msg_decode(buf, len, &back, detail, sizeof detail), 0);
    assert_int_equal(back->u.runs.runs_n, n - 2);
    hg_msg_destroy(&back);
    free(buf);
    free(runs);
    free(shared);
}

static void test_destroy(void **state)
{
    hg_msg_destroy(NULL);
    hg_msg_t *m = NULL;
    hg_msg_destroy(&m);
    assert_null(m);
    /* Hand-built messages of every type, fully populated, free cleanly
     * (LeakSanitizer checks this in the sanitizer build). */
    for (int type = HG_MSG_HELLO; type <= HG_MSG_ERROR; type++) {
        m = hg_test_proto_sample(type, true);
        hg_msg_destroy(&m);
        assert_null(m);
    }
    /* An unknown type owns nothing. */
    m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->type = 1234;
    hg_msg_destroy(&m);
    assert_null(m);
}

static void test_run_copy(void **state)
{
    hg_run_t src = {0}, dst;
    hg_test_proto_fill_run(&src, 4, true);
    memset(&dst, 0xee, sizeof dst); /* dst is treated as uninitialised */
    assert_int_equal(hg_run_copy(&dst, &src), 0);
    assert_run_eq(&src, &dst);
    assert_ptr_not_equal(dst.job_name, src.job_name);
    assert_ptr_not_equal(dst.reason, src.reason);
    assert_ptr_not_equal(dst.error, src.error);
    assert_ptr_not_equal(dst.output.data, src.output.data);
    src.job_name[0] = 'X';
    src.output.data[0] = 'X';
    assert_string_equal(dst.job_name, "nightly-report");
    assert_int_equal(dst.output.data[0], 'o');
    hg_run_clear(&src);
    assert_null(src.job_name);
    assert_int_equal(src.output.len, 0);
    assert_string_equal(dst.error, "unexpected HTTP status 503");
    hg_run_clear(&dst);
    hg_run_clear(&dst); /* twice is harmless */
    hg_run_clear(NULL);

    hg_run_t minimal = {0};
    hg_test_proto_fill_run(&minimal, 1, false);
    assert_int_equal(hg_run_copy(&dst, &minimal), 0);
    assert_run_eq(&minimal, &dst);
    assert_null(dst.job_name);
    assert_null(dst.output.data);
    hg_run_clear(&dst);
    assert_int_equal(hg_run_copy(NULL, &minimal), HG_EINVAL);
}

static void test_assign_copy(void **state)
{
    hg_assign_t src = {0}, dst;
    hg_test_proto_fill_assign(&src, true);
    memset(&dst, 0xee, sizeof dst);
    assert_int_equal(hg_assign_copy(&dst, &src), 0);
    assert_assign_eq(&src, &dst);
    assert_ptr_not_equal(dst.name, src.name);
    assert_ptr_not_equal(dst.params, src.params);
    assert_ptr_not_equal(dst.params[0].key, src.params[0].key);
    assert_ptr_not_equal(dst.http.headers, src.http.headers);
    assert_ptr_not_equal(dst.http.headers[0], src.http.headers[0]);
    assert_ptr_not_equal(dst.http.form[1].value, src.http.form[1].value);
    assert_ptr_not_equal(dst.http.expect, src.http.expect);
    assert_ptr_not_equal(dst.http.body.data, src.http.body.data);
    hg_assign_clear(&src);
    assert_null(src.name);
    assert_null(src.http.url);
    assert_int_equal(src.params_n, 0);
    assert_string_equal(dst.http.headers[1], "X-Empty:");
    assert_string_equal(dst.params[1].value, "100");
    assert_int_equal(dst.http.expect[2], 65535);
    hg_assign_clear(&dst);
    hg_assign_clear(&dst);
    hg_assign_clear(NULL);

    hg_assign_t minimal = {0};
    hg_test_proto_fill_assign(&minimal, false);
    assert_int_equal(hg_assign_copy(&dst, &minimal), 0);
    assert_assign_eq(&minimal, &dst);
    assert_null(dst.http.headers);
    hg_assign_clear(&dst);
    hg_assign_clear(&minimal);
    assert_int_equal(hg_assign_copy(&dst, NULL), HG_EINVAL);
}

/* hg_http_spec_clear frees every member of a full spec (ASan/LeakSanitizer
 * would report what it missed) and leaves a spec that is safe to clear
 * again. */
static void test_http_spec_clear(void **state)
{
    hg_assign_t a = {0};
    hg_test_proto_fill_assign(&a, true);
    hg_http_spec_t http = a.http;
    memset(&a.http, 0, sizeof a.http);
    assert_non_null(http.url);
    assert_true(http.headers_n > 0 && http.form_n > 0 && http.expect_n > 0);
    hg_http_spec_clear(&http);
    assert_null(http.method);
    assert_null(http.url);
    assert_null(http.headers);
    assert_int_equal(http.headers_n, 0);
    assert_null(http.body.data);
    assert_int_equal(http.body.len, 0);
    assert_null(http.form);
    assert_int_equal(http.form_n, 0);
    assert_null(http.expect);
    assert_int_equal(http.expect_n, 0);
    assert_null(http.expect_body);
    hg_http_spec_clear(&http);
    hg_http_spec_clear(NULL);
    hg_assign_clear(&a);
}

/* Deterministic PRNG for the fuzz loops. */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t) (g_rng >> 16);
}

/* Whatever the decoder accepts, the encoder must accept and reproduce. */
static void fuzz_one(const uint8_t *buf, size_t len)
{
    hg_msg_t *m = NULL;
    char detail[DETAIL_SIZE];
    int rc = decode_copy(buf, len, &m, detail);
    if (rc) {
        assert_true(rc < 0);
        assert_string_not_equal(hg_err_name(rc), "EUNKNOWNCODE");
        return;
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    assert_int_equal(hg_msg_encode(m, &again, &again_len), 0);
    hg_msg_t *back = NULL;
    assert_int_equal(decode_copy(again, again_len, &back, detail), 0);
    assert_msg_eq(m, back);
    hg_msg_destroy(&back);
    hg_msg_destroy(&m);
    free(again);
}

static void test_fuzz_random_bytes(void **state)
{
    uint8_t buf[96];
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t) rnd();
        /* Give a share of inputs a plausible frame start so the fuzzer
         * reaches the body decoders. */
        if (len >= 4 && iter % 2) {
            buf[0] = 0x94;
            buf[1] = 0x01;
            buf[2] = (uint8_t) (1 + rnd() % 14);
        }
        fuzz_one(buf, len);
    }
}

static void test_fuzz_mutations(void **state)
{
    uint8_t *valid[2 * 14];
    size_t valid_len[2 * 14];
    size_t nvalid = 0;
    for (int type = HG_MSG_HELLO; type <= HG_MSG_ERROR; type++) {
        for (int full = 0; full < 2; full++) {
            hg_msg_t *s = hg_test_proto_sample(type, full);
            assert_int_equal(hg_msg_encode(s, &valid[nvalid], &valid_len[nvalid]), 0);
            nvalid++;
            hg_msg_destroy(&s);
        }
    }
    uint8_t *buf = malloc(4096);
    assert_non_null(buf);
    for (int iter = 0; iter < 20000; iter++) {
        size_t k = rnd() % nvalid;
        size_t len = valid_len[k];
        memcpy(buf, valid[k], len);
        int edits = 1 + (int) (rnd() % 4);
        for (int e = 0; e < edits && len > 0; e++) {
            size_t at = rnd() % len;
            switch (rnd() % 4) {
            case 0: /* flip bits */
                buf[at] ^= (uint8_t) (1u << (rnd() % 8));
                break;
            case 1: /* random byte, often a type marker */
                buf[at] = (uint8_t) rnd();
                break;
            case 2: /* truncate */
                len = at;
                break;
            default: /* insert a byte */
                if (len < 4096) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t) rnd();
                    len++;
                }
                break;
            }
        }
        fuzz_one(buf, len);
    }
    free(buf);
    for (size_t i = 0; i < nvalid; i++)
        free(valid[i]);
}

/* Not a benchmark, a smoke check that the hot path has no quadratic
 * corner: 10 full batches of HG_PROTO_MAX_RUNS records each way. */
static void test_throughput(void **state)
{
    hg_msg_t m = {.type = HG_MSG_RUN_FINISHED, .seq = 1};
    m.u.runs.runs = calloc(HG_PROTO_MAX_RUNS, sizeof(hg_run_t));
    assert_non_null(m.u.runs.runs);
    m.u.runs.runs_n = HG_PROTO_MAX_RUNS;
    for (int i = 0; i < HG_PROTO_MAX_RUNS; i++)
        hg_test_proto_fill_run(&m.u.runs.runs[i], i, true);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int round = 0; round < 10; round++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(hg_msg_encode(&m, &buf, &len), 0);
        hg_msg_t *back = NULL;
        assert_int_equal(hg_msg_decode(buf, len, &back, NULL, 0), 0);
        assert_int_equal(back->u.runs.runs_n, HG_PROTO_MAX_RUNS);
        hg_msg_destroy(&back);
        free(buf);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("encode+decode: %.0f run records/s\n", 10.0 * HG_PROTO_MAX_RUNS / s);
    for (int i = 0; i < HG_PROTO_MAX_RUNS; i++)
        hg_run_clear(&m.u.runs.runs[i]);
    free(m.u.runs.runs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_roundtrip_hello),
        cmocka_unit_test(test_roundtrip_welcome),
        cmocka_unit_test(test_roundtrip_heartbeat),
        cmocka_unit_test(test_roundtrip_leave),
        cmocka_unit_test(test_roundtrip_job_running),
        cmocka_unit_test(test_running_bounded),
        cmocka_unit_test(test_roundtrip_assign),
        cmocka_unit_test(test_roundtrip_revoke),
        cmocka_unit_test(test_roundtrip_trigger),
        cmocka_unit_test(test_roundtrip_cancel),
        cmocka_unit_test(test_roundtrip_run_started),
        cmocka_unit_test(test_roundtrip_run_finished),
        cmocka_unit_test(test_roundtrip_run_log),
        cmocka_unit_test(test_roundtrip_ack),
        cmocka_unit_test(test_roundtrip_plugin_get),
        cmocka_unit_test(test_roundtrip_plugin_chunk),
        cmocka_unit_test(test_roundtrip_error),
        cmocka_unit_test(test_hostile_builders_are_valid),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_nil_is_absent),
        cmocka_unit_test(test_wrong_types_hello),
        cmocka_unit_test(test_wrong_types_assign),
        cmocka_unit_test(test_wrong_types_run),
        cmocka_unit_test(test_status_out_of_range),
        cmocka_unit_test(test_negative_unsigned),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_oversize_strings),
        cmocka_unit_test(test_oversize_blobs),
        cmocka_unit_test(test_oversize_arrays),
        cmocka_unit_test(test_oversize_message),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_foreign_version),
        cmocka_unit_test(test_frame_shape),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_huge_declared_counts),
        cmocka_unit_test(test_unknown_keys_skipped),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_detail_buffer),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_encoder_message_limit),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_run_copy),
        cmocka_unit_test(test_assign_copy),
        cmocka_unit_test(test_http_spec_clear),
        cmocka_unit_test(test_fuzz_random_bytes),
        cmocka_unit_test(test_fuzz_mutations),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
