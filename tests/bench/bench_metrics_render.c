/* Micro-benchmark of GET /metrics rendering (master/metrics.c): the
 * figures of `series` jobs (default 10,000, metrics.job_series_max), each
 * with runs of every status and full histograms, rendered `times` times.
 * Prints the mean render time and the size of the text. Not a ctest; run
 * by hand: <build>/bench_metrics_render [series] [times] */
#include "metrics.h"

#include "hg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t series = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    int times = argc > 2 ? atoi(argv[2]) : 10;
    hg_metrics_t *m = hg_metrics_new(series);
    if (!m) return 1;
    char name[32];
    hg_run_t r = {.reason = "schedule"};
    for (size_t i = 0; i < series; i++) {
        snprintf(name, sizeof name, "job-%zu", i);
        r.job_id = i + 1;
        r.job_name = name;
        hg_metrics_runs_begin(m);
        for (int k = 0; k < 40; k++) {
            r.status = 1 + k % 6;
            r.scheduled_ms = 1000000 + k * 1000;
            r.started_ms = r.scheduled_ms + (k * 7) % 300;
            r.finished_ms = r.started_ms + (int64_t) (k * k * 37) % 200000;
            r.error = r.status == HG_RUN_SKIPPED ? "worker overloaded: x" : NULL;
            hg_metrics_run(m, "default", &r, true);
            hg_metrics_run(m, "default", &r, false);
        }
        hg_metrics_runs_end(m);
    }
    size_t len = 0;
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    int64_t t0 = hg_mono_us();
    for (int i = 0; i < times; i++) {
        char *text = hg_metrics_render(m, &len);
        free(text);
    }
    double ms = (double) (hg_mono_us() - t0) / 1000.0 / times;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu_ms =
        ((double) (c1.tv_sec - c0.tv_sec) * 1e3 + (double) (c1.tv_nsec - c0.tv_nsec) / 1e6) / times;
    /* Wall time depends on what else the machine runs; CPU time less so. */
    printf("%zu series: render %.1f ms wall, %.1f ms CPU, %zu bytes\n", hg_metrics_job_series(m),
           ms, cpu_ms, len);
    hg_metrics_destroy(&m);
    return 0;
}
