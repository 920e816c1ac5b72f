/* clocks.c -- due, warning and escalation times of a stage (see clocks.h) */
#include "clocks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int clocks_plan_due(const cal_t *cal, const config_policy_t *p, int stage, int64_t start,
                    int64_t due, clocks_plan_t *ret)
{
    clocks_plan_t plan = {.start = start, .due = due};
    int prov = 0, rc;

    if (stage < 0 || stage >= CONFIG_STAGES)
        return -EINVAL;
    snprintf(plan.span, sizeof(plan.span), "%s", p->stage[stage].text);
    /* yellow: a share of the clock left, or a fixed lead time; never before the start */
    if (p->warn_pct > 0)
        plan.warn = due - (due - start) * p->warn_pct / 100;
    else if (p->warn_lead.text[0] != '\0') {
        int64_t lead_end;
        rc = cal_add(cal, 0 + start, &p->warn_lead.span, &lead_end, NULL);
        if (rc != 0)
            return rc;
        plan.warn = due - (lead_end - start);
    } else
        plan.warn = due;
    if (plan.warn < start)
        plan.warn = start;
    rc = cal_add(cal, due, &p->escalate.span, &plan.esc, &prov);
    if (rc != 0)
        return rc;
    plan.provisional = prov;
    *ret = plan;
    return 0;
}

int clocks_plan(const cal_t *cal, const config_policy_t *p, int stage, int64_t start,
                clocks_plan_t *ret)
{
    int64_t due;
    int prov = 0, rc;

    if (stage < 0 || stage >= CONFIG_STAGES)
        return -EINVAL;
    rc = cal_add(cal, start, &p->stage[stage].span, &due, &prov);
    if (rc != 0)
        return rc;
    rc = clocks_plan_due(cal, p, stage, start, due, ret);
    if (rc == 0)
        ret->provisional |= prov;
    return rc;
}

int clocks_json(const clocks_plan_t *plan, const char *stage, char *buf, size_t cap,
                size_t *off)
{
    int n = snprintf(buf + *off, cap - *off,
                     "%s\"%s\":{\"start\":%lld,\"due\":%lld,\"warn\":%lld,\"esc\":%lld,"
                     "\"span\":\"%s\"}",
                     buf[*off - 1] == '{' ? "" : ",", stage, (long long)plan->start,
                     (long long)plan->due, (long long)plan->warn, (long long)plan->esc,
                     plan->span);
    if (n < 0 || (size_t)n >= cap - *off)
        return -ENOSPC;
    *off += (size_t)n;
    return 0;
}
