/* catalogue.c -- the dispatch catalogue: load the rules, route a request (see catalogue.h) */
#include "catalogue.h"

#include "conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_NAME_MAX 47     /* bytes in a rule or category name */
#define CAT_SECTION_MAX 127 /* bytes in a section name as written */
#define CAT_MAX_SECTIONS 2048
#define CAT_MAX_OCC 4096       /* phrase occurrences looked at in one request */
#define CAT_DEFAULT_WEIGHT 3   /* weight of a phrase written without ":N" */
#define CAT_MAX_CAT_UNITS 16   /* units named by one [category] */
#define CAT_INI_SECTION_MAX 49 /* libinih keeps this many bytes of a section name */
#define CAT_BUF_MAX (CAT_MAX_ADDRESS + CAT_MAX_TEXT + 2)

/* ---------------------------------------------------------------- types */

typedef enum cat_kind_t {
    CAT_K_ROUTE,    /* adds weight to a unit (target: unit index, n_units for local) */
    CAT_K_MASK,     /* hides shorter phrases inside it */
    CAT_K_HYPO,     /* makes a following danger phrase hypothetical */
    CAT_K_PLACE,    /* names a place in a township (target: unit index) */
    CAT_K_URG_ANY,  /* an urgency rule's main phrase (target: rule index) */
    CAT_K_URG_WITH, /* an urgency rule's required context (target: rule index) */
    CAT_K_CO_WHEN,  /* a co-handling rule's trigger (target: rule index) */
    CAT_K_AND,      /* the second phrase of "a&b": needed for the first to count */
} cat_kind_t;

typedef struct cat_entry_t {
    char phrase[CAT_PHRASE_MAX + 1]; /* normalised phrase */
    unsigned char len;               /* its length in bytes, >= 2 */
    unsigned char kind;              /* cat_kind_t */
    short weight;                    /* signed weight for CAT_K_ROUTE */
    int target;                      /* unit or rule index, by kind */
    int id;                          /* order of creation (stable across the sort) */
    int partner;                     /* "a&b": the other phrase's index (id while loading), or -1 */
} cat_entry_t;

typedef enum cat_section_type_t {
    CAT_S_SETTINGS,
    CAT_S_MASK,
    CAT_S_LOCAL,
    CAT_S_ROUTE,
    CAT_S_PLACES,
    CAT_S_CATEGORY,
    CAT_S_COHANDLE,
    CAT_S_URGENCY,
} cat_section_type_t;

typedef struct cat_section_t {
    char name[CAT_SECTION_MAX + 1]; /* as written between the brackets */
    int type;                       /* cat_section_type_t */
    int target;                     /* unit, category or rule index, by type */
    int line;                       /* line of the header */
    unsigned keys;                  /* bit per single-valued key already given */
} cat_section_t;

typedef struct cat_rule_t {
    char name[CAT_NAME_MAX + 1]; /* from the section header */
    int is_urgency;              /* 1: [urgency], 0: [cohandle] */
    cat_urgency_t level;         /* [urgency]: level when it fires */
    int has_any;                 /* [urgency]: any given; [cohandle]: when given */
    int has_with;                /* [urgency]: with given (then required) */
    int lead;                    /* [cohandle]: unit index, n_units = local, -1 = any, -2 unset */
    int co[CAT_MAX_CO];          /* [cohandle]: co-handling unit indexes */
    int n_co;                    /* entries used in co */
} cat_rule_t;

typedef struct cat_category_t {
    char name[CAT_NAME_MAX + 1];   /* category code as intake sends it */
    int unit[CAT_MAX_CAT_UNITS];   /* unit index, n_units = local */
    int weight[CAT_MAX_CAT_UNITS]; /* weight added to that unit */
    int n;                         /* entries used */
} cat_category_t;

struct cat_t {
    const units_t *units;     /* borrowed register */
    int n_units;              /* units_count(units) */
    cat_entry_t *entries;     /* all phrases, sorted by their first two bytes */
    size_t n_entries;         /* entries used */
    size_t cap_entries;       /* entries allocated */
    uint32_t *bucket;         /* 65537 offsets into entries by first two bytes */
    cat_rule_t *rules;        /* urgency and co-handling rules */
    int n_rules;              /* rules used */
    cat_category_t *cats;     /* category hints */
    int n_cats;               /* categories used */
    unsigned char *area;      /* n_units x n_units: area[u * n + t] = u serves township t */
    unsigned char *has_area;  /* per unit: 1 when it declared an area */
    int min_score;            /* least score for an automatic dispatch */
    int min_margin;           /* least lead over the runner-up */
    int township_margin;      /* handicap of townships against departments */
    int outside_area_percent; /* score kept by a unit outside its area */
    int hypo_window;          /* characters before a danger phrase searched for HYPO */
};

typedef struct cat_load_ctx_t {
    cat_t *cat;                         /* catalogue being filled */
    const char *path;                   /* file, for messages */
    cat_section_t *sections;            /* headers found by the scan */
    int n_sections;                     /* entries used */
    int cur;                            /* section of the last key, or -1 */
    char cur_name[CAT_SECTION_MAX + 1]; /* that section's name as the parser gave it */
    char *err;                          /* the handler's message buffer for item callbacks */
    size_t errcap;                      /* its size */
    int item_kind;                      /* item callbacks: cat_kind_t being added */
    int item_target;                    /* item callbacks: its target */
    int item_sign;                      /* item callbacks: +1 for kw, -1 for not, 0: no weight */
    cat_section_t *item_sec;            /* item callbacks: section being read */
} cat_load_ctx_t;

/* ---------------------------------------------------------------- text */

/* Copies at most cap-1 bytes of s into dst, ASCII lower-cased and full-width ASCII folded to
 * ASCII, never cutting a character. Returns the bytes written. */
static size_t cat_normalise(const char *s, char *dst, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    if (s == NULL || cap == 0)
        return 0;
    while (*p != '\0') {
        size_t clen = 1;
        unsigned char c = *p;

        if (c >= 0xF0)
            clen = 4;
        else if (c >= 0xE0)
            clen = 3;
        else if (c >= 0xC0)
            clen = 2;
        for (size_t i = 1; i < clen; i++) {
            if (p[i] == '\0') { /* truncated sequence at the end: stop */
                dst[n] = '\0';
                return n;
            }
        }
        if (clen == 3 && c == 0xEF && (p[1] == 0xBC || p[1] == 0xBD)) {
            unsigned cp = ((unsigned)(c & 0x0F) << 12) | ((unsigned)(p[1] & 0x3F) << 6) |
                          (unsigned)(p[2] & 0x3F);
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                if (n + 1 >= cap)
                    break;
                c = (unsigned char)(cp - 0xFF01 + 0x21);
                dst[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
                p += 3;
                continue;
            }
        }
        if (clen == 3 && c == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { /* ideographic space */
            if (n + 1 >= cap)
                break;
            dst[n++] = ' ';
            p += 3;
            continue;
        }
        if (n + clen >= cap)
            break;
        if (clen == 1 && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        dst[n++] = (char)c;
        for (size_t i = 1; i < clen; i++)
            dst[n++] = (char)p[i];
        p += clen;
    }
    dst[n] = '\0';
    return n;
}

/* Punctuation that ends a clause: a hypothetical word does not reach past it. */
static int cat_clause_break(const char *s, size_t pos, size_t *ret_len)
{
    static const char *const marks[] = {"。", "！", "？", "；", "…", "\n", ",", ".", "!", "?", ";"};

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        size_t l = strlen(marks[i]);
        if (strncmp(s + pos, marks[i], l) == 0) {
            *ret_len = l;
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- loading */

static int cat_name_valid(const char *s, size_t max)
{
    size_t len = strlen(s);

    if (len == 0 || len > max)
        return 0;
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    }
    return 1;
}

/* Unit index of code, n_units for "local" when allow_local, or -1. */
static int cat_unit_ref(const cat_t *cat, const char *code, int allow_local)
{
    if (allow_local && strcmp(code, "local") == 0)
        return cat->n_units;
    return units_index(cat->units, code);
}

static int cat_add_entry(cat_t *cat, const char *phrase, int kind, int weight, int target,
                         int partner, char *err, size_t errcap)
{
    cat_entry_t *e;
    char norm[CAT_PHRASE_MAX + 2];
    size_t len;

    if (strlen(phrase) > CAT_PHRASE_MAX) {
        snprintf(err, errcap, "phrase '%.60s...' longer than %d bytes", phrase, CAT_PHRASE_MAX);
        return -1;
    }
    len = cat_normalise(phrase, norm, sizeof(norm));
    if (len < 2) {
        snprintf(err, errcap, "phrase '%s' too short: at least 2 bytes", phrase);
        return -1;
    }
    if (cat->n_entries >= CAT_MAX_ENTRIES) {
        snprintf(err, errcap, "more than %d phrases", CAT_MAX_ENTRIES);
        return -1;
    }
    if (cat->n_entries == cat->cap_entries) {
        size_t ncap = cat->cap_entries == 0 ? 256 : cat->cap_entries * 2;
        cat_entry_t *v = realloc(cat->entries, ncap * sizeof(*v));
        if (v == NULL) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        cat->entries = v;
        cat->cap_entries = ncap;
    }
    e = &cat->entries[cat->n_entries++];
    memcpy(e->phrase, norm, len + 1);
    e->len = (unsigned char)len;
    e->kind = (unsigned char)kind;
    e->weight = (short)weight;
    e->target = target;
    e->id = (int)(cat->n_entries - 1);
    e->partner = partner;
    return 0;
}

/* One item of a phrase list: "phrase" or "phrase:weight". */
static int cat_item_phrase(void *user, const char *item)
{
    cat_load_ctx_t *ctx = user;
    char phrase[CAT_PHRASE_MAX + 2];
    const char *colon = strrchr(item, ':');
    int64_t weight = CAT_DEFAULT_WEIGHT;
    size_t len = strlen(item);
    char *amp;

    if (colon != NULL) {
        if (ctx->item_sign == 0) {
            snprintf(ctx->err, ctx->errcap, "'%.60s': this key takes phrases without weights",
                     item);
            return -1;
        }
        if (conf_parse_int(colon + 1, 1, CAT_WEIGHT_MAX, &weight) < 0) {
            snprintf(ctx->err, ctx->errcap, "'%.60s': weight must be a number 1..%d", item,
                     CAT_WEIGHT_MAX);
            return -1;
        }
        len = (size_t)(colon - item);
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            len--;
    }
    if (len > CAT_PHRASE_MAX) {
        snprintf(ctx->err, ctx->errcap, "phrase '%.60s...' longer than %d bytes", item,
                 CAT_PHRASE_MAX);
        return -1;
    }
    memcpy(phrase, item, len);
    phrase[len] = '\0';
    amp = strchr(phrase, '&');
    if (amp != NULL) {
        /* "a&b": a counts only when b is found too (anywhere in the request). */
        int id = (int)ctx->cat->n_entries;

        if (ctx->item_kind != CAT_K_ROUTE || strchr(amp + 1, '&') != NULL) {
            snprintf(ctx->err, ctx->errcap, "'%.60s': a&b is allowed once, in kw and not", item);
            return -1;
        }
        *amp = '\0';
        if (cat_add_entry(ctx->cat, phrase, CAT_K_ROUTE,
                          ctx->item_sign < 0 ? -(int)weight : (int)weight, ctx->item_target, id + 1,
                          ctx->err, ctx->errcap) < 0)
            return -1;
        return cat_add_entry(ctx->cat, amp + 1, CAT_K_AND, 0, ctx->item_target, id, ctx->err,
                             ctx->errcap);
    }
    return cat_add_entry(ctx->cat, phrase, ctx->item_kind,
                         ctx->item_sign < 0 ? -(int)weight : (int)weight, ctx->item_target, -1,
                         ctx->err, ctx->errcap);
}

static int cat_phrases(cat_load_ctx_t *ctx, const char *value, int kind, int target, int sign)
{
    int rc;

    ctx->item_kind = kind;
    ctx->item_target = target;
    ctx->item_sign = sign;
    ctx->err[0] = '\0';
    rc = conf_each_item(value, cat_item_phrase, ctx);
    if (rc == -1 && ctx->err[0] == '\0')
        snprintf(ctx->err, ctx->errcap, "a list item is longer than 255 bytes");
    return rc == 0 ? 0 : -1;
}

/* One township code of an area list. */
static int cat_item_area(void *user, const char *item)
{
    cat_load_ctx_t *ctx = user;
    cat_t *cat = ctx->cat;
    int t = units_index(cat->units, item);

    if (t < 0) {
        snprintf(ctx->err, ctx->errcap, "unknown unit '%.63s'", item);
        return -1;
    }
    if (!unit_is_township(units_at(cat->units, (size_t)t))) {
        snprintf(ctx->err, ctx->errcap, "unit '%s' in an area is not a township", item);
        return -1;
    }
    cat->area[(size_t)ctx->item_target * (size_t)cat->n_units + (size_t)t] = 1;
    cat->has_area[ctx->item_target] = 1;
    return 0;
}

/* One "CODE[:weight]" of a [category] units list. */
static int cat_item_category_unit(void *user, const char *item)
{
    cat_load_ctx_t *ctx = user;
    cat_category_t *c = &ctx->cat->cats[ctx->item_target];
    char code[UNIT_CODE_MAX + 2];
    const char *colon = strchr(item, ':');
    int64_t weight = CAT_DEFAULT_WEIGHT;
    size_t len = colon != NULL ? (size_t)(colon - item) : strlen(item);
    int u;

    if (colon != NULL && conf_parse_int(colon + 1, 1, CAT_WEIGHT_MAX, &weight) < 0) {
        snprintf(ctx->err, ctx->errcap, "'%.60s': weight must be a number 1..%d", item,
                 CAT_WEIGHT_MAX);
        return -1;
    }
    if (len > UNIT_CODE_MAX)
        len = UNIT_CODE_MAX + 1;
    memcpy(code, item, len);
    code[len] = '\0';
    u = cat_unit_ref(ctx->cat, code, 1);
    if (u < 0) {
        snprintf(ctx->err, ctx->errcap, "unknown unit '%.63s'", code);
        return -1;
    }
    if (c->n >= CAT_MAX_CAT_UNITS) {
        snprintf(ctx->err, ctx->errcap, "more than %d units in one category", CAT_MAX_CAT_UNITS);
        return -1;
    }
    c->unit[c->n] = u;
    c->weight[c->n] = (int)weight;
    c->n++;
    return 0;
}

/* One unit code of a [cohandle] co list. */
static int cat_item_co(void *user, const char *item)
{
    cat_load_ctx_t *ctx = user;
    cat_rule_t *r = &ctx->cat->rules[ctx->item_target];
    int u = units_index(ctx->cat->units, item);

    if (u < 0) {
        snprintf(ctx->err, ctx->errcap, "unknown unit '%.63s'", item);
        return -1;
    }
    if (r->n_co >= CAT_MAX_CO) {
        snprintf(ctx->err, ctx->errcap, "more than %d co-handling units", CAT_MAX_CO);
        return -1;
    }
    r->co[r->n_co++] = u;
    return 0;
}

static int cat_list(cat_load_ctx_t *ctx, const char *value, int (*fn)(void *, const char *),
                    int target)
{
    int rc;

    ctx->item_target = target;
    ctx->err[0] = '\0';
    rc = conf_each_item(value, fn, ctx);
    if (rc == -1 && ctx->err[0] == '\0')
        snprintf(ctx->err, ctx->errcap, "a list item is longer than 255 bytes");
    return rc == 0 ? 0 : -1;
}

/* Single-valued keys: a second call with the same key is a repeat (or a continuation line,
 * which these keys do not take). */
static int cat_once(cat_section_t *sec, unsigned bit, const char *key, char *err, size_t errcap)
{
    if (sec->keys & bit) {
        snprintf(err, errcap, "'%s' given twice in [%s] (it takes no continuation lines)", key,
                 sec->name);
        return -1;
    }
    sec->keys |= bit;
    return 0;
}

static int cat_setting_int(cat_section_t *sec, unsigned bit, const char *key, const char *value,
                           int64_t min, int64_t max, int *ret, char *err, size_t errcap)
{
    int64_t v;

    if (cat_once(sec, bit, key, err, errcap) < 0)
        return -1;
    if (conf_parse_int(value, min, max, &v) < 0) {
        snprintf(err, errcap, "%s must be a whole number %lld..%lld", key, (long long)min,
                 (long long)max);
        return -1;
    }
    *ret = (int)v;
    return 0;
}

static int cat_unknown_key(const char *key, const cat_section_t *sec, const char *allowed,
                           char *err, size_t errcap)
{
    snprintf(err, errcap, "unknown key '%.40s' in [%.60s]: allowed %s", key, sec->name, allowed);
    return -1;
}

static int cat_handle(void *user, const char *section, const char *key, const char *value,
                      char *err, size_t errcap)
{
    cat_load_ctx_t *ctx = user;
    cat_t *cat = ctx->cat;
    cat_section_t *sec;

    ctx->err = err;
    ctx->errcap = errcap;
    if (ctx->cur < 0 || strcmp(section, ctx->cur_name) != 0) {
        size_t slen = strlen(section);
        int found = -1;

        for (int i = 0; i < ctx->n_sections; i++) {
            if (strcmp(ctx->sections[i].name, section) == 0) {
                found = i;
                break;
            }
        }
        if (found < 0 && slen == CAT_INI_SECTION_MAX) { /* the parser cut a long name */
            for (int i = 0; i < ctx->n_sections; i++) {
                if (strncmp(ctx->sections[i].name, section, slen) == 0) {
                    if (found >= 0) {
                        snprintf(err, errcap,
                                 "section names must differ within their first %d bytes",
                                 CAT_INI_SECTION_MAX);
                        return -1;
                    }
                    found = i;
                }
            }
        }
        if (found < 0) {
            snprintf(err, errcap,
                     "key '%s' outside a section (section headers start at the "
                     "beginning of a line)",
                     key);
            return -1;
        }
        ctx->cur = found;
        snprintf(ctx->cur_name, sizeof(ctx->cur_name), "%s", section);
    }
    sec = &ctx->sections[ctx->cur];

    switch (sec->type) {
    case CAT_S_SETTINGS:
        if (strcmp(key, "min_score") == 0)
            return cat_setting_int(sec, 1, key, value, 1, 1000, &cat->min_score, err, errcap);
        if (strcmp(key, "min_margin") == 0)
            return cat_setting_int(sec, 2, key, value, 0, 1000, &cat->min_margin, err, errcap);
        if (strcmp(key, "township_margin") == 0)
            return cat_setting_int(sec, 4, key, value, 0, 1000, &cat->township_margin, err, errcap);
        if (strcmp(key, "outside_area_percent") == 0)
            return cat_setting_int(sec, 8, key, value, 0, 100, &cat->outside_area_percent, err,
                                   errcap);
        if (strcmp(key, "hypothetical_window") == 0)
            return cat_setting_int(sec, 16, key, value, 0, 32, &cat->hypo_window, err, errcap);
        if (strcmp(key, "hypothetical") == 0)
            return cat_phrases(ctx, value, CAT_K_HYPO, 0, 0);
        return cat_unknown_key(key, sec,
                               "min_score, min_margin, township_margin, outside_area_percent, "
                               "hypothetical, hypothetical_window",
                               err, errcap);
    case CAT_S_MASK:
        if (strcmp(key, "phrases") == 0)
            return cat_phrases(ctx, value, CAT_K_MASK, 0, 0);
        return cat_unknown_key(key, sec, "phrases", err, errcap);
    case CAT_S_LOCAL:
    case CAT_S_ROUTE:
        if (strcmp(key, "kw") == 0)
            return cat_phrases(ctx, value, CAT_K_ROUTE, sec->target, 1);
        if (strcmp(key, "not") == 0)
            return cat_phrases(ctx, value, CAT_K_ROUTE, sec->target, -1);
        if (sec->type == CAT_S_ROUTE && strcmp(key, "area") == 0)
            return cat_list(ctx, value, cat_item_area, sec->target);
        return cat_unknown_key(key, sec, sec->type == CAT_S_ROUTE ? "kw, not, area" : "kw, not",
                               err, errcap);
    case CAT_S_PLACES:
        if (strcmp(key, "names") == 0)
            return cat_phrases(ctx, value, CAT_K_PLACE, sec->target, 0);
        return cat_unknown_key(key, sec, "names", err, errcap);
    case CAT_S_CATEGORY:
        if (strcmp(key, "units") == 0)
            return cat_list(ctx, value, cat_item_category_unit, sec->target);
        return cat_unknown_key(key, sec, "units", err, errcap);
    case CAT_S_COHANDLE: {
        cat_rule_t *r = &cat->rules[sec->target];

        if (strcmp(key, "lead") == 0) {
            if (cat_once(sec, 1, key, err, errcap) < 0)
                return -1;
            if (strcmp(value, "*") == 0) {
                r->lead = -1;
                return 0;
            }
            r->lead = cat_unit_ref(cat, value, 1);
            if (r->lead < 0) {
                snprintf(err, errcap, "unknown unit '%.63s' (lead takes a unit code, local or *)",
                         value);
                return -1;
            }
            return 0;
        }
        if (strcmp(key, "when") == 0) {
            r->has_any = 1;
            return cat_phrases(ctx, value, CAT_K_CO_WHEN, sec->target, 0);
        }
        if (strcmp(key, "co") == 0)
            return cat_list(ctx, value, cat_item_co, sec->target);
        return cat_unknown_key(key, sec, "lead, when, co", err, errcap);
    }
    default: { /* CAT_S_URGENCY */
        cat_rule_t *r = &cat->rules[sec->target];

        if (strcmp(key, "level") == 0) {
            if (cat_once(sec, 1, key, err, errcap) < 0)
                return -1;
            if (strcmp(value, "emergency") == 0) {
                r->level = CAT_URGENCY_EMERGENCY;
            } else if (strcmp(value, "urgent") == 0) {
                r->level = CAT_URGENCY_URGENT;
            } else {
                snprintf(err, errcap, "level '%.40s' not allowed: use emergency or urgent", value);
                return -1;
            }
            return 0;
        }
        if (strcmp(key, "any") == 0) {
            r->has_any = 1;
            return cat_phrases(ctx, value, CAT_K_URG_ANY, sec->target, 0);
        }
        if (strcmp(key, "with") == 0) {
            r->has_with = 1;
            return cat_phrases(ctx, value, CAT_K_URG_WITH, sec->target, 0);
        }
        return cat_unknown_key(key, sec, "level, any, with", err, errcap);
    }
    }
}

/* Classifies one section header; fills sec or writes what is wrong. */
static int cat_section_parse(cat_t *cat, const char *name, cat_section_t *sec, char *err,
                             size_t errcap)
{
    static const struct {
        const char *word; /* first word of the header */
        int type;         /* cat_section_type_t */
        int arg;          /* 0: none, 1: unit code, 2: township code, 3: name */
    } kinds[] = {
        {"settings", CAT_S_SETTINGS, 0}, {"mask", CAT_S_MASK, 0},
        {"local", CAT_S_LOCAL, 0},       {"route", CAT_S_ROUTE, 1},
        {"places", CAT_S_PLACES, 2},     {"category", CAT_S_CATEGORY, 3},
        {"cohandle", CAT_S_COHANDLE, 3}, {"urgency", CAT_S_URGENCY, 3},
    };
    char word[16], arg[CAT_SECTION_MAX + 1];
    const char *p = name;
    size_t wl = 0, al;

    while (p[wl] != '\0' && p[wl] != ' ' && p[wl] != '\t' && wl < sizeof(word) - 1)
        wl++;
    memcpy(word, p, wl);
    word[wl] = '\0';
    p += wl;
    while (*p == ' ' || *p == '\t')
        p++;
    al = strlen(p);
    while (al > 0 && (p[al - 1] == ' ' || p[al - 1] == '\t'))
        al--;
    memcpy(arg, p, al);
    arg[al] = '\0';

    snprintf(sec->name, sizeof(sec->name), "%s", name);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(word, kinds[i].word) != 0)
            continue;
        sec->type = kinds[i].type;
        sec->target = 0;
        if (kinds[i].arg == 0) {
            if (arg[0] != '\0') {
                snprintf(err, errcap, "[%s] takes no argument", word);
                return -1;
            }
            if (sec->type == CAT_S_LOCAL)
                sec->target = cat->n_units;
            return 0;
        }
        if (arg[0] == '\0') {
            snprintf(err, errcap, "[%s] needs a %s", word,
                     kinds[i].arg == 3 ? "name" : "unit code");
            return -1;
        }
        if (kinds[i].arg == 3) {
            if (!cat_name_valid(arg, CAT_NAME_MAX)) {
                snprintf(err, errcap, "name '%.60s' not allowed: 1..%d bytes of a-z, 0-9, - and _",
                         arg, CAT_NAME_MAX);
                return -1;
            }
            if (sec->type == CAT_S_CATEGORY) {
                if (cat->n_cats >= CAT_MAX_CATEGORIES) {
                    snprintf(err, errcap, "more than %d categories", CAT_MAX_CATEGORIES);
                    return -1;
                }
                sec->target = cat->n_cats;
                memcpy(cat->cats[cat->n_cats++].name, arg, strlen(arg) + 1); /* checked */
                return 0;
            }
            if (cat->n_rules >= CAT_MAX_RULES) {
                snprintf(err, errcap, "more than %d [urgency] and [cohandle] sections",
                         CAT_MAX_RULES);
                return -1;
            }
            sec->target = cat->n_rules;
            cat_rule_t *r = &cat->rules[cat->n_rules++];
            memcpy(r->name, arg, strlen(arg) + 1); /* length checked above */
            r->is_urgency = sec->type == CAT_S_URGENCY;
            r->lead = -2;
            return 0;
        }
        sec->target = units_index(cat->units, arg);
        if (sec->target < 0) {
            snprintf(err, errcap, "unknown unit '%.63s'", arg);
            return -1;
        }
        if (kinds[i].arg == 2 && !unit_is_township(units_at(cat->units, (size_t)sec->target))) {
            snprintf(err, errcap, "unit '%s' is not a township: [places] names a township", arg);
            return -1;
        }
        return 0;
    }
    snprintf(err, errcap,
             "section [%.60s] not allowed: use settings, mask, local, route CODE, places CODE, "
             "category NAME, cohandle NAME or urgency NAME",
             name);
    return -1;
}

/* One section header (conf_each_section): recorded with its line, so empty sections and
 * section-level errors can be reported where they are. */
static int cat_section(void *user, const char *name, int lineno, char *err, size_t errcap)
{
    cat_load_ctx_t *ctx = user;
    cat_section_t *sec;

    if (strlen(name) > CAT_SECTION_MAX) {
        snprintf(err, errcap, "section name longer than %d bytes", CAT_SECTION_MAX);
        return -1;
    }
    for (int i = 0; i < ctx->n_sections; i++) {
        if (strcmp(ctx->sections[i].name, name) == 0) {
            snprintf(err, errcap, "duplicate section [%s] (first at line %d)", name,
                     ctx->sections[i].line);
            return -1;
        }
    }
    if (ctx->n_sections >= CAT_MAX_SECTIONS) {
        snprintf(err, errcap, "more than %d sections", CAT_MAX_SECTIONS);
        return -1;
    }
    sec = &ctx->sections[ctx->n_sections];
    memset(sec, 0, sizeof(*sec));
    sec->line = lineno;
    if (cat_section_parse(ctx->cat, name, sec, err, errcap) < 0)
        return -1;
    ctx->n_sections++;
    return 0;
}

static int cat_scan_sections(cat_load_ctx_t *ctx, char *err, size_t errcap)
{
    return conf_each_section(ctx->path, cat_section, ctx, err, errcap) == 0 ? 0 : -1;
}

static int cat_entry_cmp(const void *a, const void *b)
{
    const cat_entry_t *x = a, *y = b;
    unsigned kx = ((unsigned)(unsigned char)x->phrase[0] << 8) | (unsigned char)x->phrase[1];
    unsigned ky = ((unsigned)(unsigned char)y->phrase[0] << 8) | (unsigned char)y->phrase[1];

    int c;

    if (kx != ky)
        return kx < ky ? -1 : 1;
    c = strcmp(x->phrase, y->phrase);
    if (c != 0)
        return c;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->target < y->target ? -1 : x->target > y->target;
}

/* Checks what the handler cannot: required keys, then builds the phrase index. */
static int cat_finish(cat_load_ctx_t *ctx, char *err, size_t errcap)
{
    cat_t *cat = ctx->cat;
    size_t i = 0;

    for (int s = 0; s < ctx->n_sections; s++) {
        const cat_section_t *sec = &ctx->sections[s];
        const cat_rule_t *r;

        if (sec->type != CAT_S_URGENCY && sec->type != CAT_S_COHANDLE)
            continue;
        r = &cat->rules[sec->target];
        if (sec->type == CAT_S_URGENCY && (!(sec->keys & 1) || !r->has_any)) {
            snprintf(err, errcap, "%s:%d: [%s] needs level and any", ctx->path, sec->line,
                     sec->name);
            return -1;
        }
        if (sec->type == CAT_S_COHANDLE && (r->lead == -2 || !r->has_any || r->n_co == 0)) {
            snprintf(err, errcap, "%s:%d: [%s] needs lead, when and co", ctx->path, sec->line,
                     sec->name);
            return -1;
        }
    }
    if (cat->min_margin > cat->min_score) {
        snprintf(err, errcap, "%s: min_margin (%d) above min_score (%d)", ctx->path,
                 cat->min_margin, cat->min_score);
        return -1;
    }
    qsort(cat->entries, cat->n_entries, sizeof(cat->entries[0]), cat_entry_cmp);
    for (size_t k = 1; k < cat->n_entries; k++) {
        const cat_entry_t *a = &cat->entries[k - 1], *b = &cat->entries[k];
        if (strcmp(a->phrase, b->phrase) == 0 && a->kind == b->kind && a->target == b->target &&
            a->partner < 0 && b->partner < 0 &&
            (a->kind == CAT_K_ROUTE || a->kind == CAT_K_PLACE)) {
            snprintf(err, errcap, "%s: phrase '%s' listed twice for %s", ctx->path, a->phrase,
                     a->target == cat->n_units ? "local"
                     : a->kind == CAT_K_ROUTE  ? units_at(cat->units, (size_t)a->target)->code
                                               : "the gazetteer");
            return -1;
        }
    }
    {
        int *where = malloc((cat->n_entries + 1) * sizeof(*where));

        if (where == NULL) {
            snprintf(err, errcap, "%s: out of memory", ctx->path);
            return -1;
        }
        for (size_t k = 0; k < cat->n_entries; k++)
            where[cat->entries[k].id] = (int)k;
        for (size_t k = 0; k < cat->n_entries; k++) {
            if (cat->entries[k].partner >= 0)
                cat->entries[k].partner = where[cat->entries[k].partner];
        }
        free(where);
    }
    cat->bucket = malloc(65537 * sizeof(*cat->bucket));
    if (cat->bucket == NULL) {
        snprintf(err, errcap, "%s: out of memory", ctx->path);
        return -1;
    }
    for (unsigned k = 0; k <= 65536; k++) {
        while (i < cat->n_entries) {
            const cat_entry_t *e = &cat->entries[i];
            unsigned ke =
                ((unsigned)(unsigned char)e->phrase[0] << 8) | (unsigned char)e->phrase[1];
            if (ke >= k)
                break;
            i++;
        }
        cat->bucket[k] = (uint32_t)i;
    }
    return 0;
}

cat_t *cat_load(const char *path, const units_t *units, char *err, size_t errcap)
{
    cat_t *cat = NULL;
    cat_load_ctx_t ctx = {.path = path, .cur = -1};
    size_t n;

    if (path == NULL || units == NULL || units_count(units) == 0) {
        snprintf(err, errcap, "catalogue: no file or no units");
        return NULL;
    }
    n = units_count(units);
    cat = calloc(1, sizeof(*cat));
    ctx.sections = calloc(CAT_MAX_SECTIONS, sizeof(*ctx.sections));
    if (cat == NULL || ctx.sections == NULL)
        goto nomem;
    cat->units = units;
    cat->n_units = (int)n;
    cat->min_score = 6;
    cat->min_margin = 2;
    cat->township_margin = 2;
    cat->outside_area_percent = 50;
    cat->hypo_window = 6;
    cat->rules = calloc(CAT_MAX_RULES, sizeof(*cat->rules));
    cat->cats = calloc(CAT_MAX_CATEGORIES, sizeof(*cat->cats));
    cat->area = calloc(n * n, 1);
    cat->has_area = calloc(n, 1);
    if (cat->rules == NULL || cat->cats == NULL || cat->area == NULL || cat->has_area == NULL)
        goto nomem;
    ctx.cat = cat;
    if (cat_scan_sections(&ctx, err, errcap) < 0)
        goto fail;
    if (conf_load(path, cat_handle, &ctx, err, errcap) < 0)
        goto fail;
    if (cat_finish(&ctx, err, errcap) < 0)
        goto fail;
    free(ctx.sections);
    return cat;
nomem:
    snprintf(err, errcap, "%s: out of memory", path);
fail:
    free(ctx.sections);
    cat_destroy(&cat);
    return NULL;
}

void cat_destroy(cat_t **cat)
{
    if (cat == NULL || *cat == NULL)
        return;
    free((*cat)->entries);
    free((*cat)->bucket);
    free((*cat)->rules);
    free((*cat)->cats);
    free((*cat)->area);
    free((*cat)->has_area);
    free(*cat);
    *cat = NULL;
}

size_t cat_phrase_count(const cat_t *cat)
{
    return cat == NULL ? 0 : cat->n_entries;
}

const char *cat_urgency_name(cat_urgency_t urgency)
{
    switch (urgency) {
    case CAT_URGENCY_EMERGENCY:
        return "emergency";
    case CAT_URGENCY_URGENT:
        return "urgent";
    default:
        return "normal";
    }
}

/* ---------------------------------------------------------------- routing */

typedef struct cat_occ_t {
    uint16_t entry; /* index into entries */
    uint16_t pos;   /* byte offset in the request buffer */
} cat_occ_t;

typedef struct cat_why_t {
    char *buf;  /* the result's why */
    size_t len; /* bytes used */
} cat_why_t;

static void cat_why_add(cat_why_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends to the explanation; when it is full, cuts at a character boundary. */
static void cat_why_add(cat_why_t *w, const char *fmt, ...)
{
    char tmp[CAT_WHY_MAX + 1];
    va_list ap;
    size_t add;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    add = strlen(tmp);
    if (w->len + add > CAT_WHY_MAX) {
        add = CAT_WHY_MAX - w->len;
        while (add > 0 && ((unsigned char)tmp[add] & 0xC0) == 0x80)
            add--;
    }
    memcpy(w->buf + w->len, tmp, add);
    w->len += add;
    w->buf[w->len] = '\0';
}

/* Is occurrence i inside a longer occurrence that hides it: a mask phrase, or (same_target)
 * a longer phrase of the same unit, so that "公交车" does not also count as "公交"?
 * Occurrences are in text order and phrases are short, so only neighbours are looked at. */
static int cat_covered(const cat_t *cat, const cat_occ_t *occ, size_t n_occ, size_t i,
                       int same_target)
{
    const cat_entry_t *e = &cat->entries[occ[i].entry];
    size_t start = occ[i].pos, end = start + e->len;

    for (size_t j = i; j-- > 0 && (size_t)occ[j].pos + CAT_PHRASE_MAX >= start;) {
        const cat_entry_t *m = &cat->entries[occ[j].entry];
        if (m->len > e->len && (size_t)occ[j].pos + m->len >= end &&
            (same_target ? m->kind == e->kind && m->target == e->target && m->partner < 0
                         : m->kind == CAT_K_MASK))
            return 1;
    }
    for (size_t j = i + 1; j < n_occ && occ[j].pos == start; j++) {
        const cat_entry_t *m = &cat->entries[occ[j].entry];
        if (m->len > e->len &&
            (same_target ? m->kind == e->kind && m->target == e->target && m->partner < 0
                         : m->kind == CAT_K_MASK))
            return 1;
    }
    return 0;
}

/* Is a danger phrase at occurrence i made hypothetical ("怕着火", "上次着火") by a word
 * shortly before it in the same clause? */
static int cat_hypothetical(const cat_t *cat, const char *buf, const cat_occ_t *occ, size_t n_occ,
                            size_t i)
{
    size_t pos = occ[i].pos;

    for (size_t j = 0; j < n_occ; j++) {
        const cat_entry_t *h = &cat->entries[occ[j].entry];
        size_t hend = (size_t)occ[j].pos + h->len, chars = 0, blen;
        int broken = 0;

        if (h->kind != CAT_K_HYPO || hend > pos)
            continue;
        for (size_t p = hend; p < pos;) {
            if (cat_clause_break(buf, p, &blen)) {
                broken = 1;
                break;
            }
            p++;
            while (p < pos && ((unsigned char)buf[p] & 0xC0) == 0x80)
                p++;
            chars++;
        }
        if (!broken && chars <= (size_t)cat->hypo_window)
            return 1;
    }
    return 0;
}

int cat_route(const cat_t *cat, const cat_request_t *req, cat_result_t *ret)
{
    char buf[CAT_BUF_MAX];
    cat_occ_t occ[CAT_MAX_OCC];
    unsigned char hit[CAT_MAX_ENTRIES / 8], paired[CAT_MAX_ENTRIES / 8];
    unsigned char urg_any[CAT_MAX_RULES], urg_with[CAT_MAX_RULES];
    int score[UNITS_MAX + 1], order[UNITS_MAX + 1], eff[UNITS_MAX + 1];
    int n, local, township = -1, n_order = 0;
    size_t blen, n_occ = 0, place_pos = SIZE_MAX, place_len = 0;
    int township_from_place = -1, truncated = 0, overflow = 0;
    cat_result_t r;
    cat_why_t why = {r.why, 0};

    if (cat == NULL || req == NULL || ret == NULL || req->text == NULL)
        return -EINVAL;
    n = cat->n_units;
    local = n; /* the index that stands for "the township where it happens" */
    memset(&r, 0, sizeof(r));
    memset(hit, 0, sizeof(hit));
    memset(paired, 0, sizeof(paired));
    memset(urg_any, 0, sizeof(urg_any));
    memset(urg_with, 0, sizeof(urg_with));
    memset(score, 0, sizeof(score));

    /* The address first, so a place named there wins over one in the text. */
    blen = cat_normalise(req->address, buf, CAT_MAX_ADDRESS + 1);
    buf[blen++] = '\n';
    blen += cat_normalise(req->text, buf + blen, CAT_MAX_TEXT + 1);
    truncated = strlen(req->text) > CAT_MAX_TEXT;

    for (size_t pos = 0; pos + 1 < blen; pos++) {
        unsigned key;

        if (((unsigned char)buf[pos] & 0xC0) == 0x80)
            continue;
        key = ((unsigned)(unsigned char)buf[pos] << 8) | (unsigned char)buf[pos + 1];
        for (uint32_t k = cat->bucket[key]; k < cat->bucket[key + 1]; k++) {
            const cat_entry_t *e = &cat->entries[k];
            if (pos + e->len > blen || memcmp(buf + pos, e->phrase, e->len) != 0)
                continue;
            if (n_occ == CAT_MAX_OCC) {
                overflow = 1;
                break;
            }
            occ[n_occ].entry = (uint16_t)k;
            occ[n_occ].pos = (uint16_t)pos;
            n_occ++;
        }
    }

    /* Each distinct phrase counts once, unless a longer mask phrase hides it. */
    for (size_t i = 0; i < n_occ; i++) {
        const cat_entry_t *e = &cat->entries[occ[i].entry];
        unsigned idx = occ[i].entry;

        if (e->kind == CAT_K_MASK || e->kind == CAT_K_HYPO || cat_covered(cat, occ, n_occ, i, 0))
            continue;
        if (e->kind == CAT_K_ROUTE && e->partner < 0 && cat_covered(cat, occ, n_occ, i, 1))
            continue;
        if ((e->kind == CAT_K_URG_ANY || e->kind == CAT_K_URG_WITH) &&
            cat_hypothetical(cat, buf, occ, n_occ, i))
            continue;
        if (e->kind == CAT_K_PLACE &&
            (occ[i].pos < place_pos || (occ[i].pos == place_pos && e->len > place_len))) {
            place_pos = occ[i].pos;
            place_len = e->len;
            township_from_place = e->target;
        }
        if (hit[idx / 8] & (1u << (idx % 8)))
            continue;
        hit[idx / 8] |= (unsigned char)(1u << (idx % 8));
        if (e->kind == CAT_K_ROUTE && e->partner < 0)
            score[e->target] += e->weight;
        else if (e->kind == CAT_K_URG_ANY)
            urg_any[e->target] = 1;
        else if (e->kind == CAT_K_URG_WITH)
            urg_with[e->target] = 1;
    }

    /* "a&b" phrases count once both are found. */
    for (size_t k = 0; k < n_occ; k++) {
        const cat_entry_t *e = &cat->entries[occ[k].entry];
        unsigned idx = occ[k].entry, pidx;

        if (e->kind != CAT_K_ROUTE || e->partner < 0)
            continue;
        pidx = (unsigned)e->partner;
        if (!(hit[idx / 8] & (1u << (idx % 8))) || !(hit[pidx / 8] & (1u << (pidx % 8))) ||
            (paired[idx / 8] & (1u << (idx % 8))))
            continue;
        paired[idx / 8] |= (unsigned char)(1u << (idx % 8));
        score[e->target] += e->weight;
    }

    if (req->category != NULL && req->category[0] != '\0') {
        for (int c = 0; c < cat->n_cats; c++) {
            if (strcmp(cat->cats[c].name, req->category) != 0)
                continue;
            for (int j = 0; j < cat->cats[c].n; j++)
                score[cat->cats[c].unit[j]] += cat->cats[c].weight[j];
        }
    }

    /* Where: the township intake named, else the first place in the address or text. */
    if (req->township != NULL && req->township[0] != '\0') {
        int t = units_index(cat->units, req->township);
        if (t >= 0 && unit_is_township(units_at(cat->units, (size_t)t)))
            township = t;
    }
    if (township < 0)
        township = township_from_place;
    else
        township_from_place = -1;
    if (township >= 0) {
        snprintf(r.township, sizeof(r.township), "%s", units_at(cat->units, township)->code);
        score[township] += score[local];
    }

    for (int u = 0; u < n; u++) {
        if (score[u] > 0 && township >= 0 && cat->has_area[u] &&
            !cat->area[(size_t)u * (size_t)n + (size_t)township])
            score[u] = score[u] * cat->outside_area_percent / 100;
    }

    /* Rank; townships carry a handicap so a department's matter is not pushed down. A local
     * matter whose township is unknown stays in the ranking as "local". */
    for (int u = 0; u <= n; u++) {
        int is_town = u < n && unit_is_township(units_at(cat->units, (size_t)u));
        if (u == local && township >= 0)
            continue;
        if (score[u] <= 0)
            continue;
        eff[u] = score[u] - (is_town || u == local ? cat->township_margin : 0);
        int j = n_order++;
        while (j > 0 && eff[order[j - 1]] < eff[u]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = u;
    }

    for (int i = 0; i < n_order && r.n_candidates < CAT_MAX_CANDIDATES; i++) {
        if (order[i] == local)
            continue;
        cat_candidate_t *c = &r.candidates[r.n_candidates++];
        snprintf(c->unit, sizeof(c->unit), "%s", units_at(cat->units, order[i])->code);
        c->score = score[order[i]];
    }

    {
        int top = n_order > 0 ? order[0] : -1;
        int second = n_order > 1 ? order[1] : -1;
        int te = top >= 0 ? eff[top] : 0, se = second >= 0 ? eff[second] : 0;
        const char *top_name = top < 0        ? ""
                               : top == local ? "local"
                                              : units_at(cat->units, top)->code;

        if (se < 0)
            se = 0;
        r.score = top >= 0 ? score[top] : 0;
        r.confidence = te > 0 ? (double)(te - se) / te : 0.0;
        if (r.confidence > 1.0)
            r.confidence = 1.0;
        if (top < 0) {
            r.manual = 1;
            cat_why_add(&why, "manual: no rule matched");
        } else if (te < cat->min_score) {
            r.manual = 1;
            cat_why_add(&why, "manual: best %s %d < min %d", top_name, te, cat->min_score);
        } else if (te - se < cat->min_margin) {
            r.manual = 1;
            cat_why_add(&why, "manual: %s %d vs %s %d, margin < %d", top_name, te,
                        second == local ? "local" : units_at(cat->units, second)->code, se,
                        cat->min_margin);
        } else if (top == local) {
            r.manual = 1;
            cat_why_add(&why, "manual: local matter, township not located");
        } else {
            snprintf(r.unit, sizeof(r.unit), "%s", top_name);
            cat_why_add(&why, "%s %d", top_name, score[top]);
        }

        /* The phrases behind the best unit (the lead, or the first candidate). */
        if (top >= 0) {
            unsigned char listed[CAT_MAX_ENTRIES / 8];
            int shown = 0;

            memset(listed, 0, sizeof(listed));
            cat_why_add(&why, " [");
            for (size_t i = 0; i < n_occ && shown < 8; i++) {
                const cat_entry_t *e = &cat->entries[occ[i].entry];
                unsigned idx = occ[i].entry;
                if (e->kind != CAT_K_ROUTE || !(hit[idx / 8] & (1u << (idx % 8))) ||
                    (listed[idx / 8] & (1u << (idx % 8))) ||
                    (e->partner >= 0 && !(paired[idx / 8] & (1u << (idx % 8)))))
                    continue;
                if (e->target != top && !(e->target == local && top == township))
                    continue;
                listed[idx / 8] |= (unsigned char)(1u << (idx % 8));
                cat_why_add(&why, "%s%s%s%s%s%+d", shown > 0 ? " " : "",
                            e->target == local && top != local ? "local:" : "", e->phrase,
                            e->partner >= 0 ? "&" : "",
                            e->partner >= 0 ? cat->entries[e->partner].phrase : "", e->weight);
                shown++;
            }
            cat_why_add(&why, "]");
            if (top < n && township >= 0 && cat->has_area[top] &&
                !cat->area[(size_t)top * (size_t)n + (size_t)township])
                cat_why_add(&why, " outside its area");
        }
        if (second >= 0)
            cat_why_add(&why, "; next %s %d",
                        second == local ? "local" : units_at(cat->units, second)->code,
                        score[second]);
        if (top >= 0 && top < n && !unit_is_township(units_at(cat->units, top))) {
            for (int i = 1; i < n_order; i++) {
                int u = order[i];
                if (u < n && unit_is_township(units_at(cat->units, u)) && score[u] >= score[top]) {
                    cat_why_add(&why, "; department first over %s %d",
                                units_at(cat->units, u)->code, score[u]);
                    break;
                }
            }
        }
        if (township >= 0)
            cat_why_add(&why, "; in %s (%s)", units_at(cat->units, township)->code,
                        township_from_place >= 0 ? "place named" : "intake");

        /* Co-handlers follow the lead. */
        if (!r.manual) {
            for (int ri = 0; ri < cat->n_rules; ri++) {
                const cat_rule_t *rule = &cat->rules[ri];
                int fired = 0;

                if (rule->is_urgency)
                    continue;
                if (rule->lead != -1 && rule->lead != top &&
                    !(rule->lead == local && unit_is_township(units_at(cat->units, top))))
                    continue;
                for (size_t i = 0; i < n_occ && !fired; i++) {
                    const cat_entry_t *e = &cat->entries[occ[i].entry];
                    unsigned idx = occ[i].entry;
                    fired = e->kind == CAT_K_CO_WHEN && e->target == ri &&
                            (hit[idx / 8] & (1u << (idx % 8)));
                }
                if (!fired)
                    continue;
                for (int j = 0; j < rule->n_co && r.n_co < CAT_MAX_CO; j++) {
                    const char *code = units_at(cat->units, rule->co[j])->code;
                    int dup = rule->co[j] == top;
                    for (int k = 0; k < r.n_co && !dup; k++)
                        dup = strcmp(r.co_units[k], code) == 0;
                    if (dup)
                        continue;
                    snprintf(r.co_units[r.n_co++], UNIT_CODE_MAX + 1, "%s", code);
                    cat_why_add(&why, "; co %s (%s)", code, rule->name);
                }
            }
        }
    }

    /* Urgency: the highest level whose rule fired. */
    for (int ri = 0; ri < cat->n_rules; ri++) {
        const cat_rule_t *rule = &cat->rules[ri];
        if (!rule->is_urgency || !urg_any[ri] || (rule->has_with && !urg_with[ri]))
            continue;
        if (rule->level > r.urgency) {
            r.urgency = rule->level;
            for (size_t i = 0; i < n_occ; i++) {
                const cat_entry_t *e = &cat->entries[occ[i].entry];
                unsigned idx = occ[i].entry;
                if (e->kind == CAT_K_URG_ANY && e->target == ri &&
                    (hit[idx / 8] & (1u << (idx % 8)))) {
                    cat_why_add(&why, "; %s: %s (%s)", cat_urgency_name(rule->level), rule->name,
                                e->phrase);
                    break;
                }
            }
        }
    }
    if (truncated)
        cat_why_add(&why, "; text cut at %d bytes", CAT_MAX_TEXT);
    if (overflow)
        cat_why_add(&why, "; only the first %d matches used", CAT_MAX_OCC);
    *ret = r;
    return 0;
}
