/* store_gate: back-pressure between the cluster actor and the store (issue
 * 14). Every run record handed to the store is counted until the store
 * returns its batch as DONE, and the cluster takes fewer records as the
 * count grows:
 *
 *   - from queue_max / 2 records waiting, start rows are shed from the
 *     store (new ones and those due after store.start_write_after,
 *     cluster_startdefer.c): the master still tracks the runs in memory
 *     (inflight, so a worker lost meanwhile has them written lost), but
 *     their 'running' rows are not written; each finished record writes its
 *     whole row later. Shedding them first leaves the store to the records
 *     that matter. Shedding stops below queue_max / 4.
 *   - from queue_max, RUN_FINISHED messages are deferred too: not taken,
 *     not acknowledged. The worker keeps every record until it is
 *     acknowledged and sends it again (worker/agent.c resends records
 *     unacknowledged for a while), so nothing is lost and the master's
 *     memory stays bounded, instead of the actor pipe growing without
 *     bound (master RSS grew 5x offered twice its capacity). Deferral stops
 *     below queue_max / 2. Every start stays tracked in flight meanwhile
 *     (compact entries, runtrack.h, within the inflight caps): a worker
 *     killed while its finished records are deferred has each of its runs
 *     written lost from memory, where they used to vanish with it.
 *
 * The halves keep a queue at a limit from flapping with every batch. The
 * gate is plain state (no I/O): the cluster actor calls it; it logs one
 * line when a burst of back-pressure starts and one, with its counts, when
 * it ends. */
#ifndef HG_MASTER_STORE_GATE_H
#define HG_MASTER_STORE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t queue_max;        /* records waiting for the store at most (0: no limit) */
    size_t pending;          /* records handed to the store, not yet DONE */
    size_t pending_peak;     /* largest pending seen (metrics, tests) */
    bool shedding;           /* start records are not written (a burst is on) */
    bool closed;             /* finished records are deferred too */
    uint64_t deferred;       /* RUN_FINISHED records deferred, ever */
    uint64_t shed_started;   /* RUN_STARTED records not written, ever */
    uint64_t burst_deferred; /* of which in the current burst */
    uint64_t burst_shed;     /* of which in the current burst */
    int64_t burst_mono_ms;   /* when the current burst began */
} hg_store_gate_t;

/* A gate of queue_max records (0: never closes). */
void hg_store_gate_init(hg_store_gate_t *g, size_t queue_max);

/* May a message of records from a worker (finished: RUN_FINISHED, else
 * RUN_STARTED) go to the store now? When not, the caller defers
 * (hg_store_gate_defer) or sheds (hg_store_gate_shed) it. */
bool hg_store_gate_open(hg_store_gate_t *g, bool finished, int64_t now_mono_ms);

/* n records were handed to the store (any caller, the master's own records
 * included: they take memory too). */
void hg_store_gate_add(hg_store_gate_t *g, size_t n);

/* n records came back from the store as DONE. */
void hg_store_gate_done(hg_store_gate_t *g, size_t n, int64_t now_mono_ms);

/* n finished records were deferred / n start records shed. */
void hg_store_gate_defer(hg_store_gate_t *g, size_t n);
void hg_store_gate_shed(hg_store_gate_t *g, size_t n);

#endif
