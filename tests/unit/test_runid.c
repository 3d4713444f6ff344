/* Unit tests for common/hg_runid.c: ids from the buffered random source
 * are unique and time-ordered, text round-trips, and the raw-key table
 * functions agree with each other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hg_runid.h"

#define N_IDS 20000 /* more than one refill of the random buffer */

static int s_cmp(const void *a, const void *b)
{
    return memcmp(a, b, HG_RUNID_SIZE);
}

static void test_unique_and_ordered(void **state)
{
    (void) state;
    uint8_t(*ids)[HG_RUNID_SIZE] = malloc((size_t) N_IDS * HG_RUNID_SIZE);
    assert_non_null(ids);
    for (int i = 0; i < N_IDS; i++) {
        hg_runid_new(ids[i], 1763700000000 + i / 10);
        assert_int_equal(ids[i][6] >> 4, 7);      /* version 7 */
        assert_int_equal(ids[i][8] & 0xc0, 0x80); /* RFC 4122 variant */
        if (i > 0 && i % 10 == 0) assert_true(memcmp(ids[i - 1], ids[i], 6) < 0);
    }
    qsort(ids, N_IDS, HG_RUNID_SIZE, s_cmp);
    for (int i = 1; i < N_IDS; i++)
        assert_true(memcmp(ids[i - 1], ids[i], HG_RUNID_SIZE) != 0);
    free(ids);
}

/* A forked child must not draw the bytes its parent draws next. */
static void test_fork_does_not_repeat(void **state)
{
    (void) state;
    uint8_t warm[HG_RUNID_SIZE], mine[HG_RUNID_SIZE], theirs[HG_RUNID_SIZE];
    hg_runid_new(warm, 1); /* fill the buffer before the fork */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t id[HG_RUNID_SIZE];
        hg_runid_new(id, 1);
        _exit(write(fds[1], id, sizeof id) == (ssize_t) sizeof id ? 0 : 1);
    }
    hg_runid_new(mine, 1);
    assert_int_equal(read(fds[0], theirs, sizeof theirs), (ssize_t) sizeof theirs);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    close(fds[1]);
    assert_true(memcmp(mine, theirs, HG_RUNID_SIZE) != 0);
}

static void test_text_and_keys(void **state)
{
    (void) state;
    uint8_t a[HG_RUNID_SIZE], b[HG_RUNID_SIZE];
    hg_runid_new(a, 1763700000123);
    char text[HG_RUNID_STR_LEN + 1];
    hg_runid_format(a, text);
    assert_int_equal(strlen(text), HG_RUNID_STR_LEN);
    assert_int_equal(hg_runid_parse(text, b), 0);
    assert_memory_equal(a, b, HG_RUNID_SIZE);
    assert_int_equal(hg_runid_compare(a, b), 0);
    assert_int_equal(hg_runid_hash(a), hg_runid_hash(b));
    void *copy = hg_runid_dup(a);
    assert_non_null(copy);
    assert_int_equal(hg_runid_compare(copy, a), 0);
    hg_runid_free(&copy);
    assert_null(copy);
    hg_runid_free(NULL);
    b[15] ^= 1;
    assert_true(hg_runid_compare(a, b) != 0);
    assert_true(hg_runid_hash(a) != hg_runid_hash(b));
}

/* The floor of a time is at or below every id of that time and after,
 * and above every id of an earlier time (the API bounds a scan with it). */
static void test_floor(void **state)
{
    (void) state;
    int64_t ms = INT64_C(1795255200000);
    uint8_t floor[HG_RUNID_SIZE], id[HG_RUNID_SIZE];
    hg_runid_floor(floor, ms);
    for (int i = 0; i < 1000; i++) {
        hg_runid_new(id, ms + i % 3);
        assert_true(memcmp(floor, id, HG_RUNID_SIZE) <= 0);
        hg_runid_new(id, ms - 1 - i % 3);
        assert_true(memcmp(floor, id, HG_RUNID_SIZE) > 0);
    }
    hg_runid_floor(floor, -5); /* before the epoch: the smallest id */
    uint8_t zero[HG_RUNID_SIZE] = {0};
    assert_memory_equal(floor, zero, HG_RUNID_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unique_and_ordered),
        cmocka_unit_test(test_fork_does_not_repeat),
        cmocka_unit_test(test_text_and_keys),
        cmocka_unit_test(test_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
