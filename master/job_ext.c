/* job_ext: jitter, remaining_runs and the pause note of a job (job_ext.h
 * says why remaining_runs is a cut-off time rather than a counter). */
#include "job_ext.h"
#include "job_internal.h"
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"
#include "hg_tz.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The job's own end in the spec: the end_at column holds the effective
 * one (hg_job_ext_end_ms) while remaining_runs is set. */
#define S_OWN_END "end_at_own"

/* The job's schedule as parsed with its zone and its own bounds; NULL
 * when it does not parse (a stored job always does). */
static hg_sched_t *s_sched_of(json_t *job, bool own_end)
{
    int64_t start_ms = 0, end_ms = 0;
    if (hg_job__time_field_ms(job, "start_at", &start_ms) != 0) return NULL;
    if (own_end && hg_job__time_field_ms(job, "end_at", &end_ms) != 0) return NULL;
    const char *expr = json_string_value(json_object_get(job, "schedule"));
    if (!expr) return NULL;
    hg_sched_opts_t opts = {.tz = json_string_value(json_object_get(job, "timezone")),
                            .start_ms = start_ms,
                            .end_ms = end_ms};
    hg_sched_t *s = NULL;
    char err[256];
    if (hg_sched_parse(expr, &opts, &s, err, sizeof err) != 0) return NULL;
    return s;
}

hg_sched_t *hg_job_ext_sched(json_t *job)
{
    return s_sched_of(job, true);
}

static json_t *s_time_json(int64_t ms)
{
    char buf[40];
    hg_time_format_ms(ms, buf, sizeof buf);
    return json_string(buf);
}

/* remaining_runs: the N-th scheduled time after now + slack is the
 * cut-off. */
static int s_validate_remaining(json_t *v, json_t *out, int64_t now_ms, char *field,
                                size_t field_size, char *message, size_t message_size)
{
    if (!v || json_is_null(v)) {
        json_object_set_new(out, "remaining_runs", json_null());
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > HG_JOB_REMAINING_MAX)
        return hg_job__fail_to(field, field_size, message, message_size, "remaining_runs",
                               "must be an integer 1-%d or null", HG_JOB_REMAINING_MAX);
    hg_sched_t *s = s_sched_of(out, true);
    if (!s)
        return hg_job__fail_to(field, field_size, message, message_size, "remaining_runs",
                               "the schedule cannot be read");
    if (hg_sched_is_fixed_delay(s)) {
        hg_sched_destroy(&s);
        return hg_job__fail_to(
            field, field_size, message, message_size, "remaining_runs",
            "not supported with a fixed-delay (@after) schedule, whose times depend on "
            "when runs finish; use end_at");
    }
    json_int_t n = json_integer_value(v), i = 0;
    int64_t from = now_ms + HG_JOB_RUNS_FROM_SLACK_MS, t = from, last = 0;
    for (; i < n; i++) {
        int64_t next = hg_sched_next(s, t);
        if (next == HG_SCHED_NEVER) break;
        last = t = next;
    }
    hg_sched_destroy(&s);
    if (i == 0)
        return hg_job__fail_to(field, field_size, message, message_size, "remaining_runs",
                               "the schedule has no fire time left");
    json_object_set_new(out, "remaining_runs", json_integer(i));
    json_object_set_new(out, "runs_from", s_time_json(from));
    json_object_set_new(out, "runs_end_at", s_time_json(last));
    return 0;
}

int hg_job_ext_validate(json_t *body, json_t *out, int64_t now_ms, char *field, size_t field_size,
                        char *message, size_t message_size)
{
    /* jitter */
    json_t *v = json_object_get(body, "jitter");
    int64_t jitter_ms = 0;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || hg_duration_parse_ms(json_string_value(v), &jitter_ms) != 0 ||
            jitter_ms < 0 || jitter_ms > HG_JOB_JITTER_MAX_MS)
            return hg_job__fail_to(field, field_size, message, message_size, "jitter",
                                   "must be a duration from 0s to 1h (e.g. \"30s\") or null");
    }
    char buf[64];
    hg_job__duration_format(jitter_ms, buf, sizeof buf);
    json_object_set_new(out, "jitter", jitter_ms > 0 ? json_string(buf) : json_null());

    /* pause_note: kept while the job is paused */
    v = json_object_get(body, "pause_note");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) > HG_JOB_PAUSE_NOTE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return hg_job__fail_to(field, field_size, message, message_size, "pause_note",
                                   "must be a string of at most %d bytes, without NUL, or null",
                                   HG_JOB_PAUSE_NOTE_MAX);
    }
    const char *status = json_string_value(json_object_get(out, "status"));
    bool paused = status && strcmp(status, "paused") == 0;
    json_object_set_new(out, "pause_note",
                        paused && json_string_length(v) > 0 ? json_incref(v) : json_null());

    return s_validate_remaining(json_object_get(body, "remaining_runs"), out, now_ms, field,
                                field_size, message, message_size);
}

void hg_job_ext_to_spec(json_t *job, json_t *spec)
{
    /* Only when set, so that the spec of other jobs stays as it was. */
    static const char *keys[] = {"jitter", "pause_note", "remaining_runs", "runs_from",
                                 "runs_end_at"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(job, keys[i]);
        if (v && !json_is_null(v)) json_object_set(spec, keys[i], v);
    }
    if (json_is_integer(json_object_get(job, "remaining_runs"))) {
        json_t *end = json_object_get(job, "end_at");
        json_object_set_new(spec, S_OWN_END, end ? json_incref(end) : json_null());
    }
}

int64_t hg_job_ext_end_ms(json_t *job, int64_t end_ms)
{
    int64_t cut = 0;
    if (hg_job__time_field_ms(job, "runs_end_at", &cut) != 0 || cut <= 0) return end_ms;
    return end_ms > 0 && end_ms < cut ? end_ms : cut;
}

/* Scheduled times in (max(now, runs_from), runs_end_at], at most max. */
static json_int_t s_remaining(json_t *job, int64_t now_ms, json_int_t max)
{
    int64_t from = 0, end = 0;
    if (hg_job__time_field_ms(job, "runs_from", &from) != 0 ||
        hg_job__time_field_ms(job, "runs_end_at", &end) != 0 || end <= 0)
        return 0;
    hg_sched_t *s = s_sched_of(job, true);
    if (!s) return 0;
    json_int_t n = 0;
    for (int64_t t = from > now_ms ? from : now_ms; n < max;) {
        t = hg_sched_next(s, t);
        if (t == HG_SCHED_NEVER || t > end) break;
        n++;
    }
    hg_sched_destroy(&s);
    return n;
}

void hg_job_ext_from_spec(json_t *spec, json_t *job, int64_t now_ms)
{
    json_t *v = json_object_get(spec, "jitter");
    json_object_set_new(job, "jitter", json_is_string(v) ? json_incref(v) : json_null());
    v = json_object_get(spec, "pause_note");
    json_object_set_new(job, "pause_note", json_is_string(v) ? json_incref(v) : json_null());
    json_t *n = json_object_get(spec, "remaining_runs");
    if (!json_is_integer(n)) {
        json_object_set_new(job, "remaining_runs", json_null());
        return;
    }
    json_t *own = json_object_get(spec, S_OWN_END);
    json_object_set_new(job, "end_at", json_is_string(own) ? json_incref(own) : json_null());
    static const char *keys[] = {"runs_from", "runs_end_at"};
    for (size_t i = 0; i < 2; i++) {
        v = json_object_get(spec, keys[i]);
        json_object_set_new(job, keys[i], json_is_string(v) ? json_incref(v) : json_null());
    }
    json_int_t left = s_remaining(job, now_ms, json_integer_value(n));
    json_object_set_new(job, "remaining_runs", json_integer(left));
    const char *status = json_string_value(json_object_get(job, "status"));
    if (left == 0 && status && strcmp(status, "active") == 0)
        json_object_set_new(job, "status", json_string("completed"));
}

void hg_job_ext_assign(json_t *job, hg_assign_t *out)
{
    int64_t jitter_ms = 0;
    json_t *v = json_object_get(job, "jitter");
    if (json_is_string(v) && hg_duration_parse_ms(json_string_value(v), &jitter_ms) == 0 &&
        jitter_ms > 0 && jitter_ms <= HG_JOB_JITTER_MAX_MS)
        out->jitter_ms = (uint32_t) jitter_ms;
    out->end_ms = hg_job_ext_end_ms(job, out->end_ms);
    /* remaining_runs counts the times after runs_from: the worker starts
     * after it, as after a last fire (so a holder never fires a time
     * before the count began, and one that takes over after a kill
     * continues from what was fired since). */
    int64_t from = 0;
    if (hg_job__time_field_ms(job, "runs_from", &from) == 0 && from > out->last_fire_ms)
        out->last_fire_ms = from;
}

void hg_job_ext_format_local(const char *tz, int64_t ms, char *buf, size_t size)
{
    const hg_tz_t *zone = NULL;
    int32_t off = 0;
    int64_t secs = hg_floor_div(ms, 1000);
    if (hg_tz_get(tz, &zone, NULL, 0) == 0 && zone) off = hg_tz_offset(zone, secs, NULL, NULL);
    int64_t local = secs + off, days = hg_floor_div(local, 86400);
    int sod = (int) (local - days * 86400), frac = (int) (ms - secs * 1000);
    int64_t y;
    int m, d;
    hg_civil_from_days(days, &y, &m, &d);
    char fbuf[16] = "";
    if (frac) snprintf(fbuf, sizeof fbuf, ".%03d", frac);
    char obuf[16] = "Z";
    int aoff = off < 0 ? -off : off;
    if (off)
        snprintf(obuf, sizeof obuf, "%c%02d:%02d", off < 0 ? '-' : '+', aoff / 3600,
                 aoff / 60 % 60);
    snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%s%s", (long long) y, m, d, sod / 3600,
             sod / 60 % 60, sod % 60, fbuf, obuf);
}

json_t *hg_job_ext_next_fires(json_t *job, int64_t now_ms, int n)
{
    json_t *out = json_array();
    const char *status = json_string_value(json_object_get(job, "status"));
    if (!out || !status || strcmp(status, "active") != 0) return out;
    hg_sched_t *s = s_sched_of(job, true);
    if (!s) return out;
    if (hg_sched_is_fixed_delay(s)) {
        hg_sched_destroy(&s);
        return out;
    }
    int64_t cut = hg_job_ext_end_ms(job, 0);
    const char *tz = json_string_value(json_object_get(job, "timezone"));
    int64_t t = now_ms;
    for (int i = 0; i < n; i++) {
        t = hg_sched_next(s, t);
        if (t == HG_SCHED_NEVER || (cut > 0 && t > cut)) break;
        char buf[48];
        hg_job_ext_format_local(tz, t, buf, sizeof buf);
        json_array_append_new(out, json_string(buf));
    }
    hg_sched_destroy(&s);
    return out;
}
