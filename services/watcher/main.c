/* main.c -- rexian-watcher: owns every clock. Plans an order's acknowledge, reply and close
 * clocks (and later its follow-up call and extended deadline) from the deadline policy and the
 * working calendar; warns before, marks overdue at, escalates after. Several watchers may run:
 * due clocks are claimed with a lease in Redis, and each fires once. */
#include "cal.h"
#include "clocks.h"
#include "log.h"
#include "svc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCHER_CLOCKS_JSON 2048

typedef struct watcher_t {
    svc_t *svc;        /* the service */
    cal_t *cal;        /* the working calendar */
    char years[256];   /* the calendar files loaded, to notice a new one */
    int m_started;     /* metric: clock sets written */
    int m_fired;       /* metric: deadlines fired */
    int m_late;        /* metric: how late a deadline fired, ms */
    int m_provisional; /* metric: orders with provisional clocks now */
    int m_missing;     /* metric: 1 when this or next year's calendar is missing */
} watcher_t;

/* The "stages" JSON for one order. Returns provisional (0/1) or -1. */
static int watcher_plan(watcher_t *w, const char *urgency, const char *category,
                        const char *const *stages, int n, int64_t start, int64_t due,
                        int with_return, const char *what, char *buf, size_t cap)
{
    const config_t *cfg = svc_cfg(w->svc);
    config_policy_t policy;
    size_t off;
    int prov = 0;

    config_policy_for(cfg, config_urgency_index(urgency), category, &policy);
    off = (size_t)snprintf(buf, cap, "{\"what\":\"%s\",\"stages\":{", what);
    for (int i = 0; i < n; i++) {
        int s = config_stage_index(stages[i]);
        clocks_plan_t plan;
        int rc = due > 0 ? clocks_plan_due(w->cal, &policy, s, start, due, &plan)
                         : clocks_plan(w->cal, &policy, s, start, &plan);
        if (rc != 0 || clocks_json(&plan, stages[i], buf, cap, &off) != 0)
            return -1;
        prov |= plan.provisional;
    }
    if (with_return) {
        int64_t window;
        int p = 0;
        if (cal_add(w->cal, start, &cfg->return_window.span, &window, &p) != 0)
            return -1;
        prov |= p;
        off += (size_t)snprintf(buf + off, cap - off, "},\"return\":%lld", (long long)window);
    } else {
        off += (size_t)snprintf(buf + off, cap - off, "}");
    }
    off += (size_t)snprintf(buf + off, cap - off, ",\"provisional\":%d}", prov);
    return off < cap ? prov : -1;
}

/* Clocks for one message: ticket.dispatched starts ack/reply/close; clock.start names its
 * stages (the follow-up call after a reply, an extended close deadline). */
static int watcher_clocks_for(watcher_t *w, const proto_msg_t *m, char *ticket, size_t tcap,
                              char *json, size_t cap)
{
    static const char *standard[] = {"ack", "reply", "close"};
    const char *stages[CONFIG_STAGES];
    char urgency[24] = "normal", category[24] = "";
    int64_t start, due = 0;
    int n = 0;

    if (proto_body_str(m, "ticket", ticket, tcap) != 0)
        return -1;
    proto_body_str(m, "urgency", urgency, sizeof(urgency));
    proto_body_str(m, "category", category, sizeof(category));
    if (strcmp(m->type, "ticket.dispatched") == 0) {
        if (proto_body_int(m, "dispatched_at", &start) != 0)
            return -1;
        return watcher_plan(w, urgency, category, standard, 3, start, 0, 1, "start", json, cap);
    }
    if (strcmp(m->type, "clock.start") != 0 || proto_body_int(m, "start", &start) != 0)
        return -1;
    const msgpack_object *list = proto_body_get(m, "stages");
    if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    for (uint32_t i = 0; i < list->via.array.size && n < CONFIG_STAGES; i++) {
        const msgpack_object *o = &list->via.array.ptr[i];
        for (int s = 0; s < CONFIG_STAGES; s++)
            if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(config_stage_name(s)) &&
                memcmp(o->via.str.ptr, config_stage_name(s), o->via.str.size) == 0)
                stages[n++] = config_stage_name(s);
    }
    if (n == 0)
        return -1;
    proto_body_int(m, "due", &due);
    return watcher_plan(w, urgency, category, stages, n, start, due, 0, due > 0 ? "rearm" : "start",
                        json, cap);
}

static void watcher_read_sets(watcher_t *w, int sent)
{
    for (int i = 0; i < sent; i++) {
        redisReply *rep = rds_read(svc_rds(w->svc));
        if (rep == NULL) {
            svc_redis_failed(w->svc, "clocks_set");
            return;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            log_msg(LOG_ERROR, "clocks.failed", "error=\"%s\"", rep->str);
        } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                   rep->element[0]->integer == 1) {
            metrics_inc(svc_metrics(w->svc), w->m_started, 1);
            for (size_t j = 1; j < rep->elements; j++) /* the citizen's first notice */
                svc_send(w->svc, STAGE_NOTIFIER, rep->element[j]->str, rep->element[j]->len);
        }
        freeReplyObject(rep);
    }
}

static int watcher_on_batch(svc_t *svc, proto_msg_t *msgs, int n, void *arg)
{
    watcher_t *w = arg;
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    char now[24], redeliver[24];
    int sent = 0;

    if (rds_ensure(r) != 0) {
        svc_redis_failed(svc, "clocks_set");
        return 0;
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (int i = 0; i < n; i++) {
        char ticket[64], json[WATCHER_CLOCKS_JSON];
        int prov = watcher_clocks_for(w, &msgs[i], ticket, sizeof(ticket), json, sizeof(json));
        if (prov < 0) {
            log_msg(LOG_WARN, "frame.unexpected", "type=%s id=%s", msgs[i].type, msgs[i].id);
            continue;
        }
        const char *argv[] = {cfg->tier, msgs[i].id, now,      svc_instance(svc),
                              ticket,    json,       redeliver};
        if (rds_append_fcall(r, "clocks_set", 7, argv, NULL) == 0)
            sent++;
    }
    watcher_read_sets(w, sent);
    return 0;
}

/* Claims due clocks (lease) and fires each: one round trip to claim, one for the batch. */
static int watcher_on_tick(loop_t *loop, void *arg)
{
    watcher_t *w = arg;
    svc_t *svc = w->svc;
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    char now[24], lease[24], max[16], redeliver[24];
    redisReply *claim;
    int64_t now_ms = svc_now(svc);
    size_t sent;

    if (rds_ensure(r) != 0)
        return 0;
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(lease, sizeof(lease), "%lld", (long long)cfg->lease_ms);
    snprintf(max, sizeof(max), "%d", cfg->batch * 4);
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (;;) {
        /* each round fires at its own time: a long tick must not date later firings early */
        now_ms = svc_now(svc);
        snprintf(now, sizeof(now), "%lld", (long long)now_ms);
        const char *cargv[] = {cfg->tier, now, lease, max};
        if (rds_append_fcall(r, "clocks_claim", 4, cargv, NULL) != 0 ||
            (claim = rds_read(r)) == NULL) {
            svc_redis_failed(svc, "clocks_claim");
            return 0;
        }
        if (claim->type != REDIS_REPLY_ARRAY || claim->elements == 0) {
            freeReplyObject(claim);
            return 0;
        }
        sent = 0;
        for (size_t i = 0; i + 1 < claim->elements; i += 2) {
            const char *argv[] = {cfg->tier, claim->element[i]->str, now, svc_instance(svc),
                                  redeliver};
            if (rds_append_fcall(r, "clock_fire", 5, argv, NULL) == 0)
                sent++;
        }
        for (size_t i = 0; i < sent; i++) {
            redisReply *rep = rds_read(r);
            if (rep == NULL) {
                svc_redis_failed(svc, "clock_fire");
                break;
            }
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 &&
                rep->element[0]->integer == 1) {
                int64_t due = strtoll(claim->element[2 * i + 1]->str, NULL, 10);
                metrics_inc(svc_metrics(svc), w->m_fired, 1);
                metrics_observe(svc_metrics(svc), w->m_late, (double)(svc_now(svc) - due));
                for (size_t j = 1; j < rep->elements; j++)
                    svc_send(svc, STAGE_NOTIFIER, rep->element[j]->str, rep->element[j]->len);
            } else if (rep->type == REDIS_REPLY_ERROR) {
                log_msg(LOG_ERROR, "clock.fire_failed", "error=\"%s\"", rep->str);
            }
            freeReplyObject(rep);
        }
        size_t claimed = claim->elements / 2;
        freeReplyObject(claim);
        if ((int)claimed < cfg->batch * 4)
            return 0; /* drained; otherwise keep going until nothing is due */
    }
}

/* The years with a calendar file, as text ("2025,2026"), to notice an installed one. */
static void watcher_years(const cal_t *cal, char *buf, size_t cap)
{
    size_t off = 0;

    buf[0] = '\0';
    for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX && off < cap; y++)
        if (cal_has_year(cal, y))
            off += (size_t)snprintf(buf + off, cap - off, "%s%d", off ? "," : "", y);
}

/* Recomputes provisional clocks (up to 500 orders a minute) once their year is installed. Each
 * running clock keeps its start and the span it was started with. */
static void watcher_recompute(watcher_t *w)
{
    const config_t *cfg = svc_cfg(w->svc);
    rds_t *r = svc_rds(w->svc);
    const char *argv[] = {cfg->tier, "500"};
    char now[24], redeliver[24];
    redisReply *rep;
    int sent = 0;

    if (rds_append_fcall(r, "clock_sources", 2, argv, NULL) != 0 || (rep = rds_read(r)) == NULL)
        return;
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(w->svc));
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        json_t *src = json_loads(rep->element[i + 1]->str, 0, NULL), *stages, *st;
        char json[WATCHER_CLOCKS_JSON];
        size_t off = (size_t)snprintf(json, sizeof(json), "{\"what\":\"recompute\",\"stages\":{");
        config_policy_t policy;
        const char *name;
        int prov = 0, ok = src != NULL;

        stages = json_object_get(src, "stages");
        config_policy_for(
            cfg,
            config_urgency_index(json_string_value(json_object_get(src, "urgency"))
                                     ? json_string_value(json_object_get(src, "urgency"))
                                     : "normal"),
            json_string_value(json_object_get(src, "category")), &policy);
        json_object_foreach(stages, name, st)
        {
            int s = config_stage_index(name);
            const char *span = json_string_value(json_object_get(st, "span"));
            clocks_plan_t plan;
            if (s < 0 || span == NULL || cal_parse_span(span, &policy.stage[s].span) != 0)
                continue;
            snprintf(policy.stage[s].text, sizeof(policy.stage[s].text), "%s", span);
            if (clocks_plan(w->cal, &policy, s, json_integer_value(json_object_get(st, "start")),
                            &plan) != 0 ||
                clocks_json(&plan, name, json, sizeof(json), &off) != 0)
                ok = 0;
            prov |= plan.provisional;
        }
        json_decref(src);
        if (!ok)
            continue;
        off += (size_t)snprintf(json + off, sizeof(json) - off, "},\"provisional\":%d}", prov);
        const char *sargv[] = {cfg->tier, "",       now, svc_instance(w->svc), rep->element[i]->str,
                               json,      redeliver};
        if (off < sizeof(json) && rds_append_fcall(r, "clocks_set", 7, sargv, NULL) == 0)
            sent++;
    }
    freeReplyObject(rep);
    watcher_read_sets(w, sent);
}

/* Every minute: notice a newly installed calendar year, recompute provisional clocks, and
 * raise the alarm when this or next year's calendar is missing. */
static int watcher_on_calendar(loop_t *loop, void *arg)
{
    watcher_t *w = arg;
    const config_t *cfg = svc_cfg(w->svc);
    char err[600], years[256];
    redisReply *rep;
    time_t now = (time_t)(svc_now(w->svc) / 1000) + 8 * 3600;
    struct tm tm;
    int missing;

    if (cfg->calendar_dir[0] != '\0') {
        cal_t *fresh = cal_load_dir(cfg->calendar_dir, err, sizeof(err));
        if (fresh == NULL) {
            log_msg(LOG_ERROR, "calendar.invalid", "error=\"%s\" keeping=\"%s\"", err, w->years);
        } else {
            watcher_years(fresh, years, sizeof(years));
            if (strcmp(years, w->years) != 0) {
                log_msg(LOG_INFO, "calendar.loaded", "years=%s was=%s", years, w->years);
                cal_destroy(&w->cal);
                w->cal = fresh;
                snprintf(w->years, sizeof(w->years), "%s", years);
            } else {
                cal_destroy(&fresh);
            }
        }
    }
    gmtime_r(&now, &tm);
    missing = !cal_has_year(w->cal, tm.tm_year + 1900) ||
              (tm.tm_mon >= 10 && !cal_has_year(w->cal, tm.tm_year + 1901));
    if (missing && metrics_value(svc_metrics(w->svc), w->m_missing) == 0)
        log_msg(LOG_WARN, "calendar.missing",
                "year=%d message=\"install deploy/calendar/%d.conf from the State Council's "
                "holiday notice; deadlines into that year are provisional until then\"",
                cal_has_year(w->cal, tm.tm_year + 1900) ? tm.tm_year + 1901 : tm.tm_year + 1900,
                cal_has_year(w->cal, tm.tm_year + 1900) ? tm.tm_year + 1901 : tm.tm_year + 1900);
    metrics_set(svc_metrics(w->svc), w->m_missing, missing);
    if (rds_ensure(svc_rds(w->svc)) != 0)
        return 0;
    snprintf(err, sizeof(err), "{%s}:provisional", cfg->tier);
    rep = rds_cmd(svc_rds(w->svc), "SCARD %s", err);
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER) {
        metrics_set(svc_metrics(w->svc), w->m_provisional, (double)rep->integer);
        if (rep->integer > 0)
            watcher_recompute(w);
    }
    freeReplyObject(rep);
    return 0;
}

/* --check-calendar: loads the calendar folder and says what it holds or what is wrong. */
static int watcher_check_calendar(int argc, char **argv)
{
    const char *path = config_path_from_args(argc, argv);
    config_t *cfg = malloc(sizeof(*cfg));
    char err[600];
    cal_t *cal;
    int rc = 1;

    if (cfg == NULL)
        return 1;
    if (path == NULL) {
        fprintf(stderr, "rexian-watcher: no config: pass -c FILE or set REXIAN_CONFIG\n");
    } else if (config_load(path, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
    } else if ((cal = cal_load_dir(cfg->calendar_dir, err, sizeof(err))) == NULL) {
        fprintf(stderr, "%s\n", err);
    } else {
        int n = 0;
        for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++) {
            if (!cal_has_year(cal, y))
                continue;
            printf("%d: %s\n", y, cal_source(cal, y));
            n++;
        }
        printf("ok: %d year(s) in %s; other years are computed on weekends only and marked "
               "provisional\n",
               n, cfg->calendar_dir);
        cal_destroy(&cal);
        rc = n > 0 ? 0 : 1;
    }
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    watcher_t w = {0};
    svc_opts_t opts = {.name = "watcher",
                       .consumes = STAGE_WATCHER,
                       .produces = {[STAGE_NOTIFIER] = 1},
                       .on_batch = watcher_on_batch,
                       .arg = &w};
    char err[600];
    int rc = 1;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check-calendar") == 0)
            return watcher_check_calendar(argc, argv);
    w.svc = svc_new(argc, argv, &opts);
    if (w.svc == NULL)
        return 1;
    const config_t *cfg = svc_cfg(w.svc);
    w.cal = cfg->calendar_dir[0] ? cal_load_dir(cfg->calendar_dir, err, sizeof(err)) : cal_new();
    if (w.cal == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        goto out;
    }
    watcher_years(w.cal, w.years, sizeof(w.years));
    w.m_started = metrics_add(svc_metrics(w.svc), METRIC_COUNTER, "rexian_clocks_set_total",
                              "Clock sets written (started, re-armed, recomputed)");
    w.m_fired = metrics_add(svc_metrics(w.svc), METRIC_COUNTER, "rexian_clocks_fired_total",
                            "Warnings, deadlines and escalations fired");
    w.m_late = metrics_add(svc_metrics(w.svc), METRIC_HISTOGRAM, "rexian_clock_lag_ms",
                           "Time from a clock's moment to its firing, milliseconds");
    w.m_provisional =
        metrics_add(svc_metrics(w.svc), METRIC_GAUGE, "rexian_clocks_provisional_orders",
                    "Orders whose deadlines fall in a year with no calendar file");
    w.m_missing = metrics_add(svc_metrics(w.svc), METRIC_GAUGE, "rexian_calendar_missing",
                              "1 when this year's calendar, or after November next year's, is "
                              "not installed");
    loop_add_timer(svc_loop(w.svc), cfg->watch_interval_ms, watcher_on_tick, &w);
    loop_add_timer(svc_loop(w.svc), 60000, watcher_on_calendar, &w);
    watcher_on_calendar(svc_loop(w.svc), &w);
    log_msg(LOG_INFO, "calendar.loaded", "years=%s dir=%s", w.years, cfg->calendar_dir);
    rc = svc_run(w.svc);
out:
    cal_destroy(&w.cal);
    svc_destroy(&w.svc);
    return rc;
}
