/* job_policy: validation and wire form of a job's retry and overlap
 * policies (see job_policy.h). The arithmetic lives in common/hg_retry.c,
 * shared with the worker. */
#include "job_policy.h"
#include "job_internal.h"
#include "hg_error.h"
#include "hg_retry.h"
#include "hg_time.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S_CONCURRENT_MAX 1000 /* max_concurrent, at most */
#define S_QUEUE_MAX      1000 /* queue_max, at most */

const char *const hg_job_policy_keys[] = {"retry", "overlap", "max_concurrent", "queue_max", NULL};

static const char *const s_retry_keys[] = {"max_attempts", "backoff", "initial", "factor",
                                           "max_delay",    "jitter",  "on",      NULL};

/* The classes retried when `on` is not given: every failure that is
 * usually transient. "lost" is left out: a run lost with its worker may
 * have done its work, and recover: true is the explicit choice for it. */
#define S_ON_DEFAULT                                                                               \
    (HG_RETRY_ON_HTTP_5XX | HG_RETRY_ON_HTTP_429 | HG_RETRY_ON_CONNECT | HG_RETRY_ON_TIMEOUT |     \
     HG_RETRY_ON_PLUGIN_RETRY | HG_RETRY_ON_CRASHED)

/* A duration member: absent or null gives def; else lo..hi ms. */
static int s_duration(hg_job_err_t *e, json_t *obj, const char *key, const char *field, int64_t def,
                      int64_t lo, int64_t hi, int64_t *ms)
{
    json_t *v = json_object_get(obj, key);
    *ms = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || hg_duration_parse_ms(json_string_value(v), ms) != 0)
        return hg_job__fail(e, field, "must be a duration such as \"500ms\", \"10s\" or \"5m\"");
    if (*ms < lo || *ms > hi) {
        char a[32], b[32];
        hg_job__duration_format(lo, a, sizeof a);
        hg_job__duration_format(hi, b, sizeof b);
        return hg_job__fail(e, field, "must be between %s and %s", a, b);
    }
    return 0;
}

/* An integer member lo..hi, def when absent or null. */
static int s_int(hg_job_err_t *e, json_t *obj, const char *key, json_int_t def, json_int_t lo,
                 json_int_t hi, json_int_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return hg_job__fail(e, key, "must be an integer from %lld to %lld", (long long) lo,
                            (long long) hi);
    *out = json_integer_value(v);
    return 0;
}

/* One of names (a string member), def when absent or null. */
static int s_choice(hg_job_err_t *e, json_t *obj, const char *key, const char *field,
                    int (*parse)(const char *), const char *def, const char *list, int *out)
{
    json_t *v = json_object_get(obj, key);
    const char *s = def;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) return hg_job__fail(e, field, "must be one of %s", list);
        s = json_string_value(v);
    }
    *out = parse(s);
    if (*out < 0) return hg_job__fail(e, field, "must be one of %s", list);
    return 0;
}

static int s_retry_on(hg_job_err_t *e, json_t *v, uint32_t *on)
{
    *on = S_ON_DEFAULT;
    if (!v || json_is_null(v)) return 0;
    static const char list[] = "http_5xx, http_429, connect, timeout, plugin_retry, crashed, lost";
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 7)
        return hg_job__fail(e, "retry.on", "must be a non-empty list of %s", list);
    *on = 0;
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c)
    {
        uint32_t bit = json_is_string(c) ? hg_retry_class_parse(json_string_value(c)) : 0;
        if (!bit) return hg_job__fail(e, "retry.on", "item %zu must be one of %s", i, list);
        *on |= bit;
    }
    return 0;
}

/* retry: null (no retry) or the policy object. */
static int s_validate_retry(hg_job_err_t *e, json_t *v, json_t *out)
{
    if (!v || json_is_null(v)) {
        json_object_set_new(out, "retry", json_null());
        return 0;
    }
    if (!json_is_object(v)) return hg_job__fail(e, "retry", "must be an object or null");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        bool known = false;
        for (int i = 0; s_retry_keys[i]; i++)
            known = known || strcmp(key, s_retry_keys[i]) == 0;
        if (!known) {
            char f[64];
            snprintf(f, sizeof f, "retry.%.40s", key);
            return hg_job__fail(e, f, "unknown field");
        }
    }
    json_t *m = json_object_get(v, "max_attempts");
    if (!json_is_integer(m) || json_integer_value(m) < 1 ||
        json_integer_value(m) > HG_RETRY_MAX_ATTEMPTS)
        return hg_job__fail(e, "retry.max_attempts",
                            "must be an integer from 1 to %u (the first "
                            "attempt included)",
                            HG_RETRY_MAX_ATTEMPTS);
    int backoff, jitter, rc;
    int64_t initial, max_delay;
    if ((rc = s_choice(e, v, "backoff", "retry.backoff", hg_backoff_parse, "exponential",
                       "fixed, exponential", &backoff)) ||
        (rc = s_choice(e, v, "jitter", "retry.jitter", hg_jitter_parse, "none", "none, full",
                       &jitter)) ||
        (rc = s_duration(e, v, "initial", "retry.initial", 1000, HG_RETRY_MIN_DELAY_MS,
                         HG_RETRY_MAX_DELAY_MS, &initial)) ||
        (rc = s_duration(e, v, "max_delay", "retry.max_delay", 300000, HG_RETRY_MIN_DELAY_MS,
                         HG_RETRY_MAX_DELAY_MS, &max_delay)))
        return rc;
    if (max_delay < initial)
        return hg_job__fail(e, "retry.max_delay", "must not be below retry.initial");
    json_t *f = json_object_get(v, "factor");
    double factor = 2.0;
    if (f && !json_is_null(f)) {
        if (!json_is_number(f) || !isfinite(json_number_value(f)) || json_number_value(f) < 1.0 ||
            json_number_value(f) > HG_RETRY_MAX_FACTOR / 1000.0)
            return hg_job__fail(e, "retry.factor", "must be a number from 1 to %u",
                                HG_RETRY_MAX_FACTOR / 1000);
        factor = json_number_value(f);
    }
    uint32_t on;
    if ((rc = s_retry_on(e, json_object_get(v, "on"), &on))) return rc;
    json_t *r = json_object(), *list = json_array();
    for (uint32_t b = 1; b <= HG_RETRY_ON_LOST; b <<= 1)
        if (on & b) json_array_append_new(list, json_string(hg_retry_class_name(b)));
    char ib[32], mb[32];
    hg_job__duration_format(initial, ib, sizeof ib);
    hg_job__duration_format(max_delay, mb, sizeof mb);
    json_object_set(r, "max_attempts", m);
    json_object_set_new(r, "backoff", json_string(hg_backoff_name((uint32_t) backoff)));
    json_object_set_new(r, "initial", json_string(ib));
    json_object_set_new(r, "factor", json_real(round(factor * 1000.0) / 1000.0));
    json_object_set_new(r, "max_delay", json_string(mb));
    json_object_set_new(r, "jitter", json_string(hg_jitter_name((uint32_t) jitter)));
    json_object_set_new(r, "on", list);
    json_object_set_new(out, "retry", r);
    return 0;
}

int hg_job_policy_validate(json_t *body, json_t *out, char *field, size_t field_size, char *message,
                           size_t message_size)
{
    hg_job_err_t e = {field, field_size, message, message_size};
    int rc, overlap;
    if ((rc = s_validate_retry(&e, json_object_get(body, "retry"), out))) return rc;
    if ((rc = s_choice(&e, body, "overlap", "overlap", hg_overlap_parse, "allow",
                       "allow, forbid, replace, queue", &overlap)))
        return rc;
    json_int_t conc, qmax;
    if ((rc = s_int(&e, body, "max_concurrent", 1, 1, S_CONCURRENT_MAX, &conc)) ||
        (rc = s_int(&e, body, "queue_max", 1, 1, S_QUEUE_MAX, &qmax)))
        return rc;
    json_object_set_new(out, "overlap", json_string(hg_overlap_name((uint32_t) overlap)));
    json_object_set_new(out, "max_concurrent", json_integer(conc));
    json_object_set_new(out, "queue_max", json_integer(qmax));
    return 0;
}

void hg_job_policy_copy(json_t *from, json_t *to)
{
    json_t *r = json_object_get(from, "retry");
    json_object_set_new(to, "retry", json_is_object(r) ? json_deep_copy(r) : json_null());
    json_t *o = json_object_get(from, "overlap");
    json_object_set_new(to, "overlap", json_is_string(o) ? json_incref(o) : json_string("allow"));
    static const char *ints[] = {"max_concurrent", "queue_max"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(from, ints[i]);
        json_object_set_new(to, ints[i], json_is_integer(v) ? json_incref(v) : json_integer(1));
    }
}

static int64_t s_ms(json_t *obj, const char *key, int64_t def)
{
    int64_t ms = def;
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v) && hg_duration_parse_ms(json_string_value(v), &ms) != 0) ms = def;
    return ms;
}

int hg_job_policy_to_assign(json_t *job, hg_assign_t *out)
{
    json_t *r = json_object_get(job, "retry");
    if (json_is_object(r)) {
        hg_retry_spec_t *p = &out->retry;
        json_t *m = json_object_get(r, "max_attempts");
        if (!json_is_integer(m)) return HG_EINVAL;
        p->max_attempts = (uint32_t) json_integer_value(m);
        int b = hg_backoff_parse(json_string_value(json_object_get(r, "backoff")));
        int j = hg_jitter_parse(json_string_value(json_object_get(r, "jitter")));
        p->backoff = b < 0 ? HG_BACKOFF_EXPONENTIAL : (uint32_t) b;
        p->jitter = j < 0 ? HG_JITTER_NONE : (uint32_t) j;
        p->initial_ms = (uint32_t) s_ms(r, "initial", 1000);
        p->max_delay_ms = (uint32_t) s_ms(r, "max_delay", 300000);
        json_t *f = json_object_get(r, "factor");
        p->factor_milli = json_is_number(f) ? (uint32_t) lround(json_number_value(f) * 1000) : 2000;
        json_t *on = json_object_get(r, "on"), *c;
        size_t i;
        json_array_foreach(on, i, c) p->on |= hg_retry_class_parse(json_string_value(c));
        if (!json_is_array(on)) p->on = S_ON_DEFAULT;
    }
    int o = hg_overlap_parse(json_string_value(json_object_get(job, "overlap")));
    out->overlap = o < 0 ? HG_OVERLAP_ALLOW : (uint32_t) o;
    json_t *c = json_object_get(job, "max_concurrent"), *q = json_object_get(job, "queue_max");
    /* Only where they matter: a job that allows overlap sends the ASSIGN
     * it always did. */
    if (out->overlap != HG_OVERLAP_ALLOW) {
        out->max_concurrent = json_is_integer(c) ? (uint32_t) json_integer_value(c) : 1;
        out->queue_max = json_is_integer(q) ? (uint32_t) json_integer_value(q) : 1;
    }
    return 0;
}
