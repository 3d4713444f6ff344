/* hg_endpoint: one name, one meaning. A worker dials the master's ZeroMQ
 * endpoint (tcp://HOST:PORT); the CLI calls its REST API (http://HOST:PORT).
 * A shell set up for one used to break the other (both read
 * HOURGLASS_MASTER), so each program checks the shape of what it was given
 * and refuses the other kind with a message that names the right setting. */
#ifndef HG_ENDPOINT_H
#define HG_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* tcp://... or ipc://... (what a ZeroMQ socket dials or binds). */
bool hg_endpoint_is_zmq(const char *text);
/* http://... or https://... */
bool hg_endpoint_is_http(const char *text);

/* Check every comma-separated entry of list (blanks around entries are
 * ignored) is a ZeroMQ endpoint. 0, or HG_EINVAL with a message in err
 * that names setting (e.g. "master.endpoints (HOURGLASS_MASTER_ENDPOINTS)")
 * and, for an HTTP URL, says it is the CLI's kind of address. */
int hg_endpoint_check_zmq_list(const char *list, const char *setting, char *err, size_t err_size);

#endif
