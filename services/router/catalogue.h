/* catalogue.h -- the dispatch catalogue (派单目录): rules that decide a request's lead unit,
 * co-handlers and urgency, as a pure function of the request.
 *
 * The file format is documented at the top of deploy/beixian/catalogue.conf. In short:
 *   [settings]         min_score, min_margin, township_margin, outside_area_percent,
 *                      hypothetical (words that make a danger phrase after them
 *                      hypothetical), hypothetical_window
 *   [mask]             phrases that hide the shorter phrases inside them ("来电人" hides "来电")
 *   [route CODE]       keywords for one unit: kw = phrase[:weight], ...; not = phrase[:weight]
 *                      (subtracted); "a&b" counts only when b is found too; area = township
 *                      codes the unit serves (optional)
 *   [local]            keywords of matters owned by the township where they happen
 *   [places CODE]      gazetteer: names = place names inside township CODE
 *   [category NAME]    units = CODE[:weight], ... added when the request's category is NAME
 *   [cohandle NAME]    lead = CODE | local | *; when = phrases; co = CODE, ...
 *   [urgency NAME]     level = emergency | urgent; any = phrases; with = phrases (optional)
 *
 * Scoring: each distinct keyword found in the address or the text adds its weight once to its
 * unit; a keyword inside a longer keyword of the same unit counts as the longer one. Township
 * scores are compared with a handicap (township_margin): a matter that a department owns is not
 * pushed down to a township. The best unit leads when its score reaches min_score and beats the
 * runner-up by min_margin; otherwise the request goes to the manual dispatch queue with the
 * candidates. Text is UTF-8; phrases match as byte substrings at character boundaries, ASCII
 * letters case-insensitively. */
#ifndef REXIAN_CATALOGUE_H
#define REXIAN_CATALOGUE_H

#include "units.h"

#include <stddef.h>

#define CAT_MAX_CO 4           /* co-handling units in a result */
#define CAT_MAX_CANDIDATES 5   /* candidates in a result */
#define CAT_WHY_MAX 512        /* bytes in a result's explanation, NUL excluded */
#define CAT_MAX_TEXT 8192      /* bytes of request text considered; the rest is ignored */
#define CAT_MAX_ADDRESS 512    /* bytes of address considered */
#define CAT_PHRASE_MAX 63      /* bytes in one phrase */
#define CAT_MAX_ENTRIES 16384  /* phrases in a catalogue, all sections together */
#define CAT_MAX_RULES 512      /* [urgency] and [cohandle] sections together */
#define CAT_MAX_CATEGORIES 256 /* [category] sections */
#define CAT_WEIGHT_MAX 100     /* largest weight of one phrase */

typedef enum cat_urgency_t {
    CAT_URGENCY_NORMAL = 0,    /* general request: working-day clocks */
    CAT_URGENCY_URGENT = 1,    /* water/power/gas/heating outage: short calendar clock */
    CAT_URGENCY_EMERGENCY = 2, /* danger to life or property: shortest clock */
} cat_urgency_t;

typedef struct cat_request_t {
    const char *text;     /* what the citizen said, UTF-8 (required) */
    const char *address;  /* where, free text; NULL or "" when unknown */
    const char *township; /* township unit code from intake; NULL or "" when unknown */
    const char *category; /* category code from intake; NULL or "" when none */
} cat_request_t;

typedef struct cat_candidate_t {
    char unit[UNIT_CODE_MAX + 1]; /* unit code */
    int score;                    /* its rule score */
} cat_candidate_t;

typedef struct cat_result_t {
    char unit[UNIT_CODE_MAX + 1];                   /* lead unit; "" when manual */
    char co_units[CAT_MAX_CO][UNIT_CODE_MAX + 1];   /* co-handling units */
    int n_co;                                       /* entries used in co_units */
    int manual;                                     /* 1: manual dispatch queue, no lead */
    cat_candidate_t candidates[CAT_MAX_CANDIDATES]; /* best units first, scores > 0 */
    int n_candidates;                               /* entries used in candidates */
    cat_urgency_t urgency;                          /* emergency, urgent or normal */
    int score;                                      /* the best unit's score */
    double confidence;                              /* 0..1: the lead's share of the margin */
    char township[UNIT_CODE_MAX + 1];               /* township located, "" when none */
    char why[CAT_WHY_MAX + 1];                      /* rules that fired, for dispatchers */
} cat_result_t;

typedef struct cat_t cat_t;

/* Reads a catalogue; every unit code it names must be in units, which is borrowed and must
 * outlive the catalogue. Returns a new catalogue (caller owns: cat_destroy), or NULL with
 * "path:line: what is wrong" in err. */
cat_t *cat_load(const char *path, const units_t *units, char *err, size_t errcap);

/* Frees the catalogue and sets *cat to NULL; accepts NULL and a pointer to NULL. */
void cat_destroy(cat_t **cat);

/* Routes one request. Pure: same catalogue and request, same result; no I/O, no state.
 * Returns 0 with *ret filled, or -EINVAL (NULL argument or NULL text; *ret untouched). */
int cat_route(const cat_t *cat, const cat_request_t *req, cat_result_t *ret);

/* "emergency", "urgent" or "normal". */
const char *cat_urgency_name(cat_urgency_t urgency);

/* Number of phrases loaded (all sections), for logs. */
size_t cat_phrase_count(const cat_t *cat);

#endif
