/* ctl_args.h -- rexianctl's command line: global options, commands, their options and help */
#ifndef REXIAN_CTL_ARGS_H
#define REXIAN_CTL_ARGS_H

#include <stddef.h>

#define CTL_DEFAULT_URL "http://127.0.0.1:8345" /* intake in the demo config */
#define CTL_DEFAULT_TIMEOUT_S 10 /* seconds for the whole request, connect included */
#define CTL_TIMEOUT_MAX_S 3600   /* largest --timeout */
#define CTL_URL_MAX 2048         /* bytes of --url */
#define CTL_TOKEN_MAX 256        /* bytes of --token (the server's limit too) */
#define CTL_VALUE_MAX 65536      /* bytes of any other option value */
#define CTL_ERR_MAX 512          /* buffer for a usage error, NUL included */
#define CTL_CO_UNITS_MAX 4       /* --co-unit given at most this often (the server's limit too) */
#define CTL_EVIDENCE_MAX 10      /* --evidence given at most this often (the server's limit too) */
#define CTL_EVIDENCE_NAME_MAX 200 /* bytes of an evidence item's name (the server's limits) */
#define CTL_EVIDENCE_HASH_MAX 128 /* ... of its hash */
#define CTL_EVIDENCE_URL_MAX 512  /* ... of its URL */
#define CTL_ID_MAX 64            /* bytes of a ticket id on the command line */
#define CTL_CLAIMS_MAX 10        /* claims on one order (the server's limit too) */
#define CTL_DL_ID_MAX 96         /* bytes of a dead letter's id (a message id, as the server) */
#define CTL_DL_REASON_MAX 1000   /* bytes of deadletters drop --reason (the server's limit too) */

/* Exit codes, as documented in `rexianctl --help`. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_API 1     /* the server answered with an error, or an answer we cannot use */
#define CTL_EXIT_USAGE 2   /* bad command line */
#define CTL_EXIT_CONNECT 3 /* cannot connect, or no answer within --timeout */

typedef enum ctl_cmd_t {
    CTL_CMD_NONE = 0, /* no command given (only --help or --version) */
    CTL_CMD_PING,     /* GET /healthz */
    CTL_CMD_CREATE,   /* POST /v1/tickets */
    CTL_CMD_SHOW,     /* GET /v1/tickets/ID */
    CTL_CMD_LIST,     /* GET /v1/tickets?... */
    CTL_CMD_METRICS,  /* GET /v1/metrics, /v1/metrics/recompute or /v1/metrics/orders */
    CTL_CMD_REPORT,   /* the monthly circular from GET /v1/metrics?period= */
    CTL_CMD_CLAIMS,   /* GET /v1/claims: claims and rulings */
    CTL_CMD_OVERDUE,  /* GET /v1/overdue */
    CTL_CMD_DEADLETTERS, /* /v1/deadletters: list, show, retry or drop (see ctl_dl_action_t) */
    CTL_CMD_DUE,      /* a deadline from the working calendar, offline */
    /* lifecycle steps, POST /v1/tickets/ID/STEP; the command's name is the STEP */
    CTL_CMD_RESOLVE,          /* operator answers at first contact */
    CTL_CMD_REJECT,           /* operator declines the request */
    CTL_CMD_DISPATCH,         /* dispatcher sends a waiting order to a unit */
    CTL_CMD_ACK,              /* unit acknowledges */
    CTL_CMD_RETURN,           /* unit returns a wrong dispatch */
    CTL_CMD_REVIEW_RETURN,    /* dispatcher redispatches or rejects a return */
    CTL_CMD_SUBDISPATCH,      /* lead unit passes part of the work to another unit */
    CTL_CMD_EXTEND,           /* lead unit asks for a later close deadline */
    CTL_CMD_DECIDE_EXTENSION, /* supervisor approves or refuses it */
    CTL_CMD_REPLY,            /* unit replies to the citizen */
    CTL_CMD_RATE,             /* follow-up call's rating */
    CTL_CMD_CLOSE,            /* supervisor closes */
    CTL_CMD_MERGE,            /* a repeat request joins an open order */
    CTL_CMD_PAUSE,            /* lead unit or supervisor stops the clocks */
    CTL_CMD_RESUME,           /* the clocks go on; the paused time is not counted */
    CTL_CMD_EXPLAIN,          /* a unit's explanation with evidence, kept on the order */
    CTL_CMD_CLAIM,            /* lead unit: an unreasonable request or an unfair rating */
    CTL_CMD_RULE,             /* supervisor accepts or rejects a claim */
    CTL_CMD_COUNT             /* number of commands, not a command */
} ctl_cmd_t;

/* What `deadletters` does. */
typedef enum ctl_dl_action_t {
    CTL_DL_NONE = 0, /* not given yet (a usage error once parsing ends) */
    CTL_DL_LIST,     /* GET /v1/deadletters[?stage=] */
    CTL_DL_SHOW,     /* GET /v1/deadletters/STAGE/ID */
    CTL_DL_RETRY,    /* POST /v1/deadletters/STAGE/ID/retry */
    CTL_DL_DROP,     /* POST /v1/deadletters/STAGE/ID/drop with a reason */
} ctl_dl_action_t;

/* One --evidence NAME[,HASH[,URL]]: spans of the borrowed option value (len 0 when absent). */
typedef struct ctl_evidence_t {
    const char *name; /* the file or document's name, never empty */
    size_t name_len;  /* its bytes */
    const char *hash; /* e.g. "sha256:..." */
    size_t hash_len;  /* its bytes */
    const char *url;  /* where it can be fetched; may itself contain commas */
    size_t url_len;   /* its bytes */
} ctl_evidence_t;

/* A parsed command line. Strings are borrowed from argv or the environment; NULL when not
 * given. */
typedef struct ctl_args_t {
    const char *url;       /* base URL of the service, never NULL after parsing */
    const char *token;     /* bearer token, NULL to send none */
    int json;              /* print the server's JSON answer as it came */
    long timeout_s;        /* whole-request timeout in seconds */
    ctl_cmd_t cmd;         /* the command */
    int help;              /* --help: print help for cmd (the overview when CTL_CMD_NONE) */
    int version;           /* --version */
    const char *phone;     /* create: caller's phone (required) */
    const char *text;      /* create: what the caller said; reply: the reply ("-" reads stdin) */
    const char *channel;   /* create: intake channel, "phone" when not given */
    const char *address;   /* create: where */
    const char *category;  /* create: consult, help, complaint, report, suggestion */
    const char *township;  /* create: township unit code */
    const char *name;      /* create: caller's name */
    const char *idem;      /* create: idempotency key */
    const char *id;        /* show and steps: ticket id (required); deadletters show, retry,
                              drop: the dead letter's id */
    const char *unit;      /* list, metrics, claims: unit filter; dispatch, review-return,
                              subdispatch: the unit */
    const char *status;    /* list: status filter; claims: pending, accepted, rejected */
    long limit;            /* list: page size, -1 for the server's default */
    long offset;           /* list: first item, -1 for the server's default */
    const char *answer;    /* resolve: the answer given to the caller */
    const char *reason;    /* reject, return, review-return, extend, decide-extension, close,
                              pause, claim (a configured reason), rule, deadletters drop */
    const char *note;      /* reject, dispatch, return, subdispatch, merge, resume */
    const char *co_units[CTL_CO_UNITS_MAX]; /* dispatch, review-return: co-handlers, in order */
    size_t n_co_units;     /* entries in co_units */
    const char *urgency;   /* dispatch: emergency, urgent, normal */
    int same_unit;         /* dispatch: back to the unit that returned it, knowingly */
    const char *decision;  /* review-return: redispatch|reject; decide-extension: approve|refuse;
                              rule: accept|reject */
    const char *due;       /* subdispatch: the sub-unit's deadline (the server reads the time) */
    const char *until;     /* extend: the close deadline asked for */
    ctl_evidence_t evidence[CTL_EVIDENCE_MAX]; /* reply, explain, claim: evidence, in order */
    size_t n_evidence;     /* entries in evidence */
    const char *rating;    /* rate: satisfied, basically_satisfied, unsatisfied, unreachable */
    const char *words;     /* rate: what the citizen said */
    const char *into;      /* merge: the open order this one joins */
    long rev;              /* steps: the revision the step is meant for, -1 when not given */
    const char *kind;      /* claim: unreasonable|rating; metrics: a unit kind */
    long claim;            /* rule: the claim's number on the order, -1 when not given */
    const char *period;    /* metrics, report: a month YYYY-MM */
    const char *day;       /* metrics: a date YYYY-MM-DD */
    const char *from;      /* metrics: first date of a range; due: the start time */
    const char *to;        /* metrics: last date of a range (included) */
    int recompute;         /* metrics: compare the live counters with the timelines */
    int orders;            /* metrics: the orders behind one counter */
    const char *metric;    /* metrics --orders: the counter */
    const char *format;    /* report: csv, json or table (NULL: table) */
    const char *supervisor; /* claims: only the rulings of this token name */
    const char *add;       /* due: the span, e.g. 5wd */
    const char *calendar;  /* due: the calendar folder (NULL: REXIAN_CALENDAR or the default) */
    ctl_dl_action_t dl_action; /* deadletters: what to do */
    const char *stage;     /* deadletters show, retry, drop: the stage that gave up on it */
    const char *only_stage; /* deadletters list: --stage, only that stage's dead letters */
} ctl_args_t;

/* Parses argv (argv[0] is the program). env_url and env_token are REXIAN_URL and
 * REXIAN_TOKEN (NULL or "" when unset); the options override them. Returns 0 and fills
 * *ret_args, or -EINVAL with a one-line message in ret_err (what is wrong and what is
 * allowed); *ret_args is untouched then. */
int ctl_args_parse(int argc, char *const argv[], const char *env_url, const char *env_token,
                   ctl_args_t *ret_args, char ret_err[CTL_ERR_MAX]);

/* The help text for a command, or the overview for CTL_CMD_NONE. Static storage. */
const char *ctl_args_help(ctl_cmd_t cmd);

/* The command's name ("ping", ..., "review-return"), "" for CTL_CMD_NONE. */
const char *ctl_args_cmd_name(ctl_cmd_t cmd);

/* "list", "show", "retry" or "drop"; "" for CTL_DL_NONE. */
const char *ctl_args_dl_action_name(ctl_dl_action_t action);

/* 1 when cmd is a lifecycle step (its name is the STEP of POST /v1/tickets/ID/STEP). */
int ctl_args_is_step(ctl_cmd_t cmd);

/* The counters of GET /v1/metrics in the server's order, a NULL-terminated list in static
 * storage (the values --metric allows). */
const char *const *ctl_args_metrics(void);

#endif
