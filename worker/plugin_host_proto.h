/* plugin_host_proto: the framing between the plug-in executor and its
 * helper processes (hourglass-plugin-host), over one AF_UNIX stream
 * socketpair per helper. Both ends are built from this tree at the same
 * time, so there is no version negotiation; the helper is exec'ed with
 * "--proto HG_HOST_PROTO_VERSION" and refuses another.
 *
 * Frame:  u32 length (little-endian, bytes after this field, <= HG_HOST_FRAME_MAX)
 *         u8  type
 *         body (fields in the order listed, no padding)
 * Fields: u32 / i32 / i64 little-endian; str = u32 length + bytes (no NUL).
 *
 *   'Y' READY  host -> exec  (empty)        the helper started and set its limits
 *   'R' RUN    exec -> host  str path, str want_version, str job_name, str run_id,
 *                            i64 scheduled_ms, i64 deadline_ms, u32 attempt,
 *                            u32 shard_index, u32 shard_total,
 *                            u32 n, n x (str key, str value)
 *   'L' LOG    host -> exec  u32 level, str line        (zero or more per run)
 *   'D' DONE   host -> exec  i32 outcome, str error, str result   (one per run)
 *
 * One RUN at a time per helper: the executor sends the next RUN only after
 * DONE. Cancellation is a signal (SIGUSR1) rather than a frame, because the
 * helper is inside the plug-in and not reading; the handler raises the flag
 * that ctx->cancelled reads. The helper limits the log bytes it sends per
 * run (HG_HOST_LOG_MAX) so a chatty plug-in cannot flood the executor.
 * These static helpers are self-contained so both programs share them. */
#ifndef HG_WORKER_PLUGIN_HOST_PROTO_H
#define HG_WORKER_PLUGIN_HOST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HG_HOST_PROTO_VERSION 1
#define HG_HOST_FRAME_MAX     (4u << 20)              /* bytes in one frame after the length */
#define HG_HOST_LOG_MAX       8192                    /* log bytes a helper sends per run */
#define HG_HOST_CANCEL_SIGNAL SIGUSR1                 /* raises the cancellation flag in a helper */
#define HG_HOST_NAME          "hourglass-plugin-host" /* helper executable */

enum {
    HG_HOST_READY = 'Y',
    HG_HOST_RUN = 'R',
    HG_HOST_LOG = 'L',
    HG_HOST_DONE = 'D',
};

/* A growing output buffer for one frame. */
typedef struct {
    uint8_t *data; /* bytes, starting with the 4-byte length */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated */
    bool oom;      /* an append failed; the frame must not be sent */
} hg_host_buf_t;

static inline void hg_host_put(hg_host_buf_t *b, const void *data, size_t len)
{
    if (b->oom) return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            b->oom = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
}

static inline void hg_host_put_u32(hg_host_buf_t *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24)};
    hg_host_put(b, le, 4);
}

static inline void hg_host_put_i64(hg_host_buf_t *b, int64_t v)
{
    uint64_t u = (uint64_t) v;
    hg_host_put_u32(b, (uint32_t) u);
    hg_host_put_u32(b, (uint32_t) (u >> 32));
}

static inline void hg_host_put_str(hg_host_buf_t *b, const void *s, size_t len)
{
    hg_host_put_u32(b, (uint32_t) len);
    hg_host_put(b, s, len);
}

static inline void hg_host_put_cstr(hg_host_buf_t *b, const char *s)
{
    hg_host_put_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* Start a frame of type (reset b, reserve the length field). */
static inline void hg_host_begin(hg_host_buf_t *b, uint8_t type)
{
    b->len = 0;
    b->oom = false;
    hg_host_put_u32(b, 0);
    hg_host_put(b, &type, 1);
}

/* Fill in the length field; false when the frame is too big or incomplete. */
static inline bool hg_host_finish(hg_host_buf_t *b)
{
    if (b->oom || b->len - 4 > HG_HOST_FRAME_MAX) return false;
    uint32_t n = (uint32_t) (b->len - 4);
    b->data[0] = (uint8_t) n;
    b->data[1] = (uint8_t) (n >> 8);
    b->data[2] = (uint8_t) (n >> 16);
    b->data[3] = (uint8_t) (n >> 24);
    return true;
}

static inline uint32_t hg_host_le32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* A reader over one received frame body (after the type byte). Reads past
 * the end set bad and return zeros, so a decoder checks once at the end. */
typedef struct {
    const uint8_t *p; /* next byte */
    size_t left;      /* bytes left */
    bool bad;         /* a read ran past the end */
} hg_host_rd_t;

static inline uint32_t hg_host_get_u32(hg_host_rd_t *r)
{
    if (r->left < 4) {
        r->bad = true;
        r->left = 0;
        return 0;
    }
    uint32_t v = hg_host_le32(r->p);
    r->p += 4;
    r->left -= 4;
    return v;
}

static inline int64_t hg_host_get_i64(hg_host_rd_t *r)
{
    uint64_t lo = hg_host_get_u32(r);
    uint64_t hi = hg_host_get_u32(r);
    return (int64_t) (lo | hi << 32);
}

/* A malloc'ed NUL-terminated copy of the next string (NULL when bad or out
 * of memory; *len_out gets its length when not NULL). */
static inline char *hg_host_get_str(hg_host_rd_t *r, size_t *len_out)
{
    uint32_t n = hg_host_get_u32(r);
    if (r->bad || n > r->left) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t) n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    r->left -= n;
    if (len_out) *len_out = n;
    return s;
}

#endif
