/* plugin_cache: content-addressed plug-in cache of a worker and the
 * fetches from the master that fill it. See plugin_cache.h for the rules.
 *
 * One fetch per hash, one PLUGIN_GET outstanding per fetch: chunks are
 * asked for in order, so a chunk is accepted only at the offset asked for
 * and a late duplicate (after a resend) is dropped. The SHA-256 is computed
 * as the bytes arrive; the temporary file is renamed into place only after
 * the digest matches, so <dir>/<sha>.so always holds what its name says. */
#include "plugin_cache.h"
#include "hg_error.h"
#include "hg_time.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_DEFAULT_TIMEOUT_MS 30000u /* fetch without progress -> failed */
#define S_DEFAULT_PARKED     64u    /* runs waiting per plug-in */
#define S_FAIL_HOLD_MS       5000   /* after a failure, new runs fail at once this long */
#define S_ERROR_MAX          512    /* bytes of an error text */

/* One fetch in progress. */
typedef struct {
    char sha[HG_PROTO_SHA256_HEX + 1]; /* hash being fetched */
    char tmp[PATH_MAX];                /* temporary file */
    int fd;                            /* open on tmp */
    uint64_t offset;                   /* next byte wanted */
    uint64_t total;                    /* size, 0 until the first chunk */
    crypto_hash_sha256_state hash;     /* digest of bytes [0, offset) */
    int64_t progress_mono;             /* last start or accepted chunk */
    int64_t sent_mono;                 /* last PLUGIN_GET sent */
    void **parked;                     /* items waiting */
    size_t parked_n;                   /* number waiting */
} s_fetch_t;

/* What the last failed fetch of a hash said. */
typedef struct {
    char error[S_ERROR_MAX]; /* the error text */
    int64_t until_mono;      /* new runs fail at once until then */
} s_failure_t;

struct hg_plugin_cache {
    hg_plugin_cache_config_t cfg; /* settings and callbacks (dir copied below) */
    char *dir;                    /* cache directory */
    zhashx_t *verified;           /* sha -> (void *) 1 for every verified file */
    zhashx_t *fetches;            /* sha -> s_fetch_t (no destructor: freed by hand) */
    zhashx_t *failures;           /* sha -> s_failure_t */
    size_t parked_total;          /* items parked over all fetches */
};

bool hg_plugin_cache_valid_sha(const char *sha)
{
    if (!sha) return false;
    size_t i = 0;
    for (; sha[i] && i < HG_PROTO_SHA256_HEX; i++)
        if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f'))) return false;
    return i == HG_PROTO_SHA256_HEX && sha[i] == '\0';
}

static void s_hex(const unsigned char *digest, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < crypto_hash_sha256_BYTES; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * crypto_hash_sha256_BYTES] = '\0';
}

/* SHA-256 of a file in hex; 0 or HG_EIO. */
static int s_hash_file(const char *path, char *hex)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return HG_EIO;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            close(fd);
            return HG_EIO;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long) n);
    }
    close(fd);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    s_hex(digest, hex);
    return 0;
}

static int s_mkdirs(const char *dir)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", dir) >= (int) sizeof path) return HG_ETOOBIG;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return HG_EIO;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return HG_EIO;
    return 0;
}

/* Index the directory: keep files whose content matches their name, drop
 * the rest and any temporary file left by an earlier run. */
static int s_scan(hg_plugin_cache_t *self, char *err, size_t err_size)
{
    DIR *d = opendir(self->dir);
    if (!d) {
        snprintf(err, err_size, "plug-in cache %s: %s", self->dir, strerror(errno));
        return HG_EIO;
    }
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *name = ent->d_name;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", self->dir, name) >= (int) sizeof path) continue;
        size_t len = strlen(name);
        if (name[0] == '.' && len > 5 && strcmp(name + len - 5, ".part") == 0) {
            unlink(path);
            continue;
        }
        if (len != HG_PROTO_SHA256_HEX + 3 || strcmp(name + HG_PROTO_SHA256_HEX, ".so") != 0)
            continue;
        char sha[HG_PROTO_SHA256_HEX + 1], got[HG_PROTO_SHA256_HEX + 1];
        memcpy(sha, name, HG_PROTO_SHA256_HEX);
        sha[HG_PROTO_SHA256_HEX] = '\0';
        if (!hg_plugin_cache_valid_sha(sha)) continue;
        if (s_hash_file(path, got) == 0 && strcmp(got, sha) == 0)
            zhashx_insert(self->verified, sha, (void *) 1);
        else
            unlink(path); /* corrupt: fetched again when needed */
    }
    closedir(d);
    return 0;
}

static void s_fetch_free(void **item)
{
    s_fetch_t *f = *item;
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    if (f->tmp[0]) unlink(f->tmp);
    free(f->parked);
    free(f);
    *item = NULL;
}

static void s_failure_free(void **item)
{
    free(*item);
    *item = NULL;
}

hg_plugin_cache_t *hg_plugin_cache_new(const hg_plugin_cache_config_t *cfg, char *err,
                                       size_t err_size)
{
    if (!cfg || !cfg->dir || !*cfg->dir || !cfg->send_get || !cfg->release) {
        snprintf(err, err_size, "plug-in cache: no directory or callbacks given");
        return NULL;
    }
    if (sodium_init() < 0) {
        snprintf(err, err_size, "plug-in cache: libsodium failed to initialize");
        return NULL;
    }
    hg_plugin_cache_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
        return NULL;
    }
    self->cfg = *cfg;
    if (!self->cfg.fetch_timeout_ms) self->cfg.fetch_timeout_ms = S_DEFAULT_TIMEOUT_MS;
    if (!self->cfg.max_parked) self->cfg.max_parked = S_DEFAULT_PARKED;
    if (!self->cfg.chunk || self->cfg.chunk > HG_PROTO_CHUNK) self->cfg.chunk = HG_PROTO_CHUNK;
    if (!self->cfg.max_size) self->cfg.max_size = HG_PLUGIN_CACHE_MAX_SIZE;
    self->dir = strdup(cfg->dir);
    self->cfg.dir = self->dir;
    self->verified = zhashx_new();
    self->fetches = zhashx_new();
    self->failures = zhashx_new();
    if (!self->dir || !self->verified || !self->fetches || !self->failures) {
        snprintf(err, err_size, "%s", hg_strerror(HG_ENOMEM));
        hg_plugin_cache_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->failures, s_failure_free);
    if (s_mkdirs(self->dir) != 0) {
        snprintf(err, err_size, "plug-in cache %s: cannot create the directory: %s", self->dir,
                 strerror(errno));
        hg_plugin_cache_destroy(&self);
        return NULL;
    }
    if (s_scan(self, err, err_size) != 0) {
        hg_plugin_cache_destroy(&self);
        return NULL;
    }
    return self;
}

/* End a fetch: every parked item comes back with path or error. The fetch
 * is out of the table before the callbacks run, so they may park again. */
static void s_fetch_end(hg_plugin_cache_t *self, s_fetch_t *f, const char *path, const char *error)
{
    zhashx_delete(self->fetches, f->sha); /* the table has no destructor: f stays ours */
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp[0]) unlink(f->tmp); /* after a rename there is nothing left to remove */
    if (error) {
        s_failure_t *old = zhashx_lookup(self->failures, f->sha);
        bool repeat = old && strcmp(old->error, error) == 0;
        if (!old) {
            old = calloc(1, sizeof *old);
            if (old) zhashx_insert(self->failures, f->sha, old);
        }
        if (old) {
            snprintf(old->error, sizeof old->error, "%s", error);
            old->until_mono = hg_mono_ms() + S_FAIL_HOLD_MS;
        }
        if (self->cfg.failed) self->cfg.failed(self->cfg.arg, f->sha, error, repeat);
    } else {
        zhashx_delete(self->failures, f->sha);
    }
    self->parked_total -= f->parked_n;
    for (size_t i = 0; i < f->parked_n; i++)
        self->cfg.release(self->cfg.arg, f->parked[i], error ? NULL : path, error);
    free(f->parked);
    free(f);
}

__attribute__((format(printf, 3, 4))) static void s_fetch_fail(hg_plugin_cache_t *self,
                                                               s_fetch_t *f, const char *fmt, ...)
{
    char text[S_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s_fetch_end(self, f, NULL, text);
}

static void s_send_get(hg_plugin_cache_t *self, s_fetch_t *f)
{
    hg_plugin_get_t get = {.sha256 = f->sha, .offset = f->offset, .max = self->cfg.chunk};
    f->sent_mono = hg_mono_ms();
    self->cfg.send_get(self->cfg.arg, &get);
}

void hg_plugin_cache_destroy(hg_plugin_cache_t **cache_p)
{
    if (!cache_p || !*cache_p) return;
    hg_plugin_cache_t *self = *cache_p;
    if (self->fetches) {
        s_fetch_t *f;
        while ((f = zhashx_first(self->fetches))) {
            /* Not a failure of the plug-in: no "failed" callback. */
            zhashx_delete(self->fetches, f->sha);
            for (size_t i = 0; i < f->parked_n; i++)
                self->cfg.release(self->cfg.arg, f->parked[i], NULL, "worker stopping");
            f->parked_n = 0;
            void *item = f;
            s_fetch_free(&item);
        }
    }
    zhashx_destroy(&self->fetches);
    zhashx_destroy(&self->verified);
    zhashx_destroy(&self->failures);
    free(self->dir);
    free(self);
    *cache_p = NULL;
}

bool hg_plugin_cache_lookup(hg_plugin_cache_t *self, const char *sha, char *path, size_t size)
{
    if (!self || !hg_plugin_cache_valid_sha(sha)) return false;
    snprintf(path, size, "%s/%s.so", self->dir, sha);
    if (zhashx_lookup(self->verified, sha)) {
        if (access(path, R_OK) == 0) return true;
        zhashx_delete(self->verified, sha); /* removed behind our back: fetch it again */
        return false;
    }
    /* A file put there since start (by an operator, or another worker
     * sharing the directory) counts once its content matches its name. */
    char got[HG_PROTO_SHA256_HEX + 1];
    if (zhashx_lookup(self->fetches, sha) || access(path, R_OK) != 0) return false;
    if (s_hash_file(path, got) != 0 || strcmp(got, sha) != 0) return false;
    zhashx_insert(self->verified, sha, (void *) 1);
    return true;
}

int hg_plugin_cache_park(hg_plugin_cache_t *self, const char *sha, void *item, char *err,
                         size_t err_size)
{
    if (!self || !item || !hg_plugin_cache_valid_sha(sha)) {
        snprintf(err, err_size, "plug-in sha256 \"%.80s\" is not 64 lowercase hex digits",
                 sha ? sha : "");
        return HG_EINVAL;
    }
    s_fetch_t *f = zhashx_lookup(self->fetches, sha);
    if (!f) {
        s_failure_t *fail = zhashx_lookup(self->failures, sha);
        if (fail && hg_mono_ms() < fail->until_mono) {
            snprintf(err, err_size, "%s", fail->error);
            return HG_EUNAVAIL;
        }
        f = calloc(1, sizeof *f);
        if (f) f->parked = calloc(self->cfg.max_parked, sizeof *f->parked);
        if (!f || !f->parked) {
            free(f);
            snprintf(err, err_size, "plug-in sha256 %s: %s", sha, hg_strerror(HG_ENOMEM));
            return HG_ENOMEM;
        }
        memcpy(f->sha, sha, sizeof f->sha);
        crypto_hash_sha256_init(&f->hash);
        snprintf(f->tmp, sizeof f->tmp, "%s/.%s.%ld.part", self->dir, sha, (long) getpid());
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (f->fd < 0) {
            snprintf(err, err_size, "plug-in sha256 %s: cannot create %s: %s", sha, f->tmp,
                     strerror(errno));
            free(f->parked);
            free(f);
            return HG_EIO;
        }
        f->progress_mono = hg_mono_ms();
        zhashx_insert(self->fetches, sha, f);
        s_send_get(self, f);
    }
    if (f->parked_n >= self->cfg.max_parked) {
        snprintf(err, err_size,
                 "plug-in sha256 %s: %zu runs already wait for its fetch from the master", sha,
                 f->parked_n);
        return HG_ETOOBIG;
    }
    f->parked[f->parked_n++] = item;
    self->parked_total++;
    return 0;
}

static int s_write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return HG_EIO;
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* All bytes are in: check the digest, then move the file into place. */
static void s_fetch_complete(hg_plugin_cache_t *self, s_fetch_t *f)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    char got[HG_PROTO_SHA256_HEX + 1];
    crypto_hash_sha256_final(&f->hash, digest);
    s_hex(digest, got);
    if (strcmp(got, f->sha) != 0) {
        s_fetch_fail(self, f, "plug-in sha256 %s: hash mismatch (got %s)", f->sha, got);
        return;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.so", self->dir, f->sha);
    if (fsync(f->fd) != 0 || close(f->fd) != 0) {
        f->fd = -1;
        s_fetch_fail(self, f, "plug-in sha256 %s: cannot write %s: %s", f->sha, f->tmp,
                     strerror(errno));
        return;
    }
    f->fd = -1;
    if (rename(f->tmp, path) != 0) {
        s_fetch_fail(self, f, "plug-in sha256 %s: cannot move it into the cache %s: %s", f->sha,
                     self->dir, strerror(errno));
        return;
    }
    f->tmp[0] = '\0';
    zhashx_insert(self->verified, f->sha, (void *) 1);
    s_fetch_end(self, f, path, NULL);
}

void hg_plugin_cache_on_chunk(hg_plugin_cache_t *self, const hg_plugin_chunk_t *c)
{
    if (!self || !c || !c->sha256) return;
    s_fetch_t *f = zhashx_lookup(self->fetches, c->sha256);
    if (!f) return; /* late answer to a fetch that ended */
    if (c->code != 0) {
        if (c->code == HG_ENOTFOUND)
            s_fetch_fail(self, f, "plug-in sha256 %s: not found on the master%s%s", f->sha,
                         c->error ? ": " : "", c->error ? c->error : "");
        else
            s_fetch_fail(self, f, "plug-in sha256 %s: the master refused it: %s (%s)", f->sha,
                         c->error ? c->error : hg_strerror(c->code), hg_err_name(c->code));
        return;
    }
    if (c->offset != f->offset) return; /* a duplicate after a resend */
    if (f->total == 0) {
        if (c->total == 0) {
            s_fetch_fail(self, f, "plug-in sha256 %s: the master sent an empty file", f->sha);
            return;
        }
        if (c->total > self->cfg.max_size) {
            s_fetch_fail(
                self, f, "plug-in sha256 %s: size %llu bytes is over this worker's limit of %llu",
                f->sha, (unsigned long long) c->total, (unsigned long long) self->cfg.max_size);
            return;
        }
        f->total = c->total;
    } else if (c->total != f->total) {
        s_fetch_fail(self, f, "plug-in sha256 %s: the master changed its size from %llu to %llu",
                     f->sha, (unsigned long long) f->total, (unsigned long long) c->total);
        return;
    }
    if (c->data.len == 0 || c->data.len > f->total - f->offset) {
        s_fetch_fail(self, f,
                     "plug-in sha256 %s: bad chunk from the master (%zu bytes at offset %llu of "
                     "%llu)",
                     f->sha, c->data.len, (unsigned long long) c->offset,
                     (unsigned long long) f->total);
        return;
    }
    if (s_write_all(f->fd, c->data.data, c->data.len) != 0) {
        s_fetch_fail(self, f, "plug-in sha256 %s: cannot write %s: %s", f->sha, f->tmp,
                     strerror(errno));
        return;
    }
    crypto_hash_sha256_update(&f->hash, c->data.data, c->data.len);
    f->offset += c->data.len;
    f->progress_mono = hg_mono_ms();
    if (f->offset == f->total)
        s_fetch_complete(self, f);
    else
        s_send_get(self, f);
}

void hg_plugin_cache_tick(hg_plugin_cache_t *self)
{
    if (!self) return;
    int64_t now = hg_mono_ms();
    int64_t resend_ms = self->cfg.fetch_timeout_ms / 5;
    /* Collect first: failing a fetch changes the table. */
    zlistx_t *stalled = zlistx_new();
    if (!stalled) return;
    for (s_fetch_t *f = zhashx_first(self->fetches); f; f = zhashx_next(self->fetches)) {
        if (now - f->progress_mono >= self->cfg.fetch_timeout_ms)
            zlistx_add_end(stalled, f);
        else if (now - f->sent_mono >= resend_ms)
            s_send_get(self, f);
    }
    for (s_fetch_t *f = zlistx_first(stalled); f; f = zlistx_next(stalled))
        s_fetch_fail(self, f,
                     "plug-in sha256 %s: fetch from the master made no progress for %u ms "
                     "(%llu of %llu bytes received)",
                     f->sha, self->cfg.fetch_timeout_ms, (unsigned long long) f->offset,
                     (unsigned long long) f->total);
    zlistx_destroy(&stalled);
}

void hg_plugin_cache_resend(hg_plugin_cache_t *self)
{
    if (!self) return;
    for (s_fetch_t *f = zhashx_first(self->fetches); f; f = zhashx_next(self->fetches))
        s_send_get(self, f);
}

char **hg_plugin_cache_list(hg_plugin_cache_t *self, size_t *n)
{
    *n = 0;
    if (!self) return NULL;
    size_t count = zhashx_size(self->verified);
    if (count == 0) return NULL;
    char **out = calloc(count, sizeof *out);
    if (!out) return NULL;
    for (void *v = zhashx_first(self->verified); v && *n < count; v = zhashx_next(self->verified))
        out[(*n)++] = (char *) zhashx_cursor(self->verified);
    return out;
}

size_t hg_plugin_cache_parked(const hg_plugin_cache_t *self)
{
    return self ? self->parked_total : 0;
}

size_t hg_plugin_cache_fetching(const hg_plugin_cache_t *self)
{
    return self ? zhashx_size(self->fetches) : 0;
}
