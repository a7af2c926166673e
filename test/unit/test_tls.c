/* tls: the cipher preference (pure) and the shared context's set-up. */
#include "tls.h"
#include "unit.h"

#include <mbedtls/ssl_ciphersuites.h>

/* Index of the first suite of a protocol family ("TLS1-3-" or "TLS-ECDHE-") in a list, -1 when none. */
static int first_of(const int *l, const char *prefix)
{
	for (int i = 0; l[i]; i++)
		if (strncmp(mbedtls_ssl_get_ciphersuite_name(l[i]), prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

TEST(test_tls_cipher_order_follows_hardware)
{
	static const struct {
		int hw_aes;
		const char *first13, *first12_has;
	} cases[] = {
		{1, "TLS1-3-AES-128-GCM-SHA256", "AES-128-GCM"},
		{0, "TLS1-3-CHACHA20-POLY1305-SHA256", "CHACHA20-POLY1305"},
	};
	const int *aes = tls_ciphersuites(1), *chacha = tls_ciphersuites(0);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const int *l = tls_ciphersuites(cases[k].hw_aes);
		int i13 = first_of(l, "TLS1-3-"), i12 = first_of(l, "TLS-ECDHE-");
		CHECK(i13 >= 0 && i12 >= 0);
		CHECK_STR(mbedtls_ssl_get_ciphersuite_name(l[i13]), cases[k].first13);
		CHECK_CONTAINS(mbedtls_ssl_get_ciphersuite_name(l[i12]), cases[k].first12_has);
		/* Every suite is built into the library and is an AEAD one with forward secrecy (or TLS 1.3's). */
		for (int i = 0; l[i]; i++) {
			const char *n = mbedtls_ssl_get_ciphersuite_name(l[i]);
			CHECK(mbedtls_ssl_ciphersuite_from_id(l[i]) != NULL);
			CHECK(strncmp(n, "TLS1-3-", 7) == 0 || strncmp(n, "TLS-ECDHE-", 10) == 0);
			CHECK(strstr(n, "GCM") || strstr(n, "CHACHA20-POLY1305"));
		}
	}
	/* The two orders hold the same suites. */
	int n = 0;
	for (; aes[n]; n++) {
		int found = 0;
		for (int j = 0; chacha[j]; j++)
			found |= chacha[j] == aes[n];
		CHECK(found);
	}
	int m = 0;
	while (chacha[m])
		m++;
	CHECK_INT(n, m);
	CHECK_INT(n, 9);
}

TEST(test_tls_ctx_reports_a_bad_ca_bundle)
{
	struct tls_ctx ctx;
	char err[256] = "";
	CHECK(tls_ctx_init(&ctx, "/nonexistent/ca.pem", err, sizeof err) != 0);
	tls_ctx_free(&ctx);
	CHECK_CONTAINS(err, "cannot load CA bundle '/nonexistent/ca.pem'");
	CHECK_CONTAINS(err, "file failed"); /* mbedtls_strerror's words, not a bare number */
	CHECK_CONTAINS(tls_library_version(), "Mbed TLS 3.6.");
}
