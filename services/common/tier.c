/* tier.c -- CURVE keys, tier link sockets, the peers file and the ZAP handler (see tier.h) */
#include "tier.h"

#include "conf.h"
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

/* ------------------------------------------------------------------------------------------
 * Keys */

static int tier_z85_ok(const char *s, size_t len)
{
    uint8_t raw[32];
    char buf[TIER_KEY_TEXT + 1];

    if (len != TIER_KEY_TEXT)
        return 0;
    memcpy(buf, s, TIER_KEY_TEXT);
    buf[TIER_KEY_TEXT] = '\0';
    return zmq_z85_decode(raw, buf) != NULL;
}

int tier_key_read(const char *value, const char *dir, char *ret_key, char *err, size_t errcap)
{
    char path[600], line[128];
    FILE *f;
    size_t n;

    if (tier_z85_ok(value, strlen(value))) {
        memcpy(ret_key, value, TIER_KEY_TEXT + 1);
        return 0;
    }
    if (value[0] == '/' || dir == NULL || dir[0] == '\0')
        snprintf(path, sizeof(path), "%s", value);
    else
        snprintf(path, sizeof(path), "%s/%s", dir, value);
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "key '%.200s' is neither 40 Z85 characters nor a readable file "
                 "(%s)", value, strerror(errno));
        return -1;
    }
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    if (!tier_z85_ok(line, n)) {
        snprintf(err, errcap, "%.300s does not hold a CURVE key (one line of 40 Z85 characters, "
                 "as `rexianctl keys new` writes)", path);
        return -1;
    }
    memcpy(ret_key, line, TIER_KEY_TEXT + 1);
    return 0;
}

int tier_keypair_new(char *ret_public, char *ret_secret)
{
    return zmq_curve_keypair(ret_public, ret_secret) == 0 ? 0 : -1;
}

int tier_key_public(const char *secret, char *ret_public)
{
    if (!tier_z85_ok(secret, strlen(secret)))
        return -1;
    return zmq_curve_public(ret_public, secret) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------
 * The peers file */

typedef struct tier_load_t {
    tier_peers_t *peers;   /* being filled */
    char section[96];      /* the section of the last peer started */
    char dir[512];         /* the file's folder, for key paths */
} tier_load_t;

static int tier_place(void *user, const char *item)
{
    tier_peer_t *p = user;

    if (p->n_places >= TIER_MAX_PLACES || strlen(item) >= TIER_PLACE_MAX)
        return -1;
    snprintf(p->places[p->n_places++], TIER_PLACE_MAX, "%s", item);
    return 0;
}

static int tier_peer_line(void *user, const char *section, const char *key, const char *value,
                          char *err, size_t errcap)
{
    tier_load_t *l = user;
    tier_peer_t *p;
    const char *name;

    if (strncmp(section, "county ", 7) != 0 && strncmp(section, "city ", 5) != 0) {
        snprintf(err, errcap, "unknown section [%.60s]: sections are [county KEY] (or [city "
                 "KEY] in a county's file)", section);
        return -1;
    }
    if (strcmp(section, l->section) != 0) {
        name = strchr(section, ' ') + 1;
        if (l->peers->n >= TIER_MAX_PEERS) {
            snprintf(err, errcap, "at most %d peers", TIER_MAX_PEERS);
            return -1;
        }
        if (name[0] == '\0' || strlen(name) >= TIER_KEY_NAME_MAX) {
            snprintf(err, errcap, "[%.60s]: the tier key must be 1 to %d bytes", section,
                     TIER_KEY_NAME_MAX - 1);
            return -1;
        }
        for (const char *c = name; *c; c++) {
            if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-') {
                snprintf(err, errcap, "[%.60s]: a tier key holds only a-z, 0-9 and '-'",
                         section);
                return -1;
            }
        }
        if (tier_peers_find(l->peers, name) != NULL) {
            snprintf(err, errcap, "[%.60s] appears twice", section);
            return -1;
        }
        p = &l->peers->peers[l->peers->n++];
        memset(p, 0, sizeof(*p));
        snprintf(p->tier, sizeof(p->tier), "%s", name);
        snprintf(l->section, sizeof(l->section), "%s", section);
    }
    p = &l->peers->peers[l->peers->n - 1];
    if (strcmp(key, "name") == 0) {
        if (strlen(value) >= sizeof(p->name)) {
            snprintf(err, errcap, "name is longer than %zu bytes", sizeof(p->name) - 1);
            return -1;
        }
        snprintf(p->name, sizeof(p->name), "%s", value);
    } else if (strcmp(key, "public_key") == 0) {
        char why[400];
        if (tier_key_read(value, l->dir, p->public_key, why, sizeof(why)) != 0) {
            snprintf(err, errcap, "public_key: %s", why);
            return -1;
        }
    } else if (strcmp(key, "link") == 0) {
        if (strncmp(value, "tcp://", 6) != 0 || strlen(value) >= sizeof(p->endpoint)) {
            snprintf(err, errcap, "link = '%.100s': a ZeroMQ endpoint tcp://HOST:PORT of at "
                     "most %zu bytes", value, sizeof(p->endpoint) - 1);
            return -1;
        }
        snprintf(p->endpoint, sizeof(p->endpoint), "%s", value);
    } else if (strcmp(key, "places") == 0) {
        if (conf_each_item(value, tier_place, p) != 0) {
            snprintf(err, errcap, "places: at most %d names of at most %d bytes, comma-separated",
                     TIER_MAX_PLACES, TIER_PLACE_MAX - 1);
            return -1;
        }
    } else {
        snprintf(err, errcap, "unknown setting %s (name, public_key, link, places)", key);
        return -1;
    }
    return 0;
}

int tier_peers_load(const char *path, tier_peers_t *ret, char *err, size_t errcap)
{
    tier_load_t *l = calloc(1, sizeof(*l));
    tier_peers_t *peers = calloc(1, sizeof(*peers));
    const char *slash = strrchr(path, '/');
    struct stat st;
    int rc = -1;

    if (l == NULL || peers == NULL) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    l->peers = peers;
    if (slash != NULL)
        snprintf(l->dir, sizeof(l->dir), "%.*s", (int)(slash - path), path);
    if (stat(path, &st) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        goto out;
    }
    peers->mtime = st.st_mtim;
    if (conf_load(path, tier_peer_line, l, err, errcap) != 0)
        goto out;
    for (int i = 0; i < peers->n; i++) {
        if (peers->peers[i].public_key[0] == '\0') {
            snprintf(err, errcap, "%s: [county %s] needs public_key", path, peers->peers[i].tier);
            goto out;
        }
    }
    memcpy(ret, peers, sizeof(*peers));
    rc = 0;
out:
    free(l);
    free(peers);
    return rc;
}

int tier_peers_changed(const char *path, const tier_peers_t *peers)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return 0; /* gone for a moment (being replaced): keep what we have */
    return st.st_mtim.tv_sec != peers->mtime.tv_sec || st.st_mtim.tv_nsec != peers->mtime.tv_nsec;
}

const tier_peer_t *tier_peers_find(const tier_peers_t *peers, const char *tier)
{
    for (int i = 0; i < peers->n; i++)
        if (strcmp(peers->peers[i].tier, tier) == 0)
            return &peers->peers[i];
    return NULL;
}

const tier_peer_t *tier_peers_by_key(const tier_peers_t *peers, const char *public_key)
{
    for (int i = 0; i < peers->n; i++)
        if (strcmp(peers->peers[i].public_key, public_key) == 0)
            return &peers->peers[i];
    return NULL;
}

const tier_peer_t *tier_peers_match(const tier_peers_t *peers, const char *text)
{
    const tier_peer_t *best = NULL;
    size_t best_len = 0;

    for (int i = 0; i < peers->n; i++) {
        for (int j = 0; j < peers->peers[i].n_places; j++) {
            size_t len = strlen(peers->peers[i].places[j]);
            if (len > best_len && strstr(text, peers->peers[i].places[j]) != NULL) {
                best = &peers->peers[i];
                best_len = len;
            }
        }
    }
    return best;
}

/* ------------------------------------------------------------------------------------------
 * Sockets */

static void tier_socket_common(void *s, int hwm)
{
    int zero = 0, ivl = 1000, timeout = 3000, ttl = 6000, rmin = 200, rmax = 2000;
    int64_t max = PROTO_MAX_FRAME;

    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    /* a cut cable leaves TCP "established" for minutes: ZMTP heartbeats notice in seconds */
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout));
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl));
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &rmin, sizeof(rmin));
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &rmax, sizeof(rmax));
    zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &timeout, sizeof(timeout));
}

void *tier_server_new(void *zctx, const char *endpoint, const char *secret_key, int hwm,
                      char *err, size_t errcap)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    int one = 1;

    if (s == NULL) {
        snprintf(err, errcap, "socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    tier_socket_common(s, hwm);
    /* a reply to a peer that has gone fails at once instead of blocking or vanishing */
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_key, TIER_KEY_TEXT) != 0 ||
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, TIER_ZAP_DOMAIN, strlen(TIER_ZAP_DOMAIN)) != 0) {
        snprintf(err, errcap, "CURVE server setup: %s", zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    if (zmq_bind(s, endpoint) != 0) {
        snprintf(err, errcap, "bind %.128s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *tier_client_new(void *zctx, const char *endpoint, const char *server_key,
                      const char *public_key, const char *secret_key, int hwm, char *err,
                      size_t errcap)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int one = 1;

    if (s == NULL) {
        snprintf(err, errcap, "socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    tier_socket_common(s, hwm);
    /* queue nothing for a link that is not up: the stream in Redis is the queue */
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof(one));
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, TIER_KEY_TEXT) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public_key, TIER_KEY_TEXT) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_key, TIER_KEY_TEXT) != 0) {
        snprintf(err, errcap, "CURVE client setup: %s", zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, endpoint) != 0) {
        snprintf(err, errcap, "connect %.128s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* ------------------------------------------------------------------------------------------
 * ZAP (RFC 27) */

typedef struct tier_zap_entry_t {
    char tier[TIER_KEY_NAME_MAX];        /* the peer's tier key */
    char public_key[TIER_KEY_TEXT + 1];  /* its key */
} tier_zap_entry_t;

struct tier_zap_t {
    void *rep;                               /* bound at TIER_ZAP_ENDPOINT */
    tier_zap_entry_t allow[TIER_MAX_PEERS];  /* the allow-list */
    int n_allow;                             /* its length */
};

tier_zap_t *tier_zap_new(void *zctx, char *err, size_t errcap)
{
    tier_zap_t *z = calloc(1, sizeof(*z));
    int zero = 0;

    if (z == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    z->rep = zmq_socket(zctx, ZMQ_REP);
    if (z->rep == NULL || zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
        zmq_bind(z->rep, TIER_ZAP_ENDPOINT) != 0) {
        snprintf(err, errcap, "ZAP handler: %s", zmq_strerror(zmq_errno()));
        tier_zap_destroy(&z);
        return NULL;
    }
    return z;
}

void tier_zap_destroy(tier_zap_t **zap)
{
    if (zap == NULL || *zap == NULL)
        return;
    if ((*zap)->rep != NULL)
        zmq_close((*zap)->rep);
    free(*zap);
    *zap = NULL;
}

void *tier_zap_socket(tier_zap_t *zap)
{
    return zap->rep;
}

void tier_zap_allow(tier_zap_t *zap, const tier_peer_t *peers, int n)
{
    zap->n_allow = 0;
    for (int i = 0; i < n && i < TIER_MAX_PEERS; i++) {
        snprintf(zap->allow[i].tier, sizeof(zap->allow[i].tier), "%s", peers[i].tier);
        memcpy(zap->allow[i].public_key, peers[i].public_key, TIER_KEY_TEXT + 1);
        zap->n_allow++;
    }
}

#define TIER_ZAP_PARTS 8 /* version, id, domain, address, identity, mechanism, credentials */

static void tier_zap_reply(void *rep, const zmq_msg_t *reqid, const char *code,
                           const char *text, const char *user)
{
    zmq_msg_t id;

    zmq_send(rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_msg_init(&id);
    if (reqid != NULL)
        zmq_msg_copy(&id, (zmq_msg_t *)reqid);
    zmq_msg_send(&id, rep, ZMQ_SNDMORE);
    zmq_msg_close(&id);
    zmq_send(rep, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(rep, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(rep, "", 0, 0);
}

int tier_zap_serve(tier_zap_t *zap, tier_zap_verdict_t *ret)
{
    zmq_msg_t parts[TIER_ZAP_PARTS];
    int n = 0, more = 1, rc = 0;
    const char *mech;
    size_t mech_len;

    memset(ret, 0, sizeof(*ret));
    while (more && n < TIER_ZAP_PARTS) {
        zmq_msg_init(&parts[n]);
        if (zmq_msg_recv(&parts[n], zap->rep, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&parts[n]);
            if (n == 0)
                return -EAGAIN;
            break;
        }
        more = zmq_msg_more(&parts[n]);
        n++;
    }
    while (more) { /* more parts than the protocol has: drain them */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        if (zmq_msg_recv(&extra, zap->rep, 0) < 0)
            more = 0;
        else
            more = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
    }
    if (n < 7) {
        snprintf(ret->why, sizeof(ret->why), "malformed ZAP request (%d parts)", n);
        /* REP must answer every request, or it takes no other */
        tier_zap_reply(zap->rep, n >= 2 ? &parts[1] : NULL, "500", "malformed request", "");
        rc = -EPROTO;
        goto out;
    }
    snprintf(ret->address, sizeof(ret->address), "%.*s", (int)zmq_msg_size(&parts[3]),
             (const char *)zmq_msg_data(&parts[3]));
    mech = zmq_msg_data(&parts[5]);
    mech_len = zmq_msg_size(&parts[5]);
    if (mech_len != 5 || memcmp(mech, "CURVE", 5) != 0 || n < 7 ||
        zmq_msg_size(&parts[6]) != 32) {
        snprintf(ret->why, sizeof(ret->why), "not a CURVE client");
        tier_zap_reply(zap->rep, &parts[1], "400", "CURVE only", "");
        goto out;
    }
    zmq_z85_encode(ret->key, zmq_msg_data(&parts[6]), 32);
    for (int i = 0; i < zap->n_allow; i++) {
        if (strcmp(zap->allow[i].public_key, ret->key) == 0) {
            ret->allowed = 1;
            snprintf(ret->tier, sizeof(ret->tier), "%s", zap->allow[i].tier);
            break;
        }
    }
    if (ret->allowed) {
        tier_zap_reply(zap->rep, &parts[1], "200", "OK", ret->tier);
    } else {
        snprintf(ret->why, sizeof(ret->why), "key not in the allow-list");
        tier_zap_reply(zap->rep, &parts[1], "400", "key not allowed", "");
    }
out:
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Stream ids */

static void tier_id_parse(const char *s, unsigned long long *ms, unsigned long long *seq)
{
    char *end;

    *ms = 0;
    *seq = 0;
    if (s == NULL || *s == '\0')
        return;
    *ms = strtoull(s, &end, 10);
    if (*end == '-')
        *seq = strtoull(end + 1, NULL, 10);
}

int tier_id_cmp(const char *a, const char *b)
{
    unsigned long long ams, aseq, bms, bseq;

    tier_id_parse(a, &ams, &aseq);
    tier_id_parse(b, &bms, &bseq);
    if (ams != bms)
        return ams < bms ? -1 : 1;
    if (aseq != bseq)
        return aseq < bseq ? -1 : 1;
    return 0;
}
