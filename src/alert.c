#include "alert.h"

#include "router.h"

#include "clock.h"
#include "http.h"
#include "log.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HIGH_HYSTERESIS 0.05 /* a high window clears 5 points below the line: no flapping around it */

const char *const alert_event_names[ALERT_N] = {"window_utilization_high", "window_projected_exhaustion",
						 "login_unusable", "extra_usage_in_use", "no_account_usable",
						 "client_budget_exhausted"};

/* ---- conditions ------------------------------------------------------------------------------------------------ */

enum scope { SCOPE_WINDOW, SCOPE_ACCOUNT, SCOPE_ALL, SCOPE_CLIENT_BUDGET };

/* What one condition instance is evaluated over. */
struct subject {
	struct alerts *a;
	struct account *acct;          /* NULL for SCOPE_ALL */
	struct tracker_window *w;      /* NULL unless SCOPE_WINDOW */
	int client;                    /* SCOPE_CLIENT_BUDGET: the client's slot, else -1 */
	const struct clients_budget *budget; /* and the budget */
	int64_t now_ms;                /* unix ms */
	int firing;                    /* the instance was firing before this evaluation */
};

struct kind {
	enum scope scope;
	/* 1 when the condition holds (given whether it held before, for hysteresis). */
	int (*test)(const struct subject *s);
	/* The human sentence (without the instance prefix) for a firing (1) or resolved (0) message. */
	int (*text)(struct buf *out, const struct subject *s, int firing);
};

/* A window whose period is over says nothing until new values arrive. */
static int period_over(const struct tracker_window *w, int64_t now_ms)
{
	return w->resets_at && w->resets_at * 1000 <= now_ms;
}

static void span(char *out, size_t len, int64_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(out, len, "%lldd %lldh", (long long)(secs / 86400), (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(out, len, "%lldh %02lldm", (long long)(secs / 3600), (long long)(secs % 3600 / 60));
	else
		snprintf(out, len, "%lldm", (long long)((secs + 59) / 60));
}

/* " resets 2026-01-02T19:59:59Z (in 3h 12m)" or "" */
static int resets_text(struct buf *out, const struct tracker_window *w, int64_t now_ms)
{
	if (!w->resets_at)
		return 0;
	char when[32], in[32];
	clock_format_utc(w->resets_at, when, sizeof when);
	span(in, sizeof in, w->resets_at - now_ms / 1000);
	return buf_printf(out, "; resets %s (in %s)", when, in);
}

static int high_test(const struct subject *s)
{
	double line = s->a->cfg->warn_utilization, u = s->w->utilization;
	if (u < 0 || period_over(s->w, s->now_ms))
		return 0;
	if (s->firing)
		return u >= (line > HIGH_HYSTERESIS ? line - HIGH_HYSTERESIS : 0);
	return u >= line;
}

static int high_text(struct buf *out, const struct subject *s, int firing)
{
	const struct tracker_window *w = s->w;
	double line = s->a->cfg->warn_utilization * 100;
	if (!firing && period_over(w, s->now_ms))
		return buf_printf(out, "window %s has reset (it was above %.0f%%)", w->name, line);
	if (!firing)
		return buf_printf(out, "window %s back to %.0f%% (below %.0f%%)", w->name, w->utilization * 100, line);
	return buf_printf(out, "window %s at %.0f%% (warning at %.0f%%)", w->name, w->utilization * 100, line) ||
	       resets_text(out, w, s->now_ms);
}

static int exhaust_test(const struct subject *s)
{
	int64_t at;
	return !period_over(s->w, s->now_ms) && tracker_projected_exhaustion(s->w, s->now_ms, &at) == 0;
}

static int exhaust_text(struct buf *out, const struct subject *s, int firing)
{
	const struct tracker_window *w = s->w;
	int64_t at;
	double rate;
	if (!firing || tracker_projected_exhaustion(w, s->now_ms, &at))
		return buf_printf(out, "window %s no longer projected to run out before its reset (at %.0f%%)", w->name,
				  w->utilization < 0 ? 0 : w->utilization * 100);
	char when[32], in[32];
	clock_format_utc(at, when, sizeof when);
	span(in, sizeof in, at - s->now_ms / 1000);
	int e = buf_printf(out, "window %s projected to run out at %s (in %s), before its reset; at %.0f%%", w->name,
			   when, in, w->utilization * 100);
	if (!e && tracker_burn_rate(w, s->now_ms, &rate) == 0)
		e = buf_printf(out, ", +%.0f%%/h", rate * 100);
	return e || resets_text(out, w, s->now_ms);
}

/* Unusable login: no token to sign with and no refresh under way that could bring one. */
static int login_down(const struct account *acct)
{
	char why[8];
	const struct oauth *o = &acct->oauth;
	return !oauth_ready(o, why, sizeof why) && (o->dead || !o->refreshing);
}

static int login_test(const struct subject *s)
{
	/* While a refresh is in flight the state stays as it was: it decides. */
	if (!s->acct->oauth.dead && s->acct->oauth.refreshing)
		return s->firing;
	return login_down(s->acct);
}

static int login_text(struct buf *out, const struct subject *s, int firing)
{
	if (!firing)
		return buf_appends(out, "login usable again");
	char why[512];
	oauth_ready(&s->acct->oauth, why, sizeof why);
	return buf_printf(out, "login not usable: %s", why);
}

static int extra_test(const struct subject *s)
{
	return s->acct->tracker.overage_in_use == 1 || s->acct->overage.until_ms > s->now_ms;
}

static int extra_text(struct buf *out, const struct subject *s, int firing)
{
	const struct tracker *t = &s->acct->tracker;
	if (!firing)
		return buf_appends(out, "no longer drawing on extra usage");
	int e = buf_appends(out, "answers are paid from extra usage (plan limits reached)");
	if (!e && t->extra_utilization >= 0)
		e = buf_printf(out, "; %.0f%% of the monthly extra-usage limit spent", t->extra_utilization * 100);
	else if (!e && t->overage_utilization >= 0)
		e = buf_printf(out, "; overage at %.0f%%", t->overage_utilization * 100);
	return e;
}

/* The accounts as the router sees them (router.h): the guard and this alert agree on "usable". */
static int router_views_of(const struct alerts *a, struct router_account *v, struct router_policy *pol)
{
	uint32_t n = *a->n_accounts;
	if (n > ROUTER_MAX_ACCOUNTS)
		n = ROUTER_MAX_ACCOUNTS;
	for (uint32_t i = 0; i < n; i++) {
		const struct account *ac = &(*a->accounts)[i];
		v[i] = (struct router_account){.name = ac->name, .tracker = &ac->tracker, .limited = &ac->limited,
					       .overage = &ac->overage, .login_ok = oauth_usable(&ac->oauth)};
	}
	*pol = (struct router_policy){.max_utilization = a->cfg->max_utilization, .allow_overage = a->cfg->allow_overage};
	return (int)n;
}

static const struct router_request ANY_REQUEST = {.model = "", .consumes = 1, .pinned = -1};

static int none_test(const struct subject *s)
{
	struct router_account v[ROUTER_MAX_ACCOUNTS];
	struct router_policy pol;
	int n = router_views_of(s->a, v, &pol);
	struct router_choice ch;
	return n > 0 && router_pick(v, n, &ANY_REQUEST, &pol, s->now_ms, &ch) < 0;
}

static int none_text(struct buf *out, const struct subject *s, int firing)
{
	if (!firing)
		return buf_appends(out, "an account can serve requests again");
	struct router_account v[ROUTER_MAX_ACCOUNTS];
	struct router_policy pol;
	int n = router_views_of(s->a, v, &pol);
	int64_t ra;
	router_refusal(v, n, &ANY_REQUEST, &pol, s->now_ms, out, &ra);
	return 0;
}

/* A named client at its budget for a window: the window's utilization attributed to it (clients.h) against its
 * share; cleared 5 points below. */
static void client_use(const struct subject *s, struct clients_attribution *at)
{
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	uint32_t n = *s->a->n_accounts;
	for (uint32_t i = 0; i < n && i < CLIENTS_MAX_ACCOUNTS; i++)
		ts[i] = &(*s->a->accounts)[i].tracker;
	clients_attribute(s->a->clients, s->client, ts, (int)(n < CLIENTS_MAX_ACCOUNTS ? n : CLIENTS_MAX_ACCOUNTS),
			  s->budget->window, s->now_ms, at);
}

static int budget_test(const struct subject *s)
{
	struct clients_attribution at;
	client_use(s, &at);
	double limit = s->budget->share - (s->firing ? 0.05 : 0);
	return at.utilization >= 0 && at.utilization >= limit;
}

static int budget_text(struct buf *out, const struct subject *s, int firing)
{
	struct clients_attribution at;
	client_use(s, &at);
	char when[32] = "unknown";
	if (at.resets_at)
		clock_format_utc(at.resets_at, when, sizeof when);
	return buf_printf(out, "client %s %s its budget for the %s window: %.0f%% of it attributed to the client, budget "
			       "%.0f%%, resets at %s",
			  s->a->clients->e[s->client].def.name, firing ? "reached" : "is back under", s->budget->window,
			  at.utilization >= 0 ? at.utilization * 100 : 0, s->budget->share * 100, when);
}

/* The condition table, in enum alert_event order. */
static const struct kind kinds[ALERT_N] = {
	[ALERT_WINDOW_HIGH] = {SCOPE_WINDOW, high_test, high_text},
	[ALERT_WINDOW_EXHAUSTION] = {SCOPE_WINDOW, exhaust_test, exhaust_text},
	[ALERT_LOGIN_UNUSABLE] = {SCOPE_ACCOUNT, login_test, login_text},
	[ALERT_EXTRA_USAGE] = {SCOPE_ACCOUNT, extra_test, extra_text},
	[ALERT_NO_ACCOUNT] = {SCOPE_ALL, none_test, none_text},
	[ALERT_CLIENT_BUDGET] = {SCOPE_CLIENT_BUDGET, budget_test, budget_text},
};

/* ---- messages -------------------------------------------------------------------------------------------------- */

static void enqueue(struct alert_target *t, const struct buf *body, int event);

static int json_str(struct buf *out, const char *key, const char *v)
{
	if (!v || !*v)
		return buf_printf(out, ",\"%s\":null", key);
	return buf_printf(out, ",\"%s\":\"", key) || http_json_escape(out, v, strlen(v)) || buf_appends(out, "\"");
}

/* {"text": ..., "event", "state", "account", "window", "utilization", "resets_at", ...}: Slack reads `text`,
 * anything else reads the fields. */
static int render(struct buf *out, const struct kind *k, const struct subject *s, int event, int firing)
{
	struct buf text;
	buf_init(&text, 0);
	int e = buf_printf(&text, "%s anthropic-proxy on %s: ", firing ? "[firing]" : "[resolved]", s->a->instance);
	if (!e && s->acct)
		e = buf_printf(&text, "account %s, ", s->acct->name);
	e = e || k->text(&text, s, firing) || buf_appends(&text, ".");
	char at[32], when[32] = "";
	clock_format_utc(s->now_ms / 1000, at, sizeof at);
	e = e || buf_appends(out, "{\"text\":\"") || http_json_escape(out, buf_ptr(&text), buf_size(&text)) ||
	    buf_appends(out, "\"") || json_str(out, "event", alert_event_names[event]) ||
	    json_str(out, "state", firing ? "firing" : "resolved") ||
	    json_str(out, "account", s->acct ? s->acct->name : NULL) ||
	    json_str(out, "window", s->w ? s->w->name : s->budget ? s->budget->window : NULL);
	if (s->budget) {
		struct clients_attribution use;
		client_use(s, &use);
		e = e || json_str(out, "client", s->a->clients->e[s->client].def.name) ||
		    buf_printf(out, ",\"budget\":%.4f", s->budget->share) ||
		    (use.utilization >= 0 ? buf_printf(out, ",\"utilization\":%.4f", use.utilization)
					  : buf_appends(out, ",\"utilization\":null"));
	}
	if (s->w) {
		if (s->w->resets_at)
			clock_format_utc(s->w->resets_at, when, sizeof when);
		e = e || (s->w->utilization >= 0 ? buf_printf(out, ",\"utilization\":%.4f", s->w->utilization)
						 : buf_appends(out, ",\"utilization\":null")) ||
		    json_str(out, "resets_at", when);
		int64_t ex;
		if (event == ALERT_WINDOW_EXHAUSTION && firing && !tracker_projected_exhaustion(s->w, s->now_ms, &ex)) {
			clock_format_utc(ex, when, sizeof when);
			e = e || json_str(out, "projected_exhaustion_at", when);
		}
	}
	if (event == ALERT_WINDOW_HIGH)
		e = e || buf_printf(out, ",\"warn_utilization\":%.4f", s->a->cfg->warn_utilization);
	e = e || json_str(out, "instance", s->a->instance) || json_str(out, "at", at) || buf_appends(out, "}");
	if (!e) {
		struct log_line l;
		log_begin(&l, firing ? AP_WARN : AP_INFO, firing ? "alert_firing" : "alert_resolved");
		log_str(&l, "event", alert_event_names[event]);
		log_str(&l, "account", s->acct ? s->acct->name : NULL);
		log_str(&l, "window", s->w ? s->w->name : s->budget ? s->budget->window : NULL);
		log_str(&l, "client", s->client >= 0 ? s->a->clients->e[s->client].def.name : NULL);
		log_strn(&l, "msg", buf_ptr(&text), buf_size(&text));
		log_end(&l);
	}
	buf_free(&text);
	return e;
}

static void emit(struct alerts *a, const struct subject *s, int event, int firing)
{
	struct buf body;
	buf_init(&body, 0);
	if (firing)
		a->n_fired++;
	else
		a->n_resolved++;
	if (render(&body, &kinds[event], s, event, firing) == 0)
		for (int i = 0; i < a->n_targets; i++)
			enqueue(&a->targets[i], &body, event);
	buf_free(&body);
}

/* ---- evaluation ------------------------------------------------------------------------------------------------ */

static struct alert_active *find(struct alerts *a, int event, const char *account, const char *window,
				 const char *client)
{
	for (int i = 0; i < a->n_active; i++) {
		struct alert_active *x = &a->active[i];
		if (x->event == event && strcmp(x->account, account) == 0 && strcmp(x->window, window) == 0 &&
		    strcmp(x->client, client) == 0)
			return x;
	}
	return NULL;
}

static void consider(struct alerts *a, int event, struct subject *s)
{
	const char *account = s->acct ? s->acct->name : "", *window = s->w ? s->w->name : "";
	const char *client = s->client >= 0 ? a->clients->e[s->client].def.name : "";
	if (s->budget)
		window = s->budget->window;
	struct alert_active *x = find(a, event, account, window, client);
	s->firing = x != NULL;
	if (x)
		x->seen = 1;
	int now = kinds[event].test(s);
	if (now && !x) {
		if (a->n_active == ALERT_MAX_ACTIVE) {
			log_msg(AP_WARN, "alert_table_full", "too many conditions firing at once; this one is not sent");
			return;
		}
		x = &a->active[a->n_active++];
		*x = (struct alert_active){.event = event, .since_ms = s->now_ms, .seen = 1};
		snprintf(x->account, sizeof x->account, "%s", account);
		snprintf(x->window, sizeof x->window, "%s", window);
		snprintf(x->client, sizeof x->client, "%s", client);
		emit(a, s, event, 1);
	} else if (!now && x) {
		*x = a->active[--a->n_active];
		emit(a, s, event, 0);
	}
}

void alert_evaluate(struct alerts *a, int64_t now_ms)
{
	if (a->closing)
		return;
	for (int i = 0; i < a->n_active; i++)
		a->active[i].seen = 0;
	uint32_t n = *a->n_accounts;
	for (int event = 0; event < ALERT_N; event++) {
		struct subject s = {.a = a, .now_ms = now_ms, .client = -1};
		if (kinds[event].scope == SCOPE_ALL) {
			consider(a, event, &s);
			continue;
		}
		if (kinds[event].scope == SCOPE_CLIENT_BUDGET) {
			for (int c = 0; a->clients && c < a->clients->n; c++) {
				const struct clients_entry *ce = &a->clients->e[c];
				for (int b = 0; ce->active && b < ce->def.n_budgets; b++) {
					s.client = c;
					s.budget = &ce->def.budgets[b];
					consider(a, event, &s);
				}
			}
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			s.acct = &(*a->accounts)[i];
			if (kinds[event].scope == SCOPE_ACCOUNT) {
				s.w = NULL;
				consider(a, event, &s);
				continue;
			}
			for (int j = 0; j < s.acct->tracker.n; j++) {
				s.w = &s.acct->tracker.w[j];
				consider(a, event, &s);
			}
		}
	}
	/* An instance whose account or window went away is forgotten without a message. */
	for (int i = 0; i < a->n_active;)
		if (!a->active[i].seen)
			a->active[i] = a->active[--a->n_active];
		else
			i++;
}

static void on_eval(uv_timer_t *t)
{
	struct alerts *a = t->data;
	alert_evaluate(a, wall_ms());
}

/* ---- delivery -------------------------------------------------------------------------------------------------- */

static const struct upstream_cbs post_cbs;
static void send_next(struct alert_target *t);

static void pop(struct alert_target *t)
{
	buf_reset(&t->q[t->q_head]);
	t->q_head = (t->q_head + 1) % ALERT_QUEUE_MAX;
	t->q_len--;
	t->attempts = 0;
}

static void enqueue(struct alert_target *t, const struct buf *body, int event)
{
	struct alerts *a = t->owner;
	if (a->closing)
		return;
	if (t->q_len == ALERT_QUEUE_MAX) {
		/* Full: the oldest message not being posted goes. */
		int from = t->in_flight ? 1 : 0;
		if (from == 0) {
			pop(t);
		} else {
			for (int i = 1; i + 1 < t->q_len; i++) {
				int p = (t->q_head + i) % ALERT_QUEUE_MAX, q = (p + 1) % ALERT_QUEUE_MAX;
				struct buf tmp = t->q[p];
				t->q[p] = t->q[q];
				t->q[q] = tmp;
				int ev = t->q_event[p];
				t->q_event[p] = t->q_event[q];
				t->q_event[q] = ev;
			}
			buf_reset(&t->q[(t->q_head + t->q_len - 1) % ALERT_QUEUE_MAX]);
			t->q_len--;
		}
		a->dropped++;
		struct log_line l;
		log_begin(&l, AP_WARN, "alert_dropped");
		log_str(&l, "webhook", t->origin);
		log_str(&l, "msg", "alert queue full: the oldest waiting message was dropped");
		log_end(&l);
	}
	int slot = (t->q_head + t->q_len) % ALERT_QUEUE_MAX;
	buf_reset(&t->q[slot]);
	if (buf_append(&t->q[slot], buf_ptr(body), buf_size(body))) {
		a->dropped++;
		return;
	}
	t->q_event[slot] = event;
	t->q_len++;
	send_next(t);
}

static void on_retry(uv_timer_t *timer)
{
	struct alert_target *t = timer->data;
	t->waiting = 0;
	send_next(t);
}

/* The POST of the oldest message ended: `failure` is NULL (delivered), or why it failed; `permanent` when trying
 * again cannot help. */
static void done(struct alert_target *t, const char *failure, int permanent)
{
	struct alerts *a = t->owner;
	t->in_flight = 0;
	if (a->closing)
		return;
	if (!failure) {
		a->sent[t->q_event[t->q_head]]++;
		backoff_reset(&t->backoff);
		pop(t);
		send_next(t);
		return;
	}
	a->failures++;
	struct log_line l;
	if (permanent) {
		a->dropped++;
		log_begin(&l, AP_WARN, "alert_refused");
		log_str(&l, "webhook", t->origin);
		log_str(&l, "msg", failure);
		log_str(&l, "event", alert_event_names[t->q_event[t->q_head]]);
		log_end(&l);
		pop(t);
		send_next(t);
		return;
	}
	uint64_t next = backoff_fail(&t->backoff, 0);
	log_begin(&l, t->attempts == 1 || t->attempts % 10 == 0 ? AP_WARN : AP_DEBUG, "alert_delivery_failed");
	log_str(&l, "webhook", t->origin);
	log_str(&l, "msg", failure);
	log_int(&l, "attempts", (long long)t->attempts);
	log_int(&l, "queued", t->q_len);
	log_int(&l, "retry_in_ms", (long long)next);
	log_end(&l);
	t->waiting = 1;
	uv_timer_start(&t->retry, on_retry, next, 0);
}

static void send_next(struct alert_target *t)
{
	if (t->in_flight || t->waiting || t->q_len == 0 || t->owner->closing)
		return;
	const struct buf *body = &t->q[t->q_head];
	buf_reset(&t->head);
	if (buf_printf(&t->head,
		       "POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\nuser-agent: anthropic-proxy/" AP_VERSION
		       "\r\ncontent-length: %zu\r\n\r\n",
		       t->path, t->authority, buf_size(body))) {
		t->in_flight = 1;
		t->attempts++;
		done(t, "out of memory", 0);
		return;
	}
	t->req = (struct upstream_req){
		.cbs = &post_cbs,
		.data = t,
		.head = buf_ptr(&t->head),
		.head_len = buf_size(&t->head),
		.body = buf_ptr(body),
		.body_len = buf_size(body),
	};
	t->status = 0;
	t->in_flight = 1;
	t->attempts++;
	if (upstream_request(&t->up, &t->req))
		done(t, "out of memory", 0);
}

static int on_head(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	((struct alert_target *)r->data)->status = status;
	return 0;
}

static int on_body(struct upstream_req *r, const char *p, size_t n) { return 0; }

static void on_end(struct upstream_req *r)
{
	struct alert_target *t = r->data;
	int s = t->status;
	if (s >= 200 && s < 300) {
		done(t, NULL, 0);
		return;
	}
	char why[64];
	snprintf(why, sizeof why, "the webhook answered %d", s);
	done(t, why, s >= 400 && s < 500 && s != 408 && s != 429);
}

static void on_error(struct upstream_req *r, const char *kind, const char *msg) { done(r->data, msg, 0); }

static const struct upstream_cbs post_cbs = {
	.on_head = on_head,
	.on_body = on_body,
	.on_end = on_end,
	.on_error = on_error,
};

/* ---- life ------------------------------------------------------------------------------------------------------ */

void alert_init(struct alerts *a, uv_loop_t *loop, const struct config *cfg, struct tls_ctx *tls,
		struct account *const *accounts, const uint32_t *n_accounts, const struct clients *clients)
{
	memset(a, 0, sizeof *a);
	a->loop = loop;
	a->cfg = cfg;
	a->clients = clients;
	a->accounts = accounts;
	a->n_accounts = n_accounts;
	if (gethostname(a->instance, sizeof a->instance - 1) || !a->instance[0])
		snprintf(a->instance, sizeof a->instance, "localhost");
	int n = cfg->alert_webhooks.n;
	if (!n)
		return;
	a->targets = calloc((size_t)n, sizeof *a->targets);
	if (!a->targets) {
		log_msg(AP_ERROR, "alert_webhooks", "out of memory: alerts are off");
		return;
	}
	const struct upstream_opts opts = {.connect_timeout_ms = ALERT_TIMEOUT_MS, .io_timeout_ms = ALERT_TIMEOUT_MS,
					   .pool_idle_ms = 30000, .pool_max = 1};
	for (int i = 0; i < n; i++) {
		struct alert_target *t = &a->targets[i];
		struct url u;
		url_parse(cfg->alert_webhooks.v[i], &u); /* validated by config */
		t->owner = a;
		snprintf(t->origin, sizeof t->origin, "%s://%s", u.scheme, u.authority);
		snprintf(t->path, sizeof t->path, "%s", u.path[0] == '/' ? u.path : "/");
		if (u.path[0] == '?')
			snprintf(t->path, sizeof t->path, "/%s", u.path);
		snprintf(t->authority, sizeof t->authority, "%s", u.authority);
		upstream_init(&t->up, loop, u.host, u.port, strcmp(u.scheme, "https") == 0 ? tls : NULL, &opts);
		buf_init(&t->head, 0);
		for (int j = 0; j < ALERT_QUEUE_MAX; j++)
			buf_init(&t->q[j], 64 * 1024);
		backoff_init(&t->backoff, ALERT_RETRY_MIN_MS, ALERT_RETRY_MAX_MS);
		uv_timer_init(loop, &t->retry);
		t->retry.data = t;
	}
	a->n_targets = n;
	uv_timer_init(loop, &a->timer);
	a->timer.data = a;
}

void alert_start(struct alerts *a)
{
	if (!a->n_targets)
		return;
	struct log_line l;
	log_begin(&l, AP_INFO, "alert_webhooks");
	for (int i = 0; i < a->n_targets; i++)
		log_str(&l, "webhook", a->targets[i].origin);
	log_int(&l, "eval_ms", ALERT_EVAL_MS);
	log_end(&l);
	uv_timer_start(&a->timer, on_eval, 0, ALERT_EVAL_MS);
}

void alert_kick(struct alerts *a)
{
	if (a->n_targets && !a->closing)
		uv_timer_start(&a->timer, on_eval, 0, ALERT_EVAL_MS);
}

void alert_close(struct alerts *a)
{
	if (!a->n_targets || a->closing)
		return;
	a->closing = 1;
	uv_close((uv_handle_t *)&a->timer, NULL);
	for (int i = 0; i < a->n_targets; i++) {
		struct alert_target *t = &a->targets[i];
		if (t->in_flight)
			upstream_cancel(&t->req);
		t->in_flight = 0;
		uv_close((uv_handle_t *)&t->retry, NULL);
		upstream_close(&t->up);
	}
}

void alert_free(struct alerts *a)
{
	for (int i = 0; i < a->n_targets; i++) {
		struct alert_target *t = &a->targets[i];
		upstream_free(&t->up);
		buf_free(&t->head);
		for (int j = 0; j < ALERT_QUEUE_MAX; j++)
			buf_free(&t->q[j]);
	}
	free(a->targets);
	a->targets = NULL;
	a->n_targets = 0;
}
