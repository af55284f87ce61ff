#!/usr/bin/env bash
# Installs the Debian 12 packages zcfs needs to build, test and run. Does nothing when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libprotobuf-dev protobuf-compiler
  liburing-dev librocksdb-dev libfuse3-dev fuse3
  libibverbs-dev librdmacm-dev
  libgtest-dev libgmock-dev
  etcd-server
  pybind11-dev python3-dev python3-numpy python3-torch
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "zcfs: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
