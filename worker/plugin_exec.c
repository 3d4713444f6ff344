/* plugin_exec: the worker's plug-in executor. One zactor owns the warm
 * helper processes (their sockets are pollers in its zloop), the queue of
 * process-mode tasks, and a fixed pool of threads for thread-mode tasks.
 *
 * Process mode: a helper runs one task at a time; tasks wait in a FIFO for
 * an idle helper. A 20 ms tick checks deadlines: at the deadline the helper
 * gets HG_HOST_CANCEL_SIGNAL (the plug-in sees ctx->cancelled), grace_ms
 * later SIGKILL. A helper whose socket closes is reaped with waitpid and
 * replaced; how it ended decides the run's status.
 *
 * Thread mode: the pool's work queue is the one place with a mutex and a
 * condition variable. Handing tasks to whichever thread is free is what a
 * condition variable does best; results still travel as messages (each
 * thread has a PUSH socket to the actor's PULL), so the actor stays the
 * only owner of the pipe.
 *
 * Batches: every hop (owner -> actor, actor -> thread, thread -> actor,
 * actor -> owner) carries as many tasks as are ready, not one: the owner
 * submits all the runs of one timer pass in one message (or, with
 * results_endpoint, queues them for the pool itself), one signal wakes a
 * thread for all of them, a thread hands its results back in one message,
 * and the actor returns what it finished during one wake-up in one
 * message (the outbox, flushed at the end of every handler). A noop run
 * costs about a microsecond; the thread wake-ups around it cost ten times
 * that, so per-run hand-offs were most of a worker's CPU time. A thread
 * still takes one task at a time (a slow run never delays the start of
 * another); it holds its results while more tasks wait, at most 64 and at
 * most 1 ms before it starts another task, so a slow run can delay the
 * report (not the record's times) of runs that finished just before it.
 *
 * Overload: both FIFOs (the helpers' and the threads') hold at most
 * cfg.max_queued tasks each; a task that finds its FIFO full is finished
 * at once as skipped, so overload costs run records, not unbounded memory.
 */
#include "plugin_exec.h"
#include "cancel.h"
#include "hg_error.h"
#include "hg_runid.h"
#include "hg_time.h"
#include "plugin_host_proto.h"
#include "plugin_runner.h"
#include "overload.h"
#include "task_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define S_DEFAULT_TIMEOUT_MS 30000u       /* deadline when the task gives none */
#define S_DEFAULT_HELPERS    2            /* warm helper processes */
#define S_DEFAULT_THREADS    4            /* pool threads */
#define S_DEFAULT_GRACE_MS   2000u        /* cancellation -> SIGKILL */
#define S_TICK_MS            20           /* deadline and respawn check period */
#define S_SPAWN_BACKOFF_MS   1000         /* wait after a helper failed to start */
#define S_PIPE_BATCH         64           /* pipe commands taken per wake-up */
#define S_THREAD_BATCH       64           /* most results one thread holds */
#define S_THREAD_HOLD_MS     1            /* ... and for how long, while more tasks wait */
#define S_ERROR_MAX          600          /* bytes of an error text we compose */
#define S_READ_PER_WAKE      (256u << 10) /* bytes read from one helper per wake-up */
#define S_HOST_FD            3            /* fd number of the socket in a helper */

/* A FIFO ring of tasks. */
typedef struct {
    hg_plugin_task_t **ring; /* tasks */
    size_t cap;              /* capacity of ring */
    size_t head;             /* index of the oldest */
    size_t len;              /* number held */
} s_fifo_t;

/* Log lines and state of one run while it is being made. */
typedef struct {
    char buf[HG_PLUGIN_OUTPUT_MAX]; /* "[level] text\n" lines */
    size_t len;                     /* bytes used */
} s_logbuf_t;

typedef struct {
    pid_t pid;              /* helper process, 0 when the slot is empty */
    int fd;                 /* our end of its socket, -1 when empty */
    bool ready;             /* READY received: it started properly */
    hg_plugin_task_t *task; /* task it runs, NULL when idle */
    int64_t deadline_mono;  /* when the task's deadline passes (mono ms) */
    bool cancel_sent;       /* the cancellation signal went out */
    bool killed;            /* we SIGKILLed it after the grace period */
    uint8_t *rbuf;          /* bytes read and not yet parsed */
    size_t rlen;            /* bytes in rbuf */
    size_t rcap;            /* bytes allocated at rbuf */
    s_logbuf_t log;         /* log of the running task */
} s_helper_t;

typedef struct s_exec s_exec_t;

/* The last plug-in found by name, reused for a second (s_resolve). */
typedef struct {
    char name[128];      /* plug-in name found last ... */
    char path[PATH_MAX]; /* ... its path ... */
    int64_t mono_ms;     /* ... and when */
} s_found_t;

/* The thread pool (shared with its threads; fields under mu). */
typedef struct s_pool {
    pthread_mutex_t mu; /* guards queue and stop */
    pthread_cond_t cv;  /* signalled on a new task or stop */
    s_fifo_t queue;     /* thread-mode tasks waiting for a thread */
    bool stop;          /* threads should exit */
    char endpoint[256]; /* inproc endpoint results are PUSHed to */
    char *plugin_dir;   /* the executor's plugin_dir (own copy: a stuck thread may outlive it) */
    size_t max_queued;  /* queue bound (cfg.max_queued) */
    pthread_t *threads; /* the threads */
    size_t threads_n;   /* number started */
} s_pool_t;

struct s_exec {
    zsock_t *pipe;               /* actor pipe to the owner */
    zloop_t *loop;               /* reactor: pipe, results, helper sockets, tick */
    zsock_t *results;            /* PULL: finished thread-mode tasks */
    bool terminated;             /* $TERM received */
    bool stopping;               /* STOP received: no more respawns */
    char *plugin_dir;            /* plug-in lookup directory */
    char *host_path;             /* helper executable */
    bool direct_results;         /* thread results go to the owner's PULL, not ours */
    bool host_ok;                /* host_path exists and is executable */
    hg_plugin_exec_config_t cfg; /* limits and sizes (strings above) */
    s_helper_t *helpers;         /* cfg.helpers slots */
    int64_t spawn_after;         /* no spawning before this mono ms (backoff) */
    s_fifo_t waiting;            /* process-mode tasks waiting for a helper */
    s_pool_t *pool;              /* thread pool */
    hg_host_buf_t out;           /* frame being written to a helper */
    s_found_t found;             /* last plug-in found by name */
    hg_plugin_task_t *outbox[HG_TASK_PIPE_BATCH]; /* finished, not yet sent to the owner */
    size_t outbox_n;                              /* tasks in outbox */
    hg_plugin_task_t *staged[HG_TASK_PIPE_BATCH]; /* thread-mode tasks for the pool */
    size_t staged_n;                              /* tasks in staged */
};

/* ---------------------------------------------------------------- tasks */

hg_plugin_task_t *hg_plugin_task_new(void)
{
    return calloc(1, sizeof(hg_plugin_task_t));
}

static void s_kv_free(hg_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void hg_plugin_task_destroy(hg_plugin_task_t **task_p)
{
    if (!task_p || !*task_p) return;
    hg_plugin_task_t *task = *task_p;
    hg_run_clear(&task->run);
    free(task->plugin);
    free(task->version);
    free(task->path);
    s_kv_free(task->params, task->params_n);
    s_kv_free(task->overrides, task->overrides_n);
    free(task->result.data);
    free(task);
    *task_p = NULL;
}

int hg_plugin_isolation_parse(const char *text)
{
    if (!text || !*text || strcmp(text, "process") == 0) return HG_PLUGIN_ISOLATION_PROCESS;
    if (strcmp(text, "thread") == 0) return HG_PLUGIN_ISOLATION_THREAD;
    return -1;
}

static int s_fifo_push(s_fifo_t *q, hg_plugin_task_t *task)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        hg_plugin_task_t **ring = malloc(cap * sizeof(*ring));
        if (!ring) return HG_ENOMEM;
        for (size_t i = 0; i < q->len; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    q->ring[(q->head + q->len) % q->cap] = task;
    q->len++;
    return 0;
}

static hg_plugin_task_t *s_fifo_pop(s_fifo_t *q)
{
    if (q->len == 0) return NULL;
    hg_plugin_task_t *task = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return task;
}

static void s_fifo_drop(s_fifo_t *q)
{
    hg_plugin_task_t *task;
    while ((task = s_fifo_pop(q)))
        hg_plugin_task_destroy(&task);
    free(q->ring);
    memset(q, 0, sizeof(*q));
}

/* --------------------------------------------------------------- results */

static uint32_t s_timeout_ms(const hg_plugin_task_t *task)
{
    return task->timeout_ms ? task->timeout_ms : S_DEFAULT_TIMEOUT_MS;
}

/* Set the run's final status and error text (printf-style, may be NULL). */
static void s_run_end(hg_plugin_task_t *task, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_run_end(hg_plugin_task_t *task, int status, const char *fmt, ...)
{
    hg_run_t *run = &task->run;
    run->status = status;
    if (status == HG_RUN_FAILED && run->exit_code == 0) run->exit_code = 1;
    run->finished_ms = hg_now_ms();
    if (!run->started_ms) run->started_ms = run->finished_ms;
    free(run->error);
    run->error = NULL;
    if (fmt) {
        char text[S_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        run->error = strdup(text); /* NULL on OOM: status still tells the story */
    }
}

static void s_log_add(s_logbuf_t *log, int level, const char *line, size_t len)
{
    char head[16];
    int n = snprintf(head, sizeof(head), "[%s] ", hg_plugin_level_name(level));
    size_t need = (size_t) n + len + 1;
    if (log->len + need > sizeof(log->buf)) return; /* full: keep the oldest lines */
    memcpy(log->buf + log->len, head, (size_t) n);
    memcpy(log->buf + log->len + n, line, len);
    log->buf[log->len + need - 1] = '\n';
    log->len += need;
}

/* Fill run.output with the log lines then the result (the result keeps its
 * room first), and hand the result payload to the task (takes result). */
static void s_set_output(hg_plugin_task_t *task, const s_logbuf_t *log, uint8_t *result,
                         size_t result_len)
{
    free(task->result.data);
    task->result.data = result_len ? result : NULL;
    task->result.len = result_len;
    if (!result_len) free(result);
    size_t res_part = result_len < HG_PLUGIN_OUTPUT_MAX ? result_len : HG_PLUGIN_OUTPUT_MAX;
    size_t log_part = log ? log->len : 0;
    if (log_part > HG_PLUGIN_OUTPUT_MAX - res_part) log_part = HG_PLUGIN_OUTPUT_MAX - res_part;
    free(task->run.output.data);
    task->run.output.data = NULL;
    task->run.output.len = 0;
    if (log_part + res_part == 0) return;
    uint8_t *out = malloc(log_part + res_part);
    if (!out) return;
    if (log_part) memcpy(out, log->buf, log_part);
    if (res_part) memcpy(out + log_part, task->result.data, res_part);
    task->run.output.data = out;
    task->run.output.len = log_part + res_part;
}

/* Judge a run the plug-in finished (or could not start). timed_out: the
 * deadline passed before it returned. Takes result. */
static void s_judge(hg_plugin_task_t *task, int outcome, const char *error, uint8_t *result,
                    size_t result_len, const s_logbuf_t *log, bool timed_out)
{
    s_set_output(task, log, result, result_len);
    task->retry_requested = false;
    if (outcome == HG_PLUGIN_RETRY) task->run.retry_reason = strdup("plugin_retry");
    if (timed_out) {
        task->run.exit_code = 1;
        s_run_end(task, HG_RUN_TIMEOUT,
                  "timed out after %u ms (the plug-in stopped on cancellation)",
                  s_timeout_ms(task));
    } else if (outcome == HG_PLUGIN_OK) {
        task->run.exit_code = 0;
        s_run_end(task, HG_RUN_SUCCESS, NULL);
    } else {
        task->run.exit_code = 1;
        task->retry_requested = outcome == HG_PLUGIN_RETRY;
        s_run_end(task, HG_RUN_FAILED, "%s", error && *error ? error : "plug-in failed");
    }
}

static void s_task_free(void *task)
{
    hg_plugin_task_t *t = task;
    hg_plugin_task_destroy(&t);
}

/* Send the finished tasks of the outbox to the owner, in one message. */
static void s_outbox_flush(s_exec_t *self)
{
    hg_task_pipe_return_many(self->pipe, (void *const *) self->outbox, self->outbox_n, s_task_free);
    self->outbox_n = 0;
}

/* Hand a finished task back to the owner (see task_pipe.h): it waits in
 * the outbox until the handler that finished it is done. */
static void s_return(s_exec_t *self, hg_plugin_task_t *task)
{
    if (task->cancel_why[0]) {
        /* A CANCEL named it: however it ended after that, it was cancelled. */
        hg_cancel_cmd_t c = {.job_id = task->run.job_id};
        snprintf(c.why, sizeof c.why, "%s", task->cancel_why);
        hg_cancel_end(&c, &task->run);
        free(task->run.retry_reason);
        task->run.retry_reason = NULL;
    }
    if (self->outbox_n == HG_TASK_PIPE_BATCH) s_outbox_flush(self);
    self->outbox[self->outbox_n++] = task;
}

/* Finish a task that found its FIFO full (waiting tasks already wait). */
static void s_skip(s_exec_t *self, hg_plugin_task_t *task, size_t waiting, const char *for_what)
{
    s_run_end(task, HG_RUN_SKIPPED, HG_OVERLOADED ": %zu plug-in runs already waiting for %s",
              waiting, for_what);
    s_return(self, task);
}

/* The job's parameters merged with the overrides (overrides win), as a
 * new array of borrowed pointers; *n_out gets its length. NULL on OOM. */
static hg_plugin_kv_t *s_params_merge(const hg_plugin_task_t *task, size_t *n_out)
{
    size_t cap = task->params_n + task->overrides_n;
    hg_plugin_kv_t *kv = malloc((cap ? cap : 1) * sizeof(*kv));
    if (!kv) return NULL;
    size_t n = 0;
    for (size_t pass = 0; pass < 2; pass++) {
        const hg_kv_t *src = pass ? task->overrides : task->params;
        size_t src_n = pass ? task->overrides_n : task->params_n;
        for (size_t i = 0; i < src_n; i++) {
            if (!src[i].key || !src[i].value) continue;
            size_t j = 0;
            while (j < n && strcmp(kv[j].key, src[i].key) != 0)
                j++;
            kv[j].key = src[i].key;
            kv[j].value = src[i].value;
            if (j == n) n++;
        }
    }
    *n_out = n;
    return kv;
}

/* Find the shared object of a task. 0, or HG_ENOTFOUND / HG_EINVAL with a
 * message in err. */
static int s_resolve(const char *plugin_dir, s_found_t *found, const hg_plugin_task_t *task,
                     char *path, size_t size, char *err, size_t err_size)
{
    if (task->path && *task->path) {
        snprintf(path, size, "%s", task->path);
        return 0;
    }
    const char *name = task->plugin;
    if (!name || !*name || name[0] == '.' || strchr(name, '/')) {
        snprintf(err, err_size, "invalid plug-in name \"%.100s\"", name ? name : "");
        return HG_EINVAL;
    }
    if (!plugin_dir) {
        snprintf(err, err_size, "plug-in %.100s: no plug-in directory configured", name);
        return HG_ENOTFOUND;
    }
    /* plugin_dir may list several directories separated by ':'; the
     * first that holds the plug-in wins. */
    /* The search costs a few access() calls, per run: at tens of thousands
     * of runs a second, reuse the last answer for a second. */
    int64_t now = hg_mono_ms();
    if (strcmp(found->name, name) == 0 && now - found->mono_ms < 1000) {
        snprintf(path, size, "%s", found->path);
        return 0;
    }
    for (const char *dir = plugin_dir; dir;) {
        const char *colon = strchr(dir, ':');
        int len = colon ? (int) (colon - dir) : (int) strlen(dir);
        /* NAME.so, then hg_NAME.so (the name the build gives shipped
         * plug-ins); literal formats, which the compiler can check. */
        for (int i = 0; len > 0 && i < 2; i++) {
            if (i == 0)
                snprintf(path, size, "%.*s/%s.so", len, dir, name);
            else
                snprintf(path, size, "%.*s/hg_%s.so", len, dir, name);
            if (access(path, R_OK) == 0) {
                if (strlen(name) < sizeof found->name && strlen(path) < sizeof found->path) {
                    snprintf(found->name, sizeof found->name, "%s", name);
                    snprintf(found->path, sizeof found->path, "%s", path);
                    found->mono_ms = now;
                }
                return 0;
            }
        }
        dir = colon ? colon + 1 : NULL;
    }
    snprintf(err, err_size, "plug-in %.100s not found in %.200s (tried %s.so and hg_%s.so)", name,
             plugin_dir, name, name);
    return HG_ENOTFOUND;
}

static bool s_local_exists(const char *plugin_dir, const char *name)
{
    char path[PATH_MAX];
    for (const char *dir = plugin_dir; dir;) {
        const char *colon = strchr(dir, ':');
        int len = colon ? (int) (colon - dir) : (int) strlen(dir);
        for (int i = 0; len > 0 && i < 2; i++) {
            if (i == 0)
                snprintf(path, sizeof path, "%.*s/%s.so", len, dir, name);
            else
                snprintf(path, sizeof path, "%.*s/hg_%s.so", len, dir, name);
            if (access(path, R_OK) == 0) return true;
        }
        dir = colon ? colon + 1 : NULL;
    }
    return false;
}

/* The answer of s_local_exists is kept this long per plug-in name: it is
 * asked for every run of a job that names no version, and its access()
 * calls (two per directory) were 15% of a worker's CPU at 30,000 runs/s
 * (perf, issue 14). A plug-in dropped into plugin.dir is seen within it. */
#define S_LOCAL_TTL_MS 1000
#define S_LOCAL_SLOTS  16

bool hg_plugin_local_exists(const char *plugin_dir, const char *name)
{
    if (!plugin_dir || !name || !*name || name[0] == '.' || strchr(name, '/')) return false;
    /* Per thread, so no lock; in practice only the agent thread asks. */
    static __thread struct {
        const char *dir; /* plugin_dir it was asked for (the setting, constant) */
        char name[64];
        bool exists;
        int64_t until_mono;
    } cache[S_LOCAL_SLOTS];
    static __thread unsigned next;
    int64_t now = hg_mono_ms();
    bool cacheable = strlen(name) < sizeof cache[0].name;
    for (unsigned i = 0; cacheable && i < S_LOCAL_SLOTS; i++)
        if (cache[i].dir == plugin_dir && now < cache[i].until_mono &&
            strcmp(cache[i].name, name) == 0)
            return cache[i].exists;
    bool exists = s_local_exists(plugin_dir, name);
    if (cacheable) {
        unsigned i = next++ % S_LOCAL_SLOTS;
        cache[i].dir = plugin_dir;
        snprintf(cache[i].name, sizeof cache[i].name, "%s", name);
        cache[i].exists = exists;
        cache[i].until_mono = now + S_LOCAL_TTL_MS;
    }
    return exists;
}

bool hg_plugin_allowed(const char *allow, const char *name)
{
    if (!allow || !name || !*name) return false;
    size_t n = strlen(name);
    for (const char *p = allow; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t end = len;
        while (end > 0 && p[end - 1] == ' ')
            end--;
        if ((end == 1 && *p == '*') || (end == n && strncmp(p, name, n) == 0)) return true;
        p += len;
    }
    return false;
}

/* ------------------------------------------------------------ thread pool */

typedef struct {
    s_pool_t *pool;
    s_logbuf_t log; /* log of the current run */
} s_thread_t;

static void s_thread_on_log(void *arg, int level, const char *line, size_t len)
{
    s_logbuf_t *log = arg;
    s_log_add(log, level, line, len);
}

/* Run one task on this thread (the thread owns it meanwhile). */
static void s_thread_run(hg_plugin_runner_t *runner, s_logbuf_t *log, hg_plugin_task_t *task,
                         const char *path)
{
    char run_id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(task->run.run_id, run_id);
    size_t params_n = 0;
    hg_plugin_kv_t *params = s_params_merge(task, &params_n);
    if (!params) {
        s_run_end(task, HG_RUN_FAILED, "out of memory starting the plug-in");
        return;
    }
    log->len = 0;
    hg_plugin_call_t call;
    memset(&call, 0, sizeof(call));
    call.path = path;
    call.want_version = task->version;
    call.job_name = task->run.job_name;
    call.run_id = run_id;
    call.scheduled_ms = task->run.scheduled_ms;
    call.deadline_ms = task->run.started_ms + s_timeout_ms(task);
    call.attempt = task->run.attempt;
    call.shard_index = task->shard_index;
    call.shard_total = task->shard_total ? task->shard_total : 1;
    call.params = params;
    call.params_n = params_n;
    call.on_log = s_thread_on_log;
    call.arg = log;
    hg_plugin_outcome_t out;
    hg_plugin_runner_run(runner, &call, &out);
    free(params);
    /* A thread cannot be killed: the deadline is judged when run returns. */
    bool timed_out = out.outcome != HG_PLUGIN_LOAD_ERROR && hg_now_ms() >= call.deadline_ms;
    s_judge(task, out.outcome, out.error, out.result, out.result_len, log, timed_out);
}

/* Hand the finished tasks this thread holds to whoever reads results. */
static void s_thread_flush(zsock_t *push, hg_plugin_task_t **done, size_t *done_n)
{
    if (push)
        hg_task_pipe_return_many(push, (void *const *) done, *done_n, s_task_free);
    else
        for (size_t i = 0; i < *done_n; i++)
            hg_plugin_task_destroy(&done[i]);
    *done_n = 0;
}

static void *s_thread_main(void *arg)
{
    s_pool_t *pool = arg;
    s_logbuf_t *log = malloc(sizeof(*log));
    hg_plugin_runner_t *runner = hg_plugin_runner_new();
    s_found_t *found = calloc(1, sizeof(*found));
    char endpoint[sizeof pool->endpoint + 1];
    snprintf(endpoint, sizeof(endpoint), ">%s", pool->endpoint);
    zsock_t *push = zsock_new_push(endpoint);
    hg_plugin_task_t *done[S_THREAD_BATCH];
    size_t done_n = 0;
    int64_t held_since = 0; /* monotonic ms the oldest of done finished */
    while (true) {
        /* One task at a time, so that a slow run never holds up others an
         * idle thread could take. Results are held while more tasks wait
         * and go back together (S_THREAD_BATCH, S_THREAD_HOLD_MS). */
        pthread_mutex_lock(&pool->mu);
        if (done_n && (pool->stop || pool->queue.len == 0 || done_n == S_THREAD_BATCH ||
                       hg_mono_ms() - held_since >= S_THREAD_HOLD_MS)) {
            pthread_mutex_unlock(&pool->mu);
            s_thread_flush(push, done, &done_n);
            pthread_mutex_lock(&pool->mu);
        }
        while (!pool->stop && pool->queue.len == 0)
            pthread_cond_wait(&pool->cv, &pool->mu);
        hg_plugin_task_t *task = pool->stop ? NULL : s_fifo_pop(&pool->queue);
        pthread_mutex_unlock(&pool->mu);
        if (!task) break;
        /* The actor resolved the path into task->path before queueing; a
         * task handed over directly (hg_plugin_pool_submit) is resolved
         * here. */
        char path[PATH_MAX], err[S_ERROR_MAX];
        if (!log || !runner || !push || !found)
            s_run_end(task, HG_RUN_FAILED, "out of resources in the plug-in thread pool");
        else if (s_resolve(pool->plugin_dir, found, task, path, sizeof(path), err, sizeof(err)) !=
                 0)
            s_run_end(task, HG_RUN_FAILED, "%s", err);
        else
            s_thread_run(runner, log, task, path);
        if (done_n == 0) held_since = hg_mono_ms();
        done[done_n++] = task;
    }
    s_thread_flush(push, done, &done_n);
    zsock_destroy(&push);
    hg_plugin_runner_destroy(&runner);
    free(found);
    free(log);
    return NULL;
}

static s_pool_t *s_pool_new(s_exec_t *self, size_t threads)
{
    s_pool_t *pool = calloc(1, sizeof(*pool));
    if (!pool) return NULL;
    pool->threads = calloc(threads, sizeof(pthread_t));
    if (!pool->threads) {
        free(pool);
        return NULL;
    }
    pool->plugin_dir = self->plugin_dir ? strdup(self->plugin_dir) : NULL;
    if (self->plugin_dir && !pool->plugin_dir) {
        free(pool->threads);
        free(pool);
        return NULL;
    }
    pool->max_queued = self->cfg.max_queued;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    /* A fresh name per pool: libzmq releases a closed inproc endpoint
     * asynchronously, so reusing one (same address) could fail to bind. */
    static atomic_uint serial;
    if (self->direct_results)
        snprintf(pool->endpoint, sizeof(pool->endpoint), "%s", self->cfg.results_endpoint);
    else
        snprintf(pool->endpoint, sizeof(pool->endpoint), "inproc://hg-plugin-exec-%u",
                 atomic_fetch_add(&serial, 1));
    return pool;
}

static int s_pool_start(s_pool_t *pool, size_t threads)
{
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, s_thread_main, pool) != 0) break;
        pool->threads_n++;
    }
    return pool->threads_n > 0 ? 0 : HG_ENOMEM;
}

/* Stop the threads; wait up to grace_ms for those inside a plug-in. A
 * thread still stuck after that is detached and the pool leaked on purpose
 * (the thread still reads it): a trusted plug-in that ignores cancellation
 * is the documented price of thread mode. */
static void s_pool_stop(s_pool_t **pool_p, uint32_t grace_ms)
{
    s_pool_t *pool = *pool_p;
    if (!pool) return;
    *pool_p = NULL;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    bool stuck = false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_ms / 1000;
    until.tv_nsec += (long) (grace_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    for (size_t i = 0; i < pool->threads_n; i++) {
        if (pthread_timedjoin_np(pool->threads[i], NULL, &until) != 0) {
            pthread_detach(pool->threads[i]);
            stuck = true;
        }
    }
    if (stuck) return;
    pthread_mutex_lock(&pool->mu);
    s_fifo_drop(&pool->queue);
    pthread_mutex_unlock(&pool->mu);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    free(pool->threads);
    free(pool->plugin_dir);
    free(pool);
}

/* Queue the staged thread-mode tasks for the pool under one lock, and
 * wake as many threads as there is work for (hg_plugin_pool_submit, as
 * the agent's direct submissions); a task refused is finished already
 * and goes back to the owner. */
static void s_pool_submit_staged(s_exec_t *self)
{
    size_t n = self->staged_n;
    if (n == 0) return;
    self->staged_n = 0;
    hg_plugin_task_t *refused[HG_TASK_PIPE_BATCH];
    size_t refused_n = hg_plugin_pool_submit(self->pool, self->staged, n, refused);
    for (size_t i = 0; i < refused_n; i++)
        s_return(self, refused[i]);
}

static void s_pool_submit(s_exec_t *self, hg_plugin_task_t *task)
{
    if (self->staged_n == HG_TASK_PIPE_BATCH) s_pool_submit_staged(self);
    self->staged[self->staged_n++] = task;
}

static int s_on_result(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_exec_t *self = arg;
    for (int i = 0; i < S_PIPE_BATCH; i++) {
        if (i > 0 && !(zsock_events(sock) & ZMQ_POLLIN)) break;
        void *tasks[HG_TASK_PIPE_BATCH];
        size_t n = hg_task_pipe_recv(sock, tasks, HG_TASK_PIPE_BATCH);
        if (n == 0) break;
        for (size_t j = 0; j < n; j++)
            if (tasks[j]) s_return(self, tasks[j]);
    }
    s_outbox_flush(self);
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static const char *s_signal_abbrev(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGXCPU:
        return "SIGXCPU";
    case SIGXFSZ:
        return "SIGXFSZ";
    case SIGSYS:
        return "SIGSYS";
    case SIGTRAP:
        return "SIGTRAP";
    case SIGPIPE:
        return "SIGPIPE";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGHUP:
        return "SIGHUP";
    case SIGALRM:
        return "SIGALRM";
    case SIGUSR1:
        return "SIGUSR1";
    case SIGUSR2:
        return "SIGUSR2";
    default:
        return "signal";
    }
}

static int s_on_helper(zloop_t *loop, zmq_pollitem_t *item, void *arg);
static void s_pump(s_exec_t *self);

/* Start a helper in an empty slot. fork+exec via posix_spawn: between
 * fork and exec a child of a multi-threaded process may only make
 * async-signal-safe calls, and posix_spawn does only that. */
static int s_helper_spawn(s_exec_t *self, s_helper_t *h)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return HG_EIO;
    /* dup2 onto S_HOST_FD clears close-on-exec for the child only; the
     * source must not already be that number (dup2 would be a no-op). */
    int child = fcntl(sv[1], F_DUPFD_CLOEXEC, S_HOST_FD + 1);
    close(sv[1]);
    if (child < 0) {
        close(sv[0]);
        return HG_EIO;
    }
    char fd_s[16], proto_s[16], as_s[16], cpu_s[16], nofile_s[16];
    snprintf(fd_s, sizeof(fd_s), "%d", S_HOST_FD);
    snprintf(proto_s, sizeof(proto_s), "%d", HG_HOST_PROTO_VERSION);
    snprintf(as_s, sizeof(as_s), "%u", self->cfg.as_mb);
    snprintf(cpu_s, sizeof(cpu_s), "%u", self->cfg.cpu_s);
    snprintf(nofile_s, sizeof(nofile_s), "%u", self->cfg.nofile);
    char *argv[] = {self->host_path, "--proto", proto_s,    "--fd",   fd_s, "--as-mb", as_s,
                    "--cpu-s",       cpu_s,     "--nofile", nofile_s, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, child, S_HOST_FD);
    /* The helper runs plug-in code: it gets its channel and stdio, none of
     * the worker's other descriptors (sockets to the master, plug-in
     * cache files), close-on-exec or not. */
    posix_spawn_file_actions_addclosefrom_np(&fa, S_HOST_FD + 1);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, self->host_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(child);
    if (rc != 0) {
        close(sv[0]);
        return HG_EIO;
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    h->pid = pid;
    h->fd = sv[0];
    h->ready = false;
    h->task = NULL;
    h->cancel_sent = h->killed = false;
    h->rlen = 0;
    zmq_pollitem_t item = {.socket = NULL, .fd = h->fd, .events = ZMQ_POLLIN, .revents = 0};
    if (zloop_poller(self->loop, &item, s_on_helper, self) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(h->fd);
        h->fd = -1;
        h->pid = 0;
        return HG_EIO;
    }
    zloop_poller_set_tolerant(self->loop, &item);
    return 0;
}

/* The helper is gone or must go: reap it and settle its task. */
static void s_helper_reap(s_exec_t *self, s_helper_t *h)
{
    zmq_pollitem_t item = {.socket = NULL, .fd = h->fd, .events = 0, .revents = 0};
    if (self->loop) zloop_poller_end(self->loop, &item);
    close(h->fd);
    /* It has exited or closed its socket; either way it is of no more use.
     * SIGKILL does not change the status of a process already exiting. */
    kill(h->pid, SIGKILL);
    int status = 0;
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR) {
    }
    hg_plugin_task_t *task = h->task;
    bool was_ready = h->ready;
    if (task) {
        s_set_output(task, &h->log, NULL, 0);
        if (h->killed) {
            task->run.exit_code = 128 + SIGKILL;
            s_run_end(task, HG_RUN_TIMEOUT,
                      "timed out after %u ms; plug-in host killed %u ms after cancellation",
                      s_timeout_ms(task), self->cfg.grace_ms);
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            task->run.exit_code = 128 + sig;
            s_run_end(task, HG_RUN_CRASHED, "plug-in crashed: %s (%s)", s_signal_abbrev(sig),
                      strsignal(sig));
        } else if (!was_ready) {
            task->run.exit_code = 1;
            s_run_end(task, HG_RUN_FAILED, "plug-in host %s could not start (exit status %d)",
                      self->host_path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        } else {
            task->run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
            s_run_end(task, HG_RUN_CRASHED, "plug-in exited the host process with status %d",
                      task->run.exit_code);
        }
    }
    free(h->rbuf);
    h->rbuf = NULL;
    h->rlen = h->rcap = 0;
    h->pid = 0;
    h->fd = -1;
    h->task = NULL;
    h->ready = false;
    if (!was_ready) self->spawn_after = hg_mono_ms() + S_SPAWN_BACKOFF_MS;
    if (task) s_return(self, task);
}

/* Handle one complete frame from a helper. -1: protocol error. */
static int s_helper_frame(s_exec_t *self, s_helper_t *h, const uint8_t *body, size_t len)
{
    hg_host_rd_t rd = {body + 1, len - 1, false};
    switch (body[0]) {
    case HG_HOST_READY:
        h->ready = true;
        return 0;
    case HG_HOST_LOG: {
        uint32_t level = hg_host_get_u32(&rd);
        size_t line_len = 0;
        char *line = hg_host_get_str(&rd, &line_len);
        if (rd.bad) return -1;
        if (h->task) s_log_add(&h->log, (int) level, line, line_len);
        free(line);
        return 0;
    }
    case HG_HOST_DONE: {
        int32_t outcome = (int32_t) hg_host_get_u32(&rd);
        char *error = hg_host_get_str(&rd, NULL);
        size_t result_len = 0;
        char *result = hg_host_get_str(&rd, &result_len);
        if (rd.bad || rd.left || !h->task || result_len > HG_PLUGIN_RESULT_MAX) {
            free(error);
            free(result);
            return -1;
        }
        hg_plugin_task_t *task = h->task;
        h->task = NULL;
        /* The plug-in may see its deadline (ctx->cancelled) before our tick does. */
        bool late = h->cancel_sent || hg_mono_ms() >= h->deadline_mono ||
                    hg_now_ms() >= task->run.started_ms + s_timeout_ms(task);
        s_judge(task, outcome, error, (uint8_t *) result, result_len, &h->log, late);
        free(error);
        s_return(self, task);
        return 0;
    }
    default:
        return -1;
    }
}

static int s_on_helper(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    s_exec_t *self = arg;
    s_helper_t *h = NULL;
    for (uint32_t i = 0; i < self->cfg.helpers; i++)
        if (self->helpers[i].fd == item->fd && self->helpers[i].pid) h = &self->helpers[i];
    if (!h) return 0;
    bool gone = false;
    /* Read at most one wake-up's budget, and never more than one whole
     * frame can need: a helper that writes without pause (a plug-in gone
     * wild, or hostile) then costs bounded memory and leaves the loop
     * free for the other helpers; poll wakes us again for the rest. */
    size_t budget = S_READ_PER_WAKE;
    while (budget > 0 && h->rlen < 4 + (size_t) HG_HOST_FRAME_MAX) {
        if (h->rcap - h->rlen < 4096) {
            size_t cap = h->rcap ? h->rcap * 2 : 8192;
            uint8_t *grown = realloc(h->rbuf, cap);
            if (!grown) {
                gone = true;
                break;
            }
            h->rbuf = grown;
            h->rcap = cap;
        }
        size_t want = h->rcap - h->rlen;
        if (want > budget) want = budget;
        if (want > 4 + (size_t) HG_HOST_FRAME_MAX - h->rlen) want = 4 + HG_HOST_FRAME_MAX - h->rlen;
        ssize_t n = read(h->fd, h->rbuf + h->rlen, want);
        if (n > 0) {
            h->rlen += (size_t) n;
            budget -= (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        gone = true; /* EOF or error: the helper is gone */
        break;
    }
    /* Parse the complete frames (also before a death: a DONE may precede it). */
    size_t at = 0;
    while (h->rlen - at >= 4) {
        uint32_t len = hg_host_le32(h->rbuf + at);
        if (len < 1 || len > HG_HOST_FRAME_MAX) {
            gone = true;
            break;
        }
        if (h->rlen - at - 4 < len) break;
        if (s_helper_frame(self, h, h->rbuf + at + 4, len) != 0) {
            gone = true;
            break;
        }
        at += 4 + len;
    }
    memmove(h->rbuf, h->rbuf + at, h->rlen - at);
    h->rlen -= at;
    if (gone) s_helper_reap(self, h);
    s_pump(self);
    s_outbox_flush(self);
    return 0;
}

static int s_send_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t) n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* An idle helper reads at once; bound the wait anyway. */
            struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
            if (poll(&p, 1, 1000) <= 0) return HG_EIO;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return HG_EIO;
        }
    }
    return 0;
}

/* Give a task to an idle helper. */
static void s_helper_start(s_exec_t *self, s_helper_t *h, hg_plugin_task_t *task)
{
    char run_id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(task->run.run_id, run_id);
    size_t params_n = 0;
    hg_plugin_kv_t *params = s_params_merge(task, &params_n);
    if (!params) {
        s_run_end(task, HG_RUN_FAILED, "out of memory starting the plug-in");
        s_return(self, task);
        return;
    }
    hg_host_buf_t *b = &self->out;
    hg_host_begin(b, HG_HOST_RUN);
    hg_host_put_cstr(b, task->path);
    hg_host_put_cstr(b, task->version);
    hg_host_put_cstr(b, task->run.job_name);
    hg_host_put_cstr(b, run_id);
    hg_host_put_i64(b, task->run.scheduled_ms);
    hg_host_put_i64(b, task->run.started_ms + s_timeout_ms(task));
    hg_host_put_u32(b, task->run.attempt);
    hg_host_put_u32(b, task->shard_index);
    hg_host_put_u32(b, task->shard_total ? task->shard_total : 1);
    hg_host_put_u32(b, (uint32_t) params_n);
    for (size_t i = 0; i < params_n; i++) {
        hg_host_put_cstr(b, params[i].key);
        hg_host_put_cstr(b, params[i].value);
    }
    free(params);
    if (!hg_host_finish(b)) {
        s_run_end(task, HG_RUN_FAILED, "plug-in parameters are too large (over %u bytes)",
                  HG_HOST_FRAME_MAX);
        s_return(self, task);
        return;
    }
    h->task = task;
    h->log.len = 0;
    h->cancel_sent = h->killed = false;
    /* The deadline counts from acceptance (run.started_ms), as the helper's does. */
    h->deadline_mono = hg_mono_ms() + (task->run.started_ms + s_timeout_ms(task) - hg_now_ms());
    if (s_send_all(h->fd, b->data, b->len) != 0) s_helper_reap(self, h); /* fails the task */
}

/* Keep every helper slot filled and every idle helper busy, oldest first. */
static void s_pump(s_exec_t *self)
{
    if (self->stopping) return;
    for (uint32_t i = 0; i < self->cfg.helpers; i++) {
        s_helper_t *h = &self->helpers[i];
        if (!h->pid && self->host_ok && hg_mono_ms() >= self->spawn_after)
            if (s_helper_spawn(self, h) != 0) self->spawn_after = hg_mono_ms() + S_SPAWN_BACKOFF_MS;
        if (h->pid && !h->task && self->waiting.len > 0)
            s_helper_start(self, h, s_fifo_pop(&self->waiting));
    }
}

/* Deadlines and respawns. */
static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    s_exec_t *self = arg;
    int64_t now = hg_mono_ms();
    for (uint32_t i = 0; i < self->cfg.helpers; i++) {
        s_helper_t *h = &self->helpers[i];
        if (!h->pid || !h->task) continue;
        if (!h->cancel_sent && now >= h->deadline_mono) {
            kill(h->pid, HG_HOST_CANCEL_SIGNAL);
            h->cancel_sent = true;
        } else if (h->cancel_sent && now >= h->deadline_mono + self->cfg.grace_ms) {
            h->killed = true;
            kill(h->pid, SIGKILL);
            s_helper_reap(self, h);
        }
    }
    s_pump(self);
    s_outbox_flush(self);
    return 0;
}

/* ------------------------------------------------------------------ pipe */

/* A task arrived: resolve its plug-in and queue it for its mode. */
static void s_accept(s_exec_t *self, hg_plugin_task_t *task)
{
    /* The start the agent reported (RUN_STARTED) stays the run's start:
     * the finished record may write the whole row when the start row was
     * never written (master/cluster_startdefer.c), and the history must
     * not say two different things of one run. */
    if (!task->run.started_ms) task->run.started_ms = hg_now_ms();
    task->run.status = HG_RUN_RUNNING;
    if (self->terminated || self->stopping) {
        s_run_end(task, HG_RUN_FAILED, "worker shutting down");
        s_return(self, task);
        return;
    }
    char path[PATH_MAX], err[S_ERROR_MAX];
    if (s_resolve(self->plugin_dir, &self->found, task, path, sizeof(path), err, sizeof(err)) !=
        0) {
        s_run_end(task, HG_RUN_FAILED, "%s", err);
        s_return(self, task);
        return;
    }
    if (!task->path || strcmp(task->path, path) != 0) {
        char *copy = strdup(path);
        if (!copy) {
            s_run_end(task, HG_RUN_FAILED, "out of memory");
            s_return(self, task);
            return;
        }
        free(task->path);
        task->path = copy;
    }
    if (task->isolation == HG_PLUGIN_ISOLATION_THREAD) {
        s_pool_submit(self, task);
        return;
    }
    if (task->isolation != HG_PLUGIN_ISOLATION_PROCESS) {
        s_run_end(task, HG_RUN_FAILED, "unknown isolation mode %d", task->isolation);
        s_return(self, task);
        return;
    }
    if (!self->host_ok) {
        s_run_end(task, HG_RUN_FAILED, "plug-in host %s is missing or not executable",
                  self->host_path);
        s_return(self, task);
        return;
    }
    if (self->waiting.len >= self->cfg.max_queued) {
        s_skip(self, task, self->waiting.len, "a helper process");
        return;
    }
    if (s_fifo_push(&self->waiting, task) != 0) {
        s_run_end(task, HG_RUN_FAILED, "out of memory queueing the plug-in run");
        s_return(self, task);
        return;
    }
    s_pump(self);
}

/* Kill every helper and free every task held (the executor is stopping
 * and the owner is not reading any more). Idle helpers get EOF first so
 * their plug-ins see fini. */
static void s_drop_all(s_exec_t *self)
{
    self->stopping = true;
    s_fifo_drop(&self->waiting);
    for (uint32_t i = 0; self->helpers && i < self->cfg.helpers; i++) {
        s_helper_t *h = &self->helpers[i];
        if (!h->pid) continue;
        if (h->task) {
            hg_plugin_task_destroy(&h->task);
            kill(h->pid, SIGKILL);
        } else {
            shutdown(h->fd, SHUT_RDWR); /* EOF: it runs fini and exits */
            for (int t = 0; t < 100 && waitpid(h->pid, NULL, WNOHANG) == 0; t++)
                usleep(5000);
        }
        s_helper_reap(self, h);
    }
    for (size_t i = 0; i < self->staged_n; i++)
        hg_plugin_task_destroy(&self->staged[i]);
    self->staged_n = 0;
    s_pool_stop(&self->pool, self->cfg.grace_ms);
    /* Thread results that arrived but were not forwarded. */
    void *tasks[HG_TASK_PIPE_BATCH];
    size_t n;
    while (self->results && (zsock_events(self->results) & ZMQ_POLLIN) &&
           (n = hg_task_pipe_recv(self->results, tasks, HG_TASK_PIPE_BATCH)) > 0) {
        for (size_t i = 0; i < n; i++)
            hg_plugin_task_destroy((hg_plugin_task_t **) &tasks[i]);
    }
}

/* CANCEL (cancel.h): a waiting process-mode task ends now; a running one
 * is signalled like at its deadline, and killed plugin.grace later. */
static void s_cancel(s_exec_t *self, const hg_cancel_cmd_t *c)
{
    int64_t now = hg_mono_ms();
    for (uint32_t i = 0; i < self->cfg.helpers; i++) {
        s_helper_t *h = &self->helpers[i];
        if (!h->pid || !h->task || !hg_cancel_matches(c, &h->task->run)) continue;
        snprintf(h->task->cancel_why, sizeof h->task->cancel_why, "%s", c->why);
        if (!h->cancel_sent) {
            kill(h->pid, HG_HOST_CANCEL_SIGNAL);
            h->cancel_sent = true;
            h->deadline_mono = now; /* SIGKILL after the grace, from now */
        }
    }
    s_fifo_t keep = {0};
    hg_plugin_task_t *task;
    while ((task = s_fifo_pop(&self->waiting))) {
        if (hg_cancel_matches(c, &task->run)) {
            snprintf(task->cancel_why, sizeof task->cancel_why, "%s", c->why);
            s_return(self, task);
        } else if (s_fifo_push(&keep, task) != 0) {
            s_run_end(task, HG_RUN_FAILED, "out of memory");
            s_return(self, task);
        }
    }
    free(self->waiting.ring);
    self->waiting = keep;
}

/* One command from the owner. Returns -1 on $TERM. */
static int s_on_command(void *arg, zmsg_t *msg)
{
    s_exec_t *self = arg;
    char *command = zmsg_popstr(msg);
    int rc = 0;
    if (!command) {
        /* Not ours (empty message); nothing to answer. */
    } else if (streq(command, "RUN")) {
        void *tasks[HG_TASK_PIPE_BATCH];
        size_t n = hg_task_pipe_pop_many(msg, tasks, HG_TASK_PIPE_BATCH);
        for (size_t i = 0; i < n; i++)
            if (tasks[i]) s_accept(self, tasks[i]);
        s_pool_submit_staged(self);
    } else if (streq(command, "CANCEL")) {
        hg_cancel_cmd_t c;
        if (hg_cancel_parse(msg, &c)) s_cancel(self, &c);
        s_outbox_flush(self);
    } else if (streq(command, "POOL")) {
        zsock_send(self->pipe, "p", self->direct_results ? self->pool : NULL);
    } else if (streq(command, "STOP")) {
        s_drop_all(self);
        s_outbox_flush(self); /* finished before STOP: the owner frees them */
        zsock_signal(self->pipe, 0);
    } else if (streq(command, "$TERM")) {
        self->terminated = true;
        rc = -1;
    }
    zstr_free(&command);
    return rc;
}

static int s_on_pipe(zloop_t *loop, zsock_t *pipe, void *arg)
{
    s_exec_t *self = arg;
    if (hg_task_pipe_commands(pipe, S_PIPE_BATCH, s_on_command, self) == -1) return -1;
    s_outbox_flush(self);
    return 0;
}

/* ----------------------------------------------------------------- actor */

static void s_exec_free(s_exec_t *self)
{
    s_drop_all(self);
    /* Nobody reads the pipe any more: finished tasks not sent are freed. */
    for (size_t i = 0; i < self->outbox_n; i++)
        hg_plugin_task_destroy(&self->outbox[i]);
    self->outbox_n = 0;
    zloop_destroy(&self->loop);
    zsock_destroy(&self->results);
    free(self->helpers);
    free(self->plugin_dir);
    free(self->host_path);
    free(self->out.data);
    free(self);
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_exec_t *self = arg;
    self->pipe = pipe;
    self->loop = zloop_new();
    /* Our own PULL for thread results, unless they go to the owner's. */
    self->results = self->direct_results ? NULL : zsock_new(ZMQ_PULL);
    bool ok =
        self->loop && (self->direct_results || self->results) &&
        (self->direct_results || zsock_bind(self->results, "%s", self->pool->endpoint) == 0) &&
        s_pool_start(self->pool, self->cfg.threads) == 0 &&
        zloop_reader(self->loop, pipe, s_on_pipe, self) == 0 &&
        (self->direct_results || zloop_reader(self->loop, self->results, s_on_result, self) == 0) &&
        zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self) != -1;
    if (ok) {
        zloop_set_nonstop(self->loop, true);
        s_pump(self); /* warm the helpers */
    }
    zsock_signal(pipe, 0);
    while (ok && !self->terminated) {
        zloop_start(self->loop);
        if (self->terminated || zmq_errno() != EINTR) break;
    }
    if (!self->terminated) {
        /* The reactor stopped (or never ran) without $TERM: hold nothing,
         * answer the owner until $TERM so zactor_destroy works. */
        s_drop_all(self);
        while (true) {
            zmsg_t *msg = zmsg_recv(pipe);
            if (!msg) {
                if (zmq_errno() == EINTR) continue;
                break;
            }
            int rc = s_on_command(self, msg);
            zmsg_destroy(&msg);
            s_outbox_flush(self);
            if (rc == -1) break;
        }
    }
    s_exec_free(self);
}

/* hourglass-plugin-host in the directory of this program. */
static char *s_default_host_path(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    size_t size = strlen(exe) + sizeof(HG_HOST_NAME) + 2;
    char *path = malloc(size);
    if (path) snprintf(path, size, "%s/%s", exe, HG_HOST_NAME);
    return path;
}

zactor_t *hg_plugin_exec_new(const hg_plugin_exec_config_t *cfg)
{
    if (!cfg) return NULL;
    s_exec_t *self = calloc(1, sizeof(*self));
    if (!self) return NULL;
    self->cfg = *cfg;
    self->cfg.plugin_dir = NULL;
    self->cfg.host_path = NULL;
    self->direct_results = cfg->results_endpoint && *cfg->results_endpoint;
    if (self->direct_results &&
        strlen(cfg->results_endpoint) >= sizeof(((s_pool_t *) 0)->endpoint)) {
        free(self);
        return NULL;
    }
    if (!self->cfg.helpers) self->cfg.helpers = S_DEFAULT_HELPERS;
    if (!self->cfg.threads) self->cfg.threads = S_DEFAULT_THREADS;
    if (!self->cfg.grace_ms) self->cfg.grace_ms = S_DEFAULT_GRACE_MS;
    if (!self->cfg.max_queued) self->cfg.max_queued = HG_PLUGIN_QUEUE_DEFAULT;
    self->plugin_dir = cfg->plugin_dir ? strdup(cfg->plugin_dir) : NULL;
    self->host_path = cfg->host_path ? strdup(cfg->host_path) : s_default_host_path();
    self->helpers = calloc(self->cfg.helpers, sizeof(s_helper_t));
    self->pool = s_pool_new(self, self->cfg.threads);
    self->cfg.results_endpoint = NULL; /* copied into the pool */
    if ((cfg->plugin_dir && !self->plugin_dir) || !self->host_path || !self->helpers ||
        !self->pool) {
        s_pool_stop(&self->pool, 0);
        free(self->helpers);
        free(self->plugin_dir);
        free(self->host_path);
        free(self);
        return NULL;
    }
    for (uint32_t i = 0; i < self->cfg.helpers; i++)
        self->helpers[i].fd = -1;
    self->host_ok = access(self->host_path, X_OK) == 0;
    zactor_t *exec = zactor_new(s_actor, self);
    /* On failure the actor never ran; zactor_new only fails before it starts. */
    return exec;
}

int hg_plugin_exec_submit(zactor_t *exec, hg_plugin_task_t **task)
{
    if (!task) return HG_EINVAL;
    int rc = hg_task_pipe_submit(exec, *task);
    if (rc == 0) *task = NULL;
    return rc;
}

int hg_plugin_exec_submit_many(zactor_t *exec, hg_plugin_task_t **tasks, size_t n)
{
    if (!tasks) return HG_EINVAL;
    int rc = hg_task_pipe_submit_many(exec, (void *const *) tasks, n);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            tasks[i] = NULL;
    return rc;
}

hg_plugin_pool_t *hg_plugin_exec_pool(zactor_t *exec)
{
    if (!exec || zstr_send(exec, "POOL") != 0) return NULL;
    void *pool = NULL;
    if (zsock_recv(exec, "p", &pool) != 0) return NULL;
    return pool;
}

size_t hg_plugin_pool_submit(hg_plugin_pool_t *pool, hg_plugin_task_t **tasks, size_t n,
                             hg_plugin_task_t **refused)
{
    size_t refused_n = 0, queued = 0;
    /* Each refused task's reason: 1 queue full (waiting[i] ahead), 2 the
     * pool is stopping, 3 no memory. Set outside the lock. */
    int why[HG_TASK_PIPE_BATCH];
    size_t waiting[HG_TASK_PIPE_BATCH];
    if (n > HG_TASK_PIPE_BATCH) n = HG_TASK_PIPE_BATCH;
    pthread_mutex_lock(&pool->mu);
    for (size_t i = 0; i < n; i++) {
        int reason = 0;
        size_t ahead = pool->queue.len;
        if (pool->stop)
            reason = 2;
        else if (ahead >= pool->max_queued)
            reason = 1;
        else if (s_fifo_push(&pool->queue, tasks[i]) != 0)
            reason = 3;
        if (reason) {
            why[refused_n] = reason;
            waiting[refused_n] = ahead;
            refused[refused_n++] = tasks[i];
        } else {
            queued++;
        }
        tasks[i] = NULL;
    }
    if (queued > 1 && pool->threads_n > 1)
        pthread_cond_broadcast(&pool->cv);
    else if (queued)
        pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (size_t i = 0; i < refused_n; i++) {
        if (why[i] == 1)
            s_run_end(refused[i], HG_RUN_SKIPPED,
                      HG_OVERLOADED ": %zu plug-in runs already waiting for a thread", waiting[i]);
        else if (why[i] == 2)
            s_run_end(refused[i], HG_RUN_FAILED, "worker shutting down");
        else
            s_run_end(refused[i], HG_RUN_FAILED, "out of memory queueing the plug-in run");
    }
    return refused_n;
}

size_t hg_plugin_exec_recv(zactor_t *exec, hg_plugin_task_t **tasks, size_t max)
{
    if (!exec || !tasks) return 0;
    return hg_task_pipe_recv(zactor_sock(exec), (void **) tasks, max);
}

void hg_plugin_exec_destroy(zactor_t **exec)
{
    hg_task_pipe_destroy(exec, s_task_free);
}

int hg_plugin_exec_cancel(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why)
{
    return hg_cancel_send(exec, job_id, run_id, why);
}
