/* overlap: the worker's side of a job's overlap (concurrency) policy
 * (issue 11; docs/jobs.md "Overlap").
 *
 * The worker that holds a job's lease is the one place that decides, so
 * there is one decision-maker cluster-wide by construction. For each fire
 * the agent asks hg_overlap_decide with the job's runs in flight:
 *   allow    always start;
 *   forbid   start while fewer than max_concurrent run, else skip
 *            (recorded "skipped", error "overlap: ...");
 *   replace  start when a slot is free, else cancel the running runs
 *            (recorded "cancelled") and start once they have ended;
 *   queue    start when a slot is free, else wait here (hg_overlap_push)
 *            until a run ends, up to queue_max fires; beyond, skip.
 * A forced fire (trigger with force) always starts. Across failover a run
 * in flight on a lost worker counts as running until the master closes it
 * as lost, which is also when the job moves: the new holder starts empty.
 * Across a move of the job while its runs are still in flight on the old
 * holder (drain, leave, rebalance), the master tells the new holder how
 * many (ASSIGN running, then JOB_RUNNING as they end): hg_overlap_set_remote
 * keeps that count, and decide and pop add it to the runs in flight here,
 * so forbid holds across the move.
 *
 * Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_OVERLAP_H
#define HG_WORKER_OVERLAP_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    HG_OVERLAP_START = 0, /* start the run now */
    HG_OVERLAP_SKIP,      /* record it as skipped, reason overlap */
    HG_OVERLAP_WAIT,      /* keep it (hg_overlap_push) until a slot frees */
    HG_OVERLAP_CANCEL,    /* cancel the runs in flight, and keep it until they end */
} hg_overlap_action_t;

/* A fire held back by the policy. */
typedef struct {
    uint64_t job_id;                            /* job */
    int64_t scheduled_ms;                       /* scheduled time to record */
    uint32_t attempt;                           /* attempt to record */
    char reason[24];                            /* trigger reason */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* retry chain, all zero for none */
    hg_kv_t *overrides;                         /* trigger parameters (owned) */
    size_t overrides_n;                         /* their number */
} hg_overlap_fire_t;

typedef struct hg_overlap hg_overlap_state_t;

hg_overlap_state_t *hg_overlap_new(void);
void hg_overlap_destroy(hg_overlap_state_t **self);

/* What a fire of the job does now, with `running` of its runs in flight.
 * force: a forced trigger, which always starts. */
hg_overlap_action_t hg_overlap_decide(hg_overlap_state_t *self, const hg_assign_t *spec,
                                      uint32_t running, bool force);

/* Keep a fire (WAIT, CANCEL). Takes fire's overrides. Under replace the
 * newest fire wins: an older one waiting is handed back in *dropped (to
 * record as skipped; its overrides are the caller's) and true returned. */
bool hg_overlap_push(hg_overlap_state_t *self, const hg_assign_t *spec, hg_overlap_fire_t *fire,
                     hg_overlap_fire_t *dropped);

/* A run of the job ended (or the policy changed): the next fire that may
 * start now, if any (its overrides become the caller's). */
bool hg_overlap_pop(hg_overlap_state_t *self, const hg_assign_t *spec, uint32_t running,
                    hg_overlap_fire_t *out);

/* Runs of the job the master says are in flight on other workers (0:
 * none, forgotten). Counted as running by decide and pop until lowered. */
void hg_overlap_set_remote(hg_overlap_state_t *self, uint64_t job_id, uint32_t running);
/* That count, 0 when none. */
uint32_t hg_overlap_remote(hg_overlap_state_t *self, uint64_t job_id);

/* Fires of a job held back. */
size_t hg_overlap_waiting(hg_overlap_state_t *self, uint64_t job_id);

/* Drop the held fires (and the count of runs elsewhere) of a job that left
 * this worker. */
void hg_overlap_forget_job(hg_overlap_state_t *self, uint64_t job_id);

/* Free a fire's members. */
void hg_overlap_fire_clear(hg_overlap_fire_t *fire);

#endif
