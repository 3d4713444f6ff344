/* alert_engine: the leader's alert evaluation, a zactor with its own MySQL
 * connection (it never blocks the cluster actor or the store).
 *
 * Where events come from: the cluster actor, once the store says a batch
 * of run records is committed ("DONE"), passes the finished records' facts
 * through the feed (hg_alert_feed_runs): a non-blocking send of one
 * pointer on an inproc PUSH socket with a small high-water mark. Nothing is
 * copied while no rule exists. A full feed drops the batch and says so in
 * the log (the engine is behind by thousands of batches).
 *
 * Exactly once across failover: each (rule, run) event is written to the
 * outbox table alert_events under a unique key, in one transaction with
 * the rule's state and the delivery it causes; the newest run end
 * evaluated is kept in alert_cursor. A new leader's engine first evaluates
 * again the runs that ended after the cursor, less alerts.catchup (the
 * outbox's key makes that idempotent), so an event whose run was
 * committed just before the old leader died is neither lost nor doubled.
 *
 * "missed" (the dead-man switch) is evaluated every alerts.missed_interval
 * from committed state: for each active job a rule selects, the first
 * scheduled fire after the last success seen must be followed by a success
 * within the rule's missed time.
 *
 * Delivery is the sender's (alert_sender.h), from alert_deliveries. */
#ifndef HG_MASTER_ALERT_ENGINE_H
#define HG_MASTER_ALERT_ENGINE_H

#include "alerts.h"
#include "db.h"
#include "hg_proto.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

/* Settings of the engine and the sender (main.c, from alerts.*); must
 * outlive both actors. */
typedef struct {
    const hg_db_params_t *db;   /* MySQL connection */
    int64_t missed_interval_ms; /* how often "missed" is evaluated */
    int64_t catchup_ms;         /* runs started this long before the cursor are re-evaluated */
    uint64_t queue_max;         /* deliveries pending at most; beyond, new ones are dropped */
    const char *dashboard_url;  /* base of the links in alerts ("" for none) */
    int64_t retry_for_ms;       /* a delivery is retried this long, then failed */
    int64_t backoff_max_ms;     /* longest wait between two attempts of a delivery */
    long send_timeout_ms;       /* one delivery attempt at most */
} hg_alert_opts_t;

/* The feed's endpoint (the engine binds it, the cluster actor connects). */
#define HG_ALERT_FEED_ENDPOINT "inproc://hg-alert-feed"

/* The cluster actor's end of the feed (owned by its thread). */
typedef struct hg_alert_feed hg_alert_feed_t;

/* A new feed end, or NULL. */
hg_alert_feed_t *hg_alert_feed_new(void);

/* Pass the finished records of a committed RUN_FINISHED batch of node to
 * the engine, if any rule exists. Never blocks. Only what can be an event
 * is copied: problems, and a success only of a job whose problem was
 * passed before (it may recover it) or while the engine asks for them all
 * (a rule watches "late", or a job is in an alerted episode). */
void hg_alert_feed_runs(hg_alert_feed_t *feed, const hg_msg_t *msg, const char *node);

void hg_alert_feed_destroy(hg_alert_feed_t **feed);

/* For the metrics (cluster_metrics.c): batches of run records the
 * feed dropped (the engine was behind), and alerts dropped because the
 * delivery queue was full (alerts.queue_max). */
uint64_t hg_alert_feed_dropped(void);
uint64_t hg_alert_queue_dropped(void);

/* Start the engine (the leader only). NULL on failure. */
zactor_t *hg_alert_engine_new(const hg_alert_opts_t *opts);

#endif
