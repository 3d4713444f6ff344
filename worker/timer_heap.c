/* timer_heap: the worker's jobs by next fire time (see timer_heap.h). */
#include "timer_heap.h"

#include <stdlib.h>

/* A slot of the heap: a job and its next_ms (kept equal). */
typedef struct {
    int64_t next_ms; /* the job's next_ms */
    hg_wjob_t *job;  /* the job */
} s_entry_t;

struct hg_wheap {
    s_entry_t *items; /* earliest next_ms first */
    size_t n, cap;    /* size and capacity */
};

hg_wheap_t *hg_wheap_new(void)
{
    return calloc(1, sizeof(hg_wheap_t));
}

void hg_wheap_destroy(hg_wheap_t **self_p)
{
    if (!self_p || !*self_p) return;
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

/* The heap holds each job's fire time next to its pointer: comparing
 * through the pointers cost a cache miss per step (a sift in a heap of
 * thousands of jobs was a tenth of a busy worker's time). Sifts move a
 * hole instead of swapping, one write per level. */
static void s_place(hg_wheap_t *self, size_t i, s_entry_t e)
{
    self->items[i] = e;
    e.job->heap_index = (uint32_t) i;
}

static void s_up(hg_wheap_t *self, size_t i)
{
    s_entry_t e = self->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (e.next_ms >= self->items[parent].next_ms) break;
        s_place(self, i, self->items[parent]);
        i = parent;
    }
    s_place(self, i, e);
}

static void s_down(hg_wheap_t *self, size_t i)
{
    s_entry_t e = self->items[i];
    size_t n = self->n;
    for (;;) {
        size_t l = 2 * i + 1, m = l;
        if (l >= n) break;
        if (l + 1 < n && self->items[l + 1].next_ms < self->items[l].next_ms) m = l + 1;
        if (self->items[m].next_ms >= e.next_ms) break;
        s_place(self, i, self->items[m]);
        i = m;
    }
    s_place(self, i, e);
}

void hg_wheap_remove(hg_wheap_t *self, hg_wjob_t *job)
{
    size_t i = job->heap_index;
    if (i == HG_WJOB_NO_HEAP) return;
    self->n--;
    if (i != self->n) {
        s_place(self, i, self->items[self->n]);
        s_down(self, i);
        s_up(self, i);
    }
    job->heap_index = HG_WJOB_NO_HEAP;
}

void hg_wheap_update(hg_wheap_t *self, hg_wjob_t *job)
{
    if (job->next_ms == HG_SCHED_NEVER) {
        hg_wheap_remove(self, job);
        return;
    }
    if (job->heap_index == HG_WJOB_NO_HEAP) {
        if (self->n == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 64;
            s_entry_t *h = realloc(self->items, cap * sizeof *h);
            if (!h) return;
            self->items = h;
            self->cap = cap;
        }
        job->heap_index = (uint32_t) self->n;
        self->n++;
    }
    self->items[job->heap_index] = (s_entry_t){.next_ms = job->next_ms, .job = job};
    s_up(self, job->heap_index);
    s_down(self, job->heap_index);
}

void hg_wheap_rebind(hg_wheap_t *self, hg_wjob_t *job)
{
    if (job->heap_index != HG_WJOB_NO_HEAP) self->items[job->heap_index].job = job;
}

size_t hg_wheap_size(const hg_wheap_t *self)
{
    return self->n;
}

hg_wjob_t *hg_wheap_top(const hg_wheap_t *self)
{
    return self->n ? self->items[0].job : NULL;
}

int64_t hg_wheap_top_ms(const hg_wheap_t *self)
{
    return self->n ? self->items[0].next_ms : INT64_MAX;
}
