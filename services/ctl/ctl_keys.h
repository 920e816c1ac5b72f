/* ctl_keys.h -- `rexianctl keys`: CURVE key pairs for the links between tiers (tier.h) */
#ifndef REXIAN_CTL_KEYS_H
#define REXIAN_CTL_KEYS_H

/* Runs `rexianctl keys ...` with argv[0] == "keys". Returns the exit code (CTL_EXIT_*). */
int ctl_keys_main(int argc, char **argv);

#endif
