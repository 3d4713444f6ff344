/* store_gate: a bounded queue of run records between the cluster actor and
 * the store (see store_gate.h). */
#include "store_gate.h"
#include "hg_log.h"

#include <inttypes.h>
#include <string.h>

/* Thresholds, at least 1 so that a tiny queue_max (tests) still opens. */
static size_t s_part(const hg_store_gate_t *g, size_t div)
{
    return g->queue_max / div ? g->queue_max / div : 1;
}

void hg_store_gate_init(hg_store_gate_t *g, size_t queue_max)
{
    memset(g, 0, sizeof *g);
    g->queue_max = queue_max;
}

/* A burst starts: once per burst, say what happens to the records and why. */
static void s_burst_start(hg_store_gate_t *g, int64_t now_mono_ms)
{
    g->shedding = true;
    g->burst_mono_ms = now_mono_ms;
    g->burst_deferred = g->burst_shed = 0;
    hg_warn("store: %zu run records wait for MySQL (store.queue_max %zu): start records are not "
            "written until fewer than %zu wait; from %zu finished records are deferred too (the "
            "workers keep them and send them again)",
            g->pending, g->queue_max, s_part(g, 4), g->queue_max);
}

static void s_burst_end(hg_store_gate_t *g, int64_t now_mono_ms)
{
    g->shedding = false;
    hg_warn("store: back-pressure over after %lld ms: %" PRIu64 " finished records deferred, "
            "%" PRIu64 " start records not written",
            (long long) (now_mono_ms - g->burst_mono_ms), g->burst_deferred, g->burst_shed);
}

bool hg_store_gate_open(hg_store_gate_t *g, bool finished, int64_t now_mono_ms)
{
    if (!g->queue_max) return true;
    if (!g->shedding && g->pending >= s_part(g, 2)) s_burst_start(g, now_mono_ms);
    if (!g->closed && g->pending >= g->queue_max) g->closed = true;
    return finished ? !g->closed : !g->shedding;
}

void hg_store_gate_add(hg_store_gate_t *g, size_t n)
{
    g->pending += n;
    if (g->pending > g->pending_peak) g->pending_peak = g->pending;
}

void hg_store_gate_done(hg_store_gate_t *g, size_t n, int64_t now_mono_ms)
{
    g->pending = n > g->pending ? 0 : g->pending - n;
    if (g->closed && g->pending < s_part(g, 2)) g->closed = false;
    if (g->shedding && g->pending < s_part(g, 4)) s_burst_end(g, now_mono_ms);
}

void hg_store_gate_defer(hg_store_gate_t *g, size_t n)
{
    g->deferred += n;
    g->burst_deferred += n;
}

void hg_store_gate_shed(hg_store_gate_t *g, size_t n)
{
    g->shed_started += n;
    g->burst_shed += n;
}
