#!/bin/bash
# SPDX-License-Identifier: MIT
# Replacing a failed disk (docs/DEPLOY.md): a follower loses its log directory and comes
# back with --rebuild.  With another node stopped it cannot finish (it must hear every
# peer), so it stays non-voting; killed there with -9 and restarted WITHOUT --rebuild, its
# marker makes it rebuild again.  Once the third node is back it finishes, removes the
# marker, votes, and after the old leader is killed every acknowledged write is readable.
. "$(dirname "$0")/lib.sh"

# wait_until S CMD...: true once CMD succeeds, false after S seconds.
wait_until() {
	local t0=$SECONDS limit=$1
	shift
	until "$@"; do
		[ $((SECONDS - t0)) -lt "$limit" ] || return 1
		sleep 0.2
	done
}

# The rebuild stage node $1 reports, once its telemetry answers (up to 20 s).
stage_of() {
	local t0=$SECONDS st
	while :; do
		st=$(tel "$1" /kbpaxos/status rebuild)
		[ -n "$st" ] && [ "$st" != null ] && { echo "$st"; return; }
		[ $((SECONDS - t0)) -lt 20 ] || { echo none-answered; return; }
		sleep 0.2
	done
}

start_cluster
L=$(leader)
[ -n "$L" ] || fail "no leader"
F=$(( (L + 1) % 3 ))
O=$(( (L + 2) % 3 ))
"$LOAD" write --config "$CONFIG" --prefix rb --count 3000 --clients 16 --acked "$TMP/acked" \
	|| fail "writing 3000 commands"

log "leader node $L; node $F loses its disk; node $O is stopped"
cluster kill-node "$F" >/dev/null || fail "kill-node $F"
rm -rf "${DATA:?}/node$F"
cluster stop-node "$O" >/dev/null || fail "stop-node $O"
KBP_NODE_ARGS=--rebuild cluster start-node "$F" || fail "start-node $F --rebuild"
# start-node may return on the dead process's tap: wait for the new one's first write.
wait_until 20 test -f "$DATA/node$F/REBUILDING" || fail "no rebuild marker in $DATA/node$F"
sleep 1
stage=$(stage_of "$F")
[ "$stage" = query ] || fail "node $F: rebuild stage '$stage', expected query (node $O cannot answer)"
log "node $F rebuilding, stage $stage; kill -9 and restart without --rebuild"
cluster kill-node "$F" >/dev/null || fail "kill-node $F"
cluster start-node "$F" || fail "start-node $F"
wait_until 20 grep -q "it rebuilds again" "$RUN/node$F.log" || fail "node $F did not resume its rebuild"
sleep 1
stage=$(stage_of "$F")
[ "$stage" = query ] || fail "node $F after the crash: rebuild stage '$stage', expected query"

cluster start-node "$O" || fail "start-node $O"
T0=$SECONDS
while :; do
	stage=$(tel "$F" /kbpaxos/status rebuild)
	[ "$stage" = none ] && [ ! -f "$DATA/node$F/REBUILDING" ] && break
	[ $((SECONDS - T0)) -lt 30 ] || fail "node $F still rebuilding ($stage) 30 s after node $O came back"
	sleep 0.5
done
log "node $F rebuilt in $((SECONDS - T0)) s: $(grep -o 'rebuild complete.*' "$RUN/node$F.log" | tail -n 1)"
cli status | grep -q REBUILDING && fail "kbpaxos-cli status still shows a rebuilding node"

# The rebuilt node now votes: with the old leader dead it forms the majority.
L=$(leader)
cluster kill-node "$L" >/dev/null || fail "kill-node $L"
log "killed leader node $L"
"$LOAD" verify --config "$CONFIG" --prefix rb --acked "$TMP/acked" --clients 16 || fail "acknowledged writes lost"
echo "PASS rebuild"
