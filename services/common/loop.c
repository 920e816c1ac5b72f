/* loop.c -- zmq_poll event loop with timers and a signalfd (see loop.h) */
#include "loop.h"

#include "clock.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

typedef struct loop_handler_t {
    loop_fn *fn; /* called when the item is readable */
    void *arg;   /* handler's state, borrowed */
} loop_handler_t;

typedef struct loop_timer_t {
    int64_t interval_ms; /* period */
    int64_t next_ms;     /* monotonic time of the next run */
    loop_fn *fn;         /* handler */
    void *arg;           /* handler's state, borrowed */
} loop_timer_t;

struct loop_t {
    zmq_pollitem_t items[LOOP_MAX_ITEMS];     /* item 0 is the signalfd */
    loop_handler_t handlers[LOOP_MAX_ITEMS];  /* one per item */
    int n_items;                              /* items in use */
    loop_timer_t timers[LOOP_MAX_TIMERS];     /* repeating timers */
    int n_timers;                             /* timers in use */
    loop_fn *after_fn;                        /* run after every wake-up, or NULL */
    void *after_arg;                          /* its state, borrowed */
    int64_t cap_ms;                           /* cap on the next wait, -1 for none */
    int signal_fd;                            /* SIGINT/SIGTERM */
    int stopped;                              /* loop_stop was called */
    int signal;                               /* the signal that stopped it */
};

loop_t *loop_new(void)
{
    loop_t *loop = calloc(1, sizeof(*loop));
    sigset_t set;

    if (loop == NULL)
        return NULL;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        goto fail;
    signal(SIGPIPE, SIG_IGN);
    loop->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (loop->signal_fd < 0)
        goto fail;
    loop->items[0].fd = loop->signal_fd;
    loop->items[0].events = ZMQ_POLLIN;
    loop->n_items = 1;
    loop->cap_ms = -1;
    return loop;
fail:
    free(loop);
    return NULL;
}

void loop_destroy(loop_t **loop)
{
    if (loop == NULL || *loop == NULL)
        return;
    close((*loop)->signal_fd);
    free(*loop);
    *loop = NULL;
}

static int loop_add_item(loop_t *loop, void *socket, int fd, loop_fn *fn, void *arg)
{
    int i = loop->n_items;

    if (i >= LOOP_MAX_ITEMS)
        return -ENOSPC;
    loop->items[i] = (zmq_pollitem_t){.socket = socket, .fd = fd, .events = ZMQ_POLLIN};
    loop->handlers[i] = (loop_handler_t){.fn = fn, .arg = arg};
    loop->n_items++;
    return 0;
}

int loop_add_socket(loop_t *loop, void *socket, loop_fn *fn, void *arg)
{
    return loop_add_item(loop, socket, -1, fn, arg);
}

int loop_add_fd(loop_t *loop, int fd, loop_fn *fn, void *arg)
{
    return loop_add_item(loop, NULL, fd, fn, arg);
}

int loop_remove_fd(loop_t *loop, int fd)
{
    for (int i = 1; i < loop->n_items; i++) {
        if (loop->items[i].socket == NULL && loop->items[i].fd == fd) {
            memmove(&loop->items[i], &loop->items[i + 1],
                    sizeof(loop->items[0]) * (size_t)(loop->n_items - i - 1));
            memmove(&loop->handlers[i], &loop->handlers[i + 1],
                    sizeof(loop->handlers[0]) * (size_t)(loop->n_items - i - 1));
            loop->n_items--;
            return 0;
        }
    }
    return -ENOENT;
}

void loop_watch_socket(loop_t *loop, void *socket, int on)
{
    for (int i = 1; i < loop->n_items; i++)
        if (loop->items[i].socket == socket)
            loop->items[i].events = on ? ZMQ_POLLIN : 0;
}

int loop_add_timer(loop_t *loop, int64_t interval_ms, loop_fn *fn, void *arg)
{
    if (loop->n_timers >= LOOP_MAX_TIMERS)
        return -ENOSPC;
    loop->timers[loop->n_timers++] = (loop_timer_t){
        .interval_ms = interval_ms > 0 ? interval_ms : 1,
        .next_ms = clock_mono_ms() + interval_ms,
        .fn = fn,
        .arg = arg,
    };
    return 0;
}

void loop_set_after(loop_t *loop, loop_fn *fn, void *arg)
{
    loop->after_fn = fn;
    loop->after_arg = arg;
}

void loop_cap_wait(loop_t *loop, int64_t wait_ms)
{
    if (loop->cap_ms < 0 || wait_ms < loop->cap_ms)
        loop->cap_ms = wait_ms < 0 ? 0 : wait_ms;
}

void loop_stop(loop_t *loop)
{
    loop->stopped = 1;
}

int loop_signal(const loop_t *loop)
{
    return loop->signal;
}

static int64_t loop_wait_ms(loop_t *loop)
{
    int64_t now = clock_mono_ms(), wait = 1000;

    for (int i = 0; i < loop->n_timers; i++) {
        int64_t left = loop->timers[i].next_ms - now;
        if (left < wait)
            wait = left < 0 ? 0 : left;
    }
    if (loop->cap_ms >= 0 && loop->cap_ms < wait)
        wait = loop->cap_ms;
    loop->cap_ms = -1;
    return wait;
}

static int loop_run_timers(loop_t *loop)
{
    int64_t now = clock_mono_ms();

    for (int i = 0; i < loop->n_timers; i++) {
        loop_timer_t *t = &loop->timers[i];
        if (t->next_ms > now)
            continue;
        t->next_ms = now + t->interval_ms;
        if (t->fn(loop, t->arg) != 0)
            return -1;
    }
    return 0;
}

static int loop_turn(loop_t *loop, int64_t cap_ms);

int loop_run(loop_t *loop)
{
    while (!loop->stopped) {
        int rc = loop_turn(loop, -1);
        if (rc != 1)
            return rc;
    }
    return 0;
}

int loop_run_for(loop_t *loop, int64_t ms)
{
    int64_t end = clock_mono_ms() + ms;

    loop->signal = 0;
    while (!loop->stopped && clock_mono_ms() < end) {
        int rc = loop_turn(loop, end - clock_mono_ms());
        if (rc != 1)
            return rc;
    }
    return 0;
}

/* One wake-up: 1 to go on, 0 after a signal, -1 when a handler failed. */
static int loop_turn(loop_t *loop, int64_t cap_ms)
{
    int n;

    if (cap_ms >= 0)
        loop_cap_wait(loop, cap_ms);
    n = zmq_poll(loop->items, loop->n_items, (long)loop_wait_ms(loop));
    if (n < 0 && zmq_errno() != EINTR)
        return -1;
    if (n > 0 && (loop->items[0].revents & ZMQ_POLLIN)) {
        struct signalfd_siginfo si;
        if (read(loop->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            loop->signal = (int)si.ssi_signo;
            return 0;
        }
    }
    /* Handlers may add or remove fds: walk a snapshot of the count. */
    for (int i = 1, count = loop->n_items; n > 0 && i < count && i < loop->n_items; i++) {
        if (!(loop->items[i].revents & ZMQ_POLLIN))
            continue;
        loop->items[i].revents = 0;
        if (loop->handlers[i].fn(loop, loop->handlers[i].arg) != 0)
            return -1;
    }
    if (loop_run_timers(loop) != 0)
        return -1;
    if (loop->after_fn != NULL && loop->after_fn(loop, loop->after_arg) != 0)
        return -1;
    return 1;
}
