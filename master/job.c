/* job: the job model of the master. Validation of API input (the field
 * rules of docs/api.md), conversion to the wire ASSIGN spec, and the SQL of
 * the jobs table. The table keeps the fields the master queries on as
 * columns and the task ({"http", "plugin", "params", "executor"}) as JSON text in
 * `spec`; s_job_object puts the API object back together, from a row read
 * or from the values just inserted. */
#include "job.h"
#include "db.h"
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"

#include <czmq.h>
#include <ctype.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HG_JOB_NAME_MAX           190                /* jobs.name column */
#define HG_JOB_NS_MAX             64                 /* jobs.namespace column */
#define HG_JOB_SCHEDULE_MAX       255                /* jobs.schedule column */
#define HG_JOB_TZ_MAX             64                 /* jobs.timezone column */
#define HG_JOB_URL_MAX            2048               /* docs/api.md */
#define HG_JOB_TIMEOUT_MAX        (24 * 3600 * 1000) /* 24h */
#define HG_JOB_NODE_MAX           190                /* nodes.name column */
#define HG_JOB_PLUGIN_NAME_MAX    128                /* plug-in names */
#define HG_JOB_PLUGIN_VERSION_MAX 64                 /* plug-in versions */

/* ---------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

/* Where a validation error goes. */
typedef struct {
    char *field;         /* dotted field name */
    size_t field_size;   /* its capacity */
    char *message;       /* "field: reason" */
    size_t message_size; /* its capacity */
} s_verr_t;

/* Record a failure on field; the message is "field: " + reason. Returns
 * HG_EINVAL so that callers can `return s_fail(...)`. */
__attribute__((format(printf, 3, 4))) static int s_fail(s_verr_t *e, const char *field,
                                                        const char *fmt, ...)
{
    if (e->field && e->field_size) snprintf(e->field, e->field_size, "%s", field);
    if (e->message && e->message_size) {
        int n = snprintf(e->message, e->message_size, "%s: ", field);
        if (n >= 0 && (size_t) n < e->message_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->message + n, e->message_size - (size_t) n, fmt, ap);
            va_end(ap);
        }
    }
    return HG_EINVAL;
}

/* [A-Za-z0-9._-], first character a letter or digit, 1..max chars. */
static int s_check_ident(s_verr_t *e, const char *field, json_t *v, size_t max)
{
    if (!json_is_string(v)) return s_fail(e, field, "must be a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max) return s_fail(e, field, "must be 1-%zu characters", max);
    if (!isalnum((unsigned char) s[0]) || (unsigned char) s[0] > 127)
        return s_fail(e, field, "must start with a letter or digit");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c > 127 || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
            return s_fail(e, field, "may hold only letters, digits, '.', '_' and '-'");
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
static void s_duration_format(int64_t ms, char *buf, size_t size)
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
static int s_check_time(s_verr_t *e, const char *field, json_t *v, json_t **out, int64_t *ms)
{
    *ms = 0;
    if (!v || json_is_null(v)) {
        *out = json_null();
        return 0;
    }
    if (!json_is_string(v) || hg_time_parse_rfc3339(json_string_value(v), ms) != 0)
        return s_fail(e, field, "must be an RFC 3339 time (e.g. 2026-11-21T10:00:00Z) or null");
    if (*ms <= 0) return s_fail(e, field, "must be after 1970-01-01T00:00:00Z");
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
static int s_check_secret_names(s_verr_t *e, const char *field, json_t *v, bool headers,
                                json_t *out)
{
    json_t *list = json_array();
    json_object_set_new(out, field, list);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return s_fail(e, field, "must be an array of names");
    if (json_array_size(v) > 64) return s_fail(e, field, "at most 64 names");
    size_t i;
    json_t *name;
    json_array_foreach(v, i, name)
    {
        const char *s = json_string_value(name);
        if (!s || !*s || strlen(s) > 128 || strlen(s) != json_string_length(name))
            return s_fail(e, field, "entry %zu: must be a name of 1-128 bytes", i);
        if (headers && !s_is_token(s))
            return s_fail(e, field, "\"%s\" is not a valid header name", s);
        json_array_append(list, name);
    }
    return 0;
}

/* An object whose values are all strings (params, form, headers). The
 * per-key field is "<field>.<key>". Limits follow the wire codec so that a
 * stored job can always be sent to a worker. */
static int s_check_string_map(s_verr_t *e, const char *field, json_t *v)
{
    if (!json_is_object(v)) return s_fail(e, field, "must be an object of strings");
    if (json_object_size(v) > HG_PROTO_MAX_ITEMS)
        return s_fail(e, field, "at most %d entries", HG_PROTO_MAX_ITEMS);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", field, key);
        if (!json_is_string(val)) return s_fail(e, sub, "must be a string");
        if (strlen(key) == 0) return s_fail(e, field, "keys must not be empty");
        if (strlen(key) >= HG_PROTO_MAX_STR || json_string_length(val) >= HG_PROTO_MAX_STR)
            return s_fail(e, sub, "keys and values must be shorter than %d bytes",
                          HG_PROTO_MAX_STR);
        if (strlen(json_string_value(val)) != json_string_length(val))
            return s_fail(e, sub, "must not contain NUL bytes");
    }
    return 0;
}

static const char *s_top_keys[] = {
    "name",    "namespace",  "kind",       "schedule", "timezone", "status",   "start_at",
    "end_at",  "misfire",    "timeout",    "http",     "params",   "executor", "id",
    "version", "created_at", "updated_at", "node",     "plugin",   "recover",  "secret_headers",
    "secret_params", NULL};
static const char *s_http_keys[] = {"method", "url",           "headers",     "body",
                                    "form",   "expect_status", "expect_body", NULL};
static const char *s_executor_keys[] = {"nodes", NULL};
static const char *s_plugin_keys[] = {"name", "version", "sha256", "isolation", NULL};

/* Reject keys that are not in allowed (a typo must not pass silently). */
static int s_check_keys(s_verr_t *e, const char *prefix, json_t *obj, const char **allowed)
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
            return s_fail(e, field, "unknown field");
        }
    }
    return 0;
}

static int s_validate_http(s_verr_t *e, json_t *http, json_t *out)
{
    if (!http || json_is_null(http)) return s_fail(e, "http", "required (the HTTP task to run)");
    if (!json_is_object(http)) return s_fail(e, "http", "must be an object");
    int rc = s_check_keys(e, "http.", http, s_http_keys);
    if (rc) return rc;

    /* method */
    static const char *methods[] = {"GET",    "POST", "PUT",     "PATCH",
                                    "DELETE", "HEAD", "OPTIONS", NULL};
    json_t *v = json_object_get(http, "method");
    const char *method = "GET";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return s_fail(e, "http.method", "must be a string");
        method = NULL;
        for (const char **m = methods; *m; m++)
            if (strcasecmp(*m, json_string_value(v)) == 0) method = *m;
        if (!method)
            return s_fail(e, "http.method",
                          "\"%s\" is not one of GET POST PUT PATCH DELETE "
                          "HEAD OPTIONS",
                          json_string_value(v));
    }
    json_object_set_new(out, "method", json_string(method));

    /* url */
    v = json_object_get(http, "url");
    if (!v || json_is_null(v)) return s_fail(e, "http.url", "required");
    if (!json_is_string(v)) return s_fail(e, "http.url", "must be a string");
    const char *url = json_string_value(v);
    size_t url_len = json_string_length(v);
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme) return s_fail(e, "http.url", "must start with http:// or https://");
    if (url_len > HG_JOB_URL_MAX)
        return s_fail(e, "http.url", "must be at most %d characters", HG_JOB_URL_MAX);
    if (url_len == scheme || url[scheme] == '/') return s_fail(e, "http.url", "has no host");
    for (size_t i = 0; i < url_len; i++)
        if ((unsigned char) url[i] <= ' ' || url[i] == 0x7f)
            return s_fail(e, "http.url", "must not contain spaces or control characters");
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
                return s_fail(e, "http.headers", "\"%s\" is not a valid header name", key);
            if (s_is_framing_header(key))
                return s_fail(e, "http.headers",
                              "header \"%s\" cannot be set by a job: the worker's HTTP client "
                              "sets it from the URL and body (one set by hand could smuggle a "
                              "second request)",
                              key);
            const char *s = json_string_value(val);
            if (strchr(s, '\r') || strchr(s, '\n')) {
                char sub[256];
                snprintf(sub, sizeof sub, "http.headers.%s", key);
                return s_fail(e, sub, "must not contain CR or LF");
            }
            if (strlen(key) + 2 + strlen(s) >= HG_PROTO_MAX_STR)
                return s_fail(e, "http.headers", "header \"%s\" is longer than %d bytes", key,
                              HG_PROTO_MAX_STR);
        }
        json_object_set_new(out, "headers", json_deep_copy(v));
    }

    /* body / form */
    json_t *body = json_object_get(http, "body");
    json_t *form = json_object_get(http, "form");
    if (body && !json_is_null(body) && !json_is_string(body))
        return s_fail(e, "http.body", "must be a string or null");
    if (body && json_is_string(body) && json_string_length(body) > HG_PROTO_MAX_BLOB)
        return s_fail(e, "http.body", "must be at most %u bytes", HG_PROTO_MAX_BLOB);
    if (form && !json_is_null(form)) {
        if ((rc = s_check_string_map(e, "http.form", form))) return rc;
        if (body && !json_is_null(body))
            return s_fail(e, "http.form", "cannot be used together with http.body");
    }
    json_object_set_new(out, "body", body ? json_incref(body) : json_null());
    json_object_set_new(out, "form", form ? json_deep_copy(form) : json_null());

    /* expect_status */
    v = json_object_get(http, "expect_status");
    json_t *expect = json_array();
    if (v && !json_is_null(v)) {
        if (!json_is_array(v)) {
            json_decref(expect);
            return s_fail(e, "http.expect_status", "must be an array of integers 100-599");
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
                return s_fail(e, sub, "must be an integer 100-599");
            }
            json_array_append(expect, code);
        }
        if (json_array_size(v) > HG_PROTO_MAX_ITEMS) {
            json_decref(expect);
            return s_fail(e, "http.expect_status", "at most %d codes", HG_PROTO_MAX_ITEMS);
        }
    }
    json_object_set_new(out, "expect_status", expect);

    /* expect_body */
    v = json_object_get(http, "expect_body");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return s_fail(e, "http.expect_body", "must be a string or null");
        if (json_string_length(v) >= HG_PROTO_MAX_STR ||
            strlen(json_string_value(v)) != json_string_length(v))
            return s_fail(e, "http.expect_body", "must be shorter than %d bytes, without NUL",
                          HG_PROTO_MAX_STR);
    }
    json_object_set_new(out, "expect_body", v ? json_incref(v) : json_null());
    return 0;
}

/* A plug-in version: 1-64 printable ASCII characters without blanks
 * ("1.2.0", "2024-06-01", "1.0.0-rc1+build.5"). */
static int s_check_version(s_verr_t *e, const char *field, json_t *v)
{
    if (!json_is_string(v)) return s_fail(e, field, "must be a string or null");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > HG_JOB_PLUGIN_VERSION_MAX)
        return s_fail(e, field, "must be 1-%d characters", HG_JOB_PLUGIN_VERSION_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f)
            return s_fail(e, field, "must be printable ASCII without blanks");
    return 0;
}

/* The plug-in task (kind "plugin"): a plug-in named by name (and optional
 * version), looked up in the worker's plug-in directory or the master's
 * store, or by content hash; and how to isolate it. */
static int s_validate_plugin(s_verr_t *e, json_t *plugin, json_t *out)
{
    if (!plugin || json_is_null(plugin))
        return s_fail(e, "plugin", "required (the plug-in to run, e.g. {\"name\": \"shell\"})");
    if (!json_is_object(plugin)) return s_fail(e, "plugin", "must be an object");
    int rc = s_check_keys(e, "plugin.", plugin, s_plugin_keys);
    if (rc) return rc;

    /* sha256 first: it decides whether the name is required. */
    json_t *sha = json_object_get(plugin, "sha256");
    if (sha && !json_is_null(sha)) {
        if (!json_is_string(sha)) return s_fail(e, "plugin.sha256", "must be a string or null");
        const char *s = json_string_value(sha);
        bool ok = json_string_length(sha) == HG_PROTO_SHA256_HEX;
        for (size_t i = 0; ok && i < HG_PROTO_SHA256_HEX; i++)
            ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (!ok)
            return s_fail(e, "plugin.sha256", "must be %d lowercase hex digits (a SHA-256)",
                          HG_PROTO_SHA256_HEX);
    } else {
        sha = NULL;
    }

    json_t *name = json_object_get(plugin, "name");
    if (name && !json_is_null(name)) {
        if ((rc = s_check_ident(e, "plugin.name", name, HG_JOB_PLUGIN_NAME_MAX))) return rc;
    } else {
        name = NULL;
        if (!sha) return s_fail(e, "plugin.name", "required (unless plugin.sha256 is given)");
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
            return s_fail(e, "plugin.isolation", "must be \"process\" or \"thread\"");
        isolation = json_string_value(iso);
    }
    json_object_set_new(out, "name", name ? json_incref(name) : json_null());
    json_object_set_new(out, "version", version ? json_incref(version) : json_null());
    json_object_set_new(out, "sha256", sha ? json_incref(sha) : json_null());
    json_object_set_new(out, "isolation", json_string(isolation));
    return 0;
}

static int s_validate_executor(s_verr_t *e, json_t *executor, json_t *out)
{
    json_t *nodes = json_array();
    json_object_set_new(out, "nodes", nodes);
    if (!executor || json_is_null(executor)) return 0;
    if (!json_is_object(executor)) return s_fail(e, "executor", "must be an object");
    int rc = s_check_keys(e, "executor.", executor, s_executor_keys);
    if (rc) return rc;
    json_t *v = json_object_get(executor, "nodes");
    if (!v || json_is_null(v)) return 0;
    if (!json_is_array(v)) return s_fail(e, "executor.nodes", "must be an array of node names");
    size_t i;
    json_t *node;
    json_array_foreach(v, i, node)
    {
        char sub[64];
        snprintf(sub, sizeof sub, "executor.nodes[%zu]", i);
        if (!json_is_string(node)) return s_fail(e, sub, "must be a string");
        const char *s = json_string_value(node);
        size_t n = json_string_length(node);
        if (n == 0 || n > HG_JOB_NODE_MAX)
            return s_fail(e, sub, "must be 1-%d characters", HG_JOB_NODE_MAX);
        for (size_t k = 0; k < n; k++)
            if ((unsigned char) s[k] <= ' ' || s[k] == 0x7f)
                return s_fail(e, sub, "must not contain spaces or control characters");
        /* A node named twice is pinned once. */
        bool dup = false;
        for (size_t k = 0; k < json_array_size(nodes) && !dup; k++)
            dup = strcmp(json_string_value(json_array_get(nodes, k)), s) == 0;
        if (!dup) json_array_append(nodes, node);
    }
    return 0;
}

/* The validation proper; fills out, which the caller frees on failure. */
static int s_validate(json_t *body, json_t *out, s_verr_t *e)
{
    if (!json_is_object(body)) return s_fail(e, "job", "must be a JSON object");
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
    if (!v || json_is_null(v)) return s_fail(e, "name", "required");
    if ((rc = s_check_ident(e, "name", v, HG_JOB_NAME_MAX))) return rc;
    json_object_set(out, "name", v);

    /* kind: given, or "plugin" when only a plug-in task is present. */
    v = json_object_get(body, "kind");
    json_t *http_in = json_object_get(body, "http"), *plugin_in = json_object_get(body, "plugin");
    bool has_http = http_in && !json_is_null(http_in);
    bool has_plugin = plugin_in && !json_is_null(plugin_in);
    bool is_plugin = has_plugin && !has_http;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return s_fail(e, "kind", "must be a string");
        if (strcmp(json_string_value(v), "http") != 0 &&
            strcmp(json_string_value(v), "plugin") != 0)
            return s_fail(e, "kind", "\"%s\" is not supported; must be \"http\" or \"plugin\"",
                          json_string_value(v));
        is_plugin = strcmp(json_string_value(v), "plugin") == 0;
    }
    json_object_set_new(out, "kind", json_string(is_plugin ? "plugin" : "http"));
    if (is_plugin && has_http)
        return s_fail(e, "http", "not allowed for kind \"plugin\" (give plugin instead)");
    if (!is_plugin && has_plugin)
        return s_fail(e, "plugin", "not allowed for kind \"http\" (set kind to \"plugin\")");

    /* schedule: presence and type first, parsed once timezone and the
     * bounds are known. */
    json_t *sched = json_object_get(body, "schedule");
    if (!sched || json_is_null(sched)) return s_fail(e, "schedule", "required");
    if (!json_is_string(sched)) return s_fail(e, "schedule", "must be a string");
    if (json_string_length(sched) == 0) return s_fail(e, "schedule", "must not be empty");
    if (json_string_length(sched) > HG_JOB_SCHEDULE_MAX)
        return s_fail(e, "schedule", "must be at most %d characters", HG_JOB_SCHEDULE_MAX);

    /* timezone: the schedule engine is the one place that knows zones, so
     * ask it with a cron expression (which always resolves the zone). */
    const char *tz = "UTC";
    v = json_object_get(body, "timezone");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return s_fail(e, "timezone", "must be a string");
        tz = json_string_value(v);
        if (json_string_length(v) > HG_JOB_TZ_MAX || !s_is_tz_name(tz))
            return s_fail(e, "timezone", "unknown time zone \"%s\"", tz);
        hg_sched_opts_t probe_opts = {.tz = tz};
        hg_sched_t *probe = NULL;
        char perr[256];
        rc = hg_sched_parse("0 0 0 * * *", &probe_opts, &probe, perr, sizeof perr);
        hg_sched_destroy(&probe);
        if (rc == HG_ETZ) return s_fail(e, "timezone", "unknown time zone \"%s\"", tz);
    }
    json_object_set_new(out, "timezone", json_string(tz));

    /* status: a job may be created paused. */
    v = json_object_get(body, "status");
    const char *status = "active";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || (strcmp(json_string_value(v), "active") != 0 &&
                                   strcmp(json_string_value(v), "paused") != 0))
            return s_fail(e, "status", "must be \"active\" or \"paused\"");
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
        return s_fail(e, "end_at", "must be after start_at");

    /* schedule, parsed for real */
    hg_sched_opts_t opts = {.tz = tz, .start_ms = start_ms, .end_ms = end_ms};
    hg_sched_t *parsed = NULL;
    char serr[512] = "";
    rc = hg_sched_parse(json_string_value(sched), &opts, &parsed, serr, sizeof serr);
    hg_sched_destroy(&parsed);
    /* The job's zone was checked above, so an HG_ETZ here comes from a
     * CRON_TZ= prefix inside the schedule: a schedule error. */
    if (rc != 0) return s_fail(e, "schedule", "%s", serr[0] ? serr : hg_strerror(rc));
    json_object_set(out, "schedule", sched);

    /* misfire */
    v = json_object_get(body, "misfire");
    const char *misfire = "fire_once";
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || hg_misfire_parse(json_string_value(v)) < 0 ||
            json_string_length(v) == 0)
            return s_fail(e, "misfire", "must be one of fire_once, skip, fire_all");
        misfire = hg_misfire_name((hg_misfire_t) hg_misfire_parse(json_string_value(v)));
    }
    json_object_set_new(out, "misfire", json_string(misfire));

    /* timeout */
    v = json_object_get(body, "timeout");
    int64_t timeout_ms = 30000;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || hg_duration_parse_ms(json_string_value(v), &timeout_ms) != 0)
            return s_fail(e, "timeout", "must be a duration such as \"30s\" or \"250ms\"");
        if (timeout_ms < 1 || timeout_ms > HG_JOB_TIMEOUT_MAX)
            return s_fail(e, "timeout", "must be between 1ms and 24h");
    }
    char tbuf[64];
    s_duration_format(timeout_ms, tbuf, sizeof tbuf);
    json_object_set_new(out, "timeout", json_string(tbuf));

    /* recover: re-run once a run lost with its worker */
    v = json_object_get(body, "recover");
    if (v && !json_is_null(v) && !json_is_boolean(v))
        return s_fail(e, "recover", "must be true or false");
    json_object_set_new(out, "recover", json_boolean(json_is_true(v)));

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

    /* executor */
    json_t *executor = json_object();
    json_object_set_new(out, "executor", executor);
    return s_validate_executor(e, json_object_get(body, "executor"), executor);
}

json_t *hg_job_validate(json_t *body, char *field, size_t field_size, char *message,
                        size_t message_size)
{
    s_verr_t e = {field, field_size, message, message_size};
    if (field && field_size) field[0] = '\0';
    if (message && message_size) message[0] = '\0';
    json_t *out = json_object();
    if (!out) return NULL;
    if (s_validate(body, out, &e) != 0) {
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

static int s_time_field_ms(json_t *job, const char *key, int64_t *ms)
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
    if ((rc = s_time_field_ms(job, "start_at", &out->start_ms)) ||
        (rc = s_time_field_ms(job, "end_at", &out->end_ms)))
        return rc;
    int64_t timeout_ms = 30000;
    json_t *v = json_object_get(job, "timeout");
    if (json_is_string(v) && hg_duration_parse_ms(json_string_value(v), &timeout_ms) != 0)
        return HG_EINVAL;
    if (timeout_ms < 1 || timeout_ms > HG_JOB_TIMEOUT_MAX) return HG_EINVAL;
    out->timeout_ms = (uint32_t) timeout_ms;
    out->recover = json_is_true(json_object_get(job, "recover")) ? 1 : 0;
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

/* ---------------------------------------------------------------------------
 * SQL
 * ------------------------------------------------------------------------ */

#define S_JOB_COLUMNS                                                                              \
    "id, namespace, name, kind, schedule, timezone, status, start_at, end_at, misfire, "           \
    "timeout_ms, spec, version, created_at, updated_at"

static int s_stmt_fail(MYSQL_STMT *stmt, const char *what, char *err, size_t err_size)
{
    if (err && err_size) snprintf(err, err_size, "%s: %s", what, mysql_stmt_error(stmt));
    return HG_EDB;
}

static void s_bind_i32(MYSQL_BIND *b, int32_t *v)
{
    b->buffer_type = MYSQL_TYPE_LONG;
    b->buffer = v;
}

/* A DATETIME parameter; NULL when ms == 0. */
static void s_bind_time(MYSQL_BIND *b, int64_t ms, MYSQL_TIME *t, my_bool *is_null)
{
    memset(t, 0, sizeof *t);
    *is_null = ms == 0;
    if (ms) hg_db_time_from_ms(ms, t);
    b->buffer_type = MYSQL_TYPE_DATETIME;
    b->buffer = t;
    b->is_null = is_null;
}

/* One fetched row of the jobs table. */
typedef struct {
    uint64_t id;                    /* jobs.id */
    char ns[HG_JOB_NS_MAX * 4 + 1]; /* utf8mb4 worst case */
    char name[HG_JOB_NAME_MAX * 4 + 1];
    char kind[65];
    char schedule[HG_JOB_SCHEDULE_MAX * 4 + 1];
    char tz[HG_JOB_TZ_MAX * 4 + 1];
    char status[65];
    MYSQL_TIME start_at, end_at, created_at, updated_at;
    char misfire[65];
    uint32_t timeout_ms;
    char *spec;             /* grown on demand */
    unsigned long spec_cap; /* bytes in spec */
    uint64_t version;
    unsigned long len[15]; /* lengths of the columns */
    my_bool is_null[15];   /* NULL flags of the columns */
    MYSQL_BIND bind[15];   /* result bindings */
} s_row_t;

static void s_bind_result_str(MYSQL_BIND *b, char *buf, size_t size, unsigned long *len,
                              my_bool *is_null)
{
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = buf;
    b->buffer_length = size;
    b->length = len;
    b->is_null = is_null;
}

static int s_row_bind(MYSQL_STMT *stmt, s_row_t *r)
{
    memset(r->bind, 0, sizeof r->bind);
    if (!r->spec) {
        r->spec_cap = 16384;
        r->spec = malloc(r->spec_cap);
        if (!r->spec) return HG_ENOMEM;
    }
    MYSQL_BIND *b = r->bind;
    b[0].buffer_type = MYSQL_TYPE_LONGLONG;
    b[0].buffer = &r->id;
    b[0].is_unsigned = 1;
    s_bind_result_str(&b[1], r->ns, sizeof r->ns, &r->len[1], &r->is_null[1]);
    s_bind_result_str(&b[2], r->name, sizeof r->name, &r->len[2], &r->is_null[2]);
    s_bind_result_str(&b[3], r->kind, sizeof r->kind, &r->len[3], &r->is_null[3]);
    s_bind_result_str(&b[4], r->schedule, sizeof r->schedule, &r->len[4], &r->is_null[4]);
    s_bind_result_str(&b[5], r->tz, sizeof r->tz, &r->len[5], &r->is_null[5]);
    s_bind_result_str(&b[6], r->status, sizeof r->status, &r->len[6], &r->is_null[6]);
    MYSQL_TIME *times[] = {&r->start_at, &r->end_at};
    for (int i = 0; i < 2; i++) {
        b[7 + i].buffer_type = MYSQL_TYPE_DATETIME;
        b[7 + i].buffer = times[i];
        b[7 + i].is_null = &r->is_null[7 + i];
    }
    s_bind_result_str(&b[9], r->misfire, sizeof r->misfire, &r->len[9], &r->is_null[9]);
    b[10].buffer_type = MYSQL_TYPE_LONG;
    b[10].buffer = &r->timeout_ms;
    b[10].is_unsigned = 1;
    s_bind_result_str(&b[11], r->spec, r->spec_cap, &r->len[11], &r->is_null[11]);
    b[12].buffer_type = MYSQL_TYPE_LONGLONG;
    b[12].buffer = &r->version;
    b[12].is_unsigned = 1;
    b[13].buffer_type = MYSQL_TYPE_DATETIME;
    b[13].buffer = &r->created_at;
    b[14].buffer_type = MYSQL_TYPE_DATETIME;
    b[14].buffer = &r->updated_at;
    return mysql_stmt_bind_result(stmt, b) ? HG_EDB : 0;
}

/* Fetch the next row; 0, 1 at the end, or a negative HG_E* code. A spec
 * longer than the buffer is fetched again into a larger one (whether or not
 * the connection reports truncation). */
static int s_row_fetch(MYSQL_STMT *stmt, s_row_t *r, char *err, size_t err_size)
{
    int rc = mysql_stmt_fetch(stmt);
    if (rc == MYSQL_NO_DATA) return 1;
    if (rc == 1) return s_stmt_fail(stmt, "fetch job", err, err_size);
    if (!r->is_null[11] && r->len[11] > r->spec_cap) {
        char *bigger = realloc(r->spec, r->len[11] + 1);
        if (!bigger) return HG_ENOMEM;
        r->spec = bigger;
        r->spec_cap = r->len[11] + 1;
        MYSQL_BIND col = r->bind[11];
        col.buffer = r->spec;
        col.buffer_length = r->spec_cap;
        if (mysql_stmt_fetch_column(stmt, &col, 11, 0))
            return s_stmt_fail(stmt, "fetch job spec", err, err_size);
        /* Later rows use the larger buffer. */
        r->bind[11].buffer = r->spec;
        r->bind[11].buffer_length = r->spec_cap;
        if (mysql_stmt_bind_result(stmt, r->bind))
            return s_stmt_fail(stmt, "bind job", err, err_size);
    }
    return 0;
}

static json_t *s_time_json(const MYSQL_TIME *t, my_bool is_null)
{
    if (is_null) return json_null();
    char buf[40];
    hg_time_format_ms(hg_db_time_to_ms(t), buf, sizeof buf);
    return json_string(buf);
}

static json_t *s_str_json(const char *s, unsigned long len)
{
    return json_stringn(s, len);
}

/* The column values of one job, wherever they come from: a fetched row or
 * a row just inserted. */
typedef struct {
    uint64_t id;                  /* jobs.id */
    const char *str[7];           /* namespace, name, kind, schedule, timezone, status, misfire */
    unsigned long len[7];         /* their lengths */
    const MYSQL_TIME *start_at;   /* NULL when the column is NULL */
    const MYSQL_TIME *end_at;     /* NULL when the column is NULL */
    uint32_t timeout_ms;          /* jobs.timeout_ms */
    json_t *spec;                 /* jobs.spec, parsed (borrowed) */
    uint64_t version;             /* jobs.version */
    const MYSQL_TIME *created_at; /* jobs.created_at */
    const MYSQL_TIME *updated_at; /* jobs.updated_at */
} s_job_cols_t;

/* The API object of a job's columns: the one place that shapes it, so a
 * job answered from the values just inserted is the job a later read
 * returns. */
static json_t *s_job_object(const s_job_cols_t *c)
{
    static const char *keys[7] = {"namespace", "name",   "kind",   "schedule",
                                  "timezone",  "status", "misfire"};
    json_t *str[7];
    for (int i = 0; i < 7; i++)
        str[i] = s_str_json(c->str[i], c->len[i]);
    char tbuf[64];
    s_duration_format(c->timeout_ms, tbuf, sizeof tbuf);
    json_t *job = json_object();
    json_object_set_new(job, "id", json_integer((json_int_t) c->id));
    for (int i = 0; i < 6; i++)
        json_object_set_new(job, keys[i], str[i]);
    json_object_set_new(job, "start_at", s_time_json(c->start_at, c->start_at == NULL));
    json_object_set_new(job, "end_at", s_time_json(c->end_at, c->end_at == NULL));
    json_object_set_new(job, keys[6], str[6]);
    json_object_set_new(job, "timeout", json_string(tbuf));
    json_t *spec = c->spec;
    json_object_set_new(job, "recover",
                        json_boolean(json_is_true(json_object_get(spec, "recover"))));
    json_t *http = json_object_get(spec, "http");
    json_object_set_new(job, "http", http ? json_incref(http) : json_object());
    json_t *plugin = json_object_get(spec, "plugin");
    json_object_set_new(job, "plugin", plugin ? json_incref(plugin) : json_null());
    json_t *params = json_object_get(spec, "params");
    json_object_set_new(job, "params", params ? json_incref(params) : json_object());
    static const char *secret_keys[] = {"secret_headers", "secret_params"};
    for (int i = 0; i < 2; i++) {
        json_t *names = json_object_get(spec, secret_keys[i]);
        json_object_set_new(job, secret_keys[i],
                            json_is_array(names) ? json_incref(names) : json_array());
    }
    json_t *executor = json_object_get(spec, "executor");
    json_object_set_new(job, "executor",
                        executor ? json_incref(executor) : json_pack("{s:[]}", "nodes"));
    json_object_set_new(job, "version", json_integer((json_int_t) c->version));
    json_object_set_new(job, "created_at", s_time_json(c->created_at, 0));
    json_object_set_new(job, "updated_at", s_time_json(c->updated_at, 0));
    return job;
}

/* The API object of a fetched row. */
static json_t *s_row_to_json(s_row_t *r, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *spec = json_loadb(r->spec, r->len[11], 0, &jerr);
    if (!json_is_object(spec)) {
        if (err && err_size)
            snprintf(err, err_size, "job %llu: spec is not a JSON object: %s",
                     (unsigned long long) r->id, spec ? "wrong type" : jerr.text);
        json_decref(spec);
        return NULL;
    }
    s_job_cols_t c = {
        .id = r->id,
        .str = {r->ns, r->name, r->kind, r->schedule, r->tz, r->status, r->misfire},
        .len = {r->len[1], r->len[2], r->len[3], r->len[4], r->len[5], r->len[6], r->len[9]},
        .start_at = r->is_null[7] ? NULL : &r->start_at,
        .end_at = r->is_null[8] ? NULL : &r->end_at,
        .timeout_ms = r->timeout_ms,
        .spec = spec,
        .version = r->version,
        .created_at = &r->created_at,
        .updated_at = &r->updated_at,
    };
    json_t *job = s_job_object(&c);
    json_decref(spec);
    return job;
}

/* Run a prepared SELECT of S_JOB_COLUMNS and append every row to out. */
static int s_select_jobs(MYSQL_STMT *stmt, json_t *out, char *err, size_t err_size)
{
    if (mysql_stmt_execute(stmt) || mysql_stmt_store_result(stmt))
        return s_stmt_fail(stmt, "select jobs", err, err_size);
    s_row_t *r = calloc(1, sizeof *r);
    if (!r) return HG_ENOMEM;
    int rc = s_row_bind(stmt, r);
    if (rc == HG_EDB) rc = s_stmt_fail(stmt, "bind jobs", err, err_size);
    while (rc == 0) {
        rc = s_row_fetch(stmt, r, err, err_size);
        if (rc != 0) break;
        json_t *job = s_row_to_json(r, err, err_size);
        if (!job) {
            rc = HG_EDB;
            break;
        }
        json_array_append_new(out, job);
    }
    free(r->spec);
    free(r);
    mysql_stmt_free_result(stmt);
    return rc == 1 ? 0 : rc;
}

/* One row of an INSERT INTO jobs: the values and the storage the binds
 * point at. */
#define S_INS_COLS 13
typedef struct {
    const char *strs[6];      /* namespace, name, kind, schedule, timezone, status */
    const char *misfire;      /* misfire policy */
    int64_t start_ms, end_ms; /* start_at / end_at, 0 = NULL */
    uint64_t timeout_ms;      /* timeout */
    json_t *spec_json;        /* spec as an object (owned) */
    char *spec;               /* spec JSON text (owned) */
    unsigned long lens[8];    /* string lengths */
    MYSQL_TIME tstart, tend;  /* times */
    MYSQL_TIME tnow;          /* created_at = updated_at */
    my_bool null_start, null_end, null_now;
} s_ins_row_t;

#define S_INS_ROW_SQL "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
#define S_INS_HEAD                                                                                 \
    "INSERT INTO jobs (namespace, name, kind, schedule, timezone, status, "                        \
    "start_at, end_at, misfire, timeout_ms, spec, version, created_at, "                           \
    "updated_at) VALUES "

/* Rows per multi-row INSERT of a batch. */
#define S_INS_CHUNK 500

struct hg_job_stmts {
    MYSQL *db;               /* connection the statements belong to; NULL: none yet */
    MYSQL_STMT *insert_one;  /* INSERT of one row */
    MYSQL_STMT *insert_full; /* INSERT of S_INS_CHUNK rows */
    int consecutive;         /* -1 not known yet; 1: a multi-row INSERT's ids are consecutive */
    uint64_t id_step;        /* @@auto_increment_increment: the gap between those ids */
};

hg_job_stmts_t *hg_job_stmts_new(void)
{
    hg_job_stmts_t *s = calloc(1, sizeof *s);
    if (s) s->consecutive = -1;
    return s;
}

void hg_job_stmts_reset(hg_job_stmts_t *s)
{
    if (!s) return;
    if (s->insert_one) mysql_stmt_close(s->insert_one);
    if (s->insert_full) mysql_stmt_close(s->insert_full);
    s->insert_one = s->insert_full = NULL;
    s->db = NULL;
    s->consecutive = -1;
}

void hg_job_stmts_destroy(hg_job_stmts_t **s)
{
    if (!s || !*s) return;
    hg_job_stmts_reset(*s);
    free(*s);
    *s = NULL;
}

/* Values of a normalized job for its row; HG_EINVAL or HG_ENOMEM. */
static int s_ins_row_fill(json_t *job, s_ins_row_t *row)
{
    memset(row, 0, sizeof *row);
    int64_t timeout_ms = 30000;
    if (s_time_field_ms(job, "start_at", &row->start_ms) ||
        s_time_field_ms(job, "end_at", &row->end_ms))
        return HG_EINVAL;
    json_t *t = json_object_get(job, "timeout");
    if (json_is_string(t) && hg_duration_parse_ms(json_string_value(t), &timeout_ms) != 0)
        return HG_EINVAL;
    row->timeout_ms = (uint64_t) timeout_ms;
    const char *status = json_string_value(json_object_get(job, "status"));
    static const char *keys[] = {"namespace", "name", "kind", "schedule", "timezone"};
    for (size_t i = 0; i < 5; i++)
        if (!(row->strs[i] = json_string_value(json_object_get(job, keys[i])))) return HG_EINVAL;
    row->strs[5] = status ? status : "active";
    row->misfire = json_string_value(json_object_get(job, "misfire"));
    if (!row->misfire) row->misfire = "fire_once";
    json_t *spec = json_object();
    json_t *http = json_object_get(job, "http"), *params = json_object_get(job, "params"),
           *executor = json_object_get(job, "executor"), *plugin = json_object_get(job, "plugin");
    json_object_set(spec, "http", http ? http : json_null());
    json_object_set(spec, "plugin", plugin ? plugin : json_null());
    json_object_set_new(spec, "params", params ? json_incref(params) : json_object());
    json_object_set_new(spec, "executor",
                        executor ? json_incref(executor) : json_pack("{s:[]}", "nodes"));
    json_object_set_new(spec, "recover",
                        json_boolean(json_is_true(json_object_get(job, "recover"))));
    /* Only when set, so that the spec of other jobs stays as it was. */
    static const char *secret_keys[] = {"secret_headers", "secret_params"};
    for (int i = 0; i < 2; i++) {
        json_t *names = json_object_get(job, secret_keys[i]);
        if (json_array_size(names) > 0) json_object_set(spec, secret_keys[i], names);
    }
    row->spec_json = spec;
    row->spec = json_dumps(spec, JSON_COMPACT);
    return row->spec ? 0 : HG_ENOMEM;
}

static void s_ins_row_free(s_ins_row_t *row)
{
    free(row->spec);
    row->spec = NULL;
    json_decref(row->spec_json);
    row->spec_json = NULL;
}

/* Point b[0..S_INS_COLS) at the row's values. */
static void s_ins_row_bind(s_ins_row_t *row, MYSQL_BIND *b, int64_t now)
{
    memset(b, 0, sizeof *b * S_INS_COLS);
    for (int i = 0; i < 6; i++)
        hg_db_bind_str(&b[i], row->strs[i], &row->lens[i]);
    s_bind_time(&b[6], row->start_ms, &row->tstart, &row->null_start);
    s_bind_time(&b[7], row->end_ms, &row->tend, &row->null_end);
    hg_db_bind_str(&b[8], row->misfire, &row->lens[6]);
    hg_db_bind_u64(&b[9], &row->timeout_ms);
    hg_db_bind_str(&b[10], row->spec, &row->lens[7]);
    s_bind_time(&b[11], now, &row->tnow, &row->null_now);
    b[12] = b[11];
}

/* The API object of a row just inserted with id: built from the values
 * bound (what the table now holds), not read back. */
static json_t *s_ins_row_object(s_ins_row_t *row, uint64_t id)
{
    s_job_cols_t c = {
        .id = id,
        .str = {row->strs[0], row->strs[1], row->strs[2], row->strs[3], row->strs[4], row->strs[5],
                row->misfire},
        .len = {row->lens[0], row->lens[1], row->lens[2], row->lens[3], row->lens[4], row->lens[5],
                row->lens[6]},
        .start_at = row->null_start ? NULL : &row->tstart,
        .end_at = row->null_end ? NULL : &row->tend,
        .timeout_ms = (uint32_t) row->timeout_ms,
        .spec = row->spec_json,
        .version = 1,
        .created_at = &row->tnow,
        .updated_at = &row->tnow,
    };
    return s_job_object(&c);
}

/* Whether a multi-row INSERT on db gets consecutive ids (step apart):
 * InnoDB guarantees it for an INSERT of a known number of rows unless
 * innodb_autoinc_lock_mode is 2 ("interleaved", as Galera requires). Asked
 * once per connection. */
static void s_learn_id_mode(MYSQL *db, hg_job_stmts_t *s)
{
    s->consecutive = 0;
    s->id_step = 1;
    if (mysql_query(db, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment")) return;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW r = res ? mysql_fetch_row(res) : NULL;
    if (r && r[0] && r[1]) {
        long mode = strtol(r[0], NULL, 10);
        long step = strtol(r[1], NULL, 10);
        if ((mode == 0 || mode == 1) && step >= 1) {
            s->consecutive = 1;
            s->id_step = (uint64_t) step;
        }
    }
    if (res) mysql_free_result(res);
}

/* The INSERT statement for n rows: one of the kept ones when n is 1 or
 * S_INS_CHUNK (*owned false), else a new one (*owned true). */
static MYSQL_STMT *s_insert_stmt(MYSQL *db, hg_job_stmts_t *s, size_t n, bool *owned, char *err,
                                 size_t err_size)
{
    MYSQL_STMT **keep = !s                 ? NULL
                        : n == 1           ? &s->insert_one
                        : n == S_INS_CHUNK ? &s->insert_full
                                           : NULL;
    *owned = keep == NULL;
    if (keep && *keep) return *keep;
    size_t size = sizeof S_INS_HEAD + n * (sizeof S_INS_ROW_SQL + 1);
    char *sql = malloc(size);
    if (!sql) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char *p = sql + sprintf(sql, "%s", S_INS_HEAD);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", S_INS_ROW_SQL);
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    free(sql);
    if (keep) *keep = stmt;
    return stmt;
}

/* Insert rows [0, n) in one statement; *first_id gets the id of the first.
 * HG_EEXIST when a name is taken (nothing inserted; err names the job when
 * n is 1). */
static int s_insert_rows(MYSQL *db, hg_job_stmts_t *s, s_ins_row_t *rows, size_t n, int64_t now,
                         uint64_t *first_id, char *err, size_t err_size)
{
    MYSQL_BIND one[S_INS_COLS];
    MYSQL_BIND *b = n == 1 ? one : calloc(n * S_INS_COLS, sizeof *b);
    if (!b) return HG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        s_ins_row_bind(&rows[i], b + i * S_INS_COLS, now);
    bool owned;
    int rc = 0;
    MYSQL_STMT *stmt = s_insert_stmt(db, s, n, &owned, err, err_size);
    if (!stmt) {
        rc = HG_EDB;
    } else if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt)) {
        if (mysql_stmt_errno(stmt) == ER_DUP_ENTRY) {
            if (n == 1)
                snprintf(err, err_size, "job \"%s\" already exists in namespace \"%s\"",
                         rows[0].strs[1], rows[0].strs[0]);
            rc = HG_EEXIST;
        } else {
            rc = s_stmt_fail(stmt, n == 1 ? "insert job" : "insert jobs", err, err_size);
        }
    } else if (mysql_stmt_affected_rows(stmt) != (my_ulonglong) n) {
        snprintf(err, err_size, "insert jobs: %llu rows inserted of %zu",
                 (unsigned long long) mysql_stmt_affected_rows(stmt), n);
        rc = HG_EDB;
    } else {
        *first_id = (uint64_t) mysql_stmt_insert_id(stmt);
    }
    if (stmt && owned) mysql_stmt_close(stmt);
    if (b != one) free(b);
    return rc;
}

/* Ids of rows [0, n) by their names, in one query: for servers that do not
 * hand out a multi-row INSERT's ids consecutively. */
static int s_ids_by_name(MYSQL *db, s_ins_row_t *rows, size_t n, uint64_t *ids, char *err,
                         size_t err_size)
{
    size_t size = 96 + n * 10;
    char *sql = malloc(size);
    MYSQL_BIND *b = calloc(2 * n, sizeof *b);
    unsigned long *lens = calloc(2 * n, sizeof *lens);
    zhashx_t *index = zhashx_new(); /* "namespace/name" -> row index + 1 */
    MYSQL_STMT *stmt = NULL;
    int rc = 0;
    if (!sql || !b || !lens || !index) {
        rc = HG_ENOMEM;
        goto done;
    }
    char *p =
        sql + sprintf(sql, "SELECT id, namespace, name FROM jobs WHERE (namespace, name) IN (");
    char key[HG_JOB_NS_MAX * 4 + HG_JOB_NAME_MAX * 4 + 2];
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s(?,?)", i ? "," : "");
        hg_db_bind_str(&b[2 * i], rows[i].strs[0], &lens[2 * i]);
        hg_db_bind_str(&b[2 * i + 1], rows[i].strs[1], &lens[2 * i + 1]);
        snprintf(key, sizeof key, "%s/%s", rows[i].strs[0], rows[i].strs[1]);
        zhashx_insert(index, key, (void *) (uintptr_t) (i + 1));
    }
    sprintf(p, ")");
    stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) {
        rc = HG_EDB;
        goto done;
    }
    uint64_t id = 0;
    char ns[HG_JOB_NS_MAX * 4 + 1], name[HG_JOB_NAME_MAX * 4 + 1];
    unsigned long ns_len = 0, name_len = 0;
    MYSQL_BIND out[3];
    memset(out, 0, sizeof out);
    hg_db_bind_u64(&out[0], &id);
    hg_db_bind_out(&out[1], MYSQL_TYPE_STRING, ns, sizeof ns, &ns_len, NULL);
    hg_db_bind_out(&out[2], MYSQL_TYPE_STRING, name, sizeof name, &name_len, NULL);
    if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt) ||
        mysql_stmt_bind_result(stmt, out) || mysql_stmt_store_result(stmt)) {
        rc = s_stmt_fail(stmt, "read back job ids", err, err_size);
        goto done;
    }
    size_t found = 0;
    while (mysql_stmt_fetch(stmt) == 0) {
        if (ns_len >= sizeof ns || name_len >= sizeof name) continue;
        ns[ns_len] = '\0';
        name[name_len] = '\0';
        snprintf(key, sizeof key, "%s/%s", ns, name);
        uintptr_t at = (uintptr_t) zhashx_lookup(index, key);
        if (at) {
            ids[at - 1] = id;
            found++;
        }
    }
    if (found != n) {
        snprintf(err, err_size, "read back %zu of %zu job ids just inserted", found, n);
        rc = HG_EDB;
    }
done:
    if (stmt) mysql_stmt_close(stmt);
    zhashx_destroy(&index);
    free(sql);
    free(b);
    free(lens);
    return rc;
}

int hg_job_db_create(MYSQL *db, hg_job_stmts_t *stmts, json_t *jobs, json_t **stored,
                     size_t *failed, char *err, size_t err_size)
{
    if (stored) *stored = NULL;
    if (failed) *failed = 0;
    if (!db || !json_is_array(jobs) || !stored) return HG_EINVAL;
    if (stmts && stmts->db != db) {
        hg_job_stmts_reset(stmts);
        stmts->db = db;
    }
    size_t n = json_array_size(jobs);
    size_t chunk = n < S_INS_CHUNK ? n : S_INS_CHUNK;
    s_ins_row_t *rows = calloc(chunk ? chunk : 1, sizeof *rows);
    uint64_t *ids = calloc(chunk ? chunk : 1, sizeof *ids);
    json_t *out = json_array();
    if (!rows || !ids || !out) {
        free(rows);
        free(ids);
        json_decref(out);
        return HG_ENOMEM;
    }
    int64_t now = hg_now_ms();
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += S_INS_CHUNK) {
        size_t k = n - at < S_INS_CHUNK ? n - at : S_INS_CHUNK;
        size_t filled = 0;
        for (; filled < k && rc == 0; filled++) {
            if (failed) *failed = at + filled;
            rc = s_ins_row_fill(json_array_get(jobs, at + filled), &rows[filled]);
        }
        uint64_t first = 0;
        if (rc == 0) rc = s_insert_rows(db, stmts, rows, k, now, &first, err, err_size);
        if (rc == HG_EEXIST && k > 1) {
            /* The statement inserted nothing: one row at a time tells which
             * job clashes (the caller rolls the transaction back anyway). */
            rc = 0;
            for (size_t i = 0; i < k && rc == 0; i++) {
                if (failed) *failed = at + i;
                rc = s_insert_rows(db, stmts, &rows[i], 1, now, &first, err, err_size);
            }
            if (rc == 0) {
                snprintf(err, err_size, "duplicate job in a batch insert, not found again");
                rc = HG_EDB;
            }
        }
        if (rc == 0) {
            if (k == 1) {
                ids[0] = first;
            } else {
                if (stmts && stmts->consecutive < 0) s_learn_id_mode(db, stmts);
                if (stmts && stmts->consecutive == 1) {
                    for (size_t i = 0; i < k; i++)
                        ids[i] = first + i * stmts->id_step;
                } else {
                    rc = s_ids_by_name(db, rows, k, ids, err, err_size);
                }
            }
        }
        for (size_t i = 0; i < k && rc == 0; i++) {
            json_t *job = s_ins_row_object(&rows[i], ids[i]);
            if (!job || json_array_append_new(out, job)) rc = HG_ENOMEM;
        }
        for (size_t i = 0; i < filled; i++)
            s_ins_row_free(&rows[i]);
    }
    free(rows);
    free(ids);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    *stored = out;
    return 0;
}

int hg_job_db_get(MYSQL *db, const char *ns, const char *name, json_t **job, char *err,
                  size_t err_size)
{
    if (!db || !name || !job) return HG_EINVAL;
    *job = NULL;
    if (!ns || !*ns) ns = "default";
    MYSQL_STMT *stmt = hg_db_prepare(
        db, "SELECT " S_JOB_COLUMNS " FROM jobs WHERE namespace = ? AND name = ?", err, err_size);
    if (!stmt) return HG_EDB;
    MYSQL_BIND b[2];
    memset(b, 0, sizeof b);
    unsigned long lens[2];
    hg_db_bind_str(&b[0], ns, &lens[0]);
    hg_db_bind_str(&b[1], name, &lens[1]);
    json_t *rows = json_array();
    int rc = mysql_stmt_bind_param(stmt, b) ? s_stmt_fail(stmt, "get job", err, err_size)
                                            : s_select_jobs(stmt, rows, err, err_size);
    mysql_stmt_close(stmt);
    if (rc == 0 && json_array_size(rows) == 0) {
        if (err && err_size)
            snprintf(err, err_size, "job \"%s\" not found in namespace \"%s\"", name, ns);
        rc = HG_ENOTFOUND;
    }
    if (rc == 0) *job = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return rc;
}

int hg_job_db_list(MYSQL *db, const char *ns, const char *status, int limit, int offset,
                   json_t **jobs, int64_t *total, char *err, size_t err_size)
{
    if (!db || !jobs || limit < 0 || offset < 0) return HG_EINVAL;
    *jobs = NULL;
    if (ns && !*ns) ns = NULL;
    if (status && !*status) status = NULL;
    /* Filters are bound as NULL when absent: "? IS NULL OR column = ?". */
    MYSQL_BIND b[6];
    memset(b, 0, sizeof b);
    unsigned long lens[4];
    my_bool ns_null = ns == NULL, status_null = status == NULL;
    hg_db_bind_str(&b[0], ns, &lens[0]);
    b[0].is_null = &ns_null;
    hg_db_bind_str(&b[1], ns, &lens[1]);
    b[1].is_null = &ns_null;
    hg_db_bind_str(&b[2], status, &lens[2]);
    b[2].is_null = &status_null;
    hg_db_bind_str(&b[3], status, &lens[3]);
    b[3].is_null = &status_null;
    int32_t lim = limit, off = offset;
    s_bind_i32(&b[4], &lim);
    s_bind_i32(&b[5], &off);
    const char *where = " FROM jobs WHERE (? IS NULL OR namespace = ?) AND "
                        "(? IS NULL OR status = ?)";
    char sql[512];

    int rc = 0;
    if (total) {
        snprintf(sql, sizeof sql, "SELECT COUNT(*)%s", where);
        MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
        if (!stmt) return HG_EDB;
        long long count = 0;
        MYSQL_BIND rb;
        memset(&rb, 0, sizeof rb);
        rb.buffer_type = MYSQL_TYPE_LONGLONG;
        rb.buffer = &count;
        if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt) ||
            mysql_stmt_store_result(stmt) || mysql_stmt_bind_result(stmt, &rb) ||
            mysql_stmt_fetch(stmt) != 0)
            rc = s_stmt_fail(stmt, "count jobs", err, err_size);
        mysql_stmt_close(stmt);
        if (rc) return rc;
        *total = count;
    }
    snprintf(sql, sizeof sql,
             "SELECT " S_JOB_COLUMNS "%s ORDER BY namespace, name LIMIT ? OFFSET ?", where);
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    json_t *rows = json_array();
    rc = mysql_stmt_bind_param(stmt, b) ? s_stmt_fail(stmt, "list jobs", err, err_size)
                                        : s_select_jobs(stmt, rows, err, err_size);
    mysql_stmt_close(stmt);
    if (rc)
        json_decref(rows);
    else
        *jobs = rows;
    return rc;
}

/* Run a one-row UPDATE/DELETE by id; HG_ENOTFOUND when no row matched. */
static int s_exec_by_id(MYSQL *db, const char *sql, MYSQL_BIND *b, const char *what, uint64_t id,
                        char *err, size_t err_size)
{
    MYSQL_STMT *stmt = hg_db_prepare(db, sql, err, err_size);
    if (!stmt) return HG_EDB;
    int rc = 0;
    if (mysql_stmt_bind_param(stmt, b) || mysql_stmt_execute(stmt)) {
        rc = s_stmt_fail(stmt, what, err, err_size);
    } else if (mysql_stmt_affected_rows(stmt) == 0) {
        if (err && err_size) snprintf(err, err_size, "job %llu not found", (unsigned long long) id);
        rc = HG_ENOTFOUND;
    }
    mysql_stmt_close(stmt);
    return rc;
}

int hg_job_db_set_status(MYSQL *db, uint64_t id, const char *status, char *err, size_t err_size)
{
    if (!db || !status) return HG_EINVAL;
    MYSQL_BIND b[3];
    memset(b, 0, sizeof b);
    unsigned long len;
    hg_db_bind_str(&b[0], status, &len);
    MYSQL_TIME now;
    my_bool now_null;
    s_bind_time(&b[1], hg_now_ms(), &now, &now_null);
    hg_db_bind_u64(&b[2], &id);
    return s_exec_by_id(db,
                        "UPDATE jobs SET status = ?, version = version + 1, updated_at = ? "
                        "WHERE id = ?",
                        b, "set job status", id, err, err_size);
}

int hg_job_db_delete(MYSQL *db, uint64_t id, char *err, size_t err_size)
{
    if (!db) return HG_EINVAL;
    MYSQL_BIND b[1];
    memset(b, 0, sizeof b);
    hg_db_bind_u64(&b[0], &id);
    return s_exec_by_id(db, "DELETE FROM jobs WHERE id = ?", b, "delete job", id, err, err_size);
}
