/* conn: which connection of the workers' ROUTER a node speaks through.
 *
 * A node's identity comes from authentication, never from the routing id
 * a peer picks: with CURVE the ZAP handler binds each key to one node
 * name (zap.h), and every message carries it as User-Id. The routing id
 * only says where to send answers, so the cluster keeps, per node, the
 * connection (routing id and key) of its current session and sends
 * there. In plaintext test mode there is no key: a connection is the node
 * its accepted HELLO named. */
#ifndef HG_MASTER_CONN_H
#define HG_MASTER_CONN_H

#include "hg_keys.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint8_t id[255];              /* routing id ZeroMQ gave the connection */
    uint8_t id_n;                 /* its length; 0 = no connection */
    char key[HG_KEY_Z85_LEN + 1]; /* the peer's CURVE key, "" in plaintext */
} hg_conn_t;

/* Fill c from a message's routing-id frame and key (NULL: none). */
void hg_conn_set(hg_conn_t *c, zframe_t *routing_id, const char *key);

/* Same connection: same routing id. */
bool hg_conn_same(const hg_conn_t *a, const hg_conn_t *b);

/* A new routing-id frame to send to c, or NULL when c has none. */
zframe_t *hg_conn_frame(const hg_conn_t *c);

/* May connection conn open a session for a node whose current connection
 * is cur (cur->id_n == 0 when it never had one) and whose session is live
 * or not? The same key replaces the session (a worker restart, or a
 * reconnect); another key is refused while the session is live, so that
 * a second key registered for the node cannot take over a running
 * worker. */
bool hg_conn_may_take(const hg_conn_t *cur, bool live, const hg_conn_t *conn);

/* Plaintext mode: node names of connections, learned from accepted
 * HELLOs. At most cap entries; when full the oldest learned go first
 * (their workers are asked to say HELLO again). */
typedef struct hg_conn_names hg_conn_names_t;

hg_conn_names_t *hg_conn_names_new(size_t cap);
void hg_conn_names_destroy(hg_conn_names_t **names);
void hg_conn_names_put(hg_conn_names_t *names, const hg_conn_t *c, const char *node);
void hg_conn_names_forget(hg_conn_names_t *names, const hg_conn_t *c);
/* The node of c, or NULL. */
const char *hg_conn_names_get(hg_conn_names_t *names, const hg_conn_t *c);

#endif
