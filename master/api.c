/* api: the REST API of docs/api.md. libmicrohttpd serves it from a small
 * pool of threads (api.threads). Each thread lazily opens and keeps its
 * own MySQL connection, the statements kept prepared on it, and its own
 * cluster client (s_slot_t); they are closed by hg_api_stop after the
 * threads have been joined.
 *
 * A handler does its database work through s_with_db, which reconnects once
 * when the connection turns out to be gone and answers 503 when MySQL stays
 * unreachable, and only then talks to the cluster actor, outside any
 * transaction. A write holds write_lock from its database step to its
 * cluster notification, so that the cluster learns of changes in the order
 * MySQL committed them (a pause and a resume, a create and a delete). */
#include "api.h"
#include "api_admin.h"
#include "audit.h"
#include "auth.h"
#include "cluster.h"
#include "redact.h"
#include "job.h"
#include "plugins.h"
#include "db.h"
#include "hg_error.h"
#include "hg_log.h"
#include "hg_proto.h"
#include "hg_runid.h"
#include "hg_time.h"

#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <mysql.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define S_JOBS_PREFIX    "/api/v1/jobs/"
#define S_NODES_PREFIX   "/api/v1/nodes/"
#define S_PLUGINS        "/api/v1/plugins"
#define S_DRAIN_MAX      (64ull << 20) /* excess body read and dropped to answer 413 cleanly */
#define S_PLUGINS_PREFIX "/api/v1/plugins/"
#define S_RUNS_LIMIT_MAX 1000
#define S_JOBS_LIMIT_MAX 1000
/* How long a token this master verified keeps working while MySQL cannot
 * be asked (docs/api.md, "Authentication"): long enough for an operator
 * to watch and drain nodes through an outage, short enough that a token
 * revoked during one does not live on for long. */
#define S_AUTH_OUTAGE_GRACE_MS (5 * 60 * 1000)

struct hg_api {
    struct MHD_Daemon *daemon;  /* the HTTP server and its threads */
    int port;                   /* port actually bound */
    hg_db_params_t db;          /* connection settings; strings below */
    char *db_strings[5];        /* owned copies of host, socket, user, password, database */
    pthread_key_t slot_key;     /* each server thread's s_slot_t */
    bool slot_key_made;         /* slot_key was created */
    pthread_mutex_t slots_lock; /* guards slots */
    struct s_slot *slots;       /* every thread's slot, for hg_api_stop */
    pthread_mutex_t write_lock; /* held from a write's SQL to its cluster notification */
    char *data_dir;             /* plug-in copies go under it; NULL: none kept */
    size_t plugin_max_size;     /* largest plug-in upload, bytes */
    hg_auth_cache_t *auth_cache; /* tokens verified lately, shared by the threads */
};

/* What one server thread owns, created on its first request. */
typedef struct s_slot {
    MYSQL *conn;                  /* lazily opened connection */
    hg_job_stmts_t *stmts;        /* statements kept prepared on conn */
    hg_cluster_client_t *cluster; /* lazily created client */
    struct s_slot *next;          /* next in hg_api_t.slots */
} s_slot_t;

/* Per-request state kept by libmicrohttpd between calls of the handler. */
typedef struct {
    char *body;       /* upload data so far (NUL-terminated) */
    size_t len;       /* bytes in body */
    size_t cap;       /* capacity of body */
    size_t limit;     /* largest body this route takes (HG_API_MAX_BODY, or plugin.max_size) */
    bool plugin;      /* a plug-in upload: its limit is plugin.max_size */
    bool too_large;   /* body passed limit; the rest is dropped */
    int64_t start_us; /* monotonic time the request arrived */
    /* An /api/ request is authenticated on its headers, before its body is
     * read: a refused one has its body dropped, never buffered. */
    json_t *denied;        /* the refusal (401, 403, 503) to answer, or NULL */
    int denied_status;     /* its HTTP status */
    hg_principal_t who;    /* the caller, when it passed */
    bool reveal;           /* ?reveal=true by an admin */
    const char *action;    /* audit action of the route, NULL for a read */
    char object[600];      /* audit object known from the URL */
} s_req_t;

/* One request being answered. */
typedef struct {
    hg_api_t *api;               /* the server */
    struct MHD_Connection *conn; /* libmicrohttpd connection */
    const char *method;          /* "GET", "POST", ... */
    const char *url;             /* path, without the query */
    s_req_t *req;                /* upload data */
    int status;                  /* HTTP status to send */
    json_t *reply;               /* body to send */
    const char *allow;           /* Allow header for 405, or NULL */
    char leader[256];            /* Hourglass-Leader header (a standby's 503), "" for none */
    hg_principal_t who;          /* the caller, once authenticated */
    bool reveal;                 /* an admin asked for secrets in clear (?reveal=true) */
    const char *action;          /* audit action of this write, NULL for a read */
    char object[600];            /* audit object ("default/ping"); "" for the path */
} s_ctx_t;

/* ---------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------ */

static void s_reply(s_ctx_t *c, int status, json_t *body)
{
    json_decref(c->reply);
    c->status = status;
    c->reply = body;
}

/* {"error": {"code", "message"[, "field"]}} */
__attribute__((format(printf, 5, 6))) static void s_error(s_ctx_t *c, int status, const char *code,
                                                          const char *field, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (!err) /* message was not valid UTF-8 */
        err = json_pack("{s:s, s:s}", "code", code, "message", "(unprintable message)");
    if (field) json_object_set_new(err, "field", json_string(field));
    s_reply(c, status, json_pack("{s:o}", "error", err));
}

static void s_invalid(s_ctx_t *c, const char *field, const char *message)
{
    s_error(c, MHD_HTTP_BAD_REQUEST, "invalid_argument", field, "%s", message);
}

/* Map a negative HG_E* code of a database step to a reply. */
static void s_db_error(s_ctx_t *c, int rc, const char *err)
{
    switch (rc) {
    case HG_ENOTFOUND:
        s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", err);
        break;
    case HG_EEXIST:
        s_error(c, MHD_HTTP_CONFLICT, "already_exists", "name", "%s", err);
        break;
    case HG_EUNAVAIL:
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", err);
        break;
    default:
        hg_error("api: %s %s: %s", c->method, c->url, err[0] ? err : hg_strerror(rc));
        s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "database error: %s",
                err[0] ? err : hg_strerror(rc));
        break;
    }
}

/* Replace bytes that are not UTF-8, and NUL, with U+FFFD so that jansson
 * takes the text (run output excerpts are raw bytes). */
static json_t *s_json_text(const char *s, size_t len)
{
    /* NUL is valid UTF-8 but many JSON readers refuse "\u0000". */
    json_t *v = memchr(s, '\0', len) ? NULL : json_stringn(s, len);
    if (v) return v;
    char *out = malloc(len * 3 + 1);
    if (!out) return json_null();
    size_t n = 0;
    const unsigned char *p = (const unsigned char *) s;
    for (size_t i = 0; i < len;) {
        size_t need = p[i] < 0x80         ? 1
                      : (p[i] >> 5) == 6  ? 2
                      : (p[i] >> 4) == 14 ? 3
                      : (p[i] >> 3) == 30 ? 4
                                          : 0;
        bool ok = need > 0 && i + need <= len && p[i] != 0;
        for (size_t k = 1; ok && k < need; k++)
            ok = (p[i + k] & 0xC0) == 0x80;
        if (ok && need > 1) {
            /* Overlong forms, surrogates and values past U+10FFFF. */
            json_t *probe = json_stringn((const char *) p + i, need);
            ok = probe != NULL;
            json_decref(probe);
        }
        if (ok) {
            memcpy(out + n, p + i, need);
            n += need;
            i += need;
        } else {
            memcpy(out + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i++;
        }
    }
    v = json_stringn(out, n);
    free(out);
    return v ? v : json_null();
}

/* ---------------------------------------------------------------------------
 * Database and cluster access (each server thread its own)
 * ------------------------------------------------------------------------ */

typedef int (*s_db_op_t)(MYSQL *db, void *arg, char *err, size_t err_size);

/* The calling server thread's slot, created on first use; NULL when out
 * of memory. */
static s_slot_t *s_slot(hg_api_t *api)
{
    s_slot_t *slot = pthread_getspecific(api->slot_key);
    if (slot) return slot;
    slot = calloc(1, sizeof *slot);
    if (slot) slot->stmts = hg_job_stmts_new();
    if (!slot || !slot->stmts || pthread_setspecific(api->slot_key, slot) != 0) {
        if (slot) hg_job_stmts_destroy(&slot->stmts);
        free(slot);
        hg_warn("api: out of memory for a server thread's state");
        return NULL;
    }
    pthread_mutex_lock(&api->slots_lock);
    slot->next = api->slots;
    api->slots = slot;
    pthread_mutex_unlock(&api->slots_lock);
    return slot;
}

static void s_slot_destroy(s_slot_t **p)
{
    s_slot_t *slot = *p;
    hg_job_stmts_destroy(&slot->stmts);
    hg_db_close(&slot->conn);
    hg_cluster_client_destroy(&slot->cluster);
    free(slot);
    *p = NULL;
}

/* The statements kept on this thread's connection (NULL: none kept). */
static hg_job_stmts_t *s_stmts(hg_api_t *api)
{
    s_slot_t *slot = s_slot(api);
    return slot ? slot->stmts : NULL;
}

/* Run op on this thread's connection, opening it if needed. When op fails
 * because the server is gone, reconnect once and run it again. Returns op's
 * result, or HG_EUNAVAIL with "database unavailable: <reason>" in err. */
static int s_with_db(hg_api_t *api, s_db_op_t op, void *arg, char *err, size_t err_size)
{
    s_slot_t *slot = s_slot(api);
    if (!slot) {
        snprintf(err, err_size, "out of memory");
        return HG_ENOMEM;
    }
    char reason[512];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!slot->conn) {
            slot->conn = hg_db_connect(&api->db, reason, sizeof reason);
            if (!slot->conn) {
                hg_warn("api: %s", reason);
                snprintf(err, err_size, "database unavailable: %s", reason);
                return HG_EUNAVAIL;
            }
        }
        err[0] = '\0';
        int rc = op(slot->conn, arg, err, err_size);
        /* Closing a statement after the server went away clears
         * mysql_errno, so a connection whose socket is gone counts as lost
         * too (Connector/C drops the socket on a lost connection). */
        unsigned int e = mysql_errno(slot->conn);
        if (rc != HG_EDB || !(hg_db_is_conn_error(e) || mysql_get_socket(slot->conn) < 0))
            return rc;
        snprintf(reason, sizeof reason, "%s", err);
        hg_warn("api: lost the database connection (%u: %s)%s", e, reason,
                attempt == 0 ? ", reconnecting" : "");
        hg_job_stmts_reset(slot->stmts);
        hg_db_close(&slot->conn);
        if (attempt == 1) snprintf(err, err_size, "database unavailable: %s", reason);
    }
    return HG_EUNAVAIL;
}

static hg_cluster_client_t *s_cluster(hg_api_t *api)
{
    s_slot_t *slot = s_slot(api);
    if (!slot) return NULL;
    if (!slot->cluster) {
        slot->cluster = hg_cluster_client_new();
        if (!slot->cluster) hg_warn("api: cannot create a cluster client");
    }
    return slot->cluster;
}

/* Around a write's database step and its cluster notification. */
static void s_write_begin(hg_api_t *api)
{
    pthread_mutex_lock(&api->write_lock);
}

static void s_write_end(hg_api_t *api)
{
    pthread_mutex_unlock(&api->write_lock);
}

/* Set "node" on job from the cluster's view (null when none or unknown). */
static void s_add_node(hg_api_t *api, json_t *job)
{
    char node[256] = "";
    hg_cluster_client_t *cl = s_cluster(api);
    json_int_t id = json_integer_value(json_object_get(job, "id"));
    int rc = cl ? hg_cluster_job_node(cl, (uint64_t) id, node, sizeof node) : HG_EUNAVAIL;
    if (rc != 0 && rc != HG_ENOTFOUND)
        hg_debug("api: node of job %lld: %s", (long long) id, hg_strerror(rc));
    json_object_set_new(job, "node", rc == 0 && node[0] ? json_string(node) : json_null());
}

/* Tell the cluster that these jobs (as stored) were created, in one
 * request, and set "node" on each from its answer. The jobs are already
 * durable, so a failure is logged, not answered: the request succeeded. */
static void s_upsert_created(hg_api_t *api, json_t *jobs)
{
    hg_cluster_client_t *cl = s_cluster(api);
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
    hg_cluster_client_t *cl = s_cluster(api);
    int rc = cl ? hg_cluster_job_upsert(cl, job) : HG_EUNAVAIL;
    if (rc != 0)
        hg_warn("api: cluster did not take job %s/%s: %s",
                json_string_value(json_object_get(job, "namespace")),
                json_string_value(json_object_get(job, "name")), hg_strerror(rc));
}

/* ---------------------------------------------------------------------------
 * Request helpers
 * ------------------------------------------------------------------------ */

static const char *s_arg(s_ctx_t *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* Integer query argument within [min, max], def when absent. */
static int s_int_arg(s_ctx_t *c, const char *name, long def, long min, long max, long *out)
{
    const char *v = s_arg(c, name);
    *out = def;
    if (!v) return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < min || n > max) {
        char msg[256];
        if (max >= INT_MAX)
            snprintf(msg, sizeof msg, "%s: must be an integer >= %ld", name, min);
        else
            snprintf(msg, sizeof msg, "%s: must be an integer %ld-%ld", name, min, max);
        s_invalid(c, name, msg);
        return HG_EINVAL;
    }
    *out = n;
    return 0;
}

/* [A-Za-z0-9._-], starting with a letter or digit: the charset of job
 * names and namespaces. */
static bool s_is_ident(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* True when the caller's token may act in namespace ns; otherwise the
 * reply is set (403). A token scoped to a namespace sees nothing else. */
static bool s_in_scope(s_ctx_t *c, const char *ns)
{
    if (!c->who.ns[0] || strcmp(c->who.ns, ns) == 0) return true;
    s_error(c, MHD_HTTP_FORBIDDEN, "forbidden", "namespace",
            "namespace: this token is scoped to namespace \"%s\"", c->who.ns);
    return false;
}

/* The namespace query argument: "default" when absent, or the namespace
 * the caller's token is scoped to. */
static const char *s_ns_arg(s_ctx_t *c, bool *ok)
{
    const char *ns = s_arg(c, "namespace");
    *ok = true;
    if (ns && !s_is_ident(ns, 64)) {
        s_invalid(c, "namespace",
                  "namespace: must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                  "letter or digit");
        *ok = false;
    }
    if (!ns && c->who.ns[0]) ns = c->who.ns;
    if (*ok && !s_in_scope(c, ns ? ns : "default")) *ok = false;
    return ns ? ns : "default";
}

/* "namespace/name" of a job route, for the audit log. */
static void s_object_job(s_ctx_t *c, const char *ns, const char *name)
{
    snprintf(c->object, sizeof c->object, "%s/%s", ns ? ns : "default", name ? name : "");
}

/* A job as this caller may see it (new reference): a copy with its
 * secrets redacted, or the job itself for an admin's ?reveal=true. */
static json_t *s_shown(s_ctx_t *c, json_t *job)
{
    if (c->reveal) return json_incref(job);
    json_t *copy = json_deep_copy(job);
    if (!copy) return json_null();
    hg_redact_job(copy);
    return copy;
}

static json_t *s_shown_all(s_ctx_t *c, json_t *jobs)
{
    if (c->reveal) return json_incref(jobs);
    json_t *copy = json_deep_copy(jobs);
    if (!copy) return json_array();
    hg_redact_jobs(copy);
    return copy;
}

static void s_forbidden(s_ctx_t *c, hg_role_t need, const char *what)
{
    s_error(c, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
            "%s needs the %s role; token \"%s\" has the %s role", what, hg_role_name(need),
            c->who.name, hg_role_name(c->who.role));
    json_object_set_new(json_object_get(c->reply, "error"), "role",
                        json_string(hg_role_name(need)));
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
static bool s_may_write_job(s_ctx_t *c, const json_t *job, const char *what)
{
    if (c->who.role >= HG_ROLE_ADMIN) return true;
    char msg[300];
    if (hg_auth_job_needs_admin(job)) {
        snprintf(msg, sizeof msg, "%s of a job using the shell plug-in or thread isolation", what);
        s_forbidden(c, HG_ROLE_ADMIN, msg);
        return false;
    }
    /* A plug-in named by its hash alone is what the master stores under
     * that hash: the shell plug-in pushed by an admin stays the admin's. */
    s_sha_op_t a = {.sha256 = json_string_value(
                        json_object_get(json_object_get(job, "plugin"), "sha256"))};
    if (!a.sha256) return true;
    char err[512];
    int rc = s_with_db(c->api, s_op_sha_meta, &a, err, sizeof err);
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
        s_db_error(c, rc, err);
        return false;
    }
    s_forbidden(c, HG_ROLE_ADMIN, msg);
    return false;
}

/* Parse the request body as a JSON object. An empty body gives NULL with
 * *present false when empty_ok; otherwise 400 bad_json. */
static json_t *s_body_json(s_ctx_t *c, bool empty_ok, bool *failed)
{
    *failed = false;
    size_t skip = 0;
    while (skip < c->req->len && strchr(" \t\r\n", c->req->body[skip]))
        skip++;
    if (skip == c->req->len) {
        if (empty_ok) return NULL;
        s_error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL, "body is not a JSON object: empty");
        *failed = true;
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(c->req->body, c->req->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        s_error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL,
                "body is not valid JSON: %s at line %d, column %d", jerr.text, jerr.line,
                jerr.column);
        *failed = true;
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        s_error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL, "body is not a JSON object");
        *failed = true;
        return NULL;
    }
    return body;
}

/* ---------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------ */

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
} s_jobs_op_t;

/* Insert every job of a->jobs in one transaction; a->stored gets them as
 * stored. */
static int s_op_insert(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    bool batch = json_array_size(a->jobs) > 1;
    if (batch && mysql_autocommit(db, 0)) {
        snprintf(err, err_size, "start transaction: %s", mysql_error(db));
        return HG_EDB;
    }
    json_decref(a->stored);
    a->stored = NULL;
    int rc = hg_job_db_create(db, a->stmts, a->jobs, &a->stored, &a->failed, err, err_size);
    if (batch) {
        if (rc == 0 && mysql_commit(db)) {
            snprintf(err, err_size, "commit: %s", mysql_error(db));
            rc = HG_EDB;
        }
        /* On a lost connection these fail as well, which leaves
         * mysql_errno saying so for s_with_db. */
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
static void s_insert_error(s_ctx_t *c, int rc, const char *err, bool batch, size_t i)
{
    if (rc == HG_EEXIST && batch) {
        char field[64];
        snprintf(field, sizeof field, "jobs[%zu].name", i);
        s_error(c, MHD_HTTP_CONFLICT, "already_exists", field, "%s: %s", field, err);
        return;
    }
    s_db_error(c, rc, err);
}

/* Create checks beyond validation: the namespace is in the caller's
 * scope (a scoped token's jobs land in its namespace by default), and a
 * job that runs arbitrary code comes from an admin. */
static bool s_may_create(s_ctx_t *c, json_t *job)
{
    return s_in_scope(c, json_string_value(json_object_get(job, "namespace"))) &&
           s_may_write_job(c, job, "creation");
}

static void s_scope_default(s_ctx_t *c, json_t *body)
{
    if (c->who.ns[0] && json_is_object(body) && !json_object_get(body, "namespace"))
        json_object_set_new(body, "namespace", json_string(c->who.ns));
}

static void s_jobs_create(s_ctx_t *c)
{
    bool failed;
    json_t *body = s_body_json(c, false, &failed);
    if (failed) return;
    s_scope_default(c, body);
    char field[256], message[1024];
    json_t *job = hg_job_validate(body, field, sizeof field, message, sizeof message);
    json_decref(body);
    if (!job) {
        s_invalid(c, field, message);
        return;
    }
    s_object_job(c, json_string_value(json_object_get(job, "namespace")),
                 json_string_value(json_object_get(job, "name")));
    if (!s_may_create(c, job)) {
        json_decref(job);
        return;
    }
    s_jobs_op_t a = {.jobs = json_pack("[o]", job), .stmts = s_stmts(c->api)};
    char err[1024];
    s_write_begin(c->api);
    int rc = s_with_db(c->api, s_op_insert, &a, err, sizeof err);
    if (rc == 0) s_upsert_created(c->api, a.stored);
    s_write_end(c->api);
    if (rc != 0)
        s_insert_error(c, rc, err, false, 0);
    else
        s_reply(c, MHD_HTTP_CREATED, s_shown(c, json_array_get(a.stored, 0)));
    json_decref(a.jobs);
    json_decref(a.stored);
}

static void s_jobs_batch(s_ctx_t *c)
{
    bool failed;
    json_t *body = s_body_json(c, false, &failed);
    if (failed) return;
    json_t *list = json_object_get(body, "jobs");
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, "jobs") != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s: unknown field", key);
            s_invalid(c, key, msg);
            json_decref(body);
            return;
        }
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        s_invalid(c, "jobs", "jobs: must be a non-empty array of jobs");
        json_decref(body);
        return;
    }
    json_t *jobs = json_array();
    zhashx_t *names = zhashx_new(); /* "namespace/name" -> index in the batch + 1 */
    if (!jobs || !names) {
        json_decref(jobs);
        json_decref(body);
        zhashx_destroy(&names);
        s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "out of memory");
        return;
    }
    size_t i;
    json_array_foreach(list, i, val)
    {
        char field[256], message[1024], pfield[300], pmessage[1400];
        s_scope_default(c, val);
        json_t *job = hg_job_validate(val, field, sizeof field, message, sizeof message);
        if (job && !s_may_create(c, job)) {
            json_decref(job);
            json_decref(jobs);
            json_decref(body);
            zhashx_destroy(&names);
            return;
        }
        if (!job) {
            snprintf(pfield, sizeof pfield, "jobs[%zu].%s", i, field);
            snprintf(pmessage, sizeof pmessage, "jobs[%zu].%s", i, message);
            s_invalid(c, pfield, pmessage);
            json_decref(jobs);
            json_decref(body);
            zhashx_destroy(&names);
            return;
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
            s_invalid(c, pfield, pmessage);
            json_decref(job);
            json_decref(jobs);
            json_decref(body);
            zhashx_destroy(&names);
            return;
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
    json_decref(body);
    zhashx_destroy(&names);

    s_jobs_op_t a = {.jobs = jobs, .stmts = s_stmts(c->api)};
    char err[1024];
    s_write_begin(c->api);
    int rc = s_with_db(c->api, s_op_insert, &a, err, sizeof err);
    /* Committed: now (outside the transaction) tell the cluster. */
    if (rc == 0) s_upsert_created(c->api, a.stored);
    s_write_end(c->api);
    if (rc != 0)
        s_insert_error(c, rc, err, true, a.failed);
    else
        s_reply(c, MHD_HTTP_CREATED, json_pack("{s:o}", "jobs", s_shown_all(c, a.stored)));
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

static void s_jobs_list(s_ctx_t *c)
{
    const char *ns = s_arg(c, "namespace"), *status = s_arg(c, "status");
    if (ns && !s_is_ident(ns, 64)) {
        s_invalid(c, "namespace",
                  "namespace: must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                  "letter or digit");
        return;
    }
    if (!ns && c->who.ns[0]) ns = c->who.ns; /* a scoped token lists its namespace */
    if (ns && !s_in_scope(c, ns)) return;
    if (status && strcmp(status, "active") != 0 && strcmp(status, "paused") != 0 &&
        strcmp(status, "completed") != 0) {
        s_invalid(c, "status", "status: must be one of active, paused, completed");
        return;
    }
    long limit, offset;
    if (s_int_arg(c, "limit", 100, 1, S_JOBS_LIMIT_MAX, &limit) ||
        s_int_arg(c, "offset", 0, 0, INT_MAX, &offset))
        return;
    s_jobs_op_t a = {.ns = ns, .status = status, .limit = (int) limit, .offset = (int) offset};
    char err[1024];
    int rc = s_with_db(c->api, s_op_list, &a, err, sizeof err);
    if (rc != 0) {
        s_db_error(c, rc, err);
    } else {
        size_t i;
        json_t *job;
        json_array_foreach(a.stored, i, job) s_add_node(c->api, job);
        s_reply(c, MHD_HTTP_OK,
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

static int s_op_delete(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_jobs_op_t *a = arg;
    int rc = s_op_get(db, arg, err, err_size);
    if (rc == 0)
        rc = hg_job_db_delete(db, (uint64_t) json_integer_value(json_object_get(a->job, "id")), err,
                              err_size);
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

static void s_job_get(s_ctx_t *c, const char *name)
{
    bool ok;
    s_jobs_op_t a = {.ns = s_ns_arg(c, &ok), .name = name};
    if (!ok) return;
    char err[1024];
    int rc = s_with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        s_db_error(c, rc, err);
        return;
    }
    s_add_node(c->api, a.job);
    s_reply(c, MHD_HTTP_OK, s_shown(c, a.job));
    json_decref(a.job);
}

static void s_job_delete(s_ctx_t *c, const char *name)
{
    bool ok;
    s_jobs_op_t a = {.ns = s_ns_arg(c, &ok), .name = name};
    if (!ok) return;
    s_object_job(c, a.ns, name);
    char err[1024];
    if (c->who.role < HG_ROLE_ADMIN) {
        /* Look first: a shell job is the admin's to delete. */
        int rc = s_with_db(c->api, s_op_get, &a, err, sizeof err);
        if (rc != 0) {
            s_db_error(c, rc, err);
            json_decref(a.job);
            return;
        }
        bool may = s_may_write_job(c, a.job, "deletion");
        json_decref(a.job);
        a.job = NULL;
        if (!may) return;
    }
    s_write_begin(c->api);
    int rc = s_with_db(c->api, s_op_delete, &a, err, sizeof err);
    if (rc != 0) {
        s_write_end(c->api);
        s_db_error(c, rc, err);
        json_decref(a.job);
        return;
    }
    uint64_t id = (uint64_t) json_integer_value(json_object_get(a.job, "id"));
    hg_cluster_client_t *cl = s_cluster(c->api);
    int crc = cl ? hg_cluster_job_remove(cl, id) : HG_EUNAVAIL;
    s_write_end(c->api);
    if (crc != 0) hg_warn("api: cluster did not drop job %s/%s: %s", a.ns, name, hg_strerror(crc));
    json_decref(a.job);
    s_reply(c, MHD_HTTP_OK, json_pack("{s:s}", "deleted", name));
}

static void s_job_set_status(s_ctx_t *c, const char *name, const char *status)
{
    bool ok;
    s_jobs_op_t a = {.ns = s_ns_arg(c, &ok), .name = name, .status = status};
    if (!ok) return;
    s_object_job(c, a.ns, name);
    char err[1024];
    s_write_begin(c->api);
    int rc = s_with_db(c->api, s_op_set_status, &a, err, sizeof err);
    if (rc != 0) {
        s_write_end(c->api);
        s_db_error(c, rc, err);
        json_decref(a.job);
        return;
    }
    s_upsert(c->api, a.job);
    s_write_end(c->api);
    s_add_node(c->api, a.job);
    s_reply(c, MHD_HTTP_OK, s_shown(c, a.job));
    json_decref(a.job);
}

static void s_job_trigger(s_ctx_t *c, const char *name)
{
    bool ok, failed;
    s_jobs_op_t a = {.ns = s_ns_arg(c, &ok), .name = name};
    if (!ok) return;
    s_object_job(c, a.ns, name);
    json_t *body = s_body_json(c, true, &failed);
    if (failed) return;
    json_t *params = NULL;
    if (body) {
        const char *key;
        json_t *val;
        json_object_foreach(body, key, val)
        {
            if (strcmp(key, "params") != 0) {
                char msg[300];
                snprintf(msg, sizeof msg, "%s: unknown field", key);
                s_invalid(c, key, msg);
                json_decref(body);
                return;
            }
        }
        params = json_object_get(body, "params");
        if (json_is_null(params)) params = NULL;
        if (params && !json_is_object(params)) {
            s_invalid(c, "params", "params: must be an object of strings");
            json_decref(body);
            return;
        }
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
            if (why[0]) {
                char field[300], msg[500];
                snprintf(field, sizeof field, "params.%s", key);
                snprintf(msg, sizeof msg, "%s: %s", field, why);
                s_invalid(c, field, msg);
                json_decref(body);
                return;
            }
        }
    }
    char err[1024];
    int rc = s_with_db(c->api, s_op_get, &a, err, sizeof err);
    if (rc != 0) {
        s_db_error(c, rc, err);
        json_decref(body);
        return;
    }
    hg_role_t need = hg_auth_trigger_role(a.job, json_object_size(params) > 0);
    if (c->who.role < need) {
        s_forbidden(c, need, "a trigger with params of this job");
        json_decref(a.job);
        json_decref(body);
        return;
    }
    uint64_t id = (uint64_t) json_integer_value(json_object_get(a.job, "id"));
    const char *status = json_string_value(json_object_get(a.job, "status"));
    char node[256] = "";
    hg_cluster_client_t *cl = s_cluster(c->api);
    rc = cl ? hg_cluster_trigger(cl, id, params, node, sizeof node) : HG_EUNAVAIL;
    if (rc == 0) {
        s_reply(c, MHD_HTTP_ACCEPTED, json_pack("{s:s, s:s}", "job", name, "node", node));
    } else if (rc == HG_ENOTFOUND && status && strcmp(status, "active") != 0) {
        s_error(c, MHD_HTTP_CONFLICT, "no_worker", NULL, "job \"%s\" is %s", name, status);
    } else if (rc == HG_ENOTFOUND || rc == HG_EUNAVAIL) {
        s_error(c, MHD_HTTP_CONFLICT, "no_worker", NULL, "no live worker can take job \"%s\"",
                name);
    } else if (rc == HG_ETIMEOUT) {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                "the cluster did not answer in time");
    } else {
        s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "trigger failed: %s",
                hg_strerror(rc));
    }
    json_decref(a.job);
    json_decref(body);
}

/* ---------------------------------------------------------------------------
 * Runs
 * ------------------------------------------------------------------------ */

/* Filters of GET /api/v1/runs and its result. */
typedef struct {
    const char *job_name;          /* job query argument, or NULL */
    const char *ns;                /* its namespace */
    const char *status;            /* status filter, or NULL */
    int64_t since_ms, until_ms;    /* scheduled_at bounds, 0 = none */
    bool has_before;               /* page after this run id */
    uint8_t before[HG_RUNID_SIZE]; /* run id of the previous page's last run */
    int limit;                     /* page size */
    json_t *runs;                  /* out: array */
    bool more;                     /* out: another page follows */
} s_runs_op_t;

/* One fetched runs row. The TEXT/BLOB columns hold at most 65535 bytes. */
typedef struct {
    uint8_t run_id[HG_RUNID_SIZE];
    uint64_t job_id;
    char job_name[761], node[761], status[65], trigger[65];
    MYSQL_TIME scheduled_at, started_at, finished_at;
    short http_status;
    int exit_code;
    char error[65536], output[65536];
    uint32_t attempt;
    unsigned long len[14];
    my_bool is_null[14];
    MYSQL_BIND bind[14];
} s_run_row_t;

static json_t *s_run_time(const MYSQL_TIME *t, my_bool is_null, int64_t *ms)
{
    *ms = 0;
    if (is_null) return json_null();
    *ms = hg_db_time_to_ms(t);
    char buf[40];
    hg_time_format_ms(*ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_run_to_json(s_run_row_t *r)
{
    char id[HG_RUNID_STR_LEN + 1];
    hg_runid_format(r->run_id, id);
    int64_t sched_ms, start_ms, end_ms;
    json_t *run = json_object();
    json_object_set_new(run, "run_id", json_string(id));
    json_object_set_new(run, "job_id", json_integer((json_int_t) r->job_id));
    json_object_set_new(run, "job", s_json_text(r->job_name, r->len[2]));
    json_object_set_new(run, "node", s_json_text(r->node, r->len[3]));
    json_object_set_new(run, "scheduled_at", s_run_time(&r->scheduled_at, 0, &sched_ms));
    json_object_set_new(run, "started_at", s_run_time(&r->started_at, r->is_null[5], &start_ms));
    json_object_set_new(run, "finished_at", s_run_time(&r->finished_at, r->is_null[6], &end_ms));
    json_object_set_new(run, "status", s_json_text(r->status, r->len[7]));
    json_object_set_new(run, "http_status",
                        r->is_null[8] ? json_null() : json_integer(r->http_status));
    json_object_set_new(run, "exit_code", r->is_null[9] ? json_null() : json_integer(r->exit_code));
    json_object_set_new(run, "error",
                        r->is_null[10] ? json_null() : s_json_text(r->error, r->len[10]));
    json_object_set_new(run, "output",
                        r->is_null[11] ? json_null() : s_json_text(r->output, r->len[11]));
    json_object_set_new(run, "attempt", json_integer(r->attempt));
    json_object_set_new(run, "trigger", s_json_text(r->trigger, r->len[13]));
    json_object_set_new(run, "duration_ms",
                        !r->is_null[5] && !r->is_null[6] ? json_integer(end_ms - start_ms)
                                                         : json_null());
    return run;
}

#define S_SINCE_SLACK_MS (3600 * 1000)

static int s_op_runs(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_runs_op_t *a = arg;
    json_decref(a->runs);
    a->runs = json_array();

    /* A job that exists is matched by id; one that is gone by the name its
     * runs recorded. */
    uint64_t job_id = 0;
    if (a->job_name) {
        json_t *job = NULL;
        int rc = hg_job_db_get(db, a->ns, a->job_name, &job, err, err_size);
        if (rc != 0 && rc != HG_ENOTFOUND) return rc;
        if (job) job_id = (uint64_t) json_integer_value(json_object_get(job, "id"));
        json_decref(job);
    }

    /* The statement text depends only on which filters are present; every
     * value is a bound parameter. Runs whose status is not success are
     * found through runs_by_status, already in the listing's order (the
     * join re-checks the status, which the history decides). */
    char sql[1024] = "SELECT r.run_id, r.job_id, r.job_name, r.node, r.scheduled_at, "
                     "r.started_at, r.finished_at, r.status, r.http_status, r.exit_code, "
                     "r.error, r.output, r.attempt, r.trigger_reason FROM ";
    bool by_status = a->status && strcmp(a->status, "success") != 0;
    strcat(sql, by_status ? "runs_by_status s JOIN runs r ON r.run_id = s.run_id WHERE s.status = ?"
                          : "runs r WHERE 1 = 1");
    MYSQL_BIND p[10];
    memset(p, 0, sizeof p);
    int np = 0;
    unsigned long lens[3];
    lens[1] = a->status ? (unsigned long) strlen(a->status) : 0;
    if (by_status) {
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->status;
        p[np].buffer_length = lens[1];
        p[np++].length = &lens[1];
    }
    MYSQL_TIME since, until;
    unsigned long before_len = HG_RUNID_SIZE;
    if (job_id) {
        strcat(sql, " AND r.job_id = ?");
        p[np].buffer_type = MYSQL_TYPE_LONGLONG;
        p[np].buffer = &job_id;
        p[np++].is_unsigned = 1;
    } else if (a->job_name) {
        strcat(sql, " AND r.job_name = ?");
        lens[0] = (unsigned long) strlen(a->job_name);
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->job_name;
        p[np].buffer_length = lens[0];
        p[np++].length = &lens[0];
    }
    if (a->status) {
        strcat(sql, " AND r.status = ?");
        p[np].buffer_type = MYSQL_TYPE_STRING;
        p[np].buffer = (void *) a->status;
        p[np].buffer_length = lens[1];
        p[np++].length = &lens[1];
    }
    uint8_t since_id[HG_RUNID_SIZE];
    unsigned long since_id_len = HG_RUNID_SIZE;
    if (a->since_ms) {
        strcat(sql, " AND r.scheduled_at >= ?");
        hg_db_time_from_ms(a->since_ms, &since);
        p[np].buffer_type = MYSQL_TYPE_DATETIME;
        p[np++].buffer = &since;
        /* The same bound on the run id, which the newest-first scan can
         * stop at: a run starts at or after its scheduled time, and its id
         * carries its start (an hour's slack covers a recovered run, whose
         * scheduled time another worker's clock set). */
        strcat(sql, " AND r.run_id >= ?");
        hg_runid_floor(since_id, a->since_ms - S_SINCE_SLACK_MS);
        p[np].buffer_type = MYSQL_TYPE_BLOB;
        p[np].buffer = since_id;
        p[np].buffer_length = HG_RUNID_SIZE;
        p[np++].length = &since_id_len;
    }
    if (a->until_ms) {
        strcat(sql, " AND r.scheduled_at < ?");
        hg_db_time_from_ms(a->until_ms, &until);
        p[np].buffer_type = MYSQL_TYPE_DATETIME;
        p[np++].buffer = &until;
    }
    if (a->has_before) {
        strcat(sql, " AND r.run_id < ?");
        p[np].buffer_type = MYSQL_TYPE_BLOB;
        p[np].buffer = a->before;
        p[np].buffer_length = HG_RUNID_SIZE;
        p[np++].length = &before_len;
    }
    /* One row more than asked tells whether another page follows. */
    strcat(sql, by_status ? " ORDER BY s.run_id DESC LIMIT ?" : " ORDER BY r.run_id DESC LIMIT ?");
    int32_t limit = a->limit + 1;
    p[np].buffer_type = MYSQL_TYPE_LONG;
    p[np++].buffer = &limit;

    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    s_run_row_t *r = calloc(1, sizeof *r);
    if (!r) {
        mysql_stmt_close(stmt);
        return HG_ENOMEM;
    }
    MYSQL_BIND *b = r->bind;
    hg_db_bind_out(&b[0], MYSQL_TYPE_BLOB, r->run_id, HG_RUNID_SIZE, &r->len[0], &r->is_null[0]);
    hg_db_bind_out(&b[1], MYSQL_TYPE_LONGLONG, &r->job_id, 0, &r->len[1], &r->is_null[1]);
    b[1].is_unsigned = 1;
    hg_db_bind_out(&b[2], MYSQL_TYPE_STRING, r->job_name, sizeof r->job_name, &r->len[2],
                   &r->is_null[2]);
    hg_db_bind_out(&b[3], MYSQL_TYPE_STRING, r->node, sizeof r->node, &r->len[3], &r->is_null[3]);
    hg_db_bind_out(&b[4], MYSQL_TYPE_DATETIME, &r->scheduled_at, 0, &r->len[4], &r->is_null[4]);
    hg_db_bind_out(&b[5], MYSQL_TYPE_DATETIME, &r->started_at, 0, &r->len[5], &r->is_null[5]);
    hg_db_bind_out(&b[6], MYSQL_TYPE_DATETIME, &r->finished_at, 0, &r->len[6], &r->is_null[6]);
    hg_db_bind_out(&b[7], MYSQL_TYPE_STRING, r->status, sizeof r->status, &r->len[7],
                   &r->is_null[7]);
    hg_db_bind_out(&b[8], MYSQL_TYPE_SHORT, &r->http_status, 0, &r->len[8], &r->is_null[8]);
    hg_db_bind_out(&b[9], MYSQL_TYPE_LONG, &r->exit_code, 0, &r->len[9], &r->is_null[9]);
    hg_db_bind_out(&b[10], MYSQL_TYPE_STRING, r->error, sizeof r->error, &r->len[10],
                   &r->is_null[10]);
    hg_db_bind_out(&b[11], MYSQL_TYPE_BLOB, r->output, sizeof r->output, &r->len[11],
                   &r->is_null[11]);
    hg_db_bind_out(&b[12], MYSQL_TYPE_LONG, &r->attempt, 0, &r->len[12], &r->is_null[12]);
    b[12].is_unsigned = 1;
    hg_db_bind_out(&b[13], MYSQL_TYPE_STRING, r->trigger, sizeof r->trigger, &r->len[13],
                   &r->is_null[13]);

    int rc = 0;
    if (mysql_stmt_bind_param(stmt, p) || mysql_stmt_execute(stmt) ||
        mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, b)) {
        snprintf(err, err_size, "list runs: %s", mysql_stmt_error(stmt));
        rc = HG_EDB;
    }
    a->more = false;
    while (rc == 0) {
        int f = mysql_stmt_fetch(stmt);
        if (f == MYSQL_NO_DATA) break;
        if (f == 1) {
            snprintf(err, err_size, "list runs: %s", mysql_stmt_error(stmt));
            rc = HG_EDB;
            break;
        }
        /* MYSQL_DATA_TRUNCATED cannot cut a column: every buffer holds the
         * largest value its column type allows. */
        if ((int) json_array_size(a->runs) == a->limit) {
            a->more = true;
            break;
        }
        json_array_append_new(a->runs, s_run_to_json(r));
    }
    free(r);
    mysql_stmt_free_result(stmt);
    mysql_stmt_close(stmt);
    return rc;
}

static void s_runs_list(s_ctx_t *c)
{
    s_runs_op_t a = {0};
    bool ok;
    a.ns = s_ns_arg(c, &ok);
    if (!ok) return;
    a.job_name = s_arg(c, "job");
    if (c->who.ns[0] && !a.job_name) {
        /* The history of every namespace is one table: a scoped token
         * reads it one job (of its namespace) at a time. */
        s_error(c, MHD_HTTP_FORBIDDEN, "forbidden", "job",
                "job: token \"%s\" is scoped to namespace \"%s\"; list the runs of one of its "
                "jobs (job=NAME)",
                c->who.name, c->who.ns);
        return;
    }
    a.status = s_arg(c, "status");
    if (a.status && hg_run_status_parse(a.status) < 0) {
        s_invalid(c, "status",
                  "status: must be one of running, success, failed, timeout, crashed, lost, "
                  "skipped");
        return;
    }
    const char *since = s_arg(c, "since"), *until = s_arg(c, "until"), *before = s_arg(c, "before");
    if (since && hg_time_parse_rfc3339(since, &a.since_ms) != 0) {
        s_invalid(c, "since", "since: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return;
    }
    if (until && hg_time_parse_rfc3339(until, &a.until_ms) != 0) {
        s_invalid(c, "until", "until: must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)");
        return;
    }
    if (before) {
        if (hg_runid_parse(before, a.before) != 0) {
            s_invalid(c, "before", "before: must be a run id (the \"next\" of the previous page)");
            return;
        }
        a.has_before = true;
    }
    long limit;
    if (s_int_arg(c, "limit", 50, 1, S_RUNS_LIMIT_MAX, &limit)) return;
    a.limit = (int) limit;
    char err[1024];
    int rc = s_with_db(c->api, s_op_runs, &a, err, sizeof err);
    if (rc != 0) {
        s_db_error(c, rc, err);
    } else {
        json_t *next = json_null();
        size_t n = json_array_size(a.runs);
        if (a.more && n > 0)
            next = json_incref(json_object_get(json_array_get(a.runs, n - 1), "run_id"));
        s_reply(c, MHD_HTTP_OK, json_pack("{s:O, s:o}", "runs", a.runs, "next", next));
    }
    json_decref(a.runs);
}

/* ---------------------------------------------------------------------------
 * Nodes and health
 * ------------------------------------------------------------------------ */

static void s_nodes_list(s_ctx_t *c)
{
    hg_cluster_client_t *cl = s_cluster(c->api);
    json_t *nodes = cl ? hg_cluster_nodes(cl) : NULL;
    if (!nodes) {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "the cluster did not answer");
        return;
    }
    s_reply(c, MHD_HTTP_OK, json_pack("{s:o}", "nodes", nodes));
}

typedef struct {
    const char *name; /* node */
    bool drain;       /* drain (true) or activate */
} s_drain_arg_t;

/* Record an operator's drain or activate in the node's row, so that the
 * next leader applies it too. The row may not be written yet (the store
 * writes it after the node's HELLO): insert it then. */
static int s_op_node_drained(MYSQL *db, void *arg, char *err, size_t err_size)
{
    const s_drain_arg_t *a = arg;
    static const char sql[] =
        "INSERT INTO nodes (name, state, labels, first_seen_at, last_seen_at, drained)"
        " VALUES (?, ?, '{}', NOW(3), NOW(3), ?) ON DUPLICATE KEY UPDATE drained = VALUES(drained)";
    MYSQL_STMT *st = mysql_stmt_init(db);
    if (!st) {
        snprintf(err, err_size, "out of memory");
        return HG_ENOMEM;
    }
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    unsigned long len[2];
    uint64_t drained = a->drain ? 1 : 0;
    hg_db_bind_str(&b[0], a->name, &len[0]);
    hg_db_bind_str(&b[1], a->drain ? "draining" : "active", &len[1]);
    hg_db_bind_u64(&b[2], &drained);
    int rc = 0;
    if (mysql_stmt_prepare(st, sql, sizeof sql - 1) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
        mysql_stmt_execute(st) != 0) {
        snprintf(err, err_size, "%s", mysql_stmt_error(st));
        rc = HG_EDB;
    }
    mysql_stmt_close(st);
    return rc;
}

/* POST /api/v1/nodes/{name}/drain | /activate. The cluster applies it
 * first (it knows whether the node exists and may change state), then it
 * is recorded; both steps repeat harmlessly, so a failed record asks the
 * operator to repeat the request. */
static void s_node_drain(s_ctx_t *c, const char *name, bool drain)
{
    hg_cluster_client_t *cl = s_cluster(c->api);
    int rc = HG_EUNAVAIL;
    json_t *node = cl ? hg_cluster_node_drain(cl, name, drain, &rc) : NULL;
    char err[1024] = "";
    s_drain_arg_t arg = {name, drain};
    if (node && s_with_db(c->api, s_op_node_drained, &arg, err, sizeof err) != 0) {
        json_decref(node);
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                "node \"%s\" is %s on this master, but it could not be recorded in MySQL (%s): "
                "a master that leads next would not know; repeat the request",
                name, drain ? "draining" : "active again", err);
    } else if (node) {
        s_reply(c, MHD_HTTP_OK, node);
    } else if (rc == HG_ENOTFOUND) {
        s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                "node \"%s\" is not known to the master (it has not joined since the master "
                "started)",
                name);
    } else if (rc == HG_EUNAVAIL && cl) {
        s_error(c, MHD_HTTP_CONFLICT, "node_leaving", NULL,
                "node \"%s\" is leaving (it was stopped); it cannot take jobs again until it "
                "rejoins",
                name);
    } else {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                "the cluster did not answer: %s", hg_strerror(rc));
    }
}

static int s_op_ping(MYSQL *db, void *arg, char *err, size_t err_size)
{
    if (mysql_ping(db) != 0) {
        snprintf(err, err_size, "%s", mysql_error(db));
        return HG_EDB;
    }
    return 0;
}

static void s_healthz(s_ctx_t *c)
{
    char err[1024];
    int rc = s_with_db(c->api, s_op_ping, NULL, err, sizeof err);
    int workers = 0, jobs = 0;
    hg_cluster_client_t *cl = s_cluster(c->api);
    int crc = cl ? hg_cluster_stats(cl, &workers, &jobs) : HG_EUNAVAIL;
    hg_cluster_role_t role;
    int rrc = cl ? hg_cluster_role(cl, &role) : HG_EUNAVAIL;
    json_t *body = json_pack("{s:s, s:s, s:i, s:i}", "status", rc == 0 ? "ok" : "degraded", "db",
                             rc == 0 ? "ok" : "down", "workers", workers, "jobs", jobs);
    if (rrc == 0) {
        json_object_set_new(body, "role", json_string(role.leading ? "leader" : "standby"));
        json_object_set_new(body, "epoch", json_integer((json_int_t) role.epoch));
        json_object_set_new(body, "leader",
                            role.leader[0] ? json_string(role.leader) : json_null());
        if (!role.leading)
            json_object_set_new(body, "leader_api",
                                role.leader_api[0] ? json_string(role.leader_api) : json_null());
    }
    if (rc != 0) json_object_set_new(body, "db_error", json_string(err));
    if (crc != 0 || rrc != 0)
        json_object_set_new(body, "cluster", json_string(hg_strerror(crc ? crc : rrc)));
    s_reply(c, rc == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static bool s_method_is(s_ctx_t *c, const char *m)
{
    return strcmp(c->method, m) == 0;
}

/* ---------------------------------------------------------------------------
 * Plug-ins
 * ------------------------------------------------------------------------ */

/* Arguments and results of the plug-in database steps. */
typedef struct {
    const char *name, *version; /* upload: names; list: name filter (or NULL) */
    const char *sha256;         /* upload: hash of data; get/delete: the hash asked for */
    const char *arch;           /* upload: ELF machine */
    const uint8_t *data;        /* upload: the shared object */
    size_t len;                 /* its size */
    bool replace;               /* upload: replace other bytes under (name, version) */
    hg_plugin_meta_t meta;      /* out: the stored (or deleted) record */
    hg_plugin_put_t result;     /* out: upload outcome */
    char replaced[65];          /* out: hash that was replaced */
    json_t *list;               /* out: list */
} s_plugins_op_t;

static int s_op_plugin_put(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_put(db, a->name, a->version, a->data, a->len, a->sha256, a->arch,
                            a->replace, &a->meta, &a->result, a->replaced, err, err_size);
}

static int s_op_plugin_list(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    json_decref(a->list);
    a->list = NULL;
    return hg_plugin_db_list(db, a->name, &a->list, err, err_size);
}

static int s_op_plugin_get(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_get(db, a->sha256, &a->meta, err, err_size);
}

static int s_op_plugin_delete(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_plugins_op_t *a = arg;
    return hg_plugin_db_delete(db, a->sha256, &a->meta, err, err_size);
}

/* POST /api/v1/plugins?name=N&version=V[&replace=true], body: the .so. */
static void s_plugin_push(s_ctx_t *c)
{
    s_plugins_op_t a = {.name = s_arg(c, "name"), .version = s_arg(c, "version")};
    const char *replace = s_arg(c, "replace");
    char msg[1024];
    if (!a.name || !a.version) {
        const char *field = !a.name ? "name" : "version";
        snprintf(msg, sizeof msg,
                 "%s: required as a query argument (?name=N&version=V); the master does not load "
                 "plug-ins to read their descriptor (hourglass plugin push does that for you)",
                 field);
        s_invalid(c, field, msg);
        return;
    }
    if (hg_plugin_check_name(a.name, msg, sizeof msg) != 0) {
        s_invalid(c, "name", msg);
        return;
    }
    if (hg_plugin_check_version(a.version, msg, sizeof msg) != 0) {
        s_invalid(c, "version", msg);
        return;
    }
    if (replace && strcmp(replace, "true") != 0 && strcmp(replace, "false") != 0) {
        s_invalid(c, "replace", "replace: must be true or false");
        return;
    }
    a.replace = replace && strcmp(replace, "true") == 0;
    a.data = (const uint8_t *) c->req->body;
    a.len = c->req->len;
    char arch[33], sha[65];
    if (hg_plugin_check_bytes(a.data, a.len, arch, sizeof arch, msg, sizeof msg) != 0) {
        s_error(c, MHD_HTTP_BAD_REQUEST, "invalid_plugin", NULL, "%s", msg);
        return;
    }
    hg_plugin_sha256_hex(a.data, a.len, sha);
    a.sha256 = sha;
    a.arch = arch;
    char err[1024];
    s_write_begin(c->api);
    int rc = s_with_db(c->api, s_op_plugin_put, &a, err, sizeof err);
    if (rc == HG_EEXIST) {
        s_write_end(c->api);
        s_error(c, MHD_HTTP_CONFLICT, "already_exists", NULL, "%s", err);
        return;
    }
    if (rc != 0) {
        s_write_end(c->api);
        s_db_error(c, rc, err);
        return;
    }
    /* MySQL has it: now the copy this master serves workers from. A
     * failure here is not the client's: the loader re-creates a missing
     * copy from MySQL on the first fetch. */
    if (c->api->data_dir) {
        char path[4096];
        struct stat sb;
        bool have = a.result == HG_PLUGIN_PUT_SAME &&
                    hg_plugin_file_path(c->api->data_dir, sha, path, sizeof path) == 0 &&
                    stat(path, &sb) == 0;
        if (!have &&
            hg_plugin_file_write(c->api->data_dir, sha, a.data, a.len, msg, sizeof msg) != 0)
            hg_warn("api: plug-in %s %s stored in MySQL, but no local copy: %s", a.name, a.version,
                    msg);
    }
    hg_cluster_client_t *cl = s_cluster(c->api);
    int crc =
        cl ? hg_cluster_plugin_put(cl, a.meta.name, a.meta.version, a.meta.sha256) : HG_EUNAVAIL;
    s_write_end(c->api);
    if (crc != 0)
        hg_warn("api: cluster did not take plug-in %s %s: %s", a.name, a.version, hg_strerror(crc));
    json_t *reply = hg_plugin_meta_json(&a.meta);
    if (a.result == HG_PLUGIN_PUT_REPLACED)
        json_object_set_new(reply, "replaced", json_string(a.replaced));
    if (a.result != HG_PLUGIN_PUT_SAME)
        hg_info("api: plug-in %s %s stored (sha256 %s, %zu bytes, %s)%s", a.name, a.version, sha,
                a.len, arch, a.result == HG_PLUGIN_PUT_REPLACED ? ", replacing another" : "");
    s_reply(c, a.result == HG_PLUGIN_PUT_SAME ? MHD_HTTP_OK : MHD_HTTP_CREATED, reply);
}

static void s_plugins_list(s_ctx_t *c)
{
    s_plugins_op_t a = {.name = s_arg(c, "name")};
    char err[1024];
    if (a.name && hg_plugin_check_name(a.name, err, sizeof err) != 0) {
        s_invalid(c, "name", err);
        return;
    }
    int rc = s_with_db(c->api, s_op_plugin_list, &a, err, sizeof err);
    if (rc != 0)
        s_db_error(c, rc, err);
    else
        s_reply(c, MHD_HTTP_OK, json_pack("{s:O}", "plugins", a.list));
    json_decref(a.list);
}

static void s_plugin_one(s_ctx_t *c, const char *sha)
{
    if (!hg_plugin_sha256_valid(sha)) {
        s_invalid(c, "sha256", "sha256: must be 64 lowercase hex digits");
        return;
    }
    bool del = s_method_is(c, "DELETE");
    s_plugins_op_t a = {.sha256 = sha};
    char err[1024];
    if (del) s_write_begin(c->api);
    int rc = s_with_db(c->api, del ? s_op_plugin_delete : s_op_plugin_get, &a, err, sizeof err);
    if (rc != 0) {
        if (del) s_write_end(c->api);
        s_db_error(c, rc, err);
        return;
    }
    if (!del) {
        s_reply(c, MHD_HTTP_OK, hg_plugin_meta_json(&a.meta));
        return;
    }
    if (c->api->data_dir) hg_plugin_file_remove(c->api->data_dir, sha);
    hg_cluster_client_t *cl = s_cluster(c->api);
    int crc = cl ? hg_cluster_plugin_remove(cl, sha) : HG_EUNAVAIL;
    s_write_end(c->api);
    if (crc != 0) hg_warn("api: cluster did not drop plug-in %s: %s", sha, hg_strerror(crc));
    hg_info("api: plug-in %s %s deleted (sha256 %s)", a.meta.name, a.meta.version, sha);
    s_reply(c, MHD_HTTP_OK, json_pack("{s:s}", "deleted", sha));
}

/* ---------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------ */

static void s_not_allowed(s_ctx_t *c, const char *allow)
{
    c->allow = allow;
    s_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
            "%s is not allowed on %s (allowed: %s)", c->method, c->url, allow);
}

/* Writes, and the live cluster view only the leader has, are the leader's
 * business. True when this master leads; otherwise the reply is set: 503
 * not_leader naming the leader (body and Hourglass-Leader header), or 503
 * unavailable when the cluster actor did not answer. */
static bool s_leading(s_ctx_t *c)
{
    hg_cluster_client_t *cl = s_cluster(c->api);
    hg_cluster_role_t role;
    int rc = cl ? hg_cluster_role(cl, &role) : HG_EUNAVAIL;
    if (rc != 0) {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                "the cluster did not answer: %s", hg_strerror(rc));
        return false;
    }
    if (role.leading) return true;
    if (role.leader_api[0]) {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_leader", NULL,
                "this master is a standby; the leader is %s at %s",
                role.leader[0] ? role.leader : "another master", role.leader_api);
        json_object_set_new(json_object_get(c->reply, "error"), "leader",
                            json_string(role.leader_api));
        snprintf(c->leader, sizeof c->leader, "%s", role.leader_api);
    } else {
        s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_leader", NULL,
                "this master is a standby and no leader is known yet; retry shortly");
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Authentication and audit (auth.h, audit.h)
 * ------------------------------------------------------------------------ */

typedef struct {
    uint8_t hash[HG_TOKEN_HASH_SIZE]; /* of the request's token */
    hg_principal_t who;               /* out: its holder */
    hg_auth_cache_t *cache;           /* tokens verified lately */
} s_auth_op_t;

/* Check the token's row on every request, so that a revocation holds at
 * once on every master; write last_used_at at most once a minute. */
static int s_op_verify(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_auth_op_t *a = arg;
    int rc = hg_token_verify(db, a->hash, &a->who, err, err_size);
    if (rc == 0 && hg_auth_cache_put(a->cache, a->hash, &a->who)) {
        char why[512];
        if (hg_token_touch(db, a->who.id, why, sizeof why) != 0) hg_debug("api: %s", why);
    }
    return rc;
}

static void s_unauthorized(s_ctx_t *c, const char *why)
{
    s_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL,
            "%s: send \"Authorization: Bearer <token>\" (docs/api.md, Authentication)", why);
}

/* Authenticate a request to /api/ and check the role its route needs, the
 * scope of its token and ?reveal=true. True to go on; otherwise the reply
 * is set: 401, 403, or 503 when MySQL cannot say and this master has not
 * verified the token lately. */
static bool s_authorize(s_ctx_t *c)
{
    const char *header =
        MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = hg_auth_bearer(header);
    s_auth_op_t a = {.cache = c->api->auth_cache};
    if (!token) {
        s_unauthorized(c, header ? "not a bearer token" : "no token");
        return false;
    }
    if (hg_token_hash(token, a.hash) != 0) {
        s_unauthorized(c, "unknown, expired or revoked token");
        return false;
    }
    char err[1024];
    int rc = s_with_db(c->api, s_op_verify, &a, err, sizeof err);
    if (rc == HG_EUNAVAIL &&
        hg_auth_cache_get(c->api->auth_cache, a.hash, S_AUTH_OUTAGE_GRACE_MS, &a.who))
        rc = 0;
    if (rc == HG_ENOTFOUND) {
        hg_auth_cache_forget(c->api->auth_cache, a.hash);
        s_unauthorized(c, "unknown, expired or revoked token");
        return false;
    }
    if (rc != 0) {
        s_db_error(c, rc, err);
        return false;
    }
    c->who = a.who;
    hg_role_t need;
    const char *action;
    if (hg_auth_route(c->method, c->url, &need, &action) == 0) {
        c->action = action;
        if (strncmp(c->url, S_JOBS_PREFIX, strlen(S_JOBS_PREFIX)) == 0) {
            /* The audit object of a refusal too: "namespace/name". */
            const char *name = c->url + strlen(S_JOBS_PREFIX), *ns = s_arg(c, "namespace");
            snprintf(c->object, sizeof c->object, "%s/%.*s",
                     ns ? ns : c->who.ns[0] ? c->who.ns : "default", (int) strcspn(name, "/"),
                     name);
        } else if (strncmp(c->url, S_NODES_PREFIX, strlen(S_NODES_PREFIX)) == 0) {
            const char *node = c->url + strlen(S_NODES_PREFIX);
            snprintf(c->object, sizeof c->object, "%.*s", (int) strcspn(node, "/"), node);
        } else if (strncmp(c->url, S_PLUGINS_PREFIX, strlen(S_PLUGINS_PREFIX)) == 0) {
            snprintf(c->object, sizeof c->object, "%s", c->url + strlen(S_PLUGINS_PREFIX));
        } else if (strcmp(c->url, S_PLUGINS) == 0 && action) {
            const char *pname = s_arg(c, "name"), *version = s_arg(c, "version");
            snprintf(c->object, sizeof c->object, "%.200s@%.200s", pname ? pname : "-",
                     version ? version : "-");
        }
        char what[300];
        snprintf(what, sizeof what, "%s %s", c->method, c->url);
        if (c->who.role < need) {
            s_forbidden(c, need, what);
            return false;
        }
        if (!hg_auth_scope_allows(&c->who, need, action)) {
            s_error(c, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                    "%s acts on the whole cluster; token \"%s\" is scoped to namespace \"%s\"",
                    what, c->who.name, c->who.ns);
            return false;
        }
    }
    const char *reveal = s_arg(c, "reveal");
    if (reveal && strcmp(reveal, "true") == 0) {
        if (c->who.role < HG_ROLE_ADMIN) {
            s_forbidden(c, HG_ROLE_ADMIN, "reveal=true");
            return false;
        }
        c->reveal = true;
    }
    return true;
}

static int s_op_audit(MYSQL *db, void *arg, char *err, size_t err_size)
{
    return hg_audit_record(db, arg, err, err_size);
}

/* Record a write by an authenticated caller, whatever its answer (the
 * status is in the row). Anonymous refusals (401) are not recorded: they
 * carry no identity, and would let anyone fill the table. */
static void s_audit(s_ctx_t *c)
{
    if (!c->action || c->who.role == HG_ROLE_NONE) return;
    char address[64] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    hg_audit_address(ci ? ci->client_addr : NULL, address, sizeof address);
    hg_audit_entry_t e = {.token_name = c->who.name,
                          .role = hg_role_name(c->who.role),
                          .action = c->action,
                          .object = c->object[0] ? c->object : c->url,
                          .address = address,
                          .status = c->status};
    char err[1024];
    int rc = s_with_db(c->api, s_op_audit, &e, err, sizeof err);
    if (rc != 0) hg_warn("api: audit of %s by %s not recorded: %s", c->action, c->who.name, err);
}

static const char *s_arg_cb(void *ctx, const char *name)
{
    return s_arg(ctx, name);
}

/* Tokens, worker keys, audit log (api_admin.h). */
static void s_admin(s_ctx_t *c, const char *allow)
{
    bool get = s_method_is(c, "GET") || s_method_is(c, "HEAD");
    char m[16];
    snprintf(m, sizeof m, "%s", get ? "GET" : c->method);
    if (!strstr(allow, m)) {
        s_not_allowed(c, allow);
        return;
    }
    bool failed = false;
    json_t *body = s_method_is(c, "POST") ? s_body_json(c, true, &failed) : NULL;
    if (failed) return;
    hg_api_admin_t a = {.method = m,
                        .path = c->url,
                        .body = body,
                        .arg = s_arg_cb,
                        .arg_ctx = c,
                        .who = &c->who};
    char err[1024];
    int rc = s_with_db(c->api, hg_api_admin_op, &a, err, sizeof err);
    snprintf(c->object, sizeof c->object, "%s", a.object);
    if (rc == 0)
        s_reply(c, a.status, a.reply);
    else if (rc == HG_EINVAL)
        s_invalid(c, a.field[0] ? a.field : NULL, err);
    else
        s_db_error(c, rc, err);
    if (rc != 0) json_decref(a.reply);
    json_decref(body);
}

static void s_route(s_ctx_t *c)
{
    const char *url = c->url;
    /* /api/ requests were authenticated on their headers (s_handler). */
    bool read = s_method_is(c, "GET") || s_method_is(c, "HEAD");
    if (strncmp(url, "/api/", 5) == 0 && (!read || strcmp(url, "/api/v1/nodes") == 0) &&
        !s_leading(c))
        return;
    const char *admin_allow = hg_api_admin_allow(url);
    if (admin_allow) {
        s_admin(c, admin_allow);
    } else if (strcmp(url, "/healthz") == 0) {
        if (s_method_is(c, "GET"))
            s_healthz(c);
        else
            s_not_allowed(c, "GET");
    } else if (strcmp(url, "/api/v1/jobs") == 0) {
        if (s_method_is(c, "GET"))
            s_jobs_list(c);
        else if (s_method_is(c, "POST"))
            s_jobs_create(c);
        else
            s_not_allowed(c, "GET, POST");
    } else if (strcmp(url, "/api/v1/jobs:batch") == 0) {
        if (s_method_is(c, "POST"))
            s_jobs_batch(c);
        else
            s_not_allowed(c, "POST");
    } else if (strcmp(url, "/api/v1/runs") == 0) {
        if (s_method_is(c, "GET"))
            s_runs_list(c);
        else
            s_not_allowed(c, "GET");
    } else if (strcmp(url, S_PLUGINS) == 0) {
        if (s_method_is(c, "GET"))
            s_plugins_list(c);
        else if (s_method_is(c, "POST"))
            s_plugin_push(c);
        else
            s_not_allowed(c, "GET, POST");
    } else if (strncmp(url, S_PLUGINS_PREFIX, strlen(S_PLUGINS_PREFIX)) == 0 &&
               url[strlen(S_PLUGINS_PREFIX)] != '\0') {
        const char *sha = url + strlen(S_PLUGINS_PREFIX);
        if (strchr(sha, '/'))
            s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method, url);
        else if (s_method_is(c, "GET") || s_method_is(c, "DELETE"))
            s_plugin_one(c, sha);
        else
            s_not_allowed(c, "GET, DELETE");
    } else if (strcmp(url, "/api/v1/nodes") == 0) {
        if (s_method_is(c, "GET"))
            s_nodes_list(c);
        else
            s_not_allowed(c, "GET");
    } else if (strncmp(url, S_NODES_PREFIX, strlen(S_NODES_PREFIX)) == 0) {
        /* /api/v1/nodes/{name}/drain|activate */
        const char *name = url + strlen(S_NODES_PREFIX);
        const char *slash = strchr(name, '/');
        const char *action = slash ? slash + 1 : "";
        size_t name_len = slash ? (size_t) (slash - name) : strlen(name);
        char buf[256];
        if (name_len == 0 || name_len >= sizeof buf ||
            (strcmp(action, "drain") != 0 && strcmp(action, "activate") != 0)) {
            s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method, url);
            return;
        }
        memcpy(buf, name, name_len);
        buf[name_len] = '\0';
        if (s_method_is(c, "POST"))
            s_node_drain(c, buf, strcmp(action, "drain") == 0);
        else
            s_not_allowed(c, "POST");
    } else if (strncmp(url, S_JOBS_PREFIX, strlen(S_JOBS_PREFIX)) == 0 &&
               url[strlen(S_JOBS_PREFIX)] != '\0') {
        /* /api/v1/jobs/{name}[/action] */
        const char *name = url + strlen(S_JOBS_PREFIX);
        const char *slash = strchr(name, '/');
        char buf[256];
        size_t name_len = slash ? (size_t) (slash - name) : strlen(name);
        const char *action = slash ? slash + 1 : NULL;
        if (name_len == 0 || name_len >= sizeof buf || (action && strchr(action, '/')) ||
            (action && strcmp(action, "pause") != 0 && strcmp(action, "resume") != 0 &&
             strcmp(action, "trigger") != 0)) {
            s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method, url);
            return;
        }
        memcpy(buf, name, name_len);
        buf[name_len] = '\0';
        if (!action) {
            if (s_method_is(c, "GET"))
                s_job_get(c, buf);
            else if (s_method_is(c, "DELETE"))
                s_job_delete(c, buf);
            else
                s_not_allowed(c, "GET, DELETE");
        } else if (!s_method_is(c, "POST")) {
            s_not_allowed(c, "POST");
        } else if (strcmp(action, "pause") == 0) {
            s_job_set_status(c, buf, "paused");
        } else if (strcmp(action, "resume") == 0) {
            s_job_set_status(c, buf, "active");
        } else {
            s_job_trigger(c, buf);
        }
    } else {
        s_error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method, url);
    }
}

/* ---------------------------------------------------------------------------
 * libmicrohttpd glue
 * ------------------------------------------------------------------------ */

static enum MHD_Result s_send(struct MHD_Connection *conn, int status, json_t *body,
                              const char *allow, const char *leader)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text) {
        text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode reply\"}}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!text) return MHD_NO;
    }
    size_t len = strlen(text);
    /* Replies end with a newline, which is friendlier to curl users. */
    char *line = realloc(text, len + 2);
    if (line) {
        text = line;
        text[len++] = '\n';
        text[len] = '\0';
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (leader && *leader) MHD_add_response_header(resp, HG_API_LEADER_HEADER, leader);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int) status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* 413 for a body over the route's limit; declared is the Content-Length,
 * 0 when unknown. */
static void s_too_large(s_ctx_t *c, unsigned long long declared)
{
    size_t limit = c->req->limit;
    if (!c->req->plugin)
        s_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL, "request body is over %u bytes",
                HG_API_MAX_BODY);
    else if (declared)
        s_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                "plug-in is %llu bytes, over the limit of %zu bytes (master setting "
                "plugin.max_size)",
                declared, limit);
    else
        s_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                "plug-in is over the limit of %zu bytes (master setting plugin.max_size)", limit);
}

static void s_log_request(const char *method, const char *url, int status, int64_t start_us)
{
    hg_debug("api: %s %s -> %d (%.1f ms)", method, url, status,
             (double) (hg_mono_us() - start_us) / 1000.0);
}

/* Authenticate an /api/ request on its headers (first call of the
 * handler) and keep the outcome in req: the caller and what the route
 * needs, or the refusal, in which case the body is not kept (limit 0). */
static void s_authenticate(hg_api_t *api, struct MHD_Connection *conn, const char *method,
                           const char *url, s_req_t *req)
{
    s_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
    if (!s_authorize(&c)) {
        req->denied = c.reply;
        req->denied_status = c.status;
        c.reply = NULL;
        req->limit = 0;
    }
    req->who = c.who;
    req->reveal = c.reveal;
    req->action = c.action;
    memcpy(req->object, c.object, sizeof req->object);
    json_decref(c.reply);
}

/* Put what s_authenticate learnt into the request's context. */
static void s_req_restore(s_ctx_t *c)
{
    c->who = c->req->who;
    c->reveal = c->req->reveal;
    c->action = c->req->action;
    memcpy(c->object, c->req->object, sizeof c->object);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    hg_api_t *api = cls;
    s_req_t *req = *con_cls;
    if (!req) {
        /* First call: headers only. Refuse a declared oversize body before
         * reading it. */
        req = calloc(1, sizeof *req);
        if (!req) return MHD_NO;
        req->start_us = hg_mono_us();
        *con_cls = req;
        req->plugin = strcmp(url, S_PLUGINS) == 0 && strcmp(method, "POST") == 0;
        req->limit = req->plugin ? api->plugin_max_size : HG_API_MAX_BODY;
        if (strncmp(url, "/api/", 5) == 0) s_authenticate(api, conn, method, url, req);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        /* Answer at once only a client that waits for "100 Continue" (curl
         * does for large bodies) or one that announces far too much: any
         * other is still sending, would see the connection close under it
         * and never read the 413, so its body is read and dropped first. */
        const char *expect =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        bool waits = expect && strcasecmp(expect, "100-continue") == 0;
        if (declared > req->limit && (waits || declared - req->limit > S_DRAIN_MAX)) {
            s_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
            s_req_restore(&c);
            if (req->denied) {
                s_reply(&c, req->denied_status, req->denied);
                req->denied = NULL;
                s_audit(&c);
            } else {
                s_too_large(&c, declared);
            }
            enum MHD_Result ret = s_send(conn, c.status, c.reply, NULL, NULL);
            s_log_request(method, url, c.status, req->start_us);
            json_decref(c.reply);
            req->too_large = true;
            return ret;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_large || req->len + n > req->limit) {
            req->too_large = true; /* keep reading, answer 413 at the end */
            return MHD_YES;
        }
        if (req->len + n + 1 > req->cap) {
            /* Size the buffer once when the client said how much comes. */
            const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
            size_t cap = req->cap ? req->cap
                         : declared >= req->len + n && declared <= req->limit
                             ? (size_t) declared + 1
                             : 4096;
            while (cap < req->len + n + 1)
                cap *= 2;
            char *body = realloc(req->body, cap);
            if (!body) return MHD_NO;
            req->body = body;
            req->cap = cap;
        }
        memcpy(req->body + req->len, upload_data, n);
        req->len += n;
        req->body[req->len] = '\0';
        return MHD_YES;
    }

    s_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
    s_req_restore(&c);
    bool audit = true; /* not twice for a request answered on its headers */
    if (req->denied) {
        s_reply(&c, req->denied_status, req->denied);
        req->denied = NULL;
    } else if (req->too_large) {
        s_too_large(&c, 0);
        audit = false;
    } else {
        s_route(&c);
    }
    if (!c.reply) s_error(&c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "no reply");
    if (audit) s_audit(&c);
    enum MHD_Result ret = s_send(conn, c.status, c.reply, c.allow, c.leader);
    s_log_request(method, url, c.status, req->start_us);
    json_decref(c.reply);
    return ret;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    s_req_t *req = *con_cls;
    if (req) {
        json_decref(req->denied);
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    hg_warn("api: %s", line);
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

hg_api_t *hg_api_start(const char *bind_host, int port, const hg_db_params_t *db,
                       const hg_api_opts_t *opts, char *err, size_t err_size)
{
    if (!db || port < 0 || port > 65535) {
        snprintf(err, err_size, "api: invalid arguments");
        return NULL;
    }
    hg_api_t *api = calloc(1, sizeof *api);
    if (!api) {
        snprintf(err, err_size, "api: out of memory");
        return NULL;
    }
    api->db = *db;
    api->db.host = api->db_strings[0] = s_dup(db->host);
    api->db.socket = api->db_strings[1] = s_dup(db->socket);
    api->db.user = api->db_strings[2] = s_dup(db->user);
    api->db.password = api->db_strings[3] = s_dup(db->password);
    api->db.database = api->db_strings[4] = s_dup(db->database);
    pthread_mutex_init(&api->slots_lock, NULL);
    pthread_mutex_init(&api->write_lock, NULL);
    api->auth_cache = hg_auth_cache_new();
    if (!api->auth_cache || sodium_init() < 0) {
        snprintf(err, err_size, "api: cannot set up token checks");
        hg_api_stop(&api);
        return NULL;
    }
    if (pthread_key_create(&api->slot_key, NULL) != 0) {
        snprintf(err, err_size, "api: cannot create thread-local state");
        hg_api_stop(&api);
        return NULL;
    }
    api->slot_key_made = true;
    /* Not thread-safe, and the server threads may connect at once. */
    mysql_library_init(0, NULL, NULL);
    unsigned int threads =
        opts && opts->threads > 0 ? (unsigned int) opts->threads : HG_API_THREADS_DEFAULT;
    api->data_dir = opts && opts->data_dir && *opts->data_dir ? s_dup(opts->data_dir) : NULL;
    api->plugin_max_size =
        opts && opts->plugin_max_size ? opts->plugin_max_size : HG_PLUGIN_MAX_SIZE_DEFAULT;

    if (!bind_host || !*bind_host || strcmp(bind_host, "*") == 0) bind_host = "0.0.0.0";
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int gai = getaddrinfo(bind_host, service, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, err_size, "api: cannot resolve bind address %s: %s", bind_host,
                 gai_strerror(gai));
        hg_api_stop(&api);
        return NULL;
    }
    /* AUTO: the best polling the system has (epoll on Linux) rather than
     * select(), which cost each single creation a fifth more CPU. */
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    api->daemon =
        /* The logger first: libmicrohttpd logs options parsed before it
         * to stderr, and warns that it was not first. */
        MHD_start_daemon(flags, (uint16_t) port, NULL, NULL, &s_handler, api,
                         MHD_OPTION_EXTERNAL_LOGGER, &s_mhd_log, api, MHD_OPTION_SOCK_ADDR,
                         ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, &s_completed, api,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 60,
                         MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->daemon) {
        snprintf(err, err_size, "api: cannot listen on %s:%d (address in use or not local?)",
                 bind_host, port);
        hg_api_stop(&api);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : port;
    hg_info("api: listening on http://%s:%d", bind_host, api->port);
    return api;
}

int hg_api_port(const hg_api_t *api)
{
    return api ? api->port : 0;
}

void hg_api_stop(hg_api_t **api)
{
    if (!api || !*api) return;
    hg_api_t *self = *api;
    /* Joins the polling thread: from here on the connection and the
     * cluster client belong to this thread. */
    if (self->daemon) MHD_stop_daemon(self->daemon);
    /* The threads are gone: their slots are ours to close. */
    while (self->slots) {
        s_slot_t *slot = self->slots;
        self->slots = slot->next;
        s_slot_destroy(&slot);
    }
    if (self->slot_key_made) pthread_key_delete(self->slot_key);
    pthread_mutex_destroy(&self->slots_lock);
    pthread_mutex_destroy(&self->write_lock);
    for (size_t i = 0; i < 5; i++)
        free(self->db_strings[i]);
    free(self->data_dir);
    hg_auth_cache_destroy(&self->auth_cache);
    free(self);
    *api = NULL;
}
