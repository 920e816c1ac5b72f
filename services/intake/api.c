/* api.c -- intake's HTTP JSON API (see api.h and the README's API section) */
#include "api.h"

#include "cal.h"
#include "log.h"
#include "report.h"
#include "steps.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct api_pending_t {
    httpd_req_t *req;     /* the deferred request */
    char *fields;         /* JSON for ticket_create, owned */
    char idem[API_IDEM_MAX + 8]; /* idempotency key as stored */
} api_pending_t;

struct api_t {
    svc_t *svc;                           /* the service */
    const units_t *units;                 /* units register, borrowed */
    api_pending_t pending[API_MAX_PENDING]; /* creates waiting for the batch */
    int n_pending;                        /* how many */
    int m_created, m_replayed, m_rejected, m_unavailable, m_batch; /* metrics */
};


/* ------------------------------------------------------------------------------------------
 * Answers */

static void api_json(httpd_req_t *req, int status, json_t *body, const char *header)
{
    char *text = json_dumps(body, JSON_COMPACT);

    if (text == NULL) {
        httpd_respond(req, 500, "application/json", "{}", 2, NULL);
    } else {
        httpd_respond(req, status, "application/json; charset=utf-8", text, strlen(text),
                      header);
        free(text);
    }
    json_decref(body);
}

static void api_error(httpd_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void api_error(httpd_req_t *req, int status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *err;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err = json_pack("{s:s,s:s}", "code", code, "message", msg);
    if (field != NULL)
        json_object_set_new(err, "field", json_string(field));
    api_json(req, status, json_pack("{s:o}", "error", err),
             status == 503 ? "Retry-After: 1" : NULL);
}

/* ------------------------------------------------------------------------------------------
 * Tokens and roles */

static const config_token_t *api_auth(api_t *api, httpd_req_t *req)
{
    const char *h = httpd_header(req, "Authorization");
    const config_token_t *t;

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
        api_error(req, 401, "unauthorized", NULL,
                  "send the header 'Authorization: Bearer <token>' with a configured token");
        return NULL;
    }
    if (strlen(h + 7) > 256 || (t = config_find_token(svc_cfg(api->svc), h + 7)) == NULL) {
        api_error(req, 401, "unauthorized", NULL, "the bearer token is not a configured token");
        return NULL;
    }
    return t;
}

static int api_role_in(const config_token_t *t, const config_role_t *roles)
{
    for (; *roles != ROLE_NONE; roles++)
        if (t->role == *roles)
            return 1;
    return 0;
}

static int api_allow(httpd_req_t *req, const config_token_t *t, const config_role_t *roles,
                     const char *what)
{
    if (api_role_in(t, roles))
        return 1;
    api_error(req, 403, "forbidden", NULL, "the %s role may not %s",
              config_role_name(t->role), what);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Validation */

static int api_in(const char *v, const char **list)
{
    for (; *list != NULL; list++)
        if (strcmp(v, *list) == 0)
            return 1;
    return 0;
}

static void api_list_text(const char **list, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (; *list != NULL && o < cap; list++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", *list);
}



/* Parses and checks a create request (steps.c's "create" rules); returns the fields for
 * ticket_create or NULL after answering 400. */
static json_t *api_parse_create(api_t *api, httpd_req_t *req, const config_token_t *tok,
                                char *idem, size_t idem_cap)
{
    const config_t *cfg = svc_cfg(api->svc);
    char code[32], field[64], msg[600], hex[33];
    const char *body, *key;
    unsigned char mac[32];
    unsigned int maclen = 0;
    json_t *out;
    size_t len;
    int status;

    body = httpd_body(req, &len);
    if (len == 0) {
        api_error(req, 400, "empty_body", NULL, "the request body must be a JSON object");
        return NULL;
    }
    out = steps_check("create", body, len, cfg, api->units, svc_now(api->svc), &status, code,
                      field, msg, sizeof(msg));
    if (out == NULL) {
        api_error(req, status, code, field[0] ? field : NULL, "%s", msg);
        return NULL;
    }
    key = json_string_value(json_object_get(out, "idempotency_key"));
    if (key != NULL) {
        snprintf(idem, idem_cap, "c:%s", key);
    } else {
        /* our own key, so a retry after a lost Redis reply cannot create a second ticket */
        unsigned char rnd[16];
        getrandom(rnd, sizeof(rnd), 0);
        size_t o = (size_t)snprintf(idem, idem_cap, "g:");
        for (int i = 0; i < 16 && o + 2 < idem_cap; i++)
            o += (size_t)snprintf(idem + o, idem_cap - o, "%02x", rnd[i]);
    }
    json_object_del(out, "idempotency_key");
    /* callers are matched by a keyed hash of the number, never the number itself */
    HMAC(EVP_sha256(), cfg->caller_key, (int)strlen(cfg->caller_key),
         (const unsigned char *)json_string_value(json_object_get(out, "phone")),
         strlen(json_string_value(json_object_get(out, "phone"))), mac, &maclen);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    json_object_set_new(out, "caller", json_string(hex));
    json_object_set_new(out, "link_window", json_integer(cfg->link_window_ms));
    json_object_set_new(out, "actor", json_string(tok->name));
    json_object_set_new(out, "role", json_string(config_role_name(tok->role)));
    for (const char *k2 = "address"; k2 != NULL; k2 = strcmp(k2, "address") == 0 ? "category"
                                                   : strcmp(k2, "category") == 0 ? "township"
                                                                                 : NULL)
        if (json_object_get(out, k2) == NULL)
            json_object_set_new(out, k2, json_string(""));
    return out;
}

static void api_create(api_t *api, httpd_req_t *req, const config_token_t *tok)
{
    static const config_role_t roles[] = {ROLE_OPERATOR, ROLE_ADMIN, ROLE_NONE};
    api_pending_t *p;
    json_t *fields;

    if (!api_allow(req, tok, roles, "create tickets"))
        return;
    if (api->n_pending >= API_MAX_PENDING || rds_ensure(svc_rds(api->svc)) != 0) {
        metrics_inc(svc_metrics(api->svc), api->m_unavailable, 1);
        api_error(req, 503, "unavailable", NULL,
                  api->n_pending >= API_MAX_PENDING
                      ? "intake is saturated; retry in a second"
                      : "the ticket store (Redis) is not reachable; nothing was recorded, "
                        "retry with the same idempotency_key");
        return;
    }
    p = &api->pending[api->n_pending];
    fields = api_parse_create(api, req, tok, p->idem, sizeof(p->idem));
    if (fields == NULL) {
        metrics_inc(svc_metrics(api->svc), api->m_rejected, 1);
        return;
    }
    p->fields = json_dumps(fields, JSON_COMPACT);
    json_decref(fields);
    if (p->fields == NULL) {
        api_error(req, 500, "internal", NULL, "out of memory");
        return;
    }
    p->req = req;
    api->n_pending++;
    httpd_defer(req);
}

/* Writes all pending creates in one pipeline; answers each after Redis has it. A lost reply
 * (connection dropped) is retried once on a fresh connection: the idempotency key makes the
 * retry return the ticket the first try may have written. */
int api_flush(loop_t *loop, void *arg)
{
    api_t *api = arg;
    const config_t *cfg;
    char now[24], day[16], redeliver[24], tbuf[CAL_TIME_MAX];
    int64_t now_ms;
    int done = 0;

    if (api == NULL || api->n_pending == 0)
        return 0;
    cfg = svc_cfg(api->svc);
    now_ms = svc_now(api->svc);
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    cal_format(now_ms, tbuf); /* local date: the ticket id carries the Beijing-time day */
    snprintf(day, sizeof(day), "%.4s%.2s%.2s", tbuf, tbuf + 5, tbuf + 8);
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    metrics_observe(svc_metrics(api->svc), api->m_batch, api->n_pending);
    for (int attempt = 0; attempt < 2 && done < api->n_pending; attempt++) {
        rds_t *r = svc_rds(api->svc);
        int appended = 0;
        if (rds_ensure(r) != 0)
            break;
        for (int i = done; i < api->n_pending; i++) {
            const char *argv[] = {cfg->tier, api->pending[i].idem, now, day, cfg->id_prefix,
                                  svc_instance(api->svc), redeliver, api->pending[i].fields};
            if (rds_append_fcall(r, "ticket_create", 8, argv, NULL) != 0)
                break;
            appended++;
        }
        for (int i = done; i < done + appended; i++) {
            api_pending_t *p = &api->pending[i];
            redisReply *rep = rds_read(r);
            if (rep == NULL) {
                svc_redis_failed(api->svc, "ticket_create");
                appended = i - done;
                break;
            }
            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3) {
                int created = rep->element[1]->integer == 1;
                char location[128];
                snprintf(location, sizeof(location), "Location: /v1/tickets/%s",
                         rep->element[0]->str);
                api_json(p->req, created ? 201 : 200,
                         json_pack("{s:s,s:s,s:b}", "id", rep->element[0]->str, "status",
                                   created ? "received" : "already_received", "replayed",
                                   !created),
                         location);
                metrics_inc(svc_metrics(api->svc), created ? api->m_created : api->m_replayed,
                            1);
                if (created)
                    svc_send(api->svc, STAGE_ROUTER, rep->element[2]->str,
                             rep->element[2]->len);
            } else {
                log_msg(LOG_ERROR, "ticket.create_failed", "error=\"%s\"",
                        rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
                api_error(p->req, 500, "store_failed", NULL, "the ticket store refused the "
                          "write; nothing was recorded");
            }
            freeReplyObject(rep);
            free(p->fields);
            p->fields = NULL;
        }
        done += appended;
    }
    for (int i = done; i < api->n_pending; i++) {
        metrics_inc(svc_metrics(api->svc), api->m_unavailable, 1);
        api_error(api->pending[i].req, 503, "unavailable", NULL,
                  "the ticket store (Redis) is not reachable; the ticket may or may not have "
                  "been recorded: retry with the same idempotency_key");
        free(api->pending[i].fields);
        api->pending[i].fields = NULL;
    }
    api->n_pending = 0;
    svc_http_kick(api->svc); /* send the answers now, not at the next wake-up */
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Views */

static json_t *api_time(const char *ms_text)
{
    char buf[CAL_TIME_MAX];
    long long ms;

    if (ms_text == NULL || *ms_text == '\0')
        return json_null();
    ms = strtoll(ms_text, NULL, 10);
    if (cal_format(ms, buf) != 0)
        return json_null();
    return json_string(buf);
}

static const char *api_field(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (strcmp(h->element[i]->str, name) == 0)
            return h->element[i + 1]->str;
    return NULL;
}

static json_t *api_decode(const char *text)
{
    json_t *v = text != NULL ? json_loads(text, 0, NULL) : NULL;
    return v != NULL ? v : json_null();
}

/* Roles that see phone numbers whole; every such view is logged. */
static int api_sees_phone(const config_token_t *t)
{
    return t->role == ROLE_OPERATOR || t->role == ROLE_SUPERVISOR || t->role == ROLE_ADMIN;
}

static json_t *api_phone(const config_token_t *t, const char *phone)
{
    char masked[32];

    if (api_sees_phone(t))
        return json_string(phone != NULL ? phone : "");
    log_mask_phone(phone, masked, sizeof(masked));
    return json_string(masked);
}

/* Timeline entries carry times in ms; show them as local time too. */
static json_t *api_timeline(const redisReply *tl)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < tl->elements; i++) {
        json_t *e = api_decode(tl->element[i]->str);
        const char *key;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(e, tmp, key, v) {
            if (json_is_integer(v) && (strcmp(key, "at") == 0 || strstr(key, "due") != NULL)) {
                char ms[24];
                snprintf(ms, sizeof(ms), "%lld", (long long)json_integer_value(v));
                json_object_set_new(e, key, api_time(ms));
            }
        }
        json_array_append_new(arr, e);
    }
    return arr;
}

static json_t *api_view(const config_token_t *tok, const redisReply *h, const redisReply *tl,
                        const redisReply *nt, int64_t now_ms)
{
    const char *paused = api_field(h, "paused_ms"), *paused_at = api_field(h, "paused_at");
    int64_t paused_ms = paused != NULL ? strtoll(paused, NULL, 10) : 0;
    json_t *t = json_object(), *deadlines = json_object(), *notes = json_array();
    const char *status = api_field(h, "status");

    if (paused_at != NULL && paused_at[0] != '\0')
        paused_ms += now_ms - strtoll(paused_at, NULL, 10); /* paused now: not counted */

    json_object_set_new(t, "id", json_string(api_field(h, "id")));
    json_object_set_new(t, "status", json_string(status));
    json_object_set_new(t, "tier", json_string(api_field(h, "tier")));
    json_object_set_new(t, "channel", json_string(api_field(h, "channel")));
    json_object_set_new(t, "caller", json_pack("{s:o}", "phone",
                                               api_phone(tok, api_field(h, "phone"))));
    json_object_set_new(t, "text", json_string(api_field(h, "text")));
    json_object_set_new(t, "address", json_string(api_field(h, "address")));
    json_object_set_new(t, "category", json_string(api_field(h, "category")));
    json_object_set_new(t, "township", json_string(api_field(h, "township")));
    json_object_set_new(t, "unit", api_field(h, "unit") ? json_string(api_field(h, "unit"))
                                                        : json_null());
    json_t *co = api_decode(api_field(h, "co_units"));
    if (!json_is_array(co)) { /* Lua's cjson writes an empty list as {} */
        json_decref(co);
        co = json_array();
    }
    json_object_set_new(t, "co_units", co);
    json_object_set_new(t, "urgency", api_field(h, "urgency")
                                          ? json_string(api_field(h, "urgency"))
                                          : json_null());
    json_object_set_new(t, "created_at", api_time(api_field(h, "created_at")));
    json_object_set_new(t, "dispatched_at", api_time(api_field(h, "dispatched_at")));
    json_object_set_new(t, "updated_at", api_time(api_field(h, "updated_at")));
    for (int s = 0; s < 4; s++) {
        static const char *stages4[] = {"ack", "reply", "close", "callback"};
        static const char *parts[] = {"due", "state", "span", "warn", "esc", "start", "light",
                                      "escalated", "done_at", "paused_from"};
        const char *v[10];
        char name[32];
        json_t *clk;
        for (int k = 0; k < 10; k++) {
            snprintf(name, sizeof(name), "%s_%s", stages4[s], parts[k]);
            v[k] = api_field(h, name);
        }
        if (v[0] == NULL)
            continue;
        clk = json_pack("{s:o,s:I,s:s,s:s}", "due", api_time(v[0]), "due_ms",
                        (json_int_t)strtoll(v[0], NULL, 10), "state", v[1] ? v[1] : "",
                        "span", v[2] ? v[2] : "");
        if (v[3] != NULL)
            json_object_set_new(clk, "warn_at", api_time(v[3]));
        if (v[4] != NULL)
            json_object_set_new(clk, "escalate_at", api_time(v[4]));
        if (v[5] != NULL) {
            int64_t start = strtoll(v[5], NULL, 10);
            int64_t end = v[8] != NULL ? strtoll(v[8], NULL, 10) : now_ms;
            json_object_set_new(clk, "started_at", api_time(v[5]));
            json_object_set_new(clk, "elapsed_ms", json_integer(end - start - paused_ms));
        }
        json_object_set_new(clk, "light", json_string(v[6] ? v[6] : ""));
        if (v[7] != NULL && v[7][0] != '\0')
            json_object_set_new(clk, "escalated_at", api_time(v[7]));
        json_object_set_new(clk, "paused_ms", json_integer(paused_ms));
        json_object_set_new(deadlines, stages4[s], clk);
    }
    json_object_set_new(t, "deadlines", deadlines);
    json_object_set_new(t, "deadlines_provisional",
                        json_boolean(api_field(h, "clocks_provisional") != NULL &&
                                     strcmp(api_field(h, "clocks_provisional"), "1") == 0));
    if (api_field(h, "route_why") != NULL)
        json_object_set_new(t, "route",
                            json_pack("{s:s,s:I,s:o}", "why", api_field(h, "route_why"),
                                      "score",
                                      (json_int_t)strtoll(api_field(h, "route_score")
                                                              ? api_field(h, "route_score")
                                                              : "0",
                                                          NULL, 10),
                                      "candidates",
                                      api_decode(api_field(h, "route_candidates"))));
    {
        /* lifecycle fields, shown when set */
        static const char *texts[] = {"resolution", "answer", "reject_reason", "reply_text",
                                      "pause_reason",
                                      "rating", "rating_words", "returned_by", "return_reason",
                                      "return_note", "extension_state", "extension_reason",
                                      "merged_into", "close_reason", NULL};
        static const char *times[] = {"ack_at", "replied_at", "rated_at", "closed_at", "paused_at",
                                      "return_due", "extension_until", NULL};
        static const char *docs[] = {"reply_evidence", "co_acks", "co_replies", "subs",
                                     "merged", "returned_units", "links", "claims", NULL};
        for (int i = 0; texts[i] != NULL; i++)
            if (api_field(h, texts[i]) != NULL && api_field(h, texts[i])[0] != '\0')
                json_object_set_new(t, texts[i], json_string(api_field(h, texts[i])));
        for (int i = 0; times[i] != NULL; i++)
            if (api_field(h, times[i]) != NULL && api_field(h, times[i])[0] != '\0')
                json_object_set_new(t, times[i], api_time(api_field(h, times[i])));
        for (int i = 0; docs[i] != NULL; i++)
            if (api_field(h, docs[i]) != NULL)
                json_object_set_new(t, docs[i], api_decode(api_field(h, docs[i])));
        json_object_set_new(t, "rev", json_integer(strtoll(api_field(h, "rev"), NULL, 10)));
        json_object_set_new(t, "repeat_caller",
                            json_integer(api_field(h, "repeat_caller")
                                             ? strtoll(api_field(h, "repeat_caller"), NULL, 10)
                                             : 0));
        {
            /* units whose accepted claims took this order out of their satisfaction rate */
            json_t *x = api_decode(api_field(h, "excluded_units")), *units_x = json_array();
            const char *k;
            json_t *v;
            json_object_foreach(x, k, v) json_array_append_new(units_x, json_string(k));
            json_decref(x);
            json_object_set_new(t, "excluded_from_satisfaction",
                                json_boolean(json_array_size(units_x) > 0));
            json_object_set_new(t, "excluded_for", units_x);
        }
        if (tok->role != ROLE_UNIT && api_field(h, "caller") != NULL)
            json_object_set_new(json_object_get(t, "caller"), "key",
                                json_string(api_field(h, "caller")));
        json_object_set_new(t, "reopened",
                            json_integer(api_field(h, "reopened")
                                             ? strtoll(api_field(h, "reopened"), NULL, 10)
                                             : 0));
    }
    /* a city order sent down to a county: the county's side as its feed brings it (tiers.lua) */
    if (api_field(h, "down_county") != NULL) {
        static const char *county_fields[] = {"county_ticket", "county_status", "county_unit",
                                              "county_reply", "county_rating", "down_state"};
        json_t *cty = json_pack("{s:s}", "county", api_field(h, "down_county"));
        for (int k = 0; k < 6; k++)
            if (api_field(h, county_fields[k]) != NULL && api_field(h, county_fields[k])[0])
                json_object_set_new(cty, county_fields[k] + (k < 5 ? 7 : 0),
                                    json_string(api_field(h, county_fields[k])));
        json_object_set_new(cty, "deadlines",
                            json_pack("{s:o,s:o,s:o}", "ack",
                                      api_time(api_field(h, "county_ack_due")), "reply",
                                      api_time(api_field(h, "county_reply_due")), "close",
                                      api_time(api_field(h, "county_close_due"))));
        json_object_set_new(t, "county", cty);
    }
    json_object_set_new(t, "timeline", api_timeline(tl));
    for (size_t i = 0; i + 1 < nt->elements; i += 2) {
        json_t *n = api_decode(nt->element[i + 1]->str);
        char ms[24];
        if (!json_is_object(n))
            continue;
        json_object_set_new(n, "nid", json_string(nt->element[i]->str));
        static const char *times[] = {"created_at", "delivered_at", "last_attempt_at",
                                      "next_attempt_at"};
        for (int k = 0; k < 4; k++) {
            json_t *v = json_object_get(n, times[k]);
            if (json_is_integer(v)) {
                snprintf(ms, sizeof(ms), "%lld", (long long)json_integer_value(v));
                json_object_set_new(n, times[k], api_time(ms));
            }
        }
        json_array_append_new(notes, n);
    }
    json_object_set_new(t, "notifications", notes);
    return t;
}

/* A unit sees the orders it leads, co-handles or was sub-dispatched. */
static int api_unit_sees(const redisReply *h, const char *unit)
{
    const char *lead = api_field(h, "unit");
    json_t *co, *subs, *v;
    size_t i;
    int seen = 0;

    if (lead != NULL && strcmp(lead, unit) == 0)
        return 1;
    co = api_decode(api_field(h, "co_units"));
    json_array_foreach(co, i, v) seen |= json_is_string(v) && strcmp(json_string_value(v), unit) == 0;
    subs = api_decode(api_field(h, "subs"));
    json_array_foreach(subs, i, v) {
        json_t *u = json_object_get(v, "unit");
        seen |= json_is_string(u) && strcmp(json_string_value(u), unit) == 0;
    }
    json_decref(co);
    json_decref(subs);
    return seen;
}

static int api_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 40)
        return 0;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id) && *id != '-')
            return 0;
    return 1;
}

/* Whole phone numbers are personal data: every view is recorded (who, which order, when). */
static void api_audit_phone(api_t *api, const config_token_t *tok, const char *id)
{
    char key[64];
    redisReply *rep;

    snprintf(key, sizeof(key), "{%s}:audit:phone", svc_cfg(api->svc)->tier);
    rep = rds_cmd(svc_rds(api->svc), "XADD %s MAXLEN ~ 1000000 * ticket %s actor %s role %s",
                  key, id, tok->name, config_role_name(tok->role));
    freeReplyObject(rep);
    log_msg(LOG_INFO, "phone.viewed", "ticket=%s actor=%s role=%s", id, tok->name,
            config_role_name(tok->role));
}

static void api_get(api_t *api, httpd_req_t *req, const config_token_t *tok, const char *id)
{
    const config_t *cfg = svc_cfg(api->svc);
    rds_t *r = svc_rds(api->svc);
    redisReply *rep;

    if (!api_id_valid(id)) {
        api_error(req, 404, "not_found", NULL, "no ticket %.40s (ids look like BX-20261125-000123)",
                  id);
        return;
    }
    if (rds_ensure(r) != 0) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    const char *argv[] = {cfg->tier, id};
    if (rds_append_fcall(r, "ticket_get", 2, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
        svc_redis_failed(api->svc, "ticket_get");
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        api_error(req, 404, "not_found", NULL, "no ticket %s", id);
    } else {
        if (tok->role == ROLE_UNIT && !api_unit_sees(rep->element[0], tok->unit)) {
            /* a unit sees only its own orders; others' do not exist for it */
            api_error(req, 404, "not_found", NULL, "no ticket %s", id);
        } else {
            if (api_sees_phone(tok))
                api_audit_phone(api, tok, id);
            api_json(req, 200,
                     api_view(tok, rep->element[0], rep->element[1], rep->element[2],
                              svc_now(api->svc)),
                     NULL);
        }
    }
    freeReplyObject(rep);
}

static int api_query_int(httpd_req_t *req, const char *name, long min, long max, long def,
                         long *ret)
{
    const char *v = httpd_query(req, name);
    char *end;
    long n;

    if (v == NULL || *v == '\0') {
        *ret = def;
        return 0;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        api_error(req, 400, "invalid_value", name, "%s must be a whole number from %ld to %ld",
                  name, min, max);
        return -1;
    }
    *ret = n;
    return 0;
}

static void api_list(api_t *api, httpd_req_t *req, const config_token_t *tok)
{
    static const char *statuses[] = {"received", "pending_dispatch", "dispatched", "acknowledged",
                                     "returned", "replied", "closed", "rejected", "merged", NULL};
    const config_t *cfg = svc_cfg(api->svc);
    const char *unit = httpd_query(req, "unit"), *status = httpd_query(req, "status");
    rds_t *r = svc_rds(api->svc);
    char ix[96], off[16], lim[16];
    long offset, limit;
    redisReply *rep;
    json_t *items;

    if (api_query_int(req, "limit", 1, API_PAGE_MAX, 20, &limit) != 0 ||
        api_query_int(req, "offset", 0, 1000000, 0, &offset) != 0)
        return;
    if (tok->role == ROLE_UNIT) {
        if (unit != NULL && *unit && strcmp(unit, tok->unit) != 0) {
            api_error(req, 403, "forbidden", "unit", "a unit token lists only its own unit's "
                      "orders (%s)", tok->unit);
            return;
        }
        unit = tok->unit;
    }
    if (unit != NULL && *unit && units_find(api->units, unit) == NULL) {
        api_error(req, 400, "invalid_value", "unit", "unit '%.64s' is not a unit of this tier",
                  unit);
        return;
    }
    if (status != NULL && *status && !api_in(status, statuses)) {
        char list[128];
        api_list_text(statuses, list, sizeof(list));
        api_error(req, 400, "invalid_value", "status", "status '%.32s' is not one of: %s",
                  status, list);
        return;
    }
    if (unit != NULL && *unit)
        snprintf(ix, sizeof(ix), "unit:%s", unit);
    else if (status != NULL && *status)
        snprintf(ix, sizeof(ix), "status:%s", status);
    else
        snprintf(ix, sizeof(ix), "all");
    if (!(unit != NULL && *unit))
        status = NULL; /* the status index itself filters */
    snprintf(off, sizeof(off), "%ld", offset);
    snprintf(lim, sizeof(lim), "%ld", limit);
    if (rds_ensure(r) != 0) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    const char *argv[] = {cfg->tier, ix, off, lim, status != NULL ? status : ""};
    if (rds_append_fcall(r, "ticket_list", 5, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
        svc_redis_failed(api->svc, "ticket_list");
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) {
        api_error(req, 500, "store_failed", NULL, "%s",
                  rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        freeReplyObject(rep);
        return;
    }
    items = json_array();
    for (size_t i = 1; i + 6 < rep->elements; i += 7) {
        char masked[32];
        size_t cut = rep->element[i + 6]->len > 120 ? 120 : rep->element[i + 6]->len;
        /* end the excerpt on a character boundary: a cut UTF-8 sequence is not a string */
        while (cut > 0 && cut < rep->element[i + 6]->len &&
               ((unsigned char)rep->element[i + 6]->str[cut] & 0xC0) == 0x80)
            cut--;
        log_mask_phone(rep->element[i + 5]->str, masked, sizeof(masked));
        json_array_append_new(
            items, json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s%}", "id", rep->element[i]->str,
                             "status", rep->element[i + 1]->str, "unit",
                             rep->element[i + 2]->str, "urgency", rep->element[i + 3]->str,
                             "created_at", api_time(rep->element[i + 4]->str), "phone", masked,
                             "text", rep->element[i + 6]->str, cut));
    }
    long long total = rep->element[0]->integer;
    api_json(req, 200,
             json_pack("{s:o,s:I,s:i,s:i,s:o}", "items", items, "total", (json_int_t)total,
                       "offset", (int)offset, "limit", (int)limit, "next_offset",
                       offset + limit < total ? json_integer(offset + limit) : json_null()),
             NULL);
    freeReplyObject(rep);
}

/* ------------------------------------------------------------------------------------------
 * Lifecycle steps */

static void api_step(api_t *api, httpd_req_t *req, const config_token_t *tok, const char *id,
                     const char *step)
{
    const config_t *cfg = svc_cfg(api->svc);
    rds_t *r = svc_rds(api->svc);
    char code[32], field[64], msg[600], now[24], redeliver[24], settings[64];
    const char *body;
    char *actor_text, *body_text;
    json_t *checked, *actor;
    redisReply *rep;
    size_t len;
    int status;
    int64_t now_ms = svc_now(api->svc);

    if (!api_id_valid(id)) {
        api_error(req, 404, "not_found", NULL, "no ticket %.40s", id);
        return;
    }
    body = httpd_body(req, &len);
    checked = steps_check(step, body, len, cfg, api->units, now_ms, &status, code, field, msg,
                          sizeof(msg));
    if (checked == NULL) {
        api_error(req, status, code, field[0] ? field : NULL, "%s", msg);
        return;
    }
    if (rds_ensure(r) != 0) {
        json_decref(checked);
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable; "
                  "nothing was changed");
        return;
    }
    actor = json_pack("{s:s,s:s,s:s}", "name", tok->name, "role", config_role_name(tok->role),
                      "unit", tok->unit);
    actor_text = json_dumps(actor, JSON_COMPACT);
    body_text = json_dumps(checked, JSON_COMPACT);
    json_decref(actor);
    json_decref(checked);
    snprintf(now, sizeof(now), "%lld", (long long)now_ms);
    snprintf(redeliver, sizeof(redeliver), "%lld", (long long)cfg->redeliver_after_ms);
    snprintf(settings, sizeof(settings), "{\"max_extensions\":%d}", cfg->max_extensions);
    const char *argv[] = {cfg->tier, now, svc_instance(api->svc), redeliver, actor_text, id,
                          step, body_text, settings};
    if (actor_text == NULL || body_text == NULL ||
        rds_append_fcall(r, "ticket_step", 9, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
        free(actor_text);
        free(body_text);
        svc_redis_failed(api->svc, "ticket_step");
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) did not answer; the "
                  "step may or may not have been applied: reload the order before retrying");
        return;
    }
    free(actor_text);
    free(body_text);
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 4 && rep->element[0]->integer == 1) {
        json_t *extra = api_decode(rep->element[3]->str);
        json_t *out = json_pack("{s:s,s:s,s:I}", "id", id, "status", rep->element[1]->str,
                                "rev", (json_int_t)rep->element[2]->integer);
        if (json_is_object(extra))
            json_object_update(out, extra);
        json_decref(extra);
        for (size_t i = 4; i + 1 < rep->elements; i += 2) {
            const char *stage = rep->element[i]->str;
            int st = strcmp(stage, "watcher") == 0    ? STAGE_WATCHER
                     : strcmp(stage, "notifier") == 0 ? STAGE_NOTIFIER
                                                      : STAGE_ROUTER;
            svc_send(api->svc, st, rep->element[i + 1]->str, rep->element[i + 1]->len);
        }
        log_msg(LOG_INFO, "ticket.step", "ticket=%s step=%s actor=%s status=%s", id, step,
                tok->name, rep->element[1]->str);
        api_json(req, 200, out, NULL);
    } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        api_error(req, (int)rep->element[1]->integer, rep->element[2]->str, NULL, "%s",
                  rep->element[3]->str);
    } else {
        log_msg(LOG_ERROR, "ticket.step_failed", "ticket=%s step=%s error=\"%s\"", id, step,
                rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        api_error(req, 500, "store_failed", NULL, "the ticket store refused the step; nothing "
                  "was changed");
    }
    freeReplyObject(rep);
}

/* GET /v1/public/tickets/ID?phone_last4=NNNN: a citizen checks their own order's progress.
 * Without the matching last four digits the order does not exist. */
static void api_public(api_t *api, httpd_req_t *req, const char *id)
{
    const config_t *cfg = svc_cfg(api->svc);
    const char *last4 = httpd_query(req, "phone_last4");
    rds_t *r = svc_rds(api->svc);
    redisReply *rep;

    if (last4 == NULL || strlen(last4) != 4 || strspn(last4, "0123456789") != 4) {
        api_error(req, 400, "invalid_value", "phone_last4",
                  "phone_last4 must be the last 4 digits of the caller's phone number");
        return;
    }
    if (!api_id_valid(id)) {
        api_error(req, 404, "not_found", NULL, "no such order for this phone number");
        return;
    }
    if (rds_ensure(r) != 0) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    const char *argv[] = {cfg->tier, id};
    if (rds_append_fcall(r, "ticket_get", 2, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    const char *phone = rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
                            ? api_field(rep->element[0], "phone")
                            : NULL;
    if (phone == NULL || strlen(phone) < 4 || strcmp(phone + strlen(phone) - 4, last4) != 0) {
        api_error(req, 404, "not_found", NULL, "no such order for this phone number");
    } else {
        const redisReply *h = rep->element[0];
        const unit_t *u = api_field(h, "unit") ? units_find(api->units, api_field(h, "unit"))
                                               : NULL;
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o}", "id", id, "status",
                              api_field(h, "status"), "created_at",
                              api_time(api_field(h, "created_at")), "unit_name",
                              u != NULL ? json_string(u->name) : json_null(), "reply_due",
                              api_time(api_field(h, "reply_due")));
        if (api_field(h, "reply_text") != NULL)
            json_object_set_new(o, "reply", json_string(api_field(h, "reply_text")));
        if (api_field(h, "merged_into") != NULL)
            json_object_set_new(o, "merged_into", json_string(api_field(h, "merged_into")));
        {
            /* the citizen's record shows how the unit's claims were ruled */
            json_t *claims = api_decode(api_field(h, "claims")), *cl, *shown = json_array();
            size_t i;
            json_array_foreach(claims, i, cl) json_array_append_new(
                shown, json_pack("{s:O,s:O,s:O}", "kind", json_object_get(cl, "kind"), "status",
                                 json_object_get(cl, "status"), "ruling",
                                 json_object_get(cl, "ruling") ? json_object_get(cl, "ruling")
                                                               : json_null()));
            json_decref(claims);
            json_object_set_new(o, "claims", shown);
        }
        api_json(req, 200, o, NULL);
    }
    freeReplyObject(rep);
}

/* GET /v1/callers/KEY/orders: one caller's whole history, oldest first (supervisors). */
static void api_caller(api_t *api, httpd_req_t *req, const char *ckey)
{
    rds_t *r = svc_rds(api->svc);
    const char *argv[] = {svc_cfg(api->svc)->tier, ckey};
    redisReply *rep;
    json_t *items;

    if (strlen(ckey) != 32 || strspn(ckey, "0123456789abcdef") != 32) {
        api_error(req, 400, "invalid_value", "caller", "a caller is named by the 32-character "
                  "key shown on each order as caller.key");
        return;
    }
    if (rds_ensure(r) != 0 || rds_append_fcall(r, "caller_orders", 2, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    items = json_array();
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        json_t *o = api_decode(rep->element[i + 1]->str);
        char ms[24];
        snprintf(ms, sizeof(ms), "%lld",
                 (long long)json_integer_value(json_object_get(o, "created_at")));
        json_object_set_new(o, "created_at", api_time(ms));
        json_object_set_new(o, "ticket", json_string(rep->element[i]->str));
        json_array_append_new(items, o);
    }
    freeReplyObject(rep);
    api_json(req, 200, json_pack("{s:s,s:I,s:o}", "caller", ckey, "count",
                                 (json_int_t)json_array_size(items), "orders", items),
             NULL);
}

/* /v1/deadletters[/STAGE/ID[/retry|/drop]]: messages that failed every delivery. */
static void api_deadletters(api_t *api, httpd_req_t *req, const config_token_t *tok,
                            const char *rest)
{
    const config_t *cfg = svc_cfg(api->svc);
    rds_t *r = svc_rds(api->svc);
    const char *method = httpd_method(req);
    char stage[16] = "", id[PROTO_ID_MAX + 1] = "", action[16] = "", now[24];
    redisReply *rep;

    if (*rest == '/')
        sscanf(rest, "/%15[a-z]/%96[^/]/%15s", stage, id, action);
    if (stage[0] != '\0' && strcmp(stage, "router") != 0 && strcmp(stage, "watcher") != 0 &&
        strcmp(stage, "notifier") != 0) {
        api_error(req, 404, "not_found", NULL, "stages are router, watcher and notifier");
        return;
    }
    if (rds_ensure(r) != 0) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    snprintf(now, sizeof(now), "%lld", (long long)svc_now(api->svc));
    if (id[0] == '\0' && strcmp(method, "GET") == 0) {
        const char *argv[] = {cfg->tier, httpd_query(req, "stage") ? httpd_query(req, "stage") : "",
                              "1000"};
        json_t *items = json_array();
        if (rds_append_fcall(r, "dl_list", 3, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
            json_decref(items);
            api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
            return;
        }
        for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 2 < rep->elements; i += 3) {
            json_t *e = api_decode(rep->element[i + 2]->str);
            if (!json_is_object(e)) {
                json_decref(e);
                e = json_object();
            }
            json_object_set_new(e, "stage", json_string(rep->element[i]->str));
            json_object_set_new(e, "id", json_string(rep->element[i + 1]->str));
            json_array_append_new(items, e);
        }
        freeReplyObject(rep);
        api_json(req, 200, json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(items),
                                     "items", items), NULL);
        return;
    }
    if (stage[0] == '\0' || id[0] == '\0') {
        api_error(req, 404, "not_found", NULL, "use /v1/deadletters, /v1/deadletters/STAGE/ID, "
                  "or POST /v1/deadletters/STAGE/ID/retry|drop");
        return;
    }
    if (action[0] == '\0' && strcmp(method, "GET") == 0) {
        const char *argv[] = {cfg->tier, stage, id};
        if (rds_append_fcall(r, "dl_get", 3, argv, NULL) != 0 || (rep = rds_read(r)) == NULL) {
            api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
            return;
        }
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
            api_error(req, 404, "not_found", NULL, "no dead letter %s in %s", id, stage);
        else
            api_json(req, 200, json_pack("{s:s,s:s,s:o,s:o}", "stage", stage, "id", id, "record",
                                         api_decode(rep->element[0]->str), "message",
                                         api_decode(rep->element[1]->str)), NULL);
        freeReplyObject(rep);
        return;
    }
    if (strcmp(method, "POST") != 0 ||
        (strcmp(action, "retry") != 0 && strcmp(action, "drop") != 0)) {
        api_error(req, 405, "method_not_allowed", NULL, "POST .../retry or .../drop");
        return;
    }
    const char *reason = "";
    json_t *body = NULL;
    if (strcmp(action, "drop") == 0) {
        size_t len;
        const char *text = httpd_body(req, &len);
        body = json_loadb(text, len, 0, NULL);
        reason = json_string_value(json_object_get(body, "reason"));
        if (reason == NULL || reason[0] == '\0' || strlen(reason) > 1000) {
            json_decref(body);
            api_error(req, 400, "missing_field", "reason", "dropping a dead letter needs a "
                      "reason (1 to 1000 bytes): it is kept in the audit log");
            return;
        }
    }
    const char *argv[] = {cfg->tier, stage, id, now, tok->name, reason};
    if (rds_append_fcall(r, strcmp(action, "retry") == 0 ? "dl_retry" : "dl_drop",
                         strcmp(action, "retry") == 0 ? 5 : 6, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        json_decref(body);
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    json_decref(body);
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
        log_msg(LOG_INFO, "deadletter.handled", "stage=%s id=%s action=%s actor=%s", stage, id,
                action, tok->name);
        api_json(req, 200, json_pack("{s:s,s:s,s:s}", "stage", stage, "id", id, "done",
                                     action), NULL);
    } else {
        api_error(req, 404, "not_found", NULL, "no dead letter %s in %s", id, stage);
    }
    freeReplyObject(rep);
}

/* GET /v1/overdue: every stage now overdue, grouped by unit, with escalations. */
static void api_overdue(api_t *api, httpd_req_t *req)
{
    rds_t *r = svc_rds(api->svc);
    const char *argv[] = {svc_cfg(api->svc)->tier};
    json_t *units = json_object(), *list = json_array();
    redisReply *rep;
    size_t n = 0, escalated = 0;

    if (rds_ensure(r) != 0 || rds_append_fcall(r, "overdue_list", 1, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        json_decref(units);
        json_decref(list);
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 5 < rep->elements; i += 6) {
        const char *unit = rep->element[i + 3]->str, *esc = rep->element[i + 4]->str;
        json_t *u = json_object_get(units, unit[0] ? unit : "(none)");
        json_t *item = json_pack("{s:s,s:s,s:o,s:s,s:o}", "ticket", rep->element[i]->str,
                                 "stage", rep->element[i + 1]->str, "due",
                                 api_time(rep->element[i + 2]->str), "status",
                                 rep->element[i + 5]->str, "escalated_at",
                                 esc[0] ? api_time(esc) : json_null());
        if (u == NULL) {
            u = json_pack("{s:i,s:i,s:[]}", "overdue", 0, "escalated", 0, "orders");
            json_object_set_new(units, unit[0] ? unit : "(none)", u);
        }
        json_object_set_new(u, "overdue",
                            json_integer(json_integer_value(json_object_get(u, "overdue")) + 1));
        if (esc[0]) {
            json_object_set_new(
                u, "escalated",
                json_integer(json_integer_value(json_object_get(u, "escalated")) + 1));
            escalated++;
        }
        json_array_append(json_object_get(u, "orders"), item);
        json_array_append_new(list, item);
        n++;
    }
    freeReplyObject(rep);
    json_decref(list);
    api_json(req, 200,
             json_pack("{s:I,s:I,s:o}", "overdue", (json_int_t)n, "escalated",
                       (json_int_t)escalated, "units", units),
             NULL);
}

/* GET /v1/routing/returns: orders returned as "not our responsibility", as routing examples. */
static void api_returns(api_t *api, httpd_req_t *req)
{
    rds_t *r = svc_rds(api->svc);
    const char *argv[] = {svc_cfg(api->svc)->tier};
    redisReply *rep;
    json_t *items;

    if (rds_ensure(r) != 0 || rds_append_fcall(r, "returns_list", 1, argv, NULL) != 0 ||
        (rep = rds_read(r)) == NULL) {
        api_error(req, 503, "unavailable", NULL, "the ticket store (Redis) is not reachable");
        return;
    }
    items = json_array();
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        json_t *e = api_decode(rep->element[i + 1]->str);
        if (!json_is_object(e)) {
            json_decref(e);
            continue;
        }
        json_object_set_new(e, "ticket", json_string(rep->element[i]->str));
        json_array_append_new(items, e);
    }
    freeReplyObject(rep);
    api_json(req, 200, json_pack("{s:o}", "items", items), NULL);
}

/* ------------------------------------------------------------------------------------------
 * Routing */

void api_on_http(svc_t *svc, httpd_req_t *req, void *arg)
{
    api_t *api = arg;
    const char *path = httpd_path(req), *method = httpd_method(req);
    const config_token_t *tok;
    static const config_role_t readers[] = {ROLE_OPERATOR, ROLE_DISPATCHER, ROLE_UNIT,
                                            ROLE_SUPERVISOR, ROLE_CALLBACK, ROLE_ADMIN,
                                            ROLE_NONE};

    if (api == NULL) {
        api_error(req, 503, "starting", NULL, "intake is starting; retry in a second");
        return;
    }
    if (strncmp(path, "/v1/", 4) != 0) {
        api_error(req, 404, "not_found", NULL, "no such endpoint: %.100s (the API is under /v1/)",
                  path);
        return;
    }
    if (strncmp(path, "/v1/public/tickets/", 19) == 0 && strchr(path + 19, '/') == NULL) {
        if (strcmp(method, "GET") != 0)
            api_error(req, 405, "method_not_allowed", NULL, "use GET");
        else
            api_public(api, req, path + 19);
        return;
    }
    if ((tok = api_auth(api, req)) == NULL)
        return;
    if (strncmp(path, "/v1/metrics", 11) == 0 || strcmp(path, "/v1/claims") == 0) {
        static const config_role_t who[] = {ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_DISPATCHER,
                                            ROLE_NONE};
        if (!api_allow(req, tok, who, "read scores and claims"))
            return;
        if (strcmp(path, "/v1/metrics") == 0)
            report_metrics(api->svc, api->units, req);
        else if (strcmp(path, "/v1/metrics/orders") == 0)
            report_orders(api->svc, req);
        else if (strcmp(path, "/v1/metrics/recompute") == 0)
            report_recompute(api->svc, req);
        else if (strcmp(path, "/v1/claims") == 0)
            report_claims(api->svc, req);
        else
            api_error(req, 404, "not_found", NULL, "no such endpoint: %.100s (metrics, "
                      "metrics/orders, metrics/recompute, claims)", path);
        return;
    }
    if (strncmp(path, "/v1/deadletters", 15) == 0 &&
        (path[15] == '\0' || path[15] == '/')) {
        static const config_role_t who[] = {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_NONE};
        if (api_allow(req, tok, who, "handle dead letters"))
            api_deadletters(api, req, tok, path + 15);
        return;
    }
    if (strncmp(path, "/v1/callers/", 12) == 0) {
        static const config_role_t who[] = {ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_NONE};
        const char *slash = strchr(path + 12, '/');
        char ckey[40];
        if (slash == NULL || strcmp(slash, "/orders") != 0 ||
            (size_t)(slash - path - 12) >= sizeof(ckey)) {
            api_error(req, 404, "not_found", NULL, "use /v1/callers/KEY/orders");
            return;
        }
        snprintf(ckey, sizeof(ckey), "%.*s", (int)(slash - path - 12), path + 12);
        if (api_allow(req, tok, who, "read a caller's history"))
            api_caller(api, req, ckey);
        return;
    }
    if (strcmp(path, "/v1/overdue") == 0) {
        static const config_role_t who[] = {ROLE_SUPERVISOR, ROLE_DISPATCHER, ROLE_ADMIN,
                                            ROLE_NONE};
        if (api_allow(req, tok, who, "read the overdue board"))
            api_overdue(api, req);
        return;
    }
    if (strcmp(path, "/v1/routing/returns") == 0) {
        static const config_role_t who[] = {ROLE_DISPATCHER, ROLE_SUPERVISOR, ROLE_ADMIN,
                                            ROLE_NONE};
        if (api_allow(req, tok, who, "read routing examples"))
            api_returns(api, req);
        return;
    }
    if (strcmp(path, "/v1/tickets") == 0) {
        if (strcmp(method, "POST") == 0)
            api_create(api, req, tok);
        else if (strcmp(method, "GET") == 0 && api_allow(req, tok, readers, "list tickets"))
            api_list(api, req, tok);
        else if (strcmp(method, "POST") != 0 && strcmp(method, "GET") != 0)
            api_error(req, 405, "method_not_allowed", NULL, "use GET or POST on /v1/tickets");
        return;
    }
    if (strncmp(path, "/v1/tickets/", 12) == 0 && strchr(path + 12, '/') == NULL) {
        if (strcmp(method, "GET") != 0)
            api_error(req, 405, "method_not_allowed", NULL, "use GET on /v1/tickets/<id>");
        else if (api_allow(req, tok, readers, "read tickets"))
            api_get(api, req, tok, path + 12);
        return;
    }
    if (strncmp(path, "/v1/tickets/", 12) == 0) {
        char id[48];
        const char *slash = strchr(path + 12, '/');
        size_t n = (size_t)(slash - (path + 12));
        if (n < sizeof(id) && strchr(slash + 1, '/') == NULL && steps_known(slash + 1)) {
            memcpy(id, path + 12, n);
            id[n] = '\0';
            if (strcmp(method, "POST") != 0)
                api_error(req, 405, "method_not_allowed", NULL, "steps are POSTed");
            else
                api_step(api, req, tok, id, slash + 1);
            return;
        }
    }
    api_error(req, 404, "not_found", NULL, "no such endpoint: %s %.100s (steps: ack, return, "
              "review-return, subdispatch, extend, decide-extension, reply, rate, close, merge, "
              "reject, resolve, dispatch)", method, path);
}

api_t *api_new(svc_t *svc, const units_t *units)
{
    api_t *api = calloc(1, sizeof(*api));
    metrics_t *m = svc_metrics(svc);

    if (api == NULL)
        return NULL;
    api->svc = svc;
    api->units = units;
    api->m_created = metrics_add(m, METRIC_COUNTER, "rexian_tickets_total{result=\"created\"}",
                                 "Create requests by result");
    api->m_replayed = metrics_add(m, METRIC_COUNTER, "rexian_tickets_total{result=\"replayed\"}",
                                  "Create requests by result");
    api->m_rejected = metrics_add(m, METRIC_COUNTER, "rexian_tickets_total{result=\"rejected\"}",
                                  "Create requests by result");
    api->m_unavailable = metrics_add(m, METRIC_COUNTER,
                                     "rexian_tickets_total{result=\"unavailable\"}",
                                     "Create requests by result");
    api->m_batch = metrics_add(m, METRIC_HISTOGRAM, "rexian_intake_batch_size",
                               "Creates written per Redis round trip (count, not ms)");
    return api;
}

void api_destroy(api_t **api)
{
    if (api == NULL || *api == NULL)
        return;
    for (int i = 0; i < (*api)->n_pending; i++)
        free((*api)->pending[i].fields);
    free(*api);
    *api = NULL;
}
