/* tier.h -- the links between tiers (county <-> city): CURVE keys, the encrypted DEALER and
 * ROUTER sockets, the peers file (the allow-list of public keys with each peer's endpoint and
 * place names) and a ZAP handler that lets in only listed keys.
 *
 * Without a ZAP handler CURVE encrypts but lets any key in, so a process that binds a tier link
 * also binds the handler (inproc://zeromq.zap.01, in the link's own ZeroMQ context) and polls it
 * in its one loop. The handler's answer names the peer: messages from it carry the peer's tier
 * key as their "User-Id" property, so a peer's identity comes from its key, never from what it
 * writes in a frame. No logging here: callers log the verdicts tier_zap_serve returns. */
#ifndef REXIAN_TIER_H
#define REXIAN_TIER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TIER_KEY_TEXT 40       /* Z85 characters of a CURVE key */
#define TIER_MAX_PEERS 64      /* counties a city lists */
#define TIER_MAX_PLACES 32     /* place names per county, for dispatching down */
#define TIER_PLACE_MAX 64      /* bytes of one place name */
#define TIER_KEY_NAME_MAX 32   /* bytes of a tier key, e.g. "bx" */
#define TIER_ZAP_DOMAIN "rexian-tier"
#define TIER_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* One peer tier in the allow-list. */
typedef struct tier_peer_t {
    char tier[TIER_KEY_NAME_MAX];            /* its tier key ("bx"): the User-Id of its frames */
    char name[64];                           /* display name, e.g. 北县 */
    char public_key[TIER_KEY_TEXT + 1];      /* its CURVE public key (Z85) */
    char endpoint[128];                      /* where its intake's tier link listens, or "" */
    char places[TIER_MAX_PLACES][TIER_PLACE_MAX]; /* place names inside it (dispatch) */
    int n_places;                            /* how many */
} tier_peer_t;

/* The peers file, e.g. a city's counties.conf:
 *   [county bx]
 *   name = 北县
 *   public_key = keys/bx.pub        ; a file holding the Z85 key, or the 40 characters
 *   link = tcp://10.1.0.2:7401      ; the county intake's tier link (dispatch down)
 *   places = 北县, 城关镇, 河西乡
 * Relative key paths are relative to the peers file. */
typedef struct tier_peers_t {
    tier_peer_t peers[TIER_MAX_PEERS]; /* in file order */
    int n;                             /* how many */
    struct timespec mtime;             /* the file's modification time when read */
} tier_peers_t;

/* Reads a key: value is either the 40 Z85 characters themselves or the name of a file whose
 * first line holds them (relative to dir when not absolute). ret_key gets 41 bytes. Returns 0,
 * or -1 with what is wrong in err. */
int tier_key_read(const char *value, const char *dir, char *ret_key, char *err, size_t errcap);

/* A new CURVE key pair (Z85, 41 bytes each). Returns 0 or -1 (no CURVE in libzmq). */
int tier_keypair_new(char *ret_public, char *ret_secret);

/* The public key of a secret key (Z85 both). Returns 0 or -1 when the secret is not a key. */
int tier_key_public(const char *secret, char *ret_public);

/* Reads the peers file into *ret. Returns 0, or -1 with "file:line: what is wrong" in err. */
int tier_peers_load(const char *path, tier_peers_t *ret, char *err, size_t errcap);

/* 1 when the file's modification time differs from the one read into peers (reload it). */
int tier_peers_changed(const char *path, const tier_peers_t *peers);

/* The peer with that tier key or public key, or NULL. */
const tier_peer_t *tier_peers_find(const tier_peers_t *peers, const char *tier);
const tier_peer_t *tier_peers_by_key(const tier_peers_t *peers, const char *public_key);

/* The first peer one of whose place names occurs in text (UTF-8 substring), or NULL. The
 * longest matching place wins, so "河西乡" beats "河西". */
const tier_peer_t *tier_peers_match(const tier_peers_t *peers, const char *text);

/* ------------------------------------------------------------------------------------------
 * Sockets. Both set ZMQ_MAXMSGSIZE, linger 0, heartbeats (a cut link is noticed within
 * about three seconds) and the high-water marks. Return the socket (caller closes) or NULL
 * with the reason in err. */

/* ROUTER bound at endpoint as a CURVE server with the ZAP domain TIER_ZAP_DOMAIN. */
void *tier_server_new(void *zctx, const char *endpoint, const char *secret_key, int hwm,
                      char *err, size_t errcap);

/* DEALER connecting to endpoint as a CURVE client that accepts only server_key. Sends fail at
 * once (EAGAIN) while no connection is up or hwm frames are queued. */
void *tier_client_new(void *zctx, const char *endpoint, const char *server_key,
                      const char *public_key, const char *secret_key, int hwm, char *err,
                      size_t errcap);

/* ------------------------------------------------------------------------------------------
 * ZAP handler with an allow-list */

typedef struct tier_zap_t tier_zap_t;

/* What the handler decided for one connection attempt. */
typedef struct tier_zap_verdict_t {
    int allowed;                       /* 1 let in, 0 refused */
    char key[TIER_KEY_TEXT + 1];       /* the client's public key (Z85) */
    char tier[TIER_KEY_NAME_MAX];      /* the listed peer's tier key, "" when refused */
    char address[64];                  /* the client's IP address */
    char why[64];                      /* why it was refused */
} tier_zap_verdict_t;

/* Binds the handler in zctx (before any CURVE server socket of that context binds). Returns
 * NULL with the reason in err. */
tier_zap_t *tier_zap_new(void *zctx, char *err, size_t errcap);
void tier_zap_destroy(tier_zap_t **zap);
/* The REP socket to add to the loop (borrowed). */
void *tier_zap_socket(tier_zap_t *zap);
/* Replaces the allow-list (copied): tier key and public key of each peer. */
void tier_zap_allow(tier_zap_t *zap, const tier_peer_t *peers, int n);
/* Answers one waiting request. Returns 0 with *ret filled, -EAGAIN when none is waiting, or
 * -EPROTO after refusing a malformed request (ret->why says what). */
int tier_zap_serve(tier_zap_t *zap, tier_zap_verdict_t *ret);

/* ------------------------------------------------------------------------------------------
 * Redis stream ids ("ms-seq") */

/* Compares two stream ids numerically: <0, 0, >0. "" and "0" count as 0-0. */
int tier_id_cmp(const char *a, const char *b);

#endif
