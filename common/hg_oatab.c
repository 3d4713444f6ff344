#include "hg_oatab.h"

#include "hg_error.h"

#include <stdlib.h>

char hg_oatab_tomb_mark;

size_t hg_oatab_hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return (size_t) (h ^ (h >> 32));
}

int hg_oatab_grow(hg_oatab_t *t, size_t want, hg_oatab_hash_fn hash)
{
    size_t cap = 16;
    while (cap * 3 / 4 <= want)
        cap *= 2;
    void **slots = calloc(cap, sizeof *slots);
    if (!slots) return HG_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        void *e = t->slots[i];
        if (!e || e == HG_OATAB_TOMB) continue;
        size_t j = hash(e) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = e;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    t->used = t->live;
    return 0;
}

int hg_oatab_reserve(hg_oatab_t *t, hg_oatab_hash_fn hash)
{
    if ((t->used + 1) * 4 < t->cap * 3) return 0;
    /* Room for half as many again: a full table of live entries grows,
     * one mostly of tombstones is rebuilt at its size or smaller. */
    return hg_oatab_grow(t, t->live + t->live / 2 + 1, hash);
}

void *hg_oatab_next(const hg_oatab_t *t, size_t *cursor)
{
    for (size_t i = *cursor; i < t->cap; i++) {
        void *e = t->slots[i];
        if (e && e != HG_OATAB_TOMB) {
            *cursor = i + 1;
            return e;
        }
    }
    *cursor = t->cap;
    return NULL;
}

void hg_oatab_clear(hg_oatab_t *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->live = t->used = 0;
}
