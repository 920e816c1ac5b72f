/* ctl_due.c -- `rexianctl due`: the deadline the working calendar gives, computed offline */
#include "ctl_due.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ctl_due_dir(const char *dir, const char *env_dir)
{
    if (dir != NULL)
        return dir;
    if (env_dir != NULL && *env_dir != '\0')
        return env_dir;
    return CTL_DUE_DEFAULT_DIR;
}

/* The Beijing year of an instant (cal_format writes Beijing time). */
static int ctl_due_year(int64_t ms)
{
    char text[CAL_TIME_MAX];
    int y = 0;

    if (cal_format(ms, text) != 0 || sscanf(text, "%4d", &y) != 1)
        return 0;
    return y;
}

static int ctl_due_any_year(const cal_t *c)
{
    for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++)
        if (cal_has_year(c, y))
            return 1;
    return 0;
}

int ctl_due_compute(const char *dir, const char *from, const char *span, ctl_due_t *ret,
                    char err[CTL_DUE_ERR_MAX])
{
    ctl_due_t d = {0};
    cal_span_t sp;
    cal_t *c = NULL;
    int rc;

    err[0] = '\0';
    if (cal_parse_time(from, &d.from_ms) != 0) {
        snprintf(err, CTL_DUE_ERR_MAX, "--from '%.40s' must be a time like 2025-01-24T10:00 "
                 "(Beijing time) or with an offset, 2025-01-24T02:00:00Z, in the years %d-%d",
                 from, CAL_YEAR_MIN, CAL_YEAR_MAX);
        return -EINVAL;
    }
    rc = cal_parse_span(span, &sp);
    if (rc != 0) {
        snprintf(err, CTL_DUE_ERR_MAX, "--add '%.40s' %s: %s", span,
                 rc == -ERANGE ? "counts too few or too many" : "is not a span",
                 CAL_SPAN_HELP);
        return -EINVAL;
    }
    c = cal_load_dir(dir, err, CTL_DUE_ERR_MAX);
    if (c == NULL)
        return -EIO;
    if (!ctl_due_any_year(c)) {
        snprintf(err, CTL_DUE_ERR_MAX, "%.300s has no calendar: no YYYY.conf file in it (see "
                 "deploy/calendar/README.md); give the folder with --calendar DIR or "
                 "REXIAN_CALENDAR", dir);
        cal_destroy(&c);
        return -ENOENT;
    }
    rc = cal_add(c, d.from_ms, &sp, &d.due_ms, &d.provisional);
    if (rc != 0) {
        snprintf(err, CTL_DUE_ERR_MAX, "%s after %s falls after the last day the calendar "
                 "handles (%d-12-31)", span, from, CAL_YEAR_MAX);
        cal_destroy(&c);
        return rc == -ERANGE ? -ERANGE : -EINVAL;
    }
    for (int y = ctl_due_year(d.from_ms); y > 0 && y <= ctl_due_year(d.due_ms); y++) {
        if (!cal_has_year(c, y)) {
            d.missing_year = y;
            break;
        }
    }
    cal_destroy(&c);
    cal_format(d.from_ms, d.from);
    cal_format(d.due_ms, d.due);
    cal_span_format(&sp, d.span);
    *ret = d;
    return 0;
}
