#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages kbpaxos builds and tests with; only what is missing.
set -euo pipefail
pkgs=(gcc g++ clang libclang-rt-14-dev meson ninja-build pkg-config python3 python3-pyelftools
      libdpdk-dev dpdk-dev liburing-dev libjemalloc-dev libcmocka-dev libbenchmark-dev
      gnuplot-nox iproute2 procps)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
