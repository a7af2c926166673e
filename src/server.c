#include "server.h"

#include "config.h"
#include "door.h"
#include "log.h"
#include "metrics.h"
#include "usage.h"

#include <stddef.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_MAX (128 * 1024)      /* received-but-unparsed bytes kept per connection */
#define IN_PAUSE (64 * 1024)     /* while an answer is produced, stop reading past this */
#define LINGER_MS 2000           /* how long a closing connection drains the client's unread bytes */

static const char *const state_names[] = {"idle", "head", "body", "busy", "linger", "closing"};

static void process(struct client *c);
static void after_feed(struct client *c);
static void client_close(struct client *c);
static void client_finish(struct client *c);

static void on_timer(uv_timer_t *t);
static void start_reading(struct client *c);
static void stop_reading(struct client *c);
static void resume_input(struct client *c);
static void on_reap(uv_timer_t *t);

static void arm(struct client *c, uint64_t ms) { uv_timer_start(&c->timer, on_timer, ms, 0); }

static void set_state(struct client *c, enum client_state s)
{
	const struct config *cfg = c->srv->cfg;
	if (log_enabled(AP_DEBUG)) {
		struct log_line l;
		log_begin(&l, AP_DEBUG, "client_state");
		log_str(&l, "from", state_names[c->state]);
		log_str(&l, "to", state_names[s]);
		log_end(&l);
	}
	c->state = s;
	switch (s) {
	case CL_IDLE: arm(c, cfg->keepalive_timeout_ms); break;
	case CL_HEAD: arm(c, cfg->header_timeout_ms); break;
	case CL_BODY: arm(c, cfg->header_timeout_ms); break;
	case CL_BUSY: uv_timer_stop(&c->timer); break; /* the upstream side has its own timeouts */
	case CL_LINGER: arm(c, LINGER_MS); break;
	case CL_CLOSING: uv_timer_stop(&c->timer); break;
	}
}

/* ---- lifetime ---------------------------------------------------------------------------------------------- */

static int gate(struct request *r, void *arg);

/* A parsed request lives from its first byte to the end of its answer. */
static int new_request(struct client *c)
{
	c->req = malloc(sizeof *c->req);
	if (!c->req)
		return -1;
	request_init(c->req, &c->srv->limits);
	c->req->gate = gate;
	c->req->gate_arg = c;
	return 0;
}

static void drop_request(struct client *c)
{
	if (!c->req)
		return;
	request_free(c->req);
	free(c->req);
	c->req = NULL;
}

static void on_client_close(uv_handle_t *h)
{
	struct client *c = h->data;
	if (--c->refs)
		return;
	struct server *s = c->srv;
	drop_request(c);
	buf_free(&c->in);
	free(c);
	/* After a burst the heap holds freed write buffers; hand them back to the system once the last client left. */
	if (s->n_clients == 0)
		malloc_trim(64 * 1024);
}

/* Close callback for a connection refused before it was set up (nothing but the struct to free). */
static void on_client_close_bare(uv_handle_t *h)
{
	struct client *c = h->data;
	if (--c->refs == 0)
		free(c);
}

static void client_close(struct client *c)
{
	if (c->state == CL_CLOSING)
		return;
	set_state(c, CL_CLOSING);
	if (c->exchange) /* the route stops its work and ends the exchange: logged, nothing more is written */
		c->route->abort(c->route->ctx, c, c->exchange);
	struct server *s = c->srv;
	for (struct client **p = &s->reap; c->failed && *p; p = &(*p)->reap_next)
		if (*p == c) { /* closed another way first: the reaper must not see it once it is freed */
			*p = c->reap_next;
			break;
		}
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_clients--;
	s->n_admin -= c->admin;
	uv_close((uv_handle_t *)&c->timer, on_client_close);
	uv_close((uv_handle_t *)&c->tcp, on_client_close);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct client *c = req->data;
	if (c->state == CL_CLOSING)
		return;
	if (status < 0 || c->eof) {
		client_close(c);
		return;
	}
	start_reading(c); /* drain until EOF or the linger timer */
}

/* Ends the connection gracefully: once queued answer bytes are written, send FIN and drain the client's
 * leftovers for a moment. Closing with unread input would make the kernel send RST, which can destroy the
 * answer before the client reads it. */
static void client_finish(struct client *c)
{
	if (c->state == CL_CLOSING || c->state == CL_LINGER)
		return;
	c->keepalive = 0;
	c->close_after = 1;
	if (c->wq_count)
		return; /* on_write comes back here when the queue drains */
	if (c->eof) {
		client_close(c);
		return;
	}
	set_state(c, CL_LINGER);
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
		client_close(c);
}

/* A write failed inside the client API: the route that called it is still on the stack, so the connection is
 * closed (and the route's exchange aborted) from the server's reaper on the next loop turn, never from inside the
 * call. Until then it takes no more bytes and reads nothing. */
static void fail_later(struct client *c)
{
	struct server *s = c->srv;
	if (c->failed)
		return;
	c->failed = 1;
	stop_reading(c);
	c->reap_next = s->reap;
	s->reap = c;
	uv_timer_start(&s->reaper, on_reap, 0, 0);
}

void client_fail(struct client *c) { fail_later(c); }

static void on_reap(uv_timer_t *t)
{
	struct server *s = t->data;
	while (s->reap) {
		struct client *c = s->reap;
		s->reap = c->reap_next;
		client_close(c);
	}
}

/* ---- writing ----------------------------------------------------------------------------------------------- */

struct wreq {
	uv_write_t req;   /* libuv request */
	struct client *c; /* owner */
	size_t len;       /* bytes in data */
	char data[];      /* copy of what could not be written at once */
};

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct client *c = w->c;
	c->wq_count--;
	c->wq_bytes -= w->len;
	free(w);
	if (c->state == CL_CLOSING)
		return;
	if (status < 0) {
		client_close(c);
		return;
	}
	c->out_progress_ms = uv_now(c->tcp.loop);
	int resume = c->out_full && c->wq_bytes < CLIENT_WQ_LOW;
	if (resume)
		c->out_full = 0;
	if (c->wq_count == 0 && c->close_after) {
		client_finish(c);
		return;
	}
	if (c->exchange && c->route->drained && c->wq_bytes < CLIENT_WQ_LOW)
		c->route->drained(c->route->ctx, c, c->exchange);
	if (resume && c->state != CL_CLOSING)
		resume_input(c);
}

int client_write(struct client *c, const uv_buf_t *bufs, unsigned n)
{
	if (c->state == CL_CLOSING || c->state == CL_LINGER || c->failed)
		return -1;
	size_t total = 0, done = 0;
	for (unsigned i = 0; i < n; i++)
		total += bufs[i].len;
	if (total == 0)
		return 0;
	if (c->wq_count == 0) {
		/* Most writes complete at once: no copy, no request. */
		int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, n);
		if (r >= 0)
			done = (size_t)r;
		else if (r != UV_EAGAIN) {
			fail_later(c);
			return -1;
		}
	}
	if (done == total)
		return 0;
	struct wreq *w = malloc(sizeof *w + total - done);
	if (!w) {
		fail_later(c);
		return -1;
	}
	w->c = c;
	w->len = total - done;
	size_t skip = done, at = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t l = bufs[i].len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		memcpy(w->data + at, bufs[i].base + skip, l - skip);
		at += l - skip;
		skip = 0;
	}
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
		free(w);
		fail_later(c);
		return -1;
	}
	if (c->wq_count++ == 0) {
		c->out_progress_ms = uv_now(c->tcp.loop);
		c->out_seen = 0;
	}
	c->wq_bytes += w->len;
	if (c->wq_bytes > CLIENT_WQ_HIGH && !c->out_full) {
		/* The client is not taking its answers: read and parse nothing more until it does (local answers such as
		 * /metrics are made from nothing but requests, so reading on would queue output without bound). */
		c->out_full = 1;
		stop_reading(c);
	}
	return 0;
}

void client_respond(struct client *c, int status, const char *content_type, const char *body, size_t len)
{
	client_respond_with(c, status, content_type, NULL, body, len);
}

void client_respond_with(struct client *c, int status, const char *content_type, const char *extra, const char *body,
			 size_t len)
{
	char head[800];
	int close = !c->keepalive || c->close_after || c->responded;
	/* An HTTP/1.0 client keeps the connection only when the answer says so. */
	const char *conn = "";
	if (close)
		conn = "connection: close\r\n";
	else if (c->req && c->req->http10)
		conn = "connection: keep-alive\r\n";
	const char *allow = status == 405 ? (c->allow ? c->allow : DOOR_API_METHODS) : NULL;
	const char *id = c->id[0] ? "x-proxy-request-id: " : "", *id_end = c->id[0] ? "\r\n" : "";
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n%s%s%s%s%s%s%s%s\r\n", status,
			 http_reason(status), content_type, len, id, c->id, id_end, allow ? "allow: " : "",
			 allow ? allow : "", allow ? "\r\n" : "", conn, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof head)
		n = snprintf(head, sizeof head,
			     "HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %zu\r\n%s%s%s\r\n", status,
			     http_reason(status), content_type, len, id, c->id, id_end);
	uv_buf_t b[2] = {uv_buf_init(head, (unsigned)n), uv_buf_init((char *)body, (unsigned)len)};
	int head_only = c->req && c->req->method == HTTP_HEAD;
	c->status = status;
	c->local_bytes += head_only ? 0 : (uint32_t)len;
	client_write(c, b, head_only ? 1 : 2);
}

/* One access-log line and the request metrics, once per request. */
static void log_exchange(struct client *c, const struct client_report *rep)
{
	struct metrics *m = c->srv->metrics;
	uint64_t now = uv_now(c->tcp.loop);
	int status = rep->status ? rep->status : c->status;
	int route = rep->route >= 0 && rep->route < ROUTE_N ? rep->route : ROUTE_OTHER;
	int slot = rep->model_slot >= 0 && rep->model_slot <= METRICS_MODEL_NONE ? rep->model_slot : METRICS_MODEL_NONE;
	m->requests[route][metrics_class(status)][slot]++;
	hist_observe(&m->duration[route], (double)(now - c->start_ms) / 1000);
	if (rep->ttfb_ms >= 0)
		hist_observe(&m->ttfb[route], (double)rep->ttfb_ms / 1000);
	int problem = status >= 500 || rep->error;
	if (!c->srv->cfg->access_log && !problem)
		return;
	const struct request *r = c->req;
	struct log_line l;
	log_begin(&l, problem ? AP_WARN : AP_INFO, "request");
	log_str(&l, "id", c->id[0] ? c->id : NULL);
	log_str(&l, "client_addr", c->addr);
	if (r) {
		log_str(&l, "method", llhttp_method_name(r->method));
		log_strn(&l, "path", buf_ptr(&r->url), buf_size(&r->url));
	}
	log_int(&l, "status", status);
	if (rep->client)
		log_str(&l, "client", rep->client);
	log_int(&l, "duration_ms", (long long)(now - c->start_ms));
	if (rep->ttfb_ms >= 0)
		log_int(&l, "ttfb_ms", (long long)rep->ttfb_ms);
	const struct usage_counts *k = rep->usage;
	if (k) {
		if (k->model[0])
			log_str(&l, "model", k->model);
		if (k->input_tokens >= 0)
			log_int(&l, "input_tokens", (long long)k->input_tokens);
		if (k->output_tokens >= 0)
			log_int(&l, "output_tokens", (long long)k->output_tokens);
		if (k->cache_creation_input_tokens >= 0)
			log_int(&l, "cache_creation_tokens", (long long)k->cache_creation_input_tokens);
		if (k->cache_read_input_tokens >= 0)
			log_int(&l, "cache_read_tokens", (long long)k->cache_read_input_tokens);
	}
	log_int(&l, "bytes_in", r ? (long long)buf_size(&r->body) : 0);
	log_int(&l, "bytes_out", (long long)(rep->bytes_out + c->local_bytes));
	if (rep->request_id && rep->request_id[0])
		log_str(&l, "request_id", rep->request_id);
	if (rep->error)
		log_str(&l, "error", rep->error);
	if (rep->note)
		log_str(&l, "msg", rep->note);
	log_end(&l);
}

void client_respond_error(struct client *c, int status, const char *message)
{
	client_respond_error_with(c, status, message, NULL);
}

void client_respond_error_with(struct client *c, int status, const char *message, const char *extra)
{
	struct buf body;
	buf_init(&body, 0);
	if (http_error_json(&body, status, message, c->id) == 0)
		client_respond_with(c, status, "application/json", extra, buf_ptr(&body), buf_size(&body));
	buf_free(&body);
}

/* A request that never reached an exchange (bad syntax, limits, timeouts): answer, log, close. */
static void reject(struct client *c, int status, const char *message)
{
	if (c->responded || c->state == CL_CLOSING)
		return;
	c->responded = 1;
	c->keepalive = 0;
	client_respond_error(c, status, message);
	struct client_report rep = {.route = ROUTE_OTHER, .model_slot = METRICS_MODEL_NONE, .ttfb_ms = -1,
				    .error = c->door_kind, .note = message};
	log_exchange(c, &rep);
	client_finish(c);
}

void client_attach(struct client *c, void *exchange) { c->exchange = exchange; }

void client_no_keepalive(struct client *c) { c->keepalive = 0; }

void client_end(struct client *c, const struct client_report *rep, int complete)
{
	c->exchange = NULL;
	log_exchange(c, rep);
	c->door_kind = c->allow = NULL;
	c->client_id = -1; /* the next request's is set by the front door at its head */
	drop_request(c); /* an idle keep-alive connection keeps no request (a prompt can be 32 MB) */
	if (c->state == CL_CLOSING || c->failed)
		return;
	if (!complete || !c->keepalive || c->eof || c->srv->stopping) {
		client_finish(c);
		return;
	}
	set_state(c, CL_IDLE);
	start_reading(c);
	if (!c->in_process && buf_size(&c->in))
		process(c);
}

/* ---- reading ----------------------------------------------------------------------------------------------- */

/* Reads land in one buffer shared by every connection (one loop: one read at a time) and are parsed in place; a
 * connection keeps bytes of its own only when some are left over (a pipelined request behind a busy one, or the
 * rest of a read while the parser waits). An idle keep-alive connection thus holds no read buffer. */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct client *c = h->data;
	struct server *s = c->srv;
	if (c->state == CL_LINGER || buf_size(&c->in) == 0) {
		*b = uv_buf_init(s->rbuf, sizeof s->rbuf);
		return;
	}
	if (buf_reserve(&c->in, 16 * 1024)) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	*b = uv_buf_init(buf_tail(&c->in), (unsigned)buf_room(&c->in));
}

static size_t feed(struct client *c, const char *p, size_t n);

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct client *c = st->data;
	if (c->state == CL_CLOSING || n == 0)
		return;
	if (n < 0) {
		c->eof = 1;
		/* The client left (or failed). Mid-answer this drops the upstream stream at once. */
		client_close(c);
		return;
	}
	if (c->state == CL_LINGER || c->close_after) {
		buf_reset(&c->in); /* draining, or closing once the queued answers are out: the bytes are dropped */
		return;
	}
	if (b->base != c->srv->rbuf) {
		c->in.len += (size_t)n;
		process(c);
		return;
	}
	size_t used = feed(c, b->base, (size_t)n);
	if (used < (size_t)n && c->state != CL_CLOSING && c->state != CL_LINGER &&
	    buf_append(&c->in, b->base + used, (size_t)n - used)) {
		client_close(c); /* more unparsed bytes than a connection may hold */
		return;
	}
	after_feed(c);
}

/* splitmix64's finaliser: a bijection, so distinct counts give distinct ids, and consecutive ones look unrelated. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The request's own id: "req_" + 16 hex digits of the mixed (seed + count). A handful of instructions per request. */
static void new_request_id(struct client *c)
{
	struct server *s = c->srv;
	uint64_t v = mix64(s->id_seed + ++s->id_count);
	memcpy(c->id, "req_", 4);
	for (int i = 19; i >= 4; i--, v >>= 4)
		c->id[i] = "0123456789abcdef"[v & 15];
	c->id[20] = 0;
}

/* A request's first byte arrived: its clock starts, it gets its id, and what the last answer left is cleared. */
static void begin_request(struct client *c)
{
	new_request_id(c);
	c->status = 0;
	c->local_bytes = 0;
	c->start_ms = uv_now(c->tcp.loop);
	set_state(c, CL_HEAD);
}

/* request.c's gate: the front door decides at the head, before any body byte is read or 100 Continue sent. */
static int gate(struct request *r, void *arg)
{
	struct client *c = arg;
	struct door_verdict v;
	if (c->admin)
		door_check_admin(c->srv->cfg, r->method, buf_ptr(&r->url), buf_size(&r->url), &r->hdrs, &v);
	else
		door_check(c->srv->cfg, c->srv->client_table, r->method, buf_ptr(&r->url), buf_size(&r->url), &r->hdrs,
			   &v);
	c->route = c->srv->routes[v.route == DOOR_ADMIN ? DOOR_ADMIN : DOOR_API];
	c->door_kind = v.kind;
	c->allow = v.allow;
	c->client_id = v.status == 0 && v.client >= 0 ? v.client : -1;
	if (v.status)
		snprintf(r->error, sizeof r->error, "%s", v.msg);
	return v.status;
}

static void dispatch(struct client *c)
{
	c->keepalive = c->req->keepalive && !c->srv->stopping; /* draining: this answer is the connection's last */
	set_state(c, CL_BUSY);
	c->route->start(c->route->ctx, c);
}

/* Parses what it can of p[0..n): requests are dispatched one at a time; returns the bytes consumed. */
static size_t feed(struct client *c, const char *p, size_t n)
{
	size_t off = 0;
	c->in_process = 1;
	/* Once the connection is to close (an error answered, or `connection: close`), nothing more is parsed. */
	while ((c->state == CL_IDLE || c->state == CL_HEAD || c->state == CL_BODY) && off < n && !c->out_full &&
	       !c->close_after) {
		if (!c->req && new_request(c)) {
			client_close(c);
			break;
		}
		struct request *r = c->req;
		size_t used;
		enum request_phase before = r->phase;
		enum request_result rr = request_feed(r, p + off, n - off, &used);
		off += used;
		if (before == REQ_IDLE && used)
			begin_request(c);
		if (r->phase >= REQ_BODY && c->state == CL_HEAD) {
			c->keepalive = r->keepalive && !c->srv->stopping;
			set_state(c, CL_BODY); /* arms the body timeout */
		} else if (c->state == CL_BODY && used) {
			arm(c, c->srv->cfg->header_timeout_ms); /* idle timeout between body bytes */
		}
		if (r->want_continue && r->phase == REQ_BODY) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
			r->want_continue = 0;
			client_write(c, &b, 1);
		}
		if (rr == REQ_MORE)
			break;
		if (rr == REQ_ERROR) {
			if (c->state == CL_IDLE)
				begin_request(c);
			reject(c, r->status, r->error);
			break;
		}
		request_next(r);
		dispatch(c);
	}
	c->in_process = 0;
	return off;
}

/* Reading follows the state: stop while an answer is produced and enough is queued, resume for the next request. */
static void after_feed(struct client *c)
{
	if (c->state == CL_LINGER || c->state == CL_CLOSING)
		return;
	if (c->out_full || (c->state == CL_BUSY && buf_size(&c->in) > IN_PAUSE))
		stop_reading(c);
	else
		start_reading(c);
}

/* Queued output fell below the low-water mark: parse what was kept, then read again. */
static void resume_input(struct client *c)
{
	if (c->state == CL_LINGER || c->in_process)
		return;
	if (c->state != CL_BUSY && buf_size(&c->in))
		process(c);
	else
		after_feed(c);
}

/* Parses the bytes the connection kept (pipelined requests, leftovers). */
static void process(struct client *c)
{
	size_t used = feed(c, buf_ptr(&c->in), buf_size(&c->in));
	if (c->state == CL_CLOSING)
		return;
	buf_consume(&c->in, used);
	if (buf_size(&c->in) == 0)
		buf_free(&c->in); /* idle connections keep no buffer */
	after_feed(c);
}

static void start_reading(struct client *c)
{
	if (!c->reading && !c->out_full && !c->failed && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
		c->reading = 1;
}

static void stop_reading(struct client *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

/* ---- timers and accept ------------------------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
	struct client *c = t->data;
	switch (c->state) {
	case CL_IDLE:
		if (c->wq_count) { /* answers still going out: --send-timeout judges that, not the keep-alive timeout */
			arm(c, c->srv->cfg->keepalive_timeout_ms);
			break;
		}
		c->srv->metrics->client_timeouts[2]++;
		client_close(c);
		break;
	case CL_LINGER:
		client_close(c);
		break;
	case CL_HEAD:
	case CL_BODY:
		c->srv->metrics->client_timeouts[c->state == CL_HEAD ? 0 : 1]++;
		reject(c, 408, c->state == CL_HEAD ? "timed out waiting for the request head"
						   : "timed out waiting for the request body");
		break;
	case CL_BUSY:
	case CL_CLOSING:
		break;
	}
}

/* One timer for every connection's send timeout: output that has not moved for --send-timeout (libuv's queue did
 * not shrink and no write completed) means a client that reads nothing, holding its queued answer. */
static void on_sweep(uv_timer_t *t)
{
	struct server *s = t->data;
	uint64_t now = uv_now(t->loop), limit = s->cfg->send_timeout_ms;
	for (struct client *c = s->clients, *next; c; c = next) {
		next = c->next;
		if (!c->wq_count || c->state == CL_CLOSING)
			continue;
		size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
		if (q < c->out_seen)
			c->out_progress_ms = now;
		c->out_seen = q;
		if (now - c->out_progress_ms < limit)
			continue;
		s->metrics->client_timeouts[3]++;
		struct log_line l;
		log_begin(&l, AP_WARN, "send_timeout");
		if (c->req) /* mid-answer: the request it was */
			log_str(&l, "id", c->id);
		log_str(&l, "client_addr", c->addr);
		log_int(&l, "queued_bytes", (long long)c->wq_bytes);
		log_int(&l, "send_timeout_ms", (long long)limit);
		log_str(&l, "msg", "the client read none of its answer in time; connection closed");
		log_end(&l);
		client_close(c);
	}
}

/* "IP:PORT", "[IPv6]:PORT", or "-": once per connection, for its requests' log lines. */
static void peer_name(uv_tcp_t *t, char *out, size_t n)
{
	struct sockaddr_storage sa;
	int len = sizeof sa;
	char ip[INET6_ADDRSTRLEN] = "";
	snprintf(out, n, "-");
	if (uv_tcp_getpeername(t, (struct sockaddr *)&sa, &len))
		return;
	if (sa.ss_family == AF_INET && uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip) == 0)
		snprintf(out, n, "%s:%u", ip, ntohs(((struct sockaddr_in *)&sa)->sin_port));
	else if (sa.ss_family == AF_INET6 && uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip) == 0)
		snprintf(out, n, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
}

static void on_connection(uv_stream_t *l, int status)
{
	struct server *s = l->data;
	if (status < 0)
		return;
	struct client *c = calloc(1, sizeof *c);
	if (!c)
		return;
	const struct config *cfg = s->cfg;
	c->srv = s;
	c->client_id = -1;
	c->admin = l == (uv_stream_t *)&s->admin_listener;
	uv_tcp_init(l->loop, &c->tcp);
	uv_timer_init(l->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 2;
	if (uv_accept(l, (uv_stream_t *)&c->tcp)) {
		set_state(c, CL_CLOSING);
		uv_close((uv_handle_t *)&c->timer, on_client_close_bare);
		uv_close((uv_handle_t *)&c->tcp, on_client_close_bare);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(&c->tcp, c->addr, sizeof c->addr);
	if (c->admin ? s->n_admin >= SERVER_ADMIN_MAX : s->n_clients - s->n_admin >= cfg->max_connections) {
		/* Over the limit: a short answer and close, so the client knows to retry, and existing
		 * connections keep their share of the loop. */
#define BUSY_BODY "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"anthropic-proxy: too many connections\"}}"
		char busy[300];
		int bl = snprintf(busy, sizeof busy,
				  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
				  "content-length: %zu\r\n\r\n%s",
				  sizeof BUSY_BODY - 1, BUSY_BODY);
#undef BUSY_BODY
		uv_buf_t b = uv_buf_init(busy, (unsigned)bl);
		(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		s->n_rejected++;
		if (s->n_rejected == 1 || s->n_rejected % 1000 == 0) {
			struct log_line ll;
			log_begin(&ll, AP_WARN, "connection_limit");
			log_str(&ll, "listener", c->admin ? "admin" : "api");
			log_int(&ll, "max_connections", c->admin ? SERVER_ADMIN_MAX : cfg->max_connections);
			log_int(&ll, "rejected", (long long)s->n_rejected);
			log_end(&ll);
		}
		set_state(c, CL_CLOSING);
		uv_close((uv_handle_t *)&c->timer, on_client_close_bare);
		uv_close((uv_handle_t *)&c->tcp, on_client_close_bare);
		return;
	}
	buf_init(&c->in, IN_MAX);
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->n_clients++;
	s->n_admin += c->admin;
	c->start_ms = uv_now(l->loop);
	set_state(c, CL_IDLE);
	arm(c, cfg->header_timeout_ms); /* a new connection gets the header timeout, not the keep-alive one */
	start_reading(c);
}

void server_init(struct server *s, uv_loop_t *loop, const struct config *cfg, struct metrics *metrics)
{
	memset(s, 0, offsetof(struct server, rbuf));
	s->loop = loop;
	s->cfg = cfg;
	s->metrics = metrics;
	/* Request ids: a random start per process (the clock and pid when the system has no randomness to give). */
	if (uv_random(NULL, NULL, &s->id_seed, sizeof s->id_seed, 0, NULL))
		s->id_seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
}

/* Binds one listening socket; `flag` names it in error messages. */
static int listen_on(struct server *s, uv_tcp_t *tcp, int *open, const char *flag, const char *given,
		     const char *host, int port, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
	int rc = uv_ip4_addr(ip, port, (struct sockaddr_in *)&sa);
	if (rc)
		rc = uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&sa);
	if (rc) {
		snprintf(err, errlen, "%s %s: '%s' is not an IP address", flag, given, host);
		return rc;
	}
	uv_tcp_init(s->loop, tcp);
	tcp->data = s;
	*open = 1;
	rc = uv_tcp_bind(tcp, (struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)tcp, 511, on_connection);
	if (rc)
		snprintf(err, errlen, "cannot listen on %s (%s): %s", given, flag, uv_strerror(rc));
	return rc;
}

int server_start(struct server *s, char *err, size_t errlen)
{
	const struct config *cfg = s->cfg;
	s->limits = (struct request_limits){
		.max_header_size = cfg->max_header_size,
		.max_headers = cfg->max_headers,
		.max_url_length = cfg->max_url_length,
		.max_body_size = cfg->max_body_size,
	};
	int rc = listen_on(s, &s->listener, &s->listening, "--listen", cfg->listen, cfg->listen_host, cfg->listen_port,
			   err, errlen);
	if (!rc && cfg->admin_listen)
		rc = listen_on(s, &s->admin_listener, &s->admin_listening, "--admin-listen", cfg->admin_listen,
			       cfg->admin_host, cfg->admin_port, err, errlen);
	if (rc)
		return rc;
	uint64_t period = cfg->send_timeout_ms / 4;
	period = period < 100 ? 100 : period > 1000 ? 1000 : period;
	uv_timer_init(s->loop, &s->reaper);
	s->reaper.data = s;
	uv_unref((uv_handle_t *)&s->reaper); /* closes what is already closing: never keeps the loop alive */
	uv_timer_init(s->loop, &s->sweep);
	s->sweep.data = s;
	s->sweeping = 1;
	uv_timer_start(&s->sweep, on_sweep, period, period);
	uv_unref((uv_handle_t *)&s->sweep); /* it never keeps the loop alive by itself */
	return 0;
}

void server_stop(struct server *s)
{
	s->stopping = 1;
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		s->listening = 0;
	}
	if (s->admin_listening) {
		uv_close((uv_handle_t *)&s->admin_listener, NULL);
		s->admin_listening = 0;
	}
	if (s->sweeping) { /* draining answers are bounded by --drain-timeout from here */
		uv_close((uv_handle_t *)&s->sweep, NULL);
		s->sweeping = 0;
	}
	for (struct client *c = s->clients, *next; c; c = next) {
		next = c->next;
		c->keepalive = 0;
		if (c->state == CL_IDLE)
			client_close(c);
	}
}

void server_close_all(struct server *s)
{
	while (s->clients)
		client_close(s->clients);
}

void server_free(struct server *s) { (void)s; }

void server_route(struct server *s, int which, const struct client_route *r) { s->routes[which] = r; }
