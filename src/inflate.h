/* inflate: the one zlib inflater for compressed answer bodies, streaming through a fixed-size output buffer into a
 * sink, so that no body is ever held whole.
 *
 * The format is told from the first bytes, whatever the Content-Encoding claimed: gzip (magic 1f 8b, RFC 1952;
 * several members in a row are read as one body, §2.2), a zlib stream (RFC 1950 header: CM 8, CINFO <= 7, a
 * multiple of 31), else raw deflate, which some servers send as "deflate". The three cannot be confused: 1f is
 * neither a zlib header nor a valid first deflate block. Work is linear in the input (deflate expands at most about
 * 1000 to 1, in bounded pieces). zlib's memory comes from the caller's allocator when one is given (so a reader can
 * count it). */
#ifndef AP_INFLATE_H
#define AP_INFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#define INFLATE_CORRUPT (-1) /* not a compressed stream, or damaged */
#define INFLATE_MEMORY (-2)  /* the allocator said no */
#define INFLATE_SINK (-3)    /* the sink asked to stop */

/* Takes inflated bytes; returns 0 to go on, anything else to stop. */
typedef int (*inflate_sink)(void *arg, const char *p, size_t n);

struct inflater {
	z_stream *z;          /* NULL until the format is known */
	alloc_func zalloc;    /* zlib's allocator, or Z_NULL for malloc */
	free_func zfree;      /* its release */
	void *opaque;         /* their argument */
	uint8_t head[2];      /* first bytes held while telling the format */
	uint8_t head_len;     /* how many */
	unsigned done : 1;    /* the stream ended and nothing followed yet */
};

/* Cannot fail; inflater_free is safe after it. */
void inflater_init(struct inflater *f, alloc_func zalloc, free_func zfree, void *opaque);
/* Inflates n more compressed bytes into `sink`. Returns 0 or one of the INFLATE_* codes (then stop feeding). */
int inflater_feed(struct inflater *f, const void *p, size_t n, inflate_sink sink, void *arg);
/* Compressed bytes arrived but their stream did not end: the body was cut short. */
static inline int inflater_cut_short(const struct inflater *f) { return (f->head_len || f->z) && !f->done; }
/* Releases zlib's state (what was inflated stays with the sink). */
void inflater_free(struct inflater *f);

/* One-shot, for a small held body: inflates `p` into out (at most cap bytes; more is cut). Returns the bytes
 * written, or -1 when nothing readable came out. */
long inflate_small(const void *p, size_t n, char *out, size_t cap);

#endif
