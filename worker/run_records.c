/* run_records: the run records a worker owes its master (see
 * run_records.h): RUN_STARTED and RUN_FINISHED queues, the unacknowledged
 * list and its resend. */
#include "run_records.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <czmq.h>
#include <inttypes.h>

#define S_RESEND_BATCH 1000 /* run records per message when resending */
/* A finished record the master has not acknowledged this long after it was
 * sent goes again (hg_wrecords_resend_stale): a master whose store is full
 * defers records without an answer (master/store_gate.h). Longer than the
 * store's bounded queue takes to drain, so a merely busy master gets few
 * copies; the store writes a copy idempotently. */
#define S_RESEND_AFTER_MS 3000
/* Finished records sent to the master and not yet acknowledged: at most
 * this many (a send window). Beyond it new records wait, in order, in the
 * unsent list until acknowledgements make room. Without a window a master
 * whose store deferred records got every unacknowledged record again each
 * S_RESEND_AFTER_MS, and decoding those copies took the CPU its store and
 * heartbeats needed: offered 100,000 firings/s, the cluster recorded
 * 17,000-40,000/s and leases lapsed. 20,000 is 400 ms of one worker's
 * records at 50,000/s, more than an acknowledgement takes when the store
 * keeps up; two workers' windows fit the master's store.queue_max (50,000),
 * so its gate seldom closes, and when it does a resend is one window. */
#define S_SEND_WINDOW 20000
/* A master whose store is full says so (ERROR HG_EBUSY) for each batch of
 * finished records it defers: what was sent before that goes again after
 * a pause that starts at S_BUSY_MIN_MS and doubles up to S_BUSY_MAX_MS
 * while the master keeps saying it (it starts over after S_BUSY_MAX_MS
 * without one). Acknowledgements of earlier batches do not shorten it:
 * they come while the store drains, and resending into a store that is
 * still full only costs the master decodes. */
#define S_BUSY_MIN_MS 250
#define S_BUSY_MAX_MS 2000
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
#define S_FINISHED_BATCH   1000
/* Bytes of run records in one message: half what the codec accepts. */
#define S_MSG_BYTES (HG_PROTO_MAX_MSG / 2)
_Static_assert(S_FINISHED_BATCH <= HG_PROTO_MAX_RUNS, "a batch must fit one message");

/* A run record the master has not acknowledged. */
typedef struct {
    hg_run_t run;      /* the finished record (owned) */
    void *handle;      /* its place in the unacked list (or the unsent one) */
    bool queued;       /* out_finished borrows its members: not to be freed until sent */
    bool unsent;       /* waiting for room in the send window (handle is in unsent) */
    int64_t sent_mono; /* monotonic ms it was last queued to be sent */
} s_record_t;

struct hg_wrecords {
    uint32_t max_unacked;      /* finished records kept at most */
    int64_t started_delay_ms;  /* how long a RUN_STARTED may wait */
    hg_wrecords_send_fn *send; /* the agent's send */
    void *arg;                 /* its argument */
    bool leaving;              /* stopping: everything queued goes now */
    zlistx_t *unacked;         /* s_record_t sent, oldest first (at most S_SEND_WINDOW) */
    zlistx_t *unsent;          /* s_record_t not sent yet: the window was full */
    int64_t busy_mark;         /* mono ms of the master's last HG_EBUSY (0: none pending) */
    int64_t busy_resend;       /* mono ms at which records sent before busy_mark go again */
    int64_t busy_pause;        /* the current pause after HG_EBUSY, ms */
    int64_t busy_last;         /* mono ms of the last HG_EBUSY */
    zhashx_t *unacked_ids;     /* raw run id -> s_record_t (key: the record's own id) */
    hg_run_t *out_started;     /* RUN_STARTED records waiting to be sent, oldest first */
    zhashx_t *started_pending; /* raw run ids of those whose run is still going */
    size_t out_started_n, out_started_cap;
    hg_run_t *out_started_now; /* RUN_STARTED of recover jobs: sent at once */
    size_t out_started_now_n, out_started_now_cap;
    hg_run_t *out_finished;         /* RUN_FINISHED records waiting to be sent */
    s_record_t **out_finished_recs; /* the unacked record each of them borrows from */
    size_t out_finished_n, out_finished_cap;
    int64_t out_finished_since; /* monotonic ms the oldest of them was queued */
    bool finished_urgent;       /* one of them must go now (recover set) */
    uint64_t resent_stale;      /* records sent again unacknowledged, since last logged */
    int64_t resent_logged_mono; /* when that was last logged */
};

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

hg_wrecords_t *hg_wrecords_new(uint32_t max_unacked, int64_t started_delay_ms,
                               hg_wrecords_send_fn *send, void *arg)
{
    hg_wrecords_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->max_unacked = max_unacked;
    self->started_delay_ms = started_delay_ms;
    self->send = send;
    self->arg = arg;
    self->unacked = zlistx_new();
    self->unsent = zlistx_new();
    self->started_pending = s_runid_hash_new(true);
    self->unacked_ids = s_runid_hash_new(false);
    if (!self->unacked || !self->unsent || !self->started_pending || !self->unacked_ids) {
        hg_wrecords_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->unacked_ids, s_record_free);
    return self;
}

void hg_wrecords_destroy(hg_wrecords_t **self_p)
{
    if (!self_p || !*self_p) return;
    hg_wrecords_t *self = *self_p;
    s_record_t *rec;
    while ((self->unacked && (rec = zlistx_detach(self->unacked, NULL))) ||
           (self->unsent && (rec = zlistx_detach(self->unsent, NULL)))) {
        hg_run_clear(&rec->run);
        free(rec);
    }
    zlistx_destroy(&self->unacked);
    zlistx_destroy(&self->unsent);
    zhashx_destroy(&self->unacked_ids);
    zhashx_destroy(&self->started_pending);
    for (size_t i = 0; i < self->out_started_n; i++)
        hg_run_clear(&self->out_started[i]);
    free(self->out_started);
    for (size_t i = 0; i < self->out_started_now_n; i++)
        hg_run_clear(&self->out_started_now[i]);
    free(self->out_started_now);
    free(self->out_finished);
    free(self->out_finished_recs);
    free(self);
    *self_p = NULL;
}

void hg_wrecords_set_leaving(hg_wrecords_t *self)
{
    self->leaving = true;
}

/* -------------------------------------------------------------- sending */

/* Send runs[0..n) as messages of at most S_FINISHED_BATCH records and
 * S_MSG_BYTES bytes: one timer pass or one wake-up can gather more than a
 * message may carry (HG_PROTO_MAX_RUNS, HG_PROTO_MAX_MSG), and a message
 * the codec refuses would leave its records unsent until the next
 * session. */
static void s_send_runs(hg_wrecords_t *self, hg_msg_type_t type, hg_run_t *runs, size_t n)
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
        self->send(self->arg, &msg);
        at += k;
    }
}

/* Send the queued RUN_STARTED records that are due.
 *
 * A RUN_STARTED is dropped when its run finished before it went out: the
 * RUN_FINISHED record carries the same run id, scheduled and start times,
 * so the history is the same. With report.started_delay (started_delay_ms)
 * it first waits that long, which drops it for most runs (a noop plug-in,
 * a fast endpoint) and halves the records the master writes. The cost is
 * why the default is 0: a run shorter than the delay whose worker dies
 * before it ends leaves no record, so the master can neither mark it lost
 * nor tell the next holder that its scheduled time already fired, and that
 * time may fire twice. Jobs with recover set skip the delay
 * (hg_wrecords_started). all: send every queued RUN_STARTED now (when
 * stopping). */
static void s_flush_started(hg_wrecords_t *self, bool all)
{
    int64_t cutoff = hg_now_ms() - self->started_delay_ms;
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

void hg_wrecords_send(hg_wrecords_t *self, bool all)
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

void hg_wrecords_flush(hg_wrecords_t *self)
{
    hg_wrecords_send(self, true);
}

/* ------------------------------------------------------------- queueing */

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
static int s_queue_finished(hg_wrecords_t *self, s_record_t *rec)
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

/* Without report.started_delay (the default) every start goes out at
 * once, with no bookkeeping per run. */
void hg_wrecords_started(hg_wrecords_t *self, const hg_run_t *run, bool now)
{
    if (now || self->started_delay_ms == 0) {
        s_queue_copy(&self->out_started_now, &self->out_started_now_n, &self->out_started_now_cap,
                     run);
        return;
    }
    if (s_queue_copy(&self->out_started, &self->out_started_n, &self->out_started_cap, run) != 0)
        return;
    zhashx_insert(self->started_pending, run->run_id, (void *) 1);
}

void hg_wrecords_urgent(hg_wrecords_t *self)
{
    self->finished_urgent = true;
}

void hg_wrecords_finished(hg_wrecords_t *self, hg_run_t *run)
{
    if (hg_wrecords_unacked(self) >= self->max_unacked) {
        /* Bounded memory: the oldest record goes, loudly. The queue to
         * send borrows the records' members: send it first. */
        hg_wrecords_flush(self);
        zlistx_t *from = zlistx_size(self->unacked) ? self->unacked : self->unsent;
        s_record_t *old = zlistx_first(from);
        char id[40];
        hg_runid_format(old->run.run_id, id);
        hg_error("unacked run records over max.unacked (%u); dropping run %s of job %s",
                 self->max_unacked, id, old->run.job_name);
        zhashx_delete(self->unacked_ids, old->run.run_id);
        zlistx_delete(from, old->handle);
        hg_run_clear(&old->run);
        free(old);
    }
    s_record_t *rec = calloc(1, sizeof *rec);
    if (!rec) return;
    rec->run = *run; /* take ownership of the members */
    memset(run, 0, sizeof *run);
    if (zhashx_size(self->started_pending))
        zhashx_delete(self->started_pending, rec->run.run_id); /* its RUN_STARTED need not go */
    zhashx_insert(self->unacked_ids, rec->run.run_id, rec);
    if (zlistx_size(self->unsent) || zlistx_size(self->unacked) >= S_SEND_WINDOW) {
        rec->unsent = true; /* sent when acknowledgements make room (s_fill_window) */
        rec->handle = zlistx_add_end(self->unsent, rec);
        return;
    }
    rec->handle = zlistx_add_end(self->unacked, rec);
    if (self->out_finished_n == 0) self->out_finished_since = hg_mono_ms();
    s_queue_finished(self, rec);
}

/* Send the records waiting for the window, oldest first, while it has
 * room (after acknowledgements, and after a WELCOME's resend). */
static void s_fill_window(hg_wrecords_t *self)
{
    s_record_t *rec;
    size_t n = 0;
    while (zlistx_size(self->unacked) < S_SEND_WINDOW && (rec = zlistx_first(self->unsent))) {
        zlistx_delete(self->unsent, rec->handle);
        rec->unsent = false;
        rec->handle = zlistx_add_end(self->unacked, rec);
        if (s_queue_finished(self, rec) != 0) break; /* stays unacked: the stale resend sends it */
        if (self->out_finished_n >= S_FINISHED_BATCH) hg_wrecords_flush(self);
        n++;
    }
    if (n) hg_wrecords_flush(self);
}

/* --------------------------------------------------------------- resend */

void hg_wrecords_resend_all(hg_wrecords_t *self)
{
    size_t total = zlistx_size(self->unacked);
    if (!total) {
        s_fill_window(self);
        return;
    }
    for (s_record_t *rec = zlistx_first(self->unacked); rec; rec = zlistx_next(self->unacked)) {
        if (!rec->queued) s_queue_finished(self, rec);
        if (self->out_finished_n == S_RESEND_BATCH) hg_wrecords_flush(self);
    }
    hg_wrecords_flush(self);
    hg_info("resent %zu unacknowledged run records", total);
    s_fill_window(self);
}

/* The unacked list stays in order of sending (a record sent again moves to
 * its end), so only its stale head is looked at. */
void hg_wrecords_resend_stale(hg_wrecords_t *self, int64_t mono)
{
    size_t n = 0, total = zlistx_size(self->unacked);
    s_record_t *rec;
    int64_t cutoff = mono - S_RESEND_AFTER_MS;
    if (self->busy_mark && mono >= self->busy_resend) {
        /* The master deferred what we sent before its HG_EBUSY. */
        if (self->busy_mark > cutoff) cutoff = self->busy_mark;
        self->busy_mark = 0;
    }
    while (n < total && (rec = zlistx_first(self->unacked)) && rec->sent_mono <= cutoff) {
        if (rec->queued)
            rec->sent_mono = mono; /* about to go anyway */
        else
            s_queue_finished(self, rec);
        zlistx_move_end(self->unacked, rec->handle);
        if (self->out_finished_n >= S_RESEND_BATCH) hg_wrecords_flush(self);
        n++;
    }
    if (n) hg_wrecords_flush(self);
    self->resent_stale += n;
    if (self->resent_stale && mono - self->resent_logged_mono >= 10000) {
        hg_info("sent %" PRIu64 " run records again: the master deferred them (busy store, see "
                "its log) or had not acknowledged them within %d ms",
                self->resent_stale, S_RESEND_AFTER_MS);
        self->resent_stale = 0;
        self->resent_logged_mono = mono;
    }
}

void hg_wrecords_on_ack(hg_wrecords_t *self, const hg_ack_t *ack)
{
    for (size_t i = 0; i < ack->run_ids_n; i++) {
        s_record_t *rec = zhashx_lookup(self->unacked_ids, ack->run_ids[i]);
        if (!rec) continue;
        /* Acknowledged before we sent it (a copy went out earlier, in a
         * previous session): the queue to send borrows its members, so
         * send the queue first. */
        if (rec->queued) hg_wrecords_flush(self);
        zhashx_delete(self->unacked_ids, rec->run.run_id);
        zlistx_delete(rec->unsent ? self->unsent : self->unacked, rec->handle);
        hg_run_clear(&rec->run);
        free(rec);
    }
    s_fill_window(self);
}

void hg_wrecords_on_busy(hg_wrecords_t *self, int64_t mono)
{
    bool again = self->busy_last && mono - self->busy_last < S_BUSY_MAX_MS;
    self->busy_last = mono;
    if (self->busy_mark) {
        self->busy_mark = mono; /* one pause per burst of answers */
        return;
    }
    self->busy_pause = again && self->busy_pause ? self->busy_pause * 2 : S_BUSY_MIN_MS;
    if (self->busy_pause > S_BUSY_MAX_MS) self->busy_pause = S_BUSY_MAX_MS;
    self->busy_mark = mono;
    self->busy_resend = mono + self->busy_pause;
}

bool hg_wrecords_busy_due(const hg_wrecords_t *self, int64_t mono)
{
    return self->busy_mark && mono >= self->busy_resend;
}

size_t hg_wrecords_unacked(const hg_wrecords_t *self)
{
    return zlistx_size(self->unacked) + zlistx_size(self->unsent);
}

int64_t hg_wrecords_wait_ms(const hg_wrecords_t *self, int64_t wait)
{
    if (self->out_started_n) {
        int64_t until_started =
            self->out_started[0].started_ms + self->started_delay_ms - hg_now_ms();
        if (until_started < wait) wait = until_started;
    }
    if (self->out_finished_n) {
        int64_t until_finished = self->finished_urgent
                                     ? 0
                                     : self->out_finished_since + S_FINISHED_WAIT_MS - hg_mono_ms();
        if (until_finished < wait) wait = until_finished;
    }
    if (self->busy_mark) {
        int64_t until_busy = self->busy_resend - hg_mono_ms();
        if (until_busy < wait) wait = until_busy;
    }
    return wait;
}
