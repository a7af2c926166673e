#include "admin.h"

#include "server.h"

#include "app.h"
#include "door.h"
#include "exposition.h"
#include "metrics.h"
#include "http.h"

#include <string.h>


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
		char why[600];
		if (oauth_ready(&app_default_account(app)->oauth, why, sizeof why)) {
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
		int64_t now = app_wall_ms();
		struct buf poll;
		buf_init(&poll, 0);
		usage_poll_render(&app_default_account(app)->poll, &poll, now);
		buf_append(&poll, "", 1);
		a->status = tracker_render_json(&app_default_account(app)->tracker, &a->body, now, buf_ptr(&poll)) ? 500 : 200;
		buf_free(&poll);
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
