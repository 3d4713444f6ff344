/* cluster_internal: what main.c passes to the cluster actor. */
#ifndef HG_MASTER_CLUSTER_INTERNAL_H
#define HG_MASTER_CLUSTER_INTERNAL_H

#include "db.h"
#include "store.h"

#include <czmq.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

typedef struct {
    const char *master_name;  /* this master's id */
    const char *bind;         /* ROUTER endpoint for workers, e.g. tcp://127.0.0.1:8643 */
    int64_t heartbeat_ms;     /* heartbeat interval told to workers */
    int64_t lease_ms;         /* lease granted per echoed heartbeat */
    int64_t margin_ms;        /* extra wait before reassigning a silent worker's jobs */
    const hg_db_params_t *db; /* for the store actor */
    const char *data_dir;     /* master data directory (plug-in copies) */
    bool failed;              /* out: set when the actor could not start */

    const hg_store_opts_t *store; /* store actor settings (MySQL, spill file, buffer bounds) */

    /* The master's key pair: the workers' ROUTER is a CURVE server. NULL:
     * plaintext (insecure.plaintext, tests on loopback only). */
    zcert_t *curve_cert;
} hg_cluster_args_t;

/* Start the cluster actor. zactor_new returns once the actor is up or has
 * given up; args->failed tells which (the cause is logged).
 *
 * It starts as a standby: it binds its sockets and refuses workers with
 * the leader's address. Commands from main on the actor pipe:
 *   hg_cluster_lead     we hold the leader lock: load the jobs and lead
 *   hg_cluster_follow   the leader as the leadership row names it */
zactor_t *hg_cluster_new(hg_cluster_args_t *args);

/* Lead with fencing epoch epoch. jobs (array of active jobs in API form,
 * or NULL: the actor reads the active jobs from MySQL page by page),
 * last_fires (object job id text -> last scheduled ms) and plugins (array
 * of stored plug-in metadata) are stolen. */
void hg_cluster_lead(zactor_t *cluster, uint64_t epoch, json_t *jobs, json_t *last_fires,
                     json_t *plugins);

/* While standing by: the leader's name, worker endpoint, API URL and
 * epoch (decimal text), any of them "" when unknown. */
void hg_cluster_follow(zactor_t *cluster, const char *name, const char *endpoint,
                       const char *api_url, const char *epoch);

#endif
