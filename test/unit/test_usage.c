#include "unit.h"
#include "usage.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#define SSE          "text/event-stream"
#define JSON         "application/json"
#define BYTE_BY_BYTE SIZE_MAX

/* A recorded /v1/messages stream (Sonnet, prompt caching on). The second text delta quotes usage JSON and an event
 * as text: a trap for any reader that searches bytes instead of parsing events. */
static const char stream_lf[] =
	"event: message_start\n"
	"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\","
	"\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,"
	"\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":1024,"
	"\"cache_read_input_tokens\":2048,\"cache_creation\":{\"ephemeral_5m_input_tokens\":1024,"
	"\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n"
	"\n"
	"event: ping\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"event: content_block_start\n"
	"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"! It reads "
	"{\\\"usage\\\":{\\\"output_tokens\\\":999,\\\"input_tokens\\\":999}}\\n\\nevent: message_delta\\ndata: "
	"{\\\"usage\\\":{\\\"output_tokens\\\":555}}\"}}\n"
	"\n"
	"event: content_block_delta\n"
	"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
	"\"text\":\" \\u00e9t\\u00e9 \\ud83d\\ude00 done.\"}}\n"
	"\n"
	"event: content_block_stop\n"
	"data: {\"type\":\"content_block_stop\",\"index\":0}\n"
	"\n"
	"event: message_delta\n"
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
	"\"usage\":{\"output_tokens\":87}}\n"
	"\n"
	"event: message_stop\n"
	"data: {\"type\":\"message_stop\"}\n"
	"\n";
static const char stream_want[] = "in=25 out=87 cw=1024 cr=2048 model=claude-sonnet-4-5-20250929 stop=end_turn "
				  "errors=0: oversized=0 bad=0 problem=-";

/* Newer servers repeat every count on message_delta, and some send input/cache counts only there. */
static const char delta_all_counts[] =
	"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},"
	"\"usage\":{\"input_tokens\":30,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4096,"
	"\"output_tokens\":87,\"server_tool_use\":{\"web_search_requests\":0}}}\n";
static const char delta_all_want[] = "in=30 out=87 cw=0 cr=4096 model=claude-sonnet-4-5-20250929 stop=max_tokens "
				     "errors=0: oversized=0 bad=0 problem=-";

/* A non-streaming answer with traps: usage-like keys inside a tool_use input and inside usage.cache_creation, and a
 * number that overflows 64 bits (yajl's integer callback would fail the whole parse on it). */
static const char message_json[] =
	"{\"id\":\"msg_01Aq9w938a90dw8q\",\"type\":\"message\",\"role\":\"assistant\","
	"\"model\":\"claude-opus-4-1-20250805\",\"content\":[{\"type\":\"text\",\"text\":\"Here is "
	"{\\\"usage\\\":{\\\"input_tokens\\\":777}} as text\"},{\"type\":\"tool_use\",\"id\":\"toolu_01\","
	"\"name\":\"record\",\"input\":{\"model\":\"trap-model\",\"usage\":{\"input_tokens\":999,"
	"\"output_tokens\":999},\"stop_reason\":\"trap\",\"input_tokens\":999,"
	"\"n\":[1,2.5,-3,12345678901234567890123,true,null]}}],"
	"\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,"
	"\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":1536,\"cache_creation\":"
	"{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0,\"input_tokens\":4444,"
	"\"output_tokens\":4444},\"output_tokens\":503,\"server_tool_use\":{\"web_search_requests\":0},"
	"\"service_tier\":\"standard\"}}\n";
static const char message_want[] = "in=2095 out=503 cw=0 cr=1536 model=claude-opus-4-1-20250805 stop=tool_use "
				   "errors=0: oversized=0 bad=0 problem=-";

static void describe(const struct usage_reader *r, char *out, size_t n)
{
	snprintf(out, n,
		 "in=%lld out=%lld cw=%lld cr=%lld model=%s stop=%s errors=%u:%s oversized=%u bad=%u problem=%s",
		 (long long)r->usage.input_tokens, (long long)r->usage.output_tokens,
		 (long long)r->usage.cache_creation_input_tokens, (long long)r->usage.cache_read_input_tokens,
		 r->usage.model, r->stop_reason, r->error_events, r->error_type, r->oversized_events, r->bad_events,
		 r->problem ? r->problem : "-");
}

/* Reads a whole body in two pieces cut at `cut` (or BYTE_BY_BYTE) and describes the result. */
static void read_body(const char *ct, const char *ce, const void *body, size_t len, size_t cut, char *out, size_t n)
{
	struct usage_reader r;
	const char *p = body;
	usage_reader_init(&r, ct, strlen(ct), ce, ce ? strlen(ce) : 0);
	if (cut == BYTE_BY_BYTE) {
		for (size_t i = 0; i < len; i++)
			usage_reader_feed(&r, p + i, 1);
	} else {
		usage_reader_feed(&r, p, cut);
		usage_reader_feed(&r, p + cut, len - cut);
	}
	usage_reader_finish(&r);
	describe(&r, out, n);
	usage_reader_free(&r);
}

/* Every two-piece split and byte by byte give `want`. */
#define CHECK_EVERY_SPLIT(ct, ce, body, len, want)                                                                     \
	do {                                                                                                           \
		char got_[512];                                                                                        \
		for (size_t cut_ = 0; cut_ <= (len) + 1; cut_++) {                                                     \
			size_t at_ = cut_ > (len) ? BYTE_BY_BYTE : cut_;                                               \
			read_body(ct, ce, body, len, at_, got_, sizeof got_);                                          \
			if (strcmp(got_, want) != 0)                                                                   \
				FAIL_AT("cut at %zd of %zu:\n      got      %s\n      expected %s", (ssize_t)at_,      \
					(size_t)(len), got_, want);                                                    \
		}                                                                                                      \
	} while (0)

/* Rewrites \n line ends as `eol` into out (NUL-terminated); returns the length. */
static size_t with_eol(const char *in, const char *eol, char *out, size_t cap)
{
	size_t k = 0, el = strlen(eol);
	for (; *in && k + el < cap; in++) {
		if (*in == '\n') {
			memcpy(out + k, eol, el);
			k += el;
		} else {
			out[k++] = *in;
		}
	}
	out[k] = '\0';
	return k;
}

/* The recorded stream with its message_delta data line replaced. */
static size_t with_delta(const char *delta_line, char *out, size_t cap)
{
	const char *at = strstr(stream_lf, "data: {\"type\":\"message_delta\"");
	const char *end = strchr(at, '\n') + 1;
	return (size_t)snprintf(out, cap, "%.*s%s%s", (int)(at - stream_lf), stream_lf, delta_line, end);
}

/* Compresses with zlib: bits 15+16 gzip, 15 zlib, -15 raw deflate. Flushes after every blank line, as a streaming
 * server does. Returns the length. */
static size_t zip(const char *in, size_t n, int bits, unsigned char *out, size_t cap)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	size_t at = 0;
	while (at < n) {
		const char *blank = strstr(in + at, "\n\n");
		size_t end = blank && (size_t)(blank - in) + 2 <= n ? (size_t)(blank - in) + 2 : n;
		z.next_in = (unsigned char *)in + at;
		z.avail_in = (uInt)(end - at);
		deflate(&z, end == n ? Z_FINISH : Z_SYNC_FLUSH);
		at = end;
	}
	if (n == 0)
		deflate(&z, Z_FINISH);
	size_t len = z.total_out;
	deflateEnd(&z);
	return len;
}

TEST(test_usage_sse_every_split)
{
	CHECK_EVERY_SPLIT(SSE, NULL, stream_lf, strlen(stream_lf), stream_want);
	char buf[4096];
	size_t n = with_delta(delta_all_counts, buf, sizeof buf);
	CHECK_EVERY_SPLIT(SSE, NULL, buf, n, delta_all_want);
}

/* No `event:` lines (typed by the JSON), comments, id/retry, an unknown field, data split over two lines (joined
 * with \n), `data:` without the space, and a last event with no blank line (taken at finish). */
static const char no_event_lines[] =
	": keep-alive\n"
	"id: 7\n"
	"retry: 3000\n"
	"data: {\"type\":\"message_start\",\n"
	"data: \"message\":{\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n"
	"\n"
	"data: {\"type\":\"content_block_delta\",\"delta\":{\"usage\":{\"output_tokens\":999}}}\n"
	"whatever: 1\n"
	"\n"
	"data: {\"type\": \"ping\"}\n"
	"\n"
	"data:{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9},\"delta\":{\"stop_reason\":\"refusal\"}}";
static const char no_event_lines_want[] =
	"in=3 out=9 cw=-1 cr=-1 model=claude-haiku-4-5 stop=refusal errors=0: oversized=0 bad=0 problem=-";
/* The `event:` line wins over the JSON type; an empty one is no type; a `data` line without colon is empty data. */
static const char event_line_wins[] = "event: content_block_delta\n"
				      "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n"
				      "event:\n"
				      "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":6}}\n\n"
				      "event: message_delta\n"
				      "data\n"
				      "\n";
static const char event_line_wins_want[] = "in=-1 out=6 cw=-1 cr=-1 model= stop= errors=0: oversized=0 bad=1 problem=-";

TEST(test_usage_sse_without_event_lines)
{
	CHECK_EVERY_SPLIT(SSE, NULL, no_event_lines, strlen(no_event_lines), no_event_lines_want);
	CHECK_EVERY_SPLIT(SSE, NULL, event_line_wins, strlen(event_line_wins), event_line_wins_want);
}

TEST(test_usage_sse_crlf_and_cr_line_ends)
{
	char buf[4096];
	size_t n = with_eol(stream_lf, "\r\n", buf, sizeof buf);
	CHECK_EVERY_SPLIT(SSE, NULL, buf, n, stream_want);
	n = with_eol(stream_lf, "\r", buf, sizeof buf);
	CHECK_EVERY_SPLIT(SSE, NULL, buf, n, stream_want);
	char lf[4096];
	with_delta(delta_all_counts, lf, sizeof lf);
	n = with_eol(lf, "\r\n", buf, sizeof buf);
	CHECK_EVERY_SPLIT(SSE, NULL, buf, n, delta_all_want);
	/* Where a line end read twice would change the meaning: event lines, data joined over two lines. */
	static const char *const eols[] = {"\r\n", "\r"};
	for (size_t i = 0; i < 2; i++) {
		n = with_eol(no_event_lines, eols[i], buf, sizeof buf);
		CHECK_EVERY_SPLIT(SSE, NULL, buf, n, no_event_lines_want);
		n = with_eol(event_line_wins, eols[i], buf, sizeof buf);
		CHECK_EVERY_SPLIT(SSE, NULL, buf, n, event_line_wins_want);
	}
}

TEST(test_usage_sse_merge_last_value_wins)
{
	static const char s[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":5,"
		"\"output_tokens\":1}}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":10}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30,\"input_tokens\":6}}\n\n";
	CHECK_EVERY_SPLIT(SSE, NULL, s, strlen(s),
			  "in=6 out=30 cw=-1 cr=-1 model=m stop= errors=0: oversized=0 bad=0 problem=-");
	/* Last, not largest: a later smaller value wins too (the spec says cumulative; we never add). */
	static const char t[] = "event: message_delta\ndata: {\"usage\":{\"output_tokens\":30}}\n\n"
				"event: message_delta\ndata: {\"usage\":{\"output_tokens\":10}}\n\n";
	CHECK_EVERY_SPLIT(SSE, NULL, t, strlen(t),
			  "in=-1 out=10 cw=-1 cr=-1 model= stop= errors=0: oversized=0 bad=0 problem=-");
}

TEST(test_usage_sse_error_event)
{
	char buf[4096];
	const char *cut = strstr(stream_lf, "event: content_block_stop");
	size_t n =
		(size_t)snprintf(buf, sizeof buf,
				 "%.*sevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
				 "\"message\":\"Overloaded\"},\"request_id\":\"req_011CV\"}\n\n",
				 (int)(cut - stream_lf), stream_lf);
	CHECK_EVERY_SPLIT(
		SSE, NULL, buf, n,
		"in=25 out=1 cw=1024 cr=2048 model=claude-sonnet-4-5-20250929 stop= errors=1:overloaded_error "
		"oversized=0 bad=0 problem=-");
	/* Two errors: counted twice, the last type kept, even without an error.type. */
	static const char s[] = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}\n\n"
				"data: {\"type\":\"error\",\"error\":{\"message\":\"?\"}}\n\n";
	CHECK_EVERY_SPLIT(SSE, NULL, s, strlen(s),
			  "in=-1 out=-1 cw=-1 cr=-1 model= stop= errors=2: oversized=0 bad=0 problem=-");
}

/* Appends one SSE event whose data is `head` + `pad` bytes of padding string + `tail`. */
static void add_big_event(char *buf, size_t *len, const char *event, const char *head, size_t pad, const char *tail)
{
	if (event)
		*len += (size_t)sprintf(buf + *len, "event: %s\n", event);
	*len += (size_t)sprintf(buf + *len, "data: %s\"", head);
	memset(buf + *len, 'x', pad);
	*len += pad;
	*len += (size_t)sprintf(buf + *len, "\"%s\n\n", tail);
}

TEST(test_usage_sse_oversized_and_bad_events)
{
	size_t cap = 4 * 1024 * 1024, len = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	len += (size_t)sprintf(buf, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
				    "{\"input_tokens\":4,\"output_tokens\":1}}}\n\n");
	/* Big deltas of no interest: skipped without parsing (event line), or as soon as their type is known. */
	add_big_event(buf, &len, "content_block_delta",
		      "{\"type\":\"content_block_delta\",\"delta\":{\"text\":", 1500000, "}}");
	add_big_event(buf, &len, NULL, "{\"type\":\"content_block_delta\",\"delta\":{\"text\":", 1500000, "}}");
	/* Events of interest over the cap, with and without an event line: skipped and counted. */
	add_big_event(buf, &len, "message_delta", "{\"type\":\"message_delta\",\"pad\":", USAGE_EVENT_MAX,
		      ",\"usage\":{\"output_tokens\":500}}");
	add_big_event(buf, &len, NULL, "{\"type\":\"message_delta\",\"pad\":", USAGE_EVENT_MAX,
		      ",\"usage\":{\"output_tokens\":501}}");
	/* Just under the cap: read, and the long string costs the parser nothing. */
	add_big_event(buf, &len, "message_delta", "{\"type\":\"message_delta\",\"pad\":", USAGE_EVENT_MAX - 100,
		      ",\"usage\":{\"output_tokens\":41}}");
	/* Invalid JSON in an event of interest: counted, the stream goes on. */
	len += (size_t)sprintf(buf + len, "event: message_delta\ndata: {\"usage\":{\"output_tokens\":502}\n\n");
	len += (size_t)sprintf(buf + len, "event: message_delta\ndata: {\"usage\":{\"output_tokens\":42}}\n\n");
	CHECK(len < cap);

	static const size_t chunks[] = {1, 7, 1000, 16384};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct usage_reader r;
		usage_reader_init(&r, SSE, strlen(SSE), NULL, 0);
		size_t chunk = chunks[c];
		/* Byte by byte over 3 MB would be slow: only the small events go through one byte at a time. */
		for (size_t at = 0; at < len;) {
			size_t n = chunk == 1 && at > 200 && at < len - 200 ? 4096 : chunk;
			n = n > len - at ? len - at : n;
			CHECK_INT(usage_reader_feed(&r, buf + at, n), 0);
			at += n;
		}
		usage_reader_finish(&r);
		char got[512];
		describe(&r, got, sizeof got);
		CHECK_STR(got, "in=4 out=42 cw=-1 cr=-1 model= stop= errors=0: oversized=2 bad=1 problem=-");
		CHECK(r.mem_peak < 16 * 1024);
		CHECK_INT(r.mem, 0);
		usage_reader_free(&r);
		usage_reader_free(&r);
	}
	free(buf);
}

TEST(test_usage_json_every_split)
{
	CHECK_EVERY_SPLIT(JSON, NULL, message_json, strlen(message_json), message_want);
	CHECK_EVERY_SPLIT("Application/JSON; charset=utf-8", "identity", message_json, strlen(message_json),
			  message_want);
}

TEST(test_usage_json_count_tokens_and_error_body)
{
	/* count_tokens: top-level input_tokens is read (the caller decides whether to count it). */
	static const char ct[] = "{\"input_tokens\": 1234}";
	CHECK_EVERY_SPLIT(JSON, NULL, ct, strlen(ct),
			  "in=1234 out=-1 cw=-1 cr=-1 model= stop= errors=0: oversized=0 bad=0 problem=-");
	/* An error body: its type is kept, but error_events counts in-stream events only. */
	static const char err[] =
		"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Number of "
		"request tokens has exceeded your per-minute rate limit\"},\"request_id\":\"req_011C\"}";
	CHECK_EVERY_SPLIT(
		JSON, NULL, err, strlen(err),
		"in=-1 out=-1 cw=-1 cr=-1 model= stop= errors=0:rate_limit_error oversized=0 bad=0 problem=-");
	/* A body cut short keeps what was seen and says so. */
	static const char cut[] = "{\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4";
	CHECK_EVERY_SPLIT(JSON, NULL, cut, strlen(cut),
			  "in=3 out=4 cw=-1 cr=-1 model=m stop= errors=0: oversized=0 bad=0 problem=json");
	/* Not JSON: given up, feed says so, later bytes ignored. */
	struct usage_reader r;
	usage_reader_init(&r, JSON, strlen(JSON), NULL, 0);
	CHECK_INT(usage_reader_feed(&r, "<html>", 6), -1);
	CHECK_STR(r.problem, "json");
	CHECK_INT(usage_reader_feed(&r, "{}", 2), -1);
	CHECK_INT(r.mem, 0);
	usage_reader_finish(&r);
	usage_reader_free(&r);
	/* An empty body (HEAD, 204) is no problem. */
	usage_reader_init(&r, JSON, strlen(JSON), NULL, 0);
	usage_reader_finish(&r);
	CHECK(r.problem == NULL);
	usage_reader_free(&r);
}

TEST(test_usage_json_memory_bounded)
{
	/* A 2 MB text block, 20000-digit numbers and a long key, fed in 4 KB pieces: yajl would buffer each split token
	 * whole; the filter keeps what it sees short. */
	size_t cap = 3 * 1024 * 1024, len = 0;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	len += (size_t)sprintf(buf, "{\"model\":\"claude-opus-4-1\",\"content\":[{\"type\":\"text\",\"text\":\"");
	for (size_t i = 0; i < 2 * 1024 * 1024; i += 8)
		len += (size_t)sprintf(buf + len, i % 64 ? "abc\\\"de " : "\\u00e9\\n\\\\ ");
	len += (size_t)sprintf(buf + len, "\",\"n\":");
	for (int i = 0; i < 20000; i++)
		buf[len++] = (char)('1' + i % 9);
	len += (size_t)sprintf(buf + len, ".5e+10,\"m\":-");
	for (int i = 0; i < 20000; i++)
		buf[len++] = '7';
	len += (size_t)sprintf(buf + len, ",\"");
	memset(buf + len, 'k', 5000);
	len += 5000;
	len += (size_t)sprintf(buf + len, "\":1}],\"usage\":{\"input_tokens\":11,\"output_tokens\":22}}");
	CHECK(len < cap);
	static const size_t chunks[] = {4096, 4093, 65536};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		struct usage_reader r;
		usage_reader_init(&r, JSON, strlen(JSON), NULL, 0);
		for (size_t at = 0; at < len; at += chunks[c])
			CHECK_INT(usage_reader_feed(&r, buf + at, len - at < chunks[c] ? len - at : chunks[c]), 0);
		usage_reader_finish(&r);
		char got[512];
		describe(&r, got, sizeof got);
		CHECK_STR(got,
			  "in=11 out=22 cw=-1 cr=-1 model=claude-opus-4-1 stop= errors=0: oversized=0 bad=0 problem=-");
		CHECK(r.mem_peak < 16 * 1024);
		usage_reader_free(&r);
	}
	/* Nesting deeper than USAGE_DEPTH_MAX is refused rather than grown into. */
	len = 0;
	len += (size_t)sprintf(buf, "{\"content\":");
	for (int i = 0; i < 100000; i++)
		buf[len++] = '[';
	struct usage_reader r;
	usage_reader_init(&r, JSON, strlen(JSON), NULL, 0);
	CHECK_INT(usage_reader_feed(&r, buf, len), -1);
	CHECK_STR(r.problem, "json");
	CHECK(r.mem_peak < 16 * 1024);
	usage_reader_free(&r);
	free(buf);
}

TEST(test_usage_json_cut_strings_stay_valid)
{
	/* Strings are cut for the parser at USAGE_STRING_MAX bytes: never inside an escape, whatever the alignment. */
	static const char *const escapes[] = {"\\u00e9", "\\ud83d\\ude00", "\\\\", "\\\"", "\\n", "\xc3\xa9"};
	for (size_t e = 0; e < sizeof escapes / sizeof escapes[0]; e++) {
		for (int k = 0; k < 13; k++) {
			char body[2048];
			size_t len = (size_t)sprintf(body, "{\"content\":[{\"text\":\"%.*s", k, "xxxxxxxxxxxxx");
			for (int i = 0; i < 60; i++)
				len += (size_t)sprintf(body + len, "%s", escapes[e]);
			len += (size_t)sprintf(body + len, "\"}],\"usage\":{\"output_tokens\":5}}");
			char got[512];
			read_body(JSON, NULL, body, len, len / 3, got, sizeof got);
			if (strcmp(got, "in=-1 out=5 cw=-1 cr=-1 model= stop= errors=0: oversized=0 bad=0 problem=-") !=
			    0)
				FAIL_AT("escape %zu after %d bytes: %s", e, k, got);
		}
	}
}

TEST(test_usage_values_and_labels)
{
	/* Only non-negative integers that fit int64 replace a count; model and stop reason become safe labels. */
	static const char s[] =
		"event: message_start\n"
		"data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude<script>-x y\\\"z\\u0000\",\"usage\":"
		"{\"input_tokens\":7,\"output_tokens\":1,\"cache_read_input_tokens\":2,\"cache_creation_input_tokens\":"
		"3}}}"
		"\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":null,\"output_tokens\":-5,"
		"\"cache_read_input_tokens\":1.5,\"cache_creation_input_tokens\":\"9\"}}\n\n"
		"event: message_delta\n"
		"data: "
		"{\"type\":\"message_delta\",\"usage\":{\"input_tokens\":1e3,\"output_tokens\":99999999999999999999,"
		"\"cache_read_input_tokens\":{\"a\":1},\"cache_creation_input_tokens\":[4]}}\n\n"
		"event: message_delta\n"
		"data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9223372036854775807}}\n\n";
	CHECK_EVERY_SPLIT(SSE, NULL, s, strlen(s),
			  "in=7 out=9223372036854775807 cw=3 cr=2 model=claudescript-xyz stop= errors=0: oversized=0 "
			  "bad=0 problem=-");
	char buf[512];
	int n = snprintf(buf, sizeof buf,
			 "{\"model\":\"%0100d\",\"stop_reason\":\"%060d\",\"usage\":{\"output_tokens\":0}}", 0, 0);
	struct usage_reader r;
	usage_reader_init(&r, JSON, strlen(JSON), NULL, 0);
	CHECK_INT(usage_reader_feed(&r, buf, (size_t)n), 0);
	usage_reader_finish(&r);
	CHECK_INT(strlen(r.usage.model), sizeof r.usage.model - 1);
	CHECK_INT(strlen(r.stop_reason), sizeof r.stop_reason - 1);
	CHECK_INT(r.usage.output_tokens, 0);
	usage_reader_free(&r);
}

TEST(test_usage_gzip_every_split)
{
	static unsigned char z[4096];
	size_t n = zip(message_json, strlen(message_json), 15 + 16, z, sizeof z);
	CHECK(n > 0);
	CHECK_EVERY_SPLIT(JSON, "gzip", z, n, message_want);
	n = zip(stream_lf, strlen(stream_lf), 15 + 16, z, sizeof z);
	CHECK(n > 0);
	CHECK_EVERY_SPLIT(SSE, "x-gzip", z, n, stream_want);
	/* Two gzip members back to back (RFC 1952 §2.2), cut between events. */
	size_t half = (size_t)(strstr(stream_lf, "event: content_block_stop") - stream_lf);
	size_t n1 = zip(stream_lf, half, 15 + 16, z, sizeof z);
	size_t n2 = zip(stream_lf + half, strlen(stream_lf) - half, 15 + 16, z + n1, sizeof z - n1);
	CHECK(n1 > 0 && n2 > 0);
	CHECK_EVERY_SPLIT(SSE, "gzip", z, n1 + n2, stream_want);
	/* Inflate's state and window are the bulk of the memory, given back at finish. */
	struct usage_reader r;
	usage_reader_init(&r, SSE, strlen(SSE), "gzip", 4);
	for (size_t at = 0; at < n1 + n2; at += 16)
		CHECK_INT(usage_reader_feed(&r, (const char *)z + at, n1 + n2 - at < 16 ? n1 + n2 - at : 16), 0);
	CHECK(r.mem > 0 && r.mem_peak < 64 * 1024);
	usage_reader_finish(&r);
	CHECK_INT(r.mem, 0);
	CHECK_INT(r.usage.output_tokens, 87);
	usage_reader_free(&r);
}

TEST(test_usage_deflate_zlib_and_raw)
{
	static unsigned char z[4096];
	size_t n = zip(message_json, strlen(message_json), 15, z, sizeof z);
	CHECK(n > 0);
	CHECK_EVERY_SPLIT(JSON, "deflate", z, n, message_want);
	n = zip(message_json, strlen(message_json), -15, z, sizeof z);
	CHECK(n > 0);
	CHECK_EVERY_SPLIT(JSON, "Deflate", z, n, message_want);
	n = zip(stream_lf, strlen(stream_lf), 15, z, sizeof z);
	CHECK(n > 0);
	CHECK_EVERY_SPLIT(SSE, "deflate", z, n, stream_want);
}

TEST(test_usage_corrupt_gzip)
{
	/* Not gzip at all: given up on the first bytes. */
	struct usage_reader r;
	usage_reader_init(&r, SSE, strlen(SSE), "gzip", 4);
	CHECK_INT(usage_reader_feed(&r, "event: ping\n\n", 13), -1);
	CHECK_STR(r.problem, "inflate");
	CHECK_INT(r.mem, 0);
	CHECK_INT(usage_reader_feed(&r, "x", 1), -1);
	usage_reader_finish(&r);
	usage_reader_free(&r);
	/* Every single corrupted byte: no crash, no leak; either detected, or harmless (gzip does not check its
	 * header's time and OS bytes). Three bytes land in the data: those must be detected. */
	static unsigned char z[4096], bad[4096];
	size_t n = zip(message_json, strlen(message_json), 15 + 16, z, sizeof z);
	CHECK(n > 20);
	size_t detected = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, z, n);
		bad[i] ^= 0x55;
		char got[512];
		read_body(JSON, "gzip", bad, n, n / 2, got, sizeof got);
		if (strstr(got, "problem=inflate") || strstr(got, "problem=json"))
			detected++;
		else if (strcmp(got, message_want) != 0)
			FAIL_AT("byte %zu corrupted, undetected:\n      got %s", i, got);
	}
	CHECK(detected >= n - 10);
}

TEST(test_usage_inactive)
{
	static const struct {
		const char *ct, *ce;      /* headers (NULL: absent) */
		enum usage_format format; /* expected */
		int feed;                 /* expected from usage_reader_feed */
		const char *problem;      /* expected */
	} cases[] = {
		{"text/html", NULL, USAGE_NONE, 0, NULL},
		{NULL, "gzip", USAGE_NONE, 0, NULL},
		{"application/jsonx", NULL, USAGE_NONE, 0, NULL},
		{"text/plain", "br", USAGE_NONE, 0, NULL},
		{JSON, "br", USAGE_JSON, -1, "content-encoding"},
		{SSE, "zstd", USAGE_SSE, -1, "content-encoding"},
		{SSE, "gzip, br", USAGE_SSE, -1, "content-encoding"},
		{SSE, "gzip, gzip", USAGE_SSE, -1, "content-encoding"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct usage_reader r;
		usage_reader_init(&r, cases[i].ct, cases[i].ct ? strlen(cases[i].ct) : 0, cases[i].ce,
				  cases[i].ce ? strlen(cases[i].ce) : 0);
		CHECK_INT(r.format, cases[i].format);
		CHECK_INT(usage_reader_feed(&r, stream_lf, strlen(stream_lf)), cases[i].feed);
		usage_reader_finish(&r);
		char got[512];
		describe(&r, got, sizeof got);
		CHECK_CONTAINS(got, "in=-1 out=-1 cw=-1 cr=-1 model= stop= errors=0:");
		CHECK(cases[i].problem ? r.problem && strcmp(r.problem, cases[i].problem) == 0 : r.problem == NULL);
		CHECK_INT(r.mem_peak, 0);
		usage_reader_free(&r);
	}
	/* Codings that are read, however spelled. */
	struct usage_reader r;
	usage_reader_init(&r, " text/event-stream ;charset=utf-8", 33, " identity , GZIP ", 17);
	CHECK_INT(r.format, USAGE_SSE);
	CHECK_INT(r.coding, USAGE_GZIP);
	usage_reader_free(&r);
	usage_reader_init(&r, SSE, strlen(SSE), "", 0);
	CHECK_INT(r.coding, USAGE_IDENTITY);
	usage_reader_free(&r);
}
