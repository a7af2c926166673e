#!/bin/sh
# Builds the libFuzzer targets into build/fuzz/ and runs each for SECONDS (default 60) on its seed corpus.
#
#   test/fuzz/run.sh [SECONDS] [TARGET...]        # targets: fuzz_request fuzz_usage fuzz_json (default: all)
#   FUZZ_SKIP_KNOWN=1 test/fuzz/run.sh 60                 # look past the bugs already reported (README.md)
#   FUZZ_CFLAGS=...                                       # extra compile flags (last on the line)
#   FUZZ_BUILD_ONLY=1 test/fuzz/run.sh                    # build, do not run
#   FUZZ_JOBS=N                                           # parallel compiles (default: nproc)
#
# Needs clang (Debian's clang ships libFuzzer's runtime), the project's build dependencies and llhttp's sources in
# /usr/share/llhttp. Every target is built with -fsanitize=fuzzer,address,undefined. Exit status: 0 when every
# target ran its time without a crash, 1 when one crashed (its reproducer is in build/fuzz/artifacts/, printed
# below), 2 when the build failed. New inputs found are kept in build/fuzz/corpus/<target>/ (the seeds in
# test/fuzz/corpus/ are never written to).
set -eu

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-fuzz_request fuzz_usage fuzz_json}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
LLHTTP_SRC=${LLHTTP_SRC:-/usr/share/llhttp}
LLHTTP_INC=${LLHTTP_INC:-/usr/share/include/llhttp}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
EXTRA=${FUZZ_CFLAGS:-}
UBSAN_DEFAULT=print_stacktrace=1
if [ -n "${FUZZ_SKIP_KNOWN:-}" ]; then
	# The targets' own checks for known bugs go off, the known UBSan reports are suppressed (suppressions need
	# recoverable checks; halt_on_error keeps every other report fatal).
	EXTRA="-DFUZZ_SKIP_KNOWN=1 -fsanitize-recover=undefined $EXTRA"
	UBSAN_DEFAULT="print_stacktrace=1:halt_on_error=1:suppressions=$(cd "$(dirname "$0")" && pwd)/known.supp"
fi

command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (apt-get install clang)" >&2; exit 2; }
[ -f "$LLHTTP_SRC/llhttp.c" ] || { echo "run.sh: llhttp sources not found in $LLHTTP_SRC" >&2; exit 2; }

UV_CFLAGS=$(pkg-config --cflags libuv 2>/dev/null || true)
UV_LIBS=$(pkg-config --libs libuv 2>/dev/null || echo -luv)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CPPFLAGS="-D_GNU_SOURCE -DAP_VERSION=\"fuzz\" -Isrc -I$LLHTTP_INC $UV_CFLAGS -Ideps/mbedtls/include \
-DMBEDTLS_CONFIG_FILE=\"$ROOT/deps/mbedtls_config.h\""
CFLAGS="-g -O1 -std=c11 $SAN -fsanitize=fuzzer-no-link $EXTRA"  # EXTRA last: it may turn checks off
# The vendored Mbed TLS, built by the Makefile's own rules with this compiler into build/fuzz/deps/ (not
# instrumented: no target reaches TLS; the objects only need its symbols).
MBEDTLS_LIBS="$OUT/deps/libmbedtls.a $OUT/deps/libmbedx509.a $OUT/deps/libmbedcrypto.a"
LIBS="$MBEDTLS_LIBS $UV_LIBS -lyajl -lz -lhiredis"

# A different FUZZ_CFLAGS means a different build: keep one object directory per flag set.
TAG=$(printf '%s' "$EXTRA" | cksum | cut -d' ' -f1)
OBJ=$OUT/obj-$TAG
mkdir -p "$OBJ" "$OUT/artifacts"

# Objects: every src/*.c except main.c (proxy_rewrite_head pulls in most of the program), llhttp, the targets.
LIST=$OUT/compile-list.$$
trap 'rm -f "$LIST"' EXIT
: >"$LIST"
for f in src/*.c; do
	[ "$f" = src/main.c ] && continue
	echo "$f $OBJ/$(basename "$f" .c).o lib" >>"$LIST"
done
for f in "$LLHTTP_SRC"/*.c; do
	echo "$f $OBJ/llhttp_$(basename "$f" .c).o dep" >>"$LIST"
done
for t in $TARGETS; do
	[ -f "test/fuzz/$t.c" ] || { echo "run.sh: no target test/fuzz/$t.c" >&2; exit 2; }
	echo "test/fuzz/$t.c $OBJ/$t.o lib" >>"$LIST"
done

echo "== building fuzz targets ($CC, $JOBS jobs) into $OUT/"
make --no-print-directory -s -j"$JOBS" BUILD="$OUT" CC="$CC" SAN_FLAGS= mbedtls >/dev/null ||
	{ echo "run.sh: building Mbed TLS failed" >&2; exit 2; }
SAN_FLAGS=$SAN CPP_FLAGS=$CPPFLAGS C_FLAGS=$CFLAGS
export CC SAN_FLAGS CPP_FLAGS C_FLAGS LLHTTP_INC
failed_build=0
# shellcheck disable=SC2016
xargs -P "$JOBS" -L 1 sh -c '
	src=$1 obj=$2 kind=$3
	if [ "$kind" = dep ]; then flags="-g -O1 $SAN_FLAGS -fsanitize=fuzzer-no-link -w -I$LLHTTP_INC"
	else flags="$CPP_FLAGS $C_FLAGS -Wall -Wextra -Wno-unused-parameter"; fi
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src deps/mbedtls_config.h -name "*.h" -newer "$obj" 2>/dev/null | head -1)" ]; then
		echo "  CC $src"
		# shellcheck disable=SC2086
		"$CC" $flags -c "$src" -o "$obj" || exit 255
	fi
' sh <"$LIST" || failed_build=1
[ "$failed_build" = 0 ] || { echo "run.sh: build failed" >&2; exit 2; }

LIB_OBJS=""
for f in src/*.c; do
	[ "$f" = src/main.c ] && continue
	LIB_OBJS="$LIB_OBJS $OBJ/$(basename "$f" .c).o"
done
for f in "$LLHTTP_SRC"/*.c; do
	LIB_OBJS="$LIB_OBJS $OBJ/llhttp_$(basename "$f" .c).o"
done
for t in $TARGETS; do
	echo "  LD $OUT/$t"
	# shellcheck disable=SC2086
	"$CC" -g $SAN $EXTRA -fsanitize=fuzzer -o "$OUT/$t" "$OBJ/$t.o" $LIB_OBJS $LIBS || { echo "run.sh: link of $t failed" >&2; exit 2; }
done

[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

status=0
for t in $TARGETS; do
	corpus=$OUT/corpus/$t
	mkdir -p "$corpus"
	seeds=test/fuzz/corpus/$t
	dict=""
	[ -f "test/fuzz/$t.dict" ] && dict="-dict=test/fuzz/$t.dict"
	echo "== $t: ${SECONDS_EACH}s (corpus $corpus, seeds $seeds)"
	log=$OUT/$t.log
	# shellcheck disable=SC2086
	if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-$UBSAN_DEFAULT} \
		"$OUT/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" $dict "$corpus" "$seeds" >"$log" 2>&1; then
		grep -aE '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' "$log" | tr '\n' ' '
		echo
		echo "   ok: no crash ($(ls "$corpus" | wc -l) inputs in the corpus)"
	else
		status=1
		echo "   CRASH in $t; log: $log"
		grep -aE 'ERROR: |runtime error|invariant broken|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/   | /'
		art=$(grep -ao "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
		[ -n "$art" ] && echo "   reproduce: $OUT/$t $art"
	fi
done
exit $status
