/* ctl_report.c -- what rexianctl prints about scores and audit: metrics, the circular,
 * recomputation, drill-down, claims and the overdue board */
#include "ctl_report.h"

#include "ctl_args.h"
#include "ctl_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_REP_NUM 32      /* buffer for one number or rate as text */
#define CTL_REP_FLAGS 1024  /* buffer for a unit's flags joined by "; " */
#define CTL_REP_KEY 160     /* buffer for a recomputation key "DAY|UNIT|COUNTER" */

/* The numbers of one row of scores, as text. */
typedef enum ctl_rep_col_t {
    CTL_REP_RECV,    /* received */
    CTL_REP_DISP,    /* dispatched */
    CTL_REP_ACK,     /* acknowledged by the lead */
    CTL_REP_ACKR,    /* acknowledged on time, % */
    CTL_REP_DUE,     /* close deadlines due or met */
    CTL_REP_CLOSED,  /* closed */
    CTL_REP_ONTIME,  /* closed on time / due, % */
    CTL_REP_CLOSER,  /* closed / due, % */
    CTL_REP_RATED,   /* ratings that count: satisfied, basically satisfied, unsatisfied */
    CTL_REP_EXCL,    /* of those, left out by an accepted claim */
    CTL_REP_SAT,     /* satisfaction, % without the excluded ratings */
    CTL_REP_SATALL,  /* satisfaction, % with them */
    CTL_REP_OVERDUE, /* stages overdue */
    CTL_REP_ESC,     /* escalations */
    CTL_REP_RET,     /* returns */
    CTL_REP_REOPEN,  /* reopened */
    CTL_REP_CLAIMS,  /* claims filed/accepted/rejected */
    CTL_REP_NCOLS    /* number of columns, not a column */
} ctl_rep_col_t;

/* One row's cells. */
typedef struct ctl_rep_row_t {
    char num[CTL_REP_NCOLS][CTL_REP_NUM]; /* by ctl_rep_col_t */
    char flags[CTL_REP_FLAGS];            /* the flags joined by "; ", "" for none */
    int any;                              /* 1 when a counter is not 0 */
} ctl_rep_row_t;

static const char *ctl_rep_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_int_t ctl_rep_count(const json_t *counts, const char *name)
{
    const json_t *v = json_object_get(counts, name);

    if (json_is_integer(v))
        return json_integer_value(v);
    return json_is_real(v) ? (json_int_t)json_real_value(v) : 0;
}

/* A rate (already a percentage) with two decimals; none when there is nothing to count. */
static void ctl_rep_rate(const json_t *rates, const char *name, const char *none,
                         char buf[CTL_REP_NUM])
{
    const json_t *v = json_object_get(rates, name);

    if (json_is_number(v))
        snprintf(buf, CTL_REP_NUM, "%.2f", json_number_value(v));
    else
        snprintf(buf, CTL_REP_NUM, "%s", none);
}

/* The flags' texts joined by "; ". */
static void ctl_rep_flags(const json_t *flags, char buf[CTL_REP_FLAGS])
{
    const json_t *f;
    size_t i, o = 0;

    buf[0] = '\0';
    json_array_foreach(flags, i, f) {
        if (!json_is_string(f) || o + 3 >= CTL_REP_FLAGS)
            continue;
        o += (size_t)snprintf(buf + o, CTL_REP_FLAGS - o, "%s%s", o ? "; " : "",
                              json_string_value(f));
        if (o >= CTL_REP_FLAGS)
            o = CTL_REP_FLAGS - 1;
    }
}

/* Fills a row from an item with "counts", "rates" and maybe "flags"; rates with nothing to
 * count read none. */
static void ctl_rep_fill(const json_t *item, const char *none, ctl_rep_row_t *r)
{
    const json_t *c = json_object_get(item, "counts"), *rates = json_object_get(item, "rates");
    static const struct {
        ctl_rep_col_t col;  /* where it goes */
        const char *count;  /* the counter shown as it is */
    } plain[] = {{CTL_REP_RECV, "received"},   {CTL_REP_DISP, "dispatched"},
                 {CTL_REP_ACK, "acknowledged"}, {CTL_REP_DUE, "due"},
                 {CTL_REP_CLOSED, "closed"},    {CTL_REP_OVERDUE, "overdue"},
                 {CTL_REP_ESC, "escalated"},    {CTL_REP_RET, "returned"},
                 {CTL_REP_REOPEN, "reopened"}};
    const char *key;
    const json_t *v;

    r->any = 0;
    json_object_foreach((json_t *)c, key, v) r->any |= ctl_rep_count(c, key) != 0;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        snprintf(r->num[plain[i].col], CTL_REP_NUM, "%" JSON_INTEGER_FORMAT,
                 ctl_rep_count(c, plain[i].count));
    snprintf(r->num[CTL_REP_RATED], CTL_REP_NUM, "%" JSON_INTEGER_FORMAT,
             ctl_rep_count(c, "rated_satisfied") + ctl_rep_count(c, "rated_basically_satisfied") +
                 ctl_rep_count(c, "rated_unsatisfied"));
    snprintf(r->num[CTL_REP_EXCL], CTL_REP_NUM, "%" JSON_INTEGER_FORMAT,
             ctl_rep_count(c, "excluded_satisfied") +
                 ctl_rep_count(c, "excluded_basically_satisfied") +
                 ctl_rep_count(c, "excluded_unsatisfied"));
    snprintf(r->num[CTL_REP_CLAIMS], CTL_REP_NUM,
             "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
             ctl_rep_count(c, "claims"), ctl_rep_count(c, "claims_accepted"),
             ctl_rep_count(c, "claims_rejected"));
    ctl_rep_rate(rates, "ack_on_time_rate", none, r->num[CTL_REP_ACKR]);
    ctl_rep_rate(rates, "on_time_closure_rate", none, r->num[CTL_REP_ONTIME]);
    ctl_rep_rate(rates, "closure_rate", none, r->num[CTL_REP_CLOSER]);
    ctl_rep_rate(rates, "satisfaction_rate", none, r->num[CTL_REP_SAT]);
    ctl_rep_rate(rates, "satisfaction_rate_without_exclusions", none, r->num[CTL_REP_SATALL]);
    ctl_rep_flags(json_object_get(item, "flags"), r->flags);
}

/* "Period 2025-01-01 to 2025-01-31 (thresholds: ...)" from the answer. */
static void ctl_rep_period(FILE *out, const json_t *m, const char *what)
{
    const json_t *p = json_object_get(m, "period"), *th = json_object_get(m, "thresholds");
    const char *from = ctl_rep_str(p, "from"), *to = ctl_rep_str(p, "to");

    fputs(what, out);
    ctl_view_cell(out, from != NULL ? from : "?", -1);
    if (to != NULL && (from == NULL || strcmp(from, to) != 0)) {
        fputs(" to ", out);
        ctl_view_cell(out, to, -1);
    }
    if (json_is_object(th))
        fprintf(out, " (thresholds: satisfaction %" JSON_INTEGER_FORMAT "%%, on-time closure %"
                JSON_INTEGER_FORMAT "%%)", ctl_rep_count(th, "satisfaction"),
                ctl_rep_count(th, "on_time_closure"));
    fputc('\n', out);
}

/* ---------------------------------------------------------------------------------------------
 * Metrics */

/* Columns of the metrics table after its first, by ctl_rep_col_t, then the flags. */
static const char *const ctl_rep_heads[] = {
    NULL,  "RECV", "DISP",   "ACK",     "ACK%", "DUE", "CLOSED", "ON-TIME%", "CLOSE%", "RATED",
    "EXCL", "SAT%", "SAT%ALL", "OVERDUE", "ESC", "RET", "REOPEN", "CLAIMS",   "FLAGS"};
static const int ctl_rep_caps[] = {40, 10, 10, 10, 8, 10, 10, 8, 8, 10,
                                   10, 8, 8, 10, 10, 10, 10, 14, -1};
static const int ctl_rep_right[] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
_Static_assert(sizeof(ctl_rep_heads) / sizeof(ctl_rep_heads[0]) == CTL_REP_NCOLS + 2 &&
                   sizeof(ctl_rep_caps) / sizeof(ctl_rep_caps[0]) == CTL_REP_NCOLS + 2 &&
                   sizeof(ctl_rep_right) / sizeof(ctl_rep_right[0]) == CTL_REP_NCOLS + 2 &&
                   CTL_REP_NCOLS + 2 <= CTL_VIEW_TABLE_COLS,
               "one head, cap and alignment per column of the metrics table");

static int ctl_rep_add(ctl_view_table_t *t, const char *label, const ctl_rep_row_t *r,
                       int with_flags)
{
    const char *row[CTL_REP_NCOLS + 2];

    row[0] = label;
    for (int i = 0; i < CTL_REP_NCOLS; i++)
        row[i + 1] = r->num[i];
    row[CTL_REP_NCOLS + 1] = with_flags ? r->flags : "";
    return ctl_view_table_add(t, row);
}

int ctl_report_metrics(FILE *out, const json_t *m)
{
    const json_t *units = json_object_get(m, "units"), *u, *kinds = json_object_get(m, "kinds");
    const char *heads[CTL_REP_NCOLS + 2];
    ctl_view_table_t t = {.ncols = CTL_REP_NCOLS + 2, .heads = heads, .caps = ctl_rep_caps,
                          .right = ctl_rep_right};
    ctl_rep_row_t r;
    size_t i, quiet = 0;
    const char *key;
    int ret = 0;

    if (!json_is_array(units))
        return -EINVAL;
    memcpy(heads, ctl_rep_heads, sizeof(heads));
    heads[0] = "UNIT";
    ctl_rep_period(out, m, "Period ");
    fputc('\n', out);
    json_array_foreach(units, i, u) {
        ctl_rep_fill(u, "-", &r);
        /* a day's view of 40 units is mostly zeros: show the ones with something counted */
        if (!r.any && json_array_size(units) > 1) {
            quiet++;
            continue;
        }
        if ((ret = ctl_rep_add(&t, ctl_rep_str(u, "unit"), &r, 1)) != 0)
            goto out;
    }
    if (json_is_object(json_object_get(m, "tier"))) {
        ctl_rep_fill(json_object_get(m, "tier"), "-", &r);
        if ((ret = ctl_rep_add(&t, "(tier)", &r, 0)) != 0)
            goto out;
    }
    ctl_view_table_print(out, &t, "");
    if (quiet > 0)
        fprintf(out, "(%zu unit%s with nothing counted in the period not shown; report lists "
                "every unit)\n", quiet, quiet == 1 ? "" : "s");
    ctl_view_table_free(&t);
    if (json_object_size(kinds) > 0) {
        const json_t *k;
        heads[0] = "KIND";
        t.ncols = CTL_REP_NCOLS + 1; /* kinds have no flags: the column is left out */
        fputs("\nBy kind of unit\n", out);
        json_object_foreach((json_t *)kinds, key, k) {
            ctl_rep_fill(k, "-", &r);
            if ((ret = ctl_rep_add(&t, key, &r, 0)) != 0)
                goto out;
        }
        ctl_view_table_print(out, &t, "");
    }
out:
    ctl_view_table_free(&t);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The monthly circular */

/* The units in circular order (ranked first, best first; then the others as the answer lists
 * them) with their rank, 0 for none. Equal rates share a rank (1, 1, 3). Caller frees both. */
static int ctl_rep_order(const json_t *m, size_t **ret_order, size_t **ret_rank)
{
    const json_t *units = json_object_get(m, "units");
    const json_t *rank = json_object_get(json_object_get(m, "ranking"), "satisfaction_rate");
    size_t n = json_array_size(units), k = 0, i, j;
    size_t *order = calloc(n + 1, sizeof(*order)), *ranks = calloc(n + 1, sizeof(*ranks));
    unsigned char *used = calloc(n + 1, 1);
    const json_t *e;
    double prev = -1;

    if (order == NULL || ranks == NULL || used == NULL) {
        free(order);
        free(ranks);
        free(used);
        return -ENOMEM;
    }
    json_array_foreach(rank, i, e) {
        const char *code = ctl_rep_str(e, "unit");
        const json_t *rate = json_object_get(e, "satisfaction_rate");
        for (j = 0; code != NULL && j < n; j++) {
            const char *uc = ctl_rep_str(json_array_get(units, j), "unit");
            if (!used[j] && uc != NULL && strcmp(uc, code) == 0)
                break;
        }
        if (code == NULL || j == n)
            continue;
        used[j] = 1;
        order[k] = j;
        ranks[k] = k > 0 && json_is_number(rate) && json_number_value(rate) == prev
                       ? ranks[k - 1]
                       : k + 1;
        prev = json_is_number(rate) ? json_number_value(rate) : -1;
        k++;
    }
    for (j = 0; j < n; j++)
        if (!used[j])
            order[k++] = j; /* rank 0: nothing rated */
    free(used);
    *ret_order = order;
    *ret_rank = ranks;
    return 0;
}

int ctl_report_circular_table(FILE *out, const json_t *m)
{
    static const char *const heads[] = {"RANK", "UNIT", "NAME", "KIND", "DISP", "ACK%", "DUE",
                                        "CLOSED", "ON-TIME%", "CLOSE%", "RATED", "EXCL", "SAT%",
                                        "SAT%ALL", "CLAIMS", "FLAGS"};
    static const int caps[] = {6, 32, 30, 12, 10, 8, 10, 10, 8, 8, 10, 10, 8, 8, 14, -1};
    static const int right[] = {1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    const json_t *units = json_object_get(m, "units");
    ctl_view_table_t t = {.ncols = 16, .heads = heads, .caps = caps, .right = right};
    size_t *order, *ranks, flagged = 0;
    ctl_rep_row_t r;
    int ret;

    if (!json_is_array(units))
        return -EINVAL;
    if ((ret = ctl_rep_order(m, &order, &ranks)) != 0)
        return ret;
    ctl_rep_period(out, m, "Circular for ");
    fputc('\n', out);
    for (size_t k = 0; k < json_array_size(units) && ret == 0; k++) {
        const json_t *u = json_array_get(units, order[k]);
        char rank[CTL_REP_NUM];
        snprintf(rank, sizeof(rank), ranks[k] > 0 ? "%zu" : "-", ranks[k]);
        ctl_rep_fill(u, "-", &r);
        flagged += r.flags[0] != '\0';
        const char *row[] = {rank, ctl_rep_str(u, "unit"), ctl_rep_str(u, "name"),
                             ctl_rep_str(u, "kind"), r.num[CTL_REP_DISP], r.num[CTL_REP_ACKR],
                             r.num[CTL_REP_DUE], r.num[CTL_REP_CLOSED], r.num[CTL_REP_ONTIME],
                             r.num[CTL_REP_CLOSER], r.num[CTL_REP_RATED], r.num[CTL_REP_EXCL],
                             r.num[CTL_REP_SAT], r.num[CTL_REP_SATALL], r.num[CTL_REP_CLAIMS],
                             r.flags};
        ret = ctl_view_table_add(&t, row);
    }
    if (ret == 0) {
        ctl_view_table_print(out, &t, "");
        fprintf(out, "%zu unit%s, %zu under a threshold\n", json_array_size(units),
                json_array_size(units) == 1 ? "" : "s", flagged);
    }
    ctl_view_table_free(&t);
    free(order);
    free(ranks);
    return ret;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180); control
 * characters other than line breaks become '?' so the file stays text. */
static void ctl_csv_field(FILE *out, const char *s, int first)
{
    int quote = s != NULL && strpbrk(s, ",\"\r\n") != NULL;

    if (!first)
        fputc(',', out);
    if (s == NULL)
        return;
    if (quote)
        fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"')
            fputs("\"\"", out);
        else if ((*p < 0x20 && *p != '\n' && *p != '\r') || *p == 0x7f)
            fputc('?', out);
        else
            fputc(*p, out);
    }
    if (quote)
        fputc('"', out);
}

int ctl_report_circular_csv(FILE *out, const json_t *m)
{
    static const char *const rates[] = {"ack_on_time_rate", "on_time_closure_rate",
                                        "closure_rate", "satisfaction_rate",
                                        "satisfaction_rate_without_exclusions", NULL};
    static const char *const first[] = {"rank", "unit", "name", "kind", NULL};
    const char *const *counters = ctl_args_metrics();
    const json_t *units = json_object_get(m, "units");
    size_t *order, *ranks;
    char num[CTL_REP_NUM], flags[CTL_REP_FLAGS];
    int ret;

    if (!json_is_array(units))
        return -EINVAL;
    if ((ret = ctl_rep_order(m, &order, &ranks)) != 0)
        return ret;
    for (int i = 0; first[i] != NULL; i++)
        ctl_csv_field(out, first[i], i == 0);
    for (int i = 0; counters[i] != NULL; i++)
        ctl_csv_field(out, counters[i], 0);
    for (int i = 0; rates[i] != NULL; i++)
        ctl_csv_field(out, rates[i], 0);
    ctl_csv_field(out, "flags", 0);
    fputs("\r\n", out);
    for (size_t k = 0; k < json_array_size(units); k++) {
        const json_t *u = json_array_get(units, order[k]);
        const json_t *c = json_object_get(u, "counts"), *rt = json_object_get(u, "rates");
        if (ranks[k] > 0)
            snprintf(num, sizeof(num), "%zu", ranks[k]);
        else
            num[0] = '\0';
        ctl_csv_field(out, num, 1);
        ctl_csv_field(out, ctl_rep_str(u, "unit"), 0);
        ctl_csv_field(out, ctl_rep_str(u, "name"), 0);
        ctl_csv_field(out, ctl_rep_str(u, "kind"), 0);
        for (int i = 0; counters[i] != NULL; i++) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, ctl_rep_count(c, counters[i]));
            ctl_csv_field(out, num, 0);
        }
        for (int i = 0; rates[i] != NULL; i++) {
            ctl_rep_rate(rt, rates[i], "", num);
            ctl_csv_field(out, num, 0);
        }
        ctl_rep_flags(json_object_get(u, "flags"), flags);
        ctl_csv_field(out, flags, 0);
        fputs("\r\n", out);
    }
    free(order);
    free(ranks);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Recomputation and drill-down */

/* "20112|urban-management|closed" -> the Beijing date, the unit and the counter. */
static int ctl_rep_key(const char *key, char date[16], char unit[CTL_REP_KEY],
                       char counter[CTL_REP_KEY])
{
    const char *bar1 = strchr(key, '|'), *bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
    char *end;
    long long day = strtoll(key, &end, 10);
    time_t t;
    struct tm tm;

    if (bar2 == NULL || end != bar1 || day < 0 || day > 3000000)
        return -EINVAL;
    t = (time_t)day * 86400; /* the day number already counts Beijing days */
    if (gmtime_r(&t, &tm) == NULL || strftime(date, 16, "%Y-%m-%d", &tm) == 0)
        return -EINVAL;
    snprintf(unit, CTL_REP_KEY, "%.*s", (int)(bar2 - bar1 - 1), bar1 + 1);
    snprintf(counter, CTL_REP_KEY, "%s", bar2 + 1);
    return 0;
}

int ctl_report_recompute(FILE *out, const json_t *a)
{
    static const char *const heads[] = {"DAY", "UNIT", "COUNTER", "LIVE", "RECOMPUTED"};
    static const int caps[] = {12, 40, 32, 12, 12};
    static const int right[] = {0, 0, 0, 1, 1};
    const json_t *agree = json_object_get(a, "agree"), *diffs = json_object_get(a, "differences");
    ctl_view_table_t t = {.ncols = 5, .heads = heads, .caps = caps, .right = right};
    const json_t *d;
    size_t i;
    int ret = 0;

    if (!json_is_boolean(agree) || !json_is_array(diffs))
        return -EINVAL;
    if (json_is_true(agree))
        fputs("agree: the live counters match the orders' timelines\n", out);
    else
        fprintf(out, "differ: %zu counter%s do%s not match the orders' timelines\n",
                json_array_size(diffs), json_array_size(diffs) == 1 ? "" : "s",
                json_array_size(diffs) == 1 ? "es" : "");
    fprintf(out, "checked %" JSON_INTEGER_FORMAT " orders and %" JSON_INTEGER_FORMAT
            " live counters\n", ctl_rep_count(a, "orders"), ctl_rep_count(a, "counters"));
    json_array_foreach(diffs, i, d) {
        char date[16], unit[CTL_REP_KEY], counter[CTL_REP_KEY], live[CTL_REP_NUM],
            again[CTL_REP_NUM];
        const char *key = ctl_rep_str(d, "key");
        if (key == NULL || ctl_rep_key(key, date, unit, counter) != 0) {
            snprintf(date, sizeof(date), "?");
            snprintf(unit, sizeof(unit), "%s", key != NULL ? key : "?");
            counter[0] = '\0';
        }
        snprintf(live, sizeof(live), "%" JSON_INTEGER_FORMAT, ctl_rep_count(d, "live"));
        snprintf(again, sizeof(again), "%" JSON_INTEGER_FORMAT, ctl_rep_count(d, "recomputed"));
        const char *row[] = {date, strcmp(unit, "*") == 0 ? "(tier)" : unit, counter, live,
                             again};
        if ((ret = ctl_view_table_add(&t, row)) != 0)
            break;
    }
    if (ret == 0 && t.nrows > 0) {
        fputc('\n', out);
        ctl_view_table_print(out, &t, "");
    }
    ctl_view_table_free(&t);
    if (ret != 0)
        return ret;
    return json_is_true(agree) ? 0 : 1;
}

int ctl_report_orders(FILE *out, const json_t *a)
{
    const json_t *orders = json_object_get(a, "orders"), *o;
    size_t i;
    int n = 0;

    if (!json_is_array(orders))
        return -EINVAL;
    json_array_foreach(orders, i, o) {
        if (!json_is_string(o))
            continue;
        ctl_view_cell(out, json_string_value(o), -1);
        fputc('\n', out);
        n++;
    }
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Claims and the overdue board */

int ctl_report_claims(FILE *out, const json_t *a)
{
    static const char *const heads[] = {"TICKET", "CLAIM", "UNIT", "KIND", "REASON", "STATUS",
                                        "FILED", "RULED BY", "RULED AT", "RULING"};
    static const int caps[] = {24, 5, 32, 12, 28, 8, 19, 24, 19, -1};
    static const int right[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    const json_t *items = json_object_get(a, "items"), *c;
    ctl_view_table_t t = {.ncols = 10, .heads = heads, .caps = caps, .right = right};
    size_t i;
    int ret = 0;

    if (!json_is_array(items))
        return -EINVAL;
    json_array_foreach(items, i, c) {
        char id[CTL_REP_NUM], at[CTL_VIEW_TIME_MAX], ruled_at[CTL_VIEW_TIME_MAX];
        const char *status = ctl_rep_str(c, "status");
        if (!json_is_object(c))
            continue;
        snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, ctl_rep_count(c, "id"));
        const char *row[] = {ctl_rep_str(c, "ticket"), id, ctl_rep_str(c, "by"),
                             ctl_rep_str(c, "kind"), ctl_rep_str(c, "reason"),
                             status != NULL ? status : "?",
                             ctl_view_ms_time(json_object_get(c, "at"), at),
                             ctl_rep_str(c, "ruled_by"),
                             ctl_view_ms_time(json_object_get(c, "ruled_at"), ruled_at),
                             ctl_rep_str(c, "ruling")};
        if ((ret = ctl_view_table_add(&t, row)) != 0)
            break;
    }
    if (ret == 0) {
        if (t.nrows > 0)
            ctl_view_table_print(out, &t, "");
        fprintf(out, "%zu claim%s\n", t.nrows, t.nrows == 1 ? "" : "s");
    }
    ctl_view_table_free(&t);
    return ret;
}

/* A unit of the overdue board, for sorting. */
typedef struct ctl_rep_unit_t {
    const char *code; /* the unit's code (the board's key) */
    json_int_t n;     /* its overdue stages */
} ctl_rep_unit_t;

static int ctl_rep_unit_cmp(const void *a, const void *b)
{
    const ctl_rep_unit_t *x = a, *y = b;

    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->code, y->code);
}

int ctl_report_overdue(FILE *out, const json_t *a)
{
    static const char *const heads[] = {"TICKET", "STAGE", "DUE", "STATUS", "ESCALATED"};
    static const int caps[] = {24, 8, 19, 16, 19};
    const json_t *units = json_object_get(a, "units"), *u;
    ctl_view_table_t t = {.ncols = 5, .heads = heads, .caps = caps};
    ctl_rep_unit_t *list;
    const char *key;
    size_t n = 0;
    int ret = 0;

    if (!json_is_object(units) || !json_is_integer(json_object_get(a, "overdue")))
        return -EINVAL;
    fprintf(out, "%" JSON_INTEGER_FORMAT " stage%s overdue, %" JSON_INTEGER_FORMAT
            " escalated\n", ctl_rep_count(a, "overdue"),
            ctl_rep_count(a, "overdue") == 1 ? "" : "s", ctl_rep_count(a, "escalated"));
    if (json_object_size(units) == 0)
        return 0;
    if ((list = calloc(json_object_size(units), sizeof(*list))) == NULL)
        return -ENOMEM;
    json_object_foreach((json_t *)units, key, u) {
        list[n].code = key;
        list[n++].n = ctl_rep_count(u, "overdue");
    }
    qsort(list, n, sizeof(*list), ctl_rep_unit_cmp);
    for (size_t k = 0; k < n && ret == 0; k++) {
        const json_t *o;
        size_t i;
        u = json_object_get(units, list[k].code);
        fputc('\n', out);
        ctl_view_cell(out, list[k].code, -1);
        fprintf(out, "  %" JSON_INTEGER_FORMAT " overdue, %" JSON_INTEGER_FORMAT
                " escalated\n", ctl_rep_count(u, "overdue"), ctl_rep_count(u, "escalated"));
        json_array_foreach(json_object_get(u, "orders"), i, o) {
            char due[CTL_VIEW_TIME_MAX], esc[CTL_VIEW_TIME_MAX];
            const char *row[] = {ctl_rep_str(o, "ticket"), ctl_rep_str(o, "stage"),
                                 ctl_view_time(ctl_rep_str(o, "due"), 1, due),
                                 ctl_rep_str(o, "status"),
                                 ctl_view_time(ctl_rep_str(o, "escalated_at"), 1, esc)};
            if ((ret = ctl_view_table_add(&t, row)) != 0)
                break;
        }
        if (ret == 0)
            ctl_view_table_print(out, &t, "  ");
        ctl_view_table_free(&t);
    }
    free(list);
    return ret;
}
