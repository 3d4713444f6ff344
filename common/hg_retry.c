/* hg_retry: retry classes, backoff arithmetic and the overlap policy
 * names (see hg_retry.h for the rules). */
#include "hg_retry.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_classes[] = {"http_5xx",     "http_429", "connect", "timeout",
                                        "plugin_retry", "crashed",  "lost"};
#define S_CLASSES (sizeof s_classes / sizeof s_classes[0])

static const char *const s_backoffs[] = {"fixed", "exponential"};
static const char *const s_jitters[] = {"none", "full"};
static const char *const s_overlaps[] = {"allow", "forbid", "replace", "queue"};

static int s_index(const char *const *names, size_t n, const char *name)
{
    if (!name) return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return (int) i;
    return -1;
}

const char *hg_retry_class_name(uint32_t bit)
{
    for (size_t i = 0; i < S_CLASSES; i++)
        if (bit == 1u << i) return s_classes[i];
    return NULL;
}

uint32_t hg_retry_class_parse(const char *name)
{
    int i = s_index(s_classes, S_CLASSES, name);
    return i < 0 ? 0 : 1u << i;
}

const char *hg_backoff_name(uint32_t v)
{
    return v < 2 ? s_backoffs[v] : NULL;
}

const char *hg_jitter_name(uint32_t v)
{
    return v < 2 ? s_jitters[v] : NULL;
}

int hg_backoff_parse(const char *name)
{
    return s_index(s_backoffs, 2, name);
}

int hg_jitter_parse(const char *name)
{
    return s_index(s_jitters, 2, name);
}

const char *hg_overlap_name(uint32_t v)
{
    return v < 4 ? s_overlaps[v] : NULL;
}

int hg_overlap_parse(const char *name)
{
    return s_index(s_overlaps, 4, name);
}

uint32_t hg_retry_classify(const hg_run_t *run)
{
    switch (run->status) {
    case HG_RUN_TIMEOUT:
        return HG_RETRY_ON_TIMEOUT;
    case HG_RUN_CRASHED:
        return HG_RETRY_ON_CRASHED;
    case HG_RUN_LOST:
        return HG_RETRY_ON_LOST;
    case HG_RUN_FAILED:
        break;
    default:
        return 0;
    }
    if (run->http_status == 429) return HG_RETRY_ON_HTTP_429;
    if (run->http_status >= 500 && run->http_status <= 599) return HG_RETRY_ON_HTTP_5XX;
    if (run->retry_reason && strcmp(run->retry_reason, "connect") == 0) return HG_RETRY_ON_CONNECT;
    if (run->retry_reason && strcmp(run->retry_reason, "plugin_retry") == 0)
        return HG_RETRY_ON_PLUGIN_RETRY;
    return 0;
}

int64_t hg_retry_delay_ms(const hg_retry_spec_t *p, uint32_t attempt, int64_t retry_after_ms,
                          uint64_t rnd)
{
    double cap = p->max_delay_ms ? (double) p->max_delay_ms : (double) HG_RETRY_MAX_DELAY_MS;
    double d = (double) p->initial_ms;
    if (p->backoff == HG_BACKOFF_EXPONENTIAL) {
        double f = (p->factor_milli ? p->factor_milli : 2000) / 1000.0;
        /* Multiply step by step, stopping at the cap: no overflow, and an
         * absurd attempt number costs at most a hundred steps. */
        for (uint32_t i = 1; i < attempt && d < cap && i < HG_RETRY_MAX_ATTEMPTS; i++)
            d *= f;
    }
    if (d > cap) d = cap;
    int64_t delay = (int64_t) d;
    if (p->jitter == HG_JITTER_FULL && delay > 1) {
        int64_t half = delay / 2;
        delay = half + (int64_t) (rnd % (uint64_t) (delay - half + 1));
    }
    if (retry_after_ms > delay)
        delay = retry_after_ms > (int64_t) cap ? (int64_t) cap : retry_after_ms;
    if (delay < (int64_t) HG_RETRY_MIN_DELAY_MS) delay = HG_RETRY_MIN_DELAY_MS;
    return delay;
}

bool hg_retry_wanted(const hg_retry_spec_t *p, uint32_t cls, uint32_t attempt)
{
    return cls != 0 && (p->on & cls) && attempt < p->max_attempts &&
           attempt < HG_RETRY_MAX_ATTEMPTS;
}

bool hg_retry_id_none(const uint8_t id[HG_PROTO_RUN_ID_SIZE])
{
    for (int i = 0; i < HG_PROTO_RUN_ID_SIZE; i++)
        if (id[i]) return false;
    return true;
}

bool hg_retry_decide(const hg_retry_spec_t *p, hg_run_t *run, uint64_t rnd)
{
    int64_t retry_after = run->retry_at_ms > 0 ? run->retry_at_ms : 0;
    uint32_t cls = hg_retry_classify(run);
    uint32_t attempt = run->attempt ? run->attempt : 1;
    free(run->retry_reason);
    run->retry_reason = NULL;
    run->retry_at_ms = 0;
    if (!hg_retry_wanted(p, cls, attempt)) return false;
    int64_t base = run->finished_ms > 0 ? run->finished_ms : run->started_ms;
    run->retry_at_ms = base + hg_retry_delay_ms(p, attempt, retry_after, rnd);
    run->retry_reason = strdup(hg_retry_class_name(cls));
    if (hg_retry_id_none(run->first_run_id))
        memcpy(run->first_run_id, run->run_id, HG_PROTO_RUN_ID_SIZE);
    return true;
}
