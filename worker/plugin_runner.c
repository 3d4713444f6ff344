/* plugin_runner: dlopen a plug-in, check its descriptor against our ABI,
 * init it once, and call run with a context built on the stack. A load
 * failure is cached too (with its message), so a broken plug-in costs one
 * dlopen per runner, not one per run. */
#include "plugin_runner.h"
#include "hg_time.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_LINE_MAX 1024 /* bytes of one log line (longer lines are cut) */

typedef struct s_loaded s_loaded_t;

struct s_loaded {
    char *path;                         /* key: the path it was loaded from */
    void *handle;                       /* dlopen handle, NULL when loading failed */
    const hg_plugin_descriptor_t *desc; /* checked descriptor, NULL when failed */
    void *state;                        /* what init stored */
    bool ready;                         /* loaded, checked and initialised */
    char error[HG_PLUGIN_ERROR_MAX];    /* why it is not ready */
    s_loaded_t *next;                   /* next cached instance */
};

struct hg_plugin_runner {
    s_loaded_t *loaded; /* cache of instances, most recently added first */
};

/* Host side of one run: what the context functions reach through ctx->host. */
typedef struct {
    const hg_plugin_call_t *call; /* the run being made */
    hg_plugin_outcome_t *out;     /* where results go */
} s_host_t;

const char *hg_plugin_level_name(int level)
{
    switch (level) {
    case HG_PLUGIN_LOG_DEBUG:
        return "debug";
    case HG_PLUGIN_LOG_INFO:
        return "info";
    case HG_PLUGIN_LOG_WARN:
        return "warn";
    case HG_PLUGIN_LOG_ERROR:
        return "error";
    default:
        return "log";
    }
}

/* ---------------------------------------------------------------- loading */

static const char *s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Load and check path into entry; on failure entry->error says why. */
static void s_load(s_loaded_t *entry, const char *path)
{
    const char *file = s_basename(path);
    dlerror();
    entry->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!entry->handle) {
        const char *why = dlerror();
        snprintf(entry->error, sizeof(entry->error), "cannot load plug-in %s: %s", file,
                 why ? why : "unknown dlopen error");
        return;
    }
    dlerror();
    void *sym = dlsym(entry->handle, HG_PLUGIN_SYMBOL);
    if (!sym) {
        snprintf(entry->error, sizeof(entry->error),
                 "plug-in %s does not export %s() (not an Hourglass plug-in?)", file,
                 HG_PLUGIN_SYMBOL);
        return;
    }
    hg_plugin_entry_fn entry_fn;
    /* ISO C forbids object-to-function pointer casts; POSIX requires this to work. */
    memcpy(&entry_fn, &sym, sizeof(entry_fn));
    const hg_plugin_descriptor_t *desc = entry_fn();
    if (!desc) {
        snprintf(entry->error, sizeof(entry->error), "plug-in %s: %s() returned NULL", file,
                 HG_PLUGIN_SYMBOL);
        return;
    }
    /* abi_version is the first member in every version: safe to read first. */
    if (desc->abi_version != HG_PLUGIN_ABI_VERSION) {
        snprintf(entry->error, sizeof(entry->error),
                 "plug-in %s has ABI version %u, this worker supports ABI version %d", file,
                 (unsigned) desc->abi_version, HG_PLUGIN_ABI_VERSION);
        return;
    }
    if (desc->size < offsetof(hg_plugin_descriptor_t, reserved)) {
        snprintf(entry->error, sizeof(entry->error),
                 "plug-in %s (ABI %u): descriptor size %u is too small (need %zu)", file,
                 (unsigned) desc->abi_version, (unsigned) desc->size,
                 offsetof(hg_plugin_descriptor_t, reserved));
        return;
    }
    if (!desc->run) {
        snprintf(entry->error, sizeof(entry->error), "plug-in %s: descriptor has no run function",
                 file);
        return;
    }
    entry->desc = desc;
    if (desc->init) {
        static const hg_plugin_kv_t no_config[1] = {{NULL, NULL}};
        char errbuf[HG_PLUGIN_ERRBUF_SIZE] = "";
        if (desc->init(no_config, &entry->state, errbuf) != 0) {
            errbuf[sizeof(errbuf) - 1] = '\0';
            snprintf(entry->error, sizeof(entry->error), "plug-in %s: init failed: %s",
                     desc->name ? desc->name : file, errbuf[0] ? errbuf : "no reason given");
            entry->desc = NULL; /* not initialised: fini must not run */
            return;
        }
    }
    entry->ready = true;
}

static s_loaded_t *s_find_or_load(hg_plugin_runner_t *self, const char *path)
{
    for (s_loaded_t *e = self->loaded; e; e = e->next)
        if (strcmp(e->path, path) == 0) return e;
    s_loaded_t *entry = calloc(1, sizeof(*entry));
    if (!entry) return NULL;
    entry->path = strdup(path);
    if (!entry->path) {
        free(entry);
        return NULL;
    }
    s_load(entry, path);
    entry->next = self->loaded;
    self->loaded = entry;
    return entry;
}

hg_plugin_runner_t *hg_plugin_runner_new(void)
{
    return calloc(1, sizeof(hg_plugin_runner_t));
}

void hg_plugin_runner_destroy(hg_plugin_runner_t **runner_p)
{
    if (!runner_p || !*runner_p) return;
    hg_plugin_runner_t *self = *runner_p;
    while (self->loaded) {
        s_loaded_t *e = self->loaded;
        self->loaded = e->next;
        if (e->ready && e->desc->fini) e->desc->fini(e->state);
        if (e->handle) dlclose(e->handle);
        free(e->path);
        free(e);
    }
    free(self);
    *runner_p = NULL;
}

/* -------------------------------------------------------------- context */

static const s_host_t *s_host(const hg_plugin_ctx_t *ctx)
{
    return (const s_host_t *) ctx->host;
}

static const hg_plugin_kv_t *s_param_at(const hg_plugin_ctx_t *ctx, size_t i)
{
    const hg_plugin_call_t *call = s_host(ctx)->call;
    return i < call->params_n ? &call->params[i] : NULL;
}

static const char *s_param(const hg_plugin_ctx_t *ctx, const char *key)
{
    const hg_plugin_call_t *call = s_host(ctx)->call;
    if (!key) return NULL;
    for (size_t i = 0; i < call->params_n; i++)
        if (strcmp(call->params[i].key, key) == 0) return call->params[i].value;
    return NULL;
}

static size_t s_param_count(const hg_plugin_ctx_t *ctx)
{
    return s_host(ctx)->call->params_n;
}

static const char *s_job_name(const hg_plugin_ctx_t *ctx)
{
    const char *name = s_host(ctx)->call->job_name;
    return name ? name : "";
}

static const char *s_run_id(const hg_plugin_ctx_t *ctx)
{
    const char *id = s_host(ctx)->call->run_id;
    return id ? id : "";
}

static int64_t s_scheduled_ms(const hg_plugin_ctx_t *ctx)
{
    return s_host(ctx)->call->scheduled_ms;
}

static uint32_t s_attempt(const hg_plugin_ctx_t *ctx)
{
    return s_host(ctx)->call->attempt;
}

static uint32_t s_shard_index(const hg_plugin_ctx_t *ctx)
{
    return s_host(ctx)->call->shard_index;
}

static uint32_t s_shard_total(const hg_plugin_ctx_t *ctx)
{
    uint32_t total = s_host(ctx)->call->shard_total;
    return total ? total : 1;
}

static void s_log(const hg_plugin_ctx_t *ctx, int level, const char *fmt, ...)
{
    const hg_plugin_call_t *call = s_host(ctx)->call;
    if (!call->on_log || !fmt) return;
    char line[S_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    call->on_log(call->arg, level, line, len);
}

static int s_set_result(const hg_plugin_ctx_t *ctx, const void *data, size_t len)
{
    hg_plugin_outcome_t *out = s_host(ctx)->out;
    if (len > HG_PLUGIN_RESULT_MAX || (len > 0 && !data)) return -1;
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, data, len);
    }
    free(out->result);
    out->result = copy;
    out->result_len = len;
    return 0;
}

static void s_fail(const hg_plugin_ctx_t *ctx, const char *fmt, ...)
{
    hg_plugin_outcome_t *out = s_host(ctx)->out;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof(out->error), fmt, ap);
    va_end(ap);
}

static int s_cancelled(const hg_plugin_ctx_t *ctx)
{
    const hg_plugin_call_t *call = s_host(ctx)->call;
    if (call->cancel && *call->cancel) return 1;
    return call->deadline_ms > 0 && hg_now_ms() >= call->deadline_ms;
}

static int64_t s_deadline_ms(const hg_plugin_ctx_t *ctx)
{
    return s_host(ctx)->call->deadline_ms;
}

/* ------------------------------------------------------------------ run */

void hg_plugin_runner_run(hg_plugin_runner_t *self, const hg_plugin_call_t *call,
                          hg_plugin_outcome_t *out)
{
    memset(out, 0, sizeof(*out));
    s_loaded_t *entry = s_find_or_load(self, call->path);
    if (!entry) {
        out->outcome = HG_PLUGIN_LOAD_ERROR;
        snprintf(out->error, sizeof(out->error), "out of memory loading plug-in %s",
                 s_basename(call->path));
        return;
    }
    if (!entry->ready) {
        out->outcome = HG_PLUGIN_LOAD_ERROR;
        snprintf(out->error, sizeof(out->error), "%s", entry->error);
        return;
    }
    const hg_plugin_descriptor_t *desc = entry->desc;
    const char *name = desc->name ? desc->name : s_basename(call->path);
    if (call->want_version && *call->want_version &&
        (!desc->version || strcmp(desc->version, call->want_version) != 0)) {
        out->outcome = HG_PLUGIN_LOAD_ERROR;
        snprintf(out->error, sizeof(out->error),
                 "plug-in %s is version %s, the job wants version %s", name,
                 desc->version ? desc->version : "(none)", call->want_version);
        return;
    }

    s_host_t host = {call, out};
    hg_plugin_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.size = sizeof(ctx);
    ctx.abi_version = HG_PLUGIN_ABI_VERSION;
    ctx.param = s_param;
    ctx.param_count = s_param_count;
    ctx.param_at = s_param_at;
    ctx.job_name = s_job_name;
    ctx.run_id = s_run_id;
    ctx.scheduled_ms = s_scheduled_ms;
    ctx.attempt = s_attempt;
    ctx.shard_index = s_shard_index;
    ctx.shard_total = s_shard_total;
    ctx.log = s_log;
    ctx.set_result = s_set_result;
    ctx.fail = s_fail;
    ctx.cancelled = s_cancelled;
    ctx.deadline_ms = s_deadline_ms;
    ctx.host = &host;

    int rc = desc->run(entry->state, &ctx);
    if (rc == HG_PLUGIN_OK || rc == HG_PLUGIN_FAILED || rc == HG_PLUGIN_RETRY) {
        out->outcome = rc;
        if (rc != HG_PLUGIN_OK && !out->error[0])
            snprintf(out->error, sizeof(out->error), "plug-in %s %s without a message", name,
                     rc == HG_PLUGIN_RETRY ? "asked for a retry" : "failed");
    } else {
        out->outcome = HG_PLUGIN_FAILED;
        snprintf(out->error, sizeof(out->error), "plug-in %s returned unknown code %d", name, rc);
    }
}
