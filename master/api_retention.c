/* api_retention: POST /api/v1/runs:purge, the manual purge behind
 * `hourglass runs purge --before T [--job NAME]` (docs/api.md).
 *
 * Body: {"before": RFC 3339 time, "namespace": ns, "job": name}, the last
 * two optional: without a job, every job of the namespace; without a
 * namespace either, every job. Runs scheduled before "before" are deleted
 * with their runs_by_status rows, in the paced batches of retention.h, on
 * this request's thread (the caller waits; a purge of millions of rows
 * takes minutes). Admin only, audited as runs.purge. */
#include "api_internal.h"
#include "hg_error.h"
#include "hg_time.h"
#include "metrics.h"
#include "retention.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    hg_purge_t p;        /* what to purge */
    hg_purge_result_t r; /* out: what went */
} s_purge_arg_t;

static int s_op_purge(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_purge_arg_t *a = arg;
    return hg_retention_purge_runs(db, &a->p, &a->r, err, err_size);
}

/* The body's members, checked; false with the reply set. */
static bool s_parse(hg_api_ctx_t *c, json_t *body, s_purge_arg_t *a)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "before") != 0 && strcmp(key, "namespace") != 0 &&
            strcmp(key, "job") != 0) {
            hg_api__error(c, MHD_HTTP_BAD_REQUEST, "invalid_argument", key,
                          "%s: unknown member (allowed: before, namespace, job)", key);
            return false;
        }
    }
    const char *before = json_string_value(json_object_get(body, "before"));
    if (!before || hg_time_parse_rfc3339(before, &a->p.before_ms) != 0) {
        hg_api__invalid(c, "before",
                        "before: required, an RFC 3339 time (e.g. 2026-11-21T10:00:00Z); runs "
                        "scheduled before it are deleted");
        return false;
    }
    json_t *ns = json_object_get(body, "namespace"), *job = json_object_get(body, "job");
    if (ns && (!json_is_string(ns) || !hg_api__is_ident(json_string_value(ns), 64))) {
        hg_api__invalid(c, "namespace", "namespace: must be a namespace name ([A-Za-z0-9._-])");
        return false;
    }
    if (job && (!json_is_string(job) || !hg_api__is_ident(json_string_value(job), 190))) {
        hg_api__invalid(c, "job", "job: must be a job name ([A-Za-z0-9._-], at most 190 bytes)");
        return false;
    }
    a->p.ns = ns ? json_string_value(ns) : job ? "default" : NULL;
    a->p.job = job ? json_string_value(job) : NULL;
    return true;
}

void hg_api__runs_purge(hg_api_ctx_t *c)
{
    bool failed = false;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    /* The same batches as the leader's own purges (retention.batch). */
    s_purge_arg_t a = {.p = {.batch = hg_api__purge_batch(c->api),
                             .pause_min_ms = 10,
                             .metrics = hg_api__metrics_of(c->api)}};
    if (!json_is_object(body)) {
        hg_api__invalid(c, NULL, "the body must be a JSON object with \"before\"");
        json_decref(body);
        return;
    }
    if (!s_parse(c, body, &a)) {
        json_decref(body);
        return;
    }
    snprintf(c->object, sizeof c->object, "%s/%s", a.p.ns ? a.p.ns : "*", a.p.job ? a.p.job : "*");
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_purge, &a, err, sizeof err);
    hg_metrics_t *m = hg_api__metrics_of(c->api);
    if (m) {
        hg_metrics_purged(m, "runs", a.r.runs);
        hg_metrics_purged(m, "runs_by_status", a.r.runs_by_status);
    }
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else {
        char cut[40];
        hg_time_format_ms(a.p.before_ms, cut, sizeof cut);
        json_t *reply = json_pack(
            "{s:s,s:{s:I,s:I},s:I}", "before", cut, "deleted", "runs", (json_int_t) a.r.runs,
            "runs_by_status", (json_int_t) a.r.runs_by_status, "batches", (json_int_t) a.r.batches);
        if (a.p.ns) json_object_set_new(reply, "namespace", json_string(a.p.ns));
        if (a.p.job) json_object_set_new(reply, "job", json_string(a.p.job));
        hg_api__reply(c, MHD_HTTP_OK, reply);
    }
    json_decref(body);
}
