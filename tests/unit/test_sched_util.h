/* Helpers shared by the hg_sched unit tests: parse, step, compare as RFC
 * 3339 text so a failure shows both times readably. */
#ifndef TEST_SCHED_UTIL_H
#define TEST_SCHED_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hg_error.h"
#include "hg_sched.h"
#include "hg_time.h"

static int64_t T(const char *rfc3339)
{
    int64_t ms = 0;
    if (hg_time_parse_rfc3339(rfc3339, &ms) != 0) fail_msg("bad time in test: %s", rfc3339);
    return ms;
}

static hg_sched_t *P_opts(const char *expr, const hg_sched_opts_t *opts)
{
    hg_sched_t *s = NULL;
    char err[512] = "";
    int rc = hg_sched_parse(expr, opts, &s, err, sizeof err);
    if (rc != 0) fail_msg("parse \"%s\" failed: %s", expr, err);
    return s;
}

static hg_sched_t *P_tz(const char *expr, const char *tz)
{
    hg_sched_opts_t o;
    memset(&o, 0, sizeof o);
    o.tz = tz;
    return P_opts(expr, &o);
}

static void s_fmt(int64_t ms, char *buf, size_t size)
{
    if (ms == HG_SCHED_NEVER)
        snprintf(buf, size, "never");
    else
        hg_time_format_ms(ms, buf, size);
}

static void s_expect_time(int64_t got, const char *want)
{
    char g[48], w[48];
    s_fmt(got, g, sizeof g);
    if (want)
        s_fmt(T(want), w, sizeof w);
    else
        snprintf(w, sizeof w, "never");
    if (strcmp(g, w) != 0) fail_msg("got %s, want %s", g, w);
}

/* next(expr in tz, after) == want (NULL = never) */
static void expect_next_tz(const char *expr, const char *tz, const char *after, const char *want)
{
    hg_sched_t *s = P_tz(expr, tz);
    s_expect_time(hg_sched_next(s, T(after)), want);
    hg_sched_destroy(&s);
}

static void expect_next(const char *expr, const char *after, const char *want)
{
    expect_next_tz(expr, NULL, after, want);
}

/* Successive fire times after `after`, NULL-terminated list. */
static void expect_seq_tz(const char *expr, const char *tz, const char *after, ...)
{
    hg_sched_t *s = P_tz(expr, tz);
    va_list ap;
    va_start(ap, after);
    int64_t t = T(after);
    const char *want;
    while ((want = va_arg(ap, const char *)) != NULL) {
        t = hg_sched_next(s, t);
        s_expect_time(t, want);
    }
    va_end(ap);
    hg_sched_destroy(&s);
}

#define expect_seq(expr, after, ...)        expect_seq_tz(expr, NULL, after, __VA_ARGS__, NULL)
#define expect_seq_in(expr, tz, after, ...) expect_seq_tz(expr, tz, after, __VA_ARGS__, NULL)

/* Parse must fail with exactly this message (or, when prefix is true,
 * a message starting with it). */
static void expect_error_opts(const char *expr, const hg_sched_opts_t *opts, int code,
                              const char *msg, bool prefix)
{
    hg_sched_t *s = NULL;
    char err[512] = "";
    int rc = hg_sched_parse(expr, opts, &s, err, sizeof err);
    if (rc == 0) {
        hg_sched_destroy(&s);
        fail_msg("\"%s\" parsed, want error: %s", expr, msg);
    }
    assert_null(s);
    assert_int_equal(rc, code);
    if (prefix ? strncmp(err, msg, strlen(msg)) != 0 : strcmp(err, msg) != 0)
        fail_msg("\"%s\": got message\n  %s\nwant\n  %s", expr, err, msg);
}

static void expect_error(const char *expr, const char *msg)
{
    expect_error_opts(expr, NULL, HG_ESCHEDULE, msg, false);
}

static void expect_error_prefix(const char *expr, const char *msg)
{
    expect_error_opts(expr, NULL, HG_ESCHEDULE, msg, true);
}

#endif
