#include "tls.h"

#include <mbedtls/error.h>
#include <mbedtls/platform.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>

static const char pers[] = "anthropic-proxy";

/* Preference order: ChaCha20-Poly1305 first (mbedTLS 2.28 runs GCM a 16-byte block at a time through its generic
 * cipher layer; its ChaCha20-Poly1305 costs 19% fewer instructions per 4 KB streamed answer and less CPU time under
 * load; on arm64, not measured here, mbedTLS 2.28 has no AES instruction path at all), ECDHE only (forward secrecy),
 * and the fast curves first: mbedTLS's default would pick P-521, which costs 50M instructions more per full
 * handshake. */
static const int ciphersuites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0};
static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
					      MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
static const int sig_hashes[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512, MBEDTLS_MD_NONE};

int tls_ctx_init(struct tls_ctx *ctx, const char *ca_file, char *err, size_t errlen)
{
	mbedtls_ssl_config_init(&ctx->conf);
	mbedtls_x509_crt_init(&ctx->ca);
	mbedtls_entropy_init(&ctx->entropy);
	mbedtls_ctr_drbg_init(&ctx->drbg);

	int rc = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy, (const unsigned char *)pers,
				       sizeof pers - 1);
	if (rc) {
		snprintf(err, errlen, "cannot seed the random generator (mbedtls -0x%04x)", -rc);
		return -1;
	}
	rc = mbedtls_x509_crt_parse_file(&ctx->ca, ca_file);
	/* A positive result counts certificates that did not parse; a bundle is fine while some did. */
	if (rc < 0 || ctx->ca.version == 0) {
		char e[128];
		mbedtls_strerror(rc, e, sizeof e);
		snprintf(err, errlen, "cannot load CA bundle '%s': %s", ca_file, e);
		return -1;
	}
	rc = mbedtls_ssl_config_defaults(&ctx->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc) {
		snprintf(err, errlen, "cannot set up TLS (mbedtls -0x%04x)", -rc);
		return -1;
	}
	/* Debian's mbedTLS 2.28 still allows TLS 1.0/1.1: refuse them here. */
	mbedtls_ssl_conf_min_version(&ctx->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
	mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
	mbedtls_ssl_conf_session_tickets(&ctx->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	mbedtls_ssl_conf_ciphersuites(&ctx->conf, ciphersuites);
	mbedtls_ssl_conf_curves(&ctx->conf, curves);
	mbedtls_ssl_conf_sig_hashes(&ctx->conf, sig_hashes);
	return 0;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	mbedtls_ssl_config_free(&ctx->conf);
	mbedtls_x509_crt_free(&ctx->ca);
	mbedtls_ctr_drbg_free(&ctx->drbg);
	mbedtls_entropy_free(&ctx->entropy);
}

static int bio_send(void *arg, const unsigned char *p, size_t n)
{
	struct tls_conn *c = arg;
	if (buf_append(&c->out, p, n))
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)n;
}

static int bio_recv(void *arg, unsigned char *p, size_t n)
{
	struct tls_conn *c = arg;
	int kept = buf_size(&c->in) > 0; /* bytes kept from an earlier pass come before the lent ones */
	size_t have = kept ? buf_size(&c->in) : c->lent_len;
	if (have == 0)
		return c->eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
	if (n > have)
		n = have;
	memcpy(p, kept ? buf_ptr(&c->in) : c->lent, n);
	if (kept) {
		buf_consume(&c->in, n);
	} else {
		c->lent += n;
		c->lent_len -= n;
	}
	return (int)n;
}

void tls_lend(struct tls_conn *c, const char *p, size_t n)
{
	c->lent = p;
	c->lent_len = n;
}

int tls_keep(struct tls_conn *c)
{
	int rc = c->lent_len ? buf_append(&c->in, c->lent, c->lent_len) : 0;
	c->lent = NULL;
	c->lent_len = 0;
	if (buf_size(&c->in) == 0)
		buf_free(&c->in); /* a pass usually takes everything: idle connections keep no input buffer */
	return rc;
}

void tls_session_cache_init(struct tls_session_cache *sc)
{
	mbedtls_ssl_session_init(&sc->session);
	sc->have = 0;
}

void tls_session_cache_free(struct tls_session_cache *sc)
{
	mbedtls_ssl_session_free(&sc->session);
	sc->have = 0;
}

int tls_conn_init(struct tls_conn *c, struct tls_ctx *ctx, struct tls_session_cache *cache, const char *hostname)
{
	mbedtls_ssl_init(&c->ssl);
	c->cache = cache;
	/* Ciphertext in: a record is at most ~16.7 KB; allow a few in flight. Out: bounded by the caller's pacing. */
	buf_init(&c->in, 256 * 1024);
	buf_init(&c->out, 0);
	c->lent = NULL;
	c->lent_len = 0;
	c->eof = 0;
	c->resuming = 0;
	int rc = mbedtls_ssl_setup(&c->ssl, &ctx->conf);
	if (rc)
		return rc;
	rc = mbedtls_ssl_set_hostname(&c->ssl, hostname);
	if (rc)
		return rc;
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return 0;
}

void tls_conn_resume(struct tls_conn *c)
{
	/* A refused session means a full handshake, nothing worse. */
	if (c->cache->have)
		c->resuming = mbedtls_ssl_set_session(&c->ssl, &c->cache->session) == 0;
}

void tls_conn_free(struct tls_conn *c)
{
	mbedtls_ssl_free(&c->ssl);
	buf_free(&c->in);
	buf_free(&c->out);
}

/* The server's certificate chain is verified during the handshake and never looked at again (renegotiation is off),
 * yet mbedTLS 2 keeps its parsed copy in the session, ~1.6 KB per connection, and re-parses it for every resumed
 * connection. Dropped once the handshake is done: the cached session, and each connection resumed from it, carry
 * none. */
static void drop_peer_cert(mbedtls_ssl_context *ssl)
{
#if MBEDTLS_VERSION_MAJOR == 2 && defined(MBEDTLS_SSL_KEEP_PEER_CERTIFICATE)
	if (ssl->session && ssl->session->peer_cert) {
		mbedtls_x509_crt_free(ssl->session->peer_cert);
		mbedtls_free(ssl->session->peer_cert);
		ssl->session->peer_cert = NULL;
	}
#else
	(void)ssl;
#endif
}

int tls_handshake(struct tls_conn *c)
{
	int rc = mbedtls_ssl_handshake(&c->ssl);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_AGAIN;
	if (rc == 0) {
		drop_peer_cert(&c->ssl);
		/* Keep the session for the next connection; a failure only costs a full handshake later. */
		tls_session_cache_free(c->cache);
		tls_session_cache_init(c->cache);
		c->cache->have = mbedtls_ssl_get_session(&c->ssl, &c->cache->session) == 0;
	}
	return rc;
}

int tls_read(struct tls_conn *c, char *p, size_t n)
{
	int rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)p, n);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_AGAIN;
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	return rc;
}

int tls_write(struct tls_conn *c, const char *p, size_t n)
{
	int rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)p, n);
	/* The memory BIO always accepts, so WANT_WRITE cannot happen; anything else is an error. */
	return rc == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : rc;
}

void tls_close_notify(struct tls_conn *c) { (void)mbedtls_ssl_close_notify(&c->ssl); }

int tls_pending(struct tls_conn *c)
{
	return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl);
}

void tls_describe(struct tls_conn *c, int rc, char *out, size_t len)
{
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
		char info[512];
		int n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
		/* verify_info separates reasons with newlines; join them into one sentence. */
		for (int i = 0; i < n; i++)
			if (info[i] == '\n')
				info[i] = (i == n - 1) ? 0 : ';';
		snprintf(out, len, "certificate verification failed: %s", n > 0 ? info : "unknown reason");
		return;
	}
	char e[160];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(out, len, "%s", e);
}
