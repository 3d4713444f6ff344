/* depfire: the dependency engine of the leading master (issue 11), a
 * zactor with its own MySQL connection. It turns committed run records of
 * parent jobs into dependency fires of their children, exactly once per
 * satisfying parent run, whichever master leads:
 *
 *   1. The cluster actor hands it every RUN_FINISHED batch the store has
 *      committed ("RUNS"). A final run of a parent whose status matches an
 *      edge's "on" (and that finished after the edge was made) goes into
 *      dep_inbox, keyed by (child, parent run): a resent record or a
 *      re-scan counts once.
 *   2. Every few seconds, and at once when it starts leading, it also
 *      scans the recent runs of every parent in MySQL into dep_inbox (a
 *      batch the previous leader committed but never evaluated, one that
 *      was spilled while MySQL was down and replayed since).
 *   3. A child whose rule is met (all: every parent has a waiting run;
 *      any: each waiting run) gets a dep_fires row, and the inbox rows it
 *      consumes are marked with it, in one transaction. Only then is the
 *      fire handed to the cluster actor ("FIRE"), which sends the TRIGGER
 *      (reason "dependency", scheduled at the fire's time, params
 *      parent.<job>.result) to the child's holder and answers "SENT".
 *   4. A fire not answered as sent stays pending and is sent again, and
 *      so is a sent one whose run is still not recorded 30 s later (a
 *      TRIGGER lost with a connection); before any resend the engine looks
 *      for a run of the child with the fire's scheduled time and reason
 *      "dependency" (the worker's record of a TRIGGER that did arrive),
 *      and marks the fire done instead. A new leader waits 8 s before its
 *      first resend, for the workers to re-join and resend their records.
 *
 * Protocol on the actor pipe (owner = the cluster actor):
 *   owner -> depfire  "RUNS" p     hg_store_batch_t * (depfire destroys it),
 *                                  only through hg_depfire_runs
 *   depfire -> owner  "FIRE" 88s   child job id, fire time ms, params JSON
 *   owner -> depfire  "SENT" sss   child job id, fire time ms, 0 or HG_E* (text)
 */
#ifndef HG_MASTER_DEPFIRE_H
#define HG_MASTER_DEPFIRE_H

#include "db.h"
#include "hg_proto.h"
#include "store.h"

#include <czmq.h>
#include <stdbool.h>

typedef struct hg_depfire hg_depfire_t;

/* Start the engine on MySQL params (must outlive it). NULL on failure. */
hg_depfire_t *hg_depfire_new(const hg_db_params_t *db);

/* Stop it and NULL *self. Safe on NULL. */
void hg_depfire_destroy(hg_depfire_t **self);

/* The owner's end of the pipe ("FIRE" comes out here, "SENT" goes in). */
zsock_t *hg_depfire_sock(hg_depfire_t *self);

/* Offer a committed batch to the engine; it takes it (and NULLs *batch)
 * when some job has parents and fewer than HG_DEPFIRE_QUEUED_MAX batches
 * wait for it. Never blocks: a batch not taken is the caller's to free,
 * and the engine's scan of recent runs finds its runs in MySQL later. */
void hg_depfire_runs(hg_depfire_t *self, hg_store_batch_t **batch);

#define HG_DEPFIRE_QUEUED_MAX 64 /* batches handed over, not yet read */

/* Only a retry chain's final outcome counts as a parent's result. Wired
 * by the retry lane: a run whose retry_at_ms is set has another attempt
 * coming and is not final. */
bool hg_depfire_run_is_final(const hg_run_t *run);

#endif
