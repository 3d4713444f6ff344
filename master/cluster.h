/* cluster: the master's cluster actor. It owns the ROUTER socket to the
 * workers, the in-memory job table, heartbeats, leases and placement, and
 * forwards run records to the store actor, acknowledging them to workers
 * once the store reports them committed.
 *
 * Other threads (the API server) talk to it only through an
 * hg_cluster_client_t: a blocking request/reply over inproc. A client
 * belongs to the one thread that created it. */
#ifndef HG_MASTER_CLUSTER_H
#define HG_MASTER_CLUSTER_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Where clients connect; bound by the cluster actor. */
#define HG_CLUSTER_CLIENT_ENDPOINT "inproc://hg-cluster-api"

typedef struct hg_cluster_client hg_cluster_client_t;

hg_cluster_client_t *hg_cluster_client_new(void);
void hg_cluster_client_destroy(hg_cluster_client_t **client);

/* A job was created or changed (including pause/resume): job is the job in
 * its API JSON form with "id", "version" and "status". The cluster
 * (re)places an active job and revokes a paused one. 0 or HG_E*. */
int hg_cluster_job_upsert(hg_cluster_client_t *client, json_t *job);

/* Many jobs were created or changed at once (a batch create): jobs is an
 * array of API JSON jobs. One request for all, and placement runs once
 * after the last. On success *nodes (when given) is a new array holding,
 * for each job in order, the name of the worker it went to or null; the
 * caller decrefs it. 0 or HG_E*.
 * The array goes to the cluster by reference, not as text: until the call
 * returns 0 the cluster may read the jobs, so after a failure (a timeout)
 * the caller must not change them in place (replace them, json_copy). */
int hg_cluster_job_upsert_many(hg_cluster_client_t *client, json_t *jobs, json_t **nodes);

/* A job was deleted: revoke it everywhere. 0 or HG_E*. */
int hg_cluster_job_remove(hg_cluster_client_t *client, uint64_t job_id);

/* Run a job now with optional parameter overrides (object of strings, may
 * be NULL). On success writes the node it was sent to into node. Returns
 * HG_ENOTFOUND when the cluster does not hold the job (not active) and
 * HG_EUNAVAIL when no live worker holds it. */
/* hg_cluster_trigger with force: the fire starts whatever the job's
 * overlap policy says (issue 11). */
int hg_cluster_trigger_force(hg_cluster_client_t *client, uint64_t job_id, json_t *params,
                             bool force, char *node, size_t node_size);
/* Cancel a run in flight (run id text): the worker running it is told.
 * 0 with its node and the job's namespace; HG_ENOTFOUND when the run is
 * not in flight; HG_EUNAVAIL when its worker has no session. */
int hg_cluster_run_cancel(hg_cluster_client_t *client, const char *run_id, char *node,
                          size_t node_size, char *ns, size_t ns_size);
int hg_cluster_trigger(hg_cluster_client_t *client, uint64_t job_id, json_t *params, char *node,
                       size_t node_size);

/* hg_cluster_trigger with the run's reason ("backfill") and the
 * scheduled time it records (0 = now), and force (past the overlap
 * policy). */
int hg_cluster_trigger_at(hg_cluster_client_t *client, uint64_t job_id, json_t *params,
                          const char *reason, int64_t scheduled_ms, bool force, char *node,
                          size_t node_size);

/* Snapshot of the workers: a new JSON array of node objects as in
 * docs/api.md (caller owns the reference), or NULL on failure. */
json_t *hg_cluster_nodes(hg_cluster_client_t *client);

/* Where job_id is placed or why it waits (routing; docs/api.md
 * "placement"): a new object the caller decrefs, or NULL when the
 * cluster does not hold the job or did not answer. */
json_t *hg_cluster_job_placement(hg_cluster_client_t *client, uint64_t job_id);

/* Node currently holding job_id into node ("" when none). 0 or HG_E*. */
int hg_cluster_job_node(hg_cluster_client_t *client, uint64_t job_id, char *node, size_t node_size);

/* Drain a node (no new placements; its jobs are handed over to others
 * through the REVOKE handshake) or make it active again. Returns the node
 * object as in hg_cluster_nodes (caller owns it), or NULL with *rc set:
 * HG_ENOTFOUND (the master does not know the node), HG_EUNAVAIL (activate
 * a node that is leaving), HG_ETIMEOUT. */
json_t *hg_cluster_node_drain(hg_cluster_client_t *client, const char *name, bool drain, int *rc);

/* A plug-in was stored (or replaced): (name, version) now means sha256.
 * The cluster resolves plug-in jobs that name it without a hash and
 * re-sends their ASSIGN when the hash they get changes. 0 or HG_E*. */
int hg_cluster_plugin_put(hg_cluster_client_t *client, const char *name, const char *version,
                          const char *sha256);

/* A plug-in was deleted: forget sha256 (jobs naming it fall back to the
 * workers' local plug-in directories). 0 or HG_E*. */
int hg_cluster_plugin_remove(hg_cluster_client_t *client, const char *sha256);

/* Counts for /healthz: live workers and jobs held in memory. */
int hg_cluster_stats(hg_cluster_client_t *client, int *workers, int *jobs);

/* This master's role as the cluster actor knows it. */
typedef struct {
    bool leading;         /* true: leader; false: standby */
    uint64_t epoch;       /* fencing epoch: ours, or the leader's as known */
    char leader[192];     /* leader's name ("" when unknown) */
    char leader_api[256]; /* standby: the leader's REST API URL ("" when unknown) */
} hg_cluster_role_t;

/* Fill role. 0 or HG_E* (the actor did not answer). */
int hg_cluster_role(hg_cluster_client_t *client, hg_cluster_role_t *role);

#endif
