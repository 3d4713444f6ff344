/* backlog: the fires a worker does not run while too many of its run
 * records wait for the master (its store is behind: offered load above what
 * the cluster records). Running them would only lengthen the wait without
 * bound; recording each as a skipped run would cost the store as much as
 * the run itself. So they are counted per job, and each job gets one
 * skipped record per episode that says how many fires it stands for, from
 * which scheduled time to which (hg_run_t.fires). */
#ifndef HG_BACKLOG_H
#define HG_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_backlog_t hg_backlog_t;

/* One job's fires not run since its last tally was taken. */
typedef struct {
    uint64_t job_id;
    int64_t first_ms; /* scheduled time of the first fire not run */
    int64_t last_ms;  /* ... and of the last */
    uint32_t fires;   /* how many */
} hg_backlog_tally_t;

/* Thresholds: the worker enters the backlog state when held records reach
 * max and leaves it below max / 2. max 0: never. */
hg_backlog_t *hg_backlog_new(uint32_t max);
void hg_backlog_destroy(hg_backlog_t **self_p);

/* Whether a fire should be skipped now, given how many records the worker
 * holds for the master; logs the start and the end of an episode. */
bool hg_backlog_full(hg_backlog_t *self, size_t held, int64_t now_mono_ms);

/* Count a fire of job_id at scheduled_ms that was not run. 0 or HG_ENOMEM. */
int hg_backlog_skip(hg_backlog_t *self, uint64_t job_id, int64_t scheduled_ms);

/* Take one tally (any order); false when there is none. Tallies are taken
 * when the episode ends and every few seconds while it lasts
 * (hg_backlog_due), a bounded number per pass of the worker's loop. */
bool hg_backlog_pop(hg_backlog_t *self, hg_backlog_tally_t *out);

/* Whether tallies should be taken now: the episode is over, its periodic
 * report is due, or a report begun in an earlier pass has tallies left.
 * A report covers the tallies present when it begins. */
bool hg_backlog_due(hg_backlog_t *self, int64_t now_mono_ms);

/* Whether a report begun in an earlier pass has tallies left to take
 * (the loop should not sleep). */
bool hg_backlog_reporting(const hg_backlog_t *self);

/* Fires not run since the start, for the log and metrics. */
uint64_t hg_backlog_skipped_total(const hg_backlog_t *self);

#endif
