/* url: the one parser for the absolute URLs the proxy is given: the upstream origin, token endpoints, the OTLP
 * endpoint, --check, and what later needs one (webhooks, Redis).
 *
 * Accepted: `scheme://[userinfo@]host[:port][path]` where host is a name, an IPv4 address or a bracketed IPv6
 * address. The scheme is matched case-insensitively and stored lower-case; a missing port takes the scheme's
 * default. Nothing is percent-decoded. A URL with whitespace or control bytes anywhere is refused: it would end up
 * in a request line or a Host header. Pure: no allocation, no I/O. */
#ifndef AP_URL_H
#define AP_URL_H

struct url {
	char scheme[8];       /* lower-case: "http", "https", "redis", ... */
	char userinfo[256];   /* what stands before '@' ("" when absent); may hold a password: never log it */
	char host[256];       /* host without brackets: what to dial and what a certificate must name */
	int port;             /* explicit, else the scheme's default (0 when the scheme has none) */
	int explicit_port;    /* the URL spelled the port out */
	char authority[300];  /* host (bracketed when IPv6) plus ":port" unless it is the scheme's default: for Host */
	char path[1024];      /* from the first '/', '?' or '#' on, as written ("" when the URL ends at the authority) */
};

/* The scheme's default port: 80 (http), 443 (https), 6379 (redis, rediss), else 0. */
int url_default_port(const char *scheme);
/* Parses `s` into `u`. Returns NULL, or a static sentence saying what is wrong (for the user's error message). */
const char *url_parse(const char *s, struct url *u);
/* Splits "host:port" or "[v6]:port" (a listen address). Returns 0, or -1 when malformed or out of range. */
int url_split_hostport(const char *s, char *host, unsigned long hostlen, int *port);

#endif
