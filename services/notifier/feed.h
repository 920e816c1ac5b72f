/* feed.h -- the notifier's side of the links between tiers (tier.h), over CURVE-encrypted
 * DEALER sockets:
 *
 * County: forwards its event stream ({T}:events) to the city's intake, in order, from the last
 * id the city acknowledged. One notifier instance holds the feed's lease in Redis and forwards;
 * the others wait. At most FEED_WINDOW events are out without an ack; when no ack comes for
 * FEED_ACK_WAIT_MS it resends from the last ack (the city refuses duplicates by id). Once a
 * second it tells the city how many events wait (tier.hello), and trims the stream below the
 * acknowledged id and to the configured bound (`[tier] feed_bound`): /metrics shows what waits
 * and raises rexian_tier_feed_alarm at FEED_ALARM_PCT of the bound.
 *
 * City: sends the orders and escalations waiting in the down outbox ({C}:down) to each county's
 * intake link (the counties file names it) and records the county's answer.
 *
 * Frames (proto envelope; the body fields):
 *   tier.hello     county -> city   pending, lost, bound (ints)
 *   tier.event     county -> city   id = the county's stream id; prev (the id sent before it),
 *                                   gap (1: events before it were lost at the county), ticket,
 *                                   etype, rev, at, data (JSON), snap (JSON: the order now)
 *   tier.ack       city -> county   last (the last id stored), resend (1: start again from last)
 *   tier.order     city -> county   city_ticket, text, address, category, phone, urgency, note, by
 *   tier.escalate  city -> county   county_ticket, city_ticket, note, by
 *   tier.done      county -> city   ref (the message id answered), ok (1|0), county_ticket,
 *                                   error */
#ifndef REXIAN_FEED_H
#define REXIAN_FEED_H

#include "svc.h"

#define FEED_WINDOW 2048       /* events sent and not yet acknowledged */
#define FEED_READ 256          /* events read from Redis per call */
#define FEED_ACK_WAIT_MS 3000  /* no ack this long with events out: resend from the last ack */
#define FEED_ALARM_PCT 80      /* the alarm goes up when this % of the bound waits */
#define FEED_LINK_UP_MS 3500   /* the link counts as up while an ack came this recently */
#define FEED_RECONNECT_MS 10000 /* a link silent this long is made anew */

typedef struct feed_t feed_t;

/* Sets up the links the config asks for and registers them in the service's loop. Returns NULL
 * with err "" when this tier has no link to run, NULL with the reason in err on failure. */
feed_t *feed_new(svc_t *svc, char *err, size_t errcap);
void feed_destroy(feed_t **feed);

#endif
