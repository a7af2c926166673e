#include "otlp.h"

#include "url.h"

#include "app.h"
#include "exposition.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BACKOFF_MAX_MS (5 * 60 * 1000)

static const struct upstream_cbs export_cbs;
static void done(struct otlp *o, const char *failure);

/* An unset and an empty variable mean the same (the OTel spec's rule). */
static const char *env_get(char **envp, const char *name)
{
	const char *v = config_env_get(envp, name);
	return v && *v ? v : NULL;
}

/* Percent-decodes s[0..n) into out; refuses control characters (they would break a header or JSON). */
static int decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			c = (int)strtol(hex, NULL, 16);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* Calls fn for each "k=v" of a comma-separated list (W3C baggage-like, as the OTel spec uses). */
static int each_pair(const char *list, int (*fn)(struct otlp *, const char *, const char *), struct otlp *o)
{
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char k[256], v[1024];
		while (n && *p == ' ')
			p++, n--;
		if (!eq || decode(p, (size_t)(eq - p), k, sizeof k) ||
		    decode(eq + 1, n - (size_t)(eq + 1 - p), v, sizeof v) || !k[0])
			return -1;
		size_t kl = strlen(k);
		while (kl && k[kl - 1] == ' ')
			k[--kl] = 0;
		if (fn(o, k, v))
			return -1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int add_header(struct otlp *o, const char *k, const char *v)
{
	size_t used = strlen(o->headers);
	int n = snprintf(o->headers + used, sizeof o->headers - used, "%s: %s\r\n", k, v);
	return n < 0 || (size_t)n >= sizeof o->headers - used ? -1 : 0;
}

static int add_attr(struct otlp *o, const char *k, const char *v)
{
	struct buf b;
	buf_init(&b, 0);
	int e = buf_printf(&b, "%s{\"key\":\"", o->resource[0] ? "," : "") || http_json_escape(&b, k, strlen(k)) ||
		buf_appends(&b, "\",\"value\":{\"stringValue\":\"") || http_json_escape(&b, v, strlen(v)) ||
		buf_appends(&b, "\"}}") || buf_append(&b, "", 1);
	size_t used = strlen(o->resource);
	if (!e && buf_size(&b) < sizeof o->resource - used)
		memcpy(o->resource + used, buf_ptr(&b), buf_size(&b));
	else
		e = -1;
	buf_free(&b);
	return e;
}

static int skip_service_name(struct otlp *o, const char *k, const char *v)
{
	/* OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES. */
	return strcmp(k, "service.name") == 0 ? 0 : add_attr(o, k, v);
}

static int parse_endpoint(struct otlp *o, const char *url, int signal_specific, int *tls, char *host, size_t hostlen,
			  int *port)
{
	struct url u;
	if (url_parse(url, &u) || (strcmp(u.scheme, "http") && strcmp(u.scheme, "https")) || u.userinfo[0] ||
	    u.port == 0 || strlen(u.host) >= hostlen)
		return -1;
	*tls = strcmp(u.scheme, "https") == 0;
	*port = u.port;
	snprintf(host, hostlen, "%s", u.host);
	snprintf(o->auth, sizeof o->auth, "%s", u.authority);
	const char *path = u.path;
	/* The signal-specific endpoint is used as is; the base one gets the signal path appended (OTLP spec). */
	if (signal_specific)
		snprintf(o->path, sizeof o->path, "%s", *path ? path : "/");
	else if (!*path)
		snprintf(o->path, sizeof o->path, "/v1/metrics");
	else
		snprintf(o->path, sizeof o->path, path[strlen(path) - 1] != '/' ? "%s/v1/metrics" : "%sv1/metrics", path);
	return 0;
}

int otlp_init(struct otlp *o, struct app *app, char **envp, struct tls_ctx *tls, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->app = app;
	buf_init(&o->head, 0);
	buf_init(&o->body, 0);
	const char *url = env_get(envp, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
	int specific = url != NULL;
	if (!url)
		url = env_get(envp, "OTEL_EXPORTER_OTLP_ENDPOINT");
	if (!url)
		return 0;
	char host[256];
	int port, use_tls;
	if (parse_endpoint(o, url, specific, &use_tls, host, sizeof host, &port)) {
		snprintf(err, errlen, "invalid OTLP endpoint '%s': expected http:// or https:// URL", url);
		return -1;
	}
	snprintf(o->url, sizeof o->url, "%s", url);
	const char *proto = env_get(envp, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL");
	if (!proto)
		proto = env_get(envp, "OTEL_EXPORTER_OTLP_PROTOCOL");
	if (proto && strcmp(proto, "http/json") != 0)
		log_msg(AP_WARN, "otlp_protocol", "only http/json is supported; exporting JSON over HTTP");
	const char *iv = env_get(envp, "OTEL_METRIC_EXPORT_INTERVAL");
	o->interval_ms = iv ? strtoull(iv, NULL, 10) : 60000;
	if (o->interval_ms == 0) {
		snprintf(err, errlen, "invalid OTEL_METRIC_EXPORT_INTERVAL '%s' (milliseconds)", iv);
		return -1;
	}
	backoff_init(&o->backoff, o->interval_ms, BACKOFF_MAX_MS);
	const char *to = env_get(envp, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT");
	if (!to)
		to = env_get(envp, "OTEL_EXPORTER_OTLP_TIMEOUT");
	uint64_t timeout = to ? strtoull(to, NULL, 10) : 10000;
	const char *hdrs[] = {env_get(envp, "OTEL_EXPORTER_OTLP_HEADERS"),
			      env_get(envp, "OTEL_EXPORTER_OTLP_METRICS_HEADERS")};
	for (int i = 0; i < 2; i++)
		if (hdrs[i] && each_pair(hdrs[i], add_header, o)) {
			snprintf(err, errlen, "invalid OTLP headers: expected key=value pairs separated by commas");
			return -1;
		}
	const char *svc = env_get(envp, "OTEL_SERVICE_NAME");
	add_attr(o, "service.name", svc ? svc : "anthropic-proxy");
	add_attr(o, "service.version", AP_VERSION);
	const char *attrs = env_get(envp, "OTEL_RESOURCE_ATTRIBUTES");
	if (attrs && each_pair(attrs, skip_service_name, o)) {
		snprintf(err, errlen, "invalid OTEL_RESOURCE_ATTRIBUTES: expected key=value pairs separated by commas");
		return -1;
	}
	struct upstream_opts opts = UPSTREAM_OPTS_DEFAULT;
	opts.connect_timeout_ms = opts.io_timeout_ms = timeout;
	opts.pool_max = 1;
	upstream_init(&o->up, app->loop, host, port, use_tls ? tls : NULL, &opts);
	uv_timer_init(app->loop, &o->timer);
	o->timer.data = o;
	o->enabled = 1;
	return 0;
}

static void on_timer(uv_timer_t *t);

static void export_now(struct otlp *o)
{
	buf_reset(&o->body);
	buf_reset(&o->head);
	int e = buf_printf(&o->body,
			   "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[%s]},\"scopeMetrics\":[{\"scope\":"
			   "{\"name\":\"anthropic-proxy\",\"version\":\"" AP_VERSION "\"},\"metrics\":[",
			   o->resource) ||
		exposition_otlp(o->app, &o->body) || buf_appends(&o->body, "]}]}]}");
	e = e || buf_printf(&o->head,
			    "POST %s HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\nuser-agent: anthropic-proxy/" AP_VERSION
			    "\r\n%scontent-length: %zu\r\n\r\n",
			    o->path, o->auth, o->headers, buf_size(&o->body));
	if (e) {
		o->n_failed++;
		uv_timer_start(&o->timer, on_timer, o->interval_ms, 0);
		return;
	}
	o->req = (struct upstream_req){
		.cbs = &export_cbs,
		.data = o,
		.head = buf_ptr(&o->head),
		.head_len = buf_size(&o->head),
		.body = buf_ptr(&o->body),
		.body_len = buf_size(&o->body),
	};
	o->status = 0;
	o->in_flight = 1;
	if (upstream_request(&o->up, &o->req))
		done(o, "out of memory");
}

static void on_timer(uv_timer_t *t)
{
	struct otlp *o = t->data;
	if (!o->in_flight && !o->closing)
		export_now(o);
}

static void done(struct otlp *o, const char *failure)
{
	o->in_flight = 0;
	if (o->closing)
		return;
	uint64_t next = o->interval_ms;
	if (failure) {
		o->n_failed++;
		snprintf(o->last_error, sizeof o->last_error, "%s", failure);
		next = backoff_fail(&o->backoff, 0);
		struct log_line l;
		log_begin(&l, o->n_failed == 1 || o->n_failed % 10 == 0 ? AP_WARN : AP_DEBUG, "otlp_export_failed");
		log_str(&l, "endpoint", o->url);
		log_str(&l, "msg", failure);
		log_int(&l, "failures", (long long)o->n_failed);
		log_int(&l, "retry_in_ms", (long long)next);
		log_end(&l);
	} else {
		o->n_ok++;
		backoff_reset(&o->backoff);
		o->last_error[0] = 0;
	}
	uv_timer_start(&o->timer, on_timer, next, 0);
}

static int on_head(struct upstream_req *r, int status, const struct http_hdrs *h)
{
	((struct otlp *)r->data)->status = status;
	return 0;
}

static int on_body(struct upstream_req *r, const char *p, size_t n) { return 0; }

static void on_end(struct upstream_req *r)
{
	struct otlp *o = r->data;
	char why[64];
	snprintf(why, sizeof why, "collector answered %d", o->status);
	done(o, o->status >= 200 && o->status < 300 ? NULL : why);
}

static void on_error(struct upstream_req *r, const char *kind, const char *msg) { done(r->data, msg); }

static const struct upstream_cbs export_cbs = {
	.on_head = on_head,
	.on_body = on_body,
	.on_end = on_end,
	.on_error = on_error,
};

void otlp_start(struct otlp *o)
{
	if (!o->enabled)
		return;
	struct log_line l;
	log_begin(&l, AP_INFO, "otlp_export");
	log_str(&l, "endpoint", o->url);
	log_int(&l, "interval_ms", (long long)o->interval_ms);
	log_end(&l);
	uv_timer_start(&o->timer, on_timer, o->interval_ms, 0);
}

static void on_close(uv_handle_t *h) { (void)h; }

void otlp_close(struct otlp *o)
{
	if (!o->enabled || o->closing)
		return;
	o->closing = 1;
	if (o->in_flight)
		upstream_cancel(&o->req);
	o->in_flight = 0;
	uv_close((uv_handle_t *)&o->timer, on_close);
	upstream_close(&o->up);
}

void otlp_free(struct otlp *o)
{
	if (o->enabled)
		upstream_free(&o->up);
	buf_free(&o->head);
	buf_free(&o->body);
}
