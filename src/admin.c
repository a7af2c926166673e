#include "admin.h"

#include "server.h"

#include "app.h"
#include "door.h"
#include "exposition.h"
#include "metrics.h"
#include "http.h"

#include <stdio.h>
#include <string.h>

/* One account's part of /usage: what the one-account top level shows, plus its login and its routing state. */
static int render_account(struct app *app, uint32_t i, struct buf *out, int64_t now, int top)
{
	struct account *a = &app->accounts[i];
	struct buf poll;
	buf_init(&poll, 0);
	usage_poll_render(&a->poll, &poll, now);
	buf_append(&poll, "", 1);
	size_t mark = buf_size(out);
	int e = tracker_render_json(&a->tracker, out, now, buf_ptr(&poll));
	buf_free(&poll);
	if (e || buf_size(out) == mark)
		return -1;
	out->len--; /* reopen the object for the keys below */
	char why[600];
	int ready = oauth_ready(&a->oauth, why, sizeof why);
	struct router_account v[ROUTER_MAX_ACCOUNTS];
	struct router_verdict vd;
	v[0] = (struct router_account){.name = a->name, .tracker = &a->tracker, .limited = &a->limited,
				       .overage = &a->overage, .login_ok = oauth_usable(&a->oauth)};
	const struct router_request rq = {.model = "", .consumes = 1, .pinned = -1};
	const struct router_policy pol = {.max_utilization = app->cfg.max_utilization,
					  .allow_overage = app->cfg.allow_overage};
	router_check(&v[0], 0, &rq, &pol, now, &vd);
	e = buf_printf(out, ",\"login\":{\"ready\":%s,\"reason\":", ready ? "true" : "false") ||
	    (ready ? buf_appends(out, "null") : (buf_append(out, "\"", 1) || http_json_escape(out, why, strlen(why)) ||
						  buf_append(out, "\"", 1))) ||
	    buf_printf(out, ",\"refreshes\":%llu,\"refresh_failures\":%llu}",
		       (unsigned long long)a->oauth.n_refresh_ok, (unsigned long long)a->oauth.n_refresh_failed);
	if (top) /* the top level's "routing" is the pool's */
		return e || buf_append(out, "}", 1) ? -1 : 0;
	e = e || buf_printf(out, ",\"routing\":{\"usable\":%s,\"block\":\"%s\",\"window\":",
		       vd.block == ROUTER_OK ? "true" : "false", router_block_name(vd.block)) ||
	    (vd.window ? buf_printf(out, "\"%s\"", vd.window) : buf_appends(out, "null")) ||
	    buf_printf(out, ",\"clears_at_unix\":%lld,\"headroom\":%.4f,\"requests\":%llu,\"in_flight\":%u",
		       (long long)vd.until_s, router_headroom(&a->tracker, "", now), (unsigned long long)a->requests,
		       a->in_flight) ||
	    buf_printf(out, ",\"held_until_unix\":%lld,\"held_reason\":",
		       (long long)(a->limited.until_ms > now ? a->limited.until_ms / 1000 : 0)) ||
	    (a->limited.until_ms > now && a->limited.reason ? buf_printf(out, "\"%s\"", a->limited.reason)
							    : buf_appends(out, "null")) ||
	    buf_printf(out, ",\"extra_usage_until_unix\":%lld}}",
		       (long long)(a->overage.until_ms > now ? a->overage.until_ms / 1000 : 0));
	return e ? -1 : 0;
}

/* /usage: the first account's view at the top level (as with one account), then every account, then routing. */
static int render_usage(struct app *app, struct buf *out, int64_t now)
{
	if (render_account(app, 0, out, now, 1))
		return -1;
	/* The top level keeps its one-account keys; login/routing there describe the first account too. */
	out->len--;
	int e = buf_appends(out, ",\"accounts\":{");
	for (uint32_t i = 0; i < app->n_accounts && !e; i++)
		e = buf_printf(out, "%s\"%s\":", i ? "," : "", app->accounts[i].name) || render_account(app, i, out, now, 0);
	struct proxy_routing *r = &app->proxy.routing;
	e = e || buf_printf(out, "},\"routing\":{\"pinned_conversations\":%u,\"pin_capacity\":%u,\"failovers\":%llu",
			    pins_sweep(&r->pins, now), r->pins.cap, (unsigned long long)r->failovers) ||
	    buf_appends(out, ",\"decisions\":{");
	for (int k = 0; k < ROUTER_REASON_N && !e; k++)
		e = buf_printf(out, "%s\"%s\":%llu", k ? "," : "", router_reason_name(k), (unsigned long long)r->decisions[k]);
	e = e || buf_appends(out, "},\"refusals\":{");
	for (int k = 1; k < ROUTER_BLOCK_N && !e; k++)
		e = buf_printf(out, "%s\"%s\":%llu", k > 1 ? "," : "", router_block_name(k), (unsigned long long)r->refusals[k]);
	e = e || buf_appends(out, "},\"last\":");
	if (!e && r->last_account >= 0)
		e = buf_printf(out, "{\"account\":\"%s\",\"reason\":\"%s\",\"at_unix\":%lld}",
			       app->accounts[r->last_account].name, router_reason_name(r->last_reason),
			       (long long)(r->last_at_ms / 1000));
	else
		e = e || buf_appends(out, "null");
	const struct tracker *ts[CLIENTS_MAX_ACCOUNTS];
	const char *names[CLIENTS_MAX_ACCOUNTS];
	int n = app_trackers(app, ts, names);
	e = e || buf_appends(out, "},\"clients\":") || clients_render_json(&app->clients, ts, n, now, out);
	if (app->fleet_on) /* fleet-wide totals; everything above is this replica's own */
		e = e || buf_appends(out, ",\"fleet\":") || fleet_render_json(&app->fleet, out, now);
	return e || buf_appends(out, "}") ? -1 : 0;
}


void admin_render(struct app *app, const char *url, size_t len, struct admin_answer *a)
{
	buf_init(&a->body, 0);
	a->content_type = "application/json";
	if (http_path_is(url, len, "/healthz")) {
		/* Liveness only: answered without touching the upstream or the credentials. */
		a->status = 200;
		buf_appends(&a->body, "{\"status\":\"ok\"}");
		return;
	}
	if (http_path_is(url, len, "/readyz")) {
		/* Ready only while requests can be signed: Kubernetes stops routing to a proxy that cannot. */
		/* With several accounts: ready while at least one can sign (the others are named in /usage). */
		char why[600] = "";
		int ready = 0;
		for (uint32_t i = 0; i < app->n_accounts && !ready; i++) {
			char w[600];
			ready = oauth_ready(&app->accounts[i].oauth, w, sizeof w);
			if (!ready && !why[0])
				snprintf(why, sizeof why, "%s%s%s", app->n_accounts > 1 ? app->accounts[i].name : "",
					 app->n_accounts > 1 ? ": " : "", w);
		}
		if (ready) {
			a->status = 200;
			buf_appends(&a->body, "{\"status\":\"ready\"}");
		} else {
			a->status = 503;
			buf_appends(&a->body, "{\"status\":\"not_ready\",\"reason\":\"");
			http_json_escape(&a->body, why, strlen(why));
			buf_appends(&a->body, "\"}");
		}
		return;
	}
	if (http_path_is(url, len, "/metrics")) {
		a->content_type = "text/plain; version=0.0.4; charset=utf-8";
		a->status = exposition_prometheus(app, &a->body) ? 500 : 200;
		return;
	}
	if (http_path_is(url, len, "/usage")) {
		a->status = render_usage(app, &a->body, app_wall_ms()) ? 500 : 200;
		return;
	}
	a->status = 404;
	buf_appends(&a->body, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"no such path\"}}");
}

static void admin_start(void *ctx, struct client *c)
{
	const struct request *r = client_request(c);
	struct admin_answer a;
	size_t pl, al;
	const char *auth, *path = http_target_path(buf_ptr(&r->url), buf_size(&r->url), &pl, &auth, &al);
	admin_render(ctx, path ? path : "/", path ? pl : 1, &a);
	client_respond(c, a.status, a.content_type, buf_ptr(&a.body), buf_size(&a.body));
	buf_free(&a.body);
	struct client_report rep = {.route = ROUTE_ADMIN, .model_slot = METRICS_MODEL_NONE, .ttfb_ms = -1};
	client_end(c, &rep, 1);
}

void admin_route_init(struct client_route *r, struct app *app)
{
	*r = (struct client_route){.start = admin_start, .ctx = app};
}
