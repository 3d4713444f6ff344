/* cluster_overlap: the master's part in keeping a job's overlap policy
 * across a move (issue 11; docs/jobs.md "Overlap").
 *
 * The worker that holds a job decides its overlap policy from the runs it
 * has in flight. When the job moves while runs of it are still in flight
 * on the old holder (an operator's drain, a leaving worker, a
 * consistent_hash rebalance, an edit of its executor), the new holder
 * would start from zero and `forbid` could run the job twice at once. So:
 *
 *   - every ASSIGN of a job whose overlap is not allow carries `running`,
 *     the runs of the job this master has in flight (self->inflight) on
 *     OTHER nodes (hg_cluster__overlap_elsewhere);
 *   - when one of those ends (its RUN_FINISHED arrives, or it is closed as
 *     lost with its worker or for want of a claim), the holder gets
 *     JOB_RUNNING with the new count (hg_cluster__overlap_run_ended), and
 *     its held fires may start.
 *
 * "In flight" is what the master knows: runs whose RUN_STARTED it took.
 * A worker sends RUN_STARTED at once by default and flushes its records
 * before acknowledging a REVOKE, so a graceful hand-over never misses one;
 * with report.started_delay set, or while the store gate sheds starts
 * (store_gate.h), a short run may not be counted.
 *
 * Counting walks the inflight table. To keep a placement pass of many
 * such jobs from walking it once per job, the walk builds an index (job ->
 * runs, job/node -> runs) of the jobs with an overlap policy, reused until
 * the table changes (self->inflight_gen). Jobs that allow overlap (the
 * default) never get here.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_log.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

struct hg_cluster_overlap {
    zhashx_t *counts; /* "job" and "job/node" -> runs in flight (a uintptr_t) */
    uint64_t gen;     /* self->inflight_gen the index was built at */
    bool built;       /* the index is valid for gen */
};

static void s_bump(zhashx_t *counts, const char *key)
{
    uintptr_t n = (uintptr_t) zhashx_lookup(counts, key);
    zhashx_update(counts, key, (void *) (n + 1));
}

/* (Re)build the index of runs in flight of jobs with an overlap policy. */
static struct hg_cluster_overlap *s_index(hg_cluster_t *self)
{
    struct hg_cluster_overlap *o = self->overlap;
    if (!o) {
        o = self->overlap = calloc(1, sizeof *o);
        if (o) o->counts = zhashx_new();
        if (!o || !o->counts) {
            hg_cluster__overlap_destroy(self);
            return NULL;
        }
    }
    if (o->built && o->gen == self->inflight_gen) return o;
    zhashx_purge(o->counts);
    char key[24 + 200];
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight)) {
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, f->run.job_id);
        if (!job || job->tpl->spec.overlap == HG_OVERLAP_ALLOW) continue;
        snprintf(key, sizeof key, "%" PRIu64, f->run.job_id);
        s_bump(o->counts, key);
        snprintf(key, sizeof key, "%" PRIu64 "/%s", f->run.job_id, f->node);
        s_bump(o->counts, key);
    }
    o->gen = self->inflight_gen;
    o->built = true;
    return o;
}

uint32_t hg_cluster__overlap_elsewhere(hg_cluster_t *self, const hg_jobrec_t *job,
                                       const char *holder)
{
    if (job->tpl->spec.overlap == HG_OVERLAP_ALLOW || zhashx_size(self->inflight) == 0) return 0;
    struct hg_cluster_overlap *o = s_index(self);
    if (!o) return 0; /* out of memory: as before this count existed */
    char key[24 + 200];
    snprintf(key, sizeof key, "%" PRIu64, job->id);
    uintptr_t all = (uintptr_t) zhashx_lookup(o->counts, key);
    if (!all) return 0;
    snprintf(key, sizeof key, "%" PRIu64 "/%s", job->id, holder ? holder : "");
    uintptr_t here = (uintptr_t) zhashx_lookup(o->counts, key);
    uintptr_t n = all > here ? all - here : 0;
    return n > HG_PROTO_MAX_JOB_RUNNING ? HG_PROTO_MAX_JOB_RUNNING : (uint32_t) n;
}

void hg_cluster__overlap_run_ended(hg_cluster_t *self, uint64_t job_id, const char *run_node)
{
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    /* Its own holder counts its own runs; a job being revoked gets the
     * count with its next ASSIGN. */
    if (!job || !job->node[0] || job->revoking || job->tpl->spec.overlap == HG_OVERLAP_ALLOW ||
        streq(job->node, run_node))
        return;
    hg_cluster_node_t *holder = zhashx_lookup(self->nodes, job->node);
    if (!holder || !HG_NODE_SESSION(holder)) return;
    hg_msg_t msg = {.type = HG_MSG_JOB_RUNNING};
    msg.u.job_running.job_id = job->id;
    msg.u.job_running.epoch = job->epoch;
    msg.u.job_running.running = hg_cluster__overlap_elsewhere(self, job, job->node);
    hg_cluster__send_to(self, job->node, &msg);
    hg_debug("cluster: job %s: a run on %s ended; %u still in flight elsewhere, told %s",
             hg_jobrec_name(job), run_node, msg.u.job_running.running, job->node);
}

void hg_cluster__overlap_destroy(hg_cluster_t *self)
{
    if (!self->overlap) return;
    zhashx_destroy(&self->overlap->counts);
    free(self->overlap);
    self->overlap = NULL;
}
