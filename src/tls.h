/* tls: an Mbed TLS 3.6 client session (TLS 1.2 or 1.3) over memory buffers.
 *
 * The socket belongs to the caller (upstream): it appends received ciphertext to `in`, or lends a buffer of it
 * for one pass (tls_lend/tls_keep: the common case, where every byte is taken and nothing is copied or kept per
 * connection), and sends what gathers in `out`. mbedTLS never touches a file descriptor, so a WANT_READ is simply
 * "feed me more", in the way nginx's NGX_AGAIN is. Sending never blocks: the send callback always takes everything
 * into `out`, and the caller bounds `out` by not writing more plaintext until it drains.
 *
 * tls_ctx is shared by every connection to every origin (CA chain, settings: TLS 1.2 to 1.3, verification
 * required; randomness from PSA, so psa_crypto_init() must have run: tls_ctx_init does it). A tls_session_cache
 * belongs to one origin: it remembers the last session so new connections to that origin resume instead of doing a
 * full handshake (a session is never offered to another host). A TLS 1.2 session is known when the handshake ends;
 * a TLS 1.3 one only when the server's NewSessionTicket arrives after it, which tls_read takes in passing. */
#ifndef AP_TLS_H
#define AP_TLS_H

#include "buf.h"

#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TLS_AGAIN 1 /* positive: need more ciphertext in `in` */
/* Most plaintext one record carries out (MBEDTLS_SSL_OUT_CONTENT_LEN, deps/mbedtls_config.h): tls_write takes at
 * most this much per call. */
#define TLS_RECORD_MAX MBEDTLS_SSL_OUT_CONTENT_LEN

struct tls_ctx {
	mbedtls_ssl_config conf; /* shared client settings */
	mbedtls_x509_crt ca;     /* trusted CAs */
	int hw_aes;              /* the CPU seals AES-GCM in hardware: AES-GCM is offered first, else ChaCha20 */
};

struct tls_session_cache {
	mbedtls_ssl_session session; /* last session of one origin */
	int have;                    /* session holds something */
	uint64_t saved;              /* sessions saved since start (TLS 1.3: one per ticket) */
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

/* Initialises PSA crypto, loads the CA bundle and sets up the shared config. On failure `err` says why;
 * tls_ctx_free is safe after. */
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
/* Plaintext bytes read (> 0), 0 at a clean close (close_notify or EOF), TLS_AGAIN, or a negative error. A TLS 1.3
 * NewSessionTicket met on the way goes into the origin's cache, and reading goes on. */
int tls_read(struct tls_conn *c, char *p, size_t n);
/* Encrypts up to n bytes into `out`; returns bytes taken (> 0) or a negative error. */
int tls_write(struct tls_conn *c, const char *p, size_t n);
/* Queues close_notify into `out`. */
void tls_close_notify(struct tls_conn *c);
/* Whether decrypted bytes wait inside mbedTLS (a read pass stopped early must be run again). */
int tls_pending(struct tls_conn *c);
/* A human sentence for a failed handshake or I/O (certificate problems are spelled out). */
void tls_describe(struct tls_conn *c, int rc, char *out, size_t len);
/* After the handshake: the protocol ("TLSv1.3") and the cipher suite (IANA-like name, "TLS1-3-AES-128-GCM-SHA256").
 * Static strings from the library's tables (a bounded set: usable as metric labels). */
const char *tls_version(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);
/* Whether the negotiated protocol is TLS 1.3 (whose session, if any, comes with a ticket after the handshake). */
int tls_is_13(const struct tls_conn *c);

/* Cipher suites in preference order, 0-terminated: AES-GCM first when the CPU has AES instructions (hw_aes),
 * ChaCha20-Poly1305 first when it has not. Both lists hold the same suites, TLS 1.3's and TLS 1.2's. */
const int *tls_ciphersuites(int hw_aes);
/* Whether this CPU has the AES and carry-less multiply instructions Mbed TLS uses for AES-GCM (x86-64: AES-NI and
 * PCLMULQDQ; arm64: the AES and PMULL extensions). */
int tls_cpu_has_aes(void);
/* "Mbed TLS 3.6.6": the library linked in. */
const char *tls_library_version(void);

#endif
