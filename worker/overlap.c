/* overlap: fires held back by a job's overlap policy (see overlap.h). A
 * job that allows overlap never gets here past the first comparison; the
 * others keep a small FIFO each, in a hash by job id. */
#include "overlap.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hg_overlap_fire_t *fires; /* oldest first */
    size_t n, cap;            /* used, allocated */
} s_queue_t;

struct hg_overlap {
    zhashx_t *queues; /* job id text -> s_queue_t */
    zhashx_t *remote; /* job id text -> runs in flight on other workers (a uintptr_t) */
};

void hg_overlap_fire_clear(hg_overlap_fire_t *fire)
{
    if (!fire) return;
    for (size_t i = 0; i < fire->overrides_n; i++) {
        free(fire->overrides[i].key);
        free(fire->overrides[i].value);
    }
    free(fire->overrides);
    fire->overrides = NULL;
    fire->overrides_n = 0;
}

static void s_queue_free(void **item)
{
    s_queue_t *q = *item;
    if (!q) return;
    for (size_t i = 0; i < q->n; i++)
        hg_overlap_fire_clear(&q->fires[i]);
    free(q->fires);
    free(q);
    *item = NULL;
}

hg_overlap_state_t *hg_overlap_new(void)
{
    hg_overlap_state_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->queues = zhashx_new();
    self->remote = zhashx_new();
    if (!self->queues || !self->remote) {
        zhashx_destroy(&self->queues);
        zhashx_destroy(&self->remote);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->queues, s_queue_free);
    return self;
}

void hg_overlap_destroy(hg_overlap_state_t **self)
{
    if (!self || !*self) return;
    zhashx_destroy(&(*self)->queues);
    zhashx_destroy(&(*self)->remote);
    free(*self);
    *self = NULL;
}

static s_queue_t *s_queue(hg_overlap_state_t *self, uint64_t job_id, bool create)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    s_queue_t *q = zhashx_lookup(self->queues, key);
    if (!q && create) {
        q = calloc(1, sizeof *q);
        if (q) zhashx_insert(self->queues, key, q);
    }
    return q;
}

void hg_overlap_set_remote(hg_overlap_state_t *self, uint64_t job_id, uint32_t running)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    if (running == 0)
        zhashx_delete(self->remote, key);
    else /* out of memory: not kept, as an older worker does */
        zhashx_update(self->remote, key, (void *) (uintptr_t) running);
}

uint32_t hg_overlap_remote(hg_overlap_state_t *self, uint64_t job_id)
{
    if (zhashx_size(self->remote) == 0) return 0; /* the common case: no moved job */
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    return (uint32_t) (uintptr_t) zhashx_lookup(self->remote, key);
}

/* The job's runs in flight here plus those elsewhere (saturating). */
static uint32_t s_running(hg_overlap_state_t *self, const hg_assign_t *spec, uint32_t running)
{
    uint32_t remote = hg_overlap_remote(self, spec->job_id);
    return running > UINT32_MAX - remote ? UINT32_MAX : running + remote;
}

static uint32_t s_slots(const hg_assign_t *spec)
{
    return spec->max_concurrent ? spec->max_concurrent : 1;
}

hg_overlap_action_t hg_overlap_decide(hg_overlap_state_t *self, const hg_assign_t *spec,
                                      uint32_t running, bool force)
{
    if (force || spec->overlap == HG_OVERLAP_ALLOW) return HG_OVERLAP_START;
    running = s_running(self, spec, running);
    s_queue_t *q = s_queue(self, spec->job_id, false);
    bool waiting = q && q->n > 0;
    switch (spec->overlap) {
    case HG_OVERLAP_FORBID:
        return running < s_slots(spec) ? HG_OVERLAP_START : HG_OVERLAP_SKIP;
    case HG_OVERLAP_REPLACE:
        return running < s_slots(spec) && !waiting ? HG_OVERLAP_START : HG_OVERLAP_CANCEL;
    case HG_OVERLAP_QUEUE: {
        /* In order: a fire does not overtake those already waiting. */
        if (running < s_slots(spec) && !waiting) return HG_OVERLAP_START;
        uint32_t max = spec->queue_max ? spec->queue_max : 1;
        return q && q->n >= max ? HG_OVERLAP_SKIP : HG_OVERLAP_WAIT;
    }
    default:
        return HG_OVERLAP_START;
    }
}

bool hg_overlap_push(hg_overlap_state_t *self, const hg_assign_t *spec, hg_overlap_fire_t *fire,
                     hg_overlap_fire_t *dropped)
{
    s_queue_t *q = s_queue(self, spec->job_id, true);
    bool replaced = false;
    if (!q) {
        *dropped = *fire; /* out of memory: the fire is lost, recorded as skipped */
        memset(fire, 0, sizeof *fire);
        return true;
    }
    if (spec->overlap == HG_OVERLAP_REPLACE && q->n > 0) {
        /* The newest fire replaces the one that was waiting for the
         * cancelled runs to end. */
        *dropped = q->fires[0];
        q->fires[0] = *fire;
        memset(fire, 0, sizeof *fire);
        return true;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 4;
        hg_overlap_fire_t *a = realloc(q->fires, cap * sizeof *a);
        if (!a) {
            *dropped = *fire;
            memset(fire, 0, sizeof *fire);
            return true;
        }
        q->fires = a;
        q->cap = cap;
    }
    q->fires[q->n++] = *fire;
    memset(fire, 0, sizeof *fire);
    return replaced;
}

bool hg_overlap_pop(hg_overlap_state_t *self, const hg_assign_t *spec, uint32_t running,
                    hg_overlap_fire_t *out)
{
    s_queue_t *q = s_queue(self, spec->job_id, false);
    if (!q || q->n == 0) return false;
    if (spec->overlap != HG_OVERLAP_ALLOW && s_running(self, spec, running) >= s_slots(spec))
        return false;
    *out = q->fires[0];
    memmove(q->fires, q->fires + 1, (q->n - 1) * sizeof *q->fires);
    q->n--;
    if (q->n == 0) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, spec->job_id);
        zhashx_delete(self->queues, key);
    }
    return true;
}

size_t hg_overlap_waiting(hg_overlap_state_t *self, uint64_t job_id)
{
    s_queue_t *q = s_queue(self, job_id, false);
    return q ? q->n : 0;
}

void hg_overlap_forget_job(hg_overlap_state_t *self, uint64_t job_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, job_id);
    zhashx_delete(self->queues, key);
    zhashx_delete(self->remote, key);
}
