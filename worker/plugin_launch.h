/* plugin_launch: how a plug-in run reaches the plug-in executor.
 *
 * A run of a plug-in job is checked (isolation, the worker's plugin.allow,
 * whose decision it is, not the master's) and built into a task with the
 * job's parameters, the trigger's overrides and, for a shard, shard_index
 * and shard_total. It is then run by name from the local plug-in
 * directory, or by hash from the plug-in cache, fetched from the master
 * first when missing (the task waits parked in the cache meanwhile:
 * hg_wplaunch_release takes it back). Tasks are handed over in batches,
 * one per timer pass (hg_wplaunch_flush): thread-mode runs straight into
 * the pool's queue, the rest through the executor actor. A run that cannot
 * start ends at once, failed with the reason, through the agent's done
 * function, like any finished run.
 *
 * Split out of the agent (issue 11), which counts the run as started
 * before handing it here. Owned by the agent's thread; no locking. */
#ifndef HG_WORKER_PLUGIN_LAUNCH_H
#define HG_WORKER_PLUGIN_LAUNCH_H

#include "hg_proto.h"
#include "overload.h"
#include "plugin_cache.h"
#include "plugin_exec.h"
#include "wjobtab.h"

#include <czmq.h>

/* A run is over without having run (or was refused by the pool): the
 * agent records it. Takes run's members. */
typedef void(hg_wplaunch_done_fn)(void *arg, hg_run_t *run);

typedef struct {
    zactor_t *plugins;         /* the plug-in executor */
    hg_plugin_pool_t *pool;    /* its thread pool, fed directly; NULL: none */
    const char *allow;         /* the worker's plugin.allow */
    const char *plugin_dir;    /* the local plug-in directory */
    hg_overload_t *skips;      /* plug-in runs skipped for overload, logged per burst */
    hg_wplaunch_done_fn *done; /* ends a run that did not start */
    void *arg;                 /* its argument */
} hg_wplaunch_config_t;

typedef struct hg_wplaunch hg_wplaunch_t;

/* NULL when out of memory. The configuration is copied. */
hg_wplaunch_t *hg_wplaunch_new(const hg_wplaunch_config_t *cfg);
/* Free it; tasks not flushed are dropped (flush first). NULLs *self_p. */
void hg_wplaunch_destroy(hg_wplaunch_t **self_p);
/* The plug-in cache runs by hash come from (NULL: none, such runs fail). */
void hg_wplaunch_set_cache(hg_wplaunch_t *self, hg_plugin_cache_t *cache);

/* Start run (already counted as running) of plug-in job job, with the
 * trigger's overrides. Takes run's members. */
void hg_wplaunch_start(hg_wplaunch_t *self, const hg_wjob_t *job, hg_run_t *run,
                       const hg_kv_t *overrides, size_t overrides_n);
/* Hand the tasks gathered since the last call to the executor. */
void hg_wplaunch_flush(hg_wplaunch_t *self);
/* The plug-in cache is done with a parked task (plugin_cache.h release):
 * path is where the plug-in now is, or NULL with error. */
void hg_wplaunch_release(hg_wplaunch_t *self, void *item, const char *path, const char *error);

/* Copy n key/value pairs into a new array (*out, *out_n; free each key,
 * value and the array). 0 or HG_ENOMEM (what was copied stays in *out). */
int hg_wplaunch_kv_dup(const hg_kv_t *src, size_t n, hg_kv_t **out, size_t *out_n);

#endif
