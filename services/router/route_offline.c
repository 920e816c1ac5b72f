/* route_offline.c -- routes a JSON-lines file of requests with the catalogue and prints each
 * decision; with labelled lines (expected_unit, urgency) it also prints the scores.
 *
 * usage: rexian-route-offline UNITS.conf CATALOGUE.conf REQUESTS.jsonl [-q]
 * Each line: {"id", "text", "address", "township", "category"[, "expected_unit", "urgency"]}. */
#include "catalogue.h"
#include "units.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_OFFLINE_MAX_PAIRS 256

typedef struct route_pair_t {
    char want[UNIT_CODE_MAX + 1]; /* expected unit */
    char got[UNIT_CODE_MAX + 1];  /* routed unit, or "manual" */
    int count;                    /* how often */
} route_pair_t;

static const char *route_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

static int route_pair_cmp(const void *a, const void *b)
{
    return ((const route_pair_t *)b)->count - ((const route_pair_t *)a)->count;
}

int main(int argc, char **argv)
{
    char err[512], *line = NULL;
    size_t cap = 0;
    units_t *units = NULL;
    cat_t *cat = NULL;
    FILE *f = NULL;
    int quiet = argc > 4 && strcmp(argv[4], "-q") == 0, lineno = 0, rc = 1;
    int total = 0, labelled = 0, right = 0, manual = 0, urg_total = 0, urg_right = 0;
    int hot_total = 0, hot_right = 0, false_alarm = 0;
    route_pair_t pairs[ROUTE_OFFLINE_MAX_PAIRS];
    int n_pairs = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: %s UNITS.conf CATALOGUE.conf REQUESTS.jsonl [-q]\n", argv[0]);
        return 2;
    }
    units = units_load(argv[1], err, sizeof(err));
    if (units == NULL) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    cat = cat_load(argv[2], units, err, sizeof(err));
    if (cat == NULL) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    f = fopen(argv[3], "r");
    if (f == NULL) {
        perror(argv[3]);
        goto out;
    }
    while (getline(&line, &cap, f) >= 0) {
        json_error_t jerr;
        json_t *obj;
        cat_request_t req;
        cat_result_t res;
        const char *want, *want_urg, *got;

        lineno++;
        obj = json_loads(line, 0, &jerr);
        if (obj == NULL || !json_is_object(obj)) {
            fprintf(stderr, "%s:%d: not a JSON object: %s\n", argv[3], lineno, jerr.text);
            json_decref(obj);
            continue;
        }
        req.text = route_str(obj, "text");
        req.address = route_str(obj, "address");
        req.township = route_str(obj, "township");
        req.category = route_str(obj, "category");
        if (cat_route(cat, &req, &res) < 0) {
            json_decref(obj);
            continue;
        }
        total++;
        manual += res.manual;
        want = route_str(obj, "expected_unit");
        want_urg = route_str(obj, "urgency");
        got = res.manual ? "manual" : res.unit;
        if (want[0] != '\0') {
            labelled++;
            if (strcmp(want, got) == 0) {
                right++;
            } else {
                int i;
                for (i = 0; i < n_pairs; i++) {
                    if (strcmp(pairs[i].want, want) == 0 && strcmp(pairs[i].got, got) == 0)
                        break;
                }
                if (i == n_pairs && n_pairs < ROUTE_OFFLINE_MAX_PAIRS) {
                    snprintf(pairs[i].want, sizeof(pairs[i].want), "%s", want);
                    snprintf(pairs[i].got, sizeof(pairs[i].got), "%s", got);
                    pairs[i].count = 0;
                    n_pairs++;
                }
                if (i < n_pairs)
                    pairs[i].count++;
            }
        }
        if (want_urg[0] != '\0') {
            int ok = strcmp(want_urg, cat_urgency_name(res.urgency)) == 0;
            urg_total++;
            urg_right += ok;
            if (strcmp(want_urg, "normal") != 0) {
                hot_total++;
                hot_right += ok;
            } else if (!ok) {
                false_alarm++;
            }
        }
        if (!quiet || (want[0] != '\0' && strcmp(want, got) != 0) ||
            (want_urg[0] != '\0' && strcmp(want_urg, cat_urgency_name(res.urgency)) != 0))
            printf("%s\t%s\t%s\t%s/%s\t%s\n", route_str(obj, "id"), want[0] ? want : "-", got,
                   cat_urgency_name(res.urgency), want_urg[0] ? want_urg : "-", res.why);
        json_decref(obj);
    }
    qsort(pairs, (size_t)n_pairs, sizeof(pairs[0]), route_pair_cmp);
    printf("requests %d, manual %d (%.1f%%)\n", total, manual, total ? 100.0 * manual / total : 0);
    if (labelled > 0)
        printf("routed to the expected unit: %d/%d (%.1f%%)\n", right, labelled,
               100.0 * right / labelled);
    if (urg_total > 0)
        printf("urgency right: %d/%d (%.1f%%); emergencies and outages %d/%d; "
               "normal flagged urgent %d\n",
               urg_right, urg_total, 100.0 * urg_right / urg_total, hot_right, hot_total,
               false_alarm);
    for (int i = 0; i < n_pairs && i < 15; i++)
        printf("  %2d x %s -> %s\n", pairs[i].count, pairs[i].want, pairs[i].got);
    rc = 0;
out:
    free(line);
    if (f != NULL)
        fclose(f);
    cat_destroy(&cat);
    units_destroy(&units);
    return rc;
}
