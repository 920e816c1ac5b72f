/* steps.h -- the lifecycle steps of the HTTP API: POST /v1/tickets/ID/STEP. Each body is
 * checked here (types, limits, configured reason lists, times), then applied by the store's
 * ticket_step function, which checks the state machine, roles and revision atomically. */
#ifndef REXIAN_STEPS_H
#define REXIAN_STEPS_H

#include "config.h"
#include "units.h"

#include <jansson.h>
#include <stddef.h>

#define STEPS_NOTE_MAX 1000    /* bytes of a reason or note */
#define STEPS_REPLY_MAX 4000   /* bytes of a reply */
#define STEPS_EVIDENCE_MAX 10  /* evidence references per reply */

/* 1 when name is a step, else 0. ("create" is the body of POST /v1/tickets, not a step.) */
int steps_known(const char *name);

/* Checks a step's JSON body (or, as step "create", a new order's). Returns the body the store reads (caller owns), or NULL with the
 * HTTP status, a code, the field at fault (or "") and a message. now_ms is for time checks. */
json_t *steps_check(const char *step, const char *body, size_t len, const config_t *cfg,
                    const units_t *units, int64_t now_ms, int *ret_status, char *code,
                    char *field, char *msg, size_t msgcap);

#endif
