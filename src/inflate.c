#include "inflate.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 8192 /* output buffer, on the stack */

void inflater_init(struct inflater *f, alloc_func zalloc, free_func zfree, void *opaque)
{
	memset(f, 0, sizeof *f);
	f->zalloc = zalloc;
	f->zfree = zfree;
	f->opaque = opaque;
}

void inflater_free(struct inflater *f)
{
	if (!f->z)
		return;
	inflateEnd(f->z);
	if (f->zfree)
		f->zfree(f->opaque, f->z);
	else
		free(f->z);
	f->z = NULL;
}

static int start(struct inflater *f, int window_bits)
{
	z_stream *z = f->zalloc ? f->zalloc(f->opaque, 1, sizeof *z) : malloc(sizeof *z);
	if (!z)
		return INFLATE_MEMORY;
	memset(z, 0, sizeof *z);
	z->zalloc = f->zalloc;
	z->zfree = f->zfree;
	z->opaque = f->opaque;
	if (inflateInit2(z, window_bits) != Z_OK) {
		if (f->zfree)
			f->zfree(f->opaque, z);
		else
			free(z);
		return INFLATE_MEMORY;
	}
	f->z = z;
	return 0;
}

static int run(struct inflater *f, const unsigned char *p, size_t n, inflate_sink sink, void *arg)
{
	z_stream *z = f->z;
	unsigned char out[CHUNK];
	while (n) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
		z->next_in = (unsigned char *)p; /* zlib 1.2 takes a non-const pointer; it does not write */
		z->avail_in = take;
		p += take;
		n -= take;
		do {
			z->next_out = out;
			z->avail_out = sizeof out;
			int rc = inflate(z, Z_NO_FLUSH);
			size_t got = sizeof out - z->avail_out;
			if (got && sink(arg, (const char *)out, got))
				return INFLATE_SINK;
			if (rc == Z_STREAM_END) {
				f->done = z->avail_in == 0;
				if (f->done)
					break;
				/* More after the end: the next gzip member; anything else fails on the next pass. */
				if (inflateReset(z) != Z_OK)
					return INFLATE_CORRUPT;
			} else if (rc == Z_BUF_ERROR) {
				break; /* no progress possible: wants more input */
			} else if (rc == Z_MEM_ERROR) {
				return INFLATE_MEMORY;
			} else if (rc != Z_OK) {
				return INFLATE_CORRUPT;
			}
		} while (z->avail_in || z->avail_out == 0);
	}
	return 0;
}

int inflater_feed(struct inflater *f, const void *p, size_t n, inflate_sink sink, void *arg)
{
	const unsigned char *u = p;
	if (!f->z) {
		while (f->head_len < 2 && n) {
			f->head[f->head_len++] = *u++;
			n--;
		}
		if (f->head_len < 2)
			return 0;
		unsigned b0 = f->head[0], b1 = f->head[1];
		int gzip = b0 == 0x1f && b1 == 0x8b;
		int zlib = (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && (b0 * 256 + b1) % 31 == 0;
		int rc = start(f, gzip ? 15 + 16 : zlib ? 15 : -15);
		if (rc || (rc = run(f, f->head, 2, sink, arg)))
			return rc;
	}
	return run(f, u, n, sink, arg);
}

struct small_out {
	char *p;    /* destination */
	size_t len; /* bytes written */
	size_t cap; /* its size */
};

static int small_sink(void *arg, const char *p, size_t n)
{
	struct small_out *o = arg;
	size_t take = n < o->cap - o->len ? n : o->cap - o->len;
	memcpy(o->p + o->len, p, take);
	o->len += take;
	return o->len == o->cap; /* full: the rest is not needed */
}

long inflate_small(const void *p, size_t n, char *out, size_t cap)
{
	struct inflater f;
	struct small_out o = {out, 0, cap};
	inflater_init(&f, Z_NULL, Z_NULL, NULL);
	int rc = cap ? inflater_feed(&f, p, n, small_sink, &o) : 0;
	inflater_free(&f);
	return (rc == 0 || rc == INFLATE_SINK || o.len) ? (long)o.len : -1;
}
