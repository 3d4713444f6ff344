/* worker_metrics: the worker's figures and their exporter
 * (worker_metrics.h). */
#include "hg_zsock.h"
#include "worker_metrics.h"

#include "hg_procstat.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STATUS_N  7  /* hg_run_status_t values */
#define S_PEERS_MAX 64 /* scrapers served at once; others are closed */

struct hg_worker_metrics {
    char node[192];                          /* node label */
    _Atomic uint64_t runs[S_STATUS_N];       /* finished runs by status */
    _Atomic uint32_t jobs, running, unacked; /* heartbeat figures */
    _Atomic bool session;                    /* welcomed by a master */
    zactor_t *actor;                         /* the exporter */
};

void hg_worker_metrics_run(hg_worker_metrics_t *self, const hg_run_t *run)
{
    if (!self || !run || run->status <= 0 || run->status >= S_STATUS_N) return;
    atomic_fetch_add_explicit(&self->runs[run->status], 1, memory_order_relaxed);
}

void hg_worker_metrics_state(hg_worker_metrics_t *self, uint32_t jobs, uint32_t running,
                             uint32_t unacked, bool session)
{
    if (!self) return;
    atomic_store_explicit(&self->jobs, jobs, memory_order_relaxed);
    atomic_store_explicit(&self->running, running, memory_order_relaxed);
    atomic_store_explicit(&self->unacked, unacked, memory_order_relaxed);
    atomic_store_explicit(&self->session, session, memory_order_relaxed);
}

char *hg_worker_metrics_render(hg_worker_metrics_t *self, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    int w = snprintf(buf, cap,
                     "# HELP hourglass_worker_runs_total Runs this worker executed, by final "
                     "status.\n# TYPE hourglass_worker_runs_total counter\n");
    n = (size_t) w;
    for (int st = 1; st < S_STATUS_N; st++)
        n += (size_t) snprintf(
            buf + n, cap - n, "hourglass_worker_runs_total{status=\"%s\"} %" PRIu64 "\n",
            hg_run_status_name(st), atomic_load_explicit(&self->runs[st], memory_order_relaxed));
    n += (size_t) snprintf(
        buf + n, cap - n,
        "# HELP hourglass_worker_jobs Jobs assigned to this worker.\n"
        "# TYPE hourglass_worker_jobs gauge\nhourglass_worker_jobs %u\n"
        "# HELP hourglass_worker_running Runs in flight on this worker.\n"
        "# TYPE hourglass_worker_running gauge\nhourglass_worker_running %u\n"
        "# HELP hourglass_worker_unacked_records Run records awaiting the master's "
        "acknowledgement.\n"
        "# TYPE hourglass_worker_unacked_records gauge\nhourglass_worker_unacked_records %u\n"
        "# HELP hourglass_worker_session 1 while a master has welcomed this worker.\n"
        "# TYPE hourglass_worker_session gauge\nhourglass_worker_session %d\n",
        atomic_load_explicit(&self->jobs, memory_order_relaxed),
        atomic_load_explicit(&self->running, memory_order_relaxed),
        atomic_load_explicit(&self->unacked, memory_order_relaxed),
        atomic_load_explicit(&self->session, memory_order_relaxed) ? 1 : 0);
    if (!hg_procstat_append(&buf, &n, &cap)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* -------------------------------------------------------------- exporter */

hg_wm_ask_t hg_worker_metrics_feed(hg_wm_request_t *req, const void *data, size_t n)
{
    if (n >= sizeof req->head - req->len) return HG_WM_TOO_LARGE;
    memcpy(req->head + req->len, data, n);
    req->len += n;
    req->head[req->len] = '\0';
    /* A NUL inside ends the text early: the head is judged up to it. */
    if (!strstr(req->head, "\r\n\r\n") && !strstr(req->head, "\n\n")) return HG_WM_MORE;
    if (strncmp(req->head, "GET /metrics ", 13) == 0 ||
        strncmp(req->head, "GET /metrics?", 13) == 0)
        return HG_WM_METRICS;
    return HG_WM_NOT_FOUND;
}

static void s_reply(zsock_t *sock, zframe_t *id, int status, const char *reason, const char *type,
                    const char *body, size_t body_len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len);
    zframe_t *f = zframe_dup(id);
    zframe_send(&f, sock, ZFRAME_MORE);
    zmsg_t *m = zmsg_new();
    zframe_t *data = zframe_new(NULL, (size_t) n + body_len);
    memcpy(zframe_data(data), head, (size_t) n);
    if (body_len) memcpy(zframe_data(data) + n, body, body_len);
    zmsg_append(m, &data);
    zmsg_send(&m, sock);
    /* An empty frame to the peer closes its connection. */
    f = zframe_dup(id);
    zframe_send(&f, sock, ZFRAME_MORE);
    zstr_send(sock, "");
}

/* Answer a complete request head. */
static void s_answer(hg_worker_metrics_t *self, zsock_t *sock, zframe_t *id, hg_wm_ask_t ask)
{
    if (ask == HG_WM_TOO_LARGE) {
        s_reply(sock, id, 431, "Request Header Fields Too Large", "text/plain", "", 0);
        return;
    }
    if (ask != HG_WM_METRICS) {
        static const char nf[] = "only GET /metrics is served here\n";
        s_reply(sock, id, 404, "Not Found", "text/plain", nf, sizeof nf - 1);
        return;
    }
    size_t len = 0;
    char *text = hg_worker_metrics_render(self, &len);
    if (!text) {
        s_reply(sock, id, 500, "Internal Server Error", "text/plain", "", 0);
        return;
    }
    s_reply(sock, id, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

typedef struct {
    hg_worker_metrics_t *m; /* the figures */
    zsock_t *stream;        /* ZMQ_STREAM */
    zhashx_t *peers;        /* peer id (hex) -> hg_wm_request_t */
} s_exporter_t;

static int s_on_stream(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_exporter_t *x = arg;
    zframe_t *id = zframe_recv(sock);
    zframe_t *data = id ? zframe_recv(sock) : NULL;
    if (!id || !data) {
        zframe_destroy(&id);
        zframe_destroy(&data);
        return 0;
    }
    char *key = zframe_strhex(id);
    hg_wm_request_t *peer = key ? zhashx_lookup(x->peers, key) : NULL;
    if (zframe_size(data) == 0) {
        /* Connected or gone. */
        if (peer)
            zhashx_delete(x->peers, key);
        else if (key && zhashx_size(x->peers) < S_PEERS_MAX) {
            peer = calloc(1, sizeof *peer);
            if (peer) zhashx_insert(x->peers, key, peer);
        }
    } else if (peer) {
        hg_wm_ask_t ask = hg_worker_metrics_feed(peer, zframe_data(data), zframe_size(data));
        if (ask != HG_WM_MORE) {
            s_answer(x->m, sock, id, ask);
            zhashx_delete(x->peers, key);
        }
    }
    free(key);
    zframe_destroy(&id);
    zframe_destroy(&data);
    return 0;
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    char *cmd = zstr_recv(pipe);
    int rc = !cmd || streq(cmd, "$TERM") ? -1 : 0;
    zstr_free(&cmd);
    return rc;
}

static void s_peer_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* args: the figures; the stream socket comes bound (see _new). */
static void s_actor(zsock_t *pipe, void *arg)
{
    s_exporter_t *x = arg;
    x->peers = zhashx_new();
    zhashx_set_destructor(x->peers, s_peer_free);
    zloop_t *loop = zloop_new();
    zloop_reader(loop, pipe, s_on_pipe, x);
    zloop_reader(loop, x->stream, s_on_stream, x);
    zsock_signal(pipe, 0);
    zloop_start(loop);
    zloop_destroy(&loop);
    zhashx_destroy(&x->peers);
    zsock_destroy(&x->stream);
    free(x);
}

hg_worker_metrics_t *hg_worker_metrics_new(const char *bind, const char *node, char *err,
                                           size_t err_size)
{
    hg_worker_metrics_t *self = calloc(1, sizeof *self);
    s_exporter_t *x = calloc(1, sizeof *x);
    if (!self || !x) {
        free(self);
        free(x);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    snprintf(self->node, sizeof self->node, "%s", node ? node : "");
    x->m = self;
    x->stream = zsock_new(ZMQ_STREAM);
    if (!x->stream || zsock_bind(x->stream, "%s", bind) < 0) {
        snprintf(err, err_size, "metrics.bind: cannot listen on %s: %s", bind,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&x->stream);
        free(x);
        free(self);
        return NULL;
    }
    /* Connect and disconnect notifications let us drop a scraper's state. */
    (void) hg_zsock_set_int(x->stream, ZMQ_STREAM_NOTIFY, 1);
    self->actor = zactor_new(s_actor, x);
    if (!self->actor) {
        snprintf(err, err_size, "metrics.bind: cannot start the exporter");
        free(self);
        return NULL;
    }
    return self;
}

void hg_worker_metrics_destroy(hg_worker_metrics_t **p)
{
    if (!p || !*p) return;
    zactor_destroy(&(*p)->actor);
    free(*p);
    *p = NULL;
}
