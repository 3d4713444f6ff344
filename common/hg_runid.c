/* hg_runid: UUIDv7 run ids. */
#include "hg_runid.h"
#include "hg_error.h"
#include "hg_keyhash.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random bytes for ids, drawn from libsodium 4 KiB at a time: one
 * getrandom() call per id was a few percent of a busy worker's time. Per
 * thread, and dropped in the child of a fork (which must not repeat the
 * parent's ids). */
#define S_RAND_BUF 4096
static _Thread_local uint8_t s_rand[S_RAND_BUF];
static _Thread_local size_t s_rand_left;
static pthread_once_t s_rand_once = PTHREAD_ONCE_INIT;

static void s_rand_forget(void)
{
    sodium_memzero(s_rand, sizeof s_rand);
    s_rand_left = 0;
}

static void s_rand_init(void)
{
    pthread_atfork(NULL, NULL, s_rand_forget);
}

static void s_rand_take(uint8_t *out, size_t n)
{
    if (s_rand_left < n) {
        pthread_once(&s_rand_once, s_rand_init);
        randombytes_buf(s_rand, sizeof s_rand);
        s_rand_left = sizeof s_rand;
    }
    uint8_t *from = s_rand + (sizeof s_rand - s_rand_left);
    memcpy(out, from, n);
    sodium_memzero(from, n); /* each byte is used once */
    s_rand_left -= n;
}

/* The 48-bit big-endian Unix ms that starts every id. */
static void s_put_ms(uint8_t id[HG_RUNID_SIZE], int64_t ms)
{
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t) ((uint64_t) ms >> (40 - 8 * i));
}

void hg_runid_new(uint8_t id[HG_RUNID_SIZE], int64_t now_ms)
{
    s_rand_take(id, HG_RUNID_SIZE);
    s_put_ms(id, now_ms);
    id[6] = (uint8_t) (0x70 | (id[6] & 0x0f)); /* version 7 */
    id[8] = (uint8_t) (0x80 | (id[8] & 0x3f)); /* RFC 4122 variant */
}

void hg_runid_floor(uint8_t id[HG_RUNID_SIZE], int64_t ms)
{
    memset(id, 0, HG_RUNID_SIZE);
    s_put_ms(id, ms > 0 ? ms : 0);
}

void hg_runid_format(const uint8_t id[HG_RUNID_SIZE], char *buf)
{
    static const char hex[] = "0123456789abcdef";
    char *p = buf;
    for (int i = 0; i < HG_RUNID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[id[i] >> 4];
        *p++ = hex[id[i] & 15];
    }
    *p = '\0';
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = (char) tolower((unsigned char) c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int hg_runid_parse(const char *text, uint8_t id[HG_RUNID_SIZE])
{
    if (!text || strlen(text) != HG_RUNID_STR_LEN) return HG_EINVAL;
    const char *p = text;
    for (int i = 0; i < HG_RUNID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (*p++ != '-') return HG_EINVAL;
        }
        int hi = s_hexval(p[0]), lo = s_hexval(p[1]);
        if (hi < 0 || lo < 0) return HG_EINVAL;
        id[i] = (uint8_t) (hi << 4 | lo);
        p += 2;
    }
    return 0;
}

/* Keyed: a worker chooses the run ids it sends, so the random bits of a
 * well-made id cannot be trusted to spread them. */
size_t hg_runid_hash(const void *id)
{
    return (size_t) hg_keyhash_bytes(id, HG_RUNID_SIZE);
}

int hg_runid_compare(const void *a, const void *b)
{
    return memcmp(a, b, HG_RUNID_SIZE);
}

void *hg_runid_dup(const void *id)
{
    void *copy = malloc(HG_RUNID_SIZE);
    if (copy) memcpy(copy, id, HG_RUNID_SIZE);
    return copy;
}

void hg_runid_free(void **id)
{
    if (!id) return;
    free(*id);
    *id = NULL;
}
