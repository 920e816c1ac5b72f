/* main.c -- rexian-notifier: delivers notifications as signed webhooks to units, supervisors,
 * dispatchers and citizens; retries with backoff; dead-letters with the last error; records
 * every attempt on the order. A notification is leased in Redis before it is sent, so two
 * notifier instances never send the same one at the same time; the receiver deduplicates the
 * rare resend after a crash by the notification id. */
#include "feed.h"
#include "log.h"
#include "svc.h"
#include "units.h"
#include "webhook.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define NOTIFIER_QUEUE 4096 /* leased notifications waiting for a free transfer slot */

typedef struct notifier_job_t {
    char nid[PROTO_ID_MAX + 1]; /* notification id */
    char ticket[64];            /* the order */
    char kind[PROTO_TYPE_MAX + 1]; /* event kind */
    char url[WEBHOOK_MAX_URL + 1]; /* endpoint */
    char secret[256];           /* its HMAC key */
    char *body;                 /* JSON body, owned */
    int unroutable;             /* no endpoint configured: fail at once, no retries */
} notifier_job_t;

typedef struct notifier_t {
    svc_t *svc;                      /* the service */
    units_t *units;                  /* where units' webhooks are */
    webhook_pool_t *pool;            /* transfers in flight */
    notifier_job_t *queue;           /* leased, not yet submitted (ring) */
    size_t head, count;              /* ring position and fill */
    notifier_job_t *inflight;        /* by pool tag (slot index) */
    int n_slots;                     /* size of inflight */
    int m_ok, m_failed, m_dead, m_latency; /* metrics */
} notifier_t;

/* The webhook's JSON: the envelope's id and time plus every body field. Caller frees. */
static char *notifier_body(const proto_msg_t *msg)
{
    json_t *o = json_object();
    const msgpack_object *b = msg->body;
    char *text;

    json_object_set_new(o, "notification_id", json_string(msg->id));
    json_object_set_new(o, "tier", json_string(msg->tier));
    json_object_set_new(o, "created_at", json_integer(msg->ts));
    for (uint32_t i = 0; b->type == MSGPACK_OBJECT_MAP && i < b->via.map.size; i++) {
        const msgpack_object *k = &b->via.map.ptr[i].key, *v = &b->via.map.ptr[i].val;
        char key[64];
        json_t *val = NULL;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(key))
            continue;
        snprintf(key, sizeof(key), "%.*s", (int)k->via.str.size, k->via.str.ptr);
        if (strcmp(key, "nid") == 0)
            continue;
        switch (v->type) {
        case MSGPACK_OBJECT_STR:
            val = json_stringn(v->via.str.ptr, v->via.str.size);
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: val = json_integer((json_int_t)v->via.u64); break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: val = json_integer(v->via.i64); break;
        case MSGPACK_OBJECT_FLOAT64: val = json_integer((json_int_t)v->via.f64); break;
        case MSGPACK_OBJECT_ARRAY:
            val = json_array();
            for (uint32_t j = 0; j < v->via.array.size; j++)
                if (v->via.array.ptr[j].type == MSGPACK_OBJECT_STR)
                    json_array_append_new(val, json_stringn(v->via.array.ptr[j].via.str.ptr,
                                                            v->via.array.ptr[j].via.str.size));
            break;
        default: break;
        }
        if (val != NULL)
            json_object_set_new(o, strcmp(key, "kind") == 0 ? "event" : key, val);
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* Endpoint and secret for a target: a unit's own webhook, else the default with {unit}. */
static int notifier_endpoint(notifier_t *nt, const char *target, notifier_job_t *job)
{
    const config_t *cfg = svc_cfg(nt->svc);
    const unit_t *u = units_find(nt->units, target);
    const char *url = NULL, *secret = cfg->webhook_secret;
    char *brace;

    if (strcmp(target, "supervisor") == 0)
        url = cfg->supervisor_webhook;
    else if (strcmp(target, "dispatcher") == 0)
        url = cfg->dispatcher_webhook;
    else if (strcmp(target, "citizen") == 0)
        url = cfg->citizen_webhook;
    else if (u != NULL && u->webhook[0] != '\0')
        url = u->webhook;
    else if (u != NULL)
        url = cfg->webhook_url;
    if (u != NULL && u->secret[0] != '\0')
        secret = u->secret;
    if (url == NULL || url[0] == '\0')
        return -ENOENT;
    snprintf(job->url, sizeof(job->url), "%s", url);
    brace = strstr(job->url, "{unit}");
    if (brace != NULL) {
        char rest[WEBHOOK_MAX_URL + 1];
        snprintf(rest, sizeof(rest), "%s", brace + 6);
        snprintf(brace, sizeof(job->url) - (size_t)(brace - job->url), "%s%s", target, rest);
    }
    snprintf(job->secret, sizeof(job->secret), "%s", secret);
    return 0;
}

static void notifier_job_free(notifier_job_t *job)
{
    free(job->body);
    job->body = NULL;
}

/* Records one attempt's outcome (one FCALL, pipelined by the caller). */
static int notifier_append_result(notifier_t *nt, const notifier_job_t *job,
                                  const webhook_result_t *res)
{
    const config_t *cfg = svc_cfg(nt->svc);
    char now[24], status[16], retry[1024], maxa[16];
    int64_t now_ms = svc_now(nt->svc);
    size_t off = 0;

    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(status, sizeof(status), "%ld", res->http_status);
    /* the attempt count lives in Redis: give the store the wait after each attempt, jittered */
    for (int a = 1; a <= cfg->max_deliveries && a <= 60 && off + 16 < sizeof(retry); a++) {
        uint32_t rnd = 0;
        getrandom(&rnd, sizeof(rnd), 0);
        off += (size_t)snprintf(retry + off, sizeof(retry) - off, "%s%lld", a > 1 ? "," : "",
                                (long long)webhook_backoff_ms(a, rnd));
    }
    snprintf(maxa, sizeof(maxa), "%d", job->unroutable ? 1 : cfg->max_deliveries);
    const char *argv[] = {cfg->tier, job->nid, now, svc_instance(nt->svc), job->ticket,
                          res->ok ? "1" : "0", status, res->error, retry, maxa, job->url};
    return rds_append_fcall(svc_rds(nt->svc), "notify_result", 11, argv, NULL);
}

static void notifier_read_results(notifier_t *nt, int n)
{
    for (int i = 0; i < n; i++) {
        redisReply *rep = rds_read(svc_rds(nt->svc));
        if (rep == NULL) {
            svc_redis_failed(nt->svc, "notify_result");
            return;
        }
        if (rep->type == REDIS_REPLY_ERROR)
            log_msg(LOG_ERROR, "notify.record_failed", "error=\"%s\"", rep->str);
        else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
                 strcmp(rep->element[0]->str, "dead") == 0)
            metrics_inc(svc_metrics(nt->svc), nt->m_dead, 1);
        freeReplyObject(rep);
    }
}

/* Moves queued jobs into free transfer slots. */
static void notifier_submit(notifier_t *nt)
{
    int results = 0;

    while (nt->count > 0) {
        notifier_job_t *job = &nt->queue[nt->head];
        int slot;
        for (slot = 0; slot < nt->n_slots; slot++)
            if (nt->inflight[slot].body == NULL)
                break;
        if (slot == nt->n_slots)
            break;
        if (!job->unroutable) {
            webhook_req_t req = {.url = job->url, .secret = job->secret,
                                 .notification_id = job->nid, .event = job->kind,
                                 .body = job->body, .body_len = strlen(job->body)};
            int rc = webhook_pool_submit(nt->pool, &req, (uint64_t)slot);
            if (rc == -EBUSY)
                break;
            if (rc == 0) {
                nt->inflight[slot] = *job;
                job->body = NULL;
            } else {
                webhook_result_t res = {.ok = 0};
                webhook_req_check(&req, res.error, sizeof(res.error));
                job->unroutable = 1;
                if (notifier_append_result(nt, job, &res) == 0)
                    results++;
                notifier_job_free(job);
            }
        } else {
            webhook_result_t res = {.ok = 0};
            snprintf(res.error, sizeof(res.error), "no webhook configured for this target");
            if (notifier_append_result(nt, job, &res) == 0)
                results++;
            notifier_job_free(job);
        }
        nt->head = (nt->head + 1) % NOTIFIER_QUEUE;
        nt->count--;
    }
    notifier_read_results(nt, results);
}

/* 1 when this instance already has the notification queued or in flight. */
static int notifier_holds(const notifier_t *nt, const char *nid)
{
    for (size_t i = 0; i < nt->count; i++)
        if (strcmp(nt->queue[(nt->head + i) % NOTIFIER_QUEUE].nid, nid) == 0)
            return 1;
    for (int i = 0; i < nt->n_slots; i++)
        if (nt->inflight[i].body != NULL && strcmp(nt->inflight[i].nid, nid) == 0)
            return 1;
    return 0;
}

static int notifier_on_batch(svc_t *svc, proto_msg_t *msgs, int n, void *arg)
{
    notifier_t *nt = arg;
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    const char *argv[4 + 4096];
    char now[24], lease[24];
    int idx[4096], m = 0;
    redisReply *rep;

    if (rds_ensure(r) != 0) {
        svc_redis_failed(svc, "notify_lease");
        return 0;
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    snprintf(lease, sizeof(lease), "%lld", (long long)cfg->lease_ms);
    argv[0] = cfg->tier;
    argv[1] = now;
    argv[2] = lease;
    argv[3] = svc_instance(svc);
    for (int i = 0; i < n && m < 4096; i++) {
        if (strcmp(msgs[i].type, "notify") != 0) {
            log_msg(LOG_WARN, "frame.unexpected", "type=%s id=%s", msgs[i].type, msgs[i].id);
            continue;
        }
        if (nt->count + (size_t)m >= NOTIFIER_QUEUE)
            break; /* full: the rest stays in the outbox and comes back after its lease */
        if (notifier_holds(nt, msgs[i].id))
            continue; /* redelivered while still queued or in flight here: not twice */
        argv[4 + m] = msgs[i].id;
        idx[m++] = i;
    }
    if (m == 0)
        return 0;
    if (rds_append_fcall(r, "notify_lease", 4 + m, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        svc_redis_failed(svc, "notify_lease");
        return 0;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == (size_t)m) {
        for (int j = 0; j < m; j++) {
            proto_msg_t *msg = &msgs[idx[j]];
            notifier_job_t *job;
            char target[72];
            if (rep->element[j]->integer != 1)
                continue; /* delivered already, or leased by another instance */
            job = &nt->queue[(nt->head + nt->count) % NOTIFIER_QUEUE];
            memset(job, 0, sizeof(*job));
            snprintf(job->nid, sizeof(job->nid), "%s", msg->id);
            if (proto_body_str(msg, "ticket", job->ticket, sizeof(job->ticket)) != 0 ||
                proto_body_str(msg, "kind", job->kind, sizeof(job->kind)) != 0 ||
                proto_body_str(msg, "target", target, sizeof(target)) != 0)
                continue;
            job->unroutable = notifier_endpoint(nt, target, job) != 0;
            job->body = notifier_body(msg);
            if (job->body == NULL)
                continue;
            nt->count++;
        }
    } else if (rep->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_ERROR, "notify.lease_failed", "error=\"%s\"", rep->str);
    }
    freeReplyObject(rep);
    notifier_submit(nt);
    return 0;
}

/* Every loop turn: drive transfers, record finished ones, start queued ones. */
static int notifier_after(loop_t *loop, void *arg)
{
    notifier_t *nt = arg;
    webhook_result_t res;
    int results = 0;

    if (webhook_pool_in_flight(nt->pool) == 0 && nt->count == 0)
        return 0;
    webhook_pool_perform(nt->pool, 0);
    if (rds_ensure(svc_rds(nt->svc)) != 0) {
        loop_cap_wait(loop, 50);
        return 0; /* results wait in the pool until Redis is back */
    }
    while (webhook_pool_next_done(nt->pool, &res) == 0) {
        notifier_job_t *job = &nt->inflight[res.tag];
        metrics_inc(svc_metrics(nt->svc), res.ok ? nt->m_ok : nt->m_failed, 1);
        metrics_observe(svc_metrics(nt->svc), nt->m_latency, (double)res.elapsed_ms);
        if (!res.ok)
            log_msg(LOG_INFO, "webhook.failed", "nid=%s url=%s error=\"%s\"", job->nid,
                    job->url, res.error);
        if (notifier_append_result(nt, job, &res) == 0)
            results++;
        notifier_job_free(job);
    }
    notifier_read_results(nt, results);
    notifier_submit(nt);
    if (webhook_pool_in_flight(nt->pool) > 0 || nt->count > 0)
        loop_cap_wait(loop, 2);
    return 0;
}

/* At shutdown (after the drain): hand back leased notifications not delivered yet. */
static void notifier_release(notifier_t *nt)
{
    const config_t *cfg = svc_cfg(nt->svc);
    const char **argv = calloc(3 + NOTIFIER_QUEUE + (size_t)nt->n_slots, sizeof(char *));
    char now[24];
    redisReply *rep;
    int n = 3;

    if (argv == NULL || rds_ensure(svc_rds(nt->svc)) != 0) {
        free(argv);
        return;
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(nt->svc));
    argv[0] = cfg->tier;
    argv[1] = now;
    argv[2] = svc_instance(nt->svc);
    for (size_t i = 0; i < nt->count; i++)
        argv[n++] = nt->queue[(nt->head + i) % NOTIFIER_QUEUE].nid;
    for (int i = 0; i < nt->n_slots; i++)
        if (nt->inflight[i].body != NULL)
            argv[n++] = nt->inflight[i].nid;
    if (n > 3 && rds_append_fcall(svc_rds(nt->svc), "notify_release", n, argv, NULL) == 0 &&
        (rep = rds_read(svc_rds(nt->svc))) != NULL) {
        log_msg(LOG_INFO, "notify.handed_back", "count=%lld", rep->integer);
        freeReplyObject(rep);
    }
    free(argv);
}

/* Backpressure: leased jobs wait in the queue for a transfer slot; take no more than fit. */
static int notifier_capacity(svc_t *svc, void *arg)
{
    notifier_t *nt = arg;
    /* no more waiting than the transfers can finish well within a lease */
    size_t limit = (size_t)nt->n_slots * 8 < NOTIFIER_QUEUE ? (size_t)nt->n_slots * 8
                                                             : NOTIFIER_QUEUE;

    return nt->count >= limit ? 0 : (int)(limit - nt->count);
}

int main(int argc, char **argv)
{
    notifier_t nt = {0};
    svc_opts_t opts = {.name = "notifier", .consumes = STAGE_NOTIFIER,
                       .on_batch = notifier_on_batch, .capacity = notifier_capacity,
                       .after = notifier_after, .arg = &nt};
    char err[600];
    int rc = 1;
    feed_t *feed = NULL; /* the tier link: the county's feed up, or the city's orders down */

    nt.svc = svc_new(argc, argv, &opts);
    if (nt.svc == NULL)
        return 1;
    const config_t *cfg = svc_cfg(nt.svc);
    nt.units = units_load(cfg->units_path, err, sizeof(err));
    if (nt.units == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        goto out;
    }
    nt.n_slots = cfg->webhook_parallel;
    nt.pool = webhook_pool_new(nt.n_slots, (long)cfg->webhook_timeout_ms);
    nt.queue = calloc(NOTIFIER_QUEUE, sizeof(*nt.queue));
    nt.inflight = calloc((size_t)nt.n_slots, sizeof(*nt.inflight));
    if (nt.pool == NULL || nt.queue == NULL || nt.inflight == NULL) {
        log_msg(LOG_ERROR, "start.failed", "error=\"cannot start the webhook pool\"");
        goto out;
    }
    nt.m_ok = metrics_add(svc_metrics(nt.svc), METRIC_COUNTER,
                          "rexian_webhooks_total{result=\"delivered\"}", "Webhook attempts");
    nt.m_failed = metrics_add(svc_metrics(nt.svc), METRIC_COUNTER,
                              "rexian_webhooks_total{result=\"failed\"}", "Webhook attempts");
    nt.m_dead = metrics_add(svc_metrics(nt.svc), METRIC_COUNTER,
                            "rexian_notifications_dead_total",
                            "Notifications dead-lettered after their last attempt");
    nt.m_latency = metrics_add(svc_metrics(nt.svc), METRIC_HISTOGRAM, "rexian_webhook_ms",
                               "Webhook round trip, milliseconds");
    feed = feed_new(nt.svc, err, sizeof(err));
    if (feed == NULL && err[0] != '\0') {
        log_msg(LOG_ERROR, "config.invalid", "error=\"tier link: %s\"", err);
        goto out;
    }
    rc = svc_run(nt.svc);
    notifier_release(&nt);
out:
    feed_destroy(&feed);
    for (size_t i = 0; nt.queue != NULL && i < NOTIFIER_QUEUE; i++)
        notifier_job_free(&nt.queue[i]);
    for (int i = 0; nt.inflight != NULL && i < nt.n_slots; i++)
        notifier_job_free(&nt.inflight[i]);
    free(nt.queue);
    free(nt.inflight);
    webhook_pool_destroy(&nt.pool);
    units_destroy(&nt.units);
    svc_destroy(&nt.svc);
    return rc;
}
