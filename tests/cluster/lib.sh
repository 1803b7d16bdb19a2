#!/bin/bash
# SPDX-License-Identifier: MIT
# Shared set-up for the cluster tests: a private run dir and durable-log root under
# /var/tmp, the cluster started with scripts/cluster, and everything stopped on exit.
# Each test runs its cluster from a private copy of the config with its own network
# namespace (kbpt-<pid>) and EAL file prefixes (t<pid>-...), so it cannot collide with a
# user's cluster or demo on the same box, and checks that none of the cluster's taps or
# routes exist in the namespace the test itself runs in.
# Tests exit 0 (pass), 1 (fail) or 77 (skip: not root, no tap support, no kbpaxosd,
# or DPDK could not start).
# Environment (meson sets it): KBP_SOURCE_ROOT, KBP_BUILD_ROOT.
set -u -o pipefail

SRC=${KBP_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${KBP_BUILD_ROOT:-$SRC/build}
CONFIG_SRC=${KBP_CLUSTER_CONFIG:-$SRC/conf/local.ini}
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
command -v ip >/dev/null || skip "no ip (iproute2)"

TMP=$(mktemp -d /var/tmp/kbpaxos-test.XXXXXX) || fail "mktemp"
RUN=$TMP/run
DATA=$TMP/data
KEEP_TMP=${KBP_KEEP_TMP:-0}   # 1: keep logs and data for a post-mortem

# The private config: its own namespace and file prefixes, everything else as given.
NETNS=kbpt-$$
TAG=t$$
CONFIG=$TMP/cluster.ini
awk -v ns="$NETNS" -v tag="$TAG" '
	/^[ \t]*\[/ { sec = $0; gsub(/[ \t]/, "", sec) }
	/^[ \t]*netns[ \t]*=/ { next }
	/^[ \t]*file_prefix[ \t]*=/ { sub(/=[ \t]*/, "= " tag "-") }
	{ print }
	sec == "[cluster]" && !done { print "netns = " ns; done = 1 }' "$CONFIG_SRC" >"$CONFIG" ||
	fail "cannot write $CONFIG"
[ "$("$CLI" --config "$CONFIG" netns)" = "$NETNS" ] || fail "private config $CONFIG: netns not set"
ip netns list | grep -qw "$NETNS" && fail "network namespace $NETNS already exists"

cluster() {
	"$SRC/scripts/cluster" "$@" --config "$CONFIG" --build "$BUILD" --run-dir "$RUN" --log-root "$DATA"
}
cli() { "$CLI" --config "$CONFIG" "$@"; }

BG_PIDS=""      # background helpers a test started; cleanup ends them
cleanup() {
	local rc=$? p
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	cluster stop >/dev/null 2>&1
	ip netns del "$NETNS" 2>/dev/null      # scripts/cluster stop removed it unless it failed
	rm -rf /var/run/dpdk/"$TAG"-*           # the EAL runtime dirs of this test's prefixes
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
	check_confined
}

# The cluster's packets exist only in its namespace: the nodes run there, and the
# namespace this test runs in has none of their taps, addresses or routes.
check_confined() {
	local i pid here there ifaces
	here=$(stat -L -c %i /proc/self/ns/net)
	there=$(stat -L -c %i "/var/run/netns/$NETNS") || fail "network namespace $NETNS does not exist"
	[ "$here" != "$there" ] || fail "the test runs inside the cluster's namespace $NETNS"
	for i in 0 1 2; do
		pid=$(cat "$RUN/node$i.pid" 2>/dev/null) || continue
		[ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$there" ] ||
			fail "node $i (pid $pid) is not in network namespace $NETNS"
	done
	ifaces=$("$CLI" --config "$CONFIG" nodes | awk '$4 != "-" { print $4 }')
	for i in $ifaces; do
		ip link show "$i" >/dev/null 2>&1 && fail "tap $i exists outside namespace $NETNS"
		ip -n "$NETNS" link show "$i" >/dev/null 2>&1 || fail "tap $i is not in namespace $NETNS"
	done
	if ip route show table all | grep -q '10\.77\.'; then
		fail "a route to 10.77.x exists outside namespace $NETNS: $(ip route show table all | grep '10\.77\.')"
	fi
	if ip addr show | grep -q 'inet 10\.77\.'; then
		fail "a 10.77.x address exists outside namespace $NETNS"
	fi
}

# Run a command inside the cluster's namespace (for tools that do not enter it themselves).
in_netns() { ip netns exec "$NETNS" "$@"; }

# The leader's id, waiting up to $1 seconds (default 10) for one to answer: right after a
# kill the survivors may still be electing (randomized backoff), so one question is not
# enough.
leader() {
	local l deadline=$((SECONDS + ${1:-10}))
	while :; do
		l=$(cluster leader 2>/dev/null)
		[ -n "$l" ] && { echo "$l"; return 0; }
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# A telemetry field of node N: tel N /kbpaxos/status commit
tel() {
	cli telemetry "$1" "$2" 2>/dev/null | jq -r --arg c "$2" --arg k "$3" '.[$c][$k]'
}
