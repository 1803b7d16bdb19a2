#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Synthetic run files through bench/plot.sh: both plots come out as real PNG and SVG,
# and summary.json parses.  Exits 77 (skip) without gnuplot.
# Usage: test_plot.sh KBP_SYNTH PLOT_SH
set -euo pipefail
synth=$1 plot=$2
command -v gnuplot >/dev/null 2>&1 || exit 77
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$synth" "$dir" >/dev/null
"$plot" percentiles "$dir/pct" --title "synthetic" "$dir/calm.hgrm=calm run" "$dir/stalls.hgrm"
"$plot" timeseries "$dir/ts" "$dir/timeseries.csv"
for f in pct ts; do
    [ "$(head -c 8 "$dir/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        { echo "$f.png is not a PNG"; exit 1; }
    [ "$(stat -c %s "$dir/$f.png")" -gt 10000 ] || { echo "$f.png is nearly empty"; exit 1; }
    grep -q '<svg' "$dir/$f.svg" || { echo "$f.svg is not an SVG"; exit 1; }
done
grep -q 'calm run' "$dir/pct.svg" || { echo "legend missing"; exit 1; }
if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$dir/summary.json" >/dev/null
fi
# Unreadable input and bad usage are errors, not empty plots.
if "$plot" percentiles "$dir/x" "$dir/missing.hgrm" 2>/dev/null; then exit 1; fi
if "$plot" timeseries "$dir/x" "$dir/calm.hgrm" 2>/dev/null; then exit 1; fi
echo ok
