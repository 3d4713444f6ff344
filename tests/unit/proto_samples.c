/* proto_samples: see proto_samples.h. */
#include "proto_samples.h"
#include "hg_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory in a test helper: nothing to recover. */
#define assert_non_null(p)                                                                         \
    do {                                                                                           \
        if (!(p)) {                                                                                \
            fprintf(stderr, "proto_samples: out of memory\n");                                     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static char *sdup(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

static hg_kv_t *kvs(size_t n, const char *const *pairs)
{
    hg_kv_t *kv = calloc(n, sizeof *kv);
    assert_non_null(kv);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = sdup(pairs[2 * i]);
        kv[i].value = sdup(pairs[2 * i + 1]);
    }
    return kv;
}

static hg_blob_t blob(const void *data, size_t len)
{
    hg_blob_t b = {malloc(len), len};
    assert_non_null(b.data);
    memcpy(b.data, data, len);
    return b;
}

void hg_test_proto_fill_run(hg_run_t *r, int i, bool full)
{
    for (int k = 0; k < HG_PROTO_RUN_ID_SIZE; k++)
        r->run_id[k] = (uint8_t) (i * 31 + k);
    r->job_id = 1000 + (uint64_t) i;
    r->scheduled_ms = 1767225600000 + i;
    r->status = full ? HG_RUN_FAILED : HG_RUN_RUNNING;
    if (!full) return;
    r->epoch = 3;
    r->job_name = sdup("nightly-report");
    r->started_ms = 1767225600012 + i;
    r->finished_ms = 1767225601012 + i;
    r->attempt = 2;
    r->reason = sdup("retry");
    r->http_status = 503;
    r->exit_code = INT32_MIN;
    r->error = sdup("unexpected HTTP status 503");
    r->output = blob("out\0put", 7);
    memset(r->first_run_id, 0x5a, HG_PROTO_RUN_ID_SIZE);
    r->retry_at_ms = 1767225603012 + i;
    r->retry_reason = sdup("http_5xx");
    r->fires = 37; /* as a worker's backlog record carries it */
}

void hg_test_proto_fill_assign(hg_assign_t *a, bool full)
{
    a->job_id = 42;
    a->epoch = 9;
    a->name = sdup("nightly-report");
    a->kind = sdup(full ? "http" : "plugin");
    a->schedule = sdup("0 3 * * *");
    if (!full) return;
    static const char *const params[] = {"env", "prod", "limit", "100"};
    static const char *const form[] = {"a", "1", "b", "two words"};
    a->version = UINT64_MAX;
    a->ns = sdup("reports");
    a->tz = sdup("Europe/Paris");
    a->start_ms = INT64_MIN;
    a->end_ms = INT64_MAX;
    a->last_fire_ms = 1767225600000;
    a->misfire = sdup("fire_once");
    a->timeout_ms = UINT32_MAX;
    a->params = kvs(2, params);
    a->params_n = 2;
    a->http.method = sdup("POST");
    a->http.url = sdup("https://example.test/hook?x=1");
    a->http.headers = calloc(2, sizeof(char *));
    assert_non_null(a->http.headers);
    a->http.headers[0] = sdup("Content-Type: application/json");
    a->http.headers[1] = sdup("X-Empty:");
    a->http.headers_n = 2;
    a->http.body = blob("{\"k\":\0}", 7);
    a->http.form = kvs(2, form);
    a->http.form_n = 2;
    a->http.expect = calloc(3, sizeof(uint16_t));
    assert_non_null(a->http.expect);
    a->http.expect[0] = 200;
    a->http.expect[1] = 204;
    a->http.expect[2] = 65535;
    a->http.expect_n = 3;
    a->http.expect_body = sdup("\"ok\"");
    a->plugin.name = sdup("shell");
    a->plugin.version = sdup("1.2.0");
    a->plugin.sha256 = sdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    a->plugin.isolation = sdup("thread");
    a->plugin.local_first = 1;
    a->recover = 1;
    a->retry = (hg_retry_spec_t){5, 1, 1000, 2000, 60000, 1, 0x7f};
    a->overlap = 3;
    a->max_concurrent = 2;
    a->queue_max = UINT32_MAX;
    a->running = HG_PROTO_MAX_JOB_RUNNING;
}

hg_msg_t *hg_test_proto_sample(int type, bool full)
{
    hg_msg_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->type = type;
    m->seq = full ? UINT64_MAX : 0;
    switch (type) {
    case HG_MSG_HELLO: {
        hg_hello_t *h = &m->u.hello;
        h->node = sdup("worker-1");
        if (!full) break;
        static const char *const labels[] = {"zone", "eu-west-1", "gpu", ""};
        h->version = sdup("0.1.0");
        h->labels = kvs(2, labels);
        h->labels_n = 2;
        h->capacity = 64;
        h->held = calloc(2, sizeof *h->held);
        assert_non_null(h->held);
        h->held[0] = (hg_held_t){5, 3, 1767225600000, 9};
        h->held[1] = (hg_held_t){UINT64_MAX, 1, -1, UINT64_MAX};
        h->held_n = 2;
        h->unacked = 12;
        h->plugins = calloc(1, sizeof(char *));
        assert_non_null(h->plugins);
        h->plugins[0] = sdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        h->plugins_n = 1;
        h->part = 3;
        h->more = 1;
        h->runs = calloc(2, sizeof *h->runs);
        assert_non_null(h->runs);
        memset(h->runs[0].run_id, 0xab, sizeof h->runs[0].run_id);
        h->runs[0].job_id = 5;
        h->runs[1].run_id[15] = 1;
        h->runs[1].job_id = UINT64_MAX;
        h->runs_n = 2;
        h->runs_listed = 1;
        break;
    }
    case HG_MSG_WELCOME:
        m->u.welcome.master = sdup("master-a");
        if (full) m->u.welcome = (hg_welcome_t){m->u.welcome.master, 7, 500, 2000};
        break;
    case HG_MSG_HEARTBEAT:
        if (full) m->u.heartbeat = (hg_heartbeat_t){41, 3, 10, UINT32_MAX};
        break;
    case HG_MSG_ASSIGN:
        hg_test_proto_fill_assign(&m->u.assign, full);
        break;
    case HG_MSG_REVOKE:
        if (full) m->u.revoke = (hg_revoke_t){42, 10, 1767225600000};
        break;
    case HG_MSG_TRIGGER:
        if (full) {
            static const char *const over[] = {"limit", "5"};
            m->u.trigger = (hg_trigger_t){.job_id = 42,
                                          .epoch = 9,
                                          .reason = sdup("manual"),
                                          .params = kvs(1, over),
                                          .params_n = 1,
                                          .scheduled_ms = 1767225600000,
                                          .attempt = 2};
            m->u.trigger.force = 1;
            m->u.trigger.due_ms = 1767225609000;
            memset(m->u.trigger.first_run_id, 0x11, HG_PROTO_RUN_ID_SIZE);
        }
        break;
    case HG_MSG_RUN_STARTED:
    case HG_MSG_RUN_FINISHED: {
        size_t n = full ? 3 : 1;
        m->u.runs.runs = calloc(n, sizeof(hg_run_t));
        assert_non_null(m->u.runs.runs);
        m->u.runs.runs_n = n;
        for (size_t i = 0; i < n; i++)
            hg_test_proto_fill_run(&m->u.runs.runs[i], (int) i, full);
        break;
    }
    case HG_MSG_ACK:
        if (full) {
            m->u.ack.run_ids = calloc(3, HG_PROTO_RUN_ID_SIZE);
            assert_non_null(m->u.ack.run_ids);
            for (int i = 0; i < 3; i++)
                memset(m->u.ack.run_ids[i], 0xa0 + i, HG_PROTO_RUN_ID_SIZE);
            m->u.ack.run_ids_n = 3;
        }
        break;
    case HG_MSG_PLUGIN_GET:
        m->u.plugin_get.sha256 =
            sdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        if (full) {
            m->u.plugin_get.offset = UINT64_MAX;
            m->u.plugin_get.max = HG_PROTO_CHUNK;
        }
        break;
    case HG_MSG_PLUGIN_CHUNK:
        m->u.plugin_chunk.sha256 =
            sdup("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        if (full) {
            m->u.plugin_chunk.offset = 524288;
            m->u.plugin_chunk.total = 524291;
            m->u.plugin_chunk.data = blob("\177EL", 3);
            m->u.plugin_chunk.code = HG_ENOTFOUND;
            m->u.plugin_chunk.error = sdup("no plug-in with that hash");
        }
        break;
    case HG_MSG_ERROR:
        m->u.error.code = full ? HG_EUNAVAIL : 0;
        m->u.error.message = sdup("not the leader");
        if (full) m->u.error.leader = sdup("tcp://master-b:7100");
        break;
    case HG_MSG_CANCEL:
        m->u.cancel.job_id = full ? UINT64_MAX : 1;
        memset(m->u.cancel.run_id, full ? 0xee : 0, HG_PROTO_RUN_ID_SIZE);
        break;
    case HG_MSG_LEAVE:
        if (full) m->u.leave.handover = 1;
        break;
    case HG_MSG_JOB_RUNNING:
        m->u.job_running.job_id = full ? UINT64_MAX : 1;
        m->u.job_running.epoch = full ? UINT64_MAX : 1;
        m->u.job_running.running = full ? HG_PROTO_MAX_JOB_RUNNING : 0;
        break;
    default:
        break;
    }
    return m;
}
