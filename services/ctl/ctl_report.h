/* ctl_report.h -- what rexianctl prints about scores and audit: the metrics table, the monthly
 * circular (table or CSV), a recomputation's verdict, the orders behind a number, the claims
 * and rulings, and the overdue board */
#ifndef REXIAN_CTL_REPORT_H
#define REXIAN_CTL_REPORT_H

#include <jansson.h>
#include <stdio.h>

/* GET /v1/metrics's answer: the period and thresholds, a table of the units with anything
 * counted (with --unit the one asked for) and the tier's row, then one row per kind of
 * unit. Returns 0, -EINVAL when the answer has no units list, or -ENOMEM. */
int ctl_report_metrics(FILE *out, const json_t *metrics);

/* The monthly circular from GET /v1/metrics?period=: every unit, ranked by satisfaction (the
 * answer's ranking; units without a rate last, unranked), as an aligned table. Returns 0,
 * -EINVAL or -ENOMEM. */
int ctl_report_circular_table(FILE *out, const json_t *metrics);

/* The same rows as CSV (RFC 4180: a header line, CRLF line ends, fields with a comma, quote
 * or line break quoted, quotes doubled): rank, unit, name, kind, every counter, the five
 * rates (percent, two decimals, empty when there is nothing to count) and the flags joined by
 * "; ". Returns 0, -EINVAL or -ENOMEM. */
int ctl_report_circular_csv(FILE *out, const json_t *metrics);

/* GET /v1/metrics/recompute's answer: whether the live counters agree with the timelines, how
 * many orders and counters were checked, and every difference (day, unit, counter, live,
 * recomputed). Returns 0 when they agree, 1 when not, -EINVAL for another shape. */
int ctl_report_recompute(FILE *out, const json_t *answer);

/* GET /v1/metrics/orders's answer: one order id a line. Returns the number of orders, or
 * -EINVAL. */
int ctl_report_orders(FILE *out, const json_t *answer);

/* GET /v1/claims's answer: one line per claim (ticket, number, unit, kind, reason, status,
 * filed, ruled by, ruled at, ruling), then how many. Returns 0, -EINVAL or -ENOMEM. */
int ctl_report_claims(FILE *out, const json_t *answer);

/* GET /v1/overdue's answer: the totals, then per unit (most overdue first) its counts and its
 * orders (ticket, stage, due, status, escalated). Returns 0, -EINVAL or -ENOMEM. */
int ctl_report_overdue(FILE *out, const json_t *answer);

#endif
