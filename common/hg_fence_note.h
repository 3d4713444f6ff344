/* hg_fence_note: how a worker's run record says that its lease lapsed
 * around an HTTP request (worker/http_exec.c writes it, master/refire.c
 * reads it), so that both sides agree on the words without sharing code.
 *
 * HG_FENCE_NOT_SENT: status skipped; nothing was sent (the request was
 * still waiting or its connection still being set up).
 * HG_FENCE_RESET: status failed; the request was written but the
 * endpoint's TCP had not acknowledged all of it, and the connection was
 * reset: whether the endpoint received it is not knowable. */
#ifndef HG_FENCE_NOTE_H
#define HG_FENCE_NOTE_H

#define HG_FENCE_NOT_SENT "not sent: the worker's lease lapsed before the request could be sent"
#define HG_FENCE_RESET                                                                             \
    "aborted: the worker's lease lapsed before the endpoint acknowledged the request; "            \
    "connection reset (the endpoint may still have received it)"

#endif
