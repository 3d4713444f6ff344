/* cluster_startdefer: runs in flight tracked in the master's memory, their
 * 'running' rows written only when needed (issue 14).
 *
 * A run used to cost MySQL two writes: its start (the runs row and
 * runs_by_status), then its end. Most runs end within milliseconds, so
 * the start row is overwritten almost at once, and MySQL was half of the
 * CPU per recorded firing. Now every RUN_STARTED is tracked here (a
 * compact entry, runtrack.h) and its row is written only:
 *
 *   - when the run has not finished store.start_write_after later
 *     (default 1 s; the tick writes the due ones in batches), so a long
 *     run shows 'running' in the history while it runs;
 *   - at once for a job with recover set: its re-run after a double
 *     failure (worker and leader lost) relies on the durable 'running'
 *     row a new leader loads (cluster_runlost.c);
 *   - at once when store.start_write_after is 0 (the former behaviour), or
 *     when the run cannot be tracked (the caps below, out of memory);
 *   - as the whole row, status 'lost', when its worker is lost
 *     (hg_cluster__node_gone) or does not claim it after a leader change.
 *
 * A finished record whose start was never written writes the whole row
 * (the store's upsert) and leaves runs_by_status alone (had_start 0).
 * Across a master failover nothing is lost: the worker lists its runs in
 * flight in its HELLO and sends their RUN_STARTED again once welcomed
 * (worker/inflight.c), so the new leader tracks them in turn. A start
 * row due while the store is under back-pressure is shed (not written),
 * as the gate sheds starts (store_gate.h); its run stays tracked.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_log.h"
#include "hg_time.h"
#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Runs in flight tracked, per node and in all. Beyond, a run's start row
 * is written at once (as before issue 14) and it is not closed as lost
 * with its worker. An entry takes about 200 bytes with its table slot. */
#define S_INFLIGHT_NODE_MAX 65536
#define S_INFLIGHT_MAX      (1u << 20)

/* ------------------------------------------------------------ tracking */

hg_cluster_inflight_t *hg_cluster__inflight_add(hg_cluster_t *self, hg_cluster_node_t *node,
                                                const hg_run_t *r)
{
    hg_cluster_inflight_t *old = zhashx_lookup(self->inflight, r->run_id);
    if (old) {
        /* Its start again (sent anew after a HELLO), or a run a new leader
         * loaded from the history: the node claims it; what was written
         * stays written. */
        if (old->unclaimed) {
            old->unclaimed = false;
            node->inflight++;
        } else if (!streq(old->node, node->name)) {
            hg_cluster_node_t *was = zhashx_lookup(self->nodes, old->node);
            if (was && was->inflight) was->inflight--;
            node->inflight++;
        }
        hg_runtrack_set_node(old, node->name);
        self->inflight_gen++; /* its node may have changed (cluster_overlap.c) */
        return old;
    }
    if (node->inflight >= S_INFLIGHT_NODE_MAX || zhashx_size(self->inflight) >= S_INFLIGHT_MAX) {
        if (!self->inflight_capped)
            hg_warn("cluster: too many runs in flight to track (%s has %u, %zu in all); the "
                    "start rows of runs beyond are written at once, and those runs are not "
                    "closed as lost with their worker",
                    node->name, node->inflight, zhashx_size(self->inflight));
        self->inflight_capped = true;
        return NULL;
    }
    hg_cluster_inflight_t *f = hg_runtrack_new(self->names, node->name, r);
    if (!f) return NULL;
    zhashx_insert(self->inflight, f->run_id, f);
    self->inflight_gen++;
    node->inflight++;
    return f;
}

int hg_cluster__inflight_remove(hg_cluster_t *self, hg_cluster_node_t *node, const uint8_t *run_id)
{
    hg_cluster_inflight_t *f =
        zhashx_size(self->inflight) ? zhashx_lookup(self->inflight, run_id) : NULL;
    if (!f) return -1;
    int written = f->written;
    hg_cluster_node_t *owner =
        streq(f->node, node->name) ? node : zhashx_lookup(self->nodes, f->node);
    if (owner && owner->inflight && !f->unclaimed) owner->inflight--;
    zhashx_delete(self->inflight, run_id);
    self->inflight_gen++;
    if (zhashx_size(self->inflight) < S_INFLIGHT_MAX / 2) self->inflight_capped = false;
    return written;
}

/* ---------------------------------------------------------- taking starts */

static bool s_job_recovers(hg_cluster_t *self, uint64_t job_id)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    return job && job->tpl->spec.recover;
}

/* Whether run r (tracked as f, NULL when it could not be) is written now:
 * else its row is due later (queued) or already written. */
static bool s_write_now(hg_cluster_t *self, hg_cluster_inflight_t *f, const hg_run_t *r,
                        int64_t after_ms, int64_t now)
{
    if (!f) return true;
    if (f->written || f->write_at_mono_ms) return false; /* a start sent again */
    if (after_ms <= 0 || s_job_recovers(self, r->job_id)) return true;
    if (hg_startq_push(&self->startq, f->run_id, now + after_ms) != 0) return true;
    f->write_at_mono_ms = now + after_ms;
    self->starts_deferred++;
    return false;
}

/* Lateness is a fact of the fire, known now: observed here for every
 * start, whether or when its row is written (cluster_metrics.c no longer
 * counts committed starts). */
static void s_observe_starts(hg_cluster_t *self, const hg_runs_t *runs)
{
    hg_metrics_t *m = self->args->metrics;
    if (!m) return;
    hg_metrics_runs_begin(m);
    for (size_t i = 0; i < runs->runs_n; i++) {
        const hg_run_t *r = &runs->runs[i];
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
        hg_metrics_run(m, job ? job->tpl->spec.ns : NULL, r, true);
    }
    hg_metrics_runs_end(m);
}

size_t hg_cluster__starts_take(hg_cluster_t *self, hg_cluster_node_t *node, hg_msg_t *msg,
                               bool gate_open)
{
    hg_runs_t *runs = &msg->u.runs;
    int64_t now = hg_mono_ms();
    int64_t after = self->args->store ? self->args->store->start_write_after_ms : 0;
    s_observe_starts(self, runs);
    size_t keep = 0, shed = 0;
    for (size_t i = 0; i < runs->runs_n; i++) {
        hg_run_t *r = &runs->runs[i];
        hg_cluster_inflight_t *f = hg_cluster__inflight_add(self, node, r);
        bool write = s_write_now(self, f, r, after, now);
        if (write && !gate_open) shed++; /* back-pressure: not written (store_gate.h) */
        if (!write || !gate_open) {
            hg_run_clear(r);
            continue;
        }
        if (f) f->written = true;
        if (keep != i) {
            runs->runs[keep] = *r;
            memset(r, 0, sizeof *r);
        }
        keep++;
    }
    runs->runs_n = keep;
    return shed;
}

/* ------------------------------------------------- start rows due later */

static int s_by_node(const void *a, const void *b)
{
    const hg_cluster_inflight_t *x = *(hg_cluster_inflight_t *const *) a;
    const hg_cluster_inflight_t *y = *(hg_cluster_inflight_t *const *) b;
    /* Node names are interned: the same node is the same pointer. */
    return x->node < y->node ? -1 : x->node > y->node;
}

/* Hand the start rows of due[0..n) (one node) to the store. */
static void s_write_starts(hg_cluster_t *self, hg_cluster_inflight_t **due, size_t n)
{
    hg_store_batch_t *batch = calloc(1, sizeof *batch);
    hg_msg_t *m = calloc(1, sizeof *m);
    hg_run_t *runs = calloc(n, sizeof *runs);
    size_t k = 0;
    for (size_t i = 0; i < n && batch && m && runs; i++)
        if (hg_runtrack_to_run(due[i], &runs[k]) == 0) {
            due[i]->written = true;
            k++;
        }
    if (!k) {
        free(batch);
        free(m);
        free(runs);
        return;
    }
    m->type = HG_MSG_RUN_STARTED;
    m->u.runs.runs = runs;
    m->u.runs.runs_n = k;
    snprintf(batch->node, sizeof batch->node, "%s", due[0]->node);
    batch->msg = m;
    batch->no_ack = true; /* starts are never acknowledged */
    hg_cluster__store_runs(self, batch);
    self->starts_written_late += k;
}

void hg_cluster__starts_flush(hg_cluster_t *self, int64_t now_mono_ms)
{
    if (!hg_startq_due(&self->startq, now_mono_ms)) return;
    size_t n = 0, cap = 256;
    hg_cluster_inflight_t **due = malloc(cap * sizeof *due);
    const hg_startq_item_t *it;
    while (due && (it = hg_startq_due(&self->startq, now_mono_ms))) {
        hg_cluster_inflight_t *f =
            zhashx_size(self->inflight) ? zhashx_lookup(self->inflight, it->run_id) : NULL;
        hg_startq_pop(&self->startq);
        /* Finished (or closed as lost) meanwhile: nothing to write. */
        if (!f || f->written || !f->write_at_mono_ms) continue;
        f->write_at_mono_ms = 0;
        if (n == cap) {
            hg_cluster_inflight_t **grown = realloc(due, 2 * cap * sizeof *due);
            if (!grown) break; /* the rest are not written; they stay tracked */
            due = grown;
            cap *= 2;
        }
        due[n++] = f;
    }
    if (n) qsort(due, n, sizeof *due, s_by_node);
    for (size_t i = 0; i < n;) {
        /* Back-pressure, asked again before each batch: a burst of due
         * starts (runs whose finished records the gate deferred stay in
         * flight past start_write_after) must not itself fill the store,
         * or it defers more finished records, whose runs come due in
         * turn. What the gate refuses is shed; the runs stay tracked. */
        if (!hg_store_gate_open(&self->gate, false, now_mono_ms)) {
            hg_store_gate_shed(&self->gate, n - i);
            break;
        }
        size_t j = i;
        while (j < n && j - i < HG_STORE_MAX_BATCH && due[j]->node == due[i]->node)
            j++;
        s_write_starts(self, due + i, j - i);
        i = j;
    }
    free(due);
}
