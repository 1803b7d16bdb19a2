#!/bin/bash
# SPDX-License-Identifier: MIT
# (e) garbage and truncated packets, over UDP to the client port and as raw frames through
# the tap, are dropped and counted by reason (telemetry /kbpaxos/drops), and the node
# keeps serving.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "no python3"

start_cluster
L=$(leader)
[ -n "$L" ] || fail "no leader"
read -r _ IP PORT IFACE _ _ < <(cli nodes | awk -v n="$L" '$1 == n')
MAC=$(awk -v s="[node.$L]" '$0 == s { on = 1; next } /^\[/ { on = 0 } on && $1 == "mac" { print $3 }' "$CONFIG")
CLUSTER_ID=$(awk '/^\[cluster\]/ { on = 1; next } /^\[/ { on = 0 } on && $1 == "id" { print $3 }' "$CONFIG")
cli put before garbage >/dev/null || fail "put before"

drops() { cli telemetry "$L" /kbpaxos/drops | jq '[.["/kbpaxos/drops"] | to_entries[] | select(.key != "ok") | .value] | add'; }
D0=$(drops) || fail "telemetry /kbpaxos/drops"
cli telemetry "$L" /kbpaxos/drops | jq -c . >"$TMP/drops0"
in_netns python3 "$(dirname "$0")/garbage.py" "$IP" "$PORT" "$IFACE" "$MAC" "$CLUSTER_ID" >"$TMP/sent" || fail "garbage.py"
SENT=$(awk '{ s += $2 } END { print s }' "$TMP/sent")
log "sent $SENT bad packets at node $L ($(tr '\n' ' ' <"$TMP/sent"))"

# Counters are published by the node's lcores; give them a moment.
for _ in $(seq 1 20); do
	D1=$(drops)
	[ $((D1 - D0)) -ge $((SENT - 5)) ] && break
	sleep 0.2
done
log "drop counters: $D0 -> $D1"
cli telemetry "$L" /kbpaxos/drops | jq -c '.["/kbpaxos/drops"] | with_entries(select(.value > 0))'
# A few raw frames may be eaten by the kernel side; nearly all must be counted.
[ $((D1 - D0)) -ge $((SENT - 5)) ] || fail "only $((D1 - D0)) of $SENT bad packets counted as drops"

kill -0 "$(cat "$RUN/node$L.pid")" || fail "node $L died"
[ "$(cli get before)" = garbage ] || fail "get after garbage"
cli put after garbage >/dev/null || fail "put after garbage"
[ "$(cli get after)" = garbage ] || fail "get after garbage"
echo "PASS garbage"
