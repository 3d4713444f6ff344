/* metrics: the master's Prometheus figures (GET /metrics, text exposition
 * format 0.0.4; docs/observability.md lists every metric).
 *
 * Where the figures live. The cluster actor, the store actor and the API
 * threads each feed what they already see (run records as the store's
 * DONE comes back, node states on the tick, the store's queue, API
 * requests); a scrape never runs SQL and never asks the cluster actor
 * anything. The figures sit in this one object behind a mutex rather than
 * in the cluster actor's state, as DESIGN section 2 allows where a message
 * hop is the cost: a scrape rendered by the actor would stall heartbeats,
 * leases and run acknowledgements for as long as rendering takes (tens of
 * milliseconds for 10,000 per-job series, 35 MB of text), and every record
 * would have to be copied to it anyway. Here the actor holds the lock for
 * a few counter updates per batch of records; a scrape holds it only to
 * copy the series (one memcpy of a flat array, ~1 ms for 10,000 jobs) and
 * renders the copy unlocked.
 *
 * Per-job series are bounded: the first job_series_max jobs (by first
 * record seen) get their own labels; the others of a namespace add up
 * under job="_other" (and, past a cap on namespaces, namespace="_other"
 * too), so a million jobs cost at most job_series_max series. */
#ifndef HG_MASTER_METRICS_H
#define HG_MASTER_METRICS_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_metrics hg_metrics_t;

/* Default of metrics.job_series_max. */
#define HG_METRICS_JOB_SERIES_DEFAULT 10000

/* New figures with at most job_series_max per-job series (0: the default).
 * NULL when out of memory. Thread-safe from here on. */
hg_metrics_t *hg_metrics_new(size_t job_series_max);
void hg_metrics_destroy(hg_metrics_t **self);

/* ----------------------------------------------- fed by the cluster actor */

/* Records of one committed batch: hold the lock across the batch with
 * begin/end, and report each record with hg_metrics_run between them.
 * ns is the job's namespace ("" or NULL when the job is no longer in the
 * table: counted under namespace "_unknown"). started: a RUN_STARTED
 * record (only its fire lateness counts), else RUN_FINISHED. */
void hg_metrics_runs_begin(hg_metrics_t *self);
void hg_metrics_run(hg_metrics_t *self, const char *ns, const hg_run_t *run, bool started);
void hg_metrics_runs_end(hg_metrics_t *self);

/* The name of a skip reason, from the error text of a skipped run:
 * "overloaded", "lease_lapsed", a leading "word:" of the text, or "other". */
void hg_metrics_skip_reason(const char *error, char *out, size_t size);

/* Leading (true) or standing by, and the fencing epoch. */
void hg_metrics_role(hg_metrics_t *self, bool leading, uint64_t epoch);

/* One worker as the cluster actor sees it. */
typedef struct {
    const char *name;  /* node name */
    const char *state; /* "active", "draining", "lost", "left" */
    uint32_t jobs;     /* assignments it holds */
    uint32_t running;  /* runs in flight (its heartbeat) */
    uint32_t unacked;  /* run records it holds unacknowledged (its heartbeat) */
} hg_metrics_node_t;

/* Replace the node figures with nodes[0..n) (copied). */
void hg_metrics_nodes_set(hg_metrics_t *self, const hg_metrics_node_t *nodes, size_t n);

/* Per-job series whose next fire time is due for a refresh (it passed, or
 * was never set), up to max of them, walking round-robin: the id of the
 * job each last saw goes to the callback, which returns the job's next
 * fire time in ms (0 when none or unknown). Called by the cluster actor
 * on its tick (it owns the job table); the callback runs with the lock
 * released. */
typedef int64_t (*hg_metrics_next_fire_fn)(void *arg, uint64_t job_id);
void hg_metrics_next_fire_refresh(hg_metrics_t *self, int64_t now_ms, size_t max,
                                  hg_metrics_next_fire_fn fn, void *arg);

/* ----------------------------------------------- fed by the store and others */

/* The store's queue: run records waiting for MySQL in memory, and the
 * bytes of its spill file. */
void hg_metrics_store_set(hg_metrics_t *self, uint64_t queued_records, uint64_t spill_bytes);
/* Run records not yet in MySQL: the store's queue plus what the workers
 * hold unacknowledged (their last heartbeats). How far the run inserts
 * are behind, for the retention purge to yield to them; the store's own
 * queue alone stays near 0 while the workers wait for it. */
uint64_t hg_metrics_records_waiting(hg_metrics_t *self);
/* Runs in flight the cluster tracks in memory now, and, ever: start
 * rows put off (store.start_write_after), of which written because the
 * run still went on, and run records the store committed by kind
 * (started / finished; cluster_startdefer.c, issue 14). */
void hg_metrics_starts_set(hg_metrics_t *self, uint64_t tracked, uint64_t deferred,
                           uint64_t written_late);
void hg_metrics_store_committed(hg_metrics_t *self, uint64_t started, uint64_t finished);
/* The alert engine's losses so far (alert_engine.h): batches of run
 * records it missed while behind, alerts dropped on a full queue. */
void hg_metrics_alerts_set(hg_metrics_t *self, uint64_t feed_dropped, uint64_t queue_dropped);
/* A MySQL statement or connection failed (store, retention). */
void hg_metrics_db_error(hg_metrics_t *self);

/* Jobs of the catalogue by namespace and status, as counted by the
 * leader's housekeeping (retention.c): replaces the previous counts.
 * ns[i], status[i], count[i] for i < n. */
void hg_metrics_jobs_set(hg_metrics_t *self, char **ns, char **status, const uint64_t *count,
                         size_t n);

/* Rows purged by the retention rule or a manual purge, by table. */
void hg_metrics_purged(hg_metrics_t *self, const char *table, uint64_t rows);

/* One API request answered: route is the route table's pattern (or
 * "other"), code the HTTP status, seconds its latency. */
void hg_metrics_api(hg_metrics_t *self, const char *route, int code, double seconds);

/* ------------------------------------------------------------- rendering */

/* The exposition text (format 0.0.4) of everything, plus this process's
 * CPU, memory and descriptors: a malloc'ed string the caller frees, its
 * length in *len. NULL when out of memory. */
char *hg_metrics_render(hg_metrics_t *self, size_t *len);

/* Per-job series held (for tests and the bench). */
size_t hg_metrics_job_series(hg_metrics_t *self);

#endif
