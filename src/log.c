#include "log.h"

#include <math.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = AP_INFO; /* set once by log_setup, read-only afterwards */
static int as_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, int json)
{
	min_level = level;
	as_json = json;
}

int log_enabled(enum log_level level) { return level >= min_level; }

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return AP_WARN;
	return -1;
}

static void put(struct log_line *l, const char *p, size_t n)
{
	/* Keep 2 bytes for the closing brace and newline; a longer line is cut, never overflowed. */
	size_t room = sizeof l->buf - 2 - l->len;
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void putc_(struct log_line *l, char c) { put(l, &c, 1); }

/* Escapes a value: JSON string escaping, or in text mode quotes when it holds spaces, quotes or '='. */
static void put_escaped(struct log_line *l, const char *s, size_t n)
{
	int quote = as_json;
	for (size_t i = 0; !quote && i < n; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=' || (unsigned char)s[i] < 0x20)
			quote = 1;
	if (!quote) {
		put(l, s, n);
		return;
	}
	putc_(l, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			putc_(l, '\\');
			putc_(l, (char)c);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c < 0x20 || c == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(l, esc, 6);
		} else {
			putc_(l, (char)c);
		}
	}
	putc_(l, '"');
}

static void put_key(struct log_line *l, const char *key)
{
	if (as_json) {
		put(l, ",\"", 2);
		put(l, key, strlen(key));
		put(l, "\":", 2);
	} else {
		putc_(l, ' ');
		put(l, key, strlen(key));
		putc_(l, '=');
	}
}

void log_begin(struct log_line *l, enum log_level level, const char *event)
{
	l->len = 0;
	l->on = log_enabled(level);
	if (!l->on)
		return;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[80];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
	if (as_json) {
		put(l, "{\"time\":\"", 9);
		put(l, when, strlen(when));
		put(l, "\",\"level\":\"", 11);
		put(l, level_names[level], strlen(level_names[level]));
		put(l, "\",\"event\":", 10);
		put_escaped(l, event, strlen(event));
	} else {
		put(l, when, strlen(when));
		putc_(l, ' ');
		put(l, level_names[level], strlen(level_names[level]));
		putc_(l, ' ');
		put(l, event, strlen(event));
	}
}

void log_strn(struct log_line *l, const char *key, const char *val, size_t n)
{
	if (!l->on)
		return;
	put_key(l, key);
	if (!val) {
		put(l, as_json ? "null" : "-", as_json ? 4 : 1);
		return;
	}
	put_escaped(l, val, n);
}

void log_str(struct log_line *l, const char *key, const char *val)
{
	log_strn(l, key, val, val ? strlen(val) : 0);
}

void log_int(struct log_line *l, const char *key, long long val)
{
	if (!l->on)
		return;
	char num[32];
	int n = snprintf(num, sizeof num, "%lld", val);
	put_key(l, key);
	put(l, num, (size_t)n < sizeof num ? (size_t)n : sizeof num - 1);
}

void log_num(struct log_line *l, const char *key, double val)
{
	if (!l->on)
		return;
	char num[32];
	/* %g keeps any double short; a non-finite value is not valid JSON, so it goes out as null. */
	int n = isfinite(val) ? snprintf(num, sizeof num, "%.6g", val) : snprintf(num, sizeof num, "null");
	if (n < 0)
		return;
	put_key(l, key);
	put(l, num, (size_t)n < sizeof num ? (size_t)n : sizeof num - 1);
}

void log_end(struct log_line *l)
{
	if (!l->on)
		return;
	if (as_json)
		l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	/* One write per line; a short write to stderr is not worth retrying from the loop. */
	ssize_t r = write(STDERR_FILENO, l->buf, l->len);
	(void)r;
}

void log_msg(enum log_level level, const char *event, const char *msg)
{
	struct log_line l;
	log_begin(&l, level, event);
	log_str(&l, "msg", msg);
	log_end(&l);
}

void log_fingerprint(const char *secret, char out[16])
{
	unsigned char digest[32];
	mbedtls_sha256((const unsigned char *)secret, strlen(secret), digest, 0);
	snprintf(out, 16, "sha256:%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
}
