#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_free_wipe(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t size = buf_size(b);
	if (b->max && n > b->max - size)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	/* Reclaim consumed space first: cheaper than growing when the reader keeps up. */
	if (b->off && b->cap - size >= n) {
		memmove(b->data, b->data + b->off, size);
		b->off = 0;
		b->len = size;
		return 0;
	}
	if (n > SIZE_MAX / 4 - size)
		return -1; /* no allocation holds it: refuse before the doubling below could overflow and spin */
	size_t cap = b->cap ? b->cap : 256;
	while (cap - size < n)
		cap *= 2;
	if (b->max && cap > b->max)
		cap = b->max;
	char *p = malloc(cap);
	if (!p)
		return -1;
	if (size)
		memcpy(p, b->data + b->off, size);
	free(b->data);
	b->data = p;
	b->off = 0;
	b->len = size;
	b->cap = cap;
	return 0;
}

int buf_append_slow(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_appends(struct buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_append_dec(struct buf *b, unsigned long long v)
{
	char d[24], *p = d + sizeof d;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return buf_append(b, p, (size_t)(d + sizeof d - p));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1))
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off >= b->len)
		b->off = b->len = 0;
}

void buf_reset(struct buf *b) { b->off = b->len = 0; }
