/* overload: how the worker tells its operator that an executor is
 * overloaded. Executors refuse runs while their queue of waiting runs is
 * full (status skipped, error "worker overloaded: ..."); at thousands of
 * runs per second a log line per run would drown the log, so the agent
 * feeds every finished run of one executor through an hg_overload_t, which
 * logs the first skip of a burst and, once no run has been skipped for
 * HG_OVERLOAD_QUIET_MS, how many the burst cost. */
#ifndef HG_WORKER_OVERLOAD_H
#define HG_WORKER_OVERLOAD_H

#include "hg_proto.h"

#include <stdint.h>

#define HG_OVERLOAD_QUIET_MS 2000 /* a burst ends after this long without a skip */

/* Start of the error of every run an executor skips for overload. Other
 * skips (e.g. an HTTP request not sent because the lease lapsed) are not
 * overload and are not counted here. */
#define HG_OVERLOADED "worker overloaded"

/* One executor's overload state; zero-initialise, then set the names. */
typedef struct {
    const char *what;    /* "HTTP" or "plug-in", for the log */
    const char *setting; /* worker setting that bounds the queue, for the log */
    uint64_t skipped;    /* runs skipped in the current burst, 0 when none */
    int64_t first_mono;  /* monotonic ms of the burst's first skip */
    int64_t last_mono;   /* monotonic ms of the burst's latest skip */
} hg_overload_t;

/* A run of this executor finished: count it when it was skipped for
 * overload (status skipped, error starting with HG_OVERLOADED), and log the
 * start of a burst. */
void hg_overload_note(hg_overload_t *o, const hg_run_t *run, int64_t now_mono);

/* Periodic check: log and reset a burst that has been quiet for
 * HG_OVERLOAD_QUIET_MS (or at once when force is set, e.g. on exit). */
void hg_overload_tick(hg_overload_t *o, int64_t now_mono, bool force);

#endif
