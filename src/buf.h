/* buf: a growable byte buffer with an explicit upper bound.
 *
 * Ownership: the buffer owns `data`. buf_init never allocates; buf_free releases and leaves an empty buffer,
 * so it is safe to call twice. Bytes consumed from the front are dropped lazily (`off`), so a reader can
 * take a prefix without memmove on every call. */
#ifndef AP_BUF_H
#define AP_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char *data;  /* allocation, or NULL while empty */
	size_t off;  /* first unread byte */
	size_t len;  /* end of written bytes (data + off .. data + len is the content) */
	size_t cap;  /* size of the allocation */
	size_t max;  /* hard limit on content size; 0 means no limit */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* buf_free for a buffer that held secrets: the whole allocation is wiped first (a wipe the compiler keeps). */
void buf_free_wipe(struct buf *b);
/* Content pointer and size. */
static inline char *buf_ptr(const struct buf *b) { return b->data + b->off; }
static inline size_t buf_size(const struct buf *b) { return b->len - b->off; }
/* Makes room for at least n more bytes; returns 0, or -1 when that would pass `max` or memory ran out. */
int buf_reserve(struct buf *b, size_t n);
/* Free space after the content (valid after buf_reserve). */
static inline char *buf_tail(const struct buf *b) { return b->data + b->len; }
static inline size_t buf_room(const struct buf *b) { return b->cap - b->len; }
int buf_append_slow(struct buf *b, const void *p, size_t n);
/* Appends n bytes; returns 0, or -1 when that would pass `max` or memory ran out. Inline: heads are built from many
 * small pieces, and the room is almost always there already. */
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n && b->cap - b->len >= n && (!b->max || b->len - b->off + n <= b->max)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	return buf_append_slow(b, p, n);
}
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends v in decimal: the per-request paths avoid printf's parsing. */
int buf_append_dec(struct buf *b, unsigned long long v);
/* Drops n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
/* Empties the content but keeps the allocation. */
void buf_reset(struct buf *b);

#endif
