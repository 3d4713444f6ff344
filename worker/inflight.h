/* inflight: the runs a worker has in flight, with their RUN_STARTED
 * records, so that its HELLO can list them (issue 15) and, once welcomed,
 * it can send their starts again (issue 14). A new leader learns from that
 * list which of the runs its history says are running this worker still
 * has; the others it closes as "lost" once the lease window has passed
 * (master/cluster_runlost.c). The master keeps starts in memory and writes
 * their rows only when a run lasts (master/cluster_startdefer.c), so a new
 * leader would not know a run whose start it never saw: the starts sent
 * again make it track them, and close them as lost with this worker. The
 * agent adds a run where it counts it as running and removes it where the
 * run is done (s_run_done); its finished record then takes over (kept
 * until acknowledged, resent after a WELCOME). */
#ifndef HG_WORKER_INFLIGHT_H
#define HG_WORKER_INFLIGHT_H

#include "hg_proto.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hg_winflight hg_winflight_t;

/* A new, empty set; NULL when out of memory. */
hg_winflight_t *hg_winflight_new(void);
void hg_winflight_destroy(hg_winflight_t **self_p);

/* The run run_id of job job_id started. Out of memory: not listed (the
 * master then closes it as lost, and its own record replaces that). */
void hg_winflight_add(hg_winflight_t *self, const uint8_t *run_id, uint64_t job_id);
/* The same with the run's RUN_STARTED record (copied), sent again by
 * hg_winflight_starts. */
void hg_winflight_add_run(hg_winflight_t *self, const hg_run_t *start);
/* The run is over (unknown ids are ignored). */
void hg_winflight_remove(hg_winflight_t *self, const uint8_t *run_id);
/* Runs of job_id in flight (a walk over them all). */
uint32_t hg_winflight_count_job(hg_winflight_t *self, uint64_t job_id);
/* Runs in flight. */
size_t hg_winflight_size(const hg_winflight_t *self);
/* A new array of the runs in flight (*n entries, free() it); NULL when
 * there are none or out of memory (*n is then 0). */
hg_inflight_run_t *hg_winflight_list(hg_winflight_t *self, size_t *n);
/* Copies of the RUN_STARTED records of the runs in flight (*n of them;
 * free with hg_winflight_starts_free); NULL when none or out of memory. */
hg_run_t *hg_winflight_starts(hg_winflight_t *self, size_t *n);
void hg_winflight_starts_free(hg_run_t **runs, size_t n);

#endif
