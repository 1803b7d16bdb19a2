#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang into build-fuzz and runs the wire parser fuzzer.
# Usage: scripts/fuzz.sh [SECONDS [libFuzzer options...]]   (default 60 s)
# The corpus lives in build-fuzz/corpus/wire and grows across runs; crashes land in
# build-fuzz/crashes/.  Exit status is non-zero if the fuzzer found a crash or leak.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}; shift || true
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
    # Every C file in the fuzz target's link is instrumented for coverage and ASan;
    # only the target itself links libFuzzer's main (dataplane/fuzz/meson.build).
    CC=clang CXX=clang++ meson setup "$dir" --buildtype=debugoptimized \
        -Db_sanitize=address -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$dir" dataplane/fuzz/fuzz_wire >/dev/null
mkdir -p "$dir/corpus/wire" "$dir/crashes"
ASAN_OPTIONS=detect_leaks=1 "$dir/dataplane/fuzz/fuzz_wire" \
    -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/crashes/" "$@" "$dir/corpus/wire"
