/* log.h -- one line per event, key=value, to stderr; phone numbers masked */
#ifndef REXIAN_LOG_H
#define REXIAN_LOG_H

#include <stddef.h>

typedef enum log_level_t { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* The program's name in every line (service=...). Called once by main(). */
void log_set_service(const char *service, log_level_t min_level);

/* log_msg(LOG_INFO, "ticket.created", "ticket=%s unit=%s", id, unit) prints
 * `ts=... level=info service=intake event=ticket.created ticket=... unit=...`. Values that
 * contain spaces should be quoted by the caller with log_quote(). */
void log_msg(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Masks a phone number for logs and list views: "13800000001" -> "138****0001". Anything that
 * is not 7+ digits becomes "***". Writes a NUL-terminated string of at most cap bytes. */
void log_mask_phone(const char *phone, char *buf, size_t cap);

/* Quotes a value for a key=value line: wraps in double quotes, escapes quotes, backslashes and
 * control characters, truncates to cap. */
void log_quote(const char *s, char *buf, size_t cap);

#endif
