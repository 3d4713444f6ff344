/* peer_guard: what a worker may say to the master (DESIGN.md section 11).
 *
 * A run record is taken only from a node with a live session, only for a
 * job that node holds now or held earlier while this master leads (it may
 * still report runs of a job that moved away: lost, handed over, paused),
 * and only with a fire time no more than a lease ahead of the master's
 * clock. Everything else is refused: it changes no row and no job, and the
 * refusal is counted per reason and logged once per burst (the first one,
 * then "N records refused from X over T ms"), never once per frame, so a
 * peer that floods the master cannot flood its log.
 *
 * The guard remembers, per node, the jobs it held and lost in this epoch:
 * a set of job ids, 16 bytes a job at most, capped per node and in total,
 * and forgotten after 12 to 24 hours (by then the node has long sent what
 * it had); the current holder is the job table's. It belongs to the cluster actor
 * alone. */
#ifndef HG_MASTER_PEER_GUARD_H
#define HG_MASTER_PEER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why something a peer sent was refused. */
typedef enum {
    HG_PEER_OK = 0,         /* accepted */
    HG_PEER_NO_SESSION = 1, /* the sender has no live session (no WELCOMEd HELLO) */
    HG_PEER_NOT_HOLDER = 2, /* a run of a job the sender neither holds nor held */
    HG_PEER_FUTURE = 3,     /* a fire time more than a lease ahead of our clock */
    HG_PEER_MALFORMED = 4,  /* a frame that does not decode */
    HG_PEER_REASONS = 5     /* number of values */
} hg_peer_reason_t;

/* Bounds on what the guard remembers. */
#define HG_PEER_MOVED_NODE_MAX      (1u << 21)           /* moved jobs remembered per node */
#define HG_PEER_MOVED_TOTAL_MAX     (1u << 23)           /* and over all nodes */
#define HG_PEER_MOVED_GENERATION_MS (12LL * 3600 * 1000) /* moves are remembered 12 to 24 h */
#define HG_PEER_BURSTS_MAX          1024                 /* senders with a refusal burst open */
#define HG_PEER_BURST_QUIET_MS      1000  /* a burst ends after this long without refusals */
#define HG_PEER_BURST_REPORT_MS     30000 /* a burst that goes on is summed up this often */

typedef struct hg_peer_guard hg_peer_guard_t;

/* New guard; lease_ms bounds how far ahead a fire time may be. NULL when
 * out of memory. */
hg_peer_guard_t *hg_peer_guard_new(int64_t lease_ms);
/* Free it; NULLs the caller's pointer. */
void hg_peer_guard_destroy(hg_peer_guard_t **self);

/* node no longer holds job_id (lost, handed over, revoked): its records of
 * the job's earlier runs stay acceptable for the rest of this epoch. 0, or
 * HG_ETOOBIG when the node's or the total cap is reached (its later
 * records of that job will be refused), HG_ENOMEM. */
int hg_peer_guard_moved(hg_peer_guard_t *self, const char *node, uint64_t job_id);

/* Whether node held job_id and lost it in this epoch. */
bool hg_peer_guard_held(hg_peer_guard_t *self, const char *node, uint64_t job_id);

/* Age the moved sets by one generation (hg_peer_guard_tick does it every
 * HG_PEER_MOVED_GENERATION_MS): moves made before the previous aging are
 * forgotten. */
void hg_peer_guard_age(hg_peer_guard_t *self);

/* The node is forgotten: drop what the guard keeps about it. */
void hg_peer_guard_forget(hg_peer_guard_t *self, const char *node);

/* The rule for one run record from node. live: node has a session;
 * holder: the job's current holder ("" or NULL for none or an unknown
 * job); now_ms: the master's wall clock. */
hg_peer_reason_t hg_peer_guard_check_run(hg_peer_guard_t *self, const char *node, bool live,
                                         const char *holder, uint64_t job_id, int64_t scheduled_ms,
                                         int64_t now_ms);

/* Count a refusal from node (what: the message type, for the log;
 * job_id: 0 when none; detail: more for the log, or NULL) and log it if it
 * opens a burst. now_mono_ms: the monotonic clock. */
void hg_peer_guard_refused(hg_peer_guard_t *self, const char *node, hg_peer_reason_t why,
                           const char *what, uint64_t job_id, const char *detail,
                           int64_t now_mono_ms);

/* Periodic: sum up the bursts that ended (or went on for long) in one line
 * each; age the moved sets when a generation has passed. */
void hg_peer_guard_tick(hg_peer_guard_t *self, int64_t now_mono_ms);

/* Refusals so far for a reason (all reasons with HG_PEER_OK). */
uint64_t hg_peer_guard_refusals(hg_peer_guard_t *self, hg_peer_reason_t why);
/* Jobs remembered as moved, over all nodes. */
size_t hg_peer_guard_moved_count(hg_peer_guard_t *self);

/* Text of a reason ("no session", ...). */
const char *hg_peer_reason_text(hg_peer_reason_t why);

#endif
