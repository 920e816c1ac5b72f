/* rds.c -- Redis connection with reconnect and the function library (see rds.h) */
#include "rds.h"

#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rds_t {
    char host[256];                  /* server host */
    int port;                        /* server port */
    char password[256];              /* AUTH password, "" for none */
    int timeout_ms;                  /* connect and command timeout */
    redisContext *ctx;               /* live connection or NULL */
    const char *const *libraries;    /* function libraries' sources, NULL-terminated, borrowed */
    int pending;                     /* replies still to read in the pipeline */
    int flushed;                     /* the pending pipeline has been written */
    int stale;                       /* the library was missing: reload after this pipeline */
    int64_t last_try_ms;             /* last connect attempt (monotonic) */
    uint64_t round_trips;            /* pipelines flushed + single commands */
    char err[256];                   /* last error */
};

rds_t *rds_new(const char *host, int port, const char *password, int timeout_ms,
               const char *const *libraries)
{
    rds_t *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    snprintf(r->host, sizeof(r->host), "%s", host);
    snprintf(r->password, sizeof(r->password), "%s", password != NULL ? password : "");
    r->port = port;
    r->timeout_ms = timeout_ms;
    r->libraries = libraries;
    r->last_try_ms = -1000000;
    snprintf(r->err, sizeof(r->err), "not connected yet");
    return r;
}

static void rds_drop(rds_t *r, const char *why)
{
    if (r->ctx != NULL) {
        snprintf(r->err, sizeof(r->err), "%s: %s", why,
                 r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    r->pending = 0;
    r->flushed = 0;
}

void rds_destroy(rds_t **r)
{
    if (r == NULL || *r == NULL)
        return;
    if ((*r)->ctx != NULL)
        redisFree((*r)->ctx);
    free(*r);
    *r = NULL;
}

static int rds_setup(rds_t *r)
{
    redisReply *rep;

    if (r->password[0] != '\0') {
        rep = redisCommand(r->ctx, "AUTH %s", r->password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            snprintf(r->err, sizeof(r->err), "AUTH failed: %s",
                     rep != NULL ? rep->str : r->ctx->errstr);
            freeReplyObject(rep);
            return -1;
        }
        freeReplyObject(rep);
    }
    for (int i = 0; r->libraries != NULL && r->libraries[i] != NULL; i++) {
        rep = redisCommand(r->ctx, "FUNCTION LOAD REPLACE %s", r->libraries[i]);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            snprintf(r->err, sizeof(r->err), "FUNCTION LOAD failed: %s",
                     rep != NULL && rep->str != NULL ? rep->str : r->ctx->errstr);
            freeReplyObject(rep);
            return -1;
        }
        freeReplyObject(rep);
    }
    return 0;
}

int rds_ensure(rds_t *r)
{
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    int64_t now = clock_mono_ms();

    if (r->ctx != NULL)
        return 0;
    if (now - r->last_try_ms < 250)
        return -1;
    r->last_try_ms = now;
    r->ctx = redisConnectWithTimeout(r->host, r->port, tv);
    if (r->ctx == NULL) {
        snprintf(r->err, sizeof(r->err), "cannot allocate a Redis connection");
        return -1;
    }
    if (r->ctx->err) {
        snprintf(r->err, sizeof(r->err), "cannot connect to Redis at %s:%d: %s", r->host,
                 r->port, r->ctx->errstr);
        redisFree(r->ctx);
        r->ctx = NULL;
        return -1;
    }
    redisSetTimeout(r->ctx, tv);
    redisEnableKeepAlive(r->ctx);
    if (rds_setup(r) != 0) {
        redisFree(r->ctx);
        r->ctx = NULL;
        return -1;
    }
    r->pending = 0;
    return 0;
}

int rds_connected(const rds_t *r)
{
    return r->ctx != NULL;
}

const char *rds_err(const rds_t *r)
{
    return r->err;
}

uint64_t rds_round_trips(const rds_t *r)
{
    return r->round_trips;
}

redisReply *rds_cmd(rds_t *r, const char *fmt, ...)
{
    redisReply *rep;
    va_list ap;

    if (r->ctx == NULL || r->pending != 0)
        return NULL;
    va_start(ap, fmt);
    rep = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    r->round_trips++;
    if (rep == NULL)
        rds_drop(r, "Redis command failed");
    return rep;
}

redisReply *rds_cmdargv(rds_t *r, int argc, const char **argv, const size_t *lens)
{
    redisReply *rep;

    if (r->ctx == NULL || r->pending != 0)
        return NULL;
    rep = redisCommandArgv(r->ctx, argc, argv, lens);
    r->round_trips++;
    if (rep == NULL)
        rds_drop(r, "Redis command failed");
    return rep;
}

int rds_append(rds_t *r, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (r->ctx == NULL)
        return -1;
    va_start(ap, fmt);
    rc = redisvAppendCommand(r->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return -1;
    r->pending++;
    return 0;
}

int rds_appendargv(rds_t *r, int argc, const char **argv, const size_t *lens)
{
    if (r->ctx == NULL || redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK)
        return -1;
    r->pending++;
    return 0;
}

#define RDS_STACK_ARGS 64 /* arguments kept on the stack; more are allocated */

int rds_append_fcall(rds_t *r, const char *function, int argc, const char **argv,
                     const size_t *lens)
{
    const char *stack_args[RDS_STACK_ARGS + 3];
    size_t stack_lens[RDS_STACK_ARGS + 3];
    const char **args = stack_args;
    size_t *lengths = stack_lens;
    int rc;

    if (argc < 0 || argc > 1000000)
        return -1;
    if (argc > RDS_STACK_ARGS) {
        args = malloc(sizeof(*args) * (size_t)(argc + 3));
        lengths = malloc(sizeof(*lengths) * (size_t)(argc + 3));
        if (args == NULL || lengths == NULL) {
            free(args);
            free(lengths);
            return -1;
        }
    }
    args[0] = "FCALL";
    lengths[0] = 5;
    args[1] = function;
    lengths[1] = strlen(function);
    args[2] = "0";
    lengths[2] = 1;
    for (int i = 0; i < argc; i++) {
        args[i + 3] = argv[i];
        lengths[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    rc = rds_appendargv(r, argc + 3, args, lengths);
    if (args != stack_args) {
        free(args);
        free(lengths);
    }
    return rc;
}

redisReply *rds_read(rds_t *r)
{
    redisReply *rep = NULL;

    if (r->ctx == NULL || r->pending <= 0)
        return NULL;
    if (!r->flushed) {
        r->round_trips++; /* the first read writes the whole pipeline */
        r->flushed = 1;
    }
    if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK || rep == NULL) {
        rds_drop(r, "Redis reply failed");
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "Function not found") != NULL)
        r->stale = 1; /* Redis lost the library (FLUSHALL, a new empty server): reload */
    if (--r->pending == 0) {
        r->flushed = 0;
        if (r->stale) {
            r->stale = 0;
            rds_drop(r, "Redis lost the function library; reloading");
        }
    }
    return rep;
}
