/* forward: a standby passes a write it may not serve to the leader,
 * server-side, and answers with the leader's reply (docs/api.md, "Working
 * against a standby").
 *
 * Why server-side: a browser drops the Authorization header when it
 * follows a redirect to another origin, and sending writes to the leader
 * from the page would need CORS opened to every peer's origin, which
 * widens what a hostile page may try with a token. The standby instead
 * makes the request itself to the leader's API URL from the leadership row
 * (written only by the lock holder, in the database the masters trust),
 * with the caller's token, method, path, query and body, nothing else.
 *
 * Only a client that asks with the request header "Hourglass-Forward:
 * leader" is forwarded (the dashboard does); others keep the documented
 * 503 not_leader naming the leader, which the CLI follows. A forwarded
 * request carries "Hourglass-Forwarded: 1" and is never forwarded again,
 * so two masters that each think the other leads cannot loop. The body is
 * the request's (already bounded by the API's limits), the reply is
 * bounded to HG_FORWARD_REPLY_MAX, and the whole exchange to
 * HG_FORWARD_TIMEOUT_MS. */
#ifndef HG_MASTER_FORWARD_H
#define HG_MASTER_FORWARD_H

#include "api_internal.h"

#include <stdbool.h>

#define HG_FORWARD_HEADER     "Hourglass-Forward"   /* value "leader": please forward */
#define HG_FORWARDED_HEADER   "Hourglass-Forwarded" /* set on a forwarded request */
#define HG_FORWARD_TIMEOUT_MS 15000
#define HG_FORWARD_CONNECT_MS 3000
#define HG_FORWARD_REPLY_MAX  (8u << 20)

/* True when the request asked to be forwarded and was not forwarded to us
 * already. */
bool hg_forward_wanted(hg_api_ctx_t *c);

/* Make the request to the leader at leader_api (http:// or https://) and
 * set c's reply to the leader's status and JSON body; 502 bad_gateway
 * naming the leader when it cannot be reached or answers no JSON. True
 * when the leader answered (it then audited the request itself). */
bool hg_forward_to_leader(hg_api_ctx_t *c, const char *leader_api);

#endif
