/* plugin_runner: load plug-ins (dlopen, ABI and descriptor checks, init)
 * and call their run with a context. One place for what both isolation
 * modes do: the plug-in host process (plugin_host.c) and the thread pool of
 * the plug-in executor (plugin_exec.c) each keep one runner per thread of
 * execution, so a plug-in instance (its init state) never runs twice at once.
 *
 * A runner is not thread-safe; it caches one loaded instance per path. */
#ifndef HG_WORKER_PLUGIN_RUNNER_H
#define HG_WORKER_PLUGIN_RUNNER_H

#include "hourglass/plugin.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_PLUGIN_ERROR_MAX 512 /* bytes of an error text kept for a run */

/* Outcome of a run besides the plug-in's own return codes. */
#define HG_PLUGIN_LOAD_ERROR (-1) /* could not load or check the plug-in */

typedef struct hg_plugin_runner hg_plugin_runner_t;

/* One run to make. Everything is borrowed for the duration of the call. */
typedef struct {
    const char *path;              /* shared object to load */
    const char *want_version;      /* required descriptor version, or NULL / "" for any */
    const char *job_name;          /* job name ("" when unknown) */
    const char *run_id;            /* canonical run id text */
    int64_t scheduled_ms;          /* scheduled fire time */
    int64_t deadline_ms;           /* wall-clock deadline, 0 = none */
    uint32_t attempt;              /* attempt number */
    uint32_t shard_index;          /* shard index */
    uint32_t shard_total;          /* shard count, >= 1 */
    const hg_plugin_kv_t *params;  /* merged parameters, unique keys */
    size_t params_n;               /* number of parameters */
    volatile sig_atomic_t *cancel; /* raised by the host on cancellation; may be NULL */
    /* Called for each log line (without newline); may be NULL. */
    void (*on_log)(void *arg, int level, const char *line, size_t len);
    void *arg; /* for on_log */
} hg_plugin_call_t;

/* What a run produced. */
typedef struct {
    int outcome;                     /* HG_PLUGIN_OK, _FAILED, _RETRY or HG_PLUGIN_LOAD_ERROR */
    char error[HG_PLUGIN_ERROR_MAX]; /* error text, "" if none */
    uint8_t *result;                 /* result payload (malloc'ed, caller frees), or NULL */
    size_t result_len;               /* bytes in result */
} hg_plugin_outcome_t;

/* New runner with no plug-in loaded; NULL when out of memory. */
hg_plugin_runner_t *hg_plugin_runner_new(void);

/* Call fini of every loaded instance, dlclose them, free the runner and
 * NULL the pointer. Safe on NULL. */
void hg_plugin_runner_destroy(hg_plugin_runner_t **runner);

/* Load call->path unless cached, check it, and run it once. Always fills
 * *out (outcome HG_PLUGIN_LOAD_ERROR with a message naming the plug-in on a
 * load, ABI or init failure). A plug-in returning an unknown code counts as
 * failed. */
void hg_plugin_runner_run(hg_plugin_runner_t *runner, const hg_plugin_call_t *call,
                          hg_plugin_outcome_t *out);

/* Name of a log level ("info"), "log" when unknown. */
const char *hg_plugin_level_name(int level);

#endif
