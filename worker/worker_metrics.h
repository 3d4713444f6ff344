/* worker_metrics: the worker's own Prometheus figures, served at
 * metrics.bind (off by default) as text exposition format 0.0.4: the runs
 * this worker executed by status, what it holds (jobs, runs in flight,
 * records awaiting the master's acknowledgement), whether it has a
 * session, and its process figures.
 *
 * The agent's loop counts each finished run with one atomic increment and
 * sets the gauges with each heartbeat; the exporter, an actor of its own
 * with a ZMQ_STREAM socket speaking just enough HTTP/1.x for a scraper,
 * reads the atomics. No message per run and no lock between the two: a
 * scrape never holds the agent's loop, which fires the jobs. There is no
 * token: bind it to loopback or a trusted network. */
#ifndef HG_WORKER_METRICS_H
#define HG_WORKER_METRICS_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_worker_metrics hg_worker_metrics_t;

/* Serve on bind ("tcp://127.0.0.1:9643"). NULL with the reason in err when
 * it cannot bind. */
hg_worker_metrics_t *hg_worker_metrics_new(const char *bind, const char *node, char *err,
                                           size_t err_size);
void hg_worker_metrics_destroy(hg_worker_metrics_t **self);

/* A run this worker executed has finished (any status). NULL-safe. */
void hg_worker_metrics_run(hg_worker_metrics_t *self, const hg_run_t *run);

/* What the worker holds, as its heartbeat says it. NULL-safe. */
void hg_worker_metrics_state(hg_worker_metrics_t *self, uint32_t jobs, uint32_t running,
                             uint32_t unacked, bool session);

/* A scraper's request head as it arrives in pieces. */
#define HG_WM_REQUEST_MAX 8192
typedef struct {
    size_t len;                   /* bytes in head */
    char head[HG_WM_REQUEST_MAX]; /* request line and headers so far, NUL-terminated */
} hg_wm_request_t;

/* What a complete head asks for. */
typedef enum {
    HG_WM_MORE,      /* the head is not complete yet */
    HG_WM_METRICS,   /* GET /metrics: answer the figures */
    HG_WM_NOT_FOUND, /* anything else: 404 */
    HG_WM_TOO_LARGE, /* the head outgrew HG_WM_REQUEST_MAX: 431 */
} hg_wm_ask_t;

/* Add n bytes a scraper sent to req (zeroed at its connection). */
hg_wm_ask_t hg_worker_metrics_feed(hg_wm_request_t *req, const void *data, size_t n);

/* The exposition text (malloc'ed, caller frees; length in *len), NULL when
 * out of memory. */
char *hg_worker_metrics_render(hg_worker_metrics_t *self, size_t *len);

#endif
