/* Mbed TLS 3.6 configuration for anthropic-proxy: a TLS 1.2 + 1.3 client and nothing else.
 *
 * Used instead of the library's default include/mbedtls/mbedtls_config.h through -DMBEDTLS_CONFIG_FILE (the library
 * and every file of the project that includes an Mbed TLS header are compiled with it: deps/mbedtls.mk). The
 * library's check_config.h, included after this file, rejects any combination that lacks a prerequisite. What is
 * not named here is off: no server side, no DTLS, no renegotiation, nothing below TLS 1.2, no static-RSA or plain-PSK
 * key exchange, no CBC, no debug code or strings, no file-system key store, no threads (one loop, one thread).
 *
 * Each group says why it is here; keep src/tls.c's cipher suites, groups and signature algorithms within it. */
#ifndef AP_MBEDTLS_CONFIG_H
#define AP_MBEDTLS_CONFIG_H

/* ---- platform ---- */
#define MBEDTLS_HAVE_ASM            /* bignum and AES-NI assembly */
#define MBEDTLS_HAVE_TIME           /* session ticket lifetimes */
#define MBEDTLS_HAVE_TIME_DATE      /* certificate validity periods (gmtime_r) */
#define MBEDTLS_PLATFORM_C          /* mbedtls_calloc/free, mbedtls_platform_zeroize */
#define MBEDTLS_FS_IO               /* the CA bundle is read from a file (mbedtls_x509_crt_parse_file) */
#define MBEDTLS_ENTROPY_C           /* getrandom(2), seeding PSA's generator */
#define MBEDTLS_CTR_DRBG_C          /* PSA's generator, also the TLS layer's (mbedtls_psa_get_random) */

/* ---- record ciphers: AES-GCM and ChaCha20-Poly1305, AEAD only ---- */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
/* Hardware AES, chosen at run time (cpuid / HWCAP) with the portable tables as the fallback: AES-NI + PCLMULQDQ on
 * x86-64 (deps/mbedtls.mk builds the AES files with -maes -mpclmul for the intrinsics; the library still checks the
 * CPU before it uses them) and the Armv8 crypto extensions on arm64. No decryption-only or CBC modes are needed. */
#define MBEDTLS_AESNI_C
#define MBEDTLS_AESCE_C

/* ---- hashes: SHA-256 and SHA-384 (PRF, HKDF, handshake transcript, certificate signatures) ---- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C            /* check_config: SHA-256's code is shared with SHA-224 */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C            /* SHA-384's code; also certificates signed with SHA-512 */
#define MBEDTLS_HKDF_C              /* TLS 1.3 key schedule */

/* ---- public keys: ECDHE on X25519, P-256, P-384; ECDSA and RSA (PKCS#1 v1.5, PSS) verification ---- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM      /* faster P-256/P-384 reduction */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21           /* RSA-PSS: TLS 1.3 signs with it even with RSA certificates */
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C        /* ECDSA signatures are re-encoded between PSA and ASN.1 */
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C         /* the CA bundle is PEM */

/* ---- X.509: parse and verify chains; DNS and IP subject alternative names ---- */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT /* certificates signed with RSA-PSS */
/* MBEDTLS_X509_REMOVE_INFO stays off: mbedtls_x509_crt_verify_info spells out why a chain was refused. */

/* ---- messages: mbedtls_strerror() names the failure in the log line and in the 502's message ("SSL - ...",
 * "X509 - ..."). About 25 KB of strings, kept: "TLS handshake failed: -0x7780" tells an operator nothing. No
 * MBEDTLS_DEBUG_C (its debug strings and hooks). ---- */
#define MBEDTLS_ERROR_C
#define MBEDTLS_VERSION_C /* mbedtls_version_get_string_full() for --version */

/* ---- PSA crypto: the TLS 1.3 key schedule and key exchange run on it (psa_crypto_init() at start) ---- */
#define MBEDTLS_PSA_CRYPTO_C
/* Every TLS 1.3 handshake holds PSA keys (its ECDHE key, the handshake secrets): a fixed store of 32 slots fails
 * bursts of concurrent handshakes with "Memory allocation failed"; the dynamic store grows with them. */
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC
/* MBEDTLS_USE_PSA_CRYPTO stays off: TLS 1.2 and X.509 use the classic API, and records are sealed by a cipher
 * context keyed once per connection instead of a PSA key looked up for every record. */

/* ---- TLS: client, 1.2 and 1.3 ---- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE /* RFC 8446 D.4: middleboxes that drop unknown-looking handshakes */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED /* resumption, with a fresh ECDHE (psk_dhe_ke) */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET   /* RFC 7627, TLS 1.2 */
#define MBEDTLS_SSL_SESSION_TICKETS          /* resumption without server-side state, both versions */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE    /* check_config: TLS 1.3 in 3.6 requires it */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES       /* tell the server why a handshake is refused */

/* Record buffers (allocated per connection by mbedtls_ssl_setup). In: a server may send full 16 KB records (no
 * max_fragment_length here, and few servers honour it), so it stays 16384. Out: what the proxy sends is a request
 * head and body; 4 KB records cost one more 29-byte header and one more cipher call per 4 KB of a large body, and
 * save 12 KB per connection, idle pooled ones included (see test/bench/RESULTS.md). */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#endif
