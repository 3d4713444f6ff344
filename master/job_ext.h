/* job_ext: the job fields of run control (docs/jobs.md): jitter,
 * remaining_runs and the pause note. Their validation, their place in the
 * jobs row, their part in the ASSIGN a worker gets, and the look-ahead a
 * GET shows (next_fires).
 *
 * remaining_runs is kept as a cut-off time, not as a counter: setting it
 * to N stores the N-th scheduled time after the write (runs_end_at), and
 * the job's effective end (the end_at column and the ASSIGN's end) is the
 * earlier of that and the job's own end_at. The schedule then stops by
 * itself on every worker that holds the job: a new holder after a worker
 * kill or a master failover fires exactly the times up to the cut-off that
 * were not fired yet, so the count stays right with no counter to carry
 * across. The count shown is the number of scheduled times still before
 * the cut-off; once none is left the job reads "completed". */
#ifndef HG_MASTER_JOB_EXT_H
#define HG_MASTER_JOB_EXT_H

#include "hg_proto.h"
#include "hg_sched.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_JOB_JITTER_MAX_MS      (3600 * 1000) /* 1h */
#define HG_JOB_REMAINING_MAX      100000        /* remaining_runs upper bound */
#define HG_JOB_PAUSE_NOTE_MAX     500           /* bytes of a pause note */
#define HG_JOB_NEXT_FIRES         5             /* next_fires shown by GET */
#define HG_JOB_RUNS_FROM_SLACK_MS 0             /* first counted time: after the write + this */

/* Validate body's jitter, remaining_runs and pause_note into out (a job
 * hg_job_validate has normalized: schedule, timezone, start_at, end_at
 * set). now_ms anchors remaining_runs. 0, or HG_EINVAL with the dotted
 * field in field and "field: reason" in message. */
int hg_job_ext_validate(json_t *body, json_t *out, int64_t now_ms, char *field, size_t field_size,
                        char *message, size_t message_size);

/* Copy the run-control members of a normalized job into the spec object
 * stored in the jobs row. */
void hg_job_ext_to_spec(json_t *job, json_t *spec);

/* The end_at column of a normalized job whose own end is end_ms (0 =
 * none): the earlier of it and the remaining_runs cut-off. */
int64_t hg_job_ext_end_ms(json_t *job, int64_t end_ms);

/* Put the run-control members of spec into job, the API object being
 * built from a row (end_at from the row is replaced by the job's own, and
 * an active job with no run left reads "completed"). now_ms: the time the
 * remaining count is taken at. */
void hg_job_ext_from_spec(json_t *spec, json_t *job, int64_t now_ms);

/* Set the run-control members of an ASSIGN from the job's API object:
 * jitter_ms, and end_ms limited by the remaining_runs cut-off. */
void hg_job_ext_assign(json_t *job, hg_assign_t *out);

/* The job's schedule (API object) with its zone and its own start and
 * end; NULL when it does not parse. The caller destroys it. */
hg_sched_t *hg_job_ext_sched(json_t *job);

/* The next n fire times of job after now_ms as RFC 3339 times with the
 * offset of the job's zone ("2026-03-08T03:00:00-04:00"): a new array,
 * empty for a job that is not active, a fixed-delay schedule or one with
 * no time left. */
json_t *hg_job_ext_next_fires(json_t *job, int64_t now_ms, int n);

/* Format ms as RFC 3339 with the zone's offset, to the millisecond when
 * ms has a fraction. tz NULL or "" is UTC. */
void hg_job_ext_format_local(const char *tz, int64_t ms, char *buf, size_t size);

#endif
