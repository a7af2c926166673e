#include "request.h"

#include <stdio.h>
#include <string.h>

#define CHUNK_EXT_MAX 1024 /* chunk-extension bytes per chunk: nobody needs them, smugglers like them */

static int fail(struct request *r, int status, const char *msg)
{
	r->status = status;
	snprintf(r->error, sizeof r->error, "%s", msg);
	return -1;
}

static int on_message_begin(llhttp_t *p)
{
	struct request *r = p->data;
	http_hdrs_reset(&r->hdrs);
	buf_reset(&r->url);
	buf_reset(&r->body);
	r->content_length = 0;
	r->chunk_ext = 0;
	r->has_length = r->chunked = r->want_continue = 0;
	r->field_seen = 0;
	r->trailer_size = 0;
	r->phase = REQ_HEAD;
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
	struct request *r = p->data;
	/* llhttp lets some control bytes (TAB, FF) and raw non-ASCII into a target; the upstream might split or read them
	 * otherwise than we do, so only visible ASCII passes (RFC 9112 §3.2: anything else is percent-encoded). */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)at[i] <= 0x20 || (unsigned char)at[i] >= 0x7f)
			return fail(r, 400, "invalid character in the request target");
	if (buf_append(&r->url, at, n)) {
		char msg[80];
		snprintf(msg, sizeof msg, "request target longer than %u bytes", r->lim->max_url_length);
		return fail(r, 414, msg);
	}
	return 0;
}

static int trailer_bytes(struct request *r, size_t n)
{
	r->trailer_size += n;
	return r->trailer_size > r->lim->max_header_size ? fail(r, 431, "chunked trailer too large") : 0;
}

static int too_big_head(struct request *r)
{
	char msg[120];
	snprintf(msg, sizeof msg, "request head too large (limit %u bytes, %u header lines)", r->lim->max_header_size,
		 r->lim->max_headers);
	return fail(r, 431, msg);
}

/* RFC 9110 §5.6.2 tchar. llhttp lets white space before the colon through; a name carrying it would be
 * forwarded as a different header than the one checked (a smuggling classic), so names are checked here. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct request *r = p->data;
	if (r->phase == REQ_BODY)
		return trailer_bytes(r, n); /* trailer fields never become headers: they are dropped */
	r->field_seen = 1;
	for (size_t i = 0; i < n; i++)
		if (!tchar((unsigned char)at[i]))
			return fail(r, 400, "invalid character in a header name");
	return http_hdrs_field(&r->hdrs, at, n) ? too_big_head(r) : 0;
}

static int on_header_field_complete(llhttp_t *p)
{
	struct request *r = p->data;
	if (r->phase == REQ_BODY)
		return 0;
	/* ": value" arrives as an empty name; llhttp takes it, a server downstream might glue it to the line before. */
	if (r->hdrs.n == 0 || r->hdrs.v[r->hdrs.n - 1].name_len == 0)
		return fail(r, 400, "header line without a name");
	return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct request *r = p->data;
	if (r->phase == REQ_BODY)
		return trailer_bytes(r, n);
	if (!r->field_seen) /* ": value" — a line with no name; llhttp would glue it to the previous header */
		return fail(r, 400, "header line without a name");
	/* A value piece right after a line break is obs-fold (RFC 9112 §5.2), which llhttp 8 still accepts: refuse it,
	 * since servers disagree on how to unfold it. A value proper always follows the colon. */
	int after_lf = at > r->feed_start ? at[-1] == '\n' : r->feed_prev_lf;
	if (n && after_lf)
		return fail(r, 400, "obsolete header line folding is not accepted");
	return http_hdrs_value(&r->hdrs, at, n) ? too_big_head(r) : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
	struct request *r = p->data;
	if (r->phase == REQ_BODY)
		return 0;
	if (!r->field_seen)
		return fail(r, 400, "header line without a name");
	r->field_seen = 0;
	return http_hdrs_value_done(&r->hdrs) ? too_big_head(r) : 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct request *r = p->data;
	r->method = (uint8_t)p->method;
	r->http10 = p->http_major == 1 && p->http_minor == 0;
	r->keepalive = llhttp_should_keep_alive(p) != 0;
	if (p->http_major != 1)
		return fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
	/* llhttp ends a CONNECT or an Upgrade request at its head and leaves the rest of the stream to the caller: any
	 * body would then be read as the next request. Neither has a place in this API: refuse and close. */
	if (p->method == HTTP_CONNECT)
		return fail(r, 405, "CONNECT is not supported");
	if (p->upgrade || (p->flags & F_CONNECTION_UPGRADE))
		return fail(r, 400, "protocol upgrades are not supported");
	if (r->gate) {
		int status = r->gate(r, r->gate_arg);
		if (status) {
			r->status = status;
			return -1;
		}
	}
	r->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	/* The body is forwarded de-chunked with a Content-Length, so "chunked" must be the only coding: "gzip, chunked"
	 * would turn compressed bytes into a body the upstream reads as plain. */
	for (uint32_t i = 0; i < r->hdrs.n; i++) {
		if (!http_name_eq(http_hdr_name(&r->hdrs, i), r->hdrs.v[i].name_len, "transfer-encoding"))
			continue;
		if (!http_name_eq(http_hdr_value(&r->hdrs, i), r->hdrs.v[i].value_len, "chunked"))
			return fail(r, r->hdrs.v[i].value_len ? 501 : 400, "unsupported transfer coding (only chunked)");
	}
	if (r->has_length) {
		r->content_length = p->content_length;
		if (p->content_length > r->lim->max_body_size) {
			char msg[120];
			snprintf(msg, sizeof msg, "request body of %llu bytes exceeds the limit of %llu bytes",
				 (unsigned long long)p->content_length, (unsigned long long)r->lim->max_body_size);
			return fail(r, 413, msg);
		}
		/* Reserve once instead of growing by doubling (saves copies on large prompts). */
		if (buf_reserve(&r->body, (size_t)p->content_length))
			return fail(r, 503, "out of memory for the request body");
	}
	size_t elen;
	const char *expect = http_hdrs_get(&r->hdrs, "expect", &elen);
	if (expect) {
		if (!http_name_eq(expect, elen, "100-continue"))
			return fail(r, 417, "unsupported Expect header (only 100-continue)");
		r->want_continue = !r->http10 && (r->chunked || (r->has_length && r->content_length > 0));
	}
	r->phase = REQ_BODY;
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
	struct request *r = p->data;
	if (buf_size(&r->body) + n > r->lim->max_body_size) {
		char msg[120];
		snprintf(msg, sizeof msg, "request body exceeds the limit of %llu bytes",
			 (unsigned long long)r->lim->max_body_size);
		return fail(r, 413, msg);
	}
	if (buf_append(&r->body, at, n))
		return fail(r, 503, "out of memory for the request body");
	return 0;
}

static int on_chunk_extension(llhttp_t *p, const char *at, size_t n)
{
	struct request *r = p->data;
	r->chunk_ext += n;
	return r->chunk_ext > CHUNK_EXT_MAX ? fail(r, 400, "chunk extensions too long") : 0;
}

static int on_chunk_header(llhttp_t *p)
{
	((struct request *)p->data)->chunk_ext = 0;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	((struct request *)p->data)->phase = REQ_COMPLETE;
	return HPE_PAUSED; /* one request at a time: the rest waits with the caller */
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_field_complete = on_header_field_complete,
	.on_header_value = on_header_value,
	.on_header_value_complete = on_header_value_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_chunk_extension_name = on_chunk_extension,
	.on_chunk_extension_value = on_chunk_extension,
	.on_chunk_header = on_chunk_header,
	.on_message_complete = on_message_complete,
};

void request_init(struct request *r, const struct request_limits *lim)
{
	memset(r, 0, sizeof *r);
	r->lim = lim;
	r->lf.line_empty = 1;
	llhttp_init(&r->parser, HTTP_REQUEST, &settings);
	r->parser.data = r;
	http_hdrs_init(&r->hdrs, lim->max_header_size, lim->max_headers);
	buf_init(&r->url, lim->max_url_length);
	buf_init(&r->body, (size_t)lim->max_body_size);
}

void request_free(struct request *r)
{
	http_hdrs_free(&r->hdrs);
	buf_free(&r->url);
	buf_free(&r->body);
}

/* llhttp 8 takes a bare LF as a line end in the head; servers that do not would see a different request. Every LF
 * of the head must follow a CR. Scans from the first byte of a message to its blank line, across feeds. */
static int head_line_ends_ok(struct request *r, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !r->lf.done; i++) {
		char c = p[i];
		if (c == '\n') {
			if (!r->lf.cr)
				return 0;
			if (r->lf.line_empty && r->lf.started)
				r->lf.done = 1; /* the blank line: the head ends here */
			r->lf.line_empty = 1;
		} else if (c == '\r') {
			if (r->lf.cr)
				return 0; /* CR CR: the first is bare */
		} else {
			if (r->lf.cr)
				return 0; /* a CR not followed by LF */
			if (r->lf.line_empty && r->lf.started && (c == ' ' || c == '\t'))
				return 0; /* a header line starting with white space: obs-fold, however empty */
			r->lf.line_empty = 0;
			r->lf.started = 1;
		}
		r->lf.cr = c == '\r';
	}
	return 1;
}

enum request_result request_feed(struct request *r, const char *p, size_t n, size_t *used)
{
	llhttp_errno_t was = llhttp_get_errno(&r->parser);
	if (r->status || (was != HPE_OK && was != HPE_PAUSED)) {
		/* Refused already: llhttp would return its old error with a position in an earlier buffer. */
		*used = n;
		return REQ_ERROR;
	}
	if (!head_line_ends_ok(r, p, n)) {
		*used = n;
		fail(r, 400, "malformed HTTP request: a head line does not end with CRLF, or is folded");
		return REQ_ERROR;
	}
	r->feed_start = p;
	llhttp_errno_t e = llhttp_execute(&r->parser, p, n);
	size_t consumed = e == HPE_OK ? n : (size_t)(llhttp_get_error_pos(&r->parser) - p);
	if (consumed) /* llhttp may stop at the very first byte: then there is no byte before */
		r->feed_prev_lf = p[consumed - 1] == '\n';
	if (e == HPE_OK) {
		*used = n;
		return REQ_MORE;
	}
	*used = (size_t)(llhttp_get_error_pos(&r->parser) - p);
	if (e == HPE_PAUSED && r->phase == REQ_COMPLETE)
		return REQ_DONE;
	if (r->status == 0) {
		/* llhttp refused the syntax: malformed lines, bare LF, obs-fold, bad chunk sizes, both Content-Length
		 * and Transfer-Encoding, conflicting lengths, codings other than chunked... never forwarded. */
		int status = e == HPE_INVALID_TRANSFER_ENCODING ? 501 : 400;
		/* RFC 9112 §2.3: 505 only for a version that is well-formed (HTTP/DIGIT.DIGIT, then the line's end) but not
		 * spoken here; "HTTP/1.1x" or "HTTP/1.1 junk" is a malformed request line, a 400. */
		const char *at = llhttp_get_error_pos(&r->parser);
		if (e == HPE_INVALID_VERSION && at < p + n && *at == '\r' &&
		    strcmp(llhttp_get_error_reason(&r->parser), "Invalid HTTP version") == 0)
			status = 505;
		char msg[200];
		snprintf(msg, sizeof msg, "malformed HTTP request: %s", llhttp_get_error_reason(&r->parser));
		fail(r, status, msg);
	}
	return REQ_ERROR;
}

void request_next(struct request *r)
{
	llhttp_resume(&r->parser);
	r->phase = REQ_IDLE;
	memset(&r->lf, 0, sizeof r->lf);
	r->lf.line_empty = 1;
}

void request_release_body(struct request *r) { buf_free(&r->body); }

int request_has_body(const struct request *r)
{
	return r->has_length || r->chunked || buf_size(&r->body) > 0 || r->method == HTTP_POST ||
	       r->method == HTTP_PUT || r->method == HTTP_PATCH;
}
