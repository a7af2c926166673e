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
	/* NUL-terminate in place so values can be used as C strings; the next name overwrites nothing we need. */
	if (buf_append(&h->raw, "", 1))
		return -1;
	return 0;
}

int http_name_eq(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

const char *http_hdrs_get(const struct http_hdrs *h, const char *name, size_t *len)
{
	for (uint32_t i = h->n; i-- > 0;)
		if (http_name_eq(http_hdr_name(h, i), h->v[i].name_len, name)) {
			if (len)
				*len = h->v[i].value_len;
			return http_hdr_value(h, i);
		}
	return NULL;
}

static int list_has(const char *list, size_t n, const char *token, int ci)
{
	size_t tl = strlen(token);
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

int http_list_has(const char *list, size_t n, const char *token) { return list_has(list, n, token, 1); }

int http_list_has_exact(const char *list, size_t n, const char *token) { return list_has(list, n, token, 0); }

int http_is_hop_by_hop(const char *name, size_t n, const char *connection, size_t connection_len)
{
	static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
					  "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"};
	for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
		if (http_name_eq(name, n, hop[i]))
			return 1;
	if (connection && connection_len) {
		char tok[64];
		if (n < sizeof tok) {
			memcpy(tok, name, n);
			tok[n] = 0;
			return http_list_has(connection, connection_len, tok);
		}
	}
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
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
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

int http_error_json(struct buf *out, int status, const char *message)
{
	if (buf_printf(out, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"", http_error_type(status)))
		return -1;
	if (http_json_escape(out, message, strlen(message)))
		return -1;
	return buf_appends(out, "\"}}");
}
