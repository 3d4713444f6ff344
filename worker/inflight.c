/* inflight: the worker's runs in flight by run id (see inflight.h). */
#include "inflight.h"
#include "hg_runid.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct hg_winflight {
    zhashx_t *runs; /* raw run id -> its RUN_STARTED record (hg_run_t, owned) */
};

static void s_run_free(void **item)
{
    hg_run_t *run = *item;
    if (run) hg_run_clear(run);
    free(run);
    *item = NULL;
}

hg_winflight_t *hg_winflight_new(void)
{
    hg_winflight_t *self = calloc(1, sizeof *self);
    if (!self || !(self->runs = zhashx_new())) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->runs, s_run_free);
    zhashx_set_key_hasher(self->runs, hg_runid_hash);
    zhashx_set_key_comparator(self->runs, hg_runid_compare);
    zhashx_set_key_duplicator(self->runs, hg_runid_dup);
    zhashx_set_key_destructor(self->runs, hg_runid_free);
    return self;
}

void hg_winflight_destroy(hg_winflight_t **self_p)
{
    if (!self_p || !*self_p) return;
    zhashx_destroy(&(*self_p)->runs);
    free(*self_p);
    *self_p = NULL;
}

void hg_winflight_add(hg_winflight_t *self, const uint8_t *run_id, uint64_t job_id)
{
    hg_run_t run = {.job_id = job_id};
    memcpy(run.run_id, run_id, HG_PROTO_RUN_ID_SIZE);
    hg_winflight_add_run(self, &run);
}

void hg_winflight_add_run(hg_winflight_t *self, const hg_run_t *start)
{
    if (!self) return;
    hg_run_t *run = calloc(1, sizeof *run);
    if (!run || hg_run_copy(run, start) != 0) {
        s_run_free((void **) &run);
        return;
    }
    zhashx_update(self->runs, run->run_id, run);
}

void hg_winflight_remove(hg_winflight_t *self, const uint8_t *run_id)
{
    if (self && zhashx_size(self->runs)) zhashx_delete(self->runs, run_id);
}

uint32_t hg_winflight_count_job(hg_winflight_t *self, uint64_t job_id)
{
    uint32_t n = 0;
    if (!self || zhashx_size(self->runs) == 0) return 0;
    for (hg_run_t *run = zhashx_first(self->runs); run; run = zhashx_next(self->runs))
        n += run->job_id == job_id;
    return n;
}

size_t hg_winflight_size(const hg_winflight_t *self)
{
    return self ? zhashx_size(self->runs) : 0;
}

hg_inflight_run_t *hg_winflight_list(hg_winflight_t *self, size_t *n)
{
    *n = 0;
    size_t size = hg_winflight_size(self);
    hg_inflight_run_t *out = size ? calloc(size, sizeof *out) : NULL;
    if (!out) return NULL;
    for (hg_run_t *run = zhashx_first(self->runs); run; run = zhashx_next(self->runs)) {
        memcpy(out[*n].run_id, run->run_id, HG_PROTO_RUN_ID_SIZE);
        out[*n].job_id = run->job_id;
        (*n)++;
    }
    return out;
}

hg_run_t *hg_winflight_starts(hg_winflight_t *self, size_t *n)
{
    *n = 0;
    size_t size = hg_winflight_size(self);
    hg_run_t *out = size ? calloc(size, sizeof *out) : NULL;
    if (!out) return NULL;
    for (hg_run_t *run = zhashx_first(self->runs); run; run = zhashx_next(self->runs))
        if (hg_run_copy(&out[*n], run) == 0) (*n)++;
    return out;
}

void hg_winflight_starts_free(hg_run_t **runs, size_t n)
{
    if (!runs || !*runs) return;
    for (size_t i = 0; i < n; i++)
        hg_run_clear(&(*runs)[i]);
    free(*runs);
    *runs = NULL;
}
