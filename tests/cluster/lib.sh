#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared set-up for the cluster tests: a private run dir and durable-log root under
# /var/tmp, the cluster started with scripts/cluster, and everything stopped on exit.
# Tests exit 0 (pass), 1 (fail) or 77 (skip: not root, no tap support, no kbpaxosd,
# a cluster already running on this box, or DPDK could not start).
# Environment (meson sets it): KBP_SOURCE_ROOT, KBP_BUILD_ROOT.
set -u -o pipefail

SRC=${KBP_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${KBP_BUILD_ROOT:-$SRC/build}
CONFIG=${KBP_CLUSTER_CONFIG:-$SRC/conf/local.ini}
CLI=$BUILD/dataplane/client/kbpaxos-cli
LOAD=$BUILD/dataplane/client/tests/cluster_load
LOGTOOL=$BUILD/persist/kbpaxos-log
TEST_NAME=$(basename "$0" .sh)

skip() { echo "SKIP $TEST_NAME: $*"; exit 77; }
fail() { echo "FAIL $TEST_NAME: $*"; exit 1; }
log() { echo "[$(date +%T.%3N)] $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (tap devices, routes, DPDK)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ -x "$CLI" ] || skip "no $CLI"
DAEMON=""
for f in "$BUILD/dataplane/node/kbpaxosd" "$BUILD/dataplane/kbpaxosd"; do
	[ -x "$f" ] && DAEMON=$f && break
done
[ -n "$DAEMON" ] || skip "no kbpaxosd in $BUILD"
for i in $("$CLI" --config "$CONFIG" nodes | awk '{print $4}'); do
	[ "$i" = "-" ] && continue
	ip link show "$i" >/dev/null 2>&1 && skip "tap $i exists: a cluster is already running (scripts/cluster stop)"
done

TMP=$(mktemp -d /var/tmp/kbpaxos-test.XXXXXX) || fail "mktemp"
RUN=$TMP/run
DATA=$TMP/data
KEEP_TMP=0

cluster() {
	"$SRC/scripts/cluster" "$@" --config "$CONFIG" --build "$BUILD" --run-dir "$RUN" --log-root "$DATA"
}
cli() { "$CLI" --config "$CONFIG" "$@"; }

BG_PIDS=""      # background helpers a test started; cleanup ends them
cleanup() {
	local rc=$? p
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	cluster stop >/dev/null 2>&1
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$RUN"/node*.log; do
			[ -f "$f" ] || continue
			echo "--- last lines of $f"
			tail -n 20 "$f"
		done
	fi
	[ $KEEP_TMP -eq 1 ] || rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Start the cluster; 77 if DPDK itself cannot start here.  The first start of a test
# creates the nodes' logs (--init, in this test's own $DATA); later ones open them.
CLUSTER_INIT=--init
start_cluster() {
	local out
	if ! out=$(cluster start $CLUSTER_INIT --wait 30 2>&1); then
		echo "$out"
		if grep -qs "EAL init failed" "$RUN"/node*.log; then
			skip "DPDK or the tap devices cannot be set up on this box"
		fi
		fail "cluster start failed"
	fi
	CLUSTER_INIT=""
	echo "$out"
}

leader() { cluster leader 2>/dev/null; }

# A telemetry field of node N: tel N /kbpaxos/status commit
tel() {
	cli telemetry "$1" "$2" 2>/dev/null | jq -r --arg c "$2" --arg k "$3" '.[$c][$k]'
}
