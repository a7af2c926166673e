/* upstream: an HTTPS/1.1 client on the loop with a keep-alive pool, for one upstream origin.
 *
 * One API serves every caller (the proxy, the usage poll, the token refresh, the OTLP export): fill a struct
 * upstream_req and call upstream_request; the answer comes back through callbacks, never from inside
 * upstream_request itself (an error met while it runs, such as a pooled connection that cannot be written, is
 * delivered from a zero timer). Exactly one of on_end / on_error ends a request that was issued, unless the
 * caller cancels first.
 *
 * Re-entrancy: a callback may cancel, pause or resume its own request and issue new ones; after on_end or
 * on_error the request is detached and may be reused at once. Connections are freed only in their handles' close
 * callbacks, so a connection stays valid (closing) while a callback it made runs; after every callback the
 * upstream re-checks that the request is still its own before touching it again.
 *
 * A request that may have reached the server is never sent to another one: `sent` tells the caller whether a failed
 * request may be tried elsewhere (a refresh token must not be spent twice).
 *
 * Ownership: the caller owns the request struct, its head and its body, and keeps them alive and unchanged until
 * the request ends or is cancelled (a request may be sent twice: once more on a fresh connection when a pooled
 * one turns out to be closed before any answer byte). Connections are owned by the pool.
 *
 * Reuse rules (a connection goes back to the pool only if all hold): the answer was complete and length-delimited
 * or chunked, both sides allowed keep-alive, the request was fully sent, no byte followed the answer, and no
 * EOF or close_notify was seen. An idle pooled connection that becomes readable is closed (nginx does the same). */
#ifndef AP_UPSTREAM_H
#define AP_UPSTREAM_H

#include "buf.h"
#include "hist.h"
#include "http.h"
#include "tls.h"

#include <stdint.h>
#include <uv.h>

struct upstream_req;
struct upstream_conn;

/* Error kinds: static strings, compared by pointer, usable as a metric label. */
extern const char UPSTREAM_EDNS[], UPSTREAM_ECONNECT[], UPSTREAM_ETLS[], UPSTREAM_ETIMEOUT[], UPSTREAM_ERESET[],
	UPSTREAM_EPROTOCOL[], UPSTREAM_ENOMEM[];
#define UPSTREAM_NKINDS 7
/* The kinds in a fixed order (for per-kind counters). */
extern const char *const upstream_error_kinds[UPSTREAM_NKINDS];

struct upstream_cbs {
	/* Status and headers of the final answer (1xx are skipped). Return 0, or -1 to stop: the request is then
	 * cancelled as if by upstream_cancel and no other callback follows. */
	int (*on_head)(struct upstream_req *r, int status, const struct http_hdrs *h);
	/* A piece of the decoded body (chunk framing removed). Same return convention. The bytes are valid only
	 * during the call. */
	int (*on_body)(struct upstream_req *r, const char *p, size_t n);
	/* The answer is complete. The request is detached: it may be reused or freed from here. */
	void (*on_end)(struct upstream_req *r);
	/* The request failed (before or after the head). `kind` is one of UPSTREAM_E*, `msg` a sentence for people.
	 * The request is detached, as after on_end. */
	void (*on_error)(struct upstream_req *r, const char *kind, const char *msg);
	/* Optional: the bytes that arrived together have all been handed over (end of a read pass, answer not ended):
	 * a consumer that gathers output can write it out now, in one piece, with nothing still to come at once. */
	void (*on_flush)(struct upstream_req *r);
};

struct upstream_req {
	const struct upstream_cbs *cbs; /* callbacks (caller) */
	void *data;                     /* caller's pointer */
	const char *head;               /* request line and headers, ending in CRLF CRLF (caller) */
	size_t head_len;                /* bytes in head */
	const char *body;               /* request body, sent as is (caller) */
	size_t body_len;                /* bytes in body */
	int no_body;                    /* HEAD request: the answer carries no body */
	/* Set by upstream, readable in on_error: 0 when the request failed before any of it was handed to a connection
	 * (DNS, connect or TLS handshake failure: the server cannot have seen it), 1 once it may have been sent. */
	int sent;
	/* Private to upstream. */
	struct upstream_conn *conn;     /* the connection serving it, or NULL */
	int retried;                    /* already re-sent once on a fresh connection */
	int issuing;                    /* inside upstream_request: errors wait for the next loop turn */
	uint64_t start_ms;              /* uv_now when the request was issued */
	uint64_t connect_ms;            /* time spent dialing (0 when a pooled connection served it) */
};

#define UPSTREAM_PLAIN_BUF  16384 /* one TLS record's plaintext */
#define UPSTREAM_CIPHER_BUF 65536 /* one socket read */

struct upstream {
	uv_loop_t *loop;              /* the loop (not owned) */
	char host[256];               /* host to dial and verify */
	int port;                     /* port to dial (config) */
	struct tls_ctx *tls;          /* TLS settings, shared with other origins (not owned); NULL: plain HTTP */
	struct tls_session_cache sessions; /* this origin's resumption session */
	uint64_t connect_timeout_ms;  /* dial: DNS + TCP + TLS */
	uint64_t io_timeout_ms;       /* silence allowed while an answer is due */
	uint64_t pool_idle_ms;        /* idle pooled connections live this long */
	uint32_t pool_max;            /* idle connections kept */
	struct upstream_conn *idle;   /* pooled connections, most recently used first */
	uint32_t n_idle;              /* connections in the pool */
	uint32_t n_open;              /* connections open, pooled or busy or dialing */
	uint64_t n_dials;             /* connections dialed since start */
	uint64_t n_purged;            /* idle connections closed as surplus after a burst */
	uint64_t purge_at;            /* uv_now of the last purge */
	uint32_t idle_low;            /* fewest pooled connections since then (never needed: surplus) */
	uint32_t trim_due;            /* purged connections whose memory is not yet released */
	uint32_t n_handshaking;       /* connections in a TLS handshake */
	uint32_t n_full;              /* full handshakes (no session offered) whose session is still to come */
	uint64_t full_done_ms;        /* uv_now when one of them ended, its TLS 1.3 ticket still due (0: none) */
	struct upstream_conn *parked; /* connected, waiting for a session to resume (see upstream.c) */
	uint32_t handshakes_since_trim; /* handshakes finished since the heap was last trimmed */
	uint64_t n_reused;            /* requests served by a pooled connection */
	const char *tls_version;      /* protocol last negotiated ("TLSv1.3"; static), NULL before the first */
	const char *tls_cipher;       /* cipher suite last negotiated (static) */
	uint64_t n_errors[UPSTREAM_NKINDS]; /* failed requests by kind (retries not counted) */
	struct hist connect_time;     /* DNS + TCP connect */
	struct hist handshake_time;   /* TLS handshake */
	struct http_hdrs hdrs;        /* the answer head being parsed in the current read pass (see upstream.c) */
	struct upstream_conn *hdrs_owner; /* the connection `hdrs` belongs to, or NULL */
	/* Allocated with the first connection, so an origin never dialled (a spare token endpoint) costs nothing. */
	char *plain;                  /* decrypt buffer shared by all connections (one loop, one pass at a time) */
	char *cipher;                 /* socket read buffer shared the same way (lent to the connection read) */
};

/* How one origin's client behaves (UPSTREAM_OPTS_DEFAULT: the values in brackets). */
struct upstream_opts {
	uint64_t connect_timeout_ms; /* dial: DNS + TCP + TLS [10 s] */
	uint64_t io_timeout_ms;      /* silence allowed while an answer is due [600 s] */
	uint64_t pool_idle_ms;       /* idle pooled connections live this long [30 s] */
	uint32_t pool_max;           /* idle connections kept; 0 pools none [32] */
};
#define UPSTREAM_OPTS_DEFAULT {.connect_timeout_ms = 10000, .io_timeout_ms = 600000, .pool_idle_ms = 30000, .pool_max = 32}

/* Sets up the pool for one origin. Cannot fail; `tls` must outlive the upstream (NULL speaks plain HTTP, for
 * collectors on the host). `host` and `opts` are copied. */
void upstream_init(struct upstream *u, uv_loop_t *loop, const char *host, int port, struct tls_ctx *tls,
		   const struct upstream_opts *opts);
/* Closes every pooled connection (busy ones close when their request ends or is cancelled). */
void upstream_close(struct upstream *u);
/* Frees the resumption session; call after the loop has run the close callbacks. */
void upstream_free(struct upstream *u);

/* Issues a request. Returns 0, and then the answer or the error arrives through the callbacks from a later loop
 * turn; or UV_ENOMEM when it could not even start (no callback follows: the caller handles it in place). */
int upstream_request(struct upstream *u, struct upstream_req *r);
/* Abandons a request: no more callbacks; its connection is closed, never pooled. Safe on an ended request. */
void upstream_cancel(struct upstream_req *r);
/* Backpressure from the consumer: stop reading the answer, and resume. */
void upstream_pause(struct upstream_req *r);
void upstream_resume(struct upstream_req *r);

#endif
