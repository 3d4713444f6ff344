/* backfill: backfill fires waiting for their job's slot (backfill.h). */
#include "backfill.h"

#include "hg_error.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct hg_backfill {
    zlistx_t *fires; /* hg_overlap_fire_t *, oldest first, every job */
};

static void s_fire_free(void **item)
{
    hg_overlap_fire_t *f = *item;
    if (!f) return;
    hg_overlap_fire_clear(f);
    free(f);
    *item = NULL;
}

hg_backfill_t *hg_backfill_new(void)
{
    hg_backfill_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->fires = zlistx_new();
    if (!self->fires) {
        free(self);
        return NULL;
    }
    zlistx_set_destructor(self->fires, s_fire_free);
    return self;
}

void hg_backfill_destroy(hg_backfill_t **self)
{
    if (!self || !*self) return;
    zlistx_destroy(&(*self)->fires);
    free(*self);
    *self = NULL;
}

/* The job's first waiting fire, with the list's cursor on it; NULL when
 * none. Backfills are rare and short-lived: a walk is cheap enough. */
static hg_overlap_fire_t *s_first(hg_backfill_t *self, uint64_t job_id)
{
    for (hg_overlap_fire_t *f = zlistx_first(self->fires); f; f = zlistx_next(self->fires))
        if (f->job_id == job_id) return f;
    return NULL;
}

bool hg_backfill_holds(hg_backfill_t *self, uint64_t job_id)
{
    return self && s_first(self, job_id) != NULL;
}

int hg_backfill_push(hg_backfill_t *self, hg_overlap_fire_t *fire)
{
    hg_overlap_fire_t *f = self ? malloc(sizeof *f) : NULL;
    if (!f) return HG_ENOMEM;
    *f = *fire;
    if (!zlistx_add_end(self->fires, f)) {
        free(f);
        return HG_ENOMEM;
    }
    memset(fire, 0, sizeof *fire);
    return 0;
}

bool hg_backfill_pop(hg_backfill_t *self, uint64_t job_id, hg_overlap_fire_t *out)
{
    hg_overlap_fire_t *f = self ? s_first(self, job_id) : NULL;
    if (!f) return false;
    *out = *f;
    memset(f, 0, sizeof *f); /* its overrides are out's now */
    zlistx_delete(self->fires, zlistx_cursor(self->fires));
    return true;
}

void hg_backfill_forget_job(hg_backfill_t *self, uint64_t job_id)
{
    while (self && s_first(self, job_id))
        zlistx_delete(self->fires, zlistx_cursor(self->fires));
}
