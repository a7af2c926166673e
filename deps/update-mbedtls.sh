#!/bin/sh
# Replaces deps/mbedtls/ with an untouched copy of one Mbed TLS tag: library/ and include/ (the sources), LICENSE.
# Nothing else is kept: no tests, programs, docs, 3rdparty/ (the project's config enables neither p256-m nor
# everest) nor the upstream build files (deps/mbedtls.mk compiles library/*.c itself).
#
#   deps/update-mbedtls.sh v3.6.7                        # clones https://github.com/Mbed-TLS/mbedtls
#   deps/update-mbedtls.sh v3.6.7 /path/to/mbedtls.git   # or reads a local clone
#
# Then: update the tag and commit in deps/README.md, `make clean test test SANITIZE=1`, commit deps/mbedtls/ as is.
set -eu
tag=${1:?usage: deps/update-mbedtls.sh TAG [GIT_DIR_OR_URL]}
src=${2:-https://github.com/Mbed-TLS/mbedtls}
cd "$(dirname "$0")"

case "$tag" in v3.6.*) ;; *) echo "update-mbedtls.sh: $tag is not a 3.6 LTS tag; a new branch needs a config review" >&2; exit 2 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -d "$src" ]; then
  git_dir=$src
else
  git clone -q --bare --filter=blob:none --depth 1 --branch "$tag" "$src" "$tmp/repo.git"
  git_dir=$tmp/repo.git
fi
commit=$(git -C "$git_dir" rev-parse "$tag^{commit}")
mkdir "$tmp/new"
git -C "$git_dir" archive "$tag" library include LICENSE | tar -x -C "$tmp/new"
rm -f "$tmp/new/library/Makefile" "$tmp/new/library/CMakeLists.txt" "$tmp/new/library/.gitignore" \
      "$tmp/new/include/CMakeLists.txt" "$tmp/new/include/.gitignore"
rm -rf mbedtls
mv "$tmp/new" mbedtls
echo "deps/mbedtls: Mbed TLS $tag, commit $commit"
