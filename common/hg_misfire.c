/* hg_misfire: what to fire after a gap (failover, stalled worker, paused
 * master), as a pure function of the schedule, the last fired time and now.
 *
 * A scheduled time t with last < t <= now is due. It is on time when it is
 * late by at most the threshold (now - t <= threshold_ms) and misfired
 * otherwise. On-time fires always fire; the policy only decides what
 * happens to misfired ones:
 *   fire_once  one catch-up run, reported under the latest missed time,
 *              unless an on-time fire already runs now (it stands in);
 *   skip       none;
 *   fire_all   all of them, oldest first; when more than cap are due the
 *              most recent cap are kept, since old runs matter least.
 * With no history (last_fire_ms == 0) nothing counts as missed: only the
 * on-time window is considered.
 */
#include "hg_sched.h"

#include <string.h>

int hg_misfire_parse(const char *name)
{
    if (!name || !*name) return HG_MISFIRE_FIRE_ONCE;
    if (strcmp(name, "fire_once") == 0) return HG_MISFIRE_FIRE_ONCE;
    if (strcmp(name, "skip") == 0) return HG_MISFIRE_SKIP;
    if (strcmp(name, "fire_all") == 0) return HG_MISFIRE_FIRE_ALL;
    return -1;
}

const char *hg_misfire_name(hg_misfire_t policy)
{
    switch (policy) {
    case HG_MISFIRE_FIRE_ONCE:
        return "fire_once";
    case HG_MISFIRE_SKIP:
        return "skip";
    case HG_MISFIRE_FIRE_ALL:
        return "fire_all";
    }
    return "unknown";
}

/* Collects up to cap fire times in (lo, hi], the most recent ones, oldest
 * first, walking backwards with hg_sched_prev so a long gap on a fast
 * schedule costs O(cap), not O(gap). */
static size_t s_collect_recent(const hg_sched_t *s, int64_t lo, int64_t hi, int64_t *out,
                               size_t cap)
{
    size_t n = 0;
    int64_t at = hi;
    while (n < cap) {
        int64_t t = hg_sched_prev(s, at, lo);
        if (t == HG_SCHED_NEVER) break;
        out[n++] = t;
        at = t - 1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int64_t tmp = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = tmp;
    }
    return n;
}

size_t hg_misfire_plan(const hg_sched_t *sched, hg_misfire_t policy, int64_t last_fire_ms,
                       int64_t now_ms, int64_t threshold_ms, int64_t *fires, size_t cap,
                       int64_t *next_ms)
{
    if (next_ms) *next_ms = hg_sched_next(sched, now_ms);
    if (!sched || (!fires && cap > 0)) return 0;
    if (threshold_ms < 0) threshold_ms = 0;
    /* times <= late_edge are misfired, times in (late_edge, now] on time */
    int64_t late_edge = now_ms - threshold_ms - 1;
    int64_t lo = last_fire_ms > 0 ? last_fire_ms : late_edge;
    if (lo >= now_ms || cap == 0) return 0;

    if (policy == HG_MISFIRE_FIRE_ALL) return s_collect_recent(sched, lo, now_ms, fires, cap);

    int64_t on_lo = lo > late_edge ? lo : late_edge;
    size_t n = 0;
    for (int64_t t = hg_sched_next(sched, on_lo); t != HG_SCHED_NEVER && t <= now_ms && n < cap;
         t = hg_sched_next(sched, t))
        fires[n++] = t;
    if (n > 0 || policy == HG_MISFIRE_SKIP || lo >= late_edge) return n;
    /* fire_once with nothing on time: one run for the latest missed time */
    int64_t missed = hg_sched_prev(sched, late_edge, lo);
    if (missed != HG_SCHED_NEVER) fires[n++] = missed;
    return n;
}
