/* alert_engine: the leader's evaluation of alert rules over committed run
 * records, and the "missed" check (alert_engine.h). */
#include "hg_zsock.h"
#include "routing.h"
#include "alert_engine.h"
#include "actor_loop.h"
#include "alert_db.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Batches waiting in the feed at most; each holds up to HG_STORE_MAX_BATCH
 * records, so a few thousand are plenty of slack for a slow database. */
#define S_FEED_HWM 4096
/* Runs re-read per catch-up query, and in all. */
#define S_CATCHUP_PAGE 1000
#define S_CATCHUP_MAX  200000
/* Runs that ended this long before the cursor are evaluated again too
 * (the workers' clocks stamp the ends). */
#define S_CURSOR_SLACK_MS 5000
/* Jobs looked at per "missed" pass. */
#define S_MISSED_JOBS_MAX 100000
/* A job's namespace, cached (job ids are never reused). */
#define S_NS_CACHE_MAX 100000

/* One feed message: the finished records of one committed batch. */
typedef struct {
    size_t n;              /* records */
    hg_alert_run_t runs[]; /* their facts */
} s_feed_t;

/* Set by the engine: some rule exists, so the feed is worth filling; and
 * every success is wanted (a rule watches "late", or some job is in an
 * alerted episode: its next success recovers it). */
static atomic_bool s_wanted;
static atomic_bool s_wanted_ok;
static atomic_uint_fast64_t s_dropped;
static atomic_uint_fast64_t s_queue_dropped;

/* ---------------------------------------------------------------------------
 * The cluster actor's side
 * ------------------------------------------------------------------------ */

/* Jobs whose successes the feed passes on (see hg_alert_feed_runs). */
#define S_WATCH_MAX 100000

struct hg_alert_feed {
    zsock_t *sock;   /* PUSH to the engine */
    zhashx_t *watch; /* job id text -> 1: a problem was passed, its success may recover it */
};

hg_alert_feed_t *hg_alert_feed_new(void)
{
    hg_alert_feed_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->sock = zsock_new(ZMQ_PUSH);
    self->watch = zhashx_new();
    if (!self->sock || !self->watch) {
        hg_alert_feed_destroy(&self);
        return NULL;
    }
    (void) hg_zsock_set_int(self->sock, ZMQ_SNDHWM, S_FEED_HWM);
    (void) hg_zsock_set_int(self->sock, ZMQ_LINGER, 0);
    if (zsock_connect(self->sock, HG_ALERT_FEED_ENDPOINT) != 0) hg_alert_feed_destroy(&self);
    return self;
}

void hg_alert_feed_destroy(hg_alert_feed_t **feed)
{
    if (!*feed) return;
    zsock_destroy(&(*feed)->sock);
    zhashx_destroy(&(*feed)->watch);
    free(*feed);
    *feed = NULL;
}

uint64_t hg_alert_feed_dropped(void)
{
    return atomic_load(&s_dropped);
}

uint64_t hg_alert_queue_dropped(void)
{
    return atomic_load(&s_queue_dropped);
}

/* Is this the run's last attempt? Not when retry_at_ms is set (another
 * attempt follows), so that a run with retries gives one alert, never one
 * per attempt. */
static bool s_run_is_final(const hg_run_t *run)
{
    return run->retry_at_ms == 0;
}

static void s_run_facts(const hg_run_t *r, const char *node, hg_alert_run_t *a)
{
    snprintf(a->node, sizeof a->node, "%s", node ? node : "");
    memcpy(a->run_id, r->run_id, HG_RUNID_SIZE);
    /* A shard or broadcast run names its slot (routing.h): alert on the job. */
    a->job_id = hg_route_vid_split(r->job_id, NULL, NULL);
    a->scheduled_ms = r->scheduled_ms;
    a->started_ms = r->started_ms;
    a->finished_ms = r->finished_ms;
    a->attempt = r->attempt;
    a->status = r->status;
    a->http_status = r->http_status;
    a->exit_code = r->exit_code;
    a->final = s_run_is_final(r);
    snprintf(a->job_name, sizeof a->job_name, "%s", r->job_name ? r->job_name : "");
    snprintf(a->error, sizeof a->error, "%s", r->error ? r->error : "");
}

/* Is this finished record worth the engine's time? */
static bool s_feed_wants(hg_alert_feed_t *feed, const hg_run_t *r, bool all_ok)
{
    if (r->status == HG_RUN_RUNNING) return false;
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, hg_route_vid_split(r->job_id, NULL, NULL));
    if (r->status != HG_RUN_SUCCESS) {
        if (zhashx_size(feed->watch) >= S_WATCH_MAX) zhashx_purge(feed->watch);
        zhashx_update(feed->watch, key, (void *) 1);
        return true;
    }
    if (zhashx_lookup(feed->watch, key)) {
        zhashx_delete(feed->watch, key);
        return true;
    }
    return all_ok;
}

void hg_alert_feed_runs(hg_alert_feed_t *feed, const hg_msg_t *msg, const char *node)
{
    if (!feed || !atomic_load(&s_wanted) || msg->type != HG_MSG_RUN_FINISHED) return;
    const hg_runs_t *runs = &msg->u.runs;
    bool all_ok = atomic_load(&s_wanted_ok);
    /* Most batches are all successes of healthy jobs: no copy at all. */
    s_feed_t *f = NULL;
    for (size_t i = 0; i < runs->runs_n; i++) {
        if (!s_feed_wants(feed, &runs->runs[i], all_ok)) continue;
        if (!f) {
            f = malloc(sizeof *f + runs->runs_n * sizeof(hg_alert_run_t));
            if (!f) return;
            f->n = 0;
        }
        s_run_facts(&runs->runs[i], node, &f->runs[f->n++]);
    }
    if (!f) return;
    if (zmq_send(zsock_resolve(feed->sock), &f, sizeof f, ZMQ_DONTWAIT) != sizeof f) {
        uint64_t dropped = atomic_fetch_add(&s_dropped, 1) + 1;
        /* Logged at powers of two: a stuck engine must not flood the log. */
        if ((dropped & (dropped - 1)) == 0)
            hg_warn("alerts: the alert engine is behind; %" PRIu64 " batch(es) of run records "
                    "not evaluated for alerts",
                    dropped);
        free(f);
    }
}

/* ---------------------------------------------------------------------------
 * The engine
 * ------------------------------------------------------------------------ */

typedef struct {
    const hg_alert_opts_t *opts; /* settings */
    MYSQL *db;                   /* own connection, NULL while down */
    zsock_t *feed;               /* PULL end of the feed */
    hg_alert_rule_t *rules;      /* rules, reloaded every second */
    size_t rules_n;              /* their number */
    zhashx_t *alerted;           /* "rule:job" of (rule, job) pairs with an alerted episode */
    zhashx_t *ns;                /* job id text -> namespace (strdup'ed) */
    uint64_t pending;            /* deliveries pending, as last counted */
    int64_t cursor_ms;           /* newest run end evaluated */
    bool caught_up;              /* the catch-up after taking over is done */
    bool db_warned;              /* "no database" logged for this outage */
    int64_t redo_from_ms;        /* runs that ended from here on are evaluated again from the
                                    runs table (MySQL was away), 0 for none */
} s_engine_t;

static bool s_db(s_engine_t *self)
{
    if (self->db) return true;
    char err[512];
    self->db = hg_db_connect(self->opts->db, err, sizeof err);
    if (!self->db && !self->db_warned) {
        hg_warn("alerts: no database connection (%s); alerts wait for it", err);
        self->db_warned = true;
    }
    if (self->db) self->db_warned = false;
    return self->db != NULL;
}

/* After a failed statement: drop a connection that is gone. */
static void s_db_failed(s_engine_t *self, const char *what, const char *err)
{
    hg_warn("alerts: %s: %s", what, err);
    if (self->db && (hg_db_conn_lost(self->db) || hg_db_is_conn_error(mysql_errno(self->db))))
        hg_db_close(&self->db);
}

static int s_query(s_engine_t *self, const char *sql)
{
    if (mysql_query(self->db, sql) == 0) return 0;
    char err[512];
    snprintf(err, sizeof err, "%s", mysql_error(self->db));
    s_db_failed(self, "query", err);
    return HG_EDB;
}

static void s_alerted_key(uint64_t rule, uint64_t job, char *buf, size_t size)
{
    snprintf(buf, size, "%" PRIu64 ":%" PRIu64, rule, job);
}

/* The namespace of job_id ("default" when the job is gone). */
static const char *s_job_ns(s_engine_t *self, uint64_t job_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    const char *ns = zhashx_lookup(self->ns, key);
    if (ns) return ns;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT namespace FROM jobs WHERE id = %" PRIu64, job_id);
    char found[80] = "default";
    if (s_query(self, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(self->db);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        if (row && row[0]) snprintf(found, sizeof found, "%s", row[0]);
        if (res) mysql_free_result(res);
    }
    if (zhashx_size(self->ns) >= S_NS_CACHE_MAX) zhashx_purge(self->ns);
    zhashx_insert(self->ns, key, strdup(found));
    return zhashx_lookup(self->ns, key) ?: "default";
}

/* Every success is wanted while a rule watches "late" or a job is in an
 * alerted episode (after a failover, the feed's own watch list is empty). */
static void s_wanted_ok_update(s_engine_t *self)
{
    bool late = false;
    for (size_t i = 0; i < self->rules_n; i++)
        late = late || (self->rules[i].events & HG_ALERT_LATE);
    atomic_store(&s_wanted_ok, late || zhashx_size(self->alerted) > 0);
}

static void s_rules_reload(s_engine_t *self)
{
    if (!s_db(self)) return;
    hg_alert_rule_t *rules;
    size_t n;
    char err[512];
    if (hg_alert_db_rules_load(self->db, &rules, &n, err, sizeof err) != 0) {
        s_db_failed(self, "loading the rules", err);
        return;
    }
    hg_alert_db_rules_free(&self->rules, self->rules_n);
    self->rules = rules;
    self->rules_n = n;
    atomic_store(&s_wanted, n > 0);
    s_wanted_ok_update(self);
    uint64_t pending = 0;
    if (hg_alert_db_pending_count(self->db, &pending, err, sizeof err) == 0)
        self->pending = pending;
}

static void s_alerted_load(s_engine_t *self)
{
    if (s_query(self, "SELECT DISTINCT rule_id, job_id FROM alert_state WHERE alerted = 1") != 0)
        return;
    MYSQL_RES *res = mysql_store_result(self->db);
    MYSQL_ROW row;
    while (res && (row = mysql_fetch_row(res))) {
        char key[48];
        s_alerted_key(strtoull(row[0], NULL, 10), strtoull(row[1], NULL, 10), key, sizeof key);
        zhashx_update(self->alerted, key, (void *) 1);
    }
    if (res) mysql_free_result(res);
    s_wanted_ok_update(self);
}

/* ------------------------------------------------------------ the outbox */

/* ms -> "2026-12-02T10:00:00.000Z", or JSON null for 0. */
static json_t *s_time_json(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[40];
    hg_time_format_ms(ms, buf, sizeof buf);
    return json_string(buf);
}

/* The event document: what the webhook posts and the e-mail lists. */
static json_t *s_event_doc(const hg_alert_rule_t *rule, const char *event, const char *ns,
                           const hg_alert_run_t *run, int64_t now)
{
    char id[HG_RUNID_STR_LEN + 1] = "", text[1024];
    if (run->status >= 0) hg_runid_format(run->run_id, id);
    hg_alert_text(event, ns, run->job_name, id, run->node, run->error, text, sizeof text);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:s, s:{s:I, s:s, s:s}}", "event", event, "rule",
                            rule->name, "at", s_time_json(now), "text", text, "job", "id",
                            (json_int_t) run->job_id, "namespace", ns, "name", run->job_name);
    if (!doc) return NULL;
    if (run->status >= 0) {
        json_t *r =
            json_pack("{s:s, s:s, s:o, s:o, s:o, s:i}", "run_id", id, "status",
                      hg_run_status_name(run->status) ?: "?", "scheduled_at",
                      s_time_json(run->scheduled_ms), "started_at", s_time_json(run->started_ms),
                      "finished_at", s_time_json(run->finished_ms), "attempt", (int) run->attempt);
        if (r && run->node[0]) json_object_set_new(r, "node", json_string(run->node));
        if (r && run->http_status)
            json_object_set_new(r, "http_status", json_integer(run->http_status));
        if (r && run->exit_code) json_object_set_new(r, "exit_code", json_integer(run->exit_code));
        if (r && run->error[0]) json_object_set_new(r, "error", json_string(run->error));
        if (r) json_object_set_new(doc, "run", r);
    } else {
        json_object_set_new(doc, "scheduled_at", s_time_json(run->scheduled_ms));
    }
    return doc;
}

/* INSERT IGNORE the (rule, key) event: *event_id, 0 when it was evaluated
 * before (a resent record, or a new leader's catch-up). */
static int s_outbox_claim(s_engine_t *self, uint64_t rule_id, const uint8_t key[HG_RUNID_SIZE],
                          uint64_t job_id, const char *event, uint64_t *event_id)
{
    static const char sql[] = "INSERT IGNORE INTO alert_events (rule_id, run_key, job_id, event,"
                              " outcome, at) VALUES (?, ?, ?, ?, '', UTC_TIMESTAMP(3))";
    char err[512];
    MYSQL_STMT *st = hg_db_prepare(self->db, sql, err, sizeof err);
    if (!st) {
        s_db_failed(self, "outbox", err);
        return HG_EDB;
    }
    MYSQL_BIND b[4];
    memset(b, 0, sizeof b);
    unsigned long klen = HG_RUNID_SIZE, elen;
    hg_db_bind_u64(&b[0], &rule_id);
    b[1].buffer_type = MYSQL_TYPE_BLOB;
    b[1].buffer = (void *) key;
    b[1].buffer_length = HG_RUNID_SIZE;
    b[1].length = &klen;
    hg_db_bind_u64(&b[2], &job_id);
    hg_db_bind_str(&b[3], event, &elen);
    int rc = 0;
    if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
        snprintf(err, sizeof err, "%s", mysql_stmt_error(st));
        rc = HG_EDB;
    } else {
        *event_id = mysql_stmt_affected_rows(st) == 1 ? mysql_stmt_insert_id(st) : 0;
    }
    mysql_stmt_close(st);
    if (rc) s_db_failed(self, "outbox", err);
    return rc;
}

static int s_state_get(s_engine_t *self, uint64_t rule, uint64_t job, const char *event,
                       hg_alert_state_t *st, int64_t *watch_from)
{
    char sql[256];
    memset(st, 0, sizeof *st);
    if (watch_from) *watch_from = 0;
    snprintf(sql, sizeof sql,
             "SELECT alerted, window_start_ms, window_count, silenced_until_ms, watch_from_ms"
             " FROM alert_state WHERE rule_id = %" PRIu64 " AND job_id = %" PRIu64
             " AND event = '%s' FOR UPDATE",
             rule, job, event); /* event: one of alerts.c's fixed names */
    if (s_query(self, sql) != 0) return HG_EDB;
    MYSQL_RES *res = mysql_store_result(self->db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row) {
        st->alerted = atoi(row[0]) != 0;
        st->window_start_ms = strtoll(row[1], NULL, 10);
        st->window_count = (uint32_t) strtoul(row[2], NULL, 10);
        st->silenced_until_ms = strtoll(row[3], NULL, 10);
        if (watch_from) *watch_from = strtoll(row[4], NULL, 10);
    }
    if (res) mysql_free_result(res);
    return 0;
}

static int s_state_put(s_engine_t *self, uint64_t rule, uint64_t job, const char *event,
                       const hg_alert_state_t *st, int64_t watch_from)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO alert_state (rule_id, job_id, event, alerted, window_start_ms,"
             " window_count, silenced_until_ms, watch_from_ms, updated_at) VALUES (%" PRIu64
             ", %" PRIu64 ", '%s', %d, %" PRId64 ", %u, %" PRId64 ", %" PRId64
             ", UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE alerted = VALUES(alerted),"
             " window_start_ms = VALUES(window_start_ms), window_count = VALUES(window_count),"
             " silenced_until_ms = VALUES(silenced_until_ms), watch_from_ms ="
             " VALUES(watch_from_ms), updated_at = VALUES(updated_at)",
             rule, job, event, st->alerted ? 1 : 0, st->window_start_ms,
             (unsigned) st->window_count, st->silenced_until_ms, watch_from);
    return s_query(self, sql);
}

/* The delivery of a sent event, unless the queue is full. */
static int s_deliver(s_engine_t *self, const hg_alert_rule_t *rule, uint64_t event_id,
                     const char *event, const char *ns, const hg_alert_run_t *run, int64_t now)
{
    json_t *doc = s_event_doc(rule, event, ns, run, now);
    char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!payload) return HG_ENOMEM;
    char job[300], err[512];
    snprintf(job, sizeof job, "%s/%s", ns, run->job_name);
    bool full = self->pending >= self->opts->queue_max;
    if (full) atomic_fetch_add(&s_queue_dropped, 1);
    if (full)
        hg_warn("alerts: delivery queue full (%" PRIu64 " pending, alerts.queue_max): %s alert of "
                "rule %s for %s dropped",
                self->pending, event, rule->name, job);
    uint64_t id = 0;
    int rc = hg_alert_db_delivery_add(self->db, event_id, rule->id, event, job, payload,
                                      full ? "dropped" : "pending", full ? "queue full" : NULL, &id,
                                      err, sizeof err);
    free(payload);
    if (rc)
        s_db_failed(self, "queueing a delivery", err);
    else if (!full)
        self->pending++;
    return rc;
}

static int s_outcome_set(s_engine_t *self, uint64_t event_id, const char *outcome)
{
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE alert_events SET outcome = '%s' WHERE id = %" PRIu64, outcome,
             event_id);
    return s_query(self, sql);
}

/* One problem event of a rule, in one transaction: claim it in the
 * outbox, decide on the state, queue its delivery. */
static void s_problem(s_engine_t *self, const hg_alert_rule_t *rule, uint32_t ev, const char *ns,
                      const hg_alert_run_t *run, const uint8_t key[HG_RUNID_SIZE],
                      int64_t watch_from)
{
    const char *event = hg_alert_event_name(ev);
    int64_t now = hg_now_ms();
    uint64_t event_id = 0;
    hg_alert_state_t st;
    int64_t old_watch;
    if (s_query(self, "START TRANSACTION") != 0) return;
    int rc = s_outbox_claim(self, rule->id, key, run->job_id, event, &event_id);
    if (rc || !event_id) goto done;
    if ((rc = s_state_get(self, rule->id, run->job_id, event, &st, &old_watch))) goto done;
    hg_alert_outcome_t out = hg_alert_decide(rule, &st, now);
    if ((rc = s_state_put(self, rule->id, run->job_id, event, &st,
                          watch_from ? watch_from : old_watch)) ||
        (rc = s_outcome_set(self, event_id, hg_alert_outcome_name(out))))
        goto done;
    if (out == HG_ALERT_SEND) rc = s_deliver(self, rule, event_id, event, ns, run, now);
    if (!rc && out == HG_ALERT_SEND) {
        char k[48];
        s_alerted_key(rule->id, run->job_id, k, sizeof k);
        zhashx_update(self->alerted, k, (void *) 1);
        s_wanted_ok_update(self);
    }
done:
    if (self->db) s_query(self, rc ? "ROLLBACK" : "COMMIT");
}

/* A success of a job with an alerted episode under rule: it is over; a
 * rule asking for "recovered" sends one. */
static void s_recovered(s_engine_t *self, const hg_alert_rule_t *rule, const char *ns,
                        const hg_alert_run_t *run)
{
    char k[48];
    s_alerted_key(rule->id, run->job_id, k, sizeof k);
    if (!zhashx_lookup(self->alerted, k)) return;
    int64_t now = hg_now_ms();
    uint64_t event_id = 0;
    if (s_query(self, "START TRANSACTION") != 0) return;
    int rc = s_outbox_claim(self, rule->id, run->run_id, run->job_id, "recovered", &event_id);
    if (rc || !event_id) goto done;
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE alert_state SET alerted = 0, updated_at = UTC_TIMESTAMP(3) WHERE rule_id = "
             "%" PRIu64 " AND job_id = %" PRIu64,
             rule->id, run->job_id);
    bool send = (rule->events & HG_ALERT_RECOVERED) != 0;
    if ((rc = s_query(self, sql)) ||
        (rc = s_outcome_set(self, event_id, send ? "send" : "cleared")))
        goto done;
    if (send) rc = s_deliver(self, rule, event_id, "recovered", ns, run, now);
done:
    if (self->db) s_query(self, rc ? "ROLLBACK" : "COMMIT");
    if (!rc) zhashx_delete(self->alerted, k);
    if (!rc) s_wanted_ok_update(self);
}

static void s_evaluate(s_engine_t *self, const hg_alert_run_t *run)
{
    if (!self->rules_n) return;
    const char *ns = NULL;
    for (size_t i = 0; i < self->rules_n && self->db; i++) {
        const hg_alert_rule_t *rule = &self->rules[i];
        /* The job's namespace, looked up once per run (cached per job). */
        if (!ns) ns = s_job_ns(self, run->job_id);
        if (!hg_alert_rule_matches(rule, ns, run->job_name)) continue;
        uint32_t ev = hg_alert_run_event(rule, run);
        if (ev)
            s_problem(self, rule, ev, ns, run, run->run_id, 0);
        else if (hg_alert_run_is_ok(rule, run))
            s_recovered(self, rule, ns, run);
    }
    if (run->finished_ms > self->cursor_ms) self->cursor_ms = run->finished_ms;
}

static void s_cursor_save(s_engine_t *self)
{
    if (!self->db || !self->cursor_ms) return;
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO alert_cursor (id, finished_ms) VALUES (1, %" PRId64
             ") ON DUPLICATE KEY UPDATE finished_ms = GREATEST(finished_ms, VALUES(finished_ms))",
             self->cursor_ms);
    s_query(self, sql);
}

/* Runs of f that could not be evaluated (MySQL away): they are read back
 * from the runs table, where they are committed, once it answers. */
static void s_redo_later(s_engine_t *self, const s_feed_t *f)
{
    int64_t from = 0;
    for (size_t i = 0; i < f->n; i++)
        if (!from || f->runs[i].finished_ms < from) from = f->runs[i].finished_ms;
    if (!self->redo_from_ms)
        hg_warn("alerts: no database: run records are evaluated for alerts once it answers");
    if (!self->redo_from_ms || from < self->redo_from_ms) self->redo_from_ms = from;
}

static int s_on_feed(zloop_t *loop, zsock_t *sock, void *arg)
{
    s_engine_t *self = arg;
    s_feed_t *f = NULL;
    if (zmq_recv(zsock_resolve(sock), &f, sizeof f, ZMQ_DONTWAIT) != sizeof f || !f) return 0;
    if (s_db(self))
        for (size_t i = 0; i < f->n && self->db; i++)
            s_evaluate(self, &f->runs[i]);
    if (self->db)
        s_cursor_save(self);
    else
        s_redo_later(self, f);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ catch-up */

/* "2026-12-02 10:00:00.123" (a DATETIME(3) as text) -> ms; 0 for NULL. */
static int64_t s_datetime_ms(const char *v)
{
    if (!v) return 0;
    char buf[40];
    int64_t ms = 0;
    snprintf(buf, sizeof buf, "%.10sT%sZ", v, strlen(v) > 11 ? v + 11 : "00:00:00");
    return hg_time_parse_rfc3339(buf, &ms) == 0 ? ms : 0;
}

/* One row of the catch-up query into run. */
static void s_run_from_row(MYSQL_ROW row, unsigned long *len, hg_alert_run_t *run)
{
    memset(run, 0, sizeof *run);
    if (len[0] == HG_RUNID_SIZE) memcpy(run->run_id, row[0], HG_RUNID_SIZE);
    run->job_id = strtoull(row[1], NULL, 10);
    snprintf(run->job_name, sizeof run->job_name, "%s", row[2] ? row[2] : "");
    snprintf(run->node, sizeof run->node, "%s", row[3] ? row[3] : "");
    run->scheduled_ms = s_datetime_ms(row[4]);
    run->started_ms = s_datetime_ms(row[5]);
    run->finished_ms = s_datetime_ms(row[6]);
    run->status = hg_run_status_parse(row[7]);
    run->http_status = row[8] ? atoi(row[8]) : 0;
    run->exit_code = row[9] ? atoi(row[9]) : 0;
    snprintf(run->error, sizeof run->error, "%s", row[10] ? row[10] : "");
    run->attempt = (uint32_t) strtoul(row[11], NULL, 10);
    /* A committed attempt that another follows has next_attempt_at set. */
    run->final = row[12] == NULL;
}

/* A new leader evaluates again the runs that ended since the cursor (less
 * a margin for clocks): the events the old leader had not written yet.
 * The outbox's unique key drops those it had. Runs are read by run id
 * (their start), from alerts.catchup before the cursor. The same pass,
 * from the oldest run end it missed, follows a MySQL outage of the
 * engine's own (cursor given). */
static void s_catchup(s_engine_t *self, int64_t cursor)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    if (!cursor) {
        if (s_query(self, "SELECT finished_ms FROM alert_cursor WHERE id = 1") != 0) return;
        res = mysql_store_result(self->db);
        row = res ? mysql_fetch_row(res) : NULL;
        cursor = row && row[0] ? strtoll(row[0], NULL, 10) : 0;
        if (res) mysql_free_result(res);
    }
    if (cursor <= 0 || !self->rules_n) return;
    uint8_t from[HG_RUNID_SIZE];
    hg_runid_floor(from, cursor - self->opts->catchup_ms);
    size_t seen = 0, evaluated = 0;
    while (seen < S_CATCHUP_MAX && self->db) {
        char hex[2 * HG_RUNID_SIZE + 1], sql[700];
        sodium_bin2hex(hex, sizeof hex, from, HG_RUNID_SIZE);
        snprintf(sql, sizeof sql,
                 "SELECT run_id, job_id, job_name, node, scheduled_at, started_at, finished_at,"
                 " status, http_status, exit_code, error, attempt, next_attempt_at FROM runs WHERE"
                 " run_id >"
                 " UNHEX('%s') ORDER BY run_id LIMIT %d",
                 hex, S_CATCHUP_PAGE);
        if (s_query(self, sql) != 0) return;
        res = mysql_store_result(self->db);
        size_t got = 0;
        hg_alert_run_t run;
        while (res && (row = mysql_fetch_row(res))) {
            s_run_from_row(row, mysql_fetch_lengths(res), &run);
            memcpy(from, run.run_id, HG_RUNID_SIZE);
            got++;
            if (run.status <= HG_RUN_RUNNING || run.finished_ms < cursor - S_CURSOR_SLACK_MS)
                continue;
            s_evaluate(self, &run);
            evaluated++;
        }
        if (res) mysql_free_result(res);
        seen += got;
        if (got < S_CATCHUP_PAGE) break;
    }
    s_cursor_save(self);
    hg_info("alerts: caught up from the committed runs: %zu run(s) read, %zu evaluated again", seen,
            evaluated);
}

/* --------------------------------------------------------------- missed */

/* One active job under one "missed" rule: the first fire after the last
 * success seen (watch_from) must be followed by a success within
 * rule->missed_ms; if not, one "missed" event for that fire. */
static void s_missed_job(s_engine_t *self, const hg_alert_rule_t *rule, MYSQL_ROW row, int64_t now)
{
    uint64_t job_id = strtoull(row[0], NULL, 10);
    hg_alert_state_t st;
    int64_t watch = 0;
    if (s_state_get(self, rule->id, job_id, "missed", &st, &watch) != 0) return;
    if (watch == 0) {
        /* First sight: fires from now on are watched. */
        s_state_put(self, rule->id, job_id, "missed", &st, now);
        return;
    }
    hg_sched_opts_t o = {
        .tz = row[4], .start_ms = s_datetime_ms(row[5]), .end_ms = s_datetime_ms(row[6])};
    hg_sched_t *sched = NULL;
    char err[256];
    if (hg_sched_parse(row[3], &o, &sched, err, sizeof err) != 0) return;
    int64_t fire = hg_sched_next(sched, watch);
    if (fire == HG_SCHED_NEVER || fire + rule->missed_ms > now) {
        hg_sched_destroy(&sched);
        return;
    }
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT MAX(scheduled_at) FROM runs WHERE job_id = %" PRIu64
             " AND scheduled_at >= FROM_UNIXTIME(%" PRId64 ".%03d) AND status = 'success'",
             job_id, fire / 1000, (int) (fire % 1000));
    int64_t ok_ms = 0;
    if (s_query(self, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(self->db);
        MYSQL_ROW r = res ? mysql_fetch_row(res) : NULL;
        ok_ms = r ? s_datetime_ms(r[0]) : 0;
        if (res) mysql_free_result(res);
    }
    if (ok_ms) {
        s_state_put(self, rule->id, job_id, "missed", &st, ok_ms);
    } else {
        /* Every fire up to now - missed is covered by this one event. */
        int64_t last = hg_sched_prev(sched, now - rule->missed_ms, fire);
        hg_alert_run_t run = {.job_id = job_id, .scheduled_ms = fire, .status = -1};
        snprintf(run.job_name, sizeof run.job_name, "%s", row[2]);
        char at[40];
        hg_time_format_ms(fire, at, sizeof at);
        snprintf(run.error, sizeof run.error,
                 "no successful run within %" PRId64 " ms of the fire scheduled at %s",
                 rule->missed_ms, at);
        uint8_t key[HG_RUNID_SIZE];
        hg_alert_synthetic_key(job_id, fire, key);
        s_problem(self, rule, HG_ALERT_MISSED, row[1], &run, key,
                  last != HG_SCHED_NEVER && last > fire ? last : fire);
    }
    hg_sched_destroy(&sched);
}

static void s_missed(s_engine_t *self)
{
    bool any = false;
    for (size_t i = 0; i < self->rules_n; i++)
        any = any || (self->rules[i].events & HG_ALERT_MISSED);
    if (!any) return;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT id, namespace, name, schedule, timezone, start_at, end_at FROM jobs"
             " WHERE status = 'active' ORDER BY id LIMIT %d",
             S_MISSED_JOBS_MAX);
    if (s_query(self, sql) != 0) return;
    MYSQL_RES *res = mysql_store_result(self->db);
    MYSQL_ROW row;
    int64_t now = hg_now_ms();
    while (res && self->db && (row = mysql_fetch_row(res))) {
        for (size_t i = 0; i < self->rules_n && self->db; i++) {
            const hg_alert_rule_t *rule = &self->rules[i];
            if ((rule->events & HG_ALERT_MISSED) && hg_alert_rule_matches(rule, row[1], row[2]))
                s_missed_job(self, rule, row, now);
        }
    }
    if (res) mysql_free_result(res);
}

static int s_on_rules_timer(zloop_t *loop, int timer_id, void *arg)
{
    s_engine_t *self = arg;
    s_rules_reload(self);
    if (!self->caught_up && self->db) {
        s_alerted_load(self);
        s_catchup(self, 0);
        self->caught_up = self->db != NULL;
    } else if (self->redo_from_ms && self->db) {
        int64_t from = self->redo_from_ms;
        self->redo_from_ms = 0;
        s_catchup(self, from);
        if (!self->db) self->redo_from_ms = from; /* gone again: next time */
    }
    return 0;
}

static int s_on_missed_timer(zloop_t *loop, int timer_id, void *arg)
{
    s_engine_t *self = arg;
    if (self->caught_up && s_db(self)) s_missed(self);
    return 0;
}

static void s_free_str(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_actor(zsock_t *pipe, void *arg)
{
    s_engine_t self = {.opts = arg};
    self.feed = zsock_new(ZMQ_PULL);
    self.alerted = zhashx_new();
    self.ns = zhashx_new();
    if (!self.feed || !self.alerted || !self.ns ||
        zsock_bind(self.feed, HG_ALERT_FEED_ENDPOINT) != 0) {
        hg_error("alerts: cannot start the alert engine");
        zsock_destroy(&self.feed);
        zhashx_destroy(&self.alerted);
        zhashx_destroy(&self.ns);
        zsock_signal(pipe, 1);
        return;
    }
    (void) hg_zsock_set_int(self.feed, ZMQ_RCVHWM, S_FEED_HWM);
    zhashx_set_destructor(self.ns, s_free_str);
    zloop_t *loop = zloop_new();
    zloop_set_nonstop(loop, true);
    zloop_reader(loop, pipe, hg_actor_on_term, NULL);
    zloop_reader(loop, self.feed, s_on_feed, &self);
    zloop_timer(loop, 1000, 0, s_on_rules_timer, &self);
    zloop_timer(loop, self.opts->missed_interval_ms, 0, s_on_missed_timer, &self);
    zsock_signal(pipe, 0);
    s_on_rules_timer(loop, 0, &self);
    hg_info("alerts: engine started (%zu rule(s))", self.rules_n);
    hg_actor_loop_run(loop);
    zloop_destroy(&loop);
    /* What is still in the feed is not lost: the next leader's catch-up
     * evaluates it from the runs table. */
    s_feed_t *f;
    while (zmq_recv(zsock_resolve(self.feed), &f, sizeof f, ZMQ_DONTWAIT) == sizeof f)
        free(f);
    atomic_store(&s_wanted, false);
    atomic_store(&s_wanted_ok, false);
    zsock_destroy(&self.feed);
    hg_alert_db_rules_free(&self.rules, self.rules_n);
    zhashx_destroy(&self.alerted);
    zhashx_destroy(&self.ns);
    hg_db_close(&self.db);
}

zactor_t *hg_alert_engine_new(const hg_alert_opts_t *opts)
{
    return zactor_new(s_actor, (void *) opts);
}
