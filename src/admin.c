#include "admin.h"

#include "app.h"
#include "http.h"

#include <string.h>

int admin_match(const char *url, size_t len)
{
	return http_path_is(url, len, "/healthz") || http_path_is(url, len, "/readyz") || http_path_is(url, len, "/usage") ||
	       http_path_is(url, len, "/metrics");
}

void admin_render(struct app *app, const char *method, const char *url, size_t len, struct admin_answer *a)
{
	buf_init(&a->body, 0);
	a->content_type = "application/json";
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		a->status = 405;
		buf_appends(&a->body, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
				      "\"message\":\"only GET and HEAD are allowed here\"}}");
		return;
	}
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
		a->status = metrics_render(app, &a->body) ? 500 : 200;
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
