/* httpd.h -- an HTTP server (libmicrohttpd) driven by the process's one event loop: MHD in
 * external epoll mode, so its one fd joins zmq_poll. A handler answers at once, or defers (the
 * connection is suspended) and answers later, e.g. after a batch of Redis writes. */
#ifndef REXIAN_HTTPD_H
#define REXIAN_HTTPD_H

#include <stddef.h>
#include <stdint.h>

typedef struct httpd_t httpd_t;
typedef struct httpd_req_t httpd_req_t;

/* Called once per complete request. Must call httpd_respond() or httpd_defer() before it
 * returns. */
typedef void(httpd_handler_fn)(void *arg, httpd_req_t *req);

/* listen is "HOST:PORT" (port 0 picks one). Requests bodies above max_body get 413. Returns
 * NULL with a reason in err. */
httpd_t *httpd_new(const char *listen, size_t max_body, httpd_handler_fn *fn, void *arg,
                   char *err, size_t errcap);
void httpd_destroy(httpd_t **h);

int httpd_fd(const httpd_t *h);   /* for loop_add_fd */
int httpd_port(const httpd_t *h); /* the bound port */
/* Runs MHD's work for ready sockets and timeouts. Returns 0. */
int httpd_run(httpd_t *h);
/* How long the loop may sleep before MHD has work again: 0 when it has work now (e.g. an
 * answer to write after a deferred request was resumed), -1 when it does not care. */
int64_t httpd_timeout(httpd_t *h);

/* Request accessors (borrowed, valid until the response is sent). */
const char *httpd_method(const httpd_req_t *req);
const char *httpd_path(const httpd_req_t *req);
const char *httpd_query(const httpd_req_t *req, const char *key); /* NULL if absent */
const char *httpd_header(const httpd_req_t *req, const char *name);
const char *httpd_body(const httpd_req_t *req, size_t *ret_len);
const char *httpd_client(const httpd_req_t *req); /* peer address, for logs */

/* Answers. Copies body. Extra header may be NULL (e.g. "Retry-After: 1"). */
void httpd_respond(httpd_req_t *req, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_header);
/* Suspends the connection; answer later with httpd_respond (which resumes it). */
void httpd_defer(httpd_req_t *req);

/* Per-request user slot for deferred work. */
void httpd_set_user(httpd_req_t *req, void *user);
void *httpd_user(const httpd_req_t *req);

#endif
