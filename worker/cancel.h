/* cancel: the CANCEL command an owner sends to an executor over its actor
 * pipe (issue 11: run cancel, overlap "replace"). Both executors take it:
 *   owner -> executor  "s" "CANCEL", job id (8 bytes), run id (16 bytes, or
 *                      empty: every run of the job), why (string)
 * A matching task, queued or in flight, comes back with status
 * "cancelled" and error "cancelled: <why>"; one that is not found is no
 * error (it finished meanwhile, and its record says how). */
#ifndef HG_WORKER_CANCEL_H
#define HG_WORKER_CANCEL_H

#include "hg_proto.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t job_id;                      /* job whose runs to cancel */
    bool any_run;                         /* every run of the job */
    uint8_t run_id[HG_PROTO_RUN_ID_SIZE]; /* else this run only */
    char why[160];                        /* goes into the run's error */
} hg_cancel_cmd_t;

/* Send CANCEL to an executor. run_id NULL: every run of the job. 0 or
 * HG_EINVAL / HG_EIO. */
int hg_cancel_send(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why);

/* Read the rest of a CANCEL command (after its name). false when malformed. */
bool hg_cancel_parse(zmsg_t *msg, hg_cancel_cmd_t *out);

/* Whether the command names this run. */
bool hg_cancel_matches(const hg_cancel_cmd_t *c, const hg_run_t *run);

/* End a run as cancelled: status, finish time and "cancelled: <why>". */
void hg_cancel_end(const hg_cancel_cmd_t *c, hg_run_t *run);

#endif
