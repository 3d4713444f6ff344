/* plugin_serve: answers the workers' PLUGIN_GETs from the master's copies
 * of stored plug-ins, chunk by chunk. A copy missing from the data
 * directory is re-created from MySQL by the plug-in loader actor while the
 * request waits, so the cluster loop never waits for the database.
 *
 * It belongs to the cluster actor: the cluster hands it the PLUGIN_GETs
 * and the loader's answers, and it sends its replies through the cluster's
 * send function. */
#ifndef HG_MASTER_PLUGIN_SERVE_H
#define HG_MASTER_PLUGIN_SERVE_H

#include "db.h"
#include "hg_proto.h"

#include <czmq.h>

typedef struct hg_plugin_serve hg_plugin_serve_t;

/* How replies reach a worker: the cluster's own send (it numbers and
 * encodes the message; msg stays the caller's). */
typedef void(hg_plugin_serve_send_fn)(void *arg, const char *node, hg_msg_t *msg);

/* New server for copies in data_dir, loading missing ones from db. NULL
 * when out of memory or when the loader cannot start. */
hg_plugin_serve_t *hg_plugin_serve_new(const hg_db_params_t *db, const char *data_dir,
                                       hg_plugin_serve_send_fn *send, void *send_arg);
/* Close every copy, stop the loader; NULLs the caller's pointer. */
void hg_plugin_serve_destroy(hg_plugin_serve_t **self);

/* The loader's socket, for the cluster's reactor: when it is readable,
 * call hg_plugin_serve_on_loader. */
zsock_t *hg_plugin_serve_loader_sock(hg_plugin_serve_t *self);

/* PLUGIN_GET from node: answered now from an open copy, or once the
 * loader has re-created it. */
void hg_plugin_serve_get(hg_plugin_serve_t *self, const char *node, const hg_plugin_get_t *get);

/* Read one answer of the loader and serve whoever waited for it. */
void hg_plugin_serve_on_loader(hg_plugin_serve_t *self);

/* A plug-in was deleted: close its copy (the next request loads it again,
 * or fails if it is gone from MySQL too). */
void hg_plugin_serve_forget(hg_plugin_serve_t *self, const char *sha256);

#endif
