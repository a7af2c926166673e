#include "proxy.h"

#include "account.h"
#include "app.h"
#include "clients.h"
#include "clock.h"
#include "inflate.h"
#include "log.h"
#include "metrics.h"
#include "reqinfo.h"
#include "router.h"
#include "usage.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OAUTH_BETA "oauth-2025-04-20"
#define HOLD_MAX (64 * 1024)  /* a 401 body is small; anything bigger is passed through */
#define OUT_FLUSH (8 * 1024)  /* gathered answer bytes past this go out at once: small answers coalesce, big ones
				* stream on */
#define OUT_KEEP (64 * 1024)  /* a gather buffer grown past this is released after its flush */
#define OVERLOAD_HOLD_MS (30 * 1000)     /* a 529 keeps its account out of routing this long */
#define BARE_429_HOLD_MS (30 * 1000)     /* so does a 429 that names no window */
#define OVERAGE_HOLD_MS (15 * 60 * 1000) /* extra usage seen, binding reset unknown: out this long */
#define RETRY_AFTER_MAX_S (8 * 86400)     /* an upstream retry-after is believed up to this (the 7-day window, a day) */

/* One request's way through the proxy, from proxy_start to client_end. */
struct proxy_exchange {
	struct proxy *proxy;      /* owner */
	struct client *client;    /* the client being answered (not owned; valid until client_end) */
	struct account *acct;     /* the subscription that signs it (not owned) */
	struct upstream_req ureq; /* the upstream request (its head points into `head`) */
	struct buf head;          /* rewritten request head (holds the access token: wiped) */
	int status;               /* status sent to the client, 0 until the head went out */
	unsigned active : 1;      /* an upstream request is in flight */
	unsigned chunked : 1;     /* the body goes to the client in chunked framing */
	unsigned paused : 1;      /* upstream reading paused because the client is slow */
	unsigned messages : 1;    /* a POST /v1/messages: its answer is consumption (tracked and counted) */
	unsigned waiting : 1;     /* queued for an access token (refresh in flight) */
	unsigned holding : 1;     /* a 401 is held back until we know whether a refresh fixes it */
	unsigned replayed : 1;    /* already sent again after a 401 "expired": never twice */
	unsigned sniff : 1;       /* keep the start of the body (error answers) to read its message */
	unsigned reading : 1;     /* `usage` reads this answer */
	unsigned accounted : 1;   /* this answer's tokens went to the tracker */
	unsigned hold_coded : 1;  /* the held body has a content-encoding */
	unsigned hold_failover : 1; /* the held answer is a 429/529/400 that another account may spare the client */
	unsigned pinned : 1;      /* pin_key names the conversation */
	uint32_t tried;           /* accounts this request was sent to (bit i: account i) */
	uint64_t pin_key;         /* the conversation's key in the pin table */
	int64_t retry_after_s;    /* the answer's retry-after, uncapped, or -1 */
	int8_t overage_in_use;    /* the answer's overage-in-use: -1 absent, 0, 1 */
	uint8_t rl_rejected;      /* the answer's unified-status is rejected */
	char model[64];           /* the model asked for, "" unknown (routing) */
	uint64_t head_stamp;      /* the tracker's stamp for this answer's rate-limit headers (bucket scopes), 0 none */
	struct oauth_waiter waiter; /* the token wait */
	uint64_t generation;      /* oauth generation of the token the request was signed with */
	struct buf hold;          /* the held 401 answer, as it would go to the client (bounded) */
	struct buf hold_body;     /* its body alone, to read the error message */
	int held_status;          /* its status */
	uint8_t route;            /* enum metrics_route */
	int model_slot;           /* tracker model slot of the answer, or METRICS_MODEL_NONE */
	int client_idx;           /* the client (clients.h) the front door matched, or -1 */
	struct usage_reader usage;/* token usage read on the side (never moved once fed) */
	uint64_t bytes_out;       /* body bytes written to the client */
	int64_t ttfb_ms;          /* time to the answer's head, -1 until it came */
	char request_id[72];      /* upstream request-id, for the log */
	const char *error;        /* error kind when the exchange failed (static string), or NULL */
};

static const struct upstream_cbs proxy_cbs;
static void on_error(struct upstream_req *r, const char *kind, const char *msg);
static void send_upstream(struct proxy_exchange *ex, const char *token, const char *why);
static void record_usage(struct proxy_exchange *ex);
static void classify_rejection(struct proxy_exchange *ex);
static void proxy_start(void *ctx, struct client *c);
static void proxy_abort(void *ctx, struct client *c, void *exchange);
static void proxy_drained(void *ctx, struct client *c, void *exchange);

void proxy_init(struct proxy *p, struct app *app)
{
	memset(p, 0, sizeof *p);
	p->app = app;
	p->route = (struct client_route){.start = proxy_start, .abort = proxy_abort, .drained = proxy_drained, .ctx = p};
	buf_init(&p->gather, 0);
	p->routing.last_account = -1;
	/* Pins matter only with several accounts; the seed keeps others from aiming keys at one bucket. */
	uint32_t cap = app->n_accounts > 1 ? app->cfg.max_pinned : 0;
	if (pins_init(&p->routing.pins, cap, app->cfg.pin_idle_ms, uv_hrtime() ^ ((uint64_t)getpid() << 32)))
		log_msg(AP_WARN, "pins_disabled", "out of memory for the conversation pin table: routing by headroom only");
}

void proxy_free(struct proxy *p)
{
	buf_free(&p->gather);
	pins_free(&p->routing.pins);
}

static void exchange_free(struct proxy_exchange *ex)
{
	if (ex->acct && ex->acct->in_flight)
		ex->acct->in_flight--;
	buf_free_wipe(&ex->head); /* it carries the access token */
	buf_free(&ex->hold);
	buf_free(&ex->hold_body);
	usage_reader_free(&ex->usage);
	free(ex);
}

static int choose(struct proxy_exchange *ex);
static void go(struct proxy_exchange *ex);

static void on_token(struct oauth_waiter *w, const char *token, const char *why)
{
	struct proxy_exchange *ex = w->data;
	ex->waiting = 0;
	/* The account's login failed while the request waited for it: another account may still take it. */
	if (!token && !ex->replayed && ex->tried && ex->proxy->app->n_accounts > 1 && choose(ex) == 0) {
		go(ex);
		return;
	}
	send_upstream(ex, token, why);
}

/* Answer bytes wait in one loop-wide buffer (the proxy's `gather`) until the upstream read pass ends: one write per
 * pass, and no gather memory per connection (at 200 connections that was 200 buffers). Every pass ends with a
 * flush; bytes another exchange left there (its pass ended in an error) go to it first. */
static int flush_out(struct proxy_exchange *ex);

static struct buf *gather(struct proxy_exchange *ex)
{
	struct proxy *p = ex->proxy;
	if (p->gather_owner != ex) {
		if (p->gather_owner)
			(void)flush_out(p->gather_owner);
		p->gather_owner = ex;
	}
	return &p->gather;
}

/* Writes the gathered answer bytes to the client in one write, then applies backpressure. */
static int flush_out(struct proxy_exchange *ex)
{
	struct proxy *p = ex->proxy;
	if (p->gather_owner != ex)
		return 0;
	p->gather_owner = NULL;
	struct buf *g = &p->gather;
	uv_buf_t b = uv_buf_init(buf_ptr(g), (unsigned)buf_size(g));
	buf_reset(g); /* the bytes stay put: client_write copies what it cannot send before anything appends again */
	int rc = b.len ? client_write(ex->client, &b, 1) : 0;
	if (g->cap > OUT_KEEP)
		buf_free(g);
	if (rc == 0 && ex->active && client_queued(ex->client) > CLIENT_WQ_HIGH && !ex->paused) {
		ex->paused = 1;
		upstream_pause(&ex->ureq);
	}
	return rc;
}

/* The metrics' model label: the first account's model table names the slots for every account (each account's
 * tracker counts its own tokens per model). */
static int model_slot(struct proxy_exchange *ex, const char *model)
{
	return tracker_model_index(&app_default_account(ex->proxy->app)->tracker, model);
}

/* When the answer named no model (an error, count_tokens), the request says which one was asked for. The reader
 * takes only the top-level "model", in bounded memory, whatever the body holds. */
static void fill_model(struct proxy_exchange *ex)
{
	const struct request *req = client_request(ex->client);
	if (ex->model_slot != METRICS_MODEL_NONE || (ex->route != ROUTE_MESSAGES && ex->route != ROUTE_COUNT_TOKENS) ||
	    !buf_size(&req->body))
		return;
	struct usage_reader u;
	usage_reader_init(&u, "application/json", 16, NULL, 0);
	usage_reader_feed(&u, buf_ptr(&req->body), buf_size(&req->body));
	usage_reader_finish(&u);
	if (u.usage.model[0])
		ex->model_slot = model_slot(ex, u.usage.model);
	usage_reader_free(&u);
}

/* Ends the exchange: reported to the server (logged, counted), detached, freed. */
static void finish(struct proxy_exchange *ex, int complete, const char *note)
{
	struct proxy *p = ex->proxy;
	if (p->gather_owner == ex) { /* what was gathered went out already, or the exchange failed: drop the rest */
		buf_reset(&p->gather);
		p->gather_owner = NULL;
	}
	fill_model(ex);
	struct clients *cl = &p->app->clients;
	int who = ex->client_idx >= 0 && ex->client_idx < cl->n ? ex->client_idx : -1;
	int status = ex->status ? ex->status : client_local_status(ex->client);
	clients_count_request(cl, who, (int)metrics_class(status));
	struct client_report rep = {
		.status = ex->status,
		.bytes_out = ex->bytes_out,
		.route = ex->route,
		.model_slot = ex->model_slot,
		.ttfb_ms = ex->ttfb_ms,
		.request_id = ex->request_id,
		.error = ex->error,
		.usage = ex->accounted ? &ex->usage.usage : NULL,
		.note = note,
		.client = who >= 0 ? cl->e[who].def.name : NULL,
	};
	client_end(ex->client, &rep, complete);
	exchange_free(ex);
}

/* Every answer byte for the client goes through here: gathered until the upstream read pass ends (one write per
 * pass instead of one per head, chunk and terminator), and kept back whole while a 401 is held. */
static int ex_write(struct proxy_exchange *ex, const uv_buf_t *b, unsigned n)
{
	if (!ex->holding) {
		struct buf *g = gather(ex);
		for (unsigned i = 0; i < n; i++)
			if (buf_append(g, b[i].base, b[i].len))
				return -1;
		return buf_size(g) >= OUT_FLUSH ? flush_out(ex) : 0;
	}
	for (unsigned i = 0; i < n; i++)
		if (buf_append(&ex->hold, b[i].base, b[i].len)) {
			/* Too big to be the expiry message: stop holding and pass everything through. */
			ex->holding = 0;
			ex->status = ex->held_status;
			uv_buf_t h = uv_buf_init(buf_ptr(&ex->hold), (unsigned)buf_size(&ex->hold));
			if (client_write(ex->client, &h, 1))
				return -1;
			buf_reset(&ex->hold);
			return client_write(ex->client, b + i, n - i);
		}
	return 0;
}

/* Whether a (small) error body holds a message, inflating it first when it came compressed. */
static int body_says(const char *p, size_t n, int coded, const char *needle)
{
	size_t nl = strlen(needle);
	if (!coded)
		return memmem(p, n, needle, nl) != NULL;
	char out[16384];
	long got = inflate_small(p, n, out, sizeof out);
	return got > 0 && memmem(out, (size_t)got, needle, nl) != NULL;
}

static int flush_hold(struct proxy_exchange *ex)
{
	ex->holding = 0;
	ex->status = ex->held_status;
	uv_buf_t h = uv_buf_init(buf_ptr(&ex->hold), (unsigned)buf_size(&ex->hold));
	int rc = client_write(ex->client, &h, 1);
	buf_reset(&ex->hold);
	return rc;
}

/* Codings the proxy can read on the side (zlib). A client asking for br or zstd still gets a body it can read. */
static int coding_readable(const char *p, size_t n)
{
	return http_name_eq(p, n, "gzip") || http_name_eq(p, n, "x-gzip") || http_name_eq(p, n, "deflate") ||
	       http_name_eq(p, n, "identity");
}

static int append_narrowed_encoding(struct buf *out, const char *v, size_t n)
{
	size_t i = 0, mark = buf_size(out);
	int kept = 0;
	if (buf_appends(out, "accept-encoding: "))
		return -1;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < n && v[i] != ',')
			i++;
		size_t end = i, name_end = start;
		while (name_end < end && v[name_end] != ';' && v[name_end] != ' ')
			name_end++;
		while (end > start && v[end - 1] == ' ')
			end--;
		if (end > start && coding_readable(v + start, name_end - start)) {
			if ((kept++ && buf_appends(out, ", ")) || buf_append(out, v + start, end - start))
				return -1;
		}
	}
	if (!kept) {
		out->len = out->off + mark; /* nothing readable asked for: send none, the upstream answers identity */
		return 0;
	}
	return buf_appends(out, "\r\n");
}

int proxy_rewrite_head(struct buf *out, const char *method, const char *url, size_t url_len,
		       const struct http_hdrs *h, const char *authority, const char *token, int has_body,
		       uint64_t body_len)
{
	/* Absolute-form targets (RFC 9112 §3.2.2) are reduced to origin-form: the upstream is fixed, and the authority a
	 * client names must never reach it as a path. The query stays. */
	size_t pl, al;
	const char *auth, *path = http_target_path(url, url_len, &pl, &auth, &al);
	if (path && auth) {
		const char *end = url + url_len, *after = auth + al;
		if (after < end && *after == '/') {
			url_len = (size_t)(end - after);
			url = after;
		} else { /* no path (the front door lets none through to here) */
			url = "/";
			url_len = 1;
		}
	}
	buf_reset(out);
	if (buf_appends(out, method) || buf_append(out, " ", 1) || buf_append(out, url, url_len) ||
	    buf_appends(out, " HTTP/1.1\r\nhost: ") || buf_appends(out, authority) || buf_append(out, "\r\n", 2))
		return -1;

	int beta_seen = 0, beta_has_oauth = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		const char *name = http_hdr_name(h, i), *val = http_hdr_value(h, i);
		size_t nl = h->v[i].name_len, vl = h->v[i].value_len;
		switch (h->v[i].id) {
		case HH_HOST:
		case HH_AUTHORIZATION:
		case HH_X_API_KEY:
		case HH_CONTENT_LENGTH:
		case HH_EXPECT:
		case HH_ANTHROPIC_BETA: continue;
		}
		if (http_hdr_is_hop(h, i))
			continue;
		if (h->v[i].id == HH_ACCEPT_ENCODING) {
			if (append_narrowed_encoding(out, val, vl))
				return -1;
			continue;
		}
		if (buf_append(out, name, nl) || buf_append(out, ": ", 2) || buf_append(out, val, vl) ||
		    buf_append(out, "\r\n", 2))
			return -1;
	}
	/* anthropic-beta: every value the client sent, in order (repeated headers joined), plus the OAuth beta. */
	for (uint32_t i = 0; i < h->n; i++) {
		if (h->v[i].id != HH_ANTHROPIC_BETA || h->v[i].value_len == 0)
			continue;
		if (buf_appends(out, beta_seen ? "," : "anthropic-beta: ") ||
		    buf_append(out, http_hdr_value(h, i), h->v[i].value_len))
			return -1;
		beta_seen = 1;
		beta_has_oauth |= http_list_has_exact(http_hdr_value(h, i), h->v[i].value_len, OAUTH_BETA);
	}
	if (!beta_seen) {
		if (buf_appends(out, "anthropic-beta: " OAUTH_BETA "\r\n"))
			return -1;
	} else if (buf_appends(out, beta_has_oauth ? "\r\n" : "," OAUTH_BETA "\r\n")) {
		return -1;
	}
	/* The API requires a version; clients that omit it get the one every SDK sends. */
	if (!http_hdrs_find(h, HH_ANTHROPIC_VERSION, NULL) && buf_appends(out, "anthropic-version: 2023-06-01\r\n"))
		return -1;
	if (buf_appends(out, "authorization: Bearer ") || buf_appends(out, token) || buf_append(out, "\r\n", 2))
		return -1;
	if (has_body && (buf_appends(out, "content-length: ") || buf_append_dec(out, body_len) ||
			 buf_append(out, "\r\n", 2)))
		return -1;
	return buf_append(out, "\r\n", 2);
}

/* Answers the request with the proxy's own error (API shape) instead of going upstream. */
static void refuse(struct proxy_exchange *ex, const char *kind, int status, const char *msg)
{
	ex->error = kind;
	client_respond_error(ex->client, status, msg);
	finish(ex, 1, NULL);
}

/* ---- choosing the account (router.h decides; this applies) ----------------------------------------------------- */

static void router_views(struct app *app, struct router_account *v)
{
	for (uint32_t i = 0; i < app->n_accounts && i < ROUTER_MAX_ACCOUNTS; i++) {
		struct account *a = &app->accounts[i];
		v[i] = (struct router_account){.name = a->name, .tracker = &a->tracker, .limited = &a->limited,
					       .overage = &a->overage, .login_ok = oauth_usable(&a->oauth),
					       .in_flight = a->in_flight, .requests = a->requests};
	}
}

/* Per request: --allow-overage lets an account drawing on extra usage serve only clients allowed it. */
static struct router_policy router_policy(const struct proxy_exchange *ex)
{
	const struct app *app = ex->proxy->app;
	return (struct router_policy){
		.max_utilization = app->cfg.max_utilization,
		.allow_overage = clients_allow_overage(&app->clients, ex->client_idx, app->cfg.allow_overage)};
}

static void use_account(struct proxy_exchange *ex, int i, enum router_reason why)
{
	struct proxy_routing *r = &ex->proxy->routing;
	struct account *a = &ex->proxy->app->accounts[i];
	if (ex->acct && ex->acct->in_flight)
		ex->acct->in_flight--;
	ex->acct = a;
	a->in_flight++;
	a->requests++;
	ex->tried |= 1u << i;
	r->decisions[why]++;
	r->last_account = i;
	r->last_reason = why;
	r->last_at_ms = app_wall_ms();
	if (ex->pinned && why != ROUTER_STICKY)
		pins_put(&r->pins, ex->pin_key, i, r->last_at_ms);
}

/* What routing reads from the request: the model (per-model windows) and, with several accounts, the
 * conversation (x-claude-code-session-id, else the session in metadata.user_id). */
static void read_request(struct proxy_exchange *ex)
{
	struct app *app = ex->proxy->app;
	const struct request *req = client_request(ex->client);
	int several = app->n_accounts > 1;
	size_t sl = 0;
	const char *sid = several ? http_hdrs_find(&req->hdrs, HH_SESSION_ID, &sl) : NULL;
	struct reqinfo ri;
	ri.model[0] = ri.session[0] = 0;
	if ((ex->messages || ex->route == ROUTE_COUNT_TOKENS) && buf_size(&req->body))
		reqinfo_scan(buf_ptr(&req->body), buf_size(&req->body), several && !sid, &ri);
	memcpy(ex->model, ri.model, sizeof ex->model);
	if (sid && sl) {
		ex->pin_key = pins_key(&ex->proxy->routing.pins, sid, sl);
		ex->pinned = 1;
	} else if (ri.session[0]) {
		ex->pin_key = pins_key(&ex->proxy->routing.pins, ri.session, strlen(ri.session));
		ex->pinned = 1;
	}
}

/* The guard's own answer when no account can take the request within its plan: 429 rate_limit_error naming
 * every account's block and when it clears, retry-after capped. */
static void refuse_limits(struct proxy_exchange *ex, const struct router_account *v, const struct router_request *rq,
			  const struct router_policy *pol, int64_t now)
{
	struct app *app = ex->proxy->app;
	struct proxy_routing *r = &ex->proxy->routing;
	int n = (int)app->n_accounts;
	struct buf msg;
	buf_init(&msg, 0);
	int64_t ra = 0;
	buf_appends(&msg, "anthropic-proxy: ");
	(void)router_refusal(v, n, rq, pol, now, &msg, &ra);
	int seen[ROUTER_BLOCK_N] = {0};
	for (int i = 0; i < n; i++) {
		struct router_verdict vd;
		struct router_request plain = *rq;
		plain.tried = 0;
		router_check(&v[i], i, &plain, pol, now, &vd);
		if (!seen[vd.block]++)
			r->refusals[vd.block]++;
	}
	int64_t cap = (int64_t)(app->cfg.max_retry_after_ms / 1000);
	if (ra <= 0 || ra > cap)
		ra = cap;
	char extra[64];
	snprintf(extra, sizeof extra, "retry-after: %lld\r\n", (long long)(ra > 0 ? ra : 1));
	struct log_line l;
	log_begin(&l, AP_WARN, "guard_refused");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "model", ex->model[0] ? ex->model : NULL);
	log_int(&l, "retry_after_s", (long long)ra);
	buf_append(&msg, "", 1);
	log_str(&l, "msg", buf_size(&msg) ? buf_ptr(&msg) : "");
	log_end(&l);
	ex->error = "plan_limits";
	client_respond_error_with(ex->client, 429, buf_size(&msg) ? buf_ptr(&msg) : "anthropic-proxy: plan limits", extra);
	buf_free(&msg);
	finish(ex, 1, NULL);
}

/* A client at or above one of its budgets (clients.h) is answered here: 429 rate_limit_error naming the budget,
 * what is used and when the window resets, retry-after capped as for the guard; nothing goes upstream.
 * Returns 1 when it answered. */
static int refuse_budget(struct proxy_exchange *ex)
{
	struct app *app = ex->proxy->app;
	struct clients *cl = &app->clients;
	if (!ex->messages || ex->client_idx < 0 || ex->client_idx >= cl->n || !cl->e[ex->client_idx].def.n_budgets)
		return 0;
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	const char *names[CLIENTS_MAX_ACCOUNTS];
	int n = app_trackers(app, ts, names);
	int64_t now = app_wall_ms();
	struct clients_verdict v;
	if (!clients_over_budget(cl, ex->client_idx, ts, n, ex->model, now, &v))
		return 0;
	struct clients_entry *e = &cl->e[ex->client_idx];
	struct clients_budget *b = &e->def.budgets[v.budget];
	b->refusals++;
	int64_t cap = (int64_t)(app->cfg.max_retry_after_ms / 1000), ra = v.resets_at ? v.resets_at - now / 1000 : 0;
	if (ra <= 0 || ra > cap)
		ra = cap;
	char when[40] = "an unknown time", msg[400], extra[64];
	if (v.resets_at)
		clock_format_utc(v.resets_at, when, sizeof when);
	snprintf(msg, sizeof msg,
		 "anthropic-proxy: client '%s' has used %.1f%% of the %s window, at or above its budget of %.1f%%; the "
		 "window resets at %s",
		 e->def.name, v.used * 100, b->window, b->share * 100, when);
	snprintf(extra, sizeof extra, "retry-after: %lld\r\n", (long long)(ra > 0 ? ra : 1));
	struct log_line l;
	log_begin(&l, AP_WARN, "client_budget_refused");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "client", e->def.name);
	log_str(&l, "window", b->window);
	log_int(&l, "retry_after_s", (long long)ra);
	log_str(&l, "msg", msg);
	log_end(&l);
	ex->error = "client_budget";
	client_respond_error_with(ex->client, 429, msg, extra);
	finish(ex, 1, NULL);
	return 1;
}

/* Picks the account for the request, or for its replay (`tried` set). Returns 0 with ex->acct set; 1 when no other
 * account can take a replay; -1 when the request was answered here (the guard's 429). */
static int choose(struct proxy_exchange *ex)
{
	struct app *app = ex->proxy->app;
	struct proxy_routing *r = &ex->proxy->routing;
	int n = (int)app->n_accounts;
	struct router_account v[ROUTER_MAX_ACCOUNTS];
	router_views(app, v);
	const struct router_policy pol = router_policy(ex);
	int64_t now = app_wall_ms();
	struct router_request rq = {.model = ex->model, .consumes = ex->messages, .tried = ex->tried, .pinned = -1};
	if (ex->pinned && !ex->tried)
		rq.pinned = pins_get(&r->pins, ex->pin_key, now);
	struct router_choice ch;
	if (router_pick(v, n, &rq, &pol, now, &ch) >= 0) {
		use_account(ex, ch.account, ch.reason);
		return 0;
	}
	if (ex->tried)
		return 1;
	int no_login = 1;
	for (int i = 0; i < n; i++)
		no_login &= !v[i].login_ok;
	if (no_login || !ex->messages) {
		/* No login anywhere (or nothing to guard): the default account answers why, as with one account. */
		ex->acct = app_default_account(app);
		ex->acct->in_flight++;
		return 0;
	}
	refuse_limits(ex, v, &rq, &pol, now);
	return -1;
}

/* Sends on the chosen account, after its refresh when one is due. */
static void go(struct proxy_exchange *ex)
{
	if (oauth_must_wait(&ex->acct->oauth)) {
		ex->waiting = 1;
		if (oauth_wait(&ex->acct->oauth, &ex->waiter) == 0)
			return;
		ex->waiting = 0;
	}
	send_upstream(ex, oauth_token(&ex->acct->oauth), NULL);
}

/* ---- the route ------------------------------------------------------------------------------------------------- */

static void proxy_start(void *ctx, struct client *c)
{
	struct proxy *p = ctx;
	const struct request *req = client_request(c);
	struct proxy_exchange *ex = calloc(1, sizeof *ex);
	if (!ex) {
		struct client_report rep = {.route = ROUTE_OTHER, .model_slot = METRICS_MODEL_NONE, .ttfb_ms = -1,
					    .error = "nomem"};
		client_respond_error(c, 503, "anthropic-proxy: out of memory");
		client_end(c, &rep, 1);
		return;
	}
	/* The front door (door.h) let this request in at its head: method, target, Host, Origin and client key. */
	ex->proxy = p;
	ex->client = c;
	buf_init(&ex->head, 0);
	buf_init(&ex->hold, HOLD_MAX);
	buf_init(&ex->hold_body, HOLD_MAX);
	ex->ttfb_ms = -1;
	ex->route = (uint8_t)metrics_route(buf_ptr(&req->url), buf_size(&req->url));
	ex->model_slot = METRICS_MODEL_NONE;
	ex->messages = req->method == HTTP_POST && http_path_is(buf_ptr(&req->url), buf_size(&req->url), "/v1/messages");
	ex->waiter.cb = on_token;
	ex->waiter.data = ex;
	ex->client_idx = client_identity(c);
	client_attach(c, ex);
	read_request(ex);
	if (refuse_budget(ex))
		return;
	if (choose(ex) == 0)
		go(ex);
}

static void send_upstream(struct proxy_exchange *ex, const char *token, const char *why)
{
	struct app *app = ex->proxy->app;
	const struct request *req = client_request(ex->client);
	const struct oauth *oa = &ex->acct->oauth;
	if (!token && ex->replayed && buf_size(&ex->hold)) {
		/* No new token after a 401: the client gets the upstream's own answer. */
		if (flush_hold(ex) == 0)
			finish(ex, 1, NULL);
		return;
	}
	if (!token) {
		char msg[600];
		snprintf(msg, sizeof msg,
			 "anthropic-proxy has no Claude credentials (%s). Log in with Claude Code (`claude /login`) so "
			 "~/.claude/.credentials.json exists, pass --credentials PATH, or set CLAUDE_CODE_OAUTH_TOKEN "
			 "(from `claude setup-token`), then send the proxy SIGHUP or restart it.",
			 why ? why : oa->problem[0] ? oa->problem : "none found");
		if (oa->cur.access_token) /* credentials exist but are not usable now */
			snprintf(msg, sizeof msg, "anthropic-proxy has no usable access token: %s",
				 why ? why : oa->problem[0] ? oa->problem : "unknown reason");
		refuse(ex, "no_credentials", 503, msg);
		return;
	}
	/* The rewritten head is about the size of the received one: one allocation instead of a doubling series. */
	size_t guess = buf_size(&req->url) + buf_size(&req->hdrs.raw) + 4 * req->hdrs.n + strlen(token) + 256;
	if (buf_reserve(&ex->head, guess) ||
	    proxy_rewrite_head(&ex->head, llhttp_method_name(req->method), buf_ptr(&req->url), buf_size(&req->url),
			       &req->hdrs, app->cfg.upstream_authority, token, request_has_body(req),
			       buf_size(&req->body))) {
		refuse(ex, "nomem", 503, "out of memory");
		return;
	}
	ex->ureq = (struct upstream_req){
		.cbs = &proxy_cbs,
		.data = ex,
		.head = buf_ptr(&ex->head),
		.head_len = buf_size(&ex->head),
		.body = buf_ptr(&req->body),
		.body_len = buf_size(&req->body),
		.no_body = (req->method == HTTP_HEAD),
	};
	ex->generation = oa->generation;
	ex->retry_after_s = -1;
	ex->overage_in_use = -1;
	ex->rl_rejected = 0;
	ex->reading = 0;
	ex->accounted = 0;
	ex->sniff = 0;
	ex->holding = 0;
	buf_reset(&ex->hold);
	buf_reset(&ex->hold_body);
	ex->active = 1;
	ex->paused = 0;
	ex->chunked = 0;
	ex->bytes_out = 0; /* a held answer replaced by a replay or a failover never went out */
	if (upstream_request(&app->up, &ex->ureq))
		on_error(&ex->ureq, UPSTREAM_ENOMEM, "out of memory");
}

static void proxy_abort(void *ctx, struct client *c, void *exchange)
{
	struct proxy_exchange *ex = exchange;
	(void)ctx, (void)c;
	if (ex->waiting) {
		oauth_cancel(&ex->acct->oauth, &ex->waiter);
		ex->waiting = 0;
	}
	if (ex->active) {
		ex->active = 0;
		upstream_cancel(&ex->ureq);
	}
	ex->error = "client_gone";
	record_usage(ex); /* tokens seen before the client left still count */
	finish(ex, 0, "client closed the connection before the answer was complete; upstream stream dropped");
}

static void proxy_drained(void *ctx, struct client *c, void *exchange)
{
	struct proxy_exchange *ex = exchange;
	(void)ctx, (void)c;
	if (!ex->paused)
		return;
	ex->paused = 0;
	upstream_resume(&ex->ureq);
}

/* Hands an answer's tokens to the tracker once (also for answers cut short), and its events to the metrics. */
static void record_usage(struct proxy_exchange *ex)
{
	if (!ex->reading || ex->accounted)
		return;
	ex->accounted = 1;
	struct app *app = ex->proxy->app;
	struct usage_reader *u = &ex->usage;
	usage_reader_finish(u);
	const struct usage_counts *k = &u->usage;
	struct tracker *t = &ex->acct->tracker;
	if (k->input_tokens >= 0 || k->output_tokens >= 0 || k->cache_creation_input_tokens >= 0 ||
	    k->cache_read_input_tokens >= 0) {
		if (!ex->model[0] && k->model[0] && ex->head_stamp)
			tracker_note_answer_model(t, k->model, ex->head_stamp);
		int64_t now = app_wall_ms();
		tracker_record(t, k->model, k->input_tokens, k->output_tokens, k->cache_creation_input_tokens,
			       k->cache_read_input_tokens, now);
		clients_record(&app->clients, ex->client_idx, (int)(ex->acct - app->accounts), t, k->model,
			       k->input_tokens, k->output_tokens, k->cache_creation_input_tokens, k->cache_read_input_tokens,
			       now);
		ex->model_slot = model_slot(ex, k->model);
	} else if (k->model[0]) {
		ex->model_slot = model_slot(ex, k->model);
	}
	if (u->error_events)
		app->metrics.stream_errors[metrics_stream_error_index(u->error_type)] += u->error_events;
	app->metrics.oversized_events += u->oversized_events;
	if (u->error_events) {
		struct log_line l;
		log_begin(&l, AP_WARN, "stream_error_event");
		log_str(&l, "id", client_request_id(ex->client));
		log_str(&l, "type", u->error_type);
		log_str(&l, "request_id", ex->request_id[0] ? ex->request_id : NULL);
		log_end(&l);
	}
	usage_reader_free(u);
}

/* The API refuses (or bills as extra usage) non-Claude-Code traffic on a subscription: count it and say so. */
static void classify_rejection(struct proxy_exchange *ex)
{
	const char *p = buf_ptr(&ex->hold_body);
	size_t n = buf_size(&ex->hold_body);
	int kind = -1;
	if (body_says(p, n, ex->hold_coded, "only authorized for use with Claude Code"))
		kind = REJECT_CLAUDE_CODE_ONLY;
	else if (body_says(p, n, ex->hold_coded, "draw from your extra usage"))
		kind = REJECT_EXTRA_USAGE;
	if (kind < 0)
		return;
	ex->proxy->app->metrics.rejected[kind]++;
	struct log_line l;
	log_begin(&l, AP_WARN, "subscription_rejection");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "account", ex->acct->name);
	log_str(&l, "request_id", ex->request_id[0] ? ex->request_id : NULL);
	log_str(&l, "msg",
		kind == REJECT_CLAUDE_CODE_ONLY
			? "the API refused this request: the subscription's credential is only authorized for Claude Code"
			: "the API bills this client's traffic as extra usage (third-party apps draw from extra usage)");
	log_end(&l);
}

/* ---- upstream callbacks ------------------------------------------------------------------------------------------ */

static int has_prefix_ci(const char *v, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	return n >= pl && strncasecmp(v, prefix, pl) == 0;
}

/* What the proxy acts on in an answer head, picked out in one pass (ids were set as the headers were parsed). */
struct head_facts {
	const char *content_type, *content_encoding, *rl_status;
	size_t content_type_len, content_encoding_len, rl_status_len;
	unsigned has_te : 1, has_len : 1;
};

/* One pass over the answer's headers: the facts above, the request id for the log, and the rate-limit headers
 * for the account's tracker (they appear on /v1/messages answers only; every status carries them, 429s too). */
static void scan_head(struct proxy_exchange *ex, const struct http_hdrs *h, struct head_facts *f)
{
	const char *rid = NULL;
	size_t rid_len = 0;
	int64_t now = ex->messages ? app_wall_ms() : 0;
	memset(f, 0, sizeof *f);
	if (ex->messages)
		ex->head_stamp = tracker_head_begin(&ex->acct->tracker);
	for (uint32_t i = 0; i < h->n; i++) {
		const char *v = http_hdr_value(h, i);
		size_t vl = h->v[i].value_len;
		switch (h->v[i].id) {
		case HH_REQUEST_ID: rid = v, rid_len = vl; break;
		case HH_CONTENT_TYPE: f->content_type = v, f->content_type_len = vl; break;
		case HH_CONTENT_ENCODING: f->content_encoding = v, f->content_encoding_len = vl; break;
		case HH_TRANSFER_ENCODING: f->has_te = 1; break;
		case HH_CONTENT_LENGTH: f->has_len = 1; break;
		case HH_RETRY_AFTER: {
			long long s = http_retry_after_s(v, vl, RETRY_AFTER_MAX_S); /* no window is longer than a week */
			if (s >= 0)
				ex->retry_after_s = s;
			break;
		}
		case HH_RATELIMIT: {
			const char *name = http_hdr_name(h, i);
			size_t nl = h->v[i].name_len;
			if (ex->messages)
				tracker_apply_header(&ex->acct->tracker, name, nl, v, vl, now);
			if (http_name_eq(name, nl, "anthropic-ratelimit-unified-status")) {
				f->rl_status = v, f->rl_status_len = vl;
				ex->rl_rejected = http_name_eq(v, vl, "rejected");
			} else if (http_name_eq(name, nl, "anthropic-ratelimit-unified-overage-in-use")) {
				ex->overage_in_use = http_name_eq(v, vl, "true") ? 1 : http_name_eq(v, vl, "false") ? 0 : -1;
			}
			break;
		}
		}
	}
	size_t k = 0;
	for (size_t i = 0; rid && i < rid_len && k + 1 < sizeof ex->request_id; i++) /* it goes into log lines */
		if (isalnum((unsigned char)rid[i]) || rid[i] == '_' || rid[i] == '-')
			ex->request_id[k++] = rid[i];
	ex->request_id[k] = 0;
}

/* The answer's head as the client gets it, appended to `out`: the upstream's status and headers less hop-by-hop
 * ones, with the framing this side needs. Returns 0 or -1 (memory). */
static int build_head(struct proxy_exchange *ex, int status, const struct http_hdrs *h, struct buf *out)
{
	int keepalive = client_keepalive(ex->client), http10 = client_request(ex->client)->http10;
	int err = buf_appends(out, "HTTP/1.1 ") || buf_append_dec(out, (unsigned)status) || buf_append(out, " ", 1) ||
		  buf_appends(out, http_reason(status)) || buf_append(out, "\r\n", 2);
	int sse = 0;
	for (uint32_t i = 0; i < h->n && !err; i++) {
		const char *name = http_hdr_name(h, i), *val = http_hdr_value(h, i);
		size_t nl = h->v[i].name_len, vl = h->v[i].value_len;
		if (http_hdr_is_hop(h, i))
			continue;
		if (h->v[i].id == HH_CONTENT_LENGTH && ex->chunked)
			continue;
		if (h->v[i].id == HH_RETRY_AFTER && ex->retry_after_s > (int64_t)(ex->proxy->app->cfg.max_retry_after_ms / 1000)) {
			/* A window's retry-after is its reset, days away: clients would sleep that long. */
			err = buf_appends(out, "retry-after: ") ||
			      buf_append_dec(out, ex->proxy->app->cfg.max_retry_after_ms / 1000) || buf_append(out, "\r\n", 2);
			continue;
		}
		if (h->v[i].id == HH_CONTENT_TYPE && has_prefix_ci(val, vl, "text/event-stream"))
			sse = 1;
		err = buf_append(out, name, nl) || buf_append(out, ": ", 2) || buf_append(out, val, vl) ||
		      buf_append(out, "\r\n", 2);
	}
	if (!err) /* the proxy's own id beside the upstream's request-id, which passes untouched */
		err = buf_appends(out, "x-proxy-request-id: ") || buf_appends(out, client_request_id(ex->client)) ||
		      buf_append(out, "\r\n", 2);
	if (!err && ex->chunked)
		err = buf_appends(out, "transfer-encoding: chunked\r\n");
	if (!err && sse)
		err = buf_appends(out, "x-accel-buffering: no\r\n");
	if (!err && !keepalive)
		err = buf_appends(out, "connection: close\r\n");
	else if (!err && http10)
		err = buf_appends(out, "connection: keep-alive\r\n");
	return err || buf_append(out, "\r\n", 2) ? -1 : 0;
}

/* What an answer on /v1/messages says about its account beyond the windows (router.h reads it):
 * - a 429 holds the account back until the retry-after (a window's reset), a bare 429 or a 529 for a back-off;
 *   a 429 naming a per-model window holds it back for that window's models only (router.c);
 * - an answer paid from extra usage (overage-in-use: true, or a 2xx whose unified-status is rejected) holds it
 *   back until the binding window resets, unless --allow-overage; one that says otherwise lifts that hold. */
static void hold_account(struct proxy_exchange *ex, struct account_hold *h, int64_t until_ms, const char *reason,
			 const char *window, const char *msg)
{
	int64_t now = app_wall_ms();
	int fresh = h->until_ms <= now;
	h->until_ms = until_ms;
	h->reason = reason;
	snprintf(h->window, sizeof h->window, "%s", window ? window : "");
	if (h == &ex->acct->overage && fresh)
		ex->proxy->routing.overage_trips++;
	struct log_line l;
	log_begin(&l, fresh ? AP_WARN : AP_DEBUG, "account_held");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "account", ex->acct->name);
	log_str(&l, "reason", reason);
	log_str(&l, "window", window && *window ? window : NULL);
	log_int(&l, "for_s", (long long)((until_ms - now) / 1000));
	log_str(&l, "msg", msg);
	log_end(&l);
}

static void trip_overage(struct proxy_exchange *ex, const char *why)
{
	int64_t now = app_wall_ms(), reset_ms = ex->acct->tracker.reset * 1000;
	hold_account(ex, &ex->acct->overage, reset_ms > now ? reset_ms : now + OVERAGE_HOLD_MS, "extra_usage", NULL,
		     ex->proxy->app->cfg.allow_overage ? why : "account drawing on paid extra usage: not used until its "
							     "plan window resets (--allow-overage to use it)");
}

static void learn_from_head(struct proxy_exchange *ex, int status)
{
	struct account *a = ex->acct;
	int64_t now = app_wall_ms();
	if (ex->proxy->app->n_accounts < 2 && !(status == 429 && ex->rl_rejected) && status >= 300)
		return; /* one account: a 529 or a bare 429 is the upstream's state, not the account's (nowhere else to go) */
	if (status == 429) {
		const char *claim = a->tracker.representative_claim;
		/* A window 429 (unified-status rejected) lasts until the window resets: its retry-after, else the binding
		 * reset; any other 429 for its retry-after or a short back-off. */
		int windowed = ex->rl_rejected;
		int64_t until = ex->retry_after_s > 0 ? now + ex->retry_after_s * 1000
				: windowed && a->tracker.reset * 1000 > now ? a->tracker.reset * 1000
									    : now + BARE_429_HOLD_MS;
		hold_account(ex, &a->limited, until, windowed ? "window" : "rate_limited", windowed && claim[0] ? claim : NULL,
			     "upstream answered 429");
	} else if (status == 529) {
		hold_account(ex, &a->limited, now + OVERLOAD_HOLD_MS, "overloaded", NULL, "upstream answered 529 overloaded");
	} else if (status < 300) {
		if (ex->overage_in_use == 1 || ex->rl_rejected)
			trip_overage(ex, "account drawing on paid extra usage (--allow-overage: still used)");
		else if (ex->overage_in_use == 0 && a->overage.until_ms)
			a->overage.until_ms = 0;
	}
}

/* Whether another account could take this request if this answer is a refusal. */
static int failover_possible(struct proxy_exchange *ex)
{
	struct app *app = ex->proxy->app;
	if (app->n_accounts < 2)
		return 0;
	struct router_account v[ROUTER_MAX_ACCOUNTS];
	router_views(app, v);
	const struct router_policy pol = router_policy(ex);
	struct router_request rq = {.model = ex->model, .consumes = 1, .tried = ex->tried, .pinned = -1};
	struct router_choice ch;
	return router_pick(v, (int)app->n_accounts, &rq, &pol, app_wall_ms(), &ch) >= 0;
}

/* A held 429/529 (or a 400 saying third-party use draws from extra usage): replay on the next usable account.
 * Returns 0 when replayed, -1 when the held answer goes to the client. */
static int fail_over(struct proxy_exchange *ex)
{
	if (ex->held_status == 400) {
		if (!body_says(buf_ptr(&ex->hold_body), buf_size(&ex->hold_body), ex->hold_coded, "draw from your extra usage"))
			return -1;
		trip_overage(ex, "third-party use draws from extra usage on this account");
	}
	struct account *from = ex->acct;
	int status = ex->held_status;
	if (choose(ex) != 0)
		return -1;
	ex->proxy->routing.failovers++;
	struct log_line l;
	log_begin(&l, AP_INFO, "failover");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "from", from->name);
	log_str(&l, "to", ex->acct->name);
	log_int(&l, "status", status);
	log_str(&l, "request_id", ex->request_id[0] ? ex->request_id : NULL);
	log_end(&l);
	ex->holding = 0;
	ex->hold_failover = 0;
	ex->accounted = 0; /* the refusal counted nothing: the replay's answer is counted */
	ex->status = 0;
	ex->ttfb_ms = -1;
	buf_reset(&ex->hold);
	buf_reset(&ex->hold_body);
	go(ex);
	return 0;
}

static int head_in(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	struct proxy_exchange *ex = r->data;
	struct client *c = ex->client;
	struct app *app = ex->proxy->app;
	ex->ttfb_ms = (int64_t)(uv_now(app->loop) - client_start_ms(c));
	struct head_facts f;
	scan_head(ex, h, &f);
	if (ex->messages) {
		usage_reader_init(&ex->usage, f.content_type, f.content_type_len, f.content_encoding,
				  f.content_encoding_len);
		ex->reading = 1;
	}
	if (status == 429)
		app->metrics.rate_limited[f.rl_status && http_name_eq(f.rl_status, f.rl_status_len, "rejected")
						  ? RL_WINDOW
						  : RL_BARE]++;
	if (ex->messages) {
		/* The buckets this head carried apply to the request's model family (e.g. 7d_oi). */
		if (ex->model[0])
			tracker_note_answer_model(&ex->acct->tracker, ex->model, ex->head_stamp);
		learn_from_head(ex, status);
	}
	ex->sniff = status == 400 || status == 403;
	ex->hold_coded = f.content_encoding != NULL;

	int bodyless = client_request(c)->method == HTTP_HEAD || status == 204 || status == 304;
	ex->chunked = 0;
	if (!bodyless && (f.has_te || !f.has_len)) {
		/* The length is unknown: chunk it for HTTP/1.1 clients, or delimit it by closing for HTTP/1.0. */
		if (client_request(c)->http10)
			client_no_keepalive(c);
		else
			ex->chunked = 1;
	}

	/* The answer's head is built in place in the gather buffer (held back below if it is a 401 to hold). */
	struct buf *out = gather(ex);
	size_t mark = out->len;
	if (build_head(ex, status, h, out)) {
		out->len = mark;
		return -1;
	}
	/* A 401 may be "OAuth token has expired": keep it back until the body says, so a refresh and one replay can
	 * spare the client from ever seeing it. */
	const struct oauth *oa = &ex->acct->oauth;
	int failover = ex->messages && (status == 429 || status == 529 || status == 400) && failover_possible(ex);
	int refreshable = oa->source == OAUTH_FILE || oa->source == OAUTH_STORE; /* a login with a refresh token */
	if ((status == 401 && !ex->replayed && refreshable && !oa->dead) || failover) {
		ex->holding = 1;
		ex->hold_failover = (unsigned)failover;
		ex->held_status = status;
		uv_buf_t b = uv_buf_init(out->data + mark, (unsigned)(out->len - mark));
		int rc = ex_write(ex, &b, 1); /* to the hold buffer (or straight out when too big to hold) */
		out->len = mark;
		return rc;
	}
	ex->status = status;
	return buf_size(out) >= OUT_FLUSH ? flush_out(ex) : 0;
}

static int body_in(struct upstream_req *r, const char *p, size_t n)
{
	struct proxy_exchange *ex = r->data;
	int rc;
	if (ex->holding || ex->sniff)
		(void)buf_append(&ex->hold_body, p, n); /* bounded: past it, the message check simply fails */
	if (ex->reading)
		(void)usage_reader_feed(&ex->usage, p, n); /* never affects forwarding */
	if (ex->chunked) {
		char size[24], *sp = size + sizeof size - 2; /* the chunk-size line, hex digits written backwards */
		memcpy(sp, "\r\n", 2);
		size_t v = n;
		do
			*--sp = "0123456789abcdef"[v & 15];
		while (v >>= 4);
		uv_buf_t b[3] = {uv_buf_init(sp, (unsigned)(size + sizeof size - sp)), uv_buf_init((char *)p, (unsigned)n),
				 uv_buf_init("\r\n", 2)};
		rc = ex_write(ex, b, 3);
	} else {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
		rc = ex_write(ex, &b, 1);
	}
	if (rc)
		return -1;
	ex->bytes_out += n;
	return 0;
}

/* The upstream callbacks that carry the answer: when one cannot go on (out of memory, or the client's write failed)
 * the upstream request is cancelled, and the client connection must go too, or it would wait for an answer that
 * no longer comes. */
static int stopped(struct upstream_req *r)
{
	client_fail(((struct proxy_exchange *)r->data)->client);
	return -1;
}

static int on_head(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	return head_in(r, status, h) == 0 ? 0 : stopped(r);
}

static int on_body(struct upstream_req *r, const char *p, size_t n) { return body_in(r, p, n) == 0 ? 0 : stopped(r); }

static void on_end(struct upstream_req *r)
{
	struct proxy_exchange *ex = r->data;
	ex->active = 0;
	record_usage(ex);
	if (ex->sniff)
		classify_rejection(ex);
	if (ex->chunked) {
		uv_buf_t b = uv_buf_init("0\r\n\r\n", 5);
		if (ex_write(ex, &b, 1))
			return;
	}
	if (flush_out(ex))
		return;
	/* A held refusal that no other account can take (an ordinary 400, or the others became unusable meanwhile) goes
	 * to the client as it came. */
	if (ex->holding && ex->hold_failover && fail_over(ex) == 0)
		return;
	if (ex->holding) {
		int expired = !ex->hold_failover && body_says(buf_ptr(&ex->hold_body), buf_size(&ex->hold_body),
							      ex->hold_coded, "OAuth token has expired");
		if (expired) {
			ex->proxy->app->metrics.replays++;
			ex->replayed = 1;
			ex->waiting = 1;
			struct log_line l;
			log_begin(&l, AP_INFO, "token_expired_replay");
			log_str(&l, "id", client_request_id(ex->client));
			log_str(&l, "account", ex->acct->name);
			log_str(&l, "msg", "upstream said the token expired; refreshing, then replaying once");
			log_end(&l);
			if (oauth_expired(&ex->acct->oauth, ex->generation, &ex->waiter) == 0)
				return;
			ex->waiting = 0;
		}
		if (flush_hold(ex))
			return;
	}
	finish(ex, 1, NULL);
}

static void on_error(struct upstream_req *r, const char *kind, const char *msg)
{
	struct proxy_exchange *ex = r->data;
	ex->active = 0;
	ex->error = kind;
	ex->holding = 0; /* a partial held answer is dropped: the client gets the proxy's error instead */
	record_usage(ex);       /* a stream cut short still used the tokens it reported */
	struct log_line l;
	log_begin(&l, AP_WARN, "upstream_error");
	log_str(&l, "id", client_request_id(ex->client));
	log_str(&l, "account", ex->acct ? ex->acct->name : NULL);
	log_str(&l, "kind", kind);
	log_str(&l, "msg", msg);
	log_int(&l, "head_sent", ex->status != 0);
	if (ex->request_id[0])
		log_str(&l, "request_id", ex->request_id);
	log_end(&l);
	if (ex->status == 0) {
		char text[400];
		snprintf(text, sizeof text, "anthropic-proxy: %s", msg);
		client_respond_error(ex->client, kind == UPSTREAM_ETIMEOUT ? 504 : 502, text);
		finish(ex, 1, NULL);
	} else if (flush_out(ex) == 0) {
		/* The head is out: what arrived goes out, then the only honest signal left is to cut the stream too. */
		finish(ex, 0, NULL);
	}
}

static void on_flush(struct upstream_req *r) { (void)flush_out(r->data); }

static const struct upstream_cbs proxy_cbs = {
	.on_head = on_head,
	.on_body = on_body,
	.on_end = on_end,
	.on_error = on_error,
	.on_flush = on_flush,
};
