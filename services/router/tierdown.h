/* tierdown.h -- the city router's rule for county matters: an order the catalogue cannot place
 * with a city department, whose address or text names a county's place (the counties file of
 * `[tier] counties`), goes down to that county by itself, through the store's down_dispatch (the
 * same step as POST /v1/tiers/dispatch). Only in a city tier; the file is read again when it
 * changes (checked at most once a second). */
#ifndef REXIAN_TIERDOWN_H
#define REXIAN_TIERDOWN_H

#include "config.h"
#include "rds.h"
#include "tier.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tierdown_t tierdown_t;

/* Reads the counties file of a city tier. Returns NULL with err "" when the tier is not a city
 * or lists no counties file, NULL with "file:line: what is wrong" in err on failure. */
tierdown_t *tierdown_new(const config_t *cfg, char *err, size_t errcap);
void tierdown_destroy(tierdown_t **td);

/* Reads the counties file again when it changed since it was read (at most once a second, by
 * mono_ms). Returns 1 when reloaded, 0 when unchanged, -1 with the reason in err when the new
 * file is wrong (the previous list stays; said once per change). */
int tierdown_refresh(tierdown_t *td, int64_t mono_ms, char *err, size_t errcap);

/* The county whose place name the address names, else the one the text names; NULL when none
 * does or the county has no link endpoint to send to. ret_from gets "address" or "text". */
const tier_peer_t *tierdown_match(const tierdown_t *td, const char *address, const char *text,
                                  const char **ret_from);

/* Appends (pipelines) down_dispatch for one order: the order goes to county p, recorded as the
 * router's (actor = instance, role router) with a note saying which place decided. The caller
 * reads one reply: {1, message id} or {0, status, code, message}. Returns 0 or -ENOMEM/-EIO. */
int tierdown_append(rds_t *r, const config_t *cfg, const char *ticket, const tier_peer_t *p,
                    const char *from, int64_t now_ms, const char *instance);

#endif
