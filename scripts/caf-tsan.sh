#!/usr/bin/env bash
# make tsan, step 1: CAF 0.17.6 built with ThreadSanitizer. Debian's libcaf_core is not
# instrumented, so TSan cannot see the happens-before edges of CAF's mailboxes and reports every
# message handed between actors as a race; with an instrumented CAF those reports go away (README
# "Fuzzing and sanitizers"). The source is Debian's own (apt-get source of the installed
# version's upstream tarball, through a private deb-src list: nothing in /etc/apt changes),
# built with the one fix Debian's build needs on gcc 12 (<limits> in receive_buffer.hpp) and
# installed into DIR/install (default build-tsan-caf). Does nothing when that is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build-tsan-caf}")
if [ -f "$out/install/lib/libcaf_core.so" ]; then
  exit 0
fi
version=$(dpkg-query -W -f='${Version}' libcaf-dev | sed 's/-.*//')
mkdir -p "$out/apt/lists/partial" "$out/apt/cache/archives/partial" "$out/src"
cat >"$out/apt/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$out/apt"
  -o "Dir::State::Lists=$out/apt/lists" -o "Dir::Cache=$out/apt/cache")
apt-get "${apt_opts[@]}" -qq update
tarball="$out/src/actor-framework_${version}.orig.tar.gz"
if [ ! -f "$tarball" ]; then
  # Only the upstream tarball is needed; Debian's own patch archive may be missing from the
  # mirror for a binary-only rebuild, which makes apt-get report a failure after the download.
  (cd "$out/src" && apt-get "${apt_opts[@]}" -qq source --download-only actor-framework) || true
fi
test -f "$tarball" || {
  echo "caf-tsan: could not download $tarball from Debian" >&2
  exit 1
}
rm -rf "$out/src/actor-framework-$version"
tar -xzf "$tarball" -C "$out/src"
src="$out/src/actor-framework-$version"
sed -i 's|#pragma once|#pragma once\n#include <limits>|' "$src/libcaf_io/caf/io/network/receive_buffer.hpp"
cmake -S "$src" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
  -DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=thread -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes \
  -DCAF_NO_TOOLS=yes -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes \
  -DCMAKE_INSTALL_PREFIX="$out/install" $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) \
  >"$out/configure.log"
cmake --build "$out/build" -j "${JOBS:-2}"
cmake --install "$out/build" >"$out/install.log"
