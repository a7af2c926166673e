/* status: `anthropic-proxy status [--url http://HOST:PORT]`, a look at a running proxy for a person: one line per
 * window (a bar, the utilization, the time to its reset, its tokens), then the accounts and the named clients when
 * there are any. Also the small blocking HTTP client behind it and behind `--check`.
 *
 * These run in a process of their own, before any loop exists (or instead of one), so blocking I/O with short
 * socket timeouts is fine here and nowhere else. */
#ifndef AP_STATUS_H
#define AP_STATUS_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* Exit statuses of `status`. */
#define STATUS_READY 0       /* the proxy can sign requests (what /readyz says) */
#define STATUS_NOT_READY 1   /* it answered, but no account can sign */
#define STATUS_UNREACHABLE 2 /* no usage document: not reachable, not a proxy, or a bad --url */

/* GET `url` (http:// only) with Connection: close and 3-second socket timeouts. On success, 0 with the answer's
 * status and body (at most `max` bytes kept; the caller frees body); else -1 with one line in err. */
int status_http_get(const char *url, size_t max, int *status, struct buf *body, char *err, size_t errlen);

/* Renders a /usage document for a person into `out`, as of `now_s` (unix seconds). Sets *ready (1 when some
 * account's login is ready). Returns 0, or -1 when the document is not a usage document. Pure. */
int status_render(const char *doc, size_t len, int64_t now_s, struct buf *out, int *ready);

/* The `status` command: argv[0] is "status". Reads the default URL from envp (ANTHROPIC_PROXY_ADMIN_LISTEN, else
 * ANTHROPIC_PROXY_LISTEN, else the default listen address). Prints to stdout, errors to stderr; returns the exit
 * status (STATUS_*). */
int status_main(int argc, char **argv, char **envp);

#endif
