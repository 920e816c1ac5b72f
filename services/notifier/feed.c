/* feed.c -- the notifier's tier links: the county's feed up, the city's orders down (feed.h) */
#include "feed.h"

#include "clock.h"
#include "log.h"
#include "tier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define FEED_ID_MAX 48        /* bytes of a stream id "ms-seq" */
#define FEED_LEASE_MS 5000    /* the feed's lease; renewed every second */
#define FEED_DOWN_LEASE_MS 5000 /* a frame sent down is sent again after this without answer */
#define FEED_DOWN_BATCH 64    /* frames claimed from the down outbox per turn */

typedef char feed_id_t[FEED_ID_MAX];

struct feed_t {
    svc_t *svc;                          /* the service */
    void *zctx;                          /* the links' own ZeroMQ context */
    int city;                            /* 1: city (sends down), 0: county (feeds up) */
    char public_key[TIER_KEY_TEXT + 1];  /* this tier's key pair */
    char secret_key[TIER_KEY_TEXT + 1];  /* (its secret half, from [tier] secret_key) */
    /* county */
    void *up;                            /* DEALER to the city */
    int leased;                          /* this instance holds the feed's lease */
    feed_id_t acked;                     /* the last id the city stored ("" until it said) */
    feed_id_t sent;                      /* the last id sent */
    feed_id_t *ring;                     /* ids sent and not yet acknowledged, oldest first */
    int ring_head, ring_n;               /* ring position and fill */
    int64_t progress_ms;                 /* monotonic time of the last ack progress */
    int64_t ack_rx_ms;                   /* monotonic time of the last ack */
    int64_t second_ms;                   /* monotonic time of the last once-a-second work */
    int64_t connect_ms;                  /* monotonic time the DEALER was (re)made */
    char parent_key[TIER_KEY_TEXT + 1];  /* the city's public key */
    int64_t pending, lost;               /* from the last trim: events waiting, lost in all */
    int alarm;                           /* the bound alarm is up */
    int link_up;                         /* last known link state, for logs */
    int bad_logged;                      /* an event that could not be framed was logged */
    /* city */
    tier_peers_t *peers;                 /* the counties file */
    void *down[TIER_MAX_PEERS];          /* DEALER to each county's intake link, or NULL */
    /* metrics */
    int m_up, m_pending, m_bound, m_alarm, m_lost, m_sent, m_resent, m_up_s, m_down_sent,
        m_down_done, m_bad;
};

/* ------------------------------------------------------------------------------------------
 * County: the feed up */

static void feed_ring_clear(feed_t *f)
{
    f->ring_head = 0;
    f->ring_n = 0;
}

static void feed_send_hello(feed_t *f)
{
    const config_t *cfg = svc_cfg(f->svc);
    char id[40];
    proto_writer_t *w;
    const char *bytes;
    size_t len;

    snprintf(id, sizeof(id), "hello:%lld", (long long)svc_now(f->svc));
    w = proto_writer_new("tier.hello", id, svc_now(f->svc), svc_instance(f->svc), cfg->tier);
    if (w == NULL)
        return;
    proto_put_int(w, "pending", f->pending);
    proto_put_int(w, "lost", f->lost);
    proto_put_int(w, "bound", cfg->tier_feed_bound);
    if ((bytes = proto_writer_finish(w, &len)) != NULL)
        zmq_send(f->up, bytes, len, ZMQ_DONTWAIT); /* no link: the next second tries again */
    proto_writer_destroy(&w);
}

/* One event frame; when its text cannot be framed (not UTF-8, too long) the event still goes,
 * without data and snapshot, so the chain of ids has no hole. Returns 0 when sent. */
static int feed_send_event(feed_t *f, const char *prev, int gap, redisReply **e)
{
    const config_t *cfg = svc_cfg(f->svc);
    for (int attempt = 0; attempt < 2; attempt++) {
        proto_writer_t *w = proto_writer_new("tier.event", e[0]->str, svc_now(f->svc),
                                             svc_instance(f->svc), cfg->tier);
        const char *bytes;
        size_t len;
        int rc;
        if (w == NULL)
            return -ENOMEM;
        proto_put_str(w, "prev", prev);
        proto_put_int(w, "gap", gap);
        proto_put_strn(w, "ticket", e[1]->str, e[1]->len);
        proto_put_strn(w, "etype", e[2]->str, e[2]->len);
        proto_put_int(w, "rev", strtoll(e[3]->str, NULL, 10));
        proto_put_int(w, "at", strtoll(e[4]->str, NULL, 10));
        if (attempt == 0) {
            proto_put_strn(w, "data", e[5]->str, e[5]->len);
            proto_put_strn(w, "snap", e[6]->str, e[6]->len);
        } else {
            proto_put_str(w, "data", "{}");
            proto_put_str(w, "snap", "{}");
        }
        bytes = proto_writer_finish(w, &len);
        if (bytes == NULL) {
            proto_writer_destroy(&w);
            if (!f->bad_logged++)
                log_msg(LOG_WARN, "feed.event_unframed", "id=%s ticket=%s", e[0]->str,
                        e[1]->str);
            metrics_inc(svc_metrics(f->svc), f->m_bad, 1);
            continue;
        }
        rc = zmq_send(f->up, bytes, len, ZMQ_DONTWAIT);
        proto_writer_destroy(&w);
        return rc < 0 ? -EAGAIN : 0;
    }
    return -EINVAL;
}

/* Sends what the window allows, from the last id sent. */
static void feed_pump(feed_t *f)
{
    const config_t *cfg = svc_cfg(f->svc);
    rds_t *r = svc_rds(f->svc);

    if (!f->leased || f->acked[0] == '\0' || rds_ensure(r) != 0)
        return;
    while (f->ring_n < FEED_WINDOW) {
        int want = FEED_WINDOW - f->ring_n < FEED_READ ? FEED_WINDOW - f->ring_n : FEED_READ;
        char count[16];
        redisReply *rep;
        size_t n;
        int gap, stop = 0;

        snprintf(count, sizeof(count), "%d", want);
        const char *argv[] = {cfg->tier, f->sent, count};
        if (rds_append_fcall(r, "feed_read", 3, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
            svc_redis_failed(f->svc, "feed_read");
            return;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
            (rep->elements - 1) % 7 != 0) {
            log_msg(LOG_ERROR, "feed.read_failed", "error=\"%s\"",
                    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
            freeReplyObject(rep);
            return;
        }
        gap = (int)rep->element[0]->integer;
        n = (rep->elements - 1) / 7;
        for (size_t i = 0; i < n && !stop; i++) {
            redisReply **e = &rep->element[1 + i * 7];
            if (e[0]->len >= FEED_ID_MAX || feed_send_event(f, f->sent, i == 0 && gap, e) != 0) {
                stop = 1; /* the link is not up or the queue is full: later */
                break;
            }
            snprintf(f->sent, sizeof(f->sent), "%s", e[0]->str);
            snprintf(f->ring[(f->ring_head + f->ring_n) % FEED_WINDOW], FEED_ID_MAX, "%s",
                     e[0]->str);
            if (f->ring_n == 0)
                f->progress_ms = clock_mono_ms();
            f->ring_n++;
            metrics_inc(svc_metrics(f->svc), f->m_sent, 1);
        }
        freeReplyObject(rep);
        if (stop || (int)n < want)
            return;
    }
}

static void feed_on_ack(feed_t *f, const proto_msg_t *msg)
{
    char last[FEED_ID_MAX];
    int64_t resend = 0;

    if (proto_body_str(msg, "last", last, sizeof(last)) != 0)
        return;
    proto_body_int(msg, "resend", &resend);
    f->ack_rx_ms = clock_mono_ms();
    if (f->acked[0] == '\0' || tier_id_cmp(last, f->acked) != 0)
        f->progress_ms = f->ack_rx_ms;
    if (f->acked[0] == '\0' || resend || tier_id_cmp(last, f->acked) < 0 ||
        tier_id_cmp(last, f->sent) > 0) {
        /* first word from the city, a hole it saw, or it is not where we thought: go on from
         * what it has */
        if (f->acked[0] != '\0' && resend)
            metrics_inc(svc_metrics(f->svc), f->m_resent, 1);
        snprintf(f->acked, sizeof(f->acked), "%s", last);
        snprintf(f->sent, sizeof(f->sent), "%s", last);
        feed_ring_clear(f);
        return;
    }
    snprintf(f->acked, sizeof(f->acked), "%s", last);
    while (f->ring_n > 0 && tier_id_cmp(f->ring[f->ring_head], last) <= 0) {
        f->ring_head = (f->ring_head + 1) % FEED_WINDOW;
        f->ring_n--;
    }
}

/* Reads the city's answers (polled every tick: the socket is remade after a refusal). */
static void feed_read_acks(feed_t *f)
{
    for (int i = 0; f->up != NULL && i < 1024; i++) {
        zmq_msg_t m;
        proto_msg_t msg;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, f->up, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        if (proto_decode(zmq_msg_data(&m), zmq_msg_size(&m), &msg) == 0 &&
            strcmp(msg.type, "tier.ack") == 0)
            feed_on_ack(f, &msg);
        else
            metrics_inc(svc_metrics(f->svc), f->m_bad, 1);
        proto_msg_release(&msg);
        zmq_msg_close(&m);
    }
}

/* (Re)makes the DEALER: libzmq does not try again after the city refused our key, so a link
 * silent for FEED_RECONNECT_MS starts over (the city may have listed the key since). */
static int feed_connect(feed_t *f, char *err, size_t errcap)
{
    const config_t *cfg = svc_cfg(f->svc);

    if (f->up != NULL)
        zmq_close(f->up);
    f->up = tier_client_new(f->zctx, cfg->tier_parent, f->parent_key, f->public_key,
                            f->secret_key, FEED_WINDOW + 64, err, errcap);
    f->connect_ms = clock_mono_ms();
    return f->up != NULL ? 0 : -1;
}

/* Once a second: the lease, the trim, the hello and the gauges. */
static void feed_second(feed_t *f)
{
    const config_t *cfg = svc_cfg(f->svc);
    rds_t *r = svc_rds(f->svc);
    metrics_t *m = svc_metrics(f->svc);
    char lease[16], bound[16];
    redisReply *a, *b;
    int up, alarm;

    up = f->ack_rx_ms > 0 && clock_mono_ms() - f->ack_rx_ms < FEED_LINK_UP_MS;
    if (up != f->link_up) {
        log_msg(up ? LOG_INFO : LOG_WARN, up ? "feed.link_up" : "feed.link_down",
                "parent=%s acked=%s", cfg->tier_parent, f->acked[0] ? f->acked : "-");
        f->link_up = up;
    }
    metrics_set(m, f->m_up, up);
    if (up)
        metrics_inc(m, f->m_up_s, 1);
    if (!up && clock_mono_ms() - f->connect_ms > FEED_RECONNECT_MS &&
        clock_mono_ms() - f->ack_rx_ms > FEED_RECONNECT_MS) {
        char err[300];
        if (feed_connect(f, err, sizeof(err)) != 0)
            log_msg(LOG_ERROR, "feed.connect_failed", "parent=%s error=\"%s\"", cfg->tier_parent,
                    err);
        f->acked[0] = '\0'; /* ask the city where to start */
        feed_ring_clear(f);
    }
    if (rds_ensure(r) != 0)
        return;
    snprintf(lease, sizeof(lease), "%d", FEED_LEASE_MS);
    snprintf(bound, sizeof(bound), "%d", cfg->tier_feed_bound);
    const char *la[] = {cfg->tier, svc_instance(f->svc), lease};
    /* the ack is recorded (and the stream trimmed) only by the instance that got it */
    const char *ta[] = {cfg->tier, f->leased ? f->acked : "", bound};
    if (rds_append_fcall(r, "feed_lease", 3, la, NULL) != 0 ||
        rds_append_fcall(r, "feed_trim", 3, ta, NULL) != 0) {
        svc_redis_failed(f->svc, "feed_trim");
        return;
    }
    a = rds_read(r);
    b = a != NULL ? rds_read(r) : NULL;
    if (a == NULL || b == NULL) {
        svc_redis_failed(f->svc, "feed_trim");
        freeReplyObject(a);
        return;
    }
    if (a->type == REDIS_REPLY_INTEGER && (a->integer == 1) != f->leased) {
        f->leased = a->integer == 1;
        log_msg(LOG_INFO, f->leased ? "feed.leased" : "feed.lease_lost", "parent=%s",
                cfg->tier_parent);
        f->acked[0] = '\0'; /* ask the city where to start */
        feed_ring_clear(f);
    }
    if (b->type == REDIS_REPLY_ARRAY && b->elements == 4) {
        f->pending = b->element[0]->integer;
        f->lost = b->element[1]->integer;
        metrics_set(m, f->m_pending, (double)f->pending);
        metrics_set(m, f->m_lost, (double)f->lost);
        alarm = f->pending * 100 >= (int64_t)cfg->tier_feed_bound * FEED_ALARM_PCT;
        if (alarm != f->alarm)
            log_msg(alarm ? LOG_WARN : LOG_INFO, alarm ? "feed.alarm" : "feed.alarm_cleared",
                    "pending=%lld bound=%d lost=%lld", (long long)f->pending,
                    cfg->tier_feed_bound, (long long)f->lost);
        f->alarm = alarm;
        metrics_set(m, f->m_alarm, alarm);
    } else if (b->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_ERROR, "feed.trim_failed", "error=\"%s\"", b->str);
    }
    freeReplyObject(a);
    freeReplyObject(b);
    if (f->leased)
        feed_send_hello(f);
}

/* ------------------------------------------------------------------------------------------
 * City: orders and escalations down */

static void feed_down_close(feed_t *f)
{
    for (int i = 0; i < TIER_MAX_PEERS; i++) {
        if (f->down[i] != NULL)
            zmq_close(f->down[i]);
        f->down[i] = NULL;
    }
}

/* (Re)reads the counties file and connects to each county's link. */
static int feed_down_connect(feed_t *f, char *err, size_t errcap)
{
    const config_t *cfg = svc_cfg(f->svc);
    tier_peers_t *p = malloc(sizeof(*p));

    if (p == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (tier_peers_load(cfg->tier_counties, p, err, errcap) != 0) {
        free(p);
        return -1;
    }
    feed_down_close(f);
    free(f->peers);
    f->peers = p;
    for (int i = 0; i < p->n; i++) {
        char why[300];
        if (p->peers[i].endpoint[0] == '\0')
            continue;
        f->down[i] = tier_client_new(f->zctx, p->peers[i].endpoint, p->peers[i].public_key,
                                     f->public_key, f->secret_key, 1000, why, sizeof(why));
        if (f->down[i] == NULL)
            log_msg(LOG_ERROR, "feed.down_failed", "county=%s error=\"%s\"", p->peers[i].tier,
                    why);
    }
    return 0;
}

static int feed_down_index(const feed_t *f, const char *county)
{
    for (int i = 0; f->peers != NULL && i < f->peers->n; i++)
        if (strcmp(f->peers->peers[i].tier, county) == 0)
            return i;
    return -1;
}

static void feed_down_send(feed_t *f)
{
    const config_t *cfg = svc_cfg(f->svc);
    rds_t *r = svc_rds(f->svc);
    char now[24], lease[16], max[16];
    redisReply *rep;

    if (rds_ensure(r) != 0)
        return;
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(f->svc));
    snprintf(lease, sizeof(lease), "%d", FEED_DOWN_LEASE_MS);
    snprintf(max, sizeof(max), "%d", FEED_DOWN_BATCH);
    const char *argv[] = {cfg->tier, now, lease, max};
    if (rds_append_fcall(r, "down_claim", 4, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
        svc_redis_failed(f->svc, "down_claim");
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        int k = feed_down_index(f, rep->element[i]->str);
        if (k < 0 || f->down[k] == NULL)
            continue; /* no link to that county (yet): it stays in the outbox */
        if (zmq_send(f->down[k], rep->element[i + 1]->str, rep->element[i + 1]->len,
                     ZMQ_DONTWAIT) >= 0)
            metrics_inc(svc_metrics(f->svc), f->m_down_sent, 1);
    }
    freeReplyObject(rep);
}

static void feed_down_answers(feed_t *f)
{
    const config_t *cfg = svc_cfg(f->svc);
    rds_t *r = svc_rds(f->svc);

    for (int i = 0; f->peers != NULL && i < f->peers->n; i++) {
        for (int j = 0; f->down[i] != NULL && j < 256; j++) {
            zmq_msg_t m;
            proto_msg_t msg;
            char ref[PROTO_ID_MAX + 1], ctid[64] = "", error[256] = "", now[24], ok[4];
            int64_t okv = 0;
            redisReply *rep;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, f->down[i], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            if (proto_decode(zmq_msg_data(&m), zmq_msg_size(&m), &msg) != 0 ||
                strcmp(msg.type, "tier.done") != 0 ||
                proto_body_str(&msg, "ref", ref, sizeof(ref)) != 0) {
                metrics_inc(svc_metrics(f->svc), f->m_bad, 1);
                proto_msg_release(&msg);
                zmq_msg_close(&m);
                continue;
            }
            proto_body_str(&msg, "county_ticket", ctid, sizeof(ctid));
            proto_body_str(&msg, "error", error, sizeof(error));
            proto_body_int(&msg, "ok", &okv);
            proto_msg_release(&msg);
            zmq_msg_close(&m);
            snprintf(now, sizeof(now), "%lld", (long long)svc_now(f->svc));
            snprintf(ok, sizeof(ok), "%d", okv == 1);
            const char *argv[] = {cfg->tier, ref, now, f->peers->peers[i].tier, ctid, ok,
                                  error};
            if (rds_ensure(r) != 0 || rds_append_fcall(r, "down_done", 7, argv, NULL) != 0 ||
                (rep = rds_read(r)) == NULL) {
                svc_redis_failed(f->svc, "down_done"); /* sent again after the lease */
                continue;
            }
            if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
                metrics_inc(svc_metrics(f->svc), f->m_down_done, 1);
                log_msg(okv == 1 ? LOG_INFO : LOG_WARN, "down.answered",
                        "county=%s ref=%s ok=%d county_ticket=%s error=\"%s\"",
                        f->peers->peers[i].tier, ref, okv == 1, ctid, error);
            }
            freeReplyObject(rep);
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Both */

static int feed_tick(loop_t *loop, void *arg)
{
    feed_t *f = arg;
    int64_t now = clock_mono_ms();
    int second = now - f->second_ms >= 1000;

    if (second)
        f->second_ms = now;
    if (f->city) {
        const config_t *cfg = svc_cfg(f->svc);
        if (second && tier_peers_changed(cfg->tier_counties, f->peers)) {
            char err[400];
            if (feed_down_connect(f, err, sizeof(err)) == 0)
                log_msg(LOG_INFO, "feed.counties_reloaded", "counties=%d", f->peers->n);
            else
                log_msg(LOG_ERROR, "feed.counties_invalid", "error=\"%s\"", err);
        }
        feed_down_answers(f);
        feed_down_send(f);
        return 0;
    }
    feed_read_acks(f);
    if (second)
        feed_second(f);
    if (f->ring_n > 0 && now - f->progress_ms > FEED_ACK_WAIT_MS) {
        /* lost on a link that went away: start again from what the city has */
        log_msg(LOG_INFO, "feed.resend", "from=%s unacked=%d", f->acked, f->ring_n);
        metrics_inc(svc_metrics(f->svc), f->m_resent, 1);
        snprintf(f->sent, sizeof(f->sent), "%s", f->acked);
        feed_ring_clear(f);
        f->progress_ms = now;
    }
    feed_pump(f);
    return 0;
}

static void feed_metrics(feed_t *f)
{
    metrics_t *m = svc_metrics(f->svc);

    f->m_bad = metrics_add(m, METRIC_COUNTER, "rexian_tier_frames_bad_total",
                           "Frames from a tier link that were not understood");
    if (f->city) {
        f->m_down_sent = metrics_add(m, METRIC_COUNTER, "rexian_tier_down_sent_total",
                                     "Orders and escalations sent to counties (resends too)");
        f->m_down_done = metrics_add(m, METRIC_COUNTER, "rexian_tier_down_answered_total",
                                     "Orders and escalations a county answered");
        return;
    }
    f->m_up = metrics_add(m, METRIC_GAUGE, "rexian_tier_link_up",
                          "1 while the city acknowledges the feed");
    f->m_up_s = metrics_add(m, METRIC_COUNTER, "rexian_tier_link_up_seconds_total",
                            "Seconds the link to the city was up");
    f->m_pending = metrics_add(m, METRIC_GAUGE, "rexian_tier_feed_pending",
                               "Events waiting in Redis for the city's acknowledgement");
    f->m_bound = metrics_add(m, METRIC_GAUGE, "rexian_tier_feed_bound",
                             "Events kept for the city at most ([tier] feed_bound)");
    f->m_alarm = metrics_add(m, METRIC_GAUGE, "rexian_tier_feed_alarm",
                             "1 when the waiting events reach 80% of the bound");
    f->m_lost = metrics_add(m, METRIC_GAUGE, "rexian_tier_feed_lost",
                            "Events trimmed at the bound before the city had them");
    f->m_sent = metrics_add(m, METRIC_COUNTER, "rexian_tier_feed_sent_total",
                            "Events sent to the city (resends too)");
    f->m_resent = metrics_add(m, METRIC_COUNTER, "rexian_tier_feed_resends_total",
                              "Times the feed started again from the city's last ack");
    metrics_set(m, f->m_bound, svc_cfg(f->svc)->tier_feed_bound);
}

feed_t *feed_new(svc_t *svc, char *err, size_t errcap)
{
    const config_t *cfg = svc_cfg(svc);
    int city = strcmp(cfg->tier_kind, "city") == 0;
    feed_t *f;
    char derived[TIER_KEY_TEXT + 1];

    err[0] = '\0';
    if (city ? cfg->tier_counties[0] == '\0' : cfg->tier_parent[0] == '\0')
        return NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    f->svc = svc;
    f->city = city;
    if (tier_key_read(cfg->tier_public_key, cfg->dir, f->public_key, err, errcap) != 0 ||
        tier_key_read(cfg->tier_secret_key, cfg->dir, f->secret_key, err, errcap) != 0)
        goto fail;
    if (tier_key_public(f->secret_key, derived) != 0 || strcmp(derived, f->public_key) != 0) {
        snprintf(err, errcap, "[tier] public_key and secret_key are not one key pair");
        goto fail;
    }
    f->zctx = zmq_ctx_new();
    if (f->zctx == NULL) {
        snprintf(err, errcap, "ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    feed_metrics(f);
    if (city) {
        if (feed_down_connect(f, err, errcap) != 0)
            goto fail;
    } else {
        if (tier_key_read(cfg->tier_parent_key, cfg->dir, f->parent_key, err, errcap) != 0)
            goto fail;
        f->ring = calloc(FEED_WINDOW, sizeof(*f->ring));
        if (f->ring == NULL) {
            snprintf(err, errcap, "out of memory");
            goto fail;
        }
        if (feed_connect(f, err, errcap) != 0)
            goto fail;
    }
    if (loop_add_timer(svc_loop(svc), city ? 100 : 50, feed_tick, f) != 0) {
        snprintf(err, errcap, "no room for a timer in the loop");
        goto fail;
    }
    log_msg(LOG_INFO, "feed.started", "kind=%s %s=%s", city ? "city" : "county",
            city ? "counties" : "parent", city ? cfg->tier_counties : cfg->tier_parent);
    return f;
fail:
    feed_destroy(&f);
    return NULL;
}

void feed_destroy(feed_t **pf)
{
    feed_t *f;

    if (pf == NULL || *pf == NULL)
        return;
    f = *pf;
    if (f->up != NULL)
        zmq_close(f->up);
    feed_down_close(f);
    if (f->zctx != NULL)
        zmq_ctx_term(f->zctx);
    free(f->peers);
    free(f->ring);
    free(f);
    *pf = NULL;
}
