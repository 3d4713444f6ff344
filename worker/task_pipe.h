/* task_pipe: the pointer-passing contract shared by the worker's executors
 * (http_exec, plugin_exec). The owner hands tasks to an executor actor as
 * a frame of pointers and gets them back, finished, as frames of pointers;
 * a task is owned by whichever side holds its pointer. This module is that
 * contract's plumbing, written once:
 *
 *   owner -> executor  "RUN", frame of 1..HG_TASK_PIPE_BATCH pointers
 *                                             (hg_task_pipe_submit[_many])
 *   owner -> executor  "s"   "STOP"           (hg_task_pipe_destroy)
 *   executor -> owner  frame of 1..HG_TASK_PIPE_BATCH pointers
 *                                             (hg_task_pipe_return[_many])
 *   executor -> owner  signal 0               answer to STOP
 *
 * Several tasks per message: at tens of thousands of runs a second, each
 * message is a wake-up of the thread that reads it, and those wake-ups
 * were most of a worker's CPU time. A frame of one pointer is exactly the
 * old single-task message ("p"), so one-at-a-time senders still work.
 *
 * The functions are type-blind (void *); each executor wraps them with its
 * own task type and destructor. */
#ifndef HG_WORKER_TASK_PIPE_H
#define HG_WORKER_TASK_PIPE_H

#include <czmq.h>

/* Most task pointers in one message. */
#define HG_TASK_PIPE_BATCH 256

/* Frees one task of an executor's type (the executor's task_destroy). */
typedef void(hg_task_free_fn)(void *task);

/* Owner side: send task to the executor as "RUN". 0, HG_EINVAL (NULL
 * argument) or HG_EIO (the pipe refused the message). On success the
 * executor owns the task; on error the caller still does. */
int hg_task_pipe_submit(zactor_t *exec, void *task);

/* Owner side: send tasks[0..n) (1 <= n <= HG_TASK_PIPE_BATCH) as one
 * "RUN". 0, HG_EINVAL or HG_EIO; on error the caller still owns them all. */
int hg_task_pipe_submit_many(zactor_t *exec, void *const *tasks, size_t n);

/* Owner side: receive one message of finished tasks from sock into
 * tasks[0..max) (max >= HG_TASK_PIPE_BATCH). Returns how many; 0 when
 * nothing could be read or the message was not a frame of pointers. */
size_t hg_task_pipe_recv(zsock_t *sock, void **tasks, size_t max);

/* Owner side: stop the executor. Sends STOP, frees with free_task every
 * finished task that arrives before the executor's answer (finished tasks
 * the owner had not read yet), then destroys the actor and NULLs *exec.
 * Safe on NULL. */
void hg_task_pipe_destroy(zactor_t **exec, hg_task_free_fn *free_task);

/* Executor side: handles one command message from the owner (it may take
 * frames off msg; the caller destroys it). -1 means stop the actor. */
typedef int(hg_task_command_fn)(void *self, zmsg_t *msg);

/* Executor side, for its zloop reader on the pipe: read the commands
 * waiting, at most max per wake-up so that its other sockets and timers
 * are not starved, passing each to on_command. -1 when the actor must
 * stop (on_command said so, or the context is gone), else 0. */
int hg_task_pipe_commands(zsock_t *pipe, int max, hg_task_command_fn *on_command, void *self);

/* Executor side: take the task pointer that follows "RUN" off msg; NULL
 * when the frame is missing or is not one pointer. */
void *hg_task_pipe_pop(zmsg_t *msg);

/* Executor side: take the task pointers that follow "RUN" off msg into
 * tasks[0..max); returns how many (0 when the frame is missing or is not
 * 1..max pointers). */
size_t hg_task_pipe_pop_many(zmsg_t *msg, void **tasks, size_t max);

/* Executor side: hand a finished task back to the owner. The pipe only
 * fails when the context is going away; nobody can take the task then, so
 * it is freed with free_task. */
void hg_task_pipe_return(zsock_t *pipe, void *task, hg_task_free_fn *free_task);

/* Executor side: hand tasks[0..n) back in one message (n <=
 * HG_TASK_PIPE_BATCH); on failure each is freed with free_task. */
void hg_task_pipe_return_many(zsock_t *pipe, void *const *tasks, size_t n,
                              hg_task_free_fn *free_task);

#endif
