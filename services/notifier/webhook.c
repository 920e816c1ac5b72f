/* webhook.c -- signed webhook delivery over libcurl's multi interface (see webhook.h) */
#include "webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef enum webhook_slot_state_t {
    WEBHOOK_SLOT_FREE = 0, /* unused */
    WEBHOOK_SLOT_ACTIVE,   /* transfer running */
    WEBHOOK_SLOT_DONE,     /* finished, result waiting to be collected */
} webhook_slot_state_t;

typedef struct webhook_slot_t {
    webhook_slot_state_t state;   /* where the slot is in its life */
    CURL *easy;                   /* the running transfer, NULL unless ACTIVE */
    struct curl_slist *headers;   /* request headers, owned, NULL unless ACTIVE */
    int64_t started_ms;           /* monotonic clock at submit */
    webhook_result_t result;      /* tag at submit; the rest filled when the transfer ends */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail text for a failed transfer */
} webhook_slot_t;

struct webhook_pool {
    CURLM *multi;          /* libcurl multi handle: all transfers, shared connection cache */
    long timeout_ms;       /* total time limit per transfer */
    size_t max_parallel;   /* slots */
    webhook_slot_t *slots; /* max_parallel slots */
    size_t active;         /* slots in state ACTIVE */
    size_t *done;          /* ring of slot indexes in finishing order, max_parallel entries */
    size_t done_head;      /* ring index of the oldest finished slot */
    size_t done_count;     /* finished slots waiting to be collected */
};

static int64_t webhook_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* Signing and backoff                                                                        */
/* ------------------------------------------------------------------------------------------ */

int webhook_sign(const char *secret, long ts, const char *body, size_t len, char ret_hex[65])
{
    static const char hexdig[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    char prefix[32];
    size_t secret_len, mac_len = 0;
    int prefix_len, rc = -EIO;
    EVP_MAC *hmac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];

    if (secret == NULL || ts < 0 || (body == NULL && len > 0))
        return -EINVAL;
    secret_len = strlen(secret);
    if (secret_len == 0 || secret_len > WEBHOOK_MAX_SECRET)
        return -EINVAL;
    prefix_len = snprintf(prefix, sizeof(prefix), "%ld.", ts);

    /* Streamed through EVP_MAC so a 64 KiB body is not copied just to prepend the timestamp. */
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac == NULL)
        goto out;
    ctx = EVP_MAC_CTX_new(hmac);
    if (ctx == NULL)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, params) ||
        !EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)prefix_len) ||
        (len > 0 && !EVP_MAC_update(ctx, (const unsigned char *)body, len)) ||
        !EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) || mac_len != 32)
        goto out;
    for (size_t i = 0; i < mac_len; i++) {
        ret_hex[2 * i] = hexdig[mac[i] >> 4];
        ret_hex[2 * i + 1] = hexdig[mac[i] & 0x0f];
    }
    ret_hex[64] = '\0';
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return rc;
}

int64_t webhook_backoff_ms(int attempt, uint32_t rnd)
{
    int64_t ceiling = WEBHOOK_BACKOFF_CAP_MS;
    int64_t half;

    if (attempt < 1)
        attempt = 1;
    /* 2^19 s is far past the cap: stop shifting there so large attempts cannot overflow. */
    if (attempt <= 20) {
        int64_t grown = (int64_t)WEBHOOK_BACKOFF_BASE_MS << (attempt - 1);
        if (grown < ceiling)
            ceiling = grown;
    }
    half = ceiling / 2;
    return ceiling - half + (int64_t)(rnd % (uint64_t)(half + 1));
}

/* ------------------------------------------------------------------------------------------ */
/* Request checks                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* Header values must be one visible-ASCII token: no CR/LF means no header injection. */
static int webhook_check_token(const char *what, const char *s, size_t max, char *err,
                               size_t errcap)
{
    size_t n;

    if (s == NULL || s[0] == '\0') {
        snprintf(err, errcap, "%s: missing (1 to %zu visible ASCII characters)", what, max);
        return -EINVAL;
    }
    for (n = 0; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= max) {
            snprintf(err, errcap, "%s: longer than %zu bytes", what, max);
            return -EINVAL;
        }
        if (c < 0x21 || c > 0x7e) {
            snprintf(err, errcap,
                     "%s: byte 0x%02x at offset %zu (allowed: visible ASCII, no space)", what, c,
                     n);
            return -EINVAL;
        }
    }
    return 0;
}

static int webhook_check_url(const char *url, char *err, size_t errcap)
{
    size_t len;
    CURLU *u;
    CURLUcode uc;
    char *host = NULL;

    if (url == NULL || url[0] == '\0') {
        snprintf(err, errcap, "url: missing (http:// or https://)");
        return -EINVAL;
    }
    len = strnlen(url, WEBHOOK_MAX_URL + 1);
    if (len > WEBHOOK_MAX_URL) {
        snprintf(err, errcap, "url: longer than %d bytes", WEBHOOK_MAX_URL);
        return -EINVAL;
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        const char *colon = strchr(url, ':');
        int shown = colon != NULL && colon - url < 16 ? (int)(colon - url) : 16;
        snprintf(err, errcap, "url: scheme of \"%.*s\" is not allowed (http, https)", shown, url);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f) {
            snprintf(err, errcap, "url: byte 0x%02x at offset %zu (escape spaces and controls)", c,
                     i);
            return -EINVAL;
        }
    }
    u = curl_url();
    if (u == NULL) {
        snprintf(err, errcap, "url: out of memory");
        return -ENOMEM;
    }
    uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc == CURLUE_OK && (host == NULL || host[0] == '\0'))
        uc = CURLUE_NO_HOST;
    curl_free(host);
    curl_url_cleanup(u);
    if (uc != CURLUE_OK) {
        snprintf(err, errcap, "url: %s", curl_url_strerror(uc));
        return -EINVAL;
    }
    return 0;
}

int webhook_req_check(const webhook_req_t *req, char *err, size_t errcap)
{
    int rc;

    if (req == NULL) {
        snprintf(err, errcap, "request: missing");
        return -EINVAL;
    }
    if ((rc = webhook_check_url(req->url, err, errcap)) < 0)
        return rc;
    if (req->secret == NULL || req->secret[0] == '\0') {
        snprintf(err, errcap, "secret: missing (1 to %d bytes)", WEBHOOK_MAX_SECRET);
        return -EINVAL;
    }
    if (strnlen(req->secret, WEBHOOK_MAX_SECRET + 1) > WEBHOOK_MAX_SECRET) {
        snprintf(err, errcap, "secret: longer than %d bytes", WEBHOOK_MAX_SECRET);
        return -EINVAL;
    }
    if ((rc = webhook_check_token("notification id", req->notification_id, WEBHOOK_MAX_ID, err,
                                  errcap)) < 0)
        return rc;
    if ((rc = webhook_check_token("event", req->event, WEBHOOK_MAX_EVENT, err, errcap)) < 0)
        return rc;
    if (req->body == NULL || req->body_len == 0) {
        snprintf(err, errcap, "body: empty (1 to %d bytes of JSON)", WEBHOOK_MAX_BODY);
        return -EINVAL;
    }
    if (req->body_len > WEBHOOK_MAX_BODY) {
        snprintf(err, errcap, "body: %zu bytes, more than the %d allowed", req->body_len,
                 WEBHOOK_MAX_BODY);
        return -EMSGSIZE;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Pool                                                                                       */
/* ------------------------------------------------------------------------------------------ */

webhook_pool_t *webhook_pool_new(int max_parallel, long timeout_ms)
{
    webhook_pool_t *pool;

    if (max_parallel < 1 || max_parallel > WEBHOOK_MAX_PARALLEL || timeout_ms < 1 ||
        timeout_ms > WEBHOOK_MAX_TIMEOUT_MS)
        return NULL;
    /* Reference counted by libcurl; paired with curl_global_cleanup() in destroy. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        goto fail;
    pool->timeout_ms = timeout_ms;
    pool->max_parallel = (size_t)max_parallel;
    pool->slots = calloc(pool->max_parallel, sizeof(*pool->slots));
    pool->done = calloc(pool->max_parallel, sizeof(*pool->done));
    pool->multi = curl_multi_init();
    if (pool->slots == NULL || pool->done == NULL || pool->multi == NULL)
        goto fail;
    curl_multi_setopt(pool->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_parallel);
    return pool;
fail:
    if (pool != NULL) {
        if (pool->multi != NULL)
            curl_multi_cleanup(pool->multi);
        free(pool->slots);
        free(pool->done);
        free(pool);
    }
    curl_global_cleanup();
    return NULL;
}

static void webhook_slot_release(webhook_pool_t *pool, webhook_slot_t *slot)
{
    if (slot->easy != NULL) {
        curl_multi_remove_handle(pool->multi, slot->easy);
        curl_easy_cleanup(slot->easy);
        slot->easy = NULL;
    }
    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
}

void webhook_pool_destroy(webhook_pool_t **pool)
{
    webhook_pool_t *p;

    if (pool == NULL || *pool == NULL)
        return;
    p = *pool;
    for (size_t i = 0; i < p->max_parallel; i++)
        webhook_slot_release(p, &p->slots[i]);
    curl_multi_cleanup(p->multi);
    free(p->slots);
    free(p->done);
    free(p);
    curl_global_cleanup();
    *pool = NULL;
}

/* The response body is of no use to us: count it and drop it, never buffer it. */
static size_t webhook_discard(char *data, size_t size, size_t nmemb, void *user)
{
    (void)data;
    (void)user;
    return size * nmemb;
}

/* Appends "name: value" ("name:" alone when value is empty, which removes a header libcurl
 * would add by itself). */
static int webhook_add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[256];
    struct curl_slist *grown;

    snprintf(line, sizeof(line), value[0] != '\0' ? "%s: %s" : "%s:", name, value);
    grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return -ENOMEM;
    *list = grown;
    return 0;
}

static int webhook_setup_easy(webhook_pool_t *pool, webhook_slot_t *slot, const webhook_req_t *req)
{
    char hex[65], ts_text[24], sig[72];
    long ts = (long)time(NULL);
    long connect_ms = WEBHOOK_CONNECT_TIMEOUT_MS;
    struct curl_slist **h = &slot->headers;
    CURL *e;
    int rc;

    if ((rc = webhook_sign(req->secret, ts, req->body, req->body_len, hex)) < 0)
        return rc;
    snprintf(ts_text, sizeof(ts_text), "%ld", ts);
    snprintf(sig, sizeof(sig), "sha256=%s", hex);
    if (connect_ms > pool->timeout_ms)
        connect_ms = pool->timeout_ms;
    if (webhook_add_header(h, "Content-Type", "application/json") < 0 ||
        webhook_add_header(h, "X-Rexian-Notification-Id", req->notification_id) < 0 ||
        webhook_add_header(h, "X-Rexian-Event", req->event) < 0 ||
        webhook_add_header(h, "X-Rexian-Timestamp", ts_text) < 0 ||
        webhook_add_header(h, "X-Rexian-Signature", sig) < 0 ||
        /* No "Expect: 100-continue" wait on larger bodies: receivers answer after the body. */
        webhook_add_header(h, "Expect", "") < 0)
        return -ENOMEM;

    e = slot->easy = curl_easy_init();
    if (e == NULL)
        return -ENOMEM;
    slot->errbuf[0] = '\0';
    if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, pool->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, WEBHOOK_USER_AGENT) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, slot->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, webhook_discard) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slot->errbuf) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, slot) != CURLE_OK)
        return -EIO;
    return 0;
}

int webhook_pool_submit(webhook_pool_t *pool, const webhook_req_t *req, uint64_t tag)
{
    char err[160];
    webhook_slot_t *slot = NULL;
    int rc;

    if ((rc = webhook_req_check(req, err, sizeof(err))) < 0)
        return rc;
    for (size_t i = 0; i < pool->max_parallel; i++) {
        if (pool->slots[i].state == WEBHOOK_SLOT_FREE) {
            slot = &pool->slots[i];
            break;
        }
    }
    if (slot == NULL)
        return -EBUSY;
    memset(&slot->result, 0, sizeof(slot->result));
    slot->result.tag = tag;
    slot->started_ms = webhook_now_ms();
    if ((rc = webhook_setup_easy(pool, slot, req)) < 0)
        goto fail;
    if (curl_multi_add_handle(pool->multi, slot->easy) != CURLM_OK) {
        rc = -EIO;
        goto fail;
    }
    slot->state = WEBHOOK_SLOT_ACTIVE;
    pool->active++;
    return 0;
fail:
    curl_easy_cleanup(slot->easy);
    slot->easy = NULL;
    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
    return rc;
}

/* Turns libcurl's outcome into the short text an operator reads in a dead-letter entry. */
static void webhook_describe(webhook_pool_t *pool, webhook_slot_t *slot, CURLcode code)
{
    webhook_result_t *r = &slot->result;
    long os_errno = 0;
    curl_off_t connect_us = 0;

    curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &r->http_status);
    if (code == CURLE_OK) {
        r->ok = r->http_status >= 200 && r->http_status <= 299;
        if (!r->ok)
            snprintf(r->error, sizeof(r->error), "HTTP %ld", r->http_status);
        return;
    }
    r->ok = 0;
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(slot->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
        if (connect_us == 0 && slot->result.elapsed_ms < pool->timeout_ms)
            snprintf(r->error, sizeof(r->error), "connect timeout after %d ms",
                     WEBHOOK_CONNECT_TIMEOUT_MS);
        else
            snprintf(r->error, sizeof(r->error), "timeout after %ld ms", pool->timeout_ms);
        break;
    case CURLE_COULDNT_CONNECT:
        curl_easy_getinfo(slot->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            snprintf(r->error, sizeof(r->error), "connect refused");
        else if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH)
            snprintf(r->error, sizeof(r->error), "connect failed: host unreachable");
        else
            snprintf(r->error, sizeof(r->error), "connect failed: %.100s",
                     slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(code));
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(r->error, sizeof(r->error), "cannot resolve host");
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        snprintf(r->error, sizeof(r->error), "TLS: %.115s",
                 slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(code));
        break;
    default:
        snprintf(r->error, sizeof(r->error), "%.127s",
                 slot->errbuf[0] ? slot->errbuf : curl_easy_strerror(code));
        break;
    }
}

int webhook_pool_perform(webhook_pool_t *pool, int wait_ms)
{
    CURLMsg *msg;
    int running = 0, queued = 0;

    if (pool->active == 0)
        return (int)pool->done_count;
    /* curl_multi_poll also returns early when libcurl's own timers are due sooner. */
    if (wait_ms > 0 && curl_multi_poll(pool->multi, NULL, 0, wait_ms, NULL) != CURLM_OK)
        return -EIO;
    if (curl_multi_perform(pool->multi, &running) != CURLM_OK)
        return -EIO;
    while ((msg = curl_multi_info_read(pool->multi, &queued)) != NULL) {
        webhook_slot_t *slot = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&slot);
        if (slot == NULL || slot->state != WEBHOOK_SLOT_ACTIVE)
            continue;
        slot->result.elapsed_ms = webhook_now_ms() - slot->started_ms;
        webhook_describe(pool, slot, msg->data.result);
        webhook_slot_release(pool, slot);
        slot->state = WEBHOOK_SLOT_DONE;
        pool->active--;
        pool->done[(pool->done_head + pool->done_count) % pool->max_parallel] =
            (size_t)(slot - pool->slots);
        pool->done_count++;
    }
    return (int)pool->done_count;
}

int webhook_pool_next_done(webhook_pool_t *pool, webhook_result_t *ret_result)
{
    webhook_slot_t *slot;

    if (pool->done_count == 0)
        return -EAGAIN;
    slot = &pool->slots[pool->done[pool->done_head]];
    pool->done_head = (pool->done_head + 1) % pool->max_parallel;
    pool->done_count--;
    *ret_result = slot->result;
    slot->state = WEBHOOK_SLOT_FREE;
    return 0;
}

size_t webhook_pool_in_flight(const webhook_pool_t *pool)
{
    return pool->active;
}
