/* http: HTTP/1.1 pieces shared by the client and upstream sides: a header list filled from llhttp's
 * callbacks, hop-by-hop rules, and the API's error body.
 *
 * A header list owns one bounded byte buffer holding every name and value and an array of offsets into it;
 * both are kept across messages (http_hdrs_reset) so a keep-alive connection allocates once. Pure: no I/O. */
#ifndef AP_HTTP_H
#define AP_HTTP_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#include <string.h>
#include <strings.h>

/* Header names the proxy acts on, recognised once, when a header is complete, so that later look-ups compare a
 * number instead of a name. The hop-by-hop ones (RFC 9110 §7.6.1) come first. */
enum http_hdr_id {
	HH_OTHER,
	HH_CONNECTION,
	HH_KEEP_ALIVE,
	HH_PROXY_CONNECTION,
	HH_PROXY_AUTHENTICATE,
	HH_PROXY_AUTHORIZATION,
	HH_TE,
	HH_TRAILER,
	HH_TRANSFER_ENCODING,
	HH_UPGRADE,
	HH_HOP_LAST = HH_UPGRADE,
	HH_HOST,
	HH_AUTHORIZATION,
	HH_X_API_KEY,
	HH_CONTENT_LENGTH,
	HH_CONTENT_TYPE,
	HH_CONTENT_ENCODING,
	HH_EXPECT,
	HH_ACCEPT_ENCODING,
	HH_ANTHROPIC_BETA,
	HH_ANTHROPIC_VERSION,
	HH_REQUEST_ID,
	HH_RETRY_AFTER,
	HH_SESSION_ID, /* x-claude-code-session-id */
	HH_RATELIMIT, /* anthropic-ratelimit-unified-* */
};

struct http_hdr {
	uint32_t name;      /* offset of the name in raw */
	uint32_t name_len;  /* length of the name */
	uint32_t value;     /* offset of the value in raw */
	uint32_t value_len; /* length of the value, trailing white space trimmed */
	uint32_t id;        /* enum http_hdr_id of the name */
};

struct http_hdrs {
	struct buf raw;       /* names and values, back to back */
	struct http_hdr *v;   /* entries in arrival order */
	uint32_t n;           /* entries used */
	uint32_t cap;         /* entries allocated */
	uint32_t max;         /* most entries accepted */
	int in_value;         /* the last callback was a value: the next field starts a new entry */
	int has_connection;   /* a Connection field line naming more than keep-alive is among them (it may name further
			       * hop-by-hop fields) */
};

void http_hdrs_init(struct http_hdrs *h, size_t max_bytes, uint32_t max_count);
void http_hdrs_free(struct http_hdrs *h);
void http_hdrs_reset(struct http_hdrs *h);
/* llhttp glue: feed the pieces of names and values as they arrive. Return 0, or -1 over a limit. */
int http_hdrs_field(struct http_hdrs *h, const char *p, size_t n);
int http_hdrs_value(struct http_hdrs *h, const char *p, size_t n);
int http_hdrs_value_done(struct http_hdrs *h);

static inline const char *http_hdr_name(const struct http_hdrs *h, uint32_t i) { return h->raw.data + h->v[i].name; }
static inline const char *http_hdr_value(const struct http_hdrs *h, uint32_t i)
{
	return h->raw.data + h->v[i].value;
}
/* The last value of a header (case-insensitive name), or NULL. */
const char *http_hdrs_get(const struct http_hdrs *h, const char *name, size_t *len);
/* The same by id (not HH_OTHER or HH_RATELIMIT, which name many headers). */
const char *http_hdrs_find(const struct http_hdrs *h, enum http_hdr_id id, size_t *len);
/* The id of a header name (HH_OTHER for names the proxy does not act on). */
enum http_hdr_id http_hdr_id(const char *name, size_t n);

/* Case-insensitive comparison of a counted string with a C string (inline: a literal's length is folded). */
static inline int http_name_eq(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}
/* Whether a comma-separated list (e.g. Connection, anthropic-beta) contains a token, case-insensitively. */
int http_list_has(const char *list, size_t n, const char *token);
/* The same, case-sensitively (for values that are case-sensitive, such as beta names). */
int http_list_has_exact(const char *list, size_t n, const char *token);
/* Hop-by-hop headers (RFC 9110 §7.6.1) and any header named in `connection` (a Connection value, may be NULL). */
int http_is_hop_by_hop(const char *name, size_t n, const char *connection, size_t connection_len);
/* The same for entry i of a list, against every Connection header of the list. */
int http_hdr_is_hop(const struct http_hdrs *h, uint32_t i);

/* A retry-after value in seconds, at most `max`; -1 when it is not a plain number (an HTTP date, junk). */
long long http_retry_after_s(const char *v, size_t n, long long max);

/* The error type the API uses for a status. */
const char *http_error_type(int status);
/* Reason phrase for a status (e.g. "Bad Gateway"). */
const char *http_reason(int status);
/* Appends {"type":"error","error":{"type":...,"message":...},"request_id":...} with the message JSON-escaped, as
 * the API shapes its errors; request_id (a plain token) is left out when NULL or empty. */
int http_error_json(struct buf *out, int status, const char *message, const char *request_id);
/* Appends s JSON-escaped (without quotes). */
int http_json_escape(struct buf *out, const char *s, size_t n);

/* The path of a request target: origin-form as is, absolute-form after its authority ("/" when it has none); the
 * query is left off. *authority is set for absolute-form (else NULL). Returns the path, or NULL for other forms. */
const char *http_target_path(const char *target, size_t n, size_t *path_len, const char **authority,
			     size_t *authority_len);

/* Whether a path (no query) is in normal form: starts with '/', no empty, "." or ".." segments, no percent-encoded
 * dot, slash or backslash and no backslash (ways to make one path read as another further along). */
int http_path_normal(const char *path, size_t n);

/* Request targets (origin-form): the path is what stands before '?'. Matching is exact and byte-wise: the proxy
 * forwards targets as they are, so it must not match them more loosely than the upstream would. */
static inline size_t http_path_len(const char *target, size_t len)
{
	const char *q = memchr(target, '?', len);
	return q ? (size_t)(q - target) : len;
}
/* The target's path is `path`. */
static inline int http_path_is(const char *target, size_t len, const char *path)
{
	size_t n = http_path_len(target, len);
	return n == strlen(path) && memcmp(target, path, n) == 0;
}
/* The target's path starts with `prefix` (e.g. "/v1/models/"). */
static inline int http_path_under(const char *target, size_t len, const char *prefix)
{
	size_t n = http_path_len(target, len), p = strlen(prefix);
	return n >= p && memcmp(target, prefix, p) == 0;
}

#endif
