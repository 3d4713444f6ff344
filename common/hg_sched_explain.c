/* hg_sched_explain: `hourglass schedule explain` (next fire times in the
 * zone and in UTC, plus an English reading). Works without a master. */
#include "hg_error.h"
#include "hg_sched.h"
#include "hg_sched_int.h"
#include "hg_time.h"
#include "hg_tz.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * English reading
 */

typedef struct {
    char *buf;   /* output (may be NULL when size is 0) */
    size_t size; /* its size */
    size_t len;  /* length wanted so far */
} s_sb_t;

static void s_add(s_sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_add(s_sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = b->len < b->size ? b->buf + b->len : NULL;
    size_t room = b->len < b->size ? b->size - b->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0) b->len += (size_t) n;
}

static const char *const s_month_long[] = {"",        "January",  "February", "March",  "April",
                                           "May",     "June",     "July",     "August", "September",
                                           "October", "November", "December"};
static const char *const s_day_long[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char *const s_nth[] = {"first", "second", "third", "fourth", "fifth"};

static int s_count(uint64_t set)
{
    return __builtin_popcountll(set);
}

static int s_first(uint64_t set)
{
    return set ? __builtin_ctzll(set) : -1;
}

/* Writes the values of set (bits lo..hi) as "a, b and c", folding runs of
 * three or more into "a-b" (or "a through b" for names). */
static void s_add_values(s_sb_t *b, uint64_t set, int lo, int hi, const char *const *names)
{
    int items[64][2], n = 0;
    for (int v = lo; v <= hi; v++) {
        if (!(set >> v & 1)) continue;
        int e = v;
        while (e + 1 <= hi && (set >> (e + 1) & 1))
            e++;
        if (e - v >= 2) {
            items[n][0] = v, items[n][1] = e, n++;
        } else {
            for (int x = v; x <= e; x++)
                items[n][0] = items[n][1] = x, n++;
        }
        v = e;
    }
    for (int i = 0; i < n; i++) {
        if (i > 0) s_add(b, i == n - 1 ? " and " : ", ");
        if (names)
            s_add(b, items[i][0] == items[i][1] ? "%s" : "%s through %s", names[items[i][0]],
                  names[items[i][1]]);
        else
            s_add(b, items[i][0] == items[i][1] ? "%d" : "%d-%d", items[i][0], items[i][1]);
    }
}

/* Step of an arithmetic progression start, start+step, ... that fills set
 * up to hi (and needs at least 3 values), or 0. */
static int s_step_of(uint64_t set, int hi, int *start)
{
    int a = s_first(set);
    if (a < 0 || s_count(set) < 3) return 0;
    int b = s_first(set & ~(UINT64_C(1) << a));
    int step = b - a;
    uint64_t want = 0;
    for (int v = a; v <= hi; v += step)
        want |= UINT64_C(1) << v;
    if (want != set) return 0;
    *start = a;
    return step;
}

/* "every second", "every 15 seconds", "at seconds 0 and 30" ... */
static void s_add_unit(s_sb_t *b, uint64_t set, int lo, int hi, const char *unit)
{
    uint64_t full = ((UINT64_C(1) << (hi - lo + 1)) - 1) << lo;
    int start = 0, step;
    if (set == full) {
        s_add(b, "every %s", unit);
    } else if ((step = s_step_of(set, hi, &start)) > 0) {
        s_add(b, "every %d %ss", step, unit);
        if (start != lo) s_add(b, " starting at %s %d", unit, start);
    } else {
        s_add(b, "at %s%s ", unit, s_count(set) > 1 ? "s" : "");
        s_add_values(b, set, lo, hi, NULL);
    }
}

/* Returns true for a clock-time phrase ("at 10:15:00"), after which
 * "every day" reads naturally. */
static bool s_add_time(s_sb_t *b, const hg_cron_t *c)
{
    bool sec1 = s_count(c->sec) == 1, min1 = s_count(c->min) == 1;
    int sec = s_first(c->sec), min = s_first(c->min);
    bool show_sec = c->nfields > 5;
    uint64_t hours = c->hour;
    if (sec1 && min1 && s_count(hours) <= 4) {
        s_add(b, "at ");
        int i = 0, n = s_count(hours);
        for (int h = 0; h < 24; h++) {
            if (!(hours >> h & 1)) continue;
            if (i++ > 0) s_add(b, i == n ? " and " : ", ");
            s_add(b, show_sec ? "%02d:%02d:%02d" : "%02d:%02d", h, min, sec);
        }
        return true;
    }
    if (sec1 && min1) {
        s_add(b, show_sec ? "at :%02d:%02d past " : "at :%02d past ", min, sec);
        int start = 0, step;
        if (hours == 0xFFFFFF)
            s_add(b, "every hour");
        else if ((step = s_step_of(hours, 23, &start)) > 0 && start == 0)
            s_add(b, "every %d hours", step);
        else {
            s_add(b, "hours ");
            s_add_values(b, hours, 0, 23, NULL);
        }
        return false;
    }
    /* the general case: each unit in turn, finest first */
    bool wrote = false;
    if (c->sec != UINT64_C(1)) {
        s_add_unit(b, c->sec, 0, 59, "second");
        wrote = true;
    }
    if (c->min != UINT64_C(0xFFFFFFFFFFFFFFF) || !wrote) {
        if (wrote) s_add(b, ", ");
        if (c->min == UINT64_C(0xFFFFFFFFFFFFFFF))
            s_add(b, "every minute");
        else
            s_add_unit(b, c->min, 0, 59, "minute");
        wrote = true;
    }
    if (hours != 0xFFFFFF) {
        int start = 0, step = s_step_of(hours, 23, &start);
        if (step > 0 && start == 0)
            s_add(b, ", every %d hours", step);
        else {
            s_add(b, ", during hour%s ", s_count(hours) > 1 ? "s" : "");
            s_add_values(b, hours, 0, 23, NULL);
        }
    }
    return false;
}

static void s_add_ordinal(s_sb_t *b, int n)
{
    const char *suf = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                      : n % 10 == 1                    ? "st"
                      : n % 10 == 2                    ? "nd"
                      : n % 10 == 3                    ? "rd"
                                                       : "th";
    s_add(b, "%d%s", n, suf);
}

/* Day phrase; returns true when it names days "of the month" (so the month
 * phrase reads "of every month" / "of March"). */
static bool s_add_days(s_sb_t *b, const hg_cron_t *c, bool clock)
{
    if (c->dom_star && c->dow_star) {
        if (clock) s_add(b, " every day");
        return false;
    }
    s_add(b, " ");
    int parts = 0;
    bool of_month = false;
    if (!c->dom_star) {
        if (c->dom) {
            s_add(b, "on day%s ", s_count(c->dom) > 1 ? "s" : "");
            s_add_values(b, c->dom, 1, 31, NULL);
            parts++, of_month = true;
        }
        for (uint32_t x = c->dom_last; x; x &= x - 1) {
            int n = __builtin_ctz(x);
            s_add(b, parts++ ? " or " : "");
            if (n == 0)
                s_add(b, "on the last day");
            else {
                s_add(b, "on the ");
                s_add_ordinal(b, n + 1); /* L-1 is the 2nd-to-last day */
                s_add(b, "-to-last day");
            }
            of_month = true;
        }
        for (uint32_t x = c->dom_near; x; x &= x - 1) {
            s_add(b, parts++ ? " or " : "");
            s_add(b, "on the weekday nearest the ");
            s_add_ordinal(b, __builtin_ctz(x));
            of_month = true;
        }
        for (uint32_t x = c->dom_last_near; x; x &= x - 1) {
            int n = __builtin_ctz(x);
            s_add(b, parts++ ? " or " : "");
            if (n == 0) {
                s_add(b, "on the last weekday");
            } else {
                s_add(b, "on the weekday nearest the ");
                s_add_ordinal(b, n + 1);
                s_add(b, "-to-last day");
            }
            of_month = true;
        }
    }
    if (!c->dow_star) {
        if (c->dow) {
            s_add(b, parts++ ? " or " : "");
            s_add(b, "on ");
            s_add_values(b, c->dow, 0, 6, s_day_long);
        }
        for (int k = 0; k < 5; k++)
            for (int w = 0; w < 7; w++)
                if (c->dow_nth >> (k * 7 + w) & 1) {
                    s_add(b, parts++ ? " or " : "");
                    s_add(b, "on the %s %s", s_nth[k], s_day_long[w]);
                    of_month = true;
                }
        for (int w = 0; w < 7; w++)
            if (c->dow_last >> w & 1) {
                s_add(b, parts++ ? " or " : "");
                s_add(b, "on the last %s", s_day_long[w]);
                of_month = true;
            }
    }
    return of_month;
}

static void s_add_cron(s_sb_t *b, const hg_cron_t *c)
{
    bool clock = s_add_time(b, c);
    bool of_month = s_add_days(b, c, clock);
    uint16_t all = 0x1FFE;
    if (c->mon == all) {
        if (of_month) s_add(b, " of every month");
    } else {
        s_add(b, of_month ? " of " : " in ");
        s_add_values(b, c->mon, 1, 12, s_month_long);
    }
    if (c->has_year) {
        int n = 0;
        for (int i = 0; i < 4; i++)
            n += s_count(c->year[i]);
        s_add(b, " in ");
        int items = 0;
        for (int y = HG_CRON_YEAR_MIN; y <= HG_CRON_YEAR_MAX && items < 8; y++) {
            int i = y - HG_CRON_YEAR_MIN;
            if (!(c->year[i >> 6] >> (i & 63) & 1)) continue;
            int e = y;
            while (e + 1 <= HG_CRON_YEAR_MAX) {
                int j = e + 1 - HG_CRON_YEAR_MIN;
                if (!(c->year[j >> 6] >> (j & 63) & 1)) break;
                e++;
            }
            s_add(b, items++ ? ", " : "");
            s_add(b, e > y ? "%d-%d" : "%d", y, e);
            y = e;
        }
        (void) n;
    }
}

static void s_add_instant(s_sb_t *b, int64_t ms)
{
    char t[40];
    hg_time_format_ms(ms, t, sizeof t);
    s_add(b, "%s", t);
}

int hg_sched_describe(const hg_sched_t *s, char *buf, size_t size)
{
    s_sb_t b = {buf, size, 0};
    if (size) buf[0] = '\0';
    if (!s) return 0;
    if (s->has_due && s->kind != HG_SCHED_KIND_ONCE) {
        s_add(&b, "first at ");
        s_add_instant(&b, s->due_ms);
        s_add(&b, ", then ");
    }
    switch (s->kind) {
    case HG_SCHED_KIND_CRON:
        s_add_cron(&b, &s->cron);
        if (!s->tz_utc) s_add(&b, " (%s)", hg_tz_name(s->tz));
        break;
    case HG_SCHED_KIND_EVERY:
        s_add(&b, "every %s (fixed rate, counted from ", s->expr + 7);
        if (s->anchor_ms)
            s_add_instant(&b, s->anchor_ms);
        else
            s_add(&b, "the Unix epoch");
        s_add(&b, ")");
        break;
    case HG_SCHED_KIND_AFTER:
        s_add(&b, "%s after the previous run finishes (fixed delay)", s->expr + 7);
        break;
    case HG_SCHED_KIND_AT:
        if (s->at_ms == HG_SCHED_NEVER) { /* "@never" */
            s_add(&b, "never by the clock (only when triggered or by its dependencies)");
            break;
        }
        s_add(&b, "once at ");
        s_add_instant(&b, s->at_ms);
        break;
    case HG_SCHED_KIND_ONCE:
        s_add(&b, "once at ");
        s_add_instant(&b, s->due_ms);
        break;
    }
    if (s->repeats > 0)
        s_add(&b, ", at most %lld time%s", (long long) s->repeats, s->repeats == 1 ? "" : "s");
    if (s->start_ms > 0) {
        s_add(&b, ", not before ");
        s_add_instant(&b, s->start_ms);
    }
    if (s->end_ms != INT64_MAX && s->repeats == 0) {
        s_add(&b, ", not after ");
        s_add_instant(&b, s->end_ms);
    }
    return (int) b.len;
}

static void s_usage(FILE *err)
{
    fprintf(err, "usage: hourglass schedule explain EXPR [--tz ZONE] [--from TIME] [--count N]\n"
                 "                                       [--due TIME] [--repeats N] [--ttl T]\n");
}

/* "2026-03-08 03:00:00 EDT (-04:00)" */
static void s_format_local(const hg_sched_t *s, int64_t ms, char *buf, size_t size)
{
    int64_t secs = hg_floor_div(ms, 1000);
    const char *abbr = "UTC";
    int32_t off = hg_tz_offset(s->tz, secs, &abbr, NULL);
    int64_t local = secs + off;
    int64_t days = hg_floor_div(local, 86400);
    int sod = (int) (local - days * 86400);
    int64_t y;
    int m, d;
    hg_civil_from_days(days, &y, &m, &d);
    int aoff = off < 0 ? -off : off;
    snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d:%02d %s (%c%02d:%02d)", (long long) y, m, d,
             sod / 3600, sod / 60 % 60, sod % 60, abbr, off < 0 ? '-' : '+', aoff / 3600,
             aoff / 60 % 60);
}

int hg_sched_explain_main(int argc, char **argv, FILE *out, FILE *err)
{
    const char *expr = NULL;
    hg_sched_opts_t opts;
    memset(&opts, 0, sizeof opts);
    int64_t from_ms = hg_now_ms();
    long count = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s_usage(out);
            return 0;
        }
        if (a[0] == '-' && a[1] == '-') {
            if (!v) {
                fprintf(err, "explain: %s needs a value\n", a);
                s_usage(err);
                return 2;
            }
            i++;
            if (strcmp(a, "--tz") == 0) {
                opts.tz = v;
            } else if (strcmp(a, "--from") == 0) {
                if (hg_time_parse_rfc3339(v, &from_ms) != 0) {
                    fprintf(err, "explain: --from: \"%s\" is not an RFC 3339 time\n", v);
                    return 2;
                }
            } else if (strcmp(a, "--count") == 0) {
                char *end;
                count = strtol(v, &end, 10);
                if (*end || count < 1 || count > 1000) {
                    fprintf(err, "explain: --count: \"%s\" must be 1-1000\n", v);
                    return 2;
                }
            } else if (strcmp(a, "--due") == 0) {
                opts.due_time = v;
            } else if (strcmp(a, "--ttl") == 0) {
                opts.ttl = v;
            } else if (strcmp(a, "--repeats") == 0) {
                char *end;
                opts.repeats = strtoll(v, &end, 10);
                if (*end || opts.repeats < 0) {
                    fprintf(err, "explain: --repeats: \"%s\" must be a count\n", v);
                    return 2;
                }
            } else {
                fprintf(err, "explain: unknown option %s\n", a);
                s_usage(err);
                return 2;
            }
            continue;
        }
        if (expr) {
            fprintf(err, "explain: give the expression as one argument (quote it)\n");
            s_usage(err);
            return 2;
        }
        expr = a;
    }
    if (!expr && !opts.due_time) {
        s_usage(err);
        return 2;
    }
    opts.base_ms = from_ms;
    hg_sched_t *s = NULL;
    char msg[512];
    if (hg_sched_parse(expr ? expr : "", &opts, &s, msg, sizeof msg) != 0) {
        fprintf(err, "%s\n", msg);
        return 1;
    }
    char desc[512];
    hg_sched_describe(s, desc, sizeof desc);
    fprintf(out, "%s\n", desc);
    if (hg_sched_is_fixed_delay(s))
        fprintf(out, "(fixed delay: times below assume each run finishes as it starts)\n");
    int64_t t = from_ms;
    for (long i = 0; i < count; i++) {
        t = hg_sched_next(s, t);
        if (t == HG_SCHED_NEVER) {
            fprintf(out, i == 0 ? "never fires after the given time\n" : "no further fire times\n");
            break;
        }
        char local[64], utc[40];
        s_format_local(s, t, local, sizeof local);
        hg_time_format_ms(t, utc, sizeof utc);
        if (hg_tz_is_utc(s->tz))
            fprintf(out, "  %s\n", utc);
        else
            fprintf(out, "  %s  =  %s\n", local, utc);
    }
    hg_sched_destroy(&s);
    return 0;
}
