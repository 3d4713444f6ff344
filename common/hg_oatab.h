/* hg_oatab: an open-addressing table of pointers with linear probing, the
 * storage under the master's job table (master/jobtab.c) and the worker's
 * (worker/wjobtab.c), where a million entries must cost a pointer each
 * rather than a hash node each.
 *
 * The table holds pointers only; the caller hashes its own entries (the
 * hash function passed to grow and reserve) and probes with its own
 * equality. A removed entry leaves a tombstone (HG_OATAB_TOMB) so that
 * probes for later entries go on past it; tombstones go when the table is
 * rebuilt. */
#ifndef HG_OATAB_H
#define HG_OATAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void **slots; /* NULL = empty, HG_OATAB_TOMB = removed, else an entry */
    size_t cap;   /* slots, a power of two (0 before the first insert) */
    size_t live;  /* entries */
    size_t used;  /* entries + tombstones */
} hg_oatab_t;

extern char hg_oatab_tomb_mark;
#define HG_OATAB_TOMB ((void *) &hg_oatab_tomb_mark)

typedef size_t (*hg_oatab_hash_fn)(const void *entry);

/* Ids are dense and increasing: spread them over the slots. */
static inline size_t hg_oatab_hash_id(uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    return (size_t) (h ^ (h >> 29));
}

/* FNV-1a of n bytes (template and schedule keys). */
size_t hg_oatab_hash_bytes(const uint8_t *p, size_t n);

/* Rebuild with room for at least want entries at 3/4 load, dropping
 * tombstones. 0 or HG_ENOMEM. */
int hg_oatab_grow(hg_oatab_t *t, size_t want, hg_oatab_hash_fn hash);
/* Make room for one more entry: 0 or HG_ENOMEM. */
int hg_oatab_reserve(hg_oatab_t *t, hg_oatab_hash_fn hash);
/* The entry at or after *cursor, moving *cursor past it; NULL at the end. */
void *hg_oatab_next(const hg_oatab_t *t, size_t *cursor);
/* Free the slots (not the entries). */
void hg_oatab_clear(hg_oatab_t *t);

#endif
