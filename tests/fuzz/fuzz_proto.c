/* fuzz_proto.c -- the codec's fuzz target (libFuzzer) and, without libFuzzer, a corpus replayer
 *
 * The target decodes the input, reads every body key through every accessor and, for a frame
 * that decodes, writes its str and int fields again and decodes that. It aborts when the codec
 * contradicts itself: a decode that succeeds with an error set, a failure without one, a
 * pre-check that disagrees with the decoder, or a re-written frame that reads differently. */
#include "proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_proto: %s\n", what);
    abort();
}

static bool structural(proto_err_t e)
{
    return e != PROTO_OK && e != PROTO_ERR_SHAPE && e != PROTO_ERR_VERSION && e != PROTO_ERR_NOMEM;
}

/* Body key i as a C string in key[cap]; false when it is not a str or holds a NUL. */
static bool body_key(const proto_msg_t *msg, uint32_t i, char *key, size_t cap)
{
    const msgpack_object *k = &msg->body->via.map.ptr[i].key;
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= cap ||
        memchr(k->via.str.ptr, '\0', k->via.str.size) != NULL)
        return false;
    memcpy(key, k->via.str.ptr, k->via.str.size);
    key[k->via.str.size] = '\0';
    return true;
}

/* Writes the str and int fields of msg again, decodes the result and compares. */
static void rewrite(const proto_msg_t *msg, size_t in_len)
{
    proto_writer_t *w = proto_writer_new(msg->type, msg->id, msg->ts, msg->src, msg->tier);
    if (w == NULL)
        fail("the writer refused an envelope the decoder accepted");
    uint32_t n = msg->body->type == MSGPACK_OBJECT_MAP ? msg->body->via.map.size : 0;
    for (uint32_t i = 0; i < n; i++) {
        char key[256];
        const char *p;
        size_t len;
        int64_t v;
        if (!body_key(msg, i, key, sizeof(key)) ||
            proto_body_get(msg, key) != &msg->body->via.map.ptr[i].val)
            continue; /* nil, or a repeated key: the accessors read the first */
        if (proto_body_raw(msg, key, &p, &len) == 0 &&
            msg->body->via.map.ptr[i].val.type == MSGPACK_OBJECT_STR)
            proto_put_strn(w, key, p, len);
        else if (proto_body_int(msg, key, &v) == 0)
            proto_put_int(w, key, v);
    }
    size_t out_len = 0;
    const char *out = proto_writer_finish(w, &out_len);
    if (out == NULL) {
        /* only a frame at the size limit may grow past it (map16 body header, ints widened) */
        if (in_len + 64 < PROTO_MAX_FRAME)
            fail("the writer refused fields the decoder accepted");
        proto_writer_destroy(&w);
        return;
    }
    proto_msg_t again;
    if (proto_decode(out, out_len, &again) != 0)
        fail("a re-written frame does not decode");
    if (strcmp(again.type, msg->type) != 0 || strcmp(again.id, msg->id) != 0 ||
        strcmp(again.src, msg->src) != 0 || strcmp(again.tier, msg->tier) != 0 ||
        again.ts != msg->ts)
        fail("a re-written envelope reads differently");
    for (uint32_t i = 0; i < n; i++) {
        char key[256];
        const char *p1, *p2;
        size_t l1, l2;
        int64_t v1, v2;
        if (!body_key(msg, i, key, sizeof(key)))
            continue;
        if (msg->body->via.map.ptr[i].val.type == MSGPACK_OBJECT_STR &&
            proto_body_raw(msg, key, &p1, &l1) == 0 &&
            (proto_body_raw(&again, key, &p2, &l2) != 0 || l1 != l2 || memcmp(p1, p2, l1) != 0))
            fail("a re-written str field reads differently");
        if (proto_body_int(msg, key, &v1) == 0 &&
            (proto_body_int(&again, key, &v2) != 0 || v1 != v2))
            fail("a re-written int field reads differently");
    }
    proto_msg_release(&again);
    proto_writer_destroy(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errstr[128];
    proto_err_t pre = proto_check((const char *)data, size, errstr, sizeof(errstr));
    proto_msg_t msg;
    int rc = proto_decode((const char *)data, size, &msg);

    if (rc == 0) {
        if (msg.err != PROTO_OK || msg.body == NULL || pre != PROTO_OK)
            fail("decoded, yet an error is set or the pre-check refused the frame");
        uint32_t n = msg.body->type == MSGPACK_OBJECT_MAP ? msg.body->via.map.size : 0;
        for (uint32_t i = 0; i < n; i++) {
            char key[256], buf[64];
            const char *p;
            size_t len;
            int64_t v;
            if (!body_key(&msg, i, key, sizeof(key)))
                continue;
            int r1 = proto_body_str(&msg, key, buf, sizeof(buf));
            int r2 = proto_body_int(&msg, key, &v);
            int r3 = proto_body_raw(&msg, key, &p, &len);
            const msgpack_object *o = proto_body_get(&msg, key);
            if ((r1 == -ENOENT) != (o == NULL) || (r2 == -ENOENT) != (o == NULL) ||
                (r3 == -ENOENT) != (o == NULL))
                fail("accessors disagree on whether a key is there");
            if (r1 == 0 && strlen(buf) != len)
                fail("proto_body_str and proto_body_raw disagree");
        }
        rewrite(&msg, size);
    } else {
        if (rc != -1 || msg.err == PROTO_OK || msg.err > PROTO_ERR_NOMEM || msg.errstr[0] == '\0' ||
            msg.body != NULL)
            fail("failed without an error, or left a body behind");
        if (pre != (structural(msg.err) ? msg.err : PROTO_OK))
            fail("the pre-check and the decoder disagree");
        if (strcmp(errstr, msg.errstr) != 0 && structural(msg.err))
            fail("the pre-check and the decoder explain the error differently");
    }
    proto_msg_release(&msg);
    return 0;
}

#ifndef REXIAN_LIBFUZZER
/* Replays files and directories of inputs through the target: the corpus as a regression test. */
#include <dirent.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 2 * PROTO_MAX_FRAME; /* larger inputs are cut: the codec refuses them anyway */
    uint8_t *buf = malloc(cap);
    size_t n = buf != NULL ? fread(buf, 1, cap, f) : 0;
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    size_t files = 0;
    int failed = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            failed |= replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            failed |= replay_file(path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("%zu inputs replayed, %s\n", files, failed ? "some unreadable" : "no crash");
    return failed || files == 0 ? 1 : 0;
}
#endif
