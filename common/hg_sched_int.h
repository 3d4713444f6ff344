/* hg_sched_int: the inside of an hg_sched_t, shared by the files that make
 * up the schedule engine (hg_sched.c, hg_misfire.c, hg_sched_explain.c).
 * Nothing outside common/hg_sched*.c includes this header. */
#ifndef HG_SCHED_INT_H
#define HG_SCHED_INT_H

#include "hg_sched.h"
#include "hg_tz.h"

#include <stdbool.h>
#include <stdint.h>

#define HG_CRON_YEAR_MIN 1970
#define HG_CRON_YEAR_MAX 2199

/* A cron expression as bit sets: bit v is set when value v matches. */
typedef struct {
    uint64_t sec;           /* seconds 0-59 ({0} for 5-field cron) */
    uint64_t min;           /* minutes 0-59 */
    uint32_t hour;          /* hours 0-23 */
    uint32_t dom;           /* plain days of month, bits 1-31 */
    uint16_t mon;           /* months, bits 1-12 */
    uint8_t dow;            /* plain weekdays, bits 0-6, 0 = Sunday */
    uint64_t year[4];       /* bit (y - 1970); meaningful only when has_year */
    bool has_year;          /* 7-field form with a restricting year */
    uint32_t dom_last;      /* bit n: "L-n" (n days before the last day; L = L-0) */
    uint32_t dom_near;      /* bit d: "dW" (weekday nearest to day d) */
    uint32_t dom_last_near; /* bit n: "L-nW" (weekday nearest L-n); bit 0 is "LW" */
    uint8_t dow_last;       /* bit w: "wL" (last weekday w of the month) */
    uint64_t dow_nth;       /* bit (k-1)*7+w: "w#k" (k-th weekday w of the month) */
    bool dom_star;          /* day-of-month is "*" or "?": does not restrict */
    bool dow_star;          /* day-of-week is "*" or "?": does not restrict */
    uint64_t dow_days[7];   /* days matched by dow and dow_nth in a month starting on weekday i */
    int nfields;            /* 5, 6 or 7 */
} hg_cron_t;

struct hg_sched {
    hg_sched_kind_t kind; /* which form of schedule */
    hg_cron_t cron;       /* HG_SCHED_KIND_CRON */
    int64_t period_ms;    /* @every period, @after delay */
    int64_t anchor_ms;    /* @every: fire times are anchor + k * period */
    int64_t at_ms;        /* @at instant */
    bool has_due;         /* Dapr dueTime given: first fire at due_ms */
    int64_t due_ms;       /* Dapr dueTime, absolute */
    int64_t repeats;      /* Dapr repeats (0 = unlimited); folded into end_ms */
    int64_t start_ms;     /* no fire before this (0 = unbounded) */
    int64_t end_ms;       /* no fire after this (INT64_MAX = unbounded) */
    const hg_tz_t *tz;    /* zone of cron fields; shared, never freed */
    bool tz_utc;          /* tz is UTC: skip conversions */
    char *expr;           /* the expression as given (trimmed), for explain */
};

/* Next cron match at or after local_s (local wall-clock seconds), or
 * HG_SCHED_NEVER. Pure calendar arithmetic, no zone. */
int64_t hg_cron_next_local(const hg_cron_t *c, int64_t local_s);

/* Days of (y, m) matched by the day-of-month / day-of-week fields, bits
 * 1-31. */
uint64_t hg_cron_day_mask(const hg_cron_t *c, int64_t y, int m);

#endif
