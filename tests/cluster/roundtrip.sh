#!/bin/bash
# SPDX-License-Identifier: MIT
# (a) kbpaxos-cli put / get / cas through the elected leader, starting at every node.
. "$(dirname "$0")/lib.sh"

start_cluster
L=$(leader)
[ -n "$L" ] || fail "no leader"
log "leader is node $L"

for n in 0 1 2; do
	out=$(cli -n "$n" put "key$n" "value$n") || fail "put via node $n: $out"
	[ "$out" = OK ] || fail "put via node $n printed '$out'"
	out=$(cli -n "$n" get "key$n") || fail "get via node $n"
	[ "$out" = "value$n" ] || fail "get key$n via node $n: '$out'"
done
log "put/get through every node's address reach the leader"

cli put reg one >/dev/null || fail "put reg"
out=$(cli cas reg one two) || fail "cas reg one two: $out"
[ "$(cli get reg)" = two ] || fail "cas did not take"
cli cas reg one three 2>"$TMP/err"
rc=$?
[ $rc -eq 4 ] || fail "cas with a stale expected value: exit $rc, want 4"
grep -q "current value is 'two'" "$TMP/err" || fail "cas failure message: $(cat "$TMP/err")"
cli get missing-key 2>/dev/null
[ $? -eq 3 ] || fail "get of a missing key should exit 3"
cli cas missing-key a b 2>/dev/null
rc=$?
[ $rc -eq 3 ] || [ $rc -eq 4 ] || fail "cas on a missing key: exit $rc"
log "cas succeeds, fails with the current value, and a missing key is reported"

cli status >"$TMP/status" || fail "status: $(cat "$TMP/status")"
cat "$TMP/status"
grep -q "^node $L .*LEADER" "$TMP/status" || fail "status does not show node $L as leader"

# Errors are clear: a key too long, a wrong argument count.
cli put "$(printf 'k%.0s' $(seq 1 70))" v 2>"$TMP/err" && fail "a 70-byte key was accepted"
grep -q "key must be 1..64 bytes" "$TMP/err" || fail "long-key message: $(cat "$TMP/err")"
echo "PASS roundtrip"
