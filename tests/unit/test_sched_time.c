/* Tests for hg_sched in time: zones and daylight saving (America/New_York,
 * Europe/London, Australia/Lord_Howe with its 30-minute shift), the TZif
 * footer rule for far dates, @every / @after / @at and every duration
 * format, Dapr due times with repeats and ttl, start/end bounds, misfire
 * policies and `schedule explain`. Expected instants were checked against
 * Python's zoneinfo. */
#include "test_sched_util.h"

#include <pthread.h>
#include <stdlib.h>

#include "hg_tz.h"

static const char *NY = "America/New_York";
static const char *LON = "Europe/London";
static const char *LH = "Australia/Lord_Howe";

/* ---------------------------------------------------------------------------
 * Daylight saving
 */

static void ny_spring_forward_skips(void **state)
{
    /* 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 does not exist that day */
    expect_seq_in("30 2 * * *", NY, "2026-03-07T12:00:00Z", "2026-03-09T06:30:00Z",
                  "2026-03-10T06:30:00Z");
    /* hourly: 01:00 EST, then 03:00 EDT */
    expect_seq_in("0 0 * * * ?", NY, "2026-03-08T05:30:00Z", "2026-03-08T06:00:00Z",
                  "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z");
}

static void ny_fall_back_fires_once(void **state)
{
    /* 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 occurs twice, fires at the
     * first (EDT) occurrence only */
    expect_seq_in("30 1 * * *", NY, "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z",
                  "2026-11-02T06:30:00Z");
    /* asked from inside the second pass: no second fire */
    expect_next_tz("30 1 * * *", NY, "2026-11-01T06:15:00Z", "2026-11-02T06:30:00Z");
    /* every 30 minutes through the repeated hour: no time fires twice */
    expect_seq_in("0 */30 * * * ?", NY, "2026-11-01T04:45:00Z", "2026-11-01T05:00:00Z",
                  "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z");
}

static void london_transitions(void **state)
{
    /* 2026-03-29 01:00 GMT -> 02:00 BST: 01:30 skipped */
    expect_next_tz("30 1 * * *", LON, "2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z");
    /* 2026-10-25 02:00 BST -> 01:00 GMT: 01:30 once, in BST */
    expect_seq_in("30 1 * * *", LON, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z",
                  "2026-10-26T01:30:00Z");
    /* the 00:xx and 02:xx hours are unaffected */
    expect_next_tz("0 0 2 * * ?", LON, "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z");
}

static void lord_howe_half_hour_shift(void **state)
{
    /* 2026-10-04 02:00 +1030 -> 02:30 +11: 02:15 skipped */
    expect_next_tz("15 2 * * *", LH, "2026-10-03T00:00:00Z", "2026-10-04T15:15:00Z");
    expect_seq_in("0 */30 * * * ?", LH, "2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z",
                  "2026-10-03T16:00:00Z");
    /* 2026-04-05 02:00 +11 -> 01:30 +1030: 01:45 once, at +11 */
    expect_seq_in("45 1 * * *", LH, "2026-04-04T00:00:00Z", "2026-04-04T14:45:00Z",
                  "2026-04-05T15:15:00Z");
    expect_seq_in("0 */30 * * * ?", LH, "2026-04-04T14:00:00Z", "2026-04-04T14:30:00Z",
                  "2026-04-04T15:30:00Z", "2026-04-04T16:00:00Z");
}

static void footer_rule_far_future(void **state)
{
    /* past the last transition in the file, the footer TZ string decides */
    expect_next_tz("0 0 12 4 7 ?", NY, "2150-01-01T00:00:00Z", "2150-07-04T16:00:00Z");
    expect_next_tz("0 0 12 4 1 ?", NY, "2150-01-01T00:00:00Z", "2150-01-04T17:00:00Z");
    expect_next_tz("0 0 0 1 1 ?", LH, "2149-06-01T00:00:00Z", "2149-12-31T13:00:00Z");
}

static void tz_offsets_and_abbreviations(void **state)
{
    const hg_tz_t *tz = NULL;
    char err[256];
    assert_int_equal(hg_tz_get(NY, &tz, err, sizeof err), 0);
    const char *abbr = NULL;
    bool dst = false;
    assert_int_equal(hg_tz_offset(tz, T("2026-07-01T00:00:00Z") / 1000, &abbr, &dst), -4 * 3600);
    assert_string_equal(abbr, "EDT");
    assert_true(dst);
    assert_int_equal(hg_tz_offset(tz, T("2026-01-01T00:00:00Z") / 1000, &abbr, &dst), -5 * 3600);
    assert_string_equal(abbr, "EST");
    assert_false(dst);
    /* the same pointer comes back from the cache */
    const hg_tz_t *again = NULL;
    assert_int_equal(hg_tz_get(NY, &again, NULL, 0), 0);
    assert_ptr_equal(tz, again);
    assert_int_equal(hg_tz_get(LH, &tz, err, sizeof err), 0);
    assert_int_equal(hg_tz_offset(tz, T("2026-07-01T00:00:00Z") / 1000, NULL, NULL), 37800);
    assert_int_equal(hg_tz_offset(tz, T("2026-01-01T00:00:00Z") / 1000, NULL, NULL), 39600);
}

static void tz_local_to_utc_kinds(void **state)
{
    const hg_tz_t *tz = NULL;
    assert_int_equal(hg_tz_get(NY, &tz, NULL, 0), 0);
    int64_t utc = 0, edge = 0;
    /* 2026-03-08 02:30 local: skipped, gap ends at 03:00 local */
    int64_t l = T("2026-03-08T02:30:00Z") / 1000;
    assert_int_equal(hg_tz_local_to_utc(tz, l, &utc, &edge), HG_TZ_LOCAL_SKIPPED);
    assert_int_equal(edge, T("2026-03-08T03:00:00Z") / 1000);
    /* 2026-11-01 01:30 local: repeated, first at 05:30Z */
    l = T("2026-11-01T01:30:00Z") / 1000;
    assert_int_equal(hg_tz_local_to_utc(tz, l, &utc, &edge), HG_TZ_LOCAL_REPEATED);
    assert_int_equal(utc, T("2026-11-01T05:30:00Z") / 1000);
    assert_int_equal(edge, T("2026-11-01T02:00:00Z") / 1000);
    l = T("2026-06-01T12:00:00Z") / 1000;
    assert_int_equal(hg_tz_local_to_utc(tz, l, &utc, NULL), HG_TZ_LOCAL_UNIQUE);
    assert_int_equal(utc, T("2026-06-01T16:00:00Z") / 1000);
}

static void tz_errors(void **state)
{
    hg_sched_opts_t o;
    memset(&o, 0, sizeof o);
    o.tz = "Mars/Olympus_Mons";
    expect_error_opts("@daily", &o, HG_ETZ,
                      "time zone: \"Mars/Olympus_Mons\" is not a known IANA zone (no such zone "
                      "in the system zoneinfo)",
                      false);
    o.tz = "../../etc/passwd";
    expect_error_opts("@daily", &o, HG_ETZ,
                      "time zone: \"../../etc/passwd\" is not a valid zone name (allowed: an "
                      "IANA name such as Europe/London)",
                      false);
    o.tz = "/etc/localtime";
    expect_error_opts("@daily", &o, HG_ETZ, "time zone: \"/etc/localtime\" is not a valid", true);
    o.tz = "zone1970.tab"; /* a file in zoneinfo that is not TZif */
    expect_error_opts("@daily", &o, HG_ETZ, "time zone: \"zone1970.tab\"", true);
}

static void tz_utc_names(void **state)
{
    expect_next_tz("0 0 9 * * ?", "", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00Z");
    expect_next_tz("0 0 9 * * ?", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00Z");
    expect_next_tz("0 0 9 * * ?", "Etc/UTC", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00Z");
    hg_sched_t *s = P_tz("@daily", NULL);
    assert_string_equal(hg_sched_tz_name(s), "UTC");
    hg_sched_destroy(&s);
    s = P_tz("@daily", LON);
    assert_string_equal(hg_sched_tz_name(s), LON);
    hg_sched_destroy(&s);
}

static void *s_tz_thread(void *arg)
{
    static const char *zones[] = {"America/New_York", "Europe/London", "Australia/Lord_Howe",
                                  "Asia/Tokyo",       "Europe/Paris",  "America/Chicago"};
    for (int i = 0; i < 200; i++) {
        hg_sched_t *s = NULL;
        hg_sched_opts_t o;
        memset(&o, 0, sizeof o);
        o.tz = zones[(i + (int) (intptr_t) arg) % 6];
        if (hg_sched_parse("0 30 2 * * ?", &o, &s, NULL, 0) != 0) return (void *) 1;
        if (hg_sched_next(s, T("2026-03-08T00:00:00Z")) == HG_SCHED_NEVER) return (void *) 1;
        hg_sched_destroy(&s);
    }
    return NULL;
}

static void tz_thread_safe(void **state)
{
    pthread_t th[8];
    for (intptr_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_tz_thread, (void *) i), 0);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
}

/* ---------------------------------------------------------------------------
 * @every, @after, @at and durations
 */

static void every_epoch_anchor(void **state)
{
    /* no start: multiples of the period since the epoch, on every node */
    expect_seq("@every 1h30m", "2026-01-01T00:10:00Z", "2026-01-01T01:30:00Z",
               "2026-01-01T03:00:00Z");
    expect_seq("@every 250ms", "2026-01-01T00:00:00.100Z", "2026-01-01T00:00:00.250Z",
               "2026-01-01T00:00:00.500Z");
    expect_next("@every 2h45m10s", "1970-01-01T00:00:00Z", "1970-01-01T02:45:10Z");
    expect_next("@every 10s", "2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z");
}

static void every_start_anchor(void **state)
{
    hg_sched_opts_t o;
    memset(&o, 0, sizeof o);
    o.start_ms = T("2026-01-01T00:07:00Z");
    hg_sched_t *s = P_opts("@every 1h", &o);
    /* before start: start itself; then start + k * period */
    s_expect_time(hg_sched_next(s, T("2025-12-01T00:00:00Z")), "2026-01-01T00:07:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-01T00:07:00Z")), "2026-01-01T01:07:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-01T05:00:00Z")), "2026-01-01T05:07:00Z");
    hg_sched_destroy(&s);
}

static void every_ignores_dst(void **state)
{
    /* absolute time: across New York's spring-forward gap, still 1 h apart */
    expect_seq_in("@every 1h", NY, "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                  "2026-03-08T08:00:00Z");
}

static void every_duration_formats(void **state)
{
    expect_next("@every 1.5h", "2026-01-01T00:00:00Z", "2026-01-01T01:30:00Z");
    expect_next("@every 90s", "2026-01-01T00:00:00Z", "2026-01-01T00:01:30Z");
    expect_next("@every 1500us", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.002Z");
    expect_next("@every PT1H30M", "2026-01-01T00:00:00Z", "2026-01-01T01:30:00Z");
    /* 26 h periods count from the epoch, not from the day asked about */
    expect_next("@every P1DT2H", "1970-01-01T00:00:00Z", "1970-01-02T02:00:00Z");
    expect_next("@every P1DT2H", "2026-01-01T00:00:00Z", "2026-01-01T10:00:00Z");
    expect_next("@every P1W", "1970-01-01T00:00:00Z", "1970-01-08T00:00:00Z");
    expect_next("@every PT0.5S", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.500Z");
    expect_next("@every pt2m", "2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z");
}

static void every_errors(void **state)
{
    expect_error("@every 0s", "@every: \"0s\": duration must be positive");
    expect_error("@every xyz", "@every: \"xyz\" is not a duration (allowed: a Go duration such "
                               "as 1h30m or 250ms, or an ISO 8601 duration such as PT1H30M)");
    expect_error_prefix("@every", "@every: missing duration");
    expect_error_prefix("@every -5m", "@every: \"-5m\" is not a duration");
    expect_error_prefix("@every 5", "@every: \"5\" is not a duration");
    expect_error("@every P1M", "@every: \"P1M\": years and months have no fixed length; use a "
                               "cron expression");
    expect_error_prefix("@every P", "@every: \"P\" is not a duration");
    expect_error_prefix("@every PT", "@every: \"PT\" is not a duration");
    expect_error_prefix("@every P1H", "@every: \"P1H\" is not a duration");
    expect_error_prefix("@every PT1M1H", "@every: \"PT1M1H\" is not a duration");
}

static void after_fixed_delay(void **state)
{
    hg_sched_t *s = P_tz("@after 10m", NULL);
    assert_true(hg_sched_is_fixed_delay(s));
    assert_int_equal(hg_sched_kind(s), HG_SCHED_KIND_AFTER);
    /* next is counted from the finish time passed in */
    s_expect_time(hg_sched_next(s, T("2026-01-01T10:03:17Z")), "2026-01-01T10:13:17Z");
    hg_sched_destroy(&s);
    expect_error("@after 0ms", "@after: \"0ms\": duration must be positive");
    s = P_tz("@every 10m", NULL);
    assert_false(hg_sched_is_fixed_delay(s));
    hg_sched_destroy(&s);
    assert_false(hg_sched_is_fixed_delay(NULL));
}

static void at_one_shot(void **state)
{
    expect_seq("@at 2026-12-01T10:00:00Z", "2026-01-01T00:00:00Z", "2026-12-01T10:00:00Z");
    expect_next("@at 2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z", NULL);
    expect_next("@at 2026-12-01T11:00:00+01:00", "2026-01-01T00:00:00Z", "2026-12-01T10:00:00Z");
    expect_next("@at 2026-12-01T10:00:00.250Z", "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.250Z");
    expect_error("@at tomorrow", "@at: \"tomorrow\" is not an RFC 3339 time (allowed: e.g. "
                                 "2026-11-21T10:00:00Z or 2026-11-21T11:00:00+01:00)");
    expect_error_prefix("@at 2026-02-30T00:00:00Z", "@at: \"2026-02-30T00:00:00Z\" is not");
}

/* ---------------------------------------------------------------------------
 * Bounds and Dapr-style jobs
 */

static void start_end_bounds(void **state)
{
    hg_sched_opts_t o;
    memset(&o, 0, sizeof o);
    o.start_ms = T("2026-01-10T00:00:00Z");
    o.end_ms = T("2026-01-12T00:00:00Z");
    hg_sched_t *s = P_opts("0 0 0 * * ?", &o);
    s_expect_time(hg_sched_next(s, T("2026-01-01T00:00:00Z")), "2026-01-10T00:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-10T00:00:00Z")), "2026-01-11T00:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-11T00:00:00Z")), "2026-01-12T00:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-12T00:00:00Z")), NULL);
    hg_sched_destroy(&s);
    o.start_ms = -1;
    expect_error_opts("@daily", &o, HG_ESCHEDULE, "start and end times must not be negative",
                      false);
}

static hg_sched_opts_t s_dapr(const char *due, int64_t repeats, const char *ttl)
{
    hg_sched_opts_t o;
    memset(&o, 0, sizeof o);
    o.due_time = due;
    o.repeats = repeats;
    o.ttl = ttl;
    o.base_ms = T("2026-01-31T10:00:00Z");
    return o;
}

static void dapr_due_time_formats(void **state)
{
    struct {
        const char *due, *want;
    } cases[] = {
        {"2026-02-01T08:00:00Z", "2026-02-01T08:00:00Z"}, /* RFC 3339 */
        {"1h30m", "2026-01-31T11:30:00Z"},                /* Go duration */
        {"PT1H30M", "2026-01-31T11:30:00Z"},              /* ISO 8601 */
        {"P1DT2H", "2026-02-01T12:00:00Z"},
        {"P1M", "2026-02-28T10:00:00Z"}, /* calendar month, clamped to Feb 28 */
        {"P1Y", "2027-01-31T10:00:00Z"},
        {"P2W", "2026-02-14T10:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hg_sched_opts_t o = s_dapr(cases[i].due, 0, NULL);
        hg_sched_t *s = P_opts("", &o);
        assert_int_equal(hg_sched_kind(s), HG_SCHED_KIND_ONCE);
        s_expect_time(hg_sched_next(s, o.base_ms), cases[i].want);
        s_expect_time(hg_sched_next(s, T(cases[i].want)), NULL);
        hg_sched_destroy(&s);
    }
}

static void dapr_repeating_interval_rejected(void **state)
{
    hg_sched_opts_t o = s_dapr("R5/PT1M", 0, NULL);
    expect_error_opts("", &o, HG_ESCHEDULE,
                      "dueTime: \"R5/PT1M\": ISO 8601 repeating intervals (R<n>/...) are not "
                      "supported; give the schedule and repeats separately",
                      false);
    o = s_dapr(NULL, 0, "R/2026-01-01T00:00:00Z/PT1H");
    expect_error_opts("@every 1h", &o, HG_ESCHEDULE, "ttl: \"R/2026-01-01T00:00:00Z/PT1H\": ISO",
                      true);
    o = s_dapr("soon", 0, NULL);
    expect_error_opts("", &o, HG_ESCHEDULE,
                      "dueTime: \"soon\" is not valid (allowed: an RFC 3339 time such as "
                      "2026-11-21T10:00:00Z, a Go duration such as 1h30m, or an ISO 8601 "
                      "duration such as PT1H30M)",
                      false);
    o = s_dapr("1h", -1, NULL);
    expect_error_opts("@every 1h", &o, HG_ESCHEDULE, "repeats: -1 must not be negative", false);
}

/* Found by fuzzing (tests/fuzz): durations too long to add to a time, and
 * an @every anchored before 1970, overflowed int64 arithmetic. */
static void dapr_out_of_range(void **state)
{
    hg_sched_opts_t o = s_dapr(NULL, 0, "P539285850Y1004D");
    expect_error_opts("@every 1h", &o, HG_ESCHEDULE, "ttl: \"P539285850Y1004D\" is not valid",
                      true);
    o = s_dapr("P99999999999W", 0, NULL);
    expect_error_opts("@every 1h", &o, HG_ESCHEDULE, "dueTime: \"P99999999999W\" is not valid",
                      true);
    o = s_dapr("PT2562047788015H", 0, NULL);
    expect_error_opts("", &o, HG_ESCHEDULE, "dueTime: \"PT2562047788015H\" is not valid", true);

    o = s_dapr("1012-02-01T08:00:00Z", 3, NULL);
    hg_sched_t *s = P_opts("@every 5m", &o);
    s_expect_time(hg_sched_next(s, T("1012-02-01T08:00:00Z")), "1012-02-01T08:05:00Z");
    s_expect_time(hg_sched_next(s, T("1012-02-01T08:10:00Z")), NULL);
    hg_sched_destroy(&s);
    o.repeats = 0;
    s = P_opts("@every 5m", &o);
    s_expect_time(hg_sched_next(s, T("2026-01-01T00:00:00Z")), "2026-01-01T00:05:00Z");
    assert_true(hg_sched_next(s, INT64_MAX - 1) == HG_SCHED_NEVER);
    hg_sched_destroy(&s);

    /* Fixed delay with repeats: the last fire is computed, not stepped to
     * (6e14 repeats once hung the parser); 3 repeats end after the third. */
    o = s_dapr("2026-02-01T08:00:00Z", 605555555555555LL, NULL);
    s = P_opts("@after 10m", &o);
    s_expect_time(hg_sched_next(s, T("2026-02-01T08:00:00Z")), "2026-02-01T08:10:00Z");
    hg_sched_destroy(&s);
    o.repeats = 3;
    s = P_opts("@after 10m", &o);
    s_expect_time(hg_sched_next(s, T("2026-02-01T08:10:00Z")), "2026-02-01T08:20:00Z");
    s_expect_time(hg_sched_next(s, T("2026-02-01T08:20:00Z")), NULL);
    hg_sched_destroy(&s);
}

static void dapr_due_then_every_with_repeats(void **state)
{
    /* first fire at the due time, then every 10 minutes from it, 3 in all */
    hg_sched_opts_t o = s_dapr("2026-02-01T08:00:00Z", 3, NULL);
    hg_sched_t *s = P_opts("@every 10m", &o);
    int64_t t = o.base_ms;
    const char *want[] = {"2026-02-01T08:00:00Z", "2026-02-01T08:10:00Z", "2026-02-01T08:20:00Z"};
    for (int i = 0; i < 3; i++) {
        t = hg_sched_next(s, t);
        s_expect_time(t, want[i]);
    }
    s_expect_time(hg_sched_next(s, t), NULL);
    hg_sched_destroy(&s);
}

static void dapr_due_then_cron_with_ttl(void **state)
{
    /* due 08:00:30, then the cron (every hour on the hour), until ttl */
    hg_sched_opts_t o = s_dapr("2026-02-01T08:00:30Z", 0, "2026-02-01T10:30:00Z");
    hg_sched_t *s = P_opts("0 0 * * * ?", &o);
    int64_t t = o.base_ms;
    const char *want[] = {"2026-02-01T08:00:30Z", "2026-02-01T09:00:00Z", "2026-02-01T10:00:00Z"};
    for (int i = 0; i < 3; i++) {
        t = hg_sched_next(s, t);
        s_expect_time(t, want[i]);
    }
    s_expect_time(hg_sched_next(s, t), NULL);
    hg_sched_destroy(&s);
}

static void dapr_relative_ttl_and_cron_repeats(void **state)
{
    /* no due time: fires from base; ttl as an ISO duration from base */
    hg_sched_opts_t o = s_dapr(NULL, 0, "PT2H");
    hg_sched_t *s = P_opts("@every 1h", &o);
    s_expect_time(hg_sched_next(s, o.base_ms), "2026-01-31T11:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-31T11:00:00Z")), "2026-01-31T12:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-31T12:00:00Z")), NULL);
    hg_sched_destroy(&s);
    /* repeats on a cron schedule: the second daily fire is the last */
    o = s_dapr(NULL, 2, NULL);
    s = P_opts("0 0 12 * * ?", &o);
    s_expect_time(hg_sched_next(s, o.base_ms), "2026-01-31T12:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-01-31T12:00:00Z")), "2026-02-01T12:00:00Z");
    s_expect_time(hg_sched_next(s, T("2026-02-01T12:00:00Z")), NULL);
    hg_sched_destroy(&s);
}

/* ---------------------------------------------------------------------------
 * Misfires
 */

static void misfire_names(void **state)
{
    assert_int_equal(hg_misfire_parse(NULL), HG_MISFIRE_FIRE_ONCE);
    assert_int_equal(hg_misfire_parse(""), HG_MISFIRE_FIRE_ONCE);
    assert_int_equal(hg_misfire_parse("fire_once"), HG_MISFIRE_FIRE_ONCE);
    assert_int_equal(hg_misfire_parse("skip"), HG_MISFIRE_SKIP);
    assert_int_equal(hg_misfire_parse("fire_all"), HG_MISFIRE_FIRE_ALL);
    assert_int_equal(hg_misfire_parse("fire-all"), -1);
    for (int p = 0; p <= 2; p++)
        assert_int_equal(hg_misfire_parse(hg_misfire_name((hg_misfire_t) p)), p);
    assert_string_equal(hg_misfire_name((hg_misfire_t) 9), "unknown");
}

/* every minute; last fired 10:00; now 10:05:30; threshold 1 s: 10:01-10:05
 * are misfired. */
static size_t s_plan(hg_misfire_t policy, size_t cap, int64_t *fires, int64_t *next)
{
    hg_sched_t *s = P_tz("0 * * * * ?", NULL);
    size_t n = hg_misfire_plan(s, policy, T("2026-01-01T10:00:00Z"), T("2026-01-01T10:05:30Z"),
                               1000, fires, cap, next);
    hg_sched_destroy(&s);
    return n;
}

static void misfire_fire_once(void **state)
{
    int64_t fires[16], next;
    assert_int_equal(s_plan(HG_MISFIRE_FIRE_ONCE, 16, fires, &next), 1);
    s_expect_time(fires[0], "2026-01-01T10:05:00Z");
    s_expect_time(next, "2026-01-01T10:06:00Z");
}

static void misfire_skip(void **state)
{
    int64_t fires[16], next;
    assert_int_equal(s_plan(HG_MISFIRE_SKIP, 16, fires, &next), 0);
    s_expect_time(next, "2026-01-01T10:06:00Z");
}

static void misfire_fire_all_and_cap(void **state)
{
    int64_t fires[16], next;
    assert_int_equal(s_plan(HG_MISFIRE_FIRE_ALL, 16, fires, &next), 5);
    s_expect_time(fires[0], "2026-01-01T10:01:00Z");
    s_expect_time(fires[4], "2026-01-01T10:05:00Z");
    /* over the cap: the most recent ones, oldest first */
    assert_int_equal(s_plan(HG_MISFIRE_FIRE_ALL, 2, fires, &next), 2);
    s_expect_time(fires[0], "2026-01-01T10:04:00Z");
    s_expect_time(fires[1], "2026-01-01T10:05:00Z");
    assert_int_equal(s_plan(HG_MISFIRE_FIRE_ALL, 0, NULL, &next), 0);
}

static void misfire_threshold_on_time(void **state)
{
    /* 10:01 is late by 800 ms < 1 s threshold: on time under every policy */
    hg_sched_t *s = P_tz("0 * * * * ?", NULL);
    for (int p = 0; p <= 2; p++) {
        int64_t fires[4], next;
        size_t n = hg_misfire_plan(s, (hg_misfire_t) p, T("2026-01-01T10:00:00Z"),
                                   T("2026-01-01T10:01:00.800Z"), 1000, fires, 4, &next);
        assert_int_equal(n, 1);
        s_expect_time(fires[0], "2026-01-01T10:01:00Z");
        s_expect_time(next, "2026-01-01T10:02:00Z");
    }
    /* late by 1.2 s: a misfire; skip drops it */
    int64_t fires[4], next;
    assert_int_equal(hg_misfire_plan(s, HG_MISFIRE_SKIP, T("2026-01-01T10:00:00Z"),
                                     T("2026-01-01T10:01:01.200Z"), 1000, fires, 4, &next),
                     0);
    /* threshold 0: a fire exactly at its time is on time */
    assert_int_equal(hg_misfire_plan(s, HG_MISFIRE_SKIP, T("2026-01-01T10:00:00Z"),
                                     T("2026-01-01T10:01:00Z"), 0, fires, 4, &next),
                     1);
    hg_sched_destroy(&s);
}

static void misfire_no_history_and_on_time_stand_in(void **state)
{
    hg_sched_t *s = P_tz("0 * * * * ?", NULL);
    int64_t fires[4], next;
    /* never fired: nothing counts as missed */
    assert_int_equal(hg_misfire_plan(s, HG_MISFIRE_FIRE_ALL, 0, T("2026-01-01T10:05:30Z"), 1000,
                                     fires, 4, &next),
                     0);
    /* fire_once with an on-time fire: it stands in for the catch-up run */
    assert_int_equal(hg_misfire_plan(s, HG_MISFIRE_FIRE_ONCE, T("2026-01-01T10:00:00Z"),
                                     T("2026-01-01T10:05:00.500Z"), 1000, fires, 4, &next),
                     1);
    s_expect_time(fires[0], "2026-01-01T10:05:00Z");
    hg_sched_destroy(&s);
}

static void misfire_long_gap_is_cheap(void **state)
{
    /* a year behind on a per-second schedule: fire_all with a cap walks
     * back from now instead of through 31 million fire times */
    hg_sched_t *s = P_tz("* * * * * ?", NULL);
    int64_t fires[3], next;
    int64_t t0 = hg_mono_ms();
    size_t n = hg_misfire_plan(s, HG_MISFIRE_FIRE_ALL, T("2025-01-01T00:00:00Z"),
                               T("2026-01-01T00:00:00.500Z"), 0, fires, 3, &next);
    assert_int_equal(n, 3);
    s_expect_time(fires[2], "2026-01-01T00:00:00Z");
    s_expect_time(fires[0], "2025-12-31T23:59:58Z");
    n = hg_misfire_plan(s, HG_MISFIRE_FIRE_ONCE, T("2025-01-01T00:00:00Z"),
                        T("2026-01-01T00:00:00.500Z"), 0, fires, 3, &next);
    assert_int_equal(n, 1);
    s_expect_time(fires[0], "2026-01-01T00:00:00Z");
    assert_true(hg_mono_ms() - t0 < 1000);
    hg_sched_destroy(&s);
}

static void prev_bounds(void **state)
{
    hg_sched_t *s = P_tz("0 0 12 * * ?", NULL);
    s_expect_time(hg_sched_prev(s, T("2026-01-05T12:00:00Z"), 0), "2026-01-05T12:00:00Z");
    s_expect_time(hg_sched_prev(s, T("2026-01-05T11:59:59Z"), 0), "2026-01-04T12:00:00Z");
    /* floor is exclusive */
    s_expect_time(hg_sched_prev(s, T("2026-01-05T11:00:00Z"), T("2026-01-04T12:00:00Z")), NULL);
    hg_sched_destroy(&s);
    s = P_tz("@at 2026-06-01T00:00:00Z", NULL);
    s_expect_time(hg_sched_prev(s, T("2027-01-01T00:00:00Z"), 0), "2026-06-01T00:00:00Z");
    s_expect_time(hg_sched_prev(s, T("2026-01-01T00:00:00Z"), 0), NULL);
    hg_sched_destroy(&s);
}

/* ---------------------------------------------------------------------------
 * hourglass schedule explain
 */

static int s_explain(char **argv, int argc, char *out, size_t out_size, char *err, size_t err_size)
{
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    int rc = hg_sched_explain_main(argc, argv, fo, fe);
    rewind(fo);
    rewind(fe);
    size_t n = fread(out, 1, out_size - 1, fo);
    out[n] = '\0';
    n = fread(err, 1, err_size - 1, fe);
    err[n] = '\0';
    fclose(fo);
    fclose(fe);
    return rc;
}

static void explain_prints_times(void **state)
{
    char out[4096], err[1024];
    char *argv[] = {"explain", "0 15 10 ? * 6L",       "--tz",    "America/New_York",
                    "--from",  "2026-01-01T00:00:00Z", "--count", "2"};
    assert_int_equal(s_explain(argv, 8, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "at 10:15:00 on the last Friday of every month"));
    assert_non_null(strstr(out, "2026-01-30 10:15:00 EST (-05:00)  =  2026-01-30T15:15:00.000Z"));
    assert_non_null(strstr(out, "2026-02-27 10:15:00 EST (-05:00)"));
    assert_null(strstr(out, "2026-03-27"));
    assert_string_equal(err, "");
}

static void explain_bad_expression(void **state)
{
    char out[1024], err[1024];
    char *argv[] = {"explain", "0 0 0 ? * 6#6"};
    assert_int_equal(s_explain(argv, 2, out, sizeof out, err, sizeof err), 1);
    assert_string_equal(err, "day-of-week: \"6#6\": occurrence must be 1-5\n");
    char *argv2[] = {"explain", "@daily", "--tz", "Nowhere/Town"};
    assert_int_equal(s_explain(argv2, 4, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(err, "\"Nowhere/Town\""));
}

static void explain_usage_errors(void **state)
{
    char out[1024], err[1024];
    char *a1[] = {"explain"};
    assert_int_equal(s_explain(a1, 1, out, sizeof out, err, sizeof err), 2);
    char *a2[] = {"explain", "@daily", "--count", "0"};
    assert_int_equal(s_explain(a2, 4, out, sizeof out, err, sizeof err), 2);
    char *a3[] = {"explain", "@daily", "--from", "yesterday"};
    assert_int_equal(s_explain(a3, 4, out, sizeof out, err, sizeof err), 2);
    char *a4[] = {"explain", "@daily", "--bogus", "1"};
    assert_int_equal(s_explain(a4, 4, out, sizeof out, err, sizeof err), 2);
    char *a5[] = {"explain", "@daily", "--tz"};
    assert_int_equal(s_explain(a5, 3, out, sizeof out, err, sizeof err), 2);
    char *a6[] = {"explain", "0", "0", "*", "*", "*"};
    assert_int_equal(s_explain(a6, 6, out, sizeof out, err, sizeof err), 2);
}

static void explain_never_and_dapr(void **state)
{
    char out[2048], err[1024];
    char *a1[] = {"explain", "0 0 0 30 2 ?", "--count", "3"};
    assert_int_equal(s_explain(a1, 4, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "never fires after the given time"));
    char *a2[] = {"explain", "@every 1h", "--from",    "2026-01-01T00:00:00Z",
                  "--due",   "PT30M",     "--repeats", "2"};
    assert_int_equal(s_explain(a2, 8, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "2026-01-01T00:30:00.000Z"));
    assert_non_null(strstr(out, "2026-01-01T01:30:00.000Z"));
    assert_non_null(strstr(out, "no further fire times"));
    assert_non_null(strstr(out, "at most 2 times"));
}

static void describe_other_kinds(void **state)
{
    char buf[256];
    hg_sched_t *s = P_tz("@every 90m", NULL);
    hg_sched_describe(s, buf, sizeof buf);
    assert_string_equal(buf, "every 90m (fixed rate, counted from the Unix epoch)");
    hg_sched_destroy(&s);
    s = P_tz("@after 10m", NULL);
    hg_sched_describe(s, buf, sizeof buf);
    assert_string_equal(buf, "10m after the previous run finishes (fixed delay)");
    hg_sched_destroy(&s);
    s = P_tz("@at 2026-12-01T10:00:00Z", NULL);
    hg_sched_describe(s, buf, sizeof buf);
    assert_string_equal(buf, "once at 2026-12-01T10:00:00.000Z");
    hg_sched_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ny_spring_forward_skips),
        cmocka_unit_test(ny_fall_back_fires_once),
        cmocka_unit_test(london_transitions),
        cmocka_unit_test(lord_howe_half_hour_shift),
        cmocka_unit_test(footer_rule_far_future),
        cmocka_unit_test(tz_offsets_and_abbreviations),
        cmocka_unit_test(tz_local_to_utc_kinds),
        cmocka_unit_test(tz_errors),
        cmocka_unit_test(tz_utc_names),
        cmocka_unit_test(tz_thread_safe),
        cmocka_unit_test(every_epoch_anchor),
        cmocka_unit_test(every_start_anchor),
        cmocka_unit_test(every_ignores_dst),
        cmocka_unit_test(every_duration_formats),
        cmocka_unit_test(every_errors),
        cmocka_unit_test(after_fixed_delay),
        cmocka_unit_test(at_one_shot),
        cmocka_unit_test(start_end_bounds),
        cmocka_unit_test(dapr_due_time_formats),
        cmocka_unit_test(dapr_repeating_interval_rejected),
        cmocka_unit_test(dapr_out_of_range),
        cmocka_unit_test(dapr_due_then_every_with_repeats),
        cmocka_unit_test(dapr_due_then_cron_with_ttl),
        cmocka_unit_test(dapr_relative_ttl_and_cron_repeats),
        cmocka_unit_test(misfire_names),
        cmocka_unit_test(misfire_fire_once),
        cmocka_unit_test(misfire_skip),
        cmocka_unit_test(misfire_fire_all_and_cap),
        cmocka_unit_test(misfire_threshold_on_time),
        cmocka_unit_test(misfire_no_history_and_on_time_stand_in),
        cmocka_unit_test(misfire_long_gap_is_cheap),
        cmocka_unit_test(prev_bounds),
        cmocka_unit_test(explain_prints_times),
        cmocka_unit_test(explain_bad_expression),
        cmocka_unit_test(explain_usage_errors),
        cmocka_unit_test(explain_never_and_dapr),
        cmocka_unit_test(describe_other_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
