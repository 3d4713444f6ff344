/* test_tz: the TZif reader against crafted zone files (written to a
 * temporary TZDIR): a footer rule after a transition far in the past is
 * expanded only over the years that matter, so loading stays fast and
 * the zone still answers for today; absurd instants and offsets are
 * refused as corrupt instead of overflowing the local-time keys. */
#include "hg_error.h"
#include "hg_time.h"
#include "hg_tz.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[] = "/tmp/hg_test_tz_XXXXXX";

static void s_be32(unsigned char **p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *(*p)++ = (unsigned char) (v >> (8 * i));
}

/* Write zone `name` as TZif version 2 with one transition at `at` (UTC
 * seconds) to a type of offset utoff, and the footer POSIX string. */
static void s_write_zone(const char *name, int64_t at, int32_t utoff, const char *footer)
{
    unsigned char buf[512], *p = buf;
    /* Version-1 block: no transitions, one type (LMT). */
    memcpy(p, "TZif2", 5);
    p += 5;
    memset(p, 0, 15);
    p += 15;
    uint32_t v1[6] = {0, 0, 0, 0, 1, 4};
    for (int i = 0; i < 6; i++)
        s_be32(&p, v1[i]);
    s_be32(&p, 0);
    *p++ = 0;
    *p++ = 0;
    memcpy(p, "LMT", 4);
    p += 4;
    /* Version-2 block: one transition. */
    memcpy(p, "TZif2", 5);
    p += 5;
    memset(p, 0, 15);
    p += 15;
    uint32_t v2[6] = {0, 0, 0, 1, 1, 4};
    for (int i = 0; i < 6; i++)
        s_be32(&p, v2[i]);
    s_be32(&p, (uint32_t) ((uint64_t) at >> 32));
    s_be32(&p, (uint32_t) (uint64_t) at);
    *p++ = 0; /* transition -> type 0 */
    s_be32(&p, (uint32_t) utoff);
    *p++ = 0;
    *p++ = 0;
    memcpy(p, "EST", 4);
    p += 4;
    p += sprintf((char *) p, "\n%s\n", footer);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, (size_t) (p - buf), f), (size_t) (p - buf));
    fclose(f);
}

static int s_setup(void **state)
{
    (void) state;
    if (!mkdtemp(s_dir)) return -1;
    return setenv("TZDIR", s_dir, 1);
}

static int s_teardown(void **state)
{
    (void) state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A last transition a billion years back: expanding the footer from
 * there took billions of transitions (minutes and gigabytes); now it is
 * bounded, and the zone is still right for this century. */
static void test_footer_expansion_is_bounded(void **state)
{
    (void) state;
    s_write_zone("Ancient", -((int64_t) 1 << 55), -5 * 3600, "EST5EDT,M3.2.0,M11.1.0");
    const hg_tz_t *tz = NULL;
    char err[256] = "";
    int64_t t0 = hg_mono_ms();
    assert_int_equal(hg_tz_get("Ancient", &tz, err, sizeof err), 0);
    assert_true(hg_mono_ms() - t0 < 2000);
    int64_t july = 1782864000;    /* 2026-07-01T00:00:00Z */
    int64_t january = 1767225600; /* 2026-01-01T00:00:00Z */
    assert_int_equal(hg_tz_offset(tz, july, NULL, NULL), -4 * 3600);
    assert_int_equal(hg_tz_offset(tz, january, NULL, NULL), -5 * 3600);
}

/* Instants near the ends of int64 and offsets beyond a day are corrupt
 * files, not zones. */
static void test_absurd_values_refused(void **state)
{
    (void) state;
    s_write_zone("Far", (int64_t) 1 << 62, -5 * 3600, "EST5EDT,M3.2.0,M11.1.0");
    s_write_zone("Wide", 1000, INT32_MIN, "EST5");
    const hg_tz_t *tz = NULL;
    char err[256] = "";
    assert_int_equal(hg_tz_get("Far", &tz, err, sizeof err), HG_ETZ);
    assert_non_null(strstr(err, "corrupt TZif data"));
    assert_int_equal(hg_tz_get("Wide", &tz, err, sizeof err), HG_ETZ);
    assert_non_null(strstr(err, "corrupt TZif data"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footer_expansion_is_bounded),
        cmocka_unit_test(test_absurd_values_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
