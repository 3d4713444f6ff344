/* fuzz_tz: the TZif reader (common/hg_tz.c, RFC 8536), through
 * hg_tz_parse, then the conversions hg_sched makes with a zone.
 *
 * Input: the bytes of a zoneinfo file. Zone files come from the system
 * (or $TZDIR), which an operator controls, but a corrupt or truncated file
 * must give an error, not a crash of every daemon that loads it. */
#include "fuzz_common.h"
#include "hg_error.h"
#include "hg_tz.h"

#include <string.h>

/* Instants (UTC seconds) the schedule engine asks about: cron runs from
 * 1970 to 2199; the footer rules are expanded up to 2400. */
static const int64_t s_instants[] = {
    INT64_C(-2208988800),                           /* 1900 */
    INT64_C(-1),          0, 1, INT64_C(946684800), /* 2000 */
    INT64_C(1711846800),                            /* 2024-03-31T01:00Z, a DST edge in Europe */
    INT64_C(1730595600),                            /* 2024-11-03T01:00Z, a DST edge in the US */
    INT64_C(1767225600),                            /* 2026 */
    INT64_C(4102444800),                            /* 2100 */
    INT64_C(7258118400),                            /* 2200 */
    INT64_C(13569465600),                           /* 2400 */
};

static void s_check_instant(const hg_tz_t *tz, int64_t u)
{
    const char *abbr = NULL;
    bool dst = false;
    int32_t off = hg_tz_offset(tz, u, &abbr, &dst);
    FUZZ_CHECK(abbr != NULL);
    (void) strlen(abbr); /* NUL-terminated inside the zone */
    (void) dst;
    int64_t local = u + off, back = 0, edge = 0;
    hg_tz_local_t k = hg_tz_local_to_utc(tz, local, &back, &edge);
    FUZZ_CHECK(k == HG_TZ_LOCAL_UNIQUE || k == HG_TZ_LOCAL_REPEATED || k == HG_TZ_LOCAL_SKIPPED);
    /* Also the neighbours of each local time, where gaps and overlaps are. */
    for (int64_t d = -3600; d <= 3600; d += 1800)
        (void) hg_tz_local_to_utc(tz, local + d, &back, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hg_tz_t *tz = NULL;
    char err[256];
    int rc = hg_tz_parse("Fuzz/Zone", data, size, &tz, err, sizeof err);
    if (rc != 0) {
        FUZZ_CHECK(tz == NULL && (rc == HG_ETZ || rc == HG_ENOMEM));
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    FUZZ_CHECK(tz != NULL && !hg_tz_is_utc(tz));
    FUZZ_CHECK(strcmp(hg_tz_name(tz), "Fuzz/Zone") == 0);
    for (size_t i = 0; i < sizeof s_instants / sizeof s_instants[0]; i++)
        s_check_instant(tz, s_instants[i]);
    /* Instants the input itself chose: its last bytes, big-endian, as
     * seconds within +-68 years of 1970 (where its transitions are). */
    for (size_t i = 0; i + 4 <= size && i < 64; i += 4) {
        const uint8_t *p = data + size - 4 - i;
        int32_t s =
            (int32_t) ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3]);
        s_check_instant(tz, s);
    }
    hg_tz_free(&tz);
    FUZZ_CHECK(tz == NULL);
    return 0;
}
