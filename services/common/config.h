/* config.h -- a deployment's settings (rexian.conf): tier, Redis, each service's endpoints,
 * delivery, deadline policy and API tokens. One file serves all four services. */
#ifndef REXIAN_CONFIG_H
#define REXIAN_CONFIG_H

#include "cal.h"

#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_TOKENS 64
#define CONFIG_URGENCIES 3 /* emergency, urgent, normal */
#define CONFIG_STAGES 4    /* ack, reply, close, callback */
#define CONFIG_MAX_POLICIES 64 /* [policy.URGENCY] and [policy.URGENCY.CATEGORY] sections */
#define CONFIG_MAX_REASONS 16
#define CONFIG_REASON_MAX 48

typedef enum config_role_t {
    ROLE_NONE = 0,
    ROLE_OPERATOR,
    ROLE_DISPATCHER,
    ROLE_UNIT,
    ROLE_SUPERVISOR,
    ROLE_CALLBACK,
    ROLE_ADMIN,
} config_role_t;

typedef struct config_token_t {
    char name[64];          /* who holds it, for the timeline's actor */
    config_role_t role;     /* what it may do */
    char unit[64];          /* for ROLE_UNIT: the unit it is bound to */
    unsigned char hash[32]; /* SHA-256 of the token: tokens are never stored in clear */
} config_token_t;

typedef struct config_span_t {
    char text[CAL_SPAN_MAX]; /* as written, e.g. "72h" or "5wd"; "" when not set */
    cal_span_t span;         /* parsed (cal.h says what each unit means) */
} config_span_t;

/* One deadline policy section. A category's section overrides its urgency's section field by
 * field; unset fields fall back to the urgency, then to the built-in defaults. */
typedef struct config_policy_t {
    int urgency;                        /* 0 emergency, 1 urgent, 2 normal */
    char category[24];                  /* "" for the urgency's own section */
    config_span_t stage[CONFIG_STAGES]; /* ack, reply, close, callback */
    int warn_pct;                       /* yellow when this % of the clock is left (0: unset) */
    config_span_t warn_lead;            /* or this long before due (calendar time) */
    config_span_t escalate;             /* 督办 this long after due */
} config_policy_t;

typedef struct config_t {
    char path[512];                 /* the file read */
    char dir[512];                  /* its folder: relative paths resolve against it */
    /* [tier] */
    char tier[32];                  /* key and Redis hash tag, e.g. "bx" */
    char tier_kind[16];             /* county | city */
    char tier_name[64];             /* display name, e.g. 北县 */
    char tier_code[16];             /* administrative code */
    char id_prefix[8];              /* ticket id prefix, e.g. "BX" */
    /* [tier] links between tiers (tier.h): a county feeds its parent; a city lists counties */
    char tier_parent[128];          /* county: the city's tier link, tcp://HOST:PORT, or "" */
    char tier_parent_key[600];      /* county: the city's public key (file or Z85 text) */
    char tier_public_key[600];      /* this tier's public key file (or Z85 text) */
    char tier_secret_key[600];      /* this tier's secret key file */
    char tier_link[128];            /* intake binds the tier link here (ROUTER), or "" */
    char tier_counties[512];        /* city: the counties file, the allow-list of their keys */
    int tier_feed_bound;            /* events kept for the parent at most; alarm near it */
    /* [redis] */
    char redis_host[256];           /* host */
    int redis_port;                 /* port */
    char redis_password[256];       /* password ("" none); env REXIAN_REDIS_PASSWORD wins */
    int redis_timeout_ms;           /* connect/command timeout */
    /* [files] */
    char units_path[512];           /* units register */
    char catalogue_path[512];       /* dispatch catalogue */
    char calendar_dir[512];         /* working calendar, one file per year */
    /* per service: HTTP listen address for the API (intake) or /metrics + /healthz (others) */
    char intake_http[128];          /* e.g. 127.0.0.1:8080 */
    char router_http[128];          /* metrics/health */
    char watcher_http[128];         /* metrics/health */
    char notifier_http[128];        /* metrics/health */
    char router_bind[128];          /* ZeroMQ PULL endpoint, e.g. tcp://0.0.0.0:* */
    char watcher_bind[128];
    char notifier_bind[128];
    char advertise[128];            /* host other instances use to reach this one */
    size_t max_body;                /* HTTP request body limit, bytes */
    /* [delivery] */
    int64_t redeliver_after_ms;     /* outbox records not applied by then are redelivered */
    int64_t lease_ms;               /* a claimed record is hidden this long */
    int max_deliveries;             /* then it goes to the dead letters */
    int batch;                      /* messages taken per loop turn */
    int hwm;                        /* ZeroMQ high-water marks */
    int64_t heartbeat_ms;           /* instance registry heartbeat */
    /* [notifier] */
    char webhook_url[512];          /* default webhook, {unit} replaced by the unit code */
    char webhook_secret[256];       /* default HMAC secret; env REXIAN_WEBHOOK_SECRET wins */
    char supervisor_webhook[512];   /* where supervisor notices go */
    char dispatcher_webhook[512];   /* where manual-dispatch notices go */
    char citizen_webhook[512];      /* the callback system, for citizen notices */
    int webhook_parallel;           /* transfers in flight per instance */
    int64_t webhook_timeout_ms;     /* per delivery */
    /* [watcher] */
    int64_t watch_interval_ms;      /* how often due clocks are claimed */
    /* [policy.URGENCY] and [policy.URGENCY.CATEGORY] */
    config_policy_t policies[CONFIG_MAX_POLICIES];
    int n_policies;
    /* [deadlines] */
    config_span_t return_window;    /* a unit may return an order this long after dispatch */
    int max_extensions;             /* approved extensions per order */
    /* [reasons] configured lists a step's reason must come from */
    char reject_reasons[CONFIG_MAX_REASONS][CONFIG_REASON_MAX]; /* 不予受理 reasons */
    int n_reject_reasons;
    char return_reasons[CONFIG_MAX_REASONS][CONFIG_REASON_MAX]; /* 退单 reasons */
    int n_return_reasons;
    char claim_reasons[CONFIG_MAX_REASONS][CONFIG_REASON_MAX]; /* a unit's claim reasons */
    int n_claim_reasons;
    /* [linking] */
    char caller_key[128];           /* HMAC key for callers' phone numbers; env REXIAN_CALLER_KEY */
    int64_t link_window_ms;         /* orders this close in time may be linked */
    int repeat_orders;              /* N orders from one caller against one unit ... */
    int64_t repeat_window_ms;       /* ... within this long flag the caller */
    int similarity;                 /* % of shared character pairs for "same matter" */
    /* [scoring] */
    int satisfaction_threshold;     /* % under which a unit is flagged in the circular */
    int on_time_threshold;          /* % on-time closure under which a unit is flagged */
    /* [tokens] */
    config_token_t tokens[CONFIG_MAX_TOKENS];
    int n_tokens;
    /* [test] */
    int64_t time_offset_ms;         /* added to the wall clock; tests only */
} config_t;

/* Reads path into *ret (defaults first, then the file, then REXIAN_* environment overrides).
 * Returns 0, or -1 with "file:line: what is wrong" in err. */
int config_load(const char *path, config_t *ret, char *err, size_t errcap);

/* 1 when reason is in the list, else 0. */
int config_reason_ok(const char (*list)[CONFIG_REASON_MAX], int n, const char *reason);

/* The token's entry, or NULL when it is not configured. Compares SHA-256 hashes. */
const config_token_t *config_find_token(const config_t *cfg, const char *token);

const char *config_role_name(config_role_t role);
const char *config_urgency_name(int urgency); /* 0 emergency, 1 urgent, 2 normal */
int config_urgency_index(const char *name);   /* -1 when unknown */
const char *config_stage_name(int stage);     /* 0 ack, 1 reply, 2 close, 3 callback */
int config_stage_index(const char *name);     /* -1 when unknown */

/* The policy for an order: the category's fields over the urgency's over the defaults. */
void config_policy_for(const config_t *cfg, int urgency, const char *category,
                       config_policy_t *ret);

/* Finds the config path from argv (-c FILE / --config FILE) or REXIAN_CONFIG; NULL if none. */
const char *config_path_from_args(int argc, char **argv);

#endif
