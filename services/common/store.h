/* store.h -- the ticket store: the Redis function library (lua/rexian.lua) every service loads.
 * Services change tickets only by calling its functions (FCALL name 0 ARGV...); see the file's
 * header for the keys. */
#ifndef REXIAN_STORE_H
#define REXIAN_STORE_H

/* The library's source, generated at build time from lua/rexian.lua. */
extern const char store_library[];

#endif
