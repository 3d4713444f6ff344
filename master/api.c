/* api: the REST API of docs/api.md, its server core. libmicrohttpd serves
 * it from a small pool of threads (api.threads). Each thread lazily opens
 * and keeps its own MySQL connection, the statements kept prepared on it,
 * and its own cluster client (s_slot_t); they are closed by hg_api_stop
 * after the threads have been joined.
 *
 * Here: the server, request bodies and their limits, authentication and
 * the audit hook, routing, and the reply and request helpers the route
 * handlers share (api_internal.h). The handlers live by resource:
 * api_jobs.c, api_runs.c, api_nodes.c, api_plugins.c and api_admin.c.
 *
 * A handler does its database work through hg_api__with_db, which
 * reconnects once when the connection turns out to be gone and answers 503
 * when MySQL stays unreachable, and only then talks to the cluster actor,
 * outside any transaction. A write holds write_lock from its database step
 * to its cluster notification, so that the cluster learns of changes in
 * the order MySQL committed them (a pause and a resume, a create and a
 * delete). A write of one job that touches no other (a creation without
 * parents, a pause) holds it shared, with the lock of that job's stripe:
 * writes of different jobs then commit side by side, and MariaDB syncs
 * their commits together; every other write holds it alone. (A lock, not
 * a message hop, as DESIGN.md section 2 allows with a measurement: with
 * one lock for all, four clients created 943 jobs/s; striped, 1,060/s,
 * scripts/bench api, three runs each.) */
#include "api.h"
#include "api_admin.h"
#include "api_console.h"
#include "api_internal.h"
#include "forward.h"
#include "audit.h"
#include "auth.h"
#include "cluster.h"
#include "job_db.h"
#include "plugins.h"
#include "web.h"
#include "db.h"
#include "hg_error.h"
#include "hg_keyhash.h"
#include "hg_log.h"
#include "hg_time.h"
#include "metrics.h"

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

#define S_JOBS_PREFIX    "/api/v1/jobs/"
#define S_NODES_PREFIX   "/api/v1/nodes/"
#define S_RUNS_PREFIX    "/api/v1/runs/"
#define S_PLUGINS        "/api/v1/plugins"
#define S_DRAIN_MAX      (64ull << 20) /* excess body read and dropped to answer 413 cleanly */
#define S_PLUGINS_PREFIX "/api/v1/plugins/"
/* How long a token this master verified keeps working while MySQL cannot
 * be asked (docs/api.md, "Authentication"): long enough for an operator
 * to watch and drain nodes through an outage, short enough that a token
 * revoked during one does not live on for long. */
#define S_AUTH_OUTAGE_GRACE_MS (5 * 60 * 1000)
/* Stripes of the one-job write locks: many more than server threads, so
 * that two writes of different jobs rarely wait for each other. */
#define S_JOB_LOCKS 64

struct hg_api {
    struct MHD_Daemon *daemon;   /* the HTTP server and its threads */
    int port;                    /* port actually bound */
    hg_db_params_t db;           /* connection settings; strings below */
    char *db_strings[5];         /* owned copies of host, socket, user, password, database */
    pthread_key_t slot_key;      /* each server thread's s_slot_t */
    bool slot_key_made;          /* slot_key was created */
    pthread_mutex_t slots_lock;  /* guards slots */
    struct s_slot *slots;        /* every thread's slot, for hg_api_stop */
    pthread_rwlock_t write_lock; /* held from a write's SQL to its cluster notification */
    pthread_mutex_t job_locks[S_JOB_LOCKS]; /* one-job writes, by a hash of namespace/name */
    char *data_dir;                         /* plug-in copies go under it; NULL: none kept */
    size_t plugin_max_size;                 /* largest plug-in upload, bytes */
    hg_auth_cache_t *auth_cache;            /* tokens verified lately, shared by the threads */
    struct hg_metrics *metrics; /* GET /metrics and request counts (metrics.h), or NULL */
    bool metrics_public;        /* GET /metrics needs no token */
    int64_t scan_budget_ms;     /* api.scan_budget (job_walk.h) */
    int32_t scan_window;        /* api.scan_window (job_walk.h) */
    size_t purge_batch;         /* retention.batch, for a manual purge; 0: the default */
};

/* What one server thread owns, created on its first request. */
typedef struct s_slot {
    MYSQL *conn;                  /* lazily opened connection */
    hg_job_stmts_t *stmts;        /* statements kept prepared on conn */
    MYSQL_STMT *audit;            /* the audit row's, kept prepared on conn */
    hg_cluster_client_t *cluster; /* lazily created client */
    struct s_slot *next;          /* next in hg_api_t.slots */
} s_slot_t;

/* Per-request state kept by libmicrohttpd between calls of the handler. */
struct hg_api_req {
    char *body;       /* upload data so far (NUL-terminated) */
    size_t len;       /* bytes in body */
    size_t cap;       /* capacity of body */
    size_t limit;     /* largest body this route takes (HG_API_MAX_BODY, or plugin.max_size) */
    bool plugin;      /* a plug-in upload: its limit is plugin.max_size */
    bool too_large;   /* body passed limit; the rest is dropped */
    int64_t start_us; /* monotonic time the request arrived */
    /* An /api/ request is authenticated on its headers, before its body is
     * read: a refused one has its body dropped, never buffered. */
    json_t *denied;     /* the refusal (401, 403, 503) to answer, or NULL */
    int denied_status;  /* its HTTP status */
    hg_principal_t who; /* the caller, when it passed */
    bool reveal;        /* ?reveal=true by an admin */
    const char *action; /* audit action of the route, NULL for a read */
    char object[600];   /* audit object known from the URL */
};

/* ---------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------ */

void hg_api__reply(hg_api_ctx_t *c, int status, json_t *body)
{
    json_decref(c->reply);
    c->status = status;
    c->reply = body;
}

/* {"error": {"code", "message"[, "field"]}} */
__attribute__((format(printf, 5, 6))) void hg_api__error(hg_api_ctx_t *c, int status,
                                                         const char *code, const char *field,
                                                         const char *fmt, ...)
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
    hg_api__reply(c, status, json_pack("{s:o}", "error", err));
}

void hg_api__invalid(hg_api_ctx_t *c, const char *field, const char *message)
{
    hg_api__error(c, MHD_HTTP_BAD_REQUEST, "invalid_argument", field, "%s", message);
}

bool hg_api__only_field(hg_api_ctx_t *c, json_t *body, const char *field)
{
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        if (strcmp(key, field) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%.200s: unknown field", key);
            hg_api__invalid(c, key, msg);
            return false;
        }
    }
    return true;
}

/* Map a negative HG_E* code of a database step to a reply. */
void hg_api__db_error(hg_api_ctx_t *c, int rc, const char *err)
{
    switch (rc) {
    case HG_ENOTFOUND:
        hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "%s", err);
        break;
    case HG_EEXIST:
        hg_api__error(c, MHD_HTTP_CONFLICT, "already_exists", "name", "%s", err);
        break;
    case HG_EUNAVAIL:
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL, "%s", err);
        break;
    default:
        hg_error("api: %s %s: %s", c->method, c->url, err[0] ? err : hg_strerror(rc));
        hg_api__error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "database error: %s",
                      err[0] ? err : hg_strerror(rc));
        break;
    }
}

/* ---------------------------------------------------------------------------
 * Database and cluster access (each server thread its own)
 * ------------------------------------------------------------------------ */

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

/* Close the kept audit statement (before its connection goes). */
static void s_slot_forget_audit(s_slot_t *slot)
{
    if (slot->audit) mysql_stmt_close(slot->audit);
    slot->audit = NULL;
}

static void s_slot_destroy(s_slot_t **p)
{
    s_slot_t *slot = *p;
    hg_job_stmts_destroy(&slot->stmts);
    s_slot_forget_audit(slot);
    hg_db_close(&slot->conn);
    hg_cluster_client_destroy(&slot->cluster);
    free(slot);
    *p = NULL;
}

/* The statements kept on this thread's connection (NULL: none kept). */
hg_job_stmts_t *hg_api__stmts(hg_api_t *api)
{
    s_slot_t *slot = s_slot(api);
    return slot ? slot->stmts : NULL;
}

/* Run op on this thread's connection, opening it if needed. When op fails
 * because the server is gone, reconnect once and run it again. Returns op's
 * result, or HG_EUNAVAIL with "database unavailable: <reason>" in err. */
int hg_api__with_db(hg_api_t *api, hg_api_db_op_t op, void *arg, char *err, size_t err_size)
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
        s_slot_forget_audit(slot);
        hg_db_close(&slot->conn);
        if (attempt == 1) snprintf(err, err_size, "database unavailable: %s", reason);
    }
    return HG_EUNAVAIL;
}

hg_cluster_client_t *hg_api__cluster(hg_api_t *api)
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
void hg_api__write_begin(hg_api_t *api)
{
    pthread_rwlock_wrlock(&api->write_lock);
}

void hg_api__write_end(hg_api_t *api)
{
    pthread_rwlock_unlock(&api->write_lock);
}

/* The stripe of a job's lock: the keyed hash of "namespace/name" (names
 * come from users; a name longer than the buffer is cut, which only
 * shares a stripe). */
static unsigned s_job_stripe(const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name ? name : "");
    return (unsigned) (hg_keyhash_str(key) % S_JOB_LOCKS);
}

unsigned hg_api__write_begin_job(hg_api_t *api, const char *ns, const char *name)
{
    unsigned stripe = s_job_stripe(ns, name);
    pthread_rwlock_rdlock(&api->write_lock);
    pthread_mutex_lock(&api->job_locks[stripe]);
    return stripe;
}

void hg_api__write_end_job(hg_api_t *api, unsigned stripe)
{
    pthread_mutex_unlock(&api->job_locks[stripe]);
    pthread_rwlock_unlock(&api->write_lock);
}

struct hg_metrics *hg_api__metrics_of(const hg_api_t *api)
{
    return api->metrics;
}

const char *hg_api__data_dir(const hg_api_t *api)
{
    return api->data_dir;
}

size_t hg_api__purge_batch(const hg_api_t *api)
{
    return api->purge_batch;
}

void hg_api__scan_bounds(const hg_api_t *api, int64_t *budget_ms, int32_t *window)
{
    *budget_ms = api->scan_budget_ms;
    *window = api->scan_window;
}

/* ---------------------------------------------------------------------------
 * Request helpers
 * ------------------------------------------------------------------------ */

const char *hg_api__arg(hg_api_ctx_t *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* Integer query argument within [min, max], def when absent. */
int hg_api__int_arg(hg_api_ctx_t *c, const char *name, long def, long min, long max, long *out)
{
    const char *v = hg_api__arg(c, name);
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
        hg_api__invalid(c, name, msg);
        return HG_EINVAL;
    }
    *out = n;
    return 0;
}

/* [A-Za-z0-9._-], starting with a letter or digit: the charset of job
 * names and namespaces. */
bool hg_api__is_ident(const char *s, size_t max)
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
bool hg_api__in_scope(hg_api_ctx_t *c, const char *ns)
{
    if (!c->who.ns[0] || strcmp(c->who.ns, ns) == 0) return true;
    hg_api__error(c, MHD_HTTP_FORBIDDEN, "forbidden", "namespace",
                  "namespace: this token is scoped to namespace \"%s\"", c->who.ns);
    return false;
}

/* The namespace query argument: "default" when absent, or the namespace
 * the caller's token is scoped to. */
const char *hg_api__ns_arg(hg_api_ctx_t *c, bool *ok)
{
    const char *ns = hg_api__arg(c, "namespace");
    *ok = true;
    if (ns && !hg_api__is_ident(ns, 64)) {
        hg_api__invalid(c, "namespace",
                        "namespace: must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit");
        *ok = false;
    }
    if (!ns && c->who.ns[0]) ns = c->who.ns;
    if (*ok && !hg_api__in_scope(c, ns ? ns : "default")) *ok = false;
    return ns ? ns : "default";
}

void hg_api__forbidden(hg_api_ctx_t *c, hg_role_t need, const char *what)
{
    hg_api__error(c, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                  "%s needs the %s role; token \"%s\" has the %s role", what, hg_role_name(need),
                  c->who.name, hg_role_name(c->who.role));
    json_object_set_new(json_object_get(c->reply, "error"), "role",
                        json_string(hg_role_name(need)));
}

const uint8_t *hg_api__body(const hg_api_ctx_t *c, size_t *len)
{
    *len = c->req->len;
    return (const uint8_t *) c->req->body;
}

/* Parse the request body as a JSON object. An empty body gives NULL with
 * *present false when empty_ok; otherwise 400 bad_json. */
json_t *hg_api__body_json(hg_api_ctx_t *c, bool empty_ok, bool *failed)
{
    *failed = false;
    size_t skip = 0;
    while (skip < c->req->len && strchr(" \t\r\n", c->req->body[skip]))
        skip++;
    if (skip == c->req->len) {
        if (empty_ok) return NULL;
        hg_api__error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL,
                      "body is not a JSON object: empty");
        *failed = true;
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(c->req->body, c->req->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        hg_api__error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL,
                      "body is not valid JSON: %s at line %d, column %d", jerr.text, jerr.line,
                      jerr.column);
        *failed = true;
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        hg_api__error(c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL, "body is not a JSON object");
        *failed = true;
        return NULL;
    }
    return body;
}

bool hg_api__method_is(hg_api_ctx_t *c, const char *m)
{
    return strcmp(c->method, m) == 0;
}

/* ---------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------ */

static void s_not_allowed(hg_api_ctx_t *c, const char *allow)
{
    c->allow = allow;
    hg_api__error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", NULL,
                  "%s is not allowed on %s (allowed: %s)", c->method, c->url, allow);
}

/* Writes, and the live cluster view only the leader has, are the leader's
 * business. True when this master leads; otherwise the reply is set: 503
 * not_leader naming the leader (body and Hourglass-Leader header), or 503
 * unavailable when the cluster actor did not answer. */
static bool s_leading(hg_api_ctx_t *c)
{
    hg_cluster_client_t *cl = hg_api__cluster(c->api);
    hg_cluster_role_t role;
    int rc = cl ? hg_cluster_role(cl, &role) : HG_EUNAVAIL;
    if (rc != 0) {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", NULL,
                      "the cluster did not answer: %s", hg_strerror(rc));
        return false;
    }
    if (role.leading) return true;
    if (role.leader_api[0] && hg_forward_wanted(c)) {
        /* The dashboard asks the standby to pass its writes on (forward.h).
         * The leader audits what it served: the standby does not again. */
        if (hg_forward_to_leader(c, role.leader_api)) c->action = NULL;
        return false;
    }
    if (role.leader_api[0]) {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_leader", NULL,
                      "this master is a standby; the leader is %s at %s",
                      role.leader[0] ? role.leader : "another master", role.leader_api);
        json_object_set_new(json_object_get(c->reply, "error"), "leader",
                            json_string(role.leader_api));
        snprintf(c->leader, sizeof c->leader, "%s", role.leader_api);
    } else {
        hg_api__error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_leader", NULL,
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

static void s_unauthorized(hg_api_ctx_t *c, const char *why)
{
    hg_api__error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL,
                  "%s: send \"Authorization: Bearer <token>\" (docs/api.md, Authentication)", why);
}

/* Authenticate a request to /api/ and check the role its route needs, the
 * scope of its token and ?reveal=true. True to go on; otherwise the reply
 * is set: 401, 403, or 503 when MySQL cannot say and this master has not
 * verified the token lately. */
static bool s_authorize(hg_api_ctx_t *c)
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
    int rc = hg_api__with_db(c->api, s_op_verify, &a, err, sizeof err);
    if (rc == HG_EUNAVAIL &&
        hg_auth_cache_get(c->api->auth_cache, a.hash, S_AUTH_OUTAGE_GRACE_MS, &a.who))
        rc = 0;
    if (rc == HG_ENOTFOUND) {
        hg_auth_cache_forget(c->api->auth_cache, a.hash);
        s_unauthorized(c, "unknown, expired or revoked token");
        return false;
    }
    if (rc != 0) {
        hg_api__db_error(c, rc, err);
        return false;
    }
    c->who = a.who;
    hg_role_t need;
    const char *action;
    if (hg_auth_route(c->method, c->url, &need, &action) == 0) {
        c->action = action;
        if (strncmp(c->url, S_JOBS_PREFIX, strlen(S_JOBS_PREFIX)) == 0) {
            /* The audit object of a refusal too: "namespace/name". */
            const char *name = c->url + strlen(S_JOBS_PREFIX), *ns = hg_api__arg(c, "namespace");
            snprintf(c->object, sizeof c->object, "%s/%.*s",
                     ns             ? ns
                     : c->who.ns[0] ? c->who.ns
                                    : "default",
                     (int) strcspn(name, "/"), name);
        } else if (strncmp(c->url, S_NODES_PREFIX, strlen(S_NODES_PREFIX)) == 0) {
            const char *node = c->url + strlen(S_NODES_PREFIX);
            snprintf(c->object, sizeof c->object, "%.*s", (int) strcspn(node, "/"), node);
        } else if (strncmp(c->url, S_PLUGINS_PREFIX, strlen(S_PLUGINS_PREFIX)) == 0) {
            snprintf(c->object, sizeof c->object, "%s", c->url + strlen(S_PLUGINS_PREFIX));
        } else if (strcmp(c->url, S_PLUGINS) == 0 && action) {
            const char *pname = hg_api__arg(c, "name"), *version = hg_api__arg(c, "version");
            snprintf(c->object, sizeof c->object, "%.200s@%.200s", pname ? pname : "-",
                     version ? version : "-");
        }
        char what[300];
        snprintf(what, sizeof what, "%s %s", c->method, c->url);
        if (c->who.role < need) {
            hg_api__forbidden(c, need, what);
            return false;
        }
        if (!hg_auth_scope_allows(&c->who, need, action)) {
            hg_api__error(
                c, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                "%s acts on the whole cluster; token \"%s\" is scoped to namespace \"%s\"", what,
                c->who.name, c->who.ns);
            return false;
        }
    }
    const char *reveal = hg_api__arg(c, "reveal");
    if (reveal && strcmp(reveal, "true") == 0) {
        if (c->who.role < HG_ROLE_ADMIN) {
            hg_api__forbidden(c, HG_ROLE_ADMIN, "reveal=true");
            return false;
        }
        c->reveal = true;
    }
    return true;
}

typedef struct {
    hg_audit_entry_t entry;
    s_slot_t *slot; /* the calling thread's: its kept statement */
} s_audit_op_t;

static int s_op_audit(MYSQL *db, void *arg, char *err, size_t err_size)
{
    s_audit_op_t *a = arg;
    return hg_audit_record(db, a->slot ? &a->slot->audit : NULL, &a->entry, err, err_size);
}

/* Record a write by an authenticated caller, whatever its answer (the
 * status is in the row). Anonymous refusals (401) are not recorded: they
 * carry no identity, and would let anyone fill the table. */
static void s_audit(hg_api_ctx_t *c)
{
    if (!c->action || c->who.role == HG_ROLE_NONE) return;
    char address[64] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    hg_audit_address(ci ? ci->client_addr : NULL, address, sizeof address);
    s_audit_op_t a = {.entry = {.token_name = c->who.name,
                                .role = hg_role_name(c->who.role),
                                .action = c->action,
                                .object = c->object[0] ? c->object : c->url,
                                .address = address,
                                .status = c->status},
                      .slot = s_slot(c->api)};
    char err[1024];
    int rc = hg_api__with_db(c->api, s_op_audit, &a, err, sizeof err);
    if (rc != 0) hg_warn("api: audit of %s by %s not recorded: %s", c->action, c->who.name, err);
}

static const char *s_arg_cb(void *ctx, const char *name)
{
    return hg_api__arg(ctx, name);
}

/* Tokens, worker keys, audit log (api_admin.h). */
static void s_admin(hg_api_ctx_t *c, const char *allow)
{
    bool get = hg_api__method_is(c, "GET") || hg_api__method_is(c, "HEAD");
    char m[16];
    snprintf(m, sizeof m, "%s", get ? "GET" : c->method);
    if (!strstr(allow, m)) {
        s_not_allowed(c, allow);
        return;
    }
    bool failed = false;
    json_t *body = hg_api__method_is(c, "POST") ? hg_api__body_json(c, true, &failed) : NULL;
    if (failed) return;
    hg_api_admin_t a = {
        .method = m, .path = c->url, .body = body, .arg = s_arg_cb, .arg_ctx = c, .who = &c->who};
    char err[1024];
    int rc = hg_api__with_db(c->api, hg_api_admin_op, &a, err, sizeof err);
    snprintf(c->object, sizeof c->object, "%s", a.object);
    if (rc == 0)
        hg_api__reply(c, a.status, a.reply);
    else if (rc == HG_EINVAL)
        hg_api__invalid(c, a.field[0] ? a.field : NULL, err);
    else
        hg_api__db_error(c, rc, err);
    if (rc != 0) json_decref(a.reply);
    json_decref(body);
}

static void s_no_route(hg_api_ctx_t *c)
{
    hg_api__error(c, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no route for %s %s", c->method,
                  c->url);
}

/* /api/v1/nodes/{name}/drain|activate */
static void s_route_node(hg_api_ctx_t *c)
{
    const char *name = c->url + strlen(S_NODES_PREFIX);
    const char *slash = strchr(name, '/');
    const char *action = slash ? slash + 1 : "";
    size_t name_len = slash ? (size_t) (slash - name) : strlen(name);
    char buf[256];
    if (name_len == 0 || name_len >= sizeof buf ||
        (strcmp(action, "drain") != 0 && strcmp(action, "activate") != 0)) {
        s_no_route(c);
        return;
    }
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    if (hg_api__method_is(c, "POST"))
        hg_api__node_drain(c, buf, strcmp(action, "drain") == 0);
    else
        s_not_allowed(c, "POST");
}

/* /api/v1/jobs/{name}[/action] */
static void s_route_job(hg_api_ctx_t *c)
{
    const char *name = c->url + strlen(S_JOBS_PREFIX);
    const char *slash = strchr(name, '/');
    char buf[256];
    size_t name_len = slash ? (size_t) (slash - name) : strlen(name);
    const char *action = slash ? slash + 1 : NULL;
    if (name_len == 0 || name_len >= sizeof buf || (action && strchr(action, '/')) ||
        (action && strcmp(action, "pause") != 0 && strcmp(action, "resume") != 0 &&
         strcmp(action, "trigger") != 0 && strcmp(action, "tree") != 0 &&
         strcmp(action, "backfill") != 0)) {
        s_no_route(c);
        return;
    }
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    if (!action) {
        if (hg_api__method_is(c, "GET"))
            hg_api__job_get(c, buf);
        else if (hg_api__method_is(c, "DELETE"))
            hg_api__job_delete(c, buf);
        else if (hg_api__method_is(c, "PUT") || hg_api__method_is(c, "PATCH"))
            hg_api__job_edit(c, buf, hg_api__method_is(c, "PATCH"));
        else
            s_not_allowed(c, "GET, PUT, PATCH, DELETE");
    } else if (strcmp(action, "tree") == 0) {
        if (hg_api__method_is(c, "GET"))
            hg_api__job_tree(c, buf);
        else
            s_not_allowed(c, "GET");
    } else if (!hg_api__method_is(c, "POST")) {
        s_not_allowed(c, "POST");
    } else if (strcmp(action, "pause") == 0) {
        hg_api__job_pause(c, buf, true);
    } else if (strcmp(action, "resume") == 0) {
        hg_api__job_pause(c, buf, false);
    } else if (strcmp(action, "backfill") == 0) {
        hg_api__job_backfill(c, buf);
    } else {
        hg_api__job_trigger(c, buf);
    }
}

/* /api/v1/runs/{id} (GET) and /api/v1/runs/{id}/cancel (POST) */
static void s_route_run(hg_api_ctx_t *c)
{
    const char *id = c->url + strlen(S_RUNS_PREFIX);
    const char *slash = strchr(id, '/');
    char buf[64];
    size_t id_len = slash ? (size_t) (slash - id) : strlen(id);
    if (id_len == 0 || id_len >= sizeof buf || (slash && strcmp(slash, "/cancel") != 0)) {
        s_no_route(c);
        return;
    }
    memcpy(buf, id, id_len);
    buf[id_len] = '\0';
    if (slash) {
        if (hg_api__method_is(c, "POST"))
            hg_api__run_cancel(c, buf);
        else
            s_not_allowed(c, "POST");
    } else if (hg_api__method_is(c, "GET")) {
        hg_api__run_get(c, buf);
    } else {
        s_not_allowed(c, "GET");
    }
}

/* /api/v1/plugins/{sha256} */
static void s_route_plugin(hg_api_ctx_t *c)
{
    const char *sha = c->url + strlen(S_PLUGINS_PREFIX);
    if (strchr(sha, '/'))
        s_no_route(c);
    else if (hg_api__method_is(c, "GET") || hg_api__method_is(c, "DELETE"))
        hg_api__plugin_one(c, sha);
    else
        s_not_allowed(c, "GET, DELETE");
}

/* A route taking one method; get: GET, else POST. */
static void s_route_one(hg_api_ctx_t *c, bool get, void (*handler)(hg_api_ctx_t *c))
{
    if (hg_api__method_is(c, get ? "GET" : "POST"))
        handler(c);
    else
        s_not_allowed(c, get ? "GET" : "POST");
}

/* A collection: GET lists, POST creates. */
static void s_route_collection(hg_api_ctx_t *c, void (*list)(hg_api_ctx_t *c),
                               void (*create)(hg_api_ctx_t *c))
{
    if (hg_api__method_is(c, "GET"))
        list(c);
    else if (hg_api__method_is(c, "POST"))
        create(c);
    else
        s_not_allowed(c, "GET, POST");
}

static void s_route(hg_api_ctx_t *c)
{
    const char *url = c->url;
    /* /api/ requests were authenticated on their headers (s_handler). */
    bool read = hg_api__method_is(c, "GET") || hg_api__method_is(c, "HEAD");
    if (strncmp(url, "/api/", 5) == 0 && (!read || strcmp(url, "/api/v1/nodes") == 0) &&
        !s_leading(c))
        return;
    const char *admin_allow = hg_api_admin_allow(url);
    if (admin_allow)
        s_admin(c, admin_allow);
    else if (strcmp(url, "/healthz") == 0)
        s_route_one(c, true, hg_api__healthz);
    else if (strcmp(url, "/metrics") == 0)
        s_route_one(c, true, hg_api__metrics);
    else if (strcmp(url, "/api/v1/runs:purge") == 0)
        s_route_one(c, false, hg_api__runs_purge);
    else if (strcmp(url, "/api/v1/jobs") == 0)
        s_route_collection(c, hg_api__jobs_list, hg_api__jobs_create);
    else if (strcmp(url, "/api/v1/jobs:batch") == 0)
        s_route_one(c, false, hg_api__jobs_batch);
    else if (strcmp(url, "/api/v1/runs") == 0)
        s_route_one(c, true, hg_api__runs_list);
    else if (strcmp(url, "/api/v1/runs/stats") == 0)
        s_route_one(c, true, hg_api__runs_stats);
    else if (strcmp(url, "/api/v1/whoami") == 0)
        s_route_one(c, true, hg_api__whoami);
    else if (strcmp(url, "/api/v1/masters") == 0)
        s_route_one(c, true, hg_api__masters_list);
    else if (strcmp(url, "/api/v1/schedule/explain") == 0)
        s_route_one(c, true, hg_api__schedule_explain);
    else if (strncmp(url, S_RUNS_PREFIX, strlen(S_RUNS_PREFIX)) == 0 &&
             url[strlen(S_RUNS_PREFIX)] != '\0')
        s_route_run(c);
    else if (strcmp(url, S_PLUGINS) == 0)
        s_route_collection(c, hg_api__plugins_list, hg_api__plugin_push);
    else if (strncmp(url, S_PLUGINS_PREFIX, strlen(S_PLUGINS_PREFIX)) == 0 &&
             url[strlen(S_PLUGINS_PREFIX)] != '\0')
        s_route_plugin(c);
    else if (strcmp(url, "/api/v1/alerts") == 0 || strncmp(url, "/api/v1/alerts/", 15) == 0 ||
             strcmp(url, "/api/v1/alerts:history") == 0)
        hg_api__alerts_route(c);
    else if (strcmp(url, "/api/v1/nodes") == 0)
        s_route_one(c, true, hg_api__nodes_list);
    else if (strncmp(url, S_NODES_PREFIX, strlen(S_NODES_PREFIX)) == 0)
        s_route_node(c);
    else if (strncmp(url, S_JOBS_PREFIX, strlen(S_JOBS_PREFIX)) == 0 &&
             url[strlen(S_JOBS_PREFIX)] != '\0')
        s_route_job(c);
    else
        s_no_route(c);
}

/* ---------------------------------------------------------------------------
 * libmicrohttpd glue
 * ------------------------------------------------------------------------ */

/* Send a plain-text reply (GET /metrics); takes text. */
static enum MHD_Result s_send_text(struct MHD_Connection *conn, int status, char *text, size_t len,
                                   const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned int) status, resp);
    MHD_destroy_response(resp);
    return ret;
}

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
static void s_too_large(hg_api_ctx_t *c, unsigned long long declared)
{
    size_t limit = c->req->limit;
    if (!c->req->plugin)
        hg_api__error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                      "request body is over %u bytes", HG_API_MAX_BODY);
    else if (declared)
        hg_api__error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                      "plug-in is %llu bytes, over the limit of %zu bytes (master setting "
                      "plugin.max_size)",
                      declared, limit);
    else
        hg_api__error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                      "plug-in is over the limit of %zu bytes (master setting plugin.max_size)",
                      limit);
}

static void s_log_request(hg_api_t *api, const char *method, const char *url, int status,
                          int64_t start_us)
{
    double ms = (double) (hg_mono_us() - start_us) / 1000.0;
    hg_debug("api: %s %s -> %d (%.1f ms)", method, url, status, ms);
    if (api->metrics)
        hg_metrics_api(api->metrics, hg_auth_route_pattern(method, url), status, ms / 1000.0);
}

/* Authenticate an /api/ request on its headers (first call of the
 * handler) and keep the outcome in req: the caller and what the route
 * needs, or the refusal, in which case the body is not kept (limit 0). */
static void s_authenticate(hg_api_t *api, struct MHD_Connection *conn, const char *method,
                           const char *url, hg_api_req_t *req)
{
    hg_api_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
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
static void s_req_restore(hg_api_ctx_t *c)
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
    hg_api_req_t *req = *con_cls;
    if (!req) {
        /* First call: headers only. Refuse a declared oversize body before
         * reading it. */
        req = calloc(1, sizeof *req);
        if (!req) return MHD_NO;
        req->start_us = hg_mono_us();
        *con_cls = req;
        req->plugin = strcmp(url, S_PLUGINS) == 0 && strcmp(method, "POST") == 0;
        req->limit = req->plugin ? api->plugin_max_size : HG_API_MAX_BODY;
        if (strncmp(url, "/api/", 5) == 0 || (strcmp(url, "/metrics") == 0 && !api->metrics_public))
            s_authenticate(api, conn, method, url, req);
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
            hg_api_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
            s_req_restore(&c);
            if (req->denied) {
                hg_api__reply(&c, req->denied_status, req->denied);
                req->denied = NULL;
                s_audit(&c);
            } else {
                s_too_large(&c, declared);
            }
            enum MHD_Result ret = s_send(conn, c.status, c.reply, NULL, NULL);
            s_log_request(api, method, url, c.status, req->start_us);
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

    if (hg_auth_is_public(url)) { /* the dashboard's files (web.h) */
        int status = 0;
        enum MHD_Result ret = (enum MHD_Result) hg_web_send(conn, method, url, &status);
        s_log_request(api, method, url, status, req->start_us);
        return ret;
    }
    hg_api_ctx_t c = {.api = api, .conn = conn, .method = method, .url = url, .req = req};
    s_req_restore(&c);
    bool audit = true; /* not twice for a request answered on its headers */
    if (req->denied) {
        hg_api__reply(&c, req->denied_status, req->denied);
        req->denied = NULL;
    } else if (req->too_large) {
        s_too_large(&c, 0);
        audit = false;
    } else {
        s_route(&c);
    }
    if (!c.reply && !c.text)
        hg_api__error(&c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "no reply");
    if (audit) s_audit(&c);
    enum MHD_Result ret = c.text ? s_send_text(conn, c.status, c.text, c.text_len, c.text_type)
                                 : s_send(conn, c.status, c.reply, c.allow, c.leader);
    c.text = NULL;
    s_log_request(api, method, url, c.status, req->start_us);
    json_decref(c.reply);
    return ret;
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    hg_api_req_t *req = *con_cls;
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
    /* A write that holds the lock alone is not starved by a stream of
     * one-job writes. */
    pthread_rwlockattr_t rwa;
    pthread_rwlockattr_init(&rwa);
    pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&api->write_lock, &rwa);
    pthread_rwlockattr_destroy(&rwa);
    for (int i = 0; i < S_JOB_LOCKS; i++)
        pthread_mutex_init(&api->job_locks[i], NULL);
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
    api->metrics = opts ? opts->metrics : NULL;
    api->metrics_public = opts && opts->metrics_public;
    api->scan_budget_ms = opts ? opts->scan_budget_ms : 0;
    api->scan_window = opts ? opts->scan_window : 0;
    api->purge_batch = opts ? opts->purge_batch : 0;

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
    pthread_rwlock_destroy(&self->write_lock);
    for (int i = 0; i < S_JOB_LOCKS; i++)
        pthread_mutex_destroy(&self->job_locks[i]);
    for (size_t i = 0; i < 5; i++)
        free(self->db_strings[i]);
    free(self->data_dir);
    hg_auth_cache_destroy(&self->auth_cache);
    free(self);
    *api = NULL;
}
