/* hg_runid: globally unique, time-ordered run ids (UUIDv7 layout: 48-bit
 * Unix ms, then random bits from libsodium), so that a resent record is
 * recognised and the runs table grows at its end. */
#ifndef HG_RUNID_H
#define HG_RUNID_H

#include <stddef.h>
#include <stdint.h>

#define HG_RUNID_SIZE    16
#define HG_RUNID_STR_LEN 36 /* canonical 8-4-4-4-12 hex form, without NUL */

/* Fill id with a new run id for time now_ms. */
void hg_runid_new(uint8_t id[HG_RUNID_SIZE], int64_t now_ms);

/* Fill id with the smallest id of time ms (the time, then zeros): every
 * run id made at ms or later compares (memcmp) at or above it. */
void hg_runid_floor(uint8_t id[HG_RUNID_SIZE], int64_t ms);

/* Canonical text form into buf (>= 37 bytes). */
void hg_runid_format(const uint8_t id[HG_RUNID_SIZE], char *buf);

/* Parse the canonical text form. 0 or HG_EINVAL. */
int hg_runid_parse(const char *text, uint8_t id[HG_RUNID_SIZE]);

/* Key functions for hash tables keyed by the 16 raw bytes of a run id
 * (their signatures are czmq's zhashx hasher, comparator, duplicator and
 * destructor): formatting ids as text to key a table cost more than the
 * lookups. The hash is keyed (hg_keyhash): ids come from peers, which
 * could otherwise choose ids that collide. */
size_t hg_runid_hash(const void *id);
int hg_runid_compare(const void *a, const void *b);
/* A malloc'ed copy of the id (NULL on OOM); hg_runid_free frees it and
 * NULLs the pointer. */
void *hg_runid_dup(const void *id);
void hg_runid_free(void **id);

#endif
