/* ctl_args.c -- rexianctl's command line: global options, commands, their options and help */
#include "ctl_args.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an option's value is. */
typedef enum ctl_opt_kind_t {
    CTL_OPT_STR, /* a string, borrowed */
    CTL_OPT_INT, /* a whole number in [min, max] */
} ctl_opt_kind_t;

/* One command option. */
typedef struct ctl_opt_t {
    ctl_cmd_t cmd;       /* the command it belongs to */
    const char *name;    /* "--phone" */
    ctl_opt_kind_t kind; /* string or number */
    size_t field;        /* offsetof the ctl_args_t field it fills */
    long min, max;       /* range of a number */
} ctl_opt_t;

#define CTL_STR(cmd, name, f) {cmd, name, CTL_OPT_STR, offsetof(ctl_args_t, f), 0, 0}
#define CTL_INT(cmd, name, f, lo, hi) {cmd, name, CTL_OPT_INT, offsetof(ctl_args_t, f), lo, hi}

static const ctl_opt_t ctl_opts[] = {
    CTL_STR(CTL_CMD_CREATE, "--phone", phone),
    CTL_STR(CTL_CMD_CREATE, "--text", text),
    CTL_STR(CTL_CMD_CREATE, "--channel", channel),
    CTL_STR(CTL_CMD_CREATE, "--address", address),
    CTL_STR(CTL_CMD_CREATE, "--category", category),
    CTL_STR(CTL_CMD_CREATE, "--township", township),
    CTL_STR(CTL_CMD_CREATE, "--name", name),
    CTL_STR(CTL_CMD_CREATE, "--idempotency-key", idem),
    CTL_STR(CTL_CMD_LIST, "--unit", unit),
    CTL_STR(CTL_CMD_LIST, "--status", status),
    /* the server checks the real page limits; here only that it is a number */
    CTL_INT(CTL_CMD_LIST, "--limit", limit, 1, 1000000),
    CTL_INT(CTL_CMD_LIST, "--offset", offset, 0, 1000000),
};

static const char *const ctl_cmd_names[] = {"", "ping", "create", "show", "list"};

static const char ctl_help_overview[] =
    "usage: rexianctl [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "The command-line client of the rexian HTTP API (12345 hotline work orders).\n"
    "\n"
    "Commands:\n"
    "  ping      check a service's /healthz (any rexian service); exit 0 when ok\n"
    "  create    record a new work order; prints its id\n"
    "  show ID   one work order: deadlines, routing, timeline, notifications\n"
    "  list      work orders, newest first, a page at a time\n"
    "  help CMD  the options of a command (same as: rexianctl CMD --help)\n"
    "\n"
    "Global options (before the command):\n"
    "  --url URL          the service, default $REXIAN_URL, else " CTL_DEFAULT_URL "\n"
    "  --token TOKEN      bearer token, default $REXIAN_TOKEN (prefer the variable: options\n"
    "                     show in the process list)\n"
    "  --json             print the server's JSON answer as it came, errors included\n"
    "  --timeout SECONDS  give up after this long, connect included (default 10, 1 to 3600)\n"
    "  --version          print the version\n"
    "  -h, --help         this help\n"
    "\n"
    "Options take their value as the next word or after '=' (--unit=water or --unit water).\n"
    "Times print as Beijing time (+08:00). Answers above 4 MiB are refused.\n"
    "\n"
    "Exit status:\n"
    "  0  done (ping: the service is ok)\n"
    "  1  the server answered with an error (its code and message go to stderr), the answer\n"
    "     was unusable, or ping found the service degraded\n"
    "  2  usage error\n"
    "  3  cannot connect, or no answer within --timeout\n"
    "\n"
    "Examples:\n"
    "  export REXIAN_TOKEN=demo-operator               # a demo token (scripts/run)\n"
    "  id=$(rexianctl create --phone 13800000001 --text '小区门口路灯不亮' \\\n"
    "       --address '城关镇')\n"
    "  rexianctl show \"$id\"\n"
    "  rexianctl list --unit water-supply --limit 50\n"
    "  rexianctl --url http://127.0.0.1:8347 ping      # the demo router\n";

static const char ctl_help_ping[] =
    "usage: rexianctl [GLOBAL OPTIONS] ping\n"
    "\n"
    "Asks GET /healthz (no token needed) and prints the status first, then the details:\n"
    "  ok  service=intake  instance=intake@host/123  redis=up\n"
    "  degraded  service=router  instance=...  redis=down\n"
    "Every rexian service answers it, so with --url any of them can be checked, e.g. as a\n"
    "container healthcheck:\n"
    "  rexianctl --url http://127.0.0.1:8347 --timeout 3 ping\n"
    "\n"
    "Exit status: 0 ok, 1 degraded or an error answer, 3 cannot connect.\n";

static const char ctl_help_create[] =
    "usage: rexianctl [GLOBAL OPTIONS] create --phone P --text T [OPTIONS]\n"
    "\n"
    "Records a new work order (POST /v1/tickets; operator or admin token) and prints only its\n"
    "id on stdout, so scripts can capture it; a note goes to stderr (--json prints the\n"
    "answer instead).\n"
    "\n"
    "Options:\n"
    "  --phone P               caller's phone: 5 to 20 digits, optional leading + (required)\n"
    "  --text T                what the caller said, UTF-8 (required); '-' reads it from stdin\n"
    "  --channel C             phone (default), wechat, web, app, open311, email, sms, city\n"
    "  --address A             where it happens\n"
    "  --category C            consult, help, complaint, report, suggestion\n"
    "  --township CODE         the township's unit code\n"
    "  --name N                caller's name\n"
    "  --idempotency-key K     repeating a create with the same key returns the first ticket\n"
    "                          instead of a second one (1 to 128 printable ASCII characters,\n"
    "                          no spaces). Without it rexianctl makes one up and prints it\n"
    "                          when the outcome is unknown, so the create can be retried.\n"
    "\n"
    "Example:\n"
    "  rexianctl create --phone 13800000001 --category complaint \\\n"
    "      --text '夜里工地施工噪音扰民' --address '北县城关镇建设路12号'\n";

static const char ctl_help_show[] =
    "usage: rexianctl [GLOBAL OPTIONS] show ID\n"
    "\n"
    "Prints one work order (GET /v1/tickets/ID): status, unit, urgency and times; the\n"
    "caller's text; the deadlines (stage, due, state, span); why it was routed where it was;\n"
    "the timeline (time, actor, what, notes); and the notifications (kind, target, state,\n"
    "attempts, last error). A unit token sees only its own unit's orders; the caller's phone\n"
    "is masked for dispatcher, unit and callback tokens.\n"
    "\n"
    "Example:\n"
    "  rexianctl show BX-20261125-000123\n";

static const char ctl_help_list[] =
    "usage: rexianctl [GLOBAL OPTIONS] list [--unit U] [--status S] [--limit N] [--offset N]\n"
    "\n"
    "Lists work orders (GET /v1/tickets), one line each: id, status, unit, urgency, created,\n"
    "phone (masked) and the start of the text; then \"N of TOTAL\" and the offset of the\n"
    "next page.\n"
    "\n"
    "Options:\n"
    "  --unit U      only this unit's orders (a unit token always sees only its own)\n"
    "  --status S    received, pending_dispatch or dispatched\n"
    "  --limit N     orders per page (server default 20, at most 100)\n"
    "  --offset N    skip the first N (default 0)\n"
    "\n"
    "Example:\n"
    "  rexianctl list --status pending_dispatch --limit 50 --offset 50\n";

const char *ctl_args_cmd_name(ctl_cmd_t cmd)
{
    if ((int)cmd < 0 || (size_t)cmd >= sizeof(ctl_cmd_names) / sizeof(ctl_cmd_names[0]))
        return "";
    return ctl_cmd_names[cmd];
}

const char *ctl_args_help(ctl_cmd_t cmd)
{
    switch (cmd) {
    case CTL_CMD_PING:
        return ctl_help_ping;
    case CTL_CMD_CREATE:
        return ctl_help_create;
    case CTL_CMD_SHOW:
        return ctl_help_show;
    case CTL_CMD_LIST:
        return ctl_help_list;
    default:
        return ctl_help_overview;
    }
}

static ctl_cmd_t ctl_cmd_find(const char *word)
{
    for (size_t i = 1; i < sizeof(ctl_cmd_names) / sizeof(ctl_cmd_names[0]); i++)
        if (strcmp(word, ctl_cmd_names[i]) == 0)
            return (ctl_cmd_t)i;
    return CTL_CMD_NONE;
}

/* Splits "--name=value" or takes the value from the next word; advances *i past what it used.
 * Returns the value, or NULL after writing the error. name_len is the length of the name
 * part of argv[*i]. */
static const char *ctl_value(int argc, char *const argv[], int *i, size_t name_len,
                             char err[CTL_ERR_MAX])
{
    const char *arg = argv[*i];
    const char *v;

    if (arg[name_len] == '=') {
        v = arg + name_len + 1;
    } else if (*i + 1 < argc) {
        v = argv[++*i];
    } else {
        snprintf(err, CTL_ERR_MAX, "%.*s needs a value", (int)name_len, arg);
        return NULL;
    }
    if (*v == '\0') {
        snprintf(err, CTL_ERR_MAX, "%.*s needs a non-empty value", (int)name_len, arg);
        return NULL;
    }
    if (strlen(v) > CTL_VALUE_MAX) {
        snprintf(err, CTL_ERR_MAX, "%.*s is %zu bytes; at most %d allowed", (int)name_len, arg,
                 strlen(v), CTL_VALUE_MAX);
        return NULL;
    }
    return v;
}

/* The length of the option name in "--name" or "--name=value". */
static size_t ctl_name_len(const char *arg)
{
    const char *eq = strchr(arg, '=');
    return eq != NULL ? (size_t)(eq - arg) : strlen(arg);
}

static int ctl_is(const char *arg, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(arg, name, len) == 0;
}

static int ctl_parse_long(const char *v, long min, long max, long *ret)
{
    char *end;
    long n;

    if (*v < '0' || *v > '9')
        return -EINVAL; /* no sign, no spaces: "-5" or " 5" is a mistake */
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return -EINVAL;
    *ret = n;
    return 0;
}

static int ctl_check_url(const char *url, const char *from, char err[CTL_ERR_MAX])
{
    const char *host;

    if (strlen(url) > CTL_URL_MAX) {
        snprintf(err, CTL_ERR_MAX, "%s is %zu bytes; at most %d allowed", from, strlen(url),
                 CTL_URL_MAX);
        return -EINVAL;
    }
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else
        host = NULL;
    if (host == NULL || *host == '\0' || *host == '/') {
        snprintf(err, CTL_ERR_MAX, "%s '%.100s' must be http://HOST[:PORT] or https://..., "
                 "e.g. " CTL_DEFAULT_URL, from, url);
        return -EINVAL;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            snprintf(err, CTL_ERR_MAX, "%s must not contain spaces or control characters", from);
            return -EINVAL;
        }
        if (*p == '?' || *p == '#') {
            snprintf(err, CTL_ERR_MAX, "%s must not contain a query or fragment ('%c')", from,
                     *p);
            return -EINVAL;
        }
    }
    return 0;
}

static int ctl_check_token(const char *token, const char *from, char err[CTL_ERR_MAX])
{
    if (strlen(token) > CTL_TOKEN_MAX) {
        snprintf(err, CTL_ERR_MAX, "%s is %zu bytes; at most %d allowed", from, strlen(token),
                 CTL_TOKEN_MAX);
        return -EINVAL;
    }
    for (const char *p = token; *p; p++) {
        if (*p < 0x21 || *p > 0x7e) {
            snprintf(err, CTL_ERR_MAX, "%s must be printable ASCII without spaces", from);
            return -EINVAL;
        }
    }
    return 0;
}

static int ctl_once(int *seen, const char *arg, size_t len, char err[CTL_ERR_MAX])
{
    if (*seen) {
        snprintf(err, CTL_ERR_MAX, "%.*s is given twice", (int)len, arg);
        return -EINVAL;
    }
    *seen = 1;
    return 0;
}

/* Global options, before the command. Returns the index of the first other word, or -EINVAL. */
static int ctl_parse_global(int argc, char *const argv[], ctl_args_t *a, char err[CTL_ERR_MAX])
{
    int seen_url = 0, seen_token = 0, seen_timeout = 0;
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i], *v;
        size_t len = ctl_name_len(arg);

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            a->help = 1;
        } else if (strcmp(arg, "--version") == 0) {
            a->version = 1;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if (ctl_is(arg, len, "--url")) {
            if (ctl_once(&seen_url, arg, len, err) != 0 ||
                (v = ctl_value(argc, argv, &i, len, err)) == NULL ||
                ctl_check_url(v, "--url", err) != 0)
                return -EINVAL;
            a->url = v;
        } else if (ctl_is(arg, len, "--token")) {
            if (ctl_once(&seen_token, arg, len, err) != 0 ||
                (v = ctl_value(argc, argv, &i, len, err)) == NULL ||
                ctl_check_token(v, "--token", err) != 0)
                return -EINVAL;
            a->token = v;
        } else if (ctl_is(arg, len, "--timeout")) {
            if (ctl_once(&seen_timeout, arg, len, err) != 0 ||
                (v = ctl_value(argc, argv, &i, len, err)) == NULL)
                return -EINVAL;
            if (ctl_parse_long(v, 1, CTL_TIMEOUT_MAX_S, &a->timeout_s) != 0) {
                snprintf(err, CTL_ERR_MAX, "--timeout '%.32s' must be whole seconds from 1 to %d",
                         v, CTL_TIMEOUT_MAX_S);
                return -EINVAL;
            }
        } else {
            snprintf(err, CTL_ERR_MAX, "unknown global option '%.*s' (global options: --url, "
                     "--token, --json, --timeout, --help, --version; command options go after "
                     "the command)", (int)(len > 64 ? 64 : len), arg);
            return -EINVAL;
        }
    }
    return i;
}

static const ctl_opt_t *ctl_opt_find(ctl_cmd_t cmd, const char *arg, size_t len)
{
    for (size_t k = 0; k < sizeof(ctl_opts) / sizeof(ctl_opts[0]); k++)
        if (ctl_opts[k].cmd == cmd && ctl_is(arg, len, ctl_opts[k].name))
            return &ctl_opts[k];
    return NULL;
}

/* Lists cmd's options into buf, for error messages. */
static void ctl_opt_list(ctl_cmd_t cmd, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < sizeof(ctl_opts) / sizeof(ctl_opts[0]) && o < cap; k++)
        if (ctl_opts[k].cmd == cmd)
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", ctl_opts[k].name);
    if (o == 0)
        snprintf(buf, cap, "none");
}

static int ctl_parse_cmd(int argc, char *const argv[], int i, ctl_args_t *a,
                         char err[CTL_ERR_MAX])
{
    const char *cmd = ctl_args_cmd_name(a->cmd);
    unsigned seen = 0; /* bit k: ctl_opts[k] given */

    /* --help anywhere after the command wins over everything else there */
    for (int k = i; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            a->help = 1;
            return 0;
        }
    }
    for (; i < argc; i++) {
        const char *arg = argv[i], *v;
        size_t len = ctl_name_len(arg);
        const ctl_opt_t *o;

        if (arg[0] != '-' || arg[1] == '\0') {
            if (a->cmd == CTL_CMD_SHOW && a->id == NULL) {
                if (strlen(arg) > 64) {
                    snprintf(err, CTL_ERR_MAX, "ticket id is %zu bytes; ids look like "
                             "BX-20261125-000123", strlen(arg));
                    return -EINVAL;
                }
                a->id = arg;
                continue;
            }
            if (a->cmd == CTL_CMD_SHOW)
                snprintf(err, CTL_ERR_MAX, "show takes one ticket id; '%.40s' is one too many",
                         arg);
            else
                snprintf(err, CTL_ERR_MAX, "unexpected argument '%.40s' (%s takes only options%s)",
                         arg, cmd, a->cmd == CTL_CMD_CREATE
                                       ? "; quote values with spaces, e.g. --text '...'" : "");
            return -EINVAL;
        }
        if (ctl_is(arg, len, "--url") || ctl_is(arg, len, "--token") ||
            ctl_is(arg, len, "--json") || ctl_is(arg, len, "--timeout") ||
            ctl_is(arg, len, "--version")) {
            int flag = ctl_is(arg, len, "--json") || ctl_is(arg, len, "--version");
            snprintf(err, CTL_ERR_MAX, "%.*s is a global option: put it before the command, "
                     "e.g. rexianctl %.*s%s %s ...", (int)len, arg, (int)len, arg,
                     flag ? "" : " VALUE", cmd);
            return -EINVAL;
        }
        o = ctl_opt_find(a->cmd, arg, len);
        if (o == NULL) {
            char list[200];
            ctl_opt_list(a->cmd, list, sizeof(list));
            snprintf(err, CTL_ERR_MAX, "%s has no option '%.*s' (its options: %s)", cmd,
                     (int)(len > 40 ? 40 : len), arg, list);
            return -EINVAL;
        }
        unsigned bit = 1u << (unsigned)(o - ctl_opts);
        if (seen & bit) {
            snprintf(err, CTL_ERR_MAX, "%s is given twice", o->name);
            return -EINVAL;
        }
        seen |= bit;
        if ((v = ctl_value(argc, argv, &i, len, err)) == NULL)
            return -EINVAL;
        if (o->kind == CTL_OPT_STR) {
            *(const char **)(void *)((char *)a + o->field) = v;
        } else if (ctl_parse_long(v, o->min, o->max, (long *)(void *)((char *)a + o->field)) !=
                   0) {
            snprintf(err, CTL_ERR_MAX, "%s '%.32s' must be a whole number from %ld to %ld",
                     o->name, v, o->min, o->max);
            return -EINVAL;
        }
    }
    if (a->cmd == CTL_CMD_SHOW && a->id == NULL) {
        snprintf(err, CTL_ERR_MAX, "show needs a ticket id, e.g. rexianctl show "
                 "BX-20261125-000123");
        return -EINVAL;
    }
    if (a->cmd == CTL_CMD_CREATE && (a->phone == NULL || a->text == NULL)) {
        snprintf(err, CTL_ERR_MAX, "create needs %s%s%s", a->phone == NULL ?
                 "--phone (the caller's number)" : "", a->phone == NULL && a->text == NULL ?
                 " and " : "", a->text == NULL ? "--text (what the caller said)" : "");
        return -EINVAL;
    }
    return 0;
}

int ctl_args_parse(int argc, char *const argv[], const char *env_url, const char *env_token,
                   ctl_args_t *ret_args, char ret_err[CTL_ERR_MAX])
{
    ctl_args_t a = {.timeout_s = CTL_DEFAULT_TIMEOUT_S, .limit = -1, .offset = -1};
    int i;

    ret_err[0] = '\0';
    if (argc < 1 || argv == NULL) {
        snprintf(ret_err, CTL_ERR_MAX, "no arguments");
        return -EINVAL;
    }
    i = ctl_parse_global(argc, argv, &a, ret_err);
    if (i < 0)
        return -EINVAL;
    if (a.url == NULL && env_url != NULL && *env_url != '\0') {
        if (ctl_check_url(env_url, "REXIAN_URL", ret_err) != 0)
            return -EINVAL;
        a.url = env_url;
    }
    if (a.url == NULL)
        a.url = CTL_DEFAULT_URL;
    if (a.token == NULL && env_token != NULL && *env_token != '\0') {
        if (ctl_check_token(env_token, "REXIAN_TOKEN", ret_err) != 0)
            return -EINVAL;
        a.token = env_token;
    }
    if (i < argc && strcmp(argv[i], "help") == 0) {
        a.help = 1;
        if (++i < argc) {
            if ((a.cmd = ctl_cmd_find(argv[i])) == CTL_CMD_NONE) {
                snprintf(ret_err, CTL_ERR_MAX, "no command '%.40s' (commands: ping, create, "
                         "show, list)", argv[i]);
                return -EINVAL;
            }
        }
        *ret_args = a;
        return 0;
    }
    if (i >= argc) {
        if (!a.help && !a.version) {
            snprintf(ret_err, CTL_ERR_MAX, "no command given (commands: ping, create, show, "
                     "list; see rexianctl --help)");
            return -EINVAL;
        }
        *ret_args = a;
        return 0;
    }
    if ((a.cmd = ctl_cmd_find(argv[i])) == CTL_CMD_NONE) {
        snprintf(ret_err, CTL_ERR_MAX, "unknown command '%.40s' (commands: ping, create, show, "
                 "list, help)", argv[i]);
        return -EINVAL;
    }
    if (a.help) {
        *ret_args = a; /* rexianctl --help create */
        return 0;
    }
    if (ctl_parse_cmd(argc, argv, i + 1, &a, ret_err) != 0)
        return -EINVAL;
    *ret_args = a;
    return 0;
}
