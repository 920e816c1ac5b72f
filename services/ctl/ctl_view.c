/* ctl_view.c -- what rexianctl prints: tickets, pages, health and error lines as terminal text */
#include "ctl_view.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_NOTE_MAX 1024   /* bytes of one timeline entry's notes */
#define CTL_LABEL_WIDTH 12  /* columns of the labels in a ticket's header */
#define CTL_LINE_MAX 1200   /* buffer for one composed "label  value" line of a ticket */
#define CTL_BEIJING_S (8 * 3600) /* Beijing time's offset from UTC, no daylight saving */

/* ---------------------------------------------------------------------------------------------
 * Characters and widths */

/* Decodes one UTF-8 character at s (not at its NUL). Returns its length in bytes; *ret_cp is
 * the code point, or UINT32_MAX for a broken sequence (then the length is 1). */
static size_t ctl_utf8(const unsigned char *s, uint32_t *ret_cp)
{
    uint32_t cp, min;
    size_t n;

    if (s[0] < 0x80) {
        *ret_cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        *ret_cp = UINT32_MAX;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) { /* also stops at the NUL */
            *ret_cp = UINT32_MAX;
            return 1;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *ret_cp = UINT32_MAX;
        return 1;
    }
    *ret_cp = cp;
    return n;
}

/* Characters a terminal must not get from a server: controls (they can move the cursor or
 * rewrite the screen) and bidirectional overrides (they reorder what is shown). */
static int ctl_unsafe(uint32_t cp)
{
    return cp == UINT32_MAX || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static int ctl_cp_width(uint32_t cp)
{
    if (ctl_unsafe(cp))
        return 1; /* shown as '?' */
    if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
        (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
        (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
        (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
        (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return 1;
}

size_t ctl_view_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    uint32_t cp;

    if (s == NULL)
        return 0;
    while (*p != '\0') {
        p += ctl_utf8(p, &cp);
        w += (size_t)ctl_cp_width(cp);
    }
    return w;
}

/* Writes one character of s (n bytes, code point cp) safely. */
static void ctl_put_cp(FILE *out, const unsigned char *s, size_t n, uint32_t cp)
{
    if (cp == '\n' || cp == '\t')
        fputc(' ', out);
    else if (ctl_unsafe(cp))
        fputc('?', out);
    else
        fwrite(s, 1, n, out);
}

/* Writes s cut to width columns ("…" marks the cut); pads to width when pad. */
static void ctl_cell(FILE *out, const char *s, int width, int pad)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t total = ctl_view_width((const char *)p), used = 0;
    int cut = width >= 0 && total > (size_t)width;
    uint32_t cp;

    while (*p != '\0') {
        size_t n = ctl_utf8(p, &cp);
        size_t w = (size_t)ctl_cp_width(cp);
        if (cut && used + w > (size_t)width - 1)
            break;
        ctl_put_cp(out, p, n, cp);
        used += w;
        p += n;
    }
    if (cut && width > 0) {
        fputs("…", out);
        used++;
    }
    while (pad && width >= 0 && used < (size_t)width) {
        fputc(' ', out);
        used++;
    }
}

void ctl_view_cell(FILE *out, const char *s, int width)
{
    ctl_cell(out, s, width, 1);
}

/* Writes a text of several lines, each after indent. */
static void ctl_block(FILE *out, const char *s, const char *indent)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;

    fputs(indent, out);
    while (*p != '\0') {
        size_t n = ctl_utf8(p, &cp);
        if (cp == '\n') {
            fputc('\n', out);
            if (p[1] != '\0')
                fputs(indent, out);
        } else if (cp != '\r') {
            ctl_put_cp(out, p, n, cp);
        }
        p += n;
    }
    fputc('\n', out);
}

/* ---------------------------------------------------------------------------------------------
 * Tables */

int ctl_view_table_add(ctl_view_table_t *t, const char *const *row)
{
    if (t->ncols < 1 || t->ncols > CTL_VIEW_TABLE_COLS)
        return -EINVAL;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*c));
        if (c == NULL)
            return -ENOMEM;
        t->cells = c;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char **cell = &t->cells[t->nrows * (size_t)t->ncols + (size_t)i];
        *cell = row[i] != NULL ? strdup(row[i]) : NULL;
        if (row[i] != NULL && *cell == NULL) {
            for (int k = 0; k < i; k++)
                free(t->cells[t->nrows * (size_t)t->ncols + (size_t)k]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

void ctl_view_table_print(FILE *out, const ctl_view_table_t *t, const char *indent)
{
    int width[CTL_VIEW_TABLE_COLS];

    if (t->ncols < 1 || t->ncols > CTL_VIEW_TABLE_COLS)
        return;
    for (int c = 0; c < t->ncols; c++) {
        size_t w = ctl_view_width(t->heads[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = ctl_view_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (cw > w)
                w = cw;
        }
        if (t->caps[c] >= 0 && w > (size_t)t->caps[c])
            w = (size_t)t->caps[c];
        width[c] = (int)w;
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        fputs(indent, out);
        for (int c = 0; c < t->ncols; c++) {
            const char *s = r == 0 ? t->heads[c] : t->cells[(r - 1) * (size_t)t->ncols + (size_t)c];
            int last = c == t->ncols - 1;
            if (t->right != NULL && t->right[c]) {
                /* numbers line up on their last digit */
                for (size_t w = ctl_view_width(s); w < (size_t)width[c]; w++)
                    fputc(' ', out);
                ctl_cell(out, s, width[c], 0);
            } else {
                ctl_cell(out, s, last ? t->caps[c] : width[c], !last);
            }
            if (!last)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
}

void ctl_view_table_free(ctl_view_table_t *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* ---------------------------------------------------------------------------------------------
 * JSON values as text */

/* The string at key, or NULL when absent, null or not a string. */
static const char *ctl_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "2026-02-24T17:30:00.250+08:00" -> "2026-02-24 17:30:00" (or "... 17:30" without seconds);
 * the offset is kept when it is not Beijing time's. Other text is copied as it is. */
const char *ctl_view_time(const char *s, int seconds, char buf[CTL_VIEW_TIME_MAX])
{
    size_t keep = seconds ? 19 : 16;
    const char *rest;

    if (s == NULL)
        return NULL;
    if (strlen(s) < 19 || s[4] != '-' || s[10] != 'T' || s[13] != ':') {
        snprintf(buf, CTL_VIEW_TIME_MAX, "%s", s);
        return buf;
    }
    rest = s + 19;
    if (*rest == '.')
        rest += strspn(rest + 1, "0123456789") + 1;
    snprintf(buf, CTL_VIEW_TIME_MAX, "%.10s %.*s%s%.12s", s, (int)(keep - 11), s + 11,
             *rest != '\0' && strcmp(rest, "+08:00") != 0 ? " " : "",
             strcmp(rest, "+08:00") != 0 ? rest : "");
    return buf;
}

static int ctl_looks_like_time(const char *s)
{
    return strlen(s) >= 19 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':';
}

/* Milliseconds since 1970 (as the store keeps times inside documents) as Beijing time,
 * "2026-11-25 10:00:00"; NULL when v is not such a number. */
const char *ctl_view_ms_time(const json_t *v, char buf[CTL_VIEW_TIME_MAX])
{
    struct tm tm;
    time_t t;

    /* a Lua encoder may write a large whole number as a real */
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1e15)
        return NULL;
    t = (time_t)(json_number_value(v) / 1000) + CTL_BEIJING_S;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, CTL_VIEW_TIME_MAX, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        return NULL;
    return buf;
}

/* One evidence item as "name (hash, url)". */
static void ctl_append_item(char *buf, size_t cap, size_t *o, const json_t *item)
{
    const char *parts[] = {ctl_str(item, "name"), ctl_str(item, "hash"), ctl_str(item, "url")};
    int shown = 0;

    for (int k = 0; k < 3 && *o + 1 < cap; k++) {
        if (parts[k] == NULL || *parts[k] == '\0')
            continue;
        *o += (size_t)snprintf(buf + *o, cap - *o, "%s%s",
                               shown == 1 ? " (" : shown > 1 ? ", " : "", parts[k]);
        shown++;
    }
    if (shown > 1 && *o + 1 < cap)
        *o += (size_t)snprintf(buf + *o, cap - *o, ")");
    if (*o >= cap)
        *o = cap - 1;
}

/* Evidence items joined by " | " (a timeline's notes already use "; " and ", "). */
static void ctl_append_evidence(char *buf, size_t cap, size_t *o, const json_t *list)
{
    const json_t *item;
    size_t i;

    json_array_foreach(list, i, item) {
        if (*o + 1 >= cap)
            break;
        if (i > 0)
            *o += (size_t)snprintf(buf + *o, cap - *o, " | ");
        if (*o >= cap)
            *o = cap - 1;
        ctl_append_item(buf, cap, o, item);
    }
}

/* Appends v as text to buf (at *o, cap bytes): strings as they are, arrays of scalars joined
 * by ',', numbers and booleans, other values as compact JSON. */
static void ctl_append_value(char *buf, size_t cap, size_t *o, const json_t *v)
{
    char tb[CTL_VIEW_TIME_MAX];

    if (*o >= cap)
        return;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        *o += (size_t)snprintf(buf + *o, cap - *o, "%s",
                               ctl_looks_like_time(s) ? ctl_view_time(s, 1, tb) : s);
    } else if (json_is_integer(v)) {
        *o += (size_t)snprintf(buf + *o, cap - *o, "%" JSON_INTEGER_FORMAT,
                               json_integer_value(v));
    } else if (json_is_real(v)) {
        *o += (size_t)snprintf(buf + *o, cap - *o, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        *o += (size_t)snprintf(buf + *o, cap - *o, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_null(v)) {
        *o += (size_t)snprintf(buf + *o, cap - *o, "-");
    } else {
        int scalars = json_is_array(v);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (json_is_object(e) || json_is_array(e))
                scalars = 0;
        if (scalars) {
            json_array_foreach(v, i, e) {
                if (i > 0 && *o < cap)
                    *o += (size_t)snprintf(buf + *o, cap - *o, ",");
                ctl_append_value(buf, cap, o, e);
            }
        } else {
            char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            *o += (size_t)snprintf(buf + *o, cap - *o, "%s", j != NULL ? j : "?");
            free(j);
        }
    }
    if (*o >= cap)
        *o = cap - 1;
}

static int ctl_is_empty(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_object(v) && json_object_size(v) == 0);
}

/* A timeline entry's notes: its note, then every field beyond at/actor/role/what/note as
 * key=value. */
static void ctl_notes(const json_t *e, char buf[CTL_NOTE_MAX])
{
    static const char *const known[] = {"at", "actor", "role", "what", "note", NULL};
    char tb[CTL_VIEW_TIME_MAX];
    size_t o = 0;
    const char *key;
    json_t *v;

    buf[0] = '\0';
    if (!ctl_is_empty(json_object_get(e, "note")))
        ctl_append_value(buf, CTL_NOTE_MAX, &o, json_object_get(e, "note"));
    json_object_foreach((json_t *)e, key, v) {
        int skip = ctl_is_empty(v);
        for (int k = 0; known[k] != NULL && !skip; k++)
            skip = strcmp(key, known[k]) == 0;
        if (skip || o + 2 >= CTL_NOTE_MAX)
            continue;
        o += (size_t)snprintf(buf + o, CTL_NOTE_MAX - o, "%s%s=", o ? "; " : "", key);
        if (o >= CTL_NOTE_MAX)
            o = CTL_NOTE_MAX - 1;
        if (strcmp(key, "evidence") == 0 && json_is_array(v))
            ctl_append_evidence(buf, CTL_NOTE_MAX, &o, v);
        else if (strcmp(key, "until") == 0 && ctl_view_ms_time(v, tb) != NULL)
            o += (size_t)snprintf(buf + o, CTL_NOTE_MAX - o, "%s", tb);
        else
            ctl_append_value(buf, CTL_NOTE_MAX, &o, v);
        if (o >= CTL_NOTE_MAX)
            o = CTL_NOTE_MAX - 1;
    }
}

/* One "  label       value" line of the ticket header; nothing for an empty value. */
static void ctl_field(FILE *out, const char *label, const char *value)
{
    if (value == NULL || *value == '\0')
        return;
    fputs("  ", out);
    ctl_cell(out, label, CTL_LABEL_WIDTH, 1);
    ctl_cell(out, value, -1, 0);
    fputc('\n', out);
}

/* ctl_field with a formatted value. */
static void ctl_fieldf(FILE *out, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ctl_fieldf(FILE *out, const char *label, const char *fmt, ...)
{
    char buf[CTL_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ctl_field(out, label, buf);
}

static int ctl_has(const json_t *t, const char *key)
{
    return !ctl_is_empty(json_object_get(t, key));
}

/* "" when s is NULL, so optional parts print as nothing. */
static const char *ctl_or(const char *s)
{
    return s != NULL ? s : "";
}

/* ---------------------------------------------------------------------------------------------
 * Views */

static void ctl_view_unit(FILE *out, const json_t *t)
{
    const char *unit = ctl_str(t, "unit"), *status = ctl_str(t, "status");
    const json_t *co = json_object_get(t, "co_units");
    char buf[512];
    size_t o = 0;

    if (unit == NULL) {
        ctl_field(out, "unit", status != NULL && strcmp(status, "pending_dispatch") == 0
                                   ? "none yet: waiting in the manual dispatch queue"
                                   : "none yet");
        return;
    }
    o = (size_t)snprintf(buf, sizeof(buf), "%s", unit);
    if (!ctl_is_empty(co) && o < sizeof(buf)) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, " (co-handlers: ");
        if (o < sizeof(buf))
            ctl_append_value(buf, sizeof(buf), &o, co);
        if (o < sizeof(buf))
            snprintf(buf + o, sizeof(buf) - o, ")");
    }
    ctl_field(out, "unit", buf);
}

/* The unit's reply to the citizen and its evidence. */
static void ctl_view_reply(FILE *out, const json_t *t)
{
    const char *text = ctl_str(t, "reply_text");
    const json_t *ev = json_object_get(t, "reply_evidence"), *item;
    char tb[CTL_VIEW_TIME_MAX], buf[CTL_LINE_MAX];
    size_t i;

    if (text == NULL || *text == '\0')
        return;
    if (ctl_str(t, "replied_at") != NULL)
        fprintf(out, "\nReply (%s)\n", ctl_view_time(ctl_str(t, "replied_at"), 1, tb));
    else
        fputs("\nReply\n", out);
    ctl_block(out, text, "  ");
    json_array_foreach(ev, i, item) {
        size_t o = 0;
        buf[0] = '\0';
        ctl_append_item(buf, sizeof(buf), &o, item);
        ctl_field(out, i == 0 ? "evidence" : "", buf);
    }
}

/* A unit's claim and its ruling: "1 rating, rating_not_about_unit: accepted by t-supervisor
 * (评价与路灯无关)". */
static void ctl_view_claim(FILE *out, const json_t *cl)
{
    char id[24];

    snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(cl, "id")));
    ctl_fieldf(out, "claim", "%s %s, %s: %s%s%s%s%s%s", id, ctl_or(ctl_str(cl, "kind")),
               ctl_or(ctl_str(cl, "reason")), ctl_or(ctl_str(cl, "status")),
               ctl_has(cl, "ruled_by") ? " by " : "", ctl_or(ctl_str(cl, "ruled_by")),
               ctl_has(cl, "ruling") ? " (" : "", ctl_or(ctl_str(cl, "ruling")),
               ctl_has(cl, "ruling") ? ")" : "");
}

/* How the order was handled beyond its clocks: acknowledgements, returns, sub-dispatches,
 * extensions, pauses, co-handlers' replies, the rating, claims, the outcome and merges.
 * Nothing when none. */
static void ctl_view_handling(FILE *out, const json_t *t)
{
    static const char *const keys[] = {"ack_at", "co_acks", "returned_by", "subs",
                                       "extension_state", "paused_at", "co_replies", "rating",
                                       "claims", "resolution", "closed_at", "merged_into",
                                       "merged", NULL};
    const char *status = ctl_or(ctl_str(t, "status")), *key;
    const json_t *v;
    char tb[CTL_VIEW_TIME_MAX], tb2[CTL_VIEW_TIME_MAX];
    /* the return window matters only while the unit can still return the order */
    int window = strcmp(status, "dispatched") == 0 || strcmp(status, "acknowledged") == 0;
    int any = window && ctl_has(t, "return_due");
    size_t i;

    for (int k = 0; keys[k] != NULL; k++)
        any |= ctl_has(t, keys[k]);
    if (!any)
        return;
    fputs("\nHandling\n", out);
    ctl_field(out, "acked", ctl_view_time(ctl_str(t, "ack_at"), 1, tb));
    json_object_foreach((json_t *)json_object_get(t, "co_acks"), key, v)
        ctl_fieldf(out, "co-acked", "%s  %s", key, ctl_or(ctl_view_ms_time(v, tb)));
    if (window)
        ctl_field(out, "return by", ctl_view_time(ctl_str(t, "return_due"), 1, tb));
    if (ctl_has(t, "returned_by"))
        ctl_fieldf(out, "returned", "by %s: %s%s%s%s", ctl_str(t, "returned_by"),
                   ctl_or(ctl_str(t, "return_reason")), ctl_has(t, "return_note") ? " (" : "",
                   ctl_or(ctl_str(t, "return_note")), ctl_has(t, "return_note") ? ")" : "");
    json_array_foreach(json_object_get(t, "subs"), i, v)
        ctl_fieldf(out, "sub", "%s, due %s, from %s: %s", ctl_or(ctl_str(v, "unit")),
                   ctl_or(ctl_view_ms_time(json_object_get(v, "due"), tb)),
                   ctl_or(ctl_str(v, "by")), ctl_or(ctl_str(v, "note")));
    if (ctl_has(t, "extension_state"))
        ctl_fieldf(out, "extension", "%s, until %s%s%s", ctl_str(t, "extension_state"),
                   ctl_or(ctl_view_time(ctl_str(t, "extension_until"), 1, tb)),
                   ctl_has(t, "extension_reason") ? ": " : "",
                   ctl_or(ctl_str(t, "extension_reason")));
    if (ctl_has(t, "paused_at"))
        ctl_fieldf(out, "paused", "since %s%s%s", ctl_view_time(ctl_str(t, "paused_at"), 1, tb),
                   ctl_has(t, "pause_reason") ? ": " : "", ctl_or(ctl_str(t, "pause_reason")));
    json_object_foreach((json_t *)json_object_get(t, "co_replies"), key, v) ctl_fieldf(
        out, "co-reply", "%s  %s: %s", key, ctl_or(ctl_view_ms_time(json_object_get(v, "at"), tb)),
        ctl_or(ctl_str(v, "text")));
    if (ctl_has(t, "rating"))
        ctl_fieldf(out, "rating", "%s%s%s%s%s%s", ctl_str(t, "rating"),
                   ctl_has(t, "rating_words") ? ": " : "", ctl_or(ctl_str(t, "rating_words")),
                   ctl_str(t, "rated_at") != NULL ? " (" : "",
                   ctl_or(ctl_view_time(ctl_str(t, "rated_at"), 1, tb2)),
                   ctl_str(t, "rated_at") != NULL ? ")" : "");
    json_array_foreach(json_object_get(t, "claims"), i, v)
        if (json_is_object(v))
            ctl_view_claim(out, v);
    ctl_field(out, "resolution", ctl_str(t, "resolution"));
    ctl_field(out, "answer", ctl_str(t, "answer"));
    ctl_field(out, "rejected", ctl_str(t, "reject_reason"));
    if (ctl_has(t, "closed_at"))
        ctl_fieldf(out, "closed", "%s%s%s", ctl_view_time(ctl_str(t, "closed_at"), 1, tb),
                   ctl_has(t, "close_reason") ? ": " : "", ctl_or(ctl_str(t, "close_reason")));
    ctl_field(out, "merged into", ctl_str(t, "merged_into"));
    if (json_is_array(json_object_get(t, "merged")) && ctl_has(t, "merged")) {
        char buf[CTL_LINE_MAX];
        size_t o = 0;
        buf[0] = '\0';
        ctl_append_value(buf, sizeof(buf), &o, json_object_get(t, "merged"));
        ctl_field(out, "merged here", buf);
    }
}

static int ctl_view_deadlines(FILE *out, const json_t *t)
{
    static const char *const heads[] = {"STAGE", "DUE", "STATE", "SPAN"};
    static const int caps[] = {8, 30, 16, 24};
    static const char *const stages[] = {"ack", "reply", "close"};
    const json_t *dl = json_object_get(t, "deadlines");
    ctl_view_table_t tab = {.ncols = 4, .heads = heads, .caps = caps};
    char tb[CTL_VIEW_TIME_MAX];
    int ret = 0;

    fprintf(out, "\nDeadlines%s\n", json_is_true(json_object_get(t, "deadlines_provisional"))
                                        ? " (provisional: the working calendar for a year they "
                                          "fall in is not loaded)"
                                        : "");
    for (int s = 0; s < 3 && ret == 0; s++) {
        const json_t *d = json_object_get(dl, stages[s]);
        if (!json_is_object(d))
            continue;
        const char *row[] = {stages[s], ctl_view_time(ctl_str(d, "due"), 1, tb),
                             ctl_str(d, "state"), ctl_str(d, "span")};
        ret = ctl_view_table_add(&tab, row);
    }
    if (tab.nrows == 0)
        fputs("  none running (the clocks start once the order is dispatched)\n", out);
    else
        ctl_view_table_print(out, &tab, "  ");
    ctl_view_table_free(&tab);
    return ret;
}

static void ctl_view_route(FILE *out, const json_t *t)
{
    const json_t *route = json_object_get(t, "route"), *cands, *c;
    char buf[1024], num[32];
    size_t o = 0, i;

    if (!json_is_object(route))
        return;
    fputs("\nRouting\n", out);
    ctl_field(out, "why", ctl_str(route, "why"));
    if (json_is_integer(json_object_get(route, "score"))) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(route, "score")));
        ctl_field(out, "score", num);
    }
    cands = json_object_get(route, "candidates");
    buf[0] = '\0';
    json_array_foreach(cands, i, c) {
        if (o + 2 >= sizeof(buf))
            break;
        if (i > 0)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, ", ");
        if (json_is_object(c) && ctl_str(c, "unit") != NULL) {
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", ctl_str(c, "unit"));
            if (json_is_integer(json_object_get(c, "score")) && o < sizeof(buf))
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %" JSON_INTEGER_FORMAT,
                                      json_integer_value(json_object_get(c, "score")));
        } else if (o < sizeof(buf)) {
            ctl_append_value(buf, sizeof(buf), &o, c);
        }
        if (o >= sizeof(buf))
            o = sizeof(buf) - 1;
    }
    ctl_field(out, "candidates", buf);
}

static int ctl_view_timeline(FILE *out, const json_t *t)
{
    static const char *const heads[] = {"TIME", "ACTOR", "WHAT", "NOTES"};
    static const int caps[] = {30, 44, 24, -1};
    const json_t *tl = json_object_get(t, "timeline"), *e;
    ctl_view_table_t tab = {.ncols = 4, .heads = heads, .caps = caps};
    char tb[CTL_VIEW_TIME_MAX], actor[160], notes[CTL_NOTE_MAX];
    size_t i;
    int ret = 0;

    fputs("\nTimeline\n", out);
    json_array_foreach(tl, i, e) {
        const char *who = ctl_str(e, "actor"), *role = ctl_str(e, "role");
        if (!json_is_object(e))
            continue;
        /* "router@host/pid" already says its role */
        if (role != NULL && *role != '\0' &&
            (who == NULL || strncmp(who, role, strlen(role)) != 0))
            snprintf(actor, sizeof(actor), "%s (%s)", who != NULL ? who : "?", role);
        else
            snprintf(actor, sizeof(actor), "%s", who != NULL ? who : "-");
        ctl_notes(e, notes);
        const char *row[] = {ctl_view_time(ctl_str(e, "at"), 1, tb), actor, ctl_str(e, "what"),
                             notes};
        if ((ret = ctl_view_table_add(&tab, row)) != 0)
            break;
    }
    if (tab.nrows == 0)
        fputs("  empty\n", out);
    else
        ctl_view_table_print(out, &tab, "  ");
    ctl_view_table_free(&tab);
    return ret;
}

static int ctl_view_notifications(FILE *out, const json_t *t)
{
    static const char *const heads[] = {"KIND", "TARGET", "STATE", "ATTEMPTS", "LAST ERROR"};
    static const int caps[] = {24, 32, 12, 8, -1};
    const json_t *nt = json_object_get(t, "notifications"), *n;
    ctl_view_table_t tab = {.ncols = 5, .heads = heads, .caps = caps};
    char attempts[32], last[CTL_NOTE_MAX];
    size_t i;
    int ret = 0;

    fputs("\nNotifications\n", out);
    json_array_foreach(nt, i, n) {
        size_t o = 0;
        if (!json_is_object(n))
            continue;
        snprintf(attempts, sizeof(attempts), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(n, "attempts")));
        last[0] = '\0';
        if (!ctl_is_empty(json_object_get(n, "last_error")))
            ctl_append_value(last, sizeof(last), &o, json_object_get(n, "last_error"));
        const char *row[] = {ctl_str(n, "kind"), ctl_str(n, "target"), ctl_str(n, "state"),
                             attempts, last};
        if ((ret = ctl_view_table_add(&tab, row)) != 0)
            break;
    }
    if (tab.nrows == 0)
        fputs("  none\n", out);
    else
        ctl_view_table_print(out, &tab, "  ");
    ctl_view_table_free(&tab);
    return ret;
}

int ctl_view_ticket(FILE *out, const json_t *t)
{
    const char *text = ctl_str(t, "text");
    const json_t *caller;
    char tb[CTL_VIEW_TIME_MAX];
    int ret;

    if (!json_is_object(t) || ctl_str(t, "id") == NULL)
        return -EINVAL;
    caller = json_object_get(t, "caller");
    ctl_cell(out, ctl_str(t, "id"), -1, 0);
    fputs("  ", out);
    ctl_cell(out, ctl_str(t, "status"), -1, 0);
    fputc('\n', out);
    ctl_view_unit(out, t);
    ctl_field(out, "urgency", ctl_str(t, "urgency") != NULL ? ctl_str(t, "urgency") : "-");
    ctl_field(out, "created", ctl_view_time(ctl_str(t, "created_at"), 1, tb));
    ctl_field(out, "dispatched", ctl_view_time(ctl_str(t, "dispatched_at"), 1, tb));
    ctl_field(out, "updated", ctl_view_time(ctl_str(t, "updated_at"), 1, tb));
    if (json_is_integer(json_object_get(t, "rev")))
        ctl_fieldf(out, "revision", "%" JSON_INTEGER_FORMAT,
                   json_integer_value(json_object_get(t, "rev")));
    if (json_integer_value(json_object_get(t, "reopened")) > 0)
        ctl_fieldf(out, "reopened", "%" JSON_INTEGER_FORMAT " time%s",
                   json_integer_value(json_object_get(t, "reopened")),
                   json_integer_value(json_object_get(t, "reopened")) == 1 ? "" : "s");
    ctl_field(out, "channel", ctl_str(t, "channel"));
    ctl_field(out, "category", ctl_str(t, "category"));
    ctl_field(out, "township", ctl_str(t, "township"));
    ctl_field(out, "caller", ctl_str(caller, "phone"));
    ctl_field(out, "address", ctl_str(t, "address"));
    fputs("\nText\n", out);
    ctl_block(out, text != NULL && *text != '\0' ? text : "(empty)", "  ");
    ctl_view_reply(out, t);
    ctl_view_handling(out, t);
    if ((ret = ctl_view_deadlines(out, t)) != 0)
        return ret;
    ctl_view_route(out, t);
    if ((ret = ctl_view_timeline(out, t)) != 0)
        return ret;
    return ctl_view_notifications(out, t);
}

int ctl_view_list(FILE *out, const json_t *page)
{
    static const char *const heads[] = {"ID", "STATUS", "UNIT", "URGENCY", "CREATED", "PHONE",
                                        "TEXT"};
    static const int caps[] = {40, 16, 24, 10, 20, 20, 48};
    const json_t *items = json_object_get(page, "items"), *it;
    ctl_view_table_t tab = {.ncols = 7, .heads = heads, .caps = caps};
    char tb[CTL_VIEW_TIME_MAX];
    json_int_t total, offset;
    size_t i;
    int ret = 0;

    if (!json_is_array(items))
        return -EINVAL;
    json_array_foreach(items, i, it) {
        const char *unit = ctl_str(it, "unit"), *urg = ctl_str(it, "urgency");
        const char *row[] = {ctl_str(it, "id"), ctl_str(it, "status"),
                             unit != NULL && *unit ? unit : "-", urg != NULL && *urg ? urg : "-",
                             ctl_view_time(ctl_str(it, "created_at"), 0, tb), ctl_str(it, "phone"),
                             ctl_str(it, "text")};
        if ((ret = ctl_view_table_add(&tab, row)) != 0)
            break;
    }
    if (ret == 0 && tab.nrows > 0)
        ctl_view_table_print(out, &tab, "");
    ctl_view_table_free(&tab);
    if (ret != 0)
        return ret;
    total = json_integer_value(json_object_get(page, "total"));
    offset = json_integer_value(json_object_get(page, "offset"));
    if (json_array_size(items) == 0)
        fprintf(out, "no tickets here (%" JSON_INTEGER_FORMAT " in all, offset %"
                JSON_INTEGER_FORMAT ")\n", total, offset);
    else
        fprintf(out, "%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT,
                offset + 1, offset + (json_int_t)json_array_size(items), total);
    if (json_is_integer(json_object_get(page, "next_offset")))
        fprintf(out, "; next page: --offset %" JSON_INTEGER_FORMAT "\n",
                json_integer_value(json_object_get(page, "next_offset")));
    else if (json_array_size(items) > 0)
        fputs("; last page\n", out);
    return 0;
}

int ctl_view_health(FILE *out, const json_t *h)
{
    const char *status = ctl_str(h, "status"), *key;
    char buf[256];
    json_t *v;

    if (!json_is_object(h) || status == NULL)
        return -EINVAL;
    ctl_cell(out, status, 32, 0);
    json_object_foreach((json_t *)h, key, v) {
        size_t o = 0;
        if (strcmp(key, "status") == 0)
            continue;
        buf[0] = '\0';
        ctl_append_value(buf, sizeof(buf), &o, v);
        fputs("  ", out);
        ctl_cell(out, key, 32, 0);
        fputc('=', out);
        ctl_cell(out, buf, 64, 0);
    }
    fputc('\n', out);
    return strcmp(status, "ok") == 0;
}

void ctl_view_error(long status, const char *body, size_t len,
                    char ret_line[CTL_VIEW_LINE_MAX])
{
    json_t *root = body != NULL && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *err = json_object_get(root, "error");
    FILE *f = fmemopen(ret_line, CTL_VIEW_LINE_MAX, "w");

    ret_line[0] = '\0';
    if (f == NULL) {
        snprintf(ret_line, CTL_VIEW_LINE_MAX, "HTTP %ld", status);
        json_decref(root);
        return;
    }
    setvbuf(f, NULL, _IONBF, 0); /* what fits is kept even when the line is too long */
    if (json_is_object(err) && ctl_str(err, "code") != NULL) {
        fprintf(f, "%ld ", status);
        ctl_cell(f, ctl_str(err, "code"), 64, 0);
        if (ctl_str(err, "field") != NULL) {
            fputs(" (", f);
            ctl_cell(f, ctl_str(err, "field"), 64, 0);
            fputc(')', f);
        }
        if (ctl_str(err, "message") != NULL) {
            fputs(": ", f);
            ctl_cell(f, ctl_str(err, "message"), 480, 0);
        }
    } else if (body != NULL && len > 0) {
        fprintf(f, "HTTP %ld: ", status);
        ctl_cell(f, body, 200, 0); /* stops at a NUL inside, which is fine for a glimpse */
    } else {
        fprintf(f, "HTTP %ld with an empty answer", status);
    }
    fclose(f);
    ret_line[CTL_VIEW_LINE_MAX - 1] = '\0';
    json_decref(root);
}
