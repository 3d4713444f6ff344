/* run_records: the run records a worker owes its master, and their resend.
 *
 * Every run a worker starts is reported twice: RUN_STARTED when it begins
 * (at once, or after report.started_delay, when a run finished meanwhile
 * makes it unnecessary) and RUN_FINISHED when it ends. A finished record
 * is kept, in order of sending, until the master acknowledges it (ACK):
 * it is sent again after every WELCOME (a new session, perhaps a new
 * leader), after a pause when the master says its store deferred it
 * (ERROR HG_EBUSY), and when it has waited S_RESEND_AFTER_MS unanswered.
 * At most S_SEND_WINDOW of them are out unacknowledged; later ones wait, in
 * order, for acknowledgements to make room (flow control: a busy store is
 * never sent more than a window again). Finished records
 * travel in batches (up to a few ms, or at once for a job with recover or
 * a pending retry: see hg_wrecords_urgent), since every message costs the
 * master a decode, a transaction and an ACK. Memory is bounded by
 * max.unacked: past it the oldest record is dropped, loudly.
 *
 * Split out of the agent (issue 11): the agent decides what to record;
 * this module decides when each record travels. It sends through the
 * agent's send function (one message at a time, numbered by the agent).
 * Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_RUN_RECORDS_H
#define HG_WORKER_RUN_RECORDS_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_wrecords hg_wrecords_t;

/* Send msg to the master: 0, or a negative HG_E* code when it could not
 * go (the records stay unacknowledged and go again later). */
typedef int(hg_wrecords_send_fn)(void *arg, hg_msg_t *msg);

/* New, empty record keeper. max_unacked: finished records kept at most;
 * started_delay_ms: how long a RUN_STARTED may wait (0: sent at once).
 * NULL when out of memory. */
hg_wrecords_t *hg_wrecords_new(uint32_t max_unacked, int64_t started_delay_ms,
                               hg_wrecords_send_fn *send, void *arg);
/* Free every record, sent or not; NULLs *self_p. Safe on NULL. */
void hg_wrecords_destroy(hg_wrecords_t **self_p);

/* The worker is stopping: every queued record goes with the next send. */
void hg_wrecords_set_leaving(hg_wrecords_t *self);

/* Queue the RUN_STARTED of run (copied). now: send it with the next send
 * (a job with recover set: the master must know the run to re-run it if
 * this worker dies, however short it is), else after started_delay_ms. */
void hg_wrecords_started(hg_wrecords_t *self, const hg_run_t *run, bool now);

/* Queue the finished records gathered so far to go with the next send,
 * whatever their age (a chain's record or one of a recover job: the master
 * must know it before this worker might die). */
void hg_wrecords_urgent(hg_wrecords_t *self);

/* A run is over: keep its record until the master acknowledges it, and
 * queue it to be sent. Takes run's members (run is left zeroed). */
void hg_wrecords_finished(hg_wrecords_t *self, hg_run_t *run);

/* Send the queued records: starts as they come due, finished runs when
 * all is set or when they have waited long enough. */
void hg_wrecords_send(hg_wrecords_t *self, bool all);
/* Send every queued record now (hg_wrecords_send with all). */
void hg_wrecords_flush(hg_wrecords_t *self);

/* A new session: send every unacknowledged record again. */
void hg_wrecords_resend_all(hg_wrecords_t *self);
/* Send again the records the master has not acknowledged long after they
 * went out (call within a session, at the heartbeat pace). */
void hg_wrecords_resend_stale(hg_wrecords_t *self, int64_t now_mono);

/* The master made these records durable: forget them, and send those
 * that waited for room in the send window (S_SEND_WINDOW). */
void hg_wrecords_on_ack(hg_wrecords_t *self, const hg_ack_t *ack);

/* The master's store deferred a batch of our finished records (ERROR
 * HG_EBUSY): what went out until now goes again after a pause (250 ms,
 * doubling to 2 s while the master keeps saying it). */
void hg_wrecords_on_busy(hg_wrecords_t *self, int64_t now_mono);
/* Whether that pause is over: call hg_wrecords_resend_stale. */
bool hg_wrecords_busy_due(const hg_wrecords_t *self, int64_t now_mono);

/* Finished records not acknowledged yet, sent or waiting for the window. */
size_t hg_wrecords_unacked(const hg_wrecords_t *self);

/* wait, or less when a queued record comes due sooner (ms from now). */
int64_t hg_wrecords_wait_ms(const hg_wrecords_t *self, int64_t wait);

#endif
