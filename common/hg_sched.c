/* hg_sched: parsing and next-fire computation for every schedule form of
 * DESIGN.md section 5 (Quartz and classic cron, descriptors, @every, @after,
 * @at, Dapr due times), in any IANA zone.
 *
 * Cron fields are parsed into bit sets (hg_sched_int.h); hg_sched_next
 * jumps field by field (year, month, day, hour, minute, second) using
 * count-trailing-zeros on the sets, so a call costs a handful of integer
 * operations rather than a walk over seconds.
 *
 * Day-of-month and day-of-week follow Vixie cron: when either field is a
 * bare "*" or "?" only the other restricts; when both restrict, a day that
 * matches either fires ("0 0 12 1 * MON" fires on the 1st and on Mondays).
 * A step such as "*\/2" restricts.
 */
#include "hg_sched.h"
#include "hg_error.h"
#include "hg_sched_int.h"
#include "hg_time.h"
#include "hg_tz.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Errors
 */

typedef struct {
    char *err;       /* caller's message buffer (may be NULL) */
    size_t err_size; /* its size */
    bool quartz;     /* 6/7-field form: day-of-week 1-7, 1 = Sunday */
} s_ctx_t;

static int s_fail(s_ctx_t *ctx, int code, const char *fmt, ...)
{
    if (ctx->err && ctx->err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err, ctx->err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---------------------------------------------------------------------------
 * Cron fields
 */

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR, F_COUNT };

typedef struct {
    const char *name;    /* as shown in messages */
    int lo, hi;          /* allowed numbers */
    const char *allowed; /* the allowed forms, for messages */
} s_spec_t;

static const s_spec_t s_specs[F_COUNT] = {
    [F_SEC] = {"second", 0, 59, "0-59, *, a-b, a/n, a-b/n or a list a,b"},
    [F_MIN] = {"minute", 0, 59, "0-59, *, a-b, a/n, a-b/n or a list a,b"},
    [F_HOUR] = {"hour", 0, 23, "0-23, *, a-b, a/n, a-b/n or a list a,b"},
    [F_DOM] = {"day-of-month", 1, 31, "1-31, *, ?, a-b, a/n, L, L-n, nW, LW or a list a,b"},
    [F_MON] = {"month", 1, 12, "1-12 or JAN-DEC, *, a-b, a/n, a-b/n or a list a,b"},
    [F_DOW] = {"day-of-week", 1, 7,
               "1-7 (1 = Sunday) or SUN-SAT, *, ?, a-b, a/n, L, nL, n#k or a list a,b"},
    [F_YEAR] = {"year", HG_CRON_YEAR_MIN, HG_CRON_YEAR_MAX,
                "1970-2199, *, a-b, a/n, a-b/n or a list a,b"},
};

static const char *s_classic_dow_allowed =
    "0-7 (0 and 7 = Sunday) or SUN-SAT, *, ?, a-b, a/n, L, nL, n#k or a list a,b";

static const char *const s_month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const s_day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* Field bounds in the current numbering (classic day-of-week is 0-7). */
static void s_bounds(const s_ctx_t *ctx, int f, int *lo, int *hi)
{
    *lo = s_specs[f].lo;
    *hi = s_specs[f].hi;
    if (f == F_DOW && !ctx->quartz) {
        *lo = 0;
        *hi = 7;
    }
}

static const char *s_allowed(const s_ctx_t *ctx, int f)
{
    return f == F_DOW && !ctx->quartz ? s_classic_dow_allowed : s_specs[f].allowed;
}

static int s_invalid(s_ctx_t *ctx, int f, const char *elem)
{
    return s_fail(ctx, HG_ESCHEDULE, "%s: \"%s\" is not valid (allowed: %s)", s_specs[f].name, elem,
                  s_allowed(ctx, f));
}

/* Reads a number or a name at *p into *v (in the field's numbering).
 * Returns 0, HG_ESCHEDULE with a message, or 1 when *p holds neither. */
static int s_value(s_ctx_t *ctx, int f, const char **p, int *v)
{
    const char *q = *p;
    int lo, hi;
    s_bounds(ctx, f, &lo, &hi);
    if (isdigit((unsigned char) *q)) {
        long n = 0;
        const char *start = q;
        while (isdigit((unsigned char) *q)) {
            if (n < 100000) n = n * 10 + (*q - '0');
            q++;
        }
        if (n < lo || n > hi)
            return s_fail(ctx, HG_ESCHEDULE, "%s: \"%.*s\" is out of range %d-%d", s_specs[f].name,
                          (int) (q - start), start, lo, hi);
        *v = (int) n;
        *p = q;
        return 0;
    }
    if (isalpha((unsigned char) *q) && (f == F_MON || f == F_DOW)) {
        const char *start = q;
        while (isalpha((unsigned char) *q))
            q++;
        size_t len = (size_t) (q - start);
        /* "SUNL" / "friL": a weekday name followed by L (last of month) */
        if (f == F_DOW && len == 4 && (start[3] == 'L' || start[3] == 'l')) len = 3, q = start + 3;
        const char *const *names = f == F_MON ? s_month_names : s_day_names;
        int count = f == F_MON ? 12 : 7;
        for (int i = 0; len == 3 && i < count; i++) {
            if (strncasecmp(start, names[i], 3) == 0) {
                /* months 1-12; weekdays SUN = 1 (Quartz) or 0 (classic) */
                *v = f == F_MON ? i + 1 : i + (ctx->quartz ? 1 : 0);
                *p = q;
                return 0;
            }
        }
        /* "L" and "W" are handled by the caller; a lone letter is not a name */
        if (len == 1) return 1;
        return s_fail(ctx, HG_ESCHEDULE, "%s: \"%.*s\" is not a %s name (allowed: %s)",
                      s_specs[f].name, (int) len, start, f == F_MON ? "month" : "weekday",
                      f == F_MON ? "JAN-DEC" : "SUN-SAT");
    }
    return 1;
}

/* Plain number (no name) for L-n, #k and steps. */
static bool s_number(const char **p, int *v)
{
    const char *q = *p;
    if (!isdigit((unsigned char) *q)) return false;
    long n = 0;
    while (isdigit((unsigned char) *q)) {
        if (n < 100000) n = n * 10 + (*q - '0');
        q++;
    }
    *v = (int) n;
    *p = q;
    return true;
}

/* Internal weekday (0 = Sunday) of a day-of-week value. */
static int s_weekday(const s_ctx_t *ctx, int v)
{
    return ctx->quartz ? v - 1 : v % 7;
}

static void s_set_bit(uint64_t set[4], int i)
{
    set[i >> 6] |= UINT64_C(1) << (i & 63);
}

/* Parses one element of a list (NUL-terminated copy in elem) into set
 * (bit = value - lo) or into the special day fields of c. */
static int s_parse_elem(s_ctx_t *ctx, int f, const char *elem, uint64_t set[4], hg_cron_t *c)
{
    const char *name = s_specs[f].name;
    int lo, hi;
    s_bounds(ctx, f, &lo, &hi);
    const char *p = elem;
    int rc;

    if (strcmp(elem, "?") == 0) {
        if (f != F_DOM && f != F_DOW)
            return s_fail(ctx, HG_ESCHEDULE,
                          "%s: \"?\" is only allowed in day-of-month and day-of-week", name);
        for (int v = lo; v <= hi; v++)
            s_set_bit(set, v - lo);
        return 0;
    }

    if (f == F_DOM && (elem[0] == 'L' || elem[0] == 'l')) {
        if (elem[1] == '\0') {
            c->dom_last |= 1u;
            return 0;
        }
        if ((elem[1] == 'W' || elem[1] == 'w') && elem[2] == '\0') {
            c->dom_last_near |= 1u;
            return 0;
        }
        if (elem[1] == '-') {
            p = elem + 2;
            int n;
            if (!s_number(&p, &n)) return s_invalid(ctx, f, elem);
            bool near = (*p == 'W' || *p == 'w');
            if (near) p++;
            if (*p != '\0') return s_invalid(ctx, f, elem);
            if (n > 30)
                return s_fail(ctx, HG_ESCHEDULE, "%s: \"%s\": offset must be 0-30", name, elem);
            if (near)
                c->dom_last_near |= 1u << n;
            else
                c->dom_last |= 1u << n;
            return 0;
        }
        return s_invalid(ctx, f, elem);
    }
    if (f == F_DOW && (elem[0] == 'L' || elem[0] == 'l') && elem[1] == '\0') {
        /* Quartz: "L" alone in day-of-week is the last day of the week, SAT */
        c->dow |= 1u << 6;
        return 0;
    }

    int a, b, step = 1;
    bool star = false;
    if (*p == '*' || *p == '/') {
        /* "*", "*\/n", and Quartz's "/n" (same as "*\/n") */
        star = true;
        a = lo;
        b = hi;
        if (*p == '*') p++;
    } else {
        rc = s_value(ctx, f, &p, &a);
        if (rc < 0) return rc;
        if (rc > 0) return s_invalid(ctx, f, elem);
        /* day-of-month "15W" */
        if (f == F_DOM && (*p == 'W' || *p == 'w') && p[1] == '\0') {
            c->dom_near |= 1u << a;
            return 0;
        }
        /* day-of-week "6L" and "6#3" */
        if (f == F_DOW && (*p == 'L' || *p == 'l') && p[1] == '\0') {
            c->dow_last |= (uint8_t) (1u << s_weekday(ctx, a));
            return 0;
        }
        if (f == F_DOW && *p == '#') {
            p++;
            int k;
            if (!s_number(&p, &k) || *p != '\0') return s_invalid(ctx, f, elem);
            if (k < 1 || k > 5)
                return s_fail(ctx, HG_ESCHEDULE, "%s: \"%s\": occurrence must be 1-5", name, elem);
            c->dow_nth |= UINT64_C(1) << ((k - 1) * 7 + s_weekday(ctx, a));
            return 0;
        }
        b = a;
        if (*p == '-' && f == F_DOM && (p[1] == 'L' || p[1] == 'l') &&
            (p[2] == '\0' || p[2] == '/')) {
            /* "29-L" (croniter): through the last day; days past the end of
             * a month never match, so 31 is the last day */
            b = hi;
            p += 2;
        } else if (*p == '-') {
            p++;
            rc = s_value(ctx, f, &p, &b);
            if (rc < 0) return rc;
            if (rc > 0) return s_invalid(ctx, f, elem);
        } else if (*p == '/') {
            b = hi; /* "a/n" runs from a to the end of the field */
        }
    }
    if (*p == '/') {
        p++;
        if (!s_number(&p, &step) || *p != '\0') return s_invalid(ctx, f, elem);
        int span = s_specs[f].hi - s_specs[f].lo + 1;
        if (step < 1 || step > span)
            return s_fail(ctx, HG_ESCHEDULE, "%s: \"%s\": step must be 1-%d", name, elem, span);
    }
    if (*p != '\0') return s_invalid(ctx, f, elem);
    (void) star;

    /* Walk a..b, wrapping past hi to lo when a > b ("22-2", "NOV-FEB"),
     * taking every step-th value. */
    int n = a <= b ? b - a + 1 : (hi - a + 1) + (b - lo + 1);
    for (int i = 0; i < n; i += step) {
        int v = a + i;
        if (v > hi) v = v - hi - 1 + lo;
        s_set_bit(set, v - lo);
    }
    return 0;
}

/* Parses one whole field (comma list). */
static int s_parse_field(s_ctx_t *ctx, int f, const char *text, size_t len, hg_cron_t *c)
{
    uint64_t set[4] = {0, 0, 0, 0};
    char elem[64];
    bool bare_star = (len == 1 && (text[0] == '*' || text[0] == '?')) ||
                     (len == 3 && text[0] == '*' && text[1] == '/' && text[2] == '1');
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && text[j] != ',')
            j++;
        size_t n = j - i;
        if (n >= sizeof elem) {
            return s_fail(ctx, HG_ESCHEDULE, "%s: \"%.*s...\" is not valid (allowed: %s)",
                          s_specs[f].name, 16, text + i, s_allowed(ctx, f));
        }
        memcpy(elem, text + i, n);
        elem[n] = '\0';
        if (n == 0)
            return s_fail(ctx, HG_ESCHEDULE, "%s: \"%.*s\" has an empty list element",
                          s_specs[f].name, (int) len, text);
        int rc = s_parse_elem(ctx, f, elem, set, c);
        if (rc < 0) return rc;
        if (j >= len) break;
        i = j + 1;
    }

    switch (f) {
    case F_SEC:
        c->sec = set[0];
        break;
    case F_MIN:
        c->min = set[0];
        break;
    case F_HOUR:
        c->hour = (uint32_t) set[0];
        break;
    case F_DOM:
        c->dom = (uint32_t) (set[0] << 1); /* bit index 0 is day 1 */
        c->dom_star = bare_star;
        break;
    case F_MON:
        c->mon = (uint16_t) (set[0] << 1);
        break;
    case F_DOW:
        for (int v = 0; v < 8; v++) {
            int lo, hi;
            s_bounds(ctx, f, &lo, &hi);
            if (v + lo <= hi && (set[0] >> v & 1))
                c->dow |= (uint8_t) (1u << s_weekday(ctx, v + lo));
        }
        c->dow_star = bare_star;
        break;
    case F_YEAR:
        memcpy(c->year, set, sizeof set);
        c->has_year = !bare_star;
        break;
    }
    return 0;
}

/* Precomputes, for each weekday a month may start on, which days the plain
 * and "#k" day-of-week entries select. */
static void s_cron_finish(hg_cron_t *c)
{
    for (int w0 = 0; w0 < 7; w0++) {
        uint64_t days = 0;
        for (int w = 0; w < 7; w++) {
            int first = 1 + (w - w0 + 7) % 7;
            if (c->dow >> w & 1)
                for (int d = first; d <= 31; d += 7)
                    days |= UINT64_C(1) << d;
            for (int k = 1; k <= 5; k++)
                if (c->dow_nth >> ((k - 1) * 7 + w) & 1)
                    days |= UINT64_C(1) << (first + 7 * (k - 1));
        }
        c->dow_days[w0] = days & (UINT64_C(0xFFFFFFFF) << 1);
    }
}

static int s_parse_cron(s_ctx_t *ctx, const char *expr, hg_cron_t *c)
{
    const char *starts[8];
    size_t lens[8];
    int n = 0;
    const char *p = expr;
    for (;;) {
        while (isspace((unsigned char) *p))
            p++;
        if (!*p) break;
        const char *s = p;
        while (*p && !isspace((unsigned char) *p))
            p++;
        if (n < 8) {
            starts[n] = s;
            lens[n] = (size_t) (p - s);
        }
        n++;
    }
    if (n < 5 || n > 7)
        return s_fail(ctx, HG_ESCHEDULE,
                      "expected 5 fields (minute hour day-of-month month day-of-week), or 6-7 "
                      "(second first, optional year last), got %d",
                      n);
    memset(c, 0, sizeof *c);
    c->nfields = n;
    ctx->quartz = n >= 6;
    static const int classic[] = {F_MIN, F_HOUR, F_DOM, F_MON, F_DOW};
    static const int quartz[] = {F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR};
    for (int i = 0; i < n; i++) {
        int f = ctx->quartz ? quartz[i] : classic[i];
        int rc = s_parse_field(ctx, f, starts[i], lens[i], c);
        if (rc < 0) return rc;
    }
    if (!ctx->quartz) c->sec = 1; /* minute resolution: second 0 */
    s_cron_finish(c);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Cron next: field by field, in local wall-clock seconds
 */

/* Lowest set bit >= from, or -1. */
static inline int s_next_bit(uint64_t set, int from)
{
    if (from >= 64) return -1;
    uint64_t m = set & (~UINT64_C(0) << from);
    return m ? __builtin_ctzll(m) : -1;
}

static bool s_year_ok(const hg_cron_t *c, int64_t y)
{
    if (!c->has_year) return true;
    if (y < HG_CRON_YEAR_MIN || y > HG_CRON_YEAR_MAX) return false;
    int i = (int) (y - HG_CRON_YEAR_MIN);
    return c->year[i >> 6] >> (i & 63) & 1;
}

/* Weekday nearest day d of a month of dim days starting on weekday w0:
 * Saturday moves to Friday, Sunday to Monday, unless that leaves the month
 * (then Saturday the 1st moves to Monday the 3rd, Sunday the last to
 * Friday). */
static int s_nearest_weekday(int d, int dim, int w0)
{
    int wd = (w0 + d - 1) % 7;
    if (wd == 6) return d == 1 ? 3 : d - 1;
    if (wd == 0) return d == dim ? d - 2 : d + 1;
    return d;
}

uint64_t hg_cron_day_mask(const hg_cron_t *c, int64_t y, int m)
{
    int dim = hg_days_in_month(y, m);
    uint64_t full = ((UINT64_C(1) << dim) - 1) << 1;
    if (c->dom_star && c->dow_star) return full;
    int w0 = hg_weekday_from_days(hg_days_from_civil(y, m, 1));
    int wlast = (w0 + dim - 1) % 7;
    uint64_t dom = 0, dow = 0;
    if (!c->dom_star) {
        dom = c->dom & full;
        for (uint32_t b = c->dom_last; b; b &= b - 1) {
            int d = dim - __builtin_ctz(b);
            if (d >= 1) dom |= UINT64_C(1) << d;
        }
        /* "dW": the weekday nearest day d, never leaving the month; a day
         * past the month's end (31W in April) does not fire */
        for (uint32_t b = c->dom_near; b; b &= b - 1) {
            int d = __builtin_ctz(b);
            if (d <= dim) dom |= UINT64_C(1) << s_nearest_weekday(d, dim, w0);
        }
        for (uint32_t b = c->dom_last_near; b; b &= b - 1) {
            int d = dim - __builtin_ctz(b);
            if (d >= 1) dom |= UINT64_C(1) << s_nearest_weekday(d, dim, w0);
        }
    }
    if (!c->dow_star) {
        dow = c->dow_days[w0] & full;
        for (unsigned b = c->dow_last; b; b &= b - 1) {
            int w = __builtin_ctz(b);
            dow |= UINT64_C(1) << (dim - (wlast - w + 7) % 7);
        }
    }
    if (c->dom_star) return dow;
    if (c->dow_star) return dom;
    return dom | dow;
}

int64_t hg_cron_next_local(const hg_cron_t *c, int64_t t)
{
    int64_t days = hg_floor_div(t, 86400);
    int sod = (int) (t - days * 86400);
    int64_t y;
    int mo, d;
    hg_civil_from_days(days, &y, &mo, &d);
    int h = sod / 3600, mi = sod / 60 % 60, s = sod % 60;
    /* The day mask depends only on (y, mo): keep the last one. */
    int64_t mask_y = INT64_MIN;
    int mask_mo = 0;
    uint64_t mask = 0;

    for (;;) {
        if (y > HG_CRON_YEAR_MAX) return HG_SCHED_NEVER;
        if (!s_year_ok(c, y)) {
            do {
                y++;
            } while (y <= HG_CRON_YEAR_MAX && !s_year_ok(c, y));
            mo = 1, d = 1, h = 0, mi = 0, s = 0;
            continue;
        }
        int m2 = s_next_bit(c->mon, mo);
        if (m2 < 0) {
            y++, mo = 1, d = 1, h = 0, mi = 0, s = 0;
            continue;
        }
        if (m2 != mo) mo = m2, d = 1, h = 0, mi = 0, s = 0;
        if (mask_y != y || mask_mo != mo) {
            mask = hg_cron_day_mask(c, y, mo);
            mask_y = y;
            mask_mo = mo;
        }
        int d2 = s_next_bit(mask, d);
        if (d2 < 0) {
            if (++mo > 12) y++, mo = 1;
            d = 1, h = 0, mi = 0, s = 0;
            continue;
        }
        if (d2 != d) d = d2, h = 0, mi = 0, s = 0;
        int h2 = s_next_bit(c->hour, h);
        if (h2 < 0) {
            d++, h = 0, mi = 0, s = 0;
            continue;
        }
        if (h2 != h) h = h2, mi = 0, s = 0;
        int mi2 = s_next_bit(c->min, mi);
        if (mi2 < 0) {
            h++, mi = 0, s = 0;
            continue;
        }
        if (mi2 != mi) mi = mi2, s = 0;
        int s2 = s_next_bit(c->sec, s);
        if (s2 < 0) {
            mi++, s = 0;
            continue;
        }
        return hg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s2;
    }
}

/* First cron fire at or after utc_s, in the schedule's zone. A local time
 * skipped by a DST jump does not fire; a repeated one fires at its first
 * occurrence only. */
static int64_t s_cron_next_utc_s(const hg_sched_t *s, int64_t utc_s)
{
    if (s->tz_utc) return hg_cron_next_local(&s->cron, utc_s);
    int64_t local = utc_s + hg_tz_offset(s->tz, utc_s, NULL, NULL);
    for (int guard = 0; guard < 10000; guard++) {
        int64_t l = hg_cron_next_local(&s->cron, local);
        if (l == HG_SCHED_NEVER) return HG_SCHED_NEVER;
        int64_t u = 0, edge = 0;
        hg_tz_local_t kind = hg_tz_local_to_utc(s->tz, l, &u, &edge);
        if (kind == HG_TZ_LOCAL_SKIPPED) {
            local = edge;
            continue;
        }
        /* Repeated wall time whose first occurrence is already past: we are
         * in the second pass, where nothing fires again. */
        if (u < utc_s) {
            local = kind == HG_TZ_LOCAL_REPEATED ? edge : l + 1;
            continue;
        }
        return u;
    }
    return HG_SCHED_NEVER;
}

/* ---------------------------------------------------------------------------
 * Durations and instants
 */

/* ISO 8601 duration "P1DT2H", "PT1H30M", "P2W", "PT0.5S". Years and months
 * are calendar units, returned apart from the fixed part. */
typedef struct {
    int64_t years, months; /* calendar part */
    int64_t ms;            /* fixed part (weeks, days, hours, minutes, seconds) */
} s_iso_dur_t;

#define S_ISO_MAX_MS INT64_C(9200000000000000) /* longest duration, as in hg_time */

static bool s_parse_iso_duration(const char *text, s_iso_dur_t *out)
{
    const char *p = text;
    memset(out, 0, sizeof *out);
    if (*p != 'P' && *p != 'p') return false;
    p++;
    bool in_time = false, any = false;
    int last_rank = -1; /* components must come in order */
    while (*p) {
        if (*p == 'T' || *p == 't') {
            if (in_time) return false;
            in_time = true;
            p++;
            if (!*p) return false;
            continue;
        }
        if (!isdigit((unsigned char) *p)) return false;
        int64_t whole = 0;
        while (isdigit((unsigned char) *p)) {
            if (whole > INT64_C(100000000000)) return false;
            whole = whole * 10 + (*p++ - '0');
        }
        int64_t frac_ms = 0; /* fraction in thousandths, seconds only */
        bool has_frac = false;
        if (*p == '.' || *p == ',') {
            p++;
            int nd = 0;
            if (!isdigit((unsigned char) *p)) return false;
            while (isdigit((unsigned char) *p)) {
                if (nd < 3) frac_ms = frac_ms * 10 + (*p - '0');
                nd++;
                p++;
            }
            for (; nd < 3; nd++)
                frac_ms *= 10;
            has_frac = true;
        }
        char u = (char) toupper((unsigned char) *p++);
        int rank;
        int64_t unit_ms = 0;
        if (!in_time && u == 'Y')
            rank = 0;
        else if (!in_time && u == 'M')
            rank = 1;
        else if (!in_time && u == 'W')
            rank = 2, unit_ms = INT64_C(7) * 86400000;
        else if (!in_time && u == 'D')
            rank = 3, unit_ms = 86400000;
        else if (in_time && u == 'H')
            rank = 4, unit_ms = 3600000;
        else if (in_time && u == 'M')
            rank = 5, unit_ms = 60000;
        else if (in_time && u == 'S')
            rank = 6, unit_ms = 1000;
        else
            return false;
        if (rank <= last_rank || (has_frac && rank != 6)) return false;
        last_rank = rank;
        any = true;
        /* The same bound as Go durations (hg_duration_parse_ms), about
         * 290,000 years, so that adding it to a time cannot overflow. */
        if (rank == 0) {
            if (whole > S_ISO_MAX_MS / (INT64_C(366) * 86400000)) return false;
            out->years = whole;
        } else if (rank == 1) {
            if (whole > S_ISO_MAX_MS / (INT64_C(31) * 86400000)) return false;
            out->months = whole;
        } else {
            if (whole > S_ISO_MAX_MS / unit_ms) return false;
            out->ms += whole * unit_ms + (rank == 6 ? frac_ms : 0);
            if (out->ms > S_ISO_MAX_MS) return false;
        }
    }
    return any;
}

/* base + calendar years/months (in UTC, day clamped to the month's end). */
static int64_t s_add_calendar(int64_t base_ms, int64_t years, int64_t months)
{
    if (years == 0 && months == 0) return base_ms;
    int64_t days = hg_floor_div(base_ms, 86400000);
    int64_t rest = base_ms - days * 86400000;
    int64_t y;
    int m, d;
    hg_civil_from_days(days, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + years * 12 + months;
    y = hg_floor_div(total, 12);
    m = (int) (total - y * 12) + 1;
    int dim = hg_days_in_month(y, m);
    if (d > dim) d = dim;
    return hg_days_from_civil(y, m, d) * 86400000 + rest;
}

/* A Go duration ("1h30m") or an ISO 8601 duration ("PT1H30M") with no
 * calendar part, as a fixed length in ms. 0, or 1 when the text is an
 * ISO duration with years or months. */
static int s_fixed_duration(const char *text, int64_t *ms)
{
    s_iso_dur_t iso;
    if (s_parse_iso_duration(text, &iso)) {
        if (iso.years || iso.months) return 1;
        *ms = iso.ms;
        return 0;
    }
    return hg_duration_parse_ms(text, ms) == 0 ? 0 : HG_EINVAL;
}

/* dueTime / ttl: RFC 3339, Go duration or ISO 8601 duration (relative to
 * base_ms). */
static int s_parse_when(s_ctx_t *ctx, const char *what, const char *text, int64_t base_ms,
                        int64_t *out)
{
    if ((text[0] == 'R' || text[0] == 'r') && strchr(text, '/'))
        return s_fail(ctx, HG_ESCHEDULE,
                      "%s: \"%s\": ISO 8601 repeating intervals (R<n>/...) are not supported; "
                      "give the schedule and repeats separately",
                      what, text);
    if (hg_time_parse_rfc3339(text, out) == 0) return 0;
    s_iso_dur_t iso;
    if (s_parse_iso_duration(text, &iso)) {
        *out = s_add_calendar(base_ms, iso.years, iso.months) + iso.ms;
        return 0;
    }
    int64_t ms;
    if (hg_duration_parse_ms(text, &ms) == 0) {
        *out = base_ms + ms;
        return 0;
    }
    return s_fail(ctx, HG_ESCHEDULE,
                  "%s: \"%s\" is not valid (allowed: an RFC 3339 time such as "
                  "2026-11-21T10:00:00Z, a Go duration such as 1h30m, or an ISO 8601 duration "
                  "such as PT1H30M)",
                  what, text);
}

/* ---------------------------------------------------------------------------
 * Descriptors
 */

static const struct {
    const char *name;
    const char *cron; /* Quartz 6-field equivalent */
} s_descriptors[] = {
    {"@yearly", "0 0 0 1 1 ?"},   {"@annually", "0 0 0 1 1 ?"}, {"@monthly", "0 0 0 1 * ?"},
    {"@weekly", "0 0 0 ? * SUN"}, {"@daily", "0 0 0 * * ?"},    {"@midnight", "0 0 0 * * ?"},
    {"@hourly", "0 0 * * * ?"},
};

static int s_parse_at_form(s_ctx_t *ctx, hg_sched_t *s, const char *expr)
{
    const char *sp = expr;
    while (*sp && !isspace((unsigned char) *sp))
        sp++;
    size_t kw_len = (size_t) (sp - expr);
    const char *arg = sp;
    while (isspace((unsigned char) *arg))
        arg++;

    for (size_t i = 0; i < sizeof s_descriptors / sizeof s_descriptors[0]; i++) {
        if (strlen(s_descriptors[i].name) == kw_len &&
            strncasecmp(expr, s_descriptors[i].name, kw_len) == 0) {
            if (*arg)
                return s_fail(ctx, HG_ESCHEDULE, "%s: takes no argument, got \"%s\"",
                              s_descriptors[i].name, arg);
            s->kind = HG_SCHED_KIND_CRON;
            return s_parse_cron(ctx, s_descriptors[i].cron, &s->cron);
        }
    }
    bool every = kw_len == 6 && strncasecmp(expr, "@every", 6) == 0;
    bool after = kw_len == 6 && strncasecmp(expr, "@after", 6) == 0;
    if (every || after) {
        const char *kw = every ? "@every" : "@after";
        if (!*arg)
            return s_fail(ctx, HG_ESCHEDULE,
                          "%s: missing duration (allowed: a Go duration such as 1h30m or 250ms, "
                          "or an ISO 8601 duration such as PT1H30M)",
                          kw);
        int64_t ms = 0;
        int rc = s_fixed_duration(arg, &ms);
        if (rc == 1)
            return s_fail(ctx, HG_ESCHEDULE,
                          "%s: \"%s\": years and months have no fixed length; use a cron "
                          "expression",
                          kw, arg);
        if (rc < 0)
            return s_fail(ctx, HG_ESCHEDULE,
                          "%s: \"%s\" is not a duration (allowed: a Go duration such as 1h30m "
                          "or 250ms, or an ISO 8601 duration such as PT1H30M)",
                          kw, arg);
        if (ms <= 0)
            return s_fail(ctx, HG_ESCHEDULE, "%s: \"%s\": duration must be positive", kw, arg);
        s->kind = every ? HG_SCHED_KIND_EVERY : HG_SCHED_KIND_AFTER;
        s->period_ms = ms;
        return 0;
    }
    /* "@never": a job that runs only when something else starts it (a
     * dependency, a manual trigger); never due by the clock. */
    if (kw_len == 6 && strncasecmp(expr, "@never", 6) == 0) {
        if (*arg) return s_fail(ctx, HG_ESCHEDULE, "@never: takes no argument, got \"%s\"", arg);
        s->kind = HG_SCHED_KIND_AT;
        s->at_ms = HG_SCHED_NEVER;
        return 0;
    }
    if (kw_len == 3 && strncasecmp(expr, "@at", 3) == 0) {
        if (hg_time_parse_rfc3339(arg, &s->at_ms) != 0)
            return s_fail(ctx, HG_ESCHEDULE,
                          "@at: \"%s\" is not an RFC 3339 time (allowed: e.g. "
                          "2026-11-21T10:00:00Z or 2026-11-21T11:00:00+01:00)",
                          arg);
        s->kind = HG_SCHED_KIND_AT;
        return 0;
    }
    return s_fail(ctx, HG_ESCHEDULE,
                  "\"%.*s\" is not a known descriptor (allowed: @yearly, @annually, @monthly, "
                  "@weekly, @daily, @midnight, @hourly, @every <duration>, @after <duration>, "
                  "@at <RFC 3339 time>, @never)",
                  (int) kw_len, expr);
}

/* ---------------------------------------------------------------------------
 * Public API
 */

/* Folds Dapr `repeats` into end_ms: the repeats-th fire is the last one. */
static int s_apply_repeats(s_ctx_t *ctx, hg_sched_t *s, int64_t base_ms)
{
    if (s->repeats <= 0) return 0;
    int64_t t = hg_sched_next(s, (s->has_due ? s->due_ms : base_ms) - 1);
    if (t == HG_SCHED_NEVER) return 0;
    if (s->kind == HG_SCHED_KIND_EVERY || s->kind == HG_SCHED_KIND_AFTER) {
        /* fixed rate (anchored at the due time when there is one), or
         * fixed delay counted from each fire: the repeats-th fire is first
         * + (repeats - 1) * period. Computed, not stepped: repeats may be
         * as large as an int64 (stepping hung the fuzzer on 6e14). */
        int64_t span, last;
        /* A due time long before 1970 makes t negative: no shortcut
         * through INT64_MAX - t, which overflows then. */
        if (__builtin_mul_overflow(s->repeats - 1, s->period_ms, &span) ||
            __builtin_add_overflow(t, span, &last))
            return 0;
        if (last < s->end_ms) s->end_ms = last;
        return 0;
    }
    if (s->repeats > 1000000 && s->kind == HG_SCHED_KIND_CRON)
        return s_fail(ctx, HG_ESCHEDULE,
                      "repeats: %lld is too large for a cron schedule (allowed: 1-1000000)",
                      (long long) s->repeats);
    for (int64_t i = 1; i < s->repeats; i++) {
        int64_t u = hg_sched_next(s, t);
        if (u == HG_SCHED_NEVER) return 0;
        t = u;
    }
    if (t < s->end_ms) s->end_ms = t;
    return 0;
}

int hg_sched_parse(const char *expr, const hg_sched_opts_t *opts, hg_sched_t **out, char *err,
                   size_t err_size)
{
    s_ctx_t ctx = {err, err_size, true};
    if (err && err_size) err[0] = '\0';
    if (!out) return s_fail(&ctx, HG_EINVAL, "no output pointer");
    *out = NULL;
    if (!expr) expr = "";
    hg_sched_opts_t none;
    memset(&none, 0, sizeof none);
    if (!opts) opts = &none;

    while (isspace((unsigned char) *expr))
        expr++;
    const char *tz_name = opts->tz;
    char tz_buf[128];
    /* "CRON_TZ=Europe/Paris 0 0 * * *" (robfig/cron, cronie) overrides opts->tz */
    size_t prefix = strncmp(expr, "CRON_TZ=", 8) == 0 ? 8 : strncmp(expr, "TZ=", 3) == 0 ? 3 : 0;
    if (prefix) {
        const char *e = expr + prefix;
        size_t n = 0;
        while (e[n] && !isspace((unsigned char) e[n]))
            n++;
        if (n == 0 || n >= sizeof tz_buf)
            return s_fail(&ctx, HG_ETZ, "time zone: \"%.*s\" is not a valid zone name", (int) n, e);
        memcpy(tz_buf, e, n);
        tz_buf[n] = '\0';
        tz_name = tz_buf;
        expr = e + n;
        while (isspace((unsigned char) *expr))
            expr++;
    }

    hg_sched_t *s = calloc(1, sizeof *s);
    if (!s) return s_fail(&ctx, HG_ENOMEM, "out of memory");
    size_t len = strlen(expr);
    while (len > 0 && isspace((unsigned char) expr[len - 1]))
        len--;
    s->expr = malloc(len + 1);
    if (!s->expr) {
        free(s);
        return s_fail(&ctx, HG_ENOMEM, "out of memory");
    }
    memcpy(s->expr, expr, len);
    s->expr[len] = '\0';

    int rc = hg_tz_get(tz_name, &s->tz, err, err_size);
    if (rc < 0) goto fail;
    s->tz_utc = hg_tz_is_utc(s->tz);
    s->start_ms = opts->start_ms;
    s->end_ms = opts->end_ms > 0 ? opts->end_ms : INT64_MAX;
    if (opts->start_ms < 0 || opts->end_ms < 0) {
        rc = s_fail(&ctx, HG_ESCHEDULE, "start and end times must not be negative");
        goto fail;
    }
    int64_t base_ms = opts->base_ms > 0 ? opts->base_ms : hg_now_ms();

    if (opts->due_time && *opts->due_time) {
        rc = s_parse_when(&ctx, "dueTime", opts->due_time, base_ms, &s->due_ms);
        if (rc < 0) goto fail;
        s->has_due = true;
    }
    if (opts->ttl && *opts->ttl) {
        int64_t ttl_end;
        rc = s_parse_when(&ctx, "ttl", opts->ttl, base_ms, &ttl_end);
        if (rc < 0) goto fail;
        if (ttl_end < s->end_ms) s->end_ms = ttl_end;
    }
    if (opts->repeats < 0) {
        rc = s_fail(&ctx, HG_ESCHEDULE, "repeats: %lld must not be negative",
                    (long long) opts->repeats);
        goto fail;
    }
    s->repeats = opts->repeats;

    if (s->expr[0] == '\0') {
        if (!s->has_due) {
            rc = s_fail(&ctx, HG_ESCHEDULE,
                        "empty schedule (allowed: a cron expression such as \"0 */5 * * * ?\", "
                        "or @daily, @every 1h, @after 10m, @at 2026-11-21T10:00:00Z)");
            goto fail;
        }
        s->kind = HG_SCHED_KIND_ONCE;
    } else if (s->expr[0] == '@') {
        rc = s_parse_at_form(&ctx, s, s->expr);
    } else {
        s->kind = HG_SCHED_KIND_CRON;
        rc = s_parse_cron(&ctx, s->expr, &s->cron);
    }
    if (rc < 0) goto fail;
    if (s->kind == HG_SCHED_KIND_EVERY) s->anchor_ms = s->has_due ? s->due_ms : s->start_ms;
    rc = s_apply_repeats(&ctx, s, base_ms);
    if (rc < 0) goto fail;
    *out = s;
    return 0;
fail:
    hg_sched_destroy(&s);
    return rc;
}

static int64_t s_next_raw(const hg_sched_t *s, int64_t after_ms)
{
    switch (s->kind) {
    case HG_SCHED_KIND_CRON: {
        /* fire times are whole seconds: the first second > after_ms */
        int64_t from_s = hg_floor_div(after_ms, 1000) + 1;
        int64_t t = s_cron_next_utc_s(s, from_s);
        return t == HG_SCHED_NEVER ? t : t * 1000;
    }
    case HG_SCHED_KIND_EVERY: {
        /* fixed rate from the anchor: every node computes the same times */
        int64_t a = s->anchor_ms, p = s->period_ms;
        if (after_ms < a) return a;
        /* The anchor (a due time) may lie before 1970: every step is
         * checked, INT64_MAX - a would itself overflow. */
        int64_t d, k, t;
        if (__builtin_sub_overflow(after_ms, a, &d)) return HG_SCHED_NEVER;
        if (__builtin_mul_overflow(d / p + 1, p, &k) || __builtin_add_overflow(a, k, &t))
            return HG_SCHED_NEVER;
        return t;
    }
    case HG_SCHED_KIND_AFTER:
        if (after_ms > INT64_MAX - s->period_ms) return HG_SCHED_NEVER;
        return after_ms + s->period_ms;
    case HG_SCHED_KIND_AT:
        return s->at_ms > after_ms ? s->at_ms : HG_SCHED_NEVER;
    case HG_SCHED_KIND_ONCE:
        return HG_SCHED_NEVER; /* the due time is the only fire */
    }
    return HG_SCHED_NEVER;
}

int64_t hg_sched_next(const hg_sched_t *s, int64_t after_ms)
{
    if (!s) return HG_SCHED_NEVER;
    int64_t t;
    if (s->kind == HG_SCHED_KIND_AFTER) {
        /* fixed delay: counted from the previous finish, not clamped to
         * start before adding the delay */
        t = s_next_raw(s, after_ms);
        if (t != HG_SCHED_NEVER && t < s->start_ms) t = s->start_ms;
    } else {
        if (s->start_ms > 0 && after_ms < s->start_ms - 1) after_ms = s->start_ms - 1;
        if (s->has_due && after_ms < s->due_ms)
            t = s->due_ms;
        else
            t = s_next_raw(s, after_ms);
    }
    if (t == HG_SCHED_NEVER || t > s->end_ms) return HG_SCHED_NEVER;
    return t;
}

bool hg_sched_is_fixed_delay(const hg_sched_t *s)
{
    return s && s->kind == HG_SCHED_KIND_AFTER;
}

hg_sched_kind_t hg_sched_kind(const hg_sched_t *s)
{
    return s ? s->kind : HG_SCHED_KIND_CRON;
}

const char *hg_sched_tz_name(const hg_sched_t *s)
{
    return s && s->tz ? hg_tz_name(s->tz) : "UTC";
}

void hg_sched_destroy(hg_sched_t **sched)
{
    if (!sched || !*sched) return;
    free((*sched)->expr);
    free(*sched);
    *sched = NULL;
}

int64_t hg_sched_prev(const hg_sched_t *s, int64_t at_ms, int64_t floor_ms)
{
    if (!s || at_ms <= floor_ms) return HG_SCHED_NEVER;
    /* Widen a window [at - w, at] until it holds a fire time, then bisect
     * for the latest start whose next fire is still <= at. */
    int64_t good = INT64_MIN, bad = at_ms; /* next(bad) > at_ms */
    for (int64_t w = 1000;; w *= 2) {
        int64_t lo = at_ms - w < floor_ms || w > INT64_MAX / 4 ? floor_ms : at_ms - w;
        int64_t t = hg_sched_next(s, lo);
        if (t != HG_SCHED_NEVER && t <= at_ms) {
            good = lo;
            break;
        }
        if (lo == floor_ms) return HG_SCHED_NEVER;
        bad = lo;
    }
    while (bad - good > 1) {
        int64_t mid = good + (bad - good) / 2;
        int64_t t = hg_sched_next(s, mid);
        if (t != HG_SCHED_NEVER && t <= at_ms)
            good = mid;
        else
            bad = mid;
    }
    return hg_sched_next(s, good);
}
