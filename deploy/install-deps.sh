#!/usr/bin/env bash
# Installs clientreg's build and test dependencies from Debian 12's packages. Idempotent: it calls apt-get only
# when a package is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  cmake g++ ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev librocksdb-dev libboost1.74-dev libsimdjson-dev
  libcurl4-openssl-dev libpq-dev postgresql
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format curl systemd openssl
  clang libclang-rt-14-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
