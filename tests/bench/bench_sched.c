/* bench_sched: hg_sched_next calls per second on one core, for typical
 * expressions. Not a ctest; run it by hand from the build directory:
 *   ./bench_sched [calls-per-expression]
 * Each expression walks forward from 2026-01-01, feeding every result back
 * in as the next "after" (what a worker does after each fire). */
#include "hg_sched.h"
#include "hg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *expr; /* schedule */
    const char *tz;   /* zone (NULL = UTC) */
} s_cases[] = {
    {"0 */5 * * * ?", NULL},
    {"*/15 9-17 * * 1-5", NULL},
    {"0 15 10 ? * 6L", NULL},
    {"0 0 12 1 * MON", NULL},
    {"0 0 0 LW * ?", NULL},
    {"@daily", NULL},
    {"@every 1h30m", NULL},
    {"30 2 * * *", "America/New_York"},
    {"0 */30 * * * ?", "Australia/Lord_Howe"},
    {"0 0 9 ? * MON-FRI", "Europe/London"},
};

int main(int argc, char **argv)
{
    long calls = argc > 1 ? atol(argv[1]) : 2000000;
    if (calls < 1) calls = 1;
    int64_t start;
    hg_time_parse_rfc3339("2026-01-01T00:00:00Z", &start);
    double total_calls = 0, total_us = 0, worst = -1;
    printf("%-28s %-22s %14s\n", "expression", "zone", "calls/s");
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        hg_sched_opts_t o;
        memset(&o, 0, sizeof o);
        o.tz = s_cases[i].tz;
        hg_sched_t *s = NULL;
        char err[256];
        if (hg_sched_parse(s_cases[i].expr, &o, &s, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", s_cases[i].expr, err);
            return 1;
        }
        int64_t t = start, sink = 0;
        int64_t t0 = hg_mono_us();
        for (long n = 0; n < calls; n++) {
            int64_t u = hg_sched_next(s, t);
            t = u == HG_SCHED_NEVER ? start : u;
            sink += t;
        }
        int64_t us = hg_mono_us() - t0;
        double rate = us > 0 ? (double) calls * 1e6 / (double) us : 0;
        printf("%-28s %-22s %14.0f%s\n", s_cases[i].expr, s_cases[i].tz ? s_cases[i].tz : "UTC",
               rate, sink == 42 ? " " : "");
        total_calls += (double) calls;
        total_us += (double) us;
        if (worst < 0 || rate < worst) worst = rate;
        hg_sched_destroy(&s);
    }
    printf("overall %.0f calls/s, slowest expression %.0f calls/s\n",
           total_us > 0 ? total_calls * 1e6 / total_us : 0, worst);
    return 0;
}
