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
    json_t *jobs;             /* active jobs at start-up (array, stolen by the actor) */
    json_t *last_fires;       /* object job id (text) -> last scheduled ms, stolen */
    json_t *plugins;          /* stored plug-ins at start-up (array of metadata), stolen */
    const char *data_dir;     /* master data directory (plug-in copies) */
    bool failed;              /* out: set when the actor could not start */

    const hg_store_opts_t *store; /* store actor settings (MySQL, spill file, buffer bounds) */
} hg_cluster_args_t;

/* Start the cluster actor. zactor_new returns once the actor is up or has
 * given up; args->failed tells which (the cause is logged). */
zactor_t *hg_cluster_new(hg_cluster_args_t *args);

#endif
