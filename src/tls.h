/* tls: an mbedTLS client session over memory buffers.
 *
 * The socket belongs to the caller (upstream): it appends received ciphertext to `in`, or lends a buffer of it
 * for one pass (tls_lend/tls_keep: the common case, where every byte is taken and nothing is copied or kept per
 * connection), and sends what gathers in `out`. mbedTLS never touches a file descriptor, so a WANT_READ is simply
 * "feed me more", in the way nginx's NGX_AGAIN is. Sending never blocks: the send callback always takes everything
 * into `out`, and the caller bounds `out` by not writing more plaintext until it drains.
 *
 * tls_ctx is shared by every connection to every origin (CA chain, RNG, settings: TLS 1.2 minimum, verification
 * required). A tls_session_cache belongs to one origin: it remembers the last session so new connections to that
 * origin resume instead of doing a full handshake (a session is never offered to another host). */
#ifndef AP_TLS_H
#define AP_TLS_H

#include "buf.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TLS_AGAIN 1 /* positive: need more ciphertext in `in` */

struct tls_ctx {
	mbedtls_ssl_config conf;        /* shared client settings */
	mbedtls_x509_crt ca;            /* trusted CAs */
	mbedtls_entropy_context entropy;/* RNG seed source */
	mbedtls_ctr_drbg_context drbg;  /* RNG */
};

struct tls_session_cache {
	mbedtls_ssl_session session; /* last session of one origin */
	int have;                    /* session holds something */
};

struct tls_conn {
	mbedtls_ssl_context ssl; /* the session */
	struct tls_session_cache *cache; /* the origin's resumption cache (not owned) */
	struct buf in;           /* ciphertext received, not yet read by mbedTLS */
	const char *lent;        /* ciphertext lent for the current pass (read after `in`), not owned */
	size_t lent_len;         /* bytes of it not yet read */
	struct buf out;          /* ciphertext produced, not yet handed to the socket */
	int eof;                 /* the peer closed the TCP stream: mbedTLS gets EOF once `in` is drained */
	unsigned resuming : 1;   /* a cached session is offered: the handshake may be abbreviated */
};

/* Loads the CA bundle and sets up the shared config. On failure `err` says why; tls_ctx_free is safe after. */
int tls_ctx_init(struct tls_ctx *ctx, const char *ca_file, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

void tls_session_cache_init(struct tls_session_cache *sc);
void tls_session_cache_free(struct tls_session_cache *sc);

/* Starts a client session verifying `hostname` (always set: mbedTLS skips the name check when it is not). */
int tls_conn_init(struct tls_conn *c, struct tls_ctx *ctx, struct tls_session_cache *cache, const char *hostname);
/* Offers the origin's cached session, if there is one, for an abbreviated handshake: call it just before the
 * handshake starts, so that the newest session is the one offered. */
void tls_conn_resume(struct tls_conn *c);
void tls_conn_free(struct tls_conn *c);

/* Lends n bytes of ciphertext (read after `in`) until tls_keep, which copies what mbedTLS left of them into `in`.
 * Returns 0, or -1 when `in` cannot take the rest (its limit, or memory). */
void tls_lend(struct tls_conn *c, const char *p, size_t n);
int tls_keep(struct tls_conn *c);
/* Ciphertext received and not yet read by mbedTLS (in `in` or lent). */
static inline size_t tls_buffered(const struct tls_conn *c) { return buf_size(&c->in) + c->lent_len; }

/* 0 when done, TLS_AGAIN to wait for bytes, or a negative mbedTLS error. */
int tls_handshake(struct tls_conn *c);
/* Plaintext bytes read (> 0), 0 at a clean close (close_notify or EOF), TLS_AGAIN, or a negative error. */
int tls_read(struct tls_conn *c, char *p, size_t n);
/* Encrypts up to n bytes into `out`; returns bytes taken (> 0) or a negative error. */
int tls_write(struct tls_conn *c, const char *p, size_t n);
/* Queues close_notify into `out`. */
void tls_close_notify(struct tls_conn *c);
/* Whether decrypted bytes wait inside mbedTLS (a read pass stopped early must be run again). */
int tls_pending(struct tls_conn *c);
/* A human sentence for a failed handshake or I/O (certificate problems are spelled out). */
void tls_describe(struct tls_conn *c, int rc, char *out, size_t len);

#endif
