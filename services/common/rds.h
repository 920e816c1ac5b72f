/* rds.h -- one Redis connection (hiredis) with reconnect, AUTH, the Lua function library
 * and pipelines. A dropped connection makes every pending reply's outcome unknown, so callers only
 * send writes that are safe to repeat. */
#ifndef REXIAN_RDS_H
#define REXIAN_RDS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rds_t rds_t;

/* Does not connect yet. Returns NULL on no memory. password may be NULL or "". libraries is a
 * NULL-terminated list of Redis 7 function libraries (FUNCTION LOAD REPLACE after each connect)
 * or NULL; borrowed, must outlive the handle. */
rds_t *rds_new(const char *host, int port, const char *password, int timeout_ms,
               const char *const *libraries);
void rds_destroy(rds_t **r);

/* Connects (and authenticates, loads the library) if not connected. Retries at most every
 * 250 ms so a loop can call it every turn. Returns 0 when connected, -1 otherwise (rds_err). */
int rds_ensure(rds_t *r);
int rds_connected(const rds_t *r);
const char *rds_err(const rds_t *r); /* the last error, for logs and 503 messages */

/* One command, one round trip. Returns the reply (caller frees with freeReplyObject) or NULL
 * when not connected or the connection failed (then marked disconnected). */
redisReply *rds_cmd(rds_t *r, const char *fmt, ...);
redisReply *rds_cmdargv(rds_t *r, int argc, const char **argv, const size_t *lens);

/* Pipelines: append any number of commands, then read each reply in order. */
int rds_append(rds_t *r, const char *fmt, ...);
int rds_appendargv(rds_t *r, int argc, const char **argv, const size_t *lens);
/* FCALL of a library function with numkeys 0 and argv as ARGV (lens NULL: C strings). */
int rds_append_fcall(rds_t *r, const char *function, int argc, const char **argv,
                     const size_t *lens);
/* Next reply of the pipeline; NULL when the connection failed (marked disconnected). A
 * "Function not found" error makes the connection reload the library after this pipeline. */
redisReply *rds_read(rds_t *r);

/* Round trips made so far (for the benchmark's commands-per-ticket figures). */
uint64_t rds_round_trips(const rds_t *r);

#endif
