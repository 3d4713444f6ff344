/* store_gate: a bounded queue of run records between the cluster actor and
 * the store (see store_gate.h). */
#include "store_gate.h"
#include "hg_log.h"

#include <inttypes.h>
#include <string.h>

void hg_store_gate_init(hg_store_gate_t *g, size_t queue_max)
{
    memset(g, 0, sizeof *g);
    g->queue_max = queue_max;
}

/* Closing: once per burst, say what happens to the records and why. */
static void s_close(hg_store_gate_t *g, int64_t now_mono_ms)
{
    g->closed = true;
    g->burst_mono_ms = now_mono_ms;
    g->burst_deferred = g->burst_shed = 0;
    hg_warn("store: %zu run records wait for MySQL (store.queue_max %zu); finished records are "
            "deferred (the workers keep them and send them again) and start records are not "
            "written until the queue is below %zu",
            g->pending, g->queue_max, g->queue_max / 2);
}

static void s_open(hg_store_gate_t *g, int64_t now_mono_ms)
{
    g->closed = false;
    hg_warn("store: back-pressure over after %lld ms: %" PRIu64 " finished records deferred, "
            "%" PRIu64 " start records not written",
            (long long) (now_mono_ms - g->burst_mono_ms), g->burst_deferred, g->burst_shed);
}

bool hg_store_gate_open(hg_store_gate_t *g, int64_t now_mono_ms)
{
    if (!g->queue_max) return true;
    if (!g->closed && g->pending >= g->queue_max) s_close(g, now_mono_ms);
    return !g->closed;
}

void hg_store_gate_add(hg_store_gate_t *g, size_t n)
{
    g->pending += n;
    if (g->pending > g->pending_peak) g->pending_peak = g->pending;
}

void hg_store_gate_done(hg_store_gate_t *g, size_t n, int64_t now_mono_ms)
{
    g->pending = n > g->pending ? 0 : g->pending - n;
    if (g->closed && g->pending < g->queue_max / 2) s_open(g, now_mono_ms);
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
