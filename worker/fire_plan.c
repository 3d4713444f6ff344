/* fire_plan: next fire after a schedule edit, and per-fire jitter
 * (fire_plan.h). */
#include "fire_plan.h"

#include <sodium.h>
#include <string.h>

static bool s_str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool hg_fire_schedule_changed(const hg_assign_t *a, const hg_assign_t *b)
{
    return !s_str_eq(a->schedule, b->schedule) || !s_str_eq(a->tz, b->tz) ||
           a->start_ms != b->start_ms || a->end_ms != b->end_ms;
}

int64_t hg_fire_next_after_edit(const hg_sched_t *sched, int64_t last_fire_ms, int64_t now_ms)
{
    if (!last_fire_ms) return hg_sched_next(sched, now_ms);
    int64_t next = hg_sched_next(sched, last_fire_ms);
    /* A time of the new schedule that is already past was never due:
     * start from now (a time equal to now still fires). */
    if (next != HG_SCHED_NEVER && next < now_ms) next = hg_sched_next(sched, now_ms - 1);
    return next;
}

int64_t hg_fire_jitter_ms(uint32_t max_ms)
{
    /* randombytes_uniform's bound is exclusive and below 2^32. */
    if (max_ms == 0) return 0;
    return (int64_t) randombytes_uniform(max_ms == UINT32_MAX ? max_ms : max_ms + 1);
}
