/* conf.c -- INI config files with precise errors (see conf.h) */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conf_ctx_t {
    conf_handler_fn *fn; /* the caller's handler */
    void *user;          /* the caller's state */
    char first_err[256]; /* what the handler said at the first error */
    int failed;          /* a handler call failed */
} conf_ctx_t;

static int conf_trampoline(void *user, const char *section, const char *key, const char *value)
{
    conf_ctx_t *ctx = user;
    char err[256] = "";

    if (ctx->fn(ctx->user, section, key, value, err, sizeof(err)) == 0)
        return 1;
    if (!ctx->failed) {
        snprintf(ctx->first_err, sizeof(ctx->first_err), "%s", err[0] ? err : "invalid value");
        ctx->failed = 1;
    }
    return 0;
}

/* libinih reads a line into a fixed buffer and treats the rest as another line: find such
 * lines first, so the user hears about them instead of getting a confusing parse. */
static int conf_find_long_line(FILE *f)
{
    int c, line = 1;
    size_t len = 0;

    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') {
            line++;
            len = 0;
        } else if (++len > CONF_MAX_LINE) {
            return line;
        }
    }
    return 0;
}

int conf_load(const char *path, conf_handler_fn *fn, void *user, char *err, size_t errcap)
{
    conf_ctx_t ctx = {.fn = fn, .user = user};
    FILE *f = fopen(path, "r");
    int line, rc = -1;

    if (f == NULL) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    line = conf_find_long_line(f);
    if (line > 0) {
        snprintf(err, errcap,
                 "%s:%d: line longer than %d bytes; split the value over continuation lines "
                 "(lines starting with a space)",
                 path, line, CONF_MAX_LINE);
        goto out;
    }
    rewind(f);
    line = ini_parse_file(f, conf_trampoline, &ctx);
    if (line < 0) {
        snprintf(err, errcap, "%s: cannot read", path);
        goto out;
    }
    if (line > 0) {
        snprintf(err, errcap, "%s:%d: %s", path, line,
                 ctx.failed ? ctx.first_err : "syntax error: expected [section] or key = value");
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

int conf_each_section(const char *path, conf_section_fn *fn, void *user, char *err,
                      size_t errcap)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, msg[256];
    size_t cap = 0;
    int lineno = 0, rc = -1;

    if (f == NULL) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) >= 0) {
        char *s = line, *end;

        lineno++;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* a UTF-8 byte order mark */
        if (*s != '[')
            continue;
        end = strchr(s, ']');
        if (end == NULL) {
            snprintf(err, errcap, "%s:%d: section header without ']'", path, lineno);
            goto out;
        }
        *end = '\0';
        msg[0] = '\0';
        if (fn(user, s + 1, lineno, msg, sizeof(msg)) != 0) {
            snprintf(err, errcap, "%s:%d: %s", path, lineno, msg[0] ? msg : "invalid section");
            goto out;
        }
    }
    rc = 0;
out:
    free(line);
    fclose(f);
    return rc;
}

int conf_each_item(const char *list, int (*fn)(void *user, const char *item), void *user)
{
    const char *p = list;

    while (*p != '\0') {
        const char *start, *end;
        char item[256];
        size_t len;
        int rc;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncmp(p, "，", 3) == 0) {
            p += 3;
            continue;
        }
        if (*p == '\0')
            break;
        start = p;
        while (*p != '\0' && *p != ',' && strncmp(p, "，", 3) != 0)
            p++;
        end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        len = (size_t)(end - start);
        if (len == 0)
            continue;
        if (len >= sizeof(item))
            return -1;
        memcpy(item, start, len);
        item[len] = '\0';
        rc = fn(user, item);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int conf_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret_val)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *ret_val = v;
    return 0;
}

int conf_parse_duration_ms(const char *s, int64_t *ret_ms)
{
    int64_t total = 0;
    const char *p = s;

    if (s == NULL || *s == '\0')
        return -1;
    while (*p != '\0') {
        int64_t n = 0, unit;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p - '0');
            if (n > 1000000)
                return -1;
            p++;
        }
        switch (*p) {
        case 's': unit = 1000; break;
        case 'm': unit = 60 * 1000; break;
        case 'h': unit = 3600 * 1000; break;
        case 'd': unit = 86400 * 1000; break;
        default: return -1;
        }
        p++;
        total += n * unit;
    }
    if (total <= 0)
        return -1;
    *ret_ms = total;
    return 0;
}
