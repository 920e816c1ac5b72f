/* main.c -- rexian-watcher: owns every clock. Starts an order's acknowledge, reply and close
 * clocks from the deadline policy and the working calendar, and fires deadline.due when one
 * passes. Several watchers may run: due clocks are claimed with a lease in Redis. */
#include "cal.h"
#include "log.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct watcher_t {
    cal_t *cal;       /* the working calendar */
    int m_started;    /* metric: orders whose clocks started */
    int m_fired;      /* metric: deadlines fired */
    int m_late;       /* metric: how late a deadline fired, ms */
    int m_provisional; /* metric: clocks computed on a year without calendar */
    svc_t *svc;       /* the service, for the timer */
} watcher_t;

/* The clocks for one dispatched order as the store's clocks_start reads them. */
static int watcher_clocks(watcher_t *w, const config_t *cfg, const char *urgency,
                          int64_t start, char *buf, size_t cap)
{
    int u = config_urgency_index(urgency), provisional_any = 0;
    int64_t due[CONFIG_STAGES], window;
    int n, provisional = 0;

    if (u < 0)
        u = 2;
    for (int s = 0; s < CONFIG_STAGES; s++) {
        if (cal_add(w->cal, start, &cfg->policy[u][s].span, &due[s], &provisional) != 0)
            return -1;
        provisional_any |= provisional;
    }
    if (cal_add(w->cal, start, &cfg->return_window.span, &window, &provisional) != 0)
        return -1;
    provisional_any |= provisional;
    n = snprintf(buf, cap,
                 "{\"ack\":%lld,\"reply\":%lld,\"close\":%lld,\"ack_span\":\"%s\","
                 "\"reply_span\":\"%s\",\"close_span\":\"%s\",\"return\":%lld,"
                 "\"provisional\":%d}",
                 (long long)due[0], (long long)due[1], (long long)due[2], cfg->policy[u][0].text,
                 cfg->policy[u][1].text, cfg->policy[u][2].text, (long long)window,
                 provisional_any);
    return n > 0 && (size_t)n < cap ? provisional_any : -1;
}

static int watcher_on_batch(svc_t *svc, proto_msg_t *msgs, int n, void *arg)
{
    watcher_t *w = arg;
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    char now[24], redeliver[24];
    int sent = 0;

    if (rds_ensure(r) != 0) {
        svc_redis_failed(svc, "clocks_start");
        return 0;
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (int i = 0; i < n; i++) {
        char ticket[64], urgency[24], clocks[512];
        int64_t start;
        int prov;

        if (strcmp(msgs[i].type, "ticket.dispatched") != 0 ||
            proto_body_str(&msgs[i], "ticket", ticket, sizeof(ticket)) != 0 ||
            proto_body_int(&msgs[i], "dispatched_at", &start) != 0) {
            log_msg(LOG_WARN, "frame.unexpected", "type=%s id=%s", msgs[i].type, msgs[i].id);
            continue;
        }
        if (proto_body_str(&msgs[i], "urgency", urgency, sizeof(urgency)) != 0)
            snprintf(urgency, sizeof(urgency), "normal");
        prov = watcher_clocks(w, cfg, urgency, start, clocks, sizeof(clocks));
        if (prov < 0) {
            log_msg(LOG_ERROR, "clocks.failed", "ticket=%s start=%lld", ticket,
                    (long long)start);
            continue;
        }
        if (prov)
            metrics_inc(svc_metrics(svc), w->m_provisional, 1);
        const char *argv[] = {cfg->tier, msgs[i].id, now, svc_instance(svc), ticket, clocks,
                              redeliver};
        if (rds_append_fcall(r, "clocks_start", 7, argv, NULL) == 0)
            sent++;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *rep = rds_read(r);
        if (rep == NULL) {
            svc_redis_failed(svc, "clocks_start");
            break;
        }
        if (rep->type == REDIS_REPLY_ERROR)
            log_msg(LOG_ERROR, "clocks.failed", "error=\"%s\"", rep->str);
        else if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                 rep->element[0]->integer == 1) {
            metrics_inc(svc_metrics(svc), w->m_started, 1);
            if (rep->elements == 2) /* the citizen's first notice */
                svc_send(svc, STAGE_NOTIFIER, rep->element[1]->str, rep->element[1]->len);
        }
        freeReplyObject(rep);
    }
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
    size_t sent = 0;

    if (rds_ensure(r) != 0)
        return 0;
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(lease, sizeof(lease), "%lld", (long long)cfg->lease_ms);
    snprintf(max, sizeof(max), "%d", cfg->batch * 4);
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (;;) {
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
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
                rep->element[0]->integer == 1) {
                int64_t due = strtoll(claim->element[2 * i + 1]->str, NULL, 10);
                metrics_inc(svc_metrics(svc), w->m_fired, 1);
                metrics_observe(svc_metrics(svc), w->m_late, (double)(now_ms - due));
                svc_send(svc, STAGE_NOTIFIER, rep->element[1]->str, rep->element[1]->len);
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

int main(int argc, char **argv)
{
    watcher_t w = {0};
    svc_opts_t opts = {.name = "watcher", .consumes = STAGE_WATCHER,
                       .produces = {[STAGE_NOTIFIER] = 1},
                       .on_batch = watcher_on_batch, .arg = &w};
    char err[600];
    int rc = 1;

    w.svc = svc_new(argc, argv, &opts);
    if (w.svc == NULL)
        return 1;
    const config_t *cfg = svc_cfg(w.svc);
    w.cal = cfg->calendar_dir[0] ? cal_load_dir(cfg->calendar_dir, err, sizeof(err)) : cal_new();
    if (w.cal == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        goto out;
    }
    w.m_started = metrics_add(svc_metrics(w.svc), METRIC_COUNTER, "rexian_clocks_started_total",
                              "Orders whose clocks were started");
    w.m_fired = metrics_add(svc_metrics(w.svc), METRIC_COUNTER, "rexian_deadlines_fired_total",
                            "Deadlines that passed and were fired");
    w.m_late = metrics_add(svc_metrics(w.svc), METRIC_HISTOGRAM, "rexian_deadline_lag_ms",
                           "Time from a deadline to its firing, milliseconds");
    w.m_provisional = metrics_add(svc_metrics(w.svc), METRIC_COUNTER,
                                  "rexian_clocks_provisional_total",
                                  "Clocks computed into a year with no calendar file");
    loop_add_timer(svc_loop(w.svc), cfg->watch_interval_ms, watcher_on_tick, &w);
    rc = svc_run(w.svc);
out:
    cal_destroy(&w.cal);
    svc_destroy(&w.svc);
    return rc;
}
