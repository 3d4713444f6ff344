/* api_alerts: the alert routes of the REST API (docs/api.md, "Alerts"):
 *
 *   GET    /api/v1/alerts                 rules (viewer)
 *   POST   /api/v1/alerts                 create a rule (editor)
 *   GET    /api/v1/alerts:history         deliveries of every rule (viewer)
 *   GET    /api/v1/alerts/{name}          one rule (viewer)
 *   DELETE /api/v1/alerts/{name}          delete it (editor)
 *   GET    /api/v1/alerts/{name}/history  its deliveries (viewer)
 *   POST   /api/v1/alerts/{name}/test     deliver a test message (editor)
 *
 * The roles are in auth.c's route table. A channel's secret (the webhook
 * key, the SMTP password) is written once and never read back: answers
 * show "<redacted>" (an admin may ask ?reveal=true), and no log line
 * carries it. A token scoped to a namespace sees and writes only rules of
 * that namespace. */
#include "alert_db.h"
#include "alerts.h"
#include "api_internal.h"
#include "hg_error.h"
#include "hg_time.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_ALERTS        "/api/v1/alerts"
#define S_ALERTS_PREFIX "/api/v1/alerts/"
#define S_HISTORY_ALL   "/api/v1/alerts:history"
#define S_HISTORY_MAX   1000

/* One database step of an alert route and its result. */
typedef struct {
    hg_api_ctx_t *c;       /* the request */
    const char *name;      /* rule name from the path, or NULL */
    hg_alert_rule_t *rule; /* POST: the validated rule */
    uint64_t rule_id;      /* history: 0 = every rule */
    int limit;             /* history: rows at most */
    json_t *out;           /* result */
    hg_alert_rule_t got;   /* GET / test: the rule read */
    uint64_t delivery_id;  /* test: the delivery queued */
} s_op_t;

static bool s_rule_in_scope(hg_api_ctx_t *c, const hg_alert_rule_t *rule)
{
    return !c->who.ns[0] || strcmp(c->who.ns, rule->ns) == 0;
}

static int s_op_list(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    hg_alert_rule_t *rules;
    size_t n;
    int rc = hg_alert_db_rules_load(db, &rules, &n, err, err_size);
    if (rc != 0) return rc;
    a->out = json_array();
    for (size_t i = 0; i < n; i++)
        if (s_rule_in_scope(a->c, &rules[i]))
            json_array_append_new(a->out, hg_alert_rule_to_json(&rules[i], false));
    hg_alert_db_rules_free(&rules, n);
    return 0;
}

static int s_op_create(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    hg_alert_rule_t *rules;
    size_t n;
    int rc = hg_alert_db_rules_load(db, &rules, &n, err, err_size);
    if (rc != 0) return rc;
    hg_alert_db_rules_free(&rules, n);
    if (n >= HG_ALERT_RULES_MAX) {
        snprintf(err, err_size, "there are %d alert rules already, the most a cluster keeps",
                 HG_ALERT_RULES_MAX);
        return HG_ERANGE;
    }
    return hg_alert_db_rule_create(db, a->rule, a->c->who.name, err, err_size);
}

static int s_op_get(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    hg_alert_rule_clear(&a->got);
    return hg_alert_db_rule_get(db, a->name, 0, &a->got, err, err_size);
}

static int s_op_delete(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    return hg_alert_db_rule_delete(db, a->name, err, err_size);
}

static int s_op_history(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    return hg_alert_db_history(db, a->rule_id, a->limit, &a->out, err, err_size);
}

/* Queue a test delivery of the rule: the leader's sender sends it. */
static int s_op_test_queue(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    char at[40], text[512];
    hg_time_format_ms(hg_now_ms(), at, sizeof at);
    snprintf(text, sizeof text, "[hourglass] test of alert rule %s, asked by %s", a->got.name,
             a->c->who.name);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "event", "test", "rule",
                            a->got.name, "at", at, "text", text, "job", "namespace",
                            a->got.ns[0] ? a->got.ns : "default", "name", a->got.job);
    char *payload = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!payload) return HG_ENOMEM;
    int rc = hg_alert_db_delivery_add(db, 0, a->got.id, "test", "-", payload, "pending", NULL,
                                      &a->delivery_id, err, err_size);
    free(payload);
    return rc;
}

static int s_op_delivery(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_op_t *a = arg;
    json_decref(a->out);
    a->out = NULL;
    return hg_alert_db_delivery_get(db, a->delivery_id, &a->out, err, err_size);
}

static void s_create(hg_api_ctx_t *c)
{
    bool failed = false;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    hg_alert_rule_t rule;
    char field[300], err[1024];
    int rc = hg_alert_rule_parse(body, &rule, field, sizeof field, err, sizeof err);
    json_decref(body);
    if (rc != 0) {
        hg_api__invalid(c, field[0] ? field : NULL, err);
        return;
    }
    snprintf(c->object, sizeof c->object, "%s", rule.name);
    if (!hg_api__in_scope(c, rule.ns)) {
        hg_alert_rule_clear(&rule);
        return;
    }
    s_op_t a = {.c = c, .rule = &rule};
    rc = hg_api__with_db(c->api, s_op_create, &a, err, sizeof err);
    if (rc == HG_ERANGE)
        hg_api__error(c, MHD_HTTP_CONFLICT, "too_many", NULL, "%s", err);
    else if (rc != 0)
        hg_api__db_error(c, rc, err);
    else
        hg_api__reply(c, MHD_HTTP_CREATED, hg_alert_rule_to_json(&rule, false));
    hg_alert_rule_clear(&rule);
}

/* Read the rule of the path into a->got; false with the reply set. */
static bool s_rule_read(hg_api_ctx_t *c, s_op_t *a)
{
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_get, a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        return false;
    }
    if (!s_rule_in_scope(c, &a->got)) {
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no alert rule \"%s\"", a->name);
        return false;
    }
    return true;
}

static void s_history(hg_api_ctx_t *c, const char *name)
{
    long limit = 100;
    if (hg_api__int_arg(c, "limit", 100, 1, S_HISTORY_MAX, &limit) != 0) return;
    s_op_t a = {.c = c, .name = name, .limit = (int) limit};
    if (name) {
        if (!s_rule_read(c, &a)) goto out;
        a.rule_id = a.got.id;
    } else if (c->who.ns[0]) {
        hg_api__error(c, MHD_HTTP_FORBIDDEN, "forbidden", "namespace",
                      "namespace: a token scoped to a namespace sees the history of one rule "
                      "at a time");
        goto out;
    }
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_history, &a, err, sizeof err);
    if (rc != 0)
        hg_api__db_error(c, rc, err);
    else
        hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:o}", "deliveries", a.out));
out:
    hg_alert_rule_clear(&a.got);
}

/* POST .../test: queue a test message and wait (bounded) for the sender's
 * verdict, so the operator learns at once whether the channel works. */
static void s_test(hg_api_ctx_t *c, const char *name)
{
    s_op_t a = {.c = c, .name = name};
    char err[1024];
    if (!s_rule_read(c, &a)) goto out;
    int rc = hg_api__with_db(c->api, s_op_test_queue, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        goto out;
    }
    /* The sender tries a delivery within 200 ms; one attempt lasts at most
     * alerts.send_timeout (10 s by default). */
    for (int i = 0; i < 150; i++) {
        usleep(100 * 1000);
        if (hg_api__with_db(c->api, s_op_delivery, &a, err, sizeof err) != 0) continue;
        const char *status = json_string_value(json_object_get(a.out, "status"));
        if (json_integer_value(json_object_get(a.out, "attempts")) > 0 || !status ||
            strcmp(status, "pending") != 0)
            break;
    }
    if (!a.out) {
        hg_api__db_error(c, HG_EUNAVAIL, "the test delivery could not be read back");
        goto out;
    }
    const char *status = json_string_value(json_object_get(a.out, "status"));
    bool sent = status && strcmp(status, "sent") == 0;
    if (sent)
        hg_api__reply(c, MHD_HTTP_OK, json_incref(a.out));
    else
        hg_api__error(c, MHD_HTTP_BAD_GATEWAY, "delivery_failed", NULL,
                      "the test message was not delivered: %s",
                      json_string_value(json_object_get(a.out, "last_error"))
                          ?: "no attempt yet (is this master leading?)");
out:
    json_decref(a.out);
    hg_alert_rule_clear(&a.got);
}

static void s_one(hg_api_ctx_t *c, const char *name)
{
    snprintf(c->object, sizeof c->object, "%s", name);
    s_op_t a = {.c = c, .name = name};
    if (!s_rule_read(c, &a)) goto out;
    if (hg_api__method_is(c, "DELETE")) {
        char err[1024];
        int rc = hg_api__with_db(c->api, s_op_delete, &a, err, sizeof err);
        if (rc != 0)
            hg_api__db_error(c, rc, err);
        else
            hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:s}", "deleted", name));
    } else {
        hg_api__reply(c, MHD_HTTP_OK, hg_alert_rule_to_json(&a.got, c->reveal));
    }
out:
    hg_alert_rule_clear(&a.got);
}

static void s_not_allowed(hg_api_ctx_t *c, const char *allow)
{
    c->allow = allow;
    hg_api__error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                  "%s is not allowed here (allowed: %s)", c->method, allow);
}

void hg_api__alerts_route(hg_api_ctx_t *c)
{
    const char *url = c->url;
    bool get = hg_api__method_is(c, "GET") || hg_api__method_is(c, "HEAD");
    if (strcmp(url, S_ALERTS) == 0) {
        if (get) {
            s_op_t a = {.c = c};
            char err[1024];
            int rc = hg_api__with_db(c->api, s_op_list, &a, err, sizeof err);
            if (rc != 0)
                hg_api__db_error(c, rc, err);
            else
                hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:o}", "alerts", a.out));
        } else if (hg_api__method_is(c, "POST")) {
            s_create(c);
        } else {
            s_not_allowed(c, "GET, POST");
        }
        return;
    }
    if (strcmp(url, S_HISTORY_ALL) == 0) {
        if (get)
            s_history(c, NULL);
        else
            s_not_allowed(c, "GET");
        return;
    }
    const char *name = url + strlen(S_ALERTS_PREFIX);
    const char *slash = strchr(name, '/');
    char buf[HG_ALERT_NAME_MAX + 1];
    size_t len = slash ? (size_t) (slash - name) : strlen(name);
    const char *action = slash ? slash + 1 : NULL;
    if (strncmp(url, S_ALERTS_PREFIX, strlen(S_ALERTS_PREFIX)) != 0 || len == 0 ||
        len >= sizeof buf || (action && strcmp(action, "test") && strcmp(action, "history"))) {
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method,
                      url);
        return;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (!action && (get || hg_api__method_is(c, "DELETE")))
        s_one(c, buf);
    else if (!action)
        s_not_allowed(c, "GET, DELETE");
    else if (strcmp(action, "history") == 0 && get)
        s_history(c, buf);
    else if (strcmp(action, "test") == 0 && hg_api__method_is(c, "POST"))
        s_test(c, buf);
    else
        s_not_allowed(c, strcmp(action, "test") == 0 ? "POST" : "GET");
}
