#!/usr/bin/env bash
# Installs the Debian packages Debros needs to build and test, and only those that are missing.
# Runs apt-get directly as root, through sudo otherwise. Prints what it installs (or that nothing
# was needed). Safe to run repeatedly: `make deps`, `make test` and `make run` all call it.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache clang-14 libclang-rt-14-dev
  libcaf-dev liblmdb-dev libmsgpack-cxx-dev libboost-dev libssl-dev
  nlohmann-json3-dev libcli11-dev catch2
  curl python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: not root and no sudo; install them and run again" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
