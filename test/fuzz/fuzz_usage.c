/* fuzz_usage: answer bodies -> the usage reader (src/usage.c), fed in pieces of random size.
 *
 * Input: byte 0 picks the Content-Type (low 3 bits), the Content-Encoding (next 3 bits) and two switches (bit 6:
 * the target gzips the rest itself before feeding it, so the SSE/JSON readers behind inflate see well-formed
 * compressed data; bit 7: end with usage_reader_free alone instead of usage_reader_finish). Byte 1 seeds the piece
 * sizes. The rest is the body.
 *
 * Invariants: feed/finish/free never crash or leak; once the reader gave up (-1) it stays given up with a problem
 * named; memory held stays bounded (mem_peak) whatever the body; nothing is held after finish/free; counts are -1 or
 * non-negative; the strings kept (model, stop_reason, error_type) are NUL-terminated within their arrays and hold
 * only [A-Za-z0-9._:-]. */
#include "usage.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 32 KB inflate window + inflate state + yajl (a few KB) + slack: far below any real leak or unbounded growth. */
#define MEM_BOUND (256 * 1024)

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz_usage invariant broken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static void check_label(const char *what, const char *s, size_t cap)
{
	const char *end = memchr(s, 0, cap);
	if (!end)
		die("%s is not NUL-terminated within its %zu bytes", what, cap);
	for (const char *p = s; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			die("%s holds byte 0x%02x (only [A-Za-z0-9._:-] may become a metric label)", what, c);
	}
}

static void check_results(const struct usage_reader *r)
{
	const int64_t v[4] = {r->usage.input_tokens, r->usage.output_tokens, r->usage.cache_creation_input_tokens,
			      r->usage.cache_read_input_tokens};
	for (int i = 0; i < 4; i++)
		if (v[i] < -1)
			die("count %d is %lld (must be -1 or >= 0)", i, (long long)v[i]);
	check_label("model", r->usage.model, sizeof r->usage.model);
	check_label("stop_reason", r->stop_reason, sizeof r->stop_reason);
	check_label("error_type", r->error_type, sizeof r->error_type);
	if (r->mem_peak > MEM_BOUND)
		die("the reader held %zu bytes at once (bound %d)", r->mem_peak, MEM_BOUND);
}

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static unsigned char *gzip_it(const uint8_t *p, size_t n, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, (uLong)n) + 32;
	unsigned char *out = malloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[8] = {"text/event-stream", "application/json",
					     "text/event-stream; charset=utf-8", "application/json; charset=utf-8",
					     "Text/Event-Stream", "text/html", NULL, "application/jsonx"};
	static const char *const codings[8] = {NULL, "gzip", "x-gzip", "deflate", "identity", "br", "gzip, deflate",
					       "GZIP"};
	if (size < 2)
		return 0;
	uint8_t sel = data[0];
	uint32_t x = 0x9e3779b9u ^ ((uint32_t)data[1] << 8 | data[1]);
	data += 2;
	size -= 2;
	const char *ct = types[sel & 7], *ce = codings[(sel >> 3) & 7];
	unsigned char *gz = NULL;
	if (sel & 0x40) {
		size_t gl = 0;
		gz = gzip_it(data, size, &gl);
		if (!gz)
			return 0;
		data = gz;
		size = gl;
		ce = "gzip";
	}

	struct usage_reader r;
	usage_reader_init(&r, ct, ct ? strlen(ct) : 0, ce, ce ? strlen(ce) : 0);
	int gave_up = r.problem != NULL;
	size_t off = 0;
	while (off < size) {
		uint32_t k = next(&x);
		size_t n = (k & 3) == 0 ? 1 + (k >> 8) % 4096 : 1 + (k >> 8) % 17; /* mostly tiny, sometimes large */
		if (n > size - off)
			n = size - off;
		char *piece = malloc(n); /* its own allocation: reads past the piece are ASan reports */
		if (!piece)
			abort();
		memcpy(piece, data + off, n);
		int rc = usage_reader_feed(&r, piece, n);
		free(piece);
		off += n;
		if (rc != 0 && rc != -1)
			die("usage_reader_feed returned %d", rc);
		if (rc == -1 && !r.problem)
			die("usage_reader_feed gave up without naming a problem");
		if (gave_up && rc != -1)
			die("usage_reader_feed accepted bytes after giving up (%s)", r.problem);
		gave_up |= rc == -1;
		check_results(&r);
	}
	if (sel & 0x80) {
		usage_reader_free(&r);
	} else {
		usage_reader_finish(&r);
		struct usage_counts before = r.usage;
		static const char late[] = "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":"
					   "{\"output_tokens\":424242}}\n\n";
		(void)usage_reader_feed(&r, late, sizeof late - 1); /* ignored after finish */
		if (memcmp(&before, &r.usage, sizeof before) != 0)
			die("bytes fed after usage_reader_finish changed the results");
		usage_reader_free(&r);
	}
	usage_reader_free(&r); /* safe twice */
	if (r.mem != 0)
		die("the reader still holds %zu bytes after finish/free", r.mem);
	check_results(&r);
	free(gz);
	return 0;
}
