#include "tls.h"

#include <mbedtls/error.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/version.h>
#include <psa/crypto.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

/* Preference order follows the hardware. With AES instructions (Mbed TLS 3.6 uses AES-NI + PCLMULQDQ on x86-64 and
 * the Armv8 crypto extensions on arm64, chosen at run time), AES-GCM costs a fraction of ChaCha20-Poly1305, which
 * Mbed TLS runs in portable C; without them AES-GCM falls back to table lookups and ChaCha20 is the faster one (and
 * free of cache-timing leaks). ECDHE only (forward secrecy), AEAD only. TLS 1.3's suites are listed with TLS 1.2's
 * (one list serves both; each version picks its own). */
static const int suites_aes[] = {
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0};
static const int suites_chacha[] = {
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0};
/* Key exchange groups, the fast ones first (X25519 costs a fraction of P-384; P-521 is not built in). */
static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
				  MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
/* Signatures the proxy accepts from the server and in certificate chains (the same code points serve TLS 1.2's
 * hash/signature pairs): ECDSA on the built-in curves, RSA-PSS (TLS 1.3 signs with it) and PKCS#1 v1.5 (chains). */
static const uint16_t sig_algs[] = {
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
	MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
	MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,    MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
	MBEDTLS_TLS1_3_SIG_NONE};

const int *tls_ciphersuites(int hw_aes) { return hw_aes ? suites_aes : suites_chacha; }

int tls_cpu_has_aes(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_PCLMUL);
#elif defined(__aarch64__) && defined(__linux__)
	unsigned long hw = getauxval(AT_HWCAP);
	return (hw & HWCAP_AES) && (hw & HWCAP_PMULL);
#else
	return 0;
#endif
}

const char *tls_library_version(void)
{
	static char v[32];
	mbedtls_version_get_string_full(v); /* the library's own word: the code linked in, not the header compiled against */
	return v;
}

int tls_ctx_init(struct tls_ctx *ctx, const char *ca_file, char *err, size_t errlen)
{
	mbedtls_ssl_config_init(&ctx->conf);
	mbedtls_x509_crt_init(&ctx->ca);
	ctx->hw_aes = tls_cpu_has_aes();

	/* TLS 1.3's key schedule and key exchange run on PSA, and so does the random generator used below. Calling it
	 * again is harmless; it happens once, at start. */
	psa_status_t st = psa_crypto_init();
	if (st != PSA_SUCCESS) {
		snprintf(err, errlen, "cannot initialise PSA crypto (status %d)", (int)st);
		return -1;
	}
	int rc = mbedtls_x509_crt_parse_file(&ctx->ca, ca_file);
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
	mbedtls_ssl_conf_min_tls_version(&ctx->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&ctx->conf, MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
	mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
	mbedtls_ssl_conf_session_tickets(&ctx->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	/* TLS 1.3 tickets come after the handshake; without this they are dropped and nothing is ever resumed. */
	mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(&ctx->conf,
								 MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
	/* Resumption with a fresh key exchange (psk_dhe_ke) or a full one; never a bare PSK (no forward secrecy). */
	mbedtls_ssl_conf_tls13_key_exchange_modes(&ctx->conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ALL);
	mbedtls_ssl_conf_ciphersuites(&ctx->conf, tls_ciphersuites(ctx->hw_aes));
	mbedtls_ssl_conf_groups(&ctx->conf, groups);
	mbedtls_ssl_conf_sig_algs(&ctx->conf, sig_algs);
	return 0;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	mbedtls_ssl_config_free(&ctx->conf);
	mbedtls_x509_crt_free(&ctx->ca);
}

static int bio_send(void *arg, const unsigned char *p, size_t n)
{
	struct tls_conn *c = arg;
	if (buf_append(&c->t.out, p, n))
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)n;
}

static int bio_recv(void *arg, unsigned char *p, size_t n)
{
	struct tls_conn *c = arg;
	size_t got = transport_take(&c->t, p, n);
	return got ? (int)got : c->t.eof ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
}

void tls_session_cache_init(struct tls_session_cache *sc)
{
	mbedtls_ssl_session_init(&sc->session);
	sc->have = 0;
	sc->saved = 0;
}

void tls_session_cache_free(struct tls_session_cache *sc)
{
	mbedtls_ssl_session_free(&sc->session);
	sc->have = 0;
}

/* Keeps the connection's session for the next connection to the origin, replacing the older one; a failure only
 * costs a full handshake later. */
static void save_session(struct tls_conn *c)
{
	struct tls_session_cache *sc = c->cache;
	mbedtls_ssl_session_free(&sc->session);
	mbedtls_ssl_session_init(&sc->session);
	sc->have = mbedtls_ssl_get_session(&c->ssl, &sc->session) == 0;
	sc->saved += (uint64_t)sc->have;
}

static const struct transport_ops tls_ops;

static struct tls_conn *conn_of(const struct transport *t) { return (struct tls_conn *)(uintptr_t)t; }

int tls_conn_init(struct tls_conn *c, struct tls_ctx *ctx, struct tls_session_cache *cache, const char *hostname)
{
	c->t.ops = &tls_ops;
	/* Ciphertext in: a record is at most ~16.7 KB; a few may be in flight. Out: bounded by the caller's pacing. */
	transport_buffers_init(&c->t);
	mbedtls_ssl_init(&c->ssl);
	c->cache = cache;
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

static void tls_resume(struct transport *t)
{
	struct tls_conn *c = conn_of(t);
	/* A refused session means a full handshake, nothing worse. */
	if (c->cache->have)
		c->resuming = mbedtls_ssl_set_session(&c->ssl, &c->cache->session) == 0;
}

static void tls_free(struct transport *t)
{
	struct tls_conn *c = conn_of(t);
	mbedtls_ssl_free(&c->ssl);
	buf_free(&t->in);
	buf_free(&t->out);
}

static int is_13(const struct tls_conn *c)
{
	return mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
}

static int tls_handshake(struct transport *t)
{
	struct tls_conn *c = conn_of(t);
	int rc;
	while ((rc = mbedtls_ssl_handshake(&c->ssl)) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
		save_session(c);
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TRANSPORT_AGAIN;
	/* TLS 1.2: the session (and its ticket, if the server sent one) is complete now. TLS 1.3: it is not resumable
	 * until a NewSessionTicket arrives (tls_read). */
	if (rc == 0 && !is_13(c))
		save_session(c);
	return rc;
}

static int tls_read(struct transport *t, char *p, size_t n)
{
	struct tls_conn *c = conn_of(t);
	int rc, kept = 0;
	/* RFC 8446 4.6.1: a TLS 1.3 server sends tickets after the handshake, usually in the first flight after it.
	 * Mbed TLS meets one as WANT_READ, with the message kept and the rest of the input untouched; the next call
	 * processes it and says RECEIVED_NEW_SESSION_TICKET; the one after goes on reading. So a WANT_READ is believed
	 * the second time in a row (the second call costs nothing when the input is really empty). */
	for (;;) {
		rc = mbedtls_ssl_read(&c->ssl, (unsigned char *)p, n);
		if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
			save_session(c);
			kept = 0;
		} else if (rc != MBEDTLS_ERR_SSL_WANT_READ || kept++) {
			break;
		}
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TRANSPORT_AGAIN;
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return rc;
}

static int tls_write(struct transport *t, const char *p, size_t n)
{
	struct tls_conn *c = conn_of(t);
	int rc = mbedtls_ssl_write(&c->ssl, (const unsigned char *)p, n);
	/* The memory BIO always accepts, so WANT_WRITE cannot happen; anything else is an error. */
	return rc == 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : rc;
}

static void tls_close_notify(struct transport *t) { (void)mbedtls_ssl_close_notify(&conn_of(t)->ssl); }

static int tls_pending(struct transport *t)
{
	struct tls_conn *c = conn_of(t);
	return mbedtls_ssl_get_bytes_avail(&c->ssl) > 0 || mbedtls_ssl_check_pending(&c->ssl);
}

static void tls_describe(struct transport *t, int rc, char *out, size_t len)
{
	struct tls_conn *c = conn_of(t);
	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
		char info[512] = "", name[320] = "";
		/* The library words a name mismatch as "Common Name (CN) does not match", yet it compares the subject
		 * alternative names (DNS names, or IP addresses for an IP literal) and the CN only when there are none:
		 * say what was looked for instead. */
		if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
			const char *host = mbedtls_ssl_get_hostname(&c->ssl);
			snprintf(name, sizeof name, "the certificate does not name '%s'%s", host ? host : "?",
				 flags & ~MBEDTLS_X509_BADCERT_CN_MISMATCH ? "; " : "");
			flags &= ~MBEDTLS_X509_BADCERT_CN_MISMATCH;
		}
		int n = flags ? mbedtls_x509_crt_verify_info(info, sizeof info, "", flags) : 0;
		/* verify_info separates reasons with newlines; join them into one sentence. */
		for (int i = 0; i < n; i++)
			if (info[i] == '\n')
				info[i] = (i == n - 1) ? 0 : ';';
		snprintf(out, len, "certificate verification failed: %s%s", name,
			 n > 0 ? info : *name ? "" : "unknown reason");
		return;
	}
	char e[160];
	mbedtls_strerror(rc, e, sizeof e);
	snprintf(out, len, "%s", e);
}

static const char *tls_version(const struct transport *t) { return mbedtls_ssl_get_version(&conn_of(t)->ssl); }

static const char *tls_cipher(const struct transport *t) { return mbedtls_ssl_get_ciphersuite(&conn_of(t)->ssl); }

static int tls_full_handshake(const struct transport *t) { return !conn_of(t)->resuming; }

static int tls_late_session(const struct transport *t) { return is_13(conn_of(t)); }

static const struct transport_ops tls_ops = {
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.pending = tls_pending,
	.close_notify = tls_close_notify,
	.describe = tls_describe,
	.resume = tls_resume,
	.full_handshake = tls_full_handshake,
	.late_session = tls_late_session,
	.version = tls_version,
	.cipher = tls_cipher,
	.free = tls_free,
};
