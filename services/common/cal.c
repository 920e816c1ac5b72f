/* cal.c -- China's working calendar and deadline arithmetic (see cal.h) */
#include "cal.h"

#include "conf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAL_MINUTE_MS INT64_C(60000)
#define CAL_HOUR_MS INT64_C(3600000)
#define CAL_DAY_MS INT64_C(86400000)
#define CAL_OFFSET_MS (8 * CAL_HOUR_MS) /* Asia/Shanghai, fixed */
#define CAL_NYEARS (CAL_YEAR_MAX - CAL_YEAR_MIN + 1)

/* Local days since 1970-01-01 of the first and last day handled (2000-01-01, 2100-12-31). */
#define CAL_FIRST_DAY INT64_C(10957)
#define CAL_LAST_DAY INT64_C(47846)

typedef enum cal_kind_t {
    CAL_KIND_NORMAL = 0, /* by weekday: Monday to Friday work */
    CAL_KIND_HOLIDAY,    /* listed in [holidays] */
    CAL_KIND_WORKDAY,    /* listed in [workdays]: a weekend day worked */
} cal_kind_t;

typedef struct cal_period_t {
    int start_min; /* minutes after local midnight, opening */
    int end_min;   /* minutes after local midnight, close (up to 1440) */
} cal_period_t;

typedef struct cal_hours_t {
    cal_period_t period[CAL_MAX_PERIODS]; /* in order, not overlapping */
    int nperiods;                         /* periods used, at least 1 */
} cal_hours_t;

typedef struct cal_year_t {
    int year;                                       /* the file's year */
    int64_t jan1;                                   /* local days since epoch of Jan 1 */
    uint8_t kind[366];                              /* cal_kind_t per day of the year */
    uint8_t label[366];                             /* 1-based index into labels, 0: none */
    char labels[CAL_MAX_LABELS][CAL_MAX_LABEL + 1]; /* [holidays]/[workdays] keys */
    int nlabels;                                    /* labels used */
    char source[CAL_MAX_SOURCE + 1];                /* [calendar] source */
    cal_hours_t hours;                              /* [hours] */
    int have_year;                                  /* [calendar] year was given */
    int nholidays;                                  /* days listed in [holidays] */
} cal_year_t;

struct cal_t {
    cal_year_t *years[CAL_NYEARS]; /* by year - CAL_YEAR_MIN; NULL: no file */
};

static const cal_hours_t cal_default_hours = {
    .period = {{8 * 60 + 30, 12 * 60}, {14 * 60, 17 * 60 + 30}},
    .nperiods = 2,
};

static const char *const cal_weekday_names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                 "Friday", "Saturday", "Sunday"};

/* ---------------------------------------------------------------------------------------------
 * Civil dates (proleptic Gregorian, days since 1970-01-01; H. Hinnant's algorithms) */

static int cal_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int cal_days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && cal_is_leap(y) ? 29 : days[m - 1];
}

static int cal_date_valid(int64_t y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= cal_days_in_month(y, m);
}

static int64_t cal_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t cal_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = cal_floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void cal_civil_from_days(int64_t z, int64_t *ret_y, int *ret_m, int *ret_d)
{
    int64_t era, doe, yoe, doy, mp, y;
    int m;

    z += 719468;
    era = cal_floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
    m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ret_m = m;
    *ret_y = y + (m <= 2);
}

/* 0 = Monday .. 6 = Sunday; 1970-01-01 was a Thursday. */
static int cal_weekday(int64_t day)
{
    return (int)((day % 7 + 7 + 3) % 7);
}

/* ---------------------------------------------------------------------------------------------
 * Reading one year's file */

typedef enum cal_section_t {
    CAL_SEC_HOLIDAYS = 0, /* [holidays] */
    CAL_SEC_WORKDAYS,     /* [workdays] */
} cal_section_t;

typedef struct cal_load_t {
    cal_year_t *yr;    /* the year being filled */
    cal_section_t sec; /* the list being read */
    int label;         /* 1-based label of the key being read */
    int after_source;  /* the previous line was source: a repeat is its continuation */
    char err[200];     /* what an item callback found wrong */
} cal_load_t;

/* Exactly "YYYY-MM-DD" naming a day that exists. */
static int cal_parse_date(const char *s, size_t len, int *ret_y, int *ret_m, int *ret_d)
{
    int v[3] = {0, 0, 0}, widths[3] = {4, 2, 2}, pos = 0;

    if (len != 10)
        return -1;
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < widths[f]; i++, pos++) {
            if (s[pos] < '0' || s[pos] > '9')
                return -1;
            v[f] = v[f] * 10 + (s[pos] - '0');
        }
        if (f < 2 && s[pos++] != '-')
            return -1;
    }
    if (!cal_date_valid(v[0], v[1], v[2]))
        return -1;
    *ret_y = v[0];
    *ret_m = v[1];
    *ret_d = v[2];
    return 0;
}

static void cal_trim(const char **start, const char **end)
{
    while (*start < *end && (**start == ' ' || **start == '\t'))
        (*start)++;
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

/* Parses one date of this file's year; err says what is wrong. Returns day of year or -1. */
static int cal_item_date(cal_load_t *ld, const char *s, size_t len)
{
    int y, m, d;

    if (cal_parse_date(s, len, &y, &m, &d) != 0) {
        snprintf(ld->err, sizeof(ld->err),
                 "'%.*s' is not a date that exists; write YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD",
                 (int)(len > 40 ? 40 : len), s);
        return -1;
    }
    if (y != ld->yr->year) {
        snprintf(ld->err, sizeof(ld->err), "%.10s is not in %d; this file holds only %d's dates", s,
                 ld->yr->year, ld->yr->year);
        return -1;
    }
    return (int)(cal_days_from_civil(y, m, d) - ld->yr->jan1);
}

static int cal_mark_day(cal_load_t *ld, int doy)
{
    cal_year_t *yr = ld->yr;
    int64_t day = yr->jan1 + doy, y;
    int m, d, wd = cal_weekday(day);
    const char *other = yr->label[doy] > 0 ? yr->labels[yr->label[doy] - 1] : "";

    cal_civil_from_days(day, &y, &m, &d);
    if (ld->sec == CAL_SEC_WORKDAYS && wd < 5) {
        snprintf(ld->err, sizeof(ld->err),
                 "%04d-%02d-%02d is a %s: a make-up working day must be a Saturday or Sunday",
                 (int)y, m, d, cal_weekday_names[wd]);
        return -1;
    }
    if (yr->kind[doy] == CAL_KIND_HOLIDAY) {
        snprintf(ld->err, sizeof(ld->err), "%04d-%02d-%02d is already a holiday (%s)%s", (int)y, m,
                 d, other,
                 ld->sec == CAL_SEC_WORKDAYS ? ": a day cannot be both" : ": listed twice");
        return -1;
    }
    if (yr->kind[doy] == CAL_KIND_WORKDAY) {
        snprintf(ld->err, sizeof(ld->err), "%04d-%02d-%02d is already a make-up working day (%s)%s",
                 (int)y, m, d, other,
                 ld->sec == CAL_SEC_HOLIDAYS ? ": a day cannot be both" : ": listed twice");
        return -1;
    }
    yr->kind[doy] = ld->sec == CAL_SEC_HOLIDAYS ? CAL_KIND_HOLIDAY : CAL_KIND_WORKDAY;
    yr->label[doy] = (uint8_t)ld->label;
    if (ld->sec == CAL_SEC_HOLIDAYS)
        yr->nholidays++;
    return 0;
}

/* One item of a [holidays] or [workdays] list: a date or "first..last". */
static int cal_item(void *user, const char *item)
{
    cal_load_t *ld = user;
    const char *dots = strstr(item, ".."), *a = item, *a_end, *b, *b_end;
    int first, last;

    if (dots == NULL) {
        first = cal_item_date(ld, item, strlen(item));
        if (first < 0)
            return 1;
        return cal_mark_day(ld, first) == 0 ? 0 : 1;
    }
    a_end = dots;
    b = dots + 2;
    b_end = item + strlen(item);
    cal_trim(&a, &a_end);
    cal_trim(&b, &b_end);
    first = cal_item_date(ld, a, (size_t)(a_end - a));
    if (first < 0)
        return 1;
    last = cal_item_date(ld, b, (size_t)(b_end - b));
    if (last < 0)
        return 1;
    if (last < first) {
        snprintf(ld->err, sizeof(ld->err), "range %.*s..%.*s ends before it starts",
                 (int)(a_end - a), a, (int)(b_end - b), b);
        return 1;
    }
    for (int doy = first; doy <= last; doy++) {
        if (cal_mark_day(ld, doy) != 0)
            return 1;
    }
    return 0;
}

/* "HH:MM" with HH 00-24, MM 00-59, 24:00 at most. Returns minutes or -1. */
static int cal_parse_hhmm(const char *s, size_t len)
{
    int h, m;

    if (len != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++) {
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

static int cal_hours_line(cal_year_t *yr, const char *value, char *err, size_t errcap)
{
    const char *dash = strchr(value, '-'), *a = value, *a_end = dash, *b, *b_end;
    cal_hours_t *h = &yr->hours;
    int start, end;

    if (dash == NULL)
        goto bad;
    b = dash + 1;
    b_end = value + strlen(value);
    cal_trim(&a, &a_end);
    cal_trim(&b, &b_end);
    start = cal_parse_hhmm(a, (size_t)(a_end - a));
    end = cal_parse_hhmm(b, (size_t)(b_end - b));
    if (start < 0 || end < 0)
        goto bad;
    if (end <= start) {
        snprintf(err, errcap, "office hours %s end before they start", value);
        return -1;
    }
    if (h->nperiods == CAL_MAX_PERIODS) {
        snprintf(err, errcap, "too many office-hour periods (at most %d)", CAL_MAX_PERIODS);
        return -1;
    }
    if (h->nperiods > 0 && start < h->period[h->nperiods - 1].end_min) {
        int prev = h->period[h->nperiods - 1].end_min;
        snprintf(err, errcap,
                 "office hours %s start before the previous period ends (%02d:%02d); list "
                 "periods in order, without overlap",
                 value, prev / 60, prev % 60);
        return -1;
    }
    h->period[h->nperiods].start_min = start;
    h->period[h->nperiods].end_min = end;
    h->nperiods++;
    return 0;
bad:
    snprintf(err, errcap, "office hours '%.40s' are not HH:MM-HH:MM (e.g. 08:30-12:00)", value);
    return -1;
}

static int cal_find_label(cal_load_t *ld, const char *key, char *err, size_t errcap)
{
    cal_year_t *yr = ld->yr;

    if (strlen(key) > CAL_MAX_LABEL) {
        snprintf(err, errcap, "label longer than %d bytes", CAL_MAX_LABEL);
        return -1;
    }
    for (int i = 0; i < yr->nlabels; i++) {
        if (strcmp(yr->labels[i], key) == 0)
            return i + 1;
    }
    if (yr->nlabels == CAL_MAX_LABELS) {
        snprintf(err, errcap, "too many labels (at most %d)", CAL_MAX_LABELS);
        return -1;
    }
    snprintf(yr->labels[yr->nlabels], sizeof(yr->labels[0]), "%s", key);
    return ++yr->nlabels;
}

static int cal_calendar_line(cal_load_t *ld, const char *key, const char *value, char *err,
                             size_t errcap)
{
    cal_year_t *yr = ld->yr;
    int64_t year;

    if (strcmp(key, "year") == 0) {
        if (yr->have_year) {
            snprintf(err, errcap, "year is given twice");
            return -1;
        }
        if (conf_parse_int(value, CAL_YEAR_MIN, CAL_YEAR_MAX, &year) != 0) {
            snprintf(err, errcap, "year '%.20s' is not a year from %d to %d", value, CAL_YEAR_MIN,
                     CAL_YEAR_MAX);
            return -1;
        }
        if (year != yr->year) {
            snprintf(err, errcap, "year = %d but the file is named %d.conf", (int)year, yr->year);
            return -1;
        }
        yr->have_year = 1;
        return 0;
    }
    if (strcmp(key, "source") == 0) {
        size_t have = strlen(yr->source), add = strlen(value);
        /* A continuation line calls again with the same key: join with a space. */
        if (have > 0 && !ld->after_source) {
            snprintf(err, errcap, "source is given twice");
            return -1;
        }
        if (have + (have > 0) + add > CAL_MAX_SOURCE) {
            snprintf(err, errcap, "source longer than %d bytes", CAL_MAX_SOURCE);
            return -1;
        }
        if (have > 0)
            yr->source[have++] = ' ';
        memcpy(yr->source + have, value, add + 1);
        return 0;
    }
    snprintf(err, errcap, "unknown key '%.40s' in [calendar] (allowed: year, source)", key);
    return -1;
}

static int cal_file_line(void *user, const char *section, const char *key, const char *value,
                         char *err, size_t errcap)
{
    cal_load_t *ld = user;
    int rc = -1;

    if (strcmp(section, "calendar") == 0) {
        rc = cal_calendar_line(ld, key, value, err, errcap);
    } else if (strcmp(section, "holidays") == 0 || strcmp(section, "workdays") == 0) {
        int label = cal_find_label(ld, key, err, errcap);
        if (label < 0)
            return -1;
        ld->sec = section[0] == 'h' ? CAL_SEC_HOLIDAYS : CAL_SEC_WORKDAYS;
        ld->label = label;
        ld->err[0] = '\0';
        rc = conf_each_item(value, cal_item, ld);
        if (rc != 0) {
            snprintf(err, errcap, "%s", ld->err[0] ? ld->err : "an item longer than 255 bytes");
            rc = -1;
        }
    } else if (strcmp(section, "hours") == 0) {
        rc = cal_hours_line(ld->yr, value, err, errcap);
    } else {
        snprintf(err, errcap,
                 "unknown section [%.40s] (allowed: calendar, holidays, workdays, hours)", section);
    }
    ld->after_source = strcmp(section, "calendar") == 0 && strcmp(key, "source") == 0;
    return rc;
}

/* The year a calendar file's name says ("2026.conf" in any directory), or -1. */
static int cal_name_year(const char *name)
{
    int y = 0;

    if (strlen(name) != 9 || strcmp(name + 4, ".conf") != 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        y = y * 10 + (name[i] - '0');
    }
    return y >= CAL_YEAR_MIN && y <= CAL_YEAR_MAX ? y : -1;
}

/* ---------------------------------------------------------------------------------------------
 * Loading */

cal_t *cal_new(void)
{
    return calloc(1, sizeof(cal_t));
}

void cal_destroy(cal_t **pc)
{
    if (pc == NULL || *pc == NULL)
        return;
    for (int i = 0; i < CAL_NYEARS; i++)
        free((*pc)->years[i]);
    free(*pc);
    *pc = NULL;
}

int cal_load_file(cal_t *c, const char *path, char *err, size_t errcap)
{
    const char *base = strrchr(path, '/');
    cal_load_t ld = {0};
    cal_year_t *yr;
    int year;

    base = base != NULL ? base + 1 : path;
    year = cal_name_year(base);
    if (year < 0) {
        snprintf(err, errcap, "%s: a calendar file is named after its year, %d.conf to %d.conf",
                 path, CAL_YEAR_MIN, CAL_YEAR_MAX);
        return -EINVAL;
    }
    if (c->years[year - CAL_YEAR_MIN] != NULL) {
        snprintf(err, errcap, "%s: the calendar for %d is already loaded", path, year);
        return -EEXIST;
    }
    yr = calloc(1, sizeof(*yr));
    if (yr == NULL) {
        snprintf(err, errcap, "%s: out of memory", path);
        return -ENOMEM;
    }
    yr->year = year;
    yr->jan1 = cal_days_from_civil(year, 1, 1);
    ld.yr = yr;
    if (conf_load(path, cal_file_line, &ld, err, errcap) != 0)
        goto bad;
    if (!yr->have_year) {
        snprintf(err, errcap, "%s: [calendar] has no year (year = %d)", path, year);
        goto bad;
    }
    if (yr->source[0] == '\0') {
        snprintf(err, errcap, "%s: [calendar] has no source (the notice's name and date)", path);
        goto bad;
    }
    if (yr->nholidays == 0) {
        snprintf(err, errcap, "%s: [holidays] lists no day; copy them from the year's notice",
                 path);
        goto bad;
    }
    if (yr->hours.nperiods == 0) {
        snprintf(err, errcap, "%s: [hours] lists no office hours (e.g. am = 08:30-12:00)", path);
        goto bad;
    }
    c->years[year - CAL_YEAR_MIN] = yr;
    return 0;
bad:
    free(yr);
    return -EINVAL;
}

cal_t *cal_load_dir(const char *dir, char *err, size_t errcap)
{
    char found[CAL_NYEARS] = {0};
    struct dirent *de;
    cal_t *c;
    DIR *d;

    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errcap, "%s: cannot open the calendar directory: %s", dir, strerror(errno));
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        int y = cal_name_year(de->d_name);
        if (y >= 0)
            found[y - CAL_YEAR_MIN] = 1;
    }
    closedir(d);
    c = cal_new();
    if (c == NULL) {
        snprintf(err, errcap, "%s: out of memory", dir);
        return NULL;
    }
    for (int i = 0; i < CAL_NYEARS; i++) {
        char path[4096];

        if (!found[i])
            continue;
        if (snprintf(path, sizeof(path), "%s/%d.conf", dir, CAL_YEAR_MIN + i) >=
            (int)sizeof(path)) {
            snprintf(err, errcap, "%s: directory name too long", dir);
            cal_destroy(&c);
            return NULL;
        }
        if (cal_load_file(c, path, err, errcap) != 0) {
            cal_destroy(&c);
            return NULL;
        }
    }
    return c;
}

int cal_has_year(const cal_t *c, int year)
{
    return c != NULL && year >= CAL_YEAR_MIN && year <= CAL_YEAR_MAX &&
           c->years[year - CAL_YEAR_MIN] != NULL;
}

const char *cal_source(const cal_t *c, int year)
{
    return cal_has_year(c, year) ? c->years[year - CAL_YEAR_MIN]->source : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Days and hours */

static const cal_year_t *cal_year_of(const cal_t *c, int64_t day)
{
    int64_t y;
    int m, d;

    if (c == NULL)
        return NULL;
    cal_civil_from_days(day, &y, &m, &d);
    return y >= CAL_YEAR_MIN && y <= CAL_YEAR_MAX ? c->years[y - CAL_YEAR_MIN] : NULL;
}

/* Is local day (CAL_FIRST_DAY..CAL_LAST_DAY) a working day; sets *prov without a file. */
static int cal_day_works(const cal_t *c, int64_t day, int *prov)
{
    const cal_year_t *yr = cal_year_of(c, day);

    if (yr == NULL) {
        *prov = 1;
        return cal_weekday(day) < 5;
    }
    switch (yr->kind[day - yr->jan1]) {
    case CAL_KIND_HOLIDAY:
        return 0;
    case CAL_KIND_WORKDAY:
        return 1;
    default:
        return cal_weekday(day) < 5;
    }
}

/* Office hours for day: its year's, else the nearest loaded year's, else the defaults. */
static const cal_hours_t *cal_hours_of(const cal_t *c, int64_t day)
{
    int64_t y;
    int m, d;

    if (c == NULL)
        return &cal_default_hours;
    cal_civil_from_days(day, &y, &m, &d);
    for (int i = (int)y - CAL_YEAR_MIN; i >= 0; i--) {
        if (c->years[i] != NULL)
            return &c->years[i]->hours;
    }
    for (int i = (int)y - CAL_YEAR_MIN + 1; i < CAL_NYEARS; i++) {
        if (c->years[i] != NULL)
            return &c->years[i]->hours;
    }
    return &cal_default_hours;
}

static int64_t cal_close_ms(const cal_t *c, int64_t day)
{
    const cal_hours_t *h = cal_hours_of(c, day);
    return h->period[h->nperiods - 1].end_min * CAL_MINUTE_MS;
}

int cal_is_workday(const cal_t *c, int y, int m, int d, int *ret_provisional)
{
    int prov = 0, works;

    if (y < CAL_YEAR_MIN || y > CAL_YEAR_MAX)
        return -ERANGE;
    if (!cal_date_valid(y, m, d))
        return -EINVAL;
    works = cal_day_works(c, cal_days_from_civil(y, m, d), &prov);
    if (ret_provisional != NULL)
        *ret_provisional = prov;
    return works;
}

/* ---------------------------------------------------------------------------------------------
 * Spans and deadlines */

static const struct {
    const char *suffix; /* unit as written */
    cal_unit_t unit;    /* what it means */
    int32_t max;        /* largest count */
} cal_units[] = {
    {"m", CAL_MINUTES, 366 * 24 * 60}, {"h", CAL_HOURS, 366 * 24},  {"d", CAL_DAYS, 366},
    {"wd", CAL_WORKDAYS, 250},         {"wh", CAL_WORKHOURS, 2000},
};

#define CAL_NUNITS (sizeof(cal_units) / sizeof(cal_units[0]))

int cal_parse_span(const char *text, cal_span_t *ret_span)
{
    const char *p = text, *unit_end;
    int64_t n = 0;
    size_t ulen;

    if (text == NULL || ret_span == NULL || *p < '0' || *p > '9')
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        if (n <= INT32_MAX)
            n = n * 10 + (*p - '0');
        p++;
    }
    unit_end = strchr(p, '+');
    if (unit_end == NULL)
        unit_end = p + strlen(p);
    else if (strcmp(unit_end, "+next") != 0)
        return -EINVAL;
    ulen = (size_t)(unit_end - p);
    for (size_t i = 0; i < CAL_NUNITS; i++) {
        if (strlen(cal_units[i].suffix) != ulen || strncmp(p, cal_units[i].suffix, ulen) != 0)
            continue;
        if (n < 1 || n > cal_units[i].max)
            return -ERANGE;
        ret_span->unit = cal_units[i].unit;
        ret_span->count = (int32_t)n;
        ret_span->from_next_day = *unit_end == '+';
        return 0;
    }
    return -EINVAL;
}

static int cal_span_valid(const cal_span_t *span)
{
    return span != NULL && (unsigned)span->unit < CAL_NUNITS && span->count >= 1 &&
           span->count <= cal_units[span->unit].max;
}

int cal_span_format(const cal_span_t *span, char buf[CAL_SPAN_MAX])
{
    if (!cal_span_valid(span)) {
        buf[0] = '\0';
        return -EINVAL;
    }
    snprintf(buf, CAL_SPAN_MAX, "%d%s%s", (int)span->count, cal_units[span->unit].suffix,
             span->from_next_day ? "+next" : "");
    return 0;
}

/* Working days; local is the start in local ms. Returns the due local ms or -1 (out of range). */
static int64_t cal_add_workdays(const cal_t *c, int64_t local, const cal_span_t *span, int *prov)
{
    int64_t day = cal_floor_div(local, CAL_DAY_MS), tod = local - day * CAL_DAY_MS;
    int32_t n = 0;

    /* Without +next the order arrives on the first working day it can be seen in office hours. */
    if (!span->from_next_day && !(cal_day_works(c, day, prov) && tod < cal_close_ms(c, day))) {
        do {
            if (++day > CAL_LAST_DAY)
                return -1;
        } while (!cal_day_works(c, day, prov));
    }
    while (n < span->count) {
        if (++day > CAL_LAST_DAY)
            return -1;
        if (cal_day_works(c, day, prov))
            n++;
    }
    return day * CAL_DAY_MS + cal_close_ms(c, day);
}

/* Working hours inside office hours; local is where counting starts (local ms). */
static int64_t cal_add_workhours(const cal_t *c, int64_t local, int32_t hours, int *prov)
{
    int64_t left = hours * CAL_HOUR_MS;

    for (int64_t day = cal_floor_div(local, CAL_DAY_MS); day <= CAL_LAST_DAY; day++) {
        const cal_hours_t *h;

        if (!cal_day_works(c, day, prov))
            continue;
        h = cal_hours_of(c, day);
        for (int i = 0; i < h->nperiods; i++) {
            int64_t open = day * CAL_DAY_MS + h->period[i].start_min * CAL_MINUTE_MS;
            int64_t close = day * CAL_DAY_MS + h->period[i].end_min * CAL_MINUTE_MS;
            int64_t from = local > open ? local : open;

            if (from >= close)
                continue;
            if (left <= close - from)
                return from + left;
            left -= close - from;
        }
    }
    return -1;
}

int cal_add(const cal_t *c, int64_t start_ms, const cal_span_t *span, int64_t *ret_due_ms,
            int *ret_provisional)
{
    static const int64_t unit_ms[] = {CAL_MINUTE_MS, CAL_HOUR_MS, CAL_DAY_MS};
    int64_t local, due;
    int prov = 0;

    if (!cal_span_valid(span) || ret_due_ms == NULL)
        return -EINVAL;
    if (start_ms < CAL_FIRST_DAY * CAL_DAY_MS - CAL_OFFSET_MS ||
        start_ms >= (CAL_LAST_DAY + 1) * CAL_DAY_MS - CAL_OFFSET_MS)
        return -ERANGE;
    local = start_ms + CAL_OFFSET_MS;
    switch (span->unit) {
    case CAL_MINUTES:
    case CAL_HOURS:
    case CAL_DAYS:
        if (span->from_next_day)
            local = (cal_floor_div(local, CAL_DAY_MS) + 1) * CAL_DAY_MS;
        due = local + span->count * unit_ms[span->unit];
        break;
    case CAL_WORKDAYS:
        due = cal_add_workdays(c, local, span, &prov);
        break;
    case CAL_WORKHOURS:
        if (span->from_next_day)
            local = (cal_floor_div(local, CAL_DAY_MS) + 1) * CAL_DAY_MS;
        due = cal_add_workhours(c, local, span->count, &prov);
        break;
    default:
        return -EINVAL;
    }
    if (due < 0 || due > (CAL_LAST_DAY + 1) * CAL_DAY_MS)
        return -ERANGE;
    *ret_due_ms = due - CAL_OFFSET_MS;
    if (ret_provisional != NULL)
        *ret_provisional = prov;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Time text */

int cal_format(int64_t ms, char buf[CAL_TIME_MAX])
{
    int64_t local, day, tod, y;
    char text[80];
    int m, d, len;

    buf[0] = '\0';
    /* Keep the arithmetic far from overflow; years 0000-9999 only. */
    if (ms < INT64_C(-62167248000000) || ms > INT64_C(253402271999999))
        return -ERANGE;
    local = ms + CAL_OFFSET_MS;
    day = cal_floor_div(local, CAL_DAY_MS);
    tod = local - day * CAL_DAY_MS;
    cal_civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        return -ERANGE;
    /* Fields are in range here; the wide buffer only keeps -Wformat-truncation quiet. */
    len =
        snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d,
                 (int)(tod / CAL_HOUR_MS), (int)(tod / CAL_MINUTE_MS % 60), (int)(tod / 1000 % 60));
    if (tod % 1000 != 0)
        len += snprintf(text + len, sizeof(text) - (size_t)len, ".%03d", (int)(tod % 1000));
    snprintf(text + len, sizeof(text) - (size_t)len, "+08:00");
    memcpy(buf, text, strlen(text) + 1); /* at most 29 bytes */
    return 0;
}

/* Reads exactly n digits at *p. Returns the number or -1. */
static int cal_digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

int cal_parse_time(const char *text, int64_t *ret_ms)
{
    const char *p = text;
    int y, mo, d, h, mi, s = 0, frac = 0, off_min = 8 * 60;

    if (text == NULL || ret_ms == NULL || strlen(text) > 40)
        return -EINVAL;
    if ((y = cal_digits(&p, 4)) < 0 || *p++ != '-' || (mo = cal_digits(&p, 2)) < 0 || *p++ != '-' ||
        (d = cal_digits(&p, 2)) < 0 || (*p != 'T' && *p != ' '))
        return -EINVAL;
    p++;
    if ((h = cal_digits(&p, 2)) < 0 || *p++ != ':' || (mi = cal_digits(&p, 2)) < 0)
        return -EINVAL;
    if (*p == ':') {
        p++;
        if ((s = cal_digits(&p, 2)) < 0)
            return -EINVAL;
        if (*p == '.') {
            int nd = 0;
            p++;
            while (*p >= '0' && *p <= '9' && nd < 3) {
                frac = frac * 10 + (*p++ - '0');
                nd++;
            }
            if (nd == 0)
                return -EINVAL;
            for (; nd < 3; nd++)
                frac *= 10;
        }
    }
    if (*p == 'Z') {
        off_min = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if ((oh = cal_digits(&p, 2)) < 0)
            return -EINVAL;
        if (*p == ':')
            p++;
        if ((om = cal_digits(&p, 2)) < 0 || oh > 23 || om > 59)
            return -EINVAL;
        off_min = sign * (oh * 60 + om);
    }
    if (*p != '\0')
        return -EINVAL;
    if (y < CAL_YEAR_MIN || y > CAL_YEAR_MAX || !cal_date_valid(y, mo, d) || h > 23 || mi > 59 ||
        s > 59)
        return -EINVAL;
    *ret_ms = cal_days_from_civil(y, mo, d) * CAL_DAY_MS + h * CAL_HOUR_MS + mi * CAL_MINUTE_MS +
              s * 1000 + frac - off_min * CAL_MINUTE_MS;
    return 0;
}
