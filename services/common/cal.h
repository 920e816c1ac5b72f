/* cal.h -- China's working calendar (holidays, make-up working days, office hours) and deadlines
 *
 * Local time is Asia/Shanghai, done as a fixed UTC+08:00 (no daylight saving since 1991), never
 * the process's TZ. Timestamps are int64 milliseconds since the Unix epoch. Only the years
 * 2000-2100 are handled: instants from 2000-01-01T00:00:00+08:00 up to 2101-01-01T00:00:00+08:00.
 *
 * A calendar is read from one INI file per year, named YYYY.conf (deploy/calendar/README.md):
 * [calendar] year, source; [holidays] and [workdays] (make-up working days, 调休) as
 * `label = date, date..date`; [hours] office-hour periods as `label = HH:MM-HH:MM`.
 * A working day is a make-up day, or a Monday to Friday that is not a holiday.
 *
 * Years without a file are still computed: Monday to Friday are working days, the office hours
 * are those of the nearest loaded year (the latest earlier one first, else the earliest later
 * one, else CAL_DEFAULT_HOURS), and the answer is flagged provisional. A provisional deadline
 * must be recomputed once that year's notice is installed (the notice appears in November or
 * December of the year before).
 *
 * Spans (deadline lengths) are text: a count, a unit, optionally "+next":
 *   unit  meaning                                      count
 *   m     minutes of calendar time (any day, any hour)  1..527040 (366 days)
 *   h     hours of calendar time                        1..8784   (366 days)
 *   d     days of calendar time, 24 hours each          1..366
 *   wd    working days                                  1..250
 *   wh    working hours, inside office hours            1..2000
 * e.g. "15m", "72h", "1d+next", "5wd", "13wd+next", "4wh".
 *
 * What cal_add() computes from a start instant:
 * - m, h, d: start + count units. With +next, counting starts at 00:00 of the calendar day after
 *   the start: "1d+next" from any time on 2025-03-10 is 2025-03-12T00:00:00+08:00, the end
 *   (24:00) of 2025-03-11 ("the day after closure").
 * - wd, without +next (the unit's own clock: "within N working days"): the order reaches the
 *   unit on its arrival day: the start's day when that is a working day and the start is before
 *   that day's close of office hours, otherwise the next working day (an order sent in the
 *   evening, at a weekend or during a holiday arrives on the next working day). The arrival day
 *   itself is not counted (Civil Code art. 201: a period's first day is not counted). The
 *   deadline is the close of office hours (Civil Code art. 203: where there are business hours,
 *   the period ends when business stops) of the Nth working day after the arrival day.
 *   E.g. 1wd from Friday 10:00 is Monday 17:30; from Friday 18:00 or Saturday it is Tuesday
 *   17:30; 5wd from Friday 2025-01-24 10:00 is 2025-02-07T17:30 (Spring Festival, make-up
 *   Sunday Jan 26 counted).
 * - wd with +next ("counted from the next day", as rules for complaints say, 自受理次日起算):
 *   counting starts on the calendar day after the start, whatever kind of day the start is on;
 *   the deadline is the close of office hours of the Nth working day after the start's date.
 *   For a start on a working day before its close this equals the rule without +next; for a
 *   start in the evening, at a weekend or during a holiday it is one working day earlier
 *   (1wd+next from Saturday is Monday 17:30).
 * - wh: time counts only inside office-hour periods of working days (make-up days included):
 *   from the start when it is inside a period, otherwise from the next opening; across lunch,
 *   nights, weekends and holidays. When the hours run out exactly at a period's close, the
 *   deadline is that close, not the next opening. With +next, counting starts at 00:00 of the
 *   calendar day after the start (so from that day's first opening, if it is a working day).
 *
 * A cal_t is read-only once loaded: share it between threads freely. */
#ifndef REXIAN_CAL_H
#define REXIAN_CAL_H

#include <stddef.h>
#include <stdint.h>

#define CAL_YEAR_MIN 2000
#define CAL_YEAR_MAX 2100
#define CAL_MAX_PERIODS 4  /* office-hour periods per day */
#define CAL_MAX_LABELS 64  /* distinct labels in one year's [holidays] and [workdays] */
#define CAL_MAX_LABEL 47   /* bytes in a label */
#define CAL_MAX_SOURCE 255 /* bytes in [calendar] source */
#define CAL_TIME_MAX 32    /* buffer for cal_format(), NUL included */
#define CAL_SPAN_MAX 24    /* buffer for cal_span_format(), NUL included */
#define CAL_DEFAULT_HOURS "08:30-12:00, 14:00-17:30" /* office hours when no file has any */

/* Allowed span syntax, for error messages. */
#define CAL_SPAN_HELP                                                                              \
    "a count and a unit, optionally +next: m (1-527040), h (1-8784), d (1-366) calendar time; "    \
    "wd (1-250) working days; wh (1-2000) working hours; e.g. 72h, 5wd, 13wd+next, 4wh"

typedef struct cal_t cal_t;

typedef enum cal_unit_t {
    CAL_MINUTES = 0, /* calendar minutes */
    CAL_HOURS,       /* calendar hours */
    CAL_DAYS,        /* calendar days of 24 hours */
    CAL_WORKDAYS,    /* working days, due at the close of office hours */
    CAL_WORKHOURS,   /* hours inside office hours of working days */
} cal_unit_t;

typedef struct cal_span_t {
    cal_unit_t unit;   /* what count counts */
    int32_t count;     /* how many, at least 1, at most the unit's limit (see above) */
    int from_next_day; /* 1: counting starts the calendar day after the start ("+next") */
} cal_span_t;

/* ---------------------------------------------------------------------------------------------
 * Loading */

/* An empty calendar: every year is provisional. Returns NULL when out of memory. Caller owns. */
cal_t *cal_new(void);

/* Adds one year's file to c. The file must be named YYYY.conf (any directory) and say the
 * same year. Returns 0, or a negative errno with "path:line: what is wrong" (or "path: ...")
 * in err; c is unchanged on failure. */
int cal_load_file(cal_t *c, const char *path, char *err, size_t errcap);

/* Loads every file named YYYY.conf in dir (other names are ignored), in year order. Returns the
 * calendar (caller owns; a directory without such files gives an all-provisional calendar) or
 * NULL with the first error in err. */
cal_t *cal_load_dir(const char *dir, char *err, size_t errcap);

/* Frees *pc (NULL accepted) and sets *pc to NULL. */
void cal_destroy(cal_t **pc);

/* 1 when year has a loaded file, else 0 (c may be NULL). */
int cal_has_year(const cal_t *c, int year);

/* The [calendar] source of year's file (borrowed from c), or NULL without a file. */
const char *cal_source(const cal_t *c, int year);

/* ---------------------------------------------------------------------------------------------
 * Questions and arithmetic. c may be NULL: then every year is computed from weekends only and
 * is provisional. ret_provisional may be NULL; it is set to 1 when the answer depended on a year
 * without a file, else 0. Output parameters are untouched on failure. */

/* Returns 1 when y-m-d is a working day, 0 when not, -EINVAL for a date that does not exist,
 * -ERANGE outside the years 2000-2100. */
int cal_is_workday(const cal_t *c, int y, int m, int d, int *ret_provisional);

/* Parses a span (syntax above; no spaces). Returns 0, -EINVAL when text is not a span, or
 * -ERANGE when the count is 0 or above the unit's limit. Callers can quote CAL_SPAN_HELP. */
int cal_parse_span(const char *text, cal_span_t *ret_span);

/* Writes span as text ("13wd+next") into buf. Returns 0, or -EINVAL for an invalid span. */
int cal_span_format(const cal_span_t *span, char buf[CAL_SPAN_MAX]);

/* The deadline span after start_ms (rules above). Returns 0, -EINVAL for a NULL or invalid
 * span, or -ERANGE when the start or the deadline falls outside 2000-2100. */
int cal_add(const cal_t *c, int64_t start_ms, const cal_span_t *span, int64_t *ret_due_ms,
            int *ret_provisional);

/* ---------------------------------------------------------------------------------------------
 * Time text */

/* Writes ms as local time, "2026-02-24T17:30:00+08:00" (".mmm" after the seconds when ms is not
 * a whole second). Returns 0, or -ERANGE (buf gets "") outside the years 0000-9999. */
int cal_format(int64_t ms, char buf[CAL_TIME_MAX]);

/* Parses "YYYY-MM-DDTHH:MM", optionally ":SS" and ".f" to ".fff" after the minutes, and an
 * offset "Z", "+HH:MM" or "+HHMM" (or '-'); without an offset the time is +08:00. A space may
 * replace the 'T'. The written date must exist and lie in 2000-2100. Returns 0 or -EINVAL. */
int cal_parse_time(const char *text, int64_t *ret_ms);

#endif
