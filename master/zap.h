/* zap: the master's ZAP handler (ZeroMQ Authentication Protocol, RFC 27),
 * which decides which CURVE keys may open a session on the workers'
 * ROUTER and which node each of them is.
 *
 * czmq's zauth cannot be used: it answers with the key as User-Id and
 * knows only a directory, while a key must be bound to one node name and
 * keys also live in MySQL (table worker_keys, managed through the API).
 * So this actor keeps a keyring from two sources:
 *   - the keys.workers directory: public certificates (czmq zcert files)
 *     with a "node" metadata entry; re-read on SIGHUP and when the
 *     directory changes;
 *   - the worker_keys table, read over the actor's own MySQL connection
 *     every few seconds and at once (at most once a second) when a key is
 *     not found, so that a key an admin adds is admitted without a restart.
 * An unknown key gets ZAP status 400 and no session; a known one 200 with
 * User-Id = its node name and the key itself as metadata property
 * HG_ZAP_KEY_PROPERTY (what the cluster actor reads with zframe_meta). */
#ifndef HG_MASTER_ZAP_H
#define HG_MASTER_ZAP_H

#include "db.h"
#include "hg_keys.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Metadata property carrying the peer's Z85 public key on every message. */
#define HG_ZAP_KEY_PROPERTY "X-Hg-Key"

/* Where the ZAP actor announces keys that are admitted no more (removed
 * from keys.workers or worker_keys): one frame, the Z85 key, to a PULL
 * socket the cluster actor binds; it ends the sessions opened with it. */
#define HG_ZAP_REMOVED_ENDPOINT "inproc://hourglass-zap-removed"

/* Node names: what a worker HELLO may carry. */
#define HG_ZAP_NODE_MAX 191

/* A keyring: Z85 public key -> node name. */
typedef struct hg_keyring hg_keyring_t;

hg_keyring_t *hg_keyring_new(void);
void hg_keyring_destroy(hg_keyring_t **ring);

/* Bind key to node. HG_EINVAL for a malformed key or node name,
 * HG_EEXIST when the key is already bound to another node (the first
 * binding stays). 0 when added or already bound to that node. */
int hg_keyring_add(hg_keyring_t *ring, const char *key_z85, const char *node);

/* The node key is bound to, or NULL. */
const char *hg_keyring_lookup(hg_keyring_t *ring, const char *key_z85);

size_t hg_keyring_size(hg_keyring_t *ring);

/* Add every public certificate of dir (files named *_secret are skipped:
 * a secret has no place in an allow-list). A file that is not a
 * certificate or has no "node" metadata is skipped with a warning. A
 * missing directory is an empty one. Returns the keys added. */
size_t hg_keyring_load_dir(hg_keyring_t *ring, const char *dir);

/* The decision for one ZAP request, free of sockets so that it can be
 * tested: mechanism and credential as the request gives them; dir_keys
 * and db_keys the two sources (either may be NULL). Returns 200 with
 * *node set (owned by the keyring) or 400 with a reason in why (never
 * the key). key_z85 receives the key in Z85 when the credential is one. */
int hg_zap_decide(hg_keyring_t *dir_keys, hg_keyring_t *db_keys, const char *mechanism,
                  const uint8_t *credential, size_t credential_size, const char **node,
                  char key_z85[HG_KEY_Z85_LEN + 1], const char **why);

typedef struct {
    const char *keys_dir;     /* keys.workers */
    const hg_db_params_t *db; /* worker_keys; NULL to use the directory only */
    int64_t refresh_ms;       /* how often to re-read worker_keys */
    bool failed;              /* out: the handler could not start */
} hg_zap_args_t;

/* Start the handler; it binds inproc://zeromq.zap.01 before returning,
 * so start it before any CURVE server socket binds. NULL when it cannot
 * bind (another handler in this process). */
zactor_t *hg_zap_new(hg_zap_args_t *args);

/* Route SIGHUP to a reload of the keys directory by every handler. */
void hg_zap_watch_sighup(void);

#endif
