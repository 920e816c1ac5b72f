/* httpd.c -- libmicrohttpd in external epoll mode with deferred answers (see httpd.h) */
#include "httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpd_t {
    struct MHD_Daemon *daemon; /* the server */
    size_t max_body;           /* request body limit */
    httpd_handler_fn *fn;      /* request handler */
    void *arg;                 /* handler state, borrowed */
    int port;                  /* bound port */
};

struct httpd_req_t {
    httpd_t *httpd;                  /* owner */
    struct MHD_Connection *conn;     /* the connection */
    char method[8];                  /* GET, POST ... */
    char *path;                      /* request path, owned */
    char *body;                      /* request body, owned, NUL-terminated */
    size_t body_len;                 /* bytes */
    int too_large;                   /* the body passed max_body */
    int handled;                     /* the handler was called */
    int suspended;                   /* deferred and suspended */
    int ready;                       /* a response is waiting to be queued */
    int status;                      /* its status */
    struct MHD_Response *response;   /* the response to queue */
    char client[64];                 /* peer address */
    void *user;                      /* handler's slot */
};

static enum MHD_Result httpd_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload, size_t *upload_size, void **con_cls)
{
    httpd_t *h = cls;
    httpd_req_t *req = *con_cls;

    if (req == NULL) {
        const union MHD_ConnectionInfo *ci;
        req = calloc(1, sizeof(*req));
        if (req == NULL)
            return MHD_NO;
        req->httpd = h;
        req->conn = conn;
        snprintf(req->method, sizeof(req->method), "%s", method);
        req->path = strdup(url);
        if (req->path == NULL) {
            free(req);
            return MHD_NO;
        }
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                      req->client, sizeof(req->client));
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!req->too_large && req->body_len + *upload_size <= h->max_body) {
            char *p = realloc(req->body, req->body_len + *upload_size + 1);
            if (p == NULL)
                return MHD_NO;
            req->body = p;
            memcpy(req->body + req->body_len, upload, *upload_size);
            req->body_len += *upload_size;
            req->body[req->body_len] = '\0';
        } else {
            req->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (!req->handled) {
        req->handled = 1;
        if (req->too_large) {
            char msg[200];
            int n = snprintf(msg, sizeof(msg),
                             "{\"error\":{\"code\":\"body_too_large\",\"message\":\"request "
                             "body is larger than the limit of %zu bytes\"}}",
                             h->max_body);
            httpd_respond(req, 413, "application/json", msg, (size_t)n, NULL);
        } else {
            h->fn(h->arg, req);
        }
    }
    if (req->ready) {
        enum MHD_Result rc = MHD_queue_response(conn, (unsigned int)req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        req->ready = 0;
        return rc;
    }
    if (!req->suspended) {
        req->suspended = 1;
        MHD_suspend_connection(conn);
    }
    return MHD_YES;
}

static void httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    httpd_req_t *req = *con_cls;

    if (req == NULL)
        return;
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    free(req->path);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

httpd_t *httpd_new(const char *listen, size_t max_body, httpd_handler_fn *fn, void *arg,
                   char *err, size_t errcap)
{
    httpd_t *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *info;
    char host[64];
    unsigned port;
    const char *colon = strrchr(listen, ':');

    if (h == NULL) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) ||
        sscanf(colon + 1, "%u", &port) != 1 || port > 65535) {
        snprintf(err, errcap, "listen address '%s' is not HOST:PORT", listen);
        goto fail;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errcap, "listen address '%s': '%s' is not an IPv4 address", listen, host);
        goto fail;
    }
    sa.sin_port = htons((uint16_t)port);
    h->max_body = max_body;
    h->fn = fn;
    h->arg = arg;
    h->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, httpd_access, h,
        MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)2000, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errcap, "cannot listen on %s (in use, or not an address of this host)",
                 listen);
        goto fail;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : (int)port;
    return h;
fail:
    free(h);
    return NULL;
}

void httpd_destroy(httpd_t **h)
{
    if (h == NULL || *h == NULL)
        return;
    MHD_stop_daemon((*h)->daemon);
    free(*h);
    *h = NULL;
}

int httpd_fd(const httpd_t *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info != NULL ? info->epoll_fd : -1;
}

int httpd_port(const httpd_t *h)
{
    return h->port;
}

int httpd_run(httpd_t *h)
{
    MHD_run(h->daemon);
    return 0;
}

int64_t httpd_timeout(httpd_t *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(h->daemon, &ms) != MHD_YES)
        return -1;
    return (int64_t)ms;
}

const char *httpd_method(const httpd_req_t *req)
{
    return req->method;
}

const char *httpd_path(const httpd_req_t *req)
{
    return req->path;
}

const char *httpd_query(const httpd_req_t *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *httpd_header(const httpd_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_body(const httpd_req_t *req, size_t *ret_len)
{
    *ret_len = req->body_len;
    return req->body != NULL ? req->body : "";
}

const char *httpd_client(const httpd_req_t *req)
{
    return req->client[0] ? req->client : "-";
}

void httpd_respond(httpd_req_t *req, int status, const char *content_type, const char *body,
                   size_t len, const char *extra_header)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

    if (r == NULL)
        return;
    MHD_add_response_header(r, "Content-Type", content_type);
    if (extra_header != NULL) {
        const char *colon = strchr(extra_header, ':');
        if (colon != NULL) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(colon - extra_header), extra_header);
            MHD_add_response_header(r, name, colon + 1 + (colon[1] == ' '));
        }
    }
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    req->response = r;
    req->status = status;
    req->ready = 1;
    if (req->suspended) {
        req->suspended = 0;
        MHD_resume_connection(req->conn);
    }
}

void httpd_defer(httpd_req_t *req)
{
    (void)req; /* the access handler suspends when it finds no response ready */
}

void httpd_set_user(httpd_req_t *req, void *user)
{
    req->user = user;
}

void *httpd_user(const httpd_req_t *req)
{
    return req->user;
}
