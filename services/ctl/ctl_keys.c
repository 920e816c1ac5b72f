/* ctl_keys.c -- `rexianctl keys new NAME`: a CURVE key pair for a tier's link, written as
 * NAME.pub (the public key, given to the other tier) and NAME.key (the secret, mode 0600) */
#include "ctl_keys.h"

#include "ctl_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define CTL_KEYS_NAME_MAX 31 /* a tier key: a-z, 0-9, '-' */

static const char ctl_keys_help[] =
    "usage: rexianctl keys new NAME [--dir DIR] [--force]\n"
    "\n"
    "Makes a CURVE key pair for a tier's link (county <-> city) and writes DIR/NAME.pub (the\n"
    "public key: the other tier lists it) and DIR/NAME.key (the secret key, readable by its\n"
    "owner only). NAME is the tier key (a-z, 0-9, '-', at most 31). Existing files are kept\n"
    "unless --force. Prints the public key.\n";

/* Writes text to path with mode, refusing to replace a file unless force. 0 or -errno. */
static int ctl_keys_write(const char *path, const char *text, mode_t mode, int force)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (force ? 0 : O_EXCL), mode);
    size_t len = strlen(text);

    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return close(fd) == 0 ? 0 : -errno;
}

static int ctl_keys_new(const char *name, const char *dir, int force)
{
    char pub[41], sec[41], path[1024], line[64];
    int rc;

    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "rexianctl: this libzmq has no CURVE support (%s)\n",
                zmq_strerror(zmq_errno()));
        return CTL_EXIT_API;
    }
    snprintf(line, sizeof(line), "%s\n", sec);
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    if ((rc = ctl_keys_write(path, line, 0600, force)) != 0) {
        fprintf(stderr, "rexianctl: cannot write %s: %s%s\n", path, strerror(-rc),
                rc == -EEXIST ? " (pass --force to replace it)" : "");
        return CTL_EXIT_API;
    }
    snprintf(line, sizeof(line), "%s\n", pub);
    snprintf(path, sizeof(path), "%s/%s.pub", dir, name);
    if ((rc = ctl_keys_write(path, line, 0644, force)) != 0) {
        fprintf(stderr, "rexianctl: cannot write %s: %s%s\n", path, strerror(-rc),
                rc == -EEXIST ? " (pass --force to replace it)" : "");
        return CTL_EXIT_API;
    }
    printf("%s\n", pub);
    return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_API;
}

int ctl_keys_main(int argc, char **argv)
{
    const char *name = NULL, *dir = ".";
    int force = 0;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(ctl_keys_help, stdout);
        return CTL_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "new") != 0) {
        fprintf(stderr, "rexianctl: keys: the only subcommand is 'new'\n%s", ctl_keys_help);
        return CTL_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs(ctl_keys_help, stdout);
            return CTL_EXIT_OK;
        } else if (argv[i][0] != '-' && name == NULL) {
            name = argv[i];
        } else {
            fprintf(stderr, "rexianctl: keys new: unexpected '%s'\n%s", argv[i], ctl_keys_help);
            return CTL_EXIT_USAGE;
        }
    }
    if (name == NULL || strlen(name) > CTL_KEYS_NAME_MAX || name[0] == '\0' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
        fprintf(stderr, "rexianctl: keys new: NAME is the tier key: 1 to %d characters of "
                "a-z, 0-9 and '-'\n", CTL_KEYS_NAME_MAX);
        return CTL_EXIT_USAGE;
    }
    if (strlen(dir) > 900) {
        fprintf(stderr, "rexianctl: keys new: --dir is longer than 900 bytes\n");
        return CTL_EXIT_USAGE;
    }
    return ctl_keys_new(name, dir, force);
}
