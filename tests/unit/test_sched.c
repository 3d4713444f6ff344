/* Tests for the cron grammar of hg_sched: published vectors from Quartz,
 * robfig/cron and croniter (each cited above its case, restated in our
 * notation: seconds first in 6/7-field form, day-of-week 1-7 = SUN-SAT
 * there, 0-7 in 5-field form), our own cases for the rest of the grammar,
 * and every parse error message. Times are UTC unless a zone is named. */
#include "test_sched_util.h"

#include <stdlib.h>

/* ---------------------------------------------------------------------------
 * Quartz CronExpressionTest (quartz-scheduler/quartz,
 * quartz-core/src/test/java/org/quartz/CronExpressionTest.java). Quartz runs
 * them in the JVM's default zone; we use UTC.
 */

/* Quartz testIsSatisfiedBy: "0 15 10 * * ? 2005" matches 2005-06-01 10:15,
 * not 10:14 or 10:16, and never in 2006. */
static void quartz_is_satisfied_by(void **state)
{
    expect_next("0 15 10 * * ? 2005", "2005-06-01T10:14:59Z", "2005-06-01T10:15:00Z");
    expect_next("0 15 10 * * ? 2005", "2005-06-01T10:15:00Z", "2005-06-02T10:15:00Z");
    expect_next("0 15 10 * * ? 2005", "2005-12-31T10:15:00Z", NULL);
    expect_next("0 15 10 * * ? 2005", "2006-06-01T10:14:59Z", NULL);
}

/* Quartz testLastDayOffset: L-2 in October 2010 is the 29th, not the 28th. */
static void quartz_last_day_offset(void **state)
{
    expect_next("0 15 10 L-2 * ? 2010", "2010-10-28T10:14:59Z", "2010-10-29T10:15:00Z");
    expect_next("0 15 10 L-2 * ? 2010", "2010-10-29T10:14:59Z", "2010-10-29T10:15:00Z");
    expect_next("0 15 10 L-1 * ? 2010", "2010-10-29T10:15:00Z", "2010-10-30T10:15:00Z");
}

/* Quartz testLastDayOffset: L-5W (Tue 26th) and L-1W (30th is a Saturday,
 * so Friday 29th). */
static void quartz_last_day_offset_weekday(void **state)
{
    expect_next("0 15 10 L-5W * ? 2010", "2010-10-20T00:00:00Z", "2010-10-26T10:15:00Z");
    expect_next("0 15 10 L-1W * ? 2010", "2010-10-20T00:00:00Z", "2010-10-29T10:15:00Z");
}

/* Quartz testLastDayOffset: "19 15 10 24 May ?" is satisfied on 2017-05-24. */
static void quartz_month_name_day(void **state)
{
    expect_next("19 15 10 24 May ?", "2017-05-24T10:15:18Z", "2017-05-24T10:15:19Z");
    expect_next("19 15 10 24 May ?", "2017-05-24T10:15:19Z", "2018-05-24T10:15:19Z");
}

/* Quartz testLastDayOffset / testQtz259LW: "0 0 0 LW * ? *" - last weekday;
 * April 2017 ends on a Sunday, so Friday the 28th. */
static void quartz_lw(void **state)
{
    expect_seq("0 0 0 LW * ? *", "2017-02-01T00:00:00Z", "2017-02-28T00:00:00Z",
               "2017-03-31T00:00:00Z", "2017-04-28T00:00:00Z", "2017-05-31T00:00:00Z");
}

/* Quartz testLastDayOffset: "0 0 0 ? * 2#3 *" - third Monday. */
static void quartz_nth_weekday(void **state)
{
    expect_seq("0 0 0 ? * 2#3 *", "2017-05-01T00:00:00Z", "2017-05-15T00:00:00Z",
               "2017-06-19T00:00:00Z");
}

/* Quartz testLastDayOffset: "0 0 0 5W * ? *" - nearest weekday to the 5th
 * (Sunday 5 Feb -> Monday 6th, Saturday 5 Aug -> Friday 4th). */
static void quartz_nearest_weekday(void **state)
{
    expect_seq("0 0 0 5W * ? *", "2017-02-01T00:00:00Z", "2017-02-06T00:00:00Z",
               "2017-03-06T00:00:00Z", "2017-04-05T00:00:00Z", "2017-05-05T00:00:00Z");
    expect_next("0 0 0 5W * ? *", "2017-08-01T00:00:00Z", "2017-08-04T00:00:00Z");
}

/* Quartz testLastDayOffset: "0 0 0 ? * SUNL *" - last Sunday. */
static void quartz_last_sunday(void **state)
{
    expect_seq("0 0 0 ? * SUNL *", "2017-04-01T00:00:00Z", "2017-04-30T00:00:00Z",
               "2017-05-28T00:00:00Z", "2017-06-25T00:00:00Z");
}

/* Quartz testQtz259: "0 0 0 L-2 * ? *" never repeats a fire time. */
static void quartz_qtz259_no_repeat(void **state)
{
    hg_sched_t *s = P_tz("0 0 0 L-2 * ? *", NULL);
    int64_t t = hg_sched_next(s, T("2026-01-01T00:00:00Z"));
    s_expect_time(t, "2026-01-29T00:00:00Z");
    for (int i = 0; i < 25; i++) {
        int64_t u = hg_sched_next(s, t);
        assert_true(u > t);
        t = u;
    }
    s_expect_time(t, "2028-02-27T00:00:00Z"); /* 2028 is a leap year: L-2 = 27th */
    hg_sched_destroy(&s);
}

/* Quartz testQuartz574: an unknown month name is rejected. */
static void quartz_574_bad_month(void **state)
{
    expect_error("* * * * Foo ?", "month: \"Foo\" is not a month name (allowed: JAN-DEC)");
    expect_error("* * * * Jan-Foo ?", "month: \"Foo\" is not a month name (allowed: JAN-DEC)");
}

/* Quartz testQuartz621 rejects "0 0 * * * *" (both day fields given); our
 * rule (Vixie) accepts it: both are "*", so every day. DISAGREES. */
static void quartz_621_both_day_fields(void **state)
{
    expect_next("0 0 * * * *", "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z");
    /* "0 0 * 4 * *": day-of-week "*" does not restrict -> the 4th only */
    expect_next("0 0 * 4 * *", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
}

/* Quartz testQuartz640 rejects L in a list; we accept the union.
 * DISAGREES. "5L" is accepted by both. */
static void quartz_640_l_in_list(void **state)
{
    expect_seq("0 43 9 1,5,29,L * ?", "2026-02-01T10:00:00Z", "2026-02-05T09:43:00Z",
               "2026-02-28T09:43:00Z", "2026-03-01T09:43:00Z");
    /* "SAT,SUN,L": L alone in day-of-week is Saturday, so SAT and SUN */
    expect_seq("0 43 9 ? * SAT,SUN,L", "2026-02-02T00:00:00Z", "2026-02-07T09:43:00Z",
               "2026-02-08T09:43:00Z");
    expect_next("0 43 9 ? * 5L", "2026-02-01T00:00:00Z", "2026-02-26T09:43:00Z");
}

/* Quartz testQtz96: W with a day above 31. */
static void quartz_qtz96_w_over_31(void **state)
{
    expect_error("0/5 * * 32W 1 ?", "day-of-month: \"32\" is out of range 1-31");
}

/* Quartz issue #58 (testSecRangeIntervalAfterSlash and siblings): increments
 * larger than the field, and "/" with no number. */
static void quartz_58_increments(void **state)
{
    expect_error("/120 0 8-18 ? * 2-6", "second: \"/120\": step must be 1-60");
    expect_error("0/120 0 8-18 ? * 2-6", "second: \"0/120\": step must be 1-60");
    expect_error("0 /120 8-18 ? * 2-6", "minute: \"/120\": step must be 1-60");
    expect_error("0 0 0/120 ? * 2-6", "hour: \"0/120\": step must be 1-24");
    expect_error("0 0 0 /120 * 2-6", "day-of-month: \"/120\": step must be 1-31");
    expect_error("0 0 0 ? /120 2-6", "month: \"/120\": step must be 1-12");
    expect_error("0 0 0 ? * /120", "day-of-week: \"/120\": step must be 1-7");
    expect_error_prefix("/ 0 8-18 ? * 2-6", "second: \"/\" is not valid (allowed: 0-59");
    expect_error_prefix("0 0/ 8-18 ? * 2-6", "minute: \"0/\" is not valid (allowed: 0-59");
    /* Quartz says "0/120" in month fails on the increment; we report the
     * out-of-range start first */
    expect_error("0 0 0 ? 0/120 2-6", "month: \"0\" is out of range 1-12");
}

/* Quartz's "/n" shorthand means "0/n" (first value of the field). */
static void quartz_slash_shorthand(void **state)
{
    expect_seq("/20 * * * * ?", "2026-01-01T00:00:05Z", "2026-01-01T00:00:20Z",
               "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z");
}

/* ---------------------------------------------------------------------------
 * robfig/cron spec_test.go (github.com/robfig/cron, TestActivation and
 * TestNext; the version with seconds first). robfig's day-of-week numbers
 * are 0-6; these vectors use names, which agree.
 */

/* robfig TestActivation: a spec "activates" at t when next(t - 1s) == t. */
static bool s_activates(const char *spec, const char *at)
{
    hg_sched_t *s = P_tz(spec, NULL);
    bool r = hg_sched_next(s, T(at) - 1000) == T(at);
    hg_sched_destroy(&s);
    return r;
}

/* robfig TestActivation: every fifteen minutes, offsets, named months. */
static void robfig_activation_steps(void **state)
{
    assert_true(s_activates("0 0/15 * * * *", "2012-07-09T15:00:00Z"));
    assert_true(s_activates("0 0/15 * * * *", "2012-07-09T15:45:00Z"));
    assert_false(s_activates("0 0/15 * * * *", "2012-07-09T15:40:00Z"));
    assert_true(s_activates("0 5/15 * * * *", "2012-07-09T15:05:00Z"));
    assert_true(s_activates("0 5/15 * * * *", "2012-07-09T15:20:00Z"));
    assert_true(s_activates("0 5/15 * * * *", "2012-07-09T15:50:00Z"));
    assert_true(s_activates("0 0/15 * * Jul *", "2012-07-15T15:00:00Z"));
    assert_false(s_activates("0 0/15 * * Jun *", "2012-07-15T15:00:00Z"));
}

/* robfig TestActivation: everything set, and the descriptors. */
static void robfig_activation_descriptors(void **state)
{
    assert_true(s_activates("0 30 08 ? Jul Sun", "2012-07-15T08:30:00Z"));
    assert_true(s_activates("0 30 08 15 Jul ?", "2012-07-15T08:30:00Z"));
    assert_false(s_activates("0 30 08 ? Jul Sun", "2012-07-16T08:30:00Z"));
    assert_false(s_activates("0 30 08 15 Jul ?", "2012-07-16T08:30:00Z"));
    assert_true(s_activates("@hourly", "2012-07-09T15:00:00Z"));
    assert_false(s_activates("@hourly", "2012-07-09T15:04:00Z"));
    assert_false(s_activates("@daily", "2012-07-09T15:00:00Z"));
    assert_true(s_activates("@daily", "2012-07-09T00:00:00Z"));
    assert_false(s_activates("@weekly", "2012-07-09T00:00:00Z"));
    assert_true(s_activates("@weekly", "2012-07-08T00:00:00Z"));
    assert_false(s_activates("@weekly", "2012-07-08T01:00:00Z"));
    assert_false(s_activates("@monthly", "2012-07-08T00:00:00Z"));
    assert_true(s_activates("@monthly", "2012-07-01T00:00:00Z"));
}

/* robfig TestActivation: day-of-month / day-of-week interaction. Where a
 * step on "*" appears, old robfig (and Vixie, which looks at the first
 * character) treat "*\/10" as a star and AND the fields; our rule, as
 * written in DESIGN.md, only exempts a bare "*" or "?": "*\/10" restricts,
 * so the fields OR. DISAGREES on "0 * * *\/10 * Sun" for Sun Jul 15. */
static void robfig_activation_dom_dow(void **state)
{
    assert_true(s_activates("0 * * 1,15 * Sun", "2012-07-15T00:00:00Z"));
    assert_true(s_activates("0 * * 1,15 * Sun", "2012-06-15T00:00:00Z"));
    assert_true(s_activates("0 * * 1,15 * Sun", "2012-08-01T00:00:00Z"));
    assert_false(s_activates("0 * * * * Mon", "2012-07-15T00:00:00Z"));
    assert_false(s_activates("0 * * 1,15 * *", "2012-07-09T00:00:00Z"));
    assert_true(s_activates("0 * * 1,15 * *", "2012-07-15T00:00:00Z"));
    assert_true(s_activates("0 * * */2 * Sun", "2012-07-15T00:00:00Z"));
    /* robfig: false; ours: true (Sunday matches day-of-week) */
    assert_true(s_activates("0 * * */10 * Sun", "2012-07-15T00:00:00Z"));
}

/* robfig TestNext: simple cases and wrap around hours. */
static void robfig_next_simple(void **state)
{
    expect_next("0 0/15 * * * *", "2012-07-09T14:45:00Z", "2012-07-09T15:00:00Z");
    expect_next("0 0/15 * * * *", "2012-07-09T14:59:00Z", "2012-07-09T15:00:00Z");
    expect_next("0 0/15 * * * *", "2012-07-09T14:59:59Z", "2012-07-09T15:00:00Z");
    expect_next("0 20-35/15 * * * *", "2012-07-09T15:45:00Z", "2012-07-09T16:20:00Z");
}

/* robfig TestNext: wrap around days. */
static void robfig_next_wrap_days(void **state)
{
    expect_next("0 */15 * * * *", "2012-07-09T23:46:00Z", "2012-07-10T00:00:00Z");
    expect_next("0 20-35/15 * * * *", "2012-07-09T23:45:00Z", "2012-07-10T00:20:00Z");
    expect_next("15/35 20-35/15 * * * *", "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z");
    expect_next("15/35 20-35/15 1/2 * * *", "2012-07-09T23:35:51Z", "2012-07-10T01:20:15Z");
    expect_next("15/35 20-35/15 10-12 * * *", "2012-07-09T23:35:51Z", "2012-07-10T10:20:15Z");
    expect_next("15/35 20-35/15 1/2 */2 * *", "2012-07-09T23:35:51Z", "2012-07-11T01:20:15Z");
    expect_next("15/35 20-35/15 * 9-20 * *", "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z");
    expect_next("15/35 20-35/15 * 9-20 Jul *", "2012-07-09T23:35:51Z", "2012-07-10T00:20:15Z");
}

/* robfig TestNext: wrap around months and years. "Mon/2" is MON,WED,FRI in
 * both numberings. robfig's "0 0 0 *\/5 Apr,Aug,Oct Mon" expects Mon Aug 6
 * (AND); ours ORs the restricting fields and gives Wed Aug 1 (day 1 matches
 * *\/5). DISAGREES. */
static void robfig_next_wrap_months_years(void **state)
{
    expect_next("0 0 0 9 Apr-Oct ?", "2012-07-09T23:35:00Z", "2012-08-09T00:00:00Z");
    expect_next("0 0 0 */5 Apr,Aug,Oct Mon", "2012-07-09T23:35:00Z", "2012-08-01T00:00:00Z");
    expect_next("0 0 0 */5 Oct Mon", "2012-07-09T23:35:00Z", "2012-10-01T00:00:00Z");
    expect_next("0 0 0 * Feb Mon", "2012-07-09T23:35:00Z", "2013-02-04T00:00:00Z");
    expect_next("0 0 0 * Feb Mon/2", "2012-07-09T23:35:00Z", "2013-02-01T00:00:00Z");
    expect_next("0 * * * * *", "2012-12-31T23:59:45Z", "2013-01-01T00:00:00Z");
}

/* robfig TestNext: leap year and unsatisfiable expressions. */
static void robfig_next_leap_unsatisfiable(void **state)
{
    expect_next("0 0 0 29 Feb ?", "2012-07-09T23:35:00Z", "2016-02-29T00:00:00Z");
    expect_next("0 0 0 30 Feb ?", "2012-07-09T23:35:00Z", NULL);
    expect_next("0 0 0 31 Apr ?", "2012-07-09T23:35:00Z", NULL);
}

/* robfig TestNext: daylight saving in America/New_York. EST->EDT: 02:30 on
 * 11 March 2012 does not exist, so the next is 2013. EDT->EST: 02:30 on 4
 * Nov 2012 exists once. robfig fires "0 30 1 04 Nov ?" from 01:45 EDT at
 * 01:30 EST (the second occurrence); our rule fires a repeated time once, at
 * the first occurrence, which is already past: next is 2013. DISAGREES. */
static void robfig_next_dst(void **state)
{
    const char *ny = "America/New_York";
    expect_next_tz("0 30 2 11 Mar ?", ny, "2012-03-11T00:00:00-05:00", "2013-03-11T02:30:00-04:00");
    expect_next_tz("0 30 2 04 Nov ?", ny, "2012-11-04T00:00:00-04:00", "2012-11-04T02:30:00-05:00");
    expect_next_tz("0 30 1 04 Nov ?", ny, "2012-11-04T01:45:00-04:00", "2013-11-04T01:30:00-05:00");
}

/* ---------------------------------------------------------------------------
 * croniter tests (kiorky/croniter, src/croniter/tests/test_croniter.py).
 * croniter's optional sixth field is seconds LAST; we restate those with
 * seconds first.
 */

/* croniter testSecondSec: seconds 15,25 from 13:26:10. */
static void croniter_second_list(void **state)
{
    expect_seq("15,25 * * * * ?", "2012-04-06T13:26:10Z", "2012-04-06T13:26:15Z",
               "2012-04-06T13:26:25Z", "2012-04-06T13:27:15Z");
}

/* croniter testSecond / testSecondRepeat: "*\/1" and "*\/15" seconds. */
static void croniter_second_steps(void **state)
{
    expect_next("*/1 * * * * ?", "2012-04-06T13:26:10Z", "2012-04-06T13:26:11Z");
    expect_seq("*/15 * * * * ?", "2012-04-06T13:26:36Z", "2012-04-06T13:26:45Z",
               "2012-04-06T13:27:00Z", "2012-04-06T13:27:15Z");
}

/* croniter testMinute and testHour. */
static void croniter_minute_hour(void **state)
{
    expect_seq("*/5 * * * *", "2010-01-23T12:18:00Z", "2010-01-23T12:20:00Z",
               "2010-01-23T12:25:00Z");
    expect_next("*/1 * * * *", "2010-01-23T12:59:00Z", "2010-01-23T13:00:00Z");
    expect_seq("0 */3 * * *", "2010-01-24T12:02:00Z", "2010-01-24T15:00:00Z",
               "2010-01-24T18:00:00Z", "2010-01-24T21:00:00Z", "2010-01-25T00:00:00Z");
}

/* croniter testDay, including the leap years 1996 and 2000. */
static void croniter_day_and_leap(void **state)
{
    expect_seq("0 0 */3 * *", "2010-02-24T12:09:00Z", "2010-02-25T00:00:00Z",
               "2010-02-28T00:00:00Z", "2010-03-01T00:00:00Z");
    expect_seq("0 0 * * *", "1996-02-27T00:00:00Z", "1996-02-28T00:00:00Z", "1996-02-29T00:00:00Z",
               "1996-03-01T00:00:00Z");
    expect_seq("0 0 * * *", "2000-02-27T00:00:00Z", "2000-02-28T00:00:00Z", "2000-02-29T00:00:00Z");
}

/* croniter testWeekDay: "sat", and "1 * wed" (OR of day fields). */
static void croniter_weekday(void **state)
{
    expect_seq("0 0 * * sat", "2010-02-25T00:00:00Z", "2010-02-27T00:00:00Z",
               "2010-03-06T00:00:00Z");
    expect_seq("0 0 1 * wed", "2010-01-25T00:00:00Z", "2010-01-27T00:00:00Z",
               "2010-02-01T00:00:00Z", "2010-02-03T00:00:00Z");
}

/* croniter testNthWeekDay: sat#1 and wed#5 (no fire without a 5th). */
static void croniter_nth_weekday(void **state)
{
    expect_seq("0 0 * * sat#1", "2010-02-25T00:00:00Z", "2010-03-06T00:00:00Z",
               "2010-04-03T00:00:00Z");
    expect_seq("0 0 * * wed#5", "2010-01-25T00:00:00Z", "2010-03-31T00:00:00Z",
               "2010-06-30T00:00:00Z", "2010-09-29T00:00:00Z");
}

/* croniter testMonth and testBug2 / test_multiple_months. */
static void croniter_months(void **state)
{
    expect_seq("0 0 1 * *", "2010-01-25T00:00:00Z", "2010-02-01T00:00:00Z", "2010-03-01T00:00:00Z");
    expect_seq("0 * * 3 *", "2012-01-01T00:00:00Z", "2012-03-01T00:00:00Z", "2012-03-01T01:00:00Z",
               "2012-03-01T02:00:00Z");
    expect_next("0 0 1 3,6,9,12 *", "2016-03-01T00:00:00Z", "2016-06-01T00:00:00Z");
    expect_next("0 0 1 3,6,9,12 *", "2016-02-15T00:00:00Z", "2016-03-01T00:00:00Z");
    expect_next("0 0 1 3,6,9,12 *", "2016-12-03T10:00:00Z", "2017-03-01T00:00:00Z");
}

/* croniter testLastDayOfMonth (lower-case "l") and
 * testRangeWithUppercaseLastDayOfMonth ("29-L"). */
static void croniter_last_day(void **state)
{
    expect_seq("0 0 l * *", "2015-09-04T00:00:00Z", "2015-09-30T00:00:00Z", "2015-10-31T00:00:00Z",
               "2015-11-30T00:00:00Z", "2015-12-31T00:00:00Z");
    expect_seq("0 0 29-L * *", "2015-09-04T00:00:00Z", "2015-09-29T00:00:00Z",
               "2015-09-30T00:00:00Z", "2015-10-29T00:00:00Z");
}

/* croniter testISOWeekday ("7" is Sunday) and
 * testSundayToThursdayWithAlphaConversion ("sun-thu"). */
static void croniter_sunday_seven(void **state)
{
    expect_seq("0 0 * * 7", "2010-02-25T00:00:00Z", "2010-02-28T00:00:00Z", "2010-03-07T00:00:00Z");
    expect_next("30 22 * * sun-thu", "2010-08-25T15:56:00Z", "2010-08-25T22:30:00Z");
}

/* croniter testBug3 (a base time with a fraction) and test_bug34 (31 Feb
 * never comes). */
static void croniter_bugs(void **state)
{
    expect_seq("00 03 16,30 * *", "2013-03-01T12:17:34.257Z", "2013-03-16T03:00:00Z",
               "2013-03-30T03:00:00Z", "2013-04-16T03:00:00Z");
    expect_next("* * 31 2 *", "2012-02-24T00:00:00Z", NULL);
}

/* croniter testBug57 ("4/6" hours) and test_rangeGenerator ("1-9/2"). */
static void croniter_step_from_start(void **state)
{
    expect_next("0 4/6 * * *", "2012-02-24T00:00:00Z", "2012-02-24T04:00:00Z");
    expect_next("0 0/6 * * *", "2012-02-24T00:00:00Z", "2012-02-24T06:00:00Z");
    expect_seq("1-9/2 0 1 * *", "2013-03-04T00:00:00Z", "2013-04-01T00:01:00Z",
               "2013-04-01T00:03:00Z", "2013-04-01T00:05:00Z", "2013-04-01T00:07:00Z",
               "2013-04-01T00:09:00Z");
}

/* croniter testBug57 / test_multiple_months / testPrevLastDayOfMonth with
 * get_prev, through hg_sched_prev. */
static void croniter_prev(void **state)
{
    hg_sched_t *s = P_tz("0 4/6 * * *", NULL);
    s_expect_time(hg_sched_prev(s, T("2012-02-24T00:00:00Z"), 0), "2012-02-23T22:00:00Z");
    hg_sched_destroy(&s);
    s = P_tz("0 0 1 3,6,9,12 *", NULL);
    s_expect_time(hg_sched_prev(s, T("2016-03-01T00:00:00Z") - 1, 0), "2015-12-01T00:00:00Z");
    hg_sched_destroy(&s);
    s = P_tz("0 0 L * *", NULL);
    s_expect_time(hg_sched_prev(s, T("2010-01-05T00:00:00Z"), 0), "2009-12-31T00:00:00Z");
    s_expect_time(hg_sched_prev(s, T("2009-12-31T00:00:00Z") - 1, 0), "2009-11-30T00:00:00Z");
    hg_sched_destroy(&s);
}

/* croniter testError: bad expressions. croniter also rejects "5-1" in
 * day-of-month; we read it as a wrapping range (5-31 then 1). DISAGREES. */
static void croniter_errors(void **state)
{
    expect_error_prefix("* * * *", "expected 5 fields");
    expect_error_prefix("-90 * * * *", "minute: \"-90\" is not valid (allowed: 0-59");
    expect_error_prefix("a * * * *", "minute: \"a\" is not valid");
    expect_error("* * * janu-jun *", "month: \"janu\" is not a month name (allowed: JAN-DEC)");
    expect_error_prefix("1-1_0 * * * *", "minute: \"1-1_0\" is not valid");
    expect_error_prefix("0-10/ * * * *", "minute: \"0-10/\" is not valid");
    expect_error_prefix("0-1& * * * *", "minute: \"0-1&\" is not valid");
    expect_seq("0 0 5-1 * *", "2026-01-30T12:00:00Z", "2026-01-31T00:00:00Z",
               "2026-02-01T00:00:00Z", "2026-02-05T00:00:00Z");
}

/* croniter testTimezoneSummerTime (Europe/Athens, 31 March 2013): the 03:xx
 * hour does not exist; agrees with our rule. */
static void croniter_athens_summer(void **state)
{
    expect_seq_in("*/30 * * * *", "Europe/Athens", "2013-03-31T01:00:00+02:00",
                  "2013-03-31T01:30:00+02:00", "2013-03-31T02:00:00+02:00",
                  "2013-03-31T02:30:00+02:00", "2013-03-31T04:00:00+03:00",
                  "2013-03-31T04:30:00+03:00");
}

/* croniter testTimezoneWinterTime (Europe/Athens, 27 October 2013): croniter
 * fires 03:00 and 03:30 twice (+03 then +02); we fire a repeated local time
 * once, at its first occurrence. DISAGREES. */
static void croniter_athens_winter(void **state)
{
    expect_seq_in("*/30 * * * *", "Europe/Athens", "2013-10-27T02:00:00+03:00",
                  "2013-10-27T02:30:00+03:00", "2013-10-27T03:00:00+03:00",
                  "2013-10-27T03:30:00+03:00", "2013-10-27T04:00:00+02:00",
                  "2013-10-27T04:30:00+02:00");
}

/* croniter test_std_dst (Europe/Warsaw 2017): 02:00 on 26 March is skipped,
 * midnight on 29 October is followed by midnight on the 30th. */
static void croniter_warsaw(void **state)
{
    expect_next_tz("0 * * * *", "Europe/Warsaw", "2017-03-26T01:00:00+01:00",
                   "2017-03-26T03:00:00+02:00");
    expect_next_tz("0 0 * * *", "Europe/Warsaw", "2017-03-26T00:00:00+01:00",
                   "2017-03-27T00:00:00+02:00");
    expect_next_tz("0 0 * * *", "Europe/Warsaw", "2017-10-29T00:00:00+02:00",
                   "2017-10-30T00:00:00+01:00");
    expect_next_tz("0 * * * *", "Europe/Warsaw", "2017-10-29T03:00:00+01:00",
                   "2017-10-29T04:00:00+01:00");
}

/* ---------------------------------------------------------------------------
 * Our own grammar cases
 */

static void leap_year_2100_is_not_leap(void **state)
{
    /* Gregorian rule: 2100 is not a leap year, 2000 and 2400 are */
    expect_next("0 0 0 L 2 ?", "2100-01-01T00:00:00Z", "2100-02-28T00:00:00Z");
    expect_next("0 0 0 L 2 ?", "2096-02-01T00:00:00Z", "2096-02-29T00:00:00Z");
    expect_next("0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z");
    expect_next("0 0 0 29 2 ? 2100", "2026-01-01T00:00:00Z", NULL);
    expect_next("0 0 0 * 2 ? 2100", "2100-02-27T00:00:00Z", "2100-02-28T00:00:00Z");
    expect_next("0 0 0 * 2 ? 2100", "2100-02-28T00:00:00Z", NULL);
}

static void year_field(void **state)
{
    expect_seq("0 0 12 1 1 ? 2026,2028-2029", "2025-06-01T00:00:00Z", "2026-01-01T12:00:00Z",
               "2028-01-01T12:00:00Z", "2029-01-01T12:00:00Z");
    expect_next("0 0 12 1 1 ? 2026,2028-2029", "2029-01-01T12:00:00Z", NULL);
    expect_seq("0 0 0 1 1 ? 2030/5", "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z",
               "2035-01-01T00:00:00Z");
    expect_next("0 0 0 1 1 ? *", "2198-06-01T00:00:00Z", "2199-01-01T00:00:00Z");
    expect_next("0 0 0 1 1 ? *", "2199-06-01T00:00:00Z", NULL); /* the year field ends */
}

static void wraparound_ranges(void **state)
{
    expect_seq("0 0 22-2 * * ?", "2026-01-01T20:00:00Z", "2026-01-01T22:00:00Z",
               "2026-01-01T23:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z",
               "2026-01-02T02:00:00Z", "2026-01-02T22:00:00Z");
    expect_seq("0 0 0 1 NOV-FEB ?", "2026-03-01T00:00:00Z", "2026-11-01T00:00:00Z",
               "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z",
               "2027-11-01T00:00:00Z");
    /* steps walk across the wrap: 22, 0, 2 */
    expect_seq("0 0 22-2/2 * * ?", "2026-01-01T21:00:00Z", "2026-01-01T22:00:00Z",
               "2026-01-02T00:00:00Z", "2026-01-02T02:00:00Z", "2026-01-02T22:00:00Z");
    /* FRI-MON wraps over the weekend (2026-01-02 is a Friday) */
    expect_seq("0 0 0 ? * FRI-MON", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
               "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z",
               "2026-01-09T00:00:00Z");
}

static void steps_on_ranges(void **state)
{
    expect_seq("0 10-40/15 * * * ?", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z",
               "2026-01-01T00:25:00Z", "2026-01-01T00:40:00Z", "2026-01-01T01:10:00Z");
    /* "*\/" equals "0/" */
    expect_seq("*/20 * * * * ?", "2026-01-01T00:00:01Z", "2026-01-01T00:00:20Z",
               "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z");
    expect_seq("0/20 * * * * ?", "2026-01-01T00:00:01Z", "2026-01-01T00:00:20Z",
               "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z");
}

static void names_case_insensitive(void **state)
{
    expect_next("0 0 0 1 jan ?", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("0 0 0 1 Jan ?", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("0 0 0 ? * mOn", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z");
    expect_seq("0 0 0 ? * MON,WED,FRI", "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z",
               "2026-01-09T00:00:00Z", "2026-01-12T00:00:00Z");
    expect_seq("0 0 0 ? * 2-6", "2026-01-09T00:00:00Z", "2026-01-12T00:00:00Z");
}

static void quartz_dow_numbering(void **state)
{
    /* 6/7 fields: 1 = Sunday, 7 = Saturday */
    expect_next("0 0 0 ? * 1", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
    expect_next("0 0 0 ? * 7", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z");
    expect_error("0 0 0 ? * 0", "day-of-week: \"0\" is out of range 1-7");
    expect_error("0 0 0 ? * 8", "day-of-week: \"8\" is out of range 1-7");
}

static void classic_dow_numbering(void **state)
{
    /* 5 fields: 0 and 7 are Sunday, 6 Saturday */
    expect_next("0 0 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
    expect_next("0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
    expect_next("0 0 * * 6", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z");
    expect_seq("0 0 * * 5-7", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
               "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z");
    expect_error("0 0 * * 8", "day-of-week: \"8\" is out of range 0-7");
    /* classic "5L" is the last Friday; "1#1" the first Monday */
    expect_next("0 0 * * 5L", "2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z");
    expect_next("0 0 * * 1#1", "2026-01-06T00:00:00Z", "2026-02-02T00:00:00Z");
}

static void classic_crontab_lines(void **state)
{
    expect_seq("*/15 9-17 * * 1-5", "2026-01-02T16:50:00Z", "2026-01-02T17:00:00Z",
               "2026-01-02T17:15:00Z", "2026-01-02T17:30:00Z", "2026-01-02T17:45:00Z",
               "2026-01-05T09:00:00Z");
    expect_next("5 4 * * sun", "2026-01-01T00:00:00Z", "2026-01-04T04:05:00Z");
    expect_next("0 22 * * 1-5", "2026-01-02T22:00:00Z", "2026-01-05T22:00:00Z");
}

static void descriptors(void **state)
{
    expect_next("@yearly", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("@annually", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z");
    expect_next("@monthly", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
    expect_next("@weekly", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z");
    expect_next("@daily", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    expect_next("@midnight", "2026-01-01T10:00:00Z", "2026-01-02T00:00:00Z");
    expect_next("@hourly", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
    expect_next("@DAILY", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
}

static void vixie_dom_dow_or(void **state)
{
    /* both restrict: the 1st or any Monday (2026-01-05, 12, ... and 02-01) */
    expect_seq("0 0 12 1 * MON", "2026-01-01T12:00:00Z", "2026-01-05T12:00:00Z",
               "2026-01-12T12:00:00Z", "2026-01-19T12:00:00Z", "2026-01-26T12:00:00Z",
               "2026-02-01T12:00:00Z");
    /* "?" or "*" in one field: only the other restricts */
    expect_next("0 0 12 ? * MON", "2026-01-01T12:00:00Z", "2026-01-05T12:00:00Z");
    expect_next("0 0 12 1 * ?", "2026-01-01T12:00:00Z", "2026-02-01T12:00:00Z");
    expect_next("0 0 12 1 * *", "2026-01-01T12:00:00Z", "2026-02-01T12:00:00Z");
    expect_next("0 0 12 * * ?", "2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z");
    /* Friday the 13th is not expressible as AND; OR gives both */
    expect_seq("0 0 13 * 5", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z",
               "2026-01-13T00:00:00Z");
}

static void last_day_forms(void **state)
{
    expect_seq("0 0 0 L * ?", "2026-01-15T00:00:00Z", "2026-01-31T00:00:00Z",
               "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z");
    expect_next("0 0 0 L-3 * ?", "2026-02-01T00:00:00Z", "2026-02-25T00:00:00Z");
    expect_next("0 0 0 L-30 * ?", "2026-01-02T00:00:00Z", "2026-03-01T00:00:00Z");
    /* LW when the month ends on a Saturday (2026-01-31) -> Friday 30th */
    expect_next("0 0 0 LW * ?", "2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z");
    /* "L" alone in day-of-week is Saturday */
    expect_next("0 0 0 ? * L", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z");
}

static void nearest_weekday_edges(void **state)
{
    /* 1W when the 1st is a Saturday (2026-08-01) -> Monday the 3rd, never
     * Friday 31 July */
    expect_next("0 0 0 1W * ?", "2026-07-31T12:00:00Z", "2026-08-03T00:00:00Z");
    /* 31W when the 31st is a Sunday (2026-05-31) -> Friday 29th */
    expect_next("0 0 0 31W * ?", "2026-05-01T00:00:00Z", "2026-05-29T00:00:00Z");
    /* 31W in a 30-day month does not fire */
    expect_next("0 0 0 31W 4 ?", "2026-01-01T00:00:00Z", NULL);
    /* 15W on a weekday is the 15th itself (2026-01-15 is a Thursday) */
    expect_next("0 0 0 15W * ?", "2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z");
}

static void nth_weekday_missing_month(void **state)
{
    /* fifth Friday: January 2026 has one (30th), February does not */
    expect_seq("0 0 0 ? * 6#5", "2026-01-01T00:00:00Z", "2026-01-30T00:00:00Z",
               "2026-05-29T00:00:00Z");
    expect_next("0 0 0 ? * FRI#2", "2026-01-01T00:00:00Z", "2026-01-09T00:00:00Z");
}

static void tz_prefix_in_expression(void **state)
{
    /* robfig/cron's CRON_TZ= prefix selects the zone */
    expect_next("CRON_TZ=Asia/Tokyo 0 9 * * *", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
    expect_next("TZ=Europe/London 0 0 9 * * ?", "2026-07-01T00:00:00Z", "2026-07-01T08:00:00Z");
}

static void next_is_strictly_after(void **state)
{
    expect_next("0 0 * * * ?", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
    expect_next("0 0 * * * ?", "2026-01-01T09:59:59.999Z", "2026-01-01T10:00:00Z");
    expect_next("* * * * * ?", "2026-01-01T10:00:00.500Z", "2026-01-01T10:00:01Z");
    /* before the epoch */
    expect_next("0 0 0 * * ?", "1969-12-31T12:00:00Z", "1970-01-01T00:00:00Z");
}

static void whitespace_tolerated(void **state)
{
    expect_next("  0  0\t12 * * ?  ", "2026-01-01T00:00:00Z", "2026-01-01T12:00:00Z");
    expect_next(" @daily ", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z");
}

/* ---------------------------------------------------------------------------
 * Error messages
 */

static void error_out_of_range_each_field(void **state)
{
    expect_error("60 * * * * ?", "second: \"60\" is out of range 0-59");
    expect_error("0 60 * * * ?", "minute: \"60\" is out of range 0-59");
    expect_error("0 0 24 * * ?", "hour: \"24\" is out of range 0-23");
    expect_error("0 0 0 32 * ?", "day-of-month: \"32\" is out of range 1-31");
    expect_error("0 0 0 0 * ?", "day-of-month: \"0\" is out of range 1-31");
    expect_error("0 0 0 1 13 ?", "month: \"13\" is out of range 1-12");
    expect_error("0 0 0 1 1 ? 1969", "year: \"1969\" is out of range 1970-2199");
    expect_error("0 0 0 1 1 ? 2200", "year: \"2200\" is out of range 1970-2199");
    expect_error("0 0 32 * *", "day-of-month: \"32\" is out of range 1-31");
    expect_error("0 0 1-40 * *", "day-of-month: \"40\" is out of range 1-31");
    expect_error("99999999999 * * * *", "minute: \"99999999999\" is out of range 0-59");
}

static void error_occurrence(void **state)
{
    expect_error("0 0 0 ? * 6#6", "day-of-week: \"6#6\": occurrence must be 1-5");
    expect_error("0 0 0 ? * 6#0", "day-of-week: \"6#0\": occurrence must be 1-5");
    expect_error("0 0 * * FRI#9", "day-of-week: \"FRI#9\": occurrence must be 1-5");
    expect_error("0 0 0 ? * 9#2", "day-of-week: \"9\" is out of range 1-7");
    expect_error_prefix("0 0 0 ? * 6#", "day-of-week: \"6#\" is not valid (allowed: 1-7");
}

static void error_field_count(void **state)
{
    const char *msg = "expected 5 fields (minute hour day-of-month month day-of-week), or 6-7 "
                      "(second first, optional year last), got %d";
    char want[256];
    snprintf(want, sizeof want, msg, 4);
    expect_error("* * * *", want);
    snprintf(want, sizeof want, msg, 8);
    expect_error("* * * * * * * *", want);
    snprintf(want, sizeof want, msg, 1);
    expect_error("hourly", want);
}

static void error_question_mark_placement(void **state)
{
    expect_error("0 0 ? * * ?", "hour: \"?\" is only allowed in day-of-month and day-of-week");
    expect_error("? * * * *", "minute: \"?\" is only allowed in day-of-month and day-of-week");
}

static void error_names(void **state)
{
    expect_error("0 0 0 ? * XYZ", "day-of-week: \"XYZ\" is not a weekday name (allowed: SUN-SAT)");
    expect_error("0 0 0 1 JANUARY ?", "month: \"JANUARY\" is not a month name (allowed: JAN-DEC)");
    expect_error("0 0 MON * * ?", "hour: \"MON\" is not valid (allowed: 0-23, *, a-b, a/n, "
                                  "a-b/n or a list a,b)");
}

static void error_special_forms(void **state)
{
    expect_error("0 0 0 L-31 * ?", "day-of-month: \"L-31\": offset must be 0-30");
    expect_error_prefix("0 0 0 LX * ?", "day-of-month: \"LX\" is not valid (allowed: 1-31, *, "
                                        "?, a-b, a/n, L, L-n, nW, LW");
    expect_error_prefix("0 0 L * * ?", "hour: \"L\" is not valid");
    expect_error_prefix("0 0 0 ? * 5W", "day-of-week: \"5W\" is not valid");
    expect_error_prefix("0 0 0 W * ?", "day-of-month: \"W\" is not valid");
}

static void error_steps_and_lists(void **state)
{
    expect_error("*/0 * * * * ?", "second: \"*/0\": step must be 1-60");
    expect_error("0 */61 * * * ?", "minute: \"*/61\": step must be 1-60");
    expect_error("0 1,,2 * * * ?", "minute: \"1,,2\" has an empty list element");
    expect_error("0 1, * * * ?", "minute: \"1,\" has an empty list element");
    expect_error_prefix("0 1-2-3 * * * ?", "minute: \"1-2-3\" is not valid");
    expect_error_prefix("0 */x * * * ?", "minute: \"*/x\" is not valid");
}

static void error_descriptors(void **state)
{
    expect_error_prefix("@fortnightly", "\"@fortnightly\" is not a known descriptor (allowed: "
                                        "@yearly, @annually, @monthly, @weekly, @daily");
    expect_error("@daily 5", "@daily: takes no argument, got \"5\"");
    expect_error_prefix("", "empty schedule (allowed: a cron expression");
    expect_error_prefix("   ", "empty schedule");
}

/* "@never": parses, is never due, and says so (a job run only by its
 * dependencies or by hand). */
static void never_is_never_due(void **state)
{
    (void) state;
    hg_sched_t *s = NULL;
    assert_int_equal(hg_sched_parse("@never", NULL, &s, NULL, 0), 0);
    assert_int_equal(hg_sched_next(s, 0), HG_SCHED_NEVER);
    assert_int_equal(hg_sched_next(s, 1796234711119), HG_SCHED_NEVER);
    char buf[128];
    hg_sched_describe(s, buf, sizeof buf);
    assert_non_null(strstr(buf, "never by the clock"));
    hg_sched_destroy(&s);
    expect_error("@never 5", "@never: takes no argument, got \"5\"");
}

static void error_out_null_and_sizes(void **state)
{
    /* a NULL error buffer and a tiny one are safe */
    hg_sched_t *s = NULL;
    assert_int_equal(hg_sched_parse("0 0 32 * *", NULL, &s, NULL, 0), HG_ESCHEDULE);
    char tiny[8];
    assert_int_equal(hg_sched_parse("0 0 32 * *", NULL, &s, tiny, sizeof tiny), HG_ESCHEDULE);
    assert_string_equal(tiny, "day-of-");
    assert_int_equal(hg_sched_parse("* * * * *", NULL, NULL, NULL, 0), HG_EINVAL);
    assert_null(s);
    hg_sched_destroy(&s);
    hg_sched_destroy(NULL);
    assert_int_equal(hg_sched_next(NULL, 0), HG_SCHED_NEVER);
}

/* ---------------------------------------------------------------------------
 * English reading
 */

static void s_expect_describe(const char *expr, const char *tz, const char *want)
{
    hg_sched_t *s = P_tz(expr, tz);
    char buf[256];
    int n = hg_sched_describe(s, buf, sizeof buf);
    assert_int_equal(n, (int) strlen(buf));
    assert_string_equal(buf, want);
    hg_sched_destroy(&s);
}

static void describe_cron(void **state)
{
    s_expect_describe("0 15 10 ? * 6L", NULL, "at 10:15:00 on the last Friday of every month");
    s_expect_describe("0 30 9 ? * MON-FRI", NULL, "at 09:30:00 on Monday through Friday");
    s_expect_describe("30 9 * * *", NULL, "at 09:30 every day");
    s_expect_describe("*/5 * * * *", NULL, "every 5 minutes");
    s_expect_describe("0 0 12 15W * ?", NULL,
                      "at 12:00:00 on the weekday nearest the 15th of every month");
    s_expect_describe("0 0 8 ? * 2#1", NULL, "at 08:00:00 on the first Monday of every month");
    s_expect_describe("0 0 12 1 * MON", NULL, "at 12:00:00 on day 1 or on Monday of every month");
    s_expect_describe("0 0 0 LW 1,3 ? 2026-2028", NULL,
                      "at 00:00:00 on the last weekday of January and March in 2026-2028");
    s_expect_describe("0 15 10 L-2 * ?", NULL, "at 10:15:00 on the 3rd-to-last day of every month");
    s_expect_describe("0 0 9 * * ?", "Europe/Paris", "at 09:00:00 every day (Europe/Paris)");
    s_expect_describe("0 0 9,12,15 * * ?", NULL, "at 09:00:00, 12:00:00 and 15:00:00 every day");
}

static void describe_truncates_safely(void **state)
{
    hg_sched_t *s = P_tz("0 15 10 ? * 6L", NULL);
    char buf[10];
    int n = hg_sched_describe(s, buf, sizeof buf);
    assert_int_equal(n, (int) strlen("at 10:15:00 on the last Friday of every month"));
    assert_string_equal(buf, "at 10:15:");
    assert_int_equal(hg_sched_describe(s, NULL, 0), n);
    hg_sched_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(never_is_never_due),
        cmocka_unit_test(quartz_is_satisfied_by),
        cmocka_unit_test(quartz_last_day_offset),
        cmocka_unit_test(quartz_last_day_offset_weekday),
        cmocka_unit_test(quartz_month_name_day),
        cmocka_unit_test(quartz_lw),
        cmocka_unit_test(quartz_nth_weekday),
        cmocka_unit_test(quartz_nearest_weekday),
        cmocka_unit_test(quartz_last_sunday),
        cmocka_unit_test(quartz_qtz259_no_repeat),
        cmocka_unit_test(quartz_574_bad_month),
        cmocka_unit_test(quartz_621_both_day_fields),
        cmocka_unit_test(quartz_640_l_in_list),
        cmocka_unit_test(quartz_qtz96_w_over_31),
        cmocka_unit_test(quartz_58_increments),
        cmocka_unit_test(quartz_slash_shorthand),
        cmocka_unit_test(robfig_activation_steps),
        cmocka_unit_test(robfig_activation_descriptors),
        cmocka_unit_test(robfig_activation_dom_dow),
        cmocka_unit_test(robfig_next_simple),
        cmocka_unit_test(robfig_next_wrap_days),
        cmocka_unit_test(robfig_next_wrap_months_years),
        cmocka_unit_test(robfig_next_leap_unsatisfiable),
        cmocka_unit_test(robfig_next_dst),
        cmocka_unit_test(croniter_second_list),
        cmocka_unit_test(croniter_second_steps),
        cmocka_unit_test(croniter_minute_hour),
        cmocka_unit_test(croniter_day_and_leap),
        cmocka_unit_test(croniter_weekday),
        cmocka_unit_test(croniter_nth_weekday),
        cmocka_unit_test(croniter_months),
        cmocka_unit_test(croniter_last_day),
        cmocka_unit_test(croniter_sunday_seven),
        cmocka_unit_test(croniter_bugs),
        cmocka_unit_test(croniter_step_from_start),
        cmocka_unit_test(croniter_prev),
        cmocka_unit_test(croniter_errors),
        cmocka_unit_test(croniter_athens_summer),
        cmocka_unit_test(croniter_athens_winter),
        cmocka_unit_test(croniter_warsaw),
        cmocka_unit_test(leap_year_2100_is_not_leap),
        cmocka_unit_test(year_field),
        cmocka_unit_test(wraparound_ranges),
        cmocka_unit_test(steps_on_ranges),
        cmocka_unit_test(names_case_insensitive),
        cmocka_unit_test(quartz_dow_numbering),
        cmocka_unit_test(classic_dow_numbering),
        cmocka_unit_test(classic_crontab_lines),
        cmocka_unit_test(descriptors),
        cmocka_unit_test(vixie_dom_dow_or),
        cmocka_unit_test(last_day_forms),
        cmocka_unit_test(nearest_weekday_edges),
        cmocka_unit_test(nth_weekday_missing_month),
        cmocka_unit_test(tz_prefix_in_expression),
        cmocka_unit_test(next_is_strictly_after),
        cmocka_unit_test(whitespace_tolerated),
        cmocka_unit_test(error_out_of_range_each_field),
        cmocka_unit_test(error_occurrence),
        cmocka_unit_test(error_field_count),
        cmocka_unit_test(error_question_mark_placement),
        cmocka_unit_test(error_names),
        cmocka_unit_test(error_special_forms),
        cmocka_unit_test(error_steps_and_lists),
        cmocka_unit_test(error_descriptors),
        cmocka_unit_test(error_out_null_and_sizes),
        cmocka_unit_test(describe_cron),
        cmocka_unit_test(describe_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
