/* hourglass/plugin.h: the public ABI between Hourglass workers and task
 * plug-ins (DESIGN.md section 6). This header is self-contained: a plug-in
 * includes it and links against nothing from Hourglass. C89-friendly.
 *
 * A plug-in is a shared object that exports one function,
 *
 *     const hg_plugin_descriptor_t *hourglass_plugin(void);
 *
 * (its name is HG_PLUGIN_SYMBOL). The worker calls it once after dlopen,
 * checks abi_version and the descriptor, then calls init once, run once per
 * task run and fini before unloading. One loaded instance (one state) never
 * sees two run calls at the same time; the worker may load several instances
 * (one per helper process or pool thread), each with its own init/fini.
 *
 * Compatibility rules: HG_PLUGIN_ABI_VERSION changes only when an existing
 * member changes meaning or place. New members are added at the end of the
 * structs (taking a reserved slot or growing them); the `size` fields tell
 * each side how much of the other's struct exists, so a plug-in built
 * against an older header keeps working. Check ctx->size before using a
 * member added after version 1 (see HG_PLUGIN_CTX_HAS).
 *
 * Strings passed to a plug-in are NUL-terminated UTF-8 and stay valid until
 * run returns. Strings a plug-in returns (name, version) must stay valid
 * until fini returns (static storage is usual). */
#ifndef HOURGLASS_PLUGIN_H
#define HOURGLASS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this ABI. A worker refuses plug-ins with another version. */
#define HG_PLUGIN_ABI_VERSION 1

/* The one symbol a plug-in exports, as a string for dlsym. */
#define HG_PLUGIN_SYMBOL "hourglass_plugin"

/* Most result bytes a run may set; set_result refuses more. */
#define HG_PLUGIN_RESULT_MAX 65536

/* Size of the error buffer handed to init. */
#define HG_PLUGIN_ERRBUF_SIZE 256

/* Return values of run. */
#define HG_PLUGIN_OK     0 /* the run succeeded */
#define HG_PLUGIN_FAILED 1 /* the run failed; say why with ctx->fail */
#define HG_PLUGIN_RETRY  2 /* transient failure: the job's retry policy may run it again */

/* Log levels for ctx->log. */
#define HG_PLUGIN_LOG_DEBUG 0
#define HG_PLUGIN_LOG_INFO  1
#define HG_PLUGIN_LOG_WARN  2
#define HG_PLUGIN_LOG_ERROR 3

/* Mark the exported function so it stays visible under -fvisibility=hidden. */
#if defined(__GNUC__)
#define HG_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define HG_PLUGIN_EXPORT
#endif

/* printf-style format checking where the compiler offers it. */
#if defined(__GNUC__)
#define HG_PLUGIN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HG_PLUGIN_PRINTF(fmt, args)
#endif

/* A string key/value pair: plug-in configuration and run parameters. */
typedef struct hg_plugin_kv {
    const char *key;   /* never NULL in a list entry */
    const char *value; /* never NULL in a list entry */
} hg_plugin_kv_t;

typedef struct hg_plugin_ctx hg_plugin_ctx_t;

/* What run receives: facts about the run and a table of host functions.
 * Call the functions as ctx->name(ctx, ...); they are safe to call only
 * from the thread that called run, and only until run returns. */
struct hg_plugin_ctx {
    /* sizeof(hg_plugin_ctx_t) as the host was built; grows with the ABI. */
    uint32_t size;
    /* HG_PLUGIN_ABI_VERSION of the host. */
    uint32_t abi_version;

    /* Value of parameter key, or NULL when absent. Parameters are the job's
     * parameters merged with the trigger's overrides (overrides win). */
    const char *(*param)(const hg_plugin_ctx_t *ctx, const char *key);
    /* Number of parameters. */
    size_t (*param_count)(const hg_plugin_ctx_t *ctx);
    /* Parameter number i (0 <= i < param_count), or NULL past the end.
     * Keys are unique; the order is unspecified but stable during a run. */
    const hg_plugin_kv_t *(*param_at)(const hg_plugin_ctx_t *ctx, size_t i);

    /* Name of the job this run belongs to. */
    const char *(*job_name)(const hg_plugin_ctx_t *ctx);
    /* Run id in canonical UUID text form (36 characters); unique per run,
     * the same across a resend, so it can serve as an idempotency key. */
    const char *(*run_id)(const hg_plugin_ctx_t *ctx);
    /* Scheduled fire time, ms since the Unix epoch (UTC). */
    int64_t (*scheduled_ms)(const hg_plugin_ctx_t *ctx);
    /* Attempt number, 1 for the first attempt. */
    uint32_t (*attempt)(const hg_plugin_ctx_t *ctx);
    /* Shard of a sharded job: index in [0, total); 0 of 1 when not sharded. */
    uint32_t (*shard_index)(const hg_plugin_ctx_t *ctx);
    /* Number of shards, >= 1. */
    uint32_t (*shard_total)(const hg_plugin_ctx_t *ctx);

    /* Log one line at level (HG_PLUGIN_LOG_*); a trailing newline is not
     * needed. Lines go to the run's log and output excerpt (bounded: the
     * excess is dropped, never blocking the plug-in). */
    void (*log)(const hg_plugin_ctx_t *ctx, int level, const char *fmt, ...) HG_PLUGIN_PRINTF(3, 4);
    /* Set the run's result payload (bytes, may hold NULs; replaces an
     * earlier one). It is stored with the run and handed to child jobs.
     * 0 on success, -1 when len > HG_PLUGIN_RESULT_MAX or out of memory. */
    int (*set_result)(const hg_plugin_ctx_t *ctx, const void *data, size_t len);
    /* Set the run's error message (printf-style); use it before returning
     * HG_PLUGIN_FAILED or HG_PLUGIN_RETRY. The last call wins. */
    void (*fail)(const hg_plugin_ctx_t *ctx, const char *fmt, ...) HG_PLUGIN_PRINTF(2, 3);
    /* Nonzero once the run should stop: its deadline passed or it was
     * cancelled. Poll it in long loops and return soon after it turns on;
     * in process isolation the helper is killed a grace period later. */
    int (*cancelled)(const hg_plugin_ctx_t *ctx);
    /* Deadline of the run, ms since the Unix epoch (UTC); 0 when none. */
    int64_t (*deadline_ms)(const hg_plugin_ctx_t *ctx);

    /* Reserved for later ABI growth; NULL in version 1. */
    void (*reserved[8])(void);
    /* Host data; plug-ins must not touch it. */
    void *host;
};

/* True when ctx has member m (added after version 1, say). */
#define HG_PLUGIN_CTX_HAS(ctx, m)                                                                  \
    ((ctx)->size >= offsetof(hg_plugin_ctx_t, m) + sizeof((ctx)->m) && (ctx)->m != NULL)

/* What the exported function returns. Usually a static const object. */
typedef struct hg_plugin_descriptor {
    /* HG_PLUGIN_ABI_VERSION the plug-in was built against. */
    uint32_t abi_version;
    /* sizeof(hg_plugin_descriptor_t) as the plug-in was built. */
    uint32_t size;
    /* Short name, e.g. "shell"; the worker reports it in errors. */
    const char *name;
    /* Plug-in's own version, e.g. "1.2.0". */
    const char *version;

    /* Optional (may be NULL). Called once after loading, before any run.
     * config is a list of worker-side settings for this plug-in ending with
     * an entry whose key is NULL (often just that terminator). Store any
     * state in *state (it starts NULL). Return 0 on success; on failure
     * return nonzero and write a message into errbuf (HG_PLUGIN_ERRBUF_SIZE
     * bytes): every run of the plug-in then fails with that message. */
    int (*init)(const hg_plugin_kv_t *config, void **state, char *errbuf);
    /* Required. Run the task once; return HG_PLUGIN_OK, HG_PLUGIN_FAILED
     * or HG_PLUGIN_RETRY. state is what init stored (or NULL). */
    int (*run)(void *state, const hg_plugin_ctx_t *ctx);
    /* Optional. Called once before unloading; frees state. */
    void (*fini)(void *state);

    /* Reserved for later ABI growth; set to NULL (static objects are). */
    void (*reserved[4])(void);
} hg_plugin_descriptor_t;

/* Prototype of the exported function (for dlsym casts). */
typedef const hg_plugin_descriptor_t *(*hg_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
