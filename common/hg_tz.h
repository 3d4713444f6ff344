/* hg_tz: IANA time zones read from the system zoneinfo (TZif, RFC 8536),
 * without touching the process-wide TZ. Used by hg_sched for cron
 * expressions evaluated in a job's zone.
 *
 * Zones are loaded once and cached for the life of the process; a zone is
 * immutable after loading, so the same pointer may be used from any thread
 * and is never freed by the caller.
 */
#ifndef HG_TZ_H
#define HG_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_tz hg_tz_t;

/* Find a zone by IANA name ("Europe/London"). NULL, "" and "UTC" give the
 * built-in UTC zone. Files come from $TZDIR or the standard zoneinfo
 * directory. Returns 0 or HG_ETZ (bad name, missing file, not TZif); on
 * HG_ETZ a message is written to err when err_size > 0. Thread-safe. */
int hg_tz_get(const char *name, const hg_tz_t **out, char *err, size_t err_size);

/* Parse TZif data held in memory (len bytes) into a new zone named name,
 * outside the cache: the caller owns it and frees it with hg_tz_free.
 * hg_tz_get reads zone files through this; the fuzz target
 * (tests/fuzz/fuzz_tz.c) feeds it directly. 0 or HG_ETZ (message in err
 * when err_size > 0), HG_ENOMEM. */
int hg_tz_parse(const char *name, const uint8_t *buf, size_t len, hg_tz_t **out, char *err,
                size_t err_size);

/* Free a zone from hg_tz_parse and NULL the pointer. Safe on NULL. */
void hg_tz_free(hg_tz_t **tz);

/* The name the zone was looked up with ("UTC" for the built-in zone). */
const char *hg_tz_name(const hg_tz_t *tz);

/* True for the built-in UTC zone (lets callers skip conversions). */
bool hg_tz_is_utc(const hg_tz_t *tz);

/* Offset from UTC in seconds at the instant utc_s (local = utc + offset).
 * abbr ("EDT") and is_dst may be NULL. */
int32_t hg_tz_offset(const hg_tz_t *tz, int64_t utc_s, const char **abbr, bool *is_dst);

/* How a local wall-clock time maps to UTC. */
typedef enum {
    HG_TZ_LOCAL_UNIQUE = 0,   /* occurs once */
    HG_TZ_LOCAL_REPEATED = 1, /* occurs twice (clocks went back) */
    HG_TZ_LOCAL_SKIPPED = 2,  /* does not occur (clocks went forward) */
} hg_tz_local_t;

/* Map a local wall-clock time, given as seconds since 1970-01-01T00:00:00
 * local, to UTC. UNIQUE: *utc_s is the instant. REPEATED: *utc_s is the
 * first occurrence and *edge_local_s the first local time after the
 * repeated span. SKIPPED: *utc_s is untouched and *edge_local_s is the
 * first local time after the gap. edge_local_s may be NULL. */
hg_tz_local_t hg_tz_local_to_utc(const hg_tz_t *tz, int64_t local_s, int64_t *utc_s,
                                 int64_t *edge_local_s);

/* Proleptic Gregorian calendar helpers (H. Hinnant's algorithms), shared by
 * the schedule engine. Days are counted from 1970-01-01. */
static inline int64_t hg_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline void hg_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* 0 = Sunday ... 6 = Saturday. */
static inline int hg_weekday_from_days(int64_t z)
{
    return (int) (z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

static inline bool hg_is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline int hg_days_in_month(int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && hg_is_leap_year(y) ? 29 : dim[m - 1];
}

/* Floor division and modulo for possibly negative times. */
static inline int64_t hg_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif
