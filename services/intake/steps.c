/* steps.c -- checking the bodies of lifecycle steps (see steps.h) */
#include "steps.h"

#include "cal.h"

#include <stdio.h>
#include <string.h>

typedef struct steps_field_t {
    const char *name; /* JSON key */
    char kind;        /* 's' string, 'u' unit code, 'U' list of unit codes, 't' time, 'e' enum,
                         'r' reject reason, 'R' return reason, 'C' claim reason, 'v' evidence
                         list, 'i' ticket id, 'b' boolean, 'n' whole number 1..max */
    int required;     /* 1: must be present */
    size_t max;       /* string bytes, or list items */
    const char *enums; /* for 'e': allowed values separated by '|' */
} steps_field_t;

typedef struct steps_spec_t {
    const char *step;             /* step name in the URL */
    steps_field_t fields[7];      /* its body fields (besides rev) */
} steps_spec_t;

static const steps_spec_t steps_specs[] = {
    /* POST /v1/tickets: a new order (not a step on an existing one) */
    {"create", {{"channel", 'e', 1, 0, "phone|wechat|web|app|open311|email|sms|city"},
                {"caller", 'c', 1, 0, NULL}, {"text", 's', 1, STEPS_REPLY_MAX, NULL},
                {"address", 's', 0, 400, NULL},
                {"category", 'e', 0, 0, "consult|help|complaint|report|suggestion"},
                {"township", 'T', 0, 0, NULL}, {"idempotency_key", 'k', 0, 128, NULL}}},
    {"resolve", {{"answer", 's', 1, 2000, NULL}}},
    {"reject", {{"reason", 'r', 1, 0, NULL}, {"note", 's', 0, STEPS_NOTE_MAX, NULL}}},
    {"dispatch", {{"unit", 'u', 1, 0, NULL}, {"co_units", 'U', 0, 4, NULL},
                  {"urgency", 'e', 0, 0, "emergency|urgent|normal"},
                  {"note", 's', 0, STEPS_NOTE_MAX, NULL}, {"same_unit", 'b', 0, 0, NULL}}},
    {"ack", {{NULL, 0, 0, 0, NULL}}},
    {"return", {{"reason", 'R', 1, 0, NULL}, {"note", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"review-return", {{"decision", 'e', 1, 0, "redispatch|reject"}, {"unit", 'u', 0, 0, NULL},
                       {"co_units", 'U', 0, 4, NULL}, {"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"subdispatch", {{"unit", 'u', 1, 0, NULL}, {"due", 't', 1, 0, NULL},
                     {"note", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"extend", {{"until", 't', 1, 0, NULL}, {"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"decide-extension", {{"decision", 'e', 1, 0, "approve|refuse"},
                          {"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"reply", {{"text", 's', 1, STEPS_REPLY_MAX, NULL},
               {"evidence", 'v', 0, STEPS_EVIDENCE_MAX, NULL}}},
    {"rate", {{"rating", 'e', 1, 0, "satisfied|basically_satisfied|unsatisfied|unreachable"},
              {"words", 's', 0, STEPS_NOTE_MAX, NULL}}},
    {"close", {{"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"merge", {{"into", 'i', 1, 40, NULL}, {"note", 's', 0, STEPS_NOTE_MAX, NULL}}},
    {"pause", {{"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"explain", {{"text", 's', 1, STEPS_REPLY_MAX, NULL},
                 {"evidence", 'v', 0, STEPS_EVIDENCE_MAX, NULL}}},
    {"claim", {{"kind", 'e', 1, 0, "unreasonable|rating"}, {"reason", 'C', 1, 0, NULL},
               {"text", 's', 1, STEPS_REPLY_MAX, NULL},
               {"evidence", 'v', 0, STEPS_EVIDENCE_MAX, NULL}}},
    {"rule", {{"claim", 'n', 1, 10, NULL}, {"decision", 'e', 1, 0, "accept|reject"},
              {"reason", 's', 1, STEPS_NOTE_MAX, NULL}}},
    {"resume", {{"note", 's', 0, STEPS_NOTE_MAX, NULL}}},
};

static const steps_spec_t *steps_find(const char *step)
{
    for (size_t i = 0; i < sizeof(steps_specs) / sizeof(steps_specs[0]); i++)
        if (strcmp(steps_specs[i].step, step) == 0)
            return &steps_specs[i];
    return NULL;
}

int steps_known(const char *name)
{
    return strcmp(name, "create") != 0 && steps_find(name) != NULL;
}

typedef struct steps_err_t {
    int *status;   /* HTTP status */
    char *code;    /* error code, 32 bytes */
    char *field;   /* field, 64 bytes */
    char *msg;     /* message */
    size_t msgcap; /* its size */
} steps_err_t;

static json_t *steps_fail(const steps_err_t *e, int status, const char *code, const char *field,
                          const char *fmt, const char *a, const char *b)
{
    *e->status = status;
    snprintf(e->code, 32, "%s", code);
    snprintf(e->field, 64, "%s", field != NULL ? field : "");
    snprintf(e->msg, e->msgcap, fmt, a != NULL ? a : "", b != NULL ? b : "");
    return NULL;
}

static int steps_enum_ok(const char *enums, const char *v)
{
    size_t n = strlen(v);
    const char *p = enums;

    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p = bar != NULL ? bar + 1 : NULL;
    }
    return 0;
}

static void steps_list(const char (*list)[CONFIG_REASON_MAX], int n, char *buf, size_t cap)
{
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", list[i]);
}

/* One string value: type, NULs, length, not blank when required. */
static const char *steps_string(json_t *v, const steps_field_t *f, const steps_err_t *e)
{
    const char *s;
    char max[24];

    if (!json_is_string(v)) {
        steps_fail(e, 400, "wrong_type", f->name, "%s must be a string%s", f->name, "");
        return NULL;
    }
    s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        steps_fail(e, 400, "invalid_value", f->name, "%s must not contain NUL characters%s",
                   f->name, "");
        return NULL;
    }
    snprintf(max, sizeof(max), "%zu", f->max);
    if (f->max > 0 && f->kind == 's' && json_string_length(v) > f->max) {
        steps_fail(e, 400, "too_long", f->name, "%s is longer than %s bytes", f->name, max);
        return NULL;
    }
    if (f->required && strspn(s, " \t\r\n") == strlen(s)) {
        steps_fail(e, 400, "empty_field", f->name, "%s must not be empty%s", f->name, "");
        return NULL;
    }
    return s;
}

static json_t *steps_evidence(json_t *v, const steps_field_t *f, const steps_err_t *e)
{
    static const char *keys[] = {"name", "hash", "url"};
    static const size_t limits[] = {200, 128, 512};
    json_t *out = json_array(), *item;
    size_t i;

    if (!json_is_array(v) || json_array_size(v) > f->max) {
        json_decref(out);
        return steps_fail(e, 400, "invalid_value", "evidence",
                          "evidence must be a list of at most 10 {name, hash, url} objects%s%s",
                          NULL, NULL);
    }
    json_array_foreach(v, i, item) {
        json_t *o = json_object();
        const char *k;
        json_t *val;
        if (!json_is_object(item)) {
            json_decref(o);
            json_decref(out);
            return steps_fail(e, 400, "wrong_type", "evidence",
                              "each evidence item is an object {name, hash, url}%s%s", NULL, NULL);
        }
        json_object_foreach(item, k, val) {
            int j;
            for (j = 0; j < 3; j++)
                if (strcmp(k, keys[j]) == 0)
                    break;
            if (j == 3 || !json_is_string(val) || json_string_length(val) > limits[j]) {
                json_decref(o);
                json_decref(out);
                return steps_fail(e, 400, "invalid_value", "evidence",
                                  j == 3 ? "evidence items hold name, hash and url; '%s' is not "
                                           "one of them%s"
                                         : "evidence %s must be a string of at most %s bytes",
                                  k, j == 3 ? NULL : (j == 0 ? "200" : j == 1 ? "128" : "512"));
            }
            json_object_set(o, k, val);
        }
        if (json_object_size(o) == 0) {
            json_decref(o);
            json_decref(out);
            return steps_fail(e, 400, "invalid_value", "evidence",
                              "an evidence item needs a name, hash or url%s%s", NULL, NULL);
        }
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *steps_units(json_t *v, const steps_field_t *f, const units_t *units,
                           const steps_err_t *e)
{
    json_t *out = json_array(), *item;
    size_t i, j;

    if (!json_is_array(v) || json_array_size(v) > f->max) {
        json_decref(out);
        return steps_fail(e, 400, "invalid_value", f->name,
                          "%s must be a list of at most 4 unit codes%s", f->name, NULL);
    }
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || units_find(units, json_string_value(item)) == NULL) {
            json_decref(out);
            return steps_fail(e, 400, "invalid_value", f->name,
                              "%s: '%s' is not a unit of this tier", f->name,
                              json_is_string(item) ? json_string_value(item) : "(not a string)");
        }
        for (j = 0; j < i; j++) {
            if (json_equal(json_array_get(v, j), item)) {
                json_decref(out);
                return steps_fail(e, 400, "invalid_value", f->name, "%s lists %s twice",
                                  f->name, json_string_value(item));
            }
        }
        json_array_append(out, item);
    }
    return out;
}

/* caller: {"phone": 5..20 digits with an optional leading +, "name": optional}. */
static json_t *steps_caller(json_t *v, const steps_err_t *e)
{
    const char *key, *phone, *name = "";
    json_t *val;

    if (!json_is_object(v))
        return steps_fail(e, 400, "wrong_type", "caller", "caller must be an object with the "
                          "caller's phone, e.g. {\"phone\":\"13800000001\"}%s%s", NULL, NULL);
    json_object_foreach(v, key, val) {
        if (strcmp(key, "phone") != 0 && strcmp(key, "name") != 0)
            return steps_fail(e, 400, "unknown_field", "caller", "caller.%s is not a known field "
                              "(known: phone, name)%s", key, NULL);
    }
    val = json_object_get(v, "phone");
    if (val == NULL)
        return steps_fail(e, 400, "missing_field", "caller.phone", "caller.phone is required%s%s",
                          NULL, NULL);
    if (!json_is_string(val))
        return steps_fail(e, 400, "wrong_type", "caller.phone", "caller.phone must be a "
                          "string%s%s", NULL, NULL);
    phone = json_string_value(val);
    if (json_string_length(val) < 5 || json_string_length(val) > 20 ||
        strlen(phone) != json_string_length(val) ||
        strspn(phone + (phone[0] == '+'), "0123456789") != strlen(phone) - (phone[0] == '+'))
        return steps_fail(e, 400, "invalid_value", "caller.phone", "caller.phone must be 5 to 20 "
                          "digits (an optional leading +)%s%s", NULL, NULL);
    val = json_object_get(v, "name");
    if (val != NULL && !json_is_null(val)) {
        if (!json_is_string(val) || json_string_length(val) > 64 ||
            strlen(json_string_value(val)) != json_string_length(val))
            return steps_fail(e, 400, "invalid_value", "caller.name", "caller.name must be a "
                              "string of at most 64 bytes%s%s", NULL, NULL);
        name = json_string_value(val);
    }
    return json_pack("{s:s,s:s}", "phone", phone, "name", name);
}

json_t *steps_check(const char *step, const char *body, size_t len, const config_t *cfg,
                    const units_t *units, int64_t now_ms, int *ret_status, char *code,
                    char *field, char *msg, size_t msgcap)
{
    const steps_err_t e = {ret_status, code, field, msg, msgcap};
    const steps_spec_t *spec = steps_find(step);
    json_error_t jerr;
    json_t *in, *out = NULL;
    const char *key;
    json_t *v;
    char list[600];

    if (spec == NULL)
        return steps_fail(&e, 404, "unknown_step", NULL, "no step '%s'%s", step, NULL);
    if (len == 0) {
        in = json_object();
    } else if ((in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        snprintf(list, sizeof(list), "%s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return steps_fail(&e, 400, "invalid_json", NULL, "the body is not valid JSON: %s%s",
                          list, NULL);
    }
    if (!json_is_object(in)) {
        steps_fail(&e, 400, "invalid_json", NULL, "the body must be a JSON object%s%s", NULL,
                   NULL);
        goto out;
    }
    /* every key must be one of the step's fields, or rev */
    json_object_foreach(in, key, v) {
        int known = strcmp(key, "rev") == 0;
        for (int i = 0; i < 7 && spec->fields[i].name != NULL && !known; i++)
            known = strcmp(spec->fields[i].name, key) == 0;
        if (!known) {
            size_t o = (size_t)snprintf(list, sizeof(list), "rev");
            for (int i = 0; i < 7 && spec->fields[i].name != NULL; i++)
                o += (size_t)snprintf(list + o, sizeof(list) - o, ", %s", spec->fields[i].name);
            steps_fail(&e, 400, "unknown_field", key, "%s is not a field of this step "
                       "(known: %s)", key, list);
            goto out;
        }
    }
    out = json_object();
    v = json_object_get(in, "rev");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1) {
            steps_fail(&e, 400, "wrong_type", "rev", "rev must be the order's revision, a "
                       "positive whole number%s%s", NULL, NULL);
            goto fail;
        }
        json_object_set(out, "rev", v);
    }
    for (int i = 0; i < 7 && spec->fields[i].name != NULL; i++) {
        const steps_field_t *f = &spec->fields[i];
        const char *s;
        int64_t ms;
        json_t *val;

        v = json_object_get(in, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required) {
                steps_fail(&e, 400, "missing_field", f->name, "%s is required for %s", f->name,
                           step);
                goto fail;
            }
            continue;
        }
        switch (f->kind) {
        case 'b':
            if (!json_is_boolean(v)) {
                steps_fail(&e, 400, "wrong_type", f->name, "%s must be true or false%s",
                           f->name, NULL);
                goto fail;
            }
            json_object_set(out, f->name, v);
            continue;
        case 'U':
            if ((val = steps_units(v, f, units, &e)) == NULL)
                goto fail;
            json_object_set_new(out, f->name, val);
            continue;
        case 'v':
            if ((val = steps_evidence(v, f, &e)) == NULL)
                goto fail;
            json_object_set_new(out, f->name, val);
            continue;
        case 'c':
            if ((val = steps_caller(v, &e)) == NULL)
                goto fail;
            json_object_update_new(out, val);
            continue;
        case 'n':
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > (json_int_t)f->max) {
                char max[16];
                snprintf(max, sizeof(max), "%zu", f->max);
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be a whole number from 1 "
                           "to %s", f->name, max);
                goto fail;
            }
            json_object_set(out, f->name, v);
            continue;
        default:
            break;
        }
        if ((s = steps_string(v, f, &e)) == NULL)
            goto fail;
        switch (f->kind) {
        case 'u':
            if (units_find(units, s) == NULL) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s: '%.64s' is not a unit of "
                           "this tier", f->name, s);
                goto fail;
            }
            break;
        case 'e':
            if (!steps_enum_ok(f->enums, s)) {
                snprintf(list, sizeof(list), "%s", f->enums);
                for (char *p = list; *p; p++)
                    if (*p == '|')
                        *p = ',';
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be one of: %s", f->name,
                           list);
                goto fail;
            }
            break;
        case 'r':
        case 'R':
        case 'C': {
            const char(*reasons)[CONFIG_REASON_MAX] = f->kind == 'r'   ? cfg->reject_reasons
                                                      : f->kind == 'R' ? cfg->return_reasons
                                                                       : cfg->claim_reasons;
            int n_reasons = f->kind == 'r'   ? cfg->n_reject_reasons
                            : f->kind == 'R' ? cfg->n_return_reasons
                                             : cfg->n_claim_reasons;
            if (!config_reason_ok(reasons, n_reasons, s)) {
                steps_list(reasons, n_reasons, list, sizeof(list));
                steps_fail(&e, 400, "invalid_value", f->name,
                           "reason must be one of the configured reasons: %s%s", list, NULL);
                goto fail;
            }
            break;
        }
        case 't':
            if (cal_parse_time(s, &ms) != 0) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be a time like "
                           "2026-12-01T17:30 (Beijing time) or with an offset%s", f->name, NULL);
                goto fail;
            }
            if (ms <= now_ms) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be in the future%s",
                           f->name, NULL);
                goto fail;
            }
            json_object_set_new(out, f->name, json_integer(ms));
            continue;
        case 'T': {
            const unit_t *u = units_find(units, s);
            if (u == NULL || !unit_is_township(u)) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s '%.64s' is not the code of a "
                           "township in this tier's units", f->name, s);
                goto fail;
            }
            break;
        }
        case 'k':
            if (s[0] == '\0' || strlen(s) > f->max || strspn(s, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMN"
                                                "OPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~")
                                          != strlen(s)) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be 1 to 128 printable "
                           "ASCII characters without spaces%s", f->name, NULL);
                goto fail;
            }
            break;
        case 'i':
            if (strlen(s) > f->max || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
                                          strlen(s)) {
                steps_fail(&e, 400, "invalid_value", f->name, "%s must be a ticket id like "
                           "BX-20261125-000123%s", f->name, NULL);
                goto fail;
            }
            break;
        default:
            break;
        }
        json_object_set_new(out, f->name, json_string(s));
    }
    if (strcmp(step, "review-return") == 0 &&
        strcmp(json_string_value(json_object_get(out, "decision")), "redispatch") == 0 &&
        json_object_get(out, "unit") == NULL) {
        steps_fail(&e, 400, "missing_field", "unit", "unit is required to redispatch%s%s", NULL,
                   NULL);
        goto fail;
    }
    goto out;
fail:
    json_decref(out);
    out = NULL;
out:
    json_decref(in);
    return out;
}
