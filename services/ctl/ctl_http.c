/* ctl_http.c -- rexianctl's HTTP requests over one libcurl easy handle */
#include "ctl_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef REXIAN_VERSION
#define REXIAN_VERSION "dev"
#endif

struct ctl_http_t {
    CURL *curl;        /* reused between requests (keeps the connection) */
    char *base;        /* base URL without trailing '/', owned */
    char *auth;        /* "Authorization: Bearer ..." or NULL, owned */
    long timeout_s;    /* whole-request limit */
};

/* Where an answer is collected while it arrives. */
typedef struct ctl_http_sink_t {
    ctl_http_resp_t *resp; /* the answer being filled */
    size_t cap;            /* bytes allocated for resp->body */
    int too_big;           /* the body passed CTL_HTTP_BODY_MAX */
    int no_mem;            /* growing the body failed */
} ctl_http_sink_t;

ctl_http_t *ctl_http_new(const char *base_url, const char *token, long timeout_s)
{
    ctl_http_t *h = calloc(1, sizeof(*h));
    size_t n;

    if (h == NULL)
        return NULL;
    h->timeout_s = timeout_s;
    h->curl = curl_easy_init();
    h->base = strdup(base_url);
    if (h->curl == NULL || h->base == NULL)
        goto fail;
    n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    if (token != NULL) {
        size_t cap = strlen(token) + 32;
        if ((h->auth = malloc(cap)) == NULL)
            goto fail;
        snprintf(h->auth, cap, "Authorization: Bearer %s", token);
    }
    return h;
fail:
    ctl_http_destroy(&h);
    return NULL;
}

void ctl_http_destroy(ctl_http_t **h)
{
    if (h == NULL || *h == NULL)
        return;
    if ((*h)->curl != NULL)
        curl_easy_cleanup((*h)->curl);
    free((*h)->base);
    if ((*h)->auth != NULL) {
        memset((*h)->auth, 0, strlen((*h)->auth)); /* the token does not linger in freed memory */
        free((*h)->auth);
    }
    free(*h);
    *h = NULL;
}

char *ctl_http_escape(ctl_http_t *h, const char *s)
{
    char *c = curl_easy_escape(h->curl, s, 0);
    char *out;

    if (c == NULL)
        return NULL;
    out = strdup(c); /* so the caller frees with plain free() */
    curl_free(c);
    return out;
}

static size_t ctl_http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    ctl_http_sink_t *s = arg;
    ctl_http_resp_t *r = s->resp;
    size_t n = size * nmemb;

    if (r->len + n > (size_t)CTL_HTTP_BODY_MAX) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (r->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *b;
        while (cap < r->len + n + 1)
            cap *= 2;
        if ((b = realloc(r->body, cap)) == NULL) {
            s->no_mem = 1;
            return 0;
        }
        r->body = b;
        s->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t ctl_http_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    ctl_http_sink_t *s = arg;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        s->resp->retry_after_s = -1; /* a new status line: a 100 Continue's headers are gone */
    } else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        char v[32];
        size_t k = 0;
        for (size_t i = 12; i < n && k + 1 < sizeof(v); i++)
            if (data[i] >= '0' && data[i] <= '9')
                v[k++] = data[i];
            else if (data[i] != ' ' && data[i] != '\t')
                break; /* an HTTP date or garbage: ignored */
        v[k] = '\0';
        if (k > 0 && k < 9)
            s->resp->retry_after_s = strtol(v, NULL, 10);
    }
    return n;
}

int ctl_http_request(ctl_http_t *h, const char *method, const char *path, const char *body,
                     ctl_http_resp_t *ret_resp)
{
    ctl_http_sink_t sink = {.resp = ret_resp};
    struct curl_slist *headers = NULL, *l;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = NULL;
    size_t url_cap;
    long request_size = 0;
    CURL *c = h->curl;
    CURLcode rc;
    int ret = 0;

    memset(ret_resp, 0, sizeof(*ret_resp));
    ret_resp->retry_after_s = -1;
    url_cap = strlen(h->base) + strlen(path) + 1;
    if ((url = malloc(url_cap)) == NULL)
        goto no_mem;
    snprintf(url, url_cap, "%s%s", h->base, path);

    headers = curl_slist_append(headers, "Accept: application/json");
    if (headers != NULL && body != NULL)
        headers = (l = curl_slist_append(headers, "Content-Type: application/json; "
                                                  "charset=utf-8")) ? l : NULL;
    if (headers != NULL)
        headers = (l = curl_slist_append(headers, "Expect:")) ? l : NULL; /* no 100 wait */
    if (headers != NULL && h->auth != NULL && strncmp(path, "/v1/", 4) == 0)
        headers = (l = curl_slist_append(headers, h->auth)) ? l : NULL;
    if (headers == NULL)
        goto no_mem;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->timeout_s);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CTL_HTTP_BODY_MAX);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rexianctl/" REXIAN_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_http_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ctl_http_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(body != NULL ? strlen(body) : 0));
    }

    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
    ret_resp->sent = request_size > 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret_resp->status);
        goto out;
    }
    if (sink.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(ret_resp->err, CTL_HTTP_ERR_MAX, "the answer is larger than %ld bytes; refused",
                 CTL_HTTP_BODY_MAX);
        ret = -EFBIG;
    } else if (sink.no_mem) {
        goto no_mem;
    } else {
        snprintf(ret_resp->err, CTL_HTTP_ERR_MAX, "%s",
                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
            rc == CURLE_COULDNT_RESOLVE_PROXY)
            ret = -ECONNREFUSED;
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            ret = -ETIMEDOUT;
        else
            ret = -EIO;
    }
    ret_resp->status = 0;
    goto out;
no_mem:
    snprintf(ret_resp->err, CTL_HTTP_ERR_MAX, "out of memory");
    ret = -ENOMEM;
out:
    if (ret != 0) {
        free(ret_resp->body);
        ret_resp->body = NULL;
        ret_resp->len = 0;
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    free(url);
    return ret;
}

void ctl_http_resp_free(ctl_http_resp_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}
