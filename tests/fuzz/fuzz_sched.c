/* fuzz_sched: the schedule grammar, hg_sched_parse and what the master and
 * the worker then ask of a parsed schedule (common/hg_sched*.c).
 *
 * Input: up to four lines, as a job gives them over the API:
 *     schedule expression
 *     time zone           (optional)
 *     Dapr due time       (optional)
 *     Dapr ttl            (optional)
 *     Dapr repeats        (optional, decimal)
 * Beyond "no crash": next times are strictly after the instant asked
 * about, prev is at or before it, and parse errors say why. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "hg_sched.h"

#include <string.h>

#define S_BASE_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* Next line of the input as a NUL-terminated copy; NULL past the end. */
static char *s_line(const uint8_t **p, const uint8_t *end)
{
    if (*p > end) return NULL;
    const uint8_t *nl = memchr(*p, '\n', (size_t) (end - *p));
    size_t n = nl ? (size_t) (nl - *p) : (size_t) (end - *p);
    char *s = malloc(n + 1);
    FUZZ_CHECK(s != NULL);
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end + 1;
    return s;
}

static void s_walk(const hg_sched_t *s)
{
    /* Instants the daemons do ask about: near now, the epoch, far ahead. */
    static const int64_t from[] = {S_BASE_MS,
                                   0,
                                   1,
                                   -1,
                                   INT64_C(7258118400000) /* 2200 */,
                                   INT64_C(253402300799000) /* 9999 */};
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        int64_t t = from[i];
        for (int k = 0; k < 4; k++) {
            int64_t n = hg_sched_next(s, t);
            if (n == HG_SCHED_NEVER) break;
            FUZZ_CHECK(n > t);
            t = n;
        }
    }
    int64_t p = hg_sched_prev(s, S_BASE_MS, 0);
    FUZZ_CHECK(p == HG_SCHED_NEVER || (p > 0 && p <= S_BASE_MS));
    int64_t fires[8], next_ms = 0;
    for (int policy = HG_MISFIRE_FIRE_ONCE; policy <= HG_MISFIRE_FIRE_ALL; policy++) {
        size_t n = hg_misfire_plan(s, (hg_misfire_t) policy, S_BASE_MS - 86400000, S_BASE_MS, 1000,
                                   fires, 8, &next_ms);
        FUZZ_CHECK(n <= 8);
    }
    char text[512];
    int want = hg_sched_describe(s, text, sizeof text);
    FUZZ_CHECK(want >= 0 && memchr(text, '\0', sizeof text) != NULL);
    (void) hg_sched_kind(s);
    (void) hg_sched_is_fixed_delay(s);
    FUZZ_CHECK(hg_sched_tz_name(s) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *expr = s_line(&p, end), *tz = s_line(&p, end), *due = s_line(&p, end),
         *ttl = s_line(&p, end), *repeats = s_line(&p, end);
    hg_sched_opts_t opts = {
        .tz = tz,
        .start_ms = 0,
        .due_time = due && *due ? due : NULL,
        .ttl = ttl && *ttl ? ttl : NULL,
        .repeats = repeats ? strtoll(repeats, NULL, 10) : 0,
        .base_ms = S_BASE_MS,
    };
    hg_sched_t *s = NULL;
    char err[256];
    err[0] = '\0';
    int rc = hg_sched_parse(expr, &opts, &s, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(s != NULL);
        s_walk(s);
        hg_sched_destroy(&s);
        FUZZ_CHECK(s == NULL);
    } else {
        FUZZ_CHECK(rc == HG_ESCHEDULE || rc == HG_ETZ);
        FUZZ_CHECK(s == NULL && err[0] != '\0');
    }
    free(expr);
    free(tz);
    free(due);
    free(ttl);
    free(repeats);
    return 0;
}
