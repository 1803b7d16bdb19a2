#!/bin/bash
# SPDX-License-Identifier: MIT
# (e) kbpaxos-gen --check through a nemesis: while the generator runs a closed loop of
# put/get/cas on a few contended keys, scripts/nemesis kills nodes with SIGKILL and
# pauses them (the leader too) with SIGSTOP/SIGCONT at seeded random times; the recorded
# history must be linearizable (linearizable=yes).  The answers in the last 3 s, after
# every fault was healed, are printed (LIVE=).  With KBP_CHECK_STRICT=1 the test also
# fails when LIVE=0 or when the nemesis reports a node that died by itself or could not
# be started again; without it those are warnings (see the defaults below for why).
#
# Environment, and why the defaults are what they are:
#   KBP_NEMESIS_SEED      1: kills of node 2 and node 1, pauses of node 2 and of node 0
#   KBP_NEMESIS_FAULTS    kill,pause (killall also works, see scripts/nemesis)
#   KBP_NEMESIS_NODES     1,2: the nodes kill picks.  Node 0 is the memif server of its
#   KBP_NEMESIS_PAUSE     0,1,2  peer links in conf/local.ini and a restarted memif server
#                         does not get its links back yet (issue 10, item 1); the same holds
#                         for every node's link to the generator, so until that lands a
#                         killed node (and after killall, every node) stays unreachable
#                         for the generator: the history is still checked, over fewer
#                         answers, and LIVE= is 0.  A pause breaks no link.  Repeated
#                         kills of nodes 1 and 2 also once made node 0 die in DPDK's
#                         interrupt thread (memif "sendmsg fail: Broken pipe", then
#                         "PANIC ... epoll_ctl, Bad file descriptor"), after which no
#                         restarted node could open its memif client port to node 0;
#                         and kbpaxosd exits at start when a memif client port cannot
#                         connect, so a node restarted while its server peer is being
#                         killed does not come up (the nemesis reports it and retries).
#   KBP_CHECK_SECONDS     30: the generator's run; the nemesis stops 4 s before it ends.
. "$(dirname "$0")/lib.sh"

GEN=$BUILD/bench/gen/kbpaxos-gen
NEMESIS=$SRC/scripts/nemesis
[ -x "$GEN" ] || skip "no $GEN"
SEED=${KBP_NEMESIS_SEED:-1}
NODES=${KBP_NEMESIS_NODES:-1,2}
PAUSE=${KBP_NEMESIS_PAUSE:-0,1,2}
FAULTS=${KBP_NEMESIS_FAULTS:-kill,pause}
SECS=${KBP_CHECK_SECONDS:-30}
STRICT=${KBP_CHECK_STRICT:-0}

start_cluster
log "generator: closed loop, 16 in flight, 4 keys, put/get/cas, --check, ${SECS} s"
"$GEN" --config "$CONFIG" --duration "$SECS" --warmup 0 --outstanding 16 --keys 4 \
	--mix put=40,get=40,cas=20 --timeout 100 --retries 10 --check --check-time 20 --quiet \
	--out "$TMP/gen" --no-plots >"$TMP/gen.out" 2>&1 &
GEN_PID=$!
BG_PIDS=$GEN_PID
sleep 2   # the generator's EAL and links come up first
log "nemesis: seed $SEED, faults $FAULTS, kill nodes $NODES, pause nodes $PAUSE"
"$NEMESIS" --run-dir "$RUN" --seed "$SEED" --duration $((SECS - 6)) --count 8 --faults "$FAULTS" \
	--nodes "$NODES" --pause-nodes "$PAUSE" --gap 1:3 --hold 0.5:2.5 >"$TMP/nemesis.out" 2>&1
NEM_RC=$?
cat "$TMP/nemesis.out"
wait $GEN_PID
GEN_RC=$?
BG_PIDS=""
sed -n '/Throughput per second/,/Leader:/p' "$TMP/gen.out"
sed -n '/Linearizability/,$p' "$TMP/gen.out" | grep -v '^  Files:' | head -40

if [ $NEM_RC -ne 0 ]; then
	[ "$STRICT" = 1 ] && fail "the nemesis could not do or undo a fault (exit $NEM_RC)"
	echo "WARNING: the nemesis could not do or undo a fault (exit $NEM_RC; FAILED lines above)"
	for f in "$RUN"/node*.log; do echo "--- last lines of $f"; tail -n 12 "$f"; done
fi
VERDICT=$(grep '^linearizable=' "$TMP/gen.out")
[ -n "$VERDICT" ] || { tail -20 "$TMP/gen.out"; fail "the generator printed no verdict (exit $GEN_RC)"; }
LIVE=$(python3 - "$TMP/gen/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["check"]
live = sum(r["ok"] for r in s["timeseries"][-3:])
print(f"CHECK verdict={c['linearizable']} ops={c['ops']} keys={c['keys']} unknown={c['unknown']} "
      f"unknown_searched={c['unknown_searched']} check_s={c['check_s']:.3f} "
      f"answered={s['requests']['ok'] + s['requests']['not_found'] + s['requests']['cas_failed']} "
      f"LIVE={live}", file=sys.stderr)
assert c["ops"] >= 1000 and c["keys"] == 4, c
print(live)
PY
) || fail "the history is too thin to say anything"
[ "$VERDICT" = "linearizable=yes" ] || fail "$VERDICT under the nemesis (seed $SEED)"
if [ "$LIVE" -eq 0 ]; then
	[ "$STRICT" = 1 ] && fail "no answer in the last 3 s, after every fault was healed"
	echo "WARNING: no answer in the last 3 s, after every fault was healed"
fi
[ $GEN_RC -eq 0 ] || fail "the generator exited $GEN_RC"
echo "PASS check"
