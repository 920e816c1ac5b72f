/* main.c -- rexian-intake: every command enters here. Validates, writes the ticket to Redis
 * (answering only after Redis has it), then sends the router its message. */
#include "api.h"
#include "log.h"
#include "svc.h"
#include "units.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    svc_opts_t opts = {.name = "intake", .consumes = -1, .produces = {1, 1, 1},
                       .on_http = api_on_http, .after = api_flush};
    units_t *units = NULL;
    api_t *api = NULL;
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
    svc_set_arg(svc, api);
    rc = svc_run(svc);
out:
    api_destroy(&api);
    units_destroy(&units);
    svc_destroy(&svc);
    return rc;
}
