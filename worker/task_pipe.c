/* task_pipe: owner and executor ends of the task pointer pipe (see
 * task_pipe.h). */
#include "task_pipe.h"
#include "hg_error.h"

#include <string.h>

/* Send "RUN" (when cmd) and a frame of n pointers. 0 or -1. */
static int s_send_pointers(zsock_t *sock, const char *cmd, void *const *tasks, size_t n)
{
    zmsg_t *msg = zmsg_new();
    if (!msg) return -1;
    if ((cmd && zmsg_addstr(msg, cmd) != 0) || zmsg_addmem(msg, tasks, n * sizeof(void *)) != 0) {
        zmsg_destroy(&msg);
        return -1;
    }
    if (zmsg_send(&msg, sock) != 0) {
        zmsg_destroy(&msg);
        return -1;
    }
    return 0;
}

/* The pointers in frame into tasks[0..max); 0 when it is not 1..max of them. */
static size_t s_frame_pointers(zframe_t *frame, void **tasks, size_t max)
{
    if (!frame) return 0;
    size_t size = zframe_size(frame);
    if (size == 0 || size % sizeof(void *) != 0 || size / sizeof(void *) > max) return 0;
    memcpy(tasks, zframe_data(frame), size);
    return size / sizeof(void *);
}

int hg_task_pipe_submit(zactor_t *exec, void *task)
{
    if (!exec || !task) return HG_EINVAL;
    return zsock_send(exec, "sp", "RUN", task) == 0 ? 0 : HG_EIO;
}

int hg_task_pipe_submit_many(zactor_t *exec, void *const *tasks, size_t n)
{
    if (!exec || !tasks || n == 0 || n > HG_TASK_PIPE_BATCH) return HG_EINVAL;
    return s_send_pointers(zactor_sock(exec), "RUN", tasks, n) == 0 ? 0 : HG_EIO;
}

size_t hg_task_pipe_recv(zsock_t *sock, void **tasks, size_t max)
{
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg) return 0;
    size_t n = zmsg_size(msg) == 1 ? s_frame_pointers(zmsg_first(msg), tasks, max) : 0;
    zmsg_destroy(&msg);
    return n;
}

void hg_task_pipe_destroy(zactor_t **exec_p, hg_task_free_fn *free_task)
{
    if (!exec_p || !*exec_p) return;
    zsock_t *sock = zactor_sock(*exec_p);
    /* STOP makes the actor free what it holds and answer with a signal;
     * everything before the signal is a finished task nobody read yet. */
    if (zstr_send(sock, "STOP") == 0) {
        while (true) {
            zmsg_t *msg = zmsg_recv(sock);
            if (!msg) break;
            if (zmsg_signal(msg) >= 0) {
                zmsg_destroy(&msg);
                break;
            }
            void *tasks[HG_TASK_PIPE_BATCH];
            size_t n = zmsg_size(msg) == 1
                           ? s_frame_pointers(zmsg_first(msg), tasks, HG_TASK_PIPE_BATCH)
                           : 0;
            for (size_t i = 0; i < n; i++)
                if (tasks[i] && free_task) free_task(tasks[i]);
            zmsg_destroy(&msg);
        }
    }
    zactor_destroy(exec_p);
}

int hg_task_pipe_commands(zsock_t *pipe, int max, hg_task_command_fn *on_command, void *self)
{
    for (int i = 0; i < max; i++) {
        if (i > 0 && !(zsock_events(pipe) & ZMQ_POLLIN)) break;
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg) /* interrupted: try again on the next wake-up; gone: stop */
            return zmq_errno() == ETERM ? -1 : 0;
        int rc = on_command(self, msg);
        zmsg_destroy(&msg);
        if (rc == -1) return -1;
    }
    return 0;
}

void *hg_task_pipe_pop(zmsg_t *msg)
{
    zframe_t *frame = zmsg_pop(msg);
    void *task = NULL;
    if (frame && zframe_size(frame) == sizeof(task))
        memcpy(&task, zframe_data(frame), sizeof(task));
    zframe_destroy(&frame);
    return task;
}

size_t hg_task_pipe_pop_many(zmsg_t *msg, void **tasks, size_t max)
{
    zframe_t *frame = zmsg_pop(msg);
    size_t n = s_frame_pointers(frame, tasks, max);
    zframe_destroy(&frame);
    return n;
}

void hg_task_pipe_return(zsock_t *pipe, void *task, hg_task_free_fn *free_task)
{
    if (!task) return;
    if (zsock_send(pipe, "p", task) != 0 && free_task) free_task(task);
}

void hg_task_pipe_return_many(zsock_t *pipe, void *const *tasks, size_t n,
                              hg_task_free_fn *free_task)
{
    if (n == 0) return;
    if (s_send_pointers(pipe, NULL, tasks, n) != 0 && free_task)
        for (size_t i = 0; i < n; i++)
            free_task(tasks[i]);
}
