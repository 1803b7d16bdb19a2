#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's main command: from a fresh Debian 12 box (as root) to a loaded local
# 3-node cluster and its latency histograms.
#
#   scripts/demo.sh [--config FILE] [--build DIR] [--out DIR] [--duration S] [-- GEN_ARGS...]
#
# 1. installs missing Debian packages (scripts/deps.sh) and builds into build/;
# 2. starts the three kbpaxosd nodes of conf/local.ini (net_memif between processes, no
#    NIC; hugepages when the box has free ones, --no-huge otherwise) with fresh durable
#    logs under a temporary directory, and waits for a leader;
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
    -h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
node_pids=()

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
        if [ "${use_cluster:-0}" = 1 ]; then
            scripts/cluster stop --run-dir "$run_dir" || true
        else
            stop_nodes
        fi
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

# Without scripts/cluster: start each kbpaxosd in the background, nodes in id order.
daemon=""
for d in "$build/dataplane/node/kbpaxosd" "$build/dataplane/kbpaxosd"; do
    [ -x "$d" ] && { daemon=$d; break; }
done
start_nodes() {
    local n i
    [ -n "$daemon" ] || { echo "demo: no kbpaxosd in $build" >&2; return 1; }
    n=$(sed -n 's/^nodes *= *\([0-9]*\).*/\1/p' "$config" | head -n 1)
    mkdir -p "$run_dir"
    for ((i = 0; i < n; i++)); do
        mkdir -p "$work/data/node$i"
        setsid "$daemon" --config "$config" --node "$i" --log-dir "$work/data/node$i" --init \
            </dev/null >"$run_dir/node$i.log" 2>&1 &
        node_pids+=($!)
        sleep 0.5
        kill -0 "${node_pids[$i]}" 2>/dev/null ||
            { echo "demo: node $i exited at start-up" >&2; return 1; }
    done
    sleep 2   # an election takes tens of ms; the generator also finds the leader itself
}
stop_nodes() {
    local p t
    for p in "${node_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${node_pids[@]}"; do
        for ((t = 0; t < 100; t++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$p" 2>/dev/null && { echo "demo: node pid $p ignored SIGTERM; killing it" >&2; kill -KILL "$p" 2>/dev/null; }
        wait "$p" 2>/dev/null || true
    done
    node_pids=()
}

# scripts/cluster (start|stop) when it and kbpaxos-cli, which it waits for a leader with,
# are there; otherwise the nodes are started here directly.
use_cluster=0
[ -x scripts/cluster ] && [ -x "$build/dataplane/client/kbpaxos-cli" ] && use_cluster=1
say "starting the local 3-node cluster ($config)"
started=1
if [ $use_cluster = 1 ]; then
    scripts/cluster start --init --config "$config" --build "$build" --run-dir "$run_dir" \
        --log-root "$work/data"
else
    start_nodes
fi

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
if [ $use_cluster = 1 ]; then
    scripts/cluster stop --run-dir "$run_dir"
else
    stop_nodes
fi
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
