/* rexianctl.c -- the command-line client of the HTTP API: ping, create, show, list, the
 * lifecycle steps, scores and audit, dead letters; and the working calendar's deadlines,
 * offline */
#include "ctl_args.h"
#include "ctl_deadletters.h"
#include "ctl_due.h"
#include "ctl_keys.h"
#include "ctl_http.h"
#include "ctl_report.h"
#include "ctl_view.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#ifndef REXIAN_VERSION
#define REXIAN_VERSION "dev"
#endif

#define CTL_PATH_MAX 1024 /* bytes of a request path with its query */
#define CTL_IDEM_LEN 40   /* bytes of an idempotency key rexianctl makes up, NUL included */

/* What one run works with. */
typedef struct ctl_t {
    const ctl_args_t *args; /* the command line */
    ctl_http_t *http;       /* the connection */
} ctl_t;

/* Says why no answer came and returns the exit code for it. */
static int ctl_no_answer(const ctl_t *c, int rc, const ctl_http_resp_t *r)
{
    if (rc == -EFBIG) {
        fprintf(stderr, "rexianctl: %s: %s\n", c->args->url, r->err);
        return CTL_EXIT_API;
    }
    if (rc == -ENOMEM) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return CTL_EXIT_API;
    }
    if (rc == -ETIMEDOUT && r->sent)
        fprintf(stderr, "rexianctl: no answer from %s within %ld s\n", c->args->url,
                c->args->timeout_s);
    else
        fprintf(stderr, "rexianctl: cannot connect to %s: %s\n", c->args->url, r->err);
    return CTL_EXIT_CONNECT;
}

/* Prints the error line for an answer that is not a success; returns CTL_EXIT_API. */
static int ctl_api_error(const ctl_t *c, const ctl_http_resp_t *r)
{
    char line[CTL_VIEW_LINE_MAX];

    ctl_view_error(r->status, r->body, r->len, line);
    fprintf(stderr, "rexianctl: %s\n", line);
    if (r->status == 401 && c->args->token == NULL)
        fprintf(stderr, "rexianctl: no token given: set REXIAN_TOKEN or use --token\n");
    if (r->retry_after_s >= 0)
        fprintf(stderr, "rexianctl: the server asks to retry after %ld s\n", r->retry_after_s);
    return CTL_EXIT_API;
}

/* --json: the answer as it came, on stdout. */
static void ctl_print_raw(const ctl_http_resp_t *r)
{
    if (r->body == NULL || r->len == 0)
        return;
    fwrite(r->body, 1, r->len, stdout);
    if (r->body[r->len - 1] != '\n')
        fputc('\n', stdout);
}

/* Parses a success answer; NULL (after saying so) when it is not a JSON object. */
static json_t *ctl_parse(const ctl_t *c, const ctl_http_resp_t *r)
{
    json_error_t jerr;
    json_t *v = r->body != NULL ? json_loadb(r->body, r->len, 0, &jerr) : NULL;

    if (!json_is_object(v)) {
        fprintf(stderr, "rexianctl: %s answered %ld with something that is not a JSON object%s"
                "%s\n", c->args->url, r->status, v == NULL && r->body != NULL ? ": " : "",
                v == NULL && r->body != NULL ? jerr.text : "");
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * Commands */

static int ctl_ping(ctl_t *c)
{
    ctl_http_resp_t r;
    json_t *h;
    int rc = ctl_http_request(c->http, "GET", "/healthz", NULL, &r), ret;

    if (rc != 0) {
        ret = ctl_no_answer(c, rc, &r);
        goto out;
    }
    if (c->args->json)
        ctl_print_raw(&r);
    h = r.body != NULL ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    if (json_is_object(h) && json_is_string(json_object_get(h, "status"))) {
        /* 503 with a status is the answer of a degraded service, not an API error */
        int ok = c->args->json ? strcmp(json_string_value(json_object_get(h, "status")), "ok") == 0
                               : ctl_view_health(stdout, h) == 1;
        ret = ok && r.status >= 200 && r.status < 300 ? CTL_EXIT_OK : CTL_EXIT_API;
    } else if (r.status >= 200 && r.status < 300) {
        fprintf(stderr, "rexianctl: %s/healthz answered %ld without a health status (is it a "
                "rexian service?)\n", c->args->url, r.status);
        ret = CTL_EXIT_API;
    } else {
        ret = ctl_api_error(c, &r);
    }
    json_decref(h);
out:
    ctl_http_resp_free(&r);
    return ret;
}

/* Reads the text of `create --text -` or `reply --text -` from stdin. Caller frees. NULL after
 * saying why. */
static char *ctl_read_stdin(void)
{
    char *buf = malloc(CTL_VALUE_MAX + 2);
    size_t n;

    if (buf == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return NULL;
    }
    n = fread(buf, 1, CTL_VALUE_MAX + 1, stdin);
    if (ferror(stdin) || n > CTL_VALUE_MAX) {
        fprintf(stderr, ferror(stdin) ? "rexianctl: cannot read the text from stdin\n"
                                      : "rexianctl: the text on stdin is more than %d bytes\n",
                CTL_VALUE_MAX);
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n) {
        fprintf(stderr, "rexianctl: the text on stdin is %s\n", n == 0 ? "empty" : "not text "
                "(it has NUL bytes)");
        free(buf);
        return NULL;
    }
    return buf;
}

/* Sets key to value when value is given; -EINVAL (after saying so) when it is not UTF-8. */
static int ctl_set(json_t *obj, const char *key, const char *value, const char *option)
{
    json_t *s;

    if (value == NULL)
        return 0;
    if ((s = json_string(value)) == NULL) {
        fprintf(stderr, "rexianctl: %s is not valid UTF-8 (use a UTF-8 locale and terminal, "
                "e.g. LANG=C.UTF-8)\n", option);
        return -EINVAL;
    }
    if (json_object_set_new(obj, key, s) != 0) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return -ENOMEM;
    }
    return 0;
}

static json_t *ctl_create_body(const ctl_args_t *a, const char *text, const char *idem)
{
    json_t *body = json_object(), *caller = json_object();

    if (body == NULL || caller == NULL || json_object_set(body, "caller", caller) != 0) {
        fprintf(stderr, "rexianctl: out of memory\n");
        goto fail;
    }
    if (ctl_set(body, "channel", a->channel != NULL ? a->channel : "phone", "--channel") != 0 ||
        ctl_set(caller, "phone", a->phone, "--phone") != 0 ||
        ctl_set(caller, "name", a->name, "--name") != 0 ||
        ctl_set(body, "text", text, "--text") != 0 ||
        ctl_set(body, "address", a->address, "--address") != 0 ||
        ctl_set(body, "category", a->category, "--category") != 0 ||
        ctl_set(body, "township", a->township, "--township") != 0 ||
        ctl_set(body, "idempotency_key", idem, "--idempotency-key") != 0)
        goto fail;
    json_decref(caller);
    return body;
fail:
    json_decref(caller);
    json_decref(body);
    return NULL;
}

/* A key of our own, so a create whose answer was lost can be repeated without a second
 * ticket. */
static int ctl_make_idem(char ret_key[CTL_IDEM_LEN])
{
    unsigned char rnd[16];
    size_t o;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EIO;
    o = (size_t)snprintf(ret_key, CTL_IDEM_LEN, "ctl-");
    for (size_t i = 0; i < sizeof(rnd) && o + 2 < CTL_IDEM_LEN; i++)
        o += (size_t)snprintf(ret_key + o, CTL_IDEM_LEN - o, "%02x", rnd[i]);
    return 0;
}

static int ctl_create(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    char idem_buf[CTL_IDEM_LEN], *stdin_text = NULL, *payload = NULL;
    const char *text = a->text, *idem = a->idem;
    ctl_http_resp_t r = {0};
    json_t *body = NULL, *ans = NULL;
    int rc, ret = CTL_EXIT_USAGE;

    if (strcmp(text, "-") == 0) {
        if ((stdin_text = ctl_read_stdin()) == NULL)
            goto out;
        text = stdin_text;
    }
    if (idem == NULL) {
        if (ctl_make_idem(idem_buf) != 0) {
            fprintf(stderr, "rexianctl: no random bytes for an idempotency key\n");
            ret = CTL_EXIT_API;
            goto out;
        }
        idem = idem_buf;
    }
    if ((body = ctl_create_body(a, text, idem)) == NULL)
        goto out;
    if ((payload = json_dumps(body, JSON_COMPACT)) == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        ret = CTL_EXIT_API;
        goto out;
    }
    rc = ctl_http_request(c->http, "POST", "/v1/tickets", payload, &r);
    if (rc != 0) {
        ret = ctl_no_answer(c, rc, &r);
        if (r.sent)
            fprintf(stderr, "rexianctl: the ticket may or may not have been recorded: repeat "
                    "the command with --idempotency-key %s\n", idem);
        goto out;
    }
    if (r.status != 200 && r.status != 201) {
        if (a->json)
            ctl_print_raw(&r);
        ret = ctl_api_error(c, &r);
        if (r.status >= 500)
            fprintf(stderr, "rexianctl: to retry safely, repeat the command with "
                    "--idempotency-key %s\n", idem);
        goto out;
    }
    ret = CTL_EXIT_API;
    if ((ans = ctl_parse(c, &r)) == NULL)
        goto out;
    const char *id = json_string_value(json_object_get(ans, "id"));
    if (id == NULL || *id == '\0' || strcspn(id, "\r\n\t ") != strlen(id)) {
        fprintf(stderr, "rexianctl: the answer has no usable ticket id\n");
        goto out;
    }
    if (a->json) {
        ctl_print_raw(&r);
    } else {
        printf("%s\n", id);
        if (json_is_true(json_object_get(ans, "replayed")))
            fprintf(stderr, "rexianctl: %s was already recorded with idempotency key %s; "
                    "nothing new was created\n", id, idem);
        else
            fprintf(stderr, "rexianctl: created %s (%s)\n", id,
                    json_string_value(json_object_get(ans, "status")) != NULL
                        ? json_string_value(json_object_get(ans, "status"))
                        : "received");
    }
    ret = CTL_EXIT_OK;
out:
    json_decref(ans);
    json_decref(body);
    free(payload);
    free(stdin_text);
    ctl_http_resp_free(&r);
    return ret;
}

/* GET path, then view the answer (or print it as it came when raw). A view returns a negative
 * errno for an answer it cannot show. */
static int ctl_get_as(ctl_t *c, const char *path, int (*view)(FILE *, const json_t *), int raw)
{
    ctl_http_resp_t r;
    json_t *ans = NULL;
    int rc = ctl_http_request(c->http, "GET", path, NULL, &r), ret;

    if (rc != 0) {
        ret = ctl_no_answer(c, rc, &r);
    } else if (raw) {
        ctl_print_raw(&r);
        ret = r.status >= 200 && r.status < 300 ? CTL_EXIT_OK : ctl_api_error(c, &r);
    } else if (r.status < 200 || r.status >= 300) {
        ret = ctl_api_error(c, &r);
    } else if ((ans = ctl_parse(c, &r)) == NULL) {
        ret = CTL_EXIT_API;
    } else if (view(stdout, ans) < 0) {
        fprintf(stderr, "rexianctl: the answer from %s is not the expected shape (try --json)\n",
                c->args->url);
        ret = CTL_EXIT_API;
    } else {
        ret = CTL_EXIT_OK;
    }
    json_decref(ans);
    ctl_http_resp_free(&r);
    return ret;
}

static int ctl_get(ctl_t *c, const char *path, int (*view)(FILE *, const json_t *))
{
    return ctl_get_as(c, path, view, c->args->json);
}

static int ctl_show(ctl_t *c)
{
    char path[CTL_PATH_MAX];
    char *id = ctl_http_escape(c->http, c->args->id);
    int ret;

    if (id == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return CTL_EXIT_API;
    }
    snprintf(path, sizeof(path), "/v1/tickets/%s", id);
    free(id);
    ret = ctl_get(c, path, ctl_view_ticket);
    return ret;
}

/* Appends "&name=escaped value" (or '?' first) to the path at *o. */
static int ctl_query(ctl_t *c, char *path, size_t *o, const char *name, const char *value)
{
    char *v;

    if (value == NULL)
        return 0;
    if ((v = ctl_http_escape(c->http, value)) == NULL)
        return -ENOMEM;
    *o += (size_t)snprintf(path + *o, CTL_PATH_MAX - *o, "%c%s=%s", strchr(path, '?') ? '&' : '?',
                           name, v);
    free(v);
    return *o < CTL_PATH_MAX ? 0 : -E2BIG;
}

static int ctl_list(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    char path[CTL_PATH_MAX], limit[24], offset[24];
    size_t o = (size_t)snprintf(path, sizeof(path), "/v1/tickets");

    snprintf(limit, sizeof(limit), "%ld", a->limit);
    snprintf(offset, sizeof(offset), "%ld", a->offset);
    if (ctl_query(c, path, &o, "unit", a->unit) != 0 ||
        ctl_query(c, path, &o, "status", a->status) != 0 ||
        ctl_query(c, path, &o, "limit", a->limit >= 0 ? limit : NULL) != 0 ||
        ctl_query(c, path, &o, "offset", a->offset >= 0 ? offset : NULL) != 0) {
        fprintf(stderr, "rexianctl: --unit and --status together are too long for a request\n");
        return CTL_EXIT_USAGE;
    }
    return ctl_get(c, path, ctl_view_list);
}

/* ---------------------------------------------------------------------------------------------
 * Scores and audit */

/* The current month in Beijing time, "2025-01". */
static void ctl_this_month(char buf[16])
{
    time_t t = time(NULL) + 8 * 3600;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, 16, "%Y-%m", &tm) == 0)
        snprintf(buf, 16, "1970-01");
}

/* Appends the period to the path: --period, --day or --from/--to as given, else this month. */
static int ctl_query_period(ctl_t *c, char *path, size_t *o)
{
    const ctl_args_t *a = c->args;
    char month[16];

    ctl_this_month(month);
    if (a->period == NULL && a->day == NULL && a->from == NULL)
        return ctl_query(c, path, o, "period", month);
    if (ctl_query(c, path, o, "period", a->period) != 0 ||
        ctl_query(c, path, o, "day", a->day) != 0 || ctl_query(c, path, o, "from", a->from) != 0)
        return -E2BIG;
    return ctl_query(c, path, o, "to", a->to);
}

static int ctl_print_orders(FILE *out, const json_t *answer)
{
    int n = ctl_report_orders(out, answer);

    if (n == 0)
        fprintf(stderr, "rexianctl: no orders behind that number in the period\n");
    return n;
}

/* metrics --recompute: exit 0 when the counters agree, 1 when they differ. */
static int ctl_recompute(ctl_t *c, const char *path)
{
    ctl_http_resp_t r;
    json_t *ans = NULL;
    int rc = ctl_http_request(c->http, "GET", path, NULL, &r), ret = CTL_EXIT_API, v;

    if (rc != 0) {
        ret = ctl_no_answer(c, rc, &r);
        goto out;
    }
    if (r.status < 200 || r.status >= 300) {
        if (c->args->json)
            ctl_print_raw(&r);
        ret = ctl_api_error(c, &r);
        goto out;
    }
    if ((ans = ctl_parse(c, &r)) == NULL)
        goto out;
    if (c->args->json) {
        v = json_is_boolean(json_object_get(ans, "agree"))
                ? !json_is_true(json_object_get(ans, "agree"))
                : -EINVAL;
        if (v >= 0)
            ctl_print_raw(&r);
    } else {
        v = ctl_report_recompute(stdout, ans);
    }
    if (v < 0)
        fprintf(stderr, "rexianctl: the answer from %s does not say whether the counters agree "
                "(try --json)\n", c->args->url);
    ret = v == 0 ? CTL_EXIT_OK : CTL_EXIT_API;
out:
    json_decref(ans);
    ctl_http_resp_free(&r);
    return ret;
}

static int ctl_metrics(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    char path[CTL_PATH_MAX];
    const char *base = a->recompute ? "/v1/metrics/recompute"
                       : a->orders  ? "/v1/metrics/orders"
                                    : "/v1/metrics";
    size_t o = (size_t)snprintf(path, sizeof(path), "%s", base);

    if (ctl_query_period(c, path, &o) != 0 || ctl_query(c, path, &o, "unit", a->unit) != 0 ||
        ctl_query(c, path, &o, "kind", a->kind) != 0 ||
        ctl_query(c, path, &o, "metric", a->metric) != 0) {
        fprintf(stderr, "rexianctl: the options are too long for a request\n");
        return CTL_EXIT_USAGE;
    }
    if (a->recompute)
        return ctl_recompute(c, path);
    return ctl_get(c, path, a->orders ? ctl_print_orders : ctl_report_metrics);
}

static int ctl_report(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    const char *format = a->format != NULL ? a->format : "table";
    char path[CTL_PATH_MAX];
    size_t o = (size_t)snprintf(path, sizeof(path), "/v1/metrics");

    if (ctl_query(c, path, &o, "period", a->period) != 0) {
        fprintf(stderr, "rexianctl: --period is too long for a request\n");
        return CTL_EXIT_USAGE;
    }
    return ctl_get_as(c, path,
                      strcmp(format, "csv") == 0 ? ctl_report_circular_csv
                                                 : ctl_report_circular_table,
                      a->json || strcmp(format, "json") == 0);
}

static int ctl_claims(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    char path[CTL_PATH_MAX];
    size_t o = (size_t)snprintf(path, sizeof(path), "/v1/claims");

    if (ctl_query(c, path, &o, "unit", a->unit) != 0 ||
        ctl_query(c, path, &o, "supervisor", a->supervisor) != 0 ||
        ctl_query(c, path, &o, "status", a->status) != 0) {
        fprintf(stderr, "rexianctl: the options are too long for a request\n");
        return CTL_EXIT_USAGE;
    }
    return ctl_get(c, path, ctl_report_claims);
}

/* ---------------------------------------------------------------------------------------------
 * Dead letters */

/* POSTs body to path and reads the JSON answer into *ret_ans (caller frees). Returns
 * CTL_EXIT_OK, or the exit code after telling the user what went wrong; `unsure` is said when
 * the request went out but no answer came back. r keeps the raw answer for --json. */
static int ctl_post(ctl_t *c, const char *path, const json_t *body, const char *unsure,
                    ctl_http_resp_t *r, json_t **ret_ans)
{
    char *payload = json_dumps(body, JSON_COMPACT);
    int rc;

    if (payload == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return CTL_EXIT_API;
    }
    rc = ctl_http_request(c->http, "POST", path, payload, r);
    free(payload);
    if (rc != 0) {
        int ret = ctl_no_answer(c, rc, r);
        if (r->sent)
            fprintf(stderr, "rexianctl: %s\n", unsure);
        return ret;
    }
    if (r->status < 200 || r->status >= 300) {
        if (c->args->json)
            ctl_print_raw(r);
        return ctl_api_error(c, r);
    }
    if ((*ret_ans = ctl_parse(c, r)) == NULL)
        return CTL_EXIT_API;
    return CTL_EXIT_OK;
}

/* POST .../retry or .../drop, then "STAGE ID retried" or "STAGE ID dropped". */
static int ctl_dl_act(ctl_t *c, const char *path)
{
    const ctl_args_t *a = c->args;
    const char *action = ctl_args_dl_action_name(a->dl_action);
    ctl_http_resp_t r = {0};
    json_t *body = json_object(), *ans = NULL;
    char unsure[256];
    int ret = CTL_EXIT_USAGE;

    if (body == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return CTL_EXIT_API;
    }
    if (ctl_set(body, "reason", a->reason, "--reason") != 0)
        goto out;
    snprintf(unsure, sizeof(unsure), "the %s may or may not have been done: repeating it is "
             "safe (a dead letter no longer there answers 404), or look with 'rexianctl "
             "deadletters list --stage %s'", action, a->stage);
    if ((ret = ctl_post(c, path, body, unsure, &r, &ans)) != CTL_EXIT_OK)
        goto out;
    ret = CTL_EXIT_API;
    if (a->json) {
        ctl_print_raw(&r);
    } else if (ctl_dl_done(stdout, ans, action) != 0) {
        fprintf(stderr, "rexianctl: the answer from %s does not say the %s was done (try "
                "--json)\n", a->url, action);
        goto out;
    }
    ret = CTL_EXIT_OK;
out:
    json_decref(ans);
    json_decref(body);
    ctl_http_resp_free(&r);
    return ret;
}

static int ctl_deadletters(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    char path[CTL_PATH_MAX], *id;
    size_t o = (size_t)snprintf(path, sizeof(path), "/v1/deadletters");

    if (a->dl_action == CTL_DL_LIST) {
        if (ctl_query(c, path, &o, "stage", a->only_stage) != 0) {
            fprintf(stderr, "rexianctl: out of memory\n");
            return CTL_EXIT_API;
        }
        return ctl_get(c, path, ctl_dl_list);
    }
    /* the stage is one of three words; the id is at most CTL_DL_ID_MAX bytes, so it fits */
    if ((id = ctl_http_escape(c->http, a->id)) == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return CTL_EXIT_API;
    }
    snprintf(path + o, sizeof(path) - o, "/%s/%s%s%s", a->stage, id,
             a->dl_action == CTL_DL_SHOW ? "" : "/",
             a->dl_action == CTL_DL_SHOW ? "" : ctl_args_dl_action_name(a->dl_action));
    free(id);
    if (a->dl_action == CTL_DL_SHOW)
        return ctl_get(c, path, ctl_dl_show);
    return ctl_dl_act(c, path);
}

/* due: no server; the calendar folder is read here. */
static int ctl_due(const ctl_args_t *a)
{
    char err[CTL_DUE_ERR_MAX];
    const char *dir = ctl_due_dir(a->calendar, getenv("REXIAN_CALENDAR"));
    ctl_due_t d;
    int rc = ctl_due_compute(dir, a->from, a->add, &d, err);

    if (rc != 0) {
        fprintf(stderr, "rexianctl: %s\n", err);
        if (rc == -EIO && strcmp(dir, CTL_DUE_DEFAULT_DIR) == 0)
            fprintf(stderr, "rexianctl: give the calendar folder with --calendar DIR or "
                    "REXIAN_CALENDAR (the default, %s, is looked for under the current "
                    "directory)\n", CTL_DUE_DEFAULT_DIR);
        if (rc != -EINVAL && rc != -ERANGE)
            return CTL_EXIT_API;
        fprintf(stderr, "rexianctl: see 'rexianctl due --help'\n");
        return CTL_EXIT_USAGE;
    }
    if (a->json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:b}", "from", d.from, "add", d.span, "due",
                              d.due, "due_ms", (json_int_t)d.due_ms, "provisional",
                              d.provisional);
        char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (text == NULL) {
            fprintf(stderr, "rexianctl: out of memory\n");
            return CTL_EXIT_API;
        }
        printf("%s\n", text);
        free(text);
        return CTL_EXIT_OK;
    }
    printf("%s%s\n", d.due, d.provisional ? " provisional" : "");
    if (d.provisional && d.missing_year > 0)
        fprintf(stderr, "rexianctl: provisional: %s has no calendar for %d, so Monday to Friday "
                "were taken as its working days; compute again once that year's holiday notice "
                "is installed\n", dir, d.missing_year);
    else if (d.provisional)
        fprintf(stderr, "rexianctl: provisional: a year it depends on has no calendar in %s\n",
                dir);
    return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Steps */

/* Adds a list of strings under key when n > 0. */
static int ctl_set_list(json_t *obj, const char *key, const char *const *values, size_t n,
                        const char *option)
{
    json_t *arr;

    if (n == 0)
        return 0;
    if ((arr = json_array()) == NULL || json_object_set_new(obj, key, arr) != 0) {
        fprintf(stderr, "rexianctl: out of memory\n");
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(values[i]);
        if (s == NULL) {
            fprintf(stderr, "rexianctl: %s '%.40s' is not valid UTF-8\n", option, values[i]);
            return -EINVAL;
        }
        if (json_array_append_new(arr, s) != 0) {
            fprintf(stderr, "rexianctl: out of memory\n");
            return -ENOMEM;
        }
    }
    return 0;
}

/* Adds one part of an --evidence value, when it is there. */
static int ctl_set_part(json_t *item, const char *key, const char *s, size_t len)
{
    json_t *v;

    if (len == 0)
        return 0;
    if ((v = json_stringn(s, len)) == NULL) {
        fprintf(stderr, "rexianctl: the %s of --evidence '%.*s' is not valid UTF-8\n", key,
                (int)(len > 40 ? 40 : len), s);
        return -EINVAL;
    }
    return json_object_set_new(item, key, v) == 0 ? 0 : -ENOMEM;
}

/* The JSON body of a step: the fields the command line gave, nothing else. NULL after saying
 * why. */
static json_t *ctl_step_body(const ctl_args_t *a, const char *text)
{
    json_t *body = json_object(), *ev = NULL;

    if (body == NULL)
        goto no_mem;
    if (ctl_set(body, "answer", a->answer, "--answer") != 0 ||
        ctl_set(body, "reason", a->reason, "--reason") != 0 ||
        ctl_set(body, "note", a->note, "--note") != 0 ||
        ctl_set(body, "unit", a->unit, "--unit") != 0 ||
        ctl_set_list(body, "co_units", a->co_units, a->n_co_units, "--co-unit") != 0 ||
        ctl_set(body, "urgency", a->urgency, "--urgency") != 0 ||
        ctl_set(body, "decision", a->decision, "--decision") != 0 ||
        ctl_set(body, "due", a->due, "--due") != 0 ||
        ctl_set(body, "until", a->until, "--until") != 0 ||
        ctl_set(body, "text", text, "--text") != 0 ||
        ctl_set(body, "rating", a->rating, "--rating") != 0 ||
        ctl_set(body, "words", a->words, "--words") != 0 ||
        ctl_set(body, "into", a->into, "--into") != 0 ||
        ctl_set(body, "kind", a->kind, "--kind") != 0)
        goto fail;
    if (a->claim >= 0 && json_object_set_new(body, "claim", json_integer(a->claim)) != 0)
        goto no_mem;
    if (a->same_unit && json_object_set_new(body, "same_unit", json_true()) != 0)
        goto no_mem;
    if (a->rev >= 0 && json_object_set_new(body, "rev", json_integer(a->rev)) != 0)
        goto no_mem;
    if (a->n_evidence > 0) {
        if ((ev = json_array()) == NULL || json_object_set_new(body, "evidence", ev) != 0)
            goto no_mem;
        for (size_t i = 0; i < a->n_evidence; i++) {
            const ctl_evidence_t *e = &a->evidence[i];
            json_t *item = json_object();
            if (item == NULL || json_array_append_new(ev, item) != 0)
                goto no_mem;
            if (ctl_set_part(item, "name", e->name, e->name_len) != 0 ||
                ctl_set_part(item, "hash", e->hash, e->hash_len) != 0 ||
                ctl_set_part(item, "url", e->url, e->url_len) != 0)
                goto fail;
        }
    }
    return body;
no_mem:
    fprintf(stderr, "rexianctl: out of memory\n");
fail:
    json_decref(body);
    return NULL;
}

/* POST /v1/tickets/ID/STEP, then "ID STATUS (rev N)" on stdout. */
static int ctl_step(ctl_t *c)
{
    const ctl_args_t *a = c->args;
    const char *step = ctl_args_cmd_name(a->cmd), *text = a->text;
    char path[CTL_PATH_MAX], unsure[256], *stdin_text = NULL, *id = NULL;
    ctl_http_resp_t r = {0};
    json_t *body = NULL, *ans = NULL;
    int ret = CTL_EXIT_USAGE;

    if (text != NULL && strcmp(text, "-") == 0) {
        if ((stdin_text = ctl_read_stdin()) == NULL)
            goto out;
        text = stdin_text;
    }
    if ((body = ctl_step_body(a, text)) == NULL)
        goto out;
    ret = CTL_EXIT_API;
    if ((id = ctl_http_escape(c->http, a->id)) == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/tickets/%s/%s", id, step);
    snprintf(unsure, sizeof(unsure), "the %s may or may not have been applied: look with "
             "'rexianctl show %s' before repeating it (with --rev a repeat cannot apply twice)",
             step, a->id);
    if ((ret = ctl_post(c, path, body, unsure, &r, &ans)) != CTL_EXIT_OK)
        goto out;
    ret = CTL_EXIT_API;
    const char *ans_id = json_string_value(json_object_get(ans, "id"));
    const char *status = json_string_value(json_object_get(ans, "status"));
    const char *into = json_string_value(json_object_get(ans, "into"));
    if (ans_id == NULL || status == NULL || !json_is_integer(json_object_get(ans, "rev"))) {
        fprintf(stderr, "rexianctl: the answer from %s has no id, status and rev (try --json)\n",
                a->url);
        goto out;
    }
    if (a->json) {
        ctl_print_raw(&r);
    } else {
        /* the server's words go through the view, which keeps control characters off the
         * terminal */
        ctl_view_cell(stdout, ans_id, -1);
        fputc(' ', stdout);
        ctl_view_cell(stdout, status, -1);
        if (into != NULL) {
            fputs(" into ", stdout);
            ctl_view_cell(stdout, into, -1);
        }
        if (json_is_integer(json_object_get(ans, "claim")))
            printf(" claim %" JSON_INTEGER_FORMAT,
                   json_integer_value(json_object_get(ans, "claim")));
        printf(" (rev %" JSON_INTEGER_FORMAT ")\n",
               json_integer_value(json_object_get(ans, "rev")));
    }
    ret = CTL_EXIT_OK;
out:
    json_decref(ans);
    json_decref(body);
    free(id);
    free(stdin_text);
    ctl_http_resp_free(&r);
    return ret;
}

/* ---------------------------------------------------------------------------------------------
 * Main */

/* The command named on a command line that did not parse, for the help hint. */
static const char *ctl_guess_cmd(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        for (ctl_cmd_t k = CTL_CMD_PING; k < CTL_CMD_COUNT; k++)
            if (strcmp(argv[i], ctl_args_cmd_name(k)) == 0)
                return argv[i];
    return NULL;
}

int main(int argc, char **argv)
{
    char err[CTL_ERR_MAX];
    ctl_args_t args;
    ctl_t c = {.args = &args};
    int ret;

    if (argc >= 2 && strcmp(argv[1], "keys") == 0) /* offline: ctl_keys.c */
        return ctl_keys_main(argc - 1, argv + 1);
    if (ctl_args_parse(argc, argv, getenv("REXIAN_URL"), getenv("REXIAN_TOKEN"), &args,
                       err) != 0) {
        const char *cmd = ctl_guess_cmd(argc, argv);
        fprintf(stderr, "rexianctl: %s\n", err);
        fprintf(stderr, "rexianctl: see 'rexianctl %s%s--help'\n", cmd != NULL ? cmd : "",
                cmd != NULL ? " " : "");
        return CTL_EXIT_USAGE;
    }
    if (args.help) {
        fputs(ctl_args_help(args.cmd), stdout);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_API;
    }
    if (args.version) {
        printf("rexianctl %s\n", REXIAN_VERSION);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_API;
    }
    if (args.cmd == CTL_CMD_DUE) {
        ret = ctl_due(&args);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "rexianctl: cannot write to stdout\n");
            return ret == CTL_EXIT_OK ? CTL_EXIT_API : ret;
        }
        return ret;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "rexianctl: cannot initialise libcurl\n");
        return CTL_EXIT_API;
    }
    c.http = ctl_http_new(args.url, args.token, args.timeout_s);
    if (c.http == NULL) {
        fprintf(stderr, "rexianctl: out of memory\n");
        curl_global_cleanup();
        return CTL_EXIT_API;
    }
    switch (args.cmd) {
    case CTL_CMD_PING:
        ret = ctl_ping(&c);
        break;
    case CTL_CMD_CREATE:
        ret = ctl_create(&c);
        break;
    case CTL_CMD_SHOW:
        ret = ctl_show(&c);
        break;
    case CTL_CMD_LIST:
        ret = ctl_list(&c);
        break;
    case CTL_CMD_METRICS:
        ret = ctl_metrics(&c);
        break;
    case CTL_CMD_REPORT:
        ret = ctl_report(&c);
        break;
    case CTL_CMD_CLAIMS:
        ret = ctl_claims(&c);
        break;
    case CTL_CMD_OVERDUE:
        ret = ctl_get(&c, "/v1/overdue", ctl_report_overdue);
        break;
    case CTL_CMD_DEADLETTERS:
        ret = ctl_deadletters(&c);
        break;
    default:
        ret = ctl_args_is_step(args.cmd) ? ctl_step(&c) : CTL_EXIT_USAGE;
        break;
    }
    ctl_http_destroy(&c.http);
    curl_global_cleanup();
    if (fflush(stdout) != 0) {
        fprintf(stderr, "rexianctl: cannot write to stdout\n");
        return ret == CTL_EXIT_OK ? CTL_EXIT_API : ret;
    }
    return ret;
}
