# Mbed TLS: the vendored 3.6 LTS copy in deps/mbedtls/ (see deps/README.md), configured by deps/mbedtls_config.h.
# The library's own Makefile wants its code generators and Python; its sources already hold the generated files, so
# library/*.c is compiled here with its own flags (third-party code: no -Werror) into three archives, like llhttp.
MBEDTLS_DIR := deps/mbedtls
MBEDTLS_CPPFLAGS := -I$(MBEDTLS_DIR)/include -DMBEDTLS_CONFIG_FILE='"$(CURDIR)/deps/mbedtls_config.h"'
MBEDTLS_SRC := $(wildcard $(MBEDTLS_DIR)/library/*.c)
MBEDTLS_X509_SRC := $(filter $(MBEDTLS_DIR)/library/x509%.c $(MBEDTLS_DIR)/library/pkcs7.c,$(MBEDTLS_SRC))
MBEDTLS_TLS_SRC := $(filter $(MBEDTLS_DIR)/library/ssl_%.c $(MBEDTLS_DIR)/library/debug.c \
	$(MBEDTLS_DIR)/library/mps_%.c $(MBEDTLS_DIR)/library/net_sockets.c,$(MBEDTLS_SRC))
MBEDTLS_CRYPTO_SRC := $(filter-out $(MBEDTLS_X509_SRC) $(MBEDTLS_TLS_SRC),$(MBEDTLS_SRC))
mbedtls_obj = $(patsubst $(MBEDTLS_DIR)/library/%.c,$(BUILD)/deps/mbedtls/%.o,$(1))
# Link order: TLS, then X.509, then crypto.
MBEDTLS_LIB := $(BUILD)/deps/libmbedtls.a $(BUILD)/deps/libmbedx509.a $(BUILD)/deps/libmbedcrypto.a

# x86-64: -maes -mpclmul select the library's AES-NI intrinsics (library/aesni.h) over its inline assembly; they let
# the compiler emit those instructions only where the intrinsics are, and the library calls that code only after
# cpuid said the CPU has them, so the binary still runs, on the portable code, on a CPU without them. They must
# apply to every file (aes.c aligns its round keys for the intrinsics). aesni.c alone also gets -msse4.1: every CPU
# with AES-NI has SSE4.1, its only other function is the cpuid check (plain code), and its GHASH then seals a 2 KB
# record with AES-128-GCM in ~4.5 µs instead of ~6.5 (test/bench/cipher.c). arm64: aesce.c sets its own target.
MBEDTLS_X86_64 := $(filter x86_64 amd64,$(shell $(CC) -dumpmachine 2>/dev/null | cut -d- -f1))
MBEDTLS_ARCH_FLAGS := $(if $(MBEDTLS_X86_64),-maes -mpclmul)
$(BUILD)/deps/mbedtls/aesni.o: MBEDTLS_ARCH_FLAGS += $(if $(MBEDTLS_X86_64),-msse4.1)

$(BUILD)/deps/mbedtls/%.o: $(MBEDTLS_DIR)/library/%.c deps/mbedtls_config.h
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 -g $(MBEDTLS_ARCH_FLAGS) $(SAN_FLAGS) $(FUZZ_FLAGS) $(MBEDTLS_CPPFLAGS) -I$(MBEDTLS_DIR)/library \
		-MMD -MP -c $< -o $@

$(BUILD)/deps/libmbedcrypto.a: $(call mbedtls_obj,$(MBEDTLS_CRYPTO_SRC))
$(BUILD)/deps/libmbedx509.a: $(call mbedtls_obj,$(MBEDTLS_X509_SRC))
$(BUILD)/deps/libmbedtls.a: $(call mbedtls_obj,$(MBEDTLS_TLS_SRC))
$(MBEDTLS_LIB):
	@rm -f $@
	$(AR) rcs $@ $^

-include $(patsubst %.o,%.d,$(call mbedtls_obj,$(MBEDTLS_SRC)))
