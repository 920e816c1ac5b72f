/* units.h -- the units register: every unit that can receive work orders (units.conf).
 *
 * Format (INI, read through conf.h): one section per unit,
 *
 *     [unit power-supply]
 *     kind    = utility                  ; department | utility | township | other
 *     name    = 国网北县供电公司
 *     name_en = State Grid Bei County Power Supply Company
 *     duties  = power outages, voltage problems,
 *         electricity bills and meters    ; continuation lines are appended
 *     webhook = https://example.org/hook  ; optional
 *     secret  = s3cret                    ; optional, the webhook's HMAC-SHA256 key
 *
 * Codes are 1..63 bytes of [a-z0-9-]. Section headers start at the beginning of a line.
 * Duplicate codes, unknown keys and missing name or kind are refused with file:line. */
#ifndef REXIAN_UNITS_H
#define REXIAN_UNITS_H

#include <stddef.h>

#define UNITS_MAX 512        /* units per register */
#define UNIT_CODE_MAX 63     /* bytes in a code */
#define UNIT_KIND_MAX 15     /* bytes in a kind */
#define UNIT_NAME_MAX 127    /* bytes in name and name_en */
#define UNIT_DUTIES_MAX 1023 /* bytes in duties, continuation lines included */
#define UNIT_WEBHOOK_MAX 511 /* bytes in a webhook URL */
#define UNIT_SECRET_MAX 127  /* bytes in a webhook secret */

typedef struct unit_t {
    char code[UNIT_CODE_MAX + 1];       /* stable id, [a-z0-9-] */
    char kind[UNIT_KIND_MAX + 1];       /* department, utility, township or other */
    char name[UNIT_NAME_MAX + 1];       /* Chinese name, shown to people */
    char name_en[UNIT_NAME_MAX + 1];    /* English name, may be empty */
    char duties[UNIT_DUTIES_MAX + 1];   /* what the unit is responsible for, may be empty */
    char webhook[UNIT_WEBHOOK_MAX + 1]; /* http(s) URL for notifications, "" when none */
    char secret[UNIT_SECRET_MAX + 1];   /* HMAC key for the webhook, "" when none */
} unit_t;

typedef struct units_t units_t;

/* Reads a register. Returns a new register (caller owns: units_destroy), or NULL with
 * "path:line: what is wrong" in err. */
units_t *units_load(const char *path, char *err, size_t errcap);

/* Frees the register and sets *units to NULL; accepts NULL and a pointer to NULL. */
void units_destroy(units_t **units);

/* The unit with this code, or NULL (borrowed: valid until units_destroy). */
const unit_t *units_find(const units_t *units, const char *code);

/* Position of the unit with this code in [0, units_count), or -1. */
int units_index(const units_t *units, const char *code);

/* Number of units, in file order. */
size_t units_count(const units_t *units);

/* The i-th unit in file order, or NULL when i is out of range (borrowed). */
const unit_t *units_at(const units_t *units, size_t i);

/* 1 when the unit is a township (town, township or subdistrict government), else 0. */
int unit_is_township(const unit_t *unit);

/* 1 when code is 1..UNIT_CODE_MAX bytes of [a-z0-9-], else 0. */
int unit_code_valid(const char *code);

#endif
