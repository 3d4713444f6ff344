/* api_job_edit: run control routes of the REST API (docs/api.md,
 * docs/jobs.md): PUT and PATCH /api/v1/jobs/{name} guarded by the job's
 * version, pause and resume with a note, backfill, and the look-ahead
 * (next_fires, last_run) that GET /api/v1/jobs/{name} shows.
 *
 * An edit is optimistic: the stored job is read, the new one made and
 * validated outside any lock, and the UPDATE only lands if the row still
 * has the version the caller saw (409 version_conflict otherwise, naming
 * the current one). Then, under the server's write lock like every job
 * write, the cluster is told, and the holder gets the new spec in an
 * ASSIGN of a new epoch (the worker takes a schedule change from now:
 * worker/fire_plan.h). */
#include "api_internal.h"
#include "cluster.h"
#include "db.h"
#include "deps.h"
#include "job.h"
#include "job_db.h"
#include "job_edit.h"
#include "job_ext.h"
#include "redact.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_runid.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <jansson.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_BACKFILL_MAX   10000 /* scheduled times one backfill may fire */
#define S_BACKFILL_CHUNK 500   /* TRIGGERs sent before a pause, so workers keep up */
#define S_PAUSE_RETRIES  3     /* a pause that races another edit reads again */

/* Arguments and results of the database steps. */
typedef struct {
    const char *ns, *name; /* the job */
    json_t *job;           /* in: the new job (update); out: the stored job */
    uint64_t id, version;  /* update: row id and the version it must have */
    json_t *last_run;      /* out: last run, or NULL */
    json_t *old;           /* update: the job as stored (borrowed) */
    json_t *dependents;    /* update: jobs that refuse a rename (deps.h), or NULL */
    bool deps_refused;     /* update: deps_field/deps_msg say why (a cycle, ...) */
    char deps_field[256];  /* the field the dependency check names */
    char deps_msg[1024];   /* and its message */
} s_edit_op_t;

static int s_op_get(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_edit_op_t *a = arg;
    json_t *job = NULL;
    int rc = hg_job_db_get(db, a->ns, a->name, &job, err, err_size);
    if (rc == 0) {
        json_decref(a->job);
        a->job = job;
    }
    return rc;
}

/* The job row and its dependency edges change in one transaction, so an
 * edit never leaves a graph with a cycle or a child without its edges. */
static int s_op_update(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_edit_op_t *a = arg;
    if (mysql_autocommit(db, 0)) {
        snprintf(err, err_size, "start transaction: %s", mysql_error(db));
        return HG_EDB;
    }
    json_decref(a->dependents);
    a->dependents = NULL;
    int rc = hg_deps_db_on_update(db, a->old, a->job, &a->dependents, a->deps_field,
                                  sizeof a->deps_field, a->deps_msg, sizeof a->deps_msg);
    a->deps_refused = rc == HG_EINVAL || rc == HG_EEXIST;
    if (rc == HG_EDB) snprintf(err, err_size, "%s", a->deps_msg);
    if (rc == 0) rc = hg_job_db_update(db, a->id, a->version, a->job, err, err_size);
    if (rc == 0 && mysql_commit(db)) {
        snprintf(err, err_size, "commit: %s", mysql_error(db));
        rc = HG_EDB;
    }
    /* On a lost connection these fail as well, which leaves mysql_errno
     * saying so for hg_api__with_db. */
    if (rc != 0) mysql_rollback(db);
    mysql_autocommit(db, 1);
    if (rc != 0) return rc;
    a->job = NULL; /* the caller's; the stored one replaces it */
    return s_op_get(db, arg, err, err_size);
}

/* 409 for an edit based on a version that is not the current one. */
static void s_conflict(hg_api_ctx_t *c, const char *name, uint64_t expected, json_t *current)
{
    json_int_t now = json_integer_value(json_object_get(current, "version"));
    hg_api__error(c, MHD_HTTP_CONFLICT, "version_conflict", "version",
                  "version: job \"%s\" is at version %lld, not %llu; read it again (GET) and "
                  "apply your change to version %lld",
                  name, (long long) now, (unsigned long long) expected, (long long) now);
    json_object_set_new(json_object_get(c->reply, "error"), "current_version", json_integer(now));
}

/* Tell the cluster of a stored change (logged, not answered, on failure:
 * the change is durable). */
static void s_notify(hg_api_ctx_t *c, json_t *job)
{
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int rc = cl ? hg_cluster_job_upsert(cl, job) : HG_EUNAVAIL;
    if (rc != 0)
        hg_warn("api: cluster did not take the edit of job %s: %s",
                json_string_value(json_object_get(job, "name")), hg_strerror(rc));
}

static void s_reply_job(hg_api_ctx_t *c, json_t *job)
{
    json_t *shown = c->reveal ? json_incref(job) : json_deep_copy(job);
    if (!c->reveal) hg_redact_job(shown);
    char node[256] = "";
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    uint64_t id = (uint64_t) json_integer_value(json_object_get(job, "id"));
    int rc = cl ? hg_cluster_job_node(cl, id, node, sizeof node) : HG_EUNAVAIL;
    json_object_set_new(shown, "node", rc == 0 && node[0] ? json_string(node) : json_null());
    hg_api__reply(c, MHD_HTTP_OK, shown);
}

/* Validate new_body (made from stored), store it if stored is still at
 * version, notify the cluster and reply. Takes new_body. check_admin is
 * false for pause/resume, which an operator may do to any job. */
static void s_commit(hg_api_ctx_t *c, json_t *stored, json_t *new_body, uint64_t version,
                     bool check_admin)
{
    char field[256], message[1024], err[1024];
    bool done = hg_job_edit_done_before(stored, new_body); /* stays completed */
    json_t *job = hg_job_validate(new_body, field, sizeof field, message, sizeof message);
    json_decref(new_body);
    if (!job) {
        hg_api__invalid(c, field, message);
        return;
    }
    if (done) hg_job_edit_done_after(stored, job);
    if (check_admin && !hg_api__may_write_job(c, job, "an edit")) {
        json_decref(job);
        return;
    }
    hg_job_edit_keep_cutoff(stored, job);
    if (hg_job_edit_is_noop(stored, job)) {
        json_decref(job);
        s_reply_job(c, stored);
        return;
    }
    s_edit_op_t a = {.ns = json_string_value(json_object_get(stored, "namespace")),
                     .name = json_string_value(json_object_get(stored, "name")),
                     .job = job,
                     .id = (uint64_t) json_integer_value(json_object_get(stored, "id")),
                     .version = version,
                     .old = stored};
    hg_api__write_begin(c->api);
    int rc = hg_api__with_db(c->api, s_op_update, &a, err, sizeof err);
    if (rc == 0) s_notify(c, a.job);
    hg_api__write_end(c->api);
    if (rc == 0) {
        s_reply_job(c, a.job);
    } else if (a.deps_refused && rc == HG_EEXIST) {
        hg_api__deps_refuse_delete(c, json_string_value(json_object_get(stored, "name")),
                                   a.dependents);
    } else if (a.deps_refused) {
        hg_api__invalid(c, a.deps_field, a.deps_msg);
    } else if (rc == HG_ENOTFOUND) {
        /* Changed or deleted since it was read: say which. */
        json_t *now = NULL;
        a.job = NULL;
        if (hg_api__with_db(c->api, s_op_get, &a, err, sizeof err) == 0) now = a.job;
        a.job = NULL;
        if (now)
            s_conflict(c, json_string_value(json_object_get(stored, "name")), version, now);
        else
            hg_api__db_error(c, HG_ENOTFOUND, err);
        json_decref(now);
    } else {
        hg_api__db_error(c, rc, err);
    }
    /* a.job is the stored job after a write, else still the validated one
     * (job), which is ours either way. */
    if (a.job == job) a.job = NULL;
    json_decref(job);
    json_decref(a.job);
    json_decref(a.dependents);
}

void hg_api__job_edit(hg_api_ctx_t *c, const char *name, bool patch)
{
    bool ok, failed;
    s_edit_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    char field[256], message[1024], err[1024];
    uint64_t version = 0;
    const char *if_match = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "If-Match");
    if (hg_job_edit_version(if_match, body, &version, field, sizeof field, message,
                            sizeof message) != 0) {
        hg_api__invalid(c, field, message);
        json_decref(body);
        return;
    }
    if (!version) {
        hg_api__error(c, 428, "version_required", "version",
                      "version: an edit must say which version of the job it changes "
                      "(If-Match: \"N\" or a \"version\" member; GET the job to learn it)");
        json_decref(body);
        return;
    }
    int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        json_decref(body);
        return;
    }
    json_t *stored = a.job;
    /* A job only an admin may write stays the admin's to edit. */
    if (!hg_api__may_write_job(c, stored, "an edit")) {
        json_decref(stored);
        json_decref(body);
        return;
    }
    if ((uint64_t) json_integer_value(json_object_get(stored, "version")) != version) {
        s_conflict(c, name, version, stored);
        json_decref(stored);
        json_decref(body);
        return;
    }
    json_t *new_body =
        hg_job_edit_body(stored, body, patch, field, sizeof field, message, sizeof message);
    json_decref(body);
    if (!new_body)
        hg_api__invalid(c, field, message);
    else
        s_commit(c, stored, new_body, version, true);
    json_decref(stored);
}

void hg_api__job_pause(hg_api_ctx_t *c, const char *name, bool pause)
{
    bool ok, failed;
    s_edit_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    json_t *body = hg_api__body_json(c, true, &failed);
    if (failed) return;
    json_t *note = json_object_get(body, "note");
    if (body && !hg_api__only_field(c, body, "note")) {
        json_decref(body);
        return;
    }
    if (note && !json_is_null(note) && !pause) {
        hg_api__invalid(c, "note", "note: only a pause takes a note (resume clears it)");
        json_decref(body);
        return;
    }
    char err[1024];
    for (int attempt = 0; attempt < S_PAUSE_RETRIES; attempt++) {
        int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
        if (rc != 0) {
            hg_api__db_error(c, rc, err);
            break;
        }
        json_t *stored = a.job;
        a.job = NULL;
        json_t *new_body = json_deep_copy(stored);
        json_object_set_new(new_body, "status", json_string(pause ? "paused" : "active"));
        json_object_set(new_body, "pause_note", note ? note : json_null());
        json_t *edited = hg_job_edit_body(stored, new_body, false, NULL, 0, NULL, 0);
        json_decref(new_body);
        uint64_t version = (uint64_t) json_integer_value(json_object_get(stored, "version"));
        s_commit(c, stored, edited, version, false);
        json_decref(stored);
        /* Another edit landed between the read and the write: again. */
        if (c->status != MHD_HTTP_CONFLICT) break;
    }
    json_decref(body);
}

/* ---------------------------------------------------------------------------
 * Backfill
 * ------------------------------------------------------------------------ */

/* The scheduled times of s in [from_ms, to_ms) into times (at most max);
 * returns how many, or -1 when there are more than max. */
static long s_backfill_times(hg_sched_t *s, int64_t from_ms, int64_t to_ms, int64_t *times,
                             long max)
{
    long n = 0;
    for (int64_t t = hg_sched_next(s, from_ms - 1); t != HG_SCHED_NEVER && t < to_ms;
         t = hg_sched_next(s, t)) {
        if (n == max) return -1;
        times[n++] = t;
    }
    return n;
}

/* Parse {from, to, force} of a backfill body; false with the reply set. */
static bool s_backfill_range(hg_api_ctx_t *c, json_t *body, int64_t *from_ms, int64_t *to_ms,
                             bool *force)
{
    json_t *f = json_object_get(body, "force");
    if (f && !json_is_boolean(f)) {
        hg_api__invalid(c, "force", "force: must be true or false");
        return false;
    }
    *force = json_is_true(f);
    static const char *keys[] = {"from", "to"};
    int64_t *out[] = {from_ms, to_ms};
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "from") != 0 && strcmp(key, "to") != 0 && strcmp(key, "force") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%.200s: unknown field", key);
            hg_api__invalid(c, key, msg);
            return false;
        }
    }
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (!json_is_string(v) || hg_time_parse_rfc3339(json_string_value(v), out[i]) != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s: required, an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)",
                     keys[i]);
            hg_api__invalid(c, keys[i], msg);
            return false;
        }
    }
    if (*to_ms <= *from_ms) {
        hg_api__invalid(c, "to", "to: must be after from");
        return false;
    }
    if (*to_ms > hg_now_ms()) {
        hg_api__invalid(c, "to",
                        "to: must not be in the future (a backfill fires past times; the "
                        "schedule fires the rest)");
        return false;
    }
    return true;
}

/* The job's schedule for a backfill: its zone and start (which anchors
 * @every), not its end: a backfill asks for past times on purpose. NULL
 * with the reply set. */
static hg_sched_t *s_backfill_sched(hg_api_ctx_t *c, json_t *job)
{
    int64_t start_ms = 0;
    json_t *sv = json_object_get(job, "start_at");
    if (json_is_string(sv)) hg_time_parse_rfc3339(json_string_value(sv), &start_ms);
    hg_sched_opts_t opts = {.tz = json_string_value(json_object_get(job, "timezone")),
                            .start_ms = start_ms};
    hg_sched_t *s = NULL;
    char serr[256];
    if (hg_sched_parse(json_string_value(json_object_get(job, "schedule")), &opts, &s, serr,
                       sizeof serr) != 0) {
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
                      "the job's schedule cannot be read: %s", serr);
        return NULL;
    }
    if (hg_sched_is_fixed_delay(s)) {
        hg_sched_destroy(&s);
        hg_api__error(c, MHD_HTTP_CONFLICT, "not_supported", "schedule",
                      "schedule: a fixed-delay (@after) schedule has no times to backfill");
        return NULL;
    }
    return s;
}

/* Send the TRIGGERs of a backfill, in order; how many went, and the node. */
static long s_backfill_send(hg_api_ctx_t *c, uint64_t id, const int64_t *times, long n, bool force,
                            char *node, size_t node_size, int *rc)
{
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    *rc = cl ? 0 : HG_EUNAVAIL;
    long sent = 0;
    for (; cl && sent < n; sent++) {
        /* Workers take TRIGGERs as they come; a pause now and then keeps
         * a long backfill from filling a worker's queue at once. */
        if (sent > 0 && sent % S_BACKFILL_CHUNK == 0) usleep(50 * 1000);
        *rc = hg_cluster_trigger_at(cl, id, NULL, "backfill", times[sent], force, node, node_size);
        if (*rc != 0) break;
    }
    return sent;
}

void hg_api__job_backfill(hg_api_ctx_t *c, const char *name)
{
    bool ok, failed;
    s_edit_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    int64_t from_ms, to_ms;
    bool force;
    char err[1024];
    if (!s_backfill_range(c, body, &from_ms, &to_ms, &force)) {
        json_decref(body);
        return;
    }
    json_decref(body);
    int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        return;
    }
    hg_role_t need = hg_auth_trigger_role(a.job, false);
    hg_sched_t *s = c->who.role < need ? NULL : s_backfill_sched(c, a.job);
    if (c->who.role < need) hg_api__forbidden(c, need, "a backfill of this job");
    int64_t *times = s ? malloc(sizeof *times * S_BACKFILL_MAX) : NULL;
    long n = times ? s_backfill_times(s, from_ms, to_ms, times, S_BACKFILL_MAX) : 0;
    hg_sched_destroy(&s);
    if (!times) {
        if (c->status == 0)
            hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "out of memory");
    } else if (n < 0) {
        hg_api__error(c, MHD_HTTP_BAD_REQUEST, "too_many", "to",
                      "to: the range holds more than %d scheduled times; backfill it in parts",
                      S_BACKFILL_MAX);
    } else {
        char node[256] = "";
        uint64_t id = (uint64_t) json_integer_value(json_object_get(a.job, "id"));
        long sent = n ? s_backfill_send(c, id, times, n, force, node, sizeof node, &rc) : 0;
        char first[40] = "", last[40] = "";
        if (n) hg_time_format_ms(times[0], first, sizeof first);
        if (n) hg_time_format_ms(times[n - 1], last, sizeof last);
        if (rc == HG_ENOTFOUND || rc == HG_EUNAVAIL)
            hg_api__error(c, MHD_HTTP_CONFLICT, "no_worker", NULL,
                          "no live worker holds job \"%s\" (is it active?); %ld of %ld times sent",
                          name, sent, n);
        else if (rc != 0)
            hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                          "backfill stopped after %ld of %ld times: %s", sent, n, hg_strerror(rc));
        else
            hg_api__reply(c, MHD_HTTP_ACCEPTED,
                          json_pack("{s:s, s:s, s:I, s:s?, s:s?}", "job", name, "node", node,
                                    "count", (json_int_t) n, "first", n ? first : NULL, "last",
                                    n ? last : NULL));
    }
    free(times);
    json_decref(a.job);
}

/* ---------------------------------------------------------------------------
 * GET /api/v1/jobs/{name}: next_fires and last_run
 * ------------------------------------------------------------------------ */

static int s_op_last_run(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_edit_op_t *a = arg;
    MYSQL_STMT *stmt = hg_db_prepare(db,
                                     "SELECT run_id, status, scheduled_at, finished_at FROM runs "
                                     "WHERE job_id = ? ORDER BY scheduled_at DESC, run_id DESC "
                                     "LIMIT 1",
                                     err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND p[1], r[4];
    memset(p, 0, sizeof p);
    memset(r, 0, sizeof r);
    hg_db_bind_u64(&p[0], &a->id);
    uint8_t run_id[HG_RUNID_SIZE];
    char status[65];
    MYSQL_TIME sched, fin;
    unsigned long len[4];
    my_bool is_null[4];
    hg_db_bind_out(&r[0], MYSQL_TYPE_BLOB, run_id, sizeof run_id, &len[0], &is_null[0]);
    hg_db_bind_out(&r[1], MYSQL_TYPE_STRING, status, sizeof status - 1, &len[1], &is_null[1]);
    hg_db_bind_out(&r[2], MYSQL_TYPE_DATETIME, &sched, 0, &len[2], &is_null[2]);
    hg_db_bind_out(&r[3], MYSQL_TYPE_DATETIME, &fin, 0, &len[3], &is_null[3]);
    int rc = 0;
    if (mysql_stmt_bind_param(stmt, p) || mysql_stmt_execute(stmt) ||
        mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, r)) {
        snprintf(err, err_size, "last run: %s", mysql_stmt_error(stmt));
        rc = HG_EDB;
    } else if (mysql_stmt_fetch(stmt) == 0 && len[0] == HG_RUNID_SIZE) {
        char id[HG_RUNID_STR_LEN + 1], st[40], ft[40] = "";
        hg_runid_format(run_id, id);
        status[len[1] < sizeof status ? len[1] : sizeof status - 1] = '\0';
        hg_time_format_ms(hg_db_time_to_ms(&sched), st, sizeof st);
        if (!is_null[3]) hg_time_format_ms(hg_db_time_to_ms(&fin), ft, sizeof ft);
        a->last_run = json_pack("{s:s, s:s, s:s, s:s?}", "id", id, "status", status, "scheduled_at",
                                st, "finished_at", ft[0] ? ft : NULL);
    }
    mysql_stmt_free_result(stmt);
    mysql_stmt_close(stmt);
    return rc;
}

void hg_api__job_add_outlook(hg_api_ctx_t *c, json_t *job)
{
    json_object_set_new(job, "next_fires",
                        hg_job_ext_next_fires(job, hg_now_ms(), HG_JOB_NEXT_FIRES));
    s_edit_op_t a = {.id = (uint64_t) json_integer_value(json_object_get(job, "id"))};
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_last_run, &a, err, sizeof err);
    if (rc != 0) hg_debug("api: last run of job %llu: %s", (unsigned long long) a.id, err);
    json_object_set_new(job, "last_run", a.last_run ? a.last_run : json_null());
}
