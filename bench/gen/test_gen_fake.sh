#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kbpaxos-gen against kbp-fake-cluster over net_memif, on a private copy of conf/local.ini
# (its own memif sockets and file prefixes, so a running local cluster is not touched):
# sessions registered before the run, leader discovery through NOT_LEADER hints, BUSY and
# lost replies with same-seq resends, SESSION_EXPIRED counted as an unknown outcome and
# followed by a new registration, open and closed loop, every request accounted for, the
# TSC chosen as the latency clock (memif stamps nothing), and --check saying yes on a
# store that is linearizable and no on one that loses writes.  Exit 0 pass, 1 fail, 77 skip.
# Usage: test_gen_fake.sh GEN FAKE CONF
set -u
gen=$1 fake=$2 conf=$3
tmp=$(mktemp -d)
tag="kbpgt$$"
fake_pid=""
cleanup() {
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    rm -rf "$tmp" /var/run/dpdk/"$tag"*   # EAL runtime dirs of this test's prefixes
}
trap cleanup EXIT
# No netns line: memif only, no tap, so the two processes stay in the caller's namespace.
sed -e "s#socket=/kbpaxos/[0-9]*/#socket=/$tag/#" -e "s#^file_prefix = kbpaxos#file_prefix = $tag#" \
    -e "s#^vdev.tap.*##" -e "/^netns[ \t]*=/d" "$conf" >"$tmp/c.ini"

fail() { echo "FAIL: $*"; sed 's/^/  /' "$tmp/out.txt" | tail -40; exit 1; }

start_fake() {
    "$fake" --config "$tmp/c.ini" "$@" >"$tmp/fake.log" 2>&1 &
    fake_pid=$!
    for _ in $(seq 50); do
        grep -q answering "$tmp/fake.log" && return 0
        kill -0 "$fake_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$tmp/fake.log"
    echo "SKIP: kbp-fake-cluster did not start (no memif/EAL here?)"
    exit 77
}
stop_fake() { kill "$fake_pid"; wait "$fake_pid" 2>/dev/null; fake_pid=""; }

# Closed loop; leader is node 2, the generator starts at node 0 and must follow the hint.
# Every 50th command gets BUSY and every 97th no reply at all (resent after 20 ms).
start_fake --leader 2 --busy-every 50 --drop-every 97
"$gen" --config "$tmp/c.ini" --duration 1 --warmup 0.3 --outstanding 16 --timeout 20 \
    --mix put=80,get=15,cas=5 --out "$tmp/o1" --no-plots >"$tmp/out.txt" 2>&1 ||
    fail "closed loop run exited non-zero"
stop_fake
grep -q '"leader": 2' "$tmp/o1/summary.json" || fail "did not find the leader"
python3 - "$tmp/o1/summary.json" <<'PY' || fail "accounting"
import json, sys
s = json.load(open(sys.argv[1]))
r, e = s["requests"], s["events"]
total = sum(v for k, v in r.items() if k != "total")
assert total == r["total"] > 0, r
assert r["ok"] + r["not_found"] > 0.9 * total, r
assert e["redirects"] >= 1 and e["busy"] >= 1 and e["resends_timeout"] >= 1, e
assert e["registered"] == 16 and e["register_sent"] >= 16 and e["register_refused"] == 0, e
assert r["session_expired"] == 0 and r["stale"] == 0, r
assert s["latency"]["all"]["count"] == r["total"], (s["latency"]["all"], r)
assert s["batch_max"] >= 1 and e["cmds_sent"] > e["frames_tx"], e   # batching happened
# memif has no RX timestamp offload: every reply timed by the TSC at poll, as always.
assert s["timestamps"] == "tsc" and "no RX timestamp offload" in s["timestamps_why"], s
assert e["replies_nic_time"] == 0 and e["replies_tsc_time"] == e["replies"] > 0, e
PY
grep -q '^kbpaxos-gen: latency clock: TSC (net_memif port .* has no RX timestamp offload)' \
    "$tmp/out.txt" || fail "no line saying which latency clock is used"
grep -q '^kbpaxos-gen: registered 16 sessions (ids 1\.\.16)' "$tmp/out.txt" ||
    fail "no line saying the sessions were registered"
[ -s "$tmp/o1/run.hgrm" ] && [ -s "$tmp/o1/timeseries.csv" ] || fail "missing output files"

# Open loop at a fixed rate, fixed target = the leader.
start_fake --leader 1
"$gen" --config "$tmp/c.ini" --duration 1 --warmup 0.2 --rate 20000 --target 1 \
    --dist zipf:0.99 --out "$tmp/o2" --no-plots >"$tmp/out.txt" 2>&1 ||
    fail "open loop run exited non-zero"
stop_fake
python3 - "$tmp/o2/summary.json" <<'PY' || fail "open loop accounting"
import json, sys
s = json.load(open(sys.argv[1]))
r = s["requests"]
assert abs(r["total"] - 20000) <= 2, r            # exactly rate x duration were due
assert r["ok"] == r["total"], r
assert s["mode"] == "open", s["mode"]
PY
# --check against a linearizable stand-in: one real store, its sessions, and every 97th
# answer lost after the command ran (no retries, so those outcomes stay unknown).
start_fake --leader 2 --kv --drop-every 97 --busy-every 50
"$gen" --config "$tmp/c.ini" --duration 1 --warmup 0.2 --outstanding 16 --timeout 20 --retries 0 \
    --keys 4 --mix put=40,get=40,cas=20 --check --out "$tmp/o3" --no-plots >"$tmp/out.txt" 2>&1 ||
    fail "--check on a linearizable store exited non-zero"
stop_fake
grep -q '^linearizable=yes$' "$tmp/out.txt" || fail "--check: expected linearizable=yes"
python3 - "$tmp/o3/summary.json" <<'PY' || fail "--check summary"
import json, sys
c = json.load(open(sys.argv[1]))["check"]
assert c["linearizable"] == "yes" and c["keys"] == 4 and c["ops"] > 1000, c
assert c["unknown"] > 0, c          # the lost answers
PY

# ... and against one that acknowledges every 200th PUT without applying it: the
# checker must say no (exit 1) and show a small excerpt of the key that went wrong.
start_fake --leader 1 --kv --lose-every 200
"$gen" --config "$tmp/c.ini" --duration 1 --warmup 0.2 --outstanding 16 --keys 4 \
    --mix put=40,get=40,cas=20 --check --out "$tmp/o4" --no-plots >"$tmp/out.txt" 2>&1
rc=$?
stop_fake
[ $rc -eq 1 ] || fail "--check on a store that loses writes: exit $rc, expected 1"
grep -q '^linearizable=no$' "$tmp/out.txt" || fail "--check: expected linearizable=no"
grep -q 'below cannot be ordered as one register' "$tmp/out.txt" || fail "--check: no excerpt"
python3 - "$tmp/o4/summary.json" <<'PY' || fail "--check summary (no)"
import json, sys
c = json.load(open(sys.argv[1]))["check"]
assert c["linearizable"] == "no" and c["keys_failed"] >= 1, c
assert 1 <= c["excerpt_ops"] <= 24 and len(c["excerpt"]) == c["excerpt_ops"], c
PY

# Every 40th write answered SESSION_EXPIRED: each such request is an unknown outcome (not
# an error, not OK), and its session registers again before its next request.
start_fake --leader 0 --expire-every 40
"$gen" --config "$tmp/c.ini" --duration 1 --warmup 0.2 --outstanding 8 --mix put=90,get=10 \
    --out "$tmp/o5" --no-plots >"$tmp/out.txt" 2>&1 || fail "closed loop with expiries exited non-zero"
stop_fake
python3 - "$tmp/o5/summary.json" <<'PY' || fail "session expiry accounting"
import json, sys
s = json.load(open(sys.argv[1]))
r, e = s["requests"], s["events"]
total = sum(v for k, v in r.items() if k != "total")
assert total == r["total"] > 0, r
assert r["session_expired"] > 0 and r["ok"] + r["not_found"] + r["session_expired"] == total, r
# A new REGISTER after each SESSION_EXPIRED (warm-up ones too), on top of the first 8.
assert e["register_sent"] >= 8 + r["session_expired"] and e["registered"] > 8, (e, r)
PY
grep -q 'unknown: SESSION_EXPIRED' "$tmp/out.txt" || fail "the report does not show the unknown outcomes"
echo PASS
