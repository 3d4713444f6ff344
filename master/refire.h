/* refire: what becomes of a scheduled time whose HTTP request a worker
 * did not send, or may not have sent, because its lease lapsed first
 * (worker/http_exec.c, hg_fence_note.h). The master decides when the
 * record reaches it, because only the master knows who holds the job now
 * and which last fire time it handed to that holder (docs/resilience.md
 * has the whole matrix):
 *
 * - not sent (skipped, HG_FENCE_NOT_SENT): with misfire policy fire_all or
 *   fire_once, or recover set, the job's holder fires that scheduled time
 *   once more ("refire"), unless the holder's own misfire plan covered it
 *   (the job moved before the master had counted that fire, so the new
 *   holder's gap starts before it). With skip and no recover it is not
 *   fired again.
 * - unknown (failed, HG_FENCE_RESET): the endpoint may have it. With
 *   recover it runs again (at least once), otherwise it does not (at most
 *   once).
 *
 * The decision is a pure function (hg_refire_decide); hg_refire_t
 * remembers which fires were already re-run, so that each is re-run once:
 * a record a worker sends twice (it resends what is not acknowledged), a
 * run both closed as lost and reported not sent, and two fires of one
 * scheduled time (the run closed lost, and the same time fired again by
 * its worker's own catch-up when it came back, both kept from the
 * endpoint) are re-run once between them. Owned by the
 * cluster actor alone. */
#ifndef HG_MASTER_REFIRE_H
#define HG_MASTER_REFIRE_H

#include "hg_proto.h"
#include "hg_sched.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_REFIRE_CLAIMS_MAX 65536 /* re-run runs remembered (the oldest are forgotten first) */

/* What a finished record says about its request. */
typedef enum {
    HG_FENCE_NONE = 0,    /* an ordinary record */
    HG_FENCE_UNSENT = 1,  /* not sent: the lease lapsed first */
    HG_FENCE_UNKNOWN = 2, /* reset on the wire: the endpoint may have it */
} hg_fence_kind_t;

/* What to do about its scheduled time. */
typedef enum {
    HG_REFIRE_NONE = 0,    /* nothing */
    HG_REFIRE_AGAIN = 1,   /* the holder fires it once more (TRIGGER reason "refire") */
    HG_REFIRE_RECOVER = 2, /* the holder runs it again (TRIGGER reason "recover") */
} hg_refire_action_t;

/* How the job moved since the epoch the run was fired under. */
typedef enum {
    HG_MOVED_NOT = 0,  /* no move: its holder (if any) fired it, or adopted it with its state */
    HG_MOVED_ONCE = 1, /* one move, and handed_last_ms is what the new holder was given */
    HG_MOVED_MORE = 2, /* several moves: who fired what since is not known here */
} hg_moved_t;

typedef struct {
    hg_misfire_t policy;    /* the job's misfire policy */
    bool recover;           /* the job's recover flag */
    bool held;              /* someone holds the job now */
    hg_moved_t moved;       /* moves since the run's epoch */
    int64_t handed_last_ms; /* HG_MOVED_ONCE: last fire time given to the new holder */
    int64_t last_fire_ms;   /* the job's last fire time as the master knows it now */
} hg_refire_ctx_t;

/* Which kind of record run is (only finished records say). */
hg_fence_kind_t hg_refire_kind(const hg_run_t *run);

/* Decide for a record of kind kind (not HG_FENCE_NONE) scheduled at
 * scheduled_ms. Writes what the record should add to its error text
 * ("; fired again once ...") into note. */
hg_refire_action_t hg_refire_decide(hg_fence_kind_t kind, int64_t scheduled_ms,
                                    const hg_refire_ctx_t *ctx, char *note, size_t note_size);

typedef struct hg_refire hg_refire_t;

/* New empty memory of re-run runs; NULL when out of memory. */
hg_refire_t *hg_refire_new(void);
/* Free it and NULL the pointer. Safe on NULL. */
void hg_refire_destroy(hg_refire_t **self);
/* Claim the re-run of run: true the first time, false when it was
 * claimed before (or, out of memory, could not be remembered: a re-run
 * that cannot be made exactly once is not made). A fire of the schedule,
 * a manual trigger, a retry... is claimed by its job, scheduled time and
 * attempt, whichever run id carried it; a re-run (reason "refire" or
 * "recover") by its run id, so that a re-run kept from its endpoint in
 * turn is decided anew (refire) or not re-run (recover, see
 * cluster_runlost.c). */
bool hg_refire_claim(hg_refire_t *self, const hg_run_t *run);
/* The claim key of run (HG_PROTO_RUN_ID_SIZE bytes). A key by scheduled
 * time has 0xf in the version nibble of a UUIDv7's byte 6, where a run id
 * has 7: the two never meet. */
void hg_refire_key(const hg_run_t *run, uint8_t key[HG_PROTO_RUN_ID_SIZE]);
/* The TRIGGER of a re-run (job, scheduled time, attempt, refire or
 * recover) sent under epoch was passed on to the job's next holder: the
 * earlier holder's record of it, if one comes, calls for nothing more.
 * Remembered among the claims, within the same bound. */
void hg_refire_supersede(hg_refire_t *self, uint64_t job_id, int64_t scheduled_ms, uint32_t attempt,
                         bool refire, uint64_t epoch);
/* Whether run is the record of a re-run passed on since
 * (hg_refire_supersede), by its job, scheduled time, attempt, reason and
 * the epoch it was fired under. */
bool hg_refire_superseded(hg_refire_t *self, const hg_run_t *run);

#endif
