// hg-test-sources: worker/plugin_cache.c
/* test_plugin_cache: the worker's plug-in cache. A fake master answers
 * PLUGIN_GET from a buffer; the tests check chunk assembly, SHA-256
 * verification before anything enters the cache, the errors parked runs
 * get (hash mismatch, not found, oversize, no progress), the bound on
 * parked runs, and what a restart finds in the directory. */
#include "hg_error.h"
#include "plugin_cache.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_SIZE  (1300u * 1000u) /* bytes of the fake plug-in: several chunks */
#define S_CHUNK (300u * 1000u)  /* bytes per PLUGIN_GET */

/* The fake master and what came back to the "agent". */
typedef struct {
    uint8_t *data;        /* what the master serves */
    size_t size;          /* its length */
    int32_t code;         /* answer with this code instead, when != 0 */
    bool pending;         /* a PLUGIN_GET waits for an answer */
    hg_plugin_get_t get;  /* the last one (sha copied below) */
    char sha[65];         /* its hash */
    int gets;             /* PLUGIN_GETs sent */
    int released;         /* items back */
    int released_ok;      /* ... with a path */
    char last_error[600]; /* error of the last failed release */
    char last_path[4096]; /* path of the last good release */
    int failed_calls;     /* "failed" callbacks */
    bool last_repeat;     /* repeat flag of the last one */
} s_world_t;

static char s_dir[256];

static void s_send_get(void *arg, const hg_plugin_get_t *get)
{
    s_world_t *w = arg;
    w->get = *get;
    snprintf(w->sha, sizeof w->sha, "%s", get->sha256);
    w->get.sha256 = w->sha;
    w->pending = true;
    w->gets++;
}

static void s_release(void *arg, void *item, const char *path, const char *error)
{
    s_world_t *w = arg;
    w->released++;
    if (path) {
        w->released_ok++;
        snprintf(w->last_path, sizeof w->last_path, "%s", path);
    } else {
        snprintf(w->last_error, sizeof w->last_error, "%s", error ? error : "(null)");
    }
    free(item);
}

static void s_failed(void *arg, const char *sha, const char *error, bool repeat)
{
    s_world_t *w = arg;
    w->failed_calls++;
    w->last_repeat = repeat;
}

/* Answer the pending PLUGIN_GET (at most n times); returns answers given. */
static int s_serve(hg_plugin_cache_t *cache, s_world_t *w, int n)
{
    int given = 0;
    while (w->pending && given < n) {
        w->pending = false;
        hg_plugin_chunk_t c = {.sha256 = w->sha, .offset = w->get.offset, .total = w->size};
        if (w->code) {
            c.code = w->code;
            c.error = "no plug-in with that hash";
        } else {
            size_t len = w->size - (size_t) w->get.offset;
            if (len > w->get.max) len = w->get.max;
            c.data.data = w->data + w->get.offset;
            c.data.len = len;
        }
        hg_plugin_cache_on_chunk(cache, &c);
        given++;
    }
    return given;
}

static void s_hex(const uint8_t *data, size_t len, char *hex)
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, data, len);
    for (size_t i = 0; i < sizeof d; i++)
        sprintf(hex + 2 * i, "%02x", d[i]);
}

static hg_plugin_cache_t *s_cache(s_world_t *w, uint32_t parked, uint32_t timeout_ms,
                                  uint64_t max_size)
{
    hg_plugin_cache_config_t cfg = {.dir = s_dir,
                                    .fetch_timeout_ms = timeout_ms,
                                    .max_parked = parked,
                                    .chunk = S_CHUNK,
                                    .max_size = max_size,
                                    .send_get = s_send_get,
                                    .release = s_release,
                                    .failed = s_failed,
                                    .arg = w};
    char err[512] = "";
    hg_plugin_cache_t *cache = hg_plugin_cache_new(&cfg, err, sizeof err);
    if (!cache) fail_msg("cache: %s", err);
    return cache;
}

static void *s_item(void)
{
    return malloc(1);
}

/* Files in s_dir whose name starts with '.' (temporary files). */
static int s_temp_files(void)
{
    int n = 0;
    DIR *d = opendir(s_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static int s_setup(void **state)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/hg-test-plugin-cache-XXXXXX");
    if (!mkdtemp(s_dir)) return -1;
    /* A directory below it, to check that the cache makes missing parents. */
    strncat(s_dir, "/cache", sizeof s_dir - strlen(s_dir) - 1);
    s_world_t *w = calloc(1, sizeof *w);
    w->size = S_SIZE;
    w->data = malloc(S_SIZE);
    randombytes_buf(w->data, S_SIZE);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    s_world_t *w = *state;
    char cmd[600];
    char *slash = strrchr(s_dir, '/');
    *slash = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0) return -1;
    free(w->data);
    free(w);
    return 0;
}

static void test_fetch_assembles_and_verifies(void **state)
{
    s_world_t *w = *state;
    char sha[65], path[4096], err[600];
    s_hex(w->data, w->size, sha);
    hg_plugin_cache_t *cache = s_cache(w, 4, 0, 0);
    assert_false(hg_plugin_cache_lookup(cache, sha, path, sizeof path));
    /* Three runs wait for one fetch: a single PLUGIN_GET goes out. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    assert_int_equal(w->gets, 1);
    assert_int_equal(hg_plugin_cache_parked(cache), 3);
    assert_int_equal(hg_plugin_cache_fetching(cache), 1);
    assert_string_equal(w->get.sha256, sha);
    assert_int_equal(w->get.offset, 0);
    assert_int_equal(w->get.max, S_CHUNK);

    /* A late duplicate of the first chunk, after the second was asked
     * for, is dropped. */
    assert_int_equal(s_serve(cache, w, 1), 1);
    assert_int_equal(w->get.offset, S_CHUNK);
    hg_plugin_chunk_t dup = {.sha256 = sha, .offset = 0, .total = w->size};
    dup.data.data = w->data;
    dup.data.len = S_CHUNK;
    hg_plugin_cache_on_chunk(cache, &dup);
    assert_int_equal(w->released, 0);
    /* A chunk for a hash nobody fetches is ignored too. */
    hg_plugin_chunk_t other = {.sha256 = "00", .offset = 0, .total = 1};
    hg_plugin_cache_on_chunk(cache, &other);

    assert_int_equal(s_serve(cache, w, 100), 4); /* 1.3 MB in 300 kB chunks */
    assert_int_equal(w->released, 3);
    assert_int_equal(w->released_ok, 3);
    assert_int_equal(hg_plugin_cache_parked(cache), 0);
    assert_int_equal(hg_plugin_cache_fetching(cache), 0);
    assert_true(hg_plugin_cache_lookup(cache, sha, path, sizeof path));
    assert_string_equal(path, w->last_path);
    /* The file holds exactly the bytes served. */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *back = malloc(w->size + 1);
    assert_int_equal(fread(back, 1, w->size + 1, f), w->size);
    fclose(f);
    assert_memory_equal(back, w->data, w->size);
    free(back);
    assert_int_equal(s_temp_files(), 0);
    size_t n = 0;
    char **list = hg_plugin_cache_list(cache, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0], sha);
    free(list);
    hg_plugin_cache_destroy(&cache);
    assert_null(cache);

    /* A restart finds it again; a corrupt file and a stale temporary file
     * are removed. */
    char bad[4200], tmp[4200];
    snprintf(bad, sizeof bad, "%s/%064d.so", s_dir, 0);
    snprintf(tmp, sizeof tmp, "%s/.%s.1.part", s_dir, sha);
    FILE *fb = fopen(bad, "w");
    fputs("not what the name says", fb);
    fclose(fb);
    fb = fopen(tmp, "w");
    fclose(fb);
    cache = s_cache(w, 4, 0, 0);
    assert_true(hg_plugin_cache_lookup(cache, sha, path, sizeof path));
    assert_int_equal(access(bad, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
    char zero[65];
    snprintf(zero, sizeof zero, "%064d", 0);
    assert_false(hg_plugin_cache_lookup(cache, zero, path, sizeof path));
    hg_plugin_cache_destroy(&cache);
}

static void test_hash_mismatch_fails_every_parked_run(void **state)
{
    s_world_t *w = *state;
    char sha[65], path[4096], err[600];
    /* The master serves bytes that are not the ones the job names. */
    s_hex((const uint8_t *) "something else", 14, sha);
    char got[65];
    s_hex(w->data, w->size, got);
    hg_plugin_cache_t *cache = s_cache(w, 4, 0, 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    s_serve(cache, w, 100);
    assert_int_equal(w->released, 2);
    assert_int_equal(w->released_ok, 0);
    char want[600];
    snprintf(want, sizeof want, "plug-in sha256 %s: hash mismatch (got %s)", sha, got);
    assert_string_equal(w->last_error, want);
    assert_int_equal(w->failed_calls, 1); /* logged once, not per run */
    assert_false(w->last_repeat);
    assert_false(hg_plugin_cache_lookup(cache, sha, path, sizeof path));
    assert_int_equal(s_temp_files(), 0);
    /* Right after, a new run fails at once with the same error. */
    void *item = s_item();
    assert_int_equal(hg_plugin_cache_park(cache, sha, item, err, sizeof err), HG_EUNAVAIL);
    assert_string_equal(err, want);
    free(item);
    assert_int_equal(w->gets, 5);
    hg_plugin_cache_destroy(&cache);
}

static void test_not_found_and_limits(void **state)
{
    s_world_t *w = *state;
    char sha[65], err[600];
    s_hex(w->data, w->size, sha);

    /* The master does not have it. */
    w->code = HG_ENOTFOUND;
    hg_plugin_cache_t *cache = s_cache(w, 2, 0, 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    /* Parked runs are bounded. */
    void *item = s_item();
    assert_int_equal(hg_plugin_cache_park(cache, sha, item, err, sizeof err), HG_ETOOBIG);
    char want[600];
    snprintf(want, sizeof want,
             "plug-in sha256 %s: 2 runs already wait for its fetch from the master", sha);
    assert_string_equal(err, want);
    free(item);
    s_serve(cache, w, 1);
    assert_int_equal(w->released, 2);
    snprintf(want, sizeof want,
             "plug-in sha256 %s: not found on the master: no plug-in with that hash", sha);
    assert_string_equal(w->last_error, want);
    hg_plugin_cache_destroy(&cache);
    w->code = 0;

    /* Over the size limit. */
    cache = s_cache(w, 2, 0, 1000);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    s_serve(cache, w, 1);
    snprintf(want, sizeof want,
             "plug-in sha256 %s: size 1300000 bytes is over this worker's limit of 1000", sha);
    assert_string_equal(w->last_error, want);
    hg_plugin_cache_destroy(&cache);

    /* A bad hash never starts a fetch. */
    cache = s_cache(w, 2, 0, 0);
    item = s_item();
    assert_int_equal(hg_plugin_cache_park(cache, "ABC", item, err, sizeof err), HG_EINVAL);
    assert_string_equal(err, "plug-in sha256 \"ABC\" is not 64 lowercase hex digits");
    free(item);
    hg_plugin_cache_destroy(&cache);
}

static void test_no_progress_times_out(void **state)
{
    s_world_t *w = *state;
    char sha[65], err[600];
    s_hex(w->data, w->size, sha);
    hg_plugin_cache_t *cache = s_cache(w, 4, 200, 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    s_serve(cache, w, 1); /* one chunk, then silence */
    w->pending = false;
    usleep(60 * 1000);
    hg_plugin_cache_tick(cache); /* a fifth of the timeout: asks again */
    assert_int_equal(w->gets, 3);
    assert_int_equal(w->get.offset, S_CHUNK);
    assert_int_equal(w->released, 0);
    usleep(200 * 1000);
    hg_plugin_cache_tick(cache);
    assert_int_equal(w->released, 1);
    char want[600];
    snprintf(want, sizeof want,
             "plug-in sha256 %s: fetch from the master made no progress for 200 ms (300000 of "
             "1300000 bytes received)",
             sha);
    assert_string_equal(w->last_error, want);
    assert_int_equal(s_temp_files(), 0);
    hg_plugin_cache_destroy(&cache);
}

static void test_destroy_releases_parked_runs(void **state)
{
    s_world_t *w = *state;
    char sha[65], err[600];
    s_hex(w->data, w->size, sha);
    hg_plugin_cache_t *cache = s_cache(w, 4, 0, 0);
    assert_int_equal(hg_plugin_cache_park(cache, sha, s_item(), err, sizeof err), 0);
    s_serve(cache, w, 1);
    hg_plugin_cache_destroy(&cache);
    assert_int_equal(w->released, 1);
    assert_string_equal(w->last_error, "worker stopping");
    assert_int_equal(w->failed_calls, 0);
    assert_int_equal(s_temp_files(), 0);
    hg_plugin_cache_destroy(&cache); /* idempotent */
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_assembles_and_verifies, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hash_mismatch_fails_every_parked_run, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_and_limits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_progress_times_out, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_releases_parked_runs, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
