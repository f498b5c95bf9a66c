#!/bin/bash
# Builds mediasoup-worker from the mediasoup npm tarball's own C++ sources, using Debian's
# packages for every library the worker's meson build would otherwise download.
#   build-from-source.sh <mediasoup-x.y.z.tgz> <output-binary-path>
# Needs (apt): g++ pkg-config meson ninja-build libssl-dev libuv1-dev libsrtp2-dev
#   libusrsctp-dev libabsl-dev libflatbuffers-dev flatbuffers-compiler liburing-dev
# Called by scripts/mediasoup-worker.mjs; see README.md beside this file.
set -euo pipefail
TGZ=$1; OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d -t esh-mediasoup-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
tar xzf "$TGZ" -C "$WORK"
W="$WORK/package/worker"; cd "$W"

# Debian 12's meson is 1.0.1; the build works with it.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" meson.build

# DTLS fix: the BIO callback returned 1 for every post-ctrl instead of `ret`. With a kernel-TLS
# capable OpenSSL (Debian's), OpenSSL then believes KTLS is on for the memory BIO, allocates no
# DTLS write buffer and the worker segfaults sending ServerHello (the first browser connection).
sed -i 's/long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;/long resultOfcallback = ((operationType \& BIO_CB_RETURN) != 0) ? static_cast<long>(ret) : 1;/' src/RTC/DtlsTransport.cpp
grep -q 'operationType & BIO_CB_RETURN' src/RTC/DtlsTransport.cpp || { echo "DTLS fix did not apply" >&2; exit 1; }

# Each wrap gets a local directory (the wrap's `directory`) exposing the system library, so
# meson never downloads. Stubs are kept by wrap name in subprojects/ beside this script.
for wrap in subprojects/*.wrap; do
  name=$(basename "$wrap" .wrap)
  [ -d "$HERE/subprojects/$name" ] || continue
  dir=$(sed -n 's/^directory *= *//p' "$wrap")
  mkdir -p "subprojects/$dir"
  cp -r "$HERE/subprojects/$name/." "subprojects/$dir/"
  : > "subprojects/$dir/dummy.c"
done

# Same options as the worker's tasks.py; the FlatBuffers headers are generated first.
meson setup --buildtype release -Db_ndebug=true build
meson compile -C build flatbuffers-generator
meson compile -C build -j "$(nproc)" mediasoup-worker
mkdir -p "$(dirname "$OUT")"
install -m 0755 build/mediasoup-worker "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "built $OUT"
