/* log: levelled, structured log lines on stderr, as JSON objects or as logfmt text.
 *
 * The two formats carry the same keys in the same order: `time`, `level`, `event`, then the caller's fields.
 * JSON: {"time":"2026-12-06T15:00:00.123Z","level":"info","event":"listening","addr":"127.0.0.1:8080"}
 * text: time=2026-12-06T15:00:00.123Z level=info event=listening addr=127.0.0.1:8080
 * In text every field is keyed; a value is quoted when it is empty or holds a space, '=', '"' or a control byte,
 * and inside quotes '"' and '\' are escaped with a backslash. A null string is `-` in text, null in JSON.
 *
 * A line is built field by field into a fixed buffer (struct log_line), then appended whole to one output buffer.
 * Before the loop runs, and after it has stopped, every line is written at once. Once log_batch_start has been
 * called, lines are batched as nginx's `access_log ... buffer=` does: the output buffer (LOG_OUT_SIZE bytes) is
 * written with one write(2) right before the loop next waits for I/O (a uv_prepare_t), so a loop turn that served
 * thirty requests costs one system call, and no line waits past the end of the loop turn that logged it. The buffer
 * is also written at once when a line would not fit, for AP_ERROR lines, by log_flush, and at exit (atexit).
 *
 * Order and tearing: lines leave in the order they were logged and a line is never split between two buffers.
 * One write(2) of up to PIPE_BUF (4096) bytes to a pipe is atomic; a larger batch may interleave with other
 * processes' writes to the same pipe (never with this process's own, which are in order), as any multi-line
 * writer's would. A crash (a fatal signal) loses what the current loop turn had logged and not yet written.
 *
 * stderr is normally blocking (nothing here makes it non-blocking, but a parent may hand over a non-blocking pipe):
 * a short write is continued; EAGAIN keeps the rest in the buffer and retries from a timer, and a line that then
 * finds the buffer full is dropped; any other error (EPIPE: the reader is gone) drops what is buffered. Dropped
 * bytes are counted (log_dropped_bytes, exported as a metric).
 *
 * The level and format are set once at start-up (log_setup) and then only read.
 * Secrets never go in: callers log token fingerprints (log_fingerprint), never tokens. */
#ifndef AP_LOG_H
#define AP_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LOG_OUT_SIZE (64 * 1024) /* bytes of lines batched before a write is forced */

/* Prefixed: <syslog.h> defines LOG_DEBUG, LOG_INFO and LOG_WARNING as macros. */
enum log_level { AP_DEBUG, AP_INFO, AP_WARN, AP_ERROR };

struct log_line {
	char buf[4096]; /* the line being built */
	size_t len;     /* bytes used in buf */
	int on;         /* 0 when the level is filtered out: every call is then a no-op */
	enum log_level level; /* AP_ERROR lines are written at once */
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

/* Switches batching on: lines are written once per loop turn from now on (see above). The handles it starts are
 * unreferenced (they never keep the loop alive) and are closed with everything else by a uv_walk at shutdown, after
 * which lines are written at once again. Call once, after the start-up messages; also registers log_flush atexit. */
void log_batch_start(uv_loop_t *loop);
/* Closes the handles log_batch_start started (for a loop that is not shut down with a uv_walk) and writes what is
 * buffered. */
void log_batch_stop(void);
/* Writes what is buffered now. If stderr is non-blocking and full, waits for it up to a second in all, then drops
 * the rest (counted). Called at exit and before exit(). */
void log_flush(void);
/* Bytes of log lines dropped since start (stderr full, or its reader gone). */
uint64_t log_dropped_bytes(void);
/* Where lines go: STDERR_FILENO unless a test says otherwise. */
void log_output(int fd);

/* One-field convenience: `event` with a `msg`. */
void log_msg(enum log_level level, const char *event, const char *msg);

/* Writes a short fingerprint of a secret ("sha256:" + 8 hex digits) into out (at least 16 bytes). */
void log_fingerprint(const char *secret, char out[16]);

#endif
