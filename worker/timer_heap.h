/* timer_heap: the worker's jobs ordered by their next fire time.
 *
 * A binary min-heap of the held jobs that have a next fire, earliest
 * first: the agent fires what is at its top while that is due, and sleeps
 * until it otherwise. Each job remembers its slot (hg_wjob_t.heap_index)
 * so that a reschedule or a revoke moves or removes it in O(log n).
 *
 * Split out of the agent (issue 11). Owned by the agent's thread; no
 * locking. */
#ifndef HG_WORKER_TIMER_HEAP_H
#define HG_WORKER_TIMER_HEAP_H

#include "wjobtab.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hg_wheap hg_wheap_t;

/* A new empty heap; NULL when out of memory. */
hg_wheap_t *hg_wheap_new(void);
/* Free the heap (not the jobs); NULLs *self_p. Safe on NULL. */
void hg_wheap_destroy(hg_wheap_t **self_p);

/* Put job in the heap at its next_ms, or move it there; take it out when
 * next_ms is HG_SCHED_NEVER. Out of memory: the job stays out (logged by
 * nobody, as before the split: it fires again once rescheduled). */
void hg_wheap_update(hg_wheap_t *self, hg_wjob_t *job);
/* Take job out of the heap (nothing when it is not in). */
void hg_wheap_remove(hg_wheap_t *self, hg_wjob_t *job);
/* job is a new record of the job at job->heap_index (copied from the one
 * it replaces, which is being freed): the slot now points at it. */
void hg_wheap_rebind(hg_wheap_t *self, hg_wjob_t *job);

/* Jobs in the heap. */
size_t hg_wheap_size(const hg_wheap_t *self);
/* The job that fires first, or NULL when the heap is empty. */
hg_wjob_t *hg_wheap_top(const hg_wheap_t *self);
/* Its next_ms (INT64_MAX when the heap is empty). */
int64_t hg_wheap_top_ms(const hg_wheap_t *self);

#endif
