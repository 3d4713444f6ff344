/* job_edit: version guard, merge patch and the new job of an edit
 * (job_edit.h). */
#include "job_internal.h"
#include "job_edit.h"
#include "redact.h"
#include "hg_error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A version number of If-Match: 3, "3" or W/"3". */
static int s_parse_etag(const char *s, uint64_t *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "W/", 2) == 0) s += 2;
    bool quoted = *s == '"';
    if (quoted) s++;
    if (!isdigit((unsigned char) *s)) return HG_EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v == 0) return HG_EINVAL;
    if (quoted && *end++ != '"') return HG_EINVAL;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end) return HG_EINVAL;
    *out = v;
    return 0;
}

int hg_job_edit_version(const char *if_match, json_t *body, uint64_t *version, char *field,
                        size_t field_size, char *message, size_t message_size)
{
    *version = 0;
    uint64_t header = 0, member = 0;
    if (if_match && s_parse_etag(if_match, &header) != 0)
        return hg_job__fail_to(field, field_size, message, message_size, "If-Match",
                               "must be the job's version, e.g. If-Match: \"3\"");
    json_t *v = json_object_get(body, "version");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return hg_job__fail_to(field, field_size, message, message_size, "version",
                                   "must be a positive integer (the version the edit is based on)");
        member = (uint64_t) json_integer_value(v);
    }
    if (v) json_object_del(body, "version");
    if (header && member && header != member)
        return hg_job__fail_to(field, field_size, message, message_size, "version",
                               "%llu disagrees with If-Match %llu", (unsigned long long) member,
                               (unsigned long long) header);
    *version = header ? header : member;
    return 0;
}

json_t *hg_json_merge_patch(json_t *target, json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *key;
    json_t *val;
    json_object_foreach(patch, key, val)
    {
        if (json_is_null(val)) {
            json_object_del(target, key);
            continue;
        }
        json_t *cur = json_object_get(target, key);
        json_t *merged = hg_json_merge_patch(cur ? json_incref(cur) : NULL, val);
        json_object_set_new(target, key, merged);
    }
    return target;
}

/* The body's name and namespace, when given, must be the stored ones. */
static int s_check_identity(json_t *stored, json_t *body, char *field, size_t field_size,
                            char *message, size_t message_size)
{
    static const char *keys[] = {"name", "namespace"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        const char *want = json_string_value(json_object_get(stored, keys[i]));
        if (!v || json_is_null(v) || !want) continue;
        if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
            return hg_job__fail_to(
                field, field_size, message, message_size, keys[i],
                "a job's %s cannot be changed by an edit (it is \"%s\"); to rename, "
                "create the job under the new name and delete the old one",
                keys[i], want);
    }
    return 0;
}

json_t *hg_job_edit_body(json_t *stored, json_t *body, bool patch, char *field, size_t field_size,
                         char *message, size_t message_size)
{
    if (!json_is_object(body)) {
        hg_job__fail_to(field, field_size, message, message_size, "job", "must be a JSON object");
        return NULL;
    }
    if (s_check_identity(stored, body, field, field_size, message, message_size) != 0) return NULL;
    json_t *out = patch ? hg_json_merge_patch(json_deep_copy(stored), body) : json_deep_copy(body);
    if (!out) {
        hg_job__fail_to(field, field_size, message, message_size, "job", "out of memory");
        return NULL;
    }
    /* What the server decides, whatever the body says. */
    json_object_set(out, "name", json_object_get(stored, "name"));
    json_object_set(out, "namespace", json_object_get(stored, "namespace"));
    static const char *readonly[] = {"id",        "version",     "created_at", "updated_at", "node",
                                     "runs_from", "runs_end_at", "next_fires", "last_run"};
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++)
        json_object_del(out, readonly[i]);
    /* "completed" is what a job with no run left reads as; an edit makes
     * it active again, and it reads completed again if still none is. */
    const char *status = json_string_value(json_object_get(out, "status"));
    if (status && strcmp(status, "completed") == 0)
        json_object_set_new(out, "status", json_string("active"));
    hg_redact_restore(out, stored);
    return out;
}

static bool s_same(json_t *a, json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    if (!x || json_is_null(x)) return !y || json_is_null(y);
    return y && json_equal(x, y);
}

void hg_job_edit_keep_cutoff(json_t *stored, json_t *job)
{
    static const char *keys[] = {"schedule", "timezone", "start_at", "remaining_runs"};
    if (!json_is_integer(json_object_get(stored, "remaining_runs")) ||
        !json_is_integer(json_object_get(job, "remaining_runs")))
        return;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!s_same(stored, job, keys[i])) return;
    json_object_set(job, "runs_from", json_object_get(stored, "runs_from"));
    json_object_set(job, "runs_end_at", json_object_get(stored, "runs_end_at"));
}

bool hg_job_edit_done_before(json_t *stored, json_t *body)
{
    const char *status = json_string_value(json_object_get(stored, "status"));
    json_t *n = json_object_get(body, "remaining_runs");
    /* GET shows a used-up count as 0, which no write may set: a body
     * holding 0 is one that left the count as it was. */
    if (!status || strcmp(status, "completed") != 0 || !json_is_integer(n) ||
        json_integer_value(n) != 0 || !json_is_integer(json_object_get(stored, "remaining_runs")))
        return false;
    json_object_set_new(body, "remaining_runs", json_integer(1));
    return true;
}

void hg_job_edit_done_after(json_t *stored, json_t *job)
{
    static const char *keys[] = {"remaining_runs", "runs_from", "runs_end_at"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(job, keys[i], json_object_get(stored, keys[i]));
    json_object_set_new(job, "status", json_string("completed"));
    json_object_set_new(job, "pause_note", json_null());
}

bool hg_job_edit_is_noop(json_t *stored, json_t *job)
{
    const char *key;
    json_t *val;
    json_object_foreach(job, key, val)
    {
        if (strcmp(key, "remaining_runs") == 0 && json_is_integer(val)) continue;
        if (!s_same(stored, job, key)) return false;
    }
    /* remaining_runs counts down by itself: the same cut-off is no change. */
    return s_same(stored, job, "runs_end_at") &&
           json_is_integer(json_object_get(job, "remaining_runs")) ==
               json_is_integer(json_object_get(stored, "remaining_runs"));
}
