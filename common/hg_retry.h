/* hg_retry: a job's retry policy and overlap policy as names, and the
 * arithmetic of retries: which outcome counts as retryable, and when the
 * next attempt is due. One implementation for the master (validation, runs
 * lost with their worker) and the worker (every other outcome), so both
 * compute the same times (docs/jobs.md, "Retries").
 *
 * Rules:
 * - attempt n (1-based) failed with a class listed in `on` and
 *   n < max_attempts: attempt n + 1 is due after delay(n);
 * - delay(n) = initial for fixed backoff, initial * factor^(n-1) for
 *   exponential, capped at max_delay (when set);
 * - jitter "full" draws the delay uniformly from [delay/2, delay], so that
 *   many jobs failing together spread out, yet never retry at once;
 * - a Retry-After (429/503) longer than the delay wins, up to max_delay;
 * - the delay is never below HG_RETRY_MIN_DELAY_MS: a retry never fires
 *   immediately (XXL-JOB #1853). */
#ifndef HG_RETRY_H
#define HG_RETRY_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stdint.h>

/* What counts as retryable (hg_retry_spec_t.on). */
enum {
    HG_RETRY_ON_HTTP_5XX = 1u << 0,     /* HTTP status 500-599 */
    HG_RETRY_ON_HTTP_429 = 1u << 1,     /* HTTP status 429 */
    HG_RETRY_ON_CONNECT = 1u << 2,      /* could not connect / resolve */
    HG_RETRY_ON_TIMEOUT = 1u << 3,      /* the run's deadline passed */
    HG_RETRY_ON_PLUGIN_RETRY = 1u << 4, /* a plug-in returned HG_PLUGIN_RETRY */
    HG_RETRY_ON_CRASHED = 1u << 5,      /* the plug-in's helper crashed */
    HG_RETRY_ON_LOST = 1u << 6,         /* lost with its worker (decided by the master) */
};
#define HG_RETRY_ON_ALL 0x7fu

typedef enum { HG_BACKOFF_FIXED = 0, HG_BACKOFF_EXPONENTIAL = 1 } hg_backoff_t;
typedef enum { HG_JITTER_NONE = 0, HG_JITTER_FULL = 1 } hg_jitter_t;

#define HG_RETRY_MIN_DELAY_MS 10u       /* no retry sooner than this after a failure */
#define HG_RETRY_MAX_ATTEMPTS 100u      /* attempts in one chain, at most */
#define HG_RETRY_MAX_DELAY_MS 86400000u /* 24 h: initial and max_delay */
#define HG_RETRY_MAX_FACTOR   100000u   /* factor x100 (in thousandths) */

/* "http_5xx", ... for one HG_RETRY_ON_* bit; NULL for anything else. */
const char *hg_retry_class_name(uint32_t bit);
/* The bit of a class name, 0 when unknown. */
uint32_t hg_retry_class_parse(const char *name);
/* "fixed"/"exponential", "none"/"full"; NULL when out of range. */
const char *hg_backoff_name(uint32_t backoff);
const char *hg_jitter_name(uint32_t jitter);
/* Inverses; -1 when unknown. */
int hg_backoff_parse(const char *name);
int hg_jitter_parse(const char *name);
/* "allow", "forbid", "replace", "queue"; NULL when out of range. */
const char *hg_overlap_name(uint32_t overlap);
int hg_overlap_parse(const char *name);

/* The retry class of a finished run (one HG_RETRY_ON_* bit), 0 when its
 * outcome is not retryable at all (success, skipped, cancelled, a failure
 * of another kind). Uses status, http_status and the executor's hint in
 * retry_reason ("connect", "plugin_retry"). */
uint32_t hg_retry_classify(const hg_run_t *run);

/* Delay in ms before the attempt after `attempt` (1-based), for a failure
 * that asked for retry_after_ms (0: none). rnd is a random number (used by
 * jitter "full" only). Always >= HG_RETRY_MIN_DELAY_MS. */
int64_t hg_retry_delay_ms(const hg_retry_spec_t *p, uint32_t attempt, int64_t retry_after_ms,
                          uint64_t rnd);

/* Whether a run that ended with class (hg_retry_classify) after attempt
 * `attempt` gets another attempt under p. */
bool hg_retry_wanted(const hg_retry_spec_t *p, uint32_t cls, uint32_t attempt);

/* Decide on a finished run: when p wants a retry, set run->retry_at_ms to
 * the due time (finished_ms + delay; a value the executor left in
 * retry_at_ms is taken as the Retry-After delay), run->retry_reason to the
 * class name and, for attempt 1, run->first_run_id to its own id; return
 * true. Otherwise clear retry_at_ms and retry_reason (the record is the
 * fire's final outcome) and return false. HG_ENOMEM-free: a failed strdup
 * leaves retry_reason NULL. */
bool hg_retry_decide(const hg_retry_spec_t *p, hg_run_t *run, uint64_t rnd);

/* True when the run id is all zero (no chain). */
bool hg_retry_id_none(const uint8_t id[HG_PROTO_RUN_ID_SIZE]);

#endif
