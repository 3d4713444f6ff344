/* retry: the worker's pending retries (issue 11; docs/jobs.md "Retries").
 *
 * When a run of a job with a retry policy ends in a retryable way, its
 * record says when the next attempt is due (retry_at_ms, via
 * hg_retry_decide) and the attempt waits here until then; the agent's loop
 * sleeps no longer than the earliest due time and starts the attempt with
 * reason "retry", the same scheduled time, attempt + 1 and the chain's
 * first run id. The master keeps the same pending retry from the committed
 * record, so if this worker dies the job's next holder gets it (TRIGGER
 * "retry" with its due time, hg_wretry_adopt) and continues the chain
 * without repeating an attempt that finished.
 *
 * Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_RETRY_H
#define HG_WORKER_RETRY_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stdint.h>

#define HG_WRETRY_MAX 100000 /* pending retries held at most; more end their chain, loudly */

/* One pending attempt. */
typedef struct {
    uint64_t job_id;                            /* job */
    int64_t scheduled_ms;                       /* scheduled time of the fire */
    int64_t due_ms;                             /* not before (wall clock ms) */
    uint32_t attempt;                           /* attempt number to record */
    uint8_t first_run_id[HG_PROTO_RUN_ID_SIZE]; /* attempt 1 of the chain */
} hg_wretry_item_t;

typedef struct hg_wretry hg_wretry_t;

/* New empty set; NULL when out of memory. */
hg_wretry_t *hg_wretry_new(void);
/* Free it; NULL the pointer. Safe on NULL. */
void hg_wretry_destroy(hg_wretry_t **self);

/* A run of a job with spec (NULL: the job is no longer held here) is
 * over: decide whether another attempt follows (writing retry_at_ms,
 * retry_reason and first_run_id into run) and keep it pending if so. A
 * job without a retry policy costs one comparison. */
void hg_wretry_on_done(hg_wretry_t *self, const hg_assign_t *spec, hg_run_t *run);

/* A pending retry handed over by the master (TRIGGER reason "retry"): kept
 * until its due time. One already pending (same job, scheduled time and
 * attempt) is not added twice. */
void hg_wretry_adopt(hg_wretry_t *self, const hg_trigger_t *t);

/* Put an item (back) in the set, e.g. one postponed by the overlap policy.
 * Duplicates are ignored. */
void hg_wretry_push(hg_wretry_t *self, const hg_wretry_item_t *item);

/* Earliest due time, INT64_MAX when nothing is pending. */
int64_t hg_wretry_next_due(const hg_wretry_t *self);

/* Take out one item due at or before now; false when none is. */
bool hg_wretry_pop_due(hg_wretry_t *self, int64_t now, hg_wretry_item_t *out);

/* Forget the pending retries of a job that left this worker (its next
 * holder gets them from the master). */
void hg_wretry_forget_job(hg_wretry_t *self, uint64_t job_id);

/* Pending retries held. */
size_t hg_wretry_size(const hg_wretry_t *self);

#endif
