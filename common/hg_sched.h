/* hg_sched: the one schedule grammar of Hourglass (DESIGN.md section 5),
 * shared by master (validation), worker (firing) and CLI (explain).
 *
 * Times are int64 milliseconds since the Unix epoch, UTC. A schedule never
 * yields a time before the one asked about: hg_sched_next returns the first
 * fire time strictly after `after_ms`.
 *
 * Rules every caller can rely on:
 * - 6/7 fields are Quartz (seconds first, day-of-week 1-7 = SUN-SAT, year
 *   1970-2199); 5 fields are crontab (day-of-week 0-7, 0 and 7 = Sunday).
 * - Day-of-month and day-of-week (Vixie cron): a bare "*" or "?" in one of
 *   them leaves only the other to restrict; when both restrict, a day that
 *   matches either fires. A step such as "*\/2" restricts.
 * - Cron fields are read in the schedule's zone: a local time skipped by a
 *   DST jump does not fire; a local time that occurs twice fires once, at
 *   its first occurrence. @every and Dapr due times count absolute time.
 * - @every fires at start_ms + k * period (or due time + k * period), else
 *   at multiples of the period since the Unix epoch, so all nodes agree.
 * - Cron schedules end with the year 2199.
 */
#ifndef HG_SCHED_H
#define HG_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HG_SCHED_NEVER INT64_C(-1) /* no further fire time */

typedef struct hg_sched hg_sched_t;

typedef struct {
    const char *tz;   /* IANA zone name; NULL or "" means UTC */
    int64_t start_ms; /* no fire before this (0 = unbounded); anchors @every */
    int64_t end_ms;   /* no fire after this (0 = unbounded) */
    /* Dapr-style jobs (all optional; expr may then be "" for a one-shot). */
    const char *due_time; /* first fire: RFC 3339, Go duration or ISO 8601 duration */
    int64_t repeats;      /* stop after this many fires (0 = unlimited) */
    const char *ttl;      /* no fire after: RFC 3339, Go or ISO 8601 duration */
    int64_t base_ms;      /* relative due_time / ttl count from here (0 = now at parse) */
} hg_sched_opts_t;

/* Which form a schedule has. */
typedef enum {
    HG_SCHED_KIND_CRON = 0,  /* Quartz 6/7-field, classic 5-field, descriptors */
    HG_SCHED_KIND_EVERY = 1, /* @every <duration>: fixed rate */
    HG_SCHED_KIND_AFTER = 2, /* @after <duration>: fixed delay */
    HG_SCHED_KIND_AT = 3,    /* @at <RFC 3339>: one shot */
    HG_SCHED_KIND_ONCE = 4,  /* Dapr dueTime without a schedule: one shot */
} hg_sched_kind_t;

/* Parse expr. On success *out is a new schedule (free with
 * hg_sched_destroy). On failure returns HG_ESCHEDULE or HG_ETZ and writes a
 * message naming the field, the offending text and the allowed form into
 * err, e.g. `day-of-month: "32" is out of range 1-31`. opts may be NULL. */
int hg_sched_parse(const char *expr, const hg_sched_opts_t *opts, hg_sched_t **out, char *err,
                   size_t err_size);

/* First fire time strictly after after_ms, or HG_SCHED_NEVER. */
int64_t hg_sched_next(const hg_sched_t *sched, int64_t after_ms);

/* True for fixed-delay schedules (@after): the next fire is computed from
 * the previous run's finish time, hg_sched_next(s, finished_ms). */
bool hg_sched_is_fixed_delay(const hg_sched_t *sched);

void hg_sched_destroy(hg_sched_t **sched);

hg_sched_kind_t hg_sched_kind(const hg_sched_t *sched);

/* IANA name of the schedule's zone ("UTC" by default). */
const char *hg_sched_tz_name(const hg_sched_t *sched);

/* Latest fire time t with floor_ms < t <= at_ms, or HG_SCHED_NEVER. Costs a
 * few dozen hg_sched_next calls at most (a widening, then bisecting window). */
int64_t hg_sched_prev(const hg_sched_t *sched, int64_t at_ms, int64_t floor_ms);

/* One-line English reading of the schedule, e.g. "at 10:15:00 on the last
 * Friday of every month". Returns the length it wanted (snprintf style). */
int hg_sched_describe(const hg_sched_t *sched, char *buf, size_t size);

/* `hourglass schedule explain EXPR [--tz ZONE] [--from TIME] [--count N]
 * [--due T] [--repeats N] [--ttl T]`; argv[0] is "explain". Prints the next
 * N fire times in the zone and in UTC and the English reading to out.
 * Returns the exit code: 0 ok, 1 bad expression (message on err as is), 2
 * usage error. */
int hg_sched_explain_main(int argc, char **argv, FILE *out, FILE *err);

/* Misfire policies (what to do with fire times missed while nobody held the
 * job, or while the worker was stalled). */
typedef enum {
    HG_MISFIRE_FIRE_ONCE = 0, /* one catch-up run now, then back on schedule (default) */
    HG_MISFIRE_SKIP = 1,      /* nothing until the next scheduled time */
    HG_MISFIRE_FIRE_ALL = 2,  /* every missed time, up to a cap */
} hg_misfire_t;

/* "fire_once" / "skip" / "fire_all" -> policy; -1 when unknown. NULL or ""
 * gives the default. */
int hg_misfire_parse(const char *name);
const char *hg_misfire_name(hg_misfire_t policy);

/* Pure misfire decision. last_fire_ms is the last scheduled time that
 * fired (0 = never). Fire times that are late by less than threshold_ms
 * are simply on time. Writes the scheduled times to fire now into fires[]
 * (at most cap, oldest first) and returns how many; *next_ms gets the
 * first scheduled time after now_ms (or HG_SCHED_NEVER). */
size_t hg_misfire_plan(const hg_sched_t *sched, hg_misfire_t policy, int64_t last_fire_ms,
                       int64_t now_ms, int64_t threshold_ms, int64_t *fires, size_t cap,
                       int64_t *next_ms);

#endif
