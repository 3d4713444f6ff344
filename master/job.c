/* job: the job model of the master. Validation of API input (the field
 * rules of docs/api.md) and conversion to the wire ASSIGN spec. The SQL of
 * the jobs table, which puts the API object back together from a row, is
 * in job_db.c; the column limits and the two helpers both sides use are in
 * job_internal.h. */
#include "job.h"
#include "job_ext.h"
#include "job_internal.h"
#include "job_policy.h"
#include "deps.h"
#include "routing.h"
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

int hg_job__failv(char *field, size_t field_size, char *message, size_t message_size,
                  const char *name, const char *fmt, va_list ap)
{
    if (field && field_size) snprintf(field, field_size, "%s", name);
    if (message && message_size) {
        int n = snprintf(message, message_size, "%s: ", name);
        if (n >= 0 && (size_t) n < message_size)
            vsnprintf(message + n, message_size - (size_t) n, fmt, ap);
    }
    return HG_EINVAL;
}

int hg_job__fail(hg_job_err_t *e, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hg_job__failv(e->field, e->field_size, e->message, e->message_size, name, fmt, ap);
    va_end(ap);
    return rc;
}

int hg_job__fail_to(char *field, size_t field_size, char *message, size_t message_size,
                    const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hg_job__failv(field, field_size, message, message_size, name, fmt, ap);
    va_end(ap);
    return rc;
}

/* [A-Za-z0-9._-], first character a letter or digit, 1..max chars. */
static int s_check_ident(hg_job_err_t *e, const char *field, json_t *v, size_t max)
{
    if (!json_is_string(v)) return hg_job__fail(e, field, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max) return hg_job__fail(e, field, "must be 1-%zu characters", max);
    if (!isalnum((unsigned char) s[0]) || (unsigned char) s[0] > 127)
        return hg_job__fail(e, field, "must start with a letter or digit");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c > 127 || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return hg_job__fail(e, field, "may hold only letters, digits, '.', '_' and '-'");
    }
    return 0;
}

/* An HTTP token (RFC 9110 tchar). */
static bool s_is_token(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c > 127 || !(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c))) return false;
    }
    return true;
}

/* A time zone name that can only name a file under the zoneinfo
 * directory: no absolute path, no "..", IANA characters only. */
static bool s_is_tz_name(const char *s)
{
    if (!*s || *s == '/' || strstr(s, "..")) return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c > 127 || !(isalnum(c) || strchr("/_+-.", c))) return false;
    }
    return true;
}

/* Format ms as a compact Go-style duration ("30s", "1m30s", "1s500ms"),
 * which hg_duration_parse_ms reads back. */
void hg_job__duration_format(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        snprintf(buf, size, "0s");
        return;
    }
    int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
    size_t n = 0;
    buf[0] = '\0';
#define S_PART(v, unit)                                                                            \
    if ((v) && n < size) n += (size_t) snprintf(buf + n, size - n, "%lld" unit, (long long) (v));
    S_PART(h, "h")
    S_PART(m, "m")
    S_PART(s, "s")
    S_PART(rest, "ms")
#undef S_PART
}

/* A normalized RFC 3339 string (UTC, ms) for start_at/end_at, or null. */
static int s_check_time(hg_job_err_t *e, const char *field, json_t *v, json_t **out, int64_t *ms)
{
    *ms = 0;
    if (!v || json_is_null(v)) {
        *out = json_null();
        return 0;
    }
    if (!json_is_string(v) || hg_time_parse_rfc3339(json_string_value(v), ms) != 0)
        return hg_job__fail(e, field,
                            "must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z) or null");
    if (*ms <= 0) return hg_job__fail(e, field, "must be after 1970-01-01T00:00:00Z");
    char buf[40];
    hg_time_format_ms(*ms, buf, sizeof buf);
    *out = json_string(buf);
    return 0;
}

/* Headers that frame the request or name its target: curl derives them
 * from the URL and the body. A job that sets them could make the request
 * the worker sends differ from what its URL says, or smuggle a second one
 * through a proxy that reads the framing differently. The worker refuses
 * them too (worker/http_exec.c). */
static bool s_is_framing_header(const char *name)
{
    static const char *const names[] = {"Host", "Content-Length", "Transfer-Encoding",
                                        "Connection"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0) return true;
    return false;
}

/* secret_headers / secret_params: names whose values the API redacts
 * (redact.h). An array of distinct non-empty strings; header names must be
 * HTTP tokens. Absent or null is an empty list. */
static int s_check_secret_names(hg_job_err_t *e, const char *field, json_t *v, bool headers,
                                json_t *out)
{
    json_t *list = json_array();
    json_object_set_new(out, field, list);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return hg_job__fail(e, field, "must be an array of names");
    if (json_array_size(v) > 64) return hg_job__fail(e, field, "at most 64 names");
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name)
    {
        const char *s = json_string_value(name);
        if (!s || !*s || strlen(s) > 128 || strlen(s) != json_string_length(name))
            return hg_job__fail(e, field, "entry %zu: must be a name of 1-128 bytes", i);
        if (headers && !s_is_token(s))
            return hg_job__fail(e, field, "\"%s\" is not a valid header name", s);
        json_array_append(list, name);
    }
    return 0;
}

/* An object whose values are all strings (params, form, headers). The
 * per-key field is "<field>.<key>". Limits follow the wire codec so that a
 * stored job can always be sent to a worker. */
static int s_check_string_map(hg_job_err_t *e, const char *field, json_t *v)
{
    if (!json_is_object(v)) return hg_job__fail(e, field, "must be an object of strings");
    if (json_object_size(v) > HG_PROTO_MAX_ITEMS)
        return hg_job__fail(e, field, "at most %d entries", HG_PROTO_MAX_ITEMS);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        if (!json_is_string(val)) return hg_job__fail(e, sub, "must be a string");
        if (strlen(key) == 0) return hg_job__fail(e, field, "keys must not be empty");
        if (strlen(key) >= HG_PROTO_MAX_STR || json_string_length(val) >= HG_PROTO_MAX_STR)
            return hg_job__fail(e, sub, "keys and values must be shorter than %d bytes",
                                HG_PROTO_MAX_STR);
        if (strlen(json_string_value(val)) != json_string_length(val))
            return hg_job__fail(e, sub, "must not contain NUL bytes");
    }
    return 0;
}

static const char *s_top_keys[] = {"name",           "namespace",   "kind",
                                   "schedule",       "timezone",    "status",
                                   "start_at",       "end_at",      "misfire",
                                   "timeout",        "http",        "params",
                                   "executor",       "id",          "version",
                                   "created_at",     "updated_at",  "node",
                                   "plugin",         "recover",     "secret_headers",
                                   "secret_params",  "retry",       "overlap",
                                   "max_concurrent", "queue_max",   "depends_on",
                                   "trigger_rule",   "jitter",      "remaining_runs",
                                   "pause_note",     "runs_end_at", "runs_from",
                                   "next_fires",     "last_run",    "placement",
                                   "last_fire",      NULL};
/* retry..queue_max: job_policy.c; depends_on, trigger_rule: deps.c;
 * jitter..last_run: job_ext.c; placement, last_fire: what GET adds
 * (routing), accepted back so that a GET result can be sent again */
static const char *s_http_keys[] = {"method", "url",           "headers",     "body",
                                    "form",   "expect_status", "expect_body", "parent_results",
                                    NULL};
/* labels, strategy, mode and shards are routing's (routing.h). */
static const char *s_executor_keys[] = {"nodes", "labels", "strategy", "mode", "shards", NULL};
static const char *s_plugin_keys[] = {"name", "version", "sha256", "isolation", NULL};

/* Reject keys that are not in allowed (a typo must not pass silently). */
static int s_check_keys(hg_job_err_t *e, const char *prefix, json_t *obj, const char **allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool ok = false;
        for (const char **a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            char field[256];
            snprintf(field, sizeof field, "%s%s", prefix, key);
            return hg_job__fail(e, field, "unknown field");
        }
    }
    return 0;
}

static int s_validate_http(hg_job_err_t *e, json_t *http, json_t *out)
{
    if (!http || json_is_null(http))
        return hg_job__fail(e, "http", "required (the HTTP task to run)");
    if (!json_is_object(http)) return hg_job__fail(e, "http", "must be an object");
    int rc = s_check_keys(e, "http.", http, s_http_keys);
    if (rc) return rc;

    /* method */
    static const char *methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                    "DELETE", "HEAD", "OPTIONS", NULL};
    json_t *v = json_object_get(http, "method");
    const char *method = "GET";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return hg_job__fail(e, "http.method", "must be a string");
        method = NULL;
        for (const char **m = methods; *m; m++)
            if (strcasecmp(*m, json_string_value(v)) == 0) method = *m;
        if (!method)
            return hg_job__fail(e, "http.method",
                                "\"%s\" is not one of GET POST PUT PATCH DELETE "
                                "HEAD OPTIONS",
                                json_string_value(v));
    }
    json_object_set_new(out, "method", json_string(method));

    /* url */
    v = json_object_get(http, "url");
    if (!v || json_is_null(v)) return hg_job__fail(e, "http.url", "required");
    if (!json_is_string(v)) return hg_job__fail(e, "http.url", "must be a string");
    const char *url = json_string_value(v);
    size_t url_len = json_string_length(v);
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme) return hg_job__fail(e, "http.url", "must start with http:// or https://");
    if (url_len > HG_JOB_URL_MAX)
        return hg_job__fail(e, "http.url", "must be at most %d characters", HG_JOB_URL_MAX);
    if (url_len == scheme || url[scheme] == '/') return hg_job__fail(e, "http.url", "has no host");
    for (size_t i = 0; i < url_len; i++)
        if ((unsigned char) url[i] <= ' ' || url[i] == 0x7f)
            return hg_job__fail(e, "http.url", "must not contain spaces or control characters");
    json_object_set_new(out, "url", json_string(url));

    /* headers */
    v = json_object_get(http, "headers");
    if (!v || json_is_null(v)) {
        json_object_set_new(out, "headers", json_object());
    } else {
        if ((rc = s_check_string_map(e, "http.headers", v))) return rc;
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            if (!s_is_token(key))
                return hg_job__fail(e, "http.headers", "\"%s\" is not a valid header name", key);
            if (s_is_framing_header(key))
                return hg_job__fail(
                    e, "http.headers",
                    "header \"%s\" cannot be set by a job: the worker's HTTP client "
                    "sets it from the URL and body (one set by hand could smuggle a "
                    "second request)",
                    key);
            const char *s = json_string_value(val);
            if (strchr(s, '\r') || strchr(s, '\n')) {
                char sub[256];
                snprintf(sub, sizeof sub, "http.headers.%s", key);
                return hg_job__fail(e, sub, "must not contain CR or LF");
            }
            if (strlen(key) + 2 + strlen(s) >= HG_PROTO_MAX_STR)
                return hg_job__fail(e, "http.headers", "header \"%s\" is longer than %d bytes", key,
                                    HG_PROTO_MAX_STR);
        }
        json_object_set_new(out, "headers", json_deep_copy(v));
    }

    /* body / form */
    json_t *body = json_object_get(http, "body");
    json_t *form = json_object_get(http, "form");
    if (body && !json_is_null(body) && !json_is_string(body))
        return hg_job__fail(e, "http.body", "must be a string or null");
    if (body && json_is_string(body) && json_string_length(body) > HG_PROTO_MAX_BLOB)
        return hg_job__fail(e, "http.body", "must be at most %u bytes", HG_PROTO_MAX_BLOB);
    if (form && !json_is_null(form)) {
        if ((rc = s_check_string_map(e, "http.form", form))) return rc;
        if (body && !json_is_null(body))
            return hg_job__fail(e, "http.form", "cannot be used together with http.body");
    }
    json_object_set_new(out, "body", body ? json_incref(body) : json_null());
    json_object_set_new(out, "form", form ? json_deep_copy(form) : json_null());

    /* expect_status */
    v = json_object_get(http, "expect_status");
    json_t *expect = json_array();
    if (v && !json_is_null(v)) {
        if (!json_is_array(v)) {
            json_decref(expect);
            return hg_job__fail(e, "http.expect_status", "must be an array of integers 100-599");
        }
        size_t i;
        json_t *code;
        json_array_foreach(v, i, code)
        {
            if (!json_is_integer(code) || json_integer_value(code) < 100 ||
                json_integer_value(code) > 599) {
                json_decref(expect);
                char sub[64];
                snprintf(sub, sizeof sub, "http.expect_status[%zu]", i);
                return hg_job__fail(e, sub, "must be an integer 100-599");
            }
            json_array_append(expect, code);
        }
        if (json_array_size(v) > HG_PROTO_MAX_ITEMS) {
            json_decref(expect);
            return hg_job__fail(e, "http.expect_status", "at most %d codes", HG_PROTO_MAX_ITEMS);
        }
    }
    json_object_set_new(out, "expect_status", expect);

    /* expect_body */
    v = json_object_get(http, "expect_body");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return hg_job__fail(e, "http.expect_body", "must be a string or null");
        if (json_string_length(v) >= HG_PROTO_MAX_STR ||
            strlen(json_string_value(v)) != json_string_length(v))
            return hg_job__fail(e, "http.expect_body", "must be shorter than %d bytes, without NUL",
                                HG_PROTO_MAX_STR);
    }
    json_object_set_new(out, "expect_body", v ? json_incref(v) : json_null());
    /* where a dependency fire puts its parents' results (deps.h) */
    return hg_deps_validate_http(http, out, e->field, e->field_size, e->message, e->message_size);
}

/* A plug-in version: 1-64 printable ASCII characters without blanks
 * ("1.2.0", "2024-06-01", "1.0.0-rc1+build.5"). */
static int s_check_version(hg_job_err_t *e, const char *field, json_t *v)
{
    if (!json_is_string(v)) return hg_job__fail(e, field, "must be a string or null");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > HG_JOB_PLUGIN_VERSION_MAX)
        return hg_job__fail(e, field, "must be 1-%d characters", HG_JOB_PLUGIN_VERSION_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f)
            return hg_job__fail(e, field, "must be printable ASCII without blanks");
    return 0;
}

/* The plug-in task (kind "plugin"): a plug-in named by name (and optional
 * version), looked up in the worker's plug-in directory or the master's
 * store, or by content hash; and how to isolate it. */
static int s_validate_plugin(hg_job_err_t *e, json_t *plugin, json_t *out)
{
    if (!plugin || json_is_null(plugin))
        return hg_job__fail(e, "plugin",
                            "required (the plug-in to run, e.g. {\"name\": \"shell\"})");
    if (!json_is_object(plugin)) return hg_job__fail(e, "plugin", "must be an object");
    int rc = s_check_keys(e, "plugin.", plugin, s_plugin_keys);
    if (rc) return rc;

    /* sha256 first: it decides whether the name is required. */
    json_t *sha = json_object_get(plugin, "sha256");
    if (sha && !json_is_null(sha)) {
        if (!json_is_string(sha))
            return hg_job__fail(e, "plugin.sha256", "must be a string or null");
        const char *s = json_string_value(sha);
        bool ok = json_string_length(sha) == HG_PROTO_SHA256_HEX;
        for (size_t i = 0; ok && i < HG_PROTO_SHA256_HEX; i++)
            ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (!ok)
            return hg_job__fail(e, "plugin.sha256", "must be %d lowercase hex digits (a SHA-256)",
                                HG_PROTO_SHA256_HEX);
    } else {
        sha = NULL;
    }

    json_t *name = json_object_get(plugin, "name");
    if (name && !json_is_null(name)) {
        if ((rc = s_check_ident(e, "plugin.name", name, HG_JOB_PLUGIN_NAME_MAX))) return rc;
    } else {
        name = NULL;
        if (!sha) return hg_job__fail(e, "plugin.name", "required (unless plugin.sha256 is given)");
    }

    json_t *version = json_object_get(plugin, "version");
    if (version && !json_is_null(version)) {
        if ((rc = s_check_version(e, "plugin.version", version))) return rc;
    } else {
        version = NULL;
    }

    json_t *iso = json_object_get(plugin, "isolation");
    const char *isolation = "process";
    if (iso && !json_is_null(iso)) {
        if (!json_is_string(iso) || (strcmp(json_string_value(iso), "process") != 0 &&
                                     strcmp(json_string_value(iso), "thread") != 0))
            return hg_job__fail(e, "plugin.isolation", "must be \"process\" or \"thread\"");
        isolation = json_string_value(iso);
    }
    json_object_set_new(out, "name", name ? json_incref(name) : json_null());
    json_object_set_new(out, "version", version ? json_incref(version) : json_null());
    json_object_set_new(out, "sha256", sha ? json_incref(sha) : json_null());
    json_object_set_new(out, "isolation", json_string(isolation));
    return 0;
}

/* The routing members of executor (labels, strategy, mode, shards). */
static int s_validate_routing(hg_job_err_t *e, json_t *executor, json_t *out)
{
    char field[256] = "", reason[512] = "";
    if (hg_route_validate(executor, out, field, sizeof field, reason, sizeof reason) == 0) return 0;
    return hg_job__fail(e, field, "%s", reason);
}

static int s_validate_executor(hg_job_err_t *e, json_t *executor, json_t *out)
{
    json_t *nodes = json_array();
    json_object_set_new(out, "nodes", nodes);
    if (!executor || json_is_null(executor)) return 0;
    if (!json_is_object(executor)) return hg_job__fail(e, "executor", "must be an object");
    int rc = s_check_keys(e, "executor.", executor, s_executor_keys);
    if (rc) return rc;
    json_t *v = json_object_get(executor, "nodes");
    if (!v || json_is_null(v)) return s_validate_routing(e, executor, out);
    if (!json_is_array(v))
        return hg_job__fail(e, "executor.nodes", "must be an array of node names");
    size_t i;
    json_t *node;
    json_array_foreach(v, i, node)
    {
        char sub[64];
        snprintf(sub, sizeof sub, "executor.nodes[%zu]", i);
        if (!json_is_string(node)) return hg_job__fail(e, sub, "must be a string");
        const char *s = json_string_value(node);
        size_t n = json_string_length(node);
        if (n == 0 || n > HG_JOB_NODE_MAX)
            return hg_job__fail(e, sub, "must be 1-%d characters", HG_JOB_NODE_MAX);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char) s[k] <= ' ' || s[k] == 0x7f)
                return hg_job__fail(e, sub, "must not contain spaces or control characters");
        /* A node named twice is pinned once. */
        bool dup = false;
        for (size_t k = 0; k < json_array_size(nodes) && !dup; k++)
            dup = strcmp(json_string_value(json_array_get(nodes, k)), s) == 0;
        if (!dup) json_array_append(nodes, node);
    }
    return s_validate_routing(e, executor, out);
}

/* The validation proper; fills out, which the caller frees on failure. */
static int s_validate(json_t *body, json_t *out, hg_job_err_t *e)
{
    if (!json_is_object(body)) return hg_job__fail(e, "job", "must be a JSON object");
    int rc = s_check_keys(e, "", body, s_top_keys);
    if (rc) return rc;

    /* namespace, name */
    json_t *v = json_object_get(body, "namespace");
    if (v && !json_is_null(v)) {
        if ((rc = s_check_ident(e, "namespace", v, HG_JOB_NS_MAX))) return rc;
        json_object_set(out, "namespace", v);
    } else {
        json_object_set_new(out, "namespace", json_string("default"));
    }
    v = json_object_get(body, "name");
    if (!v || json_is_null(v)) return hg_job__fail(e, "name", "required");
    if ((rc = s_check_ident(e, "name", v, HG_JOB_NAME_MAX))) return rc;
    json_object_set(out, "name", v);

    /* kind: given, or "plugin" when only a plug-in task is present. */
    v = json_object_get(body, "kind");
    json_t *http_in = json_object_get(body, "http"), *plugin_in = json_object_get(body, "plugin");
    bool has_http = http_in && !json_is_null(http_in);
    bool has_plugin = plugin_in && !json_is_null(plugin_in);
    bool is_plugin = has_plugin && !has_http;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return hg_job__fail(e, "kind", "must be a string");
        if (strcmp(json_string_value(v), "http") != 0 &&
            strcmp(json_string_value(v), "plugin") != 0)
            return hg_job__fail(e, "kind",
                                "\"%s\" is not supported; must be \"http\" or \"plugin\"",
                                json_string_value(v));
        is_plugin = strcmp(json_string_value(v), "plugin") == 0;
    }
    json_object_set_new(out, "kind", json_string(is_plugin ? "plugin" : "http"));
    if (is_plugin && has_http)
        return hg_job__fail(e, "http", "not allowed for kind \"plugin\" (give plugin instead)");
    if (!is_plugin && has_plugin)
        return hg_job__fail(e, "plugin", "not allowed for kind \"http\" (set kind to \"plugin\")");

    /* schedule: presence and type first, parsed once timezone and the
     * bounds are known. */
    json_t *sched = json_object_get(body, "schedule");
    /* A job started by its parents alone needs no schedule (deps.h). */
    if ((!sched || json_is_null(sched)) && hg_deps_listed(body)) {
        json_object_set_new(out, "schedule", json_string("@never"));
        sched = json_object_get(out, "schedule");
    }
    if (!sched || json_is_null(sched)) return hg_job__fail(e, "schedule", "required");
    if (!json_is_string(sched)) return hg_job__fail(e, "schedule", "must be a string");
    if (json_string_length(sched) == 0) return hg_job__fail(e, "schedule", "must not be empty");
    if (json_string_length(sched) > HG_JOB_SCHEDULE_MAX)
        return hg_job__fail(e, "schedule", "must be at most %d characters", HG_JOB_SCHEDULE_MAX);

    /* timezone: the schedule engine is the one place that knows zones, so
     * ask it with a cron expression (which always resolves the zone). */
    const char *tz = "UTC";
    v = json_object_get(body, "timezone");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return hg_job__fail(e, "timezone", "must be a string");
        tz = json_string_value(v);
        if (json_string_length(v) > HG_JOB_TZ_MAX || !s_is_tz_name(tz))
            return hg_job__fail(e, "timezone", "unknown time zone \"%s\"", tz);
        hg_sched_opts_t probe_opts = {.tz = tz};
        hg_sched_t *probe = NULL;
        char perr[256];
        rc = hg_sched_parse("0 0 0 * * *", &probe_opts, &probe, perr, sizeof perr);
        hg_sched_destroy(&probe);
        if (rc == HG_ETZ) return hg_job__fail(e, "timezone", "unknown time zone \"%s\"", tz);
    }
    json_object_set_new(out, "timezone", json_string(tz));

    /* status: a job may be created paused. */
    v = json_object_get(body, "status");
    const char *status = "active";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || (strcmp(json_string_value(v), "active") != 0 &&
                                   strcmp(json_string_value(v), "paused") != 0))
            return hg_job__fail(e, "status", "must be \"active\" or \"paused\"");
        status = json_string_value(v);
    }
    json_object_set_new(out, "status", json_string(status));

    /* start_at, end_at */
    json_t *start = NULL, *end = NULL;
    int64_t start_ms = 0, end_ms = 0;
    if ((rc = s_check_time(e, "start_at", json_object_get(body, "start_at"), &start, &start_ms)))
        return rc;
    json_object_set_new(out, "start_at", start);
    if ((rc = s_check_time(e, "end_at", json_object_get(body, "end_at"), &end, &end_ms))) return rc;
    json_object_set_new(out, "end_at", end);
    if (start_ms && end_ms && end_ms <= start_ms)
        return hg_job__fail(e, "end_at", "must be after start_at");

    /* schedule, parsed for real */
    hg_sched_opts_t opts = {.tz = tz, .start_ms = start_ms, .end_ms = end_ms};
    hg_sched_t *parsed = NULL;
    char serr[512] = "";
    rc = hg_sched_parse(json_string_value(sched), &opts, &parsed, serr, sizeof serr);
    hg_sched_destroy(&parsed);
    /* The job's zone was checked above, so an HG_ETZ here comes from a
     * CRON_TZ= prefix inside the schedule: a schedule error. */
    if (rc != 0) return hg_job__fail(e, "schedule", "%s", serr[0] ? serr : hg_strerror(rc));
    json_object_set(out, "schedule", sched);

    /* misfire */
    v = json_object_get(body, "misfire");
    const char *misfire = "fire_once";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || hg_misfire_parse(json_string_value(v)) < 0 ||
            json_string_length(v) == 0)
            return hg_job__fail(e, "misfire", "must be one of fire_once, skip, fire_all");
        misfire = hg_misfire_name((hg_misfire_t) hg_misfire_parse(json_string_value(v)));
    }
    json_object_set_new(out, "misfire", json_string(misfire));

    /* timeout */
    v = json_object_get(body, "timeout");
    int64_t timeout_ms = 30000;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || hg_duration_parse_ms(json_string_value(v), &timeout_ms) != 0)
            return hg_job__fail(e, "timeout", "must be a duration such as \"30s\" or \"250ms\"");
        if (timeout_ms < 1 || timeout_ms > HG_JOB_TIMEOUT_MAX)
            return hg_job__fail(e, "timeout", "must be between 1ms and 24h");
    }
    char tbuf[64];
    hg_job__duration_format(timeout_ms, tbuf, sizeof tbuf);
    json_object_set_new(out, "timeout", json_string(tbuf));

    /* recover: re-run once a run lost with its worker */
    v = json_object_get(body, "recover");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return hg_job__fail(e, "recover", "must be true or false");
    json_object_set_new(out, "recover", json_boolean(json_is_true(v)));

    /* retry, overlap, max_concurrent, queue_max */
    if ((rc = hg_job_policy_validate(body, out, e->field, e->field_size, e->message,
                                     e->message_size)))
        return rc;

    /* the task: http or plugin, the other one null */
    if (is_plugin) {
        json_t *plugin = json_object();
        json_object_set_new(out, "http", json_null());
        json_object_set_new(out, "plugin", plugin);
        if ((rc = s_validate_plugin(e, plugin_in, plugin))) return rc;
    } else {
        json_t *http = json_object();
        json_object_set_new(out, "http", http);
        json_object_set_new(out, "plugin", json_null());
        if ((rc = s_validate_http(e, http_in, http))) return rc;
    }

    /* params */
    v = json_object_get(body, "params");
    if (v && !json_is_null(v)) {
        if ((rc = s_check_string_map(e, "params", v))) return rc;
        json_object_set_new(out, "params", json_deep_copy(v));
    } else {
        json_object_set_new(out, "params", json_object());
    }

    if ((rc = s_check_secret_names(e, "secret_headers", json_object_get(body, "secret_headers"),
                                   true, out)) ||
        (rc = s_check_secret_names(e, "secret_params", json_object_get(body, "secret_params"),
                                   false, out)))
        return rc;

    /* dependencies: their shape here; the graph is checked against the
     * catalogue when the job is written (hg_deps_db_check) */
    if ((rc = hg_deps_validate(body, json_string_value(json_object_get(out, "name")), out, e->field,
                               e->field_size, e->message, e->message_size)))
        return rc;

    /* executor */
    json_t *executor = json_object();
    json_object_set_new(out, "executor", executor);
    return s_validate_executor(e, json_object_get(body, "executor"), executor);
}

json_t *hg_job_validate(json_t *body, char *field, size_t field_size, char *message,
                        size_t message_size)
{
    hg_job_err_t e = {field, field_size, message, message_size};
    if (field && field_size) field[0] = '\0';
    if (message && message_size) message[0] = '\0';
    json_t *out = json_object();
    if (!out) return NULL;
    if (s_validate(body, out, &e) != 0 ||
        hg_job_ext_validate(body, out, hg_now_ms(), field, field_size, message, message_size) !=
            0) {
        json_decref(out);
        return NULL;
    }
    /* The result stands alone: its objects and arrays are its own copies
     * (http.headers, http.form, params); only strings, which nobody
     * changes, are shared with body. */
    return out;
}

/* ---------------------------------------------------------------------------
 * JSON -> ASSIGN
 * ------------------------------------------------------------------------ */

static char *s_strdup_json(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int s_kv_from_object(json_t *obj, hg_kv_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_object(obj) || json_object_size(obj) == 0) return 0;
    hg_kv_t *kv = calloc(json_object_size(obj), sizeof *kv);
    if (!kv) return HG_ENOMEM;
    *out = kv;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (!json_is_string(val)) return HG_EINVAL;
        kv[*n].key = strdup(key);
        kv[*n].value = strdup(json_string_value(val));
        (*n)++;
        if (!kv[*n - 1].key || !kv[*n - 1].value) return HG_ENOMEM;
    }
    return 0;
}

int hg_job__time_field_ms(json_t *job, const char *key, int64_t *ms)
{
    *ms = 0;
    json_t *v = json_object_get(job, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v)) return HG_EINVAL;
    return hg_time_parse_rfc3339(json_string_value(v), ms);
}

/* The plug-in part of ASSIGN. The wire requires a name: a job that names
 * its plug-in only by hash sends the hash as the name (the worker loads by
 * hash whenever one is given). */
static int s_plugin_to_assign(json_t *job, hg_assign_t *out)
{
    json_t *plugin = json_object_get(job, "plugin");
    if (!json_is_object(plugin)) return HG_EINVAL;
    hg_plugin_spec_t *p = &out->plugin;
    p->sha256 = s_strdup_json(plugin, "sha256");
    p->name = s_strdup_json(plugin, "name");
    if (!p->name && p->sha256) p->name = strdup(p->sha256);
    if (!p->name) return HG_EINVAL;
    p->version = s_strdup_json(plugin, "version");
    p->isolation = s_strdup_json(plugin, "isolation");
    if (!p->isolation) p->isolation = strdup("process");
    return p->isolation ? 0 : HG_ENOMEM;
}

static int s_to_assign(json_t *job, hg_assign_t *out)
{
    json_t *id = json_object_get(job, "id"), *version = json_object_get(job, "version");
    if (!json_is_integer(id) || !json_is_integer(version) || json_integer_value(id) <= 0)
        return HG_EINVAL;
    out->job_id = (uint64_t) json_integer_value(id);
    out->version = (uint64_t) json_integer_value(version);
    out->ns = s_strdup_json(job, "namespace");
    out->name = s_strdup_json(job, "name");
    out->kind = s_strdup_json(job, "kind");
    out->schedule = s_strdup_json(job, "schedule");
    out->tz = s_strdup_json(job, "timezone");
    out->misfire = s_strdup_json(job, "misfire");
    if (!out->ns || !out->name || !out->kind || !out->schedule || !out->misfire) return HG_EINVAL;
    int rc;
    if ((rc = hg_job__time_field_ms(job, "start_at", &out->start_ms)) ||
        (rc = hg_job__time_field_ms(job, "end_at", &out->end_ms)))
        return rc;
    int64_t timeout_ms = 30000;
    json_t *v = json_object_get(job, "timeout");
    if (json_is_string(v) && hg_duration_parse_ms(json_string_value(v), &timeout_ms) != 0)
        return HG_EINVAL;
    if (timeout_ms < 1 || timeout_ms > HG_JOB_TIMEOUT_MAX) return HG_EINVAL;
    out->timeout_ms = (uint32_t) timeout_ms;
    out->recover = json_is_true(json_object_get(job, "recover")) ? 1 : 0;
    if ((rc = hg_job_policy_to_assign(job, out))) return rc;
    hg_job_ext_assign(job, out);
    if ((rc = s_kv_from_object(json_object_get(job, "params"), &out->params, &out->params_n)))
        return rc;

    if (strcmp(out->kind, "plugin") == 0) return s_plugin_to_assign(job, out);
    json_t *http = json_object_get(job, "http");
    if (!json_is_object(http)) return HG_EINVAL;
    hg_http_spec_t *h = &out->http;
    h->method = s_strdup_json(http, "method");
    h->url = s_strdup_json(http, "url");
    if (!h->method || !h->url) return HG_EINVAL;
    json_t *headers = json_object_get(http, "headers");
    if (json_is_object(headers) && json_object_size(headers) > 0) {
        h->headers = calloc(json_object_size(headers), sizeof *h->headers);
        if (!h->headers) return HG_ENOMEM;
        const char *key;
        json_t *val;
        json_object_foreach(headers, key, val)
        {
            if (!json_is_string(val)) return HG_EINVAL;
            size_t len = strlen(key) + 2 + strlen(json_string_value(val)) + 1;
            char *line = malloc(len);
            if (!line) return HG_ENOMEM;
            snprintf(line, len, "%s: %s", key, json_string_value(val));
            h->headers[h->headers_n++] = line;
        }
    }
    json_t *body = json_object_get(http, "body");
    if (json_is_string(body) && json_string_length(body) > 0) {
        h->body.len = json_string_length(body);
        h->body.data = malloc(h->body.len);
        if (!h->body.data) return HG_ENOMEM;
        memcpy(h->body.data, json_string_value(body), h->body.len);
    }
    if ((rc = s_kv_from_object(json_object_get(http, "form"), &h->form, &h->form_n))) return rc;
    json_t *expect = json_object_get(http, "expect_status");
    if (json_is_array(expect) && json_array_size(expect) > 0) {
        h->expect = calloc(json_array_size(expect), sizeof *h->expect);
        if (!h->expect) return HG_ENOMEM;
        size_t i;
        json_t *code;
        json_array_foreach(expect, i, code)
        {
            if (!json_is_integer(code) || json_integer_value(code) < 100 ||
                json_integer_value(code) > 599)
                return HG_EINVAL;
            h->expect[h->expect_n++] = (uint16_t) json_integer_value(code);
        }
    }
    h->expect_body = s_strdup_json(http, "expect_body");
    return 0;
}

int hg_job_to_assign(json_t *job, hg_assign_t *out)
{
    if (!json_is_object(job) || !out) return HG_EINVAL;
    int rc = s_to_assign(job, out);
    if (rc != 0) hg_assign_clear(out);
    return rc;
}

json_t *hg_job_pinned_nodes(json_t *job)
{
    return json_object_get(json_object_get(job, "executor"), "nodes");
}

json_t *hg_job_executor(json_t *job)
{
    return json_object_get(job, "executor");
}
