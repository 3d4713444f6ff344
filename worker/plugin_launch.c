/* plugin_launch: plug-in runs from the agent to the plug-in executor (see
 * plugin_launch.h). */
#include "plugin_launch.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"
#include "task_pipe.h"

#include <limits.h>

struct hg_wplaunch {
    hg_wplaunch_config_t cfg;                  /* settings and the agent's done */
    hg_plugin_cache_t *cache;                  /* plug-ins by hash, NULL: none */
    hg_plugin_task_t *out[HG_TASK_PIPE_BATCH]; /* runs not yet handed over */
    size_t out_n;                              /* runs in out */
};

hg_wplaunch_t *hg_wplaunch_new(const hg_wplaunch_config_t *cfg)
{
    hg_wplaunch_t *self = calloc(1, sizeof *self);
    if (self) self->cfg = *cfg;
    return self;
}

void hg_wplaunch_destroy(hg_wplaunch_t **self_p)
{
    if (!self_p || !*self_p) return;
    for (size_t i = 0; i < (*self_p)->out_n; i++)
        hg_plugin_task_destroy(&(*self_p)->out[i]);
    free(*self_p);
    *self_p = NULL;
}

void hg_wplaunch_set_cache(hg_wplaunch_t *self, hg_plugin_cache_t *cache)
{
    self->cache = cache;
}

/* End a plug-in run that never reached the executor, with error. */
static void s_fail(hg_wplaunch_t *self, hg_plugin_task_t **task_p, const char *error)
{
    hg_plugin_task_t *task = *task_p;
    task->run.status = HG_RUN_FAILED;
    task->run.finished_ms = hg_now_ms();
    task->run.exit_code = 1;
    free(task->run.error);
    task->run.error = strdup(error);
    self->cfg.done(self->cfg.arg, &task->run);
    hg_plugin_task_destroy(task_p);
}

/* One message for the runs gathered since the last call: one wake-up of
 * the executor per timer pass, not per run. */
void hg_wplaunch_flush(hg_wplaunch_t *self)
{
    size_t n = self->out_n;
    if (n == 0) return;
    self->out_n = 0;
    /* Thread-mode runs go straight into the pool's queue (no wake-up of
     * the executor actor); the rest through the actor. */
    hg_plugin_task_t *direct[HG_TASK_PIPE_BATCH], *refused[HG_TASK_PIPE_BATCH];
    size_t direct_n = 0, rest_n = 0;
    for (size_t i = 0; i < n; i++) {
        if (self->cfg.pool && self->out[i]->isolation == HG_PLUGIN_ISOLATION_THREAD)
            direct[direct_n++] = self->out[i];
        else
            self->out[rest_n++] = self->out[i];
    }
    size_t refused_n =
        direct_n ? hg_plugin_pool_submit(self->cfg.pool, direct, direct_n, refused) : 0;
    int64_t mono = hg_mono_ms();
    for (size_t i = 0; i < refused_n; i++) {
        hg_overload_note(self->cfg.skips, &refused[i]->run, mono);
        self->cfg.done(self->cfg.arg, &refused[i]->run);
        hg_plugin_task_destroy(&refused[i]);
    }
    if (rest_n == 0 || hg_plugin_exec_submit_many(self->cfg.plugins, self->out, rest_n) == 0)
        return;
    hg_error("plug-in executor refused %zu runs of job %s and others", rest_n,
             self->out[0]->run.job_name);
    for (size_t i = 0; i < rest_n; i++)
        s_fail(self, &self->out[i], "plug-in executor refused the run");
}

static void s_submit(hg_wplaunch_t *self, hg_plugin_task_t **task_p)
{
    if (self->out_n == HG_TASK_PIPE_BATCH) hg_wplaunch_flush(self);
    self->out[self->out_n++] = *task_p;
    *task_p = NULL;
}

int hg_wplaunch_kv_dup(const hg_kv_t *src, size_t n, hg_kv_t **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    if (n == 0) return 0;
    hg_kv_t *kv = calloc(n, sizeof *kv);
    if (!kv) return HG_ENOMEM;
    *out = kv;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = strdup(src[i].key);
        kv[i].value = strdup(src[i].value);
        (*out_n)++;
        if (!kv[i].key || !kv[i].value) return HG_ENOMEM;
    }
    return 0;
}

/* A shard run's plug-in sees shard_index and shard_total among its
 * parameters (routing, issue 11). 0 or HG_ENOMEM. */
static int s_shard_params(const hg_assign_t *spec, hg_kv_t **params, size_t *n)
{
    if (!spec->shard_total || spec->shard_index >= spec->shard_total) return 0;
    hg_kv_t *kv = realloc(*params, (*n + 2) * sizeof *kv);
    if (!kv) return HG_ENOMEM;
    *params = kv;
    char text[2][16];
    snprintf(text[0], sizeof text[0], "%u", spec->shard_index);
    snprintf(text[1], sizeof text[1], "%u", spec->shard_total);
    const char *keys[2] = {"shard_index", "shard_total"};
    for (int i = 0; i < 2; i++) {
        kv[*n].key = strdup(keys[i]);
        kv[*n].value = strdup(text[i]);
        (*n)++;
        if (!kv[*n - 1].key || !kv[*n - 1].value) return HG_ENOMEM;
    }
    return 0;
}

/* The task of a run, with its parameters; NULL when out of memory (the
 * run is then ended). Takes run's members. */
static hg_plugin_task_t *s_task_make(hg_wplaunch_t *self, const hg_wjob_t *job, hg_run_t *run,
                                     const hg_kv_t *overrides, size_t overrides_n)
{
    const hg_plugin_spec_t *spec = &hg_wjob_tpl(job)->plugin;
    hg_plugin_task_t *task = hg_plugin_task_new();
    if (!task) {
        run->status = HG_RUN_FAILED;
        run->error = strdup("worker out of memory");
        self->cfg.done(self->cfg.arg, run);
        return NULL;
    }
    task->run = *run;
    memset(run, 0, sizeof *run);
    task->timeout_ms = hg_wjob_tpl(job)->timeout_ms;
    int iso = hg_plugin_isolation_parse(spec->isolation);
    task->isolation = iso < 0 ? HG_PLUGIN_ISOLATION_PROCESS : iso;
    task->plugin = spec->name ? strdup(spec->name) : NULL;
    task->version = spec->version && *spec->version ? strdup(spec->version) : NULL;
    if (!spec->name || !task->plugin || (spec->version && *spec->version && !task->version) ||
        hg_wplaunch_kv_dup(job->params, job->params_n, &task->params, &task->params_n) != 0 ||
        hg_wplaunch_kv_dup(overrides, overrides_n, &task->overrides, &task->overrides_n) != 0 ||
        s_shard_params(hg_wjob_tpl(job), &task->params, &task->params_n) != 0) {
        s_fail(self, &task, spec->name ? "worker out of memory" : "plug-in has no name");
        return NULL;
    }
    char msg[200];
    if (iso < 0) {
        snprintf(msg, sizeof msg, "unknown isolation \"%.100s\" (process or thread)",
                 spec->isolation);
        s_fail(self, &task, msg);
        return NULL;
    }
    if (!hg_plugin_allowed(self->cfg.allow, spec->name)) {
        /* Checked on the worker, whoever sent the job: what a worker
         * runs is its operator's decision, not the master's. */
        snprintf(msg, sizeof msg, "plug-in %.100s is not in this worker's plugin.allow",
                 spec->name);
        s_fail(self, &task, msg);
        return NULL;
    }
    return task;
}

/* By hash from the cache (fetched from the master first when missing: the
 * run waits parked meanwhile), else by name from the local plug-in
 * directory. */
void hg_wplaunch_start(hg_wplaunch_t *self, const hg_wjob_t *job, hg_run_t *run,
                       const hg_kv_t *overrides, size_t overrides_n)
{
    hg_plugin_task_t *task = s_task_make(self, job, run, overrides, overrides_n);
    if (!task) return;
    const hg_plugin_spec_t *spec = &hg_wjob_tpl(job)->plugin;
    /* A pushed plug-in the job did not ask for by version or hash is a
     * fallback: this worker's own plug-in of that name wins. */
    bool local = spec->local_first && hg_plugin_local_exists(self->cfg.plugin_dir, spec->name);
    if (local || !spec->sha256 || !*spec->sha256) {
        s_submit(self, &task);
        return;
    }
    char path[PATH_MAX], err[600];
    if (hg_plugin_cache_lookup(self->cache, spec->sha256, path, sizeof path)) {
        task->path = strdup(path);
        if (!task->path)
            s_fail(self, &task, "worker out of memory");
        else
            s_submit(self, &task);
        return;
    }
    if (!self->cache) {
        snprintf(err, sizeof err, "plug-in sha256 %s: this worker has no plug-in cache",
                 spec->sha256);
        s_fail(self, &task, err);
        return;
    }
    if (hg_plugin_cache_park(self->cache, spec->sha256, task, err, sizeof err) != 0)
        s_fail(self, &task, err);
}

void hg_wplaunch_release(hg_wplaunch_t *self, void *item, const char *path, const char *error)
{
    hg_plugin_task_t *task = item;
    if (!path) {
        s_fail(self, &task, error ? error : "plug-in fetch failed");
        return;
    }
    task->path = strdup(path);
    if (!task->path)
        s_fail(self, &task, "worker out of memory");
    else
        s_submit(self, &task);
}
