/* auth: API tokens, roles and the route table (auth.h). Token statements
 * are few and small, so they are plain queries with escaped values; the
 * hash goes in as a hex literal. */
#include "auth.h"
#include "hg_error.h"
#include "redact.h"
#include "hg_log.h"
#include "hg_time.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PREFIX         "hg_"
#define S_PREFIX_LEN     3
#define S_RAW_SIZE       32    /* random bytes in a token */
#define S_TOUCH_EVERY_MS 60000 /* last_used_at written at most this often */
#define S_CACHE_MAX      10000 /* verified tokens remembered */
#define S_CACHE_STALE_MS (10 * 60000)

static const char *s_role_names[] = {"none", "viewer", "operator", "editor", "admin"};

const char *hg_role_name(hg_role_t role)
{
    return role >= HG_ROLE_NONE && role <= HG_ROLE_ADMIN ? s_role_names[role] : "none";
}

hg_role_t hg_role_parse(const char *text)
{
    for (int r = HG_ROLE_VIEWER; text && r <= HG_ROLE_ADMIN; r++)
        if (strcmp(text, s_role_names[r]) == 0) return (hg_role_t) r;
    return HG_ROLE_NONE;
}

/* ---------------------------------------------------------------------------
 * Token text
 * ------------------------------------------------------------------------ */

static void s_hash_raw(const uint8_t *raw, uint8_t hash[HG_TOKEN_HASH_SIZE])
{
    crypto_generichash(hash, HG_TOKEN_HASH_SIZE, raw, S_RAW_SIZE, NULL, 0);
}

void hg_token_generate(char *text, uint8_t hash[HG_TOKEN_HASH_SIZE])
{
    uint8_t raw[S_RAW_SIZE];
    randombytes_buf(raw, sizeof raw);
    memcpy(text, S_PREFIX, S_PREFIX_LEN);
    sodium_bin2base64(text + S_PREFIX_LEN, HG_TOKEN_TEXT_SIZE - S_PREFIX_LEN, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    s_hash_raw(raw, hash);
    sodium_memzero(raw, sizeof raw);
}

int hg_token_hash(const char *text, uint8_t hash[HG_TOKEN_HASH_SIZE])
{
    if (!text || strncmp(text, S_PREFIX, S_PREFIX_LEN) != 0 ||
        strlen(text) != HG_TOKEN_TEXT_SIZE - 1)
        return HG_EINVAL;
    uint8_t raw[S_RAW_SIZE];
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(raw, sizeof raw, text + S_PREFIX_LEN, strlen(text + S_PREFIX_LEN), NULL,
                          &n, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof raw || *end != '\0')
        return HG_EINVAL;
    s_hash_raw(raw, hash);
    sodium_memzero(raw, sizeof raw);
    return 0;
}

const char *hg_auth_bearer(const char *value)
{
    if (!value) return NULL;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t')) return NULL;
    value += 6;
    while (*value == ' ' || *value == '\t')
        value++;
    return *value ? value : NULL;
}

/* ---------------------------------------------------------------------------
 * Database
 * ------------------------------------------------------------------------ */

static void s_hex(const uint8_t hash[HG_TOKEN_HASH_SIZE], char hex[HG_TOKEN_HASH_SIZE * 2 + 1])
{
    sodium_bin2hex(hex, HG_TOKEN_HASH_SIZE * 2 + 1, hash, HG_TOKEN_HASH_SIZE);
}

static int s_query(MYSQL *db, const char *sql, const char *what, char *err, size_t err_size)
{
    if (mysql_query(db, sql) == 0) return 0;
    snprintf(err, err_size, "%s: %s", what, mysql_error(db));
    return HG_EDB;
}

/* Escaped copy of s into a buffer the caller frees; NULL when out of memory. */
static char *s_escape(MYSQL *db, const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 2 + 1);
    if (out) mysql_real_escape_string(db, out, s, (unsigned long) n);
    return out;
}

int hg_token_verify(MYSQL *db, const uint8_t hash[HG_TOKEN_HASH_SIZE], hg_principal_t *who,
                    char *err, size_t err_size)
{
    char hex[HG_TOKEN_HASH_SIZE * 2 + 1], sql[512];
    s_hex(hash, hex);
    snprintf(sql, sizeof sql,
             "SELECT id, name, role, COALESCE(namespace, ''),"
             " COALESCE(CAST(ROUND(UNIX_TIMESTAMP(expires_at) * 1000) AS SIGNED), 0)"
             " FROM api_tokens WHERE token_hash = X'%s' AND revoked_at IS NULL"
             " AND (expires_at IS NULL OR expires_at > UTC_TIMESTAMP(3))",
             hex);
    int rc = s_query(db, sql, "verify token", err, err_size);
    if (rc != 0) return rc;
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        snprintf(err, err_size, "verify token: %s", mysql_error(db));
        return HG_EDB;
    }
    MYSQL_ROW row = mysql_fetch_row(res);
    rc = HG_ENOTFOUND;
    if (row && row[0] && row[1] && row[2]) {
        memset(who, 0, sizeof *who);
        who->id = strtoull(row[0], NULL, 10);
        snprintf(who->name, sizeof who->name, "%s", row[1]);
        who->role = hg_role_parse(row[2]);
        snprintf(who->ns, sizeof who->ns, "%s", row[3] ? row[3] : "");
        who->expires_ms = row[4] ? strtoll(row[4], NULL, 10) : 0;
        rc = who->role == HG_ROLE_NONE ? HG_ENOTFOUND : 0;
    }
    mysql_free_result(res);
    return rc;
}

int hg_token_touch(MYSQL *db, uint64_t id, char *err, size_t err_size)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "UPDATE api_tokens SET last_used_at = UTC_TIMESTAMP(3) WHERE id = %" PRIu64, id);
    return s_query(db, sql, "record token use", err, err_size);
}

/* [A-Za-z0-9._-], 1-max, starting with a letter or digit. */
static bool s_is_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static const char *s_token_columns =
    "SELECT name, role, namespace, created_by,"
    " CAST(ROUND(UNIX_TIMESTAMP(created_at) * 1000) AS SIGNED),"
    " CAST(ROUND(UNIX_TIMESTAMP(expires_at) * 1000) AS SIGNED),"
    " CAST(ROUND(UNIX_TIMESTAMP(revoked_at) * 1000) AS SIGNED),"
    " CAST(ROUND(UNIX_TIMESTAMP(last_used_at) * 1000) AS SIGNED), id FROM api_tokens";

static json_t *s_time_or_null(const char *ms_text)
{
    if (!ms_text) return json_null();
    char buf[40];
    hg_time_format_ms(strtoll(ms_text, NULL, 10), buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_token_row(MYSQL_ROW row)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t) strtoll(row[8], NULL, 10), "name", row[0], "role", row[1],
                     "namespace", row[2] ? json_string(row[2]) : json_null(), "created_by", row[3],
                     "created_at", s_time_or_null(row[4]), "expires_at", s_time_or_null(row[5]),
                     "revoked_at", s_time_or_null(row[6]), "last_used_at", s_time_or_null(row[7]));
}

/* The tokens a query after s_token_columns selects, as a JSON array. */
static int s_token_select(MYSQL *db, const char *where, json_t **out, char *err, size_t err_size)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "%s %s", s_token_columns, where);
    int rc = s_query(db, sql, "list tokens", err, err_size);
    if (rc != 0) return rc;
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        snprintf(err, err_size, "list tokens: %s", mysql_error(db));
        return HG_EDB;
    }
    *out = json_array();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0] && row[1] && row[3] && row[8]) json_array_append_new(*out, s_token_row(row));
    mysql_free_result(res);
    return 0;
}

int hg_token_create(MYSQL *db, const char *name, hg_role_t role, const char *ns, int64_t expires_ms,
                    const char *created_by, char *text, json_t **row, char *err, size_t err_size)
{
    if (row) *row = NULL;
    if (!s_is_name(name, HG_TOKEN_NAME_MAX)) {
        snprintf(err, err_size,
                 "name: must be 1-%d letters, digits, '.', '_' or '-', starting with a letter "
                 "or digit",
                 HG_TOKEN_NAME_MAX);
        return HG_EINVAL;
    }
    if (role == HG_ROLE_NONE) {
        snprintf(err, err_size, "role: must be one of viewer, operator, editor, admin");
        return HG_EINVAL;
    }
    if (ns && *ns && !s_is_name(ns, 64)) {
        snprintf(err, err_size,
                 "namespace: must be 1-64 letters, digits, '.', '_' or '-', starting with a "
                 "letter or digit");
        return HG_EINVAL;
    }
    if (expires_ms < 0 || (expires_ms > 0 && expires_ms <= hg_now_ms())) {
        snprintf(err, err_size, "expires: must be in the future");
        return HG_EINVAL;
    }
    if (sodium_init() < 0) {
        snprintf(err, err_size, "cannot initialise libsodium");
        return HG_EIO;
    }
    uint8_t hash[HG_TOKEN_HASH_SIZE];
    char hex[HG_TOKEN_HASH_SIZE * 2 + 1];
    hg_token_generate(text, hash);
    s_hex(hash, hex);
    char *by = s_escape(db, created_by ? created_by : "");
    char *ens = ns && *ns ? s_escape(db, ns) : NULL;
    char sql[1200], expires[64] = "NULL", nsv[160] = "NULL", where[200];
    if (expires_ms > 0)
        snprintf(expires, sizeof expires, "FROM_UNIXTIME(%" PRId64 ".%03d)", expires_ms / 1000,
                 (int) (expires_ms % 1000));
    if (ens) snprintf(nsv, sizeof nsv, "'%s'", ens);
    int rc = HG_ENOMEM;
    if (by && (!ns || !*ns || ens)) {
        /* name is checked above: no quoting needed. */
        snprintf(sql, sizeof sql,
                 "INSERT INTO api_tokens (name, role, namespace, token_hash, created_at,"
                 " created_by, expires_at) VALUES ('%s', '%s', %s, X'%s', UTC_TIMESTAMP(3),"
                 " '%s', %s)",
                 name, hg_role_name(role), nsv, hex, by, expires);
        rc = s_query(db, sql, "create token", err, err_size);
        if (rc != 0 && mysql_errno(db) == 1062) {
            snprintf(err, err_size, "a token named \"%s\" already exists", name);
            rc = HG_EEXIST;
        }
    }
    free(by);
    free(ens);
    if (rc == 0 && row) {
        json_t *list = NULL;
        snprintf(where, sizeof where, "WHERE id = %llu", (unsigned long long) mysql_insert_id(db));
        if (s_token_select(db, where, &list, err, err_size) == 0)
            *row = json_incref(json_array_get(list, 0));
        json_decref(list);
    }
    if (rc != 0) sodium_memzero(text, HG_TOKEN_TEXT_SIZE);
    return rc;
}

int hg_token_list(MYSQL *db, json_t **out, char *err, size_t err_size)
{
    return s_token_select(db, "ORDER BY id DESC", out, err, err_size);
}

int hg_token_revoke(MYSQL *db, const char *name, char *err, size_t err_size)
{
    if (!s_is_name(name, HG_TOKEN_NAME_MAX)) {
        snprintf(err, err_size, "no token named \"%s\"", name);
        return HG_ENOTFOUND;
    }
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP(3) WHERE name = '%s'"
             " AND revoked_at IS NULL",
             name);
    int rc = s_query(db, sql, "revoke token", err, err_size);
    if (rc == 0 && mysql_affected_rows(db) == 0) {
        snprintf(err, err_size, "no token named \"%s\" that is not already revoked", name);
        rc = HG_ENOTFOUND;
    }
    return rc;
}

/* ---------------------------------------------------------------------------
 * Bootstrap
 * ------------------------------------------------------------------------ */

/* mkdir -p, mode 0700 for what it creates. */
static int s_mkdirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Write text and a newline to path through a private temporary file. */
static int s_write_secret(const char *path, const char *text, char *err, size_t err_size)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
        return HG_EIO;
    }
    size_t n = strlen(text);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, n) == (ssize_t) n &&
              write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return HG_EIO;
    }
    return 0;
}

int hg_auth_bootstrap(MYSQL *db, const char *data_dir, bool *created, char *path, size_t path_size,
                      char *err, size_t err_size)
{
    *created = false;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s", data_dir && *data_dir ? data_dir : ".",
             HG_AUTH_TOKEN_FILE);
    if (path) snprintf(path, path_size, "%s", file);
    int rc = s_query(db, "SELECT COUNT(*) FROM api_tokens", "count tokens", err, err_size);
    if (rc != 0) return rc;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    long long n = row && row[0] ? strtoll(row[0], NULL, 10) : -1;
    if (res) mysql_free_result(res);
    if (n < 0) {
        snprintf(err, err_size, "count tokens: %s", mysql_error(db));
        return HG_EDB;
    }
    if (n > 0) return 0;
    if (data_dir && *data_dir && s_mkdirs(data_dir) != 0) {
        snprintf(err, err_size, "cannot create %s: %s", data_dir, strerror(errno));
        return HG_EIO;
    }
    /* Create the row first: a master that lost the race on the name must
     * not leave a token file that grants nothing. The file is written at
     * once after; should that fail, the row is removed again. */
    char text[HG_TOKEN_TEXT_SIZE];
    rc = hg_token_create(db, HG_AUTH_BOOTSTRAP_NAME, HG_ROLE_ADMIN, NULL, 0, "bootstrap", text,
                         NULL, err, err_size);
    if (rc == HG_EEXIST) return 0;
    if (rc != 0) return rc;
    rc = s_write_secret(file, text, err, err_size);
    sodium_memzero(text, sizeof text);
    if (rc != 0) {
        char ignore[256];
        s_query(db, "DELETE FROM api_tokens WHERE name = '" HG_AUTH_BOOTSTRAP_NAME "'",
                "remove token", ignore, sizeof ignore);
        return rc;
    }
    *created = true;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Routes and roles
 * ------------------------------------------------------------------------ */

/* Every API route, the role it needs and, for a write, its audit action.
 * "*" stands for one path segment. A route missing here still needs a
 * valid token, and is answered 404 or 405 by the router. */
static const struct {
    const char *method;  /* GET covers HEAD */
    const char *pattern; /* path */
    hg_role_t need;      /* least role allowed */
    const char *action;  /* audit action; NULL for reads */
} s_routes[] = {
    {"GET", "/api/v1/jobs", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/jobs", HG_ROLE_EDITOR, "job.create"},
    {"POST", "/api/v1/jobs:batch", HG_ROLE_EDITOR, "job.create"},
    {"GET", "/api/v1/jobs/*", HG_ROLE_VIEWER, NULL},
    {"DELETE", "/api/v1/jobs/*", HG_ROLE_EDITOR, "job.delete"},
    {"PUT", "/api/v1/jobs/*", HG_ROLE_EDITOR, "job.update"},
    {"PATCH", "/api/v1/jobs/*", HG_ROLE_EDITOR, "job.update"},
    {"POST", "/api/v1/jobs/*/backfill", HG_ROLE_EDITOR, "job.backfill"},
    {"POST", "/api/v1/jobs/*/pause", HG_ROLE_OPERATOR, "job.pause"},
    {"POST", "/api/v1/jobs/*/resume", HG_ROLE_OPERATOR, "job.resume"},
    {"POST", "/api/v1/jobs/*/trigger", HG_ROLE_OPERATOR, "job.trigger"},
    {"GET", "/api/v1/jobs/*/tree", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/runs", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/runs/*/cancel", HG_ROLE_OPERATOR, "run.cancel"},
    /* Deleting history destroys evidence, as revoking a token does: admin. */
    {"POST", "/api/v1/runs:purge", HG_ROLE_ADMIN, "runs.purge"},
    {"GET", "/api/v1/runs/*", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/nodes", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/nodes/*/drain", HG_ROLE_OPERATOR, "node.drain"},
    {"POST", "/api/v1/nodes/*/activate", HG_ROLE_OPERATOR, "node.activate"},
    {"GET", "/api/v1/plugins", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/plugins", HG_ROLE_ADMIN, "plugin.push"},
    {"GET", "/api/v1/plugins/*", HG_ROLE_VIEWER, NULL},
    {"DELETE", "/api/v1/plugins/*", HG_ROLE_ADMIN, "plugin.delete"},
    {"GET", "/api/v1/tokens", HG_ROLE_ADMIN, NULL},
    {"POST", "/api/v1/tokens", HG_ROLE_ADMIN, "token.create"},
    {"DELETE", "/api/v1/tokens/*", HG_ROLE_ADMIN, "token.revoke"},
    {"GET", "/api/v1/worker-keys", HG_ROLE_ADMIN, NULL},
    {"POST", "/api/v1/worker-keys", HG_ROLE_ADMIN, "worker_key.add"},
    {"DELETE", "/api/v1/worker-keys", HG_ROLE_ADMIN, "worker_key.delete"},
    {"GET", "/api/v1/audit", HG_ROLE_ADMIN, NULL},
    {"GET", "/api/v1/alerts", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/alerts", HG_ROLE_EDITOR, "alert.create"},
    {"GET", "/api/v1/alerts:history", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/alerts/*", HG_ROLE_VIEWER, NULL},
    {"DELETE", "/api/v1/alerts/*", HG_ROLE_EDITOR, "alert.delete"},
    {"GET", "/api/v1/alerts/*/history", HG_ROLE_VIEWER, NULL},
    {"POST", "/api/v1/alerts/*/test", HG_ROLE_EDITOR, "alert.test"},
    /* Prometheus scrapes with a viewer token, unless metrics.public serves
     * it without one (a trusted network); never a namespace-scoped token,
     * since the figures span every namespace (api_metrics.c). */
    {"GET", "/metrics", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/whoami", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/schedule/explain", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/runs/stats", HG_ROLE_VIEWER, NULL},
    {"GET", "/api/v1/masters", HG_ROLE_VIEWER, NULL},
    /* The dashboard's files (web.h): public, they hold no data; every
     * figure it shows is fetched from /api/v1 with the user's token. */
    {"GET", "/", HG_ROLE_NONE, NULL},
    {"GET", "/ui/*", HG_ROLE_NONE, NULL},
};

static bool s_match(const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t seg = strcspn(path, "/");
            if (seg == 0) return false;
            path += seg;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

int hg_auth_route(const char *method, const char *path, hg_role_t *need, const char **action)
{
    if (strcmp(method, "HEAD") == 0) method = "GET";
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (strcmp(s_routes[i].method, method) == 0 && s_match(s_routes[i].pattern, path)) {
            *need = s_routes[i].need;
            *action = s_routes[i].action;
            return 0;
        }
    }
    return HG_ENOTFOUND;
}

const char *hg_auth_route_pattern(const char *method, const char *path)
{
    if (strcmp(method, "HEAD") == 0) method = "GET";
    if (strcmp(path, "/healthz") == 0) return "/healthz";
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (strcmp(s_routes[i].method, method) == 0 && s_match(s_routes[i].pattern, path))
            return s_routes[i].pattern;
    return "other";
}

bool hg_auth_is_public(const char *path)
{
    hg_role_t need;
    const char *action;
    return path && strncmp(path, "/api/", 5) != 0 &&
           hg_auth_route("GET", path, &need, &action) == 0 && need == HG_ROLE_NONE;
}

bool hg_auth_route_at(size_t i, const char **method, const char **pattern, hg_role_t *need,
                      const char **action)
{
    if (i >= sizeof s_routes / sizeof s_routes[0]) return false;
    *method = s_routes[i].method;
    *pattern = s_routes[i].pattern;
    *need = s_routes[i].need;
    *action = s_routes[i].action;
    return true;
}

bool hg_auth_job_needs_admin(const json_t *job)
{
    const json_t *plugin = json_object_get(job, "plugin");
    if (!json_is_object(plugin)) return false;
    const char *name = json_string_value(json_object_get(plugin, "name"));
    const char *isolation = json_string_value(json_object_get(plugin, "isolation"));
    return (name && (strcmp(name, "shell") == 0 || strcmp(name, "hg_shell") == 0)) ||
           (isolation && strcmp(isolation, "thread") == 0);
}

hg_role_t hg_auth_trigger_role(const json_t *job, bool with_params)
{
    if (!with_params) return HG_ROLE_OPERATOR;
    if (hg_auth_job_needs_admin(job)) return HG_ROLE_ADMIN;
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(job, "params"), key, val)
    {
        if (hg_redact_param_is_secret(job, key)) return HG_ROLE_ADMIN;
    }
    return HG_ROLE_EDITOR;
}

bool hg_auth_scope_allows(const hg_principal_t *who, hg_role_t need, const char *action)
{
    if (!who->ns[0]) return true;
    return need < HG_ROLE_ADMIN && (!action || strncmp(action, "job.", 4) == 0);
}

/* ---------------------------------------------------------------------------
 * Cache of verified tokens
 * ------------------------------------------------------------------------ */

typedef struct {
    hg_principal_t who;  /* as last verified */
    int64_t verified_ms; /* monotonic time of the last verification */
    int64_t touched_ms;  /* monotonic time last_used_at was last written */
} s_entry_t;

static void s_entry_free(void **p)
{
    free(*p);
    *p = NULL;
}

struct hg_auth_cache {
    pthread_mutex_t lock; /* the API threads share it */
    zhashx_t *entries;    /* hex hash -> s_entry_t */
};

hg_auth_cache_t *hg_auth_cache_new(void)
{
    hg_auth_cache_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->entries = zhashx_new();
    if (!self->entries) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->entries, s_entry_free);
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void hg_auth_cache_destroy(hg_auth_cache_t **cache)
{
    if (!cache || !*cache) return;
    zhashx_destroy(&(*cache)->entries);
    pthread_mutex_destroy(&(*cache)->lock);
    free(*cache);
    *cache = NULL;
}

/* Drop entries not verified for a while; only valid tokens get in, so
 * this is rarely needed. */
static void s_cache_prune(hg_auth_cache_t *self, int64_t now)
{
    zlistx_t *keys = zhashx_keys(self->entries);
    for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_entry_t *e = zhashx_lookup(self->entries, k);
        if (e && now - e->verified_ms > S_CACHE_STALE_MS) zhashx_delete(self->entries, k);
    }
    zlistx_destroy(&keys);
}

bool hg_auth_cache_put(hg_auth_cache_t *self, const uint8_t hash[HG_TOKEN_HASH_SIZE],
                       const hg_principal_t *who)
{
    char hex[HG_TOKEN_HASH_SIZE * 2 + 1];
    s_hex(hash, hex);
    int64_t now = hg_mono_ms();
    bool touch = true;
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = zhashx_lookup(self->entries, hex);
    if (!e && zhashx_size(self->entries) >= S_CACHE_MAX) s_cache_prune(self, now);
    if (!e && zhashx_size(self->entries) < S_CACHE_MAX) {
        e = calloc(1, sizeof *e);
        if (e && zhashx_insert(self->entries, hex, e) != 0) {
            free(e);
            e = NULL;
        }
        if (e) e->touched_ms = now - S_TOUCH_EVERY_MS - 1;
    }
    if (e) {
        e->who = *who;
        e->verified_ms = now;
        touch = now - e->touched_ms >= S_TOUCH_EVERY_MS;
        if (touch) e->touched_ms = now;
    }
    pthread_mutex_unlock(&self->lock);
    return touch;
}

void hg_auth_cache_forget(hg_auth_cache_t *self, const uint8_t hash[HG_TOKEN_HASH_SIZE])
{
    char hex[HG_TOKEN_HASH_SIZE * 2 + 1];
    s_hex(hash, hex);
    pthread_mutex_lock(&self->lock);
    zhashx_delete(self->entries, hex);
    pthread_mutex_unlock(&self->lock);
}

bool hg_auth_cache_get(hg_auth_cache_t *self, const uint8_t hash[HG_TOKEN_HASH_SIZE],
                       int64_t max_age_ms, hg_principal_t *who)
{
    char hex[HG_TOKEN_HASH_SIZE * 2 + 1];
    s_hex(hash, hex);
    bool ok = false;
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = zhashx_lookup(self->entries, hex);
    if (e && hg_mono_ms() - e->verified_ms <= max_age_ms &&
        (e->who.expires_ms == 0 || e->who.expires_ms > hg_now_ms())) {
        *who = e->who;
        ok = true;
    }
    pthread_mutex_unlock(&self->lock);
    return ok;
}
