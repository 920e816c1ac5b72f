/* peers.c -- instance registry and fan-out PUSH sockets (see peers.h) */
#include "peers.h"

#include "proto.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

struct peers_t {
    void *push;                   /* PUSH socket connected to every live peer */
    char key[96];                 /* registry key {tier}:svc:stage */
    char endpoints[PEERS_MAX][128]; /* currently connected */
    int n;                        /* how many */
};

peers_t *peers_new(void *zctx, const char *tier, const char *stage, int hwm)
{
    peers_t *p = calloc(1, sizeof(*p));
    int zero = 0, one = 1;

    if (p == NULL)
        return NULL;
    p->push = zmq_socket(zctx, ZMQ_PUSH);
    if (p->push == NULL) {
        free(p);
        return NULL;
    }
    zmq_setsockopt(p->push, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(p->push, ZMQ_LINGER, &zero, sizeof(zero));
    /* queue only to peers whose connection is up: a dead peer's queue would be lost anyway */
    zmq_setsockopt(p->push, ZMQ_IMMEDIATE, &one, sizeof(one));
    snprintf(p->key, sizeof(p->key), "{%s}:svc:%s", tier, stage);
    return p;
}

void peers_destroy(peers_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    zmq_close((*p)->push);
    free(*p);
    *p = NULL;
}

int peers_count(const peers_t *p)
{
    return p->n;
}

int peers_refresh(peers_t *p, rds_t *r, int64_t now_ms)
{
    redisReply *rep = rds_cmd(r, "ZRANGEBYSCORE %s %lld +inf LIMIT 0 %d", p->key,
                              (long long)now_ms, PEERS_MAX);
    int keep[PEERS_MAX] = {0};

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return -1;
    }
    for (size_t i = 0; i < rep->elements; i++) {
        const char *ep = rep->element[i]->str;
        int j;
        if (ep == NULL || strlen(ep) >= sizeof(p->endpoints[0]))
            continue;
        for (j = 0; j < p->n; j++)
            if (strcmp(p->endpoints[j], ep) == 0)
                break;
        if (j < p->n) {
            keep[j] = 1;
        } else if (p->n < PEERS_MAX && zmq_connect(p->push, ep) == 0) {
            snprintf(p->endpoints[p->n], sizeof(p->endpoints[0]), "%s", ep);
            keep[p->n++] = 1;
        }
    }
    freeReplyObject(rep);
    for (int j = p->n - 1; j >= 0; j--) {
        if (keep[j])
            continue;
        zmq_disconnect(p->push, p->endpoints[j]);
        memmove(p->endpoints[j], p->endpoints[j + 1],
                sizeof(p->endpoints[0]) * (size_t)(p->n - j - 1));
        memmove(&keep[j], &keep[j + 1], sizeof(keep[0]) * (size_t)(p->n - j - 1));
        p->n--;
    }
    return p->n;
}

int peers_send(peers_t *p, const char *data, size_t len)
{
    if (p->n == 0)
        return -EAGAIN;
    if (zmq_send(p->push, data, len, ZMQ_DONTWAIT) < 0)
        return -zmq_errno();
    return 0;
}

/* This host's IPv4 address, for a wildcard bind that must be advertised. */
static int peers_host_address(char *buf, size_t cap)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char host[256];

    if (gethostname(host, sizeof(host)) != 0 || getaddrinfo(host, NULL, &hints, &res) != 0)
        return -1;
    if (getnameinfo(res->ai_addr, res->ai_addrlen, buf, (socklen_t)cap, NULL, 0,
                    NI_NUMERICHOST) != 0) {
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    return 0;
}

void *peers_bind(void *zctx, const char *bind, const char *advertise, int hwm,
                 char *ret_endpoint, size_t cap)
{
    void *pull = zmq_socket(zctx, ZMQ_PULL);
    int64_t maxsize = PROTO_MAX_FRAME;
    char last[256], host[128];
    size_t len = sizeof(last);
    const char *port;
    int zero = 0;

    if (pull == NULL)
        return NULL;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(pull, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize));
    zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof(zero));
    if (zmq_bind(pull, bind) != 0 ||
        zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, last, &len) != 0) {
        zmq_close(pull);
        return NULL;
    }
    port = strrchr(last, ':');
    if (advertise != NULL && advertise[0] != '\0') {
        snprintf(host, sizeof(host), "%s", advertise);
    } else if (strstr(last, "//0.0.0.0:") != NULL) {
        if (peers_host_address(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "127.0.0.1");
    } else {
        snprintf(ret_endpoint, cap, "%s", last);
        return pull;
    }
    snprintf(ret_endpoint, cap, "tcp://%s%s", host, port != NULL ? port : "");
    return pull;
}

int peers_heartbeat(rds_t *r, const char *tier, const char *stage, const char *endpoint,
                    int64_t now_ms, int64_t ttl_ms)
{
    redisReply *a, *b;
    char key[96];

    snprintf(key, sizeof(key), "{%s}:svc:%s", tier, stage);
    if (rds_append(r, "ZADD %s %lld %s", key, (long long)(now_ms + ttl_ms), endpoint) != 0 ||
        rds_append(r, "ZREMRANGEBYSCORE %s -inf %lld", key, (long long)now_ms) != 0)
        return -1;
    a = rds_read(r);
    b = rds_read(r);
    freeReplyObject(a);
    freeReplyObject(b);
    return a != NULL && b != NULL ? 0 : -1;
}

int peers_unregister(rds_t *r, const char *tier, const char *stage, const char *endpoint)
{
    char key[96];
    redisReply *rep;

    snprintf(key, sizeof(key), "{%s}:svc:%s", tier, stage);
    rep = rds_cmd(r, "ZREM %s %s", key, endpoint);
    freeReplyObject(rep);
    return rep != NULL ? 0 : -1;
}
