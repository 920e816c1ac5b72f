/* ctl_http.h -- rexianctl's HTTP requests: one libcurl handle, bearer token, size and time
 * limits, and an answer that says whether the request may have reached the server */
#ifndef REXIAN_CTL_HTTP_H
#define REXIAN_CTL_HTTP_H

#include <stddef.h>

#define CTL_HTTP_BODY_MAX (4L * 1024 * 1024) /* answers above this are refused */
#define CTL_HTTP_ERR_MAX 256                 /* transport error text, NUL included */

typedef struct ctl_http_t ctl_http_t;

/* One answer. */
typedef struct ctl_http_resp_t {
    long status;                 /* HTTP status; 0 when no answer came */
    char *body;                  /* the answer's body, NUL-terminated, owned; NULL when none */
    size_t len;                  /* bytes in body, the NUL not counted */
    long retry_after_s;          /* Retry-After in seconds, -1 when absent */
    int sent;                    /* the request (or part of it) went out */
    char err[CTL_HTTP_ERR_MAX];  /* what went wrong when ctl_http_request failed */
} ctl_http_resp_t;

/* base_url is "http(s)://host[:port][/prefix]", copied; token (copied, NULL for none) goes
 * with /v1/ requests only. Needs curl_global_init() first. NULL on no memory. */
ctl_http_t *ctl_http_new(const char *base_url, const char *token, long timeout_s);
void ctl_http_destroy(ctl_http_t **h);

/* URL-escapes s for a path segment or query value. Caller frees with free(); NULL on no
 * memory. */
char *ctl_http_escape(ctl_http_t *h, const char *s);

/* Sends method path (starting with '/', query included) with an optional JSON body and waits
 * for the answer. Returns 0 when an answer came, whatever its status; otherwise
 * -ECONNREFUSED (nothing sent: cannot connect or resolve), -ETIMEDOUT (no answer in time),
 * -EFBIG (answer above CTL_HTTP_BODY_MAX), -ENOMEM, or -EIO (connection broken, TLS ...),
 * with ret_resp->err saying what and ret_resp->sent whether the server may have acted.
 * ret_resp is always filled; free it with ctl_http_resp_free(). */
int ctl_http_request(ctl_http_t *h, const char *method, const char *path, const char *body,
                     ctl_http_resp_t *ret_resp);

void ctl_http_resp_free(ctl_http_resp_t *r);

#endif
