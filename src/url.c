#include "url.h"

#include <stdio.h>
#include <string.h>

int url_default_port(const char *scheme)
{
	if (strcmp(scheme, "http") == 0)
		return 80;
	if (strcmp(scheme, "https") == 0)
		return 443;
	if (strcmp(scheme, "redis") == 0 || strcmp(scheme, "rediss") == 0)
		return 6379;
	return 0;
}

static int parse_port(const char *s, size_t n, int *port)
{
	if (n == 0 || n > 5)
		return -1;
	int p = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		p = p * 10 + (s[i] - '0');
	}
	if (p > 65535)
		return -1;
	*port = p;
	return 0;
}

/* host[:port] or [v6][:port], n bytes. Returns 0 or -1. */
static int split(const char *s, size_t n, char *host, size_t hostlen, int *port, int need_port)
{
	const char *h = s, *colon = NULL;
	size_t hl;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return -1;
			colon = close + 1;
		}
		if (!hl || !memchr(h, ':', hl))
			return -1; /* brackets are for IPv6 literals */
	} else {
		colon = memchr(s, ':', n);
		if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
			return -1; /* an unbracketed IPv6 literal is ambiguous */
		hl = colon ? (size_t)(colon - s) : n;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	if (colon) {
		if (parse_port(colon + 1, n - (size_t)(colon + 1 - s), port))
			return -1;
	} else if (need_port) {
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	return 0;
}

int url_split_hostport(const char *s, char *host, unsigned long hostlen, int *port)
{
	return split(s, strlen(s), host, hostlen, port, 1);
}

const char *url_parse(const char *s, struct url *u)
{
	memset(u, 0, sizeof *u);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "a URL has no spaces or control characters";
	const char *sep = strstr(s, "://");
	size_t sl = sep ? (size_t)(sep - s) : 0;
	if (!sep || sl == 0 || sl >= sizeof u->scheme)
		return "expected scheme://host";
	for (size_t i = 0; i < sl; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (i && ((ch >= '0' && ch <= '9') ||
									       ch == '+' || ch == '-' || ch == '.'))))
			return "expected scheme://host";
		u->scheme[i] = (char)(ch | 0x20);
	}
	const char *a = sep + 3;
	size_t al = strcspn(a, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < al; i++)
		if (a[i] == '@')
			at = a + i; /* the last '@': a password may hold one only percent-encoded, but be lenient */
	if (at) {
		size_t ul = (size_t)(at - a);
		if (ul >= sizeof u->userinfo)
			return "the user part is too long";
		memcpy(u->userinfo, a, ul);
		al -= ul + 1;
		a = at + 1;
	}
	if (al == 0)
		return "the URL names no host";
	u->port = -1;
	if (split(a, al, u->host, sizeof u->host, &u->port, 0))
		return "the host or port is malformed";
	u->explicit_port = u->port >= 0;
	int def = url_default_port(u->scheme);
	if (!u->explicit_port)
		u->port = def;
	if (strlen(a + al) >= sizeof u->path)
		return "the path is too long";
	snprintf(u->path, sizeof u->path, "%s", a + al);
	int v6 = strchr(u->host, ':') != NULL;
	if (u->port == def)
		snprintf(u->authority, sizeof u->authority, v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(u->authority, sizeof u->authority, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
	return NULL;
}
