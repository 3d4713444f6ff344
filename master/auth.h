/* auth: who may call the REST API. API tokens (create, parse, verify,
 * list, revoke, the first admin token of a new cluster), the roles, and the
 * one table that says which role each route needs (docs/api.md,
 * "Authentication").
 *
 * A token is "hg_" followed by 32 random bytes in unpadded base64url. Only
 * its crypto_generichash (BLAKE2b-256) is stored (api_tokens.token_hash);
 * a request's token is verified by looking its hash up, so no token is
 * ever compared as text and a copy of the table grants nothing. */
#ifndef HG_MASTER_AUTH_H
#define HG_MASTER_AUTH_H

#include <jansson.h>
#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Roles, each allowed everything the ones below it are. */
typedef enum {
    HG_ROLE_NONE = 0,     /* no valid token */
    HG_ROLE_VIEWER = 1,   /* read jobs, runs, nodes, plug-ins; secrets redacted */
    HG_ROLE_OPERATOR = 2, /* + trigger, pause, resume, drain, activate */
    HG_ROLE_EDITOR = 3,   /* + create and delete HTTP and plug-in jobs */
    HG_ROLE_ADMIN = 4,    /* + shell, thread isolation, plug-ins, tokens, worker keys, audit */
} hg_role_t;

#define HG_TOKEN_HASH_SIZE     32 /* crypto_generichash_BYTES */
#define HG_TOKEN_TEXT_SIZE     47 /* "hg_" + 43 base64url characters + NUL */
#define HG_TOKEN_NAME_MAX      128
#define HG_AUTH_BOOTSTRAP_NAME "bootstrap-admin"
#define HG_AUTH_TOKEN_FILE     "admin.token" /* in the master's data.dir */

/* The holder of a verified token. */
typedef struct {
    uint64_t id;                      /* api_tokens.id */
    char name[HG_TOKEN_NAME_MAX + 1]; /* token name, shown in the audit log */
    hg_role_t role;                   /* what it may do */
    char ns[HG_TOKEN_NAME_MAX + 1];   /* namespace scope; "" for every namespace */
    int64_t expires_ms;               /* expiry (ms since the epoch), 0 for none */
} hg_principal_t;

/* "viewer", ..., "admin"; "none" for HG_ROLE_NONE. */
const char *hg_role_name(hg_role_t role);

/* The role named text, or HG_ROLE_NONE when it names none. */
hg_role_t hg_role_parse(const char *text);

/* A new token: its text (HG_TOKEN_TEXT_SIZE bytes) and its hash. */
void hg_token_generate(char *text, uint8_t hash[HG_TOKEN_HASH_SIZE]);

/* Hash a token's text. 0, or HG_EINVAL when text is not a token's form
 * (which a caller answers like an unknown token). */
int hg_token_hash(const char *text, uint8_t hash[HG_TOKEN_HASH_SIZE]);

/* The token of an "Authorization: Bearer <token>" header value (the
 * scheme is case-insensitive), or NULL. Points into value. */
const char *hg_auth_bearer(const char *value);

/* Look hash up: 0 and *who for a token that exists, is not revoked and has
 * not expired; HG_ENOTFOUND otherwise; HG_EDB with the reason in err. */
int hg_token_verify(MYSQL *db, const uint8_t hash[HG_TOKEN_HASH_SIZE], hg_principal_t *who,
                    char *err, size_t err_size);

/* Record that token id was used now (api_tokens.last_used_at). */
int hg_token_touch(MYSQL *db, uint64_t id, char *err, size_t err_size);

/* Create a token. name: 1-128 of [A-Za-z0-9._-]; ns: NULL or "" for every
 * namespace; expires_ms: 0 for none. text receives the token
 * (HG_TOKEN_TEXT_SIZE bytes), the only time it exists in clear; *row (may
 * be NULL; caller json_decref's) its listing. 0, HG_EINVAL (message in err),
 * HG_EEXIST (name taken) or HG_EDB. */
int hg_token_create(MYSQL *db, const char *name, hg_role_t role, const char *ns, int64_t expires_ms,
                    const char *created_by, char *text, json_t **row, char *err, size_t err_size);

/* Every token (never a hash), newest first: *out is a JSON array. */
int hg_token_list(MYSQL *db, json_t **out, char *err, size_t err_size);

/* Revoke the token named name. 0, HG_ENOTFOUND (no such token, or already
 * revoked) or HG_EDB. */
int hg_token_revoke(MYSQL *db, const char *name, char *err, size_t err_size);

/* On a database without any token, create the admin token
 * HG_AUTH_BOOTSTRAP_NAME and write it to data_dir/HG_AUTH_TOKEN_FILE (mode
 * 0600, the directory created if needed). *created tells whether it did;
 * path (may be NULL) gets the file's path. Another master that bootstraps
 * at the same time loses the race on the name and creates nothing. */
int hg_auth_bootstrap(MYSQL *db, const char *data_dir, bool *created, char *path, size_t path_size,
                      char *err, size_t err_size);

/* The role a route needs and its audit action (NULL for reads). method
 * HEAD counts as GET. 0, or HG_ENOTFOUND for a route not in the table
 * (which the router answers 404 or 405, to any valid token). */
int hg_auth_route(const char *method, const char *path, hg_role_t *need, const char **action);

/* The route table's pattern that method and path match (e.g. /api/v1/jobs/{name}),
 * "/healthz", or "other": a label of bounded cardinality for metrics. */
const char *hg_auth_route_pattern(const char *method, const char *path);
/* True when path is one of the public routes of the table (the
 * dashboard's files), served to anyone; nothing under /api/ ever is. */
bool hg_auth_is_public(const char *path);

/* Every row of the route table in turn: i from 0 until it returns false. */
bool hg_auth_route_at(size_t i, const char **method, const char **pattern, hg_role_t *need,
                      const char **action);

/* True when creating or changing job (as validated) needs admin: it runs
 * the shell plug-in or uses thread isolation, both of which run any code
 * the job's writer chooses inside the worker's trust. */
bool hg_auth_job_needs_admin(const json_t *job);

/* The role a trigger of job needs: operator; editor with params (they
 * change what a plug-in job does); admin with params on a job that needs
 * admin, or that carries secret parameters (they would run with its
 * credentials, e.g. another statement with a sql job's dsn). */
hg_role_t hg_auth_trigger_role(const json_t *job, bool with_params);

/* False when who is scoped to a namespace and the route (its least role
 * need, its audit action) spans the cluster: nodes, plug-ins, tokens,
 * worker keys, the audit log. */
bool hg_auth_scope_allows(const hg_principal_t *who, hg_role_t need, const char *action);

/* Verified tokens remembered for a while, shared by the API threads: it
 * lets last_used_at be written at most once a minute per token, and keeps
 * tokens that this master verified recently working while MySQL is down. */
typedef struct hg_auth_cache hg_auth_cache_t;

hg_auth_cache_t *hg_auth_cache_new(void);
void hg_auth_cache_destroy(hg_auth_cache_t **cache);

/* Remember that hash was verified as who now. True when its last_used_at
 * should be written (first use, or a minute since the last write). */
bool hg_auth_cache_put(hg_auth_cache_t *cache, const uint8_t hash[HG_TOKEN_HASH_SIZE],
                       const hg_principal_t *who);

/* Forget hash (the database refused it). */
void hg_auth_cache_forget(hg_auth_cache_t *cache, const uint8_t hash[HG_TOKEN_HASH_SIZE]);

/* While the database cannot answer: true and *who when hash was verified
 * within max_age_ms and has not expired since. */
bool hg_auth_cache_get(hg_auth_cache_t *cache, const uint8_t hash[HG_TOKEN_HASH_SIZE],
                       int64_t max_age_ms, hg_principal_t *who);

#endif
