/* http_exec: the worker's HTTP executor, a zactor that runs every HTTP
 * task of the worker on one curl multi handle (curl_multi_socket_action
 * driven by the actor's zloop), so hundreds of requests can be in flight
 * without a thread each.
 *
 * The owner submits tasks with hg_http_exec_submit and receives each
 * finished task back on zactor_sock(exec) as a single pointer frame
 * (zsock_recv(sock, "p", &task)); it then owns the task again and frees it
 * with hg_http_task_destroy. Every submitted task comes back exactly once,
 * also when the request could not even start (status failed, error set).
 *
 * Overload: at most max_queued tasks wait for a free request slot. A task
 * submitted while that many wait comes back at once with status skipped
 * and the error "worker overloaded: N HTTP runs already waiting", so the
 * worker's memory stays bounded and every run is still recorded.
 *
 * Pipe messages (task_pipe.h; all frames built with zsock_send):
 *   owner -> executor  "sp"  "RUN", task      (hg_http_exec_submit)
 *   owner -> executor  "s"   "STOP"           (hg_http_exec_destroy)
 *   owner -> executor  "s"   "$TERM"          (zactor_destroy)
 *   executor -> owner  "p"   task             a finished task
 *   executor -> owner  signal 0               answer to STOP
 *
 * Shutdown: tasks still queued or in flight when the executor stops are
 * freed by the executor, not sent back (nobody would read them: a run the
 * worker did not finish is reported by the master as lost). Destroy with
 * hg_http_exec_destroy, which also frees finished tasks the owner has not
 * read yet; plain zactor_destroy is safe but leaks those. */
#ifndef HG_WORKER_HTTP_EXEC_H
#define HG_WORKER_HTTP_EXEC_H

#include "hg_proto.h"

#include <czmq.h>
#include <stdatomic.h>

#define HG_HTTP_OUTPUT_MAX    4096 /* bytes of response body kept in the run record */
#define HG_HTTP_QUEUE_DEFAULT 5000 /* tasks that may wait for a request slot */

/* The worker's lease as the executor sees it. A request is sent only while
 * the lease it was fired under still holds: a request that could not even
 * be sent before that lease lapsed (the worker was frozen, or cut off from
 * the network that the master and the endpoint share) is dropped, because
 * by then the master may have given the job to another worker, which
 * fires that scheduled time itself. The agent writes, the executor reads:
 * two atomics rather than a message, because the check must be made at the
 * moment curl is about to send, on the executor's thread.
 * Writer order: bump generation, then store until_ms; readers load
 * until_ms first, then generation. */
typedef struct {
    _Atomic int64_t until_ms;    /* lease end, monotonic ms (hg_mono_ms) */
    _Atomic uint64_t generation; /* bumped whenever a lapsed lease is renewed */
} hg_http_fence_t;

typedef struct {
    hg_run_t run;        /* in: run_id, job_id, epoch, job_name, scheduled_ms, attempt, reason.
                            out: started_ms, finished_ms, status, http_status, error, output */
    hg_http_spec_t http; /* request to make (owned by the task) */
    char *ns; /* job namespace (owned), sent in Hourglass-Job as "ns/name" unless "default" */
    uint32_t timeout_ms;          /* whole-request deadline; 0 means 30 s */
    const hg_http_fence_t *fence; /* lease to hold at send time; NULL: no check */
    uint64_t fence_generation;    /* fence->generation when the run was fired */
    uint32_t shard_index;         /* a shard run: sent as Hourglass-Shard: index/total */
    uint32_t shard_total;         /* 0: not a shard run */
} hg_http_task_t;

/* New zeroed task (calloc); NULL on allocation failure. */
hg_http_task_t *hg_http_task_new(void);

/* Free the task and everything it owns, NULL the pointer. Safe on NULL. */
void hg_http_task_destroy(hg_http_task_t **task);

/* Start the executor. max_inflight (>= 1) bounds concurrent requests (and
 * curl's connections); up to max_queued more wait in order (0 means
 * HG_HTTP_QUEUE_DEFAULT), beyond that tasks are skipped. NULL on failure or
 * when max_inflight is 0. The program should call curl_global_init once
 * before starting threads. */
zactor_t *hg_http_exec_new(uint32_t max_inflight, uint32_t max_queued);

/* Stop the executor: free the tasks it still holds and the finished tasks
 * waiting on the pipe, then destroy the actor and NULL *exec. May block
 * until the actor has released its requests (no network waits). Safe on
 * NULL. */
void hg_http_exec_destroy(zactor_t **exec);

/* Hand a task to the executor; takes ownership and NULLs *task. 0 or
 * HG_EINVAL (NULL argument) / HG_EIO (pipe send failed); on error *task is
 * untouched and still the caller's. */
int hg_http_exec_submit(zactor_t *exec, hg_http_task_t **task);

/* Cancel the run run_id of job_id (NULL: every run of the job), queued or
 * in flight: the request is aborted (its connection closed) and the task
 * comes back with status cancelled and error "cancelled: <why>". 0 or
 * HG_EIO. See cancel.h. */
int hg_http_exec_cancel(zactor_t *exec, uint64_t job_id, const uint8_t *run_id, const char *why);

/* Request rules: method is one of GET POST PUT PATCH DELETE HEAD OPTIONS
 * (case-insensitive, NULL means GET); only http and https URLs; redirects
 * are not followed; header lines must not hold CR or LF; form fields, when
 * present, are sent urlencoded as the body with Content-Type
 * application/x-www-form-urlencoded, otherwise body is sent as is.
 *
 * Every request carries these headers so receivers can deduplicate:
 *   Hourglass-Job: <name>            (or <namespace>/<name>)
 *   Hourglass-Run-Id: <uuid>
 *   Hourglass-Scheduled-At: <RFC 3339 with ms, UTC>
 *   Hourglass-Attempt: <n>
 * Result rules: transport error -> failed with curl's message; deadline ->
 * timeout ("timed out after N ms"); status not in http.expect (or not 2xx
 * when empty) -> failed with "unexpected HTTP status 500 (expected 2xx)";
 * expect_body missing -> failed with "response body does not contain ..."
 * (the whole body is searched as it streams, not only the kept excerpt);
 * lease lapsed before the request could be sent (see hg_http_fence_t) ->
 * skipped, with HG_FENCE_NOT_SENT (hg_fence_note.h) and nothing sent; lease
 * lapsed while the request was on the wire, unanswered, with bytes the
 * endpoint's TCP has not acknowledged (a broken link) -> connection reset
 * so they are never delivered late, failed with HG_FENCE_RESET;
 * otherwise success. output holds at most HG_HTTP_OUTPUT_MAX bytes of the
 * body; the rest is read and discarded. */

#endif
