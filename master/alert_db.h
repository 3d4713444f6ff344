/* alert_db: the SQL of the alert tables (schema/011_alerts.sql) shared by
 * the API (rules, history, test), the engine and the sender. Each caller
 * passes its own connection. Errors: 0, HG_ENOTFOUND, HG_EEXIST, HG_EDB
 * (the server's message in err) or HG_ENOMEM. */
#ifndef HG_MASTER_ALERT_DB_H
#define HG_MASTER_ALERT_DB_H

#include "alerts.h"

#include <jansson.h>
#include <mysql.h>
#include <stdint.h>

/* Most rules loaded; the API refuses to create more. */
#define HG_ALERT_RULES_MAX 1000

/* Store a new rule (validated); rule->id set. HG_EEXIST for a taken name. */
int hg_alert_db_rule_create(MYSQL *db, hg_alert_rule_t *rule, const char *created_by, char *err,
                            size_t err_size);

/* Every rule, in id order: *rules (caller frees each with
 * hg_alert_rule_clear, then the array) and *n. */
int hg_alert_db_rules_load(MYSQL *db, hg_alert_rule_t **rules, size_t *n, char *err,
                           size_t err_size);

/* Free what hg_alert_db_rules_load returned. */
void hg_alert_db_rules_free(hg_alert_rule_t **rules, size_t n);

/* One rule by name, or by id when name is NULL. */
int hg_alert_db_rule_get(MYSQL *db, const char *name, uint64_t id, hg_alert_rule_t *rule, char *err,
                         size_t err_size);

/* Delete a rule and its state (its history stays until retention). */
int hg_alert_db_rule_delete(MYSQL *db, const char *name, char *err, size_t err_size);

/* Queue a delivery of payload (JSON text) for rule: status pending, due
 * now. event_id 0 for a test. *id set. */
int hg_alert_db_delivery_add(MYSQL *db, uint64_t event_id, uint64_t rule_id, const char *event,
                             const char *job, const char *payload, const char *status,
                             const char *last_error, uint64_t *id, char *err, size_t err_size);

/* Deliveries, newest first: of rule_id (0: every rule), at most limit, as
 * a JSON array of {"id","rule","event","job","status","attempts",
 * "last_error","created_at","next_attempt_at","sent_at"}. */
int hg_alert_db_history(MYSQL *db, uint64_t rule_id, int limit, json_t **out, char *err,
                        size_t err_size);

/* One delivery's status, attempts and last error (JSON object). */
int hg_alert_db_delivery_get(MYSQL *db, uint64_t id, json_t **out, char *err, size_t err_size);

/* Deliveries pending (the queue's length). */
int hg_alert_db_pending_count(MYSQL *db, uint64_t *n, char *err, size_t err_size);

#endif
