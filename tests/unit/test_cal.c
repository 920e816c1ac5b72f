/* test_cal.c -- the working calendar: the 2025/2026 files, deadline arithmetic, validation */
#include "cal.h"
#include "check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Expected answers below were worked out by hand from the State Council notices for 2025 and
 * 2026 (the tables in test_files_match_notices are typed from the notices, not from the .conf
 * files) and one weekday per year: 2025-01-01 was a Wednesday, 2026-01-01 a Thursday, 2027-01-01
 * a Friday; each comment counts the days. Office hours in both files are 08:30-12:00 and
 * 14:00-17:30, so a working-day deadline ends at 17:30 and a working day holds 7 working hours. */

typedef struct test_env_t {
    cal_t *cal;          /* deploy/calendar loaded */
    char tmp[64];        /* scratch directory for bad files */
    char names[32][128]; /* files written into tmp, removed at the end */
    int nnames;          /* entries of names used */
} test_env_t;

static int64_t at(const char *text)
{
    int64_t ms = 0;

    if (cal_parse_time(text, &ms) != 0) {
        fprintf(stderr, "test time '%s' does not parse\n", text);
        exit(2);
    }
    return ms;
}

/* Adds span to start; returns the deadline as text ("error N" on failure) and the flag. */
static const char *due(const cal_t *c, const char *start, const char *span, int *ret_prov)
{
    static char buf[CAL_TIME_MAX + 16];
    cal_span_t sp;
    int64_t ms;
    int rc, prov = -1;

    rc = cal_parse_span(span, &sp);
    if (rc == 0)
        rc = cal_add(c, at(start), &sp, &ms, &prov);
    if (rc != 0) {
        snprintf(buf, sizeof(buf), "error %d", rc);
        return buf;
    }
    cal_format(ms, buf);
    if (ret_prov != NULL)
        *ret_prov = prov;
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * The files hold what the notices say */

typedef struct test_range_t {
    const char *first; /* first day off */
    const char *last;  /* last day off */
} test_range_t;

static void test_files_match_notices(const cal_t *c)
{
    /* Typed from the notices (not from the .conf files). */
    static const test_range_t off[] = {
        {"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
        {"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"},
        {"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
        {"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"},
        {"2026-10-01", "2026-10-07"},
    };
    static const char *const worked[] = {
        "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11", "2026-01-04",
        "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    };
    int prov = -1, n_off = 0;

    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        char first[32], last[32];
        snprintf(first, sizeof(first), "%sT12:00", off[i].first);
        snprintf(last, sizeof(last), "%sT12:00", off[i].last);
        for (int64_t ms = at(first); ms <= at(last); ms += 86400000) {
            char buf[CAL_TIME_MAX];
            int y = 0, m = 0, d = 0;
            cal_format(ms, buf);
            sscanf(buf, "%d-%d-%d", &y, &m, &d);
            CHECK_INT(cal_is_workday(c, y, m, d, &prov), 0);
            CHECK_INT(prov, 0);
            n_off++;
        }
    }
    /* 1+8+3+5+3+8 days off in 2025, 3+9+3+5+3+3+7 in 2026 */
    CHECK_INT(n_off, 28 + 33);
    for (size_t i = 0; i < sizeof(worked) / sizeof(worked[0]); i++) {
        int y, m, d;
        sscanf(worked[i], "%d-%d-%d", &y, &m, &d);
        CHECK_INT(cal_is_workday(c, y, m, d, &prov), 1);
        CHECK_INT(prov, 0);
    }
    /* plain days: Fri 2025-03-07 works, Sat 2025-03-08 and Sun 2026-03-01 do not */
    CHECK_INT(cal_is_workday(c, 2025, 3, 7, NULL), 1);
    CHECK_INT(cal_is_workday(c, 2025, 3, 8, NULL), 0);
    CHECK_INT(cal_is_workday(c, 2026, 3, 1, NULL), 0);
    /* Sun 2025-02-09 sits between the make-up Saturday and Monday: a plain day off */
    CHECK_INT(cal_is_workday(c, 2025, 2, 9, NULL), 0);
    /* years without a file: weekends only, provisional */
    CHECK_INT(cal_is_workday(c, 2027, 1, 1, &prov), 1); /* a Friday */
    CHECK_INT(prov, 1);
    CHECK_INT(cal_is_workday(c, 2024, 12, 29, &prov), 0); /* a Sunday */
    CHECK_INT(prov, 1);
    CHECK_INT(cal_is_workday(c, 2025, 2, 29, NULL), -EINVAL);
    CHECK_INT(cal_is_workday(c, 2026, 13, 1, NULL), -EINVAL);
    CHECK_INT(cal_is_workday(c, 1999, 12, 31, NULL), -ERANGE);
    CHECK_INT(cal_is_workday(c, 2101, 1, 1, NULL), -ERANGE);
    CHECK(cal_has_year(c, 2025) && cal_has_year(c, 2026) && !cal_has_year(c, 2027));
    CHECK(cal_source(c, 2026) != NULL && strstr(cal_source(c, 2026), "2025-11-04") != NULL);
    CHECK(cal_source(c, 2027) == NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Working days across the holidays */

static void test_workdays_holidays(const cal_t *c)
{
    int prov = -1;

    /* Spring Festival 2025 from Fri Jan 24 10:00 (arrival day Jan 24, not counted):
     * Sat 25 off, Sun 26 make-up = 1, Mon 27 = 2, Jan 28-Feb 4 off, Wed Feb 5 = 3, Thu 6 = 4,
     * Fri 7 = 5, Sat 8 make-up = 6, Sun 9 off, Mon 10 = 7. */
    CHECK_STR(due(c, "2025-01-24T10:00", "1wd", &prov), "2025-01-26T17:30:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_STR(due(c, "2025-01-24T10:00", "2wd", NULL), "2025-01-27T17:30:00+08:00");
    CHECK_STR(due(c, "2025-01-24T10:00", "3wd", NULL), "2025-02-05T17:30:00+08:00");
    CHECK_STR(due(c, "2025-01-24T10:00", "5wd", &prov), "2025-02-07T17:30:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_STR(due(c, "2025-01-24T10:00", "6wd", NULL), "2025-02-08T17:30:00+08:00");
    CHECK_STR(due(c, "2025-01-24T10:00", "7wd", NULL), "2025-02-10T17:30:00+08:00");

    /* Mid-Autumn and National Day 2026 from Fri Sep 18 15:00: Sat 19 off, Sun 20 make-up = 1,
     * Mon 21..Thu 24 = 2..5, Sep 25-27 off, Mon 28 = 6, 29 = 7, Wed 30 = 8, Oct 1-7 off,
     * Thu Oct 8 = 9, Fri 9 = 10, Sat 10 make-up = 11, Sun 11 off, Mon 12 = 12. */
    CHECK_STR(due(c, "2026-09-18T15:00", "1wd", NULL), "2026-09-20T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "5wd", NULL), "2026-09-24T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "6wd", NULL), "2026-09-28T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "8wd", NULL), "2026-09-30T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "9wd", NULL), "2026-10-08T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "11wd", NULL), "2026-10-10T17:30:00+08:00");
    CHECK_STR(due(c, "2026-09-18T15:00", "12wd", NULL), "2026-10-12T17:30:00+08:00");
    /* From Wed Sep 30 09:00: Oct 8 = 1, 9 = 2, Sat 10 = 3, Mon 12 = 4, Tue 13 = 5. */
    CHECK_STR(due(c, "2026-09-30T09:00", "5wd", NULL), "2026-10-13T17:30:00+08:00");

    /* Spring Festival 2026 from Fri Feb 13 10:00: Sat 14 make-up = 1, Feb 15-23 off,
     * Tue 24 = 2, 25, 26, Fri 27 = 5, Sat 28 make-up = 6, Sun Mar 1 off, Mon Mar 2 = 7. */
    CHECK_STR(due(c, "2026-02-13T10:00", "1wd", NULL), "2026-02-14T17:30:00+08:00");
    CHECK_STR(due(c, "2026-02-13T10:00", "2wd", NULL), "2026-02-24T17:30:00+08:00");
    CHECK_STR(due(c, "2026-02-13T10:00", "5wd", NULL), "2026-02-27T17:30:00+08:00");
    CHECK_STR(due(c, "2026-02-13T10:00", "6wd", NULL), "2026-02-28T17:30:00+08:00");
    CHECK_STR(due(c, "2026-02-13T10:00", "7wd", NULL), "2026-03-02T17:30:00+08:00");

    /* Across the 2025/2026 files: from Wed 2025-12-31 10:00, Jan 1-3 off, Sun Jan 4 make-up = 1,
     * Mon Jan 5 = 2. */
    CHECK_STR(due(c, "2025-12-31T10:00", "1wd", &prov), "2026-01-04T17:30:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_STR(due(c, "2025-12-31T10:00", "2wd", NULL), "2026-01-05T17:30:00+08:00");
}

/* ---------------------------------------------------------------------------------------------
 * Plain weekends, arrival day, "+next" */

static void test_workdays_rules(const cal_t *c)
{
    /* March 2025: Sat 1, Fri 7, Sat 8, Mon 10 ... no holiday in March. */
    CHECK_STR(due(c, "2025-03-07T16:00", "1wd", NULL), "2025-03-10T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-07T16:00", "5wd", NULL), "2025-03-14T17:30:00+08:00");
    /* before opening on a working day: that day is the arrival day */
    CHECK_STR(due(c, "2025-03-10T07:00", "1wd", NULL), "2025-03-11T17:30:00+08:00");
    /* at or after the close: arrives the next working day */
    CHECK_STR(due(c, "2025-03-10T17:29", "1wd", NULL), "2025-03-11T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-10T17:30", "1wd", NULL), "2025-03-12T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-07T18:00", "1wd", NULL), "2025-03-11T17:30:00+08:00");
    /* +next counts from the calendar day after the start: Sat 8 -> first working day Mon 10 */
    CHECK_STR(due(c, "2025-03-07T18:00", "1wd+next", NULL), "2025-03-10T17:30:00+08:00");
    /* a Saturday start: arrival Monday (not counted) without +next */
    CHECK_STR(due(c, "2025-03-08T10:00", "1wd", NULL), "2025-03-11T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-08T10:00", "1wd+next", NULL), "2025-03-10T17:30:00+08:00");
    /* complaints, 13 working days from the next day, from Sat Mar 8: Mar 10-14 = 1-5,
     * 17-21 = 6-10, 24, 25, 26 = 11-13. Without +next: arrival Mon 10; 11-14 = 1-4,
     * 17-21 = 5-9, 24-27 = 10-13. */
    CHECK_STR(due(c, "2025-03-08T10:00", "13wd+next", NULL), "2025-03-26T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-08T10:00", "13wd", NULL), "2025-03-27T17:30:00+08:00");
    /* on a working day in office hours both readings agree: Mon 10 -> Thu 13 */
    CHECK_STR(due(c, "2025-03-10T09:00", "3wd", NULL), "2025-03-13T17:30:00+08:00");
    CHECK_STR(due(c, "2025-03-10T09:00", "3wd+next", NULL), "2025-03-13T17:30:00+08:00");

    /* A start inside a holiday: National Day 2025 is Oct 1 (Wed) - Oct 8 (Wed); Thu 9, Fri 10,
     * Sat 11 make-up. From Fri Oct 3: arrival Thu 9, so 1wd = Fri 10, 2wd = Sat 11; with +next
     * Oct 9 = 1, 10 = 2, 11 = 3. */
    CHECK_STR(due(c, "2025-10-03T10:00", "1wd", NULL), "2025-10-10T17:30:00+08:00");
    CHECK_STR(due(c, "2025-10-03T10:00", "2wd", NULL), "2025-10-11T17:30:00+08:00");
    CHECK_STR(due(c, "2025-10-03T10:00", "1wd+next", NULL), "2025-10-09T17:30:00+08:00");
    CHECK_STR(due(c, "2025-10-03T10:00", "3wd+next", NULL), "2025-10-11T17:30:00+08:00");
    /* a start on a make-up Saturday in office hours: that day is the arrival day */
    CHECK_STR(due(c, "2025-10-11T09:00", "1wd", NULL), "2025-10-13T17:30:00+08:00");
}

/* ---------------------------------------------------------------------------------------------
 * Working hours and calendar time */

static void test_workhours(const cal_t *c)
{
    int prov = -1;

    /* Mon 2025-03-10: 11:00-12:00 = 1h, lunch, 14:00-15:00 = 1h */
    CHECK_STR(due(c, "2025-03-10T11:00", "2wh", &prov), "2025-03-10T15:00:00+08:00");
    CHECK_INT(prov, 0);
    /* starting at lunch waits for 14:00 */
    CHECK_STR(due(c, "2025-03-10T12:30", "1wh", NULL), "2025-03-10T15:00:00+08:00");
    /* hours running out exactly at a close end there, not at the next opening */
    CHECK_STR(due(c, "2025-03-10T09:00", "3wh", NULL), "2025-03-10T12:00:00+08:00");
    CHECK_STR(due(c, "2025-03-10T08:00", "7wh", NULL), "2025-03-10T17:30:00+08:00");
    /* across days: 16:30-17:30 = 1h, Tue 08:30-11:30 = 3h */
    CHECK_STR(due(c, "2025-03-10T16:30", "4wh", NULL), "2025-03-11T11:30:00+08:00");
    /* across a weekend: Fri 20:00 -> Mon 08:30-12:00 = 3.5h, 14:00-14:30 = 0.5h */
    CHECK_STR(due(c, "2025-03-07T20:00", "4wh", NULL), "2025-03-10T14:30:00+08:00");
    /* 14wh = two full days: Mon and Tue */
    CHECK_STR(due(c, "2025-03-10T08:30", "14wh", NULL), "2025-03-11T17:30:00+08:00");
    /* across Spring Festival 2025: Mon Jan 27 16:00-17:30 = 1.5h, Jan 28-Feb 4 off,
     * Wed Feb 5 08:30-11:00 = 2.5h */
    CHECK_STR(due(c, "2025-01-27T16:00", "4wh", NULL), "2025-02-05T11:00:00+08:00");
    /* a make-up Saturday has office hours: Fri Feb 7 17:00-17:30, Sat Feb 8 08:30-09:00 */
    CHECK_STR(due(c, "2025-02-07T17:00", "1wh", NULL), "2025-02-08T09:00:00+08:00");
    /* a start inside Spring Festival 2026 (Feb 15-23) waits for Tue Feb 24 08:30 */
    CHECK_STR(due(c, "2026-02-20T10:00", "1wh", NULL), "2026-02-24T09:30:00+08:00");
    /* +next: from Tue 00:00, so Tue 08:30 + 2h */
    CHECK_STR(due(c, "2025-03-10T10:00", "2wh+next", NULL), "2025-03-11T10:30:00+08:00");
}

static void test_calendar_time(const cal_t *c)
{
    int prov = -1;

    /* calendar time ignores holidays: Jan 27 10:00 + 72h = Jan 30 10:00 (Spring Festival) */
    CHECK_STR(due(c, "2025-01-27T10:00", "72h", &prov), "2025-01-30T10:00:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_STR(due(c, "2025-01-27T10:00", "3d", NULL), "2025-01-30T10:00:00+08:00");
    CHECK_STR(due(c, "2025-01-28T03:00", "15m", NULL), "2025-01-28T03:15:00+08:00");
    CHECK_STR(due(c, "2025-12-31T23:45", "30m", NULL), "2026-01-01T00:15:00+08:00");
    /* the day after closure: the end (24:00) of Mar 11 */
    CHECK_STR(due(c, "2025-03-10T15:00", "1d+next", NULL), "2025-03-12T00:00:00+08:00");
    CHECK_STR(due(c, "2025-03-10T15:00", "2h+next", NULL), "2025-03-11T02:00:00+08:00");
    /* the local day is +08:00 whatever TZ says: 23:30 UTC on Mar 9 is Mar 10 07:30 here */
    CHECK_STR(due(c, "2025-03-09T23:30Z", "1d+next", NULL), "2025-03-12T00:00:00+08:00");
    /* into 2027 (no file): calendar spans do not need one */
    CHECK_STR(due(c, "2026-12-31T10:00", "72h", &prov), "2027-01-03T10:00:00+08:00");
    CHECK_INT(prov, 0);
}

/* ---------------------------------------------------------------------------------------------
 * 2026 -> 2027: provisional until the 2027 file is installed */

static int write_file(test_env_t *env, const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", env->tmp, name);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    fclose(f);
    for (int i = 0; i < env->nnames; i++) {
        if (strcmp(env->names[i], name) == 0)
            return 0;
    }
    if (env->nnames < 32)
        snprintf(env->names[env->nnames++], sizeof(env->names[0]), "%s", name);
    return 0;
}

static void test_year_boundary(test_env_t *env)
{
    const char *src = getenv("REXIAN_SOURCE_DIR");
    char dir[512], err[512] = "", path[256];
    cal_t *c;
    int prov = -1;

    /* Wed 2026-12-30 10:00: Thu Dec 31 = 1 (2026 file), Fri 2027-01-01 = 2 (no file: a
     * weekday, provisional), Mon Jan 4 = 3, 5 = 4, Wed Jan 6 = 5. */
    CHECK_STR(due(env->cal, "2026-12-30T10:00", "1wd", &prov), "2026-12-31T17:30:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_STR(due(env->cal, "2026-12-30T10:00", "2wd", &prov), "2027-01-01T17:30:00+08:00");
    CHECK_INT(prov, 1);
    CHECK_STR(due(env->cal, "2026-12-30T10:00", "5wd", &prov), "2027-01-06T17:30:00+08:00");
    CHECK_INT(prov, 1);
    /* working hours into 2027 keep 2026's office hours: Dec 31 16:30-17:30, Jan 1 08:30-09:30 */
    CHECK_STR(due(env->cal, "2026-12-31T16:30", "2wh", &prov), "2027-01-01T09:30:00+08:00");
    CHECK_INT(prov, 1);

    /* Installing a 2027 file (a test calendar, not a notice: New Year on Jan 1 only) moves the
     * deadline: Jan 1 off, Mon 4 = 2, 5 = 3, 6 = 4, Thu Jan 7 = 5. */
    snprintf(dir, sizeof(dir), "%s/deploy/calendar", src != NULL ? src : ".");
    c = cal_load_dir(dir, err, sizeof(err));
    CHECK(c != NULL);
    if (c == NULL)
        return;
    write_file(env, "2027.conf",
               "[calendar]\nyear = 2027\nsource = test calendar\n[holidays]\n"
               "new-year = 2027-01-01\n[hours]\nam = 09:00-12:00\npm = 13:00-18:00\n");
    snprintf(path, sizeof(path), "%s/2027.conf", env->tmp);
    CHECK_INT(cal_load_file(c, path, err, sizeof(err)), 0);
    CHECK_STR(due(c, "2026-12-30T10:00", "5wd", &prov), "2027-01-07T18:00:00+08:00");
    CHECK_INT(prov, 0);
    CHECK_INT(cal_is_workday(c, 2027, 1, 1, &prov), 0);
    CHECK_INT(prov, 0);
    /* loading the same year twice is refused */
    CHECK_INT(cal_load_file(c, path, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "already loaded") != NULL);
    cal_destroy(&c);
    CHECK(c == NULL);
    cal_destroy(&c);

    /* no calendar at all: weekends only, provisional. Fri 2025-01-24 -> Mon Jan 27. */
    CHECK_STR(due(NULL, "2025-01-24T10:00", "1wd", &prov), "2025-01-27T17:30:00+08:00");
    CHECK_INT(prov, 1);
    CHECK_INT(cal_is_workday(NULL, 2025, 1, 26, &prov), 0);
    CHECK_INT(prov, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Spans and time text */

static void test_text(void)
{
    static const char *const bad[] = {
        "",    "wd",   "5",   "5x", "-5d", "5 wd", "5wd ", "5wd+nxt", "5+next", "5wd+next+next",
        "5dw", "1.5h", "5WD", NULL,
    };
    static const char *const too_big[] = {
        "0wd", "251wd", "2001wh", "367d", "8785h", "527041m", "99999999999999999999d"};
    cal_span_t sp;
    char buf[CAL_SPAN_MAX], tbuf[CAL_TIME_MAX];
    int64_t ms = -1;

    CHECK_INT(cal_parse_span("13wd+next", &sp), 0);
    CHECK_INT(sp.unit, CAL_WORKDAYS);
    CHECK_INT(sp.count, 13);
    CHECK_INT(sp.from_next_day, 1);
    CHECK_INT(cal_span_format(&sp, buf), 0);
    CHECK_STR(buf, "13wd+next");
    CHECK_INT(cal_parse_span("4wh", &sp), 0);
    CHECK_INT(sp.unit, CAL_WORKHOURS);
    CHECK_INT(sp.from_next_day, 0);
    CHECK_INT(cal_parse_span("250wd", &sp), 0);
    CHECK_INT(cal_parse_span("2000wh", &sp), 0);
    CHECK_INT(cal_parse_span("366d", &sp), 0);
    CHECK_INT(cal_parse_span("8784h", &sp), 0);
    CHECK_INT(cal_parse_span("527040m", &sp), 0);
    CHECK_INT(cal_parse_span("30m", &sp), 0);
    CHECK_INT(sp.unit, CAL_MINUTES);
    CHECK_INT(sp.count, 30);
    for (int i = 0; bad[i] != NULL; i++)
        CHECK_INT(cal_parse_span(bad[i], &sp), -EINVAL);
    CHECK_INT(cal_parse_span(NULL, &sp), -EINVAL);
    for (size_t i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++)
        CHECK_INT(cal_parse_span(too_big[i], &sp), -ERANGE);
    sp.count = 251;
    sp.unit = CAL_WORKDAYS;
    CHECK_INT(cal_span_format(&sp, buf), -EINVAL);
    CHECK_INT(cal_add(NULL, 0, &sp, &ms, NULL), -EINVAL);

    /* 2025-01-24T02:00Z: 20089 days to 2025-01-01 (55 years, 14 leap days) + 23 days = 20112;
     * 20112 * 86400000 + 2 h = 1737684000000. */
    CHECK_INT(cal_parse_time("2025-01-24T10:00", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684000000));
    CHECK_INT(cal_parse_time("2025-01-24T10:00:00+08:00", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684000000));
    CHECK_INT(cal_parse_time("2025-01-24T02:00:00Z", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684000000));
    CHECK_INT(cal_parse_time("2025-01-24T03:00+0100", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684000000));
    CHECK_INT(cal_parse_time("2025-01-23T21:00-05:00", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684000000));
    CHECK_INT(cal_parse_time("2025-01-24 10:00:07.5", &ms), 0);
    CHECK_INT(ms, INT64_C(1737684007500));
    CHECK_INT(cal_format(INT64_C(1737684000000), tbuf), 0);
    CHECK_STR(tbuf, "2025-01-24T10:00:00+08:00");
    CHECK_INT(cal_format(INT64_C(1737684007500), tbuf), 0);
    CHECK_STR(tbuf, "2025-01-24T10:00:07.500+08:00");
    CHECK_INT(cal_format(0, tbuf), 0);
    CHECK_STR(tbuf, "1970-01-01T08:00:00+08:00");
    CHECK_INT(cal_format(INT64_MAX, tbuf), -ERANGE);
    CHECK_STR(tbuf, "");
    CHECK_INT(cal_format(INT64_MIN, tbuf), -ERANGE);
    ms = 42;
    CHECK_INT(cal_parse_time("2025-02-29T10:00", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24T24:00", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24T10:60", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24T10:00+08", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24T10:00:00.", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2025-01-24T10:00 ", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("1999-12-31T10:00", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("2101-01-01T10:00", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("25-01-24T10:00", &ms), -EINVAL);
    CHECK_INT(cal_parse_time("", &ms), -EINVAL);
    CHECK_INT(ms, 42); /* untouched on failure */
}

static void test_limits(const cal_t *c)
{
    char erange[32];

    snprintf(erange, sizeof(erange), "error %d", -ERANGE);
    /* outside 2000-2100: 00:30+09:00 on 2000-01-01 is 23:30 on 1999-12-31 here */
    CHECK_STR(due(c, "2000-01-01T00:00", "1h", NULL), "2000-01-01T01:00:00+08:00");
    CHECK_STR(due(c, "2000-01-01T00:30+09:00", "1h", NULL), erange);
    CHECK_STR(due(c, "2100-12-01T10:00", "250wd", NULL), erange);
    CHECK_STR(due(c, "2100-12-30T10:00", "1d+next", NULL), "2101-01-01T00:00:00+08:00");
    CHECK_STR(due(c, "2100-12-31T10:00", "1d+next", NULL), erange);
    CHECK_STR(due(c, "2100-12-31T10:00", "2d", NULL), erange);
    /* the largest spans fit within the years */
    CHECK(strncmp(due(c, "2025-01-02T10:00", "250wd", NULL), "2026-", 5) == 0);
    CHECK(strncmp(due(c, "2025-01-02T10:00", "2000wh", NULL), "2026-", 5) == 0);
}

/* ---------------------------------------------------------------------------------------------
 * Validation: each rule, with the file and line it names */

typedef struct test_bad_t {
    const char *text;  /* file content, written as 2026.conf */
    const char *where; /* expected "2026.conf:N:" (or "2026.conf: ") */
    const char *what;  /* expected words in the message */
} test_bad_t;

#define HEAD "[calendar]\nyear = 2026\nsource = test\n" /* lines 1-3 */
#define HOURS "[hours]\nam = 08:30-12:00\npm = 14:00-17:30\n"

static void test_validation(test_env_t *env)
{
    static const test_bad_t cases[] = {
        {HEAD "[holidays]\na = 2026-02-30\n" HOURS, "2026.conf:5:", "not a date that exists"},
        {HEAD "[holidays]\na = 2026-01-01\nb = 2026-02-15..2026-02-30\n" HOURS,
         "2026.conf:6:", "not a date that exists"},
        {HEAD "[holidays]\na = 2026-01-01, 2025-12-31\n" HOURS, "2026.conf:5:", "not in 2026"},
        {HEAD "[holidays]\na = 2026-01-01\n[workdays]\nb = 2026-02-13\n" HOURS,
         "2026.conf:7:", "Friday: a make-up working day must be a Saturday or Sunday"},
        {HEAD "[holidays]\nsf = 2026-02-14\n[workdays]\nsf = 2026-02-28,\n 2026-02-14\n" HOURS,
         "2026.conf:8:", "already a holiday (sf): a day cannot be both"},
        {HEAD "[workdays]\nsf = 2026-02-14\n[holidays]\nx = 2026-02-13..2026-02-15\n" HOURS,
         "2026.conf:7:", "already a make-up working day (sf): a day cannot be both"},
        {HEAD "[holidays]\na = 2026-10-01..2026-10-07\nb = 2026-10-07\n" HOURS,
         "2026.conf:6:", "listed twice"},
        {HEAD "[holidays]\na = 2026-02-23..2026-02-15\n" HOURS,
         "2026.conf:5:", "ends before it starts"},
        {HEAD "[holidays]\na = 2026-01-01\n[hours]\nam = 12:00-08:30\n",
         "2026.conf:7:", "end before they start"},
        {HEAD "[holidays]\na = 2026-01-01\n[hours]\nam = 08:30-12:00\npm = 11:30-17:30\n",
         "2026.conf:8:", "start before the previous period ends (12:00)"},
        {HEAD "[holidays]\na = 2026-01-01\n[hours]\nam = 8:30-12:00\n",
         "2026.conf:7:", "not HH:MM-HH:MM"},
        {"[calendar]\nyear = 2025\n", "2026.conf:2:", "named 2026.conf"},
        {HEAD "[holiday]\na = 2026-01-01\n", "2026.conf:5:", "unknown section [holiday]"},
        {HEAD "yaer = 2026\n", "2026.conf:4:", "unknown key 'yaer'"},
        {HEAD "[holidays]\na = 2026-01-01\n", "2026.conf: ", "no office hours"},
        {"[calendar]\nsource = x\n[holidays]\na = 2026-01-01\n" HOURS, "2026.conf: ", "no year"},
        {HEAD HOURS, "2026.conf: ", "lists no day"},
    };
    char err[512], path[256];

    snprintf(path, sizeof(path), "%s/2026.conf", env->tmp);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cal_t *c = cal_new();
        int rc;

        err[0] = '\0';
        write_file(env, "2026.conf", cases[i].text);
        rc = cal_load_file(c, path, err, sizeof(err));
        CHECK(rc < 0);
        CHECK(!cal_has_year(c, 2026));
        if (strstr(err, cases[i].where) == NULL || strstr(err, cases[i].what) == NULL) {
            fprintf(stderr, "case %zu: error \"%s\", want \"%s\" and \"%s\"\n", i, err,
                    cases[i].where, cases[i].what);
            CHECK(0);
        } else {
            CHECK(1);
        }
        cal_destroy(&c);
    }

    /* a good file with a list continued on the next line, and another file name */
    write_file(env, "2026.conf",
               HEAD "[holidays]\nsf = 2026-02-16,\n  2026-02-17 .. 2026-02-18\n" HOURS);
    {
        cal_t *c = cal_new();
        CHECK_INT(cal_load_file(c, path, err, sizeof(err)), 0);
        CHECK_INT(cal_is_workday(c, 2026, 2, 16, NULL), 0);
        CHECK_INT(cal_is_workday(c, 2026, 2, 18, NULL), 0);
        CHECK_INT(cal_is_workday(c, 2026, 2, 19, NULL), 1);
        cal_destroy(&c);
    }
    write_file(env, "calendar.conf", HEAD "[holidays]\na = 2026-01-01\n" HOURS);
    {
        cal_t *c = cal_new();
        snprintf(path, sizeof(path), "%s/calendar.conf", env->tmp);
        CHECK_INT(cal_load_file(c, path, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "calendar.conf: a calendar file is named after its year") != NULL);
        cal_destroy(&c);
    }

    /* a directory: other names are ignored, a bad year file stops the load with its line */
    write_file(env, "README.md", "not a calendar\n");
    write_file(env, "2026.conf.bak", "junk\n");
    write_file(env, "2026.conf", HEAD "[holidays]\na = 2026-01-01\n" HOURS);
    write_file(env, "2027.conf",
               "[calendar]\nyear = 2027\nsource = x\n[workdays]\n"
               "a = 2027-01-04\n");
    {
        cal_t *c = cal_load_dir(env->tmp, err, sizeof(err));
        CHECK(c == NULL);
        CHECK(strstr(err, "2027.conf:5: 2027-01-04 is a Monday") != NULL);
    }
    write_file(env, "2027.conf",
               "[calendar]\nyear = 2027\nsource = x\n[holidays]\n"
               "a = 2027-01-01\n" HOURS);
    {
        cal_t *c = cal_load_dir(env->tmp, err, sizeof(err));
        CHECK(c != NULL);
        CHECK(cal_has_year(c, 2026) && cal_has_year(c, 2027) && !cal_has_year(c, 2025));
        cal_destroy(&c);
    }
    CHECK(cal_load_dir("/nonexistent/calendar", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent/calendar: cannot open") != NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Properties over random starts in 2025-2026 */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t add(const cal_t *c, int64_t start, cal_unit_t unit, int n, int next)
{
    cal_span_t sp = {.unit = unit, .count = n, .from_next_day = next};
    int64_t ms = -1;
    int prov = -1;

    if (cal_add(c, start, &sp, &ms, &prov) != 0 || prov != 0)
        return -1;
    return ms;
}

/* Working day and local minute of the day of ms. */
static int day_facts(const cal_t *c, int64_t ms, int *ret_minute)
{
    char buf[CAL_TIME_MAX];
    int y, m, d, hh, mm;

    cal_format(ms, buf);
    if (sscanf(buf, "%d-%d-%dT%d:%d", &y, &m, &d, &hh, &mm) != 5)
        return -1;
    *ret_minute = hh * 60 + mm;
    return cal_is_workday(c, y, m, d, NULL);
}

static void test_properties(const cal_t *c)
{
    enum { NSTARTS = 400, MAXN = 20 };
    int64_t lo = at("2025-01-01T00:00"), hi = at("2026-12-01T00:00");
    int64_t starts[NSTARTS];
    uint64_t seed = 0x12345ULL;
    int bad_mono_n = 0, bad_mono_start = 0, bad_after = 0, bad_land = 0, bad_wh = 0;

    for (int i = 0; i < NSTARTS; i++)
        starts[i] = lo + (int64_t)(rnd(&seed) % (uint64_t)((hi - lo) / 60000)) * 60000;
    qsort(starts, NSTARTS, sizeof(starts[0]), cmp_i64);
    for (int i = 0; i < NSTARTS; i++) {
        int64_t s = starts[i], prev = s, prev_next = s, prev_wh = s;
        int minute;

        for (int n = 1; n <= MAXN; n++) {
            int64_t d = add(c, s, CAL_WORKDAYS, n, 0), dn = add(c, s, CAL_WORKDAYS, n, 1);
            int64_t w = add(c, s, CAL_WORKHOURS, n, 0);
            if (d <= prev || dn <= prev_next || w < prev_wh + 3600000)
                bad_mono_n++;
            /* +next never gives more time than the arrival-day rule */
            if (dn > d || d <= s || dn <= s || w <= s)
                bad_after++;
            /* every wd deadline is the close of a working day */
            if (day_facts(c, d, &minute) != 1 || minute != 17 * 60 + 30 ||
                day_facts(c, dn, &minute) != 1 || minute != 17 * 60 + 30)
                bad_land++;
            /* every wh deadline is inside (or at the end of) office hours of a working day */
            if (day_facts(c, w, &minute) != 1 || !((minute > 8 * 60 + 30 && minute <= 12 * 60) ||
                                                   (minute > 14 * 60 && minute <= 17 * 60 + 30)))
                bad_wh++;
            prev = d;
            prev_next = dn;
            prev_wh = w;
        }
        if (i > 0) {
            for (int n = 1; n <= MAXN; n += 3) {
                if (add(c, starts[i - 1], CAL_WORKDAYS, n, 0) > add(c, s, CAL_WORKDAYS, n, 0) ||
                    add(c, starts[i - 1], CAL_WORKDAYS, n, 1) > add(c, s, CAL_WORKDAYS, n, 1) ||
                    add(c, starts[i - 1], CAL_WORKHOURS, n, 0) > add(c, s, CAL_WORKHOURS, n, 0))
                    bad_mono_start++;
            }
        }
    }
    CHECK_INT(bad_mono_n, 0);
    CHECK_INT(bad_mono_start, 0);
    CHECK_INT(bad_after, 0);
    CHECK_INT(bad_land, 0);
    CHECK_INT(bad_wh, 0);
}

int main(void)
{
    const char *src = getenv("REXIAN_SOURCE_DIR");
    test_env_t env = {0};
    char dir[512], err[512] = "";

    if (src == NULL) {
        fprintf(stderr, "REXIAN_SOURCE_DIR is not set (the repository root)\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/deploy/calendar", src);
    env.cal = cal_load_dir(dir, err, sizeof(err));
    if (env.cal == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", dir, err);
        return 1;
    }
    snprintf(env.tmp, sizeof(env.tmp), "/tmp/test_cal.XXXXXX");
    if (mkdtemp(env.tmp) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    test_files_match_notices(env.cal);
    test_workdays_holidays(env.cal);
    test_workdays_rules(env.cal);
    test_workhours(env.cal);
    test_calendar_time(env.cal);
    test_year_boundary(&env);
    test_text();
    test_limits(env.cal);
    test_validation(&env);
    test_properties(env.cal);

    for (int i = 0; i < env.nnames; i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", env.tmp, env.names[i]);
        unlink(path);
    }
    rmdir(env.tmp);
    cal_destroy(&env.cal);
    return check_done();
}
