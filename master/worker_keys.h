/* worker_keys: the rows of worker_keys (schema 005) that an admin manages
 * through the API: CURVE public keys, each bound to the one node name it
 * may connect as. The cluster side (admitting connections) reads the same
 * table. */
#ifndef HG_MASTER_WORKER_KEYS_H
#define HG_MASTER_WORKER_KEYS_H

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>

#define HG_WORKER_KEY_Z85_LEN 40 /* a 32-byte CURVE public key in Z85 */

/* True when key is 40 Z85 characters that decode to 32 bytes. */
bool hg_worker_key_valid(const char *key);

/* Register public_key for node. 0, HG_EINVAL (message in err, naming the
 * field), HG_EEXIST (key already registered, for any node) or HG_EDB.
 * *row (may be NULL; caller json_decref's) gets the stored row. */
int hg_worker_key_add(MYSQL *db, const char *public_key, const char *node, const char *comment,
                      const char *created_by, json_t **row, char *err, size_t err_size);

/* Every key, by node then creation time: a JSON array of {"public_key",
 * "node", "comment", "created_at", "created_by"}. node NULL for all. */
int hg_worker_key_list(MYSQL *db, const char *node, json_t **out, char *err, size_t err_size);

/* Delete one key (public_key) or every key of node (public_key NULL).
 * *deleted gets the number of rows; 0 rows is HG_ENOTFOUND. */
int hg_worker_key_delete(MYSQL *db, const char *public_key, const char *node, int *deleted,
                         char *err, size_t err_size);

#endif
