/* tls: the TLS implementation of the transport (transport.h): an Mbed TLS 3.6 client session (TLS 1.2 or 1.3)
 * over the transport's memory buffers. The socket belongs to the caller (upstream), which speaks to a connection
 * only through transport_* calls.
 *
 * tls_ctx is shared by every connection to every origin (CA chain, settings: TLS 1.2 to 1.3, verification
 * required; randomness from PSA, so psa_crypto_init() must have run: tls_ctx_init does it). A tls_session_cache
 * belongs to one origin: it remembers the last session so new connections to that origin resume instead of doing a
 * full handshake (a session is never offered to another host). A TLS 1.2 session is known when the handshake ends;
 * a TLS 1.3 one only when the server's NewSessionTicket arrives after it, which reading takes in passing. */
#ifndef AP_TLS_H
#define AP_TLS_H

#include "transport.h"

#include <stdint.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

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
	struct transport t;      /* the transport interface and its buffers (first: the ops recover the conn) */
	mbedtls_ssl_context ssl; /* the session */
	struct tls_session_cache *cache; /* the origin's resumption cache (not owned) */
	unsigned resuming : 1;   /* a cached session is offered: the handshake may be abbreviated */
};

/* Initialises PSA crypto, loads the CA bundle and sets up the shared config. On failure `err` says why;
 * tls_ctx_free is safe after. */
int tls_ctx_init(struct tls_ctx *ctx, const char *ca_file, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

void tls_session_cache_init(struct tls_session_cache *sc);
void tls_session_cache_free(struct tls_session_cache *sc);

/* Starts a client session verifying `hostname` (always set: mbedTLS skips the name check when it is not); from here
 * on the connection is used as &c->t. On failure transport_free(&c->t) is still due. */
int tls_conn_init(struct tls_conn *c, struct tls_ctx *ctx, struct tls_session_cache *cache, const char *hostname);

/* Cipher suites in preference order, 0-terminated: AES-GCM first when the CPU has AES instructions (hw_aes),
 * ChaCha20-Poly1305 first when it has not. Both lists hold the same suites, TLS 1.3's and TLS 1.2's. */
const int *tls_ciphersuites(int hw_aes);
/* Whether this CPU has the AES and carry-less multiply instructions Mbed TLS uses for AES-GCM (x86-64: AES-NI and
 * PCLMULQDQ; arm64: the AES and PMULL extensions). */
int tls_cpu_has_aes(void);
/* "Mbed TLS 3.6.6": the library linked in. */
const char *tls_library_version(void);

#endif
