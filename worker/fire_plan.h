/* fire_plan: two decisions of the worker's timers that run control adds
 * (docs/jobs.md): where a job's next fire comes from when an ASSIGN
 * changes its schedule, and the random delay (jitter) of each fire. */
#ifndef HG_WORKER_FIRE_PLAN_H
#define HG_WORKER_FIRE_PLAN_H

#include "hg_proto.h"
#include "hg_sched.h"

#include <stdbool.h>
#include <stdint.h>

/* True when b fires at other times than a: schedule, zone or bounds. */
bool hg_fire_schedule_changed(const hg_assign_t *a, const hg_assign_t *b);

/* The next scheduled time of a job whose schedule has just been changed
 * by an edit, given the last time it fired (0 = never) and now. It
 * continues after the last fire, so no time fires twice and, when the new
 * schedule's next time is still ahead, none is skipped; but the new
 * schedule takes effect from now: its times between the last fire and now
 * were never due under the old one, and are not caught up as misfires. */
int64_t hg_fire_next_after_edit(const hg_sched_t *sched, int64_t last_fire_ms, int64_t now_ms);

/* A random delay in [0, max_ms] (uniform), 0 when max_ms is 0. */
int64_t hg_fire_jitter_ms(uint32_t max_ms);

#endif
