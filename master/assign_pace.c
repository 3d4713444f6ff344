/* assign_pace: the window of ASSIGNs on their way to one worker, sized by
 * how fast it takes them (assign_pace.h). */
#include "assign_pace.h"

static uint32_t s_clamp(uint64_t window)
{
    if (window < HG_PACE_MIN) return HG_PACE_MIN;
    if (window > HG_PACE_MAX) return HG_PACE_MAX;
    return (uint32_t) window;
}

void hg_assign_pace_reset(hg_assign_pace_t *self)
{
    self->window = HG_PACE_INITIAL;
    self->limited = false;
    self->since_ms = 0;
    self->held = 0;
}

void hg_assign_pace_heartbeat(hg_assign_pace_t *self, int64_t now_ms, uint32_t held,
                              uint32_t behind)
{
    if (self->since_ms == 0) {
        self->since_ms = now_ms;
        self->held = held;
        return;
    }
    int64_t interval = now_ms - self->since_ms;
    if (interval < HG_PACE_MIN_INTERVAL_MS) return;
    if (behind > 0) {
        /* Busy reading all along: what it took is what it can take. Jobs
         * it gave up meanwhile (revoked) count as nothing taken. */
        uint64_t took = held > self->held ? held - self->held : 0;
        uint64_t fits = took * HG_PACE_TARGET_MS / (uint64_t) interval;
        self->window = s_clamp(((uint64_t) self->window + fits) / 2);
    } else if (self->limited) {
        self->window = s_clamp((uint64_t) self->window * 2);
    }
    self->limited = false;
    self->since_ms = now_ms;
    self->held = held;
}

bool hg_assign_pace_room(hg_assign_pace_t *self, uint32_t behind)
{
    if (behind < self->window) return true;
    self->limited = true;
    return false;
}
