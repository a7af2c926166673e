#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_hdrs_init(struct http_hdrs *h, size_t max_bytes, uint32_t max_count)
{
	memset(h, 0, sizeof *h);
	buf_init(&h->raw, max_bytes);
	h->max = max_count;
}

void http_hdrs_free(struct http_hdrs *h)
{
	buf_free(&h->raw);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

void http_hdrs_reset(struct http_hdrs *h)
{
	buf_reset(&h->raw);
	h->n = 0;
	h->in_value = 0;
	h->has_connection = 0;
}

int http_hdrs_field(struct http_hdrs *h, const char *p, size_t n)
{
	if (h->n == 0 || h->in_value) {
		/* A new header starts. */
		if (h->n == h->max)
			return -1;
		if (h->n == h->cap) {
			uint32_t cap = h->cap ? h->cap * 2 : 32;
			struct http_hdr *v = realloc(h->v, cap * sizeof *v);
			if (!v)
				return -1;
			h->v = v;
			h->cap = cap;
		}
		h->v[h->n] = (struct http_hdr){.name = (uint32_t)buf_size(&h->raw)};
		h->n++;
		h->in_value = 0;
	}
	if (buf_append(&h->raw, p, n))
		return -1;
	struct http_hdr *e = &h->v[h->n - 1];
	e->name_len += (uint32_t)n;
	e->value = (uint32_t)buf_size(&h->raw);
	return 0;
}

int http_hdrs_value(struct http_hdrs *h, const char *p, size_t n)
{
	if (h->n == 0)
		return -1;
	h->in_value = 1;
	if (buf_append(&h->raw, p, n))
		return -1;
	h->v[h->n - 1].value_len += (uint32_t)n;
	return 0;
}

int http_hdrs_value_done(struct http_hdrs *h)
{
	if (h->n == 0)
		return -1;
	h->in_value = 1;
	struct http_hdr *e = &h->v[h->n - 1];
	const char *v = h->raw.data ? h->raw.data + e->value : "";
	while (e->value_len && (v[e->value_len - 1] == ' ' || v[e->value_len - 1] == '\t'))
		e->value_len--;
	e->id = h->raw.data ? (uint32_t)http_hdr_id(h->raw.data + e->name, e->name_len) : HH_OTHER;
	/* "keep-alive" names nothing but a field that is hop-by-hop anyway (as in hop() below). */
	h->has_connection |= e->id == HH_CONNECTION && !(e->value_len == 10 && strncasecmp(v, "keep-alive", 10) == 0);
	/* NUL-terminate in place so values can be used as C strings; the next name overwrites nothing we need. */
	if (buf_append(&h->raw, "", 1))
		return -1;
	return 0;
}

#define RATELIMIT_PREFIX "anthropic-ratelimit-unified-"

enum http_hdr_id http_hdr_id(const char *p, size_t n)
{
#define IS(s, id)                                                                                                      \
	if (strncasecmp(p, s, n) == 0)                                                                                 \
		return id;
	switch (n) {
	case 2: IS("te", HH_TE) break;
	case 4: IS("host", HH_HOST) break;
	case 6: IS("expect", HH_EXPECT) break;
	case 7: IS("trailer", HH_TRAILER) IS("upgrade", HH_UPGRADE) break;
	case 9: IS("x-api-key", HH_X_API_KEY) break;
	case 10: IS("connection", HH_CONNECTION) IS("keep-alive", HH_KEEP_ALIVE) IS("request-id", HH_REQUEST_ID) break;
	case 11: IS("retry-after", HH_RETRY_AFTER) break;
	case 12: IS("content-type", HH_CONTENT_TYPE) break;
	case 13: IS("authorization", HH_AUTHORIZATION) break;
	case 14: IS("content-length", HH_CONTENT_LENGTH) IS("anthropic-beta", HH_ANTHROPIC_BETA) break;
	case 15: IS("accept-encoding", HH_ACCEPT_ENCODING) break;
	case 16: IS("proxy-connection", HH_PROXY_CONNECTION) IS("content-encoding", HH_CONTENT_ENCODING) break;
	case 17: IS("transfer-encoding", HH_TRANSFER_ENCODING) IS("anthropic-version", HH_ANTHROPIC_VERSION) break;
	case 18: IS("proxy-authenticate", HH_PROXY_AUTHENTICATE) break;
	case 19: IS("proxy-authorization", HH_PROXY_AUTHORIZATION) break;
	case 24: IS("x-claude-code-session-id", HH_SESSION_ID) break;
	}
#undef IS
	if (n > sizeof RATELIMIT_PREFIX - 1 && strncasecmp(p, RATELIMIT_PREFIX, sizeof RATELIMIT_PREFIX - 1) == 0)
		return HH_RATELIMIT;
	return HH_OTHER;
}

const char *http_hdrs_find(const struct http_hdrs *h, enum http_hdr_id id, size_t *len)
{
	for (uint32_t i = h->n; i-- > 0;)
		if (h->v[i].id == (uint32_t)id) {
			if (len)
				*len = h->v[i].value_len;
			return http_hdr_value(h, i);
		}
	return NULL;
}

const char *http_hdrs_get(const struct http_hdrs *h, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	enum http_hdr_id id = http_hdr_id(name, nl);
	if (id != HH_OTHER && id != HH_RATELIMIT)
		return http_hdrs_find(h, id, len);
	for (uint32_t i = h->n; i-- > 0;)
		if (h->v[i].name_len == nl && strncasecmp(http_hdr_name(h, i), name, nl) == 0) {
			if (len)
				*len = h->v[i].value_len;
			return http_hdr_value(h, i);
		}
	return NULL;
}

static int list_has(const char *list, size_t n, const char *token, size_t tl, int ci)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
			i++;
		size_t start = i;
		while (i < n && list[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t'))
			end--;
		if (end - start == tl && (ci ? strncasecmp(list + start, token, tl) : strncmp(list + start, token, tl)) == 0)
			return 1;
	}
	return 0;
}

int http_list_has(const char *list, size_t n, const char *token) { return list_has(list, n, token, strlen(token), 1); }

int http_list_has_exact(const char *list, size_t n, const char *token)
{
	return list_has(list, n, token, strlen(token), 0);
}

static int hop(enum http_hdr_id id, const char *name, size_t n, const char *connection, size_t connection_len)
{
	if (id != HH_OTHER && id <= HH_HOP_LAST)
		return 1;
	if (!connection || !connection_len || !n)
		return 0;
	if (connection_len == 10 && strncasecmp(connection, "keep-alive", 10) == 0)
		return 0; /* the usual value names only a header that is hop-by-hop anyway */
	return list_has(connection, connection_len, name, n, 1);
}

long long http_retry_after_s(const char *v, size_t n, long long max)
{
	char tmp[24], *end;
	snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp - 1 ? n : sizeof tmp - 1), v);
	long long s = strtoll(tmp, &end, 10);
	if (end == tmp || *end || s < 0)
		return -1;
	return s < max ? s : max;
}

int http_is_hop_by_hop(const char *name, size_t n, const char *connection, size_t connection_len)
{
	return hop(http_hdr_id(name, n), name, n, connection, connection_len);
}

int http_hdr_is_hop(const struct http_hdrs *h, uint32_t i)
{
	enum http_hdr_id id = (enum http_hdr_id)h->v[i].id;
	if (id != HH_OTHER && id <= HH_HOP_LAST)
		return 1;
	if (!h->has_connection)
		return 0;
	/* RFC 9110 §7.6.1: every Connection field line counts, each a comma list, names compared case-insensitively. */
	for (uint32_t k = 0; k < h->n; k++)
		if (h->v[k].id == HH_CONNECTION &&
		    hop(id, http_hdr_name(h, i), h->v[i].name_len, http_hdr_value(h, k), h->v[k].value_len))
			return 1;
	return 0;
}

const char *http_error_type(int status)
{
	switch (status) {
	case 400: return "invalid_request_error";
	case 401: return "authentication_error";
	case 402: return "billing_error";
	case 403: return "permission_error";
	case 404: return "not_found_error";
	case 413: return "request_too_large";
	case 429: return "rate_limit_error";
	case 529: return "overloaded_error";
	default: return status < 500 ? "invalid_request_error" : "api_error";
	}
}

const char *http_reason(int status)
{
	/* Every status RFC 9110 §15 defines, 429 and 431 (RFC 6585), and the API's 529; the rest get their class's name
	 * (§15: a client reads the class of a status it does not know). */
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 305: return "Use Proxy";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 529: return "Overloaded";
	}
	static const char *const classes[] = {"Informational", "Success", "Redirection", "Client Error", "Server Error"};
	return status >= 100 && status <= 599 ? classes[status / 100 - 1] : "Status";
}

int http_json_escape(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			r = buf_append(out, e, 2);
		} else if (c < 0x20) {
			r = buf_printf(out, "\\u%04x", c);
		} else {
			r = buf_append(out, &s[i], 1);
		}
		if (r)
			return -1;
	}
	return 0;
}

int http_error_json(struct buf *out, int status, const char *message, const char *request_id)
{
	if (buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"", http_error_type(status)))
		return -1;
	if (http_json_escape(out, message, strlen(message)))
		return -1;
	if (!request_id || !*request_id)
		return buf_appends(out, "\"}}");
	if (buf_appends(out, "\"},\"request_id\":\"") || http_json_escape(out, request_id, strlen(request_id)))
		return -1;
	return buf_appends(out, "\"}");
}

const char *http_target_path(const char *t, size_t n, size_t *path_len, const char **authority,
			     size_t *authority_len)
{
	const char *path = NULL, *end = t + n;
	*authority = NULL;
	*authority_len = 0;
	if (n && t[0] == '/') {
		path = t;
	} else {
		/* Absolute-form (RFC 9112 §3.2.2): its authority stands in for Host. */
		size_t scheme = n >= 7 && strncasecmp(t, "http://", 7) == 0	? 7
				: n >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
									     : 0;
		if (!scheme)
			return NULL;
		const char *a = t + scheme, *p = a;
		while (p < end && *p != '/' && *p != '?')
			p++;
		*authority = a;
		*authority_len = (size_t)(p - a);
		if (p == end || *p != '/') {
			*path_len = 1;
			return "/";
		}
		path = p;
	}
	const char *q = memchr(path, '?', (size_t)(end - path));
	*path_len = (size_t)((q ? q : end) - path);
	return path;
}

int http_path_normal(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\')
			return 0;
		if (p[i] == '%' && i + 2 < n) {
			char a = p[i + 1], b = (char)(p[i + 2] | 0x20);
			if ((a == '2' && (b == 'e' || b == 'f')) || (a == '5' && b == 'c'))
				return 0;
		}
		if (p[i] != '/')
			continue;
		/* A segment starts after this slash: it may be empty only at the very end ("/v1/"). */
		size_t s = i + 1, e = s;
		while (e < n && p[e] != '/')
			e++;
		size_t len = e - s;
		if ((len == 0 && e < n) || (len == 1 && p[s] == '.') || (len == 2 && p[s] == '.' && p[s + 1] == '.'))
			return 0;
	}
	return 1;
}
