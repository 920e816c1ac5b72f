/* report.h -- the scores: per unit and period counters, the rates built on them, rankings and
 * flags, the orders behind any number, a recomputation from the timelines, and the audit list
 * of claims and rulings. Formulas are in the README ("How units are scored"). */
#ifndef REXIAN_REPORT_H
#define REXIAN_REPORT_H

#include "httpd.h"
#include "svc.h"
#include "units.h"

/* GET /v1/metrics?period=YYYY-MM|day=YYYY-MM-DD|from=..&to=..[&unit=U][&kind=K] */
void report_metrics(svc_t *svc, const units_t *units, httpd_req_t *req);
/* GET /v1/metrics/orders?unit=U&metric=M&period=... */
void report_orders(svc_t *svc, httpd_req_t *req);
/* GET /v1/metrics/recompute?period=... : live counters against the timelines */
void report_recompute(svc_t *svc, httpd_req_t *req);
/* GET /v1/claims[?unit=U][&supervisor=NAME][&status=S] */
void report_claims(svc_t *svc, httpd_req_t *req);

#endif
