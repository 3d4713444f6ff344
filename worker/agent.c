/* agent: session, lease, firing and run bookkeeping of one worker.
 *
 * Its parts of its own (issue 11): the socket and the choice of master
 * (master_link.h), the run records owed to the master and their resend
 * (run_records.h), the timer heap (timer_heap.h) and the hand-over of
 * plug-in runs to their executor (plugin_launch.h). What stays here: the
 * session (HELLO, heartbeats, lease), master messages, firing (misfire,
 * overlap, retries, backfill) and the count of runs in flight.
 *
 * Lease rule (DESIGN.md section 3): every heartbeat carries a sequence
 * number; we remember when (monotonic) we sent it. When the master echoes
 * a sequence number, the lease runs until that send time + lease_ms. The
 * lease is measured from the *send* time, not from the echo's arrival, so a
 * slow echo can only shorten it; the master waits lease + margin after the
 * last heartbeat it *received* before moving our jobs, so by then we have
 * stopped firing them. */
#include "agent.h"
#include "backfill.h"
#include "fire_plan.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_retry.h"
#include "hg_runid.h"
#include "hg_sched.h"
#include "hg_stop.h"
#include "hg_time.h"
#include "dep_inject.h"
#include "hg_zsock.h"
#include "http_exec.h"
#include "inflight.h"
#include "master_link.h"
#include "overlap.h"
#include "overload.h"
#include "plugin_cache.h"
#include "plugin_exec.h"
#include "plugin_launch.h"
#include "retry.h"
#include "run_records.h"
#include "timer_heap.h"
#include "wjobtab.h"
#include "worker_metrics.h"
#include "backlog.h"

#include <czmq.h>
#include <inttypes.h>
#include <malloc.h>

#define S_HB_RING 256 /* heartbeats remembered for echo matching */
/* Finished plug-in runs wait for the next wake-up when it is this close. */
#define S_RESULTS_LAZY_MS 5
#define S_MISFIRE_CAP     1000 /* fire_all catches up at most this many times at once */
#define S_CACHE_TICK      250  /* ms between checks of running plug-in fetches */
/* A heartbeat goes out early once this many ASSIGNs were taken since the
 * last one: the master sends a node at most a window of ASSIGNs beyond the
 * count its heartbeats report, so placing a million jobs went at the pace
 * of the heartbeat interval, with the worker idle half of the time. */
#define S_HB_EARLY_ASSIGNS 10000
/* After this many ASSIGNs (or REVOKEs) the freed memory of their messages
 * goes back to the system (malloc_trim, at the next heartbeat): a burst of
 * placements left the heap with pages of decoded messages and socket
 * buffers that malloc kept, some 60 bytes a job on top of the job table
 * (issue 14). */
#define S_TRIM_ASSIGNS 10000
/* A held job: its record in the job table (wjobtab.h). */
typedef hg_wjob_t s_job_t;

typedef struct {
    const hg_agent_config_t *cfg;  /* settings */
    hg_wlink_t link;               /* the master we talk to (master_link.h) */
    zactor_t *http;                /* HTTP executor */
    zactor_t *plugins;             /* plug-in executor */
    zsock_t *plugin_results;       /* PULL: thread-mode runs straight from the pool */
    hg_wplaunch_t *plaunch;        /* plug-in runs on their way to the executor */
    hg_overload_t http_skips;      /* HTTP runs skipped for overload, logged per burst */
    hg_overload_t plugin_skips;    /* plug-in runs skipped for overload, logged per burst */
    hg_plugin_cache_t *cache;      /* plug-ins by hash, and their fetches */
    int64_t next_cache_tick;       /* monotonic time of the next cache tick */
    hg_wjobtab_t *jobs;            /* the jobs we hold, by id */
    hg_wheap_t *heap;              /* held jobs by next fire time (timer_heap.h) */
    uint64_t hb_seq[S_HB_RING];    /* heartbeat seq in each ring slot */
    int64_t hb_sent[S_HB_RING];    /* monotonic send time of that heartbeat */
    int64_t lease_until;           /* monotonic ms; no firing at or after it */
    hg_http_fence_t fence;         /* the lease as the HTTP executor checks it at send time */
    int64_t next_hb;               /* monotonic time of the next heartbeat */
    uint32_t assigned_since_hb;    /* ASSIGNs taken since the last heartbeat */
    uint32_t placed_since_trim;    /* ASSIGNs and REVOKEs taken since the last malloc_trim */
    uint64_t rx_seq;               /* seq of the last message from the master (heartbeat echo) */
    bool lease_warned;             /* "lease expired" logged for this outage */
    int64_t echo_rtt;              /* how long the echo that last renewed the lease took, ms */
    uint32_t assigns_since_echo;   /* ASSIGNs read since that echo */
    hg_wrecords_t *records;        /* run records owed to the master (run_records.h) */
    hg_backlog_t *backlog;         /* fires not run while records wait too long (backlog.h) */
    uint32_t running;              /* runs in flight */
    uint64_t fired, dropped_fires; /* counters for the log */
    bool leaving;                  /* SIGTERM seen: no new fires, finishing up */
    int64_t leave_deadline;        /* monotonic ms: leave even if runs are still going */
    hg_wretry_t *retries;          /* pending retries (retry.h) */
    hg_overlap_state_t *overlap;   /* fires held back by an overlap policy (overlap.h) */
    hg_backfill_t *backfills;      /* backfill fires waiting for a slot (backfill.h) */
    hg_winflight_t *inflight;      /* run ids in flight, listed in HELLO (inflight.h) */
} s_agent_t;

/* Arm the job's next fire at scheduled time sched_ms (or none), delayed
 * by a fresh draw of its jitter: the fire happens late, never early, and
 * its run keeps sched_ms as its scheduled time. */
static void s_set_next(s_job_t *job, int64_t sched_ms)
{
    job->delay_ms =
        sched_ms == HG_SCHED_NEVER ? 0 : (uint32_t) hg_fire_jitter_ms(hg_wjob_tpl(job)->jitter_ms);
    job->next_ms = sched_ms == HG_SCHED_NEVER ? sched_ms : sched_ms + job->delay_ms;
}

/* -------------------------------------------------------------- sending */

static int s_send(s_agent_t *self, hg_msg_t *msg)
{
    return hg_wlink_send(&self->link, msg);
}

/* s_send for the run records module (run_records.h). */
static int s_send_cb(void *arg, hg_msg_t *msg)
{
    return s_send(arg, msg);
}

static void s_send_hello(s_agent_t *self)
{
    hg_msg_t msg = {.type = HG_MSG_HELLO};
    hg_hello_t *h = &msg.u.hello;
    h->node = (char *) self->cfg->name;
    h->version = HG_VERSION;
    h->labels = self->cfg->labels;
    h->labels_n = self->cfg->labels_n;
    h->capacity = self->cfg->capacity;
    h->unacked = (uint32_t) hg_wrecords_unacked(self->records);
    h->held_n = hg_wjobtab_size(self->jobs);
    h->held = h->held_n ? calloc(h->held_n, sizeof *h->held) : NULL;
    size_t i = 0, cursor = 0;
    for (s_job_t *job; h->held && (job = hg_wjobtab_next(self->jobs, &cursor));) {
        h->held[i].job_id = job->id;
        h->held[i].epoch = job->epoch;
        h->held[i].last_fire_ms = job->last_fire_ms;
        h->held[i].version = job->version;
        i++;
    }
    h->plugins = hg_plugin_cache_list(self->cache, &h->plugins_n);
    /* The runs in flight: a new leader closes as lost the runs its history
     * says are running that no worker lists (issue 15). */
    size_t runs_total = 0;
    hg_inflight_run_t *runs = hg_winflight_list(self->inflight, &runs_total);
    h->runs_listed = runs || !hg_winflight_size(self->inflight); /* not when out of memory */
    /* More held jobs (or runs) than one message lists go in parts, back to
     * back on this connection; the master answers the last one. */
    hg_held_t *all = h->held;
    size_t total = h->held ? h->held_n : 0;
    for (size_t off = 0, roff = 0, part = 0; off < total || roff < runs_total || part == 0;
         part++) {
        size_t n = total - off < HG_PROTO_MAX_HELD ? total - off : HG_PROTO_MAX_HELD;
        size_t rn =
            runs_total - roff < HG_PROTO_MAX_RUNNING ? runs_total - roff : HG_PROTO_MAX_RUNNING;
        h->held = n ? all + off : NULL;
        h->held_n = n;
        h->runs = rn ? runs + roff : NULL;
        h->runs_n = rn;
        h->part = (uint32_t) part;
        off += n;
        roff += rn;
        h->more = off < total || roff < runs_total;
        if (s_send(self, &msg) != 0) break; /* HELLO is repeated until answered */
    }
    free(all);
    free(runs);
    free(h->plugins);
}

/* 0, or HG_EUNAVAIL when there is no connection to the master. */
static int s_send_heartbeat(s_agent_t *self)
{
    hg_msg_t msg = {.type = HG_MSG_HEARTBEAT};
    msg.u.heartbeat.running = self->running;
    msg.u.heartbeat.jobs = (uint32_t) hg_wjobtab_size(self->jobs);
    msg.u.heartbeat.unacked = (uint32_t) hg_wrecords_unacked(self->records);
    hg_worker_metrics_state(self->cfg->metrics, msg.u.heartbeat.jobs, self->running,
                            msg.u.heartbeat.unacked, self->link.welcomed);
    /* What we have read: the master holds back plug-in chunks beyond it. */
    msg.u.heartbeat.echo = self->rx_seq;
    /* s_send assigns seq = self->link.seq + 1; remember its send time. */
    uint64_t seq = self->link.seq + 1;
    self->hb_seq[seq % S_HB_RING] = seq;
    self->hb_sent[seq % S_HB_RING] = hg_mono_ms();
    self->assigned_since_hb = 0;
    int rc = s_send(self, &msg);
    /* After the send: the lease's clock started at hb_sent. */
    if (self->placed_since_trim >= S_TRIM_ASSIGNS) {
        malloc_trim(0);
        self->placed_since_trim = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ runs */

static bool s_lease_valid(s_agent_t *self)
{
    return self->link.welcomed && hg_mono_ms() < self->lease_until;
}

/* Queue the RUN_STARTED of a run that begins now. A job with recover set
 * reports it at once: the master must know the run to re-run it if this
 * worker dies, however short it is. */
static void s_queue_started(s_agent_t *self, const s_job_t *job, const hg_run_t *run)
{
    hg_wrecords_started(self->records, run, hg_wjob_tpl(job)->recover);
}

static s_job_t *s_job_by_id(s_agent_t *self, uint64_t job_id)
{
    return hg_wjobtab_find(self->jobs, job_id);
}

static void s_overlap_next(s_agent_t *self, s_job_t *job);
static void s_run_done(s_agent_t *self, hg_run_t *run);

/* s_run_done for the plug-in launcher (plugin_launch.h). */
static void s_run_done_cb(void *arg, hg_run_t *run)
{
    s_run_done(arg, run);
}

/* A run that was started (counted in running) is over, whichever executor
 * ran it: re-arm a fixed-delay job and keep the record for the master.
 * Takes the run's members. */
static void s_run_done(s_agent_t *self, hg_run_t *run)
{
    s_job_t *job = s_job_by_id(self, run->job_id);
    if (job && job->running) job->running--;
    if (job && job->running == 0 && hg_sched_is_fixed_delay(hg_wjob_sched(job)) &&
        job->next_ms == HG_SCHED_NEVER) {
        int64_t finished = run->finished_ms ? run->finished_ms : hg_now_ms();
        s_set_next(job, hg_sched_next(hg_wjob_sched(job), finished));
        hg_wheap_update(self->heap, job);
    }
    if (self->running) self->running--;
    hg_winflight_remove(self->inflight, run->run_id);
    if (!run->finished_ms) run->finished_ms = hg_now_ms();
    if (!run->started_ms) run->started_ms = run->finished_ms;
    hg_wretry_on_done(self->retries, job ? hg_wjob_tpl(job) : NULL, run);
    /* A chain's records go at once: the master must know a pending retry
     * to hand it on if this worker dies before the next attempt. */
    if ((job && hg_wjob_tpl(job)->recover) || run->retry_at_ms) hg_wrecords_urgent(self->records);
    hg_worker_metrics_run(self->cfg->metrics, run);
    hg_wrecords_finished(self->records, run);
    if (job && hg_wjob_tpl(job)->overlap != HG_OVERLAP_ALLOW) s_overlap_next(self, job);
}

/* A plug-in run: counted as running, then built and handed over
 * (plugin_launch.h). Takes run's members. */
static void s_start_plugin_run(s_agent_t *self, s_job_t *job, hg_run_t *run, hg_kv_t *overrides,
                               size_t overrides_n)
{
    s_queue_started(self, job, run);
    job->running++;
    self->running++;
    hg_winflight_add_run(self->inflight, run);
    hg_wplaunch_start(self->plaunch, job, run, overrides, overrides_n);
}

/* plug-in cache callbacks */
static void s_cache_send_get(void *arg, const hg_plugin_get_t *get)
{
    s_agent_t *self = arg;
    hg_msg_t msg = {.type = HG_MSG_PLUGIN_GET};
    msg.u.plugin_get = *get;
    hg_debug("asking the master for plug-in %s from byte %" PRIu64, get->sha256, get->offset);
    s_send(self, &msg);
}

static void s_cache_release(void *arg, void *item, const char *path, const char *error)
{
    s_agent_t *self = arg;
    hg_wplaunch_release(self->plaunch, item, path, error);
}

static void s_cache_failed(void *arg, const char *sha256, const char *error, bool repeat)
{
    (void) arg;
    (void) sha256;
    if (repeat)
        hg_debug("%s", error);
    else
        hg_error("%s", error);
}

static void s_launch_run(s_agent_t *self, s_job_t *job, int64_t scheduled_ms, uint32_t attempt,
                         const char *reason, hg_kv_t *overrides, size_t overrides_n,
                         const uint8_t *first_run_id)
{
    hg_run_t run = {0};
    if (first_run_id) memcpy(run.first_run_id, first_run_id, HG_PROTO_RUN_ID_SIZE);
    int64_t now = hg_now_ms();
    hg_runid_new(run.run_id, now);
    run.job_id = job->id;
    run.epoch = job->epoch;
    run.job_name = strdup(hg_wjob_name(job));
    run.scheduled_ms = scheduled_ms;
    run.started_ms = now;
    run.attempt = attempt ? attempt : 1;
    run.reason = strdup(reason);
    run.status = HG_RUN_RUNNING;
    self->fired++;
    if (strcmp(hg_wjob_tpl(job)->kind, "plugin") == 0) {
        s_start_plugin_run(self, job, &run, overrides, overrides_n);
        return;
    }
    if (strcmp(hg_wjob_tpl(job)->kind, "http") != 0) {
        run.status = HG_RUN_FAILED;
        run.finished_ms = now;
        char msg[160];
        snprintf(msg, sizeof msg, "job kind \"%s\" is not supported by this worker",
                 hg_wjob_tpl(job)->kind);
        run.error = strdup(msg);
        hg_wrecords_finished(self->records, &run);
        return;
    }
    s_queue_started(self, job, &run);
    hg_http_task_t *task = hg_http_task_new();
    hg_assign_t copy = {0}, spec;
    hg_wjob_spec(job, &spec);
    if (!task || hg_assign_copy(&copy, &spec) != 0) {
        run.status = HG_RUN_FAILED;
        run.finished_ms = hg_now_ms();
        run.error = strdup("worker out of memory");
        hg_http_task_destroy(&task);
        hg_assign_clear(&copy);
        hg_wrecords_finished(self->records, &run);
        return;
    }
    task->run = run;
    task->http = copy.http;
    memset(&copy.http, 0, sizeof copy.http);
    if (overrides_n && hg_dep_inject_http(&task->http, overrides, overrides_n) != 0)
        hg_warn("job %s: parent results not added to the request", hg_wjob_name(job));
    task->ns = copy.ns;
    copy.ns = NULL;
    task->timeout_ms = hg_wjob_tpl(job)->timeout_ms;
    task->fence = &self->fence;
    task->fence_generation = atomic_load(&self->fence.generation);
    task->shard_index = hg_wjob_tpl(job)->shard_index;
    task->shard_total = hg_wjob_tpl(job)->shard_total;
    hg_assign_clear(&copy);
    job->running++;
    self->running++;
    hg_winflight_add_run(self->inflight, &task->run);
    if (hg_http_exec_submit(self->http, &task) != 0) {
        task->run.status = HG_RUN_FAILED;
        task->run.finished_ms = hg_now_ms();
        task->run.error = strdup("HTTP executor refused the run");
        hg_error("HTTP executor refused a run of job %s", hg_wjob_name(job));
        s_run_done(self, &task->run);
        hg_http_task_destroy(&task);
    }
}

/* ------------------------------------------------ overlap policy, retries */

/* Record a fire the overlap policy did not start (skipped, "overlap: ..."). */
static void s_record_skipped(s_agent_t *self, s_job_t *job, int64_t scheduled_ms, uint32_t attempt,
                             const char *reason, const char *why)
{
    hg_run_t run = {0};
    int64_t now = hg_now_ms();
    hg_runid_new(run.run_id, now);
    run.job_id = job->id;
    run.epoch = job->epoch;
    run.job_name = strdup(hg_wjob_name(job));
    run.scheduled_ms = scheduled_ms;
    run.started_ms = run.finished_ms = now;
    run.attempt = attempt ? attempt : 1;
    run.reason = strdup(reason);
    run.status = HG_RUN_SKIPPED;
    char text[200], elsewhere[48] = "";
    uint32_t remote = hg_overlap_remote(self->overlap, job->id);
    if (remote) snprintf(elsewhere, sizeof elsewhere, " here, %u on another worker", remote);
    snprintf(text, sizeof text, "overlap: %s (%u run(s) in flight%s, max_concurrent %u)", why,
             job->running, elsewhere,
             hg_wjob_tpl(job)->max_concurrent ? hg_wjob_tpl(job)->max_concurrent : 1);
    run.error = strdup(text);
    hg_wrecords_finished(self->records, &run);
}

/* Cancel every run of the job in flight (overlap "replace"). */
static void s_cancel_job_runs(s_agent_t *self, s_job_t *job, const char *why)
{
    hg_http_exec_cancel(self->http, job->id, NULL, why);
    hg_plugin_exec_cancel(self->plugins, job->id, NULL, why);
}

/* Start a fire as the job's overlap policy says (overlap.h): now, never
 * (skipped), or once a slot frees. */
static void s_start_fire(s_agent_t *self, s_job_t *job, int64_t scheduled_ms, uint32_t attempt,
                         const char *reason, hg_kv_t *overrides, size_t overrides_n,
                         const uint8_t *first_run_id, bool force)
{
    hg_assign_t spec;
    hg_wjob_spec(job, &spec);
    hg_overlap_action_t act = hg_overlap_decide(self->overlap, &spec, job->running, force);
    /* A backfill fire waits its turn, in order, rather than being skipped
     * or cancelling a run (backfill.h). */
    bool backfill = !force && spec.overlap != HG_OVERLAP_ALLOW && streq(reason, "backfill") &&
                    (act != HG_OVERLAP_START || hg_backfill_holds(self->backfills, job->id));
    if (act == HG_OVERLAP_START && !backfill) {
        s_launch_run(self, job, scheduled_ms, attempt, reason, overrides, overrides_n,
                     first_run_id);
        return;
    }
    if (act == HG_OVERLAP_SKIP && !backfill) {
        s_record_skipped(self, job, scheduled_ms, attempt, reason,
                         hg_wjob_tpl(job)->overlap == HG_OVERLAP_QUEUE ? "queue full"
                                                                       : "job running");
        return;
    }
    hg_overlap_fire_t f = {.job_id = job->id, .scheduled_ms = scheduled_ms, .attempt = attempt};
    snprintf(f.reason, sizeof f.reason, "%s", reason);
    if (first_run_id) memcpy(f.first_run_id, first_run_id, HG_PROTO_RUN_ID_SIZE);
    hg_wplaunch_kv_dup(overrides, overrides_n, &f.overrides, &f.overrides_n);
    if (backfill) {
        if (hg_backfill_push(self->backfills, &f) != 0)
            s_record_skipped(self, job, scheduled_ms, attempt, reason, "out of memory");
        hg_overlap_fire_clear(&f);
        return;
    }
    if (act == HG_OVERLAP_CANCEL)
        s_cancel_job_runs(self, job, "replaced by a newer fire (overlap replace)");
    hg_overlap_fire_t dropped = {0};
    if (hg_overlap_push(self->overlap, &spec, &f, &dropped)) {
        s_record_skipped(self, job, dropped.scheduled_ms, dropped.attempt, dropped.reason,
                         "replaced by a newer fire while waiting");
        hg_overlap_fire_clear(&dropped);
    }
    hg_overlap_fire_clear(&f);
}

static void s_start_run(s_agent_t *self, s_job_t *job, int64_t scheduled_ms, uint32_t attempt,
                        const char *reason, hg_kv_t *overrides, size_t overrides_n)
{
    s_start_fire(self, job, scheduled_ms, attempt, reason, overrides, overrides_n, NULL, false);
}

/* A fire of the job's schedule: run, unless so many records wait for the
 * master that running more would only make them wait longer; then it is
 * tallied, and recorded with the job's other fires not run (backlog.h). */
static void s_fire_scheduled(s_agent_t *self, s_job_t *job, int64_t scheduled_ms,
                             const char *reason)
{
    if (hg_backlog_full(self->backlog, hg_wrecords_unacked(self->records), hg_mono_ms()) &&
        hg_backlog_skip(self->backlog, job->id, scheduled_ms) == 0)
        return;
    s_start_run(self, job, scheduled_ms, 1, reason, NULL, 0);
}

/* Backlog records built per pass of the loop: a worker holding hundreds
 * of thousands of jobs must not stall its timers building one per job in
 * one go. */
#define S_BACKLOG_PER_PASS 2000

/* One skipped record per job for the fires the backlog kept from running,
 * at most max of them (SIZE_MAX: all, when leaving). */
static void s_record_backlog(s_agent_t *self, size_t max)
{
    hg_backlog_tally_t t;
    size_t held = hg_wrecords_unacked(self->records);
    for (size_t k = 0; k < max && hg_backlog_pop(self->backlog, &t); k++) {
        s_job_t *job = s_job_by_id(self, t.job_id);
        hg_run_t run = {0};
        int64_t now = hg_now_ms();
        hg_runid_new(run.run_id, now);
        run.job_id = t.job_id;
        run.epoch = job ? job->epoch : 0;
        run.job_name = job ? strdup(hg_wjob_name(job)) : NULL;
        run.scheduled_ms = t.first_ms;
        run.started_ms = run.finished_ms = now;
        run.attempt = 1;
        run.reason = strdup("schedule");
        run.status = HG_RUN_SKIPPED;
        run.fires = t.fires;
        char first[40], last[40], text[300];
        hg_time_format_ms(t.first_ms, first, sizeof first);
        hg_time_format_ms(t.last_ms, last, sizeof last);
        snprintf(text, sizeof text,
                 "backlog: %u fire(s) scheduled from %s to %s not run: %zu run records were "
                 "waiting for the master (its store is behind)",
                 t.fires, first, last, held);
        run.error = strdup(text);
        hg_wrecords_finished(self->records, &run);
    }
}

/* A run of the job ended: start the fires held back that may start now. */
static void s_overlap_next(s_agent_t *self, s_job_t *job)
{
    hg_overlap_fire_t f;
    hg_assign_t spec;
    hg_wjob_spec(job, &spec);
    while (!self->leaving && hg_overlap_pop(self->overlap, &spec, job->running, &f)) {
        bool chained = !hg_retry_id_none(f.first_run_id);
        s_launch_run(self, job, f.scheduled_ms, f.attempt, f.reason, f.overrides, f.overrides_n,
                     chained ? f.first_run_id : NULL);
        hg_overlap_fire_clear(&f);
    }
    /* Then the backfill's fires, in order, while a slot is free. */
    while (!self->leaving &&
           hg_overlap_decide(self->overlap, &spec, job->running, false) == HG_OVERLAP_START &&
           hg_backfill_pop(self->backfills, job->id, &f)) {
        s_launch_run(self, job, f.scheduled_ms, f.attempt, f.reason, f.overrides, f.overrides_n,
                     NULL);
        hg_overlap_fire_clear(&f);
    }
}

/* Start the retries that are due. One that finds its job gone is dropped
 * (the job's holder has it from the master); one the overlap policy would
 * skip waits a little and asks again, so a chain never ends by overlap
 * (nor, under replace, cancels a newer fire's run). */
static void s_fire_retries(s_agent_t *self)
{
    hg_wretry_item_t it;
    int64_t now = hg_now_ms();
    hg_wretry_item_t later[64];
    size_t later_n = 0;
    while (later_n < 64 && hg_wretry_pop_due(self->retries, now, &it)) {
        s_job_t *job = s_job_by_id(self, it.job_id);
        if (!job) continue;
        hg_assign_t spec;
        hg_wjob_spec(job, &spec);
        hg_overlap_action_t act = hg_overlap_decide(self->overlap, &spec, job->running, false);
        if (act == HG_OVERLAP_SKIP || act == HG_OVERLAP_CANCEL) {
            it.due_ms = now + 250;
            later[later_n++] = it;
            continue;
        }
        s_start_fire(self, job, it.scheduled_ms, it.attempt, "retry", NULL, 0, it.first_run_id,
                     false);
    }
    for (size_t i = 0; i < later_n; i++)
        hg_wretry_push(self->retries, &later[i]);
}

/* Fire every job that is due. The lease is checked once per pass: a job
 * whose time has come while we hold no lease stays due; when the lease is
 * back, its misfire policy decides what the gap costs. */
static void s_fire_due(s_agent_t *self)
{
    if (!s_lease_valid(self) || self->leaving) return;
    int64_t now = hg_now_ms();
    while (hg_wheap_top_ms(self->heap) <= now) {
        s_job_t *job = hg_wheap_top(self->heap);
        int64_t due = job->next_ms - job->delay_ms; /* the scheduled time */
        if (hg_sched_is_fixed_delay(hg_wjob_sched(job))) {
            /* Fixed delay: the next time is set when this run finishes. */
            s_start_run(self, job, due, 1, "schedule", NULL, 0);
            job->last_fire_ms = due;
            s_set_next(job, HG_SCHED_NEVER);
        } else if (now - job->next_ms <= self->cfg->misfire_threshold_ms) {
            s_fire_scheduled(self, job, due, "schedule");
            job->last_fire_ms = due;
            s_set_next(job, hg_sched_next(hg_wjob_sched(job), due));
        } else {
            int64_t fires[S_MISFIRE_CAP];
            int64_t next = HG_SCHED_NEVER;
            int64_t last = job->last_fire_ms ? job->last_fire_ms : due - 1;
            size_t n =
                hg_misfire_plan(hg_wjob_sched(job), (hg_misfire_t) job->misfire, last, now,
                                self->cfg->misfire_threshold_ms, fires, S_MISFIRE_CAP, &next);
            for (size_t i = 0; i < n; i++) {
                s_fire_scheduled(self, job, fires[i], "misfire");
                job->last_fire_ms = fires[i];
            }
            if (n == 0) self->dropped_fires++;
            hg_info("job %s: %lld ms late, misfire policy %s fired %zu run(s)", hg_wjob_name(job),
                    (long long) (now - due), hg_misfire_name((hg_misfire_t) job->misfire), n);
            /* Never fire the same scheduled time twice. */
            if (next != HG_SCHED_NEVER && next <= job->last_fire_ms)
                next = hg_sched_next(hg_wjob_sched(job), job->last_fire_ms);
            s_set_next(job, next);
        }
        hg_wheap_update(self->heap, job);
    }
    s_fire_retries(self);
}

static void s_on_http_done(s_agent_t *self)
{
    void *ptr = NULL;
    if (zsock_recv(zactor_sock(self->http), "p", &ptr) != 0 || !ptr) return;
    hg_http_task_t *task = ptr;
    hg_overload_note(&self->http_skips, &task->run, hg_mono_ms());
    s_run_done(self, &task->run);
    hg_http_task_destroy(&task);
}

/* Finished plug-in runs, from the executor's pipe or (thread mode) from
 * the pool's threads directly (sock). */
static void s_on_plugin_done(s_agent_t *self, zsock_t *sock)
{
    hg_plugin_task_t *tasks[HG_TASK_PIPE_BATCH];
    size_t n = hg_task_pipe_recv(sock, (void **) tasks, HG_TASK_PIPE_BATCH);
    int64_t mono = hg_mono_ms();
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i]) continue;
        hg_overload_note(&self->plugin_skips, &tasks[i]->run, mono);
        s_run_done(self, &tasks[i]->run);
        hg_plugin_task_destroy(&tasks[i]);
    }
}

/* -------------------------------------------------------- master messages */

static void s_drop_job(s_agent_t *self, s_job_t *job)
{
    /* Its pending retries and held fires go with it: the master hands the
     * retries to the next holder. */
    hg_wretry_forget_job(self->retries, job->id);
    hg_overlap_forget_job(self->overlap, job->id);
    hg_backfill_forget_job(self->backfills, job->id);
    hg_wheap_remove(self->heap, job);
    hg_wjobtab_remove(self->jobs, job->id);
}

/* A schedule the worker cannot parse: say so to the master, and stop
 * firing the job's previous version. */
static void s_schedule_rejected(s_agent_t *self, s_job_t *job, const hg_assign_t *a,
                                const char *err)
{
    hg_error("job %s: schedule \"%s\" rejected: %s", a->name, a->schedule, err);
    hg_msg_t msg = {.type = HG_MSG_ERROR};
    char text[512];
    snprintf(text, sizeof text, "job %s: schedule: %s", a->name, err);
    msg.u.error.code = HG_ESCHEDULE;
    msg.u.error.message = text;
    s_send(self, &msg);
    if (job) s_drop_job(self, job);
}

/* The new record of a job we held takes over the old one's firing state
 * (last fire, runs in flight, place in the timer heap); the old one is
 * freed. */
static void s_job_replace(s_agent_t *self, s_job_t *job, s_job_t *old)
{
    if (old->last_fire_ms > job->last_fire_ms) job->last_fire_ms = old->last_fire_ms;
    job->running = old->running;
    job->next_ms = old->next_ms;
    job->delay_ms = old->delay_ms;
    job->heap_index = old->heap_index;
    hg_wheap_rebind(self->heap, job);
    hg_wjobtab_free(self->jobs, &old);
}

static void s_on_assign(s_agent_t *self, hg_assign_t *a)
{
    s_job_t *job = hg_wjobtab_find(self->jobs, a->job_id);
    if (job && a->epoch < job->epoch) {
        hg_debug("ignoring stale ASSIGN of job %s (epoch %" PRIu64 " < %" PRIu64 ")", a->name,
                 a->epoch, job->epoch);
        return;
    }
    bool is_new = job == NULL;
    uint32_t elsewhere = a->running; /* read before the spec's members are taken */
    /* An edit of the schedule takes effect from now (fire_plan.h). */
    bool resched = false;
    if (!is_new) {
        hg_assign_t old;
        hg_wjob_spec(job, &old);
        resched = hg_fire_schedule_changed(&old, a);
    }
    char err[256] = "";
    int rc = 0;
    /* Takes the decoded spec's members on success. */
    s_job_t *made = hg_wjobtab_make(self->jobs, a, &rc, err, sizeof err);
    if (!made) {
        if (rc == HG_ESCHEDULE)
            s_schedule_rejected(self, job, a, err);
        else
            hg_error("job %s: cannot hold it: %s", a->name, hg_strerror(rc));
        return;
    }
    s_job_t *old = NULL;
    if (hg_wjobtab_put(self->jobs, made, &old) != 0) {
        hg_error("job %s: cannot hold it: out of memory", hg_wjob_name(made));
        hg_wjobtab_free(self->jobs, &made);
        return;
    }
    if (old) s_job_replace(self, made, old);
    job = made;
    /* A job given back to us while runs of it we started under an earlier
     * assignment are still going (revoked, then assigned here again):
     * they count as running here, as the master counts only the runs on
     * other workers (hg_assign_t.running). Their ends decrement it. */
    if (is_new && hg_wjob_tpl(job)->overlap != HG_OVERLAP_ALLOW)
        job->running = hg_winflight_count_job(self->inflight, job->id);
    /* Its runs still in flight on the worker it came from count as
     * running here (overlap across a move, hg_assign_t.running). */
    hg_overlap_set_remote(self->overlap, job->id, elsewhere);
    /* A lower count may free a slot for a fire held back. */
    if (!is_new && hg_wjob_tpl(job)->overlap != HG_OVERLAP_ALLOW) s_overlap_next(self, job);
    /* Continue from the last fire anyone made (the gap is then a misfire),
     * or, for a job never fired, from now. */
    int64_t from = job->last_fire_ms ? job->last_fire_ms : hg_now_ms();
    s_set_next(job,
               resched ? hg_fire_next_after_edit(hg_wjob_sched(job), job->last_fire_ms, hg_now_ms())
                       : hg_sched_next(hg_wjob_sched(job), from));
    hg_wheap_update(self->heap, job);
    hg_info("%s job %s (id %" PRIu64 ", epoch %" PRIu64 ", schedule \"%s\")",
            is_new ? "assigned" : "updated", hg_wjob_name(job), job->id, job->epoch,
            hg_wjob_tpl(job)->schedule);
}

/* Take a job off our timers and acknowledge with the last scheduled time
 * we fired, so that the next owner continues right after it (a drain or a
 * leave hands jobs over without a missed or a doubled firing). A job we do
 * not hold is acknowledged too, with no fire time: the master then keeps
 * what it knows from our run records. */
static void s_on_revoke(s_agent_t *self, hg_revoke_t *r)
{
    s_job_t *job = hg_wjobtab_find(self->jobs, r->job_id);
    hg_msg_t ack = {.type = HG_MSG_REVOKE};
    ack.u.revoke.job_id = r->job_id;
    ack.u.revoke.epoch = r->epoch;
    if (job) {
        if (r->epoch < job->epoch) {
            hg_debug("ignoring REVOKE of an older epoch of job %s", hg_wjob_name(job));
            return;
        }
        hg_info("revoked job %s (id %" PRIu64 "); last scheduled fire %lld", hg_wjob_name(job),
                job->id, (long long) job->last_fire_ms);
        ack.u.revoke.last_fire_ms = job->last_fire_ms;
        s_drop_job(self, job);
    }
    /* RUN_STARTED records of fires made before this point go first: the
     * master sees them before the acknowledgement. */
    hg_wrecords_flush(self->records);
    s_send(self, &ack);
}

/* Graceful leave, first step: ask the master to take our jobs back now
 * (we no longer fire them) rather than when our runs have finished. */
static void s_announce_leave(s_agent_t *self)
{
    hg_msg_t msg = {.type = HG_MSG_LEAVE};
    msg.u.leave.handover = 1;
    if (s_send(self, &msg) == 0)
        hg_info("asked the master to hand our %zu jobs over", hg_wjobtab_size(self->jobs));
}

static void s_on_trigger(s_agent_t *self, hg_trigger_t *t)
{
    s_job_t *job = hg_wjobtab_find(self->jobs, t->job_id);
    if (!job) {
        hg_warn("TRIGGER for job %" PRIu64 " that this worker does not hold", t->job_id);
        return;
    }
    if (self->leaving) {
        hg_warn("TRIGGER for job %s ignored: this worker is leaving", hg_wjob_name(job));
        return;
    }
    /* A pending retry handed over by the master waits for its due time. */
    if (t->reason && streq(t->reason, "retry") && t->scheduled_ms > 0) {
        hg_wretry_adopt(self->retries, t);
        return;
    }
    /* A recovered run keeps the scheduled time of the run it replaces. */
    int64_t scheduled = t->scheduled_ms > 0 ? t->scheduled_ms : hg_now_ms();
    s_start_fire(self, job, scheduled, t->attempt, t->reason ? t->reason : "manual", t->params,
                 t->params_n, hg_retry_id_none(t->first_run_id) ? NULL : t->first_run_id,
                 t->force != 0);
}

/* Fewer runs of a job we hold are in flight on other workers (one ended
 * there): a fire held back by the policy may start now. A count for an
 * epoch we no longer hold is stale. */
static void s_on_job_running(s_agent_t *self, const hg_job_running_t *jr)
{
    s_job_t *job = hg_wjobtab_find(self->jobs, jr->job_id);
    if (!job || job->epoch != jr->epoch) return;
    hg_debug("job %s: %u run(s) in flight on other workers", hg_wjob_name(job), jr->running);
    hg_overlap_set_remote(self->overlap, job->id, jr->running);
    if (hg_wjob_tpl(job)->overlap != HG_OVERLAP_ALLOW) s_overlap_next(self, job);
}

/* POST /api/v1/runs/{id}/cancel, relayed by the master: whichever executor
 * holds the run ends it as cancelled. */
static void s_on_cancel(s_agent_t *self, const hg_cancel_t *c)
{
    char id[40];
    hg_runid_format(c->run_id, id);
    hg_info("cancelling run %s of job %" PRIu64 " (asked through the API)", id, c->job_id);
    hg_http_exec_cancel(self->http, c->job_id, c->run_id, "cancelled by an operator");
    hg_plugin_exec_cancel(self->plugins, c->job_id, c->run_id, "cancelled by an operator");
}

static void s_on_master(s_agent_t *self)
{
    zframe_t *f = zframe_recv(self->link.dealer);
    if (!f) return;
    hg_msg_t *msg = NULL;
    char detail[256] = "";
    int rc = hg_msg_decode(zframe_data(f), zframe_size(f), &msg, detail, sizeof detail);
    zframe_destroy(&f);
    if (rc != 0) {
        hg_warn("malformed message from master dropped: %s (%s)", hg_strerror(rc), detail);
        return;
    }
    self->link.last_rx = hg_mono_ms();
    self->rx_seq = msg->seq;
    switch (msg->type) {
    case HG_MSG_WELCOME:
        if (!hg_wlink_on_welcome(&self->link, &msg->u.welcome)) break;
        self->next_hb = 0; /* heartbeat at once: the lease starts with its echo */
        {
            /* Runs still going: their starts again, so that a new leader
             * tracks them too (inflight.h, issue 14). */
            size_t started_n = 0;
            hg_run_t *started = hg_winflight_starts(self->inflight, &started_n);
            for (size_t i = 0; i < started_n; i++)
                hg_wrecords_started(self->records, &started[i], true);
            hg_winflight_starts_free(&started, started_n);
        }
        hg_wrecords_resend_all(self->records);
        hg_plugin_cache_resend(self->cache);
        if (self->leaving) s_announce_leave(self); /* a new session: say it again */
        break;
    case HG_MSG_HEARTBEAT: {
        uint64_t echo = msg->u.heartbeat.echo;
        if (self->link.welcomed && self->hb_seq[echo % S_HB_RING] == echo) {
            int64_t until = self->hb_sent[echo % S_HB_RING] + self->link.lease_ms;
            if (until > self->lease_until) {
                self->echo_rtt = hg_mono_ms() - self->hb_sent[echo % S_HB_RING];
                self->assigns_since_echo = 0;
                if (self->lease_warned) hg_info("lease renewed; firing again");
                self->lease_warned = false;
                /* After a lapse this is a new lease: requests fired under
                 * the old one must not go out any more. */
                if (hg_mono_ms() >= self->lease_until) atomic_fetch_add(&self->fence.generation, 1);
                self->lease_until = until;
                atomic_store(&self->fence.until_ms, until);
            }
        }
        break;
    }
    case HG_MSG_ASSIGN:
        /* Only within a session: the master sends WELCOME before any
         * ASSIGN, and a refused (deposed) master's ASSIGNs must not land. */
        if (self->link.welcomed) {
            s_on_assign(self, &msg->u.assign);
            self->assigned_since_hb++;
            self->placed_since_trim++;
        } else
            hg_debug("ASSIGN of job %s outside a session ignored", msg->u.assign.name);
        break;
    case HG_MSG_REVOKE:
        s_on_revoke(self, &msg->u.revoke);
        self->placed_since_trim++; /* a drain frees as many records */
        break;
    case HG_MSG_TRIGGER:
        if (self->link.welcomed) s_on_trigger(self, &msg->u.trigger);
        break;
    case HG_MSG_CANCEL:
        if (self->link.welcomed) s_on_cancel(self, &msg->u.cancel);
        break;
    case HG_MSG_JOB_RUNNING:
        if (self->link.welcomed) s_on_job_running(self, &msg->u.job_running);
        break;
    case HG_MSG_ACK:
        hg_wrecords_on_ack(self->records, &msg->u.ack);
        break;
    case HG_MSG_PLUGIN_CHUNK:
        hg_plugin_cache_on_chunk(self->cache, &msg->u.plugin_chunk);
        break;
    case HG_MSG_ERROR:
        if (msg->u.error.code == HG_EUNAVAIL &&
            (msg->u.error.leader ||
             (msg->u.error.message && streq(msg->u.error.message, "not the leader")))) {
            hg_wlink_on_not_leader(&self->link, msg->u.error.leader);
        } else if (msg->u.error.code == HG_ENOTFOUND) {
            /* The master does not know our session (it restarted, or it
             * declared us lost): introduce ourselves again. */
            if (self->link.welcomed)
                hg_warn("master: %s", msg->u.error.message ? msg->u.error.message : "");
            self->link.welcomed = false;
            self->link.next_hello = 0;
        } else if (msg->u.error.code == HG_EBUSY) {
            hg_wrecords_on_busy(self->records, hg_mono_ms());
        } else {
            hg_warn("master reports error %d: %s", msg->u.error.code,
                    msg->u.error.message ? msg->u.error.message : "");
        }
        break;
    default:
        hg_warn("unexpected %s from master ignored", hg_msg_type_name(msg->type));
    }
    hg_msg_destroy(&msg);
}

/* -------------------------------------------------------------- the loop */

/* Stop the plug-in executor and free the runs it finished that we did not
 * read (on its pipe, or on our results socket). */
static void s_plugins_stop(s_agent_t *self)
{
    hg_plugin_exec_destroy(&self->plugins); /* its pool with it */
    hg_plugin_task_t *tasks[HG_TASK_PIPE_BATCH];
    size_t n;
    while (self->plugin_results && (zsock_events(self->plugin_results) & ZMQ_POLLIN) &&
           (n = hg_task_pipe_recv(self->plugin_results, (void **) tasks, HG_TASK_PIPE_BATCH)) > 0)
        for (size_t i = 0; i < n; i++)
            hg_plugin_task_destroy(&tasks[i]);
    zsock_destroy(&self->plugin_results);
}

/* Free what s_agent_start made (safe on a partial start). */
static void s_agent_free(s_agent_t *self)
{
    hg_plugin_cache_destroy(&self->cache);
    if (self->plugins) s_plugins_stop(self);
    zsock_destroy(&self->plugin_results);
    hg_http_exec_destroy(&self->http);
    hg_wlink_close(&self->link);
    hg_wplaunch_destroy(&self->plaunch);
    hg_wjobtab_destroy(&self->jobs);
    hg_wrecords_destroy(&self->records);
    hg_backlog_destroy(&self->backlog);
    hg_wheap_destroy(&self->heap);
    hg_wretry_destroy(&self->retries);
    hg_overlap_destroy(&self->overlap);
    hg_backfill_destroy(&self->backfills);
    hg_winflight_destroy(&self->inflight);
}

/* The plug-in executor, its launcher and the plug-in cache. 0 or -1. */
static int s_plugins_start(s_agent_t *self)
{
    const hg_agent_config_t *cfg = self->cfg;
    /* Thread-mode results come straight to us (plugin_exec.h). */
    static atomic_uint serial;
    char results_endpoint[64];
    snprintf(results_endpoint, sizeof results_endpoint, "inproc://hg-agent-results-%u",
             atomic_fetch_add(&serial, 1));
    self->plugin_results = zsock_new(ZMQ_PULL);
    hg_plugin_exec_config_t pcfg = cfg->plugin;
    pcfg.results_endpoint = results_endpoint;
    if (self->plugin_results && zsock_bind(self->plugin_results, "%s", results_endpoint) == 0)
        self->plugins = hg_plugin_exec_new(&pcfg);
    if (!self->plugins) {
        hg_error("cannot start the plug-in executor");
        return -1;
    }
    hg_wplaunch_config_t lc = {.plugins = self->plugins,
                               .pool = hg_plugin_exec_pool(self->plugins),
                               .allow = cfg->plugin_allow,
                               .plugin_dir = cfg->plugin.plugin_dir,
                               .skips = &self->plugin_skips,
                               .done = s_run_done_cb,
                               .arg = self};
    self->plaunch = hg_wplaunch_new(&lc);
    if (!self->plaunch) {
        hg_error("out of memory starting the worker");
        return -1;
    }
    if (cfg->plugin_cache.dir && *cfg->plugin_cache.dir) {
        hg_plugin_cache_config_t cc = cfg->plugin_cache;
        cc.send_get = s_cache_send_get;
        cc.release = s_cache_release;
        cc.failed = s_cache_failed;
        cc.arg = self;
        char err[600] = "";
        self->cache = hg_plugin_cache_new(&cc, err, sizeof err);
        if (!self->cache) {
            hg_error("%s", err);
            return -1;
        }
        hg_wplaunch_set_cache(self->plaunch, self->cache);
    }
    return 0;
}

/* Everything the loop needs, the master link last. 0 or -1 (logged). */
static int s_agent_start(s_agent_t *self, const hg_agent_config_t *cfg)
{
    self->cfg = cfg;
    self->jobs = hg_wjobtab_new();
    self->heap = hg_wheap_new();
    self->records = hg_wrecords_new(cfg->max_unacked, cfg->started_delay_ms, s_send_cb, self);
    self->backlog = hg_backlog_new(cfg->backlog_max);
    self->retries = hg_wretry_new();
    self->overlap = hg_overlap_new();
    self->backfills = hg_backfill_new();
    self->inflight = hg_winflight_new();
    if (!self->jobs || !self->heap || !self->records || !self->backlog || !self->retries ||
        !self->overlap || !self->backfills || !self->inflight) {
        hg_error("out of memory starting the worker");
        return -1;
    }
    self->http_skips = (hg_overload_t){.what = "HTTP", .setting = "http.queue"};
    self->plugin_skips = (hg_overload_t){.what = "plug-in", .setting = "plugin.queue"};
    self->http = hg_http_exec_new(cfg->capacity, cfg->http_queue);
    if (!self->http) {
        hg_error("cannot start the HTTP executor");
        return -1;
    }
    if (s_plugins_start(self) != 0 || hg_wlink_open(&self->link, cfg) != 0) return -1;
    char list[1024] = "";
    for (size_t i = 0; i < self->link.endpoints_n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 self->link.endpoints[i]);
    hg_info("worker %s starting; master%s %s, capacity %u", cfg->name,
            self->link.endpoints_n > 1 ? "s" : "", list, cfg->capacity);
    return 0;
}

/* SIGTERM: no new fires; the master takes our jobs back. Then true once
 * the runs are done and their records durable (or the grace time is up,
 * or there is no master to tell): time to leave. */
static bool s_leave_check(s_agent_t *self, int64_t mono)
{
    if (zsys_interrupted && !self->leaving) {
        hg_stop_signals_hold(); /* repeats must not interrupt the actors' $TERM */
        self->leaving = true;
        hg_wrecords_set_leaving(self->records);
        self->leave_deadline = mono + self->cfg->leave_grace_ms;
        hg_info("stopping: no new fires; waiting up to %lld ms for %u runs in flight",
                (long long) self->cfg->leave_grace_ms, self->running);
        s_record_backlog(self, SIZE_MAX); /* the fires not run so far are recorded too */
        if (self->link.welcomed) s_announce_leave(self);
    }
    if (!self->leaving) return false;
    bool runs_done = self->running == 0 || mono >= self->leave_deadline;
    bool acked = hg_wrecords_unacked(self->records) == 0 || !self->link.welcomed ||
                 mono >= self->leave_deadline + 2000;
    if (!runs_done || !acked) return false;
    hg_wrecords_flush(self->records);
    if (self->link.welcomed) {
        hg_msg_t bye = {.type = HG_MSG_LEAVE};
        s_send(self, &bye);
        /* Give the frame a moment to leave the socket. */
        zclock_sleep(100);
    }
    return true;
}

/* HELLO until welcomed, then heartbeats. False when the master was left
 * for another (the caller starts its pass again). */
static bool s_session_tick(s_agent_t *self, int64_t mono)
{
    if (!self->link.welcomed) {
        if (hg_wlink_check_unwelcomed(&self->link, mono)) return false;
        if (mono >= self->link.next_hello) {
            s_send_hello(self);
            /* Until the master answers; a HELLO in many parts (a million
             * held jobs are 20 parts, 40 MB) is repeated more slowly, so
             * that a master still loading its catalogue does not find a
             * pile of them to read and reconcile one by one. */
            size_t parts = hg_wjobtab_size(self->jobs) / HG_PROTO_MAX_HELD + 1;
            self->link.next_hello = mono + (parts < 8 ? 250 * (int64_t) parts : 2000);
        }
    } else if (mono < self->next_hb && self->assigned_since_hb >= S_HB_EARLY_ASSIGNS) {
        s_send_heartbeat(self); /* early, between the regular ones */
    } else if (mono >= self->next_hb) {
        int hb_rc = s_send_heartbeat(self);
        self->next_hb = mono + self->link.heartbeat_ms;
        hg_wrecords_resend_stale(self->records, mono);
        if (hg_wlink_check_welcomed(&self->link, hb_rc, mono)) return false;
    } else if (hg_wrecords_busy_due(self->records, mono)) {
        hg_wrecords_resend_stale(self->records, mono);
    }
    if (self->link.welcomed && mono >= self->lease_until && hg_wheap_size(self->heap) &&
        !self->lease_warned && self->lease_until) {
        /* Where heartbeats wait: behind a queue of placements (many
         * ASSIGNs read since the last echo) or elsewhere (few). */
        hg_warn("lease expired; not firing until the master renews it (the last heartbeat "
                "echoed left %lld ms ago and its echo took %lld ms; %u ASSIGNs read since)",
                (long long) (mono - self->lease_until + self->link.lease_ms),
                (long long) self->echo_rtt, self->assigns_since_echo);
        self->lease_warned = true;
    }
    return true;
}

/* How long to sleep: until the next heartbeat or fire, whichever is first;
 * rounding the fire wait up keeps us from waking (and firing) early. A
 * leaving worker fires nothing more: its due timers must not turn this
 * into a busy loop until it has left. */
static int64_t s_wait_ms(s_agent_t *self)
{
    int64_t wait = (self->link.welcomed ? self->next_hb : self->link.next_hello) - hg_mono_ms();
    if (hg_wheap_size(self->heap) && s_lease_valid(self) && !self->leaving) {
        int64_t until_fire = hg_wheap_top_ms(self->heap) - hg_now_ms();
        if (until_fire < wait) wait = until_fire;
    }
    if (hg_wretry_size(self->retries) && s_lease_valid(self) && !self->leaving) {
        int64_t until_retry = hg_wretry_next_due(self->retries) - hg_now_ms();
        if (until_retry < wait) wait = until_retry;
    }
    if (hg_plugin_cache_fetching(self->cache) && wait > S_CACHE_TICK) wait = S_CACHE_TICK;
    wait = hg_wrecords_wait_ms(self->records, wait);
    if (hg_backlog_reporting(self->backlog)) wait = 0; /* its next share of records */
    if (wait < 0) wait = 0;
    if (wait > 1000) wait = 1000;
    return wait;
}

/* Sleep up to wait ms for the master or an executor, then read what came,
 * in bounded batches per wake-up so timers are never starved. -1 when
 * polling failed (the agent stops). */
static int s_poll(s_agent_t *self, zmq_pollitem_t *items, int64_t wait)
{
    items[0].socket = zsock_resolve(self->link.dealer); /* the DEALER is new after a switch */
    /* Finished plug-in runs need no wake-up of their own when a timer
     * wakes us soon anyway: they are read after every wake-up. Under load
     * that halves our wake-ups (a busy worker has a fire due every
     * millisecond, and its runs finish in between). */
    short lazy = wait <= S_RESULTS_LAZY_MS ? 0 : ZMQ_POLLIN;
    items[2].events = items[3].events = lazy;
    if (zmq_poll(items, 4, (long) wait) < 0) {
        if (zmq_errno() == EINTR) return 0;
        hg_error("poll failed: %s; stopping", zmq_strerror(zmq_errno()));
        return -1;
    }
    for (int i = 0; i < 1000 && (zsock_events(self->link.dealer) & ZMQ_POLLIN); i++)
        s_on_master(self);
    for (int i = 0; i < 1000 && (zsock_events(zactor_sock(self->http)) & ZMQ_POLLIN); i++)
        s_on_http_done(self);
    for (int i = 0; i < 1000 && (zsock_events(zactor_sock(self->plugins)) & ZMQ_POLLIN); i++)
        s_on_plugin_done(self, zactor_sock(self->plugins));
    for (int i = 0; i < 1000 && (zsock_events(self->plugin_results) & ZMQ_POLLIN); i++)
        s_on_plugin_done(self, self->plugin_results);
    return 0;
}

int hg_agent_run(const hg_agent_config_t *cfg)
{
    s_agent_t self = {0};
    if (s_agent_start(&self, cfg) != 0) {
        s_agent_free(&self);
        return -1;
    }
    zmq_pollitem_t items[4] = {
        {zsock_resolve(self.link.dealer), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(zactor_sock(self.http)), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(zactor_sock(self.plugins)), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self.plugin_results), 0, ZMQ_POLLIN, 0},
    };
    for (;;) {
        int64_t mono = hg_mono_ms();
        if (s_leave_check(&self, mono)) break;
        if (!s_session_tick(&self, mono)) continue;
        if (hg_plugin_cache_fetching(self.cache) && mono >= self.next_cache_tick) {
            hg_plugin_cache_tick(self.cache);
            self.next_cache_tick = mono + S_CACHE_TICK;
        }
        s_fire_due(&self);
        if (hg_backlog_due(self.backlog, mono)) s_record_backlog(&self, S_BACKLOG_PER_PASS);
        hg_wplaunch_flush(self.plaunch);
        hg_wrecords_send(self.records, false);
        hg_overload_tick(&self.http_skips, mono, false);
        hg_overload_tick(&self.plugin_skips, mono, false);
        int64_t wait = s_wait_ms(&self);
        hg_wplaunch_flush(self.plaunch); /* runs a master message or a fetch started */
        if (s_poll(&self, items, wait) != 0) break;
    }
    hg_info("stopping: %" PRIu64 " runs fired, %zu records unacknowledged", self.fired,
            hg_wrecords_unacked(self.records));
    /* Runs still waiting for a plug-in fetch end as failed ("worker
     * stopping") and are recorded like the rest. */
    hg_plugin_cache_destroy(&self.cache);
    hg_wplaunch_flush(self.plaunch);
    hg_wrecords_flush(self.records);
    s_plugins_stop(&self);
    hg_http_exec_destroy(&self.http);
    hg_overload_tick(&self.http_skips, hg_mono_ms(), true);
    hg_overload_tick(&self.plugin_skips, hg_mono_ms(), true);
    s_agent_free(&self);
    return 0;
}
