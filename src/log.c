#include "log.h"

#include <errno.h>
#include <math.h>
#include <mbedtls/sha256.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = AP_INFO; /* set once by log_setup, read-only afterwards */
static int as_json;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

#define RETRY_MS 10         /* stderr refused bytes (EAGAIN): try again this much later */
#define FLUSH_WAIT_MS 1000  /* log_flush waits this long in all for a full, non-blocking stderr */

/* The output buffer: whole lines, in the order they were logged. Touched only from the loop's thread (nothing logs
 * from libuv's thread pool), so it needs no lock. The bytes live apart from the initialised state below so that
 * they are zero pages (.bss), costing memory only as far as lines ever fill them. */
static char out_buf[LOG_OUT_SIZE]; /* lines waiting; a short write leaves the unwritten tail at the front */
static struct {
	size_t len;             /* bytes waiting in out_buf */
	int fd;                 /* where lines go */
	uint64_t dropped;       /* bytes of lines dropped: stderr full or gone */
	int started;            /* log_batch_start ran: the handles below were initialised */
	uv_prepare_t prepare;   /* writes the buffer right before the loop waits for I/O */
	uv_timer_t retry;       /* writes again what stderr refused with EAGAIN */
} ob = {.fd = STDERR_FILENO};

/* Batching holds from log_batch_start until its handles are closed (the shutdown walk, or log_batch_stop): lines
 * logged after that (the last shutdown messages) have no loop turn left to wait for. */
static int batching(void) { return ob.started && !uv_is_closing((uv_handle_t *)&ob.prepare); }

/* One pass of write(2) over the buffer; keeps what was not written at the front. Returns -EAGAIN when stderr took
 * only part, else 0 (the buffer is then empty). Never spins: a write that makes no progress for any other reason
 * (EPIPE: the reader is gone; EBADF, ENOSPC, EIO, or 0 bytes) drops what is left. */
static int out_write(void)
{
	size_t done = 0;
	int rc = 0;
	while (done < ob.len) {
		ssize_t n = write(ob.fd, out_buf + done, ob.len - done);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = -EAGAIN;
			break;
		} else {
			ob.dropped += ob.len - done;
			done = ob.len;
		}
	}
	memmove(out_buf, out_buf + done, ob.len - done);
	ob.len -= done;
	return rc;
}

static void on_retry(uv_timer_t *t);

/* The flush the loop runs: never blocks the loop. What stderr refused waits for the retry timer, so lines still go
 * out without new traffic to turn the loop. */
static void flush_from_loop(void)
{
	if (out_write() == -EAGAIN && !uv_is_active((uv_handle_t *)&ob.retry))
		uv_timer_start(&ob.retry, on_retry, RETRY_MS, 0);
}

static void on_retry(uv_timer_t *t)
{
	(void)t;
	flush_from_loop();
}

static void on_prepare(uv_prepare_t *p)
{
	(void)p;
	if (ob.len)
		flush_from_loop();
}

void log_flush(void)
{
	uint64_t start = uv_hrtime() / 1000000;
	while (ob.len && out_write() == -EAGAIN) {
		uint64_t spent = uv_hrtime() / 1000000 - start;
		struct pollfd pfd = {.fd = ob.fd, .events = POLLOUT};
		if (spent >= FLUSH_WAIT_MS || poll(&pfd, 1, (int)(FLUSH_WAIT_MS - spent)) == 0) {
			ob.dropped += ob.len; /* the reader has stalled for a second: exit anyway */
			ob.len = 0;
		}
	}
}

void log_batch_start(uv_loop_t *loop)
{
	static int registered;
	if (!registered && atexit(log_flush) == 0)
		registered = 1;
	uv_prepare_init(loop, &ob.prepare);
	uv_prepare_start(&ob.prepare, on_prepare);
	uv_unref((uv_handle_t *)&ob.prepare);
	uv_timer_init(loop, &ob.retry);
	uv_unref((uv_handle_t *)&ob.retry);
	ob.started = 1;
}

void log_batch_stop(void)
{
	if (batching()) {
		uv_close((uv_handle_t *)&ob.prepare, NULL);
		uv_close((uv_handle_t *)&ob.retry, NULL);
	}
	log_flush();
}

uint64_t log_dropped_bytes(void) { return ob.dropped; }

void log_output(int fd) { ob.fd = fd; }

/* Appends one whole line. Batched: written before the loop next waits, at once for AP_ERROR (the lines most worth
 * having if the process dies before the turn ends; they are rare, so they cost no throughput). Warnings stay
 * batched: a failing upstream makes one per request, and the loop turn bounds their delay anyway. */
static void out_line(const char *line, size_t n, enum log_level level)
{
	int batch = batching();
	if (ob.len + n > sizeof out_buf) {
		if (batch)
			flush_from_loop();
		else
			log_flush();
	}
	if (ob.len + n > sizeof out_buf) { /* stderr is full and refuses more: this line is lost */
		ob.dropped += n;
		return;
	}
	memcpy(out_buf + ob.len, line, n);
	ob.len += n;
	if (!batch)
		log_flush();
	else if (level >= AP_ERROR)
		flush_from_loop();
}

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

/* Escapes a value: JSON string escaping, or in text mode (logfmt) quotes when it is empty or holds spaces, quotes,
 * '=' or control bytes; inside quotes '"' and backslash are escaped, as logfmt readers expect. */
static void put_escaped(struct log_line *l, const char *s, size_t n)
{
	int quote = as_json || n == 0;
	for (size_t i = 0; !quote && i < n; i++)
		if (s[i] == ' ' || s[i] == '"' || s[i] == '=' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			quote = 1;
	if (!quote) {
		put(l, s, n);
		return;
	}
	putc_(l, '"');
	for (size_t i = 0; i < n; i++) {
		/* Runs that need no escape go out in one piece (most values are plain). */
		size_t run = i;
		while (run < n && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20 && s[run] != 0x7f)
			run++;
		if (run > i) {
			put(l, s + i, run - i);
			i = run - 1;
			continue;
		}
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

/* "2026-01-02T03:04:05.678Z": the part up to the second changes once a second, so it is formatted then and kept
 * (every request writes a line: formatting the date each time was a tenth of the logging cost). */
static void format_time(char out[32])
{
	static time_t sec = -1;
	static char prefix[24];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		sec = ts.tv_sec;
	}
	size_t n = strlen(prefix);
	long ms = (long)(ts.tv_nsec / 1000000) % 1000;
	memcpy(out, prefix, n);
	out[n] = (char)('0' + ms / 100);
	out[n + 1] = (char)('0' + ms / 10 % 10);
	out[n + 2] = (char)('0' + ms % 10);
	out[n + 3] = 'Z';
	out[n + 4] = 0;
}

void log_begin(struct log_line *l, enum log_level level, const char *event)
{
	l->len = 0;
	l->level = level;
	l->on = log_enabled(level);
	if (!l->on)
		return;
	char when[32];
	format_time(when);
	if (as_json) {
		put(l, "{\"time\":\"", 9);
		put(l, when, strlen(when));
		put(l, "\",\"level\":\"", 11);
		put(l, level_names[level], strlen(level_names[level]));
		put(l, "\",\"event\":", 10);
		put_escaped(l, event, strlen(event));
	} else {
		put(l, "time=", 5);
		put(l, when, strlen(when));
		put(l, " level=", 7);
		put(l, level_names[level], strlen(level_names[level]));
		put(l, " event=", 7);
		put_escaped(l, event, strlen(event));
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
	/* Digits written backwards: every access line has a handful of these, and snprintf's cost was most of it. */
	char num[24], *p = num + sizeof num;
	unsigned long long u = val < 0 ? 0ull - (unsigned long long)val : (unsigned long long)val;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (val < 0)
		*--p = '-';
	put_key(l, key);
	put(l, p, (size_t)(num + sizeof num - p));
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
	out_line(l->buf, l->len, l->level);
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
