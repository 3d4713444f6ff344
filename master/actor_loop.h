/* actor_loop: run a master actor's zloop until a handler ends it.
 *
 * zloop_start returns 0 (not -1) when a signal interrupts zmq_poll, even
 * with zloop_set_nonstop, and SIGTERM lands on whichever thread the kernel
 * picks. Left alone, the actor that happened to catch the signal would tear
 * itself down while the others, and the API threads talking to it, still
 * run. Every master actor therefore restarts its reactor after EINTR and
 * stops only when a handler returns -1 ($TERM from its owner, in order).
 */
#ifndef HG_MASTER_ACTOR_LOOP_H
#define HG_MASTER_ACTOR_LOOP_H

#include <czmq.h>
#include <errno.h>

/* Run loop until a handler returns -1 or the ZeroMQ context is gone.
 * Sets the loop nonstop: zsys_interrupted must not end it either. */
static inline void hg_actor_loop_run(zloop_t *loop)
{
    zloop_set_nonstop(loop, true);
    while (zloop_start(loop) == 0 && zmq_errno() == EINTR) {
    }
}

/* A pipe reader for an actor that takes no command but $TERM: -1 (stop)
 * on $TERM or a broken pipe, anything else is ignored. */
static inline int hg_actor_on_term(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void) loop;
    (void) arg;
    char *cmd = zstr_recv(pipe);
    int rc = (!cmd || streq(cmd, "$TERM")) ? -1 : 0;
    zstr_free(&cmd);
    return rc;
}

#endif
