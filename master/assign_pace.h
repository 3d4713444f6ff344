/* assign_pace: how many ASSIGNs one worker may have on their way, sized by
 * how fast it takes them.
 *
 * A worker reads the master's messages in order, so the echo of its
 * heartbeat, which renews its lease, waits behind every ASSIGN sent before
 * it. A fixed window of 50,000 ASSIGNs was seconds of reading for a worker
 * whose cores are busy firing (7,000 a second was measured while a million
 * jobs were placed beside 10,000 firings/s), and its lease lapsed. The
 * window is now what the worker takes in HG_PACE_TARGET_MS, from the
 * progress its heartbeats report (the count of jobs it holds):
 *   - while it is behind (ASSIGNs still on their way at a heartbeat), the
 *     rate it took them since the last measurement sets the window (half
 *     the old window, half the new, so one slow interval does not halve it);
 *   - when it caught up while the window held placements back, it may take
 *     more: the window doubles;
 *   - otherwise (no placement going on) it stays.
 * Bounded by HG_PACE_MIN and HG_PACE_MAX (the ROUTER's send queue to one
 * node holds 100,000 messages; ZeroMQ drops what does not fit).
 *
 * Plain state, no I/O: the cluster actor keeps one per node and feeds it
 * each heartbeat (cluster.c); unit/test_assign_pace. */
#ifndef HG_MASTER_ASSIGN_PACE_H
#define HG_MASTER_ASSIGN_PACE_H

#include <stdbool.h>
#include <stdint.h>

/* How long a worker's queue of ASSIGNs may take it to read: a quarter of
 * the default lease (2 s), so an echo is never that late for them. */
#define HG_PACE_TARGET_MS 500
/* The window of a session that has not reported progress yet. */
#define HG_PACE_INITIAL 10000
#define HG_PACE_MIN     1000
#define HG_PACE_MAX     50000
/* Shorter intervals between heartbeats are summed with the next one: a
 * rate over a few milliseconds says little. */
#define HG_PACE_MIN_INTERVAL_MS 50

typedef struct {
    uint32_t window;  /* ASSIGNs it may have on their way */
    bool limited;     /* the window held a placement back since the last measurement */
    int64_t since_ms; /* start of the current measurement (monotonic), 0: none yet */
    uint32_t held;    /* jobs it held then */
} hg_assign_pace_t;

/* A new session: no measurement, the initial window. */
void hg_assign_pace_reset(hg_assign_pace_t *self);
/* A heartbeat read at now_ms (monotonic): held is the jobs it says it
 * holds, behind the ASSIGNs still on their way to it (sent by us, not yet
 * counted in held). Updates the window. */
void hg_assign_pace_heartbeat(hg_assign_pace_t *self, int64_t now_ms, uint32_t held,
                              uint32_t behind);
/* Whether one more ASSIGN may go to a node that has `behind` on their
 * way; when not, the window is noted as what held the placement back. */
bool hg_assign_pace_room(hg_assign_pace_t *self, uint32_t behind);

#endif
