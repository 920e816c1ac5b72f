/* ctl_args.c -- rexianctl's command line: global options, commands, their options and help */
#include "ctl_args.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an option's value is. */
typedef enum ctl_opt_kind_t {
    CTL_OPT_STR,      /* a string, borrowed */
    CTL_OPT_INT,      /* a whole number in [min, max] */
    CTL_OPT_FLAG,     /* no value: sets an int to 1 */
    CTL_OPT_UNITS,    /* repeatable: appends to co_units */
    CTL_OPT_EVIDENCE, /* repeatable: appends to evidence */
} ctl_opt_kind_t;

/* One command option. */
typedef struct ctl_opt_t {
    ctl_cmd_t cmd;       /* the command it belongs to */
    const char *name;    /* "--phone" */
    ctl_opt_kind_t kind; /* what its value is */
    size_t field;        /* offsetof the ctl_args_t field it fills */
    long min, max;       /* range of a number */
    const char *need;    /* required: what to give, for the error; NULL when optional */
    const char *enums;   /* allowed values "a|b|c"; NULL for any */
} ctl_opt_t;

#define CTL_F(f) offsetof(ctl_args_t, f)
#define CTL_STR(cmd, name, f) {cmd, name, CTL_OPT_STR, CTL_F(f), 0, 0, NULL, NULL}
#define CTL_NEED(cmd, name, f, need) {cmd, name, CTL_OPT_STR, CTL_F(f), 0, 0, need, NULL}
#define CTL_ENUM(cmd, name, f, need, enums) {cmd, name, CTL_OPT_STR, CTL_F(f), 0, 0, need, enums}
#define CTL_INT(cmd, name, f, lo, hi) {cmd, name, CTL_OPT_INT, CTL_F(f), lo, hi, NULL, NULL}
#define CTL_FLAG(cmd, name, f) {cmd, name, CTL_OPT_FLAG, CTL_F(f), 0, 0, NULL, NULL}
#define CTL_UNITS(cmd) {cmd, "--co-unit", CTL_OPT_UNITS, CTL_F(co_units), 0, 0, NULL, NULL}
#define CTL_EVIDENCE(cmd) {cmd, "--evidence", CTL_OPT_EVIDENCE, CTL_F(evidence), 0, 0, NULL, NULL}
/* revisions grow by one a step; the server says when one is stale */
#define CTL_REV(cmd) CTL_INT(cmd, "--rev", rev, 1, 2147483647L)

#define CTL_NEED_UNIT "(a unit code, e.g. urban-management)"
#define CTL_NEED_TIME "(a time like 2026-12-01T17:30, Beijing time)"
#define CTL_KINDS "township|department|utility|other"
#define CTL_STAGES "router|watcher|notifier" /* the services that keep dead letters */

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
    CTL_STR(CTL_CMD_METRICS, "--period", period),
    CTL_STR(CTL_CMD_METRICS, "--day", day),
    CTL_STR(CTL_CMD_METRICS, "--from", from),
    CTL_STR(CTL_CMD_METRICS, "--to", to),
    CTL_STR(CTL_CMD_METRICS, "--unit", unit),
    CTL_ENUM(CTL_CMD_METRICS, "--kind", kind, NULL, CTL_KINDS),
    CTL_FLAG(CTL_CMD_METRICS, "--recompute", recompute),
    CTL_FLAG(CTL_CMD_METRICS, "--orders", orders),
    CTL_STR(CTL_CMD_METRICS, "--metric", metric),
    CTL_NEED(CTL_CMD_REPORT, "--period", period, "(the month, e.g. 2025-01)"),
    CTL_ENUM(CTL_CMD_REPORT, "--format", format, NULL, "csv|json|table"),
    CTL_STR(CTL_CMD_CLAIMS, "--unit", unit),
    CTL_STR(CTL_CMD_CLAIMS, "--supervisor", supervisor),
    CTL_ENUM(CTL_CMD_CLAIMS, "--status", status, NULL, "pending|accepted|rejected"),
    /* which action each goes with is checked in ctl_check_dl */
    CTL_ENUM(CTL_CMD_DEADLETTERS, "--stage", only_stage, NULL, CTL_STAGES),
    CTL_STR(CTL_CMD_DEADLETTERS, "--reason", reason),
    /* the calendar module judges times and spans: due checks them before anything else */
    CTL_NEED(CTL_CMD_DUE, "--from", from, "(the start, e.g. 2025-01-24T10:00, Beijing time)"),
    CTL_NEED(CTL_CMD_DUE, "--add", add, "(a span, e.g. 5wd, 72h, 4wh or 13wd+next)"),
    CTL_STR(CTL_CMD_DUE, "--calendar", calendar),

    /* Steps. Reasons come from the tier's configured lists, so the server checks them; the
     * fixed vocabularies are checked here too, for an answer before anything is sent. */
    CTL_NEED(CTL_CMD_RESOLVE, "--answer", answer, "(what the caller was told)"),
    CTL_REV(CTL_CMD_RESOLVE),
    CTL_NEED(CTL_CMD_REJECT, "--reason", reason, "(one of the configured reject reasons)"),
    CTL_STR(CTL_CMD_REJECT, "--note", note),
    CTL_REV(CTL_CMD_REJECT),
    CTL_NEED(CTL_CMD_DISPATCH, "--unit", unit, CTL_NEED_UNIT),
    CTL_UNITS(CTL_CMD_DISPATCH),
    CTL_ENUM(CTL_CMD_DISPATCH, "--urgency", urgency, NULL, "emergency|urgent|normal"),
    CTL_STR(CTL_CMD_DISPATCH, "--note", note),
    CTL_FLAG(CTL_CMD_DISPATCH, "--same-unit", same_unit),
    CTL_REV(CTL_CMD_DISPATCH),
    CTL_REV(CTL_CMD_ACK),
    CTL_NEED(CTL_CMD_RETURN, "--reason", reason, "(one of the configured return reasons)"),
    CTL_NEED(CTL_CMD_RETURN, "--note", note, "(why the order is not yours)"),
    CTL_REV(CTL_CMD_RETURN),
    CTL_ENUM(CTL_CMD_REVIEW_RETURN, "--decision", decision, "(redispatch or reject)",
             "redispatch|reject"),
    CTL_STR(CTL_CMD_REVIEW_RETURN, "--unit", unit),
    CTL_UNITS(CTL_CMD_REVIEW_RETURN),
    CTL_NEED(CTL_CMD_REVIEW_RETURN, "--reason", reason, "(why, for the record)"),
    CTL_REV(CTL_CMD_REVIEW_RETURN),
    CTL_NEED(CTL_CMD_SUBDISPATCH, "--unit", unit, CTL_NEED_UNIT),
    CTL_NEED(CTL_CMD_SUBDISPATCH, "--due", due, CTL_NEED_TIME),
    CTL_NEED(CTL_CMD_SUBDISPATCH, "--note", note, "(what the unit should do)"),
    CTL_REV(CTL_CMD_SUBDISPATCH),
    CTL_NEED(CTL_CMD_EXTEND, "--until", until, CTL_NEED_TIME),
    CTL_NEED(CTL_CMD_EXTEND, "--reason", reason, "(why more time is needed)"),
    CTL_REV(CTL_CMD_EXTEND),
    CTL_ENUM(CTL_CMD_DECIDE_EXTENSION, "--decision", decision, "(approve or refuse)",
             "approve|refuse"),
    CTL_NEED(CTL_CMD_DECIDE_EXTENSION, "--reason", reason, "(why, for the record)"),
    CTL_REV(CTL_CMD_DECIDE_EXTENSION),
    CTL_NEED(CTL_CMD_REPLY, "--text", text, "(the reply to the citizen, '-' reads stdin)"),
    CTL_EVIDENCE(CTL_CMD_REPLY),
    CTL_REV(CTL_CMD_REPLY),
    CTL_ENUM(CTL_CMD_RATE, "--rating", rating,
             "(satisfied, basically_satisfied, unsatisfied or unreachable)",
             "satisfied|basically_satisfied|unsatisfied|unreachable"),
    CTL_STR(CTL_CMD_RATE, "--words", words),
    CTL_REV(CTL_CMD_RATE),
    CTL_NEED(CTL_CMD_CLOSE, "--reason", reason, "(why it is closed)"),
    CTL_REV(CTL_CMD_CLOSE),
    CTL_NEED(CTL_CMD_MERGE, "--into", into, "(the open order it repeats)"),
    CTL_STR(CTL_CMD_MERGE, "--note", note),
    CTL_REV(CTL_CMD_MERGE),
    CTL_NEED(CTL_CMD_PAUSE, "--reason", reason, "(why the clocks stop)"),
    CTL_REV(CTL_CMD_PAUSE),
    CTL_STR(CTL_CMD_RESUME, "--note", note),
    CTL_REV(CTL_CMD_RESUME),
    CTL_NEED(CTL_CMD_EXPLAIN, "--text", text, "(the explanation, '-' reads stdin)"),
    CTL_EVIDENCE(CTL_CMD_EXPLAIN),
    CTL_REV(CTL_CMD_EXPLAIN),
    CTL_ENUM(CTL_CMD_CLAIM, "--kind", kind, "(unreasonable or rating)", "unreasonable|rating"),
    CTL_NEED(CTL_CMD_CLAIM, "--reason", reason, "(one of the configured claim reasons)"),
    CTL_NEED(CTL_CMD_CLAIM, "--text", text, "(the unit's case, '-' reads stdin)"),
    CTL_EVIDENCE(CTL_CMD_CLAIM),
    CTL_REV(CTL_CMD_CLAIM),
    /* required too: checked in ctl_check_complete, as it is a number */
    CTL_INT(CTL_CMD_RULE, "--claim", claim, 1, CTL_CLAIMS_MAX),
    CTL_ENUM(CTL_CMD_RULE, "--decision", decision, "(accept or reject)", "accept|reject"),
    CTL_NEED(CTL_CMD_RULE, "--reason", reason, "(why, for the record)"),
    CTL_REV(CTL_CMD_RULE),
};

#define CTL_NOPTS (sizeof(ctl_opts) / sizeof(ctl_opts[0]))

static const char *const ctl_cmd_names[CTL_CMD_COUNT] = {
    "", "ping", "create", "show", "list", "metrics", "report", "claims", "overdue",
    "deadletters", "due",
    "resolve", "reject", "dispatch", "ack", "return", "review-return", "subdispatch", "extend",
    "decide-extension", "reply", "rate", "close", "merge", "pause", "resume", "explain", "claim",
    "rule"};

#define CTL_CMD_LIST_TEXT "ping, create, show, list, metrics, report, claims, overdue, "        \
                          "deadletters, due, resolve, reject, dispatch, ack, return, "          \
                          "review-return, subdispatch, extend, decide-extension, reply, rate, " \
                          "close, merge, pause, resume, explain, claim, rule"

/* The counters of GET /v1/metrics (services/intake/report.c), in its order. */
static const char *const ctl_metric_names[] = {
    "received", "dispatched", "acknowledged", "ack_on_time", "returned", "reopened", "overdue",
    "escalated", "due", "closed", "closed_on_time", "rated_satisfied",
    "rated_basically_satisfied", "rated_unsatisfied", "rated_unreachable",
    "excluded_satisfied", "excluded_basically_satisfied", "excluded_unsatisfied",
    "excluded_unreachable", "claims", "claims_accepted", "claims_rejected", NULL};

static const char ctl_help_overview[] =
    "usage: rexianctl [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "The command-line client of the rexian HTTP API (12345 hotline work orders).\n"
    "\n"
    "Commands:\n"
    "  ping      check a service's /healthz (any rexian service); exit 0 when ok\n"
    "  create    record a new work order; prints its id\n"
    "  show ID   one work order: reply, handling, deadlines, routing, timeline, notifications\n"
    "  list      work orders, newest first, a page at a time\n"
    "  help CMD  the options of a command (same as: rexianctl CMD --help)\n"
    "\n"
    "Steps of an order's life (rexianctl STEP ID [OPTIONS]; each prints one line,\n"
    "e.g. 'BX-20261125-000123 acknowledged (rev 4)'):\n"
    "  resolve           operator: answered at first contact, never dispatched\n"
    "  reject            operator: not accepted (reason from the configured list)\n"
    "  dispatch          dispatcher: send an order waiting in the manual queue to a unit\n"
    "  ack               unit: acknowledge an order dispatched to it\n"
    "  return            unit: not ours, with a reason, within the return window\n"
    "  review-return     dispatcher: redispatch a returned order, or reject the return\n"
    "  subdispatch       lead unit: pass part of the work to another unit, with a deadline\n"
    "  extend            lead unit: ask for a later close deadline\n"
    "  decide-extension  supervisor: approve or refuse it\n"
    "  reply             unit: the reply to the citizen, with evidence\n"
    "  rate              callback: the follow-up call's rating (unsatisfied reopens)\n"
    "  close             supervisor: close an open order\n"
    "  merge             dispatcher or operator: a repeat request joins an open order\n"
    "  pause             lead unit or supervisor: stop the clocks (e.g. waiting for the caller)\n"
    "  resume            lead unit or supervisor: the clocks go on; the paused time does\n"
    "                    not count\n"
    "  explain           unit: its side of the story with evidence, kept on the order\n"
    "  claim             lead unit: an unreasonable request or an unfair rating, for a ruling\n"
    "  rule              supervisor: accept or reject a claim (accepted: the order's ratings\n"
    "                    leave the unit's satisfaction rate)\n"
    "\n"
    "Scores and audit (supervisor, dispatcher or admin token):\n"
    "  metrics   a period's counters and rates per unit, by kind and for the tier;\n"
    "            --recompute checks them against the timelines, --orders lists the orders\n"
    "            behind one number\n"
    "  report    the monthly circular: one row per unit, ranked, as a table, csv or json\n"
    "  claims    units' claims and the supervisors' rulings\n"
    "  overdue   every stage overdue now, by unit, with escalations\n"
    "\n"
    "Operations (supervisor or admin token):\n"
    "  deadletters  messages a service gave up on after every delivery failed: list, show,\n"
    "               retry or drop them\n"
    "\n"
    "Offline (no server):\n"
    "  due       a deadline from the working calendar, e.g. due --from 2025-01-24T10:00 --add 5wd\n"
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
    "  0  done (ping: the service is ok; metrics --recompute: the counters agree)\n"
    "  1  the server answered with an error (its code and message go to stderr), the answer\n"
    "     was unusable, ping found the service degraded, metrics --recompute found\n"
    "     differences, or due could not read the calendar\n"
    "  2  usage error\n"
    "  3  cannot connect, or no answer within --timeout\n"
    "\n"
    "Examples:\n"
    "  export REXIAN_TOKEN=demo-operator               # a demo token (scripts/run)\n"
    "  id=$(rexianctl create --phone 13800000001 --text '小区门口路灯不亮' \\\n"
    "       --address '城关镇')\n"
    "  rexianctl show \"$id\"\n"
    "  rexianctl list --unit water-supply --limit 50\n"
    "  REXIAN_TOKEN=$UNIT_TOKEN rexianctl ack \"$id\"\n"
    "  rexianctl --url http://127.0.0.1:8347 ping      # the demo router\n"
    "  REXIAN_TOKEN=demo-supervisor rexianctl report --period 2026-11 --format csv\n"
    "  REXIAN_TOKEN=demo-supervisor rexianctl deadletters list\n"
    "  rexianctl due --from 2026-11-25T16:00 --add 5wd # no server needed\n";

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
    "Prints one work order (GET /v1/tickets/ID): status, unit, urgency, times and revision;\n"
    "the caller's text; the unit's reply and its evidence; how it was handled (returns,\n"
    "extensions, sub-dispatches, co-handlers, pauses, rating, claims and rulings, merges,\n"
    "resolution); the deadlines (stage, due, state, span); why it was routed where it was;\n"
    "the timeline (time, actor, what, notes: explanations are kept there with their\n"
    "evidence); and the notifications (kind, target, state, attempts, last error). A unit\n"
    "token sees only the orders its unit leads, co-handles or was sub-dispatched; the\n"
    "caller's phone is masked for dispatcher, unit and callback tokens.\n"
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
    "  --status S    received, pending_dispatch, dispatched, acknowledged, returned,\n"
    "                replied, closed, rejected or merged\n"
    "  --limit N     orders per page (server default 20, at most 100)\n"
    "  --offset N    skip the first N (default 0)\n"
    "\n"
    "Example:\n"
    "  rexianctl list --status pending_dispatch --limit 50 --offset 50\n";

#define CTL_HELP_PERIOD                                                                        \
    "  --period YYYY-MM    a month, e.g. 2025-01 (default: the current month, Beijing time)\n" \
    "  --day YYYY-MM-DD    one day\n"                                                          \
    "  --from D --to D     the days from D to D, both included (at most 400 days)\n"

static const char ctl_help_metrics[] =
    "usage: rexianctl [GLOBAL OPTIONS] metrics [PERIOD] [--unit U] [--kind K]\n"
    "       rexianctl [GLOBAL OPTIONS] metrics --recompute [PERIOD]\n"
    "       rexianctl [GLOBAL OPTIONS] metrics --orders --unit U --metric M [PERIOD]\n"
    "\n"
    "How the units did in a period (GET /v1/metrics; supervisor, dispatcher or admin token):\n"
    "one row per unit with its counts, rates and flags, then the tier and each kind of unit.\n"
    "Every number comes from the orders' timelines, counted on the day (Beijing time) its\n"
    "entry was written.\n"
    "\n"
    "Columns: RECV received, DISP dispatched, ACK acknowledged by the lead, ACK%\n"
    "acknowledged on time / acknowledged, DUE close deadlines that fell due or were met,\n"
    "CLOSED closed (ON-TIME% closed on time / due, CLOSE% closed / due), RATED follow-up\n"
    "ratings that count (satisfied, basically satisfied, unsatisfied; not unreachable), EXCL\n"
    "those left out by an accepted claim, SAT% (basically) satisfied / rated without the\n"
    "excluded ones, SAT%ALL the same with them,\n"
    "OVERDUE stages overdue, ESC escalations, RET returns, REOPEN reopened orders, CLAIMS\n"
    "claims filed/accepted/rejected, FLAGS what falls under the tier's thresholds. Orders\n"
    "are received before they have a unit, so RECV counts for the tier only. A rate with\n"
    "nothing to count shows '-'.\n"
    "\n"
    "Options:\n"
    CTL_HELP_PERIOD
    "  --unit U            only this unit\n"
    "  --kind K            only units of this kind: township, department, utility or other\n"
    "  --recompute         count again from every order's timeline and compare with the live\n"
    "                      counters; prints whether they agree, how many orders and counters\n"
    "                      were checked, and every difference; exits 1 when they differ\n"
    "  --orders            the orders behind one number, one id a line (with --unit, '*' for\n"
    "                      the whole tier, and --metric)\n"
    "  --metric M          the counter: received, dispatched, acknowledged, ack_on_time,\n"
    "                      returned, reopened, overdue, escalated, due, closed, closed_on_time,\n"
    "                      rated_satisfied, rated_basically_satisfied, rated_unsatisfied,\n"
    "                      rated_unreachable, excluded_satisfied, excluded_basically_satisfied,\n"
    "                      excluded_unsatisfied, excluded_unreachable, claims, claims_accepted,\n"
    "                      claims_rejected\n"
    "\n"
    "Examples:\n"
    "  rexianctl metrics --period 2025-01 --kind township\n"
    "  rexianctl metrics --day 2025-01-24 --unit urban-management\n"
    "  rexianctl metrics --recompute --from 2025-01-01 --to 2025-03-31\n"
    "  rexianctl metrics --orders --unit urban-management --metric rated_unsatisfied\n";

static const char ctl_help_report[] =
    "usage: rexianctl [GLOBAL OPTIONS] report --period YYYY-MM [--format csv|json|table]\n"
    "\n"
    "The monthly circular (通报) from GET /v1/metrics?period=YYYY-MM (supervisor, dispatcher\n"
    "or admin token): one row per unit with its name, kind, counts and rates, its rank by\n"
    "satisfaction (units with no rating have none) and its flags, best first.\n"
    "\n"
    "Options:\n"
    "  --period YYYY-MM    the month (required)\n"
    "  --format F          table (default: aligned columns for a terminal), csv (a header\n"
    "                      line, then one line per unit, quoted as RFC 4180 says; rates are\n"
    "                      percentages with two decimals, empty when there is nothing to\n"
    "                      count; flags joined by '; ') or json (the server's answer)\n"
    "\n"
    "Examples:\n"
    "  rexianctl report --period 2025-01\n"
    "  rexianctl report --period 2025-01 --format csv > 2025-01.csv\n";

static const char ctl_help_claims[] =
    "usage: rexianctl [GLOBAL OPTIONS] claims [--unit U] [--supervisor NAME] [--status S]\n"
    "\n"
    "Units' claims and the supervisors' rulings, newest first (GET /v1/claims; supervisor,\n"
    "dispatcher or admin token): ticket, claim number, unit, kind, reason, status, when it\n"
    "was filed, who ruled and when, and the ruling's reason.\n"
    "\n"
    "Options:\n"
    "  --unit U            only this unit's claims\n"
    "  --supervisor NAME   only the rulings of this token name (e.g. t-supervisor)\n"
    "  --status S          pending, accepted or rejected\n"
    "\n"
    "Example:\n"
    "  rexianctl claims --status pending\n";

static const char ctl_help_overdue[] =
    "usage: rexianctl [GLOBAL OPTIONS] overdue\n"
    "\n"
    "Every stage overdue now (GET /v1/overdue; supervisor, dispatcher or admin token), by\n"
    "unit: how many are overdue and escalated, then each order with its stage (ack, reply,\n"
    "close), due time, status and when it was escalated.\n"
    "\n"
    "Example:\n"
    "  rexianctl overdue\n";

#define CTL_DL_EXAMPLE_ID "BX-20261125-000123:unit.new_order:urban-management:2"

static const char ctl_help_deadletters[] =
    "usage: rexianctl [GLOBAL OPTIONS] deadletters list [--stage S]\n"
    "       rexianctl [GLOBAL OPTIONS] deadletters show STAGE ID\n"
    "       rexianctl [GLOBAL OPTIONS] deadletters retry STAGE ID\n"
    "       rexianctl [GLOBAL OPTIONS] deadletters drop STAGE ID --reason TEXT\n"
    "\n"
    "A message that failed max_deliveries times (a webhook that keeps answering 500, a step\n"
    "that cannot be applied) waits as a dead letter with its last error until someone retries\n"
    "or drops it (GET and POST /v1/deadletters; supervisor or admin token). STAGE is the\n"
    "service that gave up on it: router, watcher or notifier; ID is the message's id, as\n"
    "list prints it.\n"
    "\n"
    "Actions:\n"
    "  list     one line each, newest first: stage, id, ticket, attempts, last error and when\n"
    "           it died; then how many (the server lists at most 1000)\n"
    "  show     one dead letter: its record (ticket, attempts, when, the whole last error)\n"
    "           and the message itself (type, id, sender, tier, time) with its body\n"
    "           pretty-printed\n"
    "  retry    back to its stage's outbox, due now, with a fresh delivery count (fix the\n"
    "           cause first); prints 'STAGE ID retried'\n"
    "  drop     delete it for good; the reason, the token's name and the time are kept in the\n"
    "           audit log; prints 'STAGE ID dropped'\n"
    "\n"
    "Options:\n"
    "  --stage S        list: only router, watcher or notifier\n"
    "  --reason TEXT    drop: why, up to 1000 bytes (required)\n"
    "\n"
    "--json prints the server's answers. A dead letter that is not there (any more) gets 404\n"
    "not_found and exit 1, so repeating a retry or drop is safe.\n"
    "\n"
    "Examples:\n"
    "  rexianctl deadletters list --stage notifier\n"
    "  rexianctl deadletters show notifier " CTL_DL_EXAMPLE_ID "\n"
    "  rexianctl deadletters retry notifier " CTL_DL_EXAMPLE_ID "\n"
    "  rexianctl deadletters drop notifier " CTL_DL_EXAMPLE_ID " \\\n"
    "      --reason '单位已电话通知'\n";

static const char ctl_help_due[] =
    "usage: rexianctl due --from TIME --add SPAN [--calendar DIR]\n"
    "\n"
    "The deadline the working calendar gives, computed here without a server: prints the due\n"
    "time (Beijing time, +08:00), then 'provisional' when a year it depends on has no\n"
    "calendar file (Monday to Friday were taken as working days). --json prints\n"
    "{from, add, due, due_ms, provisional}.\n"
    "\n"
    "Options:\n"
    "  --from TIME         the start, e.g. 2025-01-24T10:00 (Beijing time) or with an offset,\n"
    "                      2025-01-24T02:00:00Z (required)\n"
    "  --add SPAN          a count, a unit, optionally +next (required): m, h, d calendar\n"
    "                      time; wd working days (due at the close of office hours); wh working\n"
    "                      hours; +next counts from the next day, e.g. 3d, 72h, 5wd, 4wh,\n"
    "                      13wd+next\n"
    "  --calendar DIR      the folder of YYYY.conf files (default: $REXIAN_CALENDAR, else\n"
    "                      deploy/calendar under the current directory)\n"
    "\n"
    "Exit status: 0 done, 1 the calendar cannot be read (or has no YYYY.conf file), 2 a bad\n"
    "time or span.\n"
    "\n"
    "Examples:\n"
    "  rexianctl due --from 2025-01-24T10:00 --add 5wd\n"
    "  2025-02-07T17:30:00+08:00\n"
    "  rexianctl due --from 2027-03-01T09:00 --add 13wd+next --calendar /etc/rexian/calendar\n";

/* What every step's help ends with. */
#define CTL_HELP_TAIL                                                                         \
    "  --rev N             apply only if the order is still at revision N (shown by show);\n" \
    "                      a stale N gets 409 conflict, so a repeated command is safe\n"      \
    "\n"                                                                                      \
    "Prints one line on stdout, 'ID STATUS (rev N)'; --json prints the server's answer.\n"    \
    "A refused step exits 1 and says why on stderr: 403 the token's role may not take it,\n"  \
    "404 no such order (or not your unit's), 409 not allowed in the order's state (the\n"     \
    "message names the state and the steps allowed now) or a stale --rev.\n"

static const char ctl_help_resolve[] =
    "usage: rexianctl [GLOBAL OPTIONS] resolve ID --answer TEXT [--rev N]\n"
    "\n"
    "The operator answered the caller at first contact (直接办结), e.g. from the knowledge\n"
    "base: the order closes without being dispatched (operator or admin token; the order is\n"
    "received or pending_dispatch).\n"
    "\n"
    "Options:\n"
    "  --answer TEXT       what the caller was told, up to 2000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl resolve BX-20261125-000123 --answer '社保卡补办请到人社局窗口'\n";

static const char ctl_help_reject[] =
    "usage: rexianctl [GLOBAL OPTIONS] reject ID --reason R [--note TEXT] [--rev N]\n"
    "\n"
    "The request is not accepted (不予受理); the citizen is told why (operator or admin\n"
    "token; the order is received or pending_dispatch).\n"
    "\n"
    "Options:\n"
    "  --reason R          one of the tier's reject reasons (required); by default in_court,\n"
    "                      emergency_110, same_matter_no_new_facts, not_government,\n"
    "                      insufficient_information\n"
    "  --note TEXT         more detail, up to 1000 bytes\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl reject BX-20261125-000123 --reason emergency_110 --note '已转110'\n";

static const char ctl_help_dispatch[] =
    "usage: rexianctl [GLOBAL OPTIONS] dispatch ID --unit U [OPTIONS]\n"
    "\n"
    "Sends an order waiting in the manual dispatch queue (pending_dispatch) to a lead unit\n"
    "and optional co-handlers; its clocks start (dispatcher or admin token).\n"
    "\n"
    "Options:\n"
    "  --unit U            the lead unit's code (required)\n"
    "  --co-unit U         a co-handling unit; repeat for more, at most 4\n"
    "  --urgency U         emergency, urgent or normal (default: the order's, else normal)\n"
    "  --note TEXT         instructions for the unit, up to 1000 bytes\n"
    "  --same-unit         dispatch to the unit that returned the order, knowingly\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl dispatch BX-20261125-000123 --unit urban-management \\\n"
    "      --co-unit town-chengguan --urgency urgent --note '请协同处理'\n";

static const char ctl_help_ack[] =
    "usage: rexianctl [GLOBAL OPTIONS] ack ID [--rev N]\n"
    "\n"
    "The unit acknowledges an order dispatched to it (签收; unit token). The lead unit's\n"
    "acknowledgement stops the acknowledge clock and makes the order acknowledged; a\n"
    "co-handler's is recorded beside it and leaves the status as it is.\n"
    "\n"
    "Options:\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl ack BX-20261125-000123\n";

static const char ctl_help_return[] =
    "usage: rexianctl [GLOBAL OPTIONS] return ID --reason R --note TEXT [--rev N]\n"
    "\n"
    "The lead unit returns a wrong dispatch (退单) within the return window (2 working days\n"
    "by default); a dispatcher reviews it (unit token; dispatched or acknowledged).\n"
    "\n"
    "Options:\n"
    "  --reason R          one of the tier's return reasons (required); by default\n"
    "                      not_our_responsibility, wrong_location, duplicate, other\n"
    "  --note TEXT         why, e.g. whose matter it is, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl return BX-20261125-000123 --reason not_our_responsibility \\\n"
    "      --note '镇区路灯归城关镇管理'\n";

static const char ctl_help_review_return[] =
    "usage: rexianctl [GLOBAL OPTIONS] review-return ID --decision D --reason TEXT [OPTIONS]\n"
    "\n"
    "A dispatcher decides on a returned order (dispatcher or admin token; returned):\n"
    "redispatch it to another unit (改派), or reject the return, which gives the order back to\n"
    "the unit in the state it had. A unit that returned the order is never chosen again here.\n"
    "\n"
    "Options:\n"
    "  --decision D        redispatch or reject (required)\n"
    "  --unit U            the new lead unit (required with redispatch)\n"
    "  --co-unit U         a co-handling unit with redispatch; repeat for more, at most 4\n"
    "  --reason TEXT       why, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Examples:\n"
    "  rexianctl review-return BX-20261125-000123 --decision redispatch \\\n"
    "      --unit town-chengguan --reason '城关镇负责镇区路灯'\n"
    "  rexianctl review-return BX-20261125-000123 --decision reject --reason '地址写明人民路'\n";

static const char ctl_help_subdispatch[] =
    "usage: rexianctl [GLOBAL OPTIONS] subdispatch ID --unit U --due TIME --note TEXT [--rev N]\n"
    "\n"
    "The lead unit passes part of the work to another unit (下派) with its own deadline; the\n"
    "lead stays responsible for the reply (unit token of the lead; acknowledged). At most 8\n"
    "per order.\n"
    "\n"
    "Options:\n"
    "  --unit U            the unit that helps (required; not the lead itself)\n"
    "  --due TIME          its deadline, e.g. 2026-12-01T17:30 (Beijing time) or with an\n"
    "                      offset, 2026-12-01T17:30:00+08:00; in the future (required)\n"
    "  --note TEXT         what it should do, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl subdispatch BX-20261125-000123 --unit town-chengguan \\\n"
    "      --due 2026-12-01T17:30 --note '请镇里协助核实具体位置'\n";

static const char ctl_help_extend[] =
    "usage: rexianctl [GLOBAL OPTIONS] extend ID --until TIME --reason TEXT [--rev N]\n"
    "\n"
    "The lead unit asks, before the close deadline, for a later one (延期); a supervisor\n"
    "decides with decide-extension (unit token of the lead; dispatched or acknowledged). One\n"
    "request waits at a time, and the tier limits how many are granted (1 by default).\n"
    "\n"
    "Options:\n"
    "  --until TIME        the close deadline asked for, later than the current one, e.g.\n"
    "                      2026-12-01T17:30 (Beijing time) (required)\n"
    "  --reason TEXT       why more time is needed, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl extend BX-20261125-000123 --until 2026-12-08T17:30 --reason '需要采购灯具'\n";

static const char ctl_help_decide_extension[] =
    "usage: rexianctl [GLOBAL OPTIONS] decide-extension ID --decision D --reason TEXT [--rev N]\n"
    "\n"
    "A supervisor answers a waiting extension request (supervisor or admin token). Approval\n"
    "moves the close deadline to the time asked for; the unit is told either way.\n"
    "\n"
    "Options:\n"
    "  --decision D        approve or refuse (required)\n"
    "  --reason TEXT       why, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl decide-extension BX-20261125-000123 --decision approve --reason '同意'\n";

static const char ctl_help_reply[] =
    "usage: rexianctl [GLOBAL OPTIONS] reply ID --text TEXT [--evidence NAME[,HASH[,URL]]]...\n"
    "\n"
    "The unit's reply to the citizen (答复), with references to its evidence (佐证材料)\n"
    "(unit token; acknowledged). The lead's reply makes the order replied and goes to the\n"
    "citizen; a co-handler's goes to the lead unit.\n"
    "\n"
    "Options:\n"
    "  --text TEXT         the reply, up to 4000 bytes (required); '-' reads it from stdin\n"
    "  --evidence NAME[,HASH[,URL]]\n"
    "                      a piece of evidence: its name (up to 200 bytes), then optionally\n"
    "                      its hash (up to 128) and where it is kept (up to 512; the URL may\n"
    "                      contain commas, the name may not); repeat for more, at most 10\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl reply BX-20261125-000123 --text '已更换路灯灯头，恢复照明。' \\\n"
    "      --evidence photo.jpg,sha256:ab12,https://files.example/photo.jpg\n";

static const char ctl_help_rate[] =
    "usage: rexianctl [GLOBAL OPTIONS] rate ID --rating R [--words TEXT] [--rev N]\n"
    "\n"
    "The follow-up call's result (回访; callback or admin token; replied). satisfied and\n"
    "basically_satisfied close the order; unsatisfied reopens it to the same unit with new\n"
    "clocks; unreachable is recorded and leaves it replied.\n"
    "\n"
    "Options:\n"
    "  --rating R          satisfied, basically_satisfied, unsatisfied or unreachable\n"
    "                      (required)\n"
    "  --words TEXT        what the citizen said, up to 1000 bytes\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl rate BX-20261125-000123 --rating unsatisfied --words '还有两个不亮'\n";

static const char ctl_help_close[] =
    "usage: rexianctl [GLOBAL OPTIONS] close ID --reason TEXT [--rev N]\n"
    "\n"
    "A supervisor closes an open order (supervisor or admin token); its clocks stop.\n"
    "\n"
    "Options:\n"
    "  --reason TEXT       why, for the record, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl close BX-20261125-000123 --reason '来电人撤回诉求'\n";

static const char ctl_help_merge[] =
    "usage: rexianctl [GLOBAL OPTIONS] merge ID --into ID2 [--note TEXT] [--rev N]\n"
    "\n"
    "A repeat request about the same matter joins an open order (并单): ID ends as merged,\n"
    "ID2 lists it, and the caller is told ID2's number (dispatcher, operator or admin token;\n"
    "ID is received, pending_dispatch or dispatched). Prints 'ID merged into ID2 (rev N)'.\n"
    "\n"
    "Options:\n"
    "  --into ID2          the open order it repeats (required)\n"
    "  --note TEXT         why they are the same matter, up to 1000 bytes\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl merge BX-20261125-000124 --into BX-20261125-000123 --note '同一路灯'\n";

static const char ctl_help_pause[] =
    "usage: rexianctl [GLOBAL OPTIONS] pause ID --reason TEXT [--rev N]\n"
    "\n"
    "Stops the order's running clocks (ack, reply, close), e.g. while waiting for the caller\n"
    "(lead unit, supervisor or admin token; dispatched or acknowledged). resume starts them\n"
    "again with their deadlines moved by the time paused.\n"
    "\n"
    "Options:\n"
    "  --reason TEXT       why, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl pause BX-20261125-000123 --reason '等待来电人提供地址'\n";

static const char ctl_help_resume[] =
    "usage: rexianctl [GLOBAL OPTIONS] resume ID [--note TEXT] [--rev N]\n"
    "\n"
    "Starts the paused clocks again; the paused time is not counted against the unit (lead\n"
    "unit, operator, supervisor or admin token).\n"
    "\n"
    "Options:\n"
    "  --note TEXT         what changed, up to 1000 bytes\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl resume BX-20261125-000123 --note '来电人已补充地址'\n";

static const char ctl_help_explain[] =
    "usage: rexianctl [GLOBAL OPTIONS] explain ID --text TEXT [--evidence NAME[,HASH[,URL]]]...\n"
    "\n"
    "A unit's explanation (情况说明) with its evidence, kept on the order's timeline for good,\n"
    "for supervisors and later complaints (unit token; the lead or a co-handler; dispatched,\n"
    "acknowledged, returned, replied or closed). The status does not change.\n"
    "\n"
    "Options:\n"
    "  --text TEXT         the explanation, up to 4000 bytes (required); '-' reads stdin\n"
    "  --evidence NAME[,HASH[,URL]]\n"
    "                      a piece of evidence, as for reply; repeat for more, at most 10\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl explain BX-20261125-000123 --text '低保取消系因存款超标，已当面解释政策' \\\n"
    "      --evidence 审核表.pdf,sha256:cd34\n";

static const char ctl_help_claim[] =
    "usage: rexianctl [GLOBAL OPTIONS] claim ID --kind K --reason R --text TEXT [OPTIONS]\n"
    "\n"
    "The lead unit asks a supervisor to rule that the request was unreasonable or that the\n"
    "rating was not about its work (unit token of the lead; dispatched, acknowledged,\n"
    "returned, replied or closed). One claim waits at a time, at most 10 per order. Prints\n"
    "'ID STATUS claim N (rev R)': N is the number to rule on. An accepted claim takes the\n"
    "order's ratings out of the unit's satisfaction rate.\n"
    "\n"
    "Options:\n"
    "  --kind K            unreasonable or rating (required)\n"
    "  --reason R          one of the tier's claim reasons (required); by default\n"
    "                      unreasonable_request, policy_beyond_unit, misunderstanding_explained,\n"
    "                      repeated_without_new_facts, rating_not_about_unit\n"
    "  --text TEXT         the unit's case, up to 4000 bytes (required); '-' reads stdin\n"
    "  --evidence NAME[,HASH[,URL]]\n"
    "                      a piece of evidence, as for reply; repeat for more, at most 10\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl claim BX-20261125-000123 --kind rating --reason rating_not_about_unit \\\n"
    "      --text '来电人不满的是低保政策本身' --evidence 政策文件.pdf\n";

static const char ctl_help_rule[] =
    "usage: rexianctl [GLOBAL OPTIONS] rule ID --claim N --decision D --reason TEXT [--rev N]\n"
    "\n"
    "A supervisor rules on a unit's claim (supervisor or admin token); the ruling, who made\n"
    "it and why are kept for audit (see claims), and the unit is told. Accepting takes the\n"
    "order's ratings out of the unit's satisfaction rate.\n"
    "\n"
    "Options:\n"
    "  --claim N           the claim's number on the order, 1 to 10 (required)\n"
    "  --decision D        accept or reject (required)\n"
    "  --reason TEXT       why, up to 1000 bytes (required)\n"
    CTL_HELP_TAIL
    "\n"
    "Example:\n"
    "  rexianctl rule BX-20261125-000123 --claim 1 --decision accept --reason '证据充分'\n";

/* Help by command, in ctl_cmd_t order; the overview for CTL_CMD_NONE. */
static const char *const ctl_helps[CTL_CMD_COUNT] = {
    ctl_help_overview, ctl_help_ping, ctl_help_create, ctl_help_show, ctl_help_list,
    ctl_help_metrics, ctl_help_report, ctl_help_claims, ctl_help_overdue,
    ctl_help_deadletters, ctl_help_due,
    ctl_help_resolve, ctl_help_reject, ctl_help_dispatch, ctl_help_ack, ctl_help_return,
    ctl_help_review_return, ctl_help_subdispatch, ctl_help_extend, ctl_help_decide_extension,
    ctl_help_reply, ctl_help_rate, ctl_help_close, ctl_help_merge, ctl_help_pause,
    ctl_help_resume, ctl_help_explain, ctl_help_claim, ctl_help_rule};

const char *ctl_args_cmd_name(ctl_cmd_t cmd)
{
    if ((int)cmd < 0 || cmd >= CTL_CMD_COUNT)
        return "";
    return ctl_cmd_names[cmd];
}

const char *ctl_args_help(ctl_cmd_t cmd)
{
    if ((int)cmd < 0 || cmd >= CTL_CMD_COUNT)
        return ctl_help_overview;
    return ctl_helps[cmd];
}

static const char *const ctl_dl_actions[] = {"", "list", "show", "retry", "drop"};

const char *ctl_args_dl_action_name(ctl_dl_action_t action)
{
    if ((int)action < 0 || (size_t)action >= sizeof(ctl_dl_actions) / sizeof(ctl_dl_actions[0]))
        return "";
    return ctl_dl_actions[action];
}

int ctl_args_is_step(ctl_cmd_t cmd)
{
    return cmd >= CTL_CMD_RESOLVE && cmd < CTL_CMD_COUNT;
}

const char *const *ctl_args_metrics(void)
{
    return ctl_metric_names;
}

static ctl_cmd_t ctl_cmd_find(const char *word)
{
    for (size_t i = 1; i < CTL_CMD_COUNT; i++)
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
    for (size_t k = 0; k < CTL_NOPTS; k++)
        if (ctl_opts[k].cmd == cmd && ctl_is(arg, len, ctl_opts[k].name))
            return &ctl_opts[k];
    return NULL;
}

/* Lists cmd's options into buf, for error messages. */
static void ctl_opt_list(ctl_cmd_t cmd, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t k = 0; k < CTL_NOPTS && o < cap; k++)
        if (ctl_opts[k].cmd == cmd)
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", ctl_opts[k].name);
    if (o == 0)
        snprintf(buf, cap, "none");
}

/* 1 when v is one of enums ("a|b|c"). */
static int ctl_enum_ok(const char *enums, const char *v)
{
    size_t n = strlen(v);

    for (const char *p = enums; p != NULL;) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar != NULL ? bar + 1 : NULL;
    }
    return 0;
}

/* NAME[,HASH[,URL]]: the name ends at the first comma, the hash at the second; the rest is the
 * URL, commas and all. */
static int ctl_parse_evidence(const char *v, ctl_evidence_t *ret, char err[CTL_ERR_MAX])
{
    ctl_evidence_t e = {.name = v};
    const char *c1 = strchr(v, ','), *c2;

    e.name_len = c1 != NULL ? (size_t)(c1 - v) : strlen(v);
    if (c1 != NULL) {
        e.hash = c1 + 1;
        c2 = strchr(e.hash, ',');
        e.hash_len = c2 != NULL ? (size_t)(c2 - e.hash) : strlen(e.hash);
        if (c2 != NULL) {
            e.url = c2 + 1;
            e.url_len = strlen(e.url);
        }
    }
    if (e.name_len == 0) {
        snprintf(err, CTL_ERR_MAX, "--evidence '%.40s' needs a name first: NAME[,HASH[,URL]], "
                 "e.g. photo.jpg,sha256:ab12", v);
        return -EINVAL;
    }
    if (e.name_len > CTL_EVIDENCE_NAME_MAX || e.hash_len > CTL_EVIDENCE_HASH_MAX ||
        e.url_len > CTL_EVIDENCE_URL_MAX) {
        snprintf(err, CTL_ERR_MAX, "--evidence '%.40s...' is too long: a name holds at most %d "
                 "bytes, a hash %d, a URL %d", v, CTL_EVIDENCE_NAME_MAX, CTL_EVIDENCE_HASH_MAX,
                 CTL_EVIDENCE_URL_MAX);
        return -EINVAL;
    }
    *ret = e;
    return 0;
}

/* Stores the value v of option o into a. */
static int ctl_opt_set(const ctl_opt_t *o, const char *v, ctl_args_t *a, char err[CTL_ERR_MAX])
{
    void *field = (char *)a + o->field;

    switch (o->kind) {
    case CTL_OPT_STR:
        if (o->enums != NULL && !ctl_enum_ok(o->enums, v)) {
            char list[160];
            size_t n = 0;
            for (const char *p = o->enums; *p != '\0' && n + 3 < sizeof(list); p++) {
                if (*p == '|')
                    list[n++] = ',', list[n++] = ' ';
                else
                    list[n++] = *p;
            }
            list[n] = '\0';
            snprintf(err, CTL_ERR_MAX, "%s '%.40s' must be one of: %s", o->name, v, list);
            return -EINVAL;
        }
        *(const char **)field = v;
        return 0;
    case CTL_OPT_INT:
        if (ctl_parse_long(v, o->min, o->max, (long *)field) != 0) {
            snprintf(err, CTL_ERR_MAX, "%s '%.32s' must be a whole number from %ld to %ld",
                     o->name, v, o->min, o->max);
            return -EINVAL;
        }
        return 0;
    case CTL_OPT_UNITS:
        if (a->n_co_units == CTL_CO_UNITS_MAX) {
            snprintf(err, CTL_ERR_MAX, "--co-unit is given more than %d times (at most %d "
                     "co-handling units)", CTL_CO_UNITS_MAX, CTL_CO_UNITS_MAX);
            return -EINVAL;
        }
        a->co_units[a->n_co_units++] = v;
        return 0;
    case CTL_OPT_EVIDENCE:
        if (a->n_evidence == CTL_EVIDENCE_MAX) {
            snprintf(err, CTL_ERR_MAX, "--evidence is given more than %d times (at most %d "
                     "pieces of evidence)", CTL_EVIDENCE_MAX, CTL_EVIDENCE_MAX);
            return -EINVAL;
        }
        if (ctl_parse_evidence(v, &a->evidence[a->n_evidence], err) != 0)
            return -EINVAL;
        a->n_evidence++;
        return 0;
    case CTL_OPT_FLAG:
        break;
    }
    *(int *)field = 1;
    return 0;
}

/* The words of deadletters: the action, then STAGE and ID for show, retry and drop. */
static int ctl_dl_positional(const char *arg, ctl_args_t *a, char err[CTL_ERR_MAX])
{
    const char *action = ctl_args_dl_action_name(a->dl_action);

    if (a->dl_action == CTL_DL_NONE) {
        for (size_t k = CTL_DL_LIST; k <= CTL_DL_DROP; k++)
            if (strcmp(arg, ctl_dl_actions[k]) == 0)
                a->dl_action = (ctl_dl_action_t)k;
        if (a->dl_action != CTL_DL_NONE)
            return 0;
        snprintf(err, CTL_ERR_MAX, "deadletters has no action '%.40s' (actions: list, show, "
                 "retry, drop)", arg);
        return -EINVAL;
    }
    if (a->dl_action == CTL_DL_LIST) {
        snprintf(err, CTL_ERR_MAX, "unexpected argument '%.40s' (deadletters list takes only "
                 "--stage S)", arg);
        return -EINVAL;
    }
    if (a->stage == NULL) {
        if (!ctl_enum_ok(CTL_STAGES, arg)) {
            snprintf(err, CTL_ERR_MAX, "deadletters %s: STAGE '%.40s' must be one of: router, "
                     "watcher, notifier (then the ID)", action, arg);
            return -EINVAL;
        }
        a->stage = arg;
        return 0;
    }
    if (a->id == NULL) {
        if (strlen(arg) > CTL_DL_ID_MAX) {
            snprintf(err, CTL_ERR_MAX, "dead letter id is %zu bytes; at most %d (copy it from "
                     "'rexianctl deadletters list')", strlen(arg), CTL_DL_ID_MAX);
            return -EINVAL;
        }
        for (const char *p = arg; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/') {
                snprintf(err, CTL_ERR_MAX, "dead letter id '%.40s' has a %s; ids are printed by "
                         "'rexianctl deadletters list'", arg,
                         *p == '/' ? "'/' (the API cannot name such an id)"
                                    : "control character");
                return -EINVAL;
            }
        }
        a->id = arg;
        return 0;
    }
    snprintf(err, CTL_ERR_MAX, "deadletters %s takes STAGE ID; '%.40s' is one too many%s",
             action, arg, a->dl_action == CTL_DL_DROP ? " (quote values with spaces, e.g. "
             "--reason '...')" : "");
    return -EINVAL;
}

/* A word that is not an option: the ticket id of show and the steps, else a mistake. */
static int ctl_positional(const char *arg, ctl_args_t *a, char err[CTL_ERR_MAX])
{
    const char *cmd = ctl_args_cmd_name(a->cmd);
    int takes_id = a->cmd == CTL_CMD_SHOW || ctl_args_is_step(a->cmd);

    if (a->cmd == CTL_CMD_DEADLETTERS)
        return ctl_dl_positional(arg, a, err);
    if (takes_id && a->id == NULL) {
        if (strlen(arg) > CTL_ID_MAX) {
            snprintf(err, CTL_ERR_MAX, "ticket id is %zu bytes; ids look like "
                     "BX-20261125-000123", strlen(arg));
            return -EINVAL;
        }
        a->id = arg;
        return 0;
    }
    if (takes_id)
        snprintf(err, CTL_ERR_MAX, "%s takes one ticket id; '%.40s' is one too many%s", cmd, arg,
                 ctl_args_is_step(a->cmd) ? " (quote values with spaces, e.g. --note '...')"
                                          : "");
    else
        snprintf(err, CTL_ERR_MAX, "unexpected argument '%.40s' (%s takes only options%s)", arg,
                 cmd, a->cmd == CTL_CMD_CREATE ? "; quote values with spaces, e.g. --text '...'"
                                               : "");
    return -EINVAL;
}

/* 1 when v has the shape of pattern, where 'D' is a digit and anything else stands for itself
 * ("DDDD-DD"), with a month 01-12 and a day 01-31. */
static int ctl_date_shape(const char *v, const char *pattern)
{
    size_t n = strlen(pattern);

    if (strlen(v) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (pattern[i] == 'D' ? (v[i] < '0' || v[i] > '9') : v[i] != pattern[i])
            return 0;
    if (n >= 7 && (atoi(v + 5) < 1 || atoi(v + 5) > 12))
        return 0;
    return n < 10 || (atoi(v + 8) >= 1 && atoi(v + 8) <= 31);
}

/* metrics and report: one period, in the right shape; what goes with --recompute and
 * --orders. */
static int ctl_check_period(const ctl_args_t *a, char err[CTL_ERR_MAX])
{
    const char *cmd = ctl_args_cmd_name(a->cmd);
    int periods = (a->period != NULL) + (a->day != NULL) + (a->from != NULL || a->to != NULL);
    int known = 0;

    if (a->period != NULL && !ctl_date_shape(a->period, "DDDD-DD")) {
        snprintf(err, CTL_ERR_MAX, "--period '%.40s' must be a month like 2025-01", a->period);
        return -EINVAL;
    }
    if (a->cmd == CTL_CMD_REPORT)
        return 0;
    if (periods > 1) {
        snprintf(err, CTL_ERR_MAX, "%s takes one period: --period YYYY-MM, --day YYYY-MM-DD, "
                 "or --from YYYY-MM-DD --to YYYY-MM-DD", cmd);
        return -EINVAL;
    }
    if ((a->from == NULL) != (a->to == NULL)) {
        snprintf(err, CTL_ERR_MAX, "%s needs --to as well: the range's first and last dates, "
                 "both included", a->from != NULL ? "--from" : "--from; --to");
        return -EINVAL;
    }
    const char *const dates[] = {a->day, a->from, a->to};
    const char *const names[] = {"--day", "--from", "--to"};
    for (int i = 0; i < 3; i++) {
        if (dates[i] != NULL && !ctl_date_shape(dates[i], "DDDD-DD-DD")) {
            snprintf(err, CTL_ERR_MAX, "%s '%.40s' must be a date like 2025-01-24", names[i],
                     dates[i]);
            return -EINVAL;
        }
    }
    if (a->from != NULL && strcmp(a->from, a->to) > 0) {
        snprintf(err, CTL_ERR_MAX, "--to %s is before --from %s", a->to, a->from);
        return -EINVAL;
    }
    if (a->recompute && a->orders) {
        snprintf(err, CTL_ERR_MAX, "--recompute and --orders are separate questions: give one");
        return -EINVAL;
    }
    if (a->recompute && (a->unit != NULL || a->kind != NULL || a->metric != NULL)) {
        snprintf(err, CTL_ERR_MAX, "metrics --recompute checks every unit and counter: drop "
                 "--unit, --kind and --metric");
        return -EINVAL;
    }
    if (a->orders && (a->unit == NULL || a->metric == NULL)) {
        snprintf(err, CTL_ERR_MAX, "metrics --orders needs --unit U (or '*' for the whole tier) "
                 "and --metric M (the counter)");
        return -EINVAL;
    }
    if (a->orders && a->kind != NULL) {
        snprintf(err, CTL_ERR_MAX, "metrics --orders looks at one unit: drop --kind");
        return -EINVAL;
    }
    if (a->metric != NULL && !a->orders) {
        snprintf(err, CTL_ERR_MAX, "--metric goes with --orders (the orders behind that "
                 "counter); the table shows every counter");
        return -EINVAL;
    }
    for (size_t i = 0; a->metric != NULL && ctl_metric_names[i] != NULL; i++)
        known |= strcmp(a->metric, ctl_metric_names[i]) == 0;
    if (a->metric != NULL && !known) {
        snprintf(err, CTL_ERR_MAX, "--metric '%.40s' is not a counter (e.g. rated_unsatisfied, "
                 "closed_on_time; 'rexianctl metrics --help' lists them all)", a->metric);
        return -EINVAL;
    }
    return 0;
}

/* deadletters: an action, its words, and only the options that go with it. */
static int ctl_check_dl(const ctl_args_t *a, char err[CTL_ERR_MAX])
{
    const char *action = ctl_args_dl_action_name(a->dl_action);

    if (a->dl_action == CTL_DL_NONE) {
        snprintf(err, CTL_ERR_MAX, "deadletters needs an action: list [--stage S], show STAGE "
                 "ID, retry STAGE ID or drop STAGE ID --reason TEXT");
        return -EINVAL;
    }
    if (a->only_stage != NULL && a->dl_action != CTL_DL_LIST) {
        snprintf(err, CTL_ERR_MAX, "--stage goes with deadletters list; %s takes the stage as "
                 "a word: deadletters %s STAGE ID", action, action);
        return -EINVAL;
    }
    if (a->reason != NULL && a->dl_action != CTL_DL_DROP) {
        snprintf(err, CTL_ERR_MAX, "--reason goes with deadletters drop (why it is dropped, "
                 "for the audit log), not with %s", action);
        return -EINVAL;
    }
    if (a->dl_action == CTL_DL_LIST)
        return 0;
    if (a->stage == NULL || a->id == NULL) {
        snprintf(err, CTL_ERR_MAX, "deadletters %s needs %sID, e.g. rexianctl deadletters %s "
                 "notifier " CTL_DL_EXAMPLE_ID, action, a->stage == NULL ? "STAGE " : "",
                 action);
        return -EINVAL;
    }
    if (a->dl_action == CTL_DL_DROP && a->reason == NULL) {
        snprintf(err, CTL_ERR_MAX, "deadletters drop needs --reason TEXT (why it is dropped, "
                 "kept in the audit log)");
        return -EINVAL;
    }
    if (a->reason != NULL && strlen(a->reason) > CTL_DL_REASON_MAX) {
        snprintf(err, CTL_ERR_MAX, "--reason is %zu bytes; at most %d", strlen(a->reason),
                 CTL_DL_REASON_MAX);
        return -EINVAL;
    }
    return 0;
}

/* What a complete command line needs beyond single options. */
static int ctl_check_complete(const ctl_args_t *a, char err[CTL_ERR_MAX])
{
    const char *cmd = ctl_args_cmd_name(a->cmd);
    size_t o = 0;
    int missing = 0;

    if ((a->cmd == CTL_CMD_SHOW || ctl_args_is_step(a->cmd)) && a->id == NULL) {
        snprintf(err, CTL_ERR_MAX, "%s needs a ticket id, e.g. rexianctl %s "
                 "BX-20261125-000123", cmd, cmd);
        return -EINVAL;
    }
    if (a->cmd == CTL_CMD_RULE && a->claim < 0) {
        missing++;
        o = (size_t)snprintf(err, CTL_ERR_MAX, "rule needs --claim N (the claim's number on the "
                             "order, printed by claim and listed by claims)");
    }
    if (a->cmd == CTL_CMD_CREATE && (a->phone == NULL || a->text == NULL)) {
        snprintf(err, CTL_ERR_MAX, "create needs %s%s%s", a->phone == NULL ?
                 "--phone (the caller's number)" : "", a->phone == NULL && a->text == NULL ?
                 " and " : "", a->text == NULL ? "--text (what the caller said)" : "");
        return -EINVAL;
    }
    for (size_t k = 0; k < CTL_NOPTS; k++) {
        const ctl_opt_t *opt = &ctl_opts[k];
        if (opt->cmd != a->cmd || opt->need == NULL ||
            *(const char *const *)(const void *)((const char *)a + opt->field) != NULL)
            continue;
        if (missing++ == 0)
            o = (size_t)snprintf(err, CTL_ERR_MAX, "%s needs", cmd);
        if (o < CTL_ERR_MAX)
            o += (size_t)snprintf(err + o, CTL_ERR_MAX - o, "%s %s %s", missing > 1 ? " and" : "",
                                  opt->name, opt->need);
    }
    if (missing > 0)
        return -EINVAL;
    if (a->cmd == CTL_CMD_METRICS || a->cmd == CTL_CMD_REPORT)
        return ctl_check_period(a, err);
    if (a->cmd == CTL_CMD_DEADLETTERS)
        return ctl_check_dl(a, err);
    if (a->cmd == CTL_CMD_REVIEW_RETURN) {
        int redispatch = strcmp(a->decision, "redispatch") == 0;
        if (redispatch && a->unit == NULL) {
            snprintf(err, CTL_ERR_MAX, "review-return --decision redispatch needs --unit (the "
                     "unit that takes the order over)");
            return -EINVAL;
        }
        if (!redispatch && (a->unit != NULL || a->n_co_units > 0)) {
            snprintf(err, CTL_ERR_MAX, "review-return --decision reject gives the order back "
                     "to the unit that returned it: drop --unit and --co-unit");
            return -EINVAL;
        }
    }
    return 0;
}

static int ctl_parse_cmd(int argc, char *const argv[], int i, ctl_args_t *a,
                         char err[CTL_ERR_MAX])
{
    const char *cmd = ctl_args_cmd_name(a->cmd);
    unsigned char seen[CTL_NOPTS] = {0};

    /* --help anywhere after the command wins over everything else there */
    for (int k = i; k < argc; k++) {
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            a->help = 1;
            return 0;
        }
    }
    for (; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        size_t len = ctl_name_len(arg);
        const ctl_opt_t *o;

        if (arg[0] != '-' || arg[1] == '\0') {
            if (ctl_positional(arg, a, err) != 0)
                return -EINVAL;
            continue;
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
        if (o->kind != CTL_OPT_UNITS && o->kind != CTL_OPT_EVIDENCE && seen[o - ctl_opts]) {
            snprintf(err, CTL_ERR_MAX, "%s is given twice", o->name);
            return -EINVAL;
        }
        seen[o - ctl_opts] = 1;
        if (o->kind == CTL_OPT_FLAG) {
            if (arg[len] == '=') {
                snprintf(err, CTL_ERR_MAX, "%s takes no value", o->name);
                return -EINVAL;
            }
        } else if ((v = ctl_value(argc, argv, &i, len, err)) == NULL) {
            return -EINVAL;
        }
        if (ctl_opt_set(o, v, a, err) != 0)
            return -EINVAL;
    }
    return ctl_check_complete(a, err);
}

int ctl_args_parse(int argc, char *const argv[], const char *env_url, const char *env_token,
                   ctl_args_t *ret_args, char ret_err[CTL_ERR_MAX])
{
    ctl_args_t a = {.timeout_s = CTL_DEFAULT_TIMEOUT_S, .limit = -1, .offset = -1, .rev = -1,
                    .claim = -1};
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
                snprintf(ret_err, CTL_ERR_MAX, "no command '%.40s' (commands: " CTL_CMD_LIST_TEXT
                         ")", argv[i]);
                return -EINVAL;
            }
        }
        *ret_args = a;
        return 0;
    }
    if (i >= argc) {
        if (!a.help && !a.version) {
            snprintf(ret_err, CTL_ERR_MAX, "no command given (see rexianctl --help; commands: "
                     CTL_CMD_LIST_TEXT ")");
            return -EINVAL;
        }
        *ret_args = a;
        return 0;
    }
    if ((a.cmd = ctl_cmd_find(argv[i])) == CTL_CMD_NONE) {
        snprintf(ret_err, CTL_ERR_MAX, "unknown command '%.40s' (commands: " CTL_CMD_LIST_TEXT
                 ", help)", argv[i]);
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
