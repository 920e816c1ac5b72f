/* api.h -- the HTTP JSON API of intake: tickets in, ticket views out, with bearer tokens */
#ifndef REXIAN_API_H
#define REXIAN_API_H

#include "httpd.h"
#include "svc.h"
#include "units.h"

#define API_MAX_PENDING 4096 /* accepted requests waiting for the next Redis batch */
#define API_IDEM_MAX 128     /* bytes of idempotency key (body limits: steps.c) */
#define API_PAGE_MAX 100     /* tickets per list page */

typedef struct api_t api_t;

/* units is borrowed (validates township codes and unit filters). NULL on no memory. */
api_t *api_new(svc_t *svc, const units_t *units);
void api_destroy(api_t **api);

/* svc_http_fn: routes /v1/... */
void api_on_http(svc_t *svc, httpd_req_t *req, void *arg);
/* loop "after" hook: writes every pending create in one Redis pipeline and answers. */
int api_flush(loop_t *loop, void *arg);

#endif
