/* api_admin: the REST API's administration routes (docs/api.md): tokens
 * (/api/v1/tokens), worker keys (/api/v1/worker-keys) and the audit log
 * (/api/v1/audit). api.c authenticates, checks the role and hands such a
 * request here as one database step (hg_api_admin_op, run through its
 * reconnecting hg_api__with_db, api_internal.h). */
#ifndef HG_MASTER_API_ADMIN_H
#define HG_MASTER_API_ADMIN_H

#include "auth.h"

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>

/* One administration request and its answer. */
typedef struct {
    const char *method;                              /* "GET", "POST", "DELETE" */
    const char *path;                                /* full path, e.g. "/api/v1/tokens/ci" */
    json_t *body;                                    /* parsed JSON object body, or NULL */
    const char *(*arg)(void *ctx, const char *name); /* query argument lookup */
    void *arg_ctx;                                   /* for arg */
    const hg_principal_t *who;                       /* the caller */
    int status;                                      /* out: HTTP status on success */
    json_t *reply;    /* out: body on success (caller json_decref's) */
    char field[64];   /* out: field named by an HG_EINVAL */
    char object[256]; /* out: object for the audit log */
} hg_api_admin_t;

/* The methods allowed on path ("GET, POST") when it is one of the routes
 * served here, else NULL. */
const char *hg_api_admin_allow(const char *path);

/* The request's database step (an hg_api_db_op_t). 0 with status and reply set;
 * HG_EINVAL (400; message in err, field set), HG_ENOTFOUND (404),
 * HG_EEXIST (409), or HG_EDB / HG_ENOMEM. A route or method not served
 * here is HG_EUNKNOWN (the caller answers 404/405). */
int hg_api_admin_op(MYSQL *db, void *arg, char *err, size_t err_size);

#endif
