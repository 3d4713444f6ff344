/* cluster_metrics: what the cluster actor tells metrics.h, from its own
 * state: the records of each committed batch (with the namespace only the
 * job table knows), the node figures once a second, and the next fire
 * time of the jobs that have their own series. */
#include "alert_engine.h"
#include "cluster_internal.h"
#include "hg_sched.h"
#include "hg_time.h"
#include "metrics.h"

#include <inttypes.h>

void hg_cluster__metrics_batch(hg_cluster_t *self, const hg_store_batch_t *batch)
{
    hg_metrics_t *m = self->args->metrics;
    const hg_msg_t *msg = batch->msg;
    if (m && msg && (msg->type == HG_MSG_RUN_STARTED || msg->type == HG_MSG_RUN_FINISHED))
        hg_metrics_store_committed(m, msg->type == HG_MSG_RUN_STARTED ? msg->u.runs.runs_n : 0,
                                   msg->type == HG_MSG_RUN_FINISHED ? msg->u.runs.runs_n : 0);
    /* Starts are observed when they come in (cluster_startdefer.c): most
     * of their rows are never written. */
    if (!m || !msg || msg->type != HG_MSG_RUN_FINISHED) return;
    bool started = false;
    hg_metrics_runs_begin(m);
    for (size_t i = 0; i < msg->u.runs.runs_n; i++) {
        const hg_run_t *r = &msg->u.runs.runs[i];
        hg_jobrec_t *job = hg_jobtab_find(self->jobs, r->job_id);
        hg_metrics_run(m, job ? job->tpl->spec.ns : NULL, r, started);
    }
    hg_metrics_runs_end(m);
}

/* Next fire of a job in the table after now (ms), 0 when none. Parsing
 * the schedule costs a few microseconds; at most a few hundred jobs a
 * second are asked (hg_metrics_next_fire_refresh). */
static int64_t s_next_fire(void *arg, uint64_t job_id)
{
    hg_cluster_t *self = arg;
    hg_jobrec_t *job = hg_jobtab_find(self->jobs, job_id);
    if (!job) return 0;
    const hg_assign_t *spec = &job->tpl->spec;
    hg_sched_opts_t opts = {.tz = spec->tz, .start_ms = job->start_ms, .end_ms = job->end_ms};
    hg_sched_t *sched = NULL;
    char err[256];
    if (!spec->schedule || hg_sched_parse(spec->schedule, &opts, &sched, err, sizeof err) != 0)
        return 0;
    int64_t now = hg_now_ms();
    int64_t next = hg_sched_next(sched, job->last_fire_ms > now ? job->last_fire_ms : now);
    hg_sched_destroy(&sched);
    return next == HG_SCHED_NEVER ? 0 : next;
}

void hg_cluster__metrics_tick(hg_cluster_t *self)
{
    hg_metrics_t *m = self->args->metrics;
    if (!m) return;
    size_t n = zhashx_size(self->nodes), i = 0;
    hg_metrics_node_t *nodes = n ? calloc(n, sizeof *nodes) : NULL;
    for (hg_cluster_node_t *node = nodes ? zhashx_first(self->nodes) : NULL; node && i < n;
         node = zhashx_next(self->nodes), i++) {
        nodes[i].name = node->name;
        nodes[i].state = hg_cluster__node_state_name(node->state);
        nodes[i].jobs = node->jobs;
        bool live = HG_NODE_LIVE(node);
        nodes[i].running = live ? node->running : 0;
        nodes[i].unacked = live ? node->unacked : 0;
    }
    hg_metrics_nodes_set(m, nodes, nodes ? i : 0);
    free(nodes);
    hg_metrics_alerts_set(m, hg_alert_feed_dropped(), hg_alert_queue_dropped());
    hg_metrics_starts_set(m, zhashx_size(self->inflight), self->starts_deferred,
                          self->starts_written_late);
    if (self->leading) hg_metrics_next_fire_refresh(m, hg_now_ms(), 256, s_next_fire, self);
}
