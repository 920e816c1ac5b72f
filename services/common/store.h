/* store.h -- the ticket store: the Redis function library (lua/rexian.lua) every service loads.
 * Services change tickets only by calling its functions (FCALL name 0 ARGV...); see the file's
 * header for the keys. */
#ifndef REXIAN_STORE_H
#define REXIAN_STORE_H

/* The libraries' sources, generated at build time from the .lua files in lua/. */
extern const char store_library[];
/* lua/tiers.lua: the links between tiers (feed, city views, dispatch down) */
extern const char store_tiers_library[];

/* Every library a service loads, NULL-terminated (store.c). */
extern const char *const store_libraries[];

#endif
