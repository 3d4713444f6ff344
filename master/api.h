/* api: the master's REST API (docs/api.md) on libmicrohttpd.
 *
 * A pool of threads (hg_api_opts_t.threads) serves the connections, each
 * connection staying on one thread. Each thread lazily opens and keeps its
 * own MySQL connection and its own cluster client (both single-thread
 * objects); a handler never shares them. Writes go to MySQL first, then to
 * the cluster actor, never inside a database transaction, one write at a
 * time from the SQL to the cluster notification, so the cluster sees them
 * in commit order. */
#ifndef HG_MASTER_API_H
#define HG_MASTER_API_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

#define HG_API_MAX_BODY (1u << 20) /* request bodies beyond this are answered 413 */

/* Header naming the leader's API URL on a standby's 503 not_leader answer.
 * A standby serves reads from MySQL (jobs, runs) itself; it refuses writes
 * and the live node list, which only the leader holds. */
#define HG_API_LEADER_HEADER "Hourglass-Leader"

typedef struct hg_api hg_api_t;

#define HG_API_THREADS_DEFAULT 4 /* server threads, each with its MySQL connection */

/* Settings of the server. */
typedef struct {
    const char *data_dir;       /* master data directory for plug-in copies; NULL: keep none */
    size_t plugin_max_size;     /* largest plug-in upload in bytes (413 beyond); 0: the default */
    int threads;                /* server threads (api.threads); 0: HG_API_THREADS_DEFAULT */
    struct hg_metrics *metrics; /* served on GET /metrics and fed each request; NULL: none */
    bool metrics_public;        /* GET /metrics without a token (metrics.public) */
    int64_t scan_budget_ms;     /* api.scan_budget: walk of a filtered job page; 0: one window */
    int32_t scan_window;        /* api.scan_window: keys per window; 0: the default (job_walk.h) */
    size_t purge_batch;         /* retention.batch: rows per statement of POST /api/v1/runs:purge;
                                   0: HG_RETENTION_BATCH_DEFAULT */
} hg_api_opts_t;

/* Listen on bind_host:port (NULL, "" or "*" for every IPv4 address; port 0
 * picks a free port, see hg_api_port) and serve. db and opts (may be NULL)
 * are copied. Returns NULL with the reason in err when the socket cannot
 * be bound. */
hg_api_t *hg_api_start(const char *bind_host, int port, const hg_db_params_t *db,
                       const hg_api_opts_t *opts, char *err, size_t err_size);

/* The TCP port actually bound. */
int hg_api_port(const hg_api_t *api);

/* Stop serving (waits for the requests in progress), close every thread's
 * database connection and cluster client, free, and NULL the pointer. Safe
 * on NULL. */
void hg_api_stop(hg_api_t **api);

#endif
