#include "door.h"


#include <llhttp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void refuse(struct door_verdict *v, int status, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void refuse(struct door_verdict *v, int status, const char *kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof v->msg, fmt, ap);
	va_end(ap);
	v->status = status;
	v->kind = kind;
}

static int digits(const char *p, size_t n, size_t max)
{
	if (n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* 127.a.b.c in plain decimal (no leading zeros, which some resolvers read as octal). */
static int loopback_v4(const char *p, size_t n)
{
	if (n < 9 || memcmp(p, "127.", 4) != 0)
		return 0;
	int parts = 1;
	size_t i = 4;
	while (i <= n) {
		size_t start = i;
		while (i < n && p[i] != '.')
			i++;
		size_t len = i - start;
		if (len == 0 || len > 3 || !digits(p + start, len, 3) || (len > 1 && p[start] == '0'))
			return 0;
		unsigned val = 0;
		for (size_t k = start; k < i; k++)
			val = val * 10 + (unsigned)(p[k] - '0');
		if (val > 255)
			return 0;
		parts++;
		i++; /* past the dot (or the end) */
	}
	return parts == 4;
}

int door_host_is_loopback(const char *host, size_t n)
{
	size_t name_len = n;
	if (n && host[0] == '[') {
		const char *close = memchr(host, ']', n);
		if (!close)
			return 0;
		size_t in = (size_t)(close - host) + 1;
		if (in < n && (host[in] != ':' || !digits(host + in + 1, n - in - 1, 5)))
			return 0;
		return in == 5 && memcmp(host, "[::1]", 5) == 0;
	}
	const char *colon = memchr(host, ':', n);
	if (colon) {
		name_len = (size_t)(colon - host);
		if (!digits(colon + 1, n - name_len - 1, 5))
			return 0;
	}
	return http_name_eq(host, name_len, "localhost") || http_name_eq(host, name_len, "localhost.") ||
	       loopback_v4(host, name_len);
}



/* Constant-time comparison: the time taken does not depend on where a guess goes wrong. */
static int same_secret(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char d = an != bn;
	for (size_t i = 0; i < bn; i++)
		d |= (unsigned char)(b[i] ^ (i < an ? a[i] : 0));
	return d == 0;
}

/* The key a request presents: x-api-key, else Authorization: Bearer. */
static const char *presented_key(const struct http_hdrs *h, size_t *n)
{
	const char *k = http_hdrs_find(h, HH_X_API_KEY, n);
	if (k)
		return k;
	k = http_hdrs_find(h, HH_AUTHORIZATION, n);
	if (k && *n > 7 && strncasecmp(k, "Bearer ", 7) == 0) {
		*n -= 7;
		return k + 7;
	}
	return NULL;
}

static int keys_set(const struct config *cfg, const struct clients *cl)
{
	return cl ? cl->n_keys > 0 : cfg->n_client_keys > 0;
}

/* Every key is compared, match or not, so timing says nothing about which one was close. */
int door_client(const struct config *cfg, const struct clients *cl, const struct http_hdrs *h)
{
	if (!keys_set(cfg, cl))
		return DOOR_NO_CLIENT;
	size_t n = 0;
	const char *k = presented_key(h, &n);
	if (!k)
		return DOOR_BAD_KEY;
	if (cl) {
		int i = clients_match(cl, k, n);
		return i >= 0 ? i : DOOR_BAD_KEY;
	}
	int found = DOOR_BAD_KEY;
	for (int i = 0; i < cfg->n_client_keys; i++) {
		int mask = -same_secret(k, n, cfg->client_keys[i], strlen(cfg->client_keys[i]));
		found = (found & ~mask) | (i & mask);
	}
	return found;
}

int door_client_key_ok(const struct config *cfg, const struct http_hdrs *h)
{
	return door_client(cfg, NULL, h) != DOOR_BAD_KEY;
}

static int origin_allowed(const struct config *cfg, const char *o, size_t n)
{
	for (int i = 0; i < cfg->allow_origins.n; i++)
		if (http_name_eq(o, n, cfg->allow_origins.v[i]))
			return 1;
	return 0;
}

/* The proxy's own endpoints, answered by the admin route: matched exactly (the query is already off). */
static int admin_path(const char *p, size_t n)
{
	static const char *const paths[] = {"/healthz", "/readyz", "/usage", "/metrics"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (http_path_is(p, n, paths[i]))
			return 1;
	return 0;
}

static int forwarded_path(const struct config *cfg, const char *p, size_t n)
{
	if (http_path_under(p, n, "/v1/") || http_path_under(p, n, "/api/"))
		return 1;
	for (int i = 0; i < cfg->forward_prefixes.n; i++)
		if (http_path_under(p, n, cfg->forward_prefixes.v[i]))
			return 1;
	return 0;
}

/* What both listeners check: the target, Host (when `local_only`: a loopback listener where being local is the only
 * credential) and Origin. Returns the path (normal form), or NULL with the verdict filled in. */
static const char *head_check(const struct config *cfg, int local_only, const char *target, size_t target_len,
			      const struct http_hdrs *h, struct door_verdict *v, size_t *plen)
{
	size_t pl, al, hl = 0;
	const char *auth, *host = NULL;
	const char *path = http_target_path(target, target_len, &pl, &auth, &al);
	if (!path) {
		refuse(v, 400, "target", "invalid request target: expected a path such as /v1/messages");
		return NULL;
	}
	int hosts = 0;
	for (uint32_t i = 0; i < h->n; i++)
		if (h->v[i].id == HH_HOST) {
			host = http_hdr_value(h, i);
			hl = h->v[i].value_len;
			hosts++;
		}
	if (hosts > 1) { /* RFC 9110 §7.2 */
		refuse(v, 400, "host", "more than one Host header");
		return NULL;
	}
	if (auth) {
		host = auth;
		hl = al;
	}
	/* Without keys on loopback, being local is the only credential: a browser page that reaches this port through
	 * DNS rebinding still names its own host here. A request without Host (HTTP/1.0) is not a browser's. */
	if (local_only && host && !door_host_is_loopback(host, hl)) {
		refuse(v, 403, "host",
		       "anthropic-proxy serves only local clients without client keys: Host '%.*s' is not localhost, "
		       "127.0.0.1 or [::1]",
		       (int)(hl > 80 ? 80 : hl), host);
		return NULL;
	}
	/* Command-line clients send no Origin; a web page's fetch always does. */
	for (uint32_t i = 0; i < h->n; i++) {
		if (!http_name_eq(http_hdr_name(h, i), h->v[i].name_len, "origin"))
			continue;
		const char *o = http_hdr_value(h, i);
		size_t ol = h->v[i].value_len;
		if (!origin_allowed(cfg, o, ol)) {
			refuse(v, 403, "origin",
			       "anthropic-proxy refuses requests from web pages (Origin '%.*s'); allow one with --allow-origin",
			       (int)(ol > 80 ? 80 : ol), o);
			return NULL;
		}
	}
	if (!http_path_normal(path, pl)) {
		refuse(v, 400, "path", "request path is not in normal form (empty, '.' or '..' segments, or encoded "
				       "dots, slashes or backslashes)");
		return NULL;
	}
	*plen = pl;
	return path;
}

void door_check(const struct config *cfg, const struct clients *cl, int method, const char *target, size_t target_len,
		const struct http_hdrs *h, struct door_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->route = DOOR_API;
	v->client = DOOR_NO_CLIENT;
	size_t pl;
	const char *path = head_check(cfg, !keys_set(cfg, cl) && config_is_loopback(cfg->listen_host), target,
				      target_len, h, v, &pl);
	if (!path)
		return;
	if (admin_path(path, pl) && cfg->admin_listen && !http_path_is(path, pl, "/healthz")) {
		/* With an admin listener, what the proxy knows is served there only; liveness stays here for probes. */
		refuse(v, 404, "admin_path", "anthropic-proxy serves this path on its admin listener (--admin-listen) only");
		return;
	}
	if (admin_path(path, pl)) {
		v->route = DOOR_ADMIN;
		if (method != HTTP_GET && method != HTTP_HEAD) {
			v->allow = DOOR_ADMIN_METHODS;
			refuse(v, 405, "method", "only GET and HEAD are allowed here");
		}
		return;
	}
	v->client = door_client(cfg, cl, h);
	if (v->client == DOOR_BAD_KEY) {
		refuse(v, 401, "client_key",
		       "anthropic-proxy: missing or invalid client key; send one of the proxy's client keys in x-api-key or "
		       "Authorization: Bearer");
		return;
	}
	if (!forwarded_path(cfg, path, pl)) {
		refuse(v, 404, "path", "anthropic-proxy forwards only the API's paths (/v1/, /api/); no such path");
		return;
	}
	if (method != HTTP_GET && method != HTTP_HEAD && method != HTTP_POST && method != HTTP_DELETE) {
		v->allow = DOOR_API_METHODS;
		refuse(v, 405, "method", "method not allowed: the proxy forwards " DOOR_API_METHODS);
	}
}

void door_check_admin(const struct config *cfg, int method, const char *target, size_t target_len,
		      const struct http_hdrs *h, struct door_verdict *v)
{
	memset(v, 0, sizeof *v);
	v->route = DOOR_ADMIN;
	v->client = DOOR_NO_CLIENT;
	size_t pl;
	const char *path = head_check(cfg, config_is_loopback(cfg->admin_host), target, target_len, h, v, &pl);
	if (!path)
		return;
	if (!admin_path(path, pl)) {
		refuse(v, 404, "path", "the admin listener serves /healthz, /readyz, /metrics and /usage only");
		return;
	}
	if (method != HTTP_GET && method != HTTP_HEAD) {
		v->allow = DOOR_ADMIN_METHODS;
		refuse(v, 405, "method", "only GET and HEAD are allowed here");
	}
}
