/* hg_time: clocks, RFC 3339 and Go-style durations. */
#include "hg_time.h"
#include "hg_error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t s_clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t hg_now_us(void)
{
    return s_clock_us(CLOCK_REALTIME);
}
int64_t hg_now_ms(void)
{
    return s_clock_us(CLOCK_REALTIME) / 1000;
}
int64_t hg_mono_us(void)
{
    return s_clock_us(CLOCK_MONOTONIC);
}
int64_t hg_mono_ms(void)
{
    return s_clock_us(CLOCK_MONOTONIC) / 1000;
}

int hg_time_format_ms(int64_t ms, char *buf, size_t size)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int millis = (int) (ms - secs * 1000);
    time_t t = (time_t) secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant). */
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char) (*p)[i])) return HG_EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int hg_time_parse_rfc3339(const char *text, int64_t *ms)
{
    if (!text || !ms) return HG_EINVAL;
    const char *p = text;
    int y, mo, d, h, mi, s;
    if (s_digits(&p, 4, &y) || *p++ != '-' || s_digits(&p, 2, &mo) || *p++ != '-' ||
        s_digits(&p, 2, &d))
        return HG_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ') return HG_EINVAL;
    p++;
    if (s_digits(&p, 2, &h) || *p++ != ':' || s_digits(&p, 2, &mi) || *p++ != ':' ||
        s_digits(&p, 2, &s))
        return HG_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
        return HG_EINVAL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return HG_EINVAL;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char) *p)) {
            if (n < 3) frac_ms = frac_ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0) return HG_EINVAL;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh, om;
        if (s_digits(&p, 2, &oh) || *p++ != ':' || s_digits(&p, 2, &om) || oh > 23 || om > 59)
            return HG_EINVAL;
        offset_min = sign * (oh * 60 + om);
    } else {
        return HG_EINVAL;
    }
    if (*p != '\0') return HG_EINVAL;
    int64_t days = s_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s) - offset_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

int hg_duration_parse_ms(const char *text, int64_t *ms)
{
    if (!text || !ms || !*text) return HG_EINVAL;
    const char *p = text;
    double total_ms = 0;
    while (*p) {
        if (!isdigit((unsigned char) *p) && *p != '.') return HG_EINVAL;
        char *end;
        double v = strtod(p, &end);
        if (end == p) return HG_EINVAL;
        p = end;
        double unit;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (strncmp(p, "us", 2) == 0 || strncmp(p, "\xC2\xB5s", 3) == 0) {
            unit = 0.001;
            p += (*p == 'u') ? 2 : 3;
        } else if (strncmp(p, "ns", 2) == 0) {
            unit = 0.000001;
            p += 2;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else {
            return HG_EINVAL;
        }
        total_ms += v * unit;
        if (total_ms > 9.2e15) return HG_ERANGE;
    }
    int64_t r = (int64_t) total_ms;
    if ((double) r < total_ms) r++;
    *ms = r;
    return 0;
}
