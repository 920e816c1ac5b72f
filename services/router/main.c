/* main.c -- rexian-router: decides each new order's lead unit, co-handlers and urgency from the
 * dispatch catalogue, or sends it to the manual dispatch queue with its candidates. In a city,
 * an order no city department's rule is sure of that names a county's place goes down to that
 * county instead (tierdown.h). */
#include "catalogue.h"
#include "log.h"
#include "clock.h"
#include "similar.h"
#include "svc.h"
#include "tierdown.h"
#include "units.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct router_t {
    units_t *units; /* the units register */
    cat_t *cat;     /* the dispatch catalogue */
    tierdown_t *down; /* city: the counties' place names, or NULL */
    int m_routed;   /* metric: dispatched to a unit */
    int m_manual;   /* metric: sent to manual dispatch */
    int m_county;   /* metric: sent down to a county */
} router_t;

/* The decision as the store's ticket_dispatch function reads it, with the text's signature
 * and the linking settings for finding repeat requests. Caller frees. */
static char *router_decision(const config_t *cfg, const char *ticket, const char *text_in,
                             const cat_result_t *res)
{
    json_t *d = json_object(), *co = json_array(), *cands = json_array(), *sig = json_array();
    uint32_t hashes[SIMILAR_K];
    size_t n = similar_signature(text_in, strlen(text_in), hashes);
    char *text;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(sig, json_integer(hashes[i]));
    json_object_set_new(d, "sig", sig);
    json_object_set_new(d, "link", json_pack("{s:I,s:i,s:I,s:i}", "window",
                                             (json_int_t)cfg->link_window_ms, "similarity",
                                             cfg->similarity, "repeat_window",
                                             (json_int_t)cfg->repeat_window_ms, "repeat_orders",
                                             cfg->repeat_orders));
    if (res->township[0] != '\0')
        json_object_set_new(d, "place", json_string(res->township));

    for (int i = 0; i < res->n_co; i++)
        json_array_append_new(co, json_string(res->co_units[i]));
    for (int i = 0; i < res->n_candidates; i++)
        json_array_append_new(cands, json_pack("{s:s,s:i}", "unit", res->candidates[i].unit,
                                               "score", res->candidates[i].score));
    json_object_set_new(d, "ticket", json_string(ticket));
    json_object_set_new(d, "manual", json_boolean(res->manual));
    json_object_set_new(d, "unit", json_string(res->unit));
    json_object_set_new(d, "co_units", co);
    json_object_set_new(d, "urgency", json_string(cat_urgency_name(res->urgency)));
    json_object_set_new(d, "candidates", cands);
    json_object_set_new(d, "why", json_string(res->why));
    json_object_set_new(d, "score", json_integer(res->score));
    text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return text;
}

static int router_on_batch(svc_t *svc, proto_msg_t *msgs, int n, void *arg)
{
    router_t *rt = arg;
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    char now[24], redeliver[24], err[400];
    /* per command pipelined: 1 for a down_dispatch, 0 for a ticket_dispatch */
    char *down = calloc(2 * (size_t)n + 1, 1);
    int went_down = 0;
    int sent = 0;

    if (down == NULL || rds_ensure(r) != 0) {
        free(down);
        svc_redis_failed(svc, "dispatch"); /* the outbox keeps them: redelivered later */
        return 0;
    }
    if (rt->down != NULL) {
        int rc = tierdown_refresh(rt->down, clock_mono_ms(), err, sizeof(err));
        if (rc < 0)
            log_msg(LOG_ERROR, "counties.invalid", "error=\"%s\" (the previous list stays)", err);
        else if (rc > 0)
            log_msg(LOG_INFO, "counties.reloaded", "file=%s", cfg->tier_counties);
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    for (int i = 0; i < n; i++) {
        char ticket[64], category[40], township[80];
        const char *text, *address = "";
        size_t text_len, address_len = 0;
        char text_buf[8192], address_buf[512];
        cat_result_t res;
        char *decision;

        if (strcmp(msgs[i].type, "ticket.created") != 0 ||
            proto_body_str(&msgs[i], "ticket", ticket, sizeof(ticket)) != 0 ||
            proto_body_raw(&msgs[i], "text", &text, &text_len) != 0) {
            log_msg(LOG_WARN, "frame.unexpected", "type=%s id=%s", msgs[i].type, msgs[i].id);
            continue;
        }
        snprintf(text_buf, sizeof(text_buf), "%.*s", (int)text_len, text);
        if (proto_body_raw(&msgs[i], "address", &address, &address_len) != 0)
            address_len = 0;
        snprintf(address_buf, sizeof(address_buf), "%.*s", (int)address_len, address);
        if (proto_body_str(&msgs[i], "category", category, sizeof(category)) != 0)
            category[0] = '\0';
        if (proto_body_str(&msgs[i], "township", township, sizeof(township)) != 0)
            township[0] = '\0';
        cat_route(rt->cat,
                  &(cat_request_t){.text = text_buf, .address = address_buf,
                                   .township = township, .category = category},
                  &res);
        decision = router_decision(cfg, ticket, text_buf, &res);
        if (decision == NULL)
            continue;
        if (res.manual && rt->down != NULL) {
            /* down first: ticket_dispatch then finds the order gone and only takes the outbox */
            const char *from;
            const tier_peer_t *p = tierdown_match(rt->down, address_buf, text_buf, &from);
            if (p != NULL && tierdown_append(r, cfg, ticket, p, from, svc_now(svc),
                                             svc_instance(svc)) == 0) {
                down[sent++] = 1;
                went_down = 1;
                log_msg(LOG_INFO, "down.route", "ticket=%s county=%s place_in=%s", ticket, p->tier,
                        from);
            }
        }
        const char *argv[] = {cfg->tier, msgs[i].id, now, svc_instance(svc), redeliver, decision};
        if (rds_append_fcall(r, "ticket_dispatch", 6, argv, NULL) == 0)
            down[sent++] = 0;
        free(decision);
        metrics_inc(svc_metrics(svc),
                    went_down ? rt->m_county : res.manual ? rt->m_manual : rt->m_routed, 1);
        went_down = 0;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *rep = rds_read(r);
        if (rep == NULL) {
            svc_redis_failed(svc, "dispatch");
            break;
        }
        if (down[i]) {
            /* {1, message id}; {0, status, code, message}: e.g. already down (a redelivery) */
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2)
                log_msg(LOG_INFO, "down.dispatch", "message=%s by=router", rep->element[1]->str);
            else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4)
                log_msg(LOG_INFO, "down.skipped", "code=%s why=\"%s\"", rep->element[2]->str,
                        rep->element[3]->str);
            else if (rep->type == REDIS_REPLY_ERROR)
                log_msg(LOG_ERROR, "down.failed", "error=\"%s\"", rep->str);
        } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 3) {
            svc_send(svc, STAGE_WATCHER, rep->element[1]->str, rep->element[1]->len);
            for (size_t j = 2; j < rep->elements; j++)
                svc_send(svc, STAGE_NOTIFIER, rep->element[j]->str, rep->element[j]->len);
        } else if (rep->type == REDIS_REPLY_ERROR) {
            log_msg(LOG_ERROR, "dispatch.failed", "error=\"%s\"", rep->str);
        }
        freeReplyObject(rep);
    }
    free(down);
    return 0;
}

static int router_load(router_t *rt, const config_t *cfg)
{
    char err[600];

    rt->units = units_load(cfg->units_path, err, sizeof(err));
    if (rt->units == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        return -1;
    }
    rt->cat = cat_load(cfg->catalogue_path, rt->units, err, sizeof(err));
    if (rt->cat == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        return -1;
    }
    log_msg(LOG_INFO, "catalogue.loaded", "units=%zu phrases=%zu file=%s",
            units_count(rt->units), cat_phrase_count(rt->cat), cfg->catalogue_path);
    rt->down = tierdown_new(cfg, err, sizeof(err));
    if (rt->down == NULL && err[0] != '\0') {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        return -1;
    }
    if (rt->down != NULL)
        log_msg(LOG_INFO, "counties.loaded", "file=%s (orders naming a county's place go down)",
                cfg->tier_counties);
    return 0;
}

/* --check-config: validate the config, the units and the catalogue, print what is wrong. */
static int router_check(int argc, char **argv)
{
    const char *path = config_path_from_args(argc, argv);
    router_t rt = {0};
    config_t *cfg = malloc(sizeof(*cfg));
    char err[600];
    int rc = 1;

    if (cfg == NULL)
        return 1;
    if (path == NULL) {
        fprintf(stderr, "rexian-router: no config: pass -c FILE or set REXIAN_CONFIG\n");
    } else if (config_load(path, cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
    } else if ((rt.units = units_load(cfg->units_path, err, sizeof(err))) == NULL ||
               (rt.cat = cat_load(cfg->catalogue_path, rt.units, err, sizeof(err))) == NULL) {
        fprintf(stderr, "%s\n", err);
    } else {
        printf("ok: %s, %zu units, %zu phrases in %s\n", path, units_count(rt.units),
               cat_phrase_count(rt.cat), cfg->catalogue_path);
        rc = 0;
    }
    cat_destroy(&rt.cat);
    units_destroy(&rt.units);
    free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    router_t rt = {0};
    svc_opts_t opts = {.name = "router", .consumes = STAGE_ROUTER,
                       .produces = {[STAGE_WATCHER] = 1, [STAGE_NOTIFIER] = 1},
                       .on_batch = router_on_batch, .arg = &rt};
    svc_t *svc;
    int rc = 1;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check-config") == 0)
            return router_check(argc, argv);
    svc = svc_new(argc, argv, &opts);
    if (svc == NULL)
        return 1;
    if (router_load(&rt, svc_cfg(svc)) == 0) {
        rt.m_routed = metrics_add(svc_metrics(svc), METRIC_COUNTER,
                                  "rexian_routed_total{result=\"unit\"}",
                                  "Orders routed, by result");
        rt.m_manual = metrics_add(svc_metrics(svc), METRIC_COUNTER,
                                  "rexian_routed_total{result=\"manual\"}",
                                  "Orders routed, by result");
        rt.m_county = metrics_add(svc_metrics(svc), METRIC_COUNTER,
                                  "rexian_routed_total{result=\"county\"}",
                                  "Orders routed, by result");
        rc = svc_run(svc);
    }
    tierdown_destroy(&rt.down);
    cat_destroy(&rt.cat);
    units_destroy(&rt.units);
    svc_destroy(&svc);
    return rc;
}
