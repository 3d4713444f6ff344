/* retry: pending retries of the worker (see retry.h). A plain array:
 * retries in wait are few next to the jobs (a chain exists only between a
 * retryable failure and its next attempt), and the scans are short. */
#include "retry.h"
#include "hg_log.h"
#include "hg_retry.h"
#include "hg_time.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

struct hg_wretry {
    hg_wretry_item_t *items; /* pending, unordered */
    size_t n, cap;           /* used, allocated */
    int64_t next_due;        /* earliest due_ms, INT64_MAX when none */
    bool full_warned;        /* HG_WRETRY_MAX reached, logged once */
};

hg_wretry_t *hg_wretry_new(void)
{
    if (sodium_init() < 0) return NULL; /* jitter draws from randombytes */
    hg_wretry_t *self = calloc(1, sizeof *self);
    if (self) self->next_due = INT64_MAX;
    return self;
}

void hg_wretry_destroy(hg_wretry_t **self)
{
    if (!self || !*self) return;
    free((*self)->items);
    free(*self);
    *self = NULL;
}

static void s_recompute(hg_wretry_t *self)
{
    self->next_due = INT64_MAX;
    for (size_t i = 0; i < self->n; i++)
        if (self->items[i].due_ms < self->next_due) self->next_due = self->items[i].due_ms;
}

static bool s_has(const hg_wretry_t *self, const hg_wretry_item_t *it)
{
    for (size_t i = 0; i < self->n; i++) {
        const hg_wretry_item_t *x = &self->items[i];
        if (x->job_id == it->job_id && x->scheduled_ms == it->scheduled_ms &&
            x->attempt == it->attempt)
            return true;
    }
    return false;
}

void hg_wretry_push(hg_wretry_t *self, const hg_wretry_item_t *item)
{
    if (!self || s_has(self, item)) return;
    if (self->n >= HG_WRETRY_MAX) {
        if (!self->full_warned)
            hg_error("retry: %u retries already pending; job %" PRIu64 "'s chain ends here",
                     HG_WRETRY_MAX, item->job_id);
        self->full_warned = true;
        return;
    }
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        hg_wretry_item_t *a = realloc(self->items, cap * sizeof *a);
        if (!a) return;
        self->items = a;
        self->cap = cap;
    }
    self->items[self->n++] = *item;
    if (item->due_ms < self->next_due) self->next_due = item->due_ms;
}

void hg_wretry_on_done(hg_wretry_t *self, const hg_assign_t *spec, hg_run_t *run)
{
    /* No policy here: the record is final, and carries no chain data a
     * peer might have left in it. */
    if (!spec || spec->retry.max_attempts <= 1) {
        if (run->retry_at_ms || run->retry_reason) {
            run->retry_at_ms = 0;
            free(run->retry_reason);
            run->retry_reason = NULL;
        }
        return;
    }
    uint64_t rnd = ((uint64_t) randombytes_random() << 32) | randombytes_random();
    if (!hg_retry_decide(&spec->retry, run, rnd)) return;
    hg_wretry_item_t it = {.job_id = run->job_id,
                           .scheduled_ms = run->scheduled_ms,
                           .due_ms = run->retry_at_ms,
                           .attempt = (run->attempt ? run->attempt : 1) + 1};
    memcpy(it.first_run_id, run->first_run_id, HG_PROTO_RUN_ID_SIZE);
    hg_wretry_push(self, &it);
    char at[40];
    hg_time_format_ms(run->retry_at_ms, at, sizeof at);
    hg_info("job %s: attempt %u ended %s (%s); attempt %u due at %s", run->job_name, it.attempt - 1,
            hg_run_status_name(run->status), run->retry_reason ? run->retry_reason : "?",
            it.attempt, at);
}

void hg_wretry_adopt(hg_wretry_t *self, const hg_trigger_t *t)
{
    hg_wretry_item_t it = {.job_id = t->job_id,
                           .scheduled_ms = t->scheduled_ms,
                           .due_ms = t->due_ms > 0 ? t->due_ms : hg_now_ms(),
                           .attempt = t->attempt ? t->attempt : 2};
    memcpy(it.first_run_id, t->first_run_id, HG_PROTO_RUN_ID_SIZE);
    hg_wretry_push(self, &it);
}

int64_t hg_wretry_next_due(const hg_wretry_t *self)
{
    return self ? self->next_due : INT64_MAX;
}

bool hg_wretry_pop_due(hg_wretry_t *self, int64_t now, hg_wretry_item_t *out)
{
    if (!self || self->next_due > now) return false;
    for (size_t i = 0; i < self->n; i++) {
        if (self->items[i].due_ms > now) continue;
        *out = self->items[i];
        self->items[i] = self->items[--self->n];
        s_recompute(self);
        return true;
    }
    s_recompute(self);
    return false;
}

void hg_wretry_forget_job(hg_wretry_t *self, uint64_t job_id)
{
    if (!self || self->n == 0) return;
    size_t k = 0;
    for (size_t i = 0; i < self->n; i++)
        if (self->items[i].job_id != job_id) self->items[k++] = self->items[i];
    self->n = k;
    s_recompute(self);
}

size_t hg_wretry_size(const hg_wretry_t *self)
{
    return self ? self->n : 0;
}
