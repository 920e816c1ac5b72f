/* tierlink.c -- intake's tier link: the city stores county feeds and shows them; a county takes
 * orders and escalations from its city (see tierlink.h) */
#include "tierlink.h"

#include "cal.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "tier.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define TL_ID_MAX 48   /* bytes of a stream id */
#define TL_RID_MAX 256 /* bytes of a ZeroMQ routing id */

/* One frame taken from the link this turn. */
typedef struct tl_in_t {
    int peer;                  /* index in the peers, -1 for the parent (county side) */
    unsigned char rid[TL_RID_MAX]; /* routing id to answer to */
    size_t rid_len;            /* its length */
    proto_msg_t msg;           /* the decoded frame */
    char num[3][24];           /* gap, rev and at as text for FCALL */
} tl_in_t;

struct tierlink_t {
    svc_t *svc;                       /* the service */
    void *zctx;                       /* the link's own ZeroMQ context (with its ZAP handler) */
    void *router;                     /* bound at [tier] link */
    tier_zap_t *zap;                  /* the allow-list */
    int city;                         /* 1 city, 0 county */
    tier_peers_t *peers;              /* city: the counties file */
    tl_in_t *in;                      /* frames of one turn */
    int n_in;                         /* how many */
    const char **argv;                /* FCALL arguments for one county's events */
    size_t *lens;                     /* their lengths */
    uint64_t bad;                     /* frames dropped, for rate-limited logs */
    int m_refused, m_connected, m_events, m_dups, m_bad, m_down; /* metrics */
};

/* ------------------------------------------------------------------------------------------
 * Answers on the link */

static void tl_reply(tierlink_t *tl, const tl_in_t *in, proto_writer_t *w)
{
    const char *bytes;
    size_t len;

    if (w == NULL)
        return;
    bytes = proto_writer_finish(w, &len);
    if (bytes != NULL &&
        zmq_send(tl->router, in->rid, in->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(tl->router, bytes, len, ZMQ_DONTWAIT); /* gone: it asks again when back */
    proto_writer_destroy(&w);
}

static void tl_ack(tierlink_t *tl, const tl_in_t *in, const char *last, int resend)
{
    const config_t *cfg = svc_cfg(tl->svc);
    proto_writer_t *w = proto_writer_new("tier.ack", last, svc_now(tl->svc),
                                         svc_instance(tl->svc), cfg->tier);
    if (w == NULL)
        return;
    proto_put_str(w, "last", last);
    proto_put_int(w, "resend", resend);
    tl_reply(tl, in, w);
}

static void tl_done(tierlink_t *tl, const tl_in_t *in, int ok, const char *ticket,
                    const char *error)
{
    const config_t *cfg = svc_cfg(tl->svc);
    char id[PROTO_ID_MAX + 1];
    proto_writer_t *w;

    snprintf(id, sizeof(id), "done:%.80s", in->msg.id);
    w = proto_writer_new("tier.done", id, svc_now(tl->svc), svc_instance(tl->svc), cfg->tier);
    if (w == NULL)
        return;
    proto_put_str(w, "ref", in->msg.id);
    proto_put_int(w, "ok", ok);
    proto_put_str(w, "county_ticket", ticket);
    proto_put_str(w, "error", error);
    tl_reply(tl, in, w);
}

/* ------------------------------------------------------------------------------------------
 * City: storing the counties' feeds */

static void tl_city_hellos(tierlink_t *tl)
{
    const config_t *cfg = svc_cfg(tl->svc);
    rds_t *r = svc_rds(tl->svc);
    char now[24];

    snprintf(now, sizeof(now), "%lld", (long long)svc_now(tl->svc));
    for (int i = 0; i < tl->n_in; i++) {
        tl_in_t *in = &tl->in[i];
        int64_t pending = 0, lost = 0, bound = 0;
        char p[24], l[24], b[24];
        redisReply *rep;
        if (strcmp(in->msg.type, "tier.hello") != 0)
            continue;
        proto_body_int(&in->msg, "pending", &pending);
        proto_body_int(&in->msg, "lost", &lost);
        proto_body_int(&in->msg, "bound", &bound);
        snprintf(p, sizeof(p), "%lld", (long long)pending);
        snprintf(l, sizeof(l), "%lld", (long long)lost);
        snprintf(b, sizeof(b), "%lld", (long long)bound);
        const char *argv[] = {cfg->tier, tl->peers->peers[in->peer].tier, now, p, l, b};
        if (rds_append_fcall(r, "link_hello", 6, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
            svc_redis_failed(tl->svc, "link_hello");
            return;
        }
        if (rep->type == REDIS_REPLY_STRING)
            tl_ack(tl, in, rep->str, 0);
        freeReplyObject(rep);
    }
}

/* All events of one county taken this turn: one FCALL, one ack. */
static void tl_city_events(tierlink_t *tl, int peer)
{
    const config_t *cfg = svc_cfg(tl->svc);
    rds_t *r = svc_rds(tl->svc);
    char now[24], bound[24], count[24];
    int n = 0, last = -1;
    redisReply *rep;

    snprintf(now, sizeof(now), "%lld", (long long)svc_now(tl->svc));
    snprintf(bound, sizeof(bound), "%d", cfg->tier_feed_bound);
    tl->argv[0] = cfg->tier;
    tl->argv[1] = tl->peers->peers[peer].tier;
    tl->argv[2] = now;
    tl->argv[3] = bound;
    tl->argv[4] = count;
    for (int a = 0; a < 5; a++)
        tl->lens[a] = strlen(tl->argv[a]);
    for (int i = 0; i < tl->n_in; i++) {
        tl_in_t *in = &tl->in[i];
        static const char *strs[] = {"prev", "ticket", "etype", "data", "snap"};
        const char *v[5];
        size_t vl[5];
        int64_t gap = 0, rev = 0, at = 0;
        size_t b = 5 + (size_t)n * 9;
        int ok = 1;
        if (in->peer != peer || strcmp(in->msg.type, "tier.event") != 0)
            continue;
        for (int k = 0; k < 5; k++)
            if (proto_body_raw(&in->msg, strs[k], &v[k], &vl[k]) != 0)
                ok = 0;
        if (!ok || proto_body_int(&in->msg, "rev", &rev) != 0 ||
            proto_body_int(&in->msg, "at", &at) != 0) {
            metrics_inc(svc_metrics(tl->svc), tl->m_bad, 1);
            continue; /* the chain breaks here: the county is asked to resend */
        }
        proto_body_int(&in->msg, "gap", &gap);
        snprintf(in->num[0], sizeof(in->num[0]), "%d", gap == 1);
        snprintf(in->num[1], sizeof(in->num[1]), "%lld", (long long)rev);
        snprintf(in->num[2], sizeof(in->num[2]), "%lld", (long long)at);
        tl->argv[b] = in->msg.id;
        tl->argv[b + 1] = v[0];
        tl->argv[b + 2] = in->num[0];
        tl->argv[b + 3] = v[1];
        tl->argv[b + 4] = v[2];
        tl->argv[b + 5] = in->num[1];
        tl->argv[b + 6] = in->num[2];
        tl->argv[b + 7] = v[3];
        tl->argv[b + 8] = v[4];
        tl->lens[b] = strlen(in->msg.id);
        tl->lens[b + 1] = vl[0];
        tl->lens[b + 2] = strlen(in->num[0]);
        tl->lens[b + 3] = vl[1];
        tl->lens[b + 4] = vl[2];
        tl->lens[b + 5] = strlen(in->num[1]);
        tl->lens[b + 6] = strlen(in->num[2]);
        tl->lens[b + 7] = vl[3];
        tl->lens[b + 8] = vl[4];
        n++;
        last = i;
    }
    if (n == 0)
        return;
    snprintf(count, sizeof(count), "%d", n);
    tl->lens[4] = strlen(count);
    if (rds_append_fcall(r, "link_store", 5 + n * 9, tl->argv, tl->lens) != 0 ||
        (rep = rds_read(r)) == NULL) {
        svc_redis_failed(tl->svc, "link_store"); /* no ack: the county resends */
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        metrics_inc(svc_metrics(tl->svc), tl->m_events, (double)rep->element[1]->integer);
        metrics_inc(svc_metrics(tl->svc), tl->m_dups, (double)rep->element[2]->integer);
        if (rep->element[3]->integer == 1)
            log_msg(LOG_INFO, "link.hole", "county=%s last=%s: asked to resend from there",
                    tl->peers->peers[peer].tier, rep->element[0]->str);
        tl_ack(tl, &tl->in[last], rep->element[0]->str, (int)rep->element[3]->integer);
    } else if (rep->type == REDIS_REPLY_ERROR) {
        log_msg(LOG_ERROR, "link.store_failed", "county=%s error=\"%s\"",
                tl->peers->peers[peer].tier, rep->str);
    }
    freeReplyObject(rep);
}

/* ------------------------------------------------------------------------------------------
 * County: orders and escalations from the city */

static void tl_county_order(tierlink_t *tl, tl_in_t *in)
{
    const config_t *cfg = svc_cfg(tl->svc);
    rds_t *r = svc_rds(tl->svc);
    char ctid[64], by[80], idem[96], now[24], day[16], redeliver[24], tbuf[CAL_TIME_MAX], actor[96];
    static const char *strs[] = {"text", "address", "category", "phone"};
    const char *v[4];
    size_t vl[4];
    int64_t now_ms = svc_now(tl->svc);
    json_t *fields;
    char *fj;
    redisReply *a = NULL, *b = NULL;

    if (proto_body_str(&in->msg, "city_ticket", ctid, sizeof(ctid)) != 0) {
        tl_done(tl, in, 0, "", "city_ticket missing");
        return;
    }
    if (proto_body_str(&in->msg, "by", by, sizeof(by)) != 0)
        snprintf(by, sizeof(by), "city");
    for (int k = 0; k < 4; k++) {
        if (proto_body_raw(&in->msg, strs[k], &v[k], &vl[k]) != 0) {
            v[k] = "";
            vl[k] = 0;
        }
    }
    if (vl[0] == 0 || vl[0] > 4000) {
        tl_done(tl, in, 0, "", "text must be 1 to 4000 bytes");
        return;
    }
    snprintf(actor, sizeof(actor), "city:%s/%s", in->msg.tier, by);
    fields = json_pack("{s:s,s:s%,s:s%,s:s%,s:s%,s:s,s:s}", "channel", "city", "phone", v[3],
                       vl[3], "text", v[0], vl[0], "address", v[1], vl[1] > 400 ? 400 : vl[1],
                       "category", v[2], vl[2] > 16 ? 0 : vl[2], "actor", actor, "role", "city");
    fj = fields != NULL ? json_dumps(fields, JSON_COMPACT) : NULL;
    json_decref(fields);
    if (fj == NULL) {
        tl_done(tl, in, 0, "", "the order's fields are not valid text");
        return;
    }
    snprintf(idem, sizeof(idem), "city:%s:%s", in->msg.tier, ctid);
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    cal_format(now_ms, tbuf);
    snprintf(day, sizeof(day), "%.4s%.2s%.2s", tbuf, tbuf + 5, tbuf + 8);
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    const char *ca[] = {cfg->tier, idem, now, day, cfg->id_prefix, svc_instance(tl->svc),
                        redeliver, fj};
    if (rds_append_fcall(r, "ticket_create", 8, ca, NULL) != 0 || (a = rds_read(r)) == NULL) {
        svc_redis_failed(tl->svc, "ticket_create"); /* no answer: the city sends it again */
        free(fj);
        return;
    }
    free(fj);
    if (a->type != REDIS_REPLY_ARRAY || a->elements != 3) {
        tl_done(tl, in, 0, "", a->type == REDIS_REPLY_ERROR ? a->str : "store refused it");
        freeReplyObject(a);
        return;
    }
    const char *oa[] = {cfg->tier, a->element[0]->str, now, in->msg.tier, ctid, by};
    if (rds_append_fcall(r, "link_origin", 6, oa, NULL) != 0 || (b = rds_read(r)) == NULL) {
        svc_redis_failed(tl->svc, "link_origin");
        freeReplyObject(a);
        return;
    }
    if (a->element[1]->integer == 1)
        svc_send(tl->svc, STAGE_ROUTER, a->element[2]->str, a->element[2]->len);
    log_msg(LOG_INFO, "link.order", "city=%s city_ticket=%s ticket=%s created=%lld",
            in->msg.tier, ctid, a->element[0]->str, a->element[1]->integer);
    metrics_inc(svc_metrics(tl->svc), tl->m_down, 1);
    tl_done(tl, in, 1, a->element[0]->str, "");
    freeReplyObject(a);
    freeReplyObject(b);
}

static void tl_county_escalate(tierlink_t *tl, tl_in_t *in)
{
    const config_t *cfg = svc_cfg(tl->svc);
    rds_t *r = svc_rds(tl->svc);
    char tid[64], by[80], note[TIERLINK_NOTE_MAX + 1], now[24], redeliver[24];
    redisReply *rep;

    if (proto_body_str(&in->msg, "county_ticket", tid, sizeof(tid)) != 0) {
        tl_done(tl, in, 0, "", "county_ticket missing");
        return;
    }
    if (proto_body_str(&in->msg, "by", by, sizeof(by)) != 0)
        snprintf(by, sizeof(by), "city");
    if (proto_body_str(&in->msg, "note", note, sizeof(note)) != 0)
        note[0] = '\0';
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(tl->svc));
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    const char *argv[] = {cfg->tier, tid, now, in->msg.tier, by, note, in->msg.id, redeliver,
                          svc_instance(tl->svc)};
    if (rds_append_fcall(r, "link_escalated", 9, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        svc_redis_failed(tl->svc, "link_escalated");
        return;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->integer != 0) {
        for (size_t i = 1; i < rep->elements; i++)
            svc_send(tl->svc, STAGE_NOTIFIER, rep->element[i]->str, rep->element[i]->len);
        if (rep->element[0]->integer == 1)
            log_msg(LOG_INFO, "link.escalated", "city=%s ticket=%s by=%s", in->msg.tier, tid,
                    by);
        tl_done(tl, in, 1, tid, "");
    } else {
        tl_done(tl, in, 0, tid, rep->type == REDIS_REPLY_ERROR ? rep->str : "no such order");
    }
    freeReplyObject(rep);
}

/* ------------------------------------------------------------------------------------------
 * The link */

static void tl_drop(tierlink_t *tl, const char *why, const char *who)
{
    metrics_inc(svc_metrics(tl->svc), tl->m_bad, 1);
    if (tl->bad++ % 1000 == 0)
        log_msg(LOG_WARN, "link.frame_dropped", "from=%s why=\"%s\" count=%llu", who, why,
                (unsigned long long)tl->bad);
}

/* Takes one [routing id][frame] message; 0 when a frame was added, -EAGAIN when none waits. */
static int tl_take(tierlink_t *tl)
{
    tl_in_t *in = &tl->in[tl->n_in];
    zmq_msg_t rid, body;
    const char *user;
    int more;

    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, tl->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return -EAGAIN;
    }
    if (!zmq_msg_more(&rid) || zmq_msg_size(&rid) > TL_RID_MAX) {
        zmq_msg_close(&rid);
        tl_drop(tl, "not one frame", "?");
        return 0;
    }
    in->rid_len = zmq_msg_size(&rid);
    memcpy(in->rid, zmq_msg_data(&rid), in->rid_len);
    zmq_msg_close(&rid);
    zmq_msg_init(&body);
    zmq_msg_recv(&body, tl->router, 0);
    more = zmq_msg_more(&body);
    while (more) { /* a DEALER of ours sends one frame: drop the rest */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        more = zmq_msg_recv(&extra, tl->router, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    /* who it is comes from its key (ZAP), never from the frame */
    user = zmq_msg_gets(&body, "User-Id");
    in->peer = -1;
    if (tl->city) {
        const tier_peer_t *p = user != NULL ? tier_peers_find(tl->peers, user) : NULL;
        if (p == NULL) {
            zmq_msg_close(&body);
            tl_drop(tl, "no longer listed", user != NULL ? user : "?");
            return 0;
        }
        in->peer = (int)(p - tl->peers->peers);
    }
    if (proto_decode(zmq_msg_data(&body), zmq_msg_size(&body), &in->msg) != 0) {
        tl_drop(tl, in->msg.errstr, user != NULL ? user : "?");
        proto_msg_release(&in->msg);
        zmq_msg_close(&body);
        return 0;
    }
    zmq_msg_close(&body);
    if (tl->city && strcmp(in->msg.tier, user) != 0) {
        if (tl->bad % 1000 == 0) /* rate-limited like every dropped frame */
            log_msg(LOG_WARN, "link.wrong_tier", "key_of=%s frame_says=%s", user, in->msg.tier);
        tl_drop(tl, "frame names another tier than its key", user);
        proto_msg_release(&in->msg);
        return 0;
    }
    tl->n_in++;
    return 0;
}

static int tl_on_link(loop_t *loop, void *arg)
{
    tierlink_t *tl = arg;

    tl->n_in = 0;
    while (tl->n_in < TIERLINK_BATCH && tl_take(tl) == 0)
        ;
    if (tl->n_in == 0)
        return 0;
    if (rds_ensure(svc_rds(tl->svc)) != 0) {
        svc_redis_failed(tl->svc, "link"); /* no answer: the other side sends again */
    } else if (tl->city) {
        tl_city_hellos(tl);
        for (int p = 0; p < tl->peers->n; p++)
            tl_city_events(tl, p);
    } else {
        for (int i = 0; i < tl->n_in; i++) {
            if (strcmp(tl->in[i].msg.type, "tier.order") == 0)
                tl_county_order(tl, &tl->in[i]);
            else if (strcmp(tl->in[i].msg.type, "tier.escalate") == 0)
                tl_county_escalate(tl, &tl->in[i]);
            else
                tl_drop(tl, "unknown type", tl->in[i].msg.type);
        }
    }
    for (int i = 0; i < tl->n_in; i++)
        proto_msg_release(&tl->in[i].msg);
    tl->n_in = 0;
    return 0;
}

static int tl_on_zap(loop_t *loop, void *arg)
{
    tierlink_t *tl = arg;
    tier_zap_verdict_t v;

    for (int i = 0; i < 64; i++) {
        int rc = tier_zap_serve(tl->zap, &v);
        if (rc == -EAGAIN)
            break;
        if (v.allowed) {
            metrics_inc(svc_metrics(tl->svc), tl->m_connected, 1);
            log_msg(LOG_INFO, "link.connected", "tier=%s address=%s", v.tier, v.address);
        } else {
            metrics_inc(svc_metrics(tl->svc), tl->m_refused, 1);
            log_msg(LOG_WARN, "link.refused", "key=%s address=%s why=\"%s\"", v.key, v.address,
                    v.why);
        }
    }
    return 0;
}

/* City: the counties file may change (a county added, a key replaced): reload it. */
static int tl_on_timer(loop_t *loop, void *arg)
{
    tierlink_t *tl = arg;
    const config_t *cfg = svc_cfg(tl->svc);
    tier_peers_t *p;
    char err[400];

    if (!tl->city || !tier_peers_changed(cfg->tier_counties, tl->peers))
        return 0;
    p = malloc(sizeof(*p));
    if (p == NULL)
        return 0;
    if (tier_peers_load(cfg->tier_counties, p, err, sizeof(err)) != 0) {
        struct stat st;
        log_msg(LOG_ERROR, "link.counties_invalid", "error=\"%s\" (the previous list stays)",
                err);
        if (stat(cfg->tier_counties, &st) == 0)
            tl->peers->mtime = st.st_mtim; /* say it once per change */
        free(p);
        return 0;
    }
    free(tl->peers);
    tl->peers = p;
    tier_zap_allow(tl->zap, p->peers, p->n);
    log_msg(LOG_INFO, "link.counties_reloaded", "counties=%d", p->n);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * The city's API under /v1/tiers/ */

static void tl_json(httpd_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    if (text == NULL)
        httpd_respond(req, 500, "application/json", "{}", 2, NULL);
    else
        httpd_respond(req, status, "application/json; charset=utf-8", text, strlen(text),
                      status == 503 ? "Retry-After: 1" : NULL);
    free(text);
    json_decref(body);
}

static void tl_error(httpd_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void tl_error(httpd_req_t *req, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tl_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

static const config_token_t *tl_auth(tierlink_t *tl, svc_t *svc, httpd_req_t *req,
                                     const config_role_t *roles, const char *what)
{
    const char *h = httpd_header(req, "Authorization");
    const config_token_t *t;

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0' || strlen(h + 7) > 256 ||
        (t = config_find_token(svc_cfg(svc), h + 7)) == NULL) {
        tl_error(req, 401, "unauthorized", "send the header 'Authorization: Bearer <token>' "
                 "with a configured token");
        return NULL;
    }
    for (; *roles != ROLE_NONE; roles++)
        if (t->role == *roles)
            return t;
    tl_error(req, 403, "forbidden", "the %s role may not %s", config_role_name(t->role), what);
    return NULL;
}

/* A tier key, unit code, order id or status in a path or query: 1..max bytes of a-z, A-Z,
 * 0-9, '-', '_', ':' and '.'. */
static int tl_word(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_' && s[n] != '.' &&
            s[n] != ':')
            return 0;
    return n >= 1 && n <= max;
}

static json_t *tl_time(int64_t ms)
{
    char buf[CAL_TIME_MAX];

    if (ms <= 0 || cal_format(ms, buf) != 0)
        return json_null();
    return json_string(buf);
}

static int64_t tl_num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static void tl_counties(tierlink_t *tl, svc_t *svc, httpd_req_t *req)
{
    const config_t *cfg = svc_cfg(svc);
    const char *argv[2 + TIER_MAX_PEERS];
    char now[24];
    int64_t now_ms = svc_now(svc);
    json_t *list = json_array();
    redisReply *rep;

    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    argv[0] = cfg->tier;
    argv[1] = now;
    for (int i = 0; i < tl->peers->n; i++)
        argv[2 + i] = tl->peers->peers[i].tier;
    if (rds_ensure(svc_rds(svc)) != 0 ||
        rds_append_fcall(svc_rds(svc), "link_counties", 2 + tl->peers->n, argv, NULL) != 0 ||
        (rep = rds_read(svc_rds(svc))) == NULL) {
        json_decref(list);
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        json_t *c = json_loads(rep->element[i]->str, 0, NULL), *fd, *out;
        const tier_peer_t *p;
        int64_t seen, first, up_ms, pending, last_at;
        if (c == NULL)
            continue;
        fd = json_object_get(c, "feed");
        p = tier_peers_find(tl->peers, json_string_value(json_object_get(c, "county")));
        seen = tl_num(fd, "seen_at");
        first = tl_num(fd, "first_seen");
        up_ms = tl_num(fd, "up_ms");
        pending = tl_num(fd, "pending");
        last_at = tl_num(fd, "last_at");
        out = json_pack(
            "{s:O,s:s,s:b,s:{s:b,s:o,s:o,s:f},s:{s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
            "s:O,s:O,s:O,s:O}",
            "county", json_object_get(c, "county"), "name", p != NULL ? p->name : "",
            "listed", p != NULL,
            "link", "up", seen > 0 && now_ms - seen <= 3500, "last_seen", tl_time(seen),
            "first_seen", tl_time(first), "uptime",
            first > 0 && now_ms > first ? (double)up_ms / (double)(now_ms - first) : 0.0,
            "feed", "last_id", json_string_value(json_object_get(fd, "last"))
                                   ? json_string_value(json_object_get(fd, "last")) : "0-0",
            "last_event_at", tl_time(last_at),
            "lag_ms", (json_int_t)(pending > 0 && last_at > 0 ? now_ms - last_at : 0),
            "pending_at_county", (json_int_t)pending, "stored", (json_int_t)tl_num(fd, "stored"),
            "duplicates", (json_int_t)tl_num(fd, "dups"),
            "holes_resent", (json_int_t)tl_num(fd, "refused"),
            "gaps", (json_int_t)tl_num(fd, "gaps"), "lost_at_county",
            (json_int_t)tl_num(fd, "lost"), "bound", (json_int_t)tl_num(fd, "bound"),
            "events_held", (json_int_t)tl_num(c, "stored"),
            "events", json_object_get(c, "events"), "units", json_object_get(c, "units"),
            "orders", json_object_get(c, "orders"), "down_waiting",
            json_object_get(c, "down_waiting"));
        if (out != NULL)
            json_array_append_new(list, out);
        json_decref(c);
    }
    freeReplyObject(rep);
    tl_json(req, 200, json_pack("{s:o}", "counties", list));
}

static void tl_orders(tierlink_t *tl, svc_t *svc, httpd_req_t *req)
{
    const config_t *cfg = svc_cfg(svc);
    const char *county = httpd_query(req, "county"), *unit = httpd_query(req, "unit");
    const char *state = httpd_query(req, "state"), *overdue = httpd_query(req, "overdue");
    const char *off = httpd_query(req, "offset"), *lim = httpd_query(req, "limit");
    int64_t offset = 0, limit = 50;
    char o[24], l[24];
    json_t *list;
    redisReply *rep;

    if ((county != NULL && !tl_word(county, TIER_KEY_NAME_MAX - 1)) ||
        (unit != NULL && !tl_word(unit, 70)) || (state != NULL && !tl_word(state, 32))) {
        tl_error(req, 400, "invalid_value", "county, unit and state are codes: 1 to 70 "
                 "characters of a-z, A-Z, 0-9, '-', '_' and ':'");
        return;
    }
    if (overdue != NULL && strcmp(overdue, "1") != 0 && strcmp(overdue, "true") != 0 &&
        strcmp(overdue, "0") != 0 && strcmp(overdue, "false") != 0) {
        tl_error(req, 400, "invalid_value", "overdue is 1, true, 0 or false");
        return;
    }
    if ((off != NULL && (conf_parse_int(off, 0, 100000, &offset) != 0)) ||
        (lim != NULL && (conf_parse_int(lim, 1, 100, &limit) != 0))) {
        tl_error(req, 400, "invalid_value", "offset is 0..100000 and limit 1..100");
        return;
    }
    snprintf(o, sizeof(o), "%lld", (long long)offset);
    snprintf(l, sizeof(l), "%lld", (long long)limit);
    const char *argv[] = {cfg->tier, county ? county : "", unit ? unit : "", state ? state : "",
                          overdue != NULL && (overdue[0] == '1' || overdue[0] == 't') ? "1" : "",
                          o, l};
    if (rds_ensure(svc_rds(svc)) != 0 ||
        rds_append_fcall(svc_rds(svc), "link_orders", 7, argv, NULL) != 0 ||
        (rep = rds_read(svc_rds(svc))) == NULL) {
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
        return;
    }
    list = json_array();
    for (size_t i = 1; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        json_t *e = json_loads(rep->element[i]->str, 0, NULL);
        if (e == NULL)
            continue;
        json_object_set_new(e, "created", tl_time(tl_num(e, "created_at")));
        json_object_set_new(e, "close_due_at", tl_time(tl_num(e, "close_due")));
        json_array_append_new(list, e);
    }
    tl_json(req, 200, json_pack("{s:I,s:I,s:I,s:o}", "total",
                                (json_int_t)(rep->type == REDIS_REPLY_ARRAY && rep->elements > 0
                                                 ? rep->element[0]->integer : 0),
                                "offset", (json_int_t)offset, "limit", (json_int_t)limit,
                                "orders", list));
    freeReplyObject(rep);
}

static void tl_order(tierlink_t *tl, svc_t *svc, httpd_req_t *req, const char *county,
                     const char *id)
{
    const config_t *cfg = svc_cfg(svc);
    const char *argv[] = {cfg->tier, county, id};
    json_t *order, *timeline;
    redisReply *rep, *h, *ev;

    if (rds_ensure(svc_rds(svc)) != 0 ||
        rds_append_fcall(svc_rds(svc), "link_order", 3, argv, NULL) != 0 ||
        (rep = rds_read(svc_rds(svc))) == NULL) {
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        freeReplyObject(rep);
        tl_error(req, 404, "not_found", "county %s has no order %s at the city (yet: it comes "
                 "with the county's feed)", county, id);
        return;
    }
    h = rep->element[0];
    ev = rep->element[1];
    order = json_object();
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
        size_t kl = strlen(k);
        if (strcmp(k, "co_units") == 0) {
            json_t *j = json_loads(v, 0, NULL);
            json_object_set_new(order, k, j != NULL ? j : json_string(v));
        } else if (strcmp(k, "rev") == 0 || strcmp(k, "city_escalations") == 0) {
            json_object_set_new(order, k, json_integer(strtoll(v, NULL, 10)));
        } else if (v[0] != '\0' && (strstr(k, "_at") != NULL ||
                                    (kl > 4 && strcmp(k + kl - 4, "_due") == 0) ||
                                    strcmp(k, "city_escalated") == 0 ||
                                    (kl > 10 && strcmp(k + kl - 10, "_escalated") == 0))) {
            json_object_set_new(order, k, tl_time(strtoll(v, NULL, 10)));
        } else {
            json_object_set_new(order, k, json_string(v));
        }
    }
    timeline = json_array();
    for (size_t i = 0; i < ev->elements; i++) {
        json_t *e = json_loads(ev->element[i]->str, 0, NULL);
        if (e == NULL)
            continue;
        json_object_set_new(e, "at", tl_time(tl_num(e, "at")));
        json_array_append_new(timeline, e);
    }
    freeReplyObject(rep);
    tl_json(req, 200, json_pack("{s:s,s:o,s:o}", "county", county, "order", order, "timeline",
                                timeline));
}

/* Reads a JSON object body with only the allowed string fields; NULL after answering 400. */
static json_t *tl_body(httpd_req_t *req, const char **allowed)
{
    size_t len;
    const char *body = httpd_body(req, &len), *k;
    json_error_t jerr;
    json_t *root, *v;

    root = len > 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        tl_error(req, 400, "invalid_json", "the body must be a JSON object");
        return NULL;
    }
    json_object_foreach(root, k, v) {
        int known = 0;
        for (const char **a = allowed; *a != NULL; a++)
            known |= strcmp(*a, k) == 0;
        if (!known || !json_is_string(v) ||
            json_string_length(v) > TIERLINK_NOTE_MAX ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            tl_error(req, 400, known ? "invalid_value" : "unknown_field",
                     "%.60s: %s", k, known ? "a string of at most 1000 bytes without NUL"
                                           : "not a known field");
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

static void tl_dispatch(tierlink_t *tl, svc_t *svc, httpd_req_t *req, const config_token_t *tok)
{
    static const char *allowed[] = {"ticket", "county", "note", NULL};
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    json_t *b = tl_body(req, allowed), *actor;
    const char *tid, *county, *note, *how = "choice";
    const tier_peer_t *p = NULL;
    char now[24], *aj, place[TIER_PLACE_MAX + 16] = "";
    redisReply *rep;

    if (b == NULL)
        return;
    tid = json_string_value(json_object_get(b, "ticket"));
    county = json_string_value(json_object_get(b, "county"));
    note = json_string_value(json_object_get(b, "note"));
    if (tid == NULL || !tl_word(tid, 47)) {
        tl_error(req, 400, "missing_field", "ticket: the city order's id is required");
        goto out;
    }
    if (rds_ensure(r) != 0) {
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; nothing changed");
        goto out;
    }
    if (county != NULL && county[0] != '\0') {
        p = tier_peers_find(tl->peers, county);
        if (p == NULL) {
            tl_error(req, 400, "invalid_value", "county '%.40s' is not listed in the counties "
                     "file", county);
            goto out;
        }
    } else {
        /* the city's catalogue of county place names: the address first, then the text */
        char key[128];
        snprintf(key, sizeof(key), "{%s}:t:%s", cfg->tier, tid);
        rep = rds_cmd(r, "HMGET %s address text", key);
        if (rep == NULL) {
            tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
            goto out;
        }
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements && p == NULL; i++)
            if (rep->element[i]->type == REDIS_REPLY_STRING)
                p = tier_peers_match(tl->peers, rep->element[i]->str);
        freeReplyObject(rep);
        if (p == NULL) {
            tl_error(req, 422, "no_county", "no county's place name is in order %s's address or "
                     "text; name the county", tid);
            goto out;
        }
        snprintf(place, sizeof(place), "places of %s", p->tier);
        how = place;
    }
    if (p->endpoint[0] == '\0') {
        tl_error(req, 409, "no_link", "county %s has no link endpoint in the counties file",
                 p->tier);
        goto out;
    }
    actor = json_pack("{s:s,s:s}", "name", tok->name, "role", config_role_name(tok->role));
    aj = json_dumps(actor, JSON_COMPACT);
    json_decref(actor);
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    const char *argv[] = {cfg->tier, tid, p->tier, now, aj, note ? note : "", svc_instance(svc)};
    if (aj == NULL || rds_append_fcall(r, "down_dispatch", 7, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        free(aj);
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
        goto out;
    }
    free(aj);
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[0]->integer == 1) {
        log_msg(LOG_INFO, "down.dispatch", "ticket=%s county=%s by=%s how=\"%s\"", tid, p->tier,
                tok->name, how);
        tl_json(req, 202, json_pack("{s:s,s:s,s:s,s:s,s:s}", "ticket", tid, "county", p->tier,
                                    "chosen_by", how, "message", rep->element[1]->str, "state",
                                    "sending"));
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        tl_error(req, (int)rep->element[1]->integer, rep->element[2]->str, "%s",
                 rep->element[3]->str);
    } else {
        tl_error(req, 500, "store_failed", "%s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    }
    freeReplyObject(rep);
out:
    json_decref(b);
}

static void tl_escalate(tierlink_t *tl, svc_t *svc, httpd_req_t *req, const config_token_t *tok,
                        const char *county, const char *id)
{
    static const char *allowed[] = {"note", NULL};
    const config_t *cfg = svc_cfg(svc);
    rds_t *r = svc_rds(svc);
    json_t *b = tl_body(req, allowed), *actor;
    const char *note;
    char now[24], *aj;
    redisReply *rep;

    if (b == NULL)
        return;
    note = json_string_value(json_object_get(b, "note"));
    if (note == NULL || note[0] == '\0') {
        tl_error(req, 400, "missing_field", "note: say what the county must do (督办)");
        goto out;
    }
    if (tier_peers_find(tl->peers, county) == NULL) {
        tl_error(req, 404, "not_found", "county %s is not listed", county);
        goto out;
    }
    actor = json_pack("{s:s,s:s}", "name", tok->name, "role", config_role_name(tok->role));
    aj = json_dumps(actor, JSON_COMPACT);
    json_decref(actor);
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(svc));
    const char *argv[] = {cfg->tier, county, id, now, aj, note, svc_instance(svc)};
    if (aj == NULL || rds_ensure(r) != 0 ||
        rds_append_fcall(r, "down_escalate", 7, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        free(aj);
        tl_error(req, 503, "unavailable", "the store (Redis) is not reachable; retry");
        goto out;
    }
    free(aj);
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[0]->integer == 1) {
        log_msg(LOG_INFO, "down.escalate", "county=%s ticket=%s by=%s", county, id, tok->name);
        tl_json(req, 202, json_pack("{s:s,s:s,s:s,s:s}", "county", county, "ticket", id,
                                    "message", rep->element[1]->str, "state", "sending"));
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        tl_error(req, (int)rep->element[1]->integer, rep->element[2]->str, "%s",
                 rep->element[3]->str);
    } else {
        tl_error(req, 500, "store_failed", "%s",
                 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
    }
    freeReplyObject(rep);
out:
    json_decref(b);
}

int tierlink_on_http(tierlink_t *tl, svc_t *svc, httpd_req_t *req)
{
    static const config_role_t readers[] = {ROLE_OPERATOR, ROLE_DISPATCHER, ROLE_SUPERVISOR,
                                            ROLE_ADMIN, ROLE_NONE};
    static const config_role_t watchers[] = {ROLE_SUPERVISOR, ROLE_DISPATCHER, ROLE_ADMIN,
                                             ROLE_NONE};
    static const config_role_t dispatchers[] = {ROLE_OPERATOR, ROLE_DISPATCHER, ROLE_ADMIN,
                                                ROLE_NONE};
    static const config_role_t supervisors[] = {ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_NONE};
    const char *path = httpd_path(req), *method = httpd_method(req), *rest;
    const config_token_t *tok;
    char county[TIER_KEY_NAME_MAX], id[48];
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

    if (strncmp(path, "/v1/tiers/", 10) != 0)
        return 0;
    rest = path + 10;
    if (tl == NULL || !tl->city) {
        tl_error(req, 404, "not_found", "%s", tl == NULL
                     ? "this tier has no tier link ([tier] link and counties in the config)"
                     : "the /v1/tiers/ views are the city's; this is a county");
        return 1;
    }
    if (strcmp(rest, "counties") == 0) {
        if (!get)
            tl_error(req, 405, "method_not_allowed", "use GET");
        else if ((tok = tl_auth(tl, svc, req, watchers, "read the counties' figures")) != NULL)
            tl_counties(tl, svc, req);
        return 1;
    }
    if (strcmp(rest, "orders") == 0) {
        if (!get)
            tl_error(req, 405, "method_not_allowed", "use GET");
        else if ((tok = tl_auth(tl, svc, req, readers, "read county orders")) != NULL)
            tl_orders(tl, svc, req);
        return 1;
    }
    if (strcmp(rest, "dispatch") == 0) {
        if (!post)
            tl_error(req, 405, "method_not_allowed", "use POST");
        else if ((tok = tl_auth(tl, svc, req, dispatchers, "send orders to counties")) != NULL)
            tl_dispatch(tl, svc, req, tok);
        return 1;
    }
    if (strncmp(rest, "orders/", 7) == 0) {
        const char *c = rest + 7, *slash = strchr(c, '/'), *slash2;
        size_t cl, il;
        if (slash == NULL || (cl = (size_t)(slash - c)) == 0 || cl >= sizeof(county))
            goto nf;
        slash2 = strchr(slash + 1, '/');
        il = slash2 != NULL ? (size_t)(slash2 - slash - 1) : strlen(slash + 1);
        if (il == 0 || il >= sizeof(id))
            goto nf;
        memcpy(county, c, cl);
        county[cl] = '\0';
        memcpy(id, slash + 1, il);
        id[il] = '\0';
        if (!tl_word(county, sizeof(county) - 1) || !tl_word(id, sizeof(id) - 1))
            goto nf;
        if (slash2 == NULL) {
            if (!get)
                tl_error(req, 405, "method_not_allowed", "use GET");
            else if ((tok = tl_auth(tl, svc, req, readers, "read county orders")) != NULL)
                tl_order(tl, svc, req, county, id);
            return 1;
        }
        if (strcmp(slash2, "/escalate") == 0) {
            if (!post)
                tl_error(req, 405, "method_not_allowed", "use POST");
            else if ((tok = tl_auth(tl, svc, req, supervisors, "escalate county orders")) !=
                     NULL)
                tl_escalate(tl, svc, req, tok, county, id);
            return 1;
        }
    }
nf:
    tl_error(req, 404, "not_found", "no such endpoint: %s %.100s (tiers: GET counties, GET "
             "orders, GET orders/COUNTY/ID, POST orders/COUNTY/ID/escalate, POST dispatch)",
             method, path);
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Set-up */

tierlink_t *tierlink_new(svc_t *svc, char *err, size_t errcap)
{
    const config_t *cfg = svc_cfg(svc);
    tierlink_t *tl;
    char secret[TIER_KEY_TEXT + 1];
    metrics_t *m = svc_metrics(svc);

    err[0] = '\0';
    if (cfg->tier_link[0] == '\0')
        return NULL;
    tl = calloc(1, sizeof(*tl));
    if (tl == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    tl->svc = svc;
    tl->city = strcmp(cfg->tier_kind, "city") == 0;
    tl->peers = calloc(1, sizeof(*tl->peers));
    tl->in = calloc(TIERLINK_BATCH, sizeof(*tl->in));
    tl->argv = calloc(5 + (size_t)TIERLINK_BATCH * 9, sizeof(*tl->argv));
    tl->lens = calloc(5 + (size_t)TIERLINK_BATCH * 9, sizeof(*tl->lens));
    if (tl->peers == NULL || tl->in == NULL || tl->argv == NULL || tl->lens == NULL) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    if (tier_key_read(cfg->tier_secret_key, cfg->dir, secret, err, errcap) != 0)
        goto fail;
    if (tl->city) {
        if (tier_peers_load(cfg->tier_counties, tl->peers, err, errcap) != 0)
            goto fail;
    } else {
        /* a county trusts one key: its city's */
        tl->peers->n = 1;
        snprintf(tl->peers->peers[0].tier, sizeof(tl->peers->peers[0].tier), "parent");
        if (tier_key_read(cfg->tier_parent_key, cfg->dir, tl->peers->peers[0].public_key, err,
                          errcap) != 0)
            goto fail;
    }
    tl->zctx = zmq_ctx_new();
    if (tl->zctx == NULL) {
        snprintf(err, errcap, "ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* the handler first: a CURVE server without one lets any key in */
    tl->zap = tier_zap_new(tl->zctx, err, errcap);
    if (tl->zap == NULL)
        goto fail;
    tier_zap_allow(tl->zap, tl->peers->peers, tl->peers->n);
    tl->router = tier_server_new(tl->zctx, cfg->tier_link, secret, cfg->hwm, err, errcap);
    if (tl->router == NULL)
        goto fail;
    if (loop_add_socket(svc_loop(svc), tier_zap_socket(tl->zap), tl_on_zap, tl) != 0 ||
        loop_add_socket(svc_loop(svc), tl->router, tl_on_link, tl) != 0 ||
        loop_add_timer(svc_loop(svc), 1000, tl_on_timer, tl) != 0) {
        snprintf(err, errcap, "no room in the loop");
        goto fail;
    }
    tl->m_refused = metrics_add(m, METRIC_COUNTER, "rexian_tier_link_refused_total",
                                "Connections refused: key not in the allow-list");
    tl->m_connected = metrics_add(m, METRIC_COUNTER, "rexian_tier_link_connected_total",
                                  "Connections let in by the allow-list");
    tl->m_events = metrics_add(m, METRIC_COUNTER, "rexian_tier_events_stored_total",
                               "County events stored");
    tl->m_dups = metrics_add(m, METRIC_COUNTER, "rexian_tier_events_duplicate_total",
                             "County events refused as duplicates (resends)");
    tl->m_bad = metrics_add(m, METRIC_COUNTER, "rexian_tier_link_frames_bad_total",
                            "Frames on the tier link that were dropped");
    tl->m_down = metrics_add(m, METRIC_COUNTER, "rexian_tier_orders_from_city_total",
                             "Orders the city sent down (county)");
    log_msg(LOG_INFO, "link.started", "kind=%s bind=%s allowed=%d", tl->city ? "city" : "county",
            cfg->tier_link, tl->peers->n);
    return tl;
fail:
    tierlink_destroy(&tl);
    return NULL;
}

void tierlink_destroy(tierlink_t **ptl)
{
    tierlink_t *tl;

    if (ptl == NULL || *ptl == NULL)
        return;
    tl = *ptl;
    if (tl->router != NULL)
        zmq_close(tl->router);
    tier_zap_destroy(&tl->zap);
    if (tl->zctx != NULL)
        zmq_ctx_term(tl->zctx);
    free(tl->peers);
    free(tl->in);
    free(tl->argv);
    free(tl->lens);
    free(tl);
    *ptl = NULL;
}
