#include "exposition.h"

#include "app.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const route_names[ROUTE_N] = {"messages", "count_tokens", "models", "other", "admin"};
static const char *const class_names[CLASS_N] = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};
static const char *const rl_names[RL_N] = {"window", "bare"};
static const char *const reject_names[REJECT_N] = {"claude_code_only", "extra_usage"};
static const char *const timeout_names[4] = {"header", "body", "keepalive", "send"};

/* ---- sinks --------------------------------------------------------------------------------------------------- */

/* The families below are written once, against a sink; a sink turns them into Prometheus text or OTLP JSON. */
enum mtype { M_GAUGE, M_COUNTER, M_HIST };

struct lbl {
	const char *k; /* label name */
	const char *v; /* label value (already bounded and clean) */
};

struct sink {
	int (*family)(struct sink *s, const char *name, enum mtype type, const char *help);
	int (*point)(struct sink *s, const struct lbl *l, int nl, double v);
	int (*hpoint)(struct sink *s, const struct lbl *l, int nl, const struct hist *h);
	int (*done)(struct sink *s); /* closes the current family */
	struct buf *out;             /* where the text goes */
	const char *name;            /* current family */
	enum mtype type;             /* its type */
	const char *help;            /* its help */
	int points;                  /* points written in the current family */
	int families;                /* families written (OTLP: for commas) */
	char start_ns[24];           /* OTLP: process start, unix ns */
	char now_ns[24];             /* OTLP: time of the collection, unix ns */
};

/* Prometheus text format 0.0.4. */
static int prom_labels(struct buf *o, const struct lbl *l, int nl, const char *extra)
{
	if (nl == 0 && !extra)
		return 0;
	int e = buf_appends(o, "{");
	for (int i = 0; i < nl && !e; i++)
		e = buf_printf(o, "%s%s=\"%s\"", i ? "," : "", l[i].k, l[i].v);
	if (extra && !e)
		e = buf_printf(o, "%s%s", nl ? "," : "", extra);
	return e || buf_appends(o, "}");
}

static int prom_family(struct sink *s, const char *name, enum mtype type, const char *help)
{
	s->name = name;
	static const char *const types[] = {"gauge", "counter", "histogram"};
	return buf_printf(s->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, types[type]);
}

static int prom_point(struct sink *s, const struct lbl *l, int nl, double v)
{
	return buf_appends(s->out, s->name) || prom_labels(s->out, l, nl, NULL) || buf_printf(s->out, " %.10g\n", v);
}

static int prom_hpoint(struct sink *s, const struct lbl *l, int nl, const struct hist *h)
{
	uint64_t cum = 0;
	char le[32];
	int e = 0;
	for (int i = 0; i <= HIST_BUCKETS && !e; i++) {
		if (i < HIST_BUCKETS) {
			cum += h->bucket[i];
			snprintf(le, sizeof le, "le=\"%g\"", hist_bounds[i]);
		} else {
			cum = h->count;
			snprintf(le, sizeof le, "le=\"+Inf\"");
		}
		e = buf_printf(s->out, "%s_bucket", s->name) || prom_labels(s->out, l, nl, le) ||
		    buf_printf(s->out, " %llu\n", (unsigned long long)cum);
	}
	e = e || buf_printf(s->out, "%s_sum", s->name) || prom_labels(s->out, l, nl, NULL) ||
	    buf_printf(s->out, " %.10g\n", h->sum);
	return e || buf_printf(s->out, "%s_count", s->name) || prom_labels(s->out, l, nl, NULL) ||
	       buf_printf(s->out, " %llu\n", (unsigned long long)h->count);
}

static int prom_done(struct sink *s) { return 0; }

/* OTLP/HTTP JSON (ResourceMetrics' `metrics` array): gauges, cumulative monotonic sums for counters (named without
 * the `_total` suffix), explicit-bucket histograms. A family with no points is left out. */
static int otlp_family(struct sink *s, const char *name, enum mtype type, const char *help)
{
	s->name = name;
	s->type = type;
	s->help = help;
	s->points = 0;
	return 0;
}

static int otlp_open(struct sink *s)
{
	size_t n = strlen(s->name);
	if (s->type == M_COUNTER && n > 6 && strcmp(s->name + n - 6, "_total") == 0)
		n -= 6;
	const char *unit = "1";
	if (n > 8 && strncmp(s->name + n - 8, "_seconds", 8) == 0)
		unit = "s";
	else if (n > 6 && strncmp(s->name + n - 6, "_bytes", 6) == 0)
		unit = "By";
	int e = buf_printf(s->out, "%s{\"name\":\"%.*s\",\"description\":\"", s->families++ ? "," : "", (int)n, s->name);
	e = e || http_json_escape(s->out, s->help, strlen(s->help));
	e = e || buf_printf(s->out, "\",\"unit\":\"%s\",", unit);
	if (s->type == M_GAUGE)
		e = e || buf_appends(s->out, "\"gauge\":{\"dataPoints\":[");
	else if (s->type == M_COUNTER)
		e = e || buf_appends(s->out, "\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[");
	else
		e = e || buf_appends(s->out, "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[");
	return e;
}

static int otlp_point_head(struct sink *s, const struct lbl *l, int nl)
{
	int e = (s->points++ == 0 ? otlp_open(s) : buf_appends(s->out, ",")) || buf_appends(s->out, "{\"attributes\":[");
	for (int i = 0; i < nl && !e; i++)
		e = buf_printf(s->out, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}", i ? "," : "", l[i].k, l[i].v);
	return e || buf_printf(s->out, "],\"startTimeUnixNano\":\"%s\",\"timeUnixNano\":\"%s\",", s->start_ns, s->now_ns);
}

static int otlp_point(struct sink *s, const struct lbl *l, int nl, double v)
{
	return otlp_point_head(s, l, nl) || buf_printf(s->out, "\"asDouble\":%.10g}", v);
}

static int otlp_hpoint(struct sink *s, const struct lbl *l, int nl, const struct hist *h)
{
	int e = otlp_point_head(s, l, nl) ||
		buf_printf(s->out, "\"count\":\"%llu\",\"sum\":%.10g,\"bucketCounts\":[", (unsigned long long)h->count, h->sum);
	uint64_t below = 0;
	for (int i = 0; i < HIST_BUCKETS && !e; i++) {
		below += h->bucket[i];
		e = buf_printf(s->out, "\"%llu\",", (unsigned long long)h->bucket[i]);
	}
	e = e || buf_printf(s->out, "\"%llu\"],\"explicitBounds\":[", (unsigned long long)(h->count - below));
	for (int i = 0; i < HIST_BUCKETS && !e; i++)
		e = buf_printf(s->out, "%s%g", i ? "," : "", hist_bounds[i]);
	return e || buf_appends(s->out, "]}");
}

static int otlp_done(struct sink *s) { return s->points ? buf_appends(s->out, "]}}") : 0; }

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* ---- the families ---------------------------------------------------------------------------------------------- */

#define FAMILY(name, type, help) (e = e || S->done(S) || S->family(S, name, type, help))
#define POINT(v, ...)                                                                                              \
	do {                                                                                                       \
		const struct lbl l_[] = {__VA_ARGS__};                                                             \
		e = e || S->point(S, l_, (int)(sizeof l_ / sizeof l_[0]), (double)(v));                            \
	} while (0)
#define POINT0(v) (e = e || S->point(S, NULL, 0, (double)(v)))

/* Every window of every account: `t` (its tracker), `i` (the window) and ACCT (its label) in scope. */
#define FOR_ACCOUNTS                                                                                                   \
	for (uint32_t a_ = 0; a_ < app->n_accounts; a_++)                                                              \
		for (const struct tracker *t = &app->accounts[a_].tracker; t; t = NULL)
#define FOR_WINDOWS FOR_ACCOUNTS for (int i = 0; i < t->n; i++)
#define ACCT {"account", app->accounts[a_].name}

static int window_families(struct sink *S, struct app *app, int64_t now)
{
	int e = 0;
	static const char *const kinds[4] = {"input", "output", "cache_creation", "cache_read"};
	FAMILY("anthropic_proxy_window_info", M_GAUGE,
	       "Always 1: the window's limits[] kind (empty: unknown) and the model families it binds (empty: all).");
	FOR_WINDOWS
		POINT(1, ACCT, {"window", t->w[i].name}, {"kind", t->w[i].kind}, {"scope", t->w[i].scope});
	FAMILY("anthropic_proxy_window_utilization_ratio", M_GAUGE,
	       "Share of the subscription window used (0-1), from answer headers or the usage poll.");
	FOR_WINDOWS
		if (t->w[i].utilization >= 0)
			POINT(t->w[i].utilization, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_reset_timestamp_seconds", M_GAUGE, "When the window resets (unix time).");
	FOR_WINDOWS
		if (t->w[i].resets_at)
			POINT(t->w[i].resets_at, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_reset_in_seconds", M_GAUGE, "Seconds until the window resets.");
	FOR_WINDOWS
		if (t->w[i].resets_at) {
			double left = (double)t->w[i].resets_at - (double)now / 1000;
			POINT(left > 0 ? left : 0, ACCT, {"window", t->w[i].name});
		}
	FAMILY("anthropic_proxy_window_status", M_GAUGE,
	       "Window status from the answers' -status header: 0 allowed, 1 allowed_warning, 2 rejected (also the "
	       "status label).");
	FOR_WINDOWS
		if (t->w[i].status >= 0)
			POINT(t->w[i].status, ACCT, {"window", t->w[i].name}, {"status", tracker_status_name(t->w[i].status)});
	FAMILY("anthropic_proxy_window_surpassed_threshold_ratio", M_GAUGE,
	       "The warning threshold (0-1) the window has surpassed, from the answers' -surpassed-threshold header.");
	FOR_WINDOWS
		if (t->w[i].surpassed_threshold >= 0)
			POINT(t->w[i].surpassed_threshold, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_data_age_seconds", M_GAUGE, "Age of the window's utilization value.");
	FOR_WINDOWS
		if (t->w[i].util_at_ms)
			POINT((double)(now - t->w[i].util_at_ms) / 1000, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_tokens", M_GAUGE,
	       "Tokens that went through the proxy in the window's current period, by kind.");
	FOR_WINDOWS {
		const struct tracker_tokens *k = &t->w[i].tokens;
		const uint64_t v[4] = {k->input, k->output, k->cache_creation, k->cache_read};
		for (int j = 0; j < 4; j++)
			POINT(v[j], ACCT, {"window", t->w[i].name}, {"kind", kinds[j]});
	}
	FAMILY("anthropic_proxy_window_tokens_in", M_GAUGE,
	       "Prompt tokens (input + cache creation + cache read) in the window's current period.");
	FOR_WINDOWS {
		const struct tracker_tokens *k = &t->w[i].tokens;
		POINT(k->input + k->cache_creation + k->cache_read, ACCT, {"window", t->w[i].name});
	}
	FAMILY("anthropic_proxy_window_tokens_out", M_GAUGE, "Output tokens in the window's current period.");
	FOR_WINDOWS
		POINT(t->w[i].tokens.output, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_requests", M_GAUGE, "Answers counted in the window's current period.");
	FOR_WINDOWS
		POINT(t->w[i].tokens.requests, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_window_burn_rate_ratio_per_hour", M_GAUGE,
	       "Utilization gained per hour over up to the last hour.");
	FOR_WINDOWS {
		double rate;
		if (tracker_burn_rate(&t->w[i], now, &rate) == 0)
			POINT(rate, ACCT, {"window", t->w[i].name});
	}
	FAMILY("anthropic_proxy_window_projected_exhaustion_timestamp_seconds", M_GAUGE,
	       "When the window would be used up at the current burn rate; absent when not before its reset.");
	FOR_WINDOWS {
		int64_t at;
		if (tracker_projected_exhaustion(&t->w[i], now, &at) == 0)
			POINT(at, ACCT, {"window", t->w[i].name});
	}
	FAMILY("anthropic_proxy_window_rollovers_total", M_COUNTER, "Window rollovers seen since start.");
	FOR_WINDOWS
		POINT(t->w[i].rollovers, ACCT, {"window", t->w[i].name});
	FAMILY("anthropic_proxy_rate_limit_status", M_GAUGE,
	       "Overall status of the binding claim: 0 allowed, 1 allowed_warning, 2 rejected.");
	FOR_ACCOUNTS if (t->status >= 0)
		POINT(t->status, ACCT);
	FAMILY("anthropic_proxy_overage_status", M_GAUGE,
	       "Extra-usage (overage) status: 0 allowed, 1 allowed_warning, 2 rejected.");
	FOR_ACCOUNTS if (t->overage_status >= 0)
		POINT(t->overage_status, ACCT);
	FAMILY("anthropic_proxy_overage_utilization_ratio", M_GAUGE, "Extra-usage (overage) utilization.");
	FOR_ACCOUNTS if (t->overage_utilization >= 0)
		POINT(t->overage_utilization, ACCT);
	FAMILY("anthropic_proxy_extra_usage_enabled", M_GAUGE, "Whether paid extra usage is enabled.");
	FOR_ACCOUNTS if (t->extra_enabled >= 0)
		POINT(t->extra_enabled, ACCT);
	FAMILY("anthropic_proxy_extra_usage_monthly_limit_minor_units", M_GAUGE,
	       "Monthly extra-usage limit, in minor currency units (cents).");
	FOR_ACCOUNTS if (t->extra_monthly_limit >= 0)
		POINT(t->extra_monthly_limit, ACCT);
	FAMILY("anthropic_proxy_extra_usage_used_minor_units", M_GAUGE,
	       "Extra usage spent this month, in minor currency units (cents).");
	FOR_ACCOUNTS if (t->extra_used_credits >= 0)
		POINT(t->extra_used_credits, ACCT);
	FAMILY("anthropic_proxy_extra_usage_utilization_ratio", M_GAUGE, "Share of the extra-usage limit spent.");
	FOR_ACCOUNTS if (t->extra_utilization >= 0)
		POINT(t->extra_utilization, ACCT);
	FAMILY("anthropic_proxy_spend_enabled", M_GAUGE, "Whether spending is enabled (the usage poll's spend object).");
	FOR_ACCOUNTS if (t->spend.enabled >= 0)
		POINT(t->spend.enabled, ACCT);
	FAMILY("anthropic_proxy_spend_used_minor_units", M_GAUGE,
	       "Spent this month (spend.used_credits), in minor currency units (cents).");
	FOR_ACCOUNTS {
		const struct tracker_spend_field *f = tracker_spend_get(&t->spend, "used_credits");
		if (f)
			POINT(f->value, ACCT);
	}
	FAMILY("anthropic_proxy_spend_monthly_limit_minor_units", M_GAUGE,
	       "Monthly spending limit (spend.monthly_limit), in minor currency units (cents).");
	FOR_ACCOUNTS {
		const struct tracker_spend_field *f = tracker_spend_get(&t->spend, "monthly_limit");
		if (f)
			POINT(f->value, ACCT);
	}
	FAMILY("anthropic_proxy_spend_value", M_GAUGE,
	       "Every numeric field of the usage poll's spend object, as sent, by field name (at most 12).");
	FOR_ACCOUNTS for (int i = 0; i < t->spend.n; i++)
		POINT(t->spend.f[i].value, ACCT, {"field", t->spend.f[i].name});
	return e;
}

static int traffic_families(struct sink *S, struct app *app)
{
	const struct metrics *m = &app->metrics;
	const struct tracker *models = &app_default_account(app)->tracker; /* the model-name table of the metrics */
	static const char *const kinds[4] = {"input", "output", "cache_creation", "cache_read"};
	int e = 0;
	FAMILY("anthropic_proxy_requests_total", M_COUNTER, "Requests by route, status class and model.");
	for (int r = 0; r < ROUTE_N; r++)
		for (int c = 0; c < CLASS_N; c++)
			for (int k = 0; k < TRACKER_MAX_MODELS + 2; k++)
				if (m->requests[r][c][k])
					POINT(m->requests[r][c][k], {"route", route_names[r]}, {"status_class", class_names[c]},
					      {"model", k == METRICS_MODEL_NONE ? "" : models->models[k].name});
	FAMILY("anthropic_proxy_tokens_total", M_COUNTER, "Tokens through the proxy by account, model and kind.");
	FOR_ACCOUNTS for (int k = 0; k <= TRACKER_MAX_MODELS; k++) {
		const struct tracker_model *md = &t->models[k];
		if (!md->tokens.requests || (k >= t->n_models && k != TRACKER_MAX_MODELS))
			continue;
		const uint64_t v[4] = {md->tokens.input, md->tokens.output, md->tokens.cache_creation, md->tokens.cache_read};
		for (int j = 0; j < 4; j++)
			POINT(v[j], ACCT, {"model", md->name}, {"kind", kinds[j]});
	}
	FAMILY("anthropic_proxy_request_duration_seconds", M_HIST, "Request duration, by route.");
	for (int r = 0; r < ROUTE_N && !e; r++) {
		const struct lbl l = {"route", route_names[r]};
		e = S->hpoint(S, &l, 1, &m->duration[r]);
	}
	FAMILY("anthropic_proxy_time_to_first_byte_seconds", M_HIST, "Time from the request to the answer's head, by route.");
	for (int r = 0; r < ROUTE_ADMIN && !e; r++) {
		const struct lbl l = {"route", route_names[r]};
		e = S->hpoint(S, &l, 1, &m->ttfb[r]);
	}
	FAMILY("anthropic_proxy_upstream_connect_duration_seconds", M_HIST, "Upstream DNS + TCP connect time.");
	e = e || S->hpoint(S, NULL, 0, &app->up.connect_time);
	FAMILY("anthropic_proxy_upstream_tls_handshake_duration_seconds", M_HIST, "Upstream TLS handshake time.");
	e = e || S->hpoint(S, NULL, 0, &app->up.handshake_time);
	FAMILY("anthropic_proxy_upstream_errors_total", M_COUNTER, "Failed upstream exchanges by kind.");
	for (int k = 0; k < UPSTREAM_NKINDS; k++)
		POINT(app->up.n_errors[k], {"kind", upstream_error_kinds[k]});
	FAMILY("anthropic_proxy_rate_limited_total", M_COUNTER,
	       "429 answers: window (rate-limit headers say rejected) or bare (no window information).");
	for (int k = 0; k < RL_N; k++)
		POINT(m->rate_limited[k], {"kind", rl_names[k]});
	FAMILY("anthropic_proxy_subscription_rejections_total", M_COUNTER,
	       "Answers refusing or re-billing non-Claude-Code traffic on the subscription, by reason.");
	for (int k = 0; k < REJECT_N; k++)
		POINT(m->rejected[k], {"reason", reject_names[k]});
	FAMILY("anthropic_proxy_stream_errors_total", M_COUNTER, "Error events inside 200 streams, by type.");
	for (int k = 0; k < METRICS_STREAM_ERRORS; k++)
		POINT(m->stream_errors[k], {"type", metrics_stream_error_names[k]});
	FAMILY("anthropic_proxy_oversized_events_total", M_COUNTER,
	       "Server-sent events too large to read usage from (skipped, still forwarded).");
	POINT0(m->oversized_events);
	FAMILY("anthropic_proxy_client_timeouts_total", M_COUNTER, "Client-side timeouts fired, by kind.");
	for (int k = 0; k < 4; k++)
		POINT(m->client_timeouts[k], {"kind", timeout_names[k]});
	FAMILY("anthropic_proxy_replays_total", M_COUNTER, "Requests sent again after an expired-token 401 and a refresh.");
	POINT0(m->replays);
	return e;
}

/* Accounts and routing among them. */
static int account_families(struct sink *S, struct app *app, int64_t now)
{
	const struct proxy_routing *r = &app->proxy.routing;
	int e = 0;
	FAMILY("anthropic_proxy_account_requests_total", M_COUNTER, "Requests each account was chosen for.");
	FOR_ACCOUNTS POINT(app->accounts[a_].requests, ACCT);
	FAMILY("anthropic_proxy_account_usable", M_GAUGE,
	       "1 while the account could take a request (login, holds, windows under --max-utilization, extra usage).");
	FOR_ACCOUNTS {
		const struct account *ac = &app->accounts[a_];
		const struct router_account v = {.name = ac->name, .tracker = t, .limited = &ac->limited,
						 .overage = &ac->overage, .login_ok = oauth_usable(&ac->oauth)};
		const struct router_request rq = {.model = "", .consumes = 1, .pinned = -1};
		const struct router_policy pol = {.max_utilization = app->cfg.max_utilization,
						  .allow_overage = app->cfg.allow_overage};
		struct router_verdict vd;
		router_check(&v, 0, &rq, &pol, now, &vd);
		POINT(vd.block == ROUTER_OK, ACCT);
	}
	FAMILY("anthropic_proxy_routing_decisions_total", M_COUNTER, "Accounts chosen for requests, by reason.");
	for (int k = 0; k < ROUTER_NONE; k++)
		POINT(r->decisions[k], {"reason", router_reason_name(k)});
	FAMILY("anthropic_proxy_guard_refusals_total", M_COUNTER,
	       "Requests the proxy answered 429 itself because no account was usable, by what blocked the accounts.");
	for (int k = ROUTER_NO_LOGIN; k < ROUTER_BLOCK_N; k++)
		POINT(r->refusals[k], {"reason", router_block_name(k)});
	FAMILY("anthropic_proxy_failovers_total", M_COUNTER,
	       "Requests replayed on another account after a 429, 529 or extra-usage 400 (the client saw one answer).");
	POINT0(r->failovers);
	FAMILY("anthropic_proxy_extra_usage_holds_total", M_COUNTER,
	       "Times an account was found drawing on paid extra usage and held back.");
	POINT0(r->overage_trips);
	FAMILY("anthropic_proxy_pinned_conversations", M_GAUGE, "Conversations pinned to an account.");
	POINT0(r->pins.n);
	return e;
}

/* Named clients (clients.h): labels bounded by the clients file and the keys. */
#define FOR_CLIENTS                                                                                                    \
	for (int c_ = 0; c_ < app->clients.n; c_++)                                                                    \
		if (app->clients.e[c_].active)
#define CLIENT {"client", app->clients.e[c_].def.name}

static int client_families(struct sink *S, struct app *app, int64_t now)
{
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	const char *names[CLIENTS_MAX_ACCOUNTS];
	int na = app_trackers(app, ts, names);
	int e = 0;
	FAMILY("anthropic_proxy_client_tokens_total", M_COUNTER, "Tokens in answers to each client, by kind.");
	FOR_CLIENTS {
		const struct tracker_tokens *k = &app->clients.e[c_].total;
		POINT(k->input, CLIENT, {"kind", "input"});
		POINT(k->output, CLIENT, {"kind", "output"});
		POINT(k->cache_creation, CLIENT, {"kind", "cache_creation"});
		POINT(k->cache_read, CLIENT, {"kind", "cache_read"});
	}
	FAMILY("anthropic_proxy_client_requests_total", M_COUNTER, "Requests of each client, by status class.");
	FOR_CLIENTS for (int k = 0; k < CLASS_N && k < CLIENTS_CLASSES; k++)
		POINT(app->clients.e[c_].by_class[k], CLIENT, {"status_class", class_names[k]});
	FAMILY("anthropic_proxy_client_window_utilization_ratio", M_GAUGE,
	       "Utilization of each window attributed to each client by its weighted tokens (0-1, over the pool).");
	FOR_CLIENTS {
		char wn[TRACKER_MAX_WINDOWS + CLIENTS_MAX_BUDGETS][24];
		int nw = clients_windows(&app->clients, c_, ts, na, wn, TRACKER_MAX_WINDOWS + CLIENTS_MAX_BUDGETS);
		for (int i = 0; i < nw; i++) {
			struct clients_attribution at;
			clients_attribute(&app->clients, c_, ts, na, wn[i], now, &at);
			if (at.utilization >= 0)
				POINT(at.utilization, CLIENT, {"window", wn[i]});
		}
	}
	FAMILY("anthropic_proxy_client_budget_ratio", M_GAUGE,
	       "Attributed utilization over each client's budget for the window (1: spent, requests refused).");
	FOR_CLIENTS {
		const struct clients_def *d = &app->clients.e[c_].def;
		for (int b = 0; b < d->n_budgets; b++) {
			struct clients_attribution at;
			clients_attribute(&app->clients, c_, ts, na, d->budgets[b].window, now, &at);
			POINT(at.utilization > 0 ? at.utilization / d->budgets[b].share : 0, CLIENT,
			      {"window", d->budgets[b].window});
		}
	}
	FAMILY("anthropic_proxy_client_budget_refusals_total", M_COUNTER,
	       "Requests the proxy answered 429 itself because the client's budget for the window was spent.");
	FOR_CLIENTS {
		const struct clients_def *d = &app->clients.e[c_].def;
		for (int b = 0; b < d->n_budgets; b++)
			POINT(d->budgets[b].refusals, CLIENT, {"window", d->budgets[b].window});
	}
	return e;
}

static int login_and_process_families(struct sink *S, struct app *app)
{
	char why[16];
	int e = 0;
	FAMILY("anthropic_proxy_oauth_ready", M_GAUGE, "1 while a usable access token is held.");
	FOR_ACCOUNTS POINT(oauth_ready(&app->accounts[a_].oauth, why, sizeof why), ACCT);
	FAMILY("anthropic_proxy_oauth_token_expiry_timestamp_seconds", M_GAUGE, "When the access token expires (unix time).");
	FOR_ACCOUNTS if (app->accounts[a_].oauth.cur.expires_at_ms)
		POINT(app->accounts[a_].oauth.cur.expires_at_ms / 1000, ACCT);
	FAMILY("anthropic_proxy_oauth_refreshes_total", M_COUNTER, "Token refreshes by outcome.");
	FOR_ACCOUNTS {
		const struct oauth *oa = &app->accounts[a_].oauth;
		POINT(oa->n_refresh_ok, ACCT, {"outcome", "success"});
		POINT(oa->n_refresh_failed, ACCT, {"outcome", "failure"});
		POINT(oa->n_adopted, ACCT, {"outcome", "adopted"});
	}
	FAMILY("anthropic_proxy_usage_polls_total", M_COUNTER, "Usage endpoint polls by outcome.");
	FOR_ACCOUNTS {
		const struct usage_poll *p = &app->accounts[a_].poll;
		POINT(p->n_ok, ACCT, {"outcome", "success"});
		POINT(p->n_failed - p->n_rate_limited, ACCT, {"outcome", "failure"});
		POINT(p->n_rate_limited, ACCT, {"outcome", "rate_limited"});
	}
	FAMILY("anthropic_proxy_usage_poll_last_success_timestamp_seconds", M_GAUGE,
	       "When the usage endpoint last answered (unix time).");
	FOR_ACCOUNTS if (app->accounts[a_].poll.last_success_ms)
		POINT(app->accounts[a_].poll.last_success_ms / 1000, ACCT);
	FAMILY("anthropic_proxy_client_connections", M_GAUGE, "Open client connections.");
	POINT0(app->srv.n_clients);
	FAMILY("anthropic_proxy_upstream_connections", M_GAUGE, "Open upstream connections, by state.");
	POINT(app->up.n_idle, {"state", "idle"});
	POINT(app->up.n_open - app->up.n_idle, {"state", "active"});
	FAMILY("anthropic_proxy_upstream_dials_total", M_COUNTER, "Upstream connections dialed.");
	POINT0(app->up.n_dials);
	FAMILY("anthropic_proxy_upstream_pool_purged_total", M_COUNTER,
	       "Idle upstream connections closed as surplus after a burst.");
	POINT0(app->up.n_purged);
	FAMILY("anthropic_proxy_upstream_tls_info", M_GAUGE,
	       "The TLS protocol and cipher suite last negotiated with the upstream (one series).");
	if (app->up.tls_version)
		POINT(1, {"version", app->up.tls_version}, {"cipher", app->up.tls_cipher});
	FAMILY("anthropic_proxy_alerts_sent_total", M_COUNTER, "Alert messages a webhook accepted, by event.");
	for (int k = 0; k < ALERT_N; k++)
		POINT(app->alerts.sent[k], {"event", alert_event_names[k]});
	FAMILY("anthropic_proxy_alert_failures_total", M_COUNTER,
	       "Alert webhook POSTs that failed (each try; retried with back-off).");
	POINT0(app->alerts.failures);
	FAMILY("anthropic_proxy_alerts_dropped_total", M_COUNTER,
	       "Alert messages given up: pushed out of a full queue or refused by the webhook.");
	POINT0(app->alerts.dropped);
	FAMILY("anthropic_proxy_log_dropped_bytes_total", M_COUNTER,
	       "Bytes of log lines dropped because stderr was full or its reader gone.");
	POINT0(log_dropped_bytes());
	FAMILY("anthropic_proxy_build_info", M_GAUGE, "Build information.");
	POINT(1, {"version", AP_VERSION});
	FAMILY("process_start_time_seconds", M_GAUGE, "Start time of the process since unix epoch in seconds.");
	POINT0(app->metrics.started_ms / 1000);
	long fds = open_fds();
	FAMILY("process_open_fds", M_GAUGE, "Number of open file descriptors.");
	if (fds >= 0)
		POINT0(fds);
	long rss = rss_bytes();
	FAMILY("process_resident_memory_bytes", M_GAUGE, "Resident memory size in bytes.");
	if (rss >= 0)
		POINT0(rss);
	return e || S->done(S);
}

/* The fleet (--redis): this replica's view of the shared store. Counters are this replica's (Prometheus sums the
 * replicas); the fleet_ gauges are fleet-wide totals as this replica last read them (every replica shows the same:
 * take max, not sum). */
static int fleet_families(struct sink *S, struct app *app)
{
	if (!app->fleet_on)
		return 0;
	const struct fleet *f = &app->fleet;
	int e = 0;
	FAMILY("anthropic_proxy_redis_up", M_GAUGE, "1 while the fleet's Redis answers.");
	POINT0(redis_up(&f->redis));
	FAMILY("anthropic_proxy_redis_errors_total", M_COUNTER, "Redis problems, by kind.");
	for (int k = 0; k < REDIS_E_KINDS; k++)
		POINT(f->redis.errors[k], {"kind", redis_err_names[k]});
	FAMILY("anthropic_proxy_fleet_leases_total", M_COUNTER,
	       "Fleet lease attempts (refresh: the login's refresh; poll: the usage poll), by outcome.");
	for (int k = 0; k < FLEET_LEASES; k++)
		for (int r = 0; r < FLEET_LEASE_RESULTS; r++)
			POINT(f->leases[k][r], {"lease", fleet_lease_names[k]}, {"result", fleet_lease_result_names[r]});
	FAMILY("anthropic_proxy_fleet_adoptions_total", M_COUNTER,
	       "What this replica took from the fleet instead of fetching it: a login another replica refreshed, "
	       "a usage poll, a window seen in another replica's answer headers.");
	for (int k = 0; k < f->n; k++) {
		const struct fleet_account *fa = &f->acc[k];
		POINT(fa->a->oauth.n_store_adopted, {"account", fa->a->name}, {"what", "login"});
		POINT(fa->n_usage_adopted, {"account", fa->a->name}, {"what", "usage"});
		POINT(fa->n_windows_adopted, {"account", fa->a->name}, {"what", "window"});
	}
	FAMILY("anthropic_proxy_fleet_login_version", M_GAUGE, "Version of the fleet's login this replica holds.");
	for (int k = 0; k < f->n; k++)
		POINT(f->acc[k].a->oauth.store_version, {"account", f->acc[k].a->name});
	FAMILY("anthropic_proxy_fleet_replicas", M_GAUGE, "Replicas seen in Redis within the last 15 seconds.");
	POINT0(f->replicas);
	FAMILY("anthropic_proxy_fleet_window_tokens", M_GAUGE,
	       "Tokens every replica sent in the window's current period (fleet-wide, as last read).");
	for (int k = 0; k < f->n; k++) {
		const struct tracker *t = &f->acc[k].a->tracker;
		for (int i = 0; i < t->n; i++) {
			const struct tracker_window *w = &t->w[i];
			if (!w->resets_at)
				continue;
			const struct lbl a = {"account", f->acc[k].a->name}, wl = {"window", w->name};
			POINT(w->tokens.input + w->others.input, a, wl, {"type", "input"});
			POINT(w->tokens.output + w->others.output, a, wl, {"type", "output"});
			POINT(w->tokens.cache_creation + w->others.cache_creation, a, wl, {"type", "cache_creation"});
			POINT(w->tokens.cache_read + w->others.cache_read, a, wl, {"type", "cache_read"});
		}
	}
	return e;
}

static int collect(struct sink *S, struct app *app)
{
	int64_t now = wall_ms();
	return window_families(S, app, now) || traffic_families(S, app) || account_families(S, app, now) ||
	       client_families(S, app, now) || fleet_families(S, app) || login_and_process_families(S, app);
}

int exposition_prometheus(struct app *app, struct buf *out)
{
	struct sink s = {.family = prom_family, .point = prom_point, .hpoint = prom_hpoint, .done = prom_done, .out = out};
	return collect(&s, app) ? -1 : 0;
}

int exposition_otlp(struct app *app, struct buf *out)
{
	struct sink s = {.family = otlp_family, .point = otlp_point, .hpoint = otlp_hpoint, .done = otlp_done, .out = out};
	snprintf(s.start_ns, sizeof s.start_ns, "%lld000000", (long long)app->metrics.started_ms);
	snprintf(s.now_ns, sizeof s.now_ns, "%lld000000", (long long)wall_ms());
	return collect(&s, app) ? -1 : 0;
}
