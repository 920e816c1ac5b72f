/* ctl_due.h -- `rexianctl due`: the deadline the working calendar gives, computed offline */
#ifndef REXIAN_CTL_DUE_H
#define REXIAN_CTL_DUE_H

#include "cal.h"

#include <stdint.h>

#define CTL_DUE_ERR_MAX 512                  /* buffer for an error, NUL included */
#define CTL_DUE_DEFAULT_DIR "deploy/calendar" /* relative to the current directory */

/* One answer. */
typedef struct ctl_due_t {
    int64_t from_ms;          /* the start, ms since 1970 */
    int64_t due_ms;           /* the deadline, ms since 1970 */
    int provisional;          /* 1: it depends on a year without a calendar file */
    int missing_year;         /* the first year from the start's to the deadline's without a
                                 file, 0 when every one has */
    char from[CAL_TIME_MAX];  /* the start as Beijing time, "2025-01-24T10:00:00+08:00" */
    char due[CAL_TIME_MAX];   /* the deadline, the same way */
    char span[CAL_SPAN_MAX];  /* the span as the calendar reads it, "13wd+next" */
} ctl_due_t;

/* The calendar folder to use: dir (--calendar) when given, else env_dir (REXIAN_CALENDAR) when
 * set and not empty, else CTL_DUE_DEFAULT_DIR. Borrowed. */
const char *ctl_due_dir(const char *dir, const char *env_dir);

/* Computes the deadline span after from with the calendar in dir (cal.h says how). Returns 0
 * and fills *ret; otherwise ret is untouched and err says what is wrong:
 * -EINVAL  from is not a time, or span is not a span (what is allowed is in err);
 * -ERANGE  the deadline falls outside the years the calendar handles;
 * -ENOENT  dir holds no YYYY.conf file;
 * -EIO     dir cannot be read, or one of its files is wrong ("file:line: ..."). */
int ctl_due_compute(const char *dir, const char *from, const char *span, ctl_due_t *ret,
                    char err[CTL_DUE_ERR_MAX]);

#endif
