/* proto.c -- the wire codec: pre-check, decode and encode of rexian frames */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static void set_err(char *errstr, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errcap, const char *fmt, ...)
{
    if (errstr == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errcap, fmt, ap);
    va_end(ap);
}

static uint64_t read_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Returns NULL when s[0..n) is valid UTF-8, else why not, with the offending byte's index in
 * *ret_bad. Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points above
 * U+10FFFF, stray continuation bytes and sequences cut short. */
static const char *utf8_invalid(const unsigned char *s, size_t n, size_t *ret_bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        *ret_bad = i;
        if (c < 0xc0)
            return "stray continuation byte";
        if (c < 0xc2)
            return "overlong encoding";
        if (c > 0xf4)
            return c < 0xf8 ? "code point above U+10FFFF" : "byte never used in UTF-8";

        size_t need = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
        unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        const char *why = "bad continuation byte";
        if (c == 0xe0) {
            lo = 0xa0;
            why = "overlong encoding";
        } else if (c == 0xed) {
            hi = 0x9f;
            why = "UTF-16 surrogate";
        } else if (c == 0xf0) {
            lo = 0x90;
            why = "overlong encoding";
        } else if (c == 0xf4) {
            hi = 0x8f;
            why = "code point above U+10FFFF";
        }
        if (n - i - 1 < need)
            return "sequence cut short";
        unsigned char c1 = s[i + 1];
        if ((c1 & 0xc0) != 0x80)
            return "bad continuation byte";
        if (c1 < lo || c1 > hi)
            return why;
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return "bad continuation byte";
        }
        i += need + 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Pre-check: a pure walk over the bytes, no allocation
 * ------------------------------------------------------------------------------------------- */

/* What follows a type byte: the formats 0xc0..0xdf (the fix ranges are decoded in place). */
enum { FMT_SCALAR, FMT_STR, FMT_BIN, FMT_ARRAY, FMT_MAP, FMT_RESERVED, FMT_EXT };

typedef struct mp_format_t {
    unsigned char kind; /* FMT_* */
    unsigned char size; /* bytes of the payload (FMT_SCALAR) or of the length field; 0 for ext */
    const char *name;   /* for error texts */
} mp_format_t;

static const mp_format_t mp_formats[32] = {
    {FMT_SCALAR, 0, "nil"},    {FMT_RESERVED, 0, "0xc1"},  {FMT_SCALAR, 0, "false"},
    {FMT_SCALAR, 0, "true"},   {FMT_BIN, 1, "bin8"},       {FMT_BIN, 2, "bin16"},
    {FMT_BIN, 4, "bin32"},     {FMT_EXT, 0, "ext8"},       {FMT_EXT, 0, "ext16"},
    {FMT_EXT, 0, "ext32"},     {FMT_SCALAR, 4, "float32"}, {FMT_SCALAR, 8, "float64"},
    {FMT_SCALAR, 1, "uint8"},  {FMT_SCALAR, 2, "uint16"},  {FMT_SCALAR, 4, "uint32"},
    {FMT_SCALAR, 8, "uint64"}, {FMT_SCALAR, 1, "int8"},    {FMT_SCALAR, 2, "int16"},
    {FMT_SCALAR, 4, "int32"},  {FMT_SCALAR, 8, "int64"},   {FMT_EXT, 0, "fixext1"},
    {FMT_EXT, 0, "fixext2"},   {FMT_EXT, 0, "fixext4"},    {FMT_EXT, 0, "fixext8"},
    {FMT_EXT, 0, "fixext16"},  {FMT_STR, 1, "str8"},       {FMT_STR, 2, "str16"},
    {FMT_STR, 4, "str32"},     {FMT_ARRAY, 2, "array16"},  {FMT_ARRAY, 4, "array32"},
    {FMT_MAP, 2, "map16"},     {FMT_MAP, 4, "map32"},
};

proto_err_t proto_check(const char *data, size_t len, char *errstr, size_t errcap)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t left[PROTO_MAX_DEPTH + 1]; /* items still to read in the container at each depth */
    int depth = 0;                      /* 0 is the frame itself: one object */
    size_t pos = 0;
    size_t objects = 0;

    set_err(errstr, errcap, "ok");
    if (data == NULL || len == 0) {
        set_err(errstr, errcap, "frame is empty");
        return PROTO_ERR_SIZE;
    }
    if (len > PROTO_MAX_FRAME) {
        set_err(errstr, errcap, "frame is %zu bytes, limit %d", len, PROTO_MAX_FRAME);
        return PROTO_ERR_SIZE;
    }

    left[0] = 1;
    for (;;) {
        if (left[depth] == 0) {
            if (depth == 0)
                break;
            depth--;
            continue;
        }
        left[depth]--;

        size_t at = pos;
        if (pos >= len) {
            set_err(errstr, errcap, "frame ends at byte %zu, %llu more objects expected", pos,
                    (unsigned long long)left[depth] + 1);
            return PROTO_ERR_TRUNC;
        }
        if (++objects > PROTO_MAX_ELEMENTS) {
            set_err(errstr, errcap, "object at byte %zu is number %zu, limit %d", at, objects,
                    PROTO_MAX_ELEMENTS);
            return PROTO_ERR_ELEMENTS;
        }

        unsigned char b = p[pos++];
        mp_format_t f;
        uint64_t n = 0; /* length or count */

        if (b <= 0x7f || b >= 0xe0) {
            continue; /* fixint */
        } else if (b <= 0x8f) {
            f = (mp_format_t){FMT_MAP, 0, "fixmap"}, n = b & 0x0f;
        } else if (b <= 0x9f) {
            f = (mp_format_t){FMT_ARRAY, 0, "fixarray"}, n = b & 0x0f;
        } else if (b <= 0xbf) {
            f = (mp_format_t){FMT_STR, 0, "fixstr"}, n = b & 0x1f;
        } else {
            f = mp_formats[b - 0xc0];
        }

        if (f.kind == FMT_RESERVED) {
            set_err(errstr, errcap, "reserved byte 0xc1 at byte %zu", at);
            return PROTO_ERR_BADTYPE;
        }
        if (f.kind == FMT_EXT) {
            set_err(errstr, errcap, "%s at byte %zu: ext types are not used", f.name, at);
            return PROTO_ERR_BADTYPE;
        }
        if (f.size > len - pos) {
            set_err(errstr, errcap, "frame ends inside %s at byte %zu (%zu bytes left)", f.name, at,
                    len - pos);
            return PROTO_ERR_TRUNC;
        }
        if (f.kind == FMT_SCALAR) {
            pos += f.size;
            continue;
        }
        if (f.size > 0) {
            n = read_be(p + pos, f.size);
            pos += f.size;
        }
        const char *what = f.name;
        bool is_map = f.kind == FMT_MAP;
        size_t rest = len - pos;

        if (f.kind == FMT_STR || f.kind == FMT_BIN) {
            if (n > PROTO_MAX_STR) {
                set_err(errstr, errcap, "%s at byte %zu is %llu bytes, limit %d", what, at,
                        (unsigned long long)n, PROTO_MAX_STR);
                return PROTO_ERR_STR;
            }
            if (n > rest) {
                set_err(errstr, errcap, "frame ends inside %s at byte %zu (%llu bytes, %zu left)",
                        what, at, (unsigned long long)n, rest);
                return PROTO_ERR_TRUNC;
            }
            size_t bad = 0;
            const char *why = f.kind == FMT_STR ? utf8_invalid(p + pos, (size_t)n, &bad) : NULL;
            if (why != NULL) {
                set_err(errstr, errcap, "%s at byte %zu: invalid UTF-8 at byte %zu (%s)", what, at,
                        pos + bad, why);
                return PROTO_ERR_UTF8;
            }
            pos += (size_t)n;
            continue;
        }

        /* A container: every item needs at least one byte, so a count beyond the bytes left
         * is a lie, refused before msgpack-c would allocate for it. */
        uint64_t items = is_map ? 2 * n : n;
        if (items > rest) {
            set_err(errstr, errcap, "%s at byte %zu declares %llu %s, only %zu bytes follow", what,
                    at, (unsigned long long)n, is_map ? "entries" : "items", rest);
            return PROTO_ERR_COUNT;
        }
        if (depth + 1 > PROTO_MAX_DEPTH) {
            set_err(errstr, errcap, "%s at byte %zu nests %d deep, limit %d", what, at, depth + 1,
                    PROTO_MAX_DEPTH);
            return PROTO_ERR_DEPTH;
        }
        if (objects + items > PROTO_MAX_ELEMENTS) {
            set_err(errstr, errcap, "%s at byte %zu brings the frame to %llu objects, limit %d",
                    what, at, (unsigned long long)(objects + items), PROTO_MAX_ELEMENTS);
            return PROTO_ERR_ELEMENTS;
        }
        depth++;
        left[depth] = items;
    }

    if (pos != len) {
        set_err(errstr, errcap, "%zu bytes after the frame's end at byte %zu", len - pos, pos);
        return PROTO_ERR_TRAILING;
    }
    return PROTO_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------------------------- */

/* An integer, or a float with an integral value in int64 range (Lua numbers are doubles). */
static int obj_int(const msgpack_object *o, int64_t *ret_val)
{
    double f;

    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return -EINVAL;
        *ret_val = (int64_t)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *ret_val = o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        f = o->via.f64;
        /* false for NaN and both infinities too */
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
            return -EINVAL;
        if ((double)(int64_t)f != f)
            return -EINVAL;
        *ret_val = (int64_t)f;
        return 0;
    default:
        return -EINVAL;
    }
}

static const char *obj_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    default:
        return "ext";
    }
}

enum { F_V, F_TYPE, F_ID, F_TS, F_SRC, F_TIER, F_BODY, F_COUNT };
static const char *const field_names[F_COUNT] = {"v", "type", "id", "ts", "src", "tier", "body"};

static int shape(proto_msg_t *msg, proto_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int shape(proto_msg_t *msg, proto_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->errstr, sizeof(msg->errstr), fmt, ap);
    va_end(ap);
    msg->err = err;
    msg->body = NULL;
    return -1;
}

/* Copies an envelope string field of min..max bytes, without NUL bytes, into buf[max + 1]. */
static int env_str(proto_msg_t *msg, const msgpack_object *o, int field, size_t min, size_t max,
                   char *buf)
{
    const char *name = field_names[field];
    if (o->type != MSGPACK_OBJECT_STR)
        return shape(msg, PROTO_ERR_SHAPE, "field %s: want a str, got %s", name, obj_type_name(o));
    size_t n = o->via.str.size;
    if (n < min || n > max)
        return shape(msg, PROTO_ERR_SHAPE, "field %s: %zu bytes, want %zu..%zu", name, n, min, max);
    if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL)
        return shape(msg, PROTO_ERR_SHAPE, "field %s: holds a NUL byte", name);
    memcpy(buf, o->via.str.ptr, n);
    buf[n] = '\0';
    return 0;
}

static int decode_envelope(proto_msg_t *msg)
{
    const msgpack_object *top = &msg->unpacked.data;
    const msgpack_object *f[F_COUNT] = {NULL};
    int64_t v;

    if (top->type != MSGPACK_OBJECT_MAP)
        return shape(msg, PROTO_ERR_SHAPE, "frame is a %s, want a map", obj_type_name(top));

    for (uint32_t i = 0; i < top->via.map.size; i++) {
        const msgpack_object *k = &top->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue; /* unknown fields are ignored, whatever their key */
        for (int j = 0; j < F_COUNT; j++) {
            if (k->via.str.size == strlen(field_names[j]) &&
                memcmp(k->via.str.ptr, field_names[j], k->via.str.size) == 0) {
                /* two decoders could read a repeated field differently: refuse it */
                if (f[j] != NULL)
                    return shape(msg, PROTO_ERR_SHAPE, "field %s appears twice", field_names[j]);
                f[j] = &top->via.map.ptr[i].val;
                break;
            }
        }
    }

    /* the version first: another version may shape the rest differently */
    if (f[F_V] == NULL)
        return shape(msg, PROTO_ERR_SHAPE, "missing field v");
    if (obj_int(f[F_V], &v) != 0)
        return shape(msg, PROTO_ERR_SHAPE, "field v: want an int, got %s", obj_type_name(f[F_V]));
    if (v != PROTO_VERSION)
        return shape(msg, PROTO_ERR_VERSION, "field v is %lld, this codec reads version %d",
                     (long long)v, PROTO_VERSION);
    msg->v = (int)v;

    for (int j = 0; j < F_COUNT; j++) {
        if (f[j] == NULL)
            return shape(msg, PROTO_ERR_SHAPE, "missing field %s", field_names[j]);
    }
    if (env_str(msg, f[F_TYPE], F_TYPE, 1, PROTO_TYPE_MAX, msg->type) != 0 ||
        env_str(msg, f[F_ID], F_ID, 1, PROTO_ID_MAX, msg->id) != 0)
        return -1;
    if (obj_int(f[F_TS], &msg->ts) != 0)
        return shape(
            msg, PROTO_ERR_SHAPE, "field ts: want an int (ms), got %s%s", obj_type_name(f[F_TS]),
            f[F_TS]->type == MSGPACK_OBJECT_FLOAT64 || f[F_TS]->type == MSGPACK_OBJECT_FLOAT32
                ? " that is not integral"
                : "");
    if (msg->ts < 0)
        return shape(msg, PROTO_ERR_SHAPE, "field ts: %lld is negative", (long long)msg->ts);
    if (env_str(msg, f[F_SRC], F_SRC, 0, PROTO_SRC_MAX, msg->src) != 0 ||
        env_str(msg, f[F_TIER], F_TIER, 1, PROTO_TIER_MAX, msg->tier) != 0)
        return -1;

    const msgpack_object *body = f[F_BODY];
    /* Lua's cmsgpack cannot tell an empty table from an empty list: [] reads as {} */
    if (body->type != MSGPACK_OBJECT_MAP &&
        !(body->type == MSGPACK_OBJECT_ARRAY && body->via.array.size == 0))
        return shape(msg, PROTO_ERR_SHAPE, "field body: want a map, got %s%s",
                     body->type == MSGPACK_OBJECT_ARRAY ? "a non-empty " : "", obj_type_name(body));
    msg->body = body;
    return 0;
}

int proto_decode(const char *data, size_t len, proto_msg_t *msg)
{
    msg->v = 0;
    msg->type[0] = msg->id[0] = msg->src[0] = msg->tier[0] = '\0';
    msg->ts = 0;
    msg->body = NULL;
    msgpack_unpacked_init(&msg->unpacked);
    msg->err = PROTO_OK;
    msg->errstr[0] = '\0';

    msg->err = proto_check(data, len, msg->errstr, sizeof(msg->errstr));
    if (msg->err != PROTO_OK)
        return -1;

    /* msgpack-c points str/bin objects into the input; the message keeps its own copy so the
     * caller may free the input (a zmq_msg_t, say) right after decoding. */
    char *copy = malloc(len);
    if (copy == NULL)
        return shape(msg, PROTO_ERR_NOMEM, "out of memory copying a %zu-byte frame", len);
    memcpy(copy, data, len);

    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&msg->unpacked, copy, len, &off);
    /* msgpack-c makes its zone on the first container: a bare scalar leaves none */
    if (r == MSGPACK_UNPACK_SUCCESS && msg->unpacked.zone == NULL)
        msg->unpacked.zone = msgpack_zone_new(256);
    if (r != MSGPACK_UNPACK_SUCCESS || msg->unpacked.zone == NULL) {
        free(copy);
        msgpack_unpacked_destroy(&msg->unpacked);
        /* after the pre-check only allocation can fail; map the rest anyway */
        proto_err_t e = r == MSGPACK_UNPACK_CONTINUE      ? PROTO_ERR_TRUNC
                        : r == MSGPACK_UNPACK_PARSE_ERROR ? PROTO_ERR_BADTYPE
                                                          : PROTO_ERR_NOMEM;
        return shape(msg, e, "msgpack-c unpack failed (%d) after the pre-check", (int)r);
    }
    if (!msgpack_zone_push_finalizer(msg->unpacked.zone, free, copy)) {
        free(copy);
        msgpack_unpacked_destroy(&msg->unpacked);
        return shape(msg, PROTO_ERR_NOMEM, "out of memory keeping a %zu-byte frame", len);
    }
    return decode_envelope(msg);
}

void proto_msg_release(proto_msg_t *msg)
{
    if (msg == NULL)
        return;
    msgpack_unpacked_destroy(&msg->unpacked);
    msg->body = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Body accessors
 * ------------------------------------------------------------------------------------------- */

const msgpack_object *proto_body_get(const proto_msg_t *msg, const char *key)
{
    if (msg == NULL || key == NULL || msg->body == NULL || msg->body->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    const msgpack_object_map *m = &msg->body->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0) {
            /* nil reads as absent, the way optional fields are left out by some producers */
            return m->ptr[i].val.type == MSGPACK_OBJECT_NIL ? NULL : &m->ptr[i].val;
        }
    }
    return NULL;
}

int proto_body_raw(const proto_msg_t *msg, const char *key, const char **ret_ptr, size_t *ret_len)
{
    const msgpack_object *o = proto_body_get(msg, key);
    if (o == NULL)
        return -ENOENT;
    if (o->type == MSGPACK_OBJECT_STR) {
        *ret_ptr = o->via.str.ptr;
        *ret_len = o->via.str.size;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_BIN) {
        *ret_ptr = o->via.bin.ptr;
        *ret_len = o->via.bin.size;
        return 0;
    }
    return -EINVAL;
}

int proto_body_str(const proto_msg_t *msg, const char *key, char *buf, size_t cap)
{
    const msgpack_object *o = proto_body_get(msg, key);
    if (o == NULL)
        return -ENOENT;
    if (o->type != MSGPACK_OBJECT_STR)
        return -EINVAL;
    size_t n = o->via.str.size;
    /* a C string cannot hold a NUL: refuse rather than cut the value short */
    if (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL)
        return -EINVAL;
    if (buf == NULL || n + 1 > cap)
        return -E2BIG;
    memcpy(buf, o->via.str.ptr, n);
    buf[n] = '\0';
    return 0;
}

int proto_body_int(const proto_msg_t *msg, const char *key, int64_t *ret_val)
{
    const msgpack_object *o = proto_body_get(msg, key);
    if (o == NULL)
        return -ENOENT;
    return obj_int(o, ret_val);
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------------------------- */

struct proto_writer_t {
    msgpack_sbuffer buf; /* the frame being built */
    msgpack_packer pk;   /* writes into buf */
    size_t body_at;      /* offset of the body's map16 header, patched by finish */
    size_t fields;       /* body fields written so far */
    size_t objects;      /* objects in the frame so far, against PROTO_MAX_ELEMENTS */
    bool failed;         /* a put failed: finish returns NULL */
};

/* Objects in the envelope: the frame map, 7 keys, 6 scalar values and the body map. */
#define WRITER_ENVELOPE_OBJECTS 15

static bool str_ok(const char *s, size_t n)
{
    size_t bad;
    return s != NULL && n <= PROTO_MAX_STR &&
           utf8_invalid((const unsigned char *)s, n, &bad) == NULL;
}

static bool pack_strn(proto_writer_t *w, const char *s, size_t n)
{
    return msgpack_pack_str(&w->pk, n) == 0 && msgpack_pack_str_body(&w->pk, s, n) == 0;
}

static bool pack_cstr(proto_writer_t *w, const char *s)
{
    return pack_strn(w, s, strlen(s));
}

static bool env_ok(const char *s, size_t min, size_t max)
{
    return s != NULL && strlen(s) >= min && strlen(s) <= max && str_ok(s, strlen(s));
}

proto_writer_t *proto_writer_new(const char *type, const char *id, int64_t ts, const char *src,
                                 const char *tier)
{
    /* refuse here what every decoder would refuse later */
    if (!env_ok(type, 1, PROTO_TYPE_MAX) || !env_ok(id, 1, PROTO_ID_MAX) || ts < 0 ||
        !env_ok(src, 0, PROTO_SRC_MAX) || !env_ok(tier, 1, PROTO_TIER_MAX))
        return NULL;

    proto_writer_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    msgpack_sbuffer_init(&w->buf);
    msgpack_packer_init(&w->pk, &w->buf, msgpack_sbuffer_write);

    bool ok = msgpack_pack_map(&w->pk, F_COUNT) == 0 && pack_cstr(w, "v") &&
              msgpack_pack_int(&w->pk, PROTO_VERSION) == 0 && pack_cstr(w, "type") &&
              pack_cstr(w, type) && pack_cstr(w, "id") && pack_cstr(w, id) && pack_cstr(w, "ts") &&
              msgpack_pack_int64(&w->pk, ts) == 0 && pack_cstr(w, "src") && pack_cstr(w, src) &&
              pack_cstr(w, "tier") && pack_cstr(w, tier) && pack_cstr(w, "body");
    /* map16 with a zero count, patched by finish */
    static const char map16[3] = {(char)0xde, 0, 0};
    w->body_at = w->buf.size;
    ok = ok && msgpack_sbuffer_write(&w->buf, map16, sizeof(map16)) == 0;
    if (!ok) {
        proto_writer_destroy(&w);
        return NULL;
    }
    w->objects = WRITER_ENVELOPE_OBJECTS;
    return w;
}

void proto_writer_destroy(proto_writer_t **w)
{
    if (w == NULL || *w == NULL)
        return;
    msgpack_sbuffer_destroy(&(*w)->buf);
    free(*w);
    *w = NULL;
}

/* Accounts for a field of `objects` objects (key included) and writes its key. */
static bool put_key(proto_writer_t *w, const char *key, size_t objects)
{
    if (w == NULL || w->failed)
        return false;
    if (key == NULL || !str_ok(key, strlen(key)) || w->fields >= 0xffff ||
        objects > PROTO_MAX_ELEMENTS - w->objects || !pack_cstr(w, key)) {
        w->failed = true;
        return false;
    }
    w->fields++;
    w->objects += objects;
    return true;
}

void proto_put_strn(proto_writer_t *w, const char *key, const char *val, size_t len)
{
    if (!put_key(w, key, 2))
        return;
    if (!str_ok(val, len) || !pack_strn(w, val, len))
        w->failed = true;
}

void proto_put_str(proto_writer_t *w, const char *key, const char *val)
{
    /* a NULL val fails in proto_put_strn */
    proto_put_strn(w, key, val, val != NULL ? strlen(val) : 0);
}

void proto_put_int(proto_writer_t *w, const char *key, int64_t val)
{
    if (!put_key(w, key, 2))
        return;
    if (msgpack_pack_int64(&w->pk, val) != 0)
        w->failed = true;
}

void proto_put_strlist(proto_writer_t *w, const char *key, const char *const *vals, size_t n)
{
    if (n > PROTO_MAX_ELEMENTS || !put_key(w, key, 2 + n)) {
        if (w != NULL)
            w->failed = true;
        return;
    }
    if ((vals == NULL && n > 0) || msgpack_pack_array(&w->pk, n) != 0) {
        w->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = vals[i] != NULL ? strlen(vals[i]) : 0;
        if (!str_ok(vals[i], len) || !pack_strn(w, vals[i], len)) {
            w->failed = true;
            return;
        }
    }
}

const char *proto_writer_finish(proto_writer_t *w, size_t *ret_len)
{
    if (w == NULL || w->failed || w->buf.size > PROTO_MAX_FRAME)
        return NULL;
    w->buf.data[w->body_at + 1] = (char)(w->fields >> 8);
    w->buf.data[w->body_at + 2] = (char)(w->fields & 0xff);
    *ret_len = w->buf.size;
    return w->buf.data;
}

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

const char *proto_err_name(proto_err_t err)
{
    switch (err) {
    case PROTO_OK:
        return "ok";
    case PROTO_ERR_SIZE:
        return "size";
    case PROTO_ERR_COUNT:
        return "count";
    case PROTO_ERR_DEPTH:
        return "depth";
    case PROTO_ERR_STR:
        return "str";
    case PROTO_ERR_ELEMENTS:
        return "elements";
    case PROTO_ERR_UTF8:
        return "utf8";
    case PROTO_ERR_TRUNC:
        return "trunc";
    case PROTO_ERR_TRAILING:
        return "trailing";
    case PROTO_ERR_BADTYPE:
        return "badtype";
    case PROTO_ERR_SHAPE:
        return "shape";
    case PROTO_ERR_VERSION:
        return "version";
    case PROTO_ERR_NOMEM:
        return "nomem";
    }
    return "unknown";
}
