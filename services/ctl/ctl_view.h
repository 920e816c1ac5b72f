/* ctl_view.h -- what rexianctl prints: a ticket, a page of tickets, a health answer and an
 * error line, as terminal text (UTF-8, aligned by display width, control characters removed) */
#ifndef REXIAN_CTL_VIEW_H
#define REXIAN_CTL_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_VIEW_LINE_MAX 640 /* buffer for ctl_view_error(), NUL included */

/* Columns a UTF-8 string takes on a terminal: 2 for CJK and other wide characters, 0 for
 * combining marks, 1 otherwise (a control character or a broken byte counts 1, as it is
 * shown as '?'). */
size_t ctl_view_width(const char *s);

/* Writes s in exactly `width` columns: cut with "…" when wider, padded with spaces when
 * narrower; width < 0 writes it whole. Control characters and bidirectional overrides become
 * '?' (a newline becomes a space). */
void ctl_view_cell(FILE *out, const char *s, int width);

/* GET /v1/tickets/ID's answer as a readable page. Returns 0, or -EINVAL when ticket is not
 * a JSON object. */
int ctl_view_ticket(FILE *out, const json_t *ticket);

/* GET /v1/tickets's answer: a table, then "N of TOTAL" and the next offset. Returns 0, or
 * -EINVAL when page has no items array. */
int ctl_view_list(FILE *out, const json_t *page);

/* /healthz's answer as one line, "ok  service=intake instance=... redis=up". Returns 1 when
 * its status is "ok", 0 when another status, -EINVAL when it is not such an answer. */
int ctl_view_health(FILE *out, const json_t *health);

/* One line for an error answer: "400 invalid_value (caller.phone): caller.phone must be ...";
 * for a body that is not the API's error JSON, the status and the start of the body. */
void ctl_view_error(long status, const char *body, size_t len,
                    char ret_line[CTL_VIEW_LINE_MAX]);

#endif
