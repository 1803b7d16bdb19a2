#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Plots kbpaxos-gen output with gnuplot (Debian: gnuplot-nox), as PNG and SVG.
#
#   bench/plot.sh percentiles OUT [--unit us] [--title T] [--logy] RUN.hgrm[=LABEL] ...
#       The latency percentile distribution the HdrHistogram way: x = 1/(1-p) on a log
#       axis labelled 90%, 99%, 99.9%, ...; y = latency (linear, or log with --logy
#       when runs differ by orders of magnitude).  Several files overlay, one line
#       each (compare runs).  LABEL defaults to the file name.
#   bench/plot.sh timeseries OUT [--title T] RUN.csv
#       Offered and achieved throughput (top) and p50/p99/p99.9 latency (bottom) per
#       second, from the CSV the generator writes.
#
# Writes OUT.png and OUT.svg and prints their paths.  Exit status: 0 done, 1 error,
# 2 usage, 77 gnuplot is not installed (meson reads 77 as "skipped").
set -euo pipefail

usage() {
    sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

command -v gnuplot >/dev/null 2>&1 || {
    echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox); no plots written" >&2
    exit 77
}

[ $# -ge 3 ] || usage
mode=$1 out=$2
shift 2
unit=us title="" logy=0
inputs=()
while [ $# -gt 0 ]; do
    case $1 in
    --unit) unit=${2:?--unit needs a value}; shift 2 ;;
    --title) title=${2:?--title needs a value}; shift 2 ;;
    --logy) logy=1; shift ;;
    -h|--help) usage ;;
    *) inputs+=("$1"); shift ;;
    esac
done
[ ${#inputs[@]} -ge 1 ] || usage

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A string as a gnuplot single-quoted literal.
gq() { printf "'%s'" "${1//\'/\'\'}"; }

# pngcairo draws antialiased lines; plain png (libgd) is the fallback.
if gnuplot -e 'set terminal' 2>&1 | grep -qw pngcairo; then
    png_term="pngcairo size 1100,650 font 'Sans,11'"
else
    png_term="png size 1100,650"
fi
svg_term="svg size 1100,650 dynamic font 'Sans,11'"

plot_percentiles() {
    local body="" i=0 xmax=10 spec file label
    for spec in "${inputs[@]}"; do
        file=${spec%%=*}
        label=$(basename "$file" .hgrm)
        [ "$spec" != "$file" ] && label=${spec#*=}
        [ -r "$file" ] || { echo "plot.sh: cannot read $file" >&2; exit 1; }
        i=$((i + 1))
        # Rows are "Value Percentile TotalCount 1/(1-Percentile)"; the 100% row has no
        # 4th column (it is infinite) and the header and #[ footer are not numbers.
        awk 'NF == 4 && $1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9.]+$/ { print $4, $1 }' \
            "$file" >"$tmp/$i.dat"
        [ -s "$tmp/$i.dat" ] || { echo "plot.sh: no percentile rows in $file" >&2; exit 1; }
        xmax=$(awk -v m="$xmax" '$1 > m { m = $1 } END { print m }' "$tmp/$i.dat")
        body+="${body:+, }$(gq "$tmp/$i.dat") using 1:2 with lines lw 2 title $(gq "$label")"
    done
    # Round the x range up to the next power of ten so the last label shows.
    xmax=$(awk -v m="$xmax" 'BEGIN { x = 10; while (x < m) x *= 10; print x }')
    cat >"$tmp/plot.gp" <<EOF
set encoding utf8
set title $(gq "${title:-Latency by percentile}") noenhanced
set logscale x
set xrange [1:$xmax]
set xtics ("0%%" 1, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, \
    "99.9999%%" 1000000, "99.99999%%" 10000000, "99.999999%%" 100000000)
set mxtics 10
set xlabel "Percentile"
set ylabel $(gq "Latency ($unit)")
$([ "$logy" = 1 ] && echo "set logscale y" || echo "set yrange [0:*]")
set grid xtics mxtics ytics
set key top left box opaque noenhanced
plot $body
EOF
}

plot_timeseries() {
    local file=${inputs[0]} u
    [ ${#inputs[@]} -eq 1 ] || { echo "plot.sh: timeseries takes one CSV" >&2; exit 1; }
    [ -r "$file" ] || { echo "plot.sh: cannot read $file" >&2; exit 1; }
    head -1 "$file" | grep -q '^second,offered,achieved,ok,errors,p50_' ||
        { echo "plot.sh: $file is not a kbpaxos time series CSV" >&2; exit 1; }
    [ "$(wc -l <"$file")" -ge 2 ] || { echo "plot.sh: no rows in $file" >&2; exit 1; }
    u=$(head -1 "$file" | sed 's/.*p50_\([^,]*\).*/\1/')
    cat >"$tmp/plot.gp" <<EOF
set encoding utf8
set datafile separator ","
set multiplot layout 2,1 title $(gq "${title:-Throughput and latency over time}") noenhanced
set lmargin 12
set rmargin 12
set grid
# Headroom above the data keeps the offered line off the border and clear of the key.
set offsets 0, 0, graph 0.25, 0
set key top left horizontal box opaque
set ylabel "Requests/s"
set y2label "Errors/s"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set format y "%.1s%c"
plot $(gq "$file") skip 1 using 1:2 with lines lw 2 dt 2 title "offered", \
     '' skip 1 using 1:3 with lines lw 2 title "achieved", \
     '' skip 1 using 1:5 axes x1y2 with impulses lw 3 title "errors"
unset y2label
unset y2tics
set format y "%g"
set logscale y
set yrange [*:*]
set xlabel "Time (s)"
set ylabel $(gq "Latency ($u)")
plot $(gq "$file") skip 1 using 1:6 with linespoints lw 2 pt 7 ps 0.5 title "p50", \
     '' skip 1 using 1:7 with linespoints lw 2 pt 7 ps 0.5 title "p99", \
     '' skip 1 using 1:8 with linespoints lw 2 pt 7 ps 0.5 title "p99.9"
unset multiplot
EOF
}

case $mode in
percentiles) plot_percentiles ;;
timeseries) plot_timeseries ;;
*) usage ;;
esac

mkdir -p "$(dirname "$out")"
gnuplot -e "set terminal $png_term; set output $(gq "$out.png")" "$tmp/plot.gp"
gnuplot -e "set terminal $svg_term; set output $(gq "$out.svg")" "$tmp/plot.gp"
echo "$out.png"
echo "$out.svg"
