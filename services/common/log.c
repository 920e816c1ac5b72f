/* log.c -- one line per event, key=value (see log.h) */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* The process's logging identity: set once at start-up, read-only afterwards. */
static char log_service[32] = "rexian";
static log_level_t log_min = LOG_INFO;

void log_set_service(const char *service, log_level_t min_level)
{
    snprintf(log_service, sizeof(log_service), "%s", service);
    log_min = min_level;
}

void log_msg(log_level_t level, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048], ts[40];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level < log_min)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), "ts=%s.%03dZ level=%s service=%s event=%s", ts,
                 (int)(tv.tv_usec / 1000), names[level], log_service, event);
    if (fmt != NULL && fmt[0] != '\0' && n > 0 && (size_t)n < sizeof(line) - 2) {
        line[n++] = ' ';
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "%s\n", line);
}

void log_mask_phone(const char *phone, char *buf, size_t cap)
{
    size_t len = phone != NULL ? strlen(phone) : 0, i;

    for (i = 0; i < len; i++)
        if (phone[i] < '0' || phone[i] > '9')
            break;
    if (len < 7 || i != len || len > 20) {
        snprintf(buf, cap, "***");
        return;
    }
    snprintf(buf, cap, "%.3s****%s", phone, phone + len - 4);
}

void log_quote(const char *s, char *buf, size_t cap)
{
    size_t o = 0;

    if (cap < 3) {
        if (cap > 0)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (; s != NULL && *s != '\0' && o + 3 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20) {
            buf[o++] = ' ';
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}
