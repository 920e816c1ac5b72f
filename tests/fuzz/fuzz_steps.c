/* fuzz_steps.c -- the HTTP API's body checks as a fuzz target (libFuzzer) and a corpus replayer
 *
 * An input is one byte naming the step (its position in fuzz_steps_names, modulo their count)
 * followed by the request body. The target runs steps_check against the demo county's settings
 * and units (deploy/beixian/) and aborts when the answer breaks the API's contract: a success
 * that is not a JSON object, or a refusal without a status in 400..404, a code or a message,
 * or with a buffer left unterminated. ASan and UBSan report the rest. */
#include "config.h"
#include "steps.h"
#include "units.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The corpus names steps by position: new steps go at the end, before nothing else moves.
 * The last name is not a step, for the 404 path. */
static const char *const fuzz_steps_names[] = {
    "create",  "resolve",       "reject",      "dispatch", "ack",
    "return",  "review-return", "subdispatch", "extend",   "decide-extension",
    "reply",   "rate",          "close",       "merge",    "pause",
    "explain", "claim",         "rule",        "resume",   "no-such-step",
};
#define FUZZ_STEPS_N (sizeof(fuzz_steps_names) / sizeof(fuzz_steps_names[0]))
#define FUZZ_STEPS_UNKNOWN (FUZZ_STEPS_N - 1)

/* 2026-06-01T00:00+08:00: a fixed "now" keeps time checks (due, until) reproducible. */
#define FUZZ_STEPS_NOW_MS 1780243200000LL

typedef struct fuzz_steps_env_t {
    config_t cfg;   /* the demo county's settings */
    units_t *units; /* its units register */
} fuzz_steps_env_t;

/* Loaded once: libFuzzer hands the target no context of its own. */
static fuzz_steps_env_t *fuzz_steps_env;

static void fail(const char *what, const char *step)
{
    fprintf(stderr, "fuzz_steps: step %s: %s\n", step, what);
    abort();
}

/* The repository's root: REXIAN_SOURCE_DIR, else the one the target was built from. */
static const char *fuzz_steps_root(void)
{
    const char *dir = getenv("REXIAN_SOURCE_DIR");
    if (dir != NULL && dir[0] != '\0')
        return dir;
#ifdef REXIAN_FUZZ_SOURCE_DIR
    return REXIAN_FUZZ_SOURCE_DIR;
#else
    return ".";
#endif
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024], err[512];
    fuzz_steps_env_t *env = calloc(1, sizeof(*env));

    if (env == NULL) {
        fprintf(stderr, "fuzz_steps: out of memory\n");
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/deploy/beixian/rexian.conf", fuzz_steps_root());
    if (config_load(path, &env->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_steps: %s (set REXIAN_SOURCE_DIR to the repository)\n", err);
        exit(2);
    }
    if ((env->units = units_load(env->cfg.units_path, err, sizeof(err))) == NULL) {
        fprintf(stderr, "fuzz_steps: %s\n", err);
        exit(2);
    }
    for (size_t i = 1; i < FUZZ_STEPS_UNKNOWN; i++)
        if (!steps_known(fuzz_steps_names[i]))
            fail("not a step any more: update fuzz_steps_names", fuzz_steps_names[i]);
    if (steps_known(fuzz_steps_names[0]) || steps_known(fuzz_steps_names[FUZZ_STEPS_UNKNOWN]))
        fail("known as a step", "create or no-such-step");
    fuzz_steps_env = env;
    return 0;
}

/* 1 when buf[0..cap) holds a NUL, and so is a terminated string. */
static int terminated(const char *buf, size_t cap)
{
    return memchr(buf, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the same buffer sizes as the API's handlers (services/intake/api.c) */
    char code[32], field[64], msg[600];
    size_t which = size > 0 ? data[0] % FUZZ_STEPS_N : 0;
    const char *step = fuzz_steps_names[which];
    const char *body = size > 0 ? (const char *)data + 1 : "";
    size_t len = size > 0 ? size - 1 : 0;
    int status = -1;

    if (fuzz_steps_env == NULL)
        fail("LLVMFuzzerInitialize was not called", step);
    /* no NUL anywhere: a refusal that leaves one of them unwritten is caught below */
    memset(code, 'x', sizeof(code));
    memset(field, 'x', sizeof(field));
    memset(msg, 'x', sizeof(msg));

    json_t *out = steps_check(step, body, len, &fuzz_steps_env->cfg, fuzz_steps_env->units,
                              FUZZ_STEPS_NOW_MS, &status, code, field, msg, sizeof(msg));
    if (out != NULL) {
        if (which == FUZZ_STEPS_UNKNOWN)
            fail("an unknown step was accepted", step);
        if (!json_is_object(out))
            fail("accepted, but the result is not a JSON object", step);
        /* the store receives the result as JSON text: it must serialize */
        char *text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
            fail("accepted, but the result does not serialize", step);
        free(text);
        json_decref(out);
        return 0;
    }
    if (status < 400 || status > 404)
        fail("refused without a status in 400..404", step);
    if ((status == 404) != (which == FUZZ_STEPS_UNKNOWN))
        fail("404 is for an unknown step, and only for it", step);
    if (!terminated(code, sizeof(code)) || code[0] == '\0')
        fail("refused without an error code", step);
    if (!terminated(field, sizeof(field)))
        fail("refused with the field unterminated", step);
    if (!terminated(msg, sizeof(msg)) || msg[0] == '\0')
        fail("refused without a message", step);
    return 0;
}

#ifndef REXIAN_LIBFUZZER
/* Replays files and directories of inputs through the target: the corpus as a regression test. */
#include <dirent.h>

#define FUZZ_STEPS_REPLAY_MAX (1024 * 1024) /* bytes read per input */

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(FUZZ_STEPS_REPLAY_MAX);
    size_t n = buf != NULL ? fread(buf, 1, FUZZ_STEPS_REPLAY_MAX, f) : 0;
    int bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    /* an exact-size copy, so that ASan sees a read past the end of the body */
    uint8_t *exact = malloc(n > 0 ? n : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "%s\n", path); /* names the input when the target aborts */
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
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
    LLVMFuzzerInitialize(&argc, &argv);
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
    units_destroy(&fuzz_steps_env->units);
    free(fuzz_steps_env);
    printf("%zu inputs replayed, %s\n", files, failed ? "some unreadable" : "no crash");
    return failed || files == 0 ? 1 : 0;
}
#endif
