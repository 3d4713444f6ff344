/* alert_db: SQL of the alert tables (alert_db.h). Statements with a value
 * from outside are prepared; those with only integers this file formats
 * itself, and none at all, go as text. */
#include "alert_db.h"
#include "db.h"
#include "hg_error.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_db_error(MYSQL *db, char *err, size_t err_size)
{
    snprintf(err, err_size, "%s", mysql_error(db));
    return HG_EDB;
}

/* Execute a prepared statement with binds b; *affected and *insert_id when
 * not NULL. HG_EEXIST on a duplicate key. */
static int s_exec(MYSQL *db, const char *sql, MYSQL_BIND *b, uint64_t *affected,
                  uint64_t *insert_id, char *err, size_t err_size)
{
    MYSQL_STMT *st = hg_db_prepare(db, sql, err, err_size);
    if (!st) return HG_EDB;
    int rc = 0;
    if ((b && mysql_stmt_bind_param(st, b) != 0) || mysql_stmt_execute(st) != 0) {
        rc = mysql_stmt_errno(st) == 1062 ? HG_EEXIST : HG_EDB;
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
    } else {
        if (affected) *affected = mysql_stmt_affected_rows(st);
        if (insert_id) *insert_id = mysql_stmt_insert_id(st);
    }
    mysql_stmt_close(st);
    return rc;
}

int hg_alert_db_rule_create(MYSQL *db, hg_alert_rule_t *rule, const char *created_by, char *err,
                            size_t err_size)
{
    static const char sql[] =
        "INSERT INTO alert_rules (name, namespace, job, events, channel, config, secret,"
        " threshold, window_ms, silence_ms, dedup, late_ms, missed_ms, created_by, created_at)"
        " VALUES (?, NULLIF(?, ''), ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, ?, "
        "UTC_TIMESTAMP(3))";
    char events[160];
    hg_alert_events_format(rule->events, events, sizeof events);
    char *config = json_dumps(rule->config, JSON_COMPACT);
    if (!config) return HG_ENOMEM;
    const char *s[7] = {rule->name,
                        rule->ns,
                        rule->job,
                        events,
                        rule->channel,
                        config,
                        rule->secret ? rule->secret : ""};
    unsigned long len[8];
    uint64_t u[6] = {rule->threshold,       (uint64_t) rule->window_ms, (uint64_t) rule->silence_ms,
                     rule->dedup ? 1u : 0u, (uint64_t) rule->late_ms,   (uint64_t) rule->missed_ms};
    MYSQL_BIND b[14];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 7; i++)
        hg_db_bind_str(&b[i], s[i], &len[i]);
    for (int i = 0; i < 6; i++)
        hg_db_bind_u64(&b[7 + i], &u[i]);
    hg_db_bind_str(&b[13], created_by, &len[7]);
    int rc = s_exec(db, sql, b, NULL, &rule->id, err, err_size);
    free(config);
    if (rc == HG_EEXIST) snprintf(err, err_size, "an alert rule named \"%s\" exists", rule->name);
    return rc;
}

/* One row of the rules query into rule. */
static int s_rule_from_row(MYSQL_ROW row, hg_alert_rule_t *rule)
{
    memset(rule, 0, sizeof *rule);
    rule->id = strtoull(row[0], NULL, 10);
    snprintf(rule->name, sizeof rule->name, "%s", row[1]);
    snprintf(rule->ns, sizeof rule->ns, "%s", row[2] ? row[2] : "");
    snprintf(rule->job, sizeof rule->job, "%s", row[3]);
    if (hg_alert_events_parse(row[4], &rule->events) != 0) rule->events = 0;
    snprintf(rule->channel, sizeof rule->channel, "%s", row[5]);
    json_error_t jerr;
    rule->config = json_loads(row[6], 0, &jerr);
    if (!rule->config) rule->config = json_object();
    rule->secret = row[7] ? strdup(row[7]) : NULL;
    rule->threshold = (uint32_t) strtoul(row[8], NULL, 10);
    rule->window_ms = strtoll(row[9], NULL, 10);
    rule->silence_ms = strtoll(row[10], NULL, 10);
    rule->dedup = atoi(row[11]) != 0;
    rule->late_ms = strtoll(row[12], NULL, 10);
    rule->missed_ms = strtoll(row[13], NULL, 10);
    if (rule->threshold < 1) rule->threshold = 1;
    return rule->config ? 0 : HG_ENOMEM;
}

int hg_alert_db_rules_load(MYSQL *db, hg_alert_rule_t **rules, size_t *n, char *err,
                           size_t err_size)
{
    *rules = NULL;
    *n = 0;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id, name, namespace, job, events, channel, config, secret, threshold,"
             " window_ms, silence_ms, dedup, late_ms, missed_ms FROM alert_rules ORDER BY id"
             " LIMIT %d",
             HG_ALERT_RULES_MAX);
    if (mysql_query(db, sql) != 0) return s_db_error(db, err, err_size);
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) return s_db_error(db, err, err_size);
    size_t rows = (size_t) mysql_num_rows(res);
    *rules = calloc(rows ? rows : 1, sizeof **rules);
    if (!*rules) {
        mysql_free_result(res);
        return HG_ENOMEM;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && *n < rows) {
        if (s_rule_from_row(row, &(*rules)[*n]) == 0) (*n)++;
    }
    mysql_free_result(res);
    return 0;
}

void hg_alert_db_rules_free(hg_alert_rule_t **rules, size_t n)
{
    if (!*rules) return;
    for (size_t i = 0; i < n; i++)
        hg_alert_rule_clear(&(*rules)[i]);
    free(*rules);
    *rules = NULL;
}

int hg_alert_db_rule_get(MYSQL *db, const char *name, uint64_t id, hg_alert_rule_t *rule, char *err,
                         size_t err_size)
{
    /* At most HG_ALERT_RULES_MAX small rows: reading them all keeps one
     * query for the engine, the sender and the API. */
    hg_alert_rule_t *rules;
    size_t n;
    int rc = hg_alert_db_rules_load(db, &rules, &n, err, err_size);
    if (rc != 0) return rc;
    rc = HG_ENOTFOUND;
    for (size_t i = 0; i < n && rc; i++) {
        if (name ? strcmp(rules[i].name, name) == 0 : rules[i].id == id) {
            *rule = rules[i];
            memset(&rules[i], 0, sizeof rules[i]);
            rc = 0;
        }
    }
    hg_alert_db_rules_free(&rules, n);
    if (rc) snprintf(err, err_size, "no alert rule \"%s\"", name ? name : "?");
    return rc;
}

int hg_alert_db_rule_delete(MYSQL *db, const char *name, char *err, size_t err_size)
{
    hg_alert_rule_t rule;
    int rc = hg_alert_db_rule_get(db, name, 0, &rule, err, err_size);
    if (rc != 0) return rc;
    uint64_t id = rule.id, affected = 0;
    hg_alert_rule_clear(&rule);
    MYSQL_BIND b[1];
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &id);
    if ((rc =
             s_exec(db, "DELETE FROM alert_state WHERE rule_id = ?", b, NULL, NULL, err, err_size)))
        return rc;
    /* Pending deliveries of a deleted rule would never find their channel. */
    if ((rc = s_exec(db,
                     "UPDATE alert_deliveries SET status = 'dropped', last_error = 'rule deleted'"
                     " WHERE rule_id = ? AND status = 'pending'",
                     b, NULL, NULL, err, err_size)))
        return rc;
    rc = s_exec(db, "DELETE FROM alert_rules WHERE id = ?", b, &affected, NULL, err, err_size);
    if (rc == 0 && affected == 0) {
        snprintf(err, err_size, "no alert rule \"%s\"", name);
        return HG_ENOTFOUND;
    }
    return rc;
}

int hg_alert_db_delivery_add(MYSQL *db, uint64_t event_id, uint64_t rule_id, const char *event,
                             const char *job, const char *payload, const char *status,
                             const char *last_error, uint64_t *id, char *err, size_t err_size)
{
    static const char sql[] =
        "INSERT INTO alert_deliveries (event_id, rule_id, event, job, status, last_error,"
        " payload, created_at, next_attempt_at)"
        " VALUES (NULLIF(?, 0), ?, ?, ?, ?, NULLIF(?, ''), ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";
    unsigned long len[5];
    MYSQL_BIND b[7];
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &event_id);
    hg_db_bind_u64(&b[1], &rule_id);
    hg_db_bind_str(&b[2], event, &len[0]);
    hg_db_bind_str(&b[3], job, &len[1]);
    hg_db_bind_str(&b[4], status, &len[2]);
    hg_db_bind_str(&b[5], last_error ? last_error : "", &len[3]);
    hg_db_bind_str(&b[6], payload, &len[4]);
    return s_exec(db, sql, b, NULL, id, err, err_size);
}

/* A DATETIME column as RFC 3339 text, or JSON null. */
static json_t *s_time_json(const char *v)
{
    if (!v) return json_null();
    char buf[40];
    snprintf(buf, sizeof buf, "%.10sT%sZ", v, strlen(v) > 11 ? v + 11 : "00:00:00");
    return json_string(buf);
}

static json_t *s_delivery_json(MYSQL_ROW row)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t) strtoll(row[0], NULL, 10),
                  "rule", row[1] ? row[1] : "", "event", row[2], "job", row[3], "status", row[4],
                  "attempts", (json_int_t) strtoll(row[5], NULL, 10));
    if (!o) return NULL;
    json_object_set_new(o, "last_error", row[6] ? json_string(row[6]) : json_null());
    json_object_set_new(o, "created_at", s_time_json(row[7]));
    json_object_set_new(o, "next_attempt_at", s_time_json(row[8]));
    json_object_set_new(o, "sent_at", s_time_json(row[9]));
    return o;
}

#define S_DELIVERY_COLUMNS                                                                         \
    "SELECT d.id, r.name, d.event, d.job, d.status, d.attempts, d.last_error, d.created_at,"       \
    " d.next_attempt_at, d.sent_at FROM alert_deliveries d"                                        \
    " LEFT JOIN alert_rules r ON r.id = d.rule_id"

static int s_deliveries(MYSQL *db, const char *sql, json_t **out, char *err, size_t err_size)
{
    if (mysql_query(db, sql) != 0) return s_db_error(db, err, err_size);
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) return s_db_error(db, err, err_size);
    *out = json_array();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        json_array_append_new(*out, s_delivery_json(row));
    mysql_free_result(res);
    return 0;
}

int hg_alert_db_history(MYSQL *db, uint64_t rule_id, int limit, json_t **out, char *err,
                        size_t err_size)
{
    char sql[640];
    if (rule_id)
        snprintf(sql, sizeof sql,
                 S_DELIVERY_COLUMNS " WHERE d.rule_id = %" PRIu64 " ORDER BY d.id DESC LIMIT %d",
                 rule_id, limit);
    else
        snprintf(sql, sizeof sql, S_DELIVERY_COLUMNS " ORDER BY d.id DESC LIMIT %d", limit);
    return s_deliveries(db, sql, out, err, err_size);
}

int hg_alert_db_delivery_get(MYSQL *db, uint64_t id, json_t **out, char *err, size_t err_size)
{
    char sql[640];
    snprintf(sql, sizeof sql, S_DELIVERY_COLUMNS " WHERE d.id = %" PRIu64, id);
    json_t *list = NULL;
    int rc = s_deliveries(db, sql, &list, err, err_size);
    if (rc != 0) return rc;
    if (json_array_size(list) == 0) {
        json_decref(list);
        snprintf(err, err_size, "no delivery %" PRIu64, id);
        return HG_ENOTFOUND;
    }
    *out = json_incref(json_array_get(list, 0));
    json_decref(list);
    return 0;
}

int hg_alert_db_pending_count(MYSQL *db, uint64_t *n, char *err, size_t err_size)
{
    if (mysql_query(db, "SELECT COUNT(*) FROM alert_deliveries WHERE status = 'pending'") != 0)
        return s_db_error(db, err, err_size);
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) return s_db_error(db, err, err_size);
    MYSQL_ROW row = mysql_fetch_row(res);
    *n = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    mysql_free_result(res);
    return 0;
}
