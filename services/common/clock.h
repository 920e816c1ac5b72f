/* clock.h -- the services' notion of now, with a test-only offset */
#ifndef REXIAN_CLOCK_H
#define REXIAN_CLOCK_H

#include <stdint.h>

/* Wall-clock milliseconds since the Unix epoch, plus offset_ms. The offset exists so system
 * tests can move a service days ahead (a 5-working-day deadline checked without waiting); it
 * comes from the config ([test] time_offset) and is 0 in production. */
int64_t clock_now_ms(int64_t offset_ms);

/* Monotonic milliseconds, for timers and latency measurements. */
int64_t clock_mono_ms(void);

#endif
