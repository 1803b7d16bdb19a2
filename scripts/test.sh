#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: installs and builds what is missing, runs every meson suite
# (unit, sim, persist, cluster), then the unit and simulator suites again under
# AddressSanitizer + UBSan.  Exit status is non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh build
meson test -C build --print-errorlogs --num-processes 2
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite sim
# The wire parser under libFuzzer (clang), bounded: arbitrary bytes must never crash it.
scripts/fuzz.sh 60 2>&1 | tail -n 3
