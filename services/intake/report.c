/* report.c -- scores, drill-down, recomputation and the claims audit (see report.h) */
#include "report.h"

#include "cal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_DAYS 400   /* longest period, days */
#define REPORT_CHUNK 500      /* orders per recomputation call */

static const char *report_metric_names[] = {
    "received", "dispatched", "acknowledged", "ack_on_time", "returned", "reopened", "overdue",
    "escalated", "due", "closed", "closed_on_time", "rated_satisfied",
    "rated_basically_satisfied", "rated_unsatisfied", "rated_unreachable",
    "excluded_satisfied", "excluded_basically_satisfied", "excluded_unsatisfied",
    "excluded_unreachable", "claims", "claims_accepted", "claims_rejected", NULL};

static void report_error(httpd_req_t *req, int status, const char *code, const char *field,
                         const char *msg)
{
    json_t *e = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *text;

    if (field != NULL)
        json_object_set_new(json_object_get(e, "error"), "field", json_string(field));
    text = json_dumps(e, JSON_COMPACT);
    httpd_respond(req, status, "application/json; charset=utf-8", text, strlen(text),
                  status == 503 ? "Retry-After: 1" : NULL);
    free(text);
    json_decref(e);
}

static void report_json(httpd_req_t *req, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    httpd_respond(req, 200, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
    json_decref(body);
}

/* Beijing day number of a date "YYYY-MM-DD". */
static int report_day(const char *date, int64_t *ret)
{
    char text[32];
    int64_t ms;

    if (strlen(date) != 10)
        return -1;
    snprintf(text, sizeof(text), "%sT00:00", date);
    if (cal_parse_time(text, &ms) != 0)
        return -1;
    *ret = (ms + 8 * 3600000LL) / 86400000LL;
    return 0;
}

static void report_date(int64_t day, char buf[16])
{
    char t[CAL_TIME_MAX];

    cal_format(day * 86400000LL - 8 * 3600000LL, t);
    snprintf(buf, 16, "%.10s", t);
}

/* The period from ?period=YYYY-MM, ?day=YYYY-MM-DD or ?from=&to= (dates). */
static int report_period(httpd_req_t *req, int64_t *from, int64_t *to)
{
    const char *period = httpd_query(req, "period"), *day = httpd_query(req, "day");
    const char *f = httpd_query(req, "from"), *t = httpd_query(req, "to");
    char a[16], b[16];

    if (period != NULL) {
        int y, m;
        if (strlen(period) != 7 || sscanf(period, "%4d-%2d", &y, &m) != 2 || m < 1 || m > 12)
            goto bad;
        snprintf(a, sizeof(a), "%04d-%02d-01", y, m);
        snprintf(b, sizeof(b), "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
        if (report_day(a, from) != 0 || report_day(b, to) != 0)
            goto bad;
        (*to)--;
    } else if (day != NULL) {
        if (report_day(day, from) != 0)
            goto bad;
        *to = *from;
    } else if (f != NULL && t != NULL) {
        if (report_day(f, from) != 0 || report_day(t, to) != 0 || *to < *from)
            goto bad;
    } else {
        goto bad;
    }
    if (*to - *from >= REPORT_MAX_DAYS) {
        report_error(req, 400, "invalid_value", "period", "a period spans at most 400 days");
        return -1;
    }
    return 0;
bad:
    report_error(req, 400, "invalid_value", "period",
                 "give period=YYYY-MM, day=YYYY-MM-DD, or from=YYYY-MM-DD&to=YYYY-MM-DD "
                 "(Beijing dates, to >= from)");
    return -1;
}

static double report_get(json_t *c, const char *metric)
{
    return (double)json_integer_value(json_object_get(c, metric));
}

static json_t *report_rate(double num, double den)
{
    return den > 0 ? json_real((double)(long long)(num / den * 10000 + 0.5) / 100.0) : json_null();
}

/* The rates of one set of counters (README, "How units are scored"). */
static json_t *report_rates(json_t *c)
{
    double sat = report_get(c, "rated_satisfied"), basic = report_get(c, "rated_basically_satisfied");
    double unsat = report_get(c, "rated_unsatisfied");
    double xs = report_get(c, "excluded_satisfied"), xb = report_get(c, "excluded_basically_satisfied");
    double xu = report_get(c, "excluded_unsatisfied");

    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "ack_on_time_rate",
                     report_rate(report_get(c, "ack_on_time"), report_get(c, "acknowledged")),
                     "on_time_closure_rate",
                     report_rate(report_get(c, "closed_on_time"), report_get(c, "due")),
                     "closure_rate", report_rate(report_get(c, "closed"), report_get(c, "due")),
                     "satisfaction_rate",
                     report_rate(sat + basic - xs - xb, sat + basic + unsat - xs - xb - xu),
                     "satisfaction_rate_without_exclusions",
                     report_rate(sat + basic, sat + basic + unsat));
}

static void report_add(json_t *c, const char *metric, json_int_t n)
{
    json_object_set_new(c, metric, json_integer(json_integer_value(json_object_get(c, metric)) + n));
}

static json_t *report_zero(void)
{
    json_t *c = json_object();

    for (int i = 0; report_metric_names[i] != NULL; i++)
        json_object_set_new(c, report_metric_names[i], json_integer(0));
    return c;
}

/* Live counters summed over the period: {unit: {metric: n}}, "*" for the tier. */
static json_t *report_live(svc_t *svc, int64_t from, int64_t to, json_t **ret_by_day)
{
    rds_t *r = svc_rds(svc);
    char f[24], t[24];
    redisReply *rep;
    json_t *sums = json_object(), *by_day = json_object();

    snprintf(f, sizeof(f), "%lld", (long long)from);
    snprintf(t, sizeof(t), "%lld", (long long)to);
    const char *argv[] = {svc_cfg(svc)->tier, f, t};
    if (rds_ensure(r) != 0 || rds_append_fcall(r, "metrics_days", 3, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        json_decref(sums);
        json_decref(by_day);
        return NULL;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        const redisReply *h = rep->element[i + 1];
        for (size_t j = 0; j + 1 < h->elements; j += 2) {
            char unit[96], key[160];
            const char *bar = strchr(h->element[j]->str, '|');
            json_int_t n = strtoll(h->element[j + 1]->str, NULL, 10);
            json_t *c;
            if (bar == NULL || (size_t)(bar - h->element[j]->str) >= sizeof(unit))
                continue;
            snprintf(unit, sizeof(unit), "%.*s", (int)(bar - h->element[j]->str),
                     h->element[j]->str);
            c = json_object_get(sums, unit);
            if (c == NULL) {
                c = report_zero();
                json_object_set_new(sums, unit, c);
            }
            report_add(c, bar + 1, n);
            snprintf(key, sizeof(key), "%lld|%s", rep->element[i]->integer, h->element[j]->str);
            json_object_set_new(by_day, key, json_integer(n));
        }
    }
    freeReplyObject(rep);
    if (ret_by_day != NULL)
        *ret_by_day = by_day;
    else
        json_decref(by_day);
    return sums;
}

/* Stages overdue right now, per unit and "*" for the tier (not a period figure). */
static json_t *report_overdue_now(svc_t *svc)
{
    rds_t *r = svc_rds(svc);
    const char *argv[] = {svc_cfg(svc)->tier};
    json_t *out = json_object();
    redisReply *rep;

    if (rds_append_fcall(r, "overdue_list", 1, argv, NULL) != 0 || (rep = rds_read(r)) == NULL)
        return out;
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 5 < rep->elements; i += 6) {
        const char *unit = rep->element[i + 3]->str;
        report_add(out, unit[0] ? unit : "(none)", 1);
        report_add(out, "*", 1);
    }
    freeReplyObject(rep);
    return out;
}

void report_metrics(svc_t *svc, const units_t *units, httpd_req_t *req)
{
    const config_t *cfg = svc_cfg(svc);
    const char *only = httpd_query(req, "unit"), *kind = httpd_query(req, "kind");
    char a[16], b[16];
    int64_t from, to;
    json_t *sums, *out, *list, *kinds, *sat_rank, *ontime_rank, *tier;

    if (report_period(req, &from, &to) != 0)
        return;
    if (only != NULL && units_find(units, only) == NULL) {
        report_error(req, 400, "invalid_value", "unit", "not a unit of this tier");
        return;
    }
    sums = report_live(svc, from, to, NULL);
    if (sums == NULL) {
        report_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    json_t *now_overdue = report_overdue_now(svc);
    list = json_array();
    kinds = json_object();
    for (size_t i = 0; i < units_count(units); i++) {
        const unit_t *u = units_at(units, i);
        json_t *c = json_object_get(sums, u->code), *row, *k;
        if ((only != NULL && strcmp(only, u->code) != 0) ||
            (kind != NULL && strcmp(kind, u->kind) != 0))
            continue;
        c = c != NULL ? json_deep_copy(c) : report_zero();
        k = json_object_get(kinds, u->kind);
        if (k == NULL) {
            k = report_zero();
            json_object_set_new(kinds, u->kind, k);
        }
        for (int m = 0; report_metric_names[m] != NULL; m++)
            report_add(k, report_metric_names[m], json_integer_value(json_object_get(c, report_metric_names[m])));
        row = json_pack("{s:s,s:s,s:s,s:o,s:I}", "unit", u->code, "name", u->name, "kind",
                        u->kind, "counts", c, "overdue_now",
                        json_integer_value(json_object_get(now_overdue, u->code)));
        json_object_set_new(row, "rates", report_rates(c));
        json_t *flags = json_array(), *rates = json_object_get(row, "rates");
        json_t *sr = json_object_get(rates, "satisfaction_rate");
        json_t *or = json_object_get(rates, "on_time_closure_rate");
        if (json_is_real(sr) && json_real_value(sr) < cfg->satisfaction_threshold)
            json_array_append_new(flags, json_sprintf("satisfaction %.2f%% is under %d%%",
                                                      json_real_value(sr),
                                                      cfg->satisfaction_threshold));
        if (json_is_real(or) && json_real_value(or) < cfg->on_time_threshold)
            json_array_append_new(flags, json_sprintf("on-time closure %.2f%% is under %d%%",
                                                      json_real_value(or),
                                                      cfg->on_time_threshold));
        json_object_set_new(row, "flags", flags);
        json_array_append_new(list, row);
    }
    /* rankings: best first; units with nothing to rate are left out */
    sat_rank = json_array();
    ontime_rank = json_array();
    for (int pass = 0; pass < 2; pass++) {
        const char *rate = pass == 0 ? "satisfaction_rate" : "on_time_closure_rate";
        json_t *rank = pass == 0 ? sat_rank : ontime_rank;
        size_t n = json_array_size(list);
        int *used = calloc(n + 1, sizeof(int));
        for (;;) {
            size_t best = n;
            double bv = -1;
            for (size_t i = 0; i < n; i++) {
                json_t *v = json_object_get(json_object_get(json_array_get(list, i), "rates"), rate);
                if (!used[i] && json_is_real(v) && json_real_value(v) > bv) {
                    bv = json_real_value(v);
                    best = i;
                }
            }
            if (best == n)
                break;
            used[best] = 1;
            json_array_append_new(rank, json_pack("{s:s,s:f}", "unit",
                                                  json_string_value(json_object_get(json_array_get(list, best), "unit")),
                                                  rate, bv));
        }
        free(used);
    }
    {
        const char *k;
        json_t *v;
        json_object_foreach(kinds, k, v) json_object_set_new(
            kinds, k, json_pack("{s:O,s:o}", "counts", v, "rates", report_rates(v)));
    }
    tier = json_object_get(sums, "*");
    tier = tier != NULL ? json_deep_copy(tier) : report_zero();
    report_date(from, a);
    report_date(to, b);
    out = json_pack("{s:{s:s,s:s},s:{s:o,s:o},s:o,s:o,s:{s:o,s:o},s:{s:i,s:i}}", "period",
                    "from", a, "to", b, "tier", "counts", tier, "rates", report_rates(tier),
                    "units", list, "kinds", kinds, "ranking", "satisfaction_rate", sat_rank,
                    "on_time_closure_rate", ontime_rank, "thresholds", "satisfaction",
                    cfg->satisfaction_threshold, "on_time_closure", cfg->on_time_threshold);
    json_object_set_new(json_object_get(out, "tier"), "overdue_now",
                        json_integer(json_integer_value(json_object_get(now_overdue, "*"))));
    json_decref(now_overdue);
    json_decref(sums);
    report_json(req, out);
}

/* Runs metrics_rebuild over every order in chunks. Returns the reply items merged, or NULL. */
static json_t *report_rebuild(svc_t *svc, int64_t from, int64_t to, const char *unit,
                              const char *metric, size_t *ret_orders)
{
    rds_t *r = svc_rds(svc);
    json_t *acc = unit != NULL ? json_array() : json_object();
    char f[24], t[24], off[24], cnt[16];
    size_t offset = 0, orders = 0;

    snprintf(f, sizeof(f), "%lld", (long long)from);
    snprintf(t, sizeof(t), "%lld", (long long)to);
    snprintf(cnt, sizeof(cnt), "%d", REPORT_CHUNK);
    for (;;) {
        redisReply *rep = NULL;
        long long got;
        snprintf(off, sizeof(off), "%zu", offset);
        const char *argv[] = {svc_cfg(svc)->tier, off, cnt, f, t, unit, metric};
        if (rds_ensure(r) != 0 ||
            rds_append_fcall(r, "metrics_rebuild", unit != NULL ? 7 : 5, argv, NULL) != 0 ||
            (rep = rds_read(r)) == NULL || rep->type != REDIS_REPLY_ARRAY) {
            if (rep != NULL)
                freeReplyObject(rep);
            json_decref(acc);
            return NULL;
        }
        got = rep->element[0]->integer;
        if (unit != NULL) {
            for (size_t i = 1; i < rep->elements; i++)
                json_array_append_new(acc, json_string(rep->element[i]->str));
        } else {
            for (size_t i = 1; i + 1 < rep->elements; i += 2)
                report_add(acc, rep->element[i]->str, rep->element[i + 1]->integer);
        }
        freeReplyObject(rep);
        orders += (size_t)got;
        offset += REPORT_CHUNK;
        if (got < REPORT_CHUNK)
            break;
    }
    *ret_orders = orders;
    return acc;
}

void report_orders(svc_t *svc, httpd_req_t *req)
{
    const char *unit = httpd_query(req, "unit"), *metric = httpd_query(req, "metric");
    int64_t from, to;
    size_t orders;
    json_t *items;
    int known = 0;

    for (int i = 0; metric != NULL && report_metric_names[i] != NULL; i++)
        known |= strcmp(metric, report_metric_names[i]) == 0;
    if (unit == NULL || !known || strlen(unit) > 63) {
        report_error(req, 400, "invalid_value", unit == NULL ? "unit" : "metric",
                     "give unit=CODE (or * for the tier) and metric= one of the counters in "
                     "GET /v1/metrics");
        return;
    }
    if (report_period(req, &from, &to) != 0)
        return;
    items = report_rebuild(svc, from, to, unit, metric, &orders);
    if (items == NULL) {
        report_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    report_json(req, json_pack("{s:s,s:s,s:I,s:o}", "unit", unit, "metric", metric, "count",
                               (json_int_t)json_array_size(items), "orders", items));
}

void report_recompute(svc_t *svc, httpd_req_t *req)
{
    int64_t from, to;
    size_t orders;
    json_t *live_by_day = NULL, *live, *again, *diffs;
    const char *k;
    json_t *v;

    if (report_period(req, &from, &to) != 0)
        return;
    live = report_live(svc, from, to, &live_by_day);
    again = live != NULL ? report_rebuild(svc, from, to, NULL, NULL, &orders) : NULL;
    if (again == NULL) {
        json_decref(live);
        json_decref(live_by_day);
        report_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    diffs = json_array();
    json_object_foreach(live_by_day, k, v) {
        json_int_t a = json_integer_value(v), b = json_integer_value(json_object_get(again, k));
        if (a != b)
            json_array_append_new(diffs, json_pack("{s:s,s:I,s:I}", "key", k, "live", a,
                                                   "recomputed", b));
    }
    json_object_foreach(again, k, v) {
        if (json_object_get(live_by_day, k) == NULL)
            json_array_append_new(diffs, json_pack("{s:s,s:I,s:I}", "key", k, "live",
                                                   (json_int_t)0, "recomputed",
                                                   json_integer_value(v)));
    }
    report_json(req, json_pack("{s:b,s:I,s:I,s:o}", "agree", json_array_size(diffs) == 0,
                               "orders", (json_int_t)orders, "counters",
                               (json_int_t)json_object_size(live_by_day), "differences",
                               diffs));
    json_decref(live);
    json_decref(live_by_day);
    json_decref(again);
}

void report_claims(svc_t *svc, httpd_req_t *req)
{
    const char *unit = httpd_query(req, "unit"), *sup = httpd_query(req, "supervisor");
    const char *status = httpd_query(req, "status");
    const char *argv[] = {svc_cfg(svc)->tier, "10000"};
    rds_t *r = svc_rds(svc);
    redisReply *rep;
    json_t *items = json_array();

    if (rds_ensure(r) != 0 || rds_append_fcall(r, "claims_list", 2, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        json_decref(items);
        report_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        json_t *c = json_loads(rep->element[i + 1]->str, 0, NULL);
        const char *by = json_string_value(json_object_get(c, "by"));
        const char *ruled = json_string_value(json_object_get(c, "ruled_by"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (c == NULL || (unit != NULL && (by == NULL || strcmp(by, unit) != 0)) ||
            (sup != NULL && (ruled == NULL || strcmp(ruled, sup) != 0)) ||
            (status != NULL && (st == NULL || strcmp(st, status) != 0))) {
            json_decref(c);
            continue;
        }
        json_object_set_new(c, "ticket", json_string(rep->element[i]->str));
        json_array_append_new(items, c);
    }
    freeReplyObject(rep);
    report_json(req, json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(items),
                               "items", items));
}
