/* deps: the dependency graph of jobs: validation of depends_on and
 * trigger_rule, the job_deps edge table, cycle and dependent checks, the
 * tree of a job (see deps.h). */
#include "job_internal.h"
#include "deps.h"
#include "hg_error.h"
#include "hg_proto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_NAME_MAX 190 /* job_deps.child_name / parent_name */

/* ---------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

/* A job name as job.c accepts it: [A-Za-z0-9._-], starting alphanumeric. */
static bool s_is_name(const char *s, size_t n)
{
    if (n == 0 || n > S_NAME_MAX || !isalnum((unsigned char) s[0])) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c > 127 || !(isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
    }
    return true;
}

bool hg_deps_listed(json_t *body)
{
    json_t *d = json_object_get(body, "depends_on");
    return json_is_array(d) && json_array_size(d) > 0;
}

/* One entry of depends_on, appended normalized to list. */
static int s_check_entry(hg_job_err_t *e, size_t i, json_t *v, const char *self_name, json_t *list)
{
    char f[64];
    snprintf(f, sizeof f, "depends_on[%zu]", i);
    if (!json_is_object(v)) return hg_job__fail(e, f, "must be an object {\"job\", \"on\"}");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        if (strcmp(key, "job") != 0 && strcmp(key, "on") != 0) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.%s", f, key);
            return hg_job__fail(e, sub, "unknown field");
        }
    }
    json_t *job = json_object_get(v, "job");
    snprintf(f, sizeof f, "depends_on[%zu].job", i);
    if (!json_is_string(job)) return hg_job__fail(e, f, "required: the name of a job");
    const char *name = json_string_value(job);
    if (!s_is_name(name, json_string_length(job)) || strlen(name) != json_string_length(job))
        return hg_job__fail(
            e, f,
            "must be a job name (1-190 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit)");
    if (self_name && strcmp(name, self_name) == 0)
        return hg_job__fail(e, f, "a job cannot depend on itself (cycle %s -> %s)", name, name);
    size_t k;
    json_t *prev;
    json_array_foreach(list, k, prev)
    {
        if (strcmp(json_string_value(json_object_get(prev, "job")), name) == 0)
            return hg_job__fail(e, f, "\"%s\" is also depends_on[%zu]", name, k);
    }
    json_t *on = json_object_get(v, "on");
    const char *on_s = "success";
    snprintf(f, sizeof f, "depends_on[%zu].on", i);
    if (on && !json_is_null(on)) {
        on_s = json_string_value(on);
        if (!on_s || (strcmp(on_s, "success") != 0 && strcmp(on_s, "failure") != 0 &&
                      strcmp(on_s, "always") != 0))
            return hg_job__fail(e, f, "must be one of success, failure, always");
    }
    json_array_append_new(list, json_pack("{s:s, s:s}", "job", name, "on", on_s));
    return 0;
}

int hg_deps_validate(json_t *body, const char *name, json_t *out, char *field, size_t field_size,
                     char *message, size_t message_size)
{
    hg_job_err_t e = {field, field_size, message, message_size};
    json_t *list = json_array();
    json_object_set_new(out, "depends_on", list);
    json_t *d = json_object_get(body, "depends_on");
    if (d && !json_is_null(d)) {
        if (!json_is_array(d))
            return hg_job__fail(&e, "depends_on", "must be an array of {job, on}");
        if (json_array_size(d) > HG_DEPS_PARENTS_MAX)
            return hg_job__fail(&e, "depends_on", "at most %d parents", HG_DEPS_PARENTS_MAX);
        size_t i;
        json_t *v;
        json_array_foreach(d, i, v)
        {
            int rc = s_check_entry(&e, i, v, name, list);
            if (rc) return rc;
        }
    }
    json_t *r = json_object_get(body, "trigger_rule");
    const char *rule = "all";
    if (r && !json_is_null(r)) {
        rule = json_string_value(r);
        if (!rule || (strcmp(rule, "all") != 0 && strcmp(rule, "any") != 0))
            return hg_job__fail(&e, "trigger_rule", "must be \"all\" or \"any\"");
    }
    json_object_set_new(out, "trigger_rule", json_string(rule));
    return 0;
}

void hg_deps_to_spec(json_t *job, json_t *spec)
{
    json_t *d = json_object_get(job, "depends_on");
    if (json_array_size(d) == 0) return;
    json_object_set(spec, "depends_on", d);
    json_t *r = json_object_get(job, "trigger_rule");
    json_object_set_new(spec, "trigger_rule",
                        json_is_string(r) ? json_incref(r) : json_string("all"));
}

void hg_deps_from_spec(json_t *spec, json_t *job)
{
    json_t *d = json_object_get(spec, "depends_on");
    json_t *r = json_object_get(spec, "trigger_rule");
    json_object_set_new(job, "depends_on", json_is_array(d) ? json_incref(d) : json_array());
    json_object_set_new(job, "trigger_rule",
                        json_is_string(r) ? json_incref(r) : json_string("all"));
}

bool hg_deps_any(json_t *jobs)
{
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job) if (hg_deps_listed(job)) return true;
    return false;
}

/* An HTTP token (RFC 9110 tchar), as header names must be. */
static bool s_is_token(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char) *s;
        if (c > 127 || !(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c))) return false;
    }
    return true;
}

int hg_deps_validate_http(json_t *http, json_t *out, char *field, size_t field_size, char *message,
                          size_t message_size)
{
    hg_job_err_t e = {field, field_size, message, message_size};
    json_t *pr = json_object_get(http, "parent_results");
    if (!pr || json_is_null(pr)) return 0;
    const char *f = "http.parent_results";
    if (!json_is_object(pr) || json_object_size(pr) != 1)
        return hg_job__fail(&e, f, "must be {\"header\": NAME} or {\"body_field\": NAME}");
    json_t *h = json_object_get(pr, "header"), *b = json_object_get(pr, "body_field");
    if (h) {
        const char *name = json_string_value(h);
        if (!name || strlen(name) > 128 || !s_is_token(name))
            return hg_job__fail(&e, "http.parent_results.header", "must be an HTTP header name");
        static const char *const framing[] = {"Host", "Content-Length", "Transfer-Encoding",
                                              "Connection", "Content-Type"};
        for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++)
            if (strcasecmp(name, framing[i]) == 0)
                return hg_job__fail(&e, "http.parent_results.header", "\"%s\" cannot carry results",
                                    name);
    } else if (b) {
        const char *name = json_string_value(b);
        if (!name || !*name || strlen(name) > 128 || strlen(name) != json_string_length(b))
            return hg_job__fail(&e, "http.parent_results.body_field",
                                "must be a name of 1-128 bytes");
        json_t *form = json_object_get(http, "form");
        if (form && !json_is_null(form))
            return hg_job__fail(&e, "http.parent_results.body_field",
                                "cannot be used with http.form");
        json_t *body = json_object_get(http, "body");
        if (json_is_string(body) && json_string_length(body) > 0) {
            json_t *doc = json_loads(json_string_value(body), 0, NULL);
            bool ok = json_is_object(doc);
            json_decref(doc);
            if (!ok)
                return hg_job__fail(&e, "http.parent_results.body_field",
                                    "needs http.body to be null or a JSON object");
        }
    } else {
        return hg_job__fail(&e, f, "must be {\"header\": NAME} or {\"body_field\": NAME}");
    }
    json_object_set_new(out, "parent_results", json_deep_copy(pr));
    return 0;
}

void hg_deps_http_params(json_t *http, json_t *params)
{
    json_t *pr = json_object_get(http, "parent_results");
    if (!json_is_object(pr)) return;
    /* {"<job>": "<result>"} from the parent.<job>.result parameters */
    json_t *results = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(params, key, val)
    {
        size_t n = strlen(key);
        if (n > 14 && strncmp(key, "parent.", 7) == 0 && strcmp(key + n - 7, ".result") == 0) {
            char job[256];
            snprintf(job, sizeof job, "%.*s", (int) (n - 14), key + 7);
            json_object_set(results, job, val);
        }
    }
    const char *header = json_string_value(json_object_get(pr, "header"));
    const char *field = json_string_value(json_object_get(pr, "body_field"));
    /* Both travel as one TRIGGER parameter (under HG_PROTO_MAX_STR): each
     * result gets an equal share of 6000 bytes, cut at its end. */
    size_t share = json_object_size(results) ? 6000 / json_object_size(results) : 0;
    json_object_foreach(results, key, val)
    {
        if (json_string_length(val) > share) {
            size_t cut = share;
            const char *v = json_string_value(val);
            while (cut > 0 && ((unsigned char) v[cut] & 0xc0) == 0x80)
                cut--; /* not inside a UTF-8 sequence */
            json_object_set_new(results, key, json_stringn(v, cut));
        }
    }
    if (header) {
        /* ASCII-only JSON: no CR, LF or byte a header may not hold. */
        char *text = json_dumps(results, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (text) {
            char line[8192];
            snprintf(line, sizeof line, "%s: %s", header, text);
            json_object_set_new(params, HG_DEPS_PARAM_HEADER, json_string(line));
        }
        free(text);
    } else if (field) {
        json_t *body = json_object_get(http, "body");
        json_t *doc = json_is_string(body) && json_string_length(body) > 0
                          ? json_loads(json_string_value(body), 0, NULL)
                          : json_object();
        if (json_is_object(doc)) {
            json_object_set(doc, field, results);
            char *text = json_dumps(doc, JSON_COMPACT);
            /* A body too large for a parameter is sent as the job has it. */
            if (text && strlen(text) < HG_PROTO_MAX_STR)
                json_object_set_new(params, HG_DEPS_PARAM_BODY, json_string(text));
            free(text);
        }
        json_decref(doc);
    }
    json_decref(results);
}
