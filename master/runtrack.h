/* runtrack: the compact record of a run in flight the master keeps in
 * memory (issue 14), and the queue of start rows it writes late.
 *
 * Every RUN_STARTED a worker reports is tracked by the cluster actor
 * (cluster_internal.h, self->inflight) and acknowledged from memory; its
 * 'running' row is written only when the run has not finished
 * store.start_write_after later (cluster_startdefer.c), when its worker is
 * lost (the whole row, as 'lost'), or at once for a job with recover set.
 * At 100,000 runs/s a second of runs is 100,000 entries, so an entry is
 * fixed-size: the start fields a row needs, and its three strings (node,
 * job name, trigger reason) interned in a pool shared by all entries, where
 * a run used to cost a 192-byte node name and two string copies of its own.
 *
 * Plain state, no I/O: the cluster actor owns it; unit/test_runtrack. */
#ifndef HG_MASTER_RUNTRACK_H
#define HG_MASTER_RUNTRACK_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------- interned strings */

typedef struct hg_strpool hg_strpool_t;

/* An empty pool; NULL when out of memory. */
hg_strpool_t *hg_strpool_new(void);
/* Destroy the pool (every string it handed out goes with it). */
void hg_strpool_destroy(hg_strpool_t **self_p);
/* The pool's copy of s, one reference more; NULL when out of memory. The
 * pointer stays valid until its last reference is put back. */
const char *hg_strpool_get(hg_strpool_t *self, const char *s);
/* Put back one reference to s (a pointer hg_strpool_get returned; NULL is
 * ignored); the copy goes with its last reference. */
void hg_strpool_put(hg_strpool_t *self, const char *s);
/* Distinct strings held. */
size_t hg_strpool_size(const hg_strpool_t *self);

/* ------------------------------------------------------------ one entry */

/* A run a worker reported started and not yet finished. If its worker is
 * lost, the run is closed in the history as "lost" rather than left
 * "running" forever (or, its start never written, missing). */
typedef struct {
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE];       /* the run */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* attempt 1 of its retry chain, or zeros */
    uint64_t job_id;                            /* job (or broadcast/shard slot) id */
    uint64_t epoch;                             /* assignment epoch it fired under */
    int64_t scheduled_ms;                       /* scheduled fire time */
    int64_t started_ms;                         /* actual start */
    /* No session of its node claims it (cluster_runlost.c): loaded from the
     * history by a new leader, or not listed in its node's HELLO. It is
     * not counted in its node's inflight; closed as lost at claim_by. */
    int64_t claim_by_mono_ms; /* INT64_MAX: the lease window has not started */
    int64_t write_at_mono_ms; /* its start row is due then (cluster_startdefer.c); 0: none due */
    hg_strpool_t *pool;       /* where its strings come from (for the table's destructor) */
    const char *node;         /* worker running it (pool) */
    const char *job_name;     /* job name at fire time (pool) */
    const char *reason;       /* trigger reason (pool) */
    uint32_t attempt;         /* attempt number, 1 for the first */
    bool unclaimed;           /* see claim_by_mono_ms */
    bool listed;              /* scratch of hg_cluster__runlost_hello */
    bool written;             /* its start row went to the store (or came from it) */
} hg_runtrack_t;

/* A new entry of run (a RUN_STARTED record) on node, strings from pool;
 * NULL when out of memory. */
hg_runtrack_t *hg_runtrack_new(hg_strpool_t *pool, const char *node, const hg_run_t *run);
/* Free an entry, putting its strings back. */
void hg_runtrack_destroy(hg_runtrack_t **self_p);
/* The entry now belongs to node (its run was claimed there). */
void hg_runtrack_set_node(hg_runtrack_t *self, const char *node);
/* Fill out (cleared first) with the entry as a RUN_STARTED record, its
 * strings copied (hg_run_clear frees them): 0 or HG_ENOMEM. */
int hg_runtrack_to_run(const hg_runtrack_t *self, hg_run_t *out);

/* ------------------------------------------------- start rows due later */

/* A FIFO of (run id, due time): start rows to write once due. Entries
 * come in due order (one delay for all), so the head is all that is ever
 * looked at; a run that finished first is skipped when its turn comes. */
typedef struct {
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* the run */
    int64_t due_mono_ms;                  /* write its start row from then */
} hg_startq_item_t;

typedef struct {
    hg_startq_item_t *items; /* ring */
    size_t cap;              /* slots (grows by doubling up to max) */
    size_t head;             /* oldest */
    size_t n;                /* items */
    size_t max;              /* items at most */
} hg_startq_t;

/* An empty queue of at most max items (no memory taken yet). */
void hg_startq_init(hg_startq_t *q, size_t max);
void hg_startq_free(hg_startq_t *q);
/* Append: 0, or HG_ENOMEM when full (max) or out of memory. */
int hg_startq_push(hg_startq_t *q, const uint8_t *run_id, int64_t due_mono_ms);
/* The oldest item when it is due by now, else NULL; it stays queued until
 * hg_startq_pop. */
const hg_startq_item_t *hg_startq_due(const hg_startq_t *q, int64_t now_mono_ms);
void hg_startq_pop(hg_startq_t *q);

#endif
