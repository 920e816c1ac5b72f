/* ctl_deadletters.c -- what rexianctl prints about dead letters: the list, one dead letter with
 * its message, retried and dropped */
#include "ctl_deadletters.h"

#include "ctl_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CTL_DL_LABEL 12 /* columns of the labels of show */
#define CTL_DL_NUM 32   /* buffer for a number as text */

static const char *ctl_dl_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A whole number (a Lua encoder may write it as a real) as text in buf; NULL when v is not
 * a number. */
static const char *ctl_dl_int(const json_t *v, char buf[CTL_DL_NUM])
{
    if (json_is_integer(v))
        snprintf(buf, CTL_DL_NUM, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15)
        snprintf(buf, CTL_DL_NUM, "%.0f", json_real_value(v));
    else
        return NULL;
    return buf;
}

/* Newest first; the same time by stage, then id, so the order is the same from run to run
 * (the server's follows hash order). */
static int ctl_dl_cmp(const void *x, const void *y)
{
    const json_t *a = *(const json_t *const *)x, *b = *(const json_t *const *)y;
    double ta = json_number_value(json_object_get(a, "at"));
    double tb = json_number_value(json_object_get(b, "at"));
    const char *sa = ctl_dl_str(a, "stage"), *sb = ctl_dl_str(b, "stage");
    const char *ia = ctl_dl_str(a, "id"), *ib = ctl_dl_str(b, "id");
    int c;

    if (ta != tb)
        return ta > tb ? -1 : 1;
    if ((c = strcmp(sa != NULL ? sa : "", sb != NULL ? sb : "")) != 0)
        return c;
    return strcmp(ia != NULL ? ia : "", ib != NULL ? ib : "");
}

int ctl_dl_list(FILE *out, const json_t *answer)
{
    static const char *const heads[] = {"STAGE", "ID", "TICKET", "ATTEMPTS", "LAST ERROR",
                                        "WHEN"};
    /* the id is what show, retry and drop take: it is never cut */
    static const int caps[] = {8, -1, 24, 8, 48, 19};
    static const int right[] = {0, 0, 0, 1, 0, 0};
    const json_t *items = json_object_get(answer, "items"), *e;
    ctl_view_table_t t = {.ncols = 6, .heads = heads, .caps = caps, .right = right};
    const json_t **sorted;
    size_t i, n = 0;
    int ret = 0;

    if (!json_is_array(items))
        return -EINVAL;
    if ((sorted = calloc(json_array_size(items) + 1, sizeof(*sorted))) == NULL)
        return -ENOMEM;
    json_array_foreach(items, i, e) {
        if (json_is_object(e))
            sorted[n++] = e;
    }
    qsort(sorted, n, sizeof(*sorted), ctl_dl_cmp);
    for (i = 0; i < n && ret == 0; i++) {
        char attempts[CTL_DL_NUM], when[CTL_VIEW_TIME_MAX];
        const char *row[] = {ctl_dl_str(sorted[i], "stage"), ctl_dl_str(sorted[i], "id"),
                             ctl_dl_str(sorted[i], "ticket"),
                             ctl_dl_int(json_object_get(sorted[i], "attempts"), attempts),
                             ctl_dl_str(sorted[i], "error"),
                             ctl_view_ms_time(json_object_get(sorted[i], "at"), when)};
        ret = ctl_view_table_add(&t, row);
    }
    if (ret == 0) {
        if (t.nrows > 0)
            ctl_view_table_print(out, &t, "");
        fprintf(out, "%zu dead letter%s%s\n", t.nrows, t.nrows == 1 ? "" : "s",
                t.nrows >= CTL_DL_LIST_MAX ? " (the server lists at most 1000: narrow it with "
                                             "--stage)" : "");
    }
    ctl_view_table_free(&t);
    free(sorted);
    return ret;
}

/* "label       value" on one line (value made safe for a terminal); nothing when value is
 * NULL. */
static void ctl_dl_field(FILE *out, const char *label, const char *value)
{
    if (value == NULL)
        return;
    fprintf(out, "%-*s", CTL_DL_LABEL, label);
    ctl_view_cell(out, value, -1);
    fputc('\n', out);
}

/* v as indented JSON, each line after indent. Control characters are escaped by the encoder;
 * each line still goes through the cell writer for bidirectional overrides. */
static int ctl_dl_json(FILE *out, const json_t *v, const char *indent)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    char *line, *next;

    if (text == NULL)
        return -ENOMEM;
    for (line = text; line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        fputs(indent, out);
        ctl_view_cell(out, line, -1);
        fputc('\n', out);
    }
    free(text);
    return 0;
}

int ctl_dl_show(FILE *out, const json_t *answer)
{
    const json_t *rec = json_object_get(answer, "record");
    const json_t *msg = json_object_get(answer, "message");
    char num[CTL_DL_NUM], when[CTL_VIEW_TIME_MAX];

    if (!json_is_object(rec))
        return -EINVAL;
    ctl_dl_field(out, "stage", ctl_dl_str(answer, "stage"));
    ctl_dl_field(out, "id", ctl_dl_str(answer, "id"));
    ctl_dl_field(out, "ticket", ctl_dl_str(rec, "ticket"));
    ctl_dl_field(out, "attempts", ctl_dl_int(json_object_get(rec, "attempts"), num));
    ctl_dl_field(out, "dead since", ctl_view_ms_time(json_object_get(rec, "at"), when));
    ctl_dl_field(out, "last error", ctl_dl_str(rec, "error"));
    fputc('\n', out);
    if (!json_is_object(msg) || ctl_dl_str(msg, "type") == NULL) {
        /* the server answers {"error": ...} for a stored frame it cannot decode */
        const char *why = json_is_object(msg) ? ctl_dl_str(msg, "error") : NULL;
        ctl_dl_field(out, "message", why != NULL ? why : "none kept with the record");
        return 0;
    }
    ctl_dl_field(out, "message", ctl_dl_str(msg, "type"));
    ctl_dl_field(out, "message id", ctl_dl_str(msg, "id"));
    ctl_dl_field(out, "from", ctl_dl_str(msg, "src"));
    ctl_dl_field(out, "tier", ctl_dl_str(msg, "tier"));
    ctl_dl_field(out, "sent", ctl_view_ms_time(json_object_get(msg, "ts"), when));
    ctl_dl_field(out, "version", ctl_dl_int(json_object_get(msg, "v"), num));
    if (json_object_get(msg, "body") == NULL) {
        ctl_dl_field(out, "body", "none");
        return 0;
    }
    fputs("body\n", out);
    return ctl_dl_json(out, json_object_get(msg, "body"), "  ");
}

int ctl_dl_done(FILE *out, const json_t *answer, const char *action)
{
    const char *stage = ctl_dl_str(answer, "stage"), *id = ctl_dl_str(answer, "id");
    const char *done = ctl_dl_str(answer, "done");

    if (stage == NULL || id == NULL || done == NULL || strcmp(done, action) != 0)
        return -EINVAL;
    ctl_view_cell(out, stage, -1);
    fputc(' ', out);
    ctl_view_cell(out, id, -1);
    fprintf(out, " %s\n", strcmp(action, "drop") == 0 ? "dropped" : "retried");
    return 0;
}
