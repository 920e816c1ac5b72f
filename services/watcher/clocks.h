/* clocks.h -- planning an order's clocks: due time, yellow warning and escalation for each
 * stage, from the deadline policy and the working calendar. Pure: no I/O. */
#ifndef REXIAN_CLOCKS_H
#define REXIAN_CLOCKS_H

#include "cal.h"
#include "config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct clocks_plan_t {
    int64_t start;          /* when the clock started, ms */
    int64_t due;            /* the deadline */
    int64_t warn;           /* the yellow warning (== due when there is none) */
    int64_t esc;            /* escalation to the supervisor */
    char span[CAL_SPAN_MAX]; /* the policy's span, e.g. "5wd" */
    int provisional;        /* computed on a year without a calendar file */
} clocks_plan_t;

/* Plans stage (config_stage_index) from start. Returns 0 or a negative errno (span outside the
 * calendar's years). */
int clocks_plan(const cal_t *cal, const config_policy_t *p, int stage, int64_t start,
                clocks_plan_t *ret);

/* Plans a stage whose deadline is already decided (an approved extension): warning and
 * escalation around that due time. */
int clocks_plan_due(const cal_t *cal, const config_policy_t *p, int stage, int64_t start,
                    int64_t due, clocks_plan_t *ret);

/* Appends `"STAGE":{"start":..,"due":..,"warn":..,"esc":..,"span":".."}` to buf at *off.
 * Returns 0 or -ENOSPC. */
int clocks_json(const clocks_plan_t *plan, const char *stage, char *buf, size_t cap,
                size_t *off);

#endif
