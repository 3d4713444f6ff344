/* api_internal: what the REST API's modules share, private to them.
 *
 * api.c is the server core: libmicrohttpd, each thread's database
 * connection and cluster client, request bodies, authentication, routing,
 * the audit hook and the helpers below. The route handlers live by
 * resource in api_jobs.c, api_runs.c, api_nodes.c and api_plugins.c
 * (api_admin.c, which needs none of this, has its own header). A handler
 * sets the reply through hg_api__reply or hg_api__error and never sends
 * it: api.c does, after auditing the request. */
#ifndef HG_MASTER_API_INTERNAL_H
#define HG_MASTER_API_INTERNAL_H

#include "api.h"
#include "auth.h"
#include "cluster.h"
#include "job_db.h"

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;

/* Per-request state kept between calls of the libmicrohttpd handler
 * (body, limits, the outcome of authentication); api.c's own. */
typedef struct hg_api_req hg_api_req_t;

/* One request being answered. */
typedef struct {
    hg_api_t *api;               /* the server */
    struct MHD_Connection *conn; /* libmicrohttpd connection */
    const char *method;          /* "GET", "POST", ... */
    const char *url;             /* path, without the query */
    hg_api_req_t *req;           /* upload data */
    int status;                  /* HTTP status to send */
    json_t *reply;               /* body to send */
    const char *allow;           /* Allow header for 405, or NULL */
    char leader[256];            /* Hourglass-Leader header (a standby's 503), "" for none */
    hg_principal_t who;          /* the caller, once authenticated */
    bool reveal;                 /* an admin asked for secrets in clear (?reveal=true) */
    const char *action;          /* audit action of this write, NULL for a read */
    char object[600];            /* audit object ("default/ping"); "" for the path */
    char *text;                  /* a plain-text reply instead of JSON (owned), or NULL */
    size_t text_len;             /* its bytes */
    const char *text_type;       /* its Content-Type */
} hg_api_ctx_t;

/* A database step run by hg_api__with_db: 0 or a negative HG_E* code with
 * the reason in err. */
typedef int (*hg_api_db_op_t)(MYSQL *db, void *arg, char *err, size_t err_size);

/* ---------------------------------------------------------------------------
 * Replies (api.c)
 * ------------------------------------------------------------------------ */

/* Set the reply to status and body (stolen), dropping any earlier one. */
void hg_api__reply(hg_api_ctx_t *c, int status, json_t *body);

/* Reply {"error": {"code", "message"[, "field"]}}; field may be NULL. */
__attribute__((format(printf, 5, 6))) void hg_api__error(hg_api_ctx_t *c, int status,
                                                         const char *code, const char *field,
                                                         const char *fmt, ...);

/* Reply 400 invalid_argument naming field (may be NULL). */
void hg_api__invalid(hg_api_ctx_t *c, const char *field, const char *message);
/* true when body has no member but field; else answers 400 naming the
 * first other member (a typo must not pass silently) and returns false. */
bool hg_api__only_field(hg_api_ctx_t *c, json_t *body, const char *field);

/* Reply to a failed database step: 404, 409, 503 or 500 by its code. */
void hg_api__db_error(hg_api_ctx_t *c, int rc, const char *err);

/* Reply 403 for a caller whose role is below need; what names the act. */
void hg_api__forbidden(hg_api_ctx_t *c, hg_role_t need, const char *what);

/* ---------------------------------------------------------------------------
 * Database and cluster, each server thread its own (api.c)
 * ------------------------------------------------------------------------ */

/* Run op on this thread's MySQL connection, reconnecting once when the
 * server is gone. op's result, or HG_EUNAVAIL ("database unavailable: ..."
 * in err) when MySQL stays unreachable. */
int hg_api__with_db(hg_api_t *api, hg_api_db_op_t op, void *arg, char *err, size_t err_size);

/* The job statements kept prepared on this thread's connection, or NULL. */
hg_job_stmts_t *hg_api__stmts(hg_api_t *api);

/* This thread's cluster client, created on first use; NULL when it
 * cannot be. */
hg_cluster_client_t *hg_api__cluster(hg_api_t *api);

/* Around a write's database step and its cluster notification, so that
 * the cluster learns of changes in the order MySQL committed them. */
void hg_api__write_begin(hg_api_t *api);
void hg_api__write_end(hg_api_t *api);
/* The same for a write of one job that reads or changes no other job (a
 * creation without parents, a pause or resume): it waits only for writes
 * of the same job and for those of the first kind, so that writes of
 * different jobs commit side by side. Returns what to pass to the end. */
unsigned hg_api__write_begin_job(hg_api_t *api, const char *ns, const char *name);
void hg_api__write_end_job(hg_api_t *api, unsigned stripe);

/* The directory of the plug-in copies this master serves, or NULL. */
const char *hg_api__data_dir(const hg_api_t *api);

/* api.scan_budget and api.scan_window: how much of the index a filtered
 * job page may walk (job_walk.h). */
void hg_api__scan_bounds(const hg_api_t *api, int64_t *budget_ms, int32_t *window);
/* Rows per statement of a manual purge (retention.batch); 0: the default. */
size_t hg_api__purge_batch(const hg_api_t *api);

/* ---------------------------------------------------------------------------
 * Request (api.c)
 * ------------------------------------------------------------------------ */

/* True when the request's method is m. */
bool hg_api__method_is(hg_api_ctx_t *c, const char *m);

/* A query argument, NULL when absent or empty. */
const char *hg_api__arg(hg_api_ctx_t *c, const char *name);

/* Integer query argument within [min, max], def when absent; HG_EINVAL
 * with the reply set (400) when out of range. */
int hg_api__int_arg(hg_api_ctx_t *c, const char *name, long def, long min, long max, long *out);

/* [A-Za-z0-9._-] of at most max bytes, starting with a letter or digit:
 * the charset of job names and namespaces. */
bool hg_api__is_ident(const char *s, size_t max);

/* True when the caller's token may act in namespace ns; otherwise the
 * reply is set (403). */
bool hg_api__in_scope(hg_api_ctx_t *c, const char *ns);

/* The namespace query argument ("default", or the token's namespace, when
 * absent); *ok false with the reply set when invalid or out of scope. */
const char *hg_api__ns_arg(hg_api_ctx_t *c, bool *ok);

/* The request body as a JSON object (new reference). An empty body gives
 * NULL when empty_ok; otherwise *failed with the reply set (400). */
json_t *hg_api__body_json(hg_api_ctx_t *c, bool empty_ok, bool *failed);

/* The raw request body and its length in *len (owned by the request). */
const uint8_t *hg_api__body(const hg_api_ctx_t *c, size_t *len);

/* ---------------------------------------------------------------------------
 * Route handlers, called by api.c's router once the method is checked
 * ------------------------------------------------------------------------ */

/* api_jobs.c: GET and POST /api/v1/jobs, POST /api/v1/jobs:batch, and
 * /api/v1/jobs/{name}: GET, DELETE, POST .../pause|resume|trigger. */
void hg_api__jobs_list(hg_api_ctx_t *c);
void hg_api__jobs_create(hg_api_ctx_t *c);
void hg_api__jobs_batch(hg_api_ctx_t *c);
void hg_api__job_get(hg_api_ctx_t *c, const char *name);
void hg_api__job_delete(hg_api_ctx_t *c, const char *name);
void hg_api__job_set_status(hg_api_ctx_t *c, const char *name, const char *status);
void hg_api__job_trigger(hg_api_ctx_t *c, const char *name);

/* api_deps.c: GET /api/v1/jobs/{name}/tree, and the dependency parts of
 * DELETE /api/v1/jobs/{name} (deps.h). cascade_arg: the ?cascade=
 * argument (false when absent); false with the reply set when invalid.
 * refuse_delete: 409 has_dependents naming them. drop_cascaded: revoke the
 * deleted dependents (stored jobs) from the cluster; new array of names. */
void hg_api__job_tree(hg_api_ctx_t *c, const char *name);
bool hg_api__deps_cascade_arg(hg_api_ctx_t *c, bool *cascade);
void hg_api__deps_refuse_delete(hg_api_ctx_t *c, const char *name, json_t *dependents);
json_t *hg_api__deps_drop_cascaded(hg_api_ctx_t *c, json_t *cascaded);

/* A job that runs any code its writer chooses (shell, thread isolation,
 * a plug-in pushed by an admin) is the admin's to write: true when the
 * caller may; otherwise the reply is set (403, or 503). what names the
 * act ("creation", "edit"). api_jobs.c. */
bool hg_api__may_write_job(hg_api_ctx_t *c, const json_t *job, const char *what);

/* api_job_edit.c: PUT and PATCH /api/v1/jobs/{name}, POST
 * .../pause|resume (with a note) and .../backfill; the next_fires and
 * last_run that GET adds to a job. */
void hg_api__job_edit(hg_api_ctx_t *c, const char *name, bool patch);
void hg_api__job_pause(hg_api_ctx_t *c, const char *name, bool pause);
void hg_api__job_backfill(hg_api_ctx_t *c, const char *name);
void hg_api__job_add_outlook(hg_api_ctx_t *c, json_t *job);

/* api_runs.c: GET /api/v1/runs and GET /api/v1/runs/{id}. */
void hg_api__runs_list(hg_api_ctx_t *c);
void hg_api__run_get(hg_api_ctx_t *c, const char *id);

/* api_runctl.c (issue 11): POST /api/v1/runs/{id}/cancel, and the body
 * check of a trigger (params, force), answering 400 when it fails. */
void hg_api__run_cancel(hg_api_ctx_t *c, const char *id);
bool hg_api__trigger_body(hg_api_ctx_t *c, json_t *body, bool *force);

/* api_nodes.c: GET /api/v1/nodes, POST /api/v1/nodes/{name}/drain|activate
 * (drain true for drain), and GET /healthz. */
void hg_api__nodes_list(hg_api_ctx_t *c);
void hg_api__node_drain(hg_api_ctx_t *c, const char *name, bool drain);
void hg_api__healthz(hg_api_ctx_t *c);

/* api_metrics.c: GET /metrics (its figures: hg_api__metrics_of). */
void hg_api__metrics(hg_api_ctx_t *c);
struct hg_metrics *hg_api__metrics_of(const hg_api_t *api);

/* api_retention.c: POST /api/v1/runs:purge. */
void hg_api__runs_purge(hg_api_ctx_t *c);

/* api_plugins.c: POST and GET /api/v1/plugins, GET and DELETE
 * /api/v1/plugins/{sha256}. */
void hg_api__plugin_push(hg_api_ctx_t *c);
void hg_api__plugins_list(hg_api_ctx_t *c);
void hg_api__plugin_one(hg_api_ctx_t *c, const char *sha);

/* api_alerts.c: /api/v1/alerts, /api/v1/alerts:history and
 * /api/v1/alerts/{name}[/test|/history], every method (it answers 405). */
void hg_api__alerts_route(hg_api_ctx_t *c);

/* api_masters.c: GET /api/v1/masters (masters.h). */
void hg_api__masters_list(hg_api_ctx_t *c);

#endif
