/* agent: the worker's cluster loop. It holds the session with the master
 * (HELLO, heartbeats, lease), the assigned jobs on one timer heap, fires them
 * on time while the lease is valid, hands HTTP runs to the HTTP executor
 * and plug-in runs to the plug-in executor (fetching plug-ins named by hash
 * from the master into the plug-in cache first),
 * and keeps every run record until the master acknowledges it. */
#ifndef HG_WORKER_AGENT_H
#define HG_WORKER_AGENT_H

#include "hg_proto.h"
#include "plugin_cache.h"
#include "plugin_exec.h"

#include <czmq.h>
#include <stdint.h>

typedef struct {
    const char *name;             /* node name (the master binds it to our key) */
    const char *master;           /* master endpoint, e.g. tcp://127.0.0.1:8643 */
    const char *const *masters;   /* every master endpoint, in order; when set, master is unused */
    size_t masters_n;             /* number of entries in masters */
    hg_kv_t *labels;              /* labels reported in HELLO */
    size_t labels_n;              /* number of labels */
    uint32_t capacity;            /* concurrent HTTP runs */
    uint32_t http_queue;          /* HTTP runs waiting for a slot, more are skipped */
    int64_t heartbeat_ms;         /* until the master says otherwise */
    int64_t lease_ms;             /* until the master says otherwise */
    int64_t misfire_threshold_ms; /* lateness still counted as on time */
    uint32_t max_unacked;         /* run records kept for the master, at most */
    uint32_t backlog_max;         /* records held from which fires are skipped (backlog.h) */
    int64_t started_delay_ms;     /* RUN_STARTED held back this long, 0 = sent at once */
    int64_t leave_grace_ms;       /* on SIGTERM: how long running work may finish */
    hg_plugin_exec_config_t plugin;        /* plug-in executor settings */
    const char *plugin_allow;              /* plug-in names this worker runs, comma-separated;
                                              "*" for any (NULL or "": none) */
    hg_plugin_cache_config_t plugin_cache; /* cache dir and fetch limits (callbacks unused) */

    /* CURVE: our key pair (NULL: plaintext, tests on loopback only) and the
     * pinned master public keys in Z85, one for every master or one per
     * entry of masters, in order. */
    zcert_t *cert;
    const char *const *master_keys;
    size_t master_keys_n;

    struct hg_worker_metrics *metrics; /* figures served at metrics.bind; NULL: none */
} hg_agent_config_t;

/* Master high availability: the agent talks to one master at a time,
 * starting with the first endpoint. A standby answers ERROR "not the
 * leader" with the leader's endpoint, which the agent dials next. When the
 * master it talks to stays silent for a whole lease, it tries the next
 * endpoint in the list. It remembers the highest leadership epoch any
 * WELCOME carried and refuses a master with a lower one (a deposed
 * leader). Unacknowledged run records go to whichever master welcomes it.
 *
 * Run the agent until SIGINT/SIGTERM (zsys_interrupted), then leave
 * gracefully: stop firing, let runs in flight finish (up to
 * leave_grace_ms), wait briefly for their records to be acknowledged, and
 * tell the master (LEAVE) so that it moves the jobs at once instead of
 * waiting out the lease. 0 on a clean stop. */
int hg_agent_run(const hg_agent_config_t *config);

#endif
