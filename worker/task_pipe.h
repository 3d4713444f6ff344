/* task_pipe: the pointer-passing contract shared by the worker's executors
 * (http_exec, plugin_exec). The owner hands a task to an executor actor as
 * one pointer frame and gets it back, finished, as one pointer frame; the
 * task is owned by whichever side holds the pointer. This module is that
 * contract's plumbing, written once:
 *
 *   owner -> executor  "sp"  "RUN", task      (hg_task_pipe_submit)
 *   owner -> executor  "s"   "STOP"           (hg_task_pipe_destroy)
 *   executor -> owner  "p"   task             (hg_task_pipe_return)
 *   executor -> owner  signal 0               answer to STOP
 *
 * The functions are type-blind (void *); each executor wraps them with its
 * own task type and destructor. */
#ifndef HG_WORKER_TASK_PIPE_H
#define HG_WORKER_TASK_PIPE_H

#include <czmq.h>

/* Frees one task of an executor's type (the executor's task_destroy). */
typedef void(hg_task_free_fn)(void *task);

/* Owner side: send task to the executor as "RUN". 0, HG_EINVAL (NULL
 * argument) or HG_EIO (the pipe refused the message). On success the
 * executor owns the task; on error the caller still does. */
int hg_task_pipe_submit(zactor_t *exec, void *task);

/* Owner side: stop the executor. Sends STOP, frees with free_task every
 * finished task that arrives before the executor's answer (finished tasks
 * the owner had not read yet), then destroys the actor and NULLs *exec.
 * Safe on NULL. */
void hg_task_pipe_destroy(zactor_t **exec, hg_task_free_fn *free_task);

/* Executor side: take the task pointer that follows "RUN" off msg; NULL
 * when the frame is missing or is not one pointer. */
void *hg_task_pipe_pop(zmsg_t *msg);

/* Executor side: hand a finished task back to the owner. The pipe only
 * fails when the context is going away; nobody can take the task then, so
 * it is freed with free_task. */
void hg_task_pipe_return(zsock_t *pipe, void *task, hg_task_free_fn *free_task);

#endif
