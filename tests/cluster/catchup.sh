#!/bin/bash
# SPDX-License-Identifier: MIT
# (c) stop a follower, write 10000 commands, restart it: it catches up (commit and applied
# equal the leader's) and its log agrees with the leader's slot by slot.  Before that, the
# follower is started once on an empty log_dir (a replaced disk): it must refuse to run
# as a blank acceptor, saying why (issue 11).
. "$(dirname "$0")/lib.sh"

start_cluster
L=$(leader)
[ -n "$L" ] || fail "no leader"
F=$(( (L + 1) % 3 ))
log "leader node $L; stopping follower node $F"
cluster stop-node "$F" || fail "stop-node $F"

"$LOAD" write --config "$CONFIG" --prefix cu --count 10000 --clients 32 --acked "$TMP/acked" \
	|| fail "writing 10000 commands with node $F down"
n=$(wc -l <"$TMP/acked")
[ "$n" -eq 10000 ] || fail "$n of 10000 writes acknowledged"

mv "$DATA/node$F" "$DATA/node$F.saved" && mkdir "$DATA/node$F" || fail "moving node $F's log away"
cluster start-node "$F" >"$TMP/blank.out" 2>&1 && fail "node $F started on an empty log_dir"
grep -q "no kbpaxos log in $DATA/node$F" "$RUN/node$F.log" ||
	fail "node $F refused an empty log_dir without saying why: $(tail -n 3 "$RUN/node$F.log")"
log "node $F refused an empty log_dir: $(grep -o 'no kbpaxos log in.*' "$RUN/node$F.log" | head -n 1)"
rmdir "$DATA/node$F" && mv "$DATA/node$F.saved" "$DATA/node$F" || fail "restoring node $F's log"

T0=$SECONDS
cluster start-node "$F" || fail "start-node $F"
L=$(leader)
want=$(tel "$L" /kbpaxos/status commit)
log "node $F restarted; leader node $L commit=$want"
while :; do
	c=$(tel "$F" /kbpaxos/status commit)
	a=$(tel "$F" /kbpaxos/status applied)
	lc=$(tel "$L" /kbpaxos/status commit)
	la=$(tel "$L" /kbpaxos/status applied)
	if [ -n "$c" ] && [ "$c" != null ] && [ "$c" = "$lc" ] && [ "$a" = "$la" ] && [ "$c" -ge "$want" ]; then
		break
	fi
	[ $((SECONDS - T0)) -lt 60 ] || fail "node $F did not catch up: commit=$c applied=$a, leader commit=$lc applied=$la"
	sleep 0.5
done
log "node $F caught up in $((SECONDS - T0)) s: commit=$c applied=$a (leader $lc/$la), catchups=$(tel "$F" /kbpaxos/status catchups) snapshots_installed=$(tel "$F" /kbpaxos/status snapshots_installed)"

"$LOAD" verify --config "$CONFIG" --prefix cu --count 10000 --clients 32 || fail "reads after catch-up"

# Compare the logs: for every slot both still hold, the last value recorded must agree
# (command count and bytes; ballots may differ between an accept and a catch-up).
cluster stop >/dev/null
if [ -x "$LOGTOOL" ]; then
	for n in "$L" "$F"; do
		"$LOGTOOL" dump "$DATA/node$n" >"$TMP/dump$n" || fail "kbpaxos-log dump node $n"
		awk '$1 == "accept" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			last[f["slot"]] = f["count"] " " f["bytes"] }
			END { for (s in last) print s, last[s] }' "$TMP/dump$n" | sort -n >"$TMP/slots$n"
	done
	common=$(join "$TMP/slots$L" "$TMP/slots$F" | wc -l)
	differ=$(join "$TMP/slots$L" "$TMP/slots$F" | awk '$2 != $4 || $3 != $5' | wc -l)
	log "logs: node $L holds $(wc -l <"$TMP/slots$L") slots, node $F $(wc -l <"$TMP/slots$F"), $common in common, $differ differ"
	[ "$differ" -eq 0 ] || fail "the logs of node $L and node $F disagree on $differ slots"
else
	log "no $LOGTOOL: log comparison skipped"
fi
echo "PASS catchup"
