/* backfill: the fires of a backfill held back by the job's overlap policy
 * (issue 11; docs/jobs.md "Backfill").
 *
 * A backfill sends its scheduled times one TRIGGER each, in order. Under
 * allow they start as they come. Under forbid, replace or queue a backfill
 * fire must neither be skipped as an overlap nor cancel a run, nor count
 * against queue_max: it waits here, behind the backfill fires of the same
 * job already waiting, and starts when a run of the job ends and a slot is
 * free, so the range runs in order, each after the previous one finished.
 * A forced backfill does not come here. The fires of a job that leaves this
 * worker are dropped with it (like its other held fires).
 *
 * Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_BACKFILL_H
#define HG_WORKER_BACKFILL_H

#include "overlap.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct hg_backfill hg_backfill_t;

hg_backfill_t *hg_backfill_new(void);
void hg_backfill_destroy(hg_backfill_t **self);

/* True when a backfill fire of the job is waiting. */
bool hg_backfill_holds(hg_backfill_t *self, uint64_t job_id);

/* Keep fire at the end of the job's line. Takes its overrides (cleared in
 * fire). 0, or HG_ENOMEM (fire left as it was). */
int hg_backfill_push(hg_backfill_t *self, hg_overlap_fire_t *fire);

/* The job's first waiting fire into out (its overrides become the
 * caller's); false when none. */
bool hg_backfill_pop(hg_backfill_t *self, uint64_t job_id, hg_overlap_fire_t *out);

/* Drop the job's waiting fires. */
void hg_backfill_forget_job(hg_backfill_t *self, uint64_t job_id);

#endif
