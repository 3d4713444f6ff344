/* store: the master's store writer, a zactor that owns its own MySQL
 * connection and writes run records in batches (multi-row INSERT ... ON
 * DUPLICATE KEY UPDATE in one transaction), plus the low-rate cluster facts
 * (nodes, assignments).
 *
 * Protocol on the actor pipe (owner = the cluster actor):
 *   owner -> store  "RUNS" p   hg_store_batch_t * (store takes ownership)
 *   owner -> store  "NODE" ssiss  name state labels_json capacity version
 *   owner -> store  "ASSIGN" s8s  node job_id(uint64 as "8") epoch-as-text
 *   owner -> store  "UNASSIGN" 8  job_id
 *   store -> owner  "DONE" p   hg_store_batch_t * now committed (owner frees it)
 *   owner -> store  "DRAIN"    the owner is stopping: the store writes nothing
 *                              more and answers
 *   store -> owner  "DRAINED"  after its last DONE; then the owner destroys it
 *                              (what is still queued is freed, not written)
 * Records are acknowledged to workers only after "DONE", so an ACK means
 * durable. While MySQL is unreachable the store keeps everything queued (in
 * order), retries with back-off and logs once per outage. */
#ifndef HG_MASTER_STORE_H
#define HG_MASTER_STORE_H

#include "db.h"
#include "hg_proto.h"

#include <czmq.h>

/* One RUN_STARTED / RUN_FINISHED message from one node. */
typedef struct {
    char node[192]; /* worker that sent it */
    hg_msg_t *msg;  /* decoded message (owned) */
} hg_store_batch_t;

/* Largest number of records written in one transaction. */
#define HG_STORE_MAX_BATCH 2048

/* Start the store. params must outlive the actor. NULL on failure. */
zactor_t *hg_store_new(const hg_db_params_t *params);

void hg_store_batch_destroy(hg_store_batch_t **batch);

#endif
