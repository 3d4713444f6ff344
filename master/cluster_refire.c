/* cluster_refire: the cluster actor's side of refire.h. A finished run
 * record that says a lapsed lease kept its request from the endpoint (or
 * made it unknowable whether it got there) gets the master's decision
 * appended to its error text, and the re-run it calls for goes to the
 * job's holder now, or with the ASSIGN of its next holder.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#include "cluster_internal.h"
#include "hg_keyhash.h"
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

/* Re-runs pending on one job at most: each comes from a record a worker
 * sent, and one that is never reported back must not grow without end. */
#define S_PENDING_MAX 256

void hg_cluster__recovery_add(hg_cluster_t *self, hg_jobrec_t *job, int64_t scheduled_ms,
                              uint32_t attempt, bool refire)
{
    char at[40];
    hg_time_format_ms(scheduled_ms, at, sizeof at);
    if (job->recoveries_n >= S_PENDING_MAX) {
        hg_error("cluster: job %s: %u re-runs pending already; the run scheduled at %s will not "
                 "be run again",
                 hg_jobrec_name(job), job->recoveries_n, at);
        return;
    }
    hg_jobrec_recovery_t *r = realloc(job->recoveries, (job->recoveries_n + 1) * sizeof *r);
    if (!r) {
        hg_error("cluster: job %s: out of memory; the run scheduled at %s will not be run again",
                 hg_jobrec_name(job), at);
        return;
    }
    job->recoveries = r;
    r[job->recoveries_n] = (hg_jobrec_recovery_t){
        .scheduled_ms = scheduled_ms, .attempt = attempt, .refire = refire, .sent_epoch = 0};
    job->recoveries_n++;
    hg_cluster_node_t *holder = job->node[0] ? zhashx_lookup(self->nodes, job->node) : NULL;
    if (holder && HG_NODE_SESSION(holder) && !job->revoking) hg_cluster__send_recoveries(self, job);
}

/* The TRIGGER follows any ASSIGN on the same connection, so the worker
 * holds the job when it arrives. A re-run sent under an earlier epoch went
 * to a holder the job has left since without reporting it (lost with its
 * TRIGGER unread, say): a new holder runs it. Never twice to one node: one
 * that got it and comes back may have run it (its record is resent after
 * its WELCOME), and its own records decide then. */
void hg_cluster__send_recoveries(hg_cluster_t *self, hg_jobrec_t *job)
{
    size_t to = hg_keyhash_str(job->node);
    for (size_t i = 0; i < job->recoveries_n; i++) {
        hg_jobrec_recovery_t *r = &job->recoveries[i];
        if (r->sent_epoch == job->epoch || (r->sent_epoch && r->sent_to == to)) continue;
        if (r->sent_epoch) /* passed on: the earlier holder's record calls for nothing */
            hg_refire_supersede(self->refire, job->id, r->scheduled_ms, r->attempt, r->refire,
                                r->sent_epoch);
        hg_msg_t msg = {.type = HG_MSG_TRIGGER};
        msg.u.trigger.job_id = job->id;
        msg.u.trigger.epoch = job->epoch;
        msg.u.trigger.reason = r->refire ? "refire" : "recover";
        msg.u.trigger.scheduled_ms = r->scheduled_ms;
        msg.u.trigger.attempt = r->attempt;
        hg_cluster__send_to(self, job->node, &msg);
        char at[40];
        hg_time_format_ms(r->scheduled_ms, at, sizeof at);
        hg_info("cluster: job %s: re-running the %s run scheduled at %s on %s (attempt %u%s)",
                hg_jobrec_name(job), r->refire ? "unsent" : "lost", at, job->node, r->attempt,
                r->sent_epoch ? "; its earlier holder never reported it" : "");
        r->sent_epoch = job->epoch;
        r->sent_to = to;
    }
}

bool hg_cluster__recovery_seen(hg_cluster_t *self, const char *name, const hg_run_t *run)
{
    if (!run->reason) return false;
    bool refire = streq(run->reason, "refire");
    if (!refire && !streq(run->reason, "recover")) return false;
    if (hg_refire_superseded(self->refire, run)) return true;
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, run->job_id);
    uint32_t attempt = run->attempt ? run->attempt : 1;
    for (size_t i = 0; job && i < job->recoveries_n; i++) {
        hg_jobrec_recovery_t *r = &job->recoveries[i];
        if (r->scheduled_ms != run->scheduled_ms || r->refire != refire || r->attempt != attempt)
            continue;
        /* Not from the node it went to last: that one reports it. */
        if (r->sent_epoch && r->sent_to != hg_keyhash_str(name)) return true;
        job->recoveries[i] = job->recoveries[--job->recoveries_n];
        return false;
    }
    return false;
}

/* Queue a re-run of run for the job's holder. */
static void s_queue(hg_cluster_t *self, hg_jobrec_t *job, const hg_run_t *run, bool refire)
{
    /* A fire that was never sent keeps its attempt number: the endpoint
     * has not seen that attempt. */
    hg_cluster__recovery_add(self, job, run->scheduled_ms,
                             (run->attempt ? run->attempt : 1) + (refire ? 0 : 1), refire);
}

bool hg_cluster__refire_claim(hg_cluster_t *self, const hg_run_t *run)
{
    return hg_refire_claim(self->refire, run);
}

bool hg_cluster__refire_check(hg_cluster_t *self, const char *name, hg_run_t *run, bool handed_on)
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
    if (action != HG_REFIRE_NONE && handed_on) {
        snprintf(note, sizeof note, "; run again by the job's next holder");
        action = HG_REFIRE_NONE;
    } else if (action != HG_REFIRE_NONE && !hg_refire_claim(self->refire, run)) {
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
