/* tierlink.h -- intake's side of the links between tiers (tier.h, feed.h): a ROUTER bound at
 * `[tier] link`, a CURVE server that lets in only listed keys (ZAP, in this process's loop).
 *
 * City: the counties (listed with their keys in `[tier] counties`, reloaded when the file
 * changes) feed their event streams here. Each event is stored under the county's own stream id,
 * so a resend is refused as a duplicate; the city acknowledges the last id stored. Each county
 * order is mirrored into the city's view, with per-county counters and feed quality. The city's
 * API under /v1/tiers/: county orders, one county order's timeline, per-county metrics and feed
 * quality, dispatching a city order down to a county and escalating (督办) a county order.
 *
 * County: the city (its key is `[tier] parent_key`) sends orders and escalations down here;
 * each becomes an order (or a timeline entry with notices) in the county, and is answered. */
#ifndef REXIAN_TIERLINK_H
#define REXIAN_TIERLINK_H

#include "httpd.h"
#include "svc.h"

#define TIERLINK_BATCH 4096      /* frames taken from the link per loop turn */
#define TIERLINK_NOTE_MAX 1000   /* bytes of a dispatch or escalation note */

typedef struct tierlink_t tierlink_t;

/* Binds the link if the config has one and registers it in the service's loop. Returns NULL
 * with err "" when this tier has no link, NULL with the reason in err on failure. */
tierlink_t *tierlink_new(svc_t *svc, char *err, size_t errcap);
void tierlink_destroy(tierlink_t **tl);

/* Answers requests under /v1/tiers/ (tl may be NULL: then it says the link is not set up).
 * Returns 1 when the path was its, 0 when it is not under /v1/tiers/. */
int tierlink_on_http(tierlink_t *tl, svc_t *svc, httpd_req_t *req);

#endif
