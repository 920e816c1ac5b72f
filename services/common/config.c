/* config.c -- rexian.conf (see config.h) */
#include "config.h"

#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *config_roles[] = {"none", "operator", "dispatcher", "unit",
                                     "supervisor", "callback", "admin"};
static const char *config_urgencies[] = {"emergency", "urgent", "normal"};
static const char *config_stages[] = {"ack", "reply", "close", "callback"};

const char *config_role_name(config_role_t role)
{
    return role <= ROLE_ADMIN ? config_roles[role] : "none";
}

const char *config_urgency_name(int urgency)
{
    return urgency >= 0 && urgency < CONFIG_URGENCIES ? config_urgencies[urgency] : "normal";
}

int config_urgency_index(const char *name)
{
    for (int i = 0; i < CONFIG_URGENCIES; i++)
        if (strcmp(name, config_urgencies[i]) == 0)
            return i;
    return -1;
}

int config_stage_index(const char *name)
{
    for (int i = 0; i < CONFIG_STAGES; i++)
        if (strcmp(name, config_stages[i]) == 0)
            return i;
    return -1;
}

const char *config_stage_name(int stage)
{
    return stage >= 0 && stage < CONFIG_STAGES ? config_stages[stage] : "?";
}

static int config_copy(char *dst, size_t cap, const char *value, const char *key, char *err,
                       size_t errcap)
{
    if (strlen(value) >= cap) {
        snprintf(err, errcap, "%s is longer than %zu bytes", key, cap - 1);
        return -1;
    }
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

/* Relative file names are relative to the config file's folder. */
static int config_path(const config_t *cfg, char *dst, size_t cap, const char *value,
                       const char *key, char *err, size_t errcap)
{
    int n = value[0] == '/' ? snprintf(dst, cap, "%s", value)
                            : snprintf(dst, cap, "%s/%s", cfg->dir, value);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errcap, "%s: path longer than %zu bytes", key, cap - 1);
        return -1;
    }
    return 0;
}

static int config_ms(const char *value, int64_t *ret, const char *key, char *err, size_t errcap)
{
    if (conf_parse_duration_ms(value, ret) != 0) {
        snprintf(err, errcap, "%s = '%s' is not a duration (a whole number "
                 "of s, m, h or d: 90s, 15m, 4h, 3d)", key, value);
        return -1;
    }
    return 0;
}

static int config_int(const char *value, int64_t min, int64_t max, int64_t *ret, const char *key,
                      char *err, size_t errcap)
{
    if (conf_parse_int(value, min, max, ret) != 0) {
        snprintf(err, errcap, "%s = '%s' must be a whole number from %lld to %lld", key, value,
                 (long long)min, (long long)max);
        return -1;
    }
    return 0;
}

static int config_hex32(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned int b;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &b) != 1)
            return -1;
        out[i] = (unsigned char)b;
    }
    return 0;
}

/* [tokens] NAME = ROLE[:UNIT] SHA256HEX */
static int config_token(config_t *cfg, const char *name, const char *value, char *err,
                        size_t errcap)
{
    config_token_t *t;
    char role[80], hex[80], *colon;
    int r;

    if (cfg->n_tokens >= CONFIG_MAX_TOKENS) {
        snprintf(err, errcap, "more than %d tokens", CONFIG_MAX_TOKENS);
        return -1;
    }
    t = &cfg->tokens[cfg->n_tokens];
    memset(t, 0, sizeof(*t));
    if (sscanf(value, "%79s %79s", role, hex) != 2 || config_hex32(hex, t->hash) != 0) {
        snprintf(err, errcap, "token %s: expected 'ROLE[:UNIT] SHA256-HEX' (64 hex digits of the "
                 "token's SHA-256, e.g. from: printf %%s TOKEN | sha256sum)", name);
        return -1;
    }
    colon = strchr(role, ':');
    if (colon != NULL)
        *colon++ = '\0';
    for (r = ROLE_OPERATOR; r <= ROLE_ADMIN; r++)
        if (strcmp(role, config_roles[r]) == 0)
            break;
    if (r > ROLE_ADMIN) {
        snprintf(err, errcap, "token %s: unknown role '%s' (operator, dispatcher, unit:CODE, "
                 "supervisor, callback, admin)", name, role);
        return -1;
    }
    if ((r == ROLE_UNIT) != (colon != NULL && *colon != '\0')) {
        snprintf(err, errcap, "token %s: a unit token is written unit:CODE, and only unit "
                 "tokens name a unit", name);
        return -1;
    }
    t->role = (config_role_t)r;
    snprintf(t->name, sizeof(t->name), "%s", name);
    if (colon != NULL)
        snprintf(t->unit, sizeof(t->unit), "%s", colon);
    cfg->n_tokens++;
    return 0;
}

static int config_set_span(config_span_t *dst, const char *section, const char *key,
                           const char *value, char *err, size_t errcap)
{
    if (strlen(value) >= sizeof(dst->text) || cal_parse_span(value, &dst->span) != 0) {
        snprintf(err, errcap, "[%s] %s = '%s': %s", section, key, value, CAL_SPAN_HELP);
        return -1;
    }
    snprintf(dst->text, sizeof(dst->text), "%s", value);
    return 0;
}

/* [policy.URGENCY] or [policy.URGENCY.CATEGORY]: stage spans, warn, escalate. */
static int config_policy(config_t *cfg, const char *section, const char *key, const char *value,
                         char *err, size_t errcap)
{
    char urgency[24] = "", category[24] = "";
    const char *rest = section + strlen("policy."), *dot = strchr(rest, '.');
    config_policy_t *p = NULL;
    int u, s;

    snprintf(urgency, sizeof(urgency), "%.*s", dot ? (int)(dot - rest) : (int)strlen(rest),
             rest);
    if (dot != NULL)
        snprintf(category, sizeof(category), "%s", dot + 1);
    u = config_urgency_index(urgency);
    if (u < 0 || (dot != NULL && category[0] == '\0')) {
        snprintf(err, errcap, "[%s]: write [policy.URGENCY] or [policy.URGENCY.CATEGORY] with "
                 "URGENCY emergency, urgent or normal", section);
        return -1;
    }
    for (int i = 0; i < cfg->n_policies; i++)
        if (cfg->policies[i].urgency == u && strcmp(cfg->policies[i].category, category) == 0)
            p = &cfg->policies[i];
    if (p == NULL) {
        if (cfg->n_policies >= CONFIG_MAX_POLICIES) {
            snprintf(err, errcap, "more than %d policy sections", CONFIG_MAX_POLICIES);
            return -1;
        }
        p = &cfg->policies[cfg->n_policies++];
        memset(p, 0, sizeof(*p));
        p->urgency = u;
        snprintf(p->category, sizeof(p->category), "%s", category);
    }
    if ((s = config_stage_index(key)) >= 0)
        return config_set_span(&p->stage[s], section, key, value, err, errcap);
    if (strcmp(key, "escalate") == 0)
        return config_set_span(&p->escalate, section, key, value, err, errcap);
    if (strcmp(key, "warn") == 0) {
        size_t n = strlen(value);
        int64_t pct;
        if (n > 1 && value[n - 1] == '%') {
            char num[8];
            snprintf(num, sizeof(num), "%.*s", (int)(n - 1), value);
            if (conf_parse_int(num, 1, 99, &pct) != 0) {
                snprintf(err, errcap, "[%s] warn = '%s': a share of the clock from 1%% to 99%%",
                         section, value);
                return -1;
            }
            p->warn_pct = (int)pct;
            p->warn_lead.text[0] = '\0';
            return 0;
        }
        if (config_set_span(&p->warn_lead, section, key, value, err, errcap) != 0)
            return -1;
        if (p->warn_lead.span.unit == CAL_WORKDAYS || p->warn_lead.span.unit == CAL_WORKHOURS) {
            snprintf(err, errcap, "[%s] warn = '%s': a lead time is calendar time (like 2h or "
                     "30m) or a share of the clock (like 25%%)", section, value);
            return -1;
        }
        p->warn_pct = 0;
        return 0;
    }
    snprintf(err, errcap, "[%s] %s: unknown setting (ack, reply, close, callback, warn, "
             "escalate)", section, key);
    return -1;
}

static void config_merge(config_policy_t *dst, const config_policy_t *src)
{
    for (int s = 0; s < CONFIG_STAGES; s++)
        if (src->stage[s].text[0] != '\0')
            dst->stage[s] = src->stage[s];
    if (src->warn_pct > 0 || src->warn_lead.text[0] != '\0') {
        dst->warn_pct = src->warn_pct;
        dst->warn_lead = src->warn_lead;
    }
    if (src->escalate.text[0] != '\0')
        dst->escalate = src->escalate;
}

void config_policy_for(const config_t *cfg, int urgency, const char *category,
                       config_policy_t *ret)
{
    static const char *defaults[CONFIG_URGENCIES][CONFIG_STAGES] = {
        {"15m", "24h", "3d", "1d+next"}, {"30m", "24h", "3d", "1d+next"},
        {"1wd", "72h", "5wd", "1d+next"}};
    config_policy_t p;

    if (urgency < 0 || urgency >= CONFIG_URGENCIES)
        urgency = 2;
    memset(&p, 0, sizeof(p));
    p.urgency = urgency;
    for (int s = 0; s < CONFIG_STAGES; s++) {
        snprintf(p.stage[s].text, sizeof(p.stage[s].text), "%s", defaults[urgency][s]);
        cal_parse_span(defaults[urgency][s], &p.stage[s].span);
    }
    p.warn_pct = 25;
    snprintf(p.escalate.text, sizeof(p.escalate.text), "1wd");
    cal_parse_span("1wd", &p.escalate.span);
    for (int i = 0; i < cfg->n_policies; i++)
        if (cfg->policies[i].urgency == urgency && cfg->policies[i].category[0] == '\0')
            config_merge(&p, &cfg->policies[i]);
    for (int i = 0; category != NULL && category[0] != '\0' && i < cfg->n_policies; i++)
        if (cfg->policies[i].urgency == urgency &&
            strcmp(cfg->policies[i].category, category) == 0)
            config_merge(&p, &cfg->policies[i]);
    if (category != NULL)
        snprintf(p.category, sizeof(p.category), "%s", category);
    *ret = p;
}

typedef struct config_key_t {
    const char *section; /* section name */
    const char *key;     /* key name */
    char kind;           /* 's' string, 'p' path, 'd' duration, 'i' int */
    size_t offset;       /* field offset in config_t */
    size_t size;         /* field size (strings) */
    int64_t min, max;    /* int range */
} config_key_t;

#define S(sec, k, f) {sec, k, 's', offsetof(config_t, f), sizeof(((config_t *)0)->f), 0, 0}
#define P(sec, k, f) {sec, k, 'p', offsetof(config_t, f), sizeof(((config_t *)0)->f), 0, 0}
#define D(sec, k, f) {sec, k, 'd', offsetof(config_t, f), 0, 0, 0}
#define I(sec, k, f, lo, hi) {sec, k, 'i', offsetof(config_t, f), sizeof(((config_t *)0)->f), lo, hi}

static const config_key_t config_keys[] = {
    S("tier", "key", tier),
    S("tier", "kind", tier_kind),
    S("tier", "name", tier_name),
    S("tier", "code", tier_code),
    S("tier", "id_prefix", id_prefix),
    /* tier links (tier.h) */
    S("tier", "parent", tier_parent),
    S("tier", "parent_key", tier_parent_key),
    S("tier", "public_key", tier_public_key),
    S("tier", "secret_key", tier_secret_key),
    S("tier", "link", tier_link),
    P("tier", "counties", tier_counties),
    I("tier", "feed_bound", tier_feed_bound, 100, 100000000),
    S("redis", "host", redis_host),
    I("redis", "port", redis_port, 1, 65535),
    S("redis", "password", redis_password),
    I("redis", "timeout_ms", redis_timeout_ms, 100, 60000),
    P("files", "units", units_path),
    P("files", "catalogue", catalogue_path),
    P("files", "calendar", calendar_dir),
    S("intake", "http", intake_http),
    I("intake", "max_body", max_body, 1024, 1048576),
    S("router", "http", router_http),
    S("router", "bind", router_bind),
    S("watcher", "http", watcher_http),
    S("watcher", "bind", watcher_bind),
    D("watcher", "interval", watch_interval_ms),
    S("notifier", "http", notifier_http),
    S("notifier", "bind", notifier_bind),
    S("notifier", "webhook", webhook_url),
    S("notifier", "secret", webhook_secret),
    S("notifier", "supervisor_webhook", supervisor_webhook),
    S("notifier", "dispatcher_webhook", dispatcher_webhook),
    S("notifier", "citizen_webhook", citizen_webhook),
    I("notifier", "parallel", webhook_parallel, 1, 1024),
    D("notifier", "timeout", webhook_timeout_ms),
    S("instance", "advertise", advertise),
    D("delivery", "redeliver_after", redeliver_after_ms),
    D("delivery", "lease", lease_ms),
    I("delivery", "max_deliveries", max_deliveries, 1, 1000),
    I("deadlines", "max_extensions", max_extensions, 0, 10),
    S("linking", "caller_key", caller_key),
    D("linking", "window", link_window_ms),
    I("linking", "repeat_orders", repeat_orders, 2, 100),
    D("linking", "repeat_window", repeat_window_ms),
    I("linking", "similarity", similarity, 1, 100),
    I("scoring", "satisfaction_threshold", satisfaction_threshold, 0, 100),
    I("scoring", "on_time_threshold", on_time_threshold, 0, 100),
    I("delivery", "batch", batch, 1, 4096),
    I("delivery", "hwm", hwm, 100, 1000000),
    D("delivery", "heartbeat", heartbeat_ms),
};

typedef struct config_list_t {
    char (*items)[CONFIG_REASON_MAX]; /* where the list goes */
    int *n;                           /* its count */
} config_list_t;

static int config_list_item(void *user, const char *item)
{
    config_list_t *l = user;

    if (*l->n >= CONFIG_MAX_REASONS || strlen(item) >= CONFIG_REASON_MAX)
        return -1;
    snprintf(l->items[*l->n], CONFIG_REASON_MAX, "%s", item);
    (*l->n)++;
    return 0;
}

static int config_reasons(config_t *cfg, const char *key, const char *value, char *err,
                          size_t errcap)
{
    config_list_t l;

    if (strcmp(key, "reject") == 0)
        l = (config_list_t){cfg->reject_reasons, &cfg->n_reject_reasons};
    else if (strcmp(key, "return") == 0)
        l = (config_list_t){cfg->return_reasons, &cfg->n_return_reasons};
    else if (strcmp(key, "claim") == 0)
        l = (config_list_t){cfg->claim_reasons, &cfg->n_claim_reasons};
    else {
        snprintf(err, errcap, "unknown setting [reasons] %s (reject, return, claim)", key);
        return -1;
    }
    *l.n = 0;
    if (conf_each_item(value, config_list_item, &l) != 0 || *l.n == 0) {
        snprintf(err, errcap, "[reasons] %s: 1 to %d comma-separated codes of at most %d bytes",
                 key, CONFIG_MAX_REASONS, CONFIG_REASON_MAX - 1);
        return -1;
    }
    return 0;
}

int config_reason_ok(const char (*list)[CONFIG_REASON_MAX], int n, const char *reason)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], reason) == 0)
            return 1;
    return 0;
}

static int config_handler(void *user, const char *section, const char *key, const char *value,
                          char *err, size_t errcap)
{
    config_t *cfg = user;
    char name[80];

    if (strcmp(section, "reasons") == 0)
        return config_reasons(cfg, key, value, err, errcap);
    if (strcmp(section, "deadlines") == 0 && strcmp(key, "return_window") == 0) {
        snprintf(cfg->return_window.text, sizeof(cfg->return_window.text), "%.23s", value);
        if (cal_parse_span(value, &cfg->return_window.span) != 0) {
            snprintf(err, errcap, "[deadlines] return_window = '%s': %s", value, CAL_SPAN_HELP);
            return -1;
        }
        return 0;
    }
    if (strcmp(section, "tokens") == 0)
        return config_token(cfg, key, value, err, errcap);
    if (strncmp(section, "policy.", 7) == 0)
        return config_policy(cfg, section, key, value, err, errcap);
    if (strcmp(section, "test") == 0 && strcmp(key, "time_offset") == 0) {
        if (value[0] == '-') {
            int rc = config_ms(value + 1, &cfg->time_offset_ms, key, err, errcap);
            cfg->time_offset_ms = -cfg->time_offset_ms;
            return rc;
        }
        return config_ms(value, &cfg->time_offset_ms, key, err, errcap);
    }
    snprintf(name, sizeof(name), "[%s] %s", section, key);
    for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
        const config_key_t *k = &config_keys[i];
        char *field = (char *)cfg + k->offset;
        int64_t v;
        if (strcmp(k->section, section) != 0 || strcmp(k->key, key) != 0)
            continue;
        switch (k->kind) {
        case 's': return config_copy(field, k->size, value, name, err, errcap);
        case 'p': return config_path(cfg, field, k->size, value, name, err, errcap);
        case 'd': return config_ms(value, (int64_t *)field, name, err, errcap);
        default:
            if (config_int(value, k->min, k->max, &v, name, err, errcap) != 0)
                return -1;
            if (k->size == sizeof(int))
                *(int *)field = (int)v;
            else
                *(size_t *)field = (size_t)v;
            return 0;
        }
    }
    snprintf(err, errcap, "unknown setting %s", name);
    return -1;
}

static void config_defaults(config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->tier, sizeof(cfg->tier), "bx");
    snprintf(cfg->tier_kind, sizeof(cfg->tier_kind), "county");
    snprintf(cfg->id_prefix, sizeof(cfg->id_prefix), "BX");
    snprintf(cfg->redis_host, sizeof(cfg->redis_host), "127.0.0.1");
    cfg->redis_port = 6379;
    cfg->redis_timeout_ms = 2000;
    snprintf(cfg->intake_http, sizeof(cfg->intake_http), "127.0.0.1:8080");
    snprintf(cfg->router_http, sizeof(cfg->router_http), "127.0.0.1:0");
    snprintf(cfg->watcher_http, sizeof(cfg->watcher_http), "127.0.0.1:0");
    snprintf(cfg->notifier_http, sizeof(cfg->notifier_http), "127.0.0.1:0");
    snprintf(cfg->router_bind, sizeof(cfg->router_bind), "tcp://127.0.0.1:*");
    snprintf(cfg->watcher_bind, sizeof(cfg->watcher_bind), "tcp://127.0.0.1:*");
    snprintf(cfg->notifier_bind, sizeof(cfg->notifier_bind), "tcp://127.0.0.1:*");
    cfg->max_body = 64 * 1024;
    cfg->tier_feed_bound = 1000000; /* about 1 GB of Redis at most while the city is away */
    cfg->redeliver_after_ms = 5000;
    cfg->lease_ms = 30000;
    cfg->max_deliveries = 10;
    cfg->batch = 256;
    cfg->hwm = 10000;
    cfg->heartbeat_ms = 1000;
    cfg->webhook_parallel = 64;
    cfg->webhook_timeout_ms = 5000;
    cfg->watch_interval_ms = 1000;
    snprintf(cfg->return_window.text, sizeof(cfg->return_window.text), "2wd");
    cal_parse_span("2wd", &cfg->return_window.span);
    cfg->max_extensions = 1;
    cfg->satisfaction_threshold = 90;
    snprintf(cfg->caller_key, sizeof(cfg->caller_key), "change-me");
    cfg->link_window_ms = 90LL * 86400 * 1000;
    cfg->repeat_orders = 3;
    cfg->repeat_window_ms = 30LL * 86400 * 1000;
    cfg->similarity = 40;
    cfg->on_time_threshold = 80;
    {
        static const char *reject[] = {"in_court", "emergency_110", "same_matter_no_new_facts",
                                       "not_government", "insufficient_information"};
        static const char *ret[] = {"not_our_responsibility", "wrong_location", "duplicate",
                                    "other"};
        for (size_t i = 0; i < sizeof(reject) / sizeof(reject[0]); i++)
            snprintf(cfg->reject_reasons[cfg->n_reject_reasons++], CONFIG_REASON_MAX, "%s",
                     reject[i]);
        for (size_t i = 0; i < sizeof(ret) / sizeof(ret[0]); i++)
            snprintf(cfg->return_reasons[cfg->n_return_reasons++], CONFIG_REASON_MAX, "%s",
                     ret[i]);
        static const char *claim[] = {"unreasonable_request", "policy_beyond_unit",
                                      "misunderstanding_explained",
                                      "repeated_without_new_facts", "rating_not_about_unit"};
        for (size_t i = 0; i < sizeof(claim) / sizeof(claim[0]); i++)
            snprintf(cfg->claim_reasons[cfg->n_claim_reasons++], CONFIG_REASON_MAX, "%s",
                     claim[i]);
    }
}

static int config_env(config_t *cfg, char *err, size_t errcap)
{
    const char *v;
    int64_t port;

    if ((v = getenv("REXIAN_REDIS_HOST")) != NULL && *v)
        snprintf(cfg->redis_host, sizeof(cfg->redis_host), "%s", v);
    if ((v = getenv("REXIAN_REDIS_PORT")) != NULL && *v) {
        if (conf_parse_int(v, 1, 65535, &port) != 0) {
            snprintf(err, errcap, "REXIAN_REDIS_PORT='%s' is not a port number", v);
            return -1;
        }
        cfg->redis_port = (int)port;
    }
    if ((v = getenv("REXIAN_REDIS_PASSWORD")) != NULL && *v)
        snprintf(cfg->redis_password, sizeof(cfg->redis_password), "%s", v);
    if ((v = getenv("REXIAN_WEBHOOK_SECRET")) != NULL && *v)
        snprintf(cfg->webhook_secret, sizeof(cfg->webhook_secret), "%s", v);
    if ((v = getenv("REXIAN_CALLER_KEY")) != NULL && *v)
        snprintf(cfg->caller_key, sizeof(cfg->caller_key), "%s", v);
    if ((v = getenv("REXIAN_ADVERTISE")) != NULL && *v)
        snprintf(cfg->advertise, sizeof(cfg->advertise), "%s", v);
    return 0;
}

static int config_check(const config_t *cfg, char *err, size_t errcap)
{
    const char *p;

    if (cfg->tier[0] == '\0') {
        snprintf(err, errcap, "%s: [tier] key is required", cfg->path);
        return -1;
    }
    for (p = cfg->tier; *p; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') {
            snprintf(err, errcap, "%s: [tier] key '%s' may hold only a-z, 0-9 and '-'",
                     cfg->path, cfg->tier);
            return -1;
        }
    }
    if (strcmp(cfg->tier_kind, "county") != 0 && strcmp(cfg->tier_kind, "city") != 0) {
        snprintf(err, errcap, "%s: [tier] kind must be county or city", cfg->path);
        return -1;
    }
    /* tier links: each needs this tier's keys, and someone to trust */
    if ((cfg->tier_parent[0] != '\0' || cfg->tier_link[0] != '\0') &&
        (cfg->tier_public_key[0] == '\0' || cfg->tier_secret_key[0] == '\0')) {
        snprintf(err, errcap, "%s: [tier] parent and link need public_key and secret_key "
                 "(files written by `rexianctl keys new`)", cfg->path);
        return -1;
    }
    if (strcmp(cfg->tier_kind, "county") == 0 && cfg->tier_parent_key[0] == '\0' &&
        (cfg->tier_parent[0] != '\0' || cfg->tier_link[0] != '\0')) {
        snprintf(err, errcap, "%s: [tier] parent_key (the city's public key) is required with "
                 "parent or link", cfg->path);
        return -1;
    }
    if (strcmp(cfg->tier_kind, "city") == 0 && cfg->tier_link[0] != '\0' &&
        cfg->tier_counties[0] == '\0') {
        snprintf(err, errcap, "%s: [tier] counties (the file listing each county's key) is "
                 "required with link in a city", cfg->path);
        return -1;
    }
    if (strcmp(cfg->tier_kind, "city") == 0 && cfg->tier_parent[0] != '\0') {
        snprintf(err, errcap, "%s: [tier] parent: a city has no parent tier here", cfg->path);
        return -1;
    }
    if (cfg->units_path[0] == '\0' || cfg->catalogue_path[0] == '\0') {
        snprintf(err, errcap, "%s: [files] units and catalogue are required", cfg->path);
        return -1;
    }
    return 0;
}

int config_load(const char *path, config_t *ret, char *err, size_t errcap)
{
    config_t *cfg = malloc(sizeof(*cfg));
    const char *slash;
    int rc = -1;

    if (cfg == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    config_defaults(cfg);
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(cfg->dir, sizeof(cfg->dir), ".");
    else
        snprintf(cfg->dir, sizeof(cfg->dir), "%.*s", (int)(slash - path), path);
    if (conf_load(path, config_handler, cfg, err, errcap) != 0)
        goto out;
    if (config_env(cfg, err, errcap) != 0 || config_check(cfg, err, errcap) != 0)
        goto out;
    memcpy(ret, cfg, sizeof(*cfg));
    rc = 0;
out:
    free(cfg);
    return rc;
}

const config_token_t *config_find_token(const config_t *cfg, const char *token)
{
    unsigned char hash[32];

    SHA256((const unsigned char *)token, strlen(token), hash);
    for (int i = 0; i < cfg->n_tokens; i++)
        if (CRYPTO_memcmp(hash, cfg->tokens[i].hash, 32) == 0)
            return &cfg->tokens[i];
    return NULL;
}

const char *config_path_from_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            return argv[i + 1];
    return getenv("REXIAN_CONFIG");
}
