/* log: levelled, structured log lines on stderr, as JSON objects or as `key=value` text.
 *
 * A line is built field by field into a fixed buffer and written with one write(2), so lines from one process never
 * interleave. Writing is synchronous: a line is a few hundred bytes to a pipe or a terminal, like nginx's error log.
 * The level and format are set once at start-up (log_setup) and then only read.
 * Secrets never go in: callers log token fingerprints (log_fingerprint), never tokens. */
#ifndef AP_LOG_H
#define AP_LOG_H

#include <stddef.h>

/* Prefixed: <syslog.h> defines LOG_DEBUG, LOG_INFO and LOG_WARNING as macros. */
enum log_level { AP_DEBUG, AP_INFO, AP_WARN, AP_ERROR };

struct log_line {
	char buf[4096]; /* the line being built */
	size_t len;     /* bytes used in buf */
	int on;         /* 0 when the level is filtered out: every call is then a no-op */
};

void log_setup(enum log_level level, int json);
int log_enabled(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *s);

void log_begin(struct log_line *l, enum log_level level, const char *event);
void log_str(struct log_line *l, const char *key, const char *val);
void log_strn(struct log_line *l, const char *key, const char *val, size_t n);
void log_int(struct log_line *l, const char *key, long long val);
void log_num(struct log_line *l, const char *key, double val);
void log_end(struct log_line *l);

/* One-field convenience: `event` with a `msg`. */
void log_msg(enum log_level level, const char *event, const char *msg);

/* Writes a short fingerprint of a secret ("sha256:" + 8 hex digits) into out (at least 16 bytes). */
void log_fingerprint(const char *secret, char out[16]);

#endif
