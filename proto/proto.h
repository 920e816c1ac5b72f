/* proto.h -- the wire codec: one frame = one MessagePack map {v,type,id,ts,src,tier,body}.
 *
 * No sockets, no logging, no globals: bytes in, a checked message out (or bytes out).
 * Every length in the input is distrusted: before msgpack-c sees a frame, a pre-check walks it
 * and rejects any container whose declared count exceeds the bytes left, nesting deeper than
 * PROTO_MAX_DEPTH, strings longer than PROTO_MAX_STR, more than PROTO_MAX_ELEMENTS objects in
 * all, invalid UTF-8 in str objects, ext types, and trailing bytes. See proto/SPEC.md. */
#ifndef REXIAN_PROTO_H
#define REXIAN_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#define PROTO_VERSION 1
#define PROTO_MAX_FRAME (256 * 1024) /* bytes in one frame; also ZMQ_MAXMSGSIZE */
#define PROTO_MAX_DEPTH 8            /* nesting of maps/arrays, the frame map is depth 1 */
#define PROTO_MAX_STR (64 * 1024)    /* bytes in one str or bin object */
#define PROTO_MAX_ELEMENTS 8192      /* objects of any kind in one frame */
#define PROTO_TYPE_MAX 48            /* bytes in `type`, e.g. "ticket.dispatched" */
#define PROTO_ID_MAX 96              /* bytes in `id` */
#define PROTO_SRC_MAX 96             /* bytes in `src` */
#define PROTO_TIER_MAX 32            /* bytes in `tier` */

/* Error codes kept on the message handle (msg->err), stable for metrics labels. */
typedef enum proto_err_t {
    PROTO_OK = 0,
    PROTO_ERR_SIZE,     /* frame empty or larger than PROTO_MAX_FRAME */
    PROTO_ERR_COUNT,    /* a container declares more items than the bytes left can hold */
    PROTO_ERR_DEPTH,    /* nesting deeper than PROTO_MAX_DEPTH */
    PROTO_ERR_STR,      /* str/bin longer than PROTO_MAX_STR */
    PROTO_ERR_ELEMENTS, /* more than PROTO_MAX_ELEMENTS objects */
    PROTO_ERR_UTF8,     /* a str object is not valid UTF-8 */
    PROTO_ERR_TRUNC,    /* the frame ends inside an object */
    PROTO_ERR_TRAILING, /* bytes after the top-level object */
    PROTO_ERR_BADTYPE,  /* reserved byte 0xc1, or an ext type (not used by this protocol) */
    PROTO_ERR_SHAPE,    /* top level not a map, a required field missing or of the wrong type */
    PROTO_ERR_VERSION,  /* v is not PROTO_VERSION */
    PROTO_ERR_NOMEM,    /* allocation failed */
} proto_err_t;

/* A decoded frame. Strings in the envelope are NUL-terminated copies; `body` points into the
 * message's own msgpack zone and lives as long as the message. */
typedef struct proto_msg_t {
    int v;                          /* protocol version, == PROTO_VERSION */
    char type[PROTO_TYPE_MAX + 1];  /* message type, see SPEC.md */
    char id[PROTO_ID_MAX + 1];      /* message id: applying one id twice changes nothing */
    int64_t ts;                     /* producer's time, ms since the Unix epoch */
    char src[PROTO_SRC_MAX + 1];    /* producing service instance */
    char tier[PROTO_TIER_MAX + 1];  /* tier key, e.g. "bx" */
    const msgpack_object *body;     /* a map (an empty array also reads as an empty map) */
    msgpack_unpacked unpacked;      /* owns the zone behind body */
    proto_err_t err;                /* why decoding failed; PROTO_OK otherwise */
    char errstr[128];               /* human-readable detail: what and where (byte offset) */
} proto_msg_t;

/* Pure structural pre-check of a frame (the limits above). Returns PROTO_OK or the first error;
 * writes a detail into errstr (may be NULL). Never allocates. */
proto_err_t proto_check(const char *data, size_t len, char *errstr, size_t errcap);

/* Decodes a frame into *msg (caller-owned storage). Returns 0, or -1 with msg->err/errstr set.
 * Whatever it returns, the caller calls proto_msg_release(msg) afterwards. */
int proto_decode(const char *data, size_t len, proto_msg_t *msg);
void proto_msg_release(proto_msg_t *msg);

/* Body accessors. The body is a map with string keys.
 * Return 0, -ENOENT (no such key or value nil), -EINVAL (wrong type), -E2BIG (buffer too small;
 * nothing written). Strings are copied NUL-terminated into buf (a str holding a NUL byte is
 * -EINVAL: use proto_body_raw). Ints accept floats with an integral value in int64 range. */
int proto_body_str(const proto_msg_t *msg, const char *key, char *buf, size_t cap);
int proto_body_int(const proto_msg_t *msg, const char *key, int64_t *ret_val);
/* Borrowed pointer into the body (not NUL-terminated), valid while msg lives. */
int proto_body_raw(const proto_msg_t *msg, const char *key, const char **ret_ptr, size_t *ret_len);
/* The value object itself (any type), borrowed; NULL when absent. */
const msgpack_object *proto_body_get(const proto_msg_t *msg, const char *key);

/* Encoder: builds a frame with the envelope and a body map of up to 65535 fields (the body map
 * header is written as map16 and patched when the writer finishes, so the count need not be
 * known up front). */
typedef struct proto_writer_t proto_writer_t;

/* Returns NULL on allocation failure, or when an envelope string is not UTF-8 or out of its
 * limit, or ts < 0. Caller owns; free with proto_writer_destroy. */
proto_writer_t *proto_writer_new(const char *type, const char *id, int64_t ts, const char *src,
                                 const char *tier);
void proto_writer_destroy(proto_writer_t **w);
void proto_put_str(proto_writer_t *w, const char *key, const char *val);
void proto_put_strn(proto_writer_t *w, const char *key, const char *val, size_t len);
void proto_put_int(proto_writer_t *w, const char *key, int64_t val);
void proto_put_strlist(proto_writer_t *w, const char *key, const char *const *vals, size_t n);
/* Finishes the frame; the bytes are borrowed and valid until the writer is destroyed.
 * Returns NULL when any put failed (NULL or non-UTF-8 string, value over PROTO_MAX_STR, more
 * than 65535 fields or PROTO_MAX_ELEMENTS objects, allocation) or the frame would exceed
 * PROTO_MAX_FRAME: a put never writes half a field that finish would then send. */
const char *proto_writer_finish(proto_writer_t *w, size_t *ret_len);

const char *proto_err_name(proto_err_t err); /* "count", "depth", ... for metrics labels */

#endif
