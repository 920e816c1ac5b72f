/* units.c -- the units register read from units.conf (see units.h) */
#include "units.h"

#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct units_t {
    size_t n;   /* units in the register */
    unit_t *v;  /* the units, file order */
    int *lines; /* line of each unit's section header */
};

/* libinih keeps at most this many bytes of a section name: longer codes arrive cut short. */
#define UNITS_INI_SECTION_MAX 49
/* ... so codes longer than this must differ within it ("unit " takes the other 5). */
#define UNITS_CODE_DISTINCT (UNITS_INI_SECTION_MAX - 5)

typedef struct units_ctx_t {
    units_t *units;       /* the register being filled */
    int cur;              /* index of the section the last key belonged to, or -1 */
    char cur_section[96]; /* that section's name as the parser gave it */
    unsigned char *seen;  /* per unit: bit set for each key already given */
} units_ctx_t;

enum {
    UNITS_KEY_KIND = 1 << 0,
    UNITS_KEY_NAME = 1 << 1,
    UNITS_KEY_NAME_EN = 1 << 2,
    UNITS_KEY_DUTIES = 1 << 3,
    UNITS_KEY_WEBHOOK = 1 << 4,
    UNITS_KEY_SECRET = 1 << 5,
};

int unit_code_valid(const char *code)
{
    size_t len = 0;

    if (code == NULL)
        return 0;
    for (const char *p = code; *p != '\0'; p++, len++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return 0;
    }
    return len >= 1 && len <= UNIT_CODE_MAX;
}

int unit_is_township(const unit_t *unit)
{
    return unit != NULL && strcmp(unit->kind, "township") == 0;
}

/* A section name is "unit CODE": the code, or NULL when the name has another form. Writes
 * at most cap bytes; an over-long code is copied truncated so the caller can refuse it. */
static const char *units_section_code(const char *section, char *code, size_t cap)
{
    const char *p = section;
    size_t len;

    if (strncmp(p, "unit", 4) != 0 || (p[4] != ' ' && p[4] != '\t'))
        return NULL;
    p += 4;
    while (*p == ' ' || *p == '\t')
        p++;
    len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(code, p, len);
    code[len] = '\0';
    return code;
}

typedef struct units_scan_t {
    units_t *units; /* what is being filled */
    size_t alloc;   /* slots allocated in units->v and units->lines */
} units_scan_t;

/* One section header (conf_each_section): fills units->v codes and units->lines, so empty
 * sections and missing keys can be reported with their line. */
static int units_section(void *user, const char *name, int lineno, char *err, size_t errcap)
{
    units_scan_t *sc = user;
    units_t *units = sc->units;
    char code[UNIT_CODE_MAX + 2];

    if (units_section_code(name, code, sizeof(code)) == NULL) {
        snprintf(err, errcap, "section [%.60s] not allowed: expected [unit CODE]", name);
        return -1;
    }
    if (!unit_code_valid(code)) {
        snprintf(err, errcap, "invalid unit code '%.64s': use 1..%d bytes of a-z, 0-9 and '-'",
                 code, UNIT_CODE_MAX);
        return -1;
    }
    for (size_t i = 0; i < units->n; i++) {
        if (strcmp(units->v[i].code, code) == 0) {
            snprintf(err, errcap, "duplicate unit '%s' (first at line %d)", code, units->lines[i]);
            return -1;
        }
        if (strncmp(units->v[i].code, code, UNITS_CODE_DISTINCT) == 0 &&
            strlen(code) >= UNITS_CODE_DISTINCT &&
            strlen(units->v[i].code) >= UNITS_CODE_DISTINCT) {
            snprintf(err, errcap,
                     "unit '%s' and '%s' (line %d) share their first %d bytes; long codes must "
                     "differ earlier",
                     code, units->v[i].code, units->lines[i], UNITS_CODE_DISTINCT);
            return -1;
        }
    }
    if (units->n >= UNITS_MAX) {
        snprintf(err, errcap, "more than %d units", UNITS_MAX);
        return -1;
    }
    if (units->n == sc->alloc) {
        size_t nalloc = sc->alloc == 0 ? 64 : sc->alloc * 2;
        unit_t *v = realloc(units->v, nalloc * sizeof(*v));
        int *lines;

        if (v == NULL) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        units->v = v;
        lines = realloc(units->lines, nalloc * sizeof(*lines));
        if (lines == NULL) {
            snprintf(err, errcap, "out of memory");
            return -1;
        }
        units->lines = lines;
        sc->alloc = nalloc;
    }
    memset(&units->v[units->n], 0, sizeof(units->v[0]));
    memcpy(units->v[units->n].code, code, strlen(code) + 1); /* length checked above */
    units->lines[units->n] = lineno;
    units->n++;
    return 0;
}

static int units_scan_sections(units_t *units, const char *path, char *err, size_t errcap)
{
    units_scan_t sc = {.units = units};

    if (conf_each_section(path, units_section, &sc, err, errcap) != 0)
        return -1;
    if (units->n == 0) {
        snprintf(err, errcap, "%s: no [unit CODE] section", path);
        return -1;
    }
    return 0;
}

/* The one unit whose code starts with prefix, or -1 (none, or more than one). */
static int units_index_prefix(const units_t *units, const char *prefix)
{
    size_t len = strlen(prefix);
    int found = -1;

    for (size_t i = 0; i < units->n; i++) {
        if (strncmp(units->v[i].code, prefix, len) == 0) {
            if (found >= 0)
                return -1;
            found = (int)i;
        }
    }
    return found;
}

/* Copies value into dst (cap bytes) or explains why it does not fit. */
static int units_set(char *dst, size_t cap, const char *key, const char *value, char *err,
                     size_t errcap)
{
    size_t len = strlen(value);

    if (len >= cap) {
        snprintf(err, errcap, "%s is %zu bytes; at most %zu allowed", key, len, cap - 1);
        return -1;
    }
    memcpy(dst, value, len + 1);
    return 0;
}

static int units_handle(void *user, const char *section, const char *key, const char *value,
                        char *err, size_t errcap)
{
    units_ctx_t *ctx = user;
    units_t *units = ctx->units;
    unit_t *u;
    int bit;

    if (ctx->cur < 0 || strcmp(section, ctx->cur_section) != 0) {
        char code[UNIT_CODE_MAX + 2];

        ctx->cur = -1;
        if (units_section_code(section, code, sizeof(code)) != NULL) {
            ctx->cur = units_index(units, code);
            if (ctx->cur < 0 && strlen(section) == UNITS_INI_SECTION_MAX)
                ctx->cur = units_index_prefix(units, code);
        }
        if (ctx->cur < 0) {
            snprintf(err, errcap, "key '%s' outside a [unit CODE] section", key);
            return -1;
        }
        snprintf(ctx->cur_section, sizeof(ctx->cur_section), "%s", section);
    }
    u = &units->v[ctx->cur];

    if (strcmp(key, "kind") == 0)
        bit = UNITS_KEY_KIND;
    else if (strcmp(key, "name") == 0)
        bit = UNITS_KEY_NAME;
    else if (strcmp(key, "name_en") == 0)
        bit = UNITS_KEY_NAME_EN;
    else if (strcmp(key, "duties") == 0)
        bit = UNITS_KEY_DUTIES;
    else if (strcmp(key, "webhook") == 0)
        bit = UNITS_KEY_WEBHOOK;
    else if (strcmp(key, "secret") == 0)
        bit = UNITS_KEY_SECRET;
    else {
        snprintf(err, errcap,
                 "unknown key '%.40s' in [unit %s]: allowed kind, name, name_en, duties, "
                 "webhook, secret",
                 key, u->code);
        return -1;
    }

    /* The parser calls again with the same key for a continuation line: only duties may
     * continue; any other key seen twice is a repeat. */
    if (bit == UNITS_KEY_DUTIES) {
        size_t have = strlen(u->duties), add = strlen(value);

        if (have + (have > 0) + add > UNIT_DUTIES_MAX) {
            snprintf(err, errcap, "duties of unit '%s' longer than %d bytes", u->code,
                     UNIT_DUTIES_MAX);
            return -1;
        }
        if (have > 0)
            u->duties[have++] = ' ';
        memcpy(u->duties + have, value, add + 1);
        ctx->seen[ctx->cur] |= (unsigned char)bit;
        return 0;
    }
    if (ctx->seen[ctx->cur] & bit) {
        snprintf(err, errcap,
                 "'%s' given twice in [unit %s] (only duties may use continuation lines)", key,
                 u->code);
        return -1;
    }
    ctx->seen[ctx->cur] |= (unsigned char)bit;

    switch (bit) {
    case UNITS_KEY_KIND:
        if (strcmp(value, "department") != 0 && strcmp(value, "utility") != 0 &&
            strcmp(value, "township") != 0 && strcmp(value, "other") != 0) {
            snprintf(err, errcap,
                     "kind '%.40s' not allowed: use department, utility, township or other", value);
            return -1;
        }
        return units_set(u->kind, sizeof(u->kind), key, value, err, errcap);
    case UNITS_KEY_NAME:
        if (value[0] == '\0') {
            snprintf(err, errcap, "name of unit '%s' is empty", u->code);
            return -1;
        }
        return units_set(u->name, sizeof(u->name), key, value, err, errcap);
    case UNITS_KEY_NAME_EN:
        return units_set(u->name_en, sizeof(u->name_en), key, value, err, errcap);
    case UNITS_KEY_WEBHOOK:
        if ((strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) ||
            strpbrk(value, " \t") != NULL) {
            snprintf(err, errcap, "webhook '%.60s' is not an http:// or https:// URL", value);
            return -1;
        }
        return units_set(u->webhook, sizeof(u->webhook), key, value, err, errcap);
    default: /* UNITS_KEY_SECRET */
        if (value[0] == '\0') {
            snprintf(err, errcap, "secret of unit '%s' is empty", u->code);
            return -1;
        }
        return units_set(u->secret, sizeof(u->secret), key, value, err, errcap);
    }
}

units_t *units_load(const char *path, char *err, size_t errcap)
{
    units_t *units = calloc(1, sizeof(*units));
    units_ctx_t ctx = {.units = units, .cur = -1};

    if (units == NULL) {
        snprintf(err, errcap, "%s: out of memory", path);
        return NULL;
    }
    if (units_scan_sections(units, path, err, errcap) < 0)
        goto fail;
    ctx.seen = calloc(units->n, 1);
    if (ctx.seen == NULL) {
        snprintf(err, errcap, "%s: out of memory", path);
        goto fail;
    }
    if (conf_load(path, units_handle, &ctx, err, errcap) < 0)
        goto fail;
    for (size_t i = 0; i < units->n; i++) {
        const char *missing = NULL;

        if (!(ctx.seen[i] & UNITS_KEY_KIND))
            missing = "kind";
        else if (!(ctx.seen[i] & UNITS_KEY_NAME))
            missing = "name";
        if (missing != NULL) {
            snprintf(err, errcap, "%s:%d: unit '%s' has no %s", path, units->lines[i],
                     units->v[i].code, missing);
            goto fail;
        }
    }
    free(ctx.seen);
    return units;
fail:
    free(ctx.seen);
    units_destroy(&units);
    return NULL;
}

void units_destroy(units_t **units)
{
    if (units == NULL || *units == NULL)
        return;
    free((*units)->v);
    free((*units)->lines);
    free(*units);
    *units = NULL;
}

int units_index(const units_t *units, const char *code)
{
    if (units == NULL || code == NULL)
        return -1;
    for (size_t i = 0; i < units->n; i++) {
        if (strcmp(units->v[i].code, code) == 0)
            return (int)i;
    }
    return -1;
}

const unit_t *units_find(const units_t *units, const char *code)
{
    int i = units_index(units, code);

    return i < 0 ? NULL : &units->v[i];
}

size_t units_count(const units_t *units)
{
    return units == NULL ? 0 : units->n;
}

const unit_t *units_at(const units_t *units, size_t i)
{
    return units == NULL || i >= units->n ? NULL : &units->v[i];
}
