#include "http.h"
#include "proxy.h"
#include "unit.h"

#include <stdlib.h>

/* Feeds headers the way llhttp may: names and values split into pieces. */
static void add(struct http_hdrs *h, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	http_hdrs_field(h, name, nl / 2);
	http_hdrs_field(h, name + nl / 2, nl - nl / 2);
	if (vl) {
		http_hdrs_value(h, value, 1);
		http_hdrs_value(h, value + 1, vl - 1);
	}
	http_hdrs_value_done(h);
}

TEST(test_http_hdrs_split_and_lookup)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 8);
	add(&h, "Content-Type", "application/json");
	add(&h, "X-Empty", "");
	add(&h, "anthropic-beta", "a, b  ");
	add(&h, "Anthropic-Beta", "c");
	CHECK_INT(h.n, 4);
	size_t n;
	CHECK_STR(http_hdrs_get(&h, "content-type", &n), "application/json");
	CHECK_STR(http_hdrs_get(&h, "x-empty", &n), "");
	CHECK_STR(http_hdrs_get(&h, "ANTHROPIC-BETA", &n), "c"); /* last wins */
	CHECK_INT(h.v[2].value_len, 4);                          /* trailing white space trimmed */
	CHECK(http_hdrs_get(&h, "missing", &n) == NULL);
	http_hdrs_reset(&h);
	CHECK_INT(h.n, 0);
	http_hdrs_free(&h);
}

TEST(test_http_hdrs_limits)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 64, 2);
	CHECK_INT(http_hdrs_field(&h, "a", 1), 0);
	CHECK_INT(http_hdrs_value_done(&h), 0);
	CHECK_INT(http_hdrs_field(&h, "b", 1), 0);
	CHECK_INT(http_hdrs_value_done(&h), 0);
	CHECK_INT(http_hdrs_field(&h, "c", 1), -1); /* count */
	http_hdrs_reset(&h);
	char big[100];
	memset(big, 'x', sizeof big);
	CHECK_INT(http_hdrs_field(&h, "a", 1), 0);
	CHECK_INT(http_hdrs_value(&h, big, sizeof big), -1); /* bytes */
	http_hdrs_free(&h);
}

TEST(test_http_lists_and_hop_by_hop)
{
	CHECK(http_list_has("a, oauth-2025-04-20 ,b", 22, "oauth-2025-04-20"));
	CHECK(!http_list_has("oauth-2025-04-200", 17, "oauth-2025-04-20"));
	CHECK(!http_list_has_exact("a, oautH-2025-04-20", 19, "oauth-2025-04-20")); /* beta names are case-sensitive */
	CHECK(http_list_has_exact("a, oauth-2025-04-20", 19, "oauth-2025-04-20"));
	CHECK(http_list_has("Keep-Alive, X-Foo", 17, "x-foo"));
	CHECK(http_is_hop_by_hop("Transfer-Encoding", 17, NULL, 0));
	CHECK(http_is_hop_by_hop("proxy-connection", 16, NULL, 0));
	CHECK(http_is_hop_by_hop("x-foo", 5, "close, x-foo", 12));
	CHECK(!http_is_hop_by_hop("x-foo", 5, "close", 5));
	CHECK(!http_is_hop_by_hop("anthropic-version", 17, NULL, 0));
}

TEST(test_http_error_json_shape)
{
	struct buf b;
	buf_init(&b, 0);
	CHECK_INT(http_error_json(&b, 413, "too \"big\"\n", NULL), 0);
	buf_append(&b, "", 1);
	CHECK_STR(buf_ptr(&b), "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":\"too "
			       "\\\"big\\\"\\u000a\"}}");
	buf_reset(&b);
	CHECK_INT(http_error_json(&b, 429, "slow down", "req_00112233aabbccdd"), 0);
	buf_append(&b, "", 1);
	CHECK_STR(buf_ptr(&b), "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow "
			       "down\"},\"request_id\":\"req_00112233aabbccdd\"}");
	CHECK_STR(http_error_type(502), "api_error");
	CHECK_STR(http_error_type(529), "overloaded_error");
	CHECK_STR(http_error_type(401), "authentication_error");
	buf_free(&b);
}

static char *rewrite(struct http_hdrs *h, const char *url, int has_body, unsigned long long len)
{
	struct buf out;
	buf_init(&out, 0);
	if (proxy_rewrite_head(&out, "POST", url, strlen(url), h, "api.example:8443", "sk-ant-oat01-T", has_body, len))
		return NULL;
	buf_append(&out, "", 1);
	return buf_ptr(&out);
}

TEST(test_rewrite_swaps_credentials_and_merges_beta)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 32);
	add(&h, "Host", "127.0.0.1:8080");
	add(&h, "X-Api-Key", "client-key");
	add(&h, "Authorization", "Bearer client-token");
	add(&h, "anthropic-version", "2023-06-01");
	add(&h, "anthropic-beta", "tools-2024-04-04");
	add(&h, "anthropic-beta", "prompt-caching-2024-07-31,fine-grained-tool-streaming-2025-05-14");
	add(&h, "Connection", "keep-alive, x-hop");
	add(&h, "X-Hop", "1");
	add(&h, "Keep-Alive", "timeout=5");
	add(&h, "Transfer-Encoding", "chunked");
	add(&h, "Expect", "100-continue");
	add(&h, "Content-Length", "99");
	add(&h, "User-Agent", "claude-cli/2.1.0");
	char *out = rewrite(&h, "/v1/messages?beta=true", 1, 42);
	CHECK(out != NULL);
	CHECK_STR(out, "POST /v1/messages?beta=true HTTP/1.1\r\n"
		       "host: api.example:8443\r\n"
		       "anthropic-version: 2023-06-01\r\n"
		       "User-Agent: claude-cli/2.1.0\r\n"
		       "anthropic-beta: tools-2024-04-04,prompt-caching-2024-07-31,fine-grained-tool-streaming-2025-05-14,"
		       "oauth-2025-04-20\r\n"
		       "authorization: Bearer sk-ant-oat01-T\r\n"
		       "content-length: 42\r\n\r\n");
	free(out);
	http_hdrs_free(&h);
}

TEST(test_rewrite_keeps_existing_oauth_beta_and_adds_missing)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 32);
	add(&h, "anthropic-beta", "oauth-2025-04-20, x");
	char *out = rewrite(&h, "/v1/models", 0, 0);
	CHECK_CONTAINS(out, "anthropic-beta: oauth-2025-04-20, x\r\n");
	CHECK_CONTAINS(out, "anthropic-version: 2023-06-01\r\n"); /* added when absent */
	CHECK(strstr(out, "content-length") == NULL);
	free(out);
	http_hdrs_reset(&h);
	out = rewrite(&h, "http://anything.example/v1/messages/count_tokens", 1, 0);
	CHECK_CONTAINS(out, "POST /v1/messages/count_tokens HTTP/1.1\r\n");
	CHECK_CONTAINS(out, "anthropic-beta: oauth-2025-04-20\r\n");
	CHECK_CONTAINS(out, "content-length: 0\r\n");
	free(out);
	http_hdrs_free(&h);
}

TEST(test_rewrite_narrows_accept_encoding)
{
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 32);
	add(&h, "Accept-Encoding", "gzip, deflate, br, zstd");
	char *out = rewrite(&h, "/v1/messages", 1, 2);
	CHECK_CONTAINS(out, "accept-encoding: gzip, deflate\r\n");
	free(out);
	http_hdrs_reset(&h);
	add(&h, "Accept-Encoding", "br;q=1.0, zstd");
	out = rewrite(&h, "/v1/messages", 1, 2);
	CHECK(strstr(out, "ccept-encoding") == NULL);
	free(out);
	http_hdrs_free(&h);
}

TEST(test_http_reasons_and_connection_lists)
{
	CHECK_STR(http_reason(429), "Too Many Requests");
	CHECK_STR(http_reason(529), "Overloaded");
	CHECK_STR(http_reason(422), "Unprocessable Content");
	CHECK_STR(http_reason(299), "Success");
	CHECK_STR(http_reason(451), "Client Error");
	CHECK_STR(http_reason(599), "Server Error");
	struct http_hdrs h;
	http_hdrs_init(&h, 4096, 16);
	const char *pairs[][2] = {{"Connection", "keep-alive"}, {"CONNECTION", "X-A, x-b"}, {"x-a", "1"}, {"X-B", "2"},
				  {"x-c", "3"}};
	for (int i = 0; i < 5; i++) {
		http_hdrs_field(&h, pairs[i][0], strlen(pairs[i][0]));
		http_hdrs_value(&h, pairs[i][1], strlen(pairs[i][1]));
		http_hdrs_value_done(&h);
	}
	CHECK(http_hdr_is_hop(&h, 0));
	CHECK(http_hdr_is_hop(&h, 2));
	CHECK(http_hdr_is_hop(&h, 3));
	CHECK(!http_hdr_is_hop(&h, 4));
	http_hdrs_free(&h);
}
