/* plugin_cache: the worker's on-disk cache of plug-ins named by content
 * hash, and the fetches from the master that fill it (DESIGN.md section 6).
 *
 * A job may name its plug-in by SHA-256. The worker loads <dir>/<sha>.so
 * when the cache holds it; otherwise the runs that need it are parked here,
 * the plug-in is fetched with PLUGIN_GET / PLUGIN_CHUNK, one chunk at a
 * time, into a temporary file, its SHA-256 is checked (libsodium), and only
 * then is it renamed into the cache and the parked runs released. A hash
 * mismatch, a refusal by the master (code != 0), an oversize or inconsistent
 * answer, or a fetch that makes no progress for fetch_timeout_ms releases
 * every parked run with the same clear error, and the owner hears of the
 * failure once (to log it once). For a few seconds after a failure, new
 * runs of that plug-in fail at once with the same error instead of
 * starting another fetch.
 *
 * Not an actor: the worker's agent owns it and drives it from its loop
 * (it owns the socket to the master). Files found in the directory at start
 * are hashed again; a file whose content does not match its name is
 * removed. The cache never logs; the owner does.
 *
 * Ownership: parked items are opaque pointers owned by the cache until they
 * come back through release (exactly once each, also on destroy). */
#ifndef HG_WORKER_PLUGIN_CACHE_H
#define HG_WORKER_PLUGIN_CACHE_H

#include "hg_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_PLUGIN_CACHE_MAX_SIZE (256u << 20) /* default limit of a fetched plug-in */

typedef struct hg_plugin_cache hg_plugin_cache_t;

typedef struct {
    const char *dir;           /* cache directory (copied); created if missing */
    uint32_t fetch_timeout_ms; /* a fetch without progress this long fails; 0 means 30 s */
    uint32_t max_parked;       /* runs waiting per plug-in, at most; 0 means 64 */
    uint32_t chunk;            /* bytes asked per PLUGIN_GET; 0 means HG_PROTO_CHUNK */
    uint64_t max_size;         /* largest plug-in accepted; 0 means HG_PLUGIN_CACHE_MAX_SIZE */
    /* Send a PLUGIN_GET to the master. */
    void (*send_get)(void *arg, const hg_plugin_get_t *get);
    /* A parked item comes back: path of the verified shared object, or
     * NULL and the error that ends the run. */
    void (*release)(void *arg, void *item, const char *path, const char *error);
    /* A fetch failed (called once per failed fetch, before the releases);
     * repeat: the same hash failed the same way last time. May be NULL. */
    void (*failed)(void *arg, const char *sha256, const char *error, bool repeat);
    void *arg; /* for the callbacks */
} hg_plugin_cache_config_t;

/* Open (create) the cache directory and index the verified plug-ins in it.
 * NULL with a message in err when the directory cannot be made or read. */
hg_plugin_cache_t *hg_plugin_cache_new(const hg_plugin_cache_config_t *cfg, char *err,
                                       size_t err_size);

/* Abandon the fetches (temporary files removed), release every parked item
 * with the error "worker stopping", free the cache, NULL the pointer. Safe on
 * NULL. */
void hg_plugin_cache_destroy(hg_plugin_cache_t **cache);

/* true when sha256 names a 64-digit lowercase hex string. */
bool hg_plugin_cache_valid_sha(const char *sha256);

/* true when the cache holds the verified plug-in; its path goes to path.
 * A file that appeared in the directory since start is hashed first. */
bool hg_plugin_cache_lookup(hg_plugin_cache_t *cache, const char *sha256, char *path, size_t size);

/* Park item until sha256 is in the cache, starting a fetch if none runs.
 * 0 (the cache owns item now), or a negative HG_E* code with the error for
 * the run in err (item stays the caller's): HG_EINVAL bad hash, HG_ETOOBIG
 * too many runs parked, HG_EUNAVAIL the last fetch failed moments ago,
 * HG_EIO the temporary file cannot be made. Call lookup first. */
int hg_plugin_cache_park(hg_plugin_cache_t *cache, const char *sha256, void *item, char *err,
                         size_t err_size);

/* Feed a PLUGIN_CHUNK from the master. Chunks of no running fetch and
 * chunks at an offset other than the one asked for are ignored. */
void hg_plugin_cache_on_chunk(hg_plugin_cache_t *cache, const hg_plugin_chunk_t *chunk);

/* Periodic work: fail fetches without progress for fetch_timeout_ms and
 * ask again for a chunk unanswered for a fifth of that. */
void hg_plugin_cache_tick(hg_plugin_cache_t *cache);

/* Ask again for the pending chunk of every fetch (after a reconnect). */
void hg_plugin_cache_resend(hg_plugin_cache_t *cache);

/* Hashes of the verified plug-ins, for HELLO: a malloc'ed array of
 * borrowed strings (valid until the next call into the cache) the caller
 * frees with free(); *n gets the count. NULL when empty. */
char **hg_plugin_cache_list(hg_plugin_cache_t *cache, size_t *n);

/* Runs parked, fetches running (for tests and logs). */
size_t hg_plugin_cache_parked(const hg_plugin_cache_t *cache);
size_t hg_plugin_cache_fetching(const hg_plugin_cache_t *cache);

#endif
