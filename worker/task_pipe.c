/* task_pipe: owner and executor ends of the task pointer pipe (see
 * task_pipe.h). */
#include "task_pipe.h"
#include "hg_error.h"

#include <string.h>

int hg_task_pipe_submit(zactor_t *exec, void *task)
{
    if (!exec || !task) return HG_EINVAL;
    return zsock_send(exec, "sp", "RUN", task) == 0 ? 0 : HG_EIO;
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
            zframe_t *frame = zmsg_first(msg);
            void *task = NULL;
            if (zmsg_size(msg) == 1 && zframe_size(frame) == sizeof(task)) {
                memcpy(&task, zframe_data(frame), sizeof(task));
                if (task && free_task) free_task(task);
            }
            zmsg_destroy(&msg);
        }
    }
    zactor_destroy(exec_p);
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

void hg_task_pipe_return(zsock_t *pipe, void *task, hg_task_free_fn *free_task)
{
    if (!task) return;
    if (zsock_send(pipe, "p", task) != 0 && free_task) free_task(task);
}
