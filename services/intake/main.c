/* main.c -- rexian-intake: every command enters here. Validates, writes the ticket to Redis
 * (answering only after Redis has it), then sends the router its message. */
#include "api.h"
#include "log.h"
#include "svc.h"
#include "tierlink.h"
#include "units.h"

#include <stdio.h>

/* The handlers' state: the API and the tier link (NULL when this tier has none). */
typedef struct intake_t {
    api_t *api;         /* the HTTP JSON API */
    tierlink_t *link;   /* the link between tiers (tierlink.h) */
} intake_t;

static void intake_on_http(svc_t *svc, httpd_req_t *req, void *arg)
{
    intake_t *in = arg;

    if (in != NULL && tierlink_on_http(in->link, svc, req))
        return;
    api_on_http(svc, req, in != NULL ? in->api : NULL);
}

static int intake_after(loop_t *loop, void *arg)
{
    intake_t *in = arg;

    return api_flush(loop, in != NULL ? in->api : NULL);
}

int main(int argc, char **argv)
{
    svc_opts_t opts = {.name = "intake", .consumes = -1, .produces = {1, 1, 1},
                       .on_http = intake_on_http, .after = intake_after};
    units_t *units = NULL;
    api_t *api = NULL;
    intake_t in = {0};
    svc_t *svc;
    char err[600];
    int rc = 1;

    /* the handlers' state needs the service first: wire it in two steps */
    svc = svc_new(argc, argv, &opts);
    if (svc == NULL)
        return 1;
    units = units_load(svc_cfg(svc)->units_path, err, sizeof(err));
    if (units == NULL) {
        log_msg(LOG_ERROR, "config.invalid", "error=\"%s\"", err);
        goto out;
    }
    api = api_new(svc, units);
    if (api == NULL)
        goto out;
    in.api = api;
    in.link = tierlink_new(svc, err, sizeof(err));
    if (in.link == NULL && err[0] != '\0') {
        log_msg(LOG_ERROR, "config.invalid", "error=\"tier link: %s\"", err);
        goto out;
    }
    svc_set_arg(svc, &in);
    rc = svc_run(svc);
out:
    tierlink_destroy(&in.link);
    api_destroy(&api);
    units_destroy(&units);
    svc_destroy(&svc);
    return rc;
}
