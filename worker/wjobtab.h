/* wjobtab: the worker's table of the jobs it holds, compact enough for a
 * million of them (issue 14: at most 300 bytes a job).
 *
 * A decoded ASSIGN is split like the master's job table (master/jobtab.h)
 * splits a spec: what tells jobs apart (id, epoch, version, name, URL,
 * parameters, start and end) goes into the job's own record, one
 * allocation; everything else (namespace, kind, schedule text, time zone,
 * misfire, timeout, the rest of the HTTP or plug-in task, retry and
 * overlap policy, jitter, shard) goes into a template shared by every job
 * with the same values. The parsed schedule (some 300 bytes) is shared
 * too, by every job with the same expression, zone, start and end, and a
 * shared one is parsed once. Records are found by id in an
 * open-addressing table keyed by the number. The table belongs to the
 * agent actor alone. A job's start and end are kept with its schedule,
 * whose key they are part of. */
#ifndef HG_WORKER_WJOBTAB_H
#define HG_WORKER_WJOBTAB_H

#include "hg_proto.h"
#include "hg_sched.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_wjobtpl hg_wjobtpl_t;     /* shared part of the specs */
typedef struct hg_wjobsched hg_wjobsched_t; /* shared parsed schedule */

/* Not in the timer heap (hg_wjob_t.heap_index). */
#define HG_WJOB_NO_HEAP UINT32_MAX

/* One job held by this worker. The agent owns the firing state (next_ms,
 * delay_ms, last_fire_ms, heap_index, running); the table the rest. */
typedef struct {
    uint64_t id;             /* catalogue id */
    uint64_t epoch;          /* assignment epoch: REVOKE and runs quote it */
    uint64_t version;        /* job version */
    int64_t next_ms;         /* next fire: scheduled time + delay_ms, HG_SCHED_NEVER when done */
    int64_t last_fire_ms;    /* last scheduled time fired (by us or, via ASSIGN, anyone) */
    const hg_wjobtpl_t *tpl; /* shared part of the spec (a reference) */
    hg_wjobsched_t *sched;   /* shared parsed schedule (a reference) */
    hg_kv_t *params;         /* job parameters (owned), NULL when none */
    uint32_t delay_ms;       /* jitter drawn for the next fire (0 without jitter) */
    uint32_t heap_index;     /* position in the agent's timer heap, HG_WJOB_NO_HEAP when out */
    uint32_t running;        /* runs of this job in flight */
    uint16_t params_n;       /* entries in params */
    uint8_t misfire;         /* hg_misfire_t of the spec */
    bool has_url;            /* text holds a URL after the name */
    char text[];             /* name NUL [url NUL] */
} hg_wjob_t;

typedef struct hg_wjobtab hg_wjobtab_t;

/* New empty table; NULL when out of memory. */
hg_wjobtab_t *hg_wjobtab_new(void);
/* Free the table with its records, templates and schedules; NULLs *self. */
void hg_wjobtab_destroy(hg_wjobtab_t **self);

/* Make a record from a decoded ASSIGN, taking a's members (a is left
 * cleared; on failure a keeps them). The schedule is parsed, or shared with a job
 * that has the same one. Firing state starts empty (next_ms
 * HG_SCHED_NEVER, last_fire_ms from the spec, out of the heap). The record
 * is not in the table yet (hg_wjobtab_put). NULL on failure, with *rc
 * HG_ESCHEDULE (err holds the parser's message) or HG_ENOMEM. */
hg_wjob_t *hg_wjobtab_make(hg_wjobtab_t *self, hg_assign_t *a, int *rc, char *err, size_t err_size);
/* Insert job, or replace the record with its id: *old gets the replaced
 * record (the caller frees it with hg_wjobtab_free), else NULL. 0 or
 * HG_ENOMEM (job not inserted). */
int hg_wjobtab_put(hg_wjobtab_t *self, hg_wjob_t *job, hg_wjob_t **old);
/* The record of id, or NULL. */
hg_wjob_t *hg_wjobtab_find(hg_wjobtab_t *self, uint64_t id);
/* Take id's record out of the table and free it. Safe when absent. */
void hg_wjobtab_remove(hg_wjobtab_t *self, uint64_t id);
/* Free a record that is not (or no longer) in the table; NULLs *job. */
void hg_wjobtab_free(hg_wjobtab_t *self, hg_wjob_t **job);
/* Records in the table. */
size_t hg_wjobtab_size(const hg_wjobtab_t *self);
/* Walk the records: start with *cursor = 0; the next record at or after
 * *cursor (advancing it past), NULL at the end. No insert or removal
 * during a walk. */
hg_wjob_t *hg_wjobtab_next(hg_wjobtab_t *self, size_t *cursor);
/* Distinct templates and parsed schedules held (what the sharing saves). */
size_t hg_wjobtab_tpl_count(const hg_wjobtab_t *self);
size_t hg_wjobtab_sched_count(const hg_wjobtab_t *self);
/* Heap bytes the table holds for its records, slots, templates and
 * schedules (malloc's own overhead of 8 bytes a block and rounding to 16
 * included), so that a test can pin the bytes per job. */
size_t hg_wjobtab_bytes(const hg_wjobtab_t *self);

/* The job's whole spec as a view (borrowed pointers, valid while the
 * record lives), epoch and last_fire_ms included. */
void hg_wjob_spec(const hg_wjob_t *job, hg_assign_t *out);
/* The shared part of the spec: job_id, epoch, version, name, http.url,
 * params, start_ms, end_ms and last_fire_ms are not the job's (0 / NULL). */
const hg_assign_t *hg_wjob_tpl(const hg_wjob_t *job);
/* The job's parsed schedule. */
const hg_sched_t *hg_wjob_sched(const hg_wjob_t *job);
/* The job's name. */
static inline const char *hg_wjob_name(const hg_wjob_t *job)
{
    return job->text;
}
/* The job's URL, NULL for plug-in jobs. */
const char *hg_wjob_url(const hg_wjob_t *job);

#endif
