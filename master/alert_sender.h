/* alert_sender: the leader's delivery of alerts, a zactor with its own
 * MySQL connection and its own thread, so a slow or dead SMTP server or
 * webhook never holds up the cluster actor, the store or the engine.
 *
 * It delivers what alert_deliveries holds as pending and due, oldest
 * first, and records each attempt there: sent, or the error and the next
 * attempt after a back-off (1 s doubling to alerts.retry_backoff_max,
 * 5 min); a delivery still
 * failing alerts.retry_for after it was queued is marked failed and
 * logged. The queue is the table, so a new leader's sender finishes what
 * the old one left, and nothing queued is lost while a channel is down;
 * the engine bounds it (alerts.queue_max) and logs what it drops.
 *
 * A delivery sent just before the leader died, and not yet marked sent,
 * is sent again by the next leader (at least once, not at most once). */
#ifndef HG_MASTER_ALERT_SENDER_H
#define HG_MASTER_ALERT_SENDER_H

#include "alert_engine.h"

#include <czmq.h>

/* Start the sender (the leader only). NULL on failure. */
zactor_t *hg_alert_sender_new(const hg_alert_opts_t *opts);

/* The dashboard link of an event document under base ("" when base is). */
void hg_alert_link(const char *base, json_t *doc, char *buf, size_t size);

#endif
