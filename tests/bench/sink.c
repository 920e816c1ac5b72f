/* sink.c -- scripts/bench's webhook receiver: answers 200 and stamps every delivery */
/*
 * libmicrohttpd with its own thread pool, answering at once. Every POST that carries
 * X-Rexian-Notification-Id is recorded: the ticket and the role (the body's "ticket" and "role"
 * fields), the event kind (X-Rexian-Event), the notification id and the receive time
 * (CLOCK_REALTIME, nanoseconds: the load generator stamps its POSTs with the same clock). A
 * notification id seen before counts as a duplicate. A ticket counts as routed when its lead
 * unit's unit.new_order or the dispatcher's dispatch.manual has arrived. The signature is not
 * checked: the system test does that; here the receiver must not be the bottleneck.
 *
 * --delay-ms N plays a slow receiver instead: one thread per connection, each answering its
 * request N ms after it arrived, so a waiting answer holds up only its own connection (a
 * notifier keeps up to [notifier] parallel connections open). The receive time is still
 * stamped on arrival, before the wait.
 *
 *   GET /count   {"deliveries":N,"unique":N,"duplicates":N,"routed":N,"kinds":{...}, ...}
 *   SIGTERM/SIGINT   stop, write --out (TSV: ticket, kind, role, recv_ns, duplicate, nid), exit
 *
 *   rexian-bench-sink --port PORT [--host 127.0.0.1] [--threads 2] [--max 4000000]
 *                     [--out FILE] [--delay-ms 0]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SINK_MAX_BODY (64 * 1024) /* bytes of a webhook body (the notifier's own limit) */
#define SINK_MAX_RECORDS 50000000 /* upper bound for --max */
#define SINK_MAX_THREADS 64       /* upper bound for --threads */
#define SINK_MAX_KINDS 16         /* distinct event kinds counted */
#define SINK_MAX_DELAY_MS 60000   /* upper bound for --delay-ms */
#define SINK_MAX_CONNS 4096       /* connections at once (threads, with --delay-ms) */

typedef struct sink_record_t {
    char ticket[48]; /* the order, "" when the body named none */
    char kind[40];   /* X-Rexian-Event */
    char role[8];    /* "lead", "co" or "" (the body's role field) */
    char nid[128];   /* X-Rexian-Notification-Id */
    int64_t recv_ns; /* when the whole request had arrived */
    int duplicate;   /* the id was seen before */
} sink_record_t;

typedef struct sink_kind_t {
    char name[40];  /* event kind */
    uint64_t count; /* deliveries of it */
} sink_kind_t;

/* A set of records by one of their strings: open addressing, record index + 1, 0 = empty. */
typedef struct sink_set_t {
    uint32_t *slots; /* cap slots */
    size_t cap;      /* a power of two, at least twice the entries */
    size_t n;        /* entries */
    size_t offset;   /* offsetof(sink_record_t, the key field) */
} sink_set_t;

typedef struct sink_t {
    pthread_mutex_t lock;       /* guards everything below */
    sink_record_t *records;     /* in arrival order */
    size_t n_records;           /* used */
    size_t cap_records;         /* allocated */
    size_t max_records;         /* limit; later deliveries are counted, not recorded */
    sink_set_t nids;            /* notification ids seen */
    sink_set_t routed;          /* tickets whose first notification came */
    uint64_t deliveries;        /* POSTs with a notification id */
    uint64_t duplicates;        /* of those, ids seen before */
    uint64_t n_routed;          /* tickets in routed */
    uint64_t dropped;           /* not recorded: --max reached or no memory */
    uint64_t bad;               /* requests without a notification id, or too large */
    sink_kind_t kinds[SINK_MAX_KINDS]; /* per event kind */
    int n_kinds;                /* used */
    struct MHD_Response *ok;    /* the shared 200 answer */
    long delay_ms;              /* wait before answering a POST; 0 = at once */
} sink_t;

typedef struct sink_req_t {
    char *body;      /* the request body, NUL-terminated */
    size_t len;      /* bytes */
    int too_large;   /* passed SINK_MAX_BODY */
} sink_req_t;

static int64_t sink_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t sink_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* ------------------------------------------------------------------------------------------
 * Records (called with the lock held) */

static const char *sink_key(const sink_t *s, const sink_set_t *set, uint32_t slot)
{
    return (const char *)&s->records[slot - 1] + set->offset;
}

static int sink_set_grow(sink_t *s, sink_set_t *set)
{
    size_t cap = set->cap ? set->cap * 2 : 65536;
    uint32_t *t = calloc(cap, sizeof(*t));

    if (t == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < set->cap; i++) {
        if (set->slots[i] == 0)
            continue;
        size_t j = sink_hash(sink_key(s, set, set->slots[i])) & (cap - 1);
        while (t[j] != 0)
            j = (j + 1) & (cap - 1);
        t[j] = set->slots[i];
    }
    free(set->slots);
    set->slots = t;
    set->cap = cap;
    return 0;
}

/* Returns 1 when record idx's key is in the set already; else adds it and returns 0. */
static int sink_set_add(sink_t *s, sink_set_t *set, size_t idx)
{
    const char *key = (const char *)&s->records[idx] + set->offset;
    size_t j;

    if ((set->n + 1) * 2 > set->cap && sink_set_grow(s, set) != 0)
        return 0;
    j = sink_hash(key) & (set->cap - 1);
    while (set->slots[j] != 0) {
        if (strcmp(sink_key(s, set, set->slots[j]), key) == 0)
            return 1;
        j = (j + 1) & (set->cap - 1);
    }
    set->slots[j] = (uint32_t)(idx + 1);
    set->n++;
    return 0;
}

static void sink_count_kind(sink_t *s, const char *kind)
{
    for (int i = 0; i < s->n_kinds; i++) {
        if (strcmp(s->kinds[i].name, kind) == 0) {
            s->kinds[i].count++;
            return;
        }
    }
    if (s->n_kinds < SINK_MAX_KINDS) {
        snprintf(s->kinds[s->n_kinds].name, sizeof(s->kinds[0].name), "%s", kind);
        s->kinds[s->n_kinds++].count = 1;
    }
}

/* Copies the string value of "name": in compact JSON into buf ("" when absent or too long). */
static void sink_json_str(const char *body, const char *name, char *buf, size_t cap)
{
    char pat[32];
    const char *v, *q;

    buf[0] = '\0';
    snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    if (body == NULL || (v = strstr(body, pat)) == NULL)
        return;
    v += strlen(pat);
    if ((q = strchr(v, '"')) != NULL && (size_t)(q - v) < cap)
        snprintf(buf, cap, "%.*s", (int)(q - v), v);
}

static void sink_record(sink_t *s, const char *nid, const char *kind, const char *body,
                        int64_t now)
{
    sink_record_t *r;

    pthread_mutex_lock(&s->lock);
    s->deliveries++;
    sink_count_kind(s, kind);
    if (s->n_records == s->cap_records && s->n_records < s->max_records) {
        size_t cap = s->cap_records ? s->cap_records * 2 : 65536;
        sink_record_t *p;
        if (cap > s->max_records)
            cap = s->max_records;
        if ((p = realloc(s->records, cap * sizeof(*p))) != NULL) {
            s->records = p;
            s->cap_records = cap;
        }
    }
    if (s->n_records == s->cap_records) {
        s->dropped++;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    r = &s->records[s->n_records];
    memset(r, 0, sizeof(*r));
    r->recv_ns = now;
    snprintf(r->nid, sizeof(r->nid), "%s", nid);
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    sink_json_str(body, "ticket", r->ticket, sizeof(r->ticket));
    sink_json_str(body, "role", r->role, sizeof(r->role));
    r->duplicate = sink_set_add(s, &s->nids, s->n_records);
    s->duplicates += (uint64_t)r->duplicate;
    if (!r->duplicate && r->ticket[0] != '\0' &&
        ((strcmp(kind, "unit.new_order") == 0 && strcmp(r->role, "co") != 0) ||
         strcmp(kind, "dispatch.manual") == 0))
        s->n_routed += (uint64_t)!sink_set_add(s, &s->routed, s->n_records);
    s->n_records++;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------------------------------
 * HTTP */

static enum MHD_Result sink_answer(struct MHD_Connection *conn, unsigned status,
                                   const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result sink_count(sink_t *s, struct MHD_Connection *conn)
{
    char text[2048];
    size_t o;

    pthread_mutex_lock(&s->lock);
    o = (size_t)snprintf(text, sizeof(text),
                         "{\"deliveries\":%llu,\"unique\":%llu,\"duplicates\":%llu,"
                         "\"routed\":%llu,\"dropped\":%llu,\"bad\":%llu,\"kinds\":{",
                         (unsigned long long)s->deliveries,
                         (unsigned long long)(s->deliveries - s->duplicates - s->dropped),
                         (unsigned long long)s->duplicates, (unsigned long long)s->n_routed,
                         (unsigned long long)s->dropped,
                         (unsigned long long)s->bad);
    for (int i = 0; i < s->n_kinds && o < sizeof(text); i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"%s\":%llu", i ? "," : "",
                              s->kinds[i].name, (unsigned long long)s->kinds[i].count);
    pthread_mutex_unlock(&s->lock);
    if (o < sizeof(text))
        snprintf(text + o, sizeof(text) - o, "}}");
    return sink_answer(conn, 200, text);
}

static enum MHD_Result sink_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload,
                                   size_t *upload_size, void **con_cls)
{
    sink_t *s = cls;
    sink_req_t *req = *con_cls;
    const char *nid, *kind;

    if (strcmp(method, "GET") == 0)
        return strcmp(url, "/count") == 0
                   ? sink_count(s, conn)
                   : sink_answer(conn, 404, "{\"error\":\"only GET /count and POST\"}");
    if (strcmp(method, "POST") != 0)
        return sink_answer(conn, 405, "{\"error\":\"use POST\"}");
    if (req == NULL) {
        if ((req = calloc(1, sizeof(*req))) == NULL)
            return MHD_NO;
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!req->too_large && req->len + *upload_size <= SINK_MAX_BODY) {
            char *p = realloc(req->body, req->len + *upload_size + 1);
            if (p == NULL)
                return MHD_NO;
            req->body = p;
            memcpy(req->body + req->len, upload, *upload_size);
            req->len += *upload_size;
            req->body[req->len] = '\0';
        } else {
            req->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    nid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Notification-Id");
    kind = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Event");
    if (nid == NULL || req->too_large) {
        pthread_mutex_lock(&s->lock);
        s->bad++;
        pthread_mutex_unlock(&s->lock);
        return sink_answer(conn, 400, "{\"error\":\"no X-Rexian-Notification-Id, or the body "
                           "passed 64 KB\"}");
    }
    sink_record(s, nid, kind != NULL ? kind : "", req->body, sink_now_ns());
    if (s->delay_ms > 0) {
        /* this connection's own thread: only this connection waits */
        struct timespec ts = {.tv_sec = s->delay_ms / 1000,
                              .tv_nsec = (s->delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    return MHD_queue_response(conn, 200, s->ok);
}

static void sink_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    sink_req_t *req = *con_cls;

    if (req == NULL)
        return;
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------------------------------
 * Main */

static int sink_write(const sink_t *s, const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "sink: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# ticket\tkind\trole\trecv_ns\tduplicate\tnid\n");
    for (size_t i = 0; i < s->n_records; i++) {
        const sink_record_t *r = &s->records[i];
        fprintf(f, "%s\t%s\t%s\t%lld\t%d\t%s\n", r->ticket[0] ? r->ticket : "-",
                r->kind[0] ? r->kind : "-", r->role[0] ? r->role : "-", (long long)r->recv_ns,
                r->duplicate, r->nid);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "sink: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int sink_usage(const char *msg)
{
    if (msg != NULL)
        fprintf(stderr, "sink: %s\n", msg);
    fprintf(stderr, "usage: rexian-bench-sink --port PORT [--host 127.0.0.1] [--threads 1..%d] "
            "[--max 1..%d] [--out FILE] [--delay-ms 0..%d]\n", SINK_MAX_THREADS,
            SINK_MAX_RECORDS, SINK_MAX_DELAY_MS);
    return 2;
}

static int sink_long(const char *v, long min, long max, long *ret)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
        return -1;
    *ret = n;
    return 0;
}

int main(int argc, char **argv)
{
    static const char ok[] = "{\"ok\":true}";
    sink_t s = {.lock = PTHREAD_MUTEX_INITIALIZER, .max_records = 4000000,
                .nids = {.offset = offsetof(sink_record_t, nid)},
                .routed = {.offset = offsetof(sink_record_t, ticket)}};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const char *host = "127.0.0.1", *out = NULL;
    long port = -1, threads = 2, v;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t sigs;
    int sig = 0, rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            return sink_usage("every option needs a value");
        i++;
        if (strcmp(a, "--host") == 0)
            host = val;
        else if (strcmp(a, "--port") == 0 && sink_long(val, 0, 65535, &port) == 0)
            ;
        else if (strcmp(a, "--threads") == 0 && sink_long(val, 1, SINK_MAX_THREADS, &threads) == 0)
            ;
        else if (strcmp(a, "--max") == 0 && sink_long(val, 1, SINK_MAX_RECORDS, &v) == 0)
            s.max_records = (size_t)v;
        else if (strcmp(a, "--out") == 0)
            out = val;
        else if (strcmp(a, "--delay-ms") == 0 &&
                 sink_long(val, 0, SINK_MAX_DELAY_MS, &s.delay_ms) == 0)
            ;
        else
            return sink_usage("unknown option or a value out of range");
    }
    if (port < 0)
        return sink_usage("--port is required (0 picks a free one)");
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return sink_usage("--host must be an IPv4 address");
    sa.sin_port = htons((uint16_t)port);
    /* the pool's threads inherit the mask: only the main thread takes the signals */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    s.ok = MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    if (s.ok == NULL)
        return 1;
    MHD_add_response_header(s.ok, "Content-Type", "application/json");
    if (s.delay_ms > 0) /* --threads does not apply: a thread per connection */
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                 MHD_USE_POLL,
                             0, NULL, NULL, sink_access, &s, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)SINK_MAX_CONNS,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                             MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
                             MHD_OPTION_NOTIFY_COMPLETED, sink_completed, NULL,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    else
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                             sink_access, &s, MHD_OPTION_SOCK_ADDR, &sa,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)SINK_MAX_CONNS,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                             MHD_OPTION_NOTIFY_COMPLETED, sink_completed, NULL,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "sink: cannot listen on %s:%ld\n", host, port);
        MHD_destroy_response(s.ok);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening %s:%u\n", host, info != NULL ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(s.ok);
    fprintf(stderr, "sink: %llu deliveries, %llu duplicates, %llu not recorded, %llu bad\n",
            (unsigned long long)s.deliveries, (unsigned long long)s.duplicates,
            (unsigned long long)s.dropped, (unsigned long long)s.bad);
    if (out != NULL && sink_write(&s, out) != 0)
        rc = 1;
    free(s.records);
    free(s.nids.slots);
    free(s.routed.slots);
    return rc;
}
