/* cluster_refire: the cluster actor's side of refire.h. A finished run
 * record that says a lapsed lease kept its request from the endpoint (or
 * made it unknowable whether it got there) gets the master's decision
 * appended to its error text, and the re-run it calls for goes to the
 * job's holder now, or with the ASSIGN of its next holder.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_log.h"
#include "hg_time.h"

#include <stdlib.h>
#include <string.h>

#define S_NOTE_MAX 256 /* bytes of the decision appended to a record's error */

/* How the job moved since epoch (see hg_moved_t). */
static hg_moved_t s_moved_since(const hg_jobrec_t *job, uint64_t epoch)
{
    if (!job->handed_from_epoch && !job->handed_last_ms) return HG_MOVED_NOT;
    if (job->handed_from_epoch < epoch) return HG_MOVED_NOT;
    return job->handed_from_epoch == epoch ? HG_MOVED_ONCE : HG_MOVED_MORE;
}

/* Append note to the record's error text (it is stored so). */
static void s_append_note(hg_run_t *run, const char *note)
{
    size_t have = run->error ? strlen(run->error) : 0;
    char *text = realloc(run->error, have + strlen(note) + 1);
    if (!text) return; /* the record keeps the worker's words */
    memcpy(text + have, note, strlen(note) + 1);
    run->error = text;
}

/* Queue a re-run of run for the job's holder; sent now when it has a
 * session (the TRIGGER follows any ASSIGN on the same connection), else
 * with the ASSIGN that places the job next. */
static void s_queue(hg_cluster_t *self, hg_jobrec_t *job, const hg_run_t *run, bool refire)
{
    hg_jobrec_recovery_t *r = realloc(job->recoveries, (job->recoveries_n + 1) * sizeof *r);
    if (!r) {
        hg_error("cluster: job %s: out of memory; a run will not be fired again",
                 hg_jobrec_name(job));
        return;
    }
    job->recoveries = r;
    r[job->recoveries_n].scheduled_ms = run->scheduled_ms;
    /* A fire that was never sent keeps its attempt number: the endpoint
     * has not seen that attempt. */
    r[job->recoveries_n].attempt = (run->attempt ? run->attempt : 1) + (refire ? 0 : 1);
    r[job->recoveries_n].refire = refire;
    job->recoveries_n++;
    hg_cluster_node_t *holder = job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
    if (holder && HG_NODE_SESSION(holder) && !job->revoking) hg_cluster__send_recoveries(self, job);
}

bool hg_cluster__refire_claim(hg_cluster_t *self, const hg_run_t *run)
{
    return hg_refire_claim(self->refire, run);
}

bool hg_cluster__refire_check(hg_cluster_t *self, const char *name, hg_run_t *run)
{
    hg_fence_kind_t kind = hg_refire_kind(run);
    if (kind == HG_FENCE_NONE) return false;
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, run->job_id);
    if (!job) return kind == HG_FENCE_UNSENT; /* deleted or paused: nothing fires it */
    int policy = hg_misfire_parse(job->tpl->spec.misfire);
    hg_refire_ctx_t ctx = {
        .policy = policy < 0 ? HG_MISFIRE_FIRE_ONCE : (hg_misfire_t) policy,
        .recover = job->tpl->spec.recover != 0,
        .held = job->node[0] != '\0',
        .moved = s_moved_since(job, run->epoch),
        .handed_last_ms = job->handed_last_ms,
        .last_fire_ms = job->last_fire_ms,
    };
    char note[S_NOTE_MAX];
    hg_refire_action_t action = hg_refire_decide(kind, run->scheduled_ms, &ctx, note, sizeof note);
    if (action != HG_REFIRE_NONE && !hg_refire_claim(self->refire, run)) {
        snprintf(note, sizeof note, "; already run again once");
        action = HG_REFIRE_NONE;
    }
    s_append_note(run, note);
    char at[40];
    hg_time_format_ms(run->scheduled_ms, at, sizeof at);
    hg_info("cluster: job %s: the run scheduled at %s on %s was %s%s", hg_jobrec_name(job), at,
            name, kind == HG_FENCE_UNSENT ? "not sent" : "perhaps not received", note);
    if (action != HG_REFIRE_NONE) s_queue(self, job, run, action == HG_REFIRE_AGAIN);
    return kind == HG_FENCE_UNSENT;
}
