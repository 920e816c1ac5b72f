/* metrics.h -- counters, gauges and latency histograms rendered in Prometheus text format */
#ifndef REXIAN_METRICS_H
#define REXIAN_METRICS_H

#include <stddef.h>

typedef enum metrics_type_t { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metrics_type_t;

#define METRICS_MAX 128       /* series per process */
#define METRICS_BUCKETS 14    /* histogram buckets, milliseconds, see metrics.c */

typedef struct metrics_t metrics_t;

metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **m);

/* Registers a series. `name` may carry labels: `rexian_frames_bad_total{reason="count"}`.
 * Series sharing a base name share one HELP/TYPE header. Returns the series id (>= 0), or
 * -ENOSPC. Register at start-up; ids are stable. */
int metrics_add(metrics_t *m, metrics_type_t type, const char *name, const char *help);

void metrics_inc(metrics_t *m, int id, double by);
void metrics_set(metrics_t *m, int id, double value);
/* Histograms: one observation in milliseconds. */
void metrics_observe(metrics_t *m, int id, double ms);
double metrics_value(const metrics_t *m, int id);

/* The whole text exposition. Caller owns the returned buffer (free()); NULL on no memory. */
char *metrics_render(const metrics_t *m, size_t *ret_len);

#endif
