/* similar.h -- a short signature of a request's text for finding repeat requests about the
 * same matter: the smallest SIMILAR_K hashes of its pairs of adjacent characters (a bottom-k
 * sketch), so the share of pairs two requests have in common can be estimated from 32
 * numbers each. Pure; UTF-8 in, numbers out. */
#ifndef REXIAN_SIMILAR_H
#define REXIAN_SIMILAR_H

#include <stddef.h>
#include <stdint.h>

#define SIMILAR_K 32 /* hashes kept per text */

/* Writes up to SIMILAR_K distinct hashes, ascending, into ret; returns how many. Punctuation,
 * spaces and the hotline's boilerplate ("来电人反映", "希望有关部门") are skipped. Invalid UTF-8
 * bytes are skipped too. */
size_t similar_signature(const char *text, size_t len, uint32_t ret[SIMILAR_K]);

/* Estimated share (0..100) of pairs two signatures have in common. */
int similar_percent(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

#endif
