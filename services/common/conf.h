/* conf.h -- INI config files (libinih) with errors that name the file, the line and the rule.
 *
 * Format: `[section]`, `key = value`, `;` or `#` comments, and continuation lines (a line that
 * starts with white space continues the previous key: the handler is called again with the same
 * key). A physical line may hold at most CONF_MAX_LINE bytes; longer lines are refused with their
 * line number rather than silently split. */
#ifndef REXIAN_CONF_H
#define REXIAN_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_LINE 199 /* bytes per physical line, newline excluded (libinih's buffer) */

/* Called once per key (again for each continuation line). Returns 0, or -1 after writing what
 * is wrong into err (without file or line: conf_load adds them). */
typedef int(conf_handler_fn)(void *user, const char *section, const char *key, const char *value,
                             char *err, size_t errcap);

/* Parses path. Returns 0, or -1 with "path:line: what is wrong" in err. */
int conf_load(const char *path, conf_handler_fn *fn, void *user, char *err, size_t errcap);

/* libinih calls its handler only for keys, so an empty section or a section-level error would
 * go unnoticed or have no line number. This reads the section headers first: fn(user, name,
 * line, err, errcap) for each "[name]" at the start of a line, in file order. fn returns 0, or
 * -1 after writing what is wrong (without file or line). Returns 0, or -1 with
 * "path:line: what is wrong" in err. */
typedef int(conf_section_fn)(void *user, const char *name, int line, char *err, size_t errcap);
int conf_each_section(const char *path, conf_section_fn *fn, void *user, char *err,
                      size_t errcap);

/* Calls fn(user, item) for each non-empty item of a list separated by commas (ASCII ',' or
 * the full-width '，'), with surrounding white space trimmed. Items longer than 255 bytes are
 * an error. Returns 0, or the first non-zero value fn returned, or -1 (item too long). */
int conf_each_item(const char *list, int (*fn)(void *user, const char *item), void *user);

/* Strict number parsing for config values: the whole string must be a number in [min, max]. */
int conf_parse_int(const char *s, int64_t min, int64_t max, int64_t *ret_val);

/* Parses a calendar-time duration: "90s", "15m", "4h", "3d" (also "1h30m"). Returns 0 and
 * milliseconds, or -1 when the text is not such a duration or is not positive. */
int conf_parse_duration_ms(const char *s, int64_t *ret_ms);

#endif
