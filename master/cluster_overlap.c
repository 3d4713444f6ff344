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
 *   - a holder that keeps the job across a new session (its HELLO says it
 *     holds this version, so no ASSIGN goes) gets JOB_RUNNING afresh
 *     (hg_cluster__overlap_resync): an end it missed meanwhile, or before
 *     a master restart, must not keep its slot closed for good;
 *   - a holder told of runs elsewhere gets the count again every few
 *     seconds while it is not 0, and a 0 once more (hg_cluster__overlap_tick):
 *     the link may drop a JOB_RUNNING within a session (a peer past its
 *     high-water mark), and a lost 0 would keep the slot closed until the
 *     next ASSIGN or session.
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
 * default) never get here. A finished record costs one test: only the
 * jobs whose holder was told of runs elsewhere (`told`) are looked at, as
 * a holder told 0 needs no update (the old holder starts no run after
 * acknowledging the hand-over).
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_log.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

/* How often holders told of runs elsewhere get their count again, and how
 * many of them per tick at most. */
#define S_RESEND_MS  5000
#define S_RESEND_MAX 1000

struct hg_cluster_overlap {
    zhashx_t *counts;    /* "job" and "job/node" -> runs in flight (a uintptr_t) */
    zhashx_t *told;      /* job id text of the jobs whose holder counts runs elsewhere */
    int64_t resend_mono; /* next resend of the counts (hg_cluster__overlap_tick) */
    uint64_t gen;        /* self->inflight_gen the index was built at */
    bool built;          /* the index is valid for gen */
};

static void s_bump(zhashx_t *counts, const char *key)
{
    uintptr_t n = (uintptr_t) zhashx_lookup(counts, key);
    zhashx_update(counts, key, (void *) (n + 1));
}

/* The module's state, made on first use; NULL when out of memory. */
static struct hg_cluster_overlap *s_state(hg_cluster_t *self)
{
    struct hg_cluster_overlap *o = self->overlap;
    if (o) return o;
    o = self->overlap = calloc(1, sizeof *o);
    if (o) {
        o->counts = zhashx_new();
        o->told = zhashx_new();
    }
    if (!o || !o->counts || !o->told) {
        hg_cluster__overlap_destroy(self);
        return NULL;
    }
    return o;
}

/* (Re)build the index of runs in flight of jobs with an overlap policy. */
static struct hg_cluster_overlap *s_index(hg_cluster_t *self)
{
    struct hg_cluster_overlap *o = s_state(self);
    if (!o) return NULL;
    if (o->built && o->gen == self->inflight_gen) return o;
    zhashx_purge(o->counts);
    char key[24 + 200];
    for (hg_cluster_inflight_t *f = zhashx_first(self->inflight); f;
         f = zhashx_next(self->inflight)) {
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, f->job_id);
        if (!job || job->tpl->spec.overlap == HG_OVERLAP_ALLOW) continue;
        snprintf(key, sizeof key, "%" PRIu64, f->job_id);
        s_bump(o->counts, key);
        snprintf(key, sizeof key, "%" PRIu64 "/%s", f->job_id, f->node);
        s_bump(o->counts, key);
    }
    o->gen = self->inflight_gen;
    o->built = true;
    return o;
}

/* Runs of job in flight on nodes other than holder. */
static uint32_t s_elsewhere(hg_cluster_t *self, const hg_jobrec_t *job, const char *holder)
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

/* `told` values: the holder counts runs elsewhere; or it was told 0 after
 * that, which the next resend repeats once (a lost 0 is the one that
 * would keep its slot closed). */
#define S_TOLD_RUNNING ((void *) 1)
#define S_TOLD_ZERO    ((void *) 2)

/* Remember whether the holder of job_id counts runs elsewhere. */
static void s_told(struct hg_cluster_overlap *o, uint64_t job_id, uint32_t running)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    if (running)
        zhashx_update(o->told, key, S_TOLD_RUNNING); /* out of memory: no update, as before */
    else if (zhashx_lookup(o->told, key) == S_TOLD_RUNNING)
        zhashx_update(o->told, key, S_TOLD_ZERO);
    else
        zhashx_delete(o->told, key);
}

uint32_t hg_cluster__overlap_assign_count(hg_cluster_t *self, const hg_jobrec_t *job)
{
    uint32_t n = s_elsewhere(self, job, job->node);
    if (n || self->overlap) {
        struct hg_cluster_overlap *o = s_state(self);
        if (o) s_told(o, job->id, n);
    }
    return n;
}

/* Send the count to the job's holder, and remember it. */
static void s_send_count(hg_cluster_t *self, hg_jobrec_t *job)
{
    hg_msg_t msg = {.type = HG_MSG_JOB_RUNNING};
    msg.u.job_running.job_id = job->id;
    msg.u.job_running.epoch = job->epoch;
    msg.u.job_running.running = s_elsewhere(self, job, job->node);
    struct hg_cluster_overlap *o = s_state(self);
    if (o) s_told(o, job->id, msg.u.job_running.running);
    hg_cluster__send_to(self, job->node, &msg);
}

void hg_cluster__overlap_run_ended(hg_cluster_t *self, uint64_t job_id, const char *run_node)
{
    struct hg_cluster_overlap *o = self->overlap;
    if (!o || zhashx_size(o->told) == 0) return; /* the common case: nobody counts any */
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    if (!zhashx_lookup(o->told, key)) return;
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    if (!job) {
        zhashx_delete(o->told, key); /* deleted meanwhile */
        return;
    }
    /* Its own holder counts its own runs; a job being revoked gets the
     * count with its next ASSIGN. */
    if (!job->node[0] || job->revoking || job->tpl->spec.overlap == HG_OVERLAP_ALLOW ||
        streq(job->node, run_node))
        return;
    hg_cluster_node_t *holder = zhashx_lookup(self->nodes, job->node);
    if (!holder || !HG_NODE_SESSION(holder)) return;
    s_send_count(self, job);
    hg_debug("cluster: job %s: a run on %s ended; told %s how many remain elsewhere",
             hg_jobrec_name(job), run_node, job->node);
}

void hg_cluster__overlap_resync(hg_cluster_t *self, hg_jobrec_t *job)
{
    if (job->tpl->spec.overlap == HG_OVERLAP_ALLOW || !job->node[0]) return;
    s_send_count(self, job);
}

void hg_cluster__overlap_tick(hg_cluster_t *self, int64_t now_mono_ms)
{
    struct hg_cluster_overlap *o = self->overlap;
    if (!o || zhashx_size(o->told) == 0 || now_mono_ms < o->resend_mono) return;
    o->resend_mono = now_mono_ms + S_RESEND_MS;
    /* Ids first: sending updates `told`, which must not change under its
     * own iteration. */
    uint64_t ids[S_RESEND_MAX];
    size_t n = 0;
    for (void *v = zhashx_first(o->told); v && n < S_RESEND_MAX; v = zhashx_next(o->told))
        ids[n++] = strtoull((const char *) zhashx_cursor(o->told), NULL, 10);
    for (size_t i = 0; i < n; i++) {
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, ids[i]);
        if (!job || job->tpl->spec.overlap == HG_OVERLAP_ALLOW) {
            /* Deleted, or edited to allow overlap: nothing counts any more. */
            char key[24];
            snprintf(key, sizeof key, "%" PRIu64, ids[i]);
            zhashx_delete(o->told, key);
            continue;
        }
        if (!job->node[0] || job->revoking) continue; /* its next ASSIGN carries the count */
        hg_cluster_node_t *holder = zhashx_lookup(self->nodes, job->node);
        if (holder && HG_NODE_SESSION(holder)) s_send_count(self, job);
    }
}

void hg_cluster__overlap_destroy(hg_cluster_t *self)
{
    if (!self->overlap) return;
    zhashx_destroy(&self->overlap->counts);
    zhashx_destroy(&self->overlap->told);
    free(self->overlap);
    self->overlap = NULL;
}
