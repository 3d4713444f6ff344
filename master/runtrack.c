/* runtrack: compact entries of the runs in flight, their interned strings
 * and the queue of start rows written late (see runtrack.h). */
#include "runtrack.h"
#include "hg_error.h"

#include <czmq.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- interned strings */

/* One string of the pool; the table's key is its own text. */
typedef struct {
    size_t refs; /* entries pointing at it */
    char s[];    /* the text */
} s_pooled_t;

struct hg_strpool {
    zhashx_t *table; /* text -> s_pooled_t (the key is the item's own s) */
};

static s_pooled_t *s_pooled_of(const char *s)
{
    return (s_pooled_t *) (void *) (s - offsetof(s_pooled_t, s));
}

static void s_pooled_free(void **item)
{
    free(*item);
    *item = NULL;
}

hg_strpool_t *hg_strpool_new(void)
{
    hg_strpool_t *self = calloc(1, sizeof *self);
    if (!self || !(self->table = zhashx_new())) {
        free(self);
        return NULL;
    }
    /* Keys are the items' own text: no copy to make or free. */
    zhashx_set_key_duplicator(self->table, NULL);
    zhashx_set_key_destructor(self->table, NULL);
    zhashx_set_destructor(self->table, s_pooled_free);
    return self;
}

void hg_strpool_destroy(hg_strpool_t **self_p)
{
    if (!self_p || !*self_p) return;
    zhashx_destroy(&(*self_p)->table);
    free(*self_p);
    *self_p = NULL;
}

const char *hg_strpool_get(hg_strpool_t *self, const char *s)
{
    if (!s) s = "";
    s_pooled_t *p = zhashx_lookup(self->table, s);
    if (p) {
        p->refs++;
        return p->s;
    }
    size_t len = strlen(s);
    if (!(p = malloc(sizeof *p + len + 1))) return NULL;
    p->refs = 1;
    memcpy(p->s, s, len + 1);
    if (zhashx_insert(self->table, p->s, p) != 0) {
        free(p);
        return NULL;
    }
    return p->s;
}

void hg_strpool_put(hg_strpool_t *self, const char *s)
{
    if (!self || !s) return;
    s_pooled_t *p = s_pooled_of(s);
    if (--p->refs == 0) zhashx_delete(self->table, p->s);
}

size_t hg_strpool_size(const hg_strpool_t *self)
{
    return self ? zhashx_size(self->table) : 0;
}

/* ------------------------------------------------------------ one entry */

hg_runtrack_t *hg_runtrack_new(hg_strpool_t *pool, const char *node, const hg_run_t *run)
{
    hg_runtrack_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->run_id, run->run_id, sizeof e->run_id);
    memcpy(e->first_run_id, run->first_run_id, sizeof e->first_run_id);
    e->job_id = run->job_id;
    e->epoch = run->epoch;
    e->scheduled_ms = run->scheduled_ms;
    e->started_ms = run->started_ms;
    e->attempt = run->attempt ? run->attempt : 1;
    e->claim_by_mono_ms = INT64_MAX;
    e->pool = pool;
    e->node = hg_strpool_get(pool, node);
    e->job_name = hg_strpool_get(pool, run->job_name);
    e->reason = hg_strpool_get(pool, run->reason ? run->reason : "schedule");
    if (!e->node || !e->job_name || !e->reason) hg_runtrack_destroy(&e);
    return e;
}

void hg_runtrack_destroy(hg_runtrack_t **self_p)
{
    if (!self_p || !*self_p) return;
    hg_runtrack_t *e = *self_p;
    hg_strpool_put(e->pool, e->node);
    hg_strpool_put(e->pool, e->job_name);
    hg_strpool_put(e->pool, e->reason);
    free(e);
    *self_p = NULL;
}

void hg_runtrack_set_node(hg_runtrack_t *self, const char *node)
{
    if (self->node && strcmp(self->node, node) == 0) return;
    const char *now = hg_strpool_get(self->pool, node);
    if (!now) return; /* out of memory: it stays with its former node */
    hg_strpool_put(self->pool, self->node);
    self->node = now;
}

int hg_runtrack_to_run(const hg_runtrack_t *self, hg_run_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->run_id, self->run_id, sizeof out->run_id);
    memcpy(out->first_run_id, self->first_run_id, sizeof out->first_run_id);
    out->job_id = self->job_id;
    out->epoch = self->epoch;
    out->scheduled_ms = self->scheduled_ms;
    out->started_ms = self->started_ms;
    out->attempt = self->attempt;
    out->status = HG_RUN_RUNNING;
    out->job_name = strdup(self->job_name ? self->job_name : "");
    out->reason = strdup(self->reason ? self->reason : "schedule");
    if (!out->job_name || !out->reason) {
        hg_run_clear(out);
        return HG_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------- start rows due later */

void hg_startq_init(hg_startq_t *q, size_t max)
{
    memset(q, 0, sizeof *q);
    q->max = max;
}

void hg_startq_free(hg_startq_t *q)
{
    free(q->items);
    hg_startq_init(q, q->max);
}

/* Double the ring, unwrapping it. */
static int s_grow(hg_startq_t *q)
{
    size_t cap = q->cap ? q->cap * 2 : 1024;
    if (cap > q->max) cap = q->max;
    hg_startq_item_t *items = malloc(cap * sizeof *items);
    if (!items) return HG_ENOMEM;
    for (size_t i = 0; i < q->n; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int hg_startq_push(hg_startq_t *q, const uint8_t *run_id, int64_t due_mono_ms)
{
    if (q->n >= q->max) return HG_ENOMEM;
    if (q->n == q->cap && s_grow(q) != 0) return HG_ENOMEM;
    hg_startq_item_t *it = &q->items[(q->head + q->n) % q->cap];
    memcpy(it->run_id, run_id, sizeof it->run_id);
    it->due_mono_ms = due_mono_ms;
    q->n++;
    return 0;
}

const hg_startq_item_t *hg_startq_due(const hg_startq_t *q, int64_t now_mono_ms)
{
    if (!q->n || q->items[q->head].due_mono_ms > now_mono_ms) return NULL;
    return &q->items[q->head];
}

void hg_startq_pop(hg_startq_t *q)
{
    if (!q->n) return;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    if (q->n) return;
    q->head = 0;
    /* Empty after a burst: give its memory back (a second of runs at
     * 100,000/s is 2.4 MB of ring). */
    if (q->cap > 65536) {
        free(q->items);
        q->items = NULL;
        q->cap = 0;
    }
}
