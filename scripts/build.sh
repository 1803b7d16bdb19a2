#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what is missing and builds kbpaxos into build/ (release) .
# Usage: scripts/build.sh [BUILD_DIR [meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=${1:-build}; shift || true
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --buildtype=debugoptimized "$@" >/dev/null
fi
ninja -C "$dir" >/dev/null
