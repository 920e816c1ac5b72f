/* metrics.c -- Prometheus text exposition (see metrics.h) */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double metrics_bounds[METRICS_BUCKETS] = {1,   2,    5,    10,   25,   50,    100,
                                                        250, 500, 1000, 2500, 5000, 10000, 60000};

typedef struct metrics_series_t {
    metrics_type_t type;                  /* counter, gauge or histogram */
    char name[160];                       /* full series name, labels included */
    char help[160];                       /* HELP text */
    double value;                         /* counter/gauge value; histogram sum */
    unsigned long long count;             /* histogram: observations */
    unsigned long long buckets[METRICS_BUCKETS]; /* histogram: cumulative per bound at render */
} metrics_series_t;

struct metrics_t {
    metrics_series_t series[METRICS_MAX]; /* registered series */
    int n;                                /* how many */
};

metrics_t *metrics_new(void)
{
    return calloc(1, sizeof(metrics_t));
}

void metrics_destroy(metrics_t **m)
{
    if (m == NULL || *m == NULL)
        return;
    free(*m);
    *m = NULL;
}

int metrics_add(metrics_t *m, metrics_type_t type, const char *name, const char *help)
{
    metrics_series_t *s;

    if (m->n >= METRICS_MAX)
        return -ENOSPC;
    s = &m->series[m->n];
    s->type = type;
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->help, sizeof(s->help), "%s", help);
    return m->n++;
}

void metrics_inc(metrics_t *m, int id, double by)
{
    if (id >= 0 && id < m->n)
        m->series[id].value += by;
}

void metrics_set(metrics_t *m, int id, double value)
{
    if (id >= 0 && id < m->n)
        m->series[id].value = value;
}

double metrics_value(const metrics_t *m, int id)
{
    return id >= 0 && id < m->n ? m->series[id].value : 0;
}

void metrics_observe(metrics_t *m, int id, double ms)
{
    metrics_series_t *s;

    if (id < 0 || id >= m->n)
        return;
    s = &m->series[id];
    s->value += ms;
    s->count++;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        if (ms <= metrics_bounds[b]) {
            s->buckets[b]++;
            break;
        }
    }
}

/* Base name (before '{') and the label part without braces. */
static void metrics_split(const char *name, char *base, size_t cap, const char **ret_labels)
{
    const char *brace = strchr(name, '{');
    size_t len = brace != NULL ? (size_t)(brace - name) : strlen(name);

    if (len >= cap)
        len = cap - 1;
    memcpy(base, name, len);
    base[len] = '\0';
    *ret_labels = brace != NULL ? brace + 1 : NULL;
}

typedef struct metrics_buf_t {
    char *data;  /* output */
    size_t len;  /* bytes used */
    size_t cap;  /* bytes allocated */
    int failed;  /* out of memory */
} metrics_buf_t;

static void metrics_printf(metrics_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void metrics_printf(metrics_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
}

char *metrics_render(const metrics_t *m, size_t *ret_len)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    metrics_buf_t b = {.data = malloc(4096), .cap = 4096};

    if (b.data == NULL)
        return NULL;
    b.data[0] = '\0';
    for (int i = 0; i < m->n; i++) {
        const metrics_series_t *s = &m->series[i];
        char base[160], prev[160] = "";
        const char *labels;
        int seen = 0;

        metrics_split(s->name, base, sizeof(base), &labels);
        for (int j = 0; j < i && !seen; j++) {
            metrics_split(m->series[j].name, prev, sizeof(prev), &(const char *){NULL});
            seen = strcmp(prev, base) == 0;
        }
        if (!seen)
            metrics_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", base, s->help, base,
                           types[s->type]);
        if (s->type != METRIC_HISTOGRAM) {
            metrics_printf(&b, "%s %.17g\n", s->name, s->value);
            continue;
        }
        /* labels ends with '}' when present: reuse it inside the bucket's label set */
        char lab[160] = "";
        if (labels != NULL)
            snprintf(lab, sizeof(lab), "%.*s,", (int)strlen(labels) - 1, labels);
        unsigned long long cum = 0;
        for (int k = 0; k < METRICS_BUCKETS; k++) {
            cum += s->buckets[k];
            metrics_printf(&b, "%s_bucket{%sle=\"%g\"} %llu\n", base, lab, metrics_bounds[k], cum);
        }
        metrics_printf(&b, "%s_bucket{%sle=\"+Inf\"} %llu\n", base, lab, s->count);
        lab[strlen(lab) > 0 ? strlen(lab) - 1 : 0] = '\0';
        metrics_printf(&b, "%s_sum%s%s%s %.17g\n%s_count%s%s%s %llu\n", base, lab[0] ? "{" : "",
                       lab, lab[0] ? "}" : "", s->value, base, lab[0] ? "{" : "", lab,
                       lab[0] ? "}" : "", s->count);
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    *ret_len = b.len;
    return b.data;
}
