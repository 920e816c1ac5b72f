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
#define CTL_ERR_MAX 256          /* buffer for a usage error, NUL included */

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
} ctl_cmd_t;

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
    const char *text;      /* create: what the caller said (required; "-" reads stdin) */
    const char *channel;   /* create: intake channel, "phone" when not given */
    const char *address;   /* create: where */
    const char *category;  /* create: consult, help, complaint, report, suggestion */
    const char *township;  /* create: township unit code */
    const char *name;      /* create: caller's name */
    const char *idem;      /* create: idempotency key */
    const char *id;        /* show: ticket id (required) */
    const char *unit;      /* list: unit code filter */
    const char *status;    /* list: status filter */
    long limit;            /* list: page size, -1 for the server's default */
    long offset;           /* list: first item, -1 for the server's default */
} ctl_args_t;

/* Parses argv (argv[0] is the program). env_url and env_token are REXIAN_URL and
 * REXIAN_TOKEN (NULL or "" when unset); the options override them. Returns 0 and fills
 * *ret_args, or -EINVAL with a one-line message in ret_err (what is wrong and what is
 * allowed); *ret_args is untouched then. */
int ctl_args_parse(int argc, char *const argv[], const char *env_url, const char *env_token,
                   ctl_args_t *ret_args, char ret_err[CTL_ERR_MAX]);

/* The help text for a command, or the overview for CTL_CMD_NONE. Static storage. */
const char *ctl_args_help(ctl_cmd_t cmd);

/* The command's name ("ping", ...), "" for CTL_CMD_NONE. */
const char *ctl_args_cmd_name(ctl_cmd_t cmd);

#endif
