#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's main command: from a fresh Debian 12 box (as root) to a loaded local
# 3-node cluster and its latency histograms.
#
#   scripts/demo.sh [--config FILE] [--build DIR] [--out DIR] [--duration S] [-- GEN_ARGS...]
#
# 1. installs missing Debian packages (scripts/deps.sh) and builds into build/;
# 2. starts the three kbpaxosd nodes of conf/local.ini with scripts/cluster (net_memif
#    between processes, no NIC; hugepages when the box has free ones, --no-huge
#    otherwise) inside the config's network namespace ([cluster] netns, created and
#    removed by scripts/cluster; the generator enters it too), with fresh durable logs
#    under a temporary directory, and waits for a leader;
# 3. runs kbpaxos-gen: 2 s warm-up, then 10 s closed loop with 32 requests in flight,
#    64-byte puts (anything after -- goes to kbpaxos-gen, e.g. -- --rate 20000);
# 4. prints the per-second lines and the percentile tables, writes summary.json, .hgrm,
#    timeseries.csv and PNG/SVG plots to the output directory;
# 5. stops the cluster (also on failure or Ctrl-C) and says where the files are.
set -euo pipefail
cd "$(dirname "$0")/.."

config=conf/local.ini
build=build
out=""
duration=10
gen_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --build) build=${2:?--build needs a directory}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --) shift; gen_args=("$@"); break ;;
    -h|--help) sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (DPDK, tap devices, routes)" >&2; exit 1; }
stamp=$(date +%Y%m%d-%H%M%S)
out=${out:-/var/tmp/kbpaxos/demo/$stamp}

say() { printf '\n== %s\n' "$*"; }

# ---- 1. dependencies and build --------------------------------------------------------
say "installing missing packages and building into $build/"
scripts/build.sh "$build"
gen="$build/bench/gen/kbpaxos-gen"
[ -x "$gen" ] || { echo "demo: $gen was not built" >&2; exit 1; }

# ---- 2. cluster -------------------------------------------------------------------------
# Everything this run creates lives under $work (pid files, daemon logs, durable logs on a
# real disk: O_DIRECT does not work on tmpfs), removed at exit unless KBP_DEMO_KEEP=1.
mkdir -p /var/tmp/kbpaxos
work=$(mktemp -d /var/tmp/kbpaxos/demo-run.XXXXXX)
run_dir=$work/run
gen_pid=""
started=0

cleanup() {
    local rc=$?
    # A second Ctrl-C (or timeout(1) signalling the whole group) must not cut the clean-up.
    trap - EXIT
    trap '' INT TERM
    if [ -n "$gen_pid" ] && kill -0 "$gen_pid" 2>/dev/null; then
        kill -TERM "$gen_pid" 2>/dev/null || true
        wait "$gen_pid" 2>/dev/null || true
    fi
    if [ "$started" = 1 ]; then
        say "stopping the cluster"
        scripts/cluster stop --run-dir "$run_dir" || true
    fi
    if [ $rc -ne 0 ]; then
        echo "demo: failed (exit $rc); node logs:" >&2
        for f in "$run_dir"/node*.log; do
            [ -f "$f" ] || continue
            echo "--- $f (last 10 lines)" >&2
            tail -n 10 "$f" >&2
        done
    fi
    if [ "${KBP_DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: kept $work"
    else
        rm -rf "$work"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A cluster of this config already running owns its namespace, taps and EAL prefixes.
cli="$build/dataplane/client/kbpaxos-cli"
netns=$("$cli" --config "$config" netns) || { echo "demo: cannot read $config" >&2; exit 1; }
if [ "$netns" != "-" ] && [ -n "$(ip netns pids "$netns" 2>/dev/null)" ]; then
    echo "demo: network namespace $netns already holds a cluster of $config" \
        "(scripts/cluster stop, or a config with another [cluster] netns and file_prefix)" >&2
    exit 1
fi
say "starting the local 3-node cluster ($config, network namespace $netns)"
started=1
scripts/cluster start --init --config "$config" --build "$build" --run-dir "$run_dir" \
    --log-root "$work/data"

# ---- 3. load ----------------------------------------------------------------------------
if [ ${#gen_args[@]} -eq 0 ]; then
    gen_args=(--outstanding 32 --value-size 64 --mix put=100)
fi
say "kbpaxos-gen: ${duration} s measured after a 2 s warm-up: ${gen_args[*]}"
mkdir -p "$out"
"$gen" --config "$config" --duration "$duration" --warmup 2 --out "$out" --label demo \
    "${gen_args[@]}" &
gen_pid=$!
gen_rc=0
wait "$gen_pid" || gen_rc=$?
gen_pid=""

# ---- 4./5. stop, and say where things are ----------------------------------------------
say "stopping the cluster"
scripts/cluster stop --run-dir "$run_dir"
started=0
[ $gen_rc -eq 0 ] || { echo "demo: kbpaxos-gen failed (exit $gen_rc)" >&2; exit "$gen_rc"; }

cat <<EOF

== done.  Results in $out/
   summary.json        throughput, every request's outcome, latency percentiles per op
   demo.hgrm           full latency distribution (HdrHistogram text, microseconds)
   timeseries.csv      per-second offered/achieved throughput, p50/p99/p99.9
   latency.png/.svg    latency by percentile
   timeseries.png/.svg throughput and latency over time
   Compare runs:  bench/plot.sh percentiles /tmp/cmp $out/demo.hgrm=this OTHER.hgrm=other
EOF
