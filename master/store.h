/* store: the master's store writer, a zactor that owns its own MySQL
 * connection and writes run records in batches (multi-row INSERT ... ON
 * DUPLICATE KEY UPDATE in one transaction), plus the low-rate cluster facts
 * (nodes, assignments).
 *
 * Protocol on the actor pipe (owner = the cluster actor):
 *   owner -> store  "RUNS" p   hg_store_batch_t * (store takes ownership)
 *   owner -> store  "NODE" ssiss  name state labels_json capacity version
 *   owner -> store  "ASSIGN" f f  node names, each ended by a NUL; then
 *                              (name index, job id, epoch) triples of uint64_t
 *                              (host order) of jobs now held by that node, in
 *                              order
 *   owner -> store  "UNASSIGN" 8  job_id
 *   store -> owner  "DONE" p   hg_store_batch_t * now committed (owner frees it)
 *   owner -> store  "DRAIN"    the owner is stopping: the store writes nothing
 *                              more and answers
 *   store -> owner  "DRAINED"  after its last DONE; then the owner destroys it
 *                              (what is still queued is freed, not written)
 * Records are acknowledged to workers only after "DONE", so an ACK means
 * durable. While MySQL is unreachable the store keeps everything queued (in
 * order), retries with back-off and logs once per outage. The run records
 * kept in memory are bounded (buffer_max records, buffer_max_bytes bytes):
 * beyond that, whole batches are appended to the spill file (spill.h),
 * fsync'ed, and only then returned as "DONE", since the file is durable.
 * When MySQL answers again the memory queue is written first, then the
 * spill file is replayed into MySQL in batches and removed. A spill file
 * left by a previous run (a crash during an outage) is replayed at start. */
#ifndef HG_MASTER_STORE_H
#define HG_MASTER_STORE_H

#include "db.h"
#include "hg_proto.h"

#include <czmq.h>

/* One RUN_STARTED / RUN_FINISHED message from one node. */
typedef struct {
    char node[192]; /* worker that sent it (or whose runs the master closed) */
    /* node cut to fit the runs column, when it does not; "" when it does
     * (set by the store) */
    char db_node[192];
    hg_msg_t *msg; /* decoded message (owned) */
    bool no_ack;   /* records the master wrote itself: no worker holds them */
    /* RUN_FINISHED: per record, whether its RUN_STARTED was stored (so
     * runs_by_status may hold the run); NULL when not known (as if all
     * were). Owned. */
    uint8_t *had_start;
    /* records the cluster counted against its store gate (store_gate.h)
     * when it handed the batch over; the store may rewrite records but
     * never changes this */
    size_t gated;
} hg_store_batch_t;

/* Largest number of records written in one transaction. */
#define HG_STORE_MAX_BATCH 2048

/* Settings of the store; must outlive the actor. */
typedef struct {
    const hg_db_params_t *db;   /* MySQL connection */
    const char *spill_path;     /* spill file; NULL or "" keeps everything in memory */
    size_t buffer_max;          /* run records held in memory while MySQL is down */
    size_t buffer_max_bytes;    /* and their approximate size in bytes */
    struct hg_metrics *metrics; /* queue, spill and error figures go here (metrics.h); NULL: none */
    size_t queue_max;           /* records handed to the store and not yet DONE, at most: the
                                   cluster's back-pressure gate (store_gate.h); 0: no limit */
    int64_t commit_gap_ms;      /* a transaction of run records begins at least this long after
                                   the one before, gathering what arrives meanwhile (up to
                                   HG_STORE_MAX_BATCH records); 0: at once */
    int64_t start_write_after_ms; /* a run's start row is written only if it has not finished
                                     this long after its RUN_STARTED (the cluster's
                                     cluster_startdefer.c); 0: at once */
} hg_store_opts_t;

/* Start the store. NULL on failure. */
zactor_t *hg_store_new(const hg_store_opts_t *opts);

void hg_store_batch_destroy(hg_store_batch_t **batch);

#endif
