/* cluster_route: the cluster actor's side of routing (routing.h): label
 * selectors and broadcast slots in placement, the round_robin, random and
 * consistent_hash strategies, the slots of broadcast and sharded jobs,
 * and where a job is placed (or why it is not) for the API.
 *
 * A broadcast or sharded job is kept here as its "parent" record, outside
 * the job table; the job table holds its slots (hg_route_vid ids), each
 * placed, leased, handed over and recovered like any job. A sharded job
 * has N slots, spread by its strategy; a broadcast job one per matching
 * active node, pinned to it, added when such a node joins and dropped
 * when it is gone.
 *
 * Part of the cluster actor (cluster_internal.h); runs on its thread. */
#ifndef HG_MASTER_CLUSTER_ROUTE_H
#define HG_MASTER_CLUSTER_ROUTE_H

#include "cluster_internal.h"

/* New routing state for the actor (NULL when out of memory: routing
 * features then refuse to start, plain jobs work). */
struct hg_cluster_route *hg_cluster__route_new(void);
/* Free the routing state and its parent records (before the job table). */
void hg_cluster__route_destroy(hg_cluster_t *self);

/* May job run on node by its routing: labels, and a broadcast slot's own
 * node? (Pins are hg_cluster__node_allowed's.) */
bool hg_cluster__route_allows(hg_cluster_t *self, hg_jobrec_t *job, hg_cluster_node_t *node);
/* The node a job with strategy round_robin, random or consistent_hash
 * goes to: active, allowed, with room; NULL when none is. */
hg_cluster_node_t *hg_cluster__route_pick(hg_cluster_t *self, hg_jobrec_t *job);

/* A new record of a job (hg_jobtab_make, not in the table yet): when the
 * job is broadcast or sharded, it is kept here, its slots are made or
 * updated and placed, *rec is NULLed, *rc set, and true returned. Else
 * (a single-holder job; any slots it had are dropped) false, and the
 * caller puts the record as usual. */
bool hg_cluster__route_take(hg_cluster_t *self, hg_jobrec_t **rec, int *rc);
/* A worker's HELLO names vid, which the table lacks: when it is a slot of
 * a broadcast job for that worker (a new leader has not made the slot
 * yet), make it now, unassigned, so the HELLO adopts it and the worker
 * keeps firing. The record, or NULL. */
hg_jobrec_t *hg_cluster__route_adopt(hg_cluster_t *self, uint64_t vid, hg_cluster_node_t *node);
/* Drop the slots and the parent record of job_id, if it has any. */
void hg_cluster__route_remove(hg_cluster_t *self, uint64_t job_id);
/* Each tick: broadcast slots follow the nodes; consistent_hash jobs move
 * to their ring owner when the set of active nodes changed. */
void hg_cluster__route_tick(hg_cluster_t *self);

/* The slot records of a broadcast or sharded job into out (at most max);
 * returns how many it has, or -1 when job_id is not such a job. */
int hg_cluster__route_slots(hg_cluster_t *self, uint64_t job_id, hg_jobrec_t **out, size_t max);
/* Where job_id is placed, or why not, as GET /jobs/{name} shows it in
 * "placement" (a new object), or NULL when the cluster does not hold it. */
json_t *hg_cluster__route_placement(hg_cluster_t *self, uint64_t job_id);

#endif
