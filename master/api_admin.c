/* api_admin: tokens, worker keys and audit routes (api_admin.h). The role
 * needed by each (admin) is in auth.c's route table; here is only what
 * each route does. */
#include "api_admin.h"
#include "audit.h"
#include "hg_error.h"
#include "hg_time.h"
#include "worker_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TOKENS        "/api/v1/tokens"
#define S_TOKENS_PREFIX "/api/v1/tokens/"
#define S_KEYS          "/api/v1/worker-keys"
#define S_AUDIT         "/api/v1/audit"
#define S_AUDIT_MAX     1000

/* The NAME of /api/v1/tokens/NAME (one non-empty segment), or NULL. */
static const char *s_token_name(const char *path)
{
    if (strncmp(path, S_TOKENS_PREFIX, sizeof S_TOKENS_PREFIX - 1) != 0) return NULL;
    const char *name = path + sizeof S_TOKENS_PREFIX - 1;
    return name[0] && name[strcspn(name, "/")] == '\0' ? name : NULL;
}

const char *hg_api_admin_allow(const char *path)
{
    if (strcmp(path, S_TOKENS) == 0) return "GET, POST";
    if (s_token_name(path)) return "DELETE";
    if (strcmp(path, S_KEYS) == 0) return "GET, POST, DELETE";
    if (strcmp(path, S_AUDIT) == 0) return "GET";
    return NULL;
}

static int s_invalid(hg_api_admin_t *a, const char *field, char *err, size_t err_size,
                     const char *message)
{
    snprintf(a->field, sizeof a->field, "%s", field);
    snprintf(err, err_size, "%s", message);
    return HG_EINVAL;
}

/* A string member of the body: NULL when absent or null; HG_EINVAL when of
 * another type. */
static int s_body_str(hg_api_admin_t *a, const char *key, const char **out, char *err,
                      size_t err_size)
{
    json_t *v = json_object_get(a->body, key);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: must be a string", key);
        return s_invalid(a, key, err, err_size, msg);
    }
    *out = json_string_value(v);
    return 0;
}

/* Refuse body members other than allowed (a typo must not pass silently). */
static int s_body_keys(hg_api_admin_t *a, const char **allowed, char *err, size_t err_size)
{
    const char *key;
    json_t *v;
    json_object_foreach(a->body, key, v)
    {
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char msg[300];
            snprintf(msg, sizeof msg, "%.200s: unknown field", key);
            return s_invalid(a, key, err, err_size, msg);
        }
    }
    return 0;
}

/* POST /api/v1/tokens {"name","role","namespace","expires"}: 201 with the
 * token's row and, only here, its text. */
static int s_token_create(MYSQL *db, hg_api_admin_t *a, char *err, size_t err_size)
{
    static const char *keys[] = {"name", "role", "namespace", "expires", NULL};
    const char *name, *role, *ns, *expires;
    int rc;
    if (!a->body) return s_invalid(a, "name", err, err_size, "name: required");
    if ((rc = s_body_keys(a, keys, err, err_size)) ||
        (rc = s_body_str(a, "name", &name, err, err_size)) ||
        (rc = s_body_str(a, "role", &role, err, err_size)) ||
        (rc = s_body_str(a, "namespace", &ns, err, err_size)) ||
        (rc = s_body_str(a, "expires", &expires, err, err_size)))
        return rc;
    if (!name) return s_invalid(a, "name", err, err_size, "name: required");
    snprintf(a->object, sizeof a->object, "%s", name);
    hg_role_t r = hg_role_parse(role);
    if (r == HG_ROLE_NONE)
        return s_invalid(a, "role", err, err_size,
                         "role: must be one of viewer, operator, editor, admin");
    int64_t expires_ms = 0;
    if (expires) {
        int64_t d;
        if (hg_duration_parse_ms(expires, &d) == 0 && d > 0)
            expires_ms = hg_now_ms() + d;
        else if (hg_time_parse_rfc3339(expires, &expires_ms) != 0)
            return s_invalid(a, "expires", err, err_size,
                             "expires: must be a duration (e.g. 720h) or an RFC 3339 time");
    }
    char text[HG_TOKEN_TEXT_SIZE];
    json_t *row = NULL;
    char why[512] = "";
    rc = hg_token_create(db, name, r, ns, expires_ms, a->who->name, text, &row, why, sizeof why);
    if (rc == HG_EINVAL) {
        const char *colon = strchr(why, ':');
        char field[64];
        snprintf(field, sizeof field, "%.*s", colon ? (int) (colon - why) : 0, why);
        return s_invalid(a, field, err, err_size, why);
    }
    if (rc != 0) {
        snprintf(err, err_size, "%s", why);
        return rc;
    }
    if (!row) row = json_pack("{s:s, s:s}", "name", name, "role", hg_role_name(r));
    json_object_set_new(row, "token", json_string(text));
    memset(text, 0, sizeof text);
    a->status = 201;
    a->reply = row;
    return 0;
}

static int s_tokens(MYSQL *db, hg_api_admin_t *a, char *err, size_t err_size)
{
    if (strcmp(a->path, S_TOKENS) == 0) {
        if (strcmp(a->method, "POST") == 0) return s_token_create(db, a, err, err_size);
        json_t *list = NULL;
        int rc = hg_token_list(db, &list, err, err_size);
        if (rc != 0) return rc;
        a->status = 200;
        a->reply = json_pack("{s:o}", "tokens", list);
        return 0;
    }
    /* DELETE /api/v1/tokens/{name}: revoke */
    const char *name = a->path + strlen(S_TOKENS_PREFIX);
    snprintf(a->object, sizeof a->object, "%s", name);
    int rc = hg_token_revoke(db, name, err, err_size);
    if (rc != 0) return rc;
    a->status = 200;
    a->reply = json_pack("{s:s}", "revoked", name);
    return 0;
}

static int s_keys(MYSQL *db, hg_api_admin_t *a, char *err, size_t err_size)
{
    int rc;
    if (strcmp(a->method, "GET") == 0) {
        json_t *list = NULL;
        if ((rc = hg_worker_key_list(db, a->arg(a->arg_ctx, "node"), &list, err, err_size)))
            return rc;
        a->status = 200;
        a->reply = json_pack("{s:o}", "worker_keys", list);
        return 0;
    }
    if (strcmp(a->method, "POST") == 0) {
        static const char *keys[] = {"public_key", "node", "comment", NULL};
        const char *key, *node, *comment;
        if (!a->body) return s_invalid(a, "public_key", err, err_size, "public_key: required");
        if ((rc = s_body_keys(a, keys, err, err_size)) ||
            (rc = s_body_str(a, "public_key", &key, err, err_size)) ||
            (rc = s_body_str(a, "node", &node, err, err_size)) ||
            (rc = s_body_str(a, "comment", &comment, err, err_size)))
            return rc;
        snprintf(a->object, sizeof a->object, "%s", node ? node : "");
        json_t *row = NULL;
        char why[512] = "";
        rc = hg_worker_key_add(db, key, node, comment, a->who->name, &row, why, sizeof why);
        if (rc == HG_EINVAL) {
            const char *colon = strchr(why, ':');
            char field[64];
            snprintf(field, sizeof field, "%.*s", colon ? (int) (colon - why) : 0, why);
            return s_invalid(a, field, err, err_size, why);
        }
        snprintf(err, err_size, "%s", why);
        if (rc != 0) return rc;
        a->status = 201;
        a->reply = row ? row : json_pack("{s:s, s:s}", "public_key", key, "node", node);
        return 0;
    }
    /* DELETE ?public_key=K | ?node=N */
    const char *key = a->arg(a->arg_ctx, "public_key"), *node = a->arg(a->arg_ctx, "node");
    if (!key && !node)
        return s_invalid(a, "public_key", err, err_size,
                         "public_key: give the key to delete, or node to delete every key of a "
                         "node");
    snprintf(a->object, sizeof a->object, "%s", key ? key : node);
    int deleted = 0;
    if ((rc = hg_worker_key_delete(db, key, key ? NULL : node, &deleted, err, err_size))) return rc;
    a->status = 200;
    a->reply = json_pack("{s:i}", "deleted", deleted);
    return 0;
}

/* GET /api/v1/audit?since=TIME|DURATION&limit=N */
static int s_audit(MYSQL *db, hg_api_admin_t *a, char *err, size_t err_size)
{
    const char *since = a->arg(a->arg_ctx, "since"), *limit = a->arg(a->arg_ctx, "limit");
    int64_t since_ms = 0;
    if (since && hg_time_parse_rfc3339(since, &since_ms) != 0) {
        int64_t d;
        if (hg_duration_parse_ms(since, &d) != 0)
            return s_invalid(a, "since", err, err_size,
                             "since: must be an RFC 3339 time or a duration (e.g. 1h)");
        since_ms = hg_now_ms() - d;
    }
    long n = 100;
    if (limit) {
        char *end;
        n = strtol(limit, &end, 10);
        if (*end || end == limit || n < 1 || n > S_AUDIT_MAX) {
            char msg[80];
            snprintf(msg, sizeof msg, "limit: must be an integer 1-%d", S_AUDIT_MAX);
            return s_invalid(a, "limit", err, err_size, msg);
        }
    }
    json_t *list = NULL;
    int rc = hg_audit_list(db, since_ms, (int) n, &list, err, err_size);
    if (rc != 0) return rc;
    a->status = 200;
    a->reply = json_pack("{s:o}", "audit", list);
    return 0;
}

int hg_api_admin_op(MYSQL *db, void *arg, char *err, size_t err_size)
{
    hg_api_admin_t *a = arg;
    json_decref(a->reply);
    a->reply = NULL;
    a->field[0] = '\0';
    bool get = strcmp(a->method, "GET") == 0 || strcmp(a->method, "HEAD") == 0;
    bool post = strcmp(a->method, "POST") == 0, del = strcmp(a->method, "DELETE") == 0;
    if (strcmp(a->path, S_TOKENS) == 0 && (get || post)) return s_tokens(db, a, err, err_size);
    if (s_token_name(a->path) && del) return s_tokens(db, a, err, err_size);
    if (strcmp(a->path, S_KEYS) == 0 && (get || post || del)) return s_keys(db, a, err, err_size);
    if (strcmp(a->path, S_AUDIT) == 0 && get) return s_audit(db, a, err, err_size);
    return HG_EUNKNOWN;
}
