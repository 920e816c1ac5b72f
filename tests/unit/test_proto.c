/* test_proto.c -- the wire codec: golden vectors, writer round trips, accessor errors, mutations */
#include "check.h"
#include "proto.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Caller frees *ret_buf. */
static int hex_decode(const char *hex, char **ret_buf, size_t *ret_len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0)
        return -EINVAL;
    char *buf = malloc(n / 2 + 1); /* +1: malloc(0) may return NULL */
    if (buf == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return -EINVAL;
        }
        buf[i] = (char)(hi << 4 | lo);
    }
    *ret_buf = buf;
    *ret_len = n / 2;
    return 0;
}

static bool is_structural(proto_err_t e)
{
    return e != PROTO_OK && e != PROTO_ERR_SHAPE && e != PROTO_ERR_VERSION && e != PROTO_ERR_NOMEM;
}

/* Equal as the protocol reads values: numbers by value (an integral float equals the int). */
static bool same(const msgpack_object *o, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_NULL:
        return o->type == MSGPACK_OBJECT_NIL;
    case JSON_TRUE:
    case JSON_FALSE:
        return o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean == json_is_true(j);
    case JSON_INTEGER: {
        json_int_t want = json_integer_value(j);
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            return want >= 0 && o->via.u64 == (uint64_t)want;
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return o->via.i64 == want;
        if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32)
            return o->via.f64 == (double)want && (json_int_t)o->via.f64 == want;
        return false;
    }
    case JSON_REAL:
        return (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) &&
               o->via.f64 == json_real_value(j);
    case JSON_STRING:
        return o->type == MSGPACK_OBJECT_STR && o->via.str.size == json_string_length(j) &&
               memcmp(o->via.str.ptr, json_string_value(j), o->via.str.size) == 0;
    case JSON_ARRAY:
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != json_array_size(j))
            return false;
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (!same(&o->via.array.ptr[i], json_array_get(j, i)))
                return false;
        }
        return true;
    case JSON_OBJECT: {
        /* the one place the protocol reads an array as a map: an empty body */
        if (o->type == MSGPACK_OBJECT_ARRAY)
            return o->via.array.size == 0 && json_object_size(j) == 0;
        if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != json_object_size(j))
            return false;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR)
                return false;
            char key[256];
            if (k->via.str.size >= sizeof(key))
                return false;
            memcpy(key, k->via.str.ptr, k->via.str.size);
            key[k->via.str.size] = '\0';
            json_t *want = json_object_get(j, key);
            if (want == NULL || !same(&o->via.map.ptr[i].val, want))
                return false;
        }
        return true;
    }
    }
    return false;
}

/* Calls every accessor on every body key; returns the number of keys visited. */
static size_t poke_body(const proto_msg_t *msg)
{
    if (msg->body == NULL || msg->body->type != MSGPACK_OBJECT_MAP)
        return 0;
    size_t visited = 0;
    for (uint32_t i = 0; i < msg->body->via.map.size; i++) {
        const msgpack_object *k = &msg->body->via.map.ptr[i].key;
        char key[128], buf[512];
        int64_t v;
        const char *p;
        size_t n;
        if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(key))
            continue;
        memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = '\0';
        (void)proto_body_str(msg, key, buf, sizeof(buf));
        (void)proto_body_int(msg, key, &v);
        (void)proto_body_raw(msg, key, &p, &n);
        (void)proto_body_get(msg, key);
        visited++;
    }
    return visited;
}

/* ---------------------------------------------------------------------------------------------
 * Golden vectors
 * ------------------------------------------------------------------------------------------- */

static void check_valid(const char *name, const proto_msg_t *msg, const json_t *meaning)
{
    CHECK_STR(msg->type, json_string_value(json_object_get(meaning, "type")));
    CHECK_STR(msg->id, json_string_value(json_object_get(meaning, "id")));
    CHECK_STR(msg->src, json_string_value(json_object_get(meaning, "src")));
    CHECK_STR(msg->tier, json_string_value(json_object_get(meaning, "tier")));
    CHECK_INT(msg->ts, json_integer_value(json_object_get(meaning, "ts")));
    CHECK_INT(msg->v, 1);
    if (!same(&msg->unpacked.data, meaning)) {
        check_failed++;
        fprintf(stderr, "%s: decoded frame differs from its meaning\n", name);
    } else {
        check_passed++;
    }

    /* each body field through the accessors a service uses */
    const char *key;
    json_t *want;
    json_object_foreach(json_object_get(meaning, "body"), key, want)
    {
        char buf[4096];
        int64_t v;
        const char *p;
        size_t n;
        if (json_is_string(want)) {
            size_t wlen = json_string_length(want);
            CHECK_INT(proto_body_raw(msg, key, &p, &n), 0);
            CHECK(n == wlen && memcmp(p, json_string_value(want), wlen) == 0);
            if (strlen(json_string_value(want)) != wlen) {
                CHECK_INT(proto_body_str(msg, key, buf, sizeof(buf)), -EINVAL); /* holds NUL */
            } else if (wlen < sizeof(buf)) {
                CHECK_INT(proto_body_str(msg, key, buf, sizeof(buf)), 0);
                CHECK_STR(buf, json_string_value(want));
            }
            CHECK_INT(proto_body_int(msg, key, &v), -EINVAL);
        } else if (json_is_integer(want)) {
            v = 0;
            CHECK_INT(proto_body_int(msg, key, &v), 0);
            CHECK_INT(v, json_integer_value(want));
            CHECK_INT(proto_body_str(msg, key, buf, sizeof(buf)), -EINVAL);
        } else if (json_is_null(want)) {
            CHECK_INT(proto_body_str(msg, key, buf, sizeof(buf)), -ENOENT);
            CHECK_INT(proto_body_int(msg, key, &v), -ENOENT);
            CHECK(proto_body_get(msg, key) == NULL);
        } else {
            CHECK(proto_body_get(msg, key) != NULL);
        }
    }
}

static void test_vectors(void)
{
    const char *root = getenv("REXIAN_SOURCE_DIR");
    char path[4096];
    if (root == NULL) {
        fprintf(stderr, "REXIAN_SOURCE_DIR is not set: it names the repository root\n");
        check_failed++;
        return;
    }
    snprintf(path, sizeof(path), "%s/proto/vectors/vectors.json", root);
    json_error_t jerr;
    json_t *vectors = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (vectors == NULL || !json_is_array(vectors)) {
        fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
        check_failed++;
        json_decref(vectors);
        return;
    }
    CHECK(json_array_size(vectors) >= 60);

    size_t i;
    json_t *vec;
    int types_seen = 0;
    json_array_foreach(vectors, i, vec)
    {
        const char *name = json_string_value(json_object_get(vec, "name"));
        const char *hex = json_string_value(json_object_get(vec, "hex"));
        bool valid = json_is_true(json_object_get(vec, "valid"));
        char *data = NULL;
        size_t len = 0;
        if (name == NULL || hex == NULL || hex_decode(hex, &data, &len) != 0) {
            fprintf(stderr, "vector %zu: no name or bad hex\n", i);
            check_failed++;
            continue;
        }

        char cerr[128];
        proto_err_t pre = proto_check(data, len, cerr, sizeof(cerr));
        proto_msg_t msg;
        int rc = proto_decode(data, len, &msg);
        free(data); /* the message must not need the input any more */

        if (valid) {
            if (rc != 0)
                fprintf(stderr, "%s: refused: %s\n", name, msg.errstr);
            CHECK_INT(rc, 0);
            CHECK_INT(pre, PROTO_OK);
            if (rc == 0) {
                check_valid(name, &msg, json_object_get(vec, "meaning"));
                const char *t = msg.type;
                types_seen |= strcmp(t, "ticket.created") == 0      ? 1
                              : strcmp(t, "ticket.dispatched") == 0 ? 2
                              : strcmp(t, "notify") == 0            ? 4
                                                                    : 0;
            }
        } else {
            const char *want = json_string_value(json_object_get(vec, "error"));
            CHECK_INT(rc, -1);
            if (want == NULL || strcmp(proto_err_name(msg.err), want) != 0)
                fprintf(stderr, "%s: got %s (%s), want %s\n", name, proto_err_name(msg.err),
                        msg.errstr, want ? want : "?");
            CHECK_STR(proto_err_name(msg.err), want);
            CHECK(msg.errstr[0] != '\0');
            CHECK(msg.body == NULL);
            /* the pre-check alone finds structural errors; envelope errors come after it */
            CHECK_INT(pre, is_structural(msg.err) ? msg.err : PROTO_OK);
            printf("%-36s %-9s %s\n", name, proto_err_name(msg.err), msg.errstr);
        }
        proto_msg_release(&msg);
        proto_msg_release(&msg); /* twice is harmless */
    }
    CHECK_INT(types_seen, 7);
    json_decref(vectors);
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------------------------- */

static void test_writer_round_trip(void)
{
    proto_writer_t *w = proto_writer_new("ticket.dispatched", "router-2/BX-20251125-000123/2",
                                         1764043200000, "router-2@bx", "bx");
    CHECK(w != NULL);
    const char *co[] = {"bx.cgz", "bx.swj"};
    proto_put_str(w, "ticket", "BX-20251125-000123");
    proto_put_str(w, "unit", "bx.zjj");
    proto_put_strlist(w, "co_units", co, 2);
    proto_put_str(w, "urgency", "urgent");
    proto_put_strn(w, "summary", "污水井冒水xyz", strlen("污水井冒水"));
    proto_put_int(w, "dispatched_at", 1764043200000);
    proto_put_int(w, "x_min", INT64_MIN);
    proto_put_int(w, "x_max", INT64_MAX);
    proto_put_int(w, "x_neg", -1);
    proto_put_strlist(w, "x_empty", NULL, 0);
    size_t len = 0;
    const char *frame = proto_writer_finish(w, &len);
    CHECK(frame != NULL && len > 0);
    CHECK_INT(proto_check(frame, len, NULL, 0), PROTO_OK);

    proto_msg_t msg;
    CHECK_INT(proto_decode(frame, len, &msg), 0);
    proto_writer_destroy(&w); /* the message keeps its own copy */
    CHECK(w == NULL);
    proto_writer_destroy(&w);
    proto_writer_destroy(NULL);

    CHECK_STR(msg.type, "ticket.dispatched");
    CHECK_STR(msg.id, "router-2/BX-20251125-000123/2");
    CHECK_INT(msg.ts, 1764043200000);
    CHECK_STR(msg.src, "router-2@bx");
    CHECK_STR(msg.tier, "bx");
    CHECK(msg.body != NULL && msg.body->type == MSGPACK_OBJECT_MAP && msg.body->via.map.size == 10);

    char buf[64];
    int64_t v = 0;
    CHECK_INT(proto_body_str(&msg, "unit", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "bx.zjj");
    CHECK_INT(proto_body_str(&msg, "summary", buf, sizeof(buf)), 0);
    CHECK_STR(buf, "污水井冒水");
    CHECK_INT(proto_body_int(&msg, "dispatched_at", &v), 0);
    CHECK_INT(v, 1764043200000);
    CHECK_INT(proto_body_int(&msg, "x_min", &v), 0);
    CHECK(v == INT64_MIN);
    CHECK_INT(proto_body_int(&msg, "x_max", &v), 0);
    CHECK(v == INT64_MAX);
    CHECK_INT(proto_body_int(&msg, "x_neg", &v), 0);
    CHECK_INT(v, -1);
    const msgpack_object *list = proto_body_get(&msg, "co_units");
    CHECK(list != NULL && list->type == MSGPACK_OBJECT_ARRAY && list->via.array.size == 2);
    if (list != NULL && list->type == MSGPACK_OBJECT_ARRAY && list->via.array.size == 2) {
        CHECK(list->via.array.ptr[1].type == MSGPACK_OBJECT_STR &&
              list->via.array.ptr[1].via.str.size == 6 &&
              memcmp(list->via.array.ptr[1].via.str.ptr, "bx.swj", 6) == 0);
    }
    list = proto_body_get(&msg, "x_empty");
    CHECK(list != NULL && list->type == MSGPACK_OBJECT_ARRAY && list->via.array.size == 0);
    proto_msg_release(&msg);

    /* an empty body, and finishing twice gives the same frame */
    w = proto_writer_new("notify", "n1", 0, "", "bx");
    const char *f1 = proto_writer_finish(w, &len);
    CHECK(f1 != NULL);
    size_t len2 = 0;
    CHECK(proto_writer_finish(w, &len2) == f1 && len2 == len);
    CHECK_INT(proto_decode(f1, len, &msg), 0);
    CHECK(msg.body != NULL && msg.body->type == MSGPACK_OBJECT_MAP && msg.body->via.map.size == 0);
    CHECK_STR(msg.src, "");
    proto_msg_release(&msg);
    proto_writer_destroy(&w);
}

static void test_writer_refusals(void)
{
    char big[PROTO_MAX_STR + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char t49[PROTO_TYPE_MAX + 2];
    memset(t49, 't', sizeof(t49) - 1);
    t49[sizeof(t49) - 1] = '\0';

    /* envelope values every decoder would refuse */
    CHECK(proto_writer_new("", "i", 1, "s", "bx") == NULL);
    CHECK(proto_writer_new(t49, "i", 1, "s", "bx") == NULL);
    CHECK(proto_writer_new("notify", "", 1, "s", "bx") == NULL);
    CHECK(proto_writer_new("notify", "i", -1, "s", "bx") == NULL);
    CHECK(proto_writer_new("notify", "i", 1, NULL, "bx") == NULL);
    CHECK(proto_writer_new("notify", "i", 1, "s", "") == NULL);
    CHECK(proto_writer_new("notify", "i\xff", 1, "s", "bx") == NULL);

    struct {
        const char *what; /* the failing put */
        int kind;         /* which put to make */
    } cases[] = {
        {"not UTF-8", 0}, {"over PROTO_MAX_STR", 1}, {"NULL value", 2},
        {"NULL key", 3},  {"NULL in a list", 4},     {"surrogate in a key", 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_writer_t *w = proto_writer_new("notify", "i", 1, "s", "bx");
        const char *list[] = {"a", NULL};
        proto_put_str(w, "ticket", "BX-1");
        switch (cases[i].kind) {
        case 0:
            proto_put_str(w, "text", "\xc0\xaf");
            break;
        case 1:
            proto_put_str(w, "text", big);
            break;
        case 2:
            proto_put_str(w, "text", NULL);
            break;
        case 3:
            proto_put_int(w, NULL, 1);
            break;
        case 4:
            proto_put_strlist(w, "co_units", list, 2);
            break;
        case 5:
            proto_put_int(w, "\xed\xa0\x80", 1);
            break;
        }
        proto_put_int(w, "after", 1); /* a later good put does not undo the failure */
        size_t len = 99;
        if (proto_writer_finish(w, &len) != NULL)
            fprintf(stderr, "writer accepted a put with %s\n", cases[i].what);
        CHECK(proto_writer_finish(w, &len) == NULL);
        CHECK_INT(len, 99); /* untouched on failure */
        proto_writer_destroy(&w);
    }

    /* exactly PROTO_MAX_STR is fine */
    proto_writer_t *w = proto_writer_new("notify", "i", 1, "s", "bx");
    proto_put_strn(w, "text", big, PROTO_MAX_STR);
    size_t len;
    const char *f = proto_writer_finish(w, &len);
    CHECK(f != NULL);
    proto_msg_t msg;
    const char *p = NULL;
    size_t n = 0;
    CHECK_INT(proto_decode(f, len, &msg), 0);
    CHECK_INT(proto_body_raw(&msg, "text", &p, &n), 0);
    CHECK_INT(n, PROTO_MAX_STR);
    proto_msg_release(&msg);
    proto_writer_destroy(&w);

    /* the element budget: 15 envelope objects, 2 per scalar field */
    w = proto_writer_new("notify", "i", 1, "s", "bx");
    size_t fields = (PROTO_MAX_ELEMENTS - 15) / 2;
    for (size_t i = 0; i < fields; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%zu", i);
        proto_put_int(w, key, (int64_t)i);
    }
    f = proto_writer_finish(w, &len);
    CHECK(f != NULL);
    CHECK_INT(proto_decode(f, len, &msg), 0);
    CHECK(msg.body != NULL && msg.body->via.map.size == fields);
    int64_t v = 0;
    CHECK_INT(proto_body_int(&msg, "k4000", &v), 0);
    CHECK_INT(v, 4000);
    proto_msg_release(&msg);
    proto_put_int(w, "one_more", 1);
    CHECK(proto_writer_finish(w, &len) == NULL);
    proto_writer_destroy(&w);
}

/* A frame of exactly PROTO_MAX_FRAME bytes decodes; one byte more is refused by both sides. */
static void test_frame_size(void)
{
    static char big[PROTO_MAX_STR];
    memset(big, 'b', sizeof(big));
    size_t pad = 1000, len = 0;
    const char *f = NULL;
    proto_writer_t *w = NULL;
    for (int round = 0; round < 2; round++) {
        proto_writer_destroy(&w);
        w = proto_writer_new("notify", "i", 1, "s", "bx");
        proto_put_strn(w, "a", big, PROTO_MAX_STR);
        proto_put_strn(w, "b", big, PROTO_MAX_STR);
        proto_put_strn(w, "c", big, PROTO_MAX_STR);
        proto_put_strn(w, "d", big, pad);
        f = proto_writer_finish(w, &len);
        if (f == NULL)
            break;
        pad += PROTO_MAX_FRAME - len; /* one byte of value is one byte of frame here */
    }
    CHECK(f != NULL);
    CHECK_INT(len, PROTO_MAX_FRAME);
    proto_msg_t msg;
    if (f != NULL) {
        CHECK_INT(proto_decode(f, len, &msg), 0);
        proto_msg_release(&msg);

        char *over = malloc(len + 1);
        memcpy(over, f, len);
        over[len] = (char)0xc0;
        CHECK_INT(proto_decode(over, len + 1, &msg), -1);
        CHECK_INT(msg.err, PROTO_ERR_SIZE);
        proto_msg_release(&msg);
        free(over);
    }
    proto_put_int(w, "e", 1);
    CHECK(proto_writer_finish(w, &len) == NULL);
    proto_writer_destroy(&w);

    CHECK_INT(proto_decode("", 0, &msg), -1);
    CHECK_INT(msg.err, PROTO_ERR_SIZE);
    proto_msg_release(&msg);
    CHECK_INT(proto_check(NULL, 0, NULL, 0), PROTO_ERR_SIZE);
}

/* ---------------------------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------------------------- */

static void test_accessors(void)
{
    /* body: {s: "abc", i: 7, u: 2^64-1, f: 1.5, g: 3.0, n: nil, b: bin "xy", t: true} */
    static const unsigned char frame[] = {
        0x87, 0xa1, 'v',  0x01, 0xa4, 't',  'y',  'p',  'e',  0xa1, 'x',  0xa2, 'i',  'd',  0xa1,
        '1',  0xa2, 't',  's',  0x05, 0xa3, 's',  'r',  'c',  0xa0, 0xa4, 't',  'i',  'e',  'r',
        0xa2, 'b',  'x',  0xa4, 'b',  'o',  'd',  'y',  0x88, 0xa1, 's',  0xa3, 'a',  'b',  'c',
        0xa1, 'i',  0x07, 0xa1, 'u',  0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa1,
        'f',  0xcb, 0x3f, 0xf8, 0,    0,    0,    0,    0,    0,    0xa1, 'g',  0xca, 0x40, 0x40,
        0,    0,    0xa1, 'n',  0xc0, 0xa1, 'b',  0xc4, 0x02, 'x',  'y',  0xa1, 't',  0xc3};
    proto_msg_t msg;
    CHECK_INT(proto_decode((const char *)frame, sizeof(frame), &msg), 0);
    char buf[8];
    int64_t v = 42;
    const char *p = NULL;
    size_t n = 0;

    CHECK_INT(proto_body_str(&msg, "missing", buf, sizeof(buf)), -ENOENT);
    CHECK_INT(proto_body_int(&msg, "missing", &v), -ENOENT);
    CHECK_INT(proto_body_raw(&msg, "missing", &p, &n), -ENOENT);
    CHECK(proto_body_get(&msg, "missing") == NULL);
    CHECK_INT(proto_body_str(&msg, "n", buf, sizeof(buf)), -ENOENT); /* nil reads as absent */
    CHECK_INT(proto_body_int(&msg, "n", &v), -ENOENT);
    CHECK(proto_body_get(&msg, "n") == NULL);
    CHECK_INT(proto_body_str(&msg, "S", buf, sizeof(buf)), -ENOENT); /* keys are exact */
    CHECK_INT(proto_body_str(&msg, "ss", buf, sizeof(buf)), -ENOENT);

    CHECK_INT(proto_body_str(&msg, "i", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(proto_body_str(&msg, "b", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(proto_body_str(&msg, "t", buf, sizeof(buf)), -EINVAL);
    CHECK_INT(proto_body_int(&msg, "s", &v), -EINVAL);
    CHECK_INT(proto_body_int(&msg, "u", &v), -EINVAL); /* above INT64_MAX */
    CHECK_INT(proto_body_int(&msg, "f", &v), -EINVAL); /* 1.5 */
    CHECK_INT(proto_body_int(&msg, "t", &v), -EINVAL);
    CHECK_INT(v, 42); /* untouched on failure */
    CHECK_INT(proto_body_raw(&msg, "i", &p, &n), -EINVAL);

    memcpy(buf, "zzzzzzz", 8);
    CHECK_INT(proto_body_str(&msg, "s", buf, 3), -E2BIG); /* "abc" needs 4 with its NUL */
    CHECK_STR(buf, "zzzzzzz");                            /* nothing written */
    CHECK_INT(proto_body_str(&msg, "s", buf, 4), 0);
    CHECK_STR(buf, "abc");
    CHECK_INT(proto_body_int(&msg, "i", &v), 0);
    CHECK_INT(v, 7);
    CHECK_INT(proto_body_int(&msg, "g", &v), 0); /* float32 3.0 */
    CHECK_INT(v, 3);
    CHECK_INT(proto_body_raw(&msg, "b", &p, &n), 0);
    CHECK(n == 2 && memcmp(p, "xy", 2) == 0);
    CHECK_INT(proto_body_raw(&msg, "s", &p, &n), 0);
    CHECK(n == 3 && memcmp(p, "abc", 3) == 0);
    const msgpack_object *o = proto_body_get(&msg, "t");
    CHECK(o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean);
    proto_msg_release(&msg);

    /* accessors on a message that failed to decode find nothing */
    CHECK_INT(proto_decode((const char *)frame, sizeof(frame) - 1, &msg), -1);
    CHECK_INT(msg.err, PROTO_ERR_TRUNC);
    CHECK_INT(proto_body_str(&msg, "s", buf, sizeof(buf)), -ENOENT);
    CHECK(proto_body_get(&msg, "s") == NULL);
    proto_msg_release(&msg);

    /* every error has a stable name */
    for (int e = PROTO_OK; e <= PROTO_ERR_NOMEM; e++)
        CHECK(strcmp(proto_err_name((proto_err_t)e), "unknown") != 0);
    CHECK_STR(proto_err_name(PROTO_ERR_COUNT), "count");
}

/* The pre-check's error text names the problem and the byte offset. */
static void test_error_text(void)
{
    char err[128];
    CHECK_INT(proto_check("\xdf\x10\x00\x00\x00", 5, err, sizeof(err)), PROTO_ERR_COUNT);
    CHECK_STR(err, "map32 at byte 0 declares 268435456 entries, only 0 bytes follow");
    CHECK_INT(proto_check("\x81\xa1x\xa2\xed\xa0", 6, err, sizeof(err)), PROTO_ERR_UTF8);
    CHECK_STR(err, "fixstr at byte 3: invalid UTF-8 at byte 4 (sequence cut short)");
    CHECK_INT(proto_check("\x81\xa1x\xa3\xed\xa0\x80", 7, err, sizeof(err)), PROTO_ERR_UTF8);
    CHECK_STR(err, "fixstr at byte 3: invalid UTF-8 at byte 4 (UTF-16 surrogate)");
    CHECK_INT(proto_check("\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 10, err, sizeof(err)),
              PROTO_ERR_DEPTH);
    CHECK_STR(err, "fixarray at byte 8 nests 9 deep, limit 8");
    CHECK_INT(proto_check("\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 9, err, sizeof(err)), PROTO_OK);
    CHECK_INT(proto_check("\xc0\xc0", 2, err, sizeof(err)), PROTO_ERR_TRAILING);
    CHECK_STR(err, "1 bytes after the frame's end at byte 1");
    CHECK_INT(proto_check("\x92\x01\xcd", 3, err, 8), PROTO_ERR_TRUNC); /* errstr cut to its cap */
    CHECK_INT((long long)strlen(err), 7);
}

/* ---------------------------------------------------------------------------------------------
 * Mutations: nothing crashes, every outcome is a message or an error
 * ------------------------------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64*: fixed seed, same run every time */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void test_mutations(void)
{
    static const struct {
        const char *b; /* bytes to splice in */
        size_t n;      /* how many */
    } splices[] = {
        {"\xdf\x10\x00\x00\x00", 5},
        {"\xdd\xff\xff\xff\xff", 5},
        {"\xdc\xff\xff", 3},
        {"\xde\xff\xff", 3},
        {"\xdb\x7f\xff\xff\xff", 5},
        {"\xc6\xff\xff\xff\xff", 5},
        {"\x9f", 1},
        {"\x8f", 1},
        {"\xc1", 1},
        {"\xd4\x01\x00", 3},
        {"\xed\xa0\x80", 3},
        {"\xcb\x7f\xf8\0\0\0\0\0\0", 9},
    };
    const char *root = getenv("REXIAN_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/proto/vectors/vectors.json", root ? root : ".");
    json_t *vectors = json_load_file(path, JSON_ALLOW_NUL, NULL);
    CHECK(vectors != NULL);
    if (vectors == NULL)
        return;

    uint64_t seed = 0x12345ULL;
    size_t decoded = 0, refused = 0, broken = 0, keys = 0;
    size_t by_err[PROTO_ERR_NOMEM + 1] = {0};
    size_t idx;
    json_t *vec;
    json_array_foreach(vectors, idx, vec)
    {
        if (!json_is_true(json_object_get(vec, "valid")))
            continue;
        char *orig = NULL;
        size_t olen = 0;
        if (hex_decode(json_string_value(json_object_get(vec, "hex")), &orig, &olen) != 0)
            continue;
        for (int round = 0; round < 300; round++) {
            size_t cap = olen + 64;
            char *b = malloc(cap);
            size_t n = olen;
            memcpy(b, orig, olen);
            int edits = 1 + (int)(rnd(&seed) % 3);
            for (int e = 0; e < edits && n > 0; e++) {
                size_t at = rnd(&seed) % n;
                switch (rnd(&seed) % 6) {
                case 0: /* truncate */
                    n = at;
                    break;
                case 1: /* flip bytes */
                    for (int k = 0; k < 4 && at + (size_t)k < n; k++)
                        b[at + k] = (char)rnd(&seed);
                    break;
                case 2: { /* splice a hostile header in */
                    size_t s = rnd(&seed) % (sizeof(splices) / sizeof(splices[0]));
                    if (n + splices[s].n > cap)
                        break;
                    memmove(b + at + splices[s].n, b + at, n - at);
                    memcpy(b + at, splices[s].b, splices[s].n);
                    n += splices[s].n;
                    break;
                }
                case 3: { /* overwrite with a hostile header */
                    size_t s = rnd(&seed) % (sizeof(splices) / sizeof(splices[0]));
                    for (size_t k = 0; k < splices[s].n && at + k < n; k++)
                        b[at + k] = splices[s].b[k];
                    break;
                }
                case 5: /* a letter for another: often still a valid frame */
                    if (b[at] >= 'a' && b[at] <= 'z')
                        b[at] = (char)('a' + rnd(&seed) % 26);
                    break;
                case 4: { /* cut a range out */
                    size_t cut = 1 + rnd(&seed) % 8;
                    if (at + cut > n)
                        cut = n - at;
                    memmove(b + at, b + at + cut, n - at - cut);
                    n -= cut;
                    break;
                }
                }
            }
            proto_err_t pre = proto_check(b, n, NULL, 0);
            proto_msg_t msg;
            int rc = proto_decode(b, n, &msg);
            if (rc == 0) {
                decoded++;
                keys += poke_body(&msg);
                if (msg.err != PROTO_OK || msg.body == NULL || msg.type[0] == '\0' ||
                    pre != PROTO_OK)
                    broken++;
            } else {
                refused++;
                if (rc != -1 || msg.err == PROTO_OK || msg.err > PROTO_ERR_NOMEM ||
                    msg.errstr[0] == '\0' || msg.body != NULL ||
                    pre != (is_structural(msg.err) ? msg.err : PROTO_OK))
                    broken++;
                else
                    by_err[msg.err]++;
                CHECK_INT(poke_body(&msg), 0);
            }
            proto_msg_release(&msg);
            free(b);
        }
        free(orig);
    }
    json_decref(vectors);

    printf("mutations: %zu decoded (%zu body keys read), %zu refused:", decoded, keys, refused);
    for (int e = 1; e <= PROTO_ERR_NOMEM; e++)
        printf(" %s=%zu", proto_err_name((proto_err_t)e), by_err[e]);
    printf("\n");
    CHECK(decoded + refused >= 3000);
    CHECK_INT(broken, 0);
    CHECK(decoded > 0);
    CHECK(by_err[PROTO_ERR_COUNT] > 0 && by_err[PROTO_ERR_TRUNC] > 0 &&
          by_err[PROTO_ERR_UTF8] > 0 && by_err[PROTO_ERR_BADTYPE] > 0 &&
          by_err[PROTO_ERR_STR] > 0 && by_err[PROTO_ERR_SHAPE] > 0);
}

int main(void)
{
    test_vectors();
    test_writer_round_trip();
    test_writer_refusals();
    test_frame_size();
    test_accessors();
    test_error_text();
    test_mutations();
    return check_done();
}
