/* svc.h -- what every service process shares: config, log, Redis, the ZeroMQ context, the
 * instance registry, producers towards the other stages, the outbox redelivery timer, and an
 * HTTP listener with /metrics and /healthz. A service's main.c fills svc_opts_t and runs. */
#ifndef REXIAN_SVC_H
#define REXIAN_SVC_H

#include "config.h"
#include "httpd.h"
#include "loop.h"
#include "metrics.h"
#include "proto.h"
#include "rds.h"

#include <stdint.h>

typedef struct svc_t svc_t;

/* Handles decoded frames (from ZeroMQ or redelivered from the outbox). Every frame must be
 * either applied or left in the outbox (it is redelivered after the lease). Returns 0. */
typedef int(svc_batch_fn)(svc_t *svc, proto_msg_t *msgs, int n, void *arg);

/* How many more frames the consumer can take now (NULL: always a full batch). */
typedef int(svc_capacity_fn)(svc_t *svc, void *arg);

/* Handles an HTTP request other than /metrics and /healthz (404 if NULL). */
typedef void(svc_http_fn)(svc_t *svc, httpd_req_t *req, void *arg);

typedef enum svc_stage_t { STAGE_ROUTER, STAGE_WATCHER, STAGE_NOTIFIER, STAGE_COUNT } svc_stage_t;

typedef struct svc_opts_t {
    const char *name;       /* "intake", "router", ... for logs and metrics */
    int consumes;           /* the stage this service consumes, or -1 (intake) */
    int produces[STAGE_COUNT]; /* stages it sends to */
    svc_batch_fn *on_batch; /* frame handler (consumers) */
    svc_capacity_fn *capacity; /* backpressure: frames it can take now, or NULL */
    svc_http_fn *on_http;   /* extra HTTP routes */
    loop_fn *after;         /* run after every loop turn, or NULL */
    void *arg;              /* handlers' state, borrowed */
} svc_opts_t;

/* Loads the config named by argv (-c FILE or REXIAN_CONFIG), connects what it can (Redis may
 * be down: it reconnects by itself), binds. Logs and returns NULL on a fatal error. */
svc_t *svc_new(int argc, char **argv, const svc_opts_t *opts);
void svc_destroy(svc_t **svc);
/* Runs the loop until SIGINT/SIGTERM; unregisters the instance. Returns the exit code. */
int svc_run(svc_t *svc);

/* Sets the handlers' state when it can only be made after the service (e.g. it needs svc). */
void svc_set_arg(svc_t *svc, void *arg);

const config_t *svc_cfg(const svc_t *svc);
rds_t *svc_rds(svc_t *svc);
metrics_t *svc_metrics(svc_t *svc);
loop_t *svc_loop(svc_t *svc);
const char *svc_instance(const svc_t *svc); /* e.g. "router@10.0.0.5:4012" */
int64_t svc_now(const svc_t *svc);          /* wall ms, with the config's test offset */

/* Sends a frame to the stage's live instances; when none can take it the outbox redelivers it
 * later, so a failure here is counted, not returned. */
void svc_send(svc_t *svc, int stage, const char *frame, size_t len);

const char *svc_stage_name(int stage);

/* Lets the HTTP server send answers made outside its handlers (deferred ones) right away. */
void svc_http_kick(svc_t *svc);

/* Counts a Redis failure in metrics and logs it (rate-limited). */
void svc_redis_failed(svc_t *svc, const char *what);

#endif
