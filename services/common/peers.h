/* peers.h -- finding every live instance of a stage: each consumer instance binds its own
 * ZeroMQ endpoint and registers it in Redis with a short heartbeat; producers connect one PUSH
 * socket to every registered endpoint (ZeroMQ balances across them) and drop expired ones. */
#ifndef REXIAN_PEERS_H
#define REXIAN_PEERS_H

#include "rds.h"

#include <stddef.h>
#include <stdint.h>

#define PEERS_MAX 64 /* instances of one stage a producer connects to */

typedef struct peers_t peers_t;

/* A producer's view of `stage` ("router", "watcher", "notifier"). Creates a PUSH socket in
 * zctx (borrowed) with the given high-water mark. NULL on failure. */
peers_t *peers_new(void *zctx, const char *tier, const char *stage, int hwm);
void peers_destroy(peers_t **p);

/* Reads the registry (one round trip) and connects/disconnects. Returns live peers or -1. */
int peers_refresh(peers_t *p, rds_t *r, int64_t now_ms);
int peers_count(const peers_t *p);

/* Sends a frame without blocking. Returns 0, or -EAGAIN when no peer can take it now (the
 * outbox in Redis redelivers it later, so this is not an error for the caller). */
int peers_send(peers_t *p, const char *data, size_t len);

/* Consumer side: binds a PULL socket on `bind` (e.g. tcp://0.0.0.0:*), with ZMQ_MAXMSGSIZE.
 * Writes the endpoint others should connect to into ret_endpoint (the advertise host when
 * given, else this host's address for a wildcard bind). Returns the socket or NULL. */
void *peers_bind(void *zctx, const char *bind, const char *advertise, int hwm,
                 char *ret_endpoint, size_t cap);

/* Registers (or refreshes) this instance's endpoint for ttl_ms; also prunes expired ones. */
int peers_heartbeat(rds_t *r, const char *tier, const char *stage, const char *endpoint,
                    int64_t now_ms, int64_t ttl_ms);
/* Removes this instance at shutdown, so producers stop sending at once. */
int peers_unregister(rds_t *r, const char *tier, const char *stage, const char *endpoint);

#endif
