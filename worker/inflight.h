/* inflight: the run ids a worker has in flight, with their jobs, so that
 * its HELLO can list them (issue 15). A new leader learns from that list
 * which of the runs its history says are running this worker still has;
 * the others it closes as "lost" once the lease window has passed
 * (master/cluster_runlost.c). The agent adds a run where it counts it as
 * running and removes it where the run is done (s_run_done). */
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
/* The run is over (unknown ids are ignored). */
void hg_winflight_remove(hg_winflight_t *self, const uint8_t *run_id);
/* Runs of job_id in flight (a walk over them all). */
uint32_t hg_winflight_count_job(hg_winflight_t *self, uint64_t job_id);
/* Runs in flight. */
size_t hg_winflight_size(const hg_winflight_t *self);
/* A new array of the runs in flight (*n entries, free() it); NULL when
 * there are none or out of memory (*n is then 0). */
hg_inflight_run_t *hg_winflight_list(hg_winflight_t *self, size_t *n);

#endif
