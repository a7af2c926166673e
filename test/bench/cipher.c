/* cipher: what the TLS record cipher costs the proxy, per record, in the vendored Mbed TLS 3.6 (deps/mbedtls, built
 * with the project's config: AES-NI / Armv8 AES when the CPU has them, as in the proxy).
 *
 * Usage: cipher BYTES...   prints one JSON object: {"chacha20-poly1305": {"BYTES": us, ...}, "aes-128-gcm": {...}}
 *
 * Each record is sealed the way Mbed TLS's record layer seals it (mbedtls_cipher_auth_encrypt_ext: 13-byte additional
 * data, 12-byte nonce, 16-byte tag), in a loop long enough (~0.3 s per size) for the clock to be exact. run.sh puts
 * these figures next to `openssl speed` for the same sizes: the bulk cipher is where the proxy's TLS library and
 * nginx's/HAProxy's differ most. */
#define _POSIX_C_SOURCE 200809L
#include <mbedtls/cipher.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Microseconds to seal one record of n bytes, or a negative value when the cipher is missing. */
static double seal_us(mbedtls_cipher_type_t type, size_t n)
{
	static unsigned char in[16384], out[16384 + 16], key[32], nonce[12], ad[13];
	const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(type);
	mbedtls_cipher_context_t ctx;
	mbedtls_cipher_init(&ctx);
	if (!info || n > sizeof in || mbedtls_cipher_setup(&ctx, info) ||
	    mbedtls_cipher_setkey(&ctx, key, mbedtls_cipher_get_key_bitlen(&ctx), MBEDTLS_ENCRYPT)) {
		mbedtls_cipher_free(&ctx);
		return -1;
	}
	long iters = 0;
	size_t olen;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 64; i++, iters++) {
			nonce[0] = (unsigned char)iters; /* a fresh nonce per record, as in TLS */
			mbedtls_cipher_auth_encrypt_ext(&ctx, nonce, sizeof nonce, ad, sizeof ad, in, n, out,
			                                sizeof out, &olen, 16);
		}
		t = now() - t0;
	} while (t < 0.3);
	mbedtls_cipher_free(&ctx);
	return t / (double)iters * 1e6;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		mbedtls_cipher_type_t type;
	} ciphers[] = {{"chacha20-poly1305", MBEDTLS_CIPHER_CHACHA20_POLY1305},
	               {"aes-128-gcm", MBEDTLS_CIPHER_AES_128_GCM}};
	if (argc < 2) {
		fprintf(stderr, "usage: cipher BYTES...\n");
		return 2;
	}
	printf("{");
	for (size_t c = 0; c < sizeof ciphers / sizeof ciphers[0]; c++) {
		printf("%s\"%s\": {", c ? ", " : "", ciphers[c].name);
		for (int i = 1; i < argc; i++)
			printf("%s\"%s\": %.3f", i > 1 ? ", " : "", argv[i],
			       seal_us(ciphers[c].type, strtoul(argv[i], NULL, 10)));
		printf("}");
	}
	printf("}\n");
	return 0;
}
