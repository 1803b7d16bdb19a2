#!/bin/bash
# SPDX-License-Identifier: MIT
# (f) Every node is killable.  Under a steady write load, kill -9 each node in turn (0, 1,
# 2, leader or not), restart it, then kill a second, different node and restart that one
# too; at the end SIGSTOP the leader for 2 x lease_ms and SIGCONT it.  Asserts:
#   (a) after each kill (and the pause) a write first sent after it is acknowledged within
#       election_timeout_ms + 1 s: a leader answers while a majority is up;
#   (b) a restarted node is a follower of the current leader and has applied everything
#       the leader had committed when it came back, within CATCHUP_S (20 s) of its start (on the 2-core CI box a
#       restart under this load takes 5-9 s: EAL, log recovery, faulting memory in);
#   (c) the second kill, of a node other than the one just restarted, leaves a majority
#       that serves within the bound of (a): the restarted node's links work again.
# Prints one OUTAGE line per kill (node id, leader or follower, ms) and a summary with the
# median and max outage per node id.  KBP_KILL_ROUNDS=N repeats the three-node round N
# times (6 kills per round; 4 rounds give the 24 kills of the long run); CI runs one.
. "$(dirname "$0")/lib.sh"

ROUNDS=${KBP_KILL_ROUNDS:-1}
CATCHUP_S=20
ELECTION_MS=$(awk '/^\[cluster\]/ { on = 1; next } /^\[/ { on = 0 }
	on && $1 == "election_timeout_ms" { print $3 }' "$CONFIG")
LEASE_MS=$(awk '/^\[cluster\]/ { on = 1; next } /^\[/ { on = 0 } on && $1 == "lease_ms" { print $3 }' "$CONFIG")
BOUND_MS=$((ELECTION_MS + 1000))

start_cluster
# Keys wrap at 32768 so that a long run stays within the store (kv_keys_max).
"$LOAD" write --config "$CONFIG" --prefix ke --clients 4 --keys 32768 --seconds 900 --acked "$TMP/acked" \
	--timeout-ms 30000 >"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
BG_PIDS=$LOAD_PID
sleep 1
[ -s "$TMP/acked" ] || fail "no write acknowledged in the first second"

now_ns() { date +%s%N; }

# Milliseconds from $1 (ns) to the first acknowledgement of a write first sent after it;
# waits up to 20 s for one.  Writes in flight at $1 do not count: they may be answered
# by a node that is about to be paused or was just killed.
outage_ms() {
	local t0=$1 first deadline=$((SECONDS + 20))
	while :; do
		first=$(awk -v k="$t0" '$3 > k { print $2 }' "$TMP/acked" | sort -n | head -n 1)
		[ -n "$first" ] && { echo $(( (first - t0) / 1000000 )); return 0; }
		[ $SECONDS -lt $deadline ] || return 1
		kill -0 "$LOAD_PID" 2>/dev/null || return 1
		sleep 0.05
	done
}

# (b): node $1 follows the leader and has applied the leader's commit index as it was
# when the node came back.  Prints the seconds it took from $2 (ns).
wait_caught_up() {
	local n=$1 t0=$2 l want role lead applied deadline
	deadline=$((SECONDS + CATCHUP_S + 4))
	want=""
	while :; do
		l=$(leader 2)
		if [ -n "$l" ] && [ "$l" != "$n" ] && [ -z "$want" ]; then
			want=$(tel "$l" /kbpaxos/status commit)
		fi
		role=$(tel "$n" /kbpaxos/status role)
		lead=$(tel "$n" /kbpaxos/status leader)
		applied=$(tel "$n" /kbpaxos/status applied)
		if [ -n "$want" ] && [ "$want" != null ] && [ "$role" = follower ] && [ "$lead" = "$l" ] &&
			[ -n "$applied" ] && [ "$applied" != null ] && [ "$applied" -ge "$want" ]; then
			echo "$(( ($(now_ns) - t0) / 1000000 ))"
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "node $n: role=$role leader=$lead applied=$applied, want a follower of node $l with applied >= $want" >&2
			return 1
		fi
		sleep 0.1
	done
}

: >"$TMP/outages"
# kill_one N TAG: kill -9 node N, check (a), restart it, check (b).
kill_one() {
	local n=$1 tag=$2 pid t0 ms role t1 cu
	# The node's own view right before the kill (a leader elsewhere may not know yet).
	role=$(tel "$n" /kbpaxos/status role)
	[ "$role" = leader ] || role=follower
	pid=$(cat "$RUN/node$n.pid") || fail "no pid file for node $n"
	t0=$(now_ns)
	kill -KILL "$pid" || fail "kill -9 node $n (pid $pid)"
	cluster kill-node "$n" >/dev/null || fail "kill-node $n"   # reaps it, drops its route
	ms=$(outage_ms "$t0") || fail "$tag: no write acknowledged within 20 s of killing node $n ($role)"
	echo "OUTAGE node=$n role=$role ms=$ms ($tag)"
	echo "$n $role $ms" >>"$TMP/outages"
	[ "$ms" -le "$BOUND_MS" ] || fail "$tag: killing node $n ($role) stopped the writes for $ms ms > $BOUND_MS ms"
	t1=$(now_ns)
	cluster start-node "$n" >/dev/null || fail "$tag: restart of node $n"
	cu=$(wait_caught_up "$n" "$t1") || fail "$tag: node $n did not follow and catch up within $CATCHUP_S s of its restart"
	[ "$cu" -le $((CATCHUP_S * 1000)) ] || fail "$tag: node $n took $cu ms to follow and catch up (bound $CATCHUP_S s)"
	echo "CATCHUP node=$n ms=$cu ($tag)"
	echo "$cu" >>"$TMP/catchups"
}

for ((r = 1; r <= ROUNDS; r++)); do
	for n in 0 1 2; do
		kill_one "$n" "round $r, first kill"
		# (c) a different node next: the pair that remains includes the restarted node.
		kill_one $(( (n + 1) % 3 )) "round $r, second kill after node $n came back"
	done
done

# SIGSTOP the leader for 2 x lease_ms: the others take over; after SIGCONT it follows.
L=$(leader)
[ -n "$L" ] || fail "no leader before the pause"
pid=$(cat "$RUN/node$L.pid")
t0=$(now_ns)
kill -STOP "$pid" || fail "SIGSTOP node $L"
sleep "$(awk -v l="$LEASE_MS" 'BEGIN { printf "%.3f", 2 * l / 1000 }')"
kill -CONT "$pid" || fail "SIGCONT node $L"
t1=$(now_ns)
ms=$(outage_ms "$t0") || fail "no write acknowledged within 20 s of pausing leader node $L"
echo "OUTAGE node=$L role=paused-leader ms=$ms (SIGSTOP for $((2 * LEASE_MS)) ms)"
[ "$ms" -le "$BOUND_MS" ] || fail "pausing leader node $L stopped the writes for $ms ms > $BOUND_MS ms"
L2=$(leader)
if [ "$L2" != "$L" ]; then
	cu=$(wait_caught_up "$L" "$t1") || fail "paused node $L did not follow and catch up after SIGCONT"
	echo "CATCHUP node=$L ms=$cu (after SIGCONT)"
fi

kill -TERM "$LOAD_PID"
wait "$LOAD_PID"
cat "$TMP/load.out"
grep -c . "$TMP/load.err" >/dev/null && tail -n 3 "$TMP/load.err"

# Per node id, and per role: median and max outage; and the catch-up times.
summary() {
	awk -v f="$1" -v label="$2" '{ ms[$f] = ms[$f] " " $3 } END {
		for (n in ms) {
			k = split(substr(ms[n], 2), v, " ")
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			med = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
			printf "OUTAGE_SUMMARY %s=%s kills=%d median_ms=%s max_ms=%s\n", label, n, k, med, v[k]
		} }' "$TMP/outages" | sort
}
summary 1 node
summary 2 role
sort -n "$TMP/catchups" | awk '{ v[NR] = $1 } END { printf "CATCHUP_SUMMARY restarts=%d median_ms=%s max_ms=%s\n", NR, v[int((NR + 1) / 2)], v[NR] }'

"$LOAD" verify --config "$CONFIG" --prefix ke --keys 32768 --acked "$TMP/acked" --clients 8 || fail "acknowledged writes lost"
echo "PASS kill_each"
