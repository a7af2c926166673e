#include "request.h"
#include "unit.h"

#include <stdlib.h>

static const struct request_limits lim = {.max_header_size = 4096, .max_headers = 20, .max_url_length = 256,
					  .max_body_size = 1000};

/* Feeds a whole input; returns the result for the first request and the bytes it used. */
static enum request_result feed_all(struct request *r, const char *in, size_t *used_total)
{
	size_t used;
	enum request_result rr = request_feed(r, in, strlen(in), &used);
	*used_total = used;
	return rr;
}

static int status_of(const char *in)
{
	struct request r;
	request_init(&r, &lim);
	size_t used;
	enum request_result rr = feed_all(&r, in, &used);
	int st = rr == REQ_ERROR ? r.status : rr == REQ_DONE ? 200 : 0;
	request_free(&r);
	return st;
}

TEST(test_request_pipelined_split_at_every_byte)
{
	const char *in = "POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello"
			 "POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
	size_t n = strlen(in);
	for (size_t cut = 0; cut <= n; cut++) {
		struct request r;
		request_init(&r, &lim);
		const char *parts[2] = {in, in + cut};
		size_t lens[2] = {cut, n - cut};
		char pending[512];
		size_t have = 0;
		int done = 0;
		for (int k = 0; k < 2; k++) {
			memcpy(pending + have, parts[k], lens[k]);
			have += lens[k];
			while (have) {
				size_t used;
				enum request_result rr = request_feed(&r, pending, have, &used);
				memmove(pending, pending + used, have - used);
				have -= used;
				if (rr == REQ_ERROR)
					FAIL_AT("cut %zu: error %d %s", cut, r.status, r.error);
				if (rr == REQ_MORE)
					break;
				done++;
				buf_append(&r.body, "", 1);
				if (done == 1) {
					CHECK_STR(buf_ptr(&r.body), "hello");
					CHECK_INT(r.has_length, 1);
				} else {
					CHECK_STR(buf_ptr(&r.body), "abcde");
					CHECK_INT(r.chunked, 1);
				}
				request_next(&r);
			}
		}
		if (done != 2)
			FAIL_AT("cut %zu: %d requests parsed", cut, done);
		request_free(&r);
	}
}

TEST(test_request_limits_answered_with_fitting_status)
{
	char big[2048];
	snprintf(big, sizeof big, "GET /%0300d HTTP/1.1\r\nHost: x\r\n\r\n", 7);
	CHECK_INT(status_of(big), 414);
	snprintf(big, sizeof big, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
	CHECK_INT(status_of(big), 413); /* at the head: the body never has to arrive */
	char many[4096] = "GET / HTTP/1.1\r\n";
	for (int i = 0; i < 25; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "X-%d: v\r\n", i);
	strcat(many, "\r\n");
	CHECK_INT(status_of(many), 431);
	char ext[3000];
	snprintf(ext, sizeof ext, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;e=%02000d\r\n", 1);
	CHECK_INT(status_of(ext), 400);
	CHECK_INT(status_of("POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n"), 417);
}

TEST(test_request_smuggling_shapes_rejected)
{
	/* Each of these is refused, never handed on. */
	const char *bad[] = {
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n",
		"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\x00y\r\n\r\n",
		"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: evil\r\n\r\n",
		"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a\x0cb HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\n",
		"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n",
		"\r\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct request r;
		request_init(&r, &lim);
		size_t used;
		enum request_result rr = request_feed(&r, bad[i], i == 7 ? 31 : strlen(bad[i]), &used);
		if (rr != REQ_ERROR)
			FAIL_AT("case %zu accepted: %s", i, bad[i]);
		CHECK(r.status >= 400);
		request_free(&r);
	}
	CHECK_INT(status_of("GET / HTTP/9.9\r\nHost: x\r\n\r\n"), 505);
	CHECK_INT(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
	/* CONNECT and upgrades end at the head in llhttp: their body would become the next request. */
	CHECK_INT(status_of("CONNECT a:443 HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nGET /x HTTP/1.1\r\n\r\n"), 405);
	CHECK_INT(status_of("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"), 400);
}

TEST(test_request_bare_lf_rejected)
{
	/* obs-fold split exactly at the line break must be caught too. */
	struct request r;
	request_init(&r, &lim);
	size_t used;
	const char *a = "GET / HTTP/1.1\r\nHost: x\r\nX-F: a\r\n", *b = " b\r\n\r\n";
	CHECK_INT(request_feed(&r, a, strlen(a), &used), REQ_MORE);
	CHECK_INT(request_feed(&r, b, strlen(b), &used), REQ_ERROR);
	CHECK_INT(r.status, 400);
	request_free(&r);
	CHECK(status_of("GET / HTTP/1.1\nHost: x\n\n") >= 400);
	CHECK(status_of("GET / HTTP/1.1\r\nHost: x\n\r\n") >= 400);
}

TEST(test_request_refused_stays_refused)
{
	/* Bytes fed after a refusal (they can arrive while the error answer waits behind queued ones) are taken whole
	 * and refused again: never parsed as a new request, never measured against the earlier buffer. */
	const char *first[] = {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\nHost: x\r\n\r\n"};
	const char *next = "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	for (size_t i = 0; i < 2; i++) {
		struct request r;
		request_init(&r, &lim);
		size_t used;
		CHECK_INT(request_feed(&r, first[i], strlen(first[i]), &used), REQ_ERROR);
		int status = r.status;
		char *later = strdup(next); /* a buffer of its own, as a later read would be */
		used = 12345;
		CHECK_INT(request_feed(&r, later, strlen(later), &used), REQ_ERROR);
		CHECK_INT(used, strlen(later));
		CHECK_INT(r.status, status);
		free(later);
		request_free(&r);
	}
}

TEST(test_request_trailers_are_dropped)
{
	struct request r;
	request_init(&r, &lim);
	size_t used;
	const char *in = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n"
			 "X-Trailer-Smuggled: 1\r\n\r\n";
	CHECK_INT(request_feed(&r, in, strlen(in), &used), REQ_DONE);
	CHECK(http_hdrs_get(&r.hdrs, "x-trailer-smuggled", NULL) == NULL);
	CHECK_INT(r.hdrs.n, 2);
	request_free(&r);
}

TEST(test_request_http10_and_keepalive)
{
	struct request r;
	request_init(&r, &lim);
	size_t used;
	CHECK_INT(feed_all(&r, "GET /healthz HTTP/1.0\r\n\r\n", &used), REQ_DONE);
	CHECK_INT(r.http10, 1);
	CHECK_INT(r.keepalive, 0);
	request_free(&r);
	request_init(&r, &lim);
	CHECK_INT(feed_all(&r, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &used), REQ_DONE);
	CHECK_INT(r.keepalive, 1);
	request_next(&r);
	CHECK_INT(feed_all(&r, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", &used),
		  REQ_MORE);
	CHECK_INT(r.want_continue, 1);
	request_free(&r);
}
