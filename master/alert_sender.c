/* alert_sender: delivery of queued alerts with retries (alert_sender.h). */
#include "alert_sender.h"
#include "actor_loop.h"
#include "alert_channel.h"
#include "alert_db.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often due deliveries are looked for, and how many per look. */
#define S_POLL_MS 200
#define S_BATCH   16
/* Back-off between attempts: 1 s doubling, at most alerts.retry_backoff_max. */
#define S_BACKOFF_MIN_MS 1000

typedef struct {
    const hg_alert_opts_t *opts; /* settings */
    MYSQL *db;                   /* own connection, NULL while down */
    bool db_warned;              /* "no database" logged for this outage */
} s_sender_t;

void hg_alert_link(const char *base, json_t *doc, char *buf, size_t size)
{
    if (size) buf[0] = '\0';
    if (!base || !*base) return;
    const char *run = json_string_value(json_object_get(json_object_get(doc, "run"), "run_id"));
    json_t *job = json_object_get(doc, "job");
    if (run)
        snprintf(buf, size, "%s/runs/%s", base, run);
    else
        snprintf(buf, size, "%s/jobs/%s/%s", base,
                 json_string_value(json_object_get(job, "namespace")) ?: "default",
                 json_string_value(json_object_get(job, "name")) ?: "");
}

static bool s_db(s_sender_t *self)
{
    if (self->db) return true;
    char err[512];
    self->db = hg_db_connect(self->opts->db, err, sizeof err);
    if (!self->db && !self->db_warned) {
        hg_warn("alerts: sender has no database connection (%s)", err);
        self->db_warned = true;
    }
    if (self->db) self->db_warned = false;
    return self->db != NULL;
}

static void s_db_failed(s_sender_t *self, const char *what)
{
    hg_warn("alerts: %s: %s", what, mysql_error(self->db));
    if (hg_db_conn_lost(self->db) || hg_db_is_conn_error(mysql_errno(self->db)))
        hg_db_close(&self->db);
}

/* Record the attempt's outcome: sent, retry later, or failed for good. */
static void s_record(s_sender_t *self, uint64_t id, unsigned attempts, int64_t created_ms, int rc,
                     const char *err)
{
    int64_t now = hg_now_ms();
    const char *sql = NULL;
    bool give_up = rc != 0 && now - created_ms >= self->opts->retry_for_ms;
    int64_t backoff = S_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < attempts && backoff < self->opts->backoff_max_ms; i++)
        backoff *= 2;
    if (backoff > self->opts->backoff_max_ms) backoff = self->opts->backoff_max_ms;
    if (rc == 0)
        sql = "UPDATE alert_deliveries SET status = 'sent', attempts = ?, last_error = NULL,"
              " sent_at = UTC_TIMESTAMP(3) WHERE id = ?";
    else if (give_up)
        sql = "UPDATE alert_deliveries SET status = 'failed', attempts = ?, last_error = ?"
              " WHERE id = ?";
    else
        sql = "UPDATE alert_deliveries SET attempts = ?, last_error = ?, next_attempt_at ="
              " TIMESTAMPADD(MICROSECOND, ?, UTC_TIMESTAMP(3)) WHERE id = ?";
    char why[512];
    MYSQL_STMT *st = hg_db_prepare(self->db, sql, why, sizeof why);
    if (!st) {
        s_db_failed(self, "recording a delivery");
        return;
    }
    uint64_t a = attempts, us = (uint64_t) backoff * 1000;
    unsigned long elen;
    MYSQL_BIND b[4];
    memset(b, 0, sizeof b);
    int n = 0;
    hg_db_bind_u64(&b[n++], &a);
    if (rc != 0) hg_db_bind_str(&b[n++], err, &elen);
    if (rc != 0 && !give_up) hg_db_bind_u64(&b[n++], &us);
    hg_db_bind_u64(&b[n++], &id);
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
        hg_warn("alerts: recording delivery %" PRIu64 ": %s", id, mysql_stmt_error(st));
    mysql_stmt_close(st);
    if (give_up)
        hg_warn("alerts: delivery %" PRIu64 " failed for good after %u attempt(s): %s", id,
                attempts, err);
    else if (rc != 0 && attempts == 1)
        hg_warn("alerts: delivery %" PRIu64 " failed, retrying with back-off: %s", id, err);
}

/* Deliver one row: id, rule_id, payload, attempts, created_at. */
static void s_send_row(s_sender_t *self, MYSQL_ROW row, hg_alert_rule_t *rules, size_t n)
{
    uint64_t id = strtoull(row[0], NULL, 10), rule_id = strtoull(row[1], NULL, 10);
    unsigned attempts = (unsigned) strtoul(row[3], NULL, 10) + 1;
    int64_t created = 0;
    char t[40];
    snprintf(t, sizeof t, "%.10sT%sZ", row[4], strlen(row[4]) > 11 ? row[4] + 11 : "00:00:00");
    hg_time_parse_rfc3339(t, &created);
    const hg_alert_rule_t *rule = NULL;
    for (size_t i = 0; i < n && !rule; i++)
        if (rules[i].id == rule_id) rule = &rules[i];
    json_error_t jerr;
    json_t *doc = json_loads(row[2], 0, &jerr);
    char err[1024] = "", link[1200];
    int rc;
    if (!rule) {
        snprintf(err, sizeof err, "the rule was deleted");
        rc = HG_ENOTFOUND;
        created = 0; /* give up at once */
    } else if (!doc) {
        snprintf(err, sizeof err, "unreadable payload: %s", jerr.text);
        rc = HG_EINVAL;
        created = 0;
    } else {
        hg_alert_link(self->opts->dashboard_url, doc, link, sizeof link);
        if (link[0]) json_object_set_new(doc, "link", json_string(link));
        rc = hg_alert_channel_send(rule, doc, link, self->opts->send_timeout_ms, err, sizeof err);
    }
    json_decref(doc);
    if (self->db) s_record(self, id, attempts, created, rc, err);
}

static int s_on_poll(zloop_t *loop, int timer_id, void *arg)
{
    s_sender_t *self = arg;
    if (!s_db(self)) return 0;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT id, rule_id, payload, attempts, created_at FROM alert_deliveries WHERE"
             " status = 'pending' AND next_attempt_at <= UTC_TIMESTAMP(3) ORDER BY id LIMIT %d",
             S_BATCH);
    if (mysql_query(self->db, sql) != 0) {
        s_db_failed(self, "reading the delivery queue");
        return 0;
    }
    MYSQL_RES *res = mysql_store_result(self->db);
    if (!res || mysql_num_rows(res) == 0) {
        if (res) mysql_free_result(res);
        return 0;
    }
    hg_alert_rule_t *rules = NULL;
    size_t n = 0;
    char err[512];
    if (hg_alert_db_rules_load(self->db, &rules, &n, err, sizeof err) != 0) {
        hg_warn("alerts: loading the rules: %s", err);
        mysql_free_result(res);
        return 0;
    }
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && self->db)
        s_send_row(self, row, rules, n);
    mysql_free_result(res);
    hg_alert_db_rules_free(&rules, n);
    return 0;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_sender_t self = {.opts = arg};
    zloop_t *loop = zloop_new();
    zloop_reader(loop, pipe, hg_actor_on_term, NULL);
    zloop_timer(loop, S_POLL_MS, 0, s_on_poll, &self);
    zsock_signal(pipe, 0);
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    hg_db_close(&self.db);
}

zactor_t *hg_alert_sender_new(const hg_alert_opts_t *opts)
{
    return zactor_new(s_actor, (void *) opts);
}
