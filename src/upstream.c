#include "upstream.h"

#include "log.h"

#include <llhttp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char UPSTREAM_EDNS[] = "dns", UPSTREAM_ECONNECT[] = "connect", UPSTREAM_ETLS[] = "tls",
	   UPSTREAM_ETIMEOUT[] = "timeout", UPSTREAM_ERESET[] = "reset", UPSTREAM_EPROTOCOL[] = "protocol",
	   UPSTREAM_ENOMEM[] = "nomem";

const char *const upstream_error_kinds[UPSTREAM_NKINDS] = {UPSTREAM_EDNS,     UPSTREAM_ECONNECT,  UPSTREAM_ETLS,
							   UPSTREAM_ETIMEOUT, UPSTREAM_ERESET,    UPSTREAM_EPROTOCOL,
							   UPSTREAM_ENOMEM};

#define SEND_HIGH_WATER (64 * 1024) /* ciphertext queued before the send pump waits for the socket */
#define RECORD_MAX TLS_RECORD_MAX    /* plaintext handed to one transport_write (one TLS record) */
#define POOL_PURGE_MS 1000          /* period of the pool's surplus check */
#define POOL_KEEP 16                /* pooled connections never closed as surplus (only by --pool-idle-timeout) */

enum conn_state {
	C_DIAL,      /* resolving the host name */
	C_CONNECT,   /* TCP connect in progress */
	C_PARKED,    /* TCP connected; the TLS handshake waits for another one's session to resume */
	C_HANDSHAKE, /* TLS handshake in progress */
	C_BUSY,      /* serving a request */
	C_IDLE,      /* in the pool */
	C_CLOSING,   /* handles closing; freed by the last close callback */
};

static const char *const state_names[] = {"dial", "connect", "parked", "handshake", "busy", "idle", "closing"};

struct upstream_conn {
	uv_tcp_t tcp;                  /* the socket */
	uv_timer_t timer;              /* the one timeout of the current state */
	uv_getaddrinfo_t gai;          /* DNS request */
	uv_connect_t connect;          /* connect request */
	uv_write_t wreq;               /* the one write in flight */
	struct upstream *up;           /* owner */
	struct upstream_req *req;      /* request being served, or NULL */
	struct upstream_conn *next;    /* pool links */
	struct upstream_conn *prev;
	struct upstream_conn *parked_next; /* link in up->parked */
	struct tls_conn tls;           /* the transport (tls.t): TLS, or plain TCP with only tls.t in use */
	llhttp_t parser;               /* answer parser */
	struct http_hdrs *h;           /* the head being parsed: up->hdrs, or `own` across passes; NULL between heads */
	struct http_hdrs own;          /* a head that did not arrive within one read pass */
	struct buf wout;               /* ciphertext being written (swapped with tls.out) */
	struct addrinfo *ai;           /* resolved addresses */
	struct addrinfo *ai_next;      /* next address to try */
	enum conn_state state;         /* see enum; changed by set_state */
	int refs;                      /* callbacks still due before the struct may be freed */
	unsigned writing : 1;          /* wreq in flight */
	unsigned reading : 1;          /* uv_read_start in effect */
	unsigned paused : 1;           /* consumer asked to stop reading (backpressure) */
	unsigned gai_pending : 1;      /* DNS request in flight */
	unsigned tcp_closing : 1;      /* tcp handle closing to retry another address */
	unsigned informational : 1;    /* the message being parsed is a 1xx */
	unsigned done : 1;             /* the answer is complete */
	unsigned keepalive : 1;        /* the answer allows reuse */
	unsigned eof : 1;              /* the peer closed its side */
	unsigned reused : 1;           /* the request came to this connection from the pool */
	unsigned purged : 1;           /* closed as surplus by pool_purge */
	unsigned full_wait : 1;        /* a full handshake whose session parked connections wait for (in up->n_full) */
	size_t head_sent;              /* bytes of req->head encrypted */
	size_t body_sent;              /* bytes of req->body encrypted */
	uint64_t resp_bytes;           /* plaintext answer bytes received for the current request */
	int last_error;                /* last connect error, for the message when every address failed */
	uint64_t dial_start;           /* uv_now when dialing began */
	uint64_t handshake_at;         /* uv_now when the TLS handshake began */
	const char *err_kind;          /* error to deliver from the timer (never from inside upstream_request) */
	char err_msg[256];             /* its message */
};

static void drive(struct upstream_conn *c);
static void read_pass(struct upstream_conn *c);
static void send_pump(struct upstream_conn *c);
static int flush(struct upstream_conn *c);
static void begin_send(struct upstream_conn *c);
static int dial(struct upstream *u, struct upstream_req *r);
static void fail_later(struct upstream_conn *c, const char *kind, const char *fmt, const char *arg);
static void arm(struct upstream_conn *c, uint64_t ms);
static void start_handshake(struct upstream_conn *c);

/* Connections that connected while a full handshake was under way wait for its session and resume it: a burst of
 * new connections (start-up, a pool refilled after an idle spell) then costs one key exchange and one certificate
 * check instead of one each (each takes milliseconds of CPU on this one thread; 200 in a row queued everything
 * behind them for seconds). When that handshake ends, done or failed, they go on: resuming if it left a session, in
 * full otherwise. A TLS 1.3 session comes later, with the ticket the server sends after the handshake (RFC 8446
 * 4.6.1, in practice before any answer byte): the wait lasts until the ticket or the first answer byte, whichever
 * comes first (see full_over), and at most TICKET_WAIT_MS after the handshake (a server that sends no tickets, and
 * a slow first answer, must not hold them to their connect deadline). Their own timers wake them (at once, before
 * the connect deadline their timer was set for), outside whatever callback ended the wait. */
#define TICKET_WAIT_MS 500

/* A parked connection's timer: its connect deadline, or sooner while a finished handshake's ticket is due. */
static void arm_parked(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	uint64_t now = uv_now(u->loop), deadline = c->dial_start + u->connect_timeout_ms, at = deadline;
	if (u->full_done_ms && u->full_done_ms + TICKET_WAIT_MS < at)
		at = u->full_done_ms + TICKET_WAIT_MS;
	arm(c, at > now ? at - now : 0);
}

static void wake_parked(struct upstream *u)
{
	u->full_done_ms = 0;
	for (struct upstream_conn *p = u->parked, *next; p; p = next) {
		next = p->parked_next;
		p->parked_next = NULL;
		arm(p, 0);
	}
	u->parked = NULL;
}

static void unpark(struct upstream_conn *c)
{
	for (struct upstream_conn **pp = &c->up->parked; *pp; pp = &(*pp)->parked_next)
		if (*pp == c) {
			*pp = c->parked_next;
			c->parked_next = NULL;
			return;
		}
}

/* The full handshake that parked connections wait for has left its session, or will not leave one. */
static void full_over(struct upstream_conn *c)
{
	if (!c->full_wait)
		return;
	c->full_wait = 0;
	if (--c->up->n_full == 0)
		wake_parked(c->up);
}

static void set_state(struct upstream_conn *c, enum conn_state s)
{
	if (log_enabled(AP_DEBUG)) {
		struct log_line l;
		log_begin(&l, AP_DEBUG, "upstream_conn");
		log_int(&l, "conn", (long long)(uintptr_t)c & 0xffffff);
		log_str(&l, "from", state_names[c->state]);
		log_str(&l, "to", state_names[s]);
		log_end(&l);
	}
	struct upstream *u = c->up;
	if (s == C_HANDSHAKE) {
		/* A full handshake (no session offered: key exchange, certificate check). */
		c->full_wait = transport_is_full_handshake(&c->tls.t);
		u->n_full += c->full_wait;
		u->n_handshaking++;
	} else if (c->state == C_HANDSHAKE) {
		/* Done (TLS 1.2: the session is cached) or failed; a TLS 1.3 session is still to come. */
		if (s != C_BUSY || u->sessions.have || !transport_late_session(&c->tls.t)) {
			full_over(c);
		} else if (c->full_wait) { /* its ticket is due: the parked wait it for a moment only */
			u->full_done_ms = uv_now(u->loop);
			for (struct upstream_conn *p = u->parked; p; p = p->parked_next)
				arm_parked(p);
		}
		/* A burst of full handshakes (start-up, a pool refilled after an idle spell) leaves their temporary
		 * memory (certificate chains, key exchange) freed but resident: give it back once the burst is over. */
		u->n_handshaking--;
		if (++u->handshakes_since_trim >= 16 && u->n_handshaking == 0) {
			u->handshakes_since_trim = 0;
			malloc_trim(64 * 1024);
		}
	}
	if (s != C_BUSY && s != C_HANDSHAKE)
		full_over(c); /* closed, or pooled with no ticket seen */
	c->state = s;
}

/* ---- answer heads ------------------------------------------------------------------------------------------- */

/* A head nearly always arrives within one read pass, and passes run one at a time: so heads are parsed into one store
 * the pool shares, and pooled connections keep no header memory. A head still incomplete when its pass ends takes the
 * store's allocations with it (a move, nothing copied); the store then starts afresh. */
#define HEAD_MAX_BYTES (64 * 1024)
#define HEAD_MAX_COUNT 256

static void hdrs_spill(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	if (c->h != &u->hdrs)
		return;
	http_hdrs_free(&c->own);
	c->own = u->hdrs;
	http_hdrs_init(&u->hdrs, HEAD_MAX_BYTES, HEAD_MAX_COUNT);
	u->hdrs_owner = NULL;
	c->h = &c->own;
}

static struct http_hdrs *hdrs_of(struct upstream_conn *c)
{
	if (c->h)
		return c->h;
	struct upstream *u = c->up;
	if (u->hdrs_owner) /* only after a pass that ended early; never lose its head regardless */
		hdrs_spill(u->hdrs_owner);
	http_hdrs_reset(&u->hdrs);
	u->hdrs_owner = c;
	return c->h = &u->hdrs;
}

/* The head was handed over (or dropped): the store is free for the next one. */
static void hdrs_done(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	if (c->h == &u->hdrs)
		u->hdrs_owner = NULL;
	http_hdrs_free(&c->own);
	c->h = NULL;
}

/* ---- lifetime ---------------------------------------------------------------------------------------------- */

static void conn_free(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	if (c->purged && u->trim_due && --u->trim_due == 0)
		malloc_trim(64 * 1024); /* the purged sessions' memory (record buffers mostly) goes back to the system */
	transport_free(&c->tls.t);
	hdrs_done(c);
	buf_free(&c->wout);
	if (c->ai)
		uv_freeaddrinfo(c->ai);
	free(c);
}

static void unref(struct upstream_conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

static void on_close(uv_handle_t *h) { unref(h->data); }

static void pool_remove(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	if (c->prev)
		c->prev->next = c->next;
	else
		u->idle = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	u->n_idle--;
}

static void conn_close(struct upstream_conn *c)
{
	if (c->state == C_CLOSING)
		return;
	if (c->state == C_IDLE)
		pool_remove(c);
	else if (c->state == C_PARKED)
		unpark(c);
	set_state(c, C_CLOSING);
	c->up->n_open--;
	if (c->req) {
		c->req->conn = NULL;
		c->req = NULL;
	}
	if (c->gai_pending)
		uv_cancel((uv_req_t *)&c->gai);
	uv_close((uv_handle_t *)&c->timer, on_close);
	if (!c->tcp_closing)
		uv_close((uv_handle_t *)&c->tcp, on_close);
}

static struct upstream_conn *conn_new(struct upstream *u)
{
	if (!u->plain) {
		if (!(u->plain = malloc(UPSTREAM_PLAIN_BUF + UPSTREAM_CIPHER_BUF)))
			return NULL;
		u->cipher = u->plain + UPSTREAM_PLAIN_BUF;
	}
	struct upstream_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->up = u;
	c->state = C_DIAL;
	http_hdrs_init(&c->own, HEAD_MAX_BYTES, HEAD_MAX_COUNT);
	buf_init(&c->wout, 0);
	if (!u->tls) {
		transport_plain_init(&c->tls.t); /* an OTLP collector on the host, over http:// */
	} else if (tls_conn_init(&c->tls, u->tls, &u->sessions, u->host)) {
		transport_free(&c->tls.t);
		free(c);
		return NULL;
	}
	uv_tcp_init(u->loop, &c->tcp);
	uv_timer_init(u->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 2; /* the two handles' close callbacks */
	u->n_open++;
	u->n_dials++;
	return c;
}

/* Ends the current request with an error and closes the connection. A request that met a dead pooled
 * connection before any answer byte is sent again once, on a fresh connection. */
static void finish_error(struct upstream_conn *c, const char *kind, const char *msg)
{
	struct upstream_req *r = c->req;
	if (r && r->issuing) { /* never from inside upstream_request: the caller hears of it on the next loop turn */
		fail_later(c, kind, "%s", msg);
		return;
	}
	int retry = r && c->reused && c->resp_bytes == 0 && !r->retried && kind == UPSTREAM_ERESET;
	conn_close(c);
	if (!r)
		return;
	if (retry) {
		struct log_line l;
		log_begin(&l, AP_DEBUG, "upstream_retry");
		log_str(&l, "reason", msg);
		log_end(&l);
		r->retried = 1;
		if (dial(c->up, r) == 0)
			return;
	}
	for (int i = 0; i < UPSTREAM_NKINDS; i++)
		if (upstream_error_kinds[i] == kind)
			c->up->n_errors[i]++;
	r->cbs->on_error(r, kind, msg);
}

static void fail_later(struct upstream_conn *c, const char *kind, const char *fmt, const char *arg)
{
	c->err_kind = kind;
	snprintf(c->err_msg, sizeof c->err_msg, fmt, arg);
	if (c->reading) { /* nothing more is read from a connection whose end is decided */
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	arm(c, 0);
}

/* ---- timers ------------------------------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
	struct upstream_conn *c = t->data;
	char msg[160];
	if (c->err_kind) {
		const char *kind = c->err_kind;
		c->err_kind = NULL;
		finish_error(c, kind, c->err_msg);
		return;
	}
	switch (c->state) {
	case C_PARKED: {
		uint64_t now = uv_now(c->up->loop), deadline = c->dial_start + c->up->connect_timeout_ms;
		if (now < deadline) { /* woken by wake_parked, or the ticket it waited for did not come */
			unpark(c);
			arm(c, deadline - now);
			start_handshake(c);
			break;
		}
	}
		/* fall through - the connect timeout ran out while parked */
	case C_DIAL:
	case C_CONNECT:
	case C_HANDSHAKE:
		snprintf(msg, sizeof msg, "upstream %s:%d did not complete the %s within %.1f s", c->up->host,
			 c->up->port, c->state >= C_PARKED ? "TLS handshake" : "connection",
			 (double)c->up->connect_timeout_ms / 1000);
		finish_error(c, UPSTREAM_ETIMEOUT, msg);
		break;
	case C_BUSY:
		snprintf(msg, sizeof msg, "upstream sent nothing for %.1f s", (double)c->up->io_timeout_ms / 1000);
		finish_error(c, UPSTREAM_ETIMEOUT, msg);
		break;
	case C_IDLE:
		conn_close(c);
		break;
	case C_CLOSING:
		break;
	}
}

static void arm(struct upstream_conn *c, uint64_t ms) { uv_timer_start(&c->timer, on_timer, ms, 0); }

/* ---- socket I/O ---------------------------------------------------------------------------------------------- */

static void on_write(uv_write_t *w, int status)
{
	struct upstream_conn *c = w->data;
	c->writing = 0;
	if (c->state == C_CLOSING)
		return;
	buf_reset(&c->wout);
	if (status < 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "cannot send to upstream: %s", uv_strerror(status));
		finish_error(c, UPSTREAM_ERESET, msg);
		return;
	}
	if (c->state == C_BUSY)
		send_pump(c);
	else
		flush(c); /* what gathered meanwhile: a handshake flight, or a body's tail after an early answer */
}

/* Hands queued ciphertext to the socket: a direct write first (most requests fit the socket buffer: no write
 * request, no poll re-arm), then one write in flight for the rest while more gathers in tls.out. Returns 1 when
 * everything went out at once. */
static int flush(struct upstream_conn *c)
{
	if (c->writing || buf_size(&c->tls.t.out) == 0 || c->state == C_CLOSING)
		return 0;
	uv_buf_t b = uv_buf_init(buf_ptr(&c->tls.t.out), (unsigned)buf_size(&c->tls.t.out));
	int rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (rc > 0)
		buf_consume(&c->tls.t.out, (size_t)rc);
	if (buf_size(&c->tls.t.out) == 0) {
		buf_reset(&c->tls.t.out);
		return 1;
	}
	if (rc < 0 && rc != UV_EAGAIN) {
		fail_later(c, UPSTREAM_ERESET, "cannot send to upstream: %s", uv_strerror(rc));
		return 0;
	}
	struct buf t = c->wout;
	c->wout = c->tls.t.out;
	c->tls.t.out = t;
	b = uv_buf_init(buf_ptr(&c->wout), (unsigned)buf_size(&c->wout));
	c->wreq.data = c;
	rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		buf_reset(&c->wout);
		fail_later(c, UPSTREAM_ERESET, "cannot send to upstream: %s", uv_strerror(rc));
		return 0;
	}
	c->writing = 1;
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct upstream_conn *c = h->data;
	if (buf_size(&c->tls.t.in) == 0) {
		/* Bytes land in the loop's shared buffer and are lent to the transport for one pass; a connection keeps
		 * an input buffer only while a pass leaves bytes behind (a paused answer). */
		*b = uv_buf_init(c->up->cipher, UPSTREAM_CIPHER_BUF);
		return;
	}
	if (buf_reserve(&c->tls.t.in, 16 * 1024 + 64)) {
		*b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
		return;
	}
	*b = uv_buf_init(buf_tail(&c->tls.t.in), (unsigned)buf_room(&c->tls.t.in));
}

/* After a pass over lent ciphertext: what mbedTLS did not take moves into the connection's own buffer. */
static void keep_rest(struct upstream_conn *c)
{
	if (c->state == C_CLOSING) {
		transport_lend(&c->tls.t, NULL, 0);
		return;
	}
	if (transport_keep(&c->tls.t))
		finish_error(c, UPSTREAM_EPROTOCOL, "upstream sent more than the input buffer takes (256 KB)");
}

/* A pooled connection read n bytes: whether they were only TLS 1.3 handshake messages (a ticket), fully taken. */
static int idle_ticket(struct upstream_conn *c, const char *p, size_t n)
{
	if (!transport_late_session(&c->tls.t))
		return 0;
	transport_lend(&c->tls.t, p, n);
	int rc = transport_read(&c->tls.t, c->up->plain, UPSTREAM_PLAIN_BUF);
	int quiet = rc == TRANSPORT_AGAIN && transport_buffered(&c->tls.t) == 0 && !transport_pending(&c->tls.t);
	transport_lend(&c->tls.t, NULL, 0);
	return quiet;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct upstream_conn *c = s->data;
	if (c->state == C_CLOSING || n == 0)
		return;
	if (c->state == C_IDLE) {
		/* A pooled connection must stay silent: bytes or EOF mean the server is done with it; only a TLS 1.3
		 * post-handshake message (a new session ticket), which leaves no plaintext, keeps it pooled. */
		if (n < 0 || b->base != c->up->cipher || !idle_ticket(c, b->base, (size_t)n))
			conn_close(c);
		return;
	}
	if (n > 0) {
		if (b->base == c->up->cipher)
			transport_lend(&c->tls.t, b->base, (size_t)n);
		else
			c->tls.t.in.len += (size_t)n;
		if (c->state == C_BUSY && !c->paused)
			arm(c, c->up->io_timeout_ms);
	} else if (n == UV_EOF) {
		c->tls.t.eof = 1;
		c->eof = 1;
		uv_read_stop(s);
		c->reading = 0;
	} else {
		char msg[160];
		snprintf(msg, sizeof msg, "upstream connection failed: %s", uv_strerror((int)n));
		finish_error(c, UPSTREAM_ERESET, msg);
		return;
	}
	drive(c);
	keep_rest(c);
}

static void start_reading(struct upstream_conn *c)
{
	if (c->reading || c->eof)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = 1;
}

/* ---- dialing ------------------------------------------------------------------------------------------------- */

static void try_connect(struct upstream_conn *c);

static void on_tcp_reopen(uv_handle_t *h)
{
	struct upstream_conn *c = h->data;
	c->tcp_closing = 0;
	if (c->state == C_CLOSING) {
		unref(c);
		return;
	}
	uv_tcp_init(c->up->loop, &c->tcp);
	c->tcp.data = c;
	try_connect(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct upstream_conn *c = req->data;
	if (c->state == C_CLOSING)
		return;
	if (status < 0) {
		c->last_error = status;
		if (c->ai_next) {
			/* Another address to try: a failed socket cannot connect again, so reopen the handle. */
			c->tcp_closing = 1;
			uv_close((uv_handle_t *)&c->tcp, on_tcp_reopen);
			return;
		}
		char msg[200];
		snprintf(msg, sizeof msg, "cannot connect to upstream %s:%d: %s", c->up->host, c->up->port,
			 uv_strerror(status));
		finish_error(c, UPSTREAM_ECONNECT, msg);
		return;
	}
	uv_freeaddrinfo(c->ai);
	c->ai = c->ai_next = NULL;
	uv_tcp_nodelay(&c->tcp, 1);
	struct upstream *u = c->up;
	hist_observe(&u->connect_time, (double)(uv_now(u->loop) - c->dial_start) / 1000);
	if (!u->sessions.have && u->n_full > 0) { /* a full handshake is under way: wait for its session */
		set_state(c, C_PARKED);
		c->parked_next = u->parked;
		u->parked = c;
		arm_parked(c);
		return;
	}
	start_handshake(c);
}

static void start_handshake(struct upstream_conn *c)
{
	transport_resume(&c->tls.t); /* the newest session, which a parked connection waited for */
	c->handshake_at = uv_now(c->up->loop);
	set_state(c, C_HANDSHAKE);
	start_reading(c);
	drive(c);
}

static void try_connect(struct upstream_conn *c)
{
	while (c->ai_next) {
		struct addrinfo *a = c->ai_next;
		c->ai_next = a->ai_next;
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		c->connect.data = c;
		int rc = uv_tcp_connect(&c->connect, &c->tcp, a->ai_addr, on_connect);
		if (rc == 0)
			return;
		c->last_error = rc;
		if (c->ai_next) {
			/* Failed at once (an IPv6 address without a route): the handle keeps that socket, of that family,
			 * and would reuse it for the next address. A fresh one, as after a failure reported later. */
			c->tcp_closing = 1;
			uv_close((uv_handle_t *)&c->tcp, on_tcp_reopen);
			return;
		}
	}
	char msg[200];
	snprintf(msg, sizeof msg, "cannot connect to upstream %s:%d: %s", c->up->host, c->up->port,
		 c->last_error ? uv_strerror(c->last_error) : "no usable address");
	finish_error(c, UPSTREAM_ECONNECT, msg);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res)
{
	struct upstream_conn *c = g->data;
	c->gai_pending = 0;
	if (c->state == C_CLOSING) {
		if (res)
			uv_freeaddrinfo(res);
		unref(c);
		return;
	}
	c->refs--; /* cannot reach 0: the handles are open */
	if (status < 0) {
		char msg[200];
		snprintf(msg, sizeof msg, "cannot resolve upstream host '%s': %s", c->up->host, uv_strerror(status));
		finish_error(c, UPSTREAM_EDNS, msg);
		return;
	}
	c->ai = c->ai_next = res;
	set_state(c, C_CONNECT);
	try_connect(c);
}

static int dial(struct upstream *u, struct upstream_req *r)
{
	struct upstream_conn *c = conn_new(u);
	if (!c)
		return -1;
	c->req = r;
	r->conn = c;
	c->dial_start = uv_now(u->loop);
	arm(c, u->connect_timeout_ms);
	char port[8];
	snprintf(port, sizeof port, "%d", u->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	c->gai.data = c;
	int rc = uv_getaddrinfo(u->loop, &c->gai, on_resolved, u->host, port, &hints);
	if (rc < 0) {
		fail_later(c, UPSTREAM_EDNS, "cannot resolve upstream host: %s", uv_strerror(rc));
		return 0;
	}
	c->gai_pending = 1;
	c->refs++;
	return 0;
}

/* ---- the exchange ---------------------------------------------------------------------------------------------- */

static void send_pump(struct upstream_conn *c)
{
	struct upstream_req *r;
	do {
		r = c->req;
		while (r && buf_size(&c->tls.t.out) < SEND_HIGH_WATER &&
		       (c->head_sent < r->head_len || c->body_sent < r->body_len)) {
			char stage[RECORD_MAX];
			const char *p;
			size_t n, head = r->head_len - c->head_sent, body = r->body_len - c->body_sent;
			if (head && body && head + body <= RECORD_MAX) {
				/* A small request goes out as one record: one encryption and one MAC, not two. (A large
				 * body is not copied for this: its records are full anyway.) */
				memcpy(stage, r->head + c->head_sent, head);
				memcpy(stage + head, r->body + c->body_sent, body);
				p = stage;
				n = head + body;
			} else if (head) {
				p = r->head + c->head_sent;
				n = head < RECORD_MAX ? head : RECORD_MAX;
			} else {
				p = r->body + c->body_sent;
				n = body < RECORD_MAX ? body : RECORD_MAX;
			}
			int rc = transport_write(&c->tls.t, p, n);
			if (rc < 0) {
				char msg[200];
				transport_describe(&c->tls.t, rc, msg, sizeof msg);
				finish_error(c, UPSTREAM_ETLS, msg);
				return;
			}
			size_t took = (size_t)rc, to_head = took < head ? took : head;
			r->sent |= took > 0;
			c->head_sent += to_head;
			c->body_sent += took - to_head;
		}
	} while (flush(c) && c->state == C_BUSY && (r = c->req) &&
		 (c->head_sent < r->head_len || c->body_sent < r->body_len));
}

/* At most once per POOL_PURGE_MS: connections that stayed in the pool for the whole period, however busy the others
 * were (the lowest the idle count went), were not needed; past POOL_KEEP of them, they are closed, least recently
 * used first. After a burst the pool, and the memory of its TLS sessions (~35 KB each), shrinks within seconds
 * instead of waiting out --pool-idle-timeout; steady traffic, which dips into its spare connections, keeps them, and
 * so does a small bursty client (an agent pausing between requests). */
static void pool_purge(struct upstream *u)
{
	uint64_t now = uv_now(u->loop);
	if (now - u->purge_at < POOL_PURGE_MS)
		return;
	uint32_t surplus = u->idle_low > POOL_KEEP ? u->idle_low - POOL_KEEP : 0;
	if (surplus > u->n_idle)
		surplus = u->n_idle;
	if (surplus) {
		struct upstream_conn *last = u->idle;
		while (last->next)
			last = last->next;
		for (; surplus && last; surplus--) {
			struct upstream_conn *prev = last->prev;
			last->purged = 1;
			u->trim_due++;
			u->n_purged++;
			conn_close(last);
			last = prev;
		}
	}
	u->idle_low = u->n_idle;
	u->purge_at = now;
}

static void complete(struct upstream_conn *c, int clean_tail)
{
	struct upstream_req *r = c->req;
	struct upstream *u = c->up;
	int reusable = c->keepalive && clean_tail && !c->eof && transport_buffered(&c->tls.t) == 0 &&
		       !transport_pending(&c->tls.t) &&
		       c->head_sent == r->head_len && c->body_sent == r->body_len;
	c->req = NULL;
	r->conn = NULL;
	if (reusable) {
		pool_purge(u);
		if (u->n_idle >= u->pool_max) {
			struct upstream_conn *last = u->idle;
			while (last && last->next)
				last = last->next;
			if (last)
				conn_close(last);
		}
		if (u->pool_max > 0) {
			set_state(c, C_IDLE);
			c->paused = 0;
			c->reused = 0;
			c->next = u->idle;
			c->prev = NULL;
			if (u->idle)
				u->idle->prev = c;
			u->idle = c;
			u->n_idle++;
			/* The connection keeps its buffers: the next request on it allocates nothing. The pool holds only as
			 * many connections as were busy at once, and each closes after --pool-idle-timeout. */
			start_reading(c);
			arm(c, u->pool_idle_ms);
		} else {
			conn_close(c);
		}
	} else {
		conn_close(c);
	}
	r->cbs->on_end(r);
}

static void feed(struct upstream_conn *c, const char *p, size_t n)
{
	llhttp_errno_t e = llhttp_execute(&c->parser, p, n);
	if (e == HPE_OK)
		return;
	if (c->state == C_CLOSING || !c->req)
		return; /* a callback cancelled the request */
	if (e == HPE_PAUSED && c->done) {
		const char *stop = llhttp_get_error_pos(&c->parser);
		complete(c, stop == p + n);
		return;
	}
	char msg[200];
	if (c->err_kind) { /* a limit set by a callback */
		snprintf(msg, sizeof msg, "%s", c->err_msg);
		c->err_kind = NULL;
	} else {
		snprintf(msg, sizeof msg, "upstream sent an invalid HTTP answer: %s (%s)", llhttp_errno_name(e),
			 llhttp_get_error_reason(&c->parser) ? llhttp_get_error_reason(&c->parser) : "");
	}
	finish_error(c, UPSTREAM_EPROTOCOL, msg);
}

static void read_pass(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	while (c->state == C_BUSY && c->req && !c->paused && !c->done) {
		int n = transport_read(&c->tls.t, u->plain, UPSTREAM_PLAIN_BUF);
		if (n == TRANSPORT_AGAIN)
			break;
		if (n == 0) {
			c->eof = 1;
			llhttp_errno_t e = llhttp_finish(&c->parser);
			if (c->state == C_CLOSING || !c->req)
				return;
			if (c->done) {
				complete(c, 1);
				return;
			}
			char msg[200];
			snprintf(msg, sizeof msg, "upstream closed the connection %s (%s)",
				 c->resp_bytes ? "before the answer was complete" : "without answering",
				 llhttp_errno_name(e));
			finish_error(c, UPSTREAM_ERESET, msg);
			return;
		}
		if (n < 0) {
			char msg[200], d[160];
			transport_describe(&c->tls.t, n, d, sizeof d);
			snprintf(msg, sizeof msg, "upstream TLS error: %s", d);
			finish_error(c, UPSTREAM_ETLS, msg);
			return;
		}
		c->resp_bytes += (uint64_t)n;
		if (c->full_wait)
			full_over(c); /* an answer byte before any ticket: this server sends none (or late) */
		feed(c, u->plain, (size_t)n);
	}
	if (c->full_wait && u->sessions.have)
		full_over(c); /* the ticket came */
	if (c->state == C_CLOSING)
		return;
	hdrs_spill(c);
	flush(c);
	if (c->req && !c->done && c->req->cbs->on_flush)
		c->req->cbs->on_flush(c->req);
}

/* The protocol and cipher suite negotiated, logged once per origin and again when they change (a server
 * reconfigured, a fallback to TLS 1.2), and kept for the metrics. */
static void note_tls(struct upstream_conn *c)
{
	struct upstream *u = c->up;
	const char *v = transport_version(&c->tls.t), *ci = transport_cipher(&c->tls.t);
	if (!v || !ci)
		return; /* plain TCP */
	if (u->tls_version && strcmp(u->tls_version, v) == 0 && strcmp(u->tls_cipher, ci) == 0)
		return;
	u->tls_version = v;
	u->tls_cipher = ci;
	struct log_line l;
	log_begin(&l, AP_INFO, "upstream_tls");
	log_str(&l, "upstream", u->host);
	log_int(&l, "port", u->port);
	log_str(&l, "version", v);
	log_str(&l, "cipher", ci);
	log_end(&l);
}

static void drive(struct upstream_conn *c)
{
	if (c->state == C_HANDSHAKE) {
		int rc = transport_handshake(&c->tls.t);
		flush(c);
		if (rc == TRANSPORT_AGAIN || c->state == C_CLOSING)
			return;
		if (rc < 0) {
			char msg[300], d[240];
			transport_describe(&c->tls.t, rc, d, sizeof d);
			snprintf(msg, sizeof msg, "TLS handshake with upstream %s:%d failed: %s", c->up->host, c->up->port,
				 d);
			finish_error(c, UPSTREAM_ETLS, msg);
			return;
		}
		uint64_t now = uv_now(c->up->loop);
		hist_observe(&c->up->handshake_time, (double)(now - c->handshake_at) / 1000);
		note_tls(c);
		c->req->connect_ms = now - c->req->start_ms;
		set_state(c, C_BUSY);
		begin_send(c);
		if (c->state == C_CLOSING)
			return;
	}
	if (c->state == C_BUSY)
		read_pass(c);
	else if (c->state == C_IDLE)
		conn_close(c);
}

/* ---- llhttp callbacks ------------------------------------------------------------------------------------------ */

static int on_message_begin(llhttp_t *p)
{
	hdrs_done(p->data);
	return 0;
}

static int hdr_limit(struct upstream_conn *c)
{
	c->err_kind = UPSTREAM_EPROTOCOL;
	snprintf(c->err_msg, sizeof c->err_msg, "upstream answer head exceeds the limits (%d KB, %d headers)",
		 HEAD_MAX_BYTES / 1024, HEAD_MAX_COUNT);
	return -1;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct upstream_conn *c = p->data;
	return http_hdrs_field(hdrs_of(c), at, n) ? hdr_limit(c) : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct upstream_conn *c = p->data;
	return http_hdrs_value(hdrs_of(c), at, n) ? hdr_limit(c) : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct upstream_conn *c = p->data;
	return http_hdrs_value_done(hdrs_of(c)) ? hdr_limit(c) : 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct upstream_conn *c = p->data;
	int status = p->status_code;
	if (status >= 100 && status < 200 && status != 101) {
		/* 1xx answers do not end the exchange; the final answer follows. */
		c->informational = 1;
		hdrs_done(c);
		return 0;
	}
	struct upstream_req *r = c->req;
	int rc = r->cbs->on_head(r, status, hdrs_of(c));
	hdrs_done(c);
	if (rc) {
		upstream_cancel(r);
		return -1;
	}
	if (c->state == C_CLOSING || !c->req)
		return -1;
	return r->no_body ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct upstream_conn *c = p->data;
	struct upstream_req *r = c->req;
	if (c->informational)
		return 0;
	if (r->cbs->on_body(r, at, n)) {
		upstream_cancel(r);
		return -1;
	}
	return (c->state == C_CLOSING || !c->req) ? -1 : 0;
}

static int on_message_complete(llhttp_t *p)
{
	struct upstream_conn *c = p->data;
	if (c->informational) {
		c->informational = 0;
		return 0;
	}
	c->done = 1;
	c->keepalive = llhttp_should_keep_alive(p) != 0;
	return HPE_PAUSED; /* stop: any byte after the answer is not ours to parse */
}

static const llhttp_settings_t parser_settings = {
	.on_message_begin = on_message_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void begin_send(struct upstream_conn *c)
{
	llhttp_init(&c->parser, HTTP_RESPONSE, &parser_settings);
	c->parser.data = c;
	hdrs_done(c);
	c->done = c->keepalive = c->informational = 0;
	c->head_sent = c->body_sent = 0;
	c->resp_bytes = 0;
	arm(c, c->up->io_timeout_ms);
	send_pump(c);
}

/* ---- public ------------------------------------------------------------------------------------------------ */

void upstream_init(struct upstream *u, uv_loop_t *loop, const char *host, int port, struct tls_ctx *tls,
		   const struct upstream_opts *opts)
{
	memset(u, 0, sizeof *u);
	u->loop = loop;
	snprintf(u->host, sizeof u->host, "%s", host);
	u->port = port;
	u->tls = tls;
	tls_session_cache_init(&u->sessions);
	http_hdrs_init(&u->hdrs, HEAD_MAX_BYTES, HEAD_MAX_COUNT);
	u->connect_timeout_ms = opts->connect_timeout_ms;
	u->io_timeout_ms = opts->io_timeout_ms;
	u->pool_idle_ms = opts->pool_idle_ms;
	u->pool_max = opts->pool_max;
}

void upstream_close(struct upstream *u)
{
	while (u->idle)
		conn_close(u->idle);
}

void upstream_free(struct upstream *u)
{
	free(u->plain);
	u->plain = u->cipher = NULL;
	tls_session_cache_free(&u->sessions);
	http_hdrs_free(&u->hdrs);
}

int upstream_request(struct upstream *u, struct upstream_req *r)
{
	r->conn = NULL;
	r->retried = 0;
	r->sent = 0;
	r->start_ms = uv_now(u->loop);
	r->connect_ms = 0;
	if (u->idle) {
		struct upstream_conn *c = u->idle;
		pool_remove(c);
		set_state(c, C_BUSY);
		c->reused = 1;
		c->req = r;
		r->conn = c;
		u->n_reused++;
		if (u->n_idle < u->idle_low)
			u->idle_low = u->n_idle;
		r->issuing = 1;
		begin_send(c);
		r->issuing = 0;
		return 0;
	}
	u->idle_low = 0; /* the pool ran dry: every pooled connection was needed */
	return dial(u, r) ? UV_ENOMEM : 0;
}

void upstream_cancel(struct upstream_req *r)
{
	struct upstream_conn *c = r->conn;
	if (!c)
		return;
	c->req = NULL;
	r->conn = NULL;
	conn_close(c);
}

void upstream_pause(struct upstream_req *r)
{
	struct upstream_conn *c = r->conn;
	if (!c || c->paused)
		return;
	c->paused = 1;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
	if (c->state == C_BUSY)
		uv_timer_stop(&c->timer); /* a paused answer is the client's slowness, not the upstream's */
}

void upstream_resume(struct upstream_req *r)
{
	struct upstream_conn *c = r->conn;
	if (!c || !c->paused)
		return;
	c->paused = 0;
	start_reading(c);
	if (c->state == C_BUSY) {
		arm(c, c->up->io_timeout_ms);
		read_pass(c); /* decrypted or buffered bytes may be waiting with no socket event to come */
		keep_rest(c);
	}
}
