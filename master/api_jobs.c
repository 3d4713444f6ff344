/* api_jobs: the job routes of the REST API (docs/api.md): list, create,
 * batch create, get, delete, pause, resume and trigger. A job is written
 * to MySQL first and the cluster actor is told after, under the server's
 * write lock (api_internal.h); a job is shown redacted unless an admin
 * asks ?reveal=true. Which role a route needs is in auth.c's route table;
 * what depends on the job itself (shell and thread jobs, plug-ins pushed
 * by an admin, trigger params) is checked here. */
#include "api_console.h"
#include "api_fires.h"
#include "api_internal.h"
#include "auth.h"
#include "cluster.h"
#include "deps.h"
#include "job.h"
#include "job_db.h"
#include "plugins.h"
#include "redact.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_proto.h"

#include <czmq.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define S_JOBS_LIMIT_MAX 1000

/* Set "node" on job from the cluster's view (null when none or unknown). */
static void s_add_node(hg_api_t *api, json_t *job)
{
    char node[256] = "";
    hg_cluster_client_t *cl = hg_api__cluster(api);
    json_int_t id = json_integer_value(json_object_get(job, "id"));
    int rc = cl ? hg_cluster_job_node(cl, (uint64_t) id, node, sizeof node) : HG_EUNAVAIL;
    if (rc != 0 && rc != HG_ENOTFOUND)
        hg_debug("api: node of job %lld: %s", (long long) id, hg_strerror(rc));
    json_object_set_new(job, "node", rc == 0 && node[0] ? json_string(node) : json_null());
}

/* Set "placement" on job: where the cluster placed it or why it waits
 * (routing); left out when the cluster does not hold it (paused). */
static void s_add_placement(hg_api_t *api, json_t *job)
{
    hg_cluster_client_t *cl = hg_api__cluster(api);
    json_int_t id = json_integer_value(json_object_get(job, "id"));
    json_t *placement = cl ? hg_cluster_job_placement(cl, (uint64_t) id) : NULL;
    if (placement) json_object_set_new(job, "placement", placement);
}

/* Tell the cluster that these jobs (as stored) were created, in one
 * request, and set "node" on each from its answer. The jobs are already
 * durable, so a failure is logged, not answered: the request succeeded. */
static void s_upsert_created(hg_api_t *api, json_t *jobs)
{
    hg_cluster_client_t *cl = hg_api__cluster(api);
    json_t *nodes = NULL;
    int rc = cl ? hg_cluster_job_upsert_many(cl, jobs, &nodes) : HG_EUNAVAIL;
    if (rc != 0)
        hg_warn("api: cluster did not take %zu new jobs: %s", json_array_size(jobs),
                hg_strerror(rc));
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        if (rc != 0) {
            /* The cluster may still be reading the jobs: answer copies. */
            job = json_copy(job);
            if (!job || json_array_set_new(jobs, i, job)) continue;
        }
        json_t *node = json_array_get(nodes, i);
        json_object_set_new(job, "node",
                            json_string_length(node) > 0 ? json_incref(node) : json_null());
    }
    json_decref(nodes);
}

/* Tell the cluster that job (as stored) changed. The job is already
 * durable, so a failure is logged, not answered: the request succeeded. */
static void s_upsert(hg_api_t *api, json_t *job)
{
    hg_cluster_client_t *cl = hg_api__cluster(api);
    int rc = cl ? hg_cluster_job_upsert(cl, job) : HG_EUNAVAIL;
    if (rc != 0)
        hg_warn("api: cluster did not take job %s/%s: %s",
                json_string_value(json_object_get(job, "namespace")),
                json_string_value(json_object_get(job, "name")), hg_strerror(rc));
}

/* "namespace/name" of a job route, for the audit log. */
static void s_object_job(hg_api_ctx_t *c, const char *ns, const char *name)
{
    snprintf(c->object, sizeof c->object, "%s/%s", ns ? ns : "default", name ? name : "");
}

/* A job as this caller may see it (new reference): a copy with its
 * secrets redacted, or the job itself for an admin's ?reveal=true. */
static json_t *s_shown(hg_api_ctx_t *c, json_t *job)
{
    if (c->reveal) return json_incref(job);
    json_t *shown = hg_redact_copy(job);
    return shown ? shown : json_null();
}

/* The same for a list: a new array of the jobs as shown (copying a
 * thousand jobs of a batch to redact none of them was a quarter of the
 * master's CPU in a batched creation). */
static json_t *s_shown_all(hg_api_ctx_t *c, json_t *jobs)
{
    if (c->reveal) return json_incref(jobs);
    json_t *shown = json_array();
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        /* json_array_append_new takes the reference even when it fails. */
        json_t *one = shown ? hg_redact_copy(job) : NULL;
        if (!one || json_array_append_new(shown, one) != 0) {
            json_decref(shown);
            return json_array();
        }
    }
    return shown ? shown : json_array();
}

typedef struct {
    const char *sha256;    /* in: a job's plugin.sha256 */
    hg_plugin_meta_t meta; /* out: the stored plug-in */
} s_sha_op_t;

static int s_op_sha_meta(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_sha_op_t *a = arg;
    return hg_plugin_db_get(db, a->sha256, &a->meta, err, err_size);
}

/* A job that runs any code its writer chooses (shell, thread isolation)
 * is the admin's to create, delete, or trigger with parameters. True when
 * the caller may; otherwise the reply is set (403, or 503 when MySQL
 * cannot say what a plug-in hash is). */
bool hg_api__may_write_job(hg_api_ctx_t *c, const json_t *job, const char *what)
{
    if (c->who.role >= HG_ROLE_ADMIN) return true;
    char msg[300];
    if (hg_auth_job_needs_admin(job)) {
        snprintf(msg, sizeof msg, "%s of a job using the shell plug-in or thread isolation", what);
        hg_api__forbidden(c, HG_ROLE_ADMIN, msg);
        return false;
    }
    /* A plug-in named by its hash alone is what the master stores under
     * that hash: the shell plug-in pushed by an admin stays the admin's. */
    s_sha_op_t a = {
        .sha256 = json_string_value(json_object_get(json_object_get(job, "plugin"), "sha256"))};
    if (!a.sha256) return true;
    char err[512];
    int rc = hg_api__with_db(c->api, s_op_sha_meta, &a, err, sizeof err);
    if (rc == 0) {
        json_t *named = json_pack("{s:{s:s}}", "plugin", "name", a.meta.name);
        bool admin_only = named && hg_auth_job_needs_admin(named);
        json_decref(named);
        if (!admin_only) return true;
        snprintf(msg, sizeof msg, "%s of a job running plug-in %s (sha256 %.12s...)", what,
                 a.meta.name, a.sha256);
    } else if (rc == HG_ENOTFOUND) {
        /* Only a worker's cache could still hold it: whatever it was. */
        snprintf(msg, sizeof msg, "%s of a job naming a plug-in hash the master does not store",
                 what);
    } else {
        hg_api__db_error(c, rc, err);
        return false;
    }
    hg_api__forbidden(c, HG_ROLE_ADMIN, msg);
    return false;
}

/* Arguments and results of the job database steps. */
typedef struct {
    json_t *jobs;          /* in: normalized jobs to insert; out: as stored */
    json_t *stored;        /* out: array of stored jobs */
    size_t failed;         /* out: index of the job that failed (batch) */
    const char *ns;        /* namespace */
    const char *name;      /* job name */
    const char *status;    /* new status (pause/resume), list filter */
    int limit, offset;     /* list paging */
    int64_t total;         /* out: list total */
    json_t *job;           /* out: one stored job */
    hg_job_stmts_t *stmts; /* statements kept on the connection */
    bool cascade;          /* delete: the job's dependents too */
    bool admin;            /* delete: the caller is an admin (may cascade to any job) */
    json_t *dependents;    /* out: delete: its dependents, nearest first (deps.h) */
    json_t *cascaded;      /* out: delete: the dependents deleted with it (stored jobs) */
    bool deps_refused;     /* out: the dependency graph refused the jobs (deps_*) */
    char deps_field[256];  /* out: its field */
    char deps_msg[1024];   /* out: its message */
} s_jobs_op_t;

/* Insert every job of a->jobs in one transaction; a->stored gets them as
 * stored. */
static int s_op_insert(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    bool batch = json_array_size(a->jobs) > 1;
    /* A job with parents writes its edges too: one transaction. */
    bool txn = batch || hg_deps_any(a->jobs);
    a->deps_refused = false;
    if (txn && mysql_autocommit(db, 0)) {
        snprintf(err, err_size, "start transaction: %s", mysql_error(db));
        return HG_EDB;
    }
    json_decref(a->stored);
    a->stored = NULL;
    int rc = hg_deps_db_check(db, a->jobs, batch, a->deps_field, sizeof a->deps_field, a->deps_msg,
                              sizeof a->deps_msg);
    if (rc == HG_EINVAL) a->deps_refused = true;
    if (rc == HG_EDB) snprintf(err, err_size, "%s", a->deps_msg);
    if (rc == 0)
        rc = hg_job_db_create(db, a->stmts, a->jobs, &a->stored, &a->failed, err, err_size);
    if (rc == 0) rc = hg_deps_db_put_all(db, a->stored, err, err_size);
    if (txn) {
        if (rc == 0 && mysql_commit(db)) {
            snprintf(err, err_size, "commit: %s", mysql_error(db));
            rc = HG_EDB;
        }
        /* On a lost connection these fail as well, which leaves
         * mysql_errno saying so for hg_api__with_db. */
        if (rc != 0) mysql_rollback(db);
        mysql_autocommit(db, 1);
    }
    if (rc != 0) {
        json_decref(a->stored);
        a->stored = NULL;
    }
    return rc;
}

/* Reply to a failed insert of job index i (batch: fields prefixed). */
static void s_insert_error(hg_api_ctx_t *c, s_jobs_op_t *a, int rc, const char *err, bool batch,
                           size_t i)
{
    if (a->deps_refused) {
        hg_api__invalid(c, a->deps_field, a->deps_msg);
        return;
    }
    if (rc == HG_EEXIST && batch) {
        char field[64];
        snprintf(field, sizeof field, "jobs[%zu].name", i);
        hg_api__error(c, MHD_HTTP_CONFLICT, "already_exists", field, "%s: %s", field, err);
        return;
    }
    hg_api__db_error(c, rc, err);
}

/* Create checks beyond validation: the namespace is in the caller's
 * scope (a scoped token's jobs land in its namespace by default), and a
 * job that runs arbitrary code comes from an admin. */
static bool s_may_create(hg_api_ctx_t *c, json_t *job)
{
    return hg_api__in_scope(c, json_string_value(json_object_get(job, "namespace"))) &&
           hg_api__may_write_job(c, job, "creation");
}

static void s_scope_default(hg_api_ctx_t *c, json_t *body)
{
    if (c->who.ns[0] && json_is_object(body) && !json_object_get(body, "namespace"))
        json_object_set_new(body, "namespace", json_string(c->who.ns));
}

void hg_api__jobs_create(hg_api_ctx_t *c)
{
    bool failed;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    s_scope_default(c, body);
    char field[256], message[1024];
    json_t *job = hg_job_validate(body, field, sizeof field, message, sizeof message);
    json_decref(body);
    if (!job) {
        hg_api__invalid(c, field, message);
        return;
    }
    s_object_job(c, json_string_value(json_object_get(job, "namespace")),
                 json_string_value(json_object_get(job, "name")));
    if (!s_may_create(c, job)) {
        json_decref(job);
        return;
    }
    s_jobs_op_t a = {.jobs = json_pack("[o]", job), .stmts = hg_api__stmts(c->api)};
    char err[1024];
    /* A job with parents reads theirs (cycles, fan-in): it waits for every
     * other write; one without waits only for writes of its name. */
    bool alone = hg_deps_any(a.jobs);
    unsigned stripe = 0;
    if (alone)
        hg_api__write_begin(c->api);
    else
        stripe =
            hg_api__write_begin_job(c->api, json_string_value(json_object_get(job, "namespace")),
                                    json_string_value(json_object_get(job, "name")));
    int rc = hg_api__with_db(c->api, s_op_insert, &a, err, sizeof err);
    if (rc == 0) s_upsert_created(c->api, a.stored);
    if (alone)
        hg_api__write_end(c->api);
    else
        hg_api__write_end_job(c->api, stripe);
    if (rc != 0)
        s_insert_error(c, &a, rc, err, false, 0);
    else
        hg_api__reply(c, MHD_HTTP_CREATED, s_shown(c, json_array_get(a.stored, 0)));
    json_decref(a.jobs);
    json_decref(a.stored);
}

/* Validate every job of a batch (list, a non-empty array) into a new
 * array of normalized jobs, and put their names in the audit object.
 * NULL with the reply set when one is refused. */
static json_t *s_batch_validate(hg_api_ctx_t *c, json_t *list)
{
    json_t *jobs = json_array();
    zhashx_t *names = zhashx_new(); /* "namespace/name" -> index in the batch + 1 */
    if (!jobs || !names) {
        json_decref(jobs);
        zhashx_destroy(&names);
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "out of memory");
        return NULL;
    }
    size_t i;
    json_t *val;
    json_array_foreach(list, i, val)
    {
        char field[256], message[1024], pfield[300], pmessage[1400];
        s_scope_default(c, val);
        json_t *job = hg_job_validate(val, field, sizeof field, message, sizeof message);
        if (job && !s_may_create(c, job)) {
            json_decref(job);
            json_decref(jobs);
            zhashx_destroy(&names);
            return NULL;
        }
        if (!job) {
            snprintf(pfield, sizeof pfield, "jobs[%zu].%s", i, field);
            snprintf(pmessage, sizeof pmessage, "jobs[%zu].%s", i, message);
            hg_api__invalid(c, pfield, pmessage);
            json_decref(jobs);
            zhashx_destroy(&names);
            return NULL;
        }
        /* A name twice in one batch would fail as a duplicate key; say
         * which entries clash instead. */
        char name_key[600];
        snprintf(name_key, sizeof name_key, "%s/%s",
                 json_string_value(json_object_get(job, "namespace")),
                 json_string_value(json_object_get(job, "name")));
        uintptr_t prev = (uintptr_t) zhashx_lookup(names, name_key);
        if (prev) {
            snprintf(pfield, sizeof pfield, "jobs[%zu].name", i);
            snprintf(pmessage, sizeof pmessage, "jobs[%zu].name: \"%s\" is also jobs[%zu]", i,
                     json_string_value(json_object_get(job, "name")), (size_t) prev - 1);
            hg_api__invalid(c, pfield, pmessage);
            json_decref(job);
            json_decref(jobs);
            zhashx_destroy(&names);
            return NULL;
        }
        zhashx_insert(names, name_key, (void *) (uintptr_t) (i + 1));
        json_array_append_new(jobs, job);
        /* The audit object: as many of the names as fit. */
        size_t used = strlen(c->object), add = strlen(name_key) + (used ? 1 : 0);
        if (used + add < sizeof c->object) {
            if (used) c->object[used++] = ',';
            memcpy(c->object + used, name_key, strlen(name_key) + 1);
        }
    }
    zhashx_destroy(&names);
    return jobs;
}

void hg_api__jobs_batch(hg_api_ctx_t *c)
{
    bool failed;
    json_t *body = hg_api__body_json(c, false, &failed);
    if (failed) return;
    json_t *list = json_object_get(body, "jobs");
    if (!hg_api__only_field(c, body, "jobs")) {
        json_decref(body);
        return;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        hg_api__invalid(c, "jobs", "jobs: must be a non-empty array of jobs");
        json_decref(body);
        return;
    }
    json_t *jobs = s_batch_validate(c, list);
    json_decref(body);
    if (!jobs) return;

    s_jobs_op_t a = {.jobs = jobs, .stmts = hg_api__stmts(c->api)};
    char err[1024];
    hg_api__write_begin(c->api);
    int rc = hg_api__with_db(c->api, s_op_insert, &a, err, sizeof err);
    /* Committed: now (outside the transaction) tell the cluster. */
    if (rc == 0) s_upsert_created(c->api, a.stored);
    hg_api__write_end(c->api);
    if (rc != 0)
        s_insert_error(c, &a, rc, err, true, a.failed);
    else
        hg_api__reply(c, MHD_HTTP_CREATED, json_pack("{s:o}", "jobs", s_shown_all(c, a.stored)));
    json_decref(a.jobs);
    json_decref(a.stored);
}

static int s_op_list(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    json_decref(a->stored);
    a->stored = NULL;
    return hg_job_db_list(db, a->ns, a->status, a->limit, a->offset, &a->stored, &a->total, err,
                          err_size);
}

void hg_api__jobs_list(hg_api_ctx_t *c)
{
    if (hg_api__jobs_page_wanted(c)) { /* keyset paging (api_console.h) */
        hg_api__jobs_page(c);
        return;
    }
    const char *ns = hg_api__arg(c, "namespace"), *status = hg_api__arg(c, "status");
    if (ns && !hg_api__is_ident(ns, 64)) {
        hg_api__invalid(c, "namespace",
                        "namespace: must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit");
        return;
    }
    if (!ns && c->who.ns[0]) ns = c->who.ns; /* a scoped token lists its namespace */
    if (ns && !hg_api__in_scope(c, ns)) return;
    if (status && strcmp(status, "active") != 0 && strcmp(status, "paused") != 0 &&
        strcmp(status, "completed") != 0) {
        hg_api__invalid(c, "status", "status: must be one of active, paused, completed");
        return;
    }
    long limit, offset;
    if (hg_api__int_arg(c, "limit", 100, 1, S_JOBS_LIMIT_MAX, &limit) ||
        hg_api__int_arg(c, "offset", 0, 0, INT_MAX, &offset))
        return;
    s_jobs_op_t a = {.ns = ns, .status = status, .limit = (int) limit, .offset = (int) offset};
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_list, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
    } else {
        size_t i;
        json_t *job;
        json_array_foreach(a.stored, i, job) s_add_node(c->api, job);
        hg_api__reply(c, MHD_HTTP_OK,
                      json_pack("{s:o, s:I}", "jobs", s_shown_all(c, a.stored), "total",
                                (json_int_t) a.total));
    }
    json_decref(a.stored);
}

static int s_op_get(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    json_decref(a->job);
    a->job = NULL;
    return hg_job_db_get(db, a->ns, a->name, &a->job, err, err_size);
}

/* Delete the job, and with cascade its dependents, in one transaction.
 * HG_EEXIST: it has dependents and no cascade was asked (a->dependents). */
static int s_op_delete(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    json_decref(a->dependents);
    json_decref(a->cascaded);
    a->dependents = a->cascaded = NULL;
    if (mysql_autocommit(db, 0)) {
        snprintf(err, err_size, "start transaction: %s", mysql_error(db));
        return HG_EDB;
    }
    int rc = s_op_get(db, arg, err, err_size);
    if (rc == 0) rc = hg_deps_db_dependents(db, a->ns, a->name, &a->dependents, err, err_size);
    if (rc == 0 && json_array_size(a->dependents) > 0 && !a->cascade) rc = HG_EEXIST;
    if (rc == 0) rc = hg_deps_db_delete_jobs(db, a->ns, a->dependents, &a->cascaded, err, err_size);
    /* A shell or thread job is the admin's to delete, also by cascade. */
    size_t i;
    json_t *dep;
    json_array_foreach(a->admin ? NULL : a->cascaded, i,
                       dep) if (rc == 0 && hg_auth_job_needs_admin(dep)) rc = HG_ERANGE;
    if (rc == 0) rc = hg_deps_db_forget(db, a->ns, a->name, err, err_size);
    if (rc == 0)
        rc = hg_job_db_delete(db, (uint64_t) json_integer_value(json_object_get(a->job, "id")), err,
                              err_size);
    if (rc == 0 && mysql_commit(db)) {
        snprintf(err, err_size, "commit: %s", mysql_error(db));
        rc = HG_EDB;
    }
    if (rc != 0) mysql_rollback(db);
    mysql_autocommit(db, 1);
    return rc;
}

/* Change the status (unless it is already that) and read the job back. */
static int s_op_set_status(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    int rc = s_op_get(db, arg, err, err_size);
    if (rc != 0) return rc;
    if (strcmp(json_string_value(json_object_get(a->job, "status")), a->status) == 0) return 0;
    rc = hg_job_db_set_status(db, (uint64_t) json_integer_value(json_object_get(a->job, "id")),
                              a->status, err, err_size);
    if (rc == HG_ENOTFOUND) /* deleted in between */
        snprintf(err, err_size, "job \"%s\" not found in namespace \"%s\"", a->name, a->ns);
    return rc ? rc : s_op_get(db, arg, err, err_size);
}

void hg_api__job_get(hg_api_ctx_t *c, const char *name)
{
    bool ok;
    s_jobs_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        return;
    }
    s_add_node(c->api, a.job);
    hg_api__job_add_outlook(c, a.job);
    s_add_placement(c->api, a.job);
    hg_api__job_last_fire(c->api, a.job);
    hg_api__reply(c, MHD_HTTP_OK, s_shown(c, a.job));
    json_decref(a.job);
}

void hg_api__job_delete(hg_api_ctx_t *c, const char *name)
{
    bool ok;
    s_jobs_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok || !hg_api__deps_cascade_arg(c, &a.cascade)) return;
    a.admin = c->who.role >= HG_ROLE_ADMIN;
    s_object_job(c, a.ns, name);
    char err[1024];
    if (c->who.role < HG_ROLE_ADMIN) {
        /* Look first: a shell job is the admin's to delete. */
        int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
        if (rc != 0) {
            hg_api__db_error(c, rc, err);
            json_decref(a.job);
            return;
        }
        bool may = hg_api__may_write_job(c, a.job, "deletion");
        json_decref(a.job);
        a.job = NULL;
        if (!may) return;
    }
    hg_api__write_begin(c->api);
    int rc = hg_api__with_db(c->api, s_op_delete, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__write_end(c->api);
        if (rc == HG_EEXIST)
            hg_api__deps_refuse_delete(c, name, a.dependents);
        else if (rc == HG_ERANGE)
            hg_api__forbidden(c, HG_ROLE_ADMIN,
                              "cascaded deletion of a job using the shell plug-in or thread "
                              "isolation");
        else
            hg_api__db_error(c, rc, err);
        json_decref(a.job);
        json_decref(a.dependents);
        json_decref(a.cascaded);
        return;
    }
    uint64_t id = (uint64_t) json_integer_value(json_object_get(a.job, "id"));
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    int crc = cl ? hg_cluster_job_remove(cl, id) : HG_EUNAVAIL;
    json_t *names = hg_api__deps_drop_cascaded(c, a.cascaded);
    hg_api__write_end(c->api);
    if (crc != 0) hg_warn("api: cluster did not drop job %s/%s: %s", a.ns, name, hg_strerror(crc));
    json_decref(a.job);
    json_decref(a.dependents);
    json_decref(a.cascaded);
    hg_api__reply(c, MHD_HTTP_OK, json_pack("{s:s, s:o}", "deleted", name, "cascaded", names));
}

void hg_api__job_set_status(hg_api_ctx_t *c, const char *name, const char *status)
{
    bool ok;
    s_jobs_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name, .status = status};
    if (!ok) return;
    s_object_job(c, a.ns, name);
    char err[1024];
    unsigned stripe = hg_api__write_begin_job(c->api, a.ns, name);
    int rc = hg_api__with_db(c->api, s_op_set_status, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__write_end_job(c->api, stripe);
        hg_api__db_error(c, rc, err);
        json_decref(a.job);
        return;
    }
    s_upsert(c->api, a.job);
    hg_api__write_end_job(c->api, stripe);
    s_add_node(c->api, a.job);
    hg_api__reply(c, MHD_HTTP_OK, s_shown(c, a.job));
    json_decref(a.job);
}

void hg_api__job_trigger(hg_api_ctx_t *c, const char *name)
{
    bool ok, failed;
    s_jobs_op_t a = {.ns = hg_api__ns_arg(c, &ok), .name = name};
    if (!ok) return;
    s_object_job(c, a.ns, name);
    json_t *body = hg_api__body_json(c, true, &failed);
    if (failed) return;
    json_t *params = NULL;
    bool force = false;
    if (body) {
        if (!hg_api__trigger_body(c, body, &force)) {
            json_decref(body);
            return;
        }
        params = json_object_get(body, "params");
        if (json_is_null(params)) params = NULL;
        if (params && !json_is_object(params)) {
            hg_api__invalid(c, "params", "params: must be an object of strings");
            json_decref(body);
            return;
        }
        const char *key;
        json_t *val;
        json_object_foreach(params, key, val)
        {
            char why[128] = "";
            if (!json_is_string(val))
                snprintf(why, sizeof why, "must be a string");
            else if (strlen(json_string_value(val)) != json_string_length(val))
                snprintf(why, sizeof why, "must not contain NUL bytes");
            else if (json_string_length(val) >= HG_PROTO_MAX_STR || strlen(key) >= HG_PROTO_MAX_STR)
                snprintf(why, sizeof why, "keys and values must be shorter than %d bytes",
                         HG_PROTO_MAX_STR);
            else if (strncmp(key, "hourglass.", 10) == 0)
                snprintf(why, sizeof why, "names starting with \"hourglass.\" are reserved");
            if (why[0]) {
                char field[300], msg[500];
                snprintf(field, sizeof field, "params.%s", key);
                snprintf(msg, sizeof msg, "%s: %s", field, why);
                hg_api__invalid(c, field, msg);
                json_decref(body);
                return;
            }
        }
    }
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        json_decref(body);
        return;
    }
    hg_role_t need = hg_auth_trigger_role(a.job, json_object_size(params) > 0);
    if (c->who.role < need) {
        hg_api__forbidden(c, need, "a trigger with params of this job");
        json_decref(a.job);
        json_decref(body);
        return;
    }
    uint64_t id = (uint64_t) json_integer_value(json_object_get(a.job, "id"));
    const char *status = json_string_value(json_object_get(a.job, "status"));
    char node[256] = "";
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    rc = cl ? hg_cluster_trigger_force(cl, id, params, force, node, sizeof node) : HG_EUNAVAIL;
    if (rc == 0) {
        hg_api__reply(c, MHD_HTTP_ACCEPTED, json_pack("{s:s, s:s}", "job", name, "node", node));
    } else if (rc == HG_ENOTFOUND && status && strcmp(status, "active") != 0) {
        hg_api__error(c, MHD_HTTP_CONFLICT, "no_worker", NULL, "job \"%s\" is %s", name, status);
    } else if (rc == HG_ENOTFOUND || rc == HG_EUNAVAIL) {
        hg_api__error(c, MHD_HTTP_CONFLICT, "no_worker", NULL, "no live worker can take job \"%s\"",
                      name);
    } else if (rc == HG_ETIMEOUT) {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                      "the cluster did not answer in time");
    } else {
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "trigger failed: %s",
                      hg_strerror(rc));
    }
    json_decref(a.job);
    json_decref(body);
}
