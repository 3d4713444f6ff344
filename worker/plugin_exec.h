/* plugin_exec: the worker's plug-in executor, a zactor that runs plug-in
 * tasks (DESIGN.md section 6) in one of two isolation modes:
 *
 *   process (default)  in warm helper processes (hourglass-plugin-host,
 *                      fork+exec'ed by the executor, one run at a time
 *                      each), so a crash, abort, endless loop or memory
 *                      blow-up ends that helper only: the run is recorded
 *                      as crashed or timed out and the helper replaced;
 *   thread             on a bounded thread pool inside the worker, for
 *                      trusted plug-ins where per-run cost matters. A
 *                      plug-in that ignores cancellation keeps its thread.
 *
 * It follows http_exec's contract so the agent drives both the same way:
 * the owner submits tasks with hg_plugin_exec_submit (or many at once
 * with hg_plugin_exec_submit_many) and, when zactor_sock(exec) is readable,
 * receives finished tasks with hg_plugin_exec_recv, several per message;
 * it then owns them again and frees each with hg_plugin_task_destroy.
 * Every submitted task comes back exactly once, also when it could not
 * start (status failed, error set). With cfg.results_endpoint, thread-mode
 * runs that ran come back on the owner's PULL socket there instead (same
 * frames, read it with hg_task_pipe_recv): straight from the pool thread,
 * without waking the executor actor, which at tens of thousands of runs
 * a second is a wake-up saved per timer pass.
 *
 * Overload: process-mode tasks waiting for a helper and thread-mode tasks
 * waiting for a thread are each bounded by max_queued. A task that finds
 * its queue full comes back at once with status skipped and the error
 * "worker overloaded: N plug-in runs already waiting for a helper process"
 * (or "for a thread"), so the worker's memory stays bounded and every run
 * is still recorded.
 *
 * Pipe messages (task_pipe.h; all frames built with zsock_send):
 *   owner -> executor  "RUN", 1..HG_TASK_PIPE_BATCH task pointers
 *                                             (hg_plugin_exec_submit[_many])
 *   owner -> executor  "s"   "STOP"           (hg_plugin_exec_destroy)
 *   owner -> executor  "s"   "$TERM"          (zactor_destroy)
 *   executor -> owner  1..HG_TASK_PIPE_BATCH finished task pointers
 *   executor -> owner  signal 0               answer to STOP
 *
 * Results: the plug-in's HG_PLUGIN_OK -> success, exit_code 0;
 * HG_PLUGIN_FAILED -> failed, exit_code 1, error = the plug-in's message;
 * HG_PLUGIN_RETRY -> failed, exit_code 1, retry_requested set; load, ABI or
 * version errors -> failed with a message naming the plug-in, its ABI and
 * ours; helper killed by a signal -> crashed, exit_code 128 + signal,
 * error "plug-in crashed: SIGSEGV (Segmentation fault)"; deadline -> the
 * cancellation flag is raised, and in process mode the helper is killed
 * grace_ms later; either way the run is recorded as timeout. run.output
 * holds the log lines ("[level] text\n", oldest first) followed by the
 * result payload, at most HG_PLUGIN_OUTPUT_MAX bytes (the result keeps its
 * room first); the whole result is also in task->result. */
#ifndef HG_WORKER_PLUGIN_EXEC_H
#define HG_WORKER_PLUGIN_EXEC_H

#include "hg_proto.h"
#include "task_pipe.h"

#include <czmq.h>
#include <stdbool.h>

#define HG_PLUGIN_OUTPUT_MAX    4096 /* bytes of log + result kept in the run record */
#define HG_PLUGIN_QUEUE_DEFAULT 5000 /* tasks that may wait for a helper (and for a thread) */

typedef enum {
    HG_PLUGIN_ISOLATION_PROCESS = 0, /* helper processes (default) */
    HG_PLUGIN_ISOLATION_THREAD = 1,  /* thread pool in the worker */
} hg_plugin_isolation_t;

/* "process" / "thread" (NULL or "" means process); -1 when unknown. */
int hg_plugin_isolation_parse(const char *text);

typedef struct {
    const char *plugin_dir;       /* where <name>.so / hg_<name>.so are looked up (copied);
                                     several directories may be given separated by ':' */
    const char *host_path;        /* helper executable; NULL: hourglass-plugin-host next to
                                     this program (the directory of /proc/self/exe) */
    uint32_t helpers;             /* warm helper processes; 0 means 2 */
    uint32_t threads;             /* thread pool size; 0 means 4 */
    uint32_t as_mb;               /* RLIMIT_AS of a helper in MiB; 0 = inherited */
    uint32_t cpu_s;               /* RLIMIT_CPU per run in seconds; 0 = inherited */
    uint32_t nofile;              /* RLIMIT_NOFILE of a helper; 0 = inherited */
    uint32_t grace_ms;            /* from cancellation to SIGKILL; 0 means 2000 */
    uint32_t max_queued;          /* tasks waiting per mode, more are skipped;
                                     0 means HG_PLUGIN_QUEUE_DEFAULT */
    const char *results_endpoint; /* inproc endpoint of a PULL socket the owner has
                                     bound (copied): thread-mode runs that ran come
                                     back there, not on the pipe (NULL: on the pipe) */
} hg_plugin_exec_config_t;

typedef struct {
    hg_run_t run;         /* in: run_id, job_id, epoch, job_name, scheduled_ms, attempt, reason.
                             out: started_ms, finished_ms, status, exit_code, error, output */
    char *plugin;         /* plug-in name (owned); looked up in plugin_dir */
    char *version;        /* required plug-in version (owned), NULL for any */
    char *path;           /* explicit shared-object path (owned), overrides plugin */
    int isolation;        /* hg_plugin_isolation_t */
    hg_kv_t *params;      /* job parameters (owned) */
    size_t params_n;      /* number of parameters */
    hg_kv_t *overrides;   /* trigger overrides (owned); they win over params */
    size_t overrides_n;   /* number of overrides */
    uint32_t timeout_ms;  /* deadline from start; 0 means 30 s */
    uint32_t shard_index; /* shard of a sharded job, 0 if not */
    uint32_t shard_total; /* shards, 0 or 1 if not sharded */
    hg_blob_t result;     /* out: the whole result payload (<= 64 KiB) */
    bool retry_requested; /* out: the plug-in returned HG_PLUGIN_RETRY */
    char cancel_why[160]; /* internal: set when a CANCEL named the run (cancel.h) */
} hg_plugin_task_t;

/* Cancel the run run_id of job_id (NULL: every run of the job): one
 * waiting for a helper ends at once; one running in a helper gets the
 * cancellation signal (ctx->cancelled) and, plugin.grace later, SIGKILL.
 * Either comes back with status cancelled, error "cancelled: <why>".
 * Thread-mode runs are not cancelled (a thread cannot be stopped safely);
 * they end by themselves or by their deadline. 0 or HG_EIO. */
int hg_plugin_exec_cancel(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why);

/* Whether one of the directories of plugin_dir (':'-separated) holds a
 * plug-in called name (<name>.so or hg_<name>.so). The answer is kept for
 * a second per name (it is asked for every run): a plug-in added to or
 * removed from the directory is seen within that second. */
bool hg_plugin_local_exists(const char *plugin_dir, const char *name);

/* Whether allow (comma-separated names, or "*" for any) lists name. */
bool hg_plugin_allowed(const char *allow, const char *name);

/* New zeroed task (calloc); NULL on allocation failure. */
hg_plugin_task_t *hg_plugin_task_new(void);

/* Free the task and everything it owns, NULL the pointer. Safe on NULL. */
void hg_plugin_task_destroy(hg_plugin_task_t **task);

/* Start the executor: spawns the warm helpers and the thread pool. NULL on
 * failure (bad config, out of memory). A missing helper executable is not
 * fatal: thread-mode tasks run, process-mode tasks fail with a message. */
zactor_t *hg_plugin_exec_new(const hg_plugin_exec_config_t *cfg);

/* Stop the executor: kill busy helpers, let idle ones exit, stop the pool,
 * free the tasks it still holds and the finished tasks waiting on the
 * pipe, then destroy the actor and NULL *exec. Waits for pool threads still
 * inside a plug-in up to grace_ms. Safe on NULL. */
void hg_plugin_exec_destroy(zactor_t **exec);

/* Hand a task to the executor; takes ownership and NULLs *task. 0 or
 * HG_EINVAL (NULL argument) / HG_EIO (pipe send failed); on error *task is
 * untouched and still the caller's. */
int hg_plugin_exec_submit(zactor_t *exec, hg_plugin_task_t **task);

/* Hand tasks[0..n) to the executor in one message (1 <= n <=
 * HG_TASK_PIPE_BATCH); takes ownership and NULLs each on success. 0 or
 * HG_EINVAL / HG_EIO; on error the caller still owns them all. */
int hg_plugin_exec_submit_many(zactor_t *exec, hg_plugin_task_t **tasks, size_t n);

/* Receive one message of finished tasks into tasks[0..max) (max >=
 * HG_TASK_PIPE_BATCH); the caller owns them. Returns how many, 0 when
 * nothing could be read. Blocks when nothing is waiting: poll first. */
size_t hg_plugin_exec_recv(zactor_t *exec, hg_plugin_task_t **tasks, size_t max);

/* The thread pool, for handing thread-mode runs to it directly: with
 * cfg.results_endpoint, a busy worker's runs then go from the owner to a
 * pool thread and back without waking the executor actor at all (one
 * wake-up per timer pass fewer). */
typedef struct s_pool hg_plugin_pool_t;

/* The executor's pool, NULL without cfg.results_endpoint. Call it before
 * submitting anything (the answer comes on the pipe). Valid until
 * hg_plugin_exec_destroy. */
hg_plugin_pool_t *hg_plugin_exec_pool(zactor_t *exec);

/* Owner side: queue thread-mode tasks[0..n) (n <= HG_TASK_PIPE_BATCH; the
 * plug-in is looked up by the pool thread; run.started_ms must be set).
 * Takes every task and NULLs tasks[]; those that come back on
 * results_endpoint are the ones queued. Tasks the pool cannot take are
 * finished at once and put in refused[] (room for n): skipped when the
 * queue holds max_queued tasks (the error names the overload), failed when
 * the pool is stopping or out of memory. Returns how many were refused. */
size_t hg_plugin_pool_submit(hg_plugin_pool_t *pool, hg_plugin_task_t **tasks, size_t n,
                             hg_plugin_task_t **refused);

#endif
