# anthropic-proxy: plain GNU Makefile. `make` builds; `make run` and `make test` also install missing packages.
CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
VERSION := 0.1.0

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
CPPFLAGS += -D_GNU_SOURCE -DAP_VERSION='"$(VERSION)"' -Isrc -I$(LLHTTP_INC) $(MBEDTLS_CPPFLAGS) \
	$(shell $(PKG_CONFIG) --cflags libuv 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs libuv 2>/dev/null || echo -luv) -lyajl -lz -lhiredis
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SAN_FLAGS) -MMD -MP

.PHONY: all deps deps-test run test unit integration clean format static bench fuzz valgrind mbedtls install uninstall
all: $(BUILD)/anthropic-proxy

include deps/llhttp.mk
include deps/mbedtls.mk
# The vendored Mbed TLS alone (test/fuzz/run.sh and test/bench/run.sh build it into their own BUILD).
mbedtls: $(MBEDTLS_LIB)

SRC := $(wildcard src/*.c)
LIB_SRC := $(filter-out src/main.c,$(SRC))
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
LIB_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
UNIT_SRC := $(wildcard test/unit/*.c)
UNIT_OBJ := $(patsubst test/unit/%.c,$(BUILD)/obj/unit/%.o,$(UNIT_SRC))

BIN := $(BUILD)/anthropic-proxy
UNIT := $(BUILD)/unit-tests

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/unit/%.o: test/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BIN): $(OBJ) $(LLHTTP_LIB) $(MBEDTLS_LIB)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A fully static binary for scratch images: glibc's static libc (2.36 has the files and dns resolvers built in, so
# name resolution needs no NSS modules at run time, only /etc/hosts and /etc/resolv.conf), the packaged .a files
# and the vendored Mbed TLS.
STATIC_LIBS := -l:libuv_a.a -l:libyajl_s.a -l:libz.a -l:libhiredis.a -lpthread -ldl
static: $(BUILD)/anthropic-proxy-static
$(BUILD)/anthropic-proxy-static: $(OBJ) $(LLHTTP_LIB) $(MBEDTLS_LIB)
	$(CC) $(CFLAGS) -static -s $(LDFLAGS) -o $@ $^ $(STATIC_LIBS) 2>&1 | grep -v -e 'statically linked applications requires' -e ': in function' >&2 || true
	@test -x $@

$(UNIT): $(UNIT_OBJ) $(LIB_OBJ) $(LLHTTP_LIB) $(MBEDTLS_LIB)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@deps/install.sh build

deps-test:
	@deps/install.sh build test

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the binary, the man page and the systemd unit (whose ExecStart is
# pointed at the installed binary). Builds nothing but the binary.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/anthropic-proxy
	install -m 0644 deploy/man/anthropic-proxy.1 $(DESTDIR)$(MANDIR)/man1/anthropic-proxy.1
	sed 's|/usr/local/bin/anthropic-proxy|$(BINDIR)/anthropic-proxy|' deploy/systemd/anthropic-proxy.service \
		>$(DESTDIR)$(UNITDIR)/anthropic-proxy.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/anthropic-proxy.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/anthropic-proxy $(DESTDIR)$(MANDIR)/man1/anthropic-proxy.1 \
		$(DESTDIR)$(UNITDIR)/anthropic-proxy.service

# Starts the proxy with its defaults (credentials from Claude Code's file or CLAUDE_CODE_OAUTH_TOKEN).
run: deps
	@$(MAKE) --no-print-directory $(BIN)
	exec $(BIN) $(ARGS)

# Every test; the last line printed is the summary `N passed, M failed`.
test: deps-test
	@$(MAKE) --no-print-directory $(BIN) $(UNIT)
	@test/run $(BUILD)

unit: $(UNIT)
	$(UNIT)

integration: $(BIN)
	python3 test/integration/run.py --binary $(BIN) $(if $(K),-k $(K))

# wrk against this proxy, nginx and HAProxy side by side (not part of `make test`).
bench: deps
	@$(MAKE) --no-print-directory $(BIN)
	test/bench/run.sh $(BIN)

# libFuzzer targets (clang, test/fuzz/): each runs FUZZ_SECONDS on its corpus; exit 1 on a crash (reproducer printed).
FUZZ_SECONDS ?= 60
fuzz:
	test/fuzz/run.sh $(FUZZ_SECONDS)

# valgrind memcheck: the unit tests; every fuzz corpus (seeds + what `make fuzz` found) through test/fuzz/replay.c;
# the integration tests that measure neither time nor memory, with the proxy run under valgrind. Any report fails.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect
VALGRIND_K ?= test_forwarding test_streaming test_errors hardening_limits hardening_413 hardening_max_connections \
	hardening_request_line hardening_error_at hardening_bare_lf hardening_control_bytes hardening_header_syntax \
	hardening_body_framing hardening_transfer_codings hardening_trailers hardening_absolute_form hardening_absurd \
	hardening_odd_usage hardening_pipelining hardening_http10 hardening_upstream_connect hardening_upstream_silence \
	hardening_sigterm hardening_second_sigterm frontdoor_keyless frontdoor_origin frontdoor_methods frontdoor_version \
	frontdoor_status_lines frontdoor_every_connection frontdoor_refresh_sent frontdoor_credentials_fifo \
	frontdoor_lock_and_temp
FUZZ_TARGETS := fuzz_request fuzz_usage fuzz_json
REPLAY := $(patsubst %,$(BUILD)/replay/%,$(FUZZ_TARGETS))

$(BUILD)/replay/%: test/fuzz/%.c test/fuzz/replay.c $(LIB_OBJ) $(LLHTTP_LIB) $(MBEDTLS_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 $(CFLAGS) $(SAN_FLAGS) -o $@ $< test/fuzz/replay.c $(LIB_OBJ) $(LLHTTP_LIB) \
		$(MBEDTLS_LIB) $(LDLIBS)

valgrind: $(BIN) $(UNIT) $(REPLAY)
	$(VALGRIND) $(UNIT) >/dev/null
	@for t in $(FUZZ_TARGETS); do \
		$(VALGRIND) $(BUILD)/replay/$$t test/fuzz/corpus/$$t $$(test -d build/fuzz/corpus/$$t && echo build/fuzz/corpus/$$t) \
			|| exit 1; \
	done
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind/logs
	@printf '#!/bin/sh\nexec $(VALGRIND) --log-file=$(CURDIR)/$(BUILD)/valgrind/logs/%%p.log $(CURDIR)/$(BIN) "$$@"\n' \
		>$(BUILD)/valgrind/anthropic-proxy && chmod +x $(BUILD)/valgrind/anthropic-proxy
	@python3 test/integration/run.py --binary $(BUILD)/valgrind/anthropic-proxy --timeout 180 \
		$(foreach k,$(VALGRIND_K),-k $(k)); rc=$$?; \
	if grep -q . $(BUILD)/valgrind/logs/*.log 2>/dev/null; then \
		echo "valgrind reports (full logs in $(BUILD)/valgrind/logs/):"; grep -H -m 40 . $(BUILD)/valgrind/logs/*.log; exit 1; \
	fi; exit $$rc

# Formats the files given, e.g. `make format FILES=src/proxy.c` (.clang-format holds the style).
format:
	@test -n "$(FILES)" || { echo 'usage: make format FILES="src/a.c src/a.h"' >&2; exit 2; }
	clang-format -i $(FILES)

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
