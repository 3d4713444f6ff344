/* agent: session, lease, timers and run records of one worker.
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
#include "overlap.h"
#include "overload.h"
#include "plugin_cache.h"
#include "plugin_exec.h"
#include "retry.h"
#include "wjobtab.h"
#include "worker_metrics.h"

#include <czmq.h>
#include <inttypes.h>
#include <malloc.h>

#define S_HB_RING      256  /* heartbeats remembered for echo matching */
#define S_RESEND_BATCH 1000 /* run records per message when resending */
/* A finished record the master has not acknowledged this long after it was
 * sent goes again (s_resend_stale): a master whose store is full defers
 * records without an answer (master/store_gate.h). Longer than the store's
 * bounded queue takes to drain, so a merely busy master gets few copies;
 * the store writes a copy idempotently. */
#define S_RESEND_AFTER_MS 3000
/* Finished-run records wait up to S_FINISHED_WAIT_MS (or until
 * S_FINISHED_BATCH of them are queued) to travel together: every message
 * costs the master a decode, a store hand-off, a transaction and an ACK,
 * and sending one per timer pass (a few records) made those costs, not the
 * rows, most of the master's and MariaDB's work at high rates. They are
 * already in the unacked list. The price: if this worker dies meanwhile, a
 * run whose start the master knows is closed as "lost" although it ended
 * (as it was already, in the moment before a record reached the master).
 * A finished run of a job with recover set goes at once, since the master
 * would run a lost one again. */
#define S_FINISHED_WAIT_MS 10
/* Finished plug-in runs wait for the next wake-up when it is this close. */
#define S_RESULTS_LAZY_MS 5
#define S_FINISHED_BATCH  1000
/* Bytes of run records in one message: half what the codec accepts. */
#define S_MSG_BYTES (HG_PROTO_MAX_MSG / 2)
_Static_assert(S_FINISHED_BATCH <= HG_PROTO_MAX_RUNS, "a batch must fit one message");
#define S_MISFIRE_CAP 1000 /* fire_all catches up at most this many times at once */
#define S_CACHE_TICK  250  /* ms between checks of running plug-in fetches */
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
/* With several masters: one that has not accepted our connection this long
 * after we dialled it is taken as down, and the next one is tried. */
#define S_CONNECT_WAIT_MS 500

/* A held job: its record in the job table (wjobtab.h). */
typedef hg_wjob_t s_job_t;

/* A slot of the timer heap: a job and its next_ms (kept equal). */
typedef struct {
    int64_t next_ms; /* the job's next_ms */
    s_job_t *job;    /* the job */
} s_heap_entry_t;

/* A run record the master has not acknowledged. */
typedef struct {
    hg_run_t run;      /* the finished record (owned) */
    void *handle;      /* its place in the unacked list */
    bool queued;       /* out_finished borrows its members: not to be freed until sent */
    int64_t sent_mono; /* monotonic ms it was last queued to be sent */
} s_record_t;

typedef struct {
    const hg_agent_config_t *cfg; /* settings */
    zsock_t *dealer;              /* to the master */
    zactor_t *http;               /* HTTP executor */
    zactor_t *plugins;            /* plug-in executor */
    zsock_t *plugin_results;      /* PULL: thread-mode runs straight from the pool */
    hg_plugin_pool_t *pool;       /* the executor's thread pool, fed directly */
    hg_plugin_task_t *plugin_out[HG_TASK_PIPE_BATCH]; /* plug-in runs not yet handed over */
    size_t plugin_out_n;                              /* runs in plugin_out */
    hg_overload_t http_skips;   /* HTTP runs skipped for overload, logged per burst */
    hg_overload_t plugin_skips; /* plug-in runs skipped for overload, logged per burst */
    hg_plugin_cache_t *cache;   /* plug-ins by hash, and their fetches */
    int64_t next_cache_tick;    /* monotonic time of the next cache tick */
    hg_wjobtab_t *jobs;         /* the jobs we hold, by id */
    s_heap_entry_t *heap;       /* timer heap, earliest next_ms first */
    size_t heap_n, heap_cap;    /* heap size and capacity */
    uint64_t seq;               /* our message sequence */
    uint64_t hb_seq[S_HB_RING]; /* heartbeat seq in each ring slot */
    int64_t hb_sent[S_HB_RING]; /* monotonic send time of that heartbeat */
    int64_t lease_until;        /* monotonic ms; no firing at or after it */
    hg_http_fence_t fence;      /* the lease as the HTTP executor checks it at send time */
    bool welcomed;              /* WELCOME received on this session */
    int64_t heartbeat_ms;       /* interval in force */
    int64_t lease_ms;           /* lease in force */
    int64_t next_hb;            /* monotonic time of the next heartbeat */
    uint32_t assigned_since_hb; /* ASSIGNs taken since the last heartbeat */
    uint64_t resent_stale;      /* records sent again unacknowledged, since last logged */
    int64_t resent_logged_mono; /* when that was last logged */
    uint32_t placed_since_trim; /* ASSIGNs and REVOKEs taken since the last malloc_trim */
    int64_t next_hello;         /* monotonic time of the next HELLO while not welcomed */
    int64_t last_rx;            /* monotonic time of the last message from the master */
    uint64_t rx_seq;            /* seq of the last message from the master (heartbeat echo) */
    bool lease_warned;          /* "lease expired" logged for this outage */
    zlistx_t *unacked;          /* s_record_t, oldest first */
    zhashx_t *unacked_ids;      /* raw run id -> s_record_t (key: the record's own id) */
    uint32_t running;           /* runs in flight */
    hg_run_t *out_started;      /* RUN_STARTED records waiting to be sent, oldest first */
    zhashx_t *started_pending;  /* raw run ids of those whose run is still going */
    size_t out_started_n, out_started_cap;
    hg_run_t *out_started_now; /* RUN_STARTED of recover jobs: sent at once */
    size_t out_started_now_n, out_started_now_cap;
    hg_run_t *out_finished;         /* RUN_FINISHED records waiting to be sent */
    s_record_t **out_finished_recs; /* the unacked record each of them borrows from */
    size_t out_finished_n, out_finished_cap;
    int64_t out_finished_since;    /* monotonic ms the oldest of them was queued */
    bool finished_urgent;          /* one of them must go now (recover set) */
    uint64_t fired, dropped_fires; /* counters for the log */
    bool leaving;                  /* SIGTERM seen: no new fires, finishing up */
    int64_t leave_deadline;        /* monotonic ms: leave even if runs are still going */
    const char *const *endpoints;  /* master endpoints from the configuration */
    size_t endpoints_n;            /* how many (at least 1) */
    size_t endpoint_index;         /* the configured endpoint we use or last used */
    size_t key_attempt;            /* dials of this endpoint in a row: picks the pinned key */
    char endpoint[512];            /* endpoint dialled now (may be a leader hint off the list) */
    int64_t dialled_at;            /* monotonic time we dialled it */
    int64_t last_sent;             /* monotonic time of the last message sent to it, 0 for none */
    uint32_t hb_unsent;            /* heartbeats in a row that found no connection to send on */
    uint64_t max_master_epoch;     /* highest leadership epoch seen in a WELCOME */
    char silent_endpoint[512];     /* endpoint we last left because it went silent */
    int64_t silent_at;             /* monotonic time we left it */
    uint32_t redials;              /* fresh dials of a lone silent master since the last WELCOME */
    hg_wretry_t *retries;          /* pending retries (retry.h) */
    hg_overlap_state_t *overlap;   /* fires held back by an overlap policy (overlap.h) */
    hg_backfill_t *backfills;      /* backfill fires waiting for a slot (backfill.h) */
    hg_winflight_t *inflight;      /* run ids in flight, listed in HELLO (inflight.h) */
} s_agent_t;

/* ------------------------------------------------------------ timer heap */

/* The heap holds each job's fire time next to its pointer: comparing
 * through the pointers cost a cache miss per step (a sift in a heap of
 * thousands of jobs was a tenth of a busy worker's time). Sifts move a
 * hole instead of swapping, one write per level. */
static void s_heap_place(s_agent_t *self, size_t i, s_heap_entry_t e)
{
    self->heap[i] = e;
    e.job->heap_index = (uint32_t) i;
}

static void s_heap_up(s_agent_t *self, size_t i)
{
    s_heap_entry_t e = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (e.next_ms >= self->heap[parent].next_ms) break;
        s_heap_place(self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_place(self, i, e);
}

static void s_heap_down(s_agent_t *self, size_t i)
{
    s_heap_entry_t e = self->heap[i];
    size_t n = self->heap_n;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n) break;
        if (l + 1 < n && self->heap[l + 1].next_ms < self->heap[l].next_ms) m = l + 1;
        if (self->heap[m].next_ms >= e.next_ms) break;
        s_heap_place(self, i, self->heap[m]);
        i = m;
    }
    s_heap_place(self, i, e);
}

static void s_heap_remove(s_agent_t *self, s_job_t *job)
{
    size_t i = job->heap_index;
    if (i == HG_WJOB_NO_HEAP) return;
    self->heap_n--;
    if (i != self->heap_n) {
        s_heap_place(self, i, self->heap[self->heap_n]);
        s_heap_down(self, i);
        s_heap_up(self, i);
    }
    job->heap_index = HG_WJOB_NO_HEAP;
}

/* Put the job in the heap at its next_ms (or take it out when it has no
 * further fire time). */
static void s_heap_update(s_agent_t *self, s_job_t *job)
{
    if (job->next_ms == HG_SCHED_NEVER) {
        s_heap_remove(self, job);
        return;
    }
    if (job->heap_index == HG_WJOB_NO_HEAP) {
        if (self->heap_n == self->heap_cap) {
            size_t cap = self->heap_cap ? self->heap_cap * 2 : 64;
            s_heap_entry_t *h = realloc(self->heap, cap * sizeof *h);
            if (!h) return;
            self->heap = h;
            self->heap_cap = cap;
        }
        job->heap_index = (uint32_t) self->heap_n;
        self->heap_n++;
    }
    self->heap[job->heap_index] = (s_heap_entry_t){.next_ms = job->next_ms, .job = job};
    s_heap_up(self, job->heap_index);
    s_heap_down(self, job->heap_index);
}

/* ------------------------------------------------------------ endpoints */

/* (Re)create the DEALER and dial endpoint. A new socket rather than a
 * disconnect and connect: nothing queued for the old master leaks to the
 * new one, and nothing the old one still sends reaches us. The session
 * starts over with HELLO. 0, or -1 when the endpoint is malformed. */
/* The pinned master key to try on endpoint: with one key per configured
 * endpoint, that endpoint's key first; with several keys, each redial of
 * the same endpoint tries the next (a master with another key answers
 * nothing, and silence makes us redial). */
/* Arm the job's next fire at scheduled time sched_ms (or none), delayed
 * by a fresh draw of its jitter: the fire happens late, never early, and
 * its run keeps sched_ms as its scheduled time. */
static void s_set_next(s_job_t *job, int64_t sched_ms)
{
    job->delay_ms =
        sched_ms == HG_SCHED_NEVER ? 0 : (uint32_t) hg_fire_jitter_ms(hg_wjob_tpl(job)->jitter_ms);
    job->next_ms = sched_ms == HG_SCHED_NEVER ? sched_ms : sched_ms + job->delay_ms;
}

static const char *s_master_key(s_agent_t *self, const char *endpoint)
{
    size_t n = self->cfg->master_keys_n, first = 0;
    if (n == 0) return NULL;
    if (streq(endpoint, self->endpoint))
        self->key_attempt++;
    else
        self->key_attempt = 0;
    if (n == self->endpoints_n)
        for (size_t i = 0; i < n; i++)
            if (streq(self->endpoints[i], endpoint)) first = i;
    return self->cfg->master_keys[(first + self->key_attempt) % n];
}

static int s_dial(s_agent_t *self, const char *endpoint)
{
    zsock_destroy(&self->dealer);
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer) return -1;
    /* No routing id of our own: the master knows us by our key, and gives
     * each connection a fresh id (a restart never collides with the
     * connection it replaces). */
    /* Checked setters (hg_zsock.h): a refused option fails this dial
     * (retried later), it does not abort the worker. */
    int rc = hg_zsock_set_i64(self->dealer, ZMQ_MAXMSGSIZE, (int64_t) HG_PROTO_MAX_MSG);
    if (self->cfg->cert) {
        zcert_apply(self->cfg->cert, zsock_resolve(self->dealer));
        rc |= hg_zsock_set_str(self->dealer, ZMQ_CURVE_SERVERKEY, s_master_key(self, endpoint));
    }
    rc |= hg_zsock_set_int(self->dealer, ZMQ_IMMEDIATE, 1);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RECONNECT_IVL, 100);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RECONNECT_IVL_MAX, 1000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_SNDHWM, 100000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_RCVHWM, 100000);
    rc |= hg_zsock_set_int(self->dealer, ZMQ_LINGER, 0);
    if (rc != 0) {
        hg_error("cannot set up the socket to master endpoint %s: %s", endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&self->dealer);
        return -1;
    }
    snprintf(self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->welcomed = false;
    self->next_hello = 0;
    self->dialled_at = hg_mono_ms();
    self->last_sent = 0;
    self->hb_unsent = 0;
    if (zsock_connect(self->dealer, "%s", endpoint) != 0) {
        hg_error("cannot connect to master endpoint %s", endpoint);
        return -1;
    }
    return 0;
}

/* Dial another master, saying why. */
static void s_switch(s_agent_t *self, const char *endpoint, const char *why)
{
    hg_info("master: switching from %s to %s (%s)", self->endpoint, endpoint, why);
    for (size_t i = 0; i < self->endpoints_n; i++)
        if (streq(self->endpoints[i], endpoint)) self->endpoint_index = i;
    if (s_dial(self, endpoint) != 0) {
        /* A malformed hint must not strand us: back to the list. */
        self->endpoint_index = (self->endpoint_index + 1) % self->endpoints_n;
        s_dial(self, self->endpoints[self->endpoint_index]);
    }
}

/* Move on to the next configured endpoint. With a single endpoint we stay
 * and say HELLO again (a restarted master). */
static void s_rotate(s_agent_t *self, const char *why)
{
    const char *next = self->endpoints[(self->endpoint_index + 1) % self->endpoints_n];
    bool on_list = streq(self->endpoint, self->endpoints[self->endpoint_index]);
    if (!on_list) next = self->endpoints[self->endpoint_index]; /* leave a hint for the list */
    if (streq(next, self->endpoint)) {
        self->welcomed = false;
        self->next_hello = hg_mono_ms() + 250; /* the usual HELLO pace, never a busy loop */
        return;
    }
    s_switch(self, next, why);
}

/* True when there is another endpoint to try than the one dialled. */
static bool s_can_move(s_agent_t *self)
{
    return self->endpoints_n > 1 || !streq(self->endpoint, self->endpoints[0]);
}

/* The master we dial went silent for a lease: try the next one, and
 * remember it so that a standby's stale hint does not send us straight
 * back. */
static void s_left_silent(s_agent_t *self, int64_t silent_ms)
{
    char why[96];
    snprintf(why, sizeof why, "no answer for %lld ms", (long long) silent_ms);
    snprintf(self->silent_endpoint, sizeof self->silent_endpoint, "%s", self->endpoint);
    self->silent_at = hg_mono_ms();
    if (s_can_move(self))
        hg_warn("master at %s silent for %lld ms", self->endpoint, (long long) silent_ms);
    s_rotate(self, why);
}

/* The only master we know has not answered HELLO for a lease: dial it
 * again on a fresh socket. A connection ZeroMQ gave up on (it never
 * retries one whose handshake failed) must not keep this worker away for
 * good; the records it holds are resent after the WELCOME. Logged on the
 * first try and then every tenth, so a long outage is a few lines. */
static void s_redial(s_agent_t *self, int64_t silent_ms)
{
    if (self->redials++ % 10 == 0)
        hg_warn("master at %s has not answered for %lld ms; dialling it again (try %u)%s",
                self->endpoint, (long long) silent_ms, self->redials,
                self->cfg->cert ? " (a master whose key is not in master.key, or one that does "
                                  "not admit our key, answers nothing)"
                                : "");
    char endpoint[sizeof self->endpoint];
    snprintf(endpoint, sizeof endpoint, "%s", self->endpoint);
    s_dial(self, endpoint);
}

/* A standby refused us. Follow its hint unless it names the master we
 * just left for silence (the row still names a dead leader until the
 * standby itself takes over): then stay and keep saying HELLO here. With
 * no hint, try the next endpoint, at most once per heartbeat interval. */
static void s_on_not_leader(s_agent_t *self, const char *leader)
{
    int64_t now = hg_mono_ms();
    self->welcomed = false;
    if (leader && *leader && !streq(leader, self->endpoint)) {
        bool stale =
            streq(leader, self->silent_endpoint) && now - self->silent_at < 2 * self->lease_ms;
        if (!stale) {
            char why[600];
            snprintf(why, sizeof why, "%s is a standby; the leader is at %s", self->endpoint,
                     leader);
            s_switch(self, leader, why);
        }
        return;
    }
    if (now - self->dialled_at >= self->heartbeat_ms) s_rotate(self, "standby knows no leader yet");
}

/* -------------------------------------------------------------- sending */

static int s_send(s_agent_t *self, hg_msg_t *msg)
{
    msg->seq = ++self->seq;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = hg_msg_encode(msg, &buf, &len);
    if (rc != 0) {
        hg_error("cannot encode %s: %s", hg_msg_type_name(msg->type), hg_strerror(rc));
        return rc;
    }
    zframe_t *f = zframe_new(buf, len);
    free(buf);
    if (zframe_send(&f, self->dealer, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy(&f);
        return HG_EUNAVAIL; /* not connected; records stay unacked and are resent */
    }
    self->last_sent = hg_mono_ms();
    return 0;
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
    h->unacked = (uint32_t) zlistx_size(self->unacked);
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
    msg.u.heartbeat.unacked = (uint32_t) zlistx_size(self->unacked);
    hg_worker_metrics_state(self->cfg->metrics, msg.u.heartbeat.jobs, self->running,
                            msg.u.heartbeat.unacked, self->welcomed);
    /* What we have read: the master holds back plug-in chunks beyond it. */
    msg.u.heartbeat.echo = self->rx_seq;
    /* s_send assigns seq = self->seq + 1; remember its send time. */
    uint64_t seq = self->seq + 1;
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

/* Send runs[0..n) as messages of at most S_FINISHED_BATCH records and
 * S_MSG_BYTES bytes: one timer pass or one wake-up can gather more than a
 * message may carry (HG_PROTO_MAX_RUNS, HG_PROTO_MAX_MSG), and a message
 * the codec refuses would leave its records unsent until the next
 * session. */
static void s_send_runs(s_agent_t *self, hg_msg_type_t type, hg_run_t *runs, size_t n)
{
    size_t at = 0;
    while (at < n) {
        size_t k = 0, bytes = 0;
        while (at + k < n && k < S_FINISHED_BATCH) {
            const hg_run_t *r = &runs[at + k];
            size_t size = 96 + r->output.len + (r->job_name ? strlen(r->job_name) : 0) +
                          (r->reason ? strlen(r->reason) : 0) + (r->error ? strlen(r->error) : 0);
            if (k > 0 && bytes + size > S_MSG_BYTES) break;
            bytes += size;
            k++;
        }
        hg_msg_t msg = {.type = type};
        msg.u.runs.runs = runs + at;
        msg.u.runs.runs_n = k;
        s_send(self, &msg);
        at += k;
    }
}

/* Send the queued RUN_STARTED / RUN_FINISHED records, one message each.
 *
 * A RUN_STARTED is dropped when its run finished before it went out: the
 * RUN_FINISHED record carries the same run id, scheduled and start times,
 * so the history is the same. With report.started_delay (cfg
 * started_delay_ms) it first waits that long, which drops it for most runs
 * (a noop plug-in, a fast endpoint) and halves the records the master
 * writes. The cost is why the default is 0: a run shorter than the delay
 * whose worker dies before it ends leaves no record, so the master can
 * neither mark it lost nor tell the next holder that its scheduled time
 * already fired, and that time may fire twice. Jobs with recover set skip
 * the delay (s_queue_started). all: send every queued RUN_STARTED now
 * (when stopping). */
static void s_flush_started(s_agent_t *self, bool all)
{
    int64_t cutoff = hg_now_ms() - self->cfg->started_delay_ms;
    size_t due = 0, send = 0;
    while (due < self->out_started_n && (all || self->out_started[due].started_ms <= cutoff))
        due++;
    for (size_t i = 0; i < due; i++) {
        const uint8_t *id = self->out_started[i].run_id;
        if (zhashx_lookup(self->started_pending, id)) {
            zhashx_delete(self->started_pending, id);
            if (send != i) {
                self->out_started[send] = self->out_started[i];
                memset(&self->out_started[i], 0, sizeof self->out_started[i]);
            }
            send++;
        } else {
            hg_run_clear(&self->out_started[i]); /* finished: RUN_FINISHED tells it all */
        }
    }
    if (send) {
        s_send_runs(self, HG_MSG_RUN_STARTED, self->out_started, send);
        for (size_t i = 0; i < send; i++)
            hg_run_clear(&self->out_started[i]);
    }
    if (due) {
        memmove(self->out_started, self->out_started + due,
                (self->out_started_n - due) * sizeof *self->out_started);
        self->out_started_n -= due;
    }
}

/* Send the queued records: starts as they come due, finished runs when
 * all is set or when they have waited long enough (S_FINISHED_WAIT_MS). */
static void s_send_records(s_agent_t *self, bool all)
{
    if (self->out_started_now_n) {
        s_send_runs(self, HG_MSG_RUN_STARTED, self->out_started_now, self->out_started_now_n);
        for (size_t i = 0; i < self->out_started_now_n; i++)
            hg_run_clear(&self->out_started_now[i]);
        self->out_started_now_n = 0;
    }
    s_flush_started(self, self->leaving);
    if (self->out_finished_n && (all || self->leaving || self->finished_urgent ||
                                 self->out_finished_n >= S_FINISHED_BATCH ||
                                 hg_mono_ms() - self->out_finished_since >= S_FINISHED_WAIT_MS)) {
        s_send_runs(self, HG_MSG_RUN_FINISHED, self->out_finished, self->out_finished_n);
        for (size_t i = 0; i < self->out_finished_n; i++)
            self->out_finished_recs[i]->queued = false;
        self->out_finished_n = 0; /* the records themselves live in unacked */
        self->finished_urgent = false;
    }
}

/* Send every queued record now. */
static void s_flush_records(s_agent_t *self)
{
    s_send_records(self, true);
}

/* Queue a copy of run (a RUN_STARTED record). */
static int s_queue_copy(hg_run_t **arr, size_t *n, size_t *cap, const hg_run_t *run)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        hg_run_t *a = realloc(*arr, c * sizeof *a);
        if (!a) return HG_ENOMEM;
        *arr = a;
        *cap = c;
    }
    memset(&(*arr)[*n], 0, sizeof **arr);
    if (hg_run_copy(&(*arr)[*n], run) != 0) return HG_ENOMEM;
    (*n)++;
    return 0;
}

/* Queue an unacknowledged record to be sent, borrowing its members. On
 * failure it stays unacked and goes out with the next session's resend. */
static int s_queue_finished(s_agent_t *self, s_record_t *rec)
{
    rec->sent_mono = hg_mono_ms();
    if (self->out_finished_n == self->out_finished_cap) {
        size_t c = self->out_finished_cap ? self->out_finished_cap * 2 : 64;
        hg_run_t *runs = realloc(self->out_finished, c * sizeof *runs);
        if (runs) self->out_finished = runs;
        s_record_t **recs = realloc(self->out_finished_recs, c * sizeof *recs);
        if (recs) self->out_finished_recs = recs;
        if (!runs || !recs) return HG_ENOMEM;
        self->out_finished_cap = c;
    }
    self->out_finished[self->out_finished_n] = rec->run;
    self->out_finished_recs[self->out_finished_n++] = rec;
    rec->queued = true;
    return 0;
}

/* Queue the RUN_STARTED of a run that begins now. A job with recover set
 * reports it at once: the master must know the run to re-run it if this
 * worker dies, however short it is. Without report.started_delay (the
 * default) every start goes out at once too, with no bookkeeping per run. */
static void s_queue_started(s_agent_t *self, const s_job_t *job, const hg_run_t *run)
{
    if (hg_wjob_tpl(job)->recover || self->cfg->started_delay_ms == 0) {
        s_queue_copy(&self->out_started_now, &self->out_started_now_n, &self->out_started_now_cap,
                     run);
        return;
    }
    if (s_queue_copy(&self->out_started, &self->out_started_n, &self->out_started_cap, run) != 0)
        return;
    zhashx_insert(self->started_pending, run->run_id, (void *) 1);
}

/* Send every unacknowledged record again (after a WELCOME). */
static void s_resend_unacked(s_agent_t *self)
{
    size_t total = zlistx_size(self->unacked);
    if (!total) return;
    for (s_record_t *rec = zlistx_first(self->unacked); rec; rec = zlistx_next(self->unacked)) {
        if (!rec->queued) s_queue_finished(self, rec);
        if (self->out_finished_n == S_RESEND_BATCH) s_flush_records(self);
    }
    s_flush_records(self);
    hg_info("resent %zu unacknowledged run records", total);
}

/* Send again the records still unacknowledged S_RESEND_AFTER_MS after they
 * went out. The unacked list stays in order of sending (a record sent again
 * moves to its end), so only its stale head is looked at. */
static void s_resend_stale(s_agent_t *self, int64_t mono)
{
    size_t n = 0, total = zlistx_size(self->unacked);
    s_record_t *rec;
    while (self->welcomed && n < total && (rec = zlistx_first(self->unacked)) &&
           mono - rec->sent_mono >= S_RESEND_AFTER_MS) {
        if (rec->queued)
            rec->sent_mono = mono; /* about to go anyway */
        else
            s_queue_finished(self, rec);
        zlistx_move_end(self->unacked, rec->handle);
        if (self->out_finished_n >= S_RESEND_BATCH) s_flush_records(self);
        n++;
    }
    if (n) s_flush_records(self);
    self->resent_stale += n;
    if (self->resent_stale && mono - self->resent_logged_mono >= 10000) {
        hg_info("sent %" PRIu64 " run records again: the master had not acknowledged them "
                "within %d ms (busy store, see its log)",
                self->resent_stale, S_RESEND_AFTER_MS);
        self->resent_stale = 0;
        self->resent_logged_mono = mono;
    }
}

/* ------------------------------------------------------------------ runs */

static bool s_lease_valid(s_agent_t *self)
{
    return self->welcomed && hg_mono_ms() < self->lease_until;
}

/* A run is over: keep the record until the master acknowledges it. */
static void s_record_finished(s_agent_t *self, hg_run_t *run)
{
    if (zlistx_size(self->unacked) >= self->cfg->max_unacked) {
        /* Bounded memory: the oldest record goes, loudly. The queue to
         * send borrows the records' members: send it first. */
        s_flush_records(self);
        s_record_t *old = zlistx_first(self->unacked);
        char id[40];
        hg_runid_format(old->run.run_id, id);
        hg_error("unacked run records over max.unacked (%u); dropping run %s of job %s",
                 self->cfg->max_unacked, id, old->run.job_name);
        zhashx_delete(self->unacked_ids, old->run.run_id);
        zlistx_delete(self->unacked, old->handle);
        hg_run_clear(&old->run);
        free(old);
    }
    s_record_t *rec = calloc(1, sizeof *rec);
    if (!rec) return;
    rec->run = *run; /* take ownership of the members */
    memset(run, 0, sizeof *run);
    if (zhashx_size(self->started_pending))
        zhashx_delete(self->started_pending, rec->run.run_id); /* its RUN_STARTED need not go */
    rec->handle = zlistx_add_end(self->unacked, rec);
    zhashx_insert(self->unacked_ids, rec->run.run_id, rec);
    if (self->out_finished_n == 0) self->out_finished_since = hg_mono_ms();
    s_queue_finished(self, rec);
}

static s_job_t *s_job_by_id(s_agent_t *self, uint64_t job_id)
{
    return hg_wjobtab_find(self->jobs, job_id);
}

static void s_overlap_next(s_agent_t *self, s_job_t *job);

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
        s_heap_update(self, job);
    }
    if (self->running) self->running--;
    hg_winflight_remove(self->inflight, run->run_id);
    if (!run->finished_ms) run->finished_ms = hg_now_ms();
    if (!run->started_ms) run->started_ms = run->finished_ms;
    hg_wretry_on_done(self->retries, job ? hg_wjob_tpl(job) : NULL, run);
    /* A chain's records go at once: the master must know a pending retry
     * to hand it on if this worker dies before the next attempt. */
    if ((job && hg_wjob_tpl(job)->recover) || run->retry_at_ms) self->finished_urgent = true;
    hg_worker_metrics_run(self->cfg->metrics, run);
    s_record_finished(self, run);
    if (job && hg_wjob_tpl(job)->overlap != HG_OVERLAP_ALLOW) s_overlap_next(self, job);
}

/* End a plug-in run that never reached the executor, with error. */
static void s_plugin_fail(s_agent_t *self, hg_plugin_task_t **task_p, const char *error)
{
    hg_plugin_task_t *task = *task_p;
    task->run.status = HG_RUN_FAILED;
    task->run.finished_ms = hg_now_ms();
    task->run.exit_code = 1;
    free(task->run.error);
    task->run.error = strdup(error);
    s_run_done(self, &task->run);
    hg_plugin_task_destroy(task_p);
}

/* Hand the plug-in runs gathered since the last call to the executor, in
 * one message: one wake-up of the executor per timer pass, not per run. */
static void s_flush_plugin_tasks(s_agent_t *self)
{
    size_t n = self->plugin_out_n;
    if (n == 0) return;
    self->plugin_out_n = 0;
    /* Thread-mode runs go straight into the pool's queue (no wake-up of
     * the executor actor); the rest through the actor. */
    hg_plugin_task_t *direct[HG_TASK_PIPE_BATCH], *refused[HG_TASK_PIPE_BATCH];
    size_t direct_n = 0, rest_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (self->pool && self->plugin_out[i]->isolation == HG_PLUGIN_ISOLATION_THREAD)
            direct[direct_n++] = self->plugin_out[i];
        else
            self->plugin_out[rest_n++] = self->plugin_out[i];
    }
    size_t refused_n = direct_n ? hg_plugin_pool_submit(self->pool, direct, direct_n, refused) : 0;
    int64_t mono = hg_mono_ms();
    for (size_t i = 0; i < refused_n; i++) {
        hg_overload_note(&self->plugin_skips, &refused[i]->run, mono);
        s_run_done(self, &refused[i]->run);
        hg_plugin_task_destroy(&refused[i]);
    }
    if (rest_n == 0 || hg_plugin_exec_submit_many(self->plugins, self->plugin_out, rest_n) == 0)
        return;
    hg_error("plug-in executor refused %zu runs of job %s and others", rest_n,
             self->plugin_out[0]->run.job_name);
    for (size_t i = 0; i < rest_n; i++)
        s_plugin_fail(self, &self->plugin_out[i], "plug-in executor refused the run");
}

static void s_plugin_submit(s_agent_t *self, hg_plugin_task_t **task_p)
{
    if (self->plugin_out_n == HG_TASK_PIPE_BATCH) s_flush_plugin_tasks(self);
    self->plugin_out[self->plugin_out_n++] = *task_p;
    *task_p = NULL;
}

static int s_kv_dup(const hg_kv_t *src, size_t n, hg_kv_t **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (n == 0) return 0;
    hg_kv_t *kv = calloc(n, sizeof *kv);
    if (!kv) return HG_ENOMEM;
    *out = kv;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = strdup(src[i].key);
        kv[i].value = strdup(src[i].value);
        (*out_n)++;
        if (!kv[i].key || !kv[i].value) return HG_ENOMEM;
    }
    return 0;
}

/* A shard run's plug-in sees shard_index and shard_total among its
 * parameters (routing, issue 11). 0 or HG_ENOMEM. */
static int s_shard_params(const hg_assign_t *spec, hg_kv_t **params, size_t *n)
{
    if (!spec->shard_total || spec->shard_index >= spec->shard_total) return 0;
    hg_kv_t *kv = realloc(*params, (*n + 2) * sizeof *kv);
    if (!kv) return HG_ENOMEM;
    *params = kv;
    char text[2][16];
    snprintf(text[0], sizeof text[0], "%u", spec->shard_index);
    snprintf(text[1], sizeof text[1], "%u", spec->shard_total);
    const char *keys[2] = {"shard_index", "shard_total"};
    for (int i = 0; i < 2; i++) {
        kv[*n].key = strdup(keys[i]);
        kv[*n].value = strdup(text[i]);
        (*n)++;
        if (!kv[*n - 1].key || !kv[*n - 1].value) return HG_ENOMEM;
    }
    return 0;
}

/* A plug-in run: by hash from the cache (fetched from the master first
 * when missing: the run waits parked meanwhile), else by name from the
 * local plug-in directory. Takes run's members. */
static void s_start_plugin_run(s_agent_t *self, s_job_t *job, hg_run_t *run, hg_kv_t *overrides,
                               size_t overrides_n)
{
    s_queue_started(self, job, run);
    job->running++;
    self->running++;
    hg_winflight_add_run(self->inflight, run);
    const hg_plugin_spec_t *spec = &hg_wjob_tpl(job)->plugin;
    hg_plugin_task_t *task = hg_plugin_task_new();
    if (!task) {
        run->status = HG_RUN_FAILED;
        run->error = strdup("worker out of memory");
        s_run_done(self, run);
        return;
    }
    task->run = *run;
    memset(run, 0, sizeof *run);
    task->timeout_ms = hg_wjob_tpl(job)->timeout_ms;
    int iso = hg_plugin_isolation_parse(spec->isolation);
    task->isolation = iso < 0 ? HG_PLUGIN_ISOLATION_PROCESS : iso;
    task->plugin = spec->name ? strdup(spec->name) : NULL;
    task->version = spec->version && *spec->version ? strdup(spec->version) : NULL;
    if (!spec->name || !task->plugin || (spec->version && *spec->version && !task->version) ||
        s_kv_dup(job->params, job->params_n, &task->params, &task->params_n) != 0 ||
        s_kv_dup(overrides, overrides_n, &task->overrides, &task->overrides_n) != 0 ||
        s_shard_params(hg_wjob_tpl(job), &task->params, &task->params_n) != 0) {
        s_plugin_fail(self, &task, spec->name ? "worker out of memory" : "plug-in has no name");
        return;
    }
    if (iso < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "unknown isolation \"%.100s\" (process or thread)",
                 spec->isolation);
        s_plugin_fail(self, &task, msg);
        return;
    }
    if (!hg_plugin_allowed(self->cfg->plugin_allow, spec->name)) {
        /* Checked on the worker, whoever sent the job: what a worker
         * runs is its operator's decision, not the master's. */
        char msg[200];
        snprintf(msg, sizeof msg, "plug-in %.100s is not in this worker's plugin.allow",
                 spec->name);
        s_plugin_fail(self, &task, msg);
        return;
    }
    /* A pushed plug-in the job did not ask for by version or hash is a
     * fallback: this worker's own plug-in of that name wins. */
    bool local =
        spec->local_first && hg_plugin_local_exists(self->cfg->plugin.plugin_dir, spec->name);
    if (local || !spec->sha256 || !*spec->sha256) {
        s_plugin_submit(self, &task);
        return;
    }
    char path[PATH_MAX], err[600];
    if (hg_plugin_cache_lookup(self->cache, spec->sha256, path, sizeof path)) {
        task->path = strdup(path);
        if (!task->path)
            s_plugin_fail(self, &task, "worker out of memory");
        else
            s_plugin_submit(self, &task);
        return;
    }
    if (!self->cache) {
        snprintf(err, sizeof err, "plug-in sha256 %s: this worker has no plug-in cache",
                 spec->sha256);
        s_plugin_fail(self, &task, err);
        return;
    }
    if (hg_plugin_cache_park(self->cache, spec->sha256, task, err, sizeof err) != 0)
        s_plugin_fail(self, &task, err);
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
    hg_plugin_task_t *task = item;
    if (!path) {
        s_plugin_fail(self, &task, error ? error : "plug-in fetch failed");
        return;
    }
    task->path = strdup(path);
    if (!task->path)
        s_plugin_fail(self, &task, "worker out of memory");
    else
        s_plugin_submit(self, &task);
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
        s_record_finished(self, &run);
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
        s_record_finished(self, &run);
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
    char text[200];
    snprintf(text, sizeof text, "overlap: %s (%u run(s) in flight, max_concurrent %u)", why,
             job->running, hg_wjob_tpl(job)->max_concurrent ? hg_wjob_tpl(job)->max_concurrent : 1);
    run.error = strdup(text);
    s_record_finished(self, &run);
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
    s_kv_dup(overrides, overrides_n, &f.overrides, &f.overrides_n);
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
    while (self->heap_n > 0 && self->heap[0].next_ms <= now) {
        s_job_t *job = self->heap[0].job;
        int64_t due = job->next_ms - job->delay_ms; /* the scheduled time */
        if (hg_sched_is_fixed_delay(hg_wjob_sched(job))) {
            /* Fixed delay: the next time is set when this run finishes. */
            s_start_run(self, job, due, 1, "schedule", NULL, 0);
            job->last_fire_ms = due;
            s_set_next(job, HG_SCHED_NEVER);
        } else if (now - job->next_ms <= self->cfg->misfire_threshold_ms) {
            s_start_run(self, job, due, 1, "schedule", NULL, 0);
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
                s_start_run(self, job, fires[i], 1, "misfire", NULL, 0);
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
        s_heap_update(self, job);
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
    s_heap_remove(self, job);
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
    if (job->heap_index != HG_WJOB_NO_HEAP) self->heap[job->heap_index].job = job;
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
    /* Continue from the last fire anyone made (the gap is then a misfire),
     * or, for a job never fired, from now. */
    int64_t from = job->last_fire_ms ? job->last_fire_ms : hg_now_ms();
    s_set_next(job,
               resched ? hg_fire_next_after_edit(hg_wjob_sched(job), job->last_fire_ms, hg_now_ms())
                       : hg_sched_next(hg_wjob_sched(job), from));
    s_heap_update(self, job);
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
    s_flush_records(self);
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

static void s_on_ack(s_agent_t *self, hg_ack_t *ack)
{
    for (size_t i = 0; i < ack->run_ids_n; i++) {
        s_record_t *rec = zhashx_lookup(self->unacked_ids, ack->run_ids[i]);
        if (!rec) continue;
        /* Acknowledged before we sent it (a copy went out earlier, in a
         * previous session): the queue to send borrows its members, so
         * send the queue first. */
        if (rec->queued) s_send_records(self, true);
        zhashx_delete(self->unacked_ids, rec->run.run_id);
        zlistx_delete(self->unacked, rec->handle);
        hg_run_clear(&rec->run);
        free(rec);
    }
}

static void s_on_master(s_agent_t *self)
{
    zframe_t *f = zframe_recv(self->dealer);
    if (!f) return;
    hg_msg_t *msg = NULL;
    char detail[256] = "";
    int rc = hg_msg_decode(zframe_data(f), zframe_size(f), &msg, detail, sizeof detail);
    zframe_destroy(&f);
    if (rc != 0) {
        hg_warn("malformed message from master dropped: %s (%s)", hg_strerror(rc), detail);
        return;
    }
    self->last_rx = hg_mono_ms();
    self->rx_seq = msg->seq;
    switch (msg->type) {
    case HG_MSG_WELCOME:
        if (msg->u.welcome.master_epoch < self->max_master_epoch) {
            /* Fencing: a master that led before the one we already
             * followed has been deposed, whatever it believes. */
            hg_warn("master %s at %s offers leadership epoch %" PRIu64 ", older than %" PRIu64
                    " already seen; refusing it",
                    msg->u.welcome.master ? msg->u.welcome.master : "?", self->endpoint,
                    msg->u.welcome.master_epoch, self->max_master_epoch);
            self->welcomed = false;
            if (hg_mono_ms() - self->dialled_at >= self->heartbeat_ms)
                s_rotate(self, "deposed leader");
            else
                self->next_hello = hg_mono_ms() + 250;
            break;
        }
        self->max_master_epoch = msg->u.welcome.master_epoch;
        self->silent_endpoint[0] = '\0';
        self->redials = 0;
        self->welcomed = true;
        if (msg->u.welcome.heartbeat_ms) self->heartbeat_ms = msg->u.welcome.heartbeat_ms;
        if (msg->u.welcome.lease_ms) self->lease_ms = msg->u.welcome.lease_ms;
        hg_info("welcomed by master %s at %s (epoch %" PRIu64 ", heartbeat %lld ms, lease %lld ms)",
                msg->u.welcome.master ? msg->u.welcome.master : "?", self->endpoint,
                msg->u.welcome.master_epoch, (long long) self->heartbeat_ms,
                (long long) self->lease_ms);
        self->next_hb = 0; /* heartbeat at once: the lease starts with its echo */
        {
            /* Runs still going: their starts again, so that a new leader
             * tracks them too (inflight.h, issue 14). */
            size_t started_n = 0;
            hg_run_t *started = hg_winflight_starts(self->inflight, &started_n);
            if (started_n) s_send_runs(self, HG_MSG_RUN_STARTED, started, started_n);
            hg_winflight_starts_free(&started, started_n);
        }
        s_resend_unacked(self);
        hg_plugin_cache_resend(self->cache);
        if (self->leaving) s_announce_leave(self); /* a new session: say it again */
        break;
    case HG_MSG_HEARTBEAT: {
        uint64_t echo = msg->u.heartbeat.echo;
        if (self->welcomed && self->hb_seq[echo % S_HB_RING] == echo) {
            int64_t until = self->hb_sent[echo % S_HB_RING] + self->lease_ms;
            if (until > self->lease_until) {
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
        if (self->welcomed) {
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
        if (self->welcomed) s_on_trigger(self, &msg->u.trigger);
        break;
    case HG_MSG_CANCEL:
        if (self->welcomed) s_on_cancel(self, &msg->u.cancel);
        break;
    case HG_MSG_ACK:
        s_on_ack(self, &msg->u.ack);
        break;
    case HG_MSG_PLUGIN_CHUNK:
        hg_plugin_cache_on_chunk(self->cache, &msg->u.plugin_chunk);
        break;
    case HG_MSG_ERROR:
        if (msg->u.error.code == HG_EUNAVAIL &&
            (msg->u.error.leader ||
             (msg->u.error.message && streq(msg->u.error.message, "not the leader")))) {
            s_on_not_leader(self, msg->u.error.leader);
        } else if (msg->u.error.code == HG_ENOTFOUND) {
            /* The master does not know our session (it restarted, or it
             * declared us lost): introduce ourselves again. */
            if (self->welcomed)
                hg_warn("master: %s", msg->u.error.message ? msg->u.error.message : "");
            self->welcomed = false;
            self->next_hello = 0;
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
    self->pool = NULL; /* freed with the executor */
    hg_plugin_exec_destroy(&self->plugins);
    hg_plugin_task_t *tasks[HG_TASK_PIPE_BATCH];
    size_t n;
    while (self->plugin_results && (zsock_events(self->plugin_results) & ZMQ_POLLIN) &&
           (n = hg_task_pipe_recv(self->plugin_results, (void **) tasks, HG_TASK_PIPE_BATCH)) > 0)
        for (size_t i = 0; i < n; i++)
            hg_plugin_task_destroy(&tasks[i]);
    zsock_destroy(&self->plugin_results);
}

static void s_record_free(void **item)
{
    (void) item; /* records are freed explicitly, the hash only indexes them */
}

/* A hash by raw run id (hg_runid_hash). copy_keys: the hash keeps its own copy of each key
 * (else the key must live as long as its entry, as a record's id does). */
static zhashx_t *s_runid_hash_new(bool copy_keys)
{
    zhashx_t *h = zhashx_new();
    if (!h) return NULL;
    zhashx_set_key_hasher(h, hg_runid_hash);
    zhashx_set_key_comparator(h, hg_runid_compare);
    zhashx_set_key_duplicator(h, copy_keys ? hg_runid_dup : NULL);
    zhashx_set_key_destructor(h, copy_keys ? hg_runid_free : NULL);
    return h;
}

int hg_agent_run(const hg_agent_config_t *cfg)
{
    s_agent_t self = {0};
    self.cfg = cfg;
    self.heartbeat_ms = cfg->heartbeat_ms;
    self.lease_ms = cfg->lease_ms;
    self.jobs = hg_wjobtab_new();
    self.unacked = zlistx_new();
    self.started_pending = s_runid_hash_new(true);
    self.unacked_ids = s_runid_hash_new(false);
    zhashx_set_destructor(self.unacked_ids, s_record_free);
    self.retries = hg_wretry_new();
    self.overlap = hg_overlap_new();
    self.backfills = hg_backfill_new();
    self.inflight = hg_winflight_new();
    if (!self.jobs || !self.retries || !self.overlap || !self.backfills || !self.inflight) {
        hg_error("out of memory starting the worker");
        return -1;
    }
    self.http_skips = (hg_overload_t){.what = "HTTP", .setting = "http.queue"};
    self.plugin_skips = (hg_overload_t){.what = "plug-in", .setting = "plugin.queue"};
    self.http = hg_http_exec_new(cfg->capacity, cfg->http_queue);
    if (!self.http) {
        hg_error("cannot start the HTTP executor");
        return -1;
    }
    /* Thread-mode results come straight to us (plugin_exec.h). */
    static atomic_uint serial;
    char results_endpoint[64];
    snprintf(results_endpoint, sizeof results_endpoint, "inproc://hg-agent-results-%u",
             atomic_fetch_add(&serial, 1));
    self.plugin_results = zsock_new(ZMQ_PULL);
    hg_plugin_exec_config_t pcfg = cfg->plugin;
    pcfg.results_endpoint = results_endpoint;
    if (self.plugin_results && zsock_bind(self.plugin_results, "%s", results_endpoint) == 0)
        self.plugins = hg_plugin_exec_new(&pcfg);
    if (self.plugins) self.pool = hg_plugin_exec_pool(self.plugins);
    if (!self.plugins) {
        hg_error("cannot start the plug-in executor");
        zsock_destroy(&self.plugin_results);
        hg_http_exec_destroy(&self.http);
        return -1;
    }
    if (cfg->plugin_cache.dir && *cfg->plugin_cache.dir) {
        hg_plugin_cache_config_t cc = cfg->plugin_cache;
        cc.send_get = s_cache_send_get;
        cc.release = s_cache_release;
        cc.failed = s_cache_failed;
        cc.arg = &self;
        char err[600] = "";
        self.cache = hg_plugin_cache_new(&cc, err, sizeof err);
        if (!self.cache) {
            hg_error("%s", err);
            s_plugins_stop(&self);
            hg_http_exec_destroy(&self.http);
            return -1;
        }
    }
    self.endpoints = cfg->masters_n ? cfg->masters : &cfg->master;
    self.endpoints_n = cfg->masters_n ? cfg->masters_n : 1;
    for (size_t i = 0; i < self.endpoints_n; i++) {
        /* Refuse a malformed endpoint now rather than when it is needed. */
        if (s_dial(&self, self.endpoints[i]) != 0) {
            zsock_destroy(&self.dealer);
            hg_plugin_cache_destroy(&self.cache);
            s_plugins_stop(&self);
            hg_http_exec_destroy(&self.http);
            return -1;
        }
    }
    s_dial(&self, self.endpoints[0]);
    char list[1024] = "";
    for (size_t i = 0; i < self.endpoints_n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 self.endpoints[i]);
    hg_info("worker %s starting; master%s %s, capacity %u", cfg->name,
            self.endpoints_n > 1 ? "s" : "", list, cfg->capacity);
    zmq_pollitem_t items[4] = {
        {zsock_resolve(self.dealer), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(zactor_sock(self.http)), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(zactor_sock(self.plugins)), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self.plugin_results), 0, ZMQ_POLLIN, 0},
    };
    for (;;) {
        int64_t mono = hg_mono_ms();
        if (zsys_interrupted && !self.leaving) {
            hg_stop_signals_hold(); /* repeats must not interrupt the actors' $TERM */
            self.leaving = true;
            self.leave_deadline = mono + cfg->leave_grace_ms;
            hg_info("stopping: no new fires; waiting up to %lld ms for %u runs in flight",
                    (long long) cfg->leave_grace_ms, self.running);
            if (self.welcomed) s_announce_leave(&self);
        }
        if (self.leaving) {
            /* Leave once the runs are done and their records durable (or
             * the grace time is up, or there is no master to tell). */
            bool runs_done = self.running == 0 || mono >= self.leave_deadline;
            bool acked = zlistx_size(self.unacked) == 0 || !self.welcomed ||
                         mono >= self.leave_deadline + 2000;
            if (runs_done && acked) {
                s_flush_records(&self);
                if (self.welcomed) {
                    hg_msg_t bye = {.type = HG_MSG_LEAVE};
                    s_send(&self, &bye);
                    /* Give the frame a moment to leave the socket. */
                    zclock_sleep(100);
                }
                break;
            }
        }
        if (!self.welcomed) {
            /* Nothing at all from this master for a lease since we dialled
             * it: it is down; try the next one. */
            int64_t heard = self.last_rx > self.dialled_at ? self.last_rx : self.dialled_at;
            if (mono - heard > self.lease_ms) {
                if (s_can_move(&self))
                    s_left_silent(&self, mono - heard);
                else
                    s_redial(&self, mono - heard);
                continue;
            }
            /* Not even a connection: that master is down (killed, not
             * started); with others to try, do not wait out a lease. */
            if (!self.last_sent && mono - self.dialled_at >= S_CONNECT_WAIT_MS &&
                s_can_move(&self)) {
                s_rotate(&self, "cannot connect");
                continue;
            }
            if (mono >= self.next_hello) {
                s_send_hello(&self);
                /* Until the master answers; a HELLO in many parts (a million
                 * held jobs are 20 parts, 40 MB) is repeated more slowly,
                 * so that a master still loading its catalogue does not
                 * find a pile of them to read and reconcile one by one. */
                size_t parts = hg_wjobtab_size(self.jobs) / HG_PROTO_MAX_HELD + 1;
                self.next_hello = mono + (parts < 8 ? 250 * (int64_t) parts : 2000);
            }
        } else if (mono < self.next_hb && self.assigned_since_hb >= S_HB_EARLY_ASSIGNS) {
            s_send_heartbeat(&self); /* early, between the regular ones */
        } else if (mono >= self.next_hb) {
            self.hb_unsent = s_send_heartbeat(&self) == 0 ? 0 : self.hb_unsent + 1;
            self.next_hb = mono + self.heartbeat_ms;
            s_resend_stale(&self, mono);
            /* Two heartbeats in a row found the connection gone: the master
             * died (a kill closes its sockets). With other masters to try,
             * look for the new leader now: following it before our lease
             * runs out means no firing gap at all. A mere network blip
             * costs a HELLO: the standby points us straight back. */
            if (self.hb_unsent >= 2 && s_can_move(&self)) {
                s_rotate(&self, "connection to the master lost");
                continue;
            }
            /* Silent master: after a full lease without any message, start
             * over with HELLO (it may have restarted and lost our session),
             * on the next master when there are several. */
            if (mono - self.last_rx > self.lease_ms) {
                self.welcomed = false, self.next_hello = mono + self.heartbeat_ms;
                if (s_can_move(&self)) s_left_silent(&self, mono - self.last_rx);
            }
        }
        if (self.welcomed && mono >= self.lease_until && self.heap_n && !self.lease_warned &&
            self.lease_until) {
            hg_warn("lease expired; not firing until the master renews it");
            self.lease_warned = true;
        }
        if (hg_plugin_cache_fetching(self.cache) && mono >= self.next_cache_tick) {
            hg_plugin_cache_tick(self.cache);
            self.next_cache_tick = mono + S_CACHE_TICK;
        }
        s_fire_due(&self);
        s_flush_plugin_tasks(&self);
        s_send_records(&self, false);
        hg_overload_tick(&self.http_skips, mono, false);
        hg_overload_tick(&self.plugin_skips, mono, false);

        /* Sleep until the next heartbeat or fire, whichever is first;
         * rounding the fire wait up keeps us from waking (and firing)
         * early. A leaving worker fires nothing more: its due timers
         * must not turn this into a busy loop until it has left. */
        int64_t wait = (self.welcomed ? self.next_hb : self.next_hello) - hg_mono_ms();
        if (self.heap_n && s_lease_valid(&self) && !self.leaving) {
            int64_t until_fire = self.heap[0].next_ms - hg_now_ms();
            if (until_fire < wait) wait = until_fire;
        }
        if (hg_wretry_size(self.retries) && s_lease_valid(&self) && !self.leaving) {
            int64_t until_retry = hg_wretry_next_due(self.retries) - hg_now_ms();
            if (until_retry < wait) wait = until_retry;
        }
        if (hg_plugin_cache_fetching(self.cache) && wait > S_CACHE_TICK) wait = S_CACHE_TICK;
        if (self.out_started_n) {
            int64_t until_started =
                self.out_started[0].started_ms + cfg->started_delay_ms - hg_now_ms();
            if (until_started < wait) wait = until_started;
        }
        if (self.out_finished_n) {
            int64_t until_finished =
                self.finished_urgent ? 0
                                     : self.out_finished_since + S_FINISHED_WAIT_MS - hg_mono_ms();
            if (until_finished < wait) wait = until_finished;
        }
        if (wait < 0) wait = 0;
        if (wait > 1000) wait = 1000;
        items[0].socket = zsock_resolve(self.dealer); /* the DEALER is new after a switch */
        s_flush_plugin_tasks(&self);                  /* runs a master message or a fetch started */
        /* Finished plug-in runs need no wake-up of their own when a timer
         * wakes us soon anyway: they are read after every wake-up. Under
         * load that halves our wake-ups (a busy worker has a fire due
         * every millisecond, and its runs finish in between). */
        short lazy = wait <= S_RESULTS_LAZY_MS ? 0 : ZMQ_POLLIN;
        items[2].events = items[3].events = lazy;
        int n = zmq_poll(items, 4, (long) wait);
        if (n < 0) {
            if (zmq_errno() == EINTR) continue;
            hg_error("poll failed: %s; stopping", zmq_strerror(zmq_errno()));
            break;
        }
        /* Bounded batches per wake-up so timers are never starved. */
        for (int i = 0; i < 1000 && (zsock_events(self.dealer) & ZMQ_POLLIN); i++)
            s_on_master(&self);
        for (int i = 0; i < 1000 && (zsock_events(zactor_sock(self.http)) & ZMQ_POLLIN); i++)
            s_on_http_done(&self);
        for (int i = 0; i < 1000 && (zsock_events(zactor_sock(self.plugins)) & ZMQ_POLLIN); i++)
            s_on_plugin_done(&self, zactor_sock(self.plugins));
        for (int i = 0; i < 1000 && (zsock_events(self.plugin_results) & ZMQ_POLLIN); i++)
            s_on_plugin_done(&self, self.plugin_results);
    }
    hg_info("stopping: %" PRIu64 " runs fired, %zu records unacknowledged", self.fired,
            zlistx_size(self.unacked));
    /* Runs still waiting for a plug-in fetch end as failed ("worker
     * stopping") and are recorded like the rest. */
    hg_plugin_cache_destroy(&self.cache);
    s_flush_plugin_tasks(&self);
    s_flush_records(&self);
    s_plugins_stop(&self);
    hg_http_exec_destroy(&self.http);
    hg_overload_tick(&self.http_skips, hg_mono_ms(), true);
    hg_overload_tick(&self.plugin_skips, hg_mono_ms(), true);
    zsock_destroy(&self.dealer);
    hg_wjobtab_destroy(&self.jobs);
    s_record_t *rec;
    while ((rec = zlistx_detach(self.unacked, NULL))) {
        hg_run_clear(&rec->run);
        free(rec);
    }
    zlistx_destroy(&self.unacked);
    zhashx_destroy(&self.unacked_ids);
    zhashx_destroy(&self.started_pending);
    for (size_t i = 0; i < self.out_started_n; i++)
        hg_run_clear(&self.out_started[i]);
    free(self.out_started);
    for (size_t i = 0; i < self.out_started_now_n; i++)
        hg_run_clear(&self.out_started_now[i]);
    free(self.out_started_now);
    free(self.out_finished);
    free(self.out_finished_recs);
    free(self.heap);
    hg_wretry_destroy(&self.retries);
    hg_overlap_destroy(&self.overlap);
    hg_backfill_destroy(&self.backfills);
    hg_winflight_destroy(&self.inflight);
    return 0;
}
