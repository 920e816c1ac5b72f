/* test_webhook.c -- webhook signing, backoff, request limits, and real deliveries to a local
 * HTTP server that checks every header and the signature the way a receiver would. */
#include "check.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TEST_SECRET "rexian-test-secret"
#define TEST_TIMEOUT_MS 800L              /* the pool's per-transfer limit in the delivery tests */
#define TEST_SLOW_MS 3000                 /* how long /slow stalls: well past TEST_TIMEOUT_MS */
#define TEST_BIG_REPLY (8L * 1024 * 1024) /* bytes /big answers with, to be discarded */

static int64_t test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* Signing: vectors computed with `openssl dgst -sha256 -hmac KEY` over "TS.BODY"              */
/* ------------------------------------------------------------------------------------------ */

static void test_sign(void)
{
    const char *body = "{\"ticket\":\"bx-2024-000123\",\"kind\":\"ticket.overdue\","
                       "\"unit\":\"北县住建局\"}";
    char hex[65], long_key[101];

    /* printf '%s' '1700000000.{...}' | openssl dgst -sha256 -hmac 'rexian-test-secret' */
    CHECK_INT(webhook_sign(TEST_SECRET, 1700000000L, body, strlen(body), hex), 0);
    CHECK_STR(hex, "fc8976d15706abf6c95be6506575be189548a6ac7620adbbba8c92493ab9397a");

    /* printf '%s' '0.' | openssl dgst -sha256 -hmac 'k' (empty body) */
    CHECK_INT(webhook_sign("k", 0, NULL, 0, hex), 0);
    CHECK_STR(hex, "6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");

    /* A key longer than SHA-256's 64-byte block is hashed first: 100 x 'x' over '1234567890.[]' */
    memset(long_key, 'x', 100);
    long_key[100] = '\0';
    CHECK_INT(webhook_sign(long_key, 1234567890L, "[]", 2, hex), 0);
    CHECK_STR(hex, "683c9dbdfda19bc564f229afc649f46cc67ddf5a8933811243bd447af3e9b4e5");

    /* The timestamp is part of what is signed: a replay with a new timestamp fails. */
    CHECK_INT(webhook_sign(TEST_SECRET, 1700000001L, body, strlen(body), hex), 0);
    CHECK(strcmp(hex, "fc8976d15706abf6c95be6506575be189548a6ac7620adbbba8c92493ab9397a") != 0);

    CHECK_INT(webhook_sign("", 1, "{}", 2, hex), -EINVAL);
    CHECK_INT(webhook_sign(NULL, 1, "{}", 2, hex), -EINVAL);
    CHECK_INT(webhook_sign("k", -1, "{}", 2, hex), -EINVAL);
    CHECK_INT(webhook_sign("k", 1, NULL, 2, hex), -EINVAL);
}

/* ------------------------------------------------------------------------------------------ */
/* Backoff                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void test_backoff(void)
{
    uint32_t rng = 2463534242u; /* xorshift32 state: reproducible spread of rnd values */
    int64_t ceiling = 1000, prev_min = 0;
    int out_of_range = 0, hit_low = 0, hit_high = 0;

    for (int attempt = 1; attempt <= 20; attempt++) {
        int64_t lo = ceiling / 2, min_delay = webhook_backoff_ms(attempt, 0);

        CHECK_INT(min_delay, lo);
        /* rnd == lo lands on the top of the range: the jitter spans all of [c/2, c]. */
        CHECK_INT(webhook_backoff_ms(attempt, (uint32_t)lo), ceiling);
        CHECK(min_delay >= prev_min);
        if (ceiling < WEBHOOK_BACKOFF_CAP_MS && attempt > 1)
            CHECK_INT(min_delay, 2 * prev_min); /* doubling until the cap */
        for (int i = 0; i < 2000; i++) {
            int64_t d;

            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            d = webhook_backoff_ms(attempt, i == 0 ? UINT32_MAX : rng);
            if (d < lo || d > ceiling || d < 0 || d > WEBHOOK_BACKOFF_CAP_MS)
                out_of_range++;
            hit_low += d < lo + (ceiling - lo) / 4;
            hit_high += d > ceiling - (ceiling - lo) / 4;
        }
        prev_min = min_delay;
        ceiling = ceiling * 2 > WEBHOOK_BACKOFF_CAP_MS ? WEBHOOK_BACKOFF_CAP_MS : ceiling * 2;
    }
    CHECK_INT(out_of_range, 0);
    CHECK(hit_low > 1000 && hit_high > 1000); /* both ends of the jitter range are used */

    CHECK_INT(webhook_backoff_ms(1, 0), 500);
    CHECK_INT(webhook_backoff_ms(1, 500), 1000);
    CHECK_INT(webhook_backoff_ms(9, 0), 128000);  /* 256 s ceiling */
    CHECK_INT(webhook_backoff_ms(10, 0), 150000); /* capped: 300 s ceiling */
    CHECK_INT(webhook_backoff_ms(20, 150000), WEBHOOK_BACKOFF_CAP_MS);
    CHECK_INT(webhook_backoff_ms(0, 0), 500); /* below 1 counts as 1 */
    CHECK_INT(webhook_backoff_ms(-7, 0), 500);
    CHECK(webhook_backoff_ms(2147483647, UINT32_MAX) <= WEBHOOK_BACKOFF_CAP_MS);
    CHECK(webhook_backoff_ms(2147483647, 0) >= WEBHOOK_BACKOFF_CAP_MS / 2);
}

/* ------------------------------------------------------------------------------------------ */
/* Request limits                                                                             */
/* ------------------------------------------------------------------------------------------ */

static void test_limits(void)
{
    webhook_req_t good = {.url = "https://hooks.example.org/rexian",
                          .secret = TEST_SECRET,
                          .notification_id = "n-bx-000123-ack",
                          .event = "ticket.overdue",
                          .body = "{}",
                          .body_len = 2};
    webhook_req_t r;
    webhook_pool_t *pool = webhook_pool_new(2, 1000);
    char err[200], url[WEBHOOK_MAX_URL + 2], secret[WEBHOOK_MAX_SECRET + 2];
    char *body = malloc(WEBHOOK_MAX_BODY + 1);
    const char *prefix = "http://example.org/";

    CHECK(pool != NULL && body != NULL);
    if (pool == NULL || body == NULL)
        goto out;
    CHECK_INT(webhook_req_check(&good, err, sizeof(err)), 0);
    r = good;
    r.url = "HTTP://Example.ORG:8080/a?b=c";
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), 0);

    r = good;
    r.url = "ftp://example.org/hook";
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "ftp") != NULL && strstr(err, "http, https") != NULL);
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    r.url = "file:///etc/passwd";
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    r.url = "gopher://example.org/";
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    r.url = "example.org/hook"; /* no scheme: libcurl would guess http, we do not */
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    r.url = "http://";
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EINVAL);
    r.url = "http://exa mple.org/";
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EINVAL);
    r.url = NULL;
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);

    /* URL length: 512 bytes pass, 513 do not. */
    memset(url, 'a', sizeof(url));
    memcpy(url, prefix, strlen(prefix));
    url[WEBHOOK_MAX_URL] = '\0';
    r = good;
    r.url = url;
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), 0);
    url[WEBHOOK_MAX_URL] = 'a';
    url[WEBHOOK_MAX_URL + 1] = '\0';
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "512") != NULL);
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);

    /* Body: 64 KiB pass, one byte more does not; empty does not. */
    memset(body, ' ', WEBHOOK_MAX_BODY + 1);
    body[0] = '{';
    body[WEBHOOK_MAX_BODY - 1] = '}';
    r = good;
    r.body = body;
    r.body_len = WEBHOOK_MAX_BODY;
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), 0);
    r.body_len = WEBHOOK_MAX_BODY + 1;
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EMSGSIZE);
    CHECK(strstr(err, "65537") != NULL);
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EMSGSIZE);
    r.body_len = 0;
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);

    /* Header values: no CR/LF (header injection), no spaces, bounded. */
    r = good;
    r.notification_id = "n-1\r\nX-Rexian-Event: forged";
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "notification id") != NULL && strstr(err, "0x0d") != NULL);
    r.notification_id = "";
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    r = good;
    r.event = "ticket overdue";
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    memset(url, 'e', WEBHOOK_MAX_EVENT + 1);
    url[WEBHOOK_MAX_EVENT + 1] = '\0';
    r.event = url;
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);

    /* Secret: 1 .. 256 bytes. */
    r = good;
    r.secret = "";
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);
    memset(secret, 's', sizeof(secret));
    secret[WEBHOOK_MAX_SECRET] = '\0';
    r.secret = secret;
    CHECK_INT(webhook_req_check(&r, err, sizeof(err)), 0);
    secret[WEBHOOK_MAX_SECRET] = 's';
    secret[WEBHOOK_MAX_SECRET + 1] = '\0';
    CHECK_INT(webhook_pool_submit(pool, &r, 1), -EINVAL);

    CHECK_INT(webhook_pool_in_flight(pool), 0); /* nothing refused was started */

    /* Pool arguments. */
    CHECK(webhook_pool_new(0, 1000) == NULL);
    CHECK(webhook_pool_new(WEBHOOK_MAX_PARALLEL + 1, 1000) == NULL);
    CHECK(webhook_pool_new(1, 0) == NULL);
    CHECK(webhook_pool_new(1, WEBHOOK_MAX_TIMEOUT_MS + 1) == NULL);
out:
    webhook_pool_destroy(&pool);
    CHECK(pool == NULL);
    webhook_pool_destroy(&pool); /* twice is fine */
    webhook_pool_destroy(NULL);
    free(body);
}

/* ------------------------------------------------------------------------------------------ */
/* A receiver on 127.0.0.1 (libmicrohttpd, a thread per connection so /slow stalls alone)      */
/* ------------------------------------------------------------------------------------------ */

typedef struct test_server_t {
    struct MHD_Daemon *daemon;      /* the HTTP server */
    uint16_t port;                  /* its port, picked by the kernel */
    pthread_mutex_t lock;           /* guards the fields below: handlers run on their own threads */
    int requests;                   /* POSTs fully received */
    int valid;                      /* of those, with every header right and a good signature */
    char problem[200];              /* the first thing found wrong, "" if none */
    char ok_id[WEBHOOK_MAX_ID + 1]; /* X-Rexian-Notification-Id of the last /ok POST */
    char ok_event[WEBHOOK_MAX_EVENT + 1]; /* X-Rexian-Event of the last /ok POST */
    char ok_body[256];                    /* body of the last /ok POST */
    atomic_int stopping;                  /* set before stopping: /slow returns early */
} test_server_t;

typedef struct test_upload_t {
    char *data;   /* the request body so far */
    size_t len;   /* bytes in data */
    int overflow; /* the body exceeded the buffer */
} test_upload_t;

/* Checks one request as a receiver must; returns "" or what is wrong. */
static const char *test_verify(struct MHD_Connection *conn, const test_upload_t *up, char *why,
                               size_t cap)
{
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Notification-Id");
    const char *event = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Event");
    const char *ts = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Timestamp");
    const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Signature");
    const char *ua = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
    unsigned char mac[EVP_MAX_MD_SIZE], *msg;
    unsigned int mac_len = 0;
    char want[80];
    long ts_val;
    size_t n;

    why[0] = '\0';
    if (ctype == NULL || strcmp(ctype, "application/json") != 0)
        snprintf(why, cap, "Content-Type is %s", ctype ? ctype : "missing");
    else if (id == NULL || id[0] == '\0' || event == NULL || event[0] == '\0')
        snprintf(why, cap, "notification id or event missing");
    else if (ua == NULL || strncmp(ua, "rexian-notifier/", 16) != 0)
        snprintf(why, cap, "User-Agent is %s", ua ? ua : "missing");
    else if (ts == NULL || (ts_val = strtol(ts, NULL, 10)) <= 0 ||
             labs(ts_val - (long)time(NULL)) > 5)
        snprintf(why, cap, "X-Rexian-Timestamp is %s", ts ? ts : "missing");
    else if (sig == NULL)
        snprintf(why, cap, "X-Rexian-Signature missing");
    else if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect") != NULL)
        snprintf(why, cap, "Expect header sent: a needless round trip before the body");
    if (why[0] != '\0')
        return why;

    /* Recompute independently of webhook_sign(): one-shot HMAC over "ts.body". */
    n = strlen(ts);
    msg = malloc(n + 1 + up->len + 1);
    if (msg == NULL) {
        snprintf(why, cap, "out of memory");
        return why;
    }
    memcpy(msg, ts, n);
    msg[n] = '.';
    if (up->len > 0)
        memcpy(msg + n + 1, up->data, up->len);
    HMAC(EVP_sha256(), TEST_SECRET, (int)strlen(TEST_SECRET), msg, n + 1 + up->len, mac, &mac_len);
    free(msg);
    memcpy(want, "sha256=", 7);
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    if (mac_len != 32 || strcmp(sig, want) != 0)
        snprintf(why, cap, "signature %s, want %s", sig, want);
    return why;
}

static ssize_t test_big_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= (uint64_t)TEST_BIG_REPLY)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max > (size_t)(TEST_BIG_REPLY - (long)pos))
        max = (size_t)(TEST_BIG_REPLY - (long)pos);
    memset(buf, 'z', max);
    return (ssize_t)max;
}

static enum MHD_Result test_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    static const char reply[] = "{\"ok\":true}";
    test_server_t *srv = cls;
    test_upload_t *up = *con_cls;
    struct MHD_Response *resp;
    unsigned int status = MHD_HTTP_OK;
    char why[200];
    enum MHD_Result rc;

    if (up == NULL) {
        up = calloc(1, sizeof(*up));
        if (up == NULL)
            return MHD_NO;
        up->data = malloc(WEBHOOK_MAX_BODY + 1);
        if (up->data == NULL) {
            free(up);
            return MHD_NO;
        }
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (up->len + *upload_data_size <= WEBHOOK_MAX_BODY) {
            memcpy(up->data + up->len, upload_data, *upload_data_size);
            up->len += *upload_data_size;
        } else {
            up->overflow = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (strcmp(method, "POST") != 0)
        snprintf(why, sizeof(why), "method %s", method);
    else if (up->overflow)
        snprintf(why, sizeof(why), "body larger than %d bytes", WEBHOOK_MAX_BODY);
    else
        test_verify(conn, up, why, sizeof(why));
    pthread_mutex_lock(&srv->lock);
    srv->requests++;
    if (why[0] == '\0')
        srv->valid++;
    else if (srv->problem[0] == '\0')
        snprintf(srv->problem, sizeof(srv->problem), "%.40s: %.150s", url, why);
    if (strcmp(url, "/ok") == 0) {
        snprintf(srv->ok_id, sizeof(srv->ok_id), "%s",
                 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Notification-Id"));
        snprintf(srv->ok_event, sizeof(srv->ok_event), "%s",
                 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Rexian-Event"));
        snprintf(srv->ok_body, sizeof(srv->ok_body), "%.*s", (int)up->len, up->data);
    }
    pthread_mutex_unlock(&srv->lock);

    if (strcmp(url, "/fail") == 0) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    } else if (strcmp(url, "/slow") == 0) {
        for (int waited = 0; waited < TEST_SLOW_MS && !atomic_load(&srv->stopping); waited += 20)
            usleep(20 * 1000);
    }
    if (strcmp(url, "/big") == 0)
        resp = MHD_create_response_from_callback(TEST_BIG_REPLY, 64 * 1024, test_big_reader, NULL,
                                                 NULL);
    else
        resp = MHD_create_response_from_buffer(sizeof(reply) - 1, (void *)reply,
                                               MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void test_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    test_upload_t *up = *con_cls;

    if (up != NULL) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

static int test_server_start(test_server_t *srv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    const union MHD_DaemonInfo *info;

    memset(srv, 0, sizeof(*srv));
    pthread_mutex_init(&srv->lock, NULL);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, test_handler, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, test_completed, NULL, MHD_OPTION_END);
    if (srv->daemon == NULL)
        return -1;
    info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        return -1;
    srv->port = info->port;
    return 0;
}

static void test_server_stop(test_server_t *srv)
{
    atomic_store(&srv->stopping, 1);
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    pthread_mutex_destroy(&srv->lock);
}

/* A port bound but not listening: connecting to it is refused, and nobody else can take it. */
static int test_closed_port(uint16_t *ret_port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *ret_port = ntohs(addr.sin_port);
    return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* Deliveries                                                                                 */
/* ------------------------------------------------------------------------------------------ */

enum {
    TAG_OK = 101,
    TAG_FAIL,
    TAG_CLOSED,
    TAG_SLOW,
    TAG_BIG,
    TAG_AGAIN,
    TAG_MAXBODY,
    TAG_COUNT = 7
};

/* Drives the pool the way the notifier's loop does until `want` results arrived (or 10 s). */
static int test_collect(webhook_pool_t *pool, int want, webhook_result_t *results)
{
    int got = 0;
    int64_t deadline = test_now_ms() + 10000;

    while (got < want && test_now_ms() < deadline) {
        if (webhook_pool_perform(pool, 50) < 0)
            break;
        while (got < want && webhook_pool_next_done(pool, &results[got]) == 0)
            got++;
    }
    return got;
}

static const webhook_result_t *test_find(const webhook_result_t *results, int n, uint64_t tag)
{
    for (int i = 0; i < n; i++)
        if (results[i].tag == tag)
            return &results[i];
    return NULL;
}

static void test_deliveries(void)
{
    const char *body = "{\"ticket\":\"bx-2024-000123\",\"kind\":\"ticket.overdue\","
                       "\"unit\":\"北县住建局\"}";
    test_server_t srv;
    webhook_pool_t *pool = NULL;
    webhook_result_t results[TAG_COUNT], extra;
    const webhook_result_t *r;
    char url_ok[64], url_fail[64], url_closed[64], url_slow[64], url_big[64];
    webhook_req_t req = {.secret = TEST_SECRET,
                         .notification_id = "n-bx-2024-000123-overdue-1",
                         .event = "ticket.overdue",
                         .body = body,
                         .body_len = strlen(body)};
    uint16_t closed_port = 0;
    char *big_body;
    int closed_fd = test_closed_port(&closed_port), got;
    int64_t t0;

    CHECK(closed_fd >= 0);
    CHECK_INT(test_server_start(&srv), 0);
    if (srv.daemon == NULL || closed_fd < 0)
        goto out;
    snprintf(url_ok, sizeof(url_ok), "http://127.0.0.1:%u/ok", srv.port);
    snprintf(url_fail, sizeof(url_fail), "http://127.0.0.1:%u/fail", srv.port);
    snprintf(url_closed, sizeof(url_closed), "http://127.0.0.1:%u/ok", closed_port);
    snprintf(url_slow, sizeof(url_slow), "http://127.0.0.1:%u/slow", srv.port);
    snprintf(url_big, sizeof(url_big), "http://127.0.0.1:%u/big", srv.port);

    pool = webhook_pool_new(5, TEST_TIMEOUT_MS);
    CHECK(pool != NULL);
    if (pool == NULL)
        goto out;

    /* Nothing in flight: perform returns at once instead of sleeping in the caller's loop. */
    t0 = test_now_ms();
    CHECK_INT(webhook_pool_perform(pool, 1000), 0);
    CHECK(test_now_ms() - t0 < 100);
    CHECK_INT(webhook_pool_next_done(pool, &extra), -EAGAIN);

    req.url = url_ok;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_OK), 0);
    req.url = url_fail;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_FAIL), 0);
    req.url = url_closed;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_CLOSED), 0);
    req.url = url_slow;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_SLOW), 0);
    req.url = url_big;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_BIG), 0);
    CHECK_INT(webhook_pool_in_flight(pool), 5);
    req.url = url_ok;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_AGAIN), -EBUSY); /* past max_parallel */
    CHECK_INT(webhook_pool_in_flight(pool), 5);

    got = test_collect(pool, 5, results);
    CHECK_INT(got, 5);
    CHECK_INT(webhook_pool_in_flight(pool), 0);

    r = test_find(results, got, TAG_OK);
    CHECK(r != NULL && r->ok == 1 && r->http_status == 200 && r->error[0] == '\0');
    r = test_find(results, got, TAG_FAIL);
    CHECK(r != NULL && r->ok == 0 && r->http_status == 500);
    CHECK_STR(r != NULL ? r->error : NULL, "HTTP 500");
    r = test_find(results, got, TAG_CLOSED);
    CHECK(r != NULL && r->ok == 0 && r->http_status == 0);
    CHECK_STR(r != NULL ? r->error : NULL, "connect refused");
    r = test_find(results, got, TAG_SLOW);
    CHECK(r != NULL && r->ok == 0 && r->http_status == 0);
    CHECK_STR(r != NULL ? r->error : NULL, "timeout after 800 ms");
    /* It ended at our limit, not when the server finally answered. */
    CHECK(r != NULL && r->elapsed_ms >= TEST_TIMEOUT_MS - 10 && r->elapsed_ms < TEST_SLOW_MS);
    r = test_find(results, got, TAG_BIG);
    CHECK(r != NULL && r->ok == 1 && r->http_status == 200);
    if (r != NULL && !r->ok)
        fprintf(stderr, "big reply: %s\n", r->error);

    /* Slots come back once their results are collected. */
    req.url = url_ok;
    req.notification_id = "n-bx-2024-000123-overdue-2";
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_AGAIN), 0);
    CHECK_INT(test_collect(pool, 1, &extra), 1);
    CHECK(extra.tag == TAG_AGAIN && extra.ok == 1);

    /* The largest body allowed arrives whole (the server checks the signature over all of it). */
    big_body = malloc(WEBHOOK_MAX_BODY);
    CHECK(big_body != NULL);
    if (big_body != NULL) {
        memset(big_body, ' ', WEBHOOK_MAX_BODY);
        memcpy(big_body, "{\"pad\":\"", 8);
        memset(big_body + 8, 'p', WEBHOOK_MAX_BODY - 10);
        memcpy(big_body + WEBHOOK_MAX_BODY - 2, "\"}", 2);
        req.url = url_fail; /* keeps the small /ok body recorded below */
        req.body = big_body;
        req.body_len = WEBHOOK_MAX_BODY;
        CHECK_INT(webhook_pool_submit(pool, &req, TAG_MAXBODY), 0);
        CHECK_INT(test_collect(pool, 1, &extra), 1);
        CHECK(extra.tag == TAG_MAXBODY && extra.http_status == 500);
        req.body = body;
        req.body_len = strlen(body);
        free(big_body);
    }

    /* What the receiver saw: ok, fail, slow, big, the second ok and the largest body, all
     * correctly signed. */
    pthread_mutex_lock(&srv.lock);
    CHECK_INT(srv.requests, 6);
    CHECK_INT(srv.valid, 6);
    CHECK_STR(srv.problem, "");
    CHECK_STR(srv.ok_id, "n-bx-2024-000123-overdue-2");
    CHECK_STR(srv.ok_event, "ticket.overdue");
    CHECK_STR(srv.ok_body, body);
    pthread_mutex_unlock(&srv.lock);

    /* Destroying a pool with a transfer still running aborts it cleanly. */
    req.url = url_slow;
    CHECK_INT(webhook_pool_submit(pool, &req, TAG_SLOW), 0);
    CHECK_INT(webhook_pool_perform(pool, 20), 0);
out:
    webhook_pool_destroy(&pool);
    test_server_stop(&srv);
    if (closed_fd >= 0)
        close(closed_fd);
}

int main(void)
{
    test_sign();
    test_backoff();
    test_limits();
    test_deliveries();
    return check_done();
}
