/* transport: how an upstream connection's bytes cross the wire, behind one interface with two implementations:
 * TLS (tls.h, every connection to the API and the token endpoints) and plain TCP (transport_plain_init: an OTLP
 * collector on the host over http://). upstream.c calls the transport_* functions and never asks which one it holds.
 *
 * The socket belongs to the caller: it appends received bytes to `in`, or lends a buffer of them for one pass
 * (transport_lend/transport_keep: the common case, where every byte is taken and nothing is copied or kept per
 * connection), and sends what gathers in `out`. A transport never touches a file descriptor, so TRANSPORT_AGAIN is
 * simply "feed me more", in the way nginx's NGX_AGAIN is. Writing never blocks: everything is taken into `out`, and
 * the caller bounds `out` by not writing more until it drains. */
#ifndef AP_TRANSPORT_H
#define AP_TRANSPORT_H

#include "buf.h"

#include <stddef.h>

/* Need more bytes in `in`. Below every Mbed TLS error code (-0x0001 to -0x7fff), and never a byte count: a read
 * that returns exactly one byte must not look like "nothing yet". */
#define TRANSPORT_AGAIN (-0x10000)

struct transport;

struct transport_ops {
	int (*handshake)(struct transport *t);
	int (*read)(struct transport *t, char *p, size_t n);
	int (*write)(struct transport *t, const char *p, size_t n);
	int (*pending)(struct transport *t);
	void (*close_notify)(struct transport *t);
	void (*describe)(struct transport *t, int rc, char *out, size_t len);
	void (*resume)(struct transport *t);
	int (*full_handshake)(const struct transport *t);
	int (*late_session)(const struct transport *t);
	const char *(*version)(const struct transport *t);
	const char *(*cipher)(const struct transport *t);
	void (*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops; /* the implementation */
	struct buf in;    /* bytes received, not yet taken */
	const char *lent; /* bytes lent for the current pass (taken after `in`), not owned */
	size_t lent_len;  /* bytes of it not yet taken */
	struct buf out;   /* bytes produced, not yet handed to the socket */
	int eof;          /* the peer closed the TCP stream: reading ends once `in` is drained */
};

/* Plain TCP: bytes pass through as they are. Cannot fail. */
void transport_plain_init(struct transport *t);
/* Releases the transport (either kind). */
static inline void transport_free(struct transport *t) { t->ops->free(t); }

/* 0 when done, TRANSPORT_AGAIN to wait for bytes, or a negative error. Plain: done at once. */
static inline int transport_handshake(struct transport *t) { return t->ops->handshake(t); }
/* Plaintext bytes read (> 0), 0 at a clean close (close_notify or EOF), TRANSPORT_AGAIN, or a negative error. */
static inline int transport_read(struct transport *t, char *p, size_t n) { return t->ops->read(t, p, n); }
/* Takes up to n plaintext bytes into `out`; returns bytes taken (> 0) or a negative error. */
static inline int transport_write(struct transport *t, const char *p, size_t n) { return t->ops->write(t, p, n); }
/* Whether plaintext waits inside the transport (a read pass stopped early must be run again). */
static inline int transport_pending(struct transport *t) { return t->ops->pending(t); }
/* Queues the polite goodbye (TLS close_notify) into `out`. */
static inline void transport_close_notify(struct transport *t) { t->ops->close_notify(t); }
/* A human sentence for a failed handshake or I/O. */
static inline void transport_describe(struct transport *t, int rc, char *out, size_t len)
{
	t->ops->describe(t, rc, out, len);
}
/* Offers the origin's newest session for an abbreviated handshake: call it just before the handshake starts. */
static inline void transport_resume(struct transport *t) { t->ops->resume(t); }
/* Whether the handshake is a full one (key exchange, certificate check: no session offered); 0 for plain TCP. */
static inline int transport_is_full_handshake(const struct transport *t) { return t->ops->full_handshake(t); }
/* Whether the resumable session arrives only after the handshake (TLS 1.3 tickets). */
static inline int transport_late_session(const struct transport *t) { return t->ops->late_session(t); }
/* After the handshake: protocol ("TLSv1.3") and cipher suite, static strings; NULL for plain TCP. */
static inline const char *transport_version(const struct transport *t) { return t->ops->version(t); }
static inline const char *transport_cipher(const struct transport *t) { return t->ops->cipher(t); }

/* Lends n received bytes (taken after `in`) until transport_keep, which copies what was not taken into `in`.
 * Returns 0, or -1 when `in` cannot take the rest (its limit, or memory). */
void transport_lend(struct transport *t, const char *p, size_t n);
int transport_keep(struct transport *t);
/* Received bytes not yet taken (in `in` or lent). */
static inline size_t transport_buffered(const struct transport *t) { return buf_size(&t->in) + t->lent_len; }
/* For implementations: moves up to n received bytes (`in` first, then lent ones) to p; returns how many. */
size_t transport_take(struct transport *t, void *p, size_t n);
/* For implementations: the buffers set up empty (`in` bounded at 256 KB: a few records in flight). */
void transport_buffers_init(struct transport *t);

#endif
