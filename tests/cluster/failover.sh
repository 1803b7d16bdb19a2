#!/bin/bash
# SPDX-License-Identifier: MIT
# (b) kill -9 the leader under load: a new leader is elected, every write acknowledged
# before the kill is still readable, and the failover time (kill to the next
# acknowledged write) is printed.
. "$(dirname "$0")/lib.sh"

start_cluster
log "starting 8 writers for 6 s"

"$LOAD" write --config "$CONFIG" --prefix fo --clients 8 --seconds 6 --acked "$TMP/acked" \
	--timeout-ms 5000 >"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
BG_PIDS=$LOAD_PID
sleep 2
before=$(wc -l <"$TMP/acked")
[ "$before" -gt 0 ] || fail "no write acknowledged in the first 2 s"
# Ask who leads right before the kill: leadership may have moved since start-up.
OLD=$(leader)
[ -n "$OLD" ] || fail "no leader"
log "leader is node $OLD"
PID=$(cat "$RUN/node$OLD.pid") || fail "no pid file for node $OLD"
KILL_NS=$(date +%s%N)
kill -KILL "$PID" || fail "kill -9 $PID"
cluster kill-node "$OLD" >/dev/null || fail "kill-node $OLD"   # reaps it, drops its route
log "killed node $OLD (SIGKILL) after $before acknowledged writes"
wait $LOAD_PID
rc=$?
cat "$TMP/load.out"
[ $rc -eq 0 ] || fail "writer failed: $(tail -n 3 "$TMP/load.err")"

# Failover: from the kill to the first acknowledgement of a write first sent after it
# (writes in flight at the kill may be acknowledged a moment later by the old leader).
after=$(awk -v k="$KILL_NS" '$3 > k' "$TMP/acked" | wc -l)
[ "$after" -gt 0 ] || fail "no write sent after the kill was acknowledged"
first=$(awk -v k="$KILL_NS" '$3 > k { print $2 }' "$TMP/acked" | sort -n | head -n 1)
FAILOVER_MS=$(( (first - KILL_NS) / 1000000 ))
NEW=$(leader)
[ -n "$NEW" ] || fail "no leader after the kill"
[ "$NEW" != "$OLD" ] || fail "node $OLD still leads after being killed"
log "new leader: node $NEW; $after writes sent after the kill were acknowledged"
echo "FAILOVER_MS=$FAILOVER_MS (kill -9 of leader node $OLD to the first acknowledged write sent after it, new leader node $NEW)"

"$LOAD" verify --config "$CONFIG" --prefix fo --acked "$TMP/acked" --clients 8 || fail "acknowledged writes lost"
echo "PASS failover"
