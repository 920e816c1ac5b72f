/* webhook.h -- signed webhook delivery: a pool of non-blocking HTTP POSTs (libcurl multi).
 *
 * The notifier's one event loop owns a pool. It submits a request with a tag of its choosing,
 * calls webhook_pool_perform() with a short wait while webhook_pool_in_flight() is non-zero, and
 * collects each finished transfer with webhook_pool_next_done(). Nothing here blocks longer than
 * the wait the caller passes, and nothing here logs: results carry a short error text instead.
 *
 * Every POST carries:
 *   Content-Type: application/json
 *   X-Rexian-Notification-Id: <id>    stable across retries; receivers deduplicate on it
 *   X-Rexian-Event: <kind>
 *   X-Rexian-Timestamp: <unix seconds at this attempt>
 *   X-Rexian-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
 *   User-Agent: WEBHOOK_USER_AGENT
 * The timestamp is inside the signature, so a receiver that refuses old timestamps (five minutes
 * is usual) cannot be fed a captured request again later. Each attempt is signed afresh. */
#ifndef REXIAN_WEBHOOK_H
#define REXIAN_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_MAX_URL 512              /* bytes in a URL, http:// or https:// only */
#define WEBHOOK_MAX_BODY (64 * 1024)     /* bytes in a request body */
#define WEBHOOK_MAX_SECRET 256           /* bytes in a signing secret (at least 1) */
#define WEBHOOK_MAX_ID 128               /* bytes in a notification id (visible ASCII, no space) */
#define WEBHOOK_MAX_EVENT 64             /* bytes in an event kind (visible ASCII, no space) */
#define WEBHOOK_MAX_PARALLEL 1024        /* upper bound for a pool's max_parallel */
#define WEBHOOK_MAX_TIMEOUT_MS 600000    /* upper bound for a pool's per-transfer timeout */
#define WEBHOOK_CONNECT_TIMEOUT_MS 10000 /* connect phase limit (or the total, when smaller) */
#define WEBHOOK_USER_AGENT "rexian-notifier/1"

#define WEBHOOK_BACKOFF_BASE_MS 1000  /* first retry delay before jitter */
#define WEBHOOK_BACKOFF_CAP_MS 300000 /* no retry delay is longer than five minutes */

typedef struct webhook_pool webhook_pool_t;

/* One delivery. All strings are borrowed for the duration of webhook_pool_submit() only. */
typedef struct webhook_req_t {
    const char *url;             /* http:// or https://, at most WEBHOOK_MAX_URL bytes */
    const char *secret;          /* the endpoint's signing secret */
    const char *notification_id; /* stable id the receiver deduplicates on */
    const char *event;           /* event kind, e.g. "ticket.overdue" */
    const char *body;            /* JSON text; need not be NUL-terminated */
    size_t body_len;             /* bytes in body, 1 .. WEBHOOK_MAX_BODY */
} webhook_req_t;

/* The outcome of one finished transfer. */
typedef struct webhook_result_t {
    uint64_t tag;       /* the tag given to webhook_pool_submit() */
    long http_status;   /* the response status, 0 when no response arrived */
    int ok;             /* 1 when the status is 2xx, else 0 */
    char error[128];    /* "" when ok, else e.g. "HTTP 500", "timeout after 5000 ms" */
    int64_t elapsed_ms; /* from submit to the end of the transfer */
} webhook_result_t;

/* A pool that runs up to max_parallel (1 .. WEBHOOK_MAX_PARALLEL) transfers at once, each
 * limited to timeout_ms (1 .. WEBHOOK_MAX_TIMEOUT_MS) in total. Returns NULL on bad arguments or
 * when libcurl cannot start. Caller owns the pool. */
webhook_pool_t *webhook_pool_new(int max_parallel, long timeout_ms);

/* Aborts transfers still running (their results are dropped), frees the pool and sets *pool to
 * NULL. Accepts NULL and a pointer to NULL. */
void webhook_pool_destroy(webhook_pool_t **pool);

/* Checks a request against the limits above without sending it. Returns 0, or -EINVAL (bad URL,
 * scheme, secret, id or event) or -EMSGSIZE (body too large), with what is wrong in err. */
int webhook_req_check(const webhook_req_t *req, char *err, size_t errcap);

/* Starts a delivery; copies what it needs from req. Returns 0, -EINVAL or -EMSGSIZE (see
 * webhook_req_check), -EBUSY when max_parallel transfers are running or waiting to be collected
 * (try again after webhook_pool_next_done), or -ENOMEM / -EIO when libcurl fails. */
int webhook_pool_submit(webhook_pool_t *pool, const webhook_req_t *req, uint64_t tag);

/* Drives transfers: waits up to wait_ms for network activity (less when a transfer needs
 * attention sooner), then lets libcurl work. Returns at once when nothing is in flight. Returns
 * the number of results waiting for webhook_pool_next_done(), or -EIO on a libcurl failure. */
int webhook_pool_perform(webhook_pool_t *pool, int wait_ms);

/* Moves one finished transfer's result into *ret_result and frees its slot. Returns 0, or
 * -EAGAIN when none is waiting. Results come in the order the transfers finished. */
int webhook_pool_next_done(webhook_pool_t *pool, webhook_result_t *ret_result);

/* Transfers submitted and not yet finished. */
size_t webhook_pool_in_flight(const webhook_pool_t *pool);

/* Writes the lowercase hex HMAC-SHA256 of (ts as decimal + "." + body) under secret, NUL
 * terminated, into ret_hex. Returns 0, -EINVAL (empty or too long secret, negative ts, NULL body
 * with len > 0) or -EIO (OpenSSL failure). */
int webhook_sign(const char *secret, long ts, const char *body, size_t len, char ret_hex[65]);

/* Delay before retry number `attempt` (1 for the first retry; values below 1 count as 1):
 * exponential backoff with equal jitter. The ceiling is
 *     c = min(WEBHOOK_BACKOFF_CAP_MS, WEBHOOK_BACKOFF_BASE_MS * 2^(attempt-1))
 * and the delay is c/2 + rnd % (c/2 + 1), so it lies in [c/2, c]: it always grows with the
 * attempt (a dead endpoint is not hammered), while the random half spreads the retries of many
 * notifications that failed together. rnd is any uniformly random 32-bit number. */
int64_t webhook_backoff_ms(int attempt, uint32_t rnd);

#endif
