/* Unit tests for common/hg_keyhash.c and the keyed hg_runid_hash: equal
 * keys hash alike, the key is drawn per process, and run ids a peer crafts
 * to collide under the old unkeyed hash (same last 8 bytes) spread out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hg_keyhash.h"
#include "hg_runid.h"

/* The hash of "worker-1" in a fresh child process. */
static size_t s_hash_in_child(void)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t h = hg_keyhash_str("worker-1");
        _exit(write(fds[1], &h, sizeof h) == (ssize_t) sizeof h ? 0 : 1);
    }
    size_t h = 0;
    assert_int_equal(read(fds[0], &h, sizeof h), (ssize_t) sizeof h);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    return h;
}

/* Runs first: this process has not drawn its key yet, so each child draws
 * its own. Two draws of a 128-bit key giving the same hash: 2^-64. */
static void test_key_is_per_process(void **state)
{
    (void) state;
    assert_true(s_hash_in_child() != s_hash_in_child());
}

static void test_equal_keys_hash_alike(void **state)
{
    (void) state;
    assert_int_equal(hg_keyhash_str("worker-1"), hg_keyhash_str("worker-1"));
    assert_true(hg_keyhash_str("worker-1") != hg_keyhash_str("worker-2"));
    assert_int_equal(hg_keyhash_bytes("abc", 3), hg_keyhash_str("abc"));
    assert_true(hg_keyhash_bytes("", 0) != hg_keyhash_str("a"));
}

/* The old hash was the id's last 8 bytes: a peer sending ids that share
 * them put every one in one bucket. Keyed, they spread like any others. */
static void test_crafted_run_ids_spread(void **state)
{
    (void) state;
    enum { N = 8192, BUCKETS = 1024 };
    unsigned *count = calloc(BUCKETS, sizeof *count);
    assert_non_null(count);
    uint8_t id[HG_RUNID_SIZE];
    memset(id, 0xab, sizeof id);
    for (uint32_t i = 0; i < N; i++) {
        memcpy(id, &i, sizeof i); /* only the first bytes differ */
        count[hg_runid_hash(id) % BUCKETS]++;
    }
    unsigned most = 0;
    for (int b = 0; b < BUCKETS; b++)
        if (count[b] > most) most = count[b];
    /* 8 a bucket on average; a fair hash stays far below 40. */
    assert_true(most < 40);
    free(count);

    uint8_t a[HG_RUNID_SIZE], b2[HG_RUNID_SIZE];
    hg_runid_new(a, 1763700000000);
    memcpy(b2, a, sizeof b2);
    assert_int_equal(hg_runid_hash(a), hg_runid_hash(b2));
    b2[0] ^= 1;
    assert_true(hg_runid_hash(a) != hg_runid_hash(b2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_per_process),
        cmocka_unit_test(test_equal_keys_hash_alike),
        cmocka_unit_test(test_crafted_run_ids_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
