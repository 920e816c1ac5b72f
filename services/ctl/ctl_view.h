/* ctl_view.h -- what rexianctl prints: a ticket, a page of tickets, a health answer and an
 * error line, as terminal text (UTF-8, aligned by display width, control characters removed);
 * the aligned table and time helpers the other views share */
#ifndef REXIAN_CTL_VIEW_H
#define REXIAN_CTL_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_VIEW_LINE_MAX 640  /* buffer for ctl_view_error(), NUL included */
#define CTL_VIEW_TABLE_COLS 20 /* most columns a table has */
#define CTL_VIEW_TIME_MAX 40   /* buffer for a shortened time, NUL included */

/* Rows of text cells printed with columns aligned by display width. Set ncols, heads and caps
 * (and right when wanted), add rows, print, free. */
typedef struct ctl_view_table_t {
    int ncols;                 /* columns in use, 1 to CTL_VIEW_TABLE_COLS */
    const char *const *heads;  /* column titles, borrowed */
    const int *caps;           /* widest each column may get; -1 = no limit (last column) */
    const int *right;          /* 1 for a column aligned right (numbers); NULL: all left */
    char **cells;              /* row-major cells, owned; NULL cells print empty */
    size_t nrows;              /* rows added */
    size_t cap;                /* rows allocated */
} ctl_view_table_t;

/* Columns a UTF-8 string takes on a terminal: 2 for CJK and other wide characters, 0 for
 * combining marks, 1 otherwise (a control character or a broken byte counts 1, as it is
 * shown as '?'). */
size_t ctl_view_width(const char *s);

/* Writes s in exactly `width` columns: cut with "…" when wider, padded with spaces when
 * narrower; width < 0 writes it whole. Control characters and bidirectional overrides become
 * '?' (a newline becomes a space). */
void ctl_view_cell(FILE *out, const char *s, int width);

/* Copies one row of ncols cells (NULL cells print empty). Returns 0, -ENOMEM, or -EINVAL for
 * a table without a valid ncols. */
int ctl_view_table_add(ctl_view_table_t *t, const char *const *row);

/* Prints the titles and the rows, each line after indent; cells wider than their cap are cut
 * with "…". */
void ctl_view_table_print(FILE *out, const ctl_view_table_t *t, const char *indent);

/* Frees the rows; the table can be filled again. */
void ctl_view_table_free(ctl_view_table_t *t);

/* "2026-02-24T17:30:00.250+08:00" -> "2026-02-24 17:30:00" in buf (or "... 17:30" when
 * seconds is 0); an offset other than Beijing time's is kept, other text copied. NULL for
 * NULL. */
const char *ctl_view_time(const char *s, int seconds, char buf[CTL_VIEW_TIME_MAX]);

/* Milliseconds since 1970 (as the store keeps times inside documents) as Beijing time,
 * "2026-11-25 10:00:00" in buf; NULL when v is not such a number. */
const char *ctl_view_ms_time(const json_t *v, char buf[CTL_VIEW_TIME_MAX]);

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
