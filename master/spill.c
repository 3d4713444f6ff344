/* spill: append-only, checksummed frames of run records (see spill.h). */
#include "spill.h"
#include "hg_error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAGIC    "HGSF"
#define S_SUM_SIZE 16          /* BLAKE2b-128 */
#define S_WINDOW   (64u << 10) /* bytes read at a time while resynchronising */
#define S_NONE     UINT64_MAX  /* no further valid frame */

struct hg_spill {
    int fd;        /* opened O_APPEND */
    uint64_t size; /* bytes in the file */
    char *path;    /* for messages (owned) */
};

struct hg_spill_reader {
    int fd;                 /* read only */
    uint64_t offset;        /* next byte to look at */
    uint8_t *buf;           /* payload of the frame being checked (owned) */
    size_t buf_cap;         /* its capacity */
    char *path;             /* for messages (owned) */
    hg_spill_stats_t stats; /* what was found so far */
};

static void s_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}

static uint32_t s_get_u32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Checksum of the length field and the payload: a flipped length bit is
 * caught as surely as a flipped payload bit. */
static void s_checksum(const uint8_t len_field[4], const uint8_t *payload, size_t len,
                       uint8_t out[S_SUM_SIZE])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, S_SUM_SIZE);
    crypto_generichash_update(&st, len_field, 4);
    crypto_generichash_update(&st, payload, len);
    crypto_generichash_final(&st, out, S_SUM_SIZE);
}

static int s_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/* 1 when all n bytes were read, 0 at end of file first, -1 on error. */
static int s_pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t) off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) return 0;
        p += r;
        n -= (size_t) r;
        off += (uint64_t) r;
    }
    return 1;
}

/* fsync the directory holding path, so that a new file's entry is durable. */
static int s_sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (dfd < 0) return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

/* ---------------------------------------------------------------- writer */

hg_spill_t *hg_spill_open(const char *path, char *err, size_t err_size)
{
    if (!path || !*path) {
        snprintf(err, err_size, "spill file: no path");
        return NULL;
    }
    if (sodium_init() < 0) {
        snprintf(err, err_size, "spill file: libsodium cannot initialise");
        return NULL;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "spill file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        snprintf(err, err_size, "spill file %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    uint64_t size = (uint64_t) sb.st_size;
    if (size > 0) {
        uint8_t head[HG_SPILL_HEADER_SIZE];
        size_t n = size < sizeof head ? (size_t) size : sizeof head;
        if (s_pread_all(fd, head, n, 0) != 1 || memcmp(head, HG_SPILL_HEADER, n) != 0) {
            snprintf(err, err_size, "%s is not a Hourglass spill file (bad header)", path);
            close(fd);
            return NULL;
        }
        if (size < HG_SPILL_HEADER_SIZE) {
            /* A crash while the file was being created: start it again. */
            if (ftruncate(fd, 0) != 0) {
                snprintf(err, err_size, "spill file %s: %s", path, strerror(errno));
                close(fd);
                return NULL;
            }
            size = 0;
        }
    }
    if (size == 0) {
        if (s_write_all(fd, (const uint8_t *) HG_SPILL_HEADER, HG_SPILL_HEADER_SIZE) != 0 ||
            fsync(fd) != 0 || s_sync_dir(path) != 0) {
            snprintf(err, err_size, "spill file %s: cannot write its header: %s", path,
                     strerror(errno));
            close(fd);
            return NULL;
        }
        size = HG_SPILL_HEADER_SIZE;
    }
    hg_spill_t *self = calloc(1, sizeof *self);
    if (self) self->path = strdup(path);
    if (!self || !self->path) {
        snprintf(err, err_size, "spill file %s: out of memory", path);
        if (self) free(self);
        close(fd);
        return NULL;
    }
    self->fd = fd;
    self->size = size;
    return self;
}

int hg_spill_append(hg_spill_t *self, const char *node, const hg_msg_t *msg, char *err,
                    size_t err_size)
{
    if (!self || !node || !msg ||
        (msg->type != HG_MSG_RUN_STARTED && msg->type != HG_MSG_RUN_FINISHED)) {
        snprintf(err, err_size, "spill: only RUN_STARTED / RUN_FINISHED batches are spilled");
        return HG_EINVAL;
    }
    size_t node_len = strlen(node);
    if (node_len > HG_SPILL_NODE_MAX) {
        snprintf(err, err_size, "spill: node name of %zu bytes (limit %d)", node_len,
                 HG_SPILL_NODE_MAX);
        return HG_ETOOBIG;
    }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    int rc = hg_msg_encode(msg, &enc, &enc_len);
    if (rc != 0) {
        snprintf(err, err_size, "spill: cannot encode %zu run records: %s", msg->u.runs.runs_n,
                 hg_strerror(rc));
        return rc;
    }
    size_t payload_len = 1 + node_len + enc_len;
    if (payload_len > HG_SPILL_MAX_PAYLOAD) {
        free(enc);
        snprintf(err, err_size, "spill: frame of %zu bytes (limit %u)", payload_len,
                 (unsigned) HG_SPILL_MAX_PAYLOAD);
        return HG_ETOOBIG;
    }
    size_t total = HG_SPILL_FRAME_HEAD + payload_len;
    uint8_t *frame = malloc(total);
    if (!frame) {
        free(enc);
        snprintf(err, err_size, "spill: out of memory");
        return HG_ENOMEM;
    }
    uint8_t *payload = frame + HG_SPILL_FRAME_HEAD;
    payload[0] = (uint8_t) node_len;
    memcpy(payload + 1, node, node_len);
    memcpy(payload + 1 + node_len, enc, enc_len);
    free(enc);
    memcpy(frame, S_MAGIC, 4);
    s_put_u32(frame + 4, (uint32_t) payload_len);
    s_checksum(frame + 4, payload, payload_len, frame + 8);
    rc = 0;
    if (s_write_all(self->fd, frame, total) != 0) {
        snprintf(err, err_size, "spill file %s: write: %s", self->path, strerror(errno));
        /* Take back a partial frame so later appends do not follow it. */
        if (ftruncate(self->fd, (off_t) self->size) != 0) {
            /* The reader skips a torn frame; nothing more to do here. */
        }
        rc = HG_EIO;
    } else {
        self->size += total;
    }
    free(frame);
    return rc;
}

int hg_spill_sync(hg_spill_t *self, char *err, size_t err_size)
{
    if (fsync(self->fd) != 0) {
        snprintf(err, err_size, "spill file %s: fsync: %s", self->path, strerror(errno));
        return HG_EIO;
    }
    return 0;
}

uint64_t hg_spill_size(const hg_spill_t *self)
{
    return self ? self->size : 0;
}

void hg_spill_close(hg_spill_t **p)
{
    if (p && *p) {
        close((*p)->fd);
        free((*p)->path);
        free(*p);
        *p = NULL;
    }
}

/* ---------------------------------------------------------------- reader */

hg_spill_reader_t *hg_spill_reader_open(const char *path, uint64_t offset, char *err,
                                        size_t err_size)
{
    if (sodium_init() < 0) {
        snprintf(err, err_size, "spill file: libsodium cannot initialise");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "spill file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    uint8_t head[HG_SPILL_HEADER_SIZE];
    if (fstat(fd, &sb) != 0) {
        snprintf(err, err_size, "spill file %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t n = (uint64_t) sb.st_size < sizeof head ? (size_t) sb.st_size : sizeof head;
    if (s_pread_all(fd, head, n, 0) != 1 || memcmp(head, HG_SPILL_HEADER, n) != 0) {
        snprintf(err, err_size, "%s is not a Hourglass spill file (bad header)", path);
        close(fd);
        return NULL;
    }
    hg_spill_reader_t *self = calloc(1, sizeof *self);
    if (self) self->path = strdup(path);
    if (!self || !self->path) {
        snprintf(err, err_size, "spill file %s: out of memory", path);
        if (self) free(self);
        close(fd);
        return NULL;
    }
    self->fd = fd;
    self->offset = offset < HG_SPILL_HEADER_SIZE ? HG_SPILL_HEADER_SIZE : offset;
    return self;
}

static uint64_t s_file_size(hg_spill_reader_t *self)
{
    struct stat sb;
    return fstat(self->fd, &sb) == 0 ? (uint64_t) sb.st_size : 0;
}

/* Check the frame at off: 1 valid (payload in self->buf, length in *len),
 * 0 it runs past the end of the file, -1 not a valid frame, -2 read error. */
static int s_frame_check(hg_spill_reader_t *self, uint64_t off, uint64_t size, uint32_t *len)
{
    uint8_t head[HG_SPILL_FRAME_HEAD];
    if (size - off < HG_SPILL_FRAME_HEAD) return 0;
    int r = s_pread_all(self->fd, head, sizeof head, off);
    if (r < 0) return -2;
    if (r == 0) return 0;
    if (memcmp(head, S_MAGIC, 4) != 0) return -1;
    uint32_t n = s_get_u32(head + 4);
    if (n == 0 || n > HG_SPILL_MAX_PAYLOAD) return -1;
    if (size - off - HG_SPILL_FRAME_HEAD < n) return 0;
    if (self->buf_cap < n) {
        uint8_t *b = realloc(self->buf, n);
        if (!b) return -2;
        self->buf = b;
        self->buf_cap = n;
    }
    r = s_pread_all(self->fd, self->buf, n, off + HG_SPILL_FRAME_HEAD);
    if (r < 0) return -2;
    if (r == 0) return 0;
    uint8_t sum[S_SUM_SIZE];
    s_checksum(head + 4, self->buf, n, sum);
    if (sodium_memcmp(sum, head + 8, S_SUM_SIZE) != 0) return -1;
    *len = n;
    return 1;
}

/* The offset of the next valid frame after from, or S_NONE. */
static uint64_t s_resync(hg_spill_reader_t *self, uint64_t from, uint64_t size)
{
    uint8_t *win = malloc(S_WINDOW);
    if (!win) return S_NONE;
    uint64_t at = from;
    uint64_t found = S_NONE;
    while (found == S_NONE && at + 4 <= size) {
        size_t want = size - at < S_WINDOW ? (size_t) (size - at) : S_WINDOW;
        if (s_pread_all(self->fd, win, want, at) != 1) break;
        size_t i = 0;
        while (i + 4 <= want) {
            uint8_t *p = memmem(win + i, want - i, S_MAGIC, 4);
            if (!p) break;
            uint64_t cand = at + (uint64_t) (p - win);
            uint32_t len;
            if (s_frame_check(self, cand, size, &len) == 1) {
                found = cand;
                break;
            }
            i = (size_t) (p - win) + 1;
        }
        /* Overlap by 3 bytes so a magic split between windows is seen. */
        at += want > 3 ? want - 3 : want;
        if (want < S_WINDOW) break;
    }
    free(win);
    return found;
}

/* Payload -> node and message. 0 or -1 (undecodable: a bug that wrote it,
 * since the checksum matched). */
static int s_payload_decode(const uint8_t *p, uint32_t len, char *node, size_t node_size,
                            hg_msg_t **msg)
{
    size_t node_len = p[0];
    if (1 + node_len >= len) return -1;
    char detail[128];
    if (hg_msg_decode(p + 1 + node_len, len - 1 - node_len, msg, detail, sizeof detail) != 0)
        return -1;
    if ((*msg)->type != HG_MSG_RUN_STARTED && (*msg)->type != HG_MSG_RUN_FINISHED) {
        hg_msg_destroy(msg);
        return -1;
    }
    size_t n = node_len < node_size - 1 ? node_len : node_size - 1;
    memcpy(node, p + 1, n);
    node[n] = '\0';
    return 0;
}

int hg_spill_next(hg_spill_reader_t *self, char *node, size_t node_size, hg_msg_t **msg, char *err,
                  size_t err_size)
{
    *msg = NULL;
    for (;;) {
        uint64_t size = s_file_size(self);
        uint64_t off = self->offset;
        if (off >= size) return 0;
        uint32_t len = 0;
        int rc = s_frame_check(self, off, size, &len);
        if (rc == -2) {
            snprintf(err, err_size, "spill file %s: read at offset %llu: %s", self->path,
                     (unsigned long long) off, errno ? strerror(errno) : "out of memory");
            return HG_EIO;
        }
        if (rc == 1) {
            self->offset = off + HG_SPILL_FRAME_HEAD + len;
            if (s_payload_decode(self->buf, len, node, node_size, msg) != 0) {
                self->stats.bad_frames++;
                continue;
            }
            self->stats.frames++;
            self->stats.records += (*msg)->u.runs.runs_n;
            return 1;
        }
        uint64_t next = s_resync(self, off + 1, size);
        if (next == S_NONE) {
            if (rc == 0) {
                /* An incomplete frame with nothing valid after it: the
                 * append a crash interrupted. The offset stays on it. */
                self->stats.torn_tail = true;
                self->stats.torn_offset = off;
                self->stats.torn_bytes = size - off;
                return 0;
            }
            self->stats.bad_frames++;
            self->stats.skipped_bytes += size - off;
            self->offset = size;
            return 0;
        }
        self->stats.bad_frames++;
        self->stats.skipped_bytes += next - off;
        self->offset = next;
    }
}

uint64_t hg_spill_reader_offset(const hg_spill_reader_t *self)
{
    return self->offset;
}

const hg_spill_stats_t *hg_spill_reader_stats(const hg_spill_reader_t *self)
{
    return &self->stats;
}

void hg_spill_reader_close(hg_spill_reader_t **p)
{
    if (p && *p) {
        close((*p)->fd);
        free((*p)->buf);
        free((*p)->path);
        free(*p);
        *p = NULL;
    }
}
