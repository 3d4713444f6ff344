/* hg_zsock: ZeroMQ socket options that report failure instead of aborting.
 *
 * czmq's zsock_set_* setters assert that zmq_setsockopt succeeded or that
 * the context is terminating (ETERM). Any other failure aborts the
 * process: a socket closed under a thread at exit (ENOTSOCK), an option
 * value the library refuses (EINVAL). Issue 15 saw the master abort so,
 * in zsock_set_sndtimeo, while shutting down under overload. A scheduler's
 * control plane must not abort on its way out, so the daemons set options
 * through these, which return 0 or -1 (errno from libzmq) and never
 * assert, and treat a failure like a socket that could not be made. */
#ifndef HG_ZSOCK_H
#define HG_ZSOCK_H

#include <czmq.h>
#include <stdint.h>

/* An int option (ZMQ_SNDTIMEO, ZMQ_LINGER, ZMQ_SNDHWM, ...). */
int hg_zsock_set_int(zsock_t *sock, int option, int value);
/* An int64 option (ZMQ_MAXMSGSIZE). */
int hg_zsock_set_i64(zsock_t *sock, int option, int64_t value);
/* A text option (ZMQ_CURVE_SERVERKEY as Z85). */
int hg_zsock_set_str(zsock_t *sock, int option, const char *value);

#endif
