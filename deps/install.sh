#!/bin/sh
# Installs the Debian packages anthropic-proxy needs, and only those that are missing.
# Usage: deps/install.sh [build] [test] [bench] [fuzz]   (default: build)
# Used by the Makefile's run/test/bench targets and by .ci/run.
set -eu

build="gcc make pkg-config libuv1-dev node-llhttp libyajl-dev zlib1g-dev libhiredis-dev ca-certificates"
test="python3 curl openssl prometheus mandoc redis-server"
bench="wrk nginx haproxy openssl valgrind"
fuzz="clang libclang-rt-14-dev valgrind"

want="$build"
for set in "$@"; do
  case "$set" in
    build) ;;
    test) want="$want $test" ;;
    bench) want="$want $test $bench" ;;
    fuzz) want="$want $fuzz" ;;
    *) echo "deps/install.sh: unknown set '$set' (build, test, bench, fuzz)" >&2; exit 2 ;;
  esac
done

# The SDK tests need Node.js and npm; a machine that has them from elsewhere keeps its own.
case " $* " in *" test "*|*" bench "*)
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps/install.sh: installing:$missing" >&2
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "deps/install.sh: not root and no sudo; install these packages:$missing" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
