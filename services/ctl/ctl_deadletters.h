/* ctl_deadletters.h -- what rexianctl prints about dead letters: the list, one dead letter with
 * its message, and the line after a retry or drop */
#ifndef REXIAN_CTL_DEADLETTERS_H
#define REXIAN_CTL_DEADLETTERS_H

#include <jansson.h>
#include <stdio.h>

#define CTL_DL_LIST_MAX 1000 /* the server lists at most this many dead letters */

/* GET /v1/deadletters's answer: a table (stage, id, ticket, attempts, last error, when), newest
 * first, ids never cut; then how many. Returns 0, -EINVAL when the answer has no items array,
 * or -ENOMEM. */
int ctl_dl_list(FILE *out, const json_t *answer);

/* GET /v1/deadletters/STAGE/ID's answer: the record (stage, id, ticket, attempts, when, the
 * whole last error), then the message's envelope and its body as indented JSON. Returns 0,
 * -EINVAL when the answer has no record, or -ENOMEM. */
int ctl_dl_show(FILE *out, const json_t *answer);

/* The answer of POST .../retry or .../drop as one line, "notifier ID retried" ("dropped").
 * action is "retry" or "drop". Returns 0, or -EINVAL when the answer does not say that action
 * was done. */
int ctl_dl_done(FILE *out, const json_t *answer, const char *action);

#endif
