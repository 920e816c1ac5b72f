/* svc.c -- the shared service runtime (see svc.h) */
#include "svc.h"

#include "clock.h"
#include "log.h"
#include "peers.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static const char *svc_stages[STAGE_COUNT] = {"router", "watcher", "notifier"};

struct svc_t {
    svc_opts_t opts;                 /* what the service asked for */
    config_t cfg;                    /* settings */
    char instance[192];              /* name@endpoint-or-host:pid */
    rds_t *rds;                      /* the service's Redis connection */
    void *zctx;                      /* ZeroMQ context */
    void *pull;                      /* consumers: own PULL socket */
    char endpoint[256];              /* consumers: advertised endpoint */
    peers_t *peers[STAGE_COUNT];     /* producers: PUSH towards each stage used */
    httpd_t *http;                   /* /metrics, /healthz, service routes */
    loop_t *loop;                    /* the event loop */
    metrics_t *metrics;              /* this process's metrics */
    proto_msg_t *batch;              /* decoded frames of one turn */
    int redis_up;                    /* last known Redis state, for logs */
    int claim_full;                  /* the last outbox claim was a full batch: claim again */
    int pull_paused;                 /* the consumer is full: ZeroMQ holds the rest */
    uint64_t bad_frames;             /* for rate-limited logging */
    uint64_t redis_failures;         /* for rate-limited logging */
    /* metric ids */
    int m_in, m_bad, m_redelivered, m_dead, m_redis_err, m_send_skip, m_latency, m_outbox, m_dl_now,
        m_peers[STAGE_COUNT], m_redis_up, m_batches;
};

const char *svc_stage_name(int stage)
{
    return stage >= 0 && stage < STAGE_COUNT ? svc_stages[stage] : "?";
}

void svc_set_arg(svc_t *svc, void *arg)
{
    svc->opts.arg = arg;
}

const config_t *svc_cfg(const svc_t *svc)
{
    return &svc->cfg;
}

rds_t *svc_rds(svc_t *svc)
{
    return svc->rds;
}

metrics_t *svc_metrics(svc_t *svc)
{
    return svc->metrics;
}

loop_t *svc_loop(svc_t *svc)
{
    return svc->loop;
}

const char *svc_instance(const svc_t *svc)
{
    return svc->instance;
}

int64_t svc_now(const svc_t *svc)
{
    return clock_now_ms(svc->cfg.time_offset_ms);
}

void svc_http_kick(svc_t *svc)
{
    /* the first run handles the resumed connections (queues their answers), the second
     * writes them; otherwise they would wait for the next wake-up */
    httpd_run(svc->http);
    httpd_run(svc->http);
}

void svc_redis_failed(svc_t *svc, const char *what)
{
    metrics_inc(svc->metrics, svc->m_redis_err, 1);
    if (svc->redis_failures++ % 1000 == 0)
        log_msg(LOG_WARN, "redis.failed", "during=%s error=\"%s\" count=%llu", what,
                rds_err(svc->rds), (unsigned long long)svc->redis_failures);
}

void svc_send(svc_t *svc, int stage, const char *frame, size_t len)
{
    if (len == 0 || stage < 0 || stage >= STAGE_COUNT || svc->peers[stage] == NULL)
        return;
    if (peers_send(svc->peers[stage], frame, len) != 0)
        metrics_inc(svc->metrics, svc->m_send_skip, 1);
}

/* Decodes raw frames into the batch; bad ones are counted, logged (rate-limited), dropped. */
static int svc_decode(svc_t *svc, const char *data, size_t len, const char *from, int *n)
{
    proto_msg_t *msg = &svc->batch[*n];

    if (proto_decode(data, len, msg) != 0) {
        metrics_inc(svc->metrics, svc->m_bad, 1);
        if (svc->bad_frames++ % 1000 == 0)
            log_msg(LOG_WARN, "frame.bad", "from=%s error=%s detail=\"%s\" count=%llu", from,
                    proto_err_name(msg->err), msg->errstr,
                    (unsigned long long)svc->bad_frames);
        proto_msg_release(msg);
        return -1;
    }
    (*n)++;
    return 0;
}

static void svc_dispatch(svc_t *svc, int n)
{
    int64_t t0 = clock_mono_ms();

    if (n == 0)
        return;
    metrics_inc(svc->metrics, svc->m_in, n);
    metrics_inc(svc->metrics, svc->m_batches, 1);
    svc->opts.on_batch(svc, svc->batch, n, svc->opts.arg);
    for (int i = 0; i < n; i++)
        proto_msg_release(&svc->batch[i]);
    metrics_observe(svc->metrics, svc->m_latency, (double)(clock_mono_ms() - t0));
}

/* Frames the consumer can take in this turn. */
static int svc_room(svc_t *svc)
{
    int room = svc->cfg.batch;

    if (svc->opts.capacity != NULL) {
        int cap = svc->opts.capacity(svc, svc->opts.arg);
        if (cap < room)
            room = cap < 0 ? 0 : cap;
    }
    return room;
}

static int svc_on_pull(loop_t *loop, void *arg)
{
    svc_t *svc = arg;
    int n = 0, room = svc_room(svc);

    while (n < room) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, svc->pull, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        svc_decode(svc, zmq_msg_data(&m), zmq_msg_size(&m), "zmq", &n);
        zmq_msg_close(&m);
    }
    svc_dispatch(svc, n);
    return 0;
}

/* Redelivery: take outbox records whose time has passed (a lease hides them meanwhile). */
static int svc_on_claim(loop_t *loop, void *arg)
{
    svc_t *svc = arg;
    char now[24], lease[24], max[16], maxd[16];
    const char *argv[7];
    redisReply *rep;
    int n = 0, room = svc_room(svc);

    svc->claim_full = 0;
    if (room == 0 || rds_ensure(svc->rds) != 0)
        return 0;
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    snprintf(lease, sizeof(lease), "%lld", (long long)svc->cfg.lease_ms);
    snprintf(max, sizeof(max), "%d", room);
    snprintf(maxd, sizeof(maxd), "%d", svc->cfg.max_deliveries);
    argv[0] = svc->cfg.tier;
    argv[1] = svc_stages[svc->opts.consumes];
    argv[2] = now;
    argv[3] = lease;
    argv[4] = max;
    argv[5] = maxd;
    argv[6] = svc->instance;
    if (rds_append_fcall(svc->rds, "outbox_claim", 7, argv, NULL) != 0 ||
        (rep = rds_read(svc->rds)) == NULL) {
        svc_redis_failed(svc, "outbox_claim");
        return 0;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1) {
        long long dead = rep->element[0]->integer;
        if (dead > 0) {
            metrics_inc(svc->metrics, svc->m_dead, (double)dead);
            log_msg(LOG_WARN, "outbox.dead_letter", "stage=%s count=%lld",
                    svc_stages[svc->opts.consumes], dead);
        }
        for (size_t i = 1; i < rep->elements; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING)
                svc_decode(svc, rep->element[i]->str, rep->element[i]->len, "outbox", &n);
        metrics_inc(svc->metrics, svc->m_redelivered, n);
        /* a full batch means more are due: claim again next turn instead of next second */
        svc->claim_full = (int)(rep->elements - 1 + (size_t)dead) >= room;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_ERROR, "outbox.claim_failed", "error=\"%s\"", rep->str);
    }
    freeReplyObject(rep);
    svc_dispatch(svc, n);
    return 0;
}

static int svc_on_heartbeat(loop_t *loop, void *arg)
{
    svc_t *svc = arg;
    int64_t now = clock_now_ms(0); /* the registry runs on real time, whatever the test offset */
    int up = rds_ensure(svc->rds) == 0;

    if (up != svc->redis_up) {
        log_msg(up ? LOG_INFO : LOG_WARN, up ? "redis.up" : "redis.down", "error=\"%s\"",
                up ? "" : rds_err(svc->rds));
        svc->redis_up = up;
        metrics_set(svc->metrics, svc->m_redis_up, up);
    }
    if (!up)
        return 0;
    if (svc->pull != NULL &&
        peers_heartbeat(svc->rds, svc->cfg.tier, svc_stages[svc->opts.consumes], svc->endpoint,
                        now, svc->cfg.heartbeat_ms * 5) != 0)
        svc_redis_failed(svc, "heartbeat");
    for (int s = 0; s < STAGE_COUNT; s++) {
        if (svc->peers[s] == NULL)
            continue;
        if (peers_refresh(svc->peers[s], svc->rds, now) < 0)
            svc_redis_failed(svc, "peers");
        metrics_set(svc->metrics, svc->m_peers[s], peers_count(svc->peers[s]));
    }
    if (svc->opts.consumes >= 0) {
        const char *stage = svc_stages[svc->opts.consumes];
        redisReply *a, *b;
        if (rds_append(svc->rds, "ZCARD {%s}:ob:%s", svc->cfg.tier, stage) == 0 &&
            rds_append(svc->rds, "HLEN {%s}:dl:%s", svc->cfg.tier, stage) == 0) {
            a = rds_read(svc->rds);
            b = rds_read(svc->rds);
            if (a != NULL && a->type == REDIS_REPLY_INTEGER)
                metrics_set(svc->metrics, svc->m_outbox, (double)a->integer);
            if (b != NULL && b->type == REDIS_REPLY_INTEGER)
                metrics_set(svc->metrics, svc->m_dl_now, (double)b->integer);
            freeReplyObject(a);
            freeReplyObject(b);
        }
    }
    return 0;
}

static void svc_on_http(void *arg, httpd_req_t *req)
{
    svc_t *svc = arg;
    const char *path = httpd_path(req);

    if (strcmp(path, "/metrics") == 0) {
        size_t len;
        char *text = metrics_render(svc->metrics, &len);
        if (text == NULL) {
            httpd_respond(req, 500, "text/plain", "out of memory\n", 14, NULL);
            return;
        }
        httpd_respond(req, 200, "text/plain; version=0.0.4", text, len, NULL);
        free(text);
    } else if (strcmp(path, "/healthz") == 0) {
        char body[512];
        int up = rds_connected(svc->rds);
        int n = snprintf(body, sizeof(body),
                         "{\"status\":\"%s\",\"service\":\"%s\",\"instance\":\"%s\","
                         "\"redis\":\"%s\"}",
                         up ? "ok" : "degraded", svc->opts.name, svc->instance,
                         up ? "up" : "down");
        httpd_respond(req, up ? 200 : 503, "application/json", body, (size_t)n, NULL);
    } else if (svc->opts.on_http != NULL) {
        svc->opts.on_http(svc, req, svc->opts.arg);
    } else {
        static const char nf[] =
            "{\"error\":{\"code\":\"not_found\",\"message\":\"only /metrics and /healthz "
            "here\"}}";
        httpd_respond(req, 404, "application/json", nf, sizeof(nf) - 1, NULL);
    }
}

/* After every turn: the service's own hook, then backpressure and catching up on the outbox,
 * then no sleeping while the HTTP server has answers to write. */
static int svc_after(loop_t *loop, void *arg)
{
    svc_t *svc = arg;
    int64_t t;

    if (svc->opts.after != NULL && svc->opts.after(loop, svc->opts.arg) != 0)
        return -1;
    if (svc->pull != NULL) {
        int room = svc_room(svc);
        if ((room == 0) != svc->pull_paused) {
            svc->pull_paused = room == 0;
            loop_watch_socket(loop, svc->pull, !svc->pull_paused);
        }
        if (svc->claim_full && room > 0) {
            svc_on_claim(loop, svc);
            loop_cap_wait(loop, 0);
        }
    }
    /* MHD may hold work no fd will announce (a resumed connection, a pipelined request
     * already read): run it now rather than at the next timer */
    for (int i = 0; i < 8 && (t = httpd_timeout(svc->http)) == 0; i++)
        httpd_run(svc->http);
    t = httpd_timeout(svc->http);
    if (t >= 0)
        loop_cap_wait(loop, t);
    return 0;
}

static int svc_on_http_fd(loop_t *loop, void *arg)
{
    return httpd_run(arg);
}

static int svc_on_http_timer(loop_t *loop, void *arg)
{
    return httpd_run(arg);
}

static void svc_metrics_init(svc_t *svc)
{
    metrics_t *m = svc->metrics;
    char name[160];

    svc->m_in = metrics_add(m, METRIC_COUNTER, "rexian_frames_in_total",
                            "Frames handled (ZeroMQ and redelivered)");
    svc->m_bad = metrics_add(m, METRIC_COUNTER, "rexian_frames_bad_total",
                             "Frames dropped because they failed the codec's checks");
    svc->m_redelivered = metrics_add(m, METRIC_COUNTER, "rexian_redelivered_total",
                                     "Outbox records redelivered after their time passed");
    svc->m_dead = metrics_add(m, METRIC_COUNTER, "rexian_dead_letters_total",
                              "Records moved to the dead letters by this instance");
    svc->m_redis_err = metrics_add(m, METRIC_COUNTER, "rexian_redis_errors_total",
                                   "Redis calls that failed (connection lost or error)");
    svc->m_send_skip = metrics_add(m, METRIC_COUNTER, "rexian_fastpath_skipped_total",
                                   "Frames not sent over ZeroMQ (no live peer or queue full); "
                                   "the outbox redelivers them");
    svc->m_batches = metrics_add(m, METRIC_COUNTER, "rexian_batches_total",
                                 "Batches of frames handled");
    svc->m_latency = metrics_add(m, METRIC_HISTOGRAM, "rexian_batch_ms",
                                 "Time to handle one batch, milliseconds");
    svc->m_redis_up = metrics_add(m, METRIC_GAUGE, "rexian_redis_up",
                                  "1 when the Redis connection is up");
    svc->m_outbox = -1;
    svc->m_dl_now = -1;
    if (svc->opts.consumes >= 0) {
        snprintf(name, sizeof(name), "rexian_outbox_depth{stage=\"%s\"}",
                 svc_stages[svc->opts.consumes]);
        svc->m_outbox = metrics_add(m, METRIC_GAUGE, name,
                                    "Records waiting in the stage's outbox (Redis)");
        snprintf(name, sizeof(name), "rexian_dead_letters{stage=\"%s\"}",
                 svc_stages[svc->opts.consumes]);
        svc->m_dl_now = metrics_add(m, METRIC_GAUGE, name,
                                    "Dead letters waiting for an operator (rexianctl "
                                    "deadletters)");
    }
    for (int s = 0; s < STAGE_COUNT; s++) {
        svc->m_peers[s] = -1;
        if (!svc->opts.produces[s])
            continue;
        snprintf(name, sizeof(name), "rexian_peers{stage=\"%s\"}", svc_stages[s]);
        svc->m_peers[s] = metrics_add(m, METRIC_GAUGE, name, "Live instances connected to");
    }
}

svc_t *svc_new(int argc, char **argv, const svc_opts_t *opts)
{
    svc_t *svc = calloc(1, sizeof(*svc));
    const char *path = config_path_from_args(argc, argv);
    const char *bind = NULL, *listen = NULL;
    char err[600], host[128] = "";

    if (svc == NULL)
        return NULL;
    svc->opts = *opts;
    log_set_service(opts->name, getenv("REXIAN_DEBUG") != NULL ? LOG_DEBUG : LOG_INFO);
    if (path == NULL) {
        log_msg(LOG_ERROR, "config.missing", "error=\"no config: pass -c FILE or set "
                "REXIAN_CONFIG\"");
        goto fail;
    }
    if (config_load(path, &svc->cfg, err, sizeof(err)) != 0) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        goto fail;
    }
    svc->batch = calloc((size_t)svc->cfg.batch, sizeof(proto_msg_t));
    svc->metrics = metrics_new();
    svc->loop = loop_new();
    svc->zctx = zmq_ctx_new();
    svc->rds = rds_new(svc->cfg.redis_host, svc->cfg.redis_port, svc->cfg.redis_password,
                       svc->cfg.redis_timeout_ms, store_libraries);
    if (svc->batch == NULL || svc->metrics == NULL || svc->loop == NULL || svc->zctx == NULL ||
        svc->rds == NULL) {
        log_msg(LOG_ERROR, "start.failed", "error=\"out of memory\"");
        goto fail;
    }
    svc_metrics_init(svc);
    switch (opts->consumes) {
    case STAGE_ROUTER: bind = svc->cfg.router_bind; listen = svc->cfg.router_http; break;
    case STAGE_WATCHER: bind = svc->cfg.watcher_bind; listen = svc->cfg.watcher_http; break;
    case STAGE_NOTIFIER: bind = svc->cfg.notifier_bind; listen = svc->cfg.notifier_http; break;
    default: listen = svc->cfg.intake_http; break;
    }
    if (bind != NULL) {
        svc->pull = peers_bind(svc->zctx, bind, svc->cfg.advertise, svc->cfg.hwm, svc->endpoint,
                               sizeof(svc->endpoint));
        if (svc->pull == NULL) {
            log_msg(LOG_ERROR, "bind.failed", "endpoint=%s error=\"%s\"", bind,
                    zmq_strerror(zmq_errno()));
            goto fail;
        }
        loop_add_socket(svc->loop, svc->pull, svc_on_pull, svc);
        loop_add_timer(svc->loop, 1000, svc_on_claim, svc);
    }
    for (int s = 0; s < STAGE_COUNT; s++) {
        if (!opts->produces[s])
            continue;
        svc->peers[s] = peers_new(svc->zctx, svc->cfg.tier, svc_stages[s], svc->cfg.hwm);
        if (svc->peers[s] == NULL)
            goto fail;
    }
    svc->http = httpd_new(listen, opts->consumes < 0 ? svc->cfg.max_body : 4096, svc_on_http,
                          svc, err, sizeof(err));
    if (svc->http == NULL) {
        log_msg(LOG_ERROR, "http.failed", "error=\"%s\"", err);
        goto fail;
    }
    loop_add_fd(svc->loop, httpd_fd(svc->http), svc_on_http_fd, svc->http);
    /* MHD (0.9.75, external epoll) does not always announce work on a kept-alive connection
     * after a resume through its fd: a short timer bounds that wait */
    loop_add_timer(svc->loop, 5, svc_on_http_timer, svc->http);
    loop_add_timer(svc->loop, svc->cfg.heartbeat_ms, svc_on_heartbeat, svc);
    loop_set_after(svc->loop, svc_after, svc);
    gethostname(host, sizeof(host) - 1);
    snprintf(svc->instance, sizeof(svc->instance), "%s@%s/%d", opts->name,
             svc->endpoint[0] ? svc->endpoint + 6 : host, (int)getpid());
    svc_on_heartbeat(svc->loop, svc);
    log_msg(LOG_INFO, "started", "instance=%s tier=%s http=%.*s:%d zmq=%s redis=%s:%d",
            svc->instance, svc->cfg.tier, (int)(strrchr(listen, ':') - listen), listen,
            httpd_port(svc->http), svc->endpoint[0] ? svc->endpoint : "-", svc->cfg.redis_host,
            svc->cfg.redis_port);
    return svc;
fail:
    svc_destroy(&svc);
    return NULL;
}

int svc_run(svc_t *svc)
{
    int rc = loop_run(svc->loop);

    log_msg(LOG_INFO, "stopping", "signal=%d", loop_signal(svc->loop));
    if (svc->pull != NULL && rds_ensure(svc->rds) == 0) {
        /* leave the registry first, then keep handling what is already on its way here for
         * a moment: producers drop this endpoint at their next heartbeat. A second signal
         * ends the drain at once; whatever is left is redelivered from the outbox. */
        peers_unregister(svc->rds, svc->cfg.tier, svc_stages[svc->opts.consumes],
                         svc->endpoint);
        if (rc == 0 && loop_signal(svc->loop) != 0)
            rc = loop_run_for(svc->loop, svc->cfg.heartbeat_ms * 2);
        log_msg(LOG_INFO, "stopped", "drained=1");
    }
    return rc == 0 ? 0 : 1;
}

void svc_destroy(svc_t **psvc)
{
    svc_t *svc;

    if (psvc == NULL || *psvc == NULL)
        return;
    svc = *psvc;
    httpd_destroy(&svc->http);
    for (int s = 0; s < STAGE_COUNT; s++)
        peers_destroy(&svc->peers[s]);
    if (svc->pull != NULL)
        zmq_close(svc->pull);
    if (svc->zctx != NULL)
        zmq_ctx_term(svc->zctx);
    rds_destroy(&svc->rds);
    loop_destroy(&svc->loop);
    metrics_destroy(&svc->metrics);
    free(svc->batch);
    free(svc);
    *psvc = NULL;
}
