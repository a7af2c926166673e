#include "metrics.h"

#include "app.h"
#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const route_names[ROUTE_N] = {"messages", "count_tokens", "models", "other", "admin"};
static const char *const class_names[CLASS_N] = {"1xx", "2xx", "3xx", "4xx", "5xx", "none"};
static const char *const rl_names[RL_N] = {"window", "bare"};
static const char *const reject_names[REJECT_N] = {"claude_code_only", "extra_usage"};
static const char *const stream_error_names[METRICS_STREAM_ERRORS] = {
	"overloaded_error", "api_error", "rate_limit_error", "invalid_request_error", "authentication_error", "other"};
static const char *const timeout_names[3] = {"header", "body", "keepalive"};

void metrics_init(struct metrics *m, int64_t now_ms)
{
	memset(m, 0, sizeof *m);
	m->started_ms = now_ms;
}

static int path_is(const char *p, size_t n, const char *want)
{
	size_t w = strlen(want);
	return n >= w && memcmp(p, want, w) == 0 && (n == w || p[w] == '?');
}

enum metrics_route metrics_route(const char *path, size_t len)
{
	if (path_is(path, len, "/v1/messages"))
		return ROUTE_MESSAGES;
	if (path_is(path, len, "/v1/messages/count_tokens"))
		return ROUTE_COUNT_TOKENS;
	if (path_is(path, len, "/v1/models") || (len > 11 && memcmp(path, "/v1/models/", 11) == 0))
		return ROUTE_MODELS;
	return ROUTE_OTHER;
}

enum metrics_class metrics_class(int status)
{
	if (status < 100 || status > 599)
		return CLASS_NONE;
	return (enum metrics_class)(status / 100 - 1);
}

int metrics_stream_error_index(const char *type)
{
	for (int i = 0; i < METRICS_STREAM_ERRORS - 1; i++)
		if (strcmp(type, stream_error_names[i]) == 0)
			return i;
	return METRICS_STREAM_ERRORS - 1;
}

/* ---- rendering helpers ------------------------------------------------------------------------------------------ */

static int family(struct buf *o, const char *name, const char *type, const char *help)
{
	return buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int put_u(struct buf *o, const char *name, const char *labels, uint64_t v)
{
	return buf_printf(o, "%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "",
			  (unsigned long long)v);
}

static int put_d(struct buf *o, const char *name, const char *labels, double v)
{
	return buf_printf(o, "%s%s%s%s %.10g\n", name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "", v);
}

static int put_hist(struct buf *o, const char *name, const char *labels, const struct hist *h)
{
	uint64_t cum = 0;
	int e = 0;
	const char *sep = labels && *labels ? "," : "";
	for (int i = 0; i < HIST_BUCKETS && !e; i++) {
		cum += h->bucket[i];
		e = buf_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels ? labels : "", sep, hist_bounds[i],
			       (unsigned long long)cum);
	}
	e = e || buf_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels ? labels : "", sep,
			    (unsigned long long)h->count);
	e = e || buf_printf(o, "%s_sum%s%s%s %.10g\n", name, labels && *labels ? "{" : "", labels ? labels : "",
			    labels && *labels ? "}" : "", h->sum);
	e = e || buf_printf(o, "%s_count%s%s%s %llu\n", name, labels && *labels ? "{" : "", labels ? labels : "",
			    labels && *labels ? "}" : "", (unsigned long long)h->count);
	return e;
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

static int render_windows(const struct tracker *t, struct buf *o, int64_t now)
{
	char l[96];
	int e = 0;
#define EACH_WINDOW for (int i = 0; i < t->n && !e; i++)
#define W (&t->w[i])
	e = e || family(o, "anthropic_proxy_window_utilization_ratio", "gauge",
			"Share of the subscription window used (0-1), from answer headers or the usage poll.");
	EACH_WINDOW if (W->utilization >= 0)
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_d(o, "anthropic_proxy_window_utilization_ratio", l, W->utilization);
	}
	e = e || family(o, "anthropic_proxy_window_reset_timestamp_seconds", "gauge", "When the window resets (unix time).");
	EACH_WINDOW if (W->resets_at)
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_reset_timestamp_seconds", l, (uint64_t)W->resets_at);
	}
	e = e || family(o, "anthropic_proxy_window_reset_in_seconds", "gauge", "Seconds until the window resets.");
	EACH_WINDOW if (W->resets_at)
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		double left = (double)W->resets_at - (double)now / 1000;
		e = put_d(o, "anthropic_proxy_window_reset_in_seconds", l, left > 0 ? left : 0);
	}
	e = e || family(o, "anthropic_proxy_window_status", "gauge",
			"Window status: 0 allowed, 1 allowed_warning, 2 rejected.");
	EACH_WINDOW if (W->status >= 0)
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_status", l, (uint64_t)W->status);
	}
	e = e || family(o, "anthropic_proxy_window_data_age_seconds", "gauge",
			"Age of the window's utilization value.");
	EACH_WINDOW if (W->util_at_ms)
	{
		snprintf(l, sizeof l, "window=\"%s\",source=\"%s\"", W->name, tracker_source_name(W->util_src));
		e = put_d(o, "anthropic_proxy_window_data_age_seconds", l, (double)(now - W->util_at_ms) / 1000);
	}
	e = e || family(o, "anthropic_proxy_window_tokens", "gauge",
			"Tokens that went through the proxy in the window's current period, by kind.");
	static const char *const kinds[4] = {"input", "output", "cache_creation", "cache_read"};
	EACH_WINDOW for (int k = 0; k < 4 && !e; k++)
	{
		const struct tracker_tokens *tk = &W->tokens;
		uint64_t v = k == 0 ? tk->input : k == 1 ? tk->output : k == 2 ? tk->cache_creation : tk->cache_read;
		snprintf(l, sizeof l, "window=\"%s\",kind=\"%s\"", W->name, kinds[k]);
		e = put_u(o, "anthropic_proxy_window_tokens", l, v);
	}
	e = e || family(o, "anthropic_proxy_window_tokens_in", "gauge",
			"Prompt tokens (input + cache creation + cache read) in the window's current period.");
	EACH_WINDOW
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_tokens_in", l, W->tokens.input + W->tokens.cache_creation + W->tokens.cache_read);
	}
	e = e || family(o, "anthropic_proxy_window_tokens_out", "gauge", "Output tokens in the window's current period.");
	EACH_WINDOW
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_tokens_out", l, W->tokens.output);
	}
	e = e || family(o, "anthropic_proxy_window_requests", "gauge", "Answers counted in the window's current period.");
	EACH_WINDOW
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_requests", l, W->tokens.requests);
	}
	e = e || family(o, "anthropic_proxy_window_burn_rate_ratio_per_hour", "gauge",
			"Utilization gained per hour over up to the last hour.");
	EACH_WINDOW
	{
		double rate;
		if (tracker_burn_rate(W, now, &rate) == 0) {
			snprintf(l, sizeof l, "window=\"%s\"", W->name);
			e = put_d(o, "anthropic_proxy_window_burn_rate_ratio_per_hour", l, rate);
		}
	}
	e = e || family(o, "anthropic_proxy_window_projected_exhaustion_timestamp_seconds", "gauge",
			"When the window would be used up at the current burn rate; absent when not before its reset.");
	EACH_WINDOW
	{
		int64_t at;
		if (tracker_projected_exhaustion(W, now, &at) == 0) {
			snprintf(l, sizeof l, "window=\"%s\"", W->name);
			e = put_u(o, "anthropic_proxy_window_projected_exhaustion_timestamp_seconds", l, (uint64_t)at);
		}
	}
	e = e || family(o, "anthropic_proxy_window_rollovers_total", "counter", "Window rollovers seen since start.");
	EACH_WINDOW
	{
		snprintf(l, sizeof l, "window=\"%s\"", W->name);
		e = put_u(o, "anthropic_proxy_window_rollovers_total", l, W->rollovers);
	}
#undef EACH_WINDOW
#undef W
	e = e || family(o, "anthropic_proxy_rate_limit_status", "gauge",
			"Overall status of the binding claim: 0 allowed, 1 allowed_warning, 2 rejected.");
	if (t->status >= 0)
		e = e || put_u(o, "anthropic_proxy_rate_limit_status", NULL, (uint64_t)t->status);
	e = e || family(o, "anthropic_proxy_overage_utilization_ratio", "gauge", "Extra-usage (overage) utilization.");
	if (t->overage_utilization >= 0)
		e = e || put_d(o, "anthropic_proxy_overage_utilization_ratio", NULL, t->overage_utilization);
	e = e || family(o, "anthropic_proxy_extra_usage_enabled", "gauge", "Whether paid extra usage is enabled.");
	if (t->extra_enabled >= 0)
		e = e || put_u(o, "anthropic_proxy_extra_usage_enabled", NULL, (uint64_t)t->extra_enabled);
	e = e || family(o, "anthropic_proxy_extra_usage_monthly_limit_minor_units", "gauge",
			"Monthly extra-usage limit, in minor currency units (cents).");
	if (t->extra_monthly_limit >= 0)
		e = e || put_d(o, "anthropic_proxy_extra_usage_monthly_limit_minor_units", NULL, t->extra_monthly_limit);
	e = e || family(o, "anthropic_proxy_extra_usage_used_minor_units", "gauge",
			"Extra usage spent this month, in minor currency units (cents).");
	if (t->extra_used_credits >= 0)
		e = e || put_d(o, "anthropic_proxy_extra_usage_used_minor_units", NULL, t->extra_used_credits);
	e = e || family(o, "anthropic_proxy_extra_usage_utilization_ratio", "gauge", "Share of the extra-usage limit spent.");
	if (t->extra_utilization >= 0)
		e = e || put_d(o, "anthropic_proxy_extra_usage_utilization_ratio", NULL, t->extra_utilization);
	return e;
}

static int render_traffic(struct app *app, struct buf *o)
{
	const struct metrics *m = &app->metrics;
	const struct tracker *t = &app->tracker;
	char l[200];
	int e = family(o, "anthropic_proxy_requests_total", "counter", "Requests by route, status class and model.");
	for (int r = 0; r < ROUTE_N && !e; r++)
		for (int c = 0; c < CLASS_N && !e; c++)
			for (int k = 0; k < TRACKER_MAX_MODELS + 2 && !e; k++) {
				if (!m->requests[r][c][k])
					continue;
				const char *model = k == METRICS_MODEL_NONE ? "" : t->models[k].name;
				snprintf(l, sizeof l, "route=\"%s\",status_class=\"%s\",model=\"%s\"", route_names[r],
					 class_names[c], model);
				e = put_u(o, "anthropic_proxy_requests_total", l, m->requests[r][c][k]);
			}
	e = e || family(o, "anthropic_proxy_tokens_total", "counter", "Tokens through the proxy by model and kind.");
	static const char *const kinds[4] = {"input", "output", "cache_creation", "cache_read"};
	for (int k = 0; k <= TRACKER_MAX_MODELS && !e; k++) {
		const struct tracker_model *md = &t->models[k];
		if (!md->tokens.requests || (k >= t->n_models && k != TRACKER_MAX_MODELS))
			continue;
		for (int j = 0; j < 4 && !e; j++) {
			const struct tracker_tokens *tk = &md->tokens;
			uint64_t v = j == 0 ? tk->input : j == 1 ? tk->output : j == 2 ? tk->cache_creation : tk->cache_read;
			snprintf(l, sizeof l, "model=\"%s\",kind=\"%s\"", md->name, kinds[j]);
			e = put_u(o, "anthropic_proxy_tokens_total", l, v);
		}
	}
	e = e || family(o, "anthropic_proxy_request_duration_seconds", "histogram", "Request duration, by route.");
	for (int r = 0; r < ROUTE_N && !e; r++) {
		snprintf(l, sizeof l, "route=\"%s\"", route_names[r]);
		e = put_hist(o, "anthropic_proxy_request_duration_seconds", l, &m->duration[r]);
	}
	e = e || family(o, "anthropic_proxy_time_to_first_byte_seconds", "histogram",
			"Time from the request to the answer's head, by route.");
	for (int r = 0; r < ROUTE_ADMIN && !e; r++) {
		snprintf(l, sizeof l, "route=\"%s\"", route_names[r]);
		e = put_hist(o, "anthropic_proxy_time_to_first_byte_seconds", l, &m->ttfb[r]);
	}
	e = e || family(o, "anthropic_proxy_upstream_connect_duration_seconds", "histogram",
			"Upstream DNS + TCP connect time.");
	e = e || put_hist(o, "anthropic_proxy_upstream_connect_duration_seconds", "", &app->up.connect_time);
	e = e || family(o, "anthropic_proxy_upstream_tls_handshake_duration_seconds", "histogram",
			"Upstream TLS handshake time.");
	e = e || put_hist(o, "anthropic_proxy_upstream_tls_handshake_duration_seconds", "", &app->up.handshake_time);
	e = e || family(o, "anthropic_proxy_upstream_errors_total", "counter", "Failed upstream exchanges by kind.");
	for (int k = 0; k < UPSTREAM_NKINDS && !e; k++) {
		snprintf(l, sizeof l, "kind=\"%s\"", upstream_error_kinds[k]);
		e = put_u(o, "anthropic_proxy_upstream_errors_total", l, app->up.n_errors[k]);
	}
	e = e || family(o, "anthropic_proxy_rate_limited_total", "counter",
			"429 answers: window (rate-limit headers say rejected) or bare (no window information).");
	for (int k = 0; k < RL_N && !e; k++) {
		snprintf(l, sizeof l, "kind=\"%s\"", rl_names[k]);
		e = put_u(o, "anthropic_proxy_rate_limited_total", l, m->rate_limited[k]);
	}
	e = e || family(o, "anthropic_proxy_subscription_rejections_total", "counter",
			"Answers refusing or re-billing non-Claude-Code traffic on the subscription, by reason.");
	for (int k = 0; k < REJECT_N && !e; k++) {
		snprintf(l, sizeof l, "reason=\"%s\"", reject_names[k]);
		e = put_u(o, "anthropic_proxy_subscription_rejections_total", l, m->rejected[k]);
	}
	e = e || family(o, "anthropic_proxy_stream_errors_total", "counter", "error events inside 200 streams, by type.");
	for (int k = 0; k < METRICS_STREAM_ERRORS && !e; k++) {
		snprintf(l, sizeof l, "type=\"%s\"", stream_error_names[k]);
		e = put_u(o, "anthropic_proxy_stream_errors_total", l, m->stream_errors[k]);
	}
	e = e || family(o, "anthropic_proxy_oversized_events_total", "counter",
			"Server-sent events too large to read usage from (skipped, still forwarded).");
	e = e || put_u(o, "anthropic_proxy_oversized_events_total", NULL, m->oversized_events);
	e = e || family(o, "anthropic_proxy_client_timeouts_total", "counter", "Client-side timeouts fired, by kind.");
	for (int k = 0; k < 3 && !e; k++) {
		snprintf(l, sizeof l, "kind=\"%s\"", timeout_names[k]);
		e = put_u(o, "anthropic_proxy_client_timeouts_total", l, m->client_timeouts[k]);
	}
	e = e || family(o, "anthropic_proxy_replays_total", "counter",
			"Requests sent again after an expired-token 401 and a refresh.");
	e = e || put_u(o, "anthropic_proxy_replays_total", NULL, m->replays);
	return e;
}

static int render_login_and_process(struct app *app, struct buf *o)
{
	const struct oauth *oa = &app->oauth;
	const struct usage_poll *p = &app->poll;
	char why[16];
	int e = family(o, "anthropic_proxy_oauth_ready", "gauge", "1 while a usable access token is held.");
	e = e || put_u(o, "anthropic_proxy_oauth_ready", NULL, (uint64_t)oauth_ready(oa, why, sizeof why));
	e = e || family(o, "anthropic_proxy_oauth_token_expiry_timestamp_seconds", "gauge",
			"When the access token expires (unix time).");
	if (oa->cur.expires_at_ms)
		e = e || put_u(o, "anthropic_proxy_oauth_token_expiry_timestamp_seconds", NULL,
			       (uint64_t)(oa->cur.expires_at_ms / 1000));
	e = e || family(o, "anthropic_proxy_oauth_refreshes_total", "counter", "Token refreshes by outcome.");
	e = e || put_u(o, "anthropic_proxy_oauth_refreshes_total", "outcome=\"success\"", oa->n_refresh_ok);
	e = e || put_u(o, "anthropic_proxy_oauth_refreshes_total", "outcome=\"failure\"", oa->n_refresh_failed);
	e = e || put_u(o, "anthropic_proxy_oauth_refreshes_total", "outcome=\"adopted\"", oa->n_adopted);
	e = e || family(o, "anthropic_proxy_usage_polls_total", "counter", "Usage endpoint polls by outcome.");
	e = e || put_u(o, "anthropic_proxy_usage_polls_total", "outcome=\"success\"", p->n_ok);
	e = e || put_u(o, "anthropic_proxy_usage_polls_total", "outcome=\"failure\"", p->n_failed - p->n_rate_limited);
	e = e || put_u(o, "anthropic_proxy_usage_polls_total", "outcome=\"rate_limited\"", p->n_rate_limited);
	e = e || family(o, "anthropic_proxy_usage_poll_last_success_timestamp_seconds", "gauge",
			"When the usage endpoint last answered (unix time).");
	if (p->last_success_ms)
		e = e || put_u(o, "anthropic_proxy_usage_poll_last_success_timestamp_seconds", NULL,
			       (uint64_t)(p->last_success_ms / 1000));
	e = e || family(o, "anthropic_proxy_client_connections", "gauge", "Open client connections.");
	e = e || put_u(o, "anthropic_proxy_client_connections", NULL, app->srv.n_clients);
	e = e || family(o, "anthropic_proxy_upstream_connections", "gauge", "Open upstream connections, by state.");
	e = e || put_u(o, "anthropic_proxy_upstream_connections", "state=\"idle\"", app->up.n_idle);
	e = e || put_u(o, "anthropic_proxy_upstream_connections", "state=\"active\"", app->up.n_open - app->up.n_idle);
	e = e || family(o, "anthropic_proxy_upstream_dials_total", "counter", "Upstream connections dialed.");
	e = e || put_u(o, "anthropic_proxy_upstream_dials_total", NULL, app->up.n_dials);
	e = e || family(o, "anthropic_proxy_build_info", "gauge", "Build information.");
	e = e || put_u(o, "anthropic_proxy_build_info", "version=\"" AP_VERSION "\"", 1);
	e = e || family(o, "anthropic_proxy_start_time_seconds", "gauge", "When the proxy started (unix time).");
	e = e || put_u(o, "anthropic_proxy_start_time_seconds", NULL, (uint64_t)(app->metrics.started_ms / 1000));
	long rss = rss_bytes();
	e = e || family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	if (rss >= 0)
		e = e || put_u(o, "process_resident_memory_bytes", NULL, (uint64_t)rss);
	return e;
}

int metrics_render(struct app *app, struct buf *out)
{
	int64_t now = wall_ms();
	return render_windows(&app->tracker, out, now) || render_traffic(app, out) || render_login_and_process(app, out)
		       ? -1
		       : 0;
}
