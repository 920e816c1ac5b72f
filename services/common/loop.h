/* loop.h -- the one event loop of a process: zmq_poll over ZeroMQ sockets and fds, timers,
 * and SIGINT/SIGTERM through a signalfd (no signal handlers, no globals). */
#ifndef REXIAN_LOOP_H
#define REXIAN_LOOP_H

#include <stdint.h>

typedef struct loop_t loop_t;

/* Handlers return 0 to continue, -1 to stop the loop. */
typedef int(loop_fn)(loop_t *loop, void *arg);

#define LOOP_MAX_ITEMS 32
#define LOOP_MAX_TIMERS 16

/* Blocks SIGINT and SIGTERM for the process and watches them; returns NULL on failure. */
loop_t *loop_new(void);
void loop_destroy(loop_t **loop);

/* Readable ZeroMQ socket / fd. The socket or fd is borrowed. Returns 0 or -ENOSPC. */
int loop_add_socket(loop_t *loop, void *socket, loop_fn *fn, void *arg);
int loop_add_fd(loop_t *loop, int fd, loop_fn *fn, void *arg);
/* Stops (0) or resumes (1) watching a socket added with loop_add_socket: a consumer that
 * cannot take more leaves frames queued in ZeroMQ, whose high-water mark then pushes back. */
void loop_watch_socket(loop_t *loop, void *socket, int on);
/* Removes an fd added with loop_add_fd (e.g. when it is closed); 0 or -ENOENT. */
int loop_remove_fd(loop_t *loop, int fd);

/* A repeating timer, first run after interval_ms. Returns 0 or -ENOSPC. */
int loop_add_timer(loop_t *loop, int64_t interval_ms, loop_fn *fn, void *arg);

/* Called after every poll wake-up, whatever woke it (e.g. to flush a batch). */
void loop_set_after(loop_t *loop, loop_fn *fn, void *arg);

/* Caps the next poll's wait (e.g. while HTTP transfers are in flight); reset every turn. */
void loop_cap_wait(loop_t *loop, int64_t wait_ms);

/* Runs until a handler returns -1, loop_stop is called, or SIGINT/SIGTERM arrives.
 * Returns 0 on a signal or stop, -1 when a handler failed. */
int loop_run(loop_t *loop);
/* Runs for at most ms (a shutdown's drain): returns early on loop_stop or another signal. */
int loop_run_for(loop_t *loop, int64_t ms);
void loop_stop(loop_t *loop);

/* The signal that stopped the loop (SIGINT, SIGTERM) or 0. */
int loop_signal(const loop_t *loop);

#endif
