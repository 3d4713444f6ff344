/* redact: secret headers and parameters of jobs (redact.h). */
#include "redact.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *s_secret_headers[] = {"Authorization", "Proxy-Authorization", "Cookie",
                                         "Set-Cookie", NULL};
static const char *s_secret_param_parts[] = {"password", "secret", "token", NULL};

/* True when list (a JSON array of strings) holds name; headers compare
 * without case, as HTTP does. */
static bool s_listed(const json_t *list, const char *name, bool nocase)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (s && (nocase ? strcasecmp(s, name) : strcmp(s, name)) == 0) return true;
    }
    return false;
}

bool hg_redact_header_is_secret(const json_t *job, const char *name)
{
    for (int i = 0; s_secret_headers[i]; i++)
        if (strcasecmp(name, s_secret_headers[i]) == 0) return true;
    return s_listed(json_object_get(job, "secret_headers"), name, true);
}

bool hg_redact_param_is_secret(const json_t *job, const char *name)
{
    if (strcasecmp(name, "dsn") == 0) return true;
    for (int i = 0; s_secret_param_parts[i]; i++)
        if (strcasestr(name, s_secret_param_parts[i])) return true;
    return s_listed(json_object_get(job, "secret_params"), name, false);
}

/* Redact the secret members of obj; is_secret decides per key. */
static void s_redact_map(json_t *job, json_t *obj, bool (*is_secret)(const json_t *, const char *))
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (json_is_string(val) && is_secret(job, key))
            json_object_set_new(obj, key, json_string(HG_REDACTED));
    }
}

void hg_redact_job(json_t *job)
{
    json_t *http = json_object_get(job, "http");
    json_t *headers = json_is_object(http) ? json_object_get(http, "headers") : NULL;
    if (json_is_object(headers)) s_redact_map(job, headers, hg_redact_header_is_secret);
    json_t *params = json_object_get(job, "params");
    if (json_is_object(params)) s_redact_map(job, params, hg_redact_param_is_secret);
}

/* Whether obj has a member s_redact_map would replace. */
static bool s_map_has_secret(const json_t *job, const json_t *obj,
                             bool (*is_secret)(const json_t *, const char *))
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *) obj, key, val)
    {
        if (json_is_string(val) && is_secret(job, key)) return true;
    }
    return false;
}

json_t *hg_redact_copy(json_t *job)
{
    json_t *http = json_object_get(job, "http");
    json_t *headers = json_is_object(http) ? json_object_get(http, "headers") : NULL;
    json_t *params = json_object_get(job, "params");
    bool secret =
        (json_is_object(headers) && s_map_has_secret(job, headers, hg_redact_header_is_secret)) ||
        (json_is_object(params) && s_map_has_secret(job, params, hg_redact_param_is_secret));
    if (!secret) return json_incref(job);
    json_t *copy = json_deep_copy(job);
    if (copy) hg_redact_job(copy);
    return copy;
}

void hg_redact_jobs(json_t *jobs)
{
    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job) hg_redact_job(job);
}

/* Put back, from stored_map, the values of obj that read HG_REDACTED and
 * are secret. Header names match without case. */
static int s_restore_map(const json_t *job, json_t *obj, const json_t *stored_map, bool headers)
{
    int n = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const char *s = json_string_value(val);
        if (!s || strcmp(s, HG_REDACTED) != 0) continue;
        if (!(headers ? hg_redact_header_is_secret(job, key) : hg_redact_param_is_secret(job, key)))
            continue;
        const char *skey;
        json_t *sval;
        json_object_foreach((json_t *) stored_map, skey, sval)
        {
            if ((headers ? strcasecmp(skey, key) : strcmp(skey, key)) == 0 &&
                json_is_string(sval)) {
                json_object_set(obj, key, sval);
                n++;
                break;
            }
        }
    }
    return n;
}

int hg_redact_restore(json_t *job, const json_t *stored)
{
    if (!stored) return 0;
    int n = 0;
    json_t *http = json_object_get(job, "http");
    json_t *headers = json_is_object(http) ? json_object_get(http, "headers") : NULL;
    const json_t *shttp = json_object_get(stored, "http");
    const json_t *sheaders = json_is_object(shttp) ? json_object_get(shttp, "headers") : NULL;
    if (json_is_object(headers) && json_is_object(sheaders))
        n += s_restore_map(job, headers, sheaders, true);
    json_t *params = json_object_get(job, "params");
    const json_t *sparams = json_object_get(stored, "params");
    if (json_is_object(params) && json_is_object(sparams))
        n += s_restore_map(job, params, sparams, false);
    return n;
}
